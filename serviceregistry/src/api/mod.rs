//! The Service Registry's HTTP endpoints, one module per group (client, private, management),
//! registered in one place. Handlers check access, validate, make one data-layer call on the
//! blocking pool, and answer with the Java JSON.

pub mod client;
pub mod mgmt;
pub mod private;

use crate::validate::Policy;
use actix_web::web;
use common::db::DbPool;
use std::collections::BTreeMap;
use std::time::Duration;
use utoipa::OpenApi;

pub const BASE: &str = "/serviceregistry";

/// Shared state of all handlers. Holds no registry data: every answer comes from the database,
/// so several instances on one database stay consistent.
pub struct AppState {
    pub pool: DbPool,
    pub policy: Policy,
    pub ping_timeout: Duration,
    pub use_network_address_detector: bool,
    /// `/pull-config` answer.
    pub config_map: BTreeMap<String, String>,
    /// Query answers, valid only while the database's registry generation is unchanged.
    pub cache: std::sync::Arc<crate::cache::QueryCache>,
    /// Coalesced generation reads; `None` when the cache is off.
    pub generation: Option<std::sync::Arc<crate::cache::GenerationReader>>,
    /// `/register`'s group commit.
    pub registrar: std::sync::Arc<crate::group_commit::Registrar>,
}

impl AppState {
    /// The verified, normalized address of an unregister request; without one, the caller's IP
    /// when `use_network_address_detector` is on (as in Java).
    pub fn request_address(
        &self,
        given: Option<&str>,
        req: &actix_web::HttpRequest,
        origin: &str,
    ) -> Result<String, common::ArrowheadError> {
        let address = match given.map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) => a.to_owned(),
            None if self.use_network_address_detector => req
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
            None => String::new(),
        };
        common::names::verify_address(&address, self.policy.address)
            .map(|(a, _)| a)
            .map_err(|e| e.with_origin(origin))
    }
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(BASE)
            .configure(client::configure)
            .configure(private::configure)
            .configure(mgmt::configure),
    );
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Arrowhead Service Registry",
        description = "Service Registry core system (Arrowhead 4.x compatible). Management endpoints need the sysop certificate."
    ),
    paths(
        client::echo,
        client::register,
        client::unregister,
        client::query,
        private::query_multi,
        private::query_system_by_id,
        private::query_system,
        private::query_all,
        private::query_provider,
        private::query_definition,
        private::register_system,
        private::unregister_system,
        private::pull_systems,
        private::pull_config,
        mgmt::list_entries,
        mgmt::create_entry,
        mgmt::get_entry,
        mgmt::put_entry,
        mgmt::patch_entry,
        mgmt::delete_entry,
        mgmt::entries_by_definition,
        mgmt::grouped,
        mgmt::logs,
        mgmt::list_systems,
        mgmt::create_system,
        mgmt::get_system,
        mgmt::put_system,
        mgmt::patch_system,
        mgmt::delete_system,
        mgmt::list_services,
        mgmt::create_service,
        mgmt::get_service,
        mgmt::put_service,
        mgmt::patch_service,
        mgmt::delete_service,
        mgmt::list_interfaces,
        mgmt::create_interface,
        mgmt::get_interface,
        mgmt::put_interface,
        mgmt::patch_interface,
        mgmt::delete_interface,
    ),
    components(schemas(common::error::ErrorMessage))
)]
pub struct ApiDoc;

/// The OpenAPI document this system serves (and prints with `--openapi`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    common::openapi::finish(
        ApiDoc::openapi(),
        "Service Registry",
        crate::access::who_may_call,
    )
}
