//! The Arrowhead Authorization core system: intra-cloud access rules, the check the
//! Orchestrator asks before it answers a consumer, and tokens for TOKEN-secured providers.
//! `start` brings it up in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod inter_rules;
pub mod notify;
pub mod rules;
pub mod tokens;

use common::client::CoreClient;
use common::config::{ConfigError, CoreSettings};
use common::identity::CoreSystem;
use common::registration::Registrar;
use common::tls::TlsContext;
use common::web::{Running, ServerSpec};
use std::time::Duration;
use utoipa::OpenApi;

/// The Java tables this system reads and writes.
pub const REQUIRED_TABLES: &[&str] = &[
    "cloud",
    "system_",
    "service_definition",
    "service_interface",
    "authorization_intra_cloud",
    "authorization_intra_cloud_interface_connection",
    "authorization_inter_cloud",
    "authorization_inter_cloud_interface_connection",
    "logs",
];

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    /// Java `eventhandler_is_present` (code default false).
    pub eventhandler_is_present: bool,
    pub workers: Option<usize>,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        Ok(Self {
            eventhandler_is_present: p.bool_or("eventhandler_is_present", false)?,
            workers: match p.parse_or::<usize>("server.workers", 0)? {
                0 => None,
                n => Some(n),
            },
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        Self::from_core(CoreSettings::load(CoreSystem::Authorization, config)?)
    }
}

/// A started system: the server, and the registrar that removes its services at shutdown.
pub struct Started {
    pub running: Running,
    pub registrar: Registrar,
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let tls = match &core.ssl {
        Some(ssl) => Some(TlsContext::load(ssl).map_err(|e| e.to_string())?),
        None => None,
    };
    let db_settings = core.database.clone();
    let pool_size = core.db_pool_size;
    let pool = tokio::task::spawn_blocking(move || {
        common::db::connect(&db_settings, pool_size, db_wait, REQUIRED_TABLES)
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    let public_key = match &tls {
        Some(t) => Some(t.keystore.public_key_base64().map_err(|e| e.to_string())?),
        None => None,
    };
    let client = CoreClient::new(
        tls.as_ref(),
        Duration::from_millis(core.http_client_connection_timeout_ms),
        Duration::from_millis(core.http_client_socket_timeout_ms),
        core.disable_hostname_verifier,
    )?;
    let registrar = Registrar::new(
        client,
        &core.sr_address,
        core.sr_port,
        CoreSystem::Authorization,
        &core.domain_name,
        core.domain_port,
        public_key.clone(),
    );
    let state = actix_web::web::Data::new(api::AppState {
        pool,
        tokens: match &tls {
            Some(t) => Some(std::sync::Arc::new(tokens::TokenService::new(
                &t.keystore.key,
            )?)),
            None => None,
        },
        public_key,
        identity: tls.as_ref().map(|t| t.identity.clone()),
        notifier: settings
            .eventhandler_is_present
            .then(|| notify::AuthUpdateNotifier::new(registrar.clone())),
    });
    let running = common::web::start(ServerSpec {
        address: core.server_address.clone(),
        port: core.server_port,
        tls,
        workers: settings.workers,
        openapi: api::ApiDoc::openapi(),
        configure: move |cfg: &mut actix_web::web::ServiceConfig| {
            cfg.app_data(state.clone());
            api::configure(cfg);
        },
    })
    .map_err(|e| {
        format!(
            "cannot listen on {}:{}: {e}",
            core.server_address, core.server_port
        )
    })?;
    actix_web::rt::spawn(registrar.clone().register_until_done());
    tracing::info!(addr = %running.addr, "Authorization is ready");
    Ok(Started { running, registrar })
}
