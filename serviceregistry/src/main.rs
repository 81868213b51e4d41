//! `serviceregistry [--config application.properties] | --openapi | --version | --help`

common::global_allocator!();

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    common::web::run_main(
        "serviceregistry",
        serviceregistry::api::openapi,
        |config| serviceregistry::Settings::load(config).map_err(|e| e.to_string()),
        |settings| async move {
            let running = serviceregistry::start(settings, common::db::WAIT_FOREVER)
                .await
                .map_err(|e| e.to_string())?;
            Ok((running, None))
        },
    )
    .await
}
