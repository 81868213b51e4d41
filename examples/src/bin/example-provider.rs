//! An example provider: serves `GET /temperature` over mutual TLS to the systems of its cloud.
//!
//! `example-provider [--certificates certificates] [--system thermometer] [--password 123456] [--port 9001]`
//!
//! It registers nothing itself: the README walk-through registers it with one `curl`, so every
//! step of joining a cloud is visible. Only systems of the cloud get through the handshake (the
//! Orchestrator decides who is *told* about this provider; a CERTIFICATE-secured provider that
//! must also enforce the rules asks the Authorization system, or uses TOKEN security).

use actix_web::{web, HttpResponse};
use arrowhead_app::Args;
use common::identity::Caller;
use serde_json::json;

const USAGE: &str =
    "usage: example-provider [--certificates DIR] [--system NAME] [--password P] [--port N]\n\
Serves GET /temperature over mutual TLS with DIR/NAME.p12 and DIR/truststore.p12 (defaults:\n\
certificates, thermometer, 123456, 9001).";

/// The reading, and who asked (the verified name of the caller's certificate).
async fn temperature(caller: Caller) -> HttpResponse {
    let asked_by = caller
        .identity()
        .map(|id| id.cn())
        .unwrap_or_else(|| "-".into());
    tracing::info!(%asked_by, "temperature served");
    HttpResponse::Ok().json(json!({ "celsius": 21.5, "askedBy": asked_by }))
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    common::web::init_tracing();
    let started = Args::parse(std::env::args().skip(1), USAGE).and_then(|args| {
        let app = args.application("thermometer")?;
        let port = args.port("port", 9001)?;
        println!(
            "{} serves https://127.0.0.1:{port}/temperature",
            app.tls.identity.cn()
        );
        app.serve(port, |cfg| {
            cfg.route("/temperature", web::get().to(temperature));
        })
    });
    match started {
        Ok(running) => match running.server.await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("example-provider: {e}");
                std::process::ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("example-provider: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
