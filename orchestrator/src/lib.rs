//! The Arrowhead Orchestrator core system: tells a consumer which providers to use, from the
//! operator's Orchestrator Store or dynamically from the Service Registry, filtered by the
//! Authorization system and with tokens for TOKEN-secured providers. `start` brings it up
//! in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod orchestration;
pub mod reads;
pub mod store;

use common::config::{ConfigError, CoreSettings, MINUTES, SECONDS};
use common::identity::CoreSystem;
use common::registration::Locator;
use common::startup::Foundation;
pub use common::startup::Started;
use std::time::Duration;

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
    /// `direct_database_reads`: read the registry, the intra-cloud rules and the store from the
    /// shared database (cached per generation) instead of asking the Service Registry and the
    /// Authorization system over HTTPS; used only when the database account may read them.
    pub direct_reads: bool,
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
        let token_lifetime = if ttl_minutes > 0 {
            Some(p.duration_or("auth_token_ttl_in_minutes", 0, MINUTES)?)
        } else {
            None
        };
        Ok(Self {
            policy: orchestration::Policy {
                gatekeeper_is_present: p.bool_or("gatekeeper_is_present", false)?,
                token_lifetime,
                expiring_window: p.duration_or("ttl_expiring_warning_in_seconds", 120, SECONDS)?,
            },
            peer_refresh: p.duration_or("peer_refresh_in_seconds", 60, SECONDS)?,
            direct_reads: p.bool_or("direct_database_reads", true)?,
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::Orchestrator, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it; peers are looked up on demand.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base =
        Foundation::prepare(core, CoreSystem::Orchestrator, REQUIRED_TABLES, db_wait).await?;
    let registrar = base.registrar.clone();
    let reads = if settings.direct_reads {
        reads::Reads::probe(&base.pool)
            .await
            .map_err(|e| e.to_string())?
    } else {
        None
    };
    let mode = match &reads {
        Some(r) if r.cached() => "direct, cached per database generation",
        Some(_) => "direct, uncached (the generation triggers cannot be made)",
        None if settings.direct_reads => {
            tracing::warn!("the database account cannot read the registry and authorization tables: asking the Service Registry and the Authorization system over HTTPS");
            "https"
        }
        None => "https",
    };
    let state = actix_web::web::Data::new(api::AppState {
        orchestrator: orchestration::Orchestrator {
            pool: base.pool.clone(),
            locator: Locator::new(registrar.clone(), settings.peer_refresh),
            registrar: registrar.clone(),
            policy: settings.policy.clone(),
            reads: reads.map(std::sync::Arc::new),
        },
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, reads = mode, "Orchestrator is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::Orchestrator);
