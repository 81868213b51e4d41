//! `authorization [--config application.properties]`

use std::process::ExitCode;
use std::time::Duration;

#[actix_web::main]
async fn main() -> ExitCode {
    common::web::init_tracing();
    let settings = common::web::config_arg()
        .map_err(|e| e.to_string())
        .and_then(|config| {
            authorization::Settings::load(config.as_deref()).map_err(|e| e.to_string())
        });
    let settings = match settings {
        Ok(s) => s,
        Err(e) => {
            eprintln!("authorization: {e}");
            return ExitCode::from(2);
        }
    };
    match authorization::start(settings, Duration::from_secs(30)).await {
        Ok(started) => {
            // The server returns once SIGTERM/SIGINT stopped it gracefully; then leave the registry.
            let served = started.running.server.await;
            started.registrar.unregister_all().await;
            match served {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "server failed");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "startup failed");
            eprintln!("authorization: {e}");
            ExitCode::FAILURE
        }
    }
}
