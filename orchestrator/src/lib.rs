//! The Arrowhead Orchestrator core system: tells a consumer which providers to use, from the
//! operator's Orchestrator Store or dynamically from the Service Registry, filtered by the
//! Authorization system and with tokens for TOKEN-secured providers. `start` brings it up
//! in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod orchestration;
pub mod store;

use common::client::CoreClient;
use common::config::{ConfigError, CoreSettings};
use common::identity::CoreSystem;
use common::registration::{Locator, Registrar};
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
    "foreign_system",
    "orchestrator_store",
    "logs",
];

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    pub policy: orchestration::Policy,
    /// How long a peer location found in the Service Registry is used before asking again.
    pub peer_refresh: Duration,
    pub workers: Option<usize>,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        if p.bool_or("use_flexible_store", false)? {
            return Err(ConfigError::invalid(
                "use_flexible_store",
                "true",
                "the flexible store is not supported by this Orchestrator yet",
            ));
        }
        if p.bool_or("enable_qos", false)? {
            return Err(ConfigError::invalid(
                "enable_qos",
                "true",
                "QoS orchestration needs the QoS Monitor, which is not part of this cloud yet",
            ));
        }
        // Java passes the minutes unconverted into a seconds field; here they are minutes.
        let ttl_minutes: i64 = p.parse_or("auth_token_ttl_in_minutes", -1)?;
        let token_lifetime = u64::try_from(ttl_minutes)
            .ok()
            .filter(|m| *m > 0)
            .map(|m| Duration::from_secs(m.saturating_mul(60)));
        Ok(Self {
            policy: orchestration::Policy {
                gatekeeper_is_present: p.bool_or("gatekeeper_is_present", false)?,
                token_lifetime,
                expiring_window: Duration::from_secs(
                    p.parse_or("ttl_expiring_warning_in_seconds", 120)?,
                ),
            },
            peer_refresh: Duration::from_secs(p.parse_or("peer_refresh_in_seconds", 60)?),
            workers: match p.parse_or::<usize>("server.workers", 0)? {
                0 => None,
                n => Some(n),
            },
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        Self::from_core(CoreSettings::load(CoreSystem::Orchestrator, config)?)
    }
}

/// A started system: the server, and the registrar that removes its services at shutdown.
pub struct Started {
    pub running: Running,
    pub registrar: Registrar,
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it; peers are looked up on demand.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    if settings.policy.gatekeeper_is_present {
        tracing::warn!("gatekeeper_is_present=true, but inter-cloud orchestration is not built yet: such requests are refused");
    }
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
        CoreSystem::Orchestrator,
        &core.domain_name,
        core.domain_port,
        public_key,
    );
    let state = actix_web::web::Data::new(api::AppState {
        orchestrator: orchestration::Orchestrator {
            pool,
            locator: Locator::new(registrar.clone(), settings.peer_refresh),
            registrar: registrar.clone(),
            policy: settings.policy.clone(),
        },
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
    tracing::info!(addr = %running.addr, "Orchestrator is ready");
    Ok(Started { running, registrar })
}
