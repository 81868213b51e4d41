//! The Gatekeeper's HTTP endpoints: echo, logs, the management of relays and clouds, the cloud
//! records other core systems read, and discovery and negotiation with other clouds (one module
//! per group), with the Java paths, JSON (no `NON_NULL`: nulls are written) and messages.

pub mod client;
pub mod clouds;
pub mod intercloud;
pub mod relays;

use crate::access::{self, Endpoint};
use actix_web::{web, HttpRequest, HttpResponse};
use common::db::DbPool;
use common::error::ErrorMessage;
use common::identity::Caller;
use common::web::request_url;
use common::ArrowheadError;
use utoipa::OpenApi;

pub const BASE: &str = "/gatekeeper";

/// Handler state; no cloud or relay data is kept in memory (the relay connections are).
pub struct AppState {
    pub pool: DbPool,
    pub requester: crate::intercloud::Requester,
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .service(web::resource("/echo").route(web::get().to(echo)))
            .service(web::resource("/pull_clouds").route(web::get().to(client::pull_clouds)))
            .service(web::resource("/init_gsd").route(web::post().to(intercloud::init_gsd)))
            .service(
                web::resource("/init_multi_gsd").route(web::post().to(intercloud::init_multi_gsd)),
            )
            .service(web::resource("/init_icn").route(web::post().to(intercloud::init_icn)))
            .service(
                web::resource("/collect_system_addresses")
                    .route(web::post().to(intercloud::collect_system_addresses)),
            )
            .service(
                web::resource("/collect_access_types")
                    .route(web::post().to(intercloud::collect_access_types)),
            )
            .service(
                web::resource("/cloud/{operator}/{name}")
                    .route(web::get().to(client::cloud_by_name)),
            )
            .service(web::resource("/mgmt/logs").route(web::get().to(logs)))
            .service(
                web::resource("/mgmt/clouds")
                    .route(web::get().to(clouds::list_clouds))
                    .route(web::post().to(clouds::create_clouds)),
            )
            .service(
                web::resource("/mgmt/clouds/assign").route(web::post().to(clouds::assign_relays)),
            )
            .service(
                web::resource("/mgmt/clouds/{id}")
                    .route(web::get().to(clouds::get_cloud))
                    .route(web::put().to(clouds::update_cloud))
                    .route(web::delete().to(clouds::delete_cloud)),
            )
            .service(
                web::resource("/mgmt/relays")
                    .route(web::get().to(relays::list_relays))
                    .route(web::post().to(relays::create_relays)),
            )
            .service(
                web::resource("/mgmt/relays/{id}")
                    .route(web::get().to(relays::get_relay))
                    .route(web::put().to(relays::update_relay))
                    .route(web::delete().to(relays::delete_relay)),
            )
            .service(
                web::resource("/mgmt/relays/{address}/{port}")
                    .route(web::get().to(relays::relay_by_address)),
            ),
    );
}

pub(crate) fn allow(
    caller: &Caller,
    endpoint: Endpoint,
    req: &HttpRequest,
) -> Result<(), ArrowheadError> {
    access::check(caller, endpoint, &request_url(req))
}

pub(crate) fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

#[utoipa::path(get, path = "/gatekeeper/echo", tag = "Client", responses((status = 200, body = String)))]
pub async fn echo(caller: Caller, req: HttpRequest) -> Result<HttpResponse, ArrowheadError> {
    allow(&caller, Endpoint::Echo, &req)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain;charset=UTF-8")
        .body("Got it!"))
}

common::mgmt_logs_handler!(
    "/gatekeeper/mgmt/logs",
    common::identity::CoreSystem::Gatekeeper,
    AppState,
    |s| &s.pool
);

#[derive(OpenApi)]
#[openapi(
    info(
        description = "Gatekeeper core system (Arrowhead 4.x compatible): discovery of and negotiation with other clouds over ActiveMQ relays."
    ),
    paths(
        echo,
        logs,
        relays::list_relays,
        relays::create_relays,
        relays::get_relay,
        relays::relay_by_address,
        relays::update_relay,
        relays::delete_relay,
        clouds::list_clouds,
        clouds::get_cloud,
        clouds::create_clouds,
        clouds::update_cloud,
        clouds::assign_relays,
        clouds::delete_cloud,
        client::cloud_by_name,
        client::pull_clouds,
        intercloud::init_gsd,
        intercloud::init_multi_gsd,
        intercloud::init_icn,
        intercloud::collect_system_addresses,
        intercloud::collect_access_types
    ),
    components(schemas(ErrorMessage))
)]
pub struct ApiDoc;

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(ApiDoc::openapi(), "Gatekeeper", crate::access::who_may_call)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_complete() {
        assert_eq!(common::openapi::faults(&openapi()), Vec::<String>::new());
    }
}
