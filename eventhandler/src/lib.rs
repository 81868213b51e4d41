//! The Arrowhead Event Handler core system: application systems subscribe to event types and
//! receive, at their `notifyUri`, every event published by a provider the Authorization system
//! lets them hear from, filtered as they asked. `start` brings it up in-process for `main` and
//! the tests.

pub mod access;
pub mod api;
pub mod authsync;
pub mod delivery;
pub mod queue;
pub mod subscriptions;

use common::config::{ConfigError, CoreSettings, MILLIS, MINUTES, SECONDS};
use common::identity::CoreSystem;
use common::registration::Locator;
use common::startup::Foundation;
pub use common::startup::Started;
use std::time::Duration;

/// The Java tables this system reads and writes.
pub const REQUIRED_TABLES: &[&str] = &[
    "system_",
    "event_type",
    "subscription",
    "subscription_publisher_connection",
    "logs",
    "event_delivery",
    "event_delivery_lease",
    "event_delivery_loss",
];

/// Largest accepted `event_delivery_queue_size` (events per subscriber).
const MAX_QUEUE_SIZE: usize = 10_000_000;

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    /// Java `time_stamp_tolerance_seconds` (default 120).
    pub tolerance: Duration,
    /// Java `event_handler_ttl_scheduled` / `event_handler_ttl_interval` (minutes): removes
    /// subscriptions past their end date.
    pub ttl_interval: Option<Duration>,
    pub delivery: delivery::DeliveryPolicy,
    /// Time limit of one delivery attempt.
    pub delivery_timeout: Duration,
    /// Idle delivery connections kept per subscriber system (its sender sends one event at a
    /// time, so one is used; more help only a subscriber reached under several addresses).
    pub idle_connections_per_host: usize,
    pub peer_refresh: Duration,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        let ttl = p.bool_or("event_handler_ttl_scheduled", false)?;
        let ttl_every = p
            .duration_or("event_handler_ttl_interval", 10, MINUTES)?
            .max(MINUTES);
        Ok(Self {
            tolerance: p.duration_or("time_stamp_tolerance_seconds", 120, SECONDS)?,
            ttl_interval: ttl.then_some(ttl_every),
            delivery: delivery::DeliveryPolicy {
                max_attempts: p.parse_or("event_delivery_max_attempts", 0)?,
                first_backoff: p.duration_or("event_delivery_first_backoff_ms", 250, MILLIS)?,
                max_backoff: p.duration_or("event_delivery_max_backoff_ms", 10_000, MILLIS)?,
                queue_size: match p.parse_or("event_delivery_queue_size", 10_000)? {
                    n @ 1..=MAX_QUEUE_SIZE => n,
                    n => {
                        return Err(ConfigError::invalid(
                            "event_delivery_queue_size",
                            &n.to_string(),
                            format!("must be between 1 and {MAX_QUEUE_SIZE}"),
                        ))
                    }
                },
                queue_bytes: p.parse_or("event_delivery_queue_bytes", 64 * 1024 * 1024)?,
                idle_sender: p.duration_or("event_delivery_idle_sender_seconds", 10, SECONDS)?,
                max_age: p.duration_or("event_delivery_max_age_seconds", 86_400, SECONDS)?,
                poll: p
                    .duration_or("event_delivery_poll_ms", 1000, MILLIS)?
                    .max(Duration::from_millis(50)),
                lease: p
                    .duration_or("event_delivery_lease_seconds", 15, SECONDS)?
                    .max(Duration::from_secs(1)),
            },
            delivery_timeout: p.duration_or("event_delivery_timeout_ms", 10_000, MILLIS)?,
            idle_connections_per_host: p
                .parse_or("event_delivery_idle_connections_per_host", 256)?,
            peer_refresh: p.duration_or("peer_refresh_in_seconds", 60, SECONDS)?,
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::EventHandler, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// and the re-check of every subscription with Authorization continue in the background.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base =
        Foundation::prepare(core, CoreSystem::EventHandler, REQUIRED_TABLES, db_wait).await?;
    let registrar = base.registrar.clone();
    let pool = base.pool.clone();
    let mut limits = common::https::Limits::new(
        Duration::from_millis(core.http_client_connection_timeout_ms)
            .min(settings.delivery_timeout),
        settings.delivery_timeout,
    );
    limits.accept_invalid_hostnames = core.disable_hostname_verifier;
    limits.max_idle_per_host = settings.idle_connections_per_host;
    let auth = authsync::AuthSync {
        pool: pool.clone(),
        locator: Locator::new(registrar.clone(), settings.peer_refresh),
    };
    let dispatcher = delivery::Dispatcher::new(
        pool.clone(),
        base.tls.clone(),
        limits,
        settings.delivery.clone(),
        lease_owner(core.server_port),
    );
    let state = actix_web::web::Data::new(api::AppState {
        pool: pool.clone(),
        auth: auth.clone(),
        dispatcher: dispatcher.clone(),
        tolerance: settings.tolerance,
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    actix_web::rt::spawn(auth.resync_all_until_done());
    // Also resumes, at once, the queues this instance held before a restart.
    actix_web::rt::spawn(dispatcher.sweep());
    if let Some(every) = settings.ttl_interval {
        actix_web::rt::spawn(remove_expired(pool, every));
    }
    tracing::info!(addr = %running.addr, "Event Handler is ready");
    Ok(Started { running, registrar })
}

/// This instance's name on delivery leases: the host's name and the server port, stable across
/// a restart in place (so the restarted process resumes its queues at once) and distinct between
/// instances (containers have their own host names; instances on one host their own ports).
fn lease_owner(port: u16) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    if port == 0 {
        // A port picked by the system differs on every start: nothing to resume by name.
        return format!("{host}:pid{}", std::process::id());
    }
    format!("{host}:{port}")
}

/// The optional clean-up task: subscriptions past their end date are removed, at once and then
/// every `every`.
pub async fn remove_expired(pool: common::db::DbPool, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let now = chrono::Utc::now().naive_utc();
        match common::db::run(&pool, move |c| Ok(subscriptions::delete_expired(c, now)?)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired subscriptions removed"),
            Err(e) => tracing::warn!(error = %e, "expired subscriptions not removed"),
        }
    }
}

common::shipped_properties_test!(common::identity::CoreSystem::EventHandler);
