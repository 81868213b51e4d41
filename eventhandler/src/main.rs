//! `eventhandler [--config application.properties]`

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    common::web::run_main(
        "eventhandler",
        |config| eventhandler::Settings::load(config).map_err(|e| e.to_string()),
        |settings| async move {
            let started = eventhandler::start(settings, std::time::Duration::from_secs(30)).await?;
            Ok((started.running, Some(started.registrar)))
        },
    )
    .await
}
