//! TLS material and mutual-TLS configuration, built in one place on OpenSSL. Keystores are the
//! PKCS#12 files of the Java world — including the legacy RC2/3DES-encrypted ones the Java
//! tooling produces, which need OpenSSL's legacy provider — or PEM files. Trust stores usually
//! hold only the cloud certificate, so verification accepts a partial chain ending there; who the
//! peer is, is then decided from the verified chain by [`crate::peer`].

use crate::config::{KeyMaterial, SslSettings, TrustMaterial};
use crate::identity::SystemIdentity;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::provider::Provider;
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslMethod, SslVerifyMode};
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::X509;
use std::path::Path;
use std::sync::OnceLock;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error("Server CN ({0}) is not compliant with the Arrowhead certificate structure: expected <system>.<cloud>.<operator>.arrowhead.eu")]
    InvalidServerCn(String),
    #[error("TLS setup failed: {0}")]
    Ssl(#[from] openssl::error::ErrorStack),
    #[error(
        "the own certificate {cn} {problem}: renew it (a peer would refuse it in every handshake)"
    )]
    Validity { cn: String, problem: String },
}

/// Warn this long before the own certificate expires.
pub const EXPIRY_WARNING_DAYS: i32 = 30;

/// Refuses an own certificate that is expired or not yet valid (every peer would refuse the
/// handshake, which is far harder to diagnose than this startup error), and warns when it
/// expires within [`EXPIRY_WARNING_DAYS`].
pub fn check_validity(cert: &openssl::x509::X509Ref) -> Result<(), TlsError> {
    let cn = common_name(cert).unwrap_or_default();
    let now = openssl::asn1::Asn1Time::days_from_now(0)?;
    let invalid = |problem: String| TlsError::Validity {
        cn: cn.clone(),
        problem,
    };
    if cert.not_before() > now {
        return Err(invalid(format!(
            "is not valid before {}",
            cert.not_before()
        )));
    }
    if cert.not_after() < now {
        return Err(invalid(format!("expired on {}", cert.not_after())));
    }
    let left = now.diff(cert.not_after())?;
    if left.days < EXPIRY_WARNING_DAYS {
        tracing::warn!(certificate = %cn, expires = %cert.not_after(), days_left = left.days,
            "the own certificate expires soon: renew it");
    }
    Ok(())
}

/// Warns when a private key file can be read by any user of the machine.
pub fn warn_if_world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path) {
        let mode = meta.permissions().mode();
        if mode & 0o004 != 0 {
            tracing::warn!(file = %path.display(), mode = format!("{:o}", mode & 0o777),
                "a private key file is readable by every user of this machine: chmod o-r it");
        }
    }
}

fn file_err(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

/// Loads OpenSSL's `legacy` provider (for RC2-40/3DES PKCS#12) next to `default`, once per
/// process. The providers must stay loaded for the process lifetime, hence the static.
pub fn ensure_legacy_providers() {
    static PROVIDERS: OnceLock<Option<(Provider, Provider)>> = OnceLock::new();
    PROVIDERS.get_or_init(|| {
        let legacy = Provider::try_load(None, "legacy", true).ok()?;
        let default = Provider::try_load(None, "default", true).ok()?;
        Some((legacy, default))
    });
}

/// A system's own certificate, its issuing chain and private key.
#[derive(Clone)]
pub struct Keystore {
    pub cert: X509,
    pub chain: Vec<X509>,
    pub key: PKey<Private>,
}

impl Keystore {
    pub fn load(material: &KeyMaterial) -> Result<Self, TlsError> {
        match material {
            KeyMaterial::Pkcs12 {
                path,
                password,
                key_password,
                alias,
            } => {
                let mut ks = Self::from_pkcs12_file(path, password)?;
                if key_password != password {
                    // PKCS#12 from OpenSSL and keytool use one password for both; a differing key
                    // password is accepted only if the store also opens with it.
                    if let Ok(other) = Self::from_pkcs12_file(path, key_password) {
                        ks = other;
                    }
                }
                if let Some(alias) = alias {
                    let found = ks
                        .cert
                        .alias()
                        .map(|a| String::from_utf8_lossy(a).into_owned());
                    if found
                        .as_deref()
                        .is_some_and(|f| !f.eq_ignore_ascii_case(alias))
                    {
                        tracing::warn!(configured = %alias, found = ?found, "server.ssl.key-alias differs from the keystore's key entry; using the key entry");
                    }
                }
                Ok(ks)
            }
            KeyMaterial::Pem {
                certificate,
                private_key,
            } => {
                let certs = X509::stack_from_pem(&read(certificate)?)
                    .map_err(|e| file_err(certificate, e))?;
                let mut it = certs.into_iter();
                let cert = it
                    .next()
                    .ok_or_else(|| file_err(certificate, "no certificate in PEM file"))?;
                let key = PKey::private_key_from_pem(&read(private_key)?)
                    .map_err(|e| file_err(private_key, e))?;
                Ok(Self {
                    cert,
                    chain: it.collect(),
                    key,
                })
            }
        }
    }

    pub fn from_pkcs12_file(path: &Path, password: &str) -> Result<Self, TlsError> {
        Self::from_pkcs12_der(&read(path)?, password).map_err(|e| file_err(path, e))
    }

    pub fn from_pkcs12_der(der: &[u8], password: &str) -> Result<Self, String> {
        ensure_legacy_providers();
        let parsed = Pkcs12::from_der(der)
            .and_then(|p| p.parse2(password))
            .map_err(|e| {
                format!(
                    "cannot open PKCS#12 keystore (wrong password or unsupported encryption): {e}"
                )
            })?;
        let cert = parsed
            .cert
            .ok_or("keystore holds no certificate with a private key")?;
        let key = parsed.pkey.ok_or("keystore holds no private key")?;
        let leaf_der = cert.to_der().map_err(|e| e.to_string())?;
        let mut chain: Vec<X509> = Vec::new();
        let mut seen = vec![leaf_der];
        for c in parsed.ca.into_iter().flatten() {
            let der = c.to_der().map_err(|e| e.to_string())?;
            if !seen.contains(&der) {
                seen.push(der);
                chain.push(c);
            }
        }
        Ok(Self { cert, chain, key })
    }

    /// The leaf's CN.
    pub fn common_name(&self) -> Option<String> {
        common_name(&self.cert)
    }

    /// Leaf and chain as one PEM bundle (for HTTP clients).
    pub fn chain_pem(&self) -> Result<Vec<u8>, TlsError> {
        let mut pem = self.cert.to_pem()?;
        for c in &self.chain {
            pem.extend(c.to_pem()?);
        }
        Ok(pem)
    }

    /// Base64 DER SubjectPublicKeyInfo: Arrowhead's `authenticationInfo` format.
    pub fn public_key_base64(&self) -> Result<String, TlsError> {
        Ok(openssl::base64::encode_block(
            &self.key.public_key_to_der()?,
        ))
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| file_err(path, e))
}

/// Trusted certificates: every certificate in a truststore PKCS#12 or PEM bundle.
pub fn load_trust(material: &TrustMaterial) -> Result<Vec<X509>, TlsError> {
    match material {
        TrustMaterial::Pem { path } => {
            X509::stack_from_pem(&read(path)?).map_err(|e| file_err(path, e))
        }
        TrustMaterial::Pkcs12 { path, password } => {
            ensure_legacy_providers();
            let parsed = Pkcs12::from_der(&read(path)?)
                .and_then(|p| p.parse2(password))
                .map_err(|e| file_err(path, format!("cannot open PKCS#12 truststore: {e}")))?;
            let mut certs: Vec<X509> = parsed.ca.into_iter().flatten().collect();
            certs.extend(parsed.cert);
            if certs.is_empty() {
                return Err(file_err(path, "truststore holds no certificate"));
            }
            Ok(certs)
        }
    }
}

pub fn common_name(cert: &openssl::x509::X509Ref) -> Option<String> {
    cert.subject_name()
        .entries_by_nid(Nid::COMMONNAME)
        .next()
        .and_then(|e| e.data().to_string().ok())
}

/// Logs a client certificate refused in the TLS handshake, at most once a second (a client
/// retrying in a loop must not flood the log); the count of refusals not logged goes with it.
fn refused_handshake(reason: &str, leaf: Option<&str>, at: Option<&str>) {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};
    static LAST: Mutex<Option<Instant>> = Mutex::new(None);
    static SUPPRESSED: AtomicU64 = AtomicU64::new(0);
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if last.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    *last = Some(Instant::now());
    let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
    tracing::warn!(
        reason,
        certificate = leaf.unwrap_or("-"),
        at = at.unwrap_or("-"),
        suppressed,
        "client certificate refused in the TLS handshake"
    );
}

/// Everything a secured system needs: its keystore, trust anchors and parsed own identity.
#[derive(Clone)]
pub struct TlsContext {
    pub keystore: Keystore,
    pub trust: Vec<X509>,
    pub identity: SystemIdentity,
    /// Clients may connect without a certificate (`server.ssl.client-auth=want`).
    pub client_auth_optional: bool,
}

impl TlsContext {
    /// Loads the material and refuses a server certificate whose CN is not a valid Arrowhead
    /// system name (the Java startup check).
    pub fn load(settings: &SslSettings) -> Result<Self, TlsError> {
        let keystore = Keystore::load(&settings.key)?;
        check_validity(&keystore.cert)?;
        match &settings.key {
            crate::config::KeyMaterial::Pkcs12 { path, .. } => warn_if_world_readable(path),
            crate::config::KeyMaterial::Pem { private_key, .. } => {
                warn_if_world_readable(private_key)
            }
        }
        let trust = load_trust(&settings.trust)?;
        let mut tls = Self::new(keystore, trust)?;
        tls.client_auth_optional = settings.client_auth_optional;
        Ok(tls)
    }

    pub fn new(keystore: Keystore, trust: Vec<X509>) -> Result<Self, TlsError> {
        let cn = keystore.common_name().unwrap_or_default();
        let identity = SystemIdentity::from_cn(&cn).ok_or(TlsError::InvalidServerCn(cn))?;
        Ok(Self {
            keystore,
            trust,
            identity,
            client_auth_optional: false,
        })
    }

    /// Refuses to run core system `system` with another system's certificate (Java checks the
    /// same at startup): it would register and answer under the wrong identity and key.
    pub fn require_system(&self, system: crate::identity::CoreSystem) -> Result<(), String> {
        if crate::identity::same_system(&self.identity.system, system.name()) {
            return Ok(());
        }
        Err(format!(
            "the server certificate ({}) names system '{}', but this is the {} (core_system_name={}): \
             start each core system with its own keystore",
            self.identity.cn(),
            self.identity.system,
            system.name(),
            system.property_name()
        ))
    }

    /// A TLS 1.2/1.3 acceptor that requires a client certificate chaining to the trust store.
    pub fn acceptor(&self) -> Result<SslAcceptorBuilder, TlsError> {
        let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
        b.set_certificate(&self.keystore.cert)?;
        for c in &self.keystore.chain {
            b.add_extra_chain_cert(c.clone())?;
        }
        b.set_private_key(&self.keystore.key)?;
        b.check_private_key()?;
        for ca in &self.trust {
            b.add_client_ca(ca)?;
        }
        b.set_verify_cert_store(anchor_store(&self.trust)?)?;
        let mode = if self.client_auth_optional {
            SslVerifyMode::PEER
        } else {
            SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT
        };
        b.set_verify_callback(mode, |ok, ctx| {
            if !ok {
                let leaf = ctx.chain().and_then(|c| c.get(0)).and_then(common_name);
                let at = ctx.current_cert().and_then(common_name);
                refused_handshake(ctx.error().error_string(), leaf.as_deref(), at.as_deref());
            }
            ok
        });
        // Keep-alive connections from many clients: let sessions resume instead of full handshakes.
        b.set_session_id_context(b"arrowhead")?;
        Ok(b)
    }

    /// A reqwest identity (leaf + chain, PKCS#8 key).
    pub fn reqwest_identity(&self) -> Result<reqwest::Identity, TlsError> {
        let key = self.keystore.key.private_key_to_pem_pkcs8()?;
        reqwest::Identity::from_pkcs8_pem(&self.keystore.chain_pem()?, &key).map_err(|e| {
            TlsError::File {
                path: "<keystore>".into(),
                reason: e.to_string(),
            }
        })
    }
}

/// An OpenSSL store of `trust` accepting partial chains (the trust store's certificates are
/// anchors whether or not they are self-signed).
pub fn anchor_store(trust: &[X509]) -> Result<X509Store, openssl::error::ErrorStack> {
    let mut b = X509StoreBuilder::new()?;
    for c in trust {
        b.add_cert(c.clone())?;
    }
    b.set_flags(X509VerifyFlags::PARTIAL_CHAIN)?;
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Java sample certificates: `ARROWHEAD_JAVA_FIXTURES`, else the first
    /// `shared/fixtures/java-certificates` above this crate (as `testing::java_fixtures`).
    fn fixture(name: &str) -> std::path::PathBuf {
        let dir = std::env::var("ARROWHEAD_JAVA_FIXTURES")
            .map(std::path::PathBuf::from)
            .ok()
            .or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .ancestors()
                    .map(|a| a.join("shared/fixtures/java-certificates"))
                    .find(|p| p.is_dir())
            })
            .expect("Java sample certificates not found; set ARROWHEAD_JAVA_FIXTURES");
        dir.join(name)
    }

    fn cert_valid(from_days: i64, to_days: i64) -> X509 {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut name = openssl::x509::X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", "x.c.o.arrowhead.eu")
            .unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let at = |d: i64| openssl::asn1::Asn1Time::from_unix(now + d * 86_400).unwrap();
        b.set_not_before(&at(from_days)).unwrap();
        b.set_not_after(&at(to_days)).unwrap();
        b.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        b.build()
    }

    #[test]
    fn own_certificate_validity_is_checked() {
        assert!(check_validity(&cert_valid(-10, 365)).is_ok());
        // Expiring soon: a warning, not an error.
        assert!(check_validity(&cert_valid(-10, 5)).is_ok());
        let err = check_validity(&cert_valid(-10, -1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.c.o.arrowhead.eu expired on"), "{err}");
        let err = check_validity(&cert_valid(2, 365)).unwrap_err().to_string();
        assert!(err.contains("is not valid before"), "{err}");
    }

    #[test]
    fn opens_legacy_java_keystores() {
        let ks = Keystore::from_pkcs12_file(&fixture("testcloud2/serviceregistry.p12"), "123456")
            .unwrap();
        assert_eq!(
            ks.common_name().as_deref(),
            Some("serviceregistry.testcloud2.aitia.arrowhead.eu")
        );
        assert!(!ks.chain.is_empty());
        let trust = load_trust(&TrustMaterial::Pkcs12 {
            path: fixture("testcloud2/truststore.p12"),
            password: "123456".into(),
        })
        .unwrap();
        let cns: Vec<_> = trust.iter().filter_map(|c| common_name(c)).collect();
        assert!(
            cns.contains(&"testcloud2.aitia.arrowhead.eu".to_owned()),
            "{cns:?}"
        );
        let ctx = TlsContext::new(ks, trust).unwrap();
        assert_eq!(ctx.identity.cloud_cn(), "testcloud2.aitia.arrowhead.eu");
        assert!(ctx.acceptor().is_ok());
    }

    #[test]
    fn wrong_password_and_invalid_server_cn_are_refused() {
        let err = Keystore::from_pkcs12_file(&fixture("testcloud2/serviceregistry.p12"), "bad")
            .err()
            .unwrap();
        assert!(err.to_string().contains("serviceregistry.p12"), "{err}");
        // The cloud keystore has a 4-label CN: not a system certificate.
        let cloud =
            Keystore::from_pkcs12_file(&fixture("testcloud2/testcloud2.p12"), "123456").unwrap();
        let err = TlsContext::new(cloud, vec![]).err().unwrap();
        assert!(
            err.to_string().contains("testcloud2.aitia.arrowhead.eu"),
            "{err}"
        );
    }
}
