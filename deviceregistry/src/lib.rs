//! The Arrowhead Device Registry core system: the devices of the cloud (name, address, MAC
//! address, key), registered by themselves or by onboarding, queried by the other systems and
//! managed by the operator. `start` brings it up in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod store;

use common::config::{ConfigError, CoreSettings};
use common::identity::CoreSystem;
use common::startup::Foundation;
pub use common::startup::Started;
use std::time::Duration;

/// The Java tables this system reads and writes.
pub const REQUIRED_TABLES: &[&str] = &["device", "device_registry", "logs"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        Ok(Self { core })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::DeviceRegistry, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base =
        Foundation::prepare(core, CoreSystem::DeviceRegistry, REQUIRED_TABLES, db_wait).await?;
    let registrar = base.registrar.clone();
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
        registrar: registrar.clone(),
        cloud_cn: base.tls.as_ref().map(|t| t.identity.cloud_cn()),
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, "Device Registry is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::DeviceRegistry);
