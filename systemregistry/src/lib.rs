//! The Arrowhead System Registry core system: the systems of the cloud and the devices they
//! run on, registered by themselves or through onboarding (with a certificate signed by the
//! Certificate Authority), queried by the other systems and managed by the operator. It shares
//! the `system_` table with the Service Registry and `device` with the Device Registry. `start`
//! brings it up in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod store;

use common::config::{ConfigError, CoreSettings, MILLIS};
use common::identity::CoreSystem;
use common::names::AddressPolicy;
use common::startup::Foundation;
pub use common::startup::Started;
use std::time::Duration;

/// The Java tables this system reads and writes.
pub const REQUIRED_TABLES: &[&str] = &["system_", "device", "system_registry", "logs"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    /// `allow_self_addressing`, `allow_non_routable_addressing` (Java ships both `true` here).
    pub address: AddressPolicy,
    /// `ping_timeout` (ms): how long a query's `pingProviders` waits for each system.
    pub ping_timeout: Duration,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        Ok(Self {
            address: AddressPolicy {
                allow_self_addressing: p.bool_or("allow_self_addressing", true)?,
                allow_non_routable_addressing: p.bool_or("allow_non_routable_addressing", true)?,
            },
            ping_timeout: p.duration_or("ping_timeout", 5000, MILLIS)?,
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::SystemRegistry, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base =
        Foundation::prepare(core, CoreSystem::SystemRegistry, REQUIRED_TABLES, db_wait).await?;
    let registrar = base.registrar.clone();
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
        registrar: registrar.clone(),
        cloud_cn: base.tls.as_ref().map(|t| t.identity.cloud_cn()),
        address: settings.address,
        ping_timeout: settings.ping_timeout,
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, "System Registry is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::SystemRegistry);
