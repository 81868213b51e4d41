//! The Arrowhead Onboarding Controller core system: the way into a running cloud for a device
//! that holds nothing but the shared secret (or a certificate of the cloud). It builds or
//! passes on a certificate signing request, has the Certificate Authority sign it, and tells
//! the device where the registries and the Orchestrator are. `start` brings it up in-process for
//! `main` and the tests.

pub mod api;
pub mod peers;

use common::config::{ConfigError, CoreSettings};
use common::identity::CoreSystem;
use common::startup::Foundation;
pub use common::startup::Started;
use std::time::Duration;

/// The Java tables this system reads and writes.
pub const REQUIRED_TABLES: &[&str] = &["logs"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    /// Java `sharedSecret`; absent or empty turns the shared-secret endpoints off.
    pub shared_secret: Option<String>,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        // Java's security.key.* settings: only RSA-2048 keys are generated here.
        for (key, only) in [
            ("security.key.algorithm", "RSA"),
            ("security.key.size", "2048"),
        ] {
            if let Some(v) = p.get(key) {
                if !v.eq_ignore_ascii_case(only) {
                    return Err(ConfigError::invalid(
                        key,
                        &v,
                        format!("only {only} is supported"),
                    ));
                }
            }
        }
        Ok(Self {
            shared_secret: p.get("sharedSecret"),
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(
            CoreSystem::OnboardingController,
            config,
        )?)?;
        if settings.shared_secret.as_deref() == Some("hidden_secret") {
            tracing::warn!("sharedSecret is still the shipped 'hidden_secret': anyone who read the documentation can onboard; set your own");
        }
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base = Foundation::prepare(
        core,
        CoreSystem::OnboardingController,
        REQUIRED_TABLES,
        db_wait,
    )
    .await?;
    let registrar = base.registrar.clone();
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
        shared_secret: settings.shared_secret.clone(),
        registrar: registrar.clone(),
        cloud_cn: base.tls.as_ref().map(|t| t.identity.cloud_cn()),
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    if core.ssl.is_some() {
        peers::start_rules_task(registrar.clone());
    }
    tracing::info!(addr = %running.addr, "Onboarding Controller is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::OnboardingController);
