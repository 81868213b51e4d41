//! The Arrowhead Authorization core system: intra-cloud access rules, the check the
//! Orchestrator asks before it answers a consumer, and tokens for TOKEN-secured providers.
//! `start` brings it up in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod inter_rules;
pub mod notify;
pub mod rules;
pub mod tokens;

use common::config::{ConfigError, CoreSettings};
use common::identity::CoreSystem;
use common::startup::Foundation;
pub use common::startup::Started;
use std::time::Duration;

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
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        Ok(Self {
            eventhandler_is_present: p.bool_or("eventhandler_is_present", false)?,
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::Authorization, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base =
        Foundation::prepare(core, CoreSystem::Authorization, REQUIRED_TABLES, db_wait).await?;
    let registrar = base.registrar.clone();
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
        tokens: match &base.tls {
            Some(t) => Some(std::sync::Arc::new(tokens::TokenService::new(
                &t.keystore.key,
            )?)),
            None => None,
        },
        public_key: base.public_key.clone(),
        identity: base.tls.as_ref().map(|t| t.identity.clone()),
        notifier: settings
            .eventhandler_is_present
            .then(|| notify::AuthUpdateNotifier::new(registrar.clone())),
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, "Authorization is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::Authorization);
