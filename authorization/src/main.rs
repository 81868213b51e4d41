//! `authorization [--config application.properties] | --openapi | --version | --help`

common::global_allocator!();

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    common::web::run_main(
        "authorization",
        authorization::api::openapi,
        |config| authorization::Settings::load(config).map_err(|e| e.to_string()),
        |settings| async move {
            let started = authorization::start(settings, common::db::WAIT_FOREVER).await?;
            Ok((started.running, Some(started.registrar)))
        },
    )
    .await
}
