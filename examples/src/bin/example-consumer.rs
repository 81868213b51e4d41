//! An example consumer: finds a provider through the Orchestrator and calls it, or listens for
//! the events the Event Handler delivers to it.
//!
//! `example-consumer [options] orchestrate` asks the Orchestrator for `--service` (dynamic
//! orchestration, the Orchestrator Store with `--mode store`, other clouds with `--mode
//! intercloud`), calls the first provider of the answer and prints what it said. `example-consumer [options] listen [--events N]` serves
//! `POST /events` on `--port` and prints each event; with `--events N` it stops after N.

use actix_web::{web, HttpResponse};
use arrowhead_app::{Args, Provider};
use common::identity::{Caller, CoreSystem};
use serde_json::{json, Value};
use tokio::sync::mpsc;

const USAGE: &str = "usage: example-consumer [--certificates DIR] [--system NAME] [--password P]\n\
       [--address A] [--port N] [--orchestrator URL] [--service S] [--interface I] [--mode dynamic|store|intercloud]\n\
       orchestrate | listen [--events N]\n\
Defaults: certificates, dashboard, 123456, 127.0.0.1, 9002, https://localhost:8441, temperature,\n\
HTTP-SECURE-JSON, dynamic. The system must be registered (register-system) with that address and port.";

async fn orchestrate(args: &Args) -> Result<(), String> {
    let app = args.application("dashboard")?;
    let address = args.get("address", "127.0.0.1");
    let port = args.port("port", 9002)?;
    let flags = match args.get("mode", "dynamic").as_str() {
        "dynamic" => json!({ "overrideStore": true }),
        "store" => json!({}),
        // Other clouds, through the Gatekeeper (and, where the provider's cloud demands it,
        // the Gateways: the answer then names this cloud's Gateway).
        "intercloud" => json!({ "triggerInterCloud": true }),
        other => {
            return Err(format!(
                "--mode: '{other}' is none of dynamic, store, intercloud"
            ))
        }
    };
    let results = app
        .orchestrate(
            &args.get("orchestrator", "https://localhost:8441"),
            (&address, port),
            &args.get("service", "temperature"),
            &args.get("interface", "HTTP-SECURE-JSON"),
            flags,
        )
        .await?;
    let first = results
        .first()
        .ok_or("the Orchestrator found no provider this system may use")?;
    let provider = Provider::from_result(first)?;
    println!(
        "orchestrated: {} at {}",
        provider.system_name,
        provider.url()
    );
    // Only the provider the Orchestrator named may answer: its certificate is checked in the
    // handshake.
    let (status, answer) = app
        .call(
            &provider.system_name,
            hyper::Method::GET,
            &provider.url(),
            None,
        )
        .await?;
    println!("{} answered {status}: {answer}", provider.system_name);
    if status == 200 {
        Ok(())
    } else {
        Err(format!("the provider answered {status}"))
    }
}

/// One delivered event, accepted only from the Event Handler.
async fn event(
    caller: Caller,
    body: web::Json<Value>,
    out: web::Data<mpsc::UnboundedSender<Value>>,
) -> HttpResponse {
    if !matches!(caller, Caller::Insecure) && !caller.is_core(&[CoreSystem::EventHandler]) {
        return HttpResponse::Unauthorized().finish();
    }
    let _ = out.send(body.into_inner());
    HttpResponse::Ok().finish()
}

async fn listen(args: &Args) -> Result<(), String> {
    let app = args.application("dashboard")?;
    let port = args.port("port", 9002)?;
    let wanted: usize = args
        .get("events", "0")
        .parse()
        .map_err(|_| "--events needs a number".to_owned())?;
    let (tx, mut rx) = mpsc::unbounded_channel::<Value>();
    let tx = web::Data::new(tx);
    let name = app.tls.identity.cn();
    let running = app.serve(port, move |cfg| {
        cfg.app_data(tx.clone())
            .route("/events", web::post().to(event));
    })?;
    println!("{name} listens for events on https://127.0.0.1:{port}/events");
    let handle = running.server.handle();
    actix_web::rt::spawn(running.server);
    let mut seen = 0;
    while let Some(e) = rx.recv().await {
        seen += 1;
        // Java's EventDTO: eventType, payload, metaData, timeStamp (the publisher is not named).
        println!(
            "event {} at {}: {} {}",
            e["eventType"].as_str().unwrap_or("?"),
            e["timeStamp"].as_str().unwrap_or("?"),
            e["payload"],
            e["metaData"]
        );
        if wanted > 0 && seen >= wanted {
            break;
        }
    }
    handle.stop(true).await;
    Ok(())
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    common::web::init_tracing();
    let args = match Args::parse(std::env::args().skip(1), USAGE) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("example-consumer: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let done = match args.words.first().map(String::as_str) {
        Some("orchestrate") | None => orchestrate(&args).await,
        Some("listen") => listen(&args).await,
        Some(other) => Err(format!("unknown command '{other}'\n{USAGE}")),
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("example-consumer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
