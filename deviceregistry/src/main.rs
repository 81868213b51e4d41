//! `deviceregistry [--config application.properties] | --openapi | --version | --help`

common::global_allocator!();

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    common::web::run_main(
        "deviceregistry",
        deviceregistry::api::openapi,
        |config| deviceregistry::Settings::load(config).map_err(|e| e.to_string()),
        |settings| async move {
            let started = deviceregistry::start(settings, common::db::WAIT_FOREVER).await?;
            Ok((started.running, Some(started.registrar)))
        },
    )
    .await
}
