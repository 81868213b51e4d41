//! The Arrowhead Service Registry core system. `start` brings it up in-process (used by `main`,
//! the tests and the benchmark): settings, TLS material, database and migrations, the own-cloud
//! row and the registry's own services, then the HTTP(S) listener and the optional clean-up
//! tasks.

pub mod access;
pub mod answer;
pub mod api;
pub mod cache;
pub mod group_commit;
pub mod registry;
pub mod tasks;
pub mod validate;

use common::config::{ConfigError, CoreSettings, MILLIS, MINUTES};
use common::identity::CoreSystem;
use common::names::{normalize_address, verify_address, AddressPolicy, AddressType};
use common::tls::TlsContext;
use common::web::{Running, ServerSpec};
use std::collections::BTreeMap;
use std::time::Duration;
use validate::{Policy, ValidSystem};

/// The Java tables the registry reads and writes.
pub const REQUIRED_TABLES: &[&str] = &[
    "cloud",
    "system_",
    "service_definition",
    "service_interface",
    "service_registry",
    "service_registry_interface_connection",
    "logs",
];

/// Service Registry settings: the shared ones plus the registry's own Java properties.
#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    pub policy: Policy,
    pub ping_scheduled: bool,
    pub ping_timeout: Duration,
    pub ping_interval: Duration,
    pub ttl_scheduled: bool,
    pub ttl_interval: Duration,
    pub use_network_address_detector: bool,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        let policy = Policy {
            strict_definitions: p.bool_or("use_strict_service_definition_verifier", false)?,
            strict_interfaces: p.bool_or("use_strict_service_intf_name_verifier", false)?,
            address: AddressPolicy {
                allow_self_addressing: p.bool_or("allow_self_addressing", false)?,
                allow_non_routable_addressing: p.bool_or("allow_non_routable_addressing", false)?,
            },
            secure: core.ssl.is_some(),
        };
        let minutes = |key: &str, default: u64| -> Result<Duration, ConfigError> {
            match p.duration_or(key, default, MINUTES)? {
                d if d.is_zero() => {
                    Err(ConfigError::invalid(key, "0", "must be at least 1 minute"))
                }
                d => Ok(d),
            }
        };
        Ok(Self {
            policy,
            ping_scheduled: p.bool_or("ping_scheduled", false)?,
            ping_timeout: p.duration_or("ping_timeout", 5000, MILLIS)?,
            ping_interval: minutes("ping_interval", 60)?,
            ttl_scheduled: p.bool_or("ttl_scheduled", false)?,
            ttl_interval: minutes("ttl_interval", 13)?,
            use_network_address_detector: p.bool_or("use_network_address_detector", false)?,
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(CoreSystem::ServiceRegistry, config)?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

#[derive(Debug)]
pub struct StartError(pub String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// Brings the registry up; must run inside an actix system. Waits up to `db_wait` for the
/// database.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Running, StartError> {
    let core = &settings.core;
    let tls = match &core.ssl {
        Some(ssl) => Some(TlsContext::load(ssl).map_err(|e| StartError(e.to_string()))?),
        None => None,
    };
    if let Some(t) = &tls {
        t.require_system(CoreSystem::ServiceRegistry)
            .map_err(StartError)?;
    }
    // Bound before the database is touched: a second registry on a taken port stops here,
    // without rewriting the running one's records.
    let listen_error = |e: std::io::Error| {
        StartError(format!(
            "cannot listen on {}:{}: {e}",
            core.server_address, core.server_port
        ))
    };
    let listener =
        common::web::bind(&core.server_address, core.server_port).map_err(listen_error)?;
    let db_settings = core.database.clone();
    let pool_size = core.db_pool_size;
    let pool = tokio::task::spawn_blocking(move || {
        common::db::connect(&db_settings, pool_size, db_wait, REQUIRED_TABLES)
    })
    .await
    .map_err(|e| StartError(e.to_string()))?
    .map_err(|e| StartError(e.to_string()))?;
    // Warnings and errors from here on (and those queued since startup) reach `logs`.
    common::dblog::start_writer(pool.clone(), common::identity::CoreSystem::ServiceRegistry);

    let (operator, cloud) = match &tls {
        Some(t) => (t.identity.operator.clone(), t.identity.cloud.clone()),
        None => (
            "default-operator".to_owned(),
            "default-insecure-cloud".to_owned(),
        ),
    };
    let own = own_provider(&settings, tls.as_ref())?;
    let secure = tls.is_some();
    common::db::run(&pool, move |c| {
        common::db::models::ensure_own_cloud(c, &operator, &cloud, secure)?;
        registry::register_own_services(c, &own, secure)
    })
    .await
    .map_err(|e| StartError(format!("cannot register the registry's own services: {e}")))?;

    let cache_enabled = common::db::run(&pool, |c| {
        Ok(cache::install_triggers(c).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "query cache disabled: cannot create the registry generation triggers");
            false
        }))
    })
    .await
    .map_err(|e| StartError(e.to_string()))?;
    let mut config_map = BTreeMap::new();
    config_map.insert(
        "use_strict_service_definition_verifier".to_owned(),
        settings.policy.strict_definitions.to_string(),
    );
    config_map.insert(
        "allow_self_addressing".to_owned(),
        settings.policy.address.allow_self_addressing.to_string(),
    );
    config_map.insert(
        "allow_non_routable_addressing".to_owned(),
        settings
            .policy
            .address
            .allow_non_routable_addressing
            .to_string(),
    );
    let state = actix_web::web::Data::new(api::AppState {
        pool: pool.clone(),
        policy: settings.policy,
        ping_timeout: settings.ping_timeout,
        use_network_address_detector: settings.use_network_address_detector,
        config_map,
        cache: std::sync::Arc::new(cache::QueryCache::default()),
        generation: cache_enabled.then(|| cache::GenerationReader::new(pool.clone())),
        registrar: group_commit::Registrar::new(pool.clone()),
    });
    let revocations = common::revocation::Revocations::new();
    if tls.is_some() {
        revocations.start_refreshing(pool.clone());
    }
    let running = common::web::start_on(
        listener,
        ServerSpec {
            address: core.server_address.clone(),
            port: core.server_port,
            tls,
            workers: settings.core.workers,
            openapi: api::openapi(),
            revocations: Some(revocations),
            limits: settings.core.request_limits,
            configure: move |cfg: &mut actix_web::web::ServiceConfig| {
                cfg.app_data(state.clone());
                api::configure(cfg);
            },
        },
    )
    .map_err(listen_error)?;

    if settings.ttl_scheduled {
        actix_web::rt::spawn(tasks::ttl_task(
            pool.clone(),
            Duration::from_secs(15),
            settings.ttl_interval,
        ));
    }
    if settings.ping_scheduled {
        actix_web::rt::spawn(tasks::ping_task(
            pool,
            Duration::from_secs(10),
            settings.ping_interval,
            settings.ping_timeout,
        ));
    }
    tracing::info!(addr = %running.addr, secure, query_cache = cache_enabled, "Service Registry is ready");
    Ok(running)
}

/// The registry as provider of its own services (advertised `domain.name`/`domain.port`).
fn own_provider(settings: &Settings, tls: Option<&TlsContext>) -> Result<ValidSystem, StartError> {
    let core = &settings.core;
    let permissive = AddressPolicy {
        allow_self_addressing: true,
        allow_non_routable_addressing: true,
    };
    let (address, address_type) = verify_address(&core.domain_name, permissive)
        .unwrap_or_else(|_| (normalize_address(&core.domain_name), AddressType::Hostname));
    let authentication_info = match tls {
        Some(t) => Some(
            t.keystore
                .public_key_base64()
                .map_err(|e| StartError(e.to_string()))?,
        ),
        None => None,
    };
    Ok(ValidSystem {
        name: CoreSystem::ServiceRegistry.name().to_owned(),
        address,
        address_type,
        port: i32::from(core.domain_port),
        authentication_info,
        metadata: BTreeMap::new(),
    })
}

common::shipped_properties_test!(common::identity::CoreSystem::ServiceRegistry);
