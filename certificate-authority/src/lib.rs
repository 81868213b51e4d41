//! Certificate issuing for Arrowhead local clouds: the Certificate Authority core system (signs
//! the certificates of the cloud's systems with the cloud key, answers whether a certificate is
//! good, keeps trusted keys; `start` brings it up in-process for `main` and the tests), and the
//! PKI primitives and local-cloud generator behind `arrowhead-certgen`.

pub mod access;
pub mod api;
pub mod ledger;
pub mod local_cloud;
pub mod pki;
pub mod signer;
pub mod store;

use common::config::{key_material, ConfigError, CoreSettings, KeyMaterial, MINUTES};
use common::identity::CoreSystem;
use common::startup::Foundation;
pub use common::startup::Started;
use common::tls::Keystore;
use std::sync::Arc;
use std::time::Duration;

/// The Java tables this system reads and writes.
pub const REQUIRED_TABLES: &[&str] = &["ca_certificate", "ca_trusted_key", "logs"];

#[derive(Debug, Clone)]
pub struct Settings {
    pub core: CoreSettings,
    /// The cloud certificate and its key (`cloud.ssl.*`): what the CA signs with.
    pub cloud_key: KeyMaterial,
    pub bounds: signer::ValidityBounds,
}

impl Settings {
    pub fn from_core(core: CoreSettings) -> Result<Self, ConfigError> {
        let p = &core.properties;
        // Java's keys carry a typo ("offest"); the correct spelling is read too.
        let minutes = |right: &str, java: &str, default: u64| -> Result<Duration, ConfigError> {
            match p.get(right) {
                Some(_) => p.duration_or(right, default, MINUTES),
                None => p.duration_or(java, default, MINUTES),
            }
        };
        let back = minutes(
            "ca.validity.negative-offset-minutes",
            "ca.validity.negative-offest-minutes",
            1,
        )?;
        let ahead = minutes(
            "ca.validity.positive-offset-minutes",
            "ca.validity.positive-offest-minutes",
            525_600,
        )?;
        let to_chrono = |d: Duration, key: &str| {
            chrono::Duration::from_std(d)
                .map_err(|_| ConfigError::invalid(key, &d.as_secs().to_string(), "too long"))
        };
        Ok(Self {
            cloud_key: key_material(p, "cloud.ssl")?,
            bounds: signer::ValidityBounds {
                back: to_chrono(back, "ca.validity.negative-offset-minutes")?,
                ahead: to_chrono(ahead, "ca.validity.positive-offset-minutes")?,
            },
            core,
        })
    }

    pub fn load(config: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let settings = Self::from_core(CoreSettings::load(
            CoreSystem::CertificateAuthority,
            config,
        )?)?;
        settings.core.properties.warn_unknown_keys();
        Ok(settings)
    }
}

/// The signer of the cloud key in `material`; it must be the cloud of this system's own
/// certificate (`own_cloud`), when there is one.
pub fn load_signer(
    material: &KeyMaterial,
    own_cloud: Option<&str>,
    server_chain: &[openssl::x509::X509],
) -> Result<signer::Signer, String> {
    let store = Keystore::load(material).map_err(|e| format!("cloud.ssl: {e}"))?;
    let cloud_cn = common::tls::common_name(&store.cert).unwrap_or_default();
    if let Some(own) = own_cloud {
        if !cloud_cn.eq_ignore_ascii_case(own) {
            return Err(format!(
                "cloud.ssl: the cloud key is the key of '{cloud_cn}', but this Certificate Authority serves '{own}'"
            ));
        }
    }
    // Above the cloud: what the cloud keystore holds, else what the server keystore holds.
    let cloud_der = store.cert.to_der().map_err(|e| e.to_string())?;
    let above: Vec<openssl::x509::X509> = if store.chain.is_empty() {
        server_chain
            .iter()
            .filter(|c| c.to_der().map(|d| d != cloud_der).unwrap_or(false))
            .cloned()
            .collect()
    } else {
        store.chain.clone()
    };
    signer::Signer::new(store.cert.clone(), &store.key, &above)
}

/// Brings the system up; must run inside an actix system. Registration in the Service Registry
/// continues in the background until the registry accepts it.
pub async fn start(settings: Settings, db_wait: Duration) -> Result<Started, String> {
    let core = &settings.core;
    let base = Foundation::prepare(
        core,
        CoreSystem::CertificateAuthority,
        REQUIRED_TABLES,
        db_wait,
    )
    .await?;
    let own_cloud = base.tls.as_ref().map(|t| t.identity.cloud_cn());
    let server_chain = base
        .tls
        .as_ref()
        .map(|t| t.keystore.chain.clone())
        .unwrap_or_default();
    let signer = load_signer(&settings.cloud_key, own_cloud.as_deref(), &server_chain)?;
    let registrar = base.registrar.clone();
    let ledger = ledger::Ledger::start(base.pool.clone())?;
    let state = actix_web::web::Data::new(api::AppState {
        pool: base.pool.clone(),
        ledger,
        signer: Arc::new(signer),
        bounds: settings.bounds,
    });
    let running = base.serve(core, api::openapi(), state, api::configure)?;
    tracing::info!(addr = %running.addr, "Certificate Authority is ready");
    Ok(Started { running, registrar })
}

common::shipped_properties_test!(common::identity::CoreSystem::CertificateAuthority);
