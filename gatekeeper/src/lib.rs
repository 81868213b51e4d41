//! The Arrowhead Gatekeeper core system: the other clouds this cloud knows, the relays (ActiveMQ
//! brokers) it reaches them through, and global service discovery (GSD) and inter-cloud
//! negotiation (ICN) with their Gatekeepers over those relays, on both sides. `start` brings it
//! up in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod hub;
pub mod intercloud;
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
    /// `timeout` (ms; Java ships 30000 and never reads it): one relay conversation with another
    /// cloud's Gatekeeper, acknowledgement and answer together. Keep it below the
    /// Orchestrator's `http.client.socket.timeout`, so the Orchestrator hears the timeout.
    pub timeout: Duration,
    /// `relay_check_interval` (s, Java's default 9): how often the relays to listen on are
    /// read again.
    pub relay_check_interval: Duration,
    /// `relay.trust-store` (ours; a PEM file): certificates a relay broker's chain may end at,
    /// besides the trust store's and the master at the top of our own chain.
    pub relay_trust: Vec<openssl::x509::X509>,
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
        let timeout = p.duration_or("timeout", 10_000, common::config::MILLIS)?;
        let relay_check_interval =
            p.duration_or("relay_check_interval", 9, common::config::SECONDS)?;
        let relay_trust = common::relay::relay_trust(p)?;
        Ok(Self {
            core,
            gateway_is_present,
            gateway_is_mandatory,
            timeout,
            relay_check_interval,
            relay_trust,
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
    let tls = base
        .tls
        .clone()
        .ok_or("Gatekeeper can only started in SECURE mode!")?;
    let policy = intercloud::Policy {
        gateway_is_present: settings.gateway_is_present,
        gateway_is_mandatory: settings.gateway_is_mandatory,
    };
    let provider = std::sync::Arc::new(intercloud::Provider {
        pool: base.pool.clone(),
        registrar: registrar.clone(),
        locator: common::registration::Locator::new(registrar.clone(), Duration::from_secs(60)),
        policy,
    });
    let anchors = common::relay::anchors(&tls, &settings.relay_trust);
    let hub = hub::Hub::new(
        std::sync::Arc::new(tls.keystore.clone()),
        anchors,
        settings.timeout,
        provider,
    )?;
    tokio::spawn(intercloud::keep_listening(
        base.pool.clone(),
        hub.clone(),
        settings.relay_check_interval,
    ));
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
        requester: intercloud::Requester {
            pool: base.pool.clone(),
            hub,
            policy,
            locator: common::registration::Locator::new(registrar.clone(), Duration::from_secs(60)),
            registrar: registrar.clone(),
        },
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, "Gatekeeper is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::Gatekeeper);
