//! The Arrowhead Gateway core system: when another cloud's providers are reachable only
//! through its Gateway (`gateway_is_mandatory` there), the two clouds' Gateways carry a
//! consumer's connection through an ActiveMQ relay (see [`bridge`]). `start` brings it up
//! in-process for `main` and the tests.

pub mod access;
pub mod api;
pub mod bridge;

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
    /// `min_port`..=`max_port`: the ports consumers are given, one per session.
    pub min_port: u16,
    pub max_port: u16,
    /// `gateway_socket_timeout` (ms): how long a consumer may take to connect, and to reach
    /// the provider.
    pub socket_timeout: Duration,
    /// `relay.trust-store` (ours; a PEM file): certificates a relay broker's chain may end at,
    /// besides the trust store's and the master at the top of our own chain.
    pub relay_trust: Vec<openssl::x509::X509>,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        let min_port: u16 = p.parse_or("min_port", 8000)?;
        let max_port: u16 = p.parse_or("max_port", 8100)?;
        if min_port > max_port {
            return Err(ConfigError::invalid(
                "min_port",
                &min_port.to_string(),
                format!("Available port interval is invalid: [{min_port} - {max_port}]"),
            ));
        }
        let socket_timeout =
            p.duration_or("gateway_socket_timeout", 30_000, common::config::MILLIS)?;
        // Read so that Java files load without warnings; sessions here end with their
        // connections, not after a period of silence.
        let _ = p.duration_or(
            "inactive_gateway_bridge_timeout",
            60_000,
            common::config::MILLIS,
        )?;
        let _ = p.count_or("provider_side_max_request_per_socket", 50, 1, 1_000_000)?;
        let relay_trust = common::relay::relay_trust(p)?;
        if core.ssl.is_none() {
            return Err(ConfigError::invalid(
                "server.ssl.enabled",
                "false",
                "Gateway can only started in SECURE mode!",
            ));
        }
        Ok(Self {
            core,
            min_port,
            max_port,
            socket_timeout,
            relay_trust,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::Gateway, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base = Foundation::prepare(core, CoreSystem::Gateway, REQUIRED_TABLES, db_wait).await?;
    let registrar = base.registrar.clone();
    let tls = base
        .tls
        .clone()
        .ok_or("Gateway can only started in SECURE mode!")?;
    let anchors = common::relay::anchors(&tls, &settings.relay_trust);
    let bridge = std::sync::Arc::new(bridge::Bridge::new(
        tls,
        anchors,
        settings.min_port,
        settings.max_port,
        core.server_address.clone(),
        settings.socket_timeout,
        Duration::from_secs(10),
    )?);
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
        bridge,
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, "Gateway is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::Gateway);
