//! The Arrowhead Gatekeeper core system: the other clouds this cloud knows and the relays
//! (ActiveMQ brokers) it reaches them through. This is the first part of it: the cloud and
//! relay records and their management; discovery (GSD) and negotiation (ICN) over the relay
//! come next. `start` brings it up in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod store;

use common::config::{ConfigError, CoreSettings};
use common::identity::CoreSystem;
use common::startup::Foundation;
pub use common::startup::Started;
use std::time::Duration;

/// The Java tables this system reads and writes.
pub const REQUIRED_TABLES: &[&str] = &[
    "cloud",
    "relay",
    "cloud_gatekeeper_relay",
    "cloud_gateway_relay",
    "logs",
];

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    /// `gateway_is_present`: this cloud runs a Gateway.
    pub gateway_is_present: bool,
    /// `gateway_is_mandatory`: other clouds reach this cloud's providers only through it.
    pub gateway_is_mandatory: bool,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        let gateway_is_present = p.bool_or("gateway_is_present", false)?;
        let gateway_is_mandatory = p.bool_or("gateway_is_mandatory", false)?;
        if gateway_is_mandatory && !gateway_is_present {
            return Err(ConfigError::invalid(
                "gateway_is_mandatory",
                "true",
                "Gatekeeper can't start with 'gateway_is_present=false' property when the 'gateway_is_mandatory' property is true!",
            ));
        }
        if core.ssl.is_none() {
            return Err(ConfigError::invalid(
                "server.ssl.enabled",
                "false",
                "Gatekeeper can only started in SECURE mode!",
            ));
        }
        Ok(Self {
            core,
            gateway_is_present,
            gateway_is_mandatory,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::Gatekeeper, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base = Foundation::prepare(core, CoreSystem::Gatekeeper, REQUIRED_TABLES, db_wait).await?;
    let registrar = base.registrar.clone();
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, "Gatekeeper is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::Gatekeeper);
