//! `serviceregistry [--config application.properties]`

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    common::web::run_main(
        "serviceregistry",
        |config| serviceregistry::Settings::load(config).map_err(|e| e.to_string()),
        |settings| async move {
            let running = serviceregistry::start(settings, std::time::Duration::from_secs(30))
                .await
                .map_err(|e| e.to_string())?;
            Ok((running, None))
        },
    )
    .await
}
