//! Certificate issuing for an Arrowhead local cloud: master (`arrowhead.eu`) → cloud
//! (`<cloud>.<operator>.arrowhead.eu`) → system (`<system>.<cloud>.<operator>.arrowhead.eu`).
//! The local-cloud generator uses it today; the Certificate Authority system will sign CSRs with
//! [`sign_leaf`] the same way. Keys are RSA-2048 and signatures SHA-256, as the Java tooling makes
//! them, so Java systems and clients accept what comes out.

use common::names::is_cn_label;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private};
use openssl::rsa::Rsa;
use openssl::stack::Stack;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509Builder, X509NameBuilder, X509};
use std::net::IpAddr;

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("invalid name '{0}': names must start with a letter and contain only letters, digits and '-' (not at the end), at most 63 characters")]
    InvalidName(String),
    #[error("openssl: {0}")]
    Ssl(#[from] openssl::error::ErrorStack),
}

/// A certificate with its private key.
#[derive(Clone)]
pub struct Issued {
    pub cert: X509,
    pub key: PKey<Private>,
}

pub fn generate_key() -> Result<PKey<Private>, PkiError> {
    Ok(PKey::from_rsa(Rsa::generate(2048)?)?)
}

/// Checks one label of an Arrowhead name (system, cloud or operator).
pub fn check_label(name: &str) -> Result<(), PkiError> {
    if name.len() <= 63 && is_cn_label(name) {
        Ok(())
    } else {
        Err(PkiError::InvalidName(name.to_owned()))
    }
}

/// What kind of certificate to make.
pub enum Profile<'a> {
    /// Self-signed master.
    Root,
    /// Cloud CA: may sign system certificates only.
    Cloud,
    /// System certificate usable as TLS server and client, with these extra SANs.
    Leaf { hosts: &'a [String] },
}

fn serial() -> Result<openssl::asn1::Asn1Integer, PkiError> {
    let mut bn = BigNum::new()?;
    bn.rand(63, MsbOption::MAYBE_ZERO, false)?;
    Ok(bn.to_asn1_integer()?)
}

/// Builds and signs a certificate for `public_key`. `issuer` is `None` for the self-signed root.
pub fn sign_certificate<K: HasPublic>(
    cn: &str,
    public_key: &PKeyRef<K>,
    issuer: Option<&Issued>,
    self_key: Option<&PKeyRef<Private>>,
    profile: Profile<'_>,
    days: u32,
) -> Result<X509, PkiError> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = serial()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    match issuer {
        Some(i) => b.set_issuer_name(i.cert.subject_name())?,
        None => b.set_issuer_name(&name)?,
    }
    b.set_pubkey(public_key)?;
    // Valid from a minute ago, as the Java CA does, to tolerate small clock differences.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let not_before = Asn1Time::from_unix(now - 60)?;
    let not_after = Asn1Time::days_from_now(days)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    match &profile {
        Profile::Root => {
            b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
        }
        Profile::Cloud => {
            b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .digital_signature()
                    .build()?,
            )?;
        }
        Profile::Leaf { hosts } => {
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .build()?,
            )?;
            b.append_extension(
                ExtendedKeyUsage::new()
                    .server_auth()
                    .client_auth()
                    .build()?,
            )?;
            let mut san = SubjectAlternativeName::new();
            san.dns(cn).dns("localhost").ip("127.0.0.1");
            for h in hosts.iter() {
                match h.parse::<IpAddr>() {
                    Ok(_) => san.ip(h),
                    Err(_) => san.dns(h),
                };
            }
            let ext = san.build(&b.x509v3_context(issuer.map(|i| i.cert.as_ref()), None))?;
            b.append_extension(ext)?;
        }
    }
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    if let Some(i) = issuer {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(false)
            .build(&b.x509v3_context(Some(&i.cert), None))?;
        b.append_extension(aki)?;
    }
    let signing_key = match (issuer, self_key) {
        (Some(i), _) => i.key.as_ref(),
        (None, Some(k)) => k,
        (None, None) => {
            return Err(PkiError::InvalidName(
                "a root certificate needs its own key".into(),
            ))
        }
    };
    b.sign(signing_key, MessageDigest::sha256())?;
    Ok(b.build())
}

pub fn make_root(days: u32) -> Result<Issued, PkiError> {
    let key = generate_key()?;
    let cert = sign_certificate("arrowhead.eu", &key, None, Some(&key), Profile::Root, days)?;
    Ok(Issued { cert, key })
}

pub fn make_cloud(
    master: &Issued,
    cloud: &str,
    operator: &str,
    days: u32,
) -> Result<Issued, PkiError> {
    check_label(cloud)?;
    check_label(operator)?;
    let key = generate_key()?;
    let cert = sign_certificate(
        &format!("{cloud}.{operator}.arrowhead.eu"),
        &key,
        Some(master),
        None,
        Profile::Cloud,
        days,
    )?;
    Ok(Issued { cert, key })
}

/// Signs a system certificate for `public_key` (a generated key, or the key of a CSR).
pub fn sign_leaf<K: HasPublic>(
    cloud: &Issued,
    system: &str,
    public_key: &PKeyRef<K>,
    hosts: &[String],
    days: u32,
) -> Result<X509, PkiError> {
    check_label(system)?;
    let cloud_cn = common::tls::common_name(&cloud.cert).unwrap_or_default();
    sign_certificate(
        &format!("{system}.{cloud_cn}"),
        public_key,
        Some(cloud),
        None,
        Profile::Leaf { hosts },
        days,
    )
}

pub fn make_leaf(
    cloud: &Issued,
    system: &str,
    hosts: &[String],
    days: u32,
) -> Result<Issued, PkiError> {
    let key = generate_key()?;
    let cert = sign_leaf(cloud, system, &key, hosts, days)?;
    Ok(Issued { cert, key })
}

/// A PKCS#12 keystore with the key entry under `alias` and the issuing chain.
pub fn keystore_p12(
    alias: &str,
    issued: &Issued,
    chain: &[&X509],
    password: &str,
) -> Result<Vec<u8>, PkiError> {
    let mut ca = Stack::new()?;
    for c in chain {
        ca.push((*c).clone())?;
    }
    let p12 = Pkcs12::builder()
        .name(alias)
        .pkey(&issued.key)
        .cert(&issued.cert)
        .ca(ca)
        .build2(password)?;
    Ok(p12.to_der()?)
}

/// A certificate-only PKCS#12 truststore.
pub fn truststore_p12(certs: &[&X509], password: &str) -> Result<Vec<u8>, PkiError> {
    let mut ca = Stack::new()?;
    for c in certs {
        ca.push((*c).clone())?;
    }
    Ok(Pkcs12::builder().ca(ca).build2(password)?.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::stack::Stack;
    use openssl::x509::store::X509StoreBuilder;
    use openssl::x509::X509StoreContext;

    #[test]
    fn chain_verifies_and_names_are_checked() {
        let master = make_root(30).unwrap();
        let cloud = make_cloud(&master, "testcloud", "aitia", 30).unwrap();
        let leaf = make_leaf(
            &cloud,
            "provider",
            &["example.org".into(), "10.0.0.5".into()],
            30,
        )
        .unwrap();
        assert_eq!(
            common::tls::common_name(&leaf.cert).as_deref(),
            Some("provider.testcloud.aitia.arrowhead.eu")
        );
        let mut store = X509StoreBuilder::new().unwrap();
        store.add_cert(master.cert.clone()).unwrap();
        let store = store.build();
        let mut chain = Stack::new().unwrap();
        chain.push(cloud.cert.clone()).unwrap();
        let mut ctx = X509StoreContext::new().unwrap();
        assert!(ctx
            .init(&store, &leaf.cert, &chain, |c| c.verify_cert())
            .unwrap());
        let sans: Vec<String> = leaf
            .cert
            .subject_alt_names()
            .unwrap()
            .iter()
            .map(|n| {
                n.dnsname()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("{:?}", n.ipaddress().unwrap()))
            })
            .collect();
        assert!(
            sans.contains(&"localhost".to_owned()) && sans.contains(&"example.org".to_owned()),
            "{sans:?}"
        );
        for bad in ["my_system", "1abc", "", "a.b", "x-"] {
            assert!(make_leaf(&cloud, bad, &[], 1).is_err(), "{bad}");
        }
        assert!(make_cloud(&master, "test cloud", "aitia", 1).is_err());
    }

    #[test]
    fn keystores_round_trip_through_the_loader() {
        let master = make_root(30).unwrap();
        let cloud = make_cloud(&master, "c", "o", 30).unwrap();
        let leaf = make_leaf(&cloud, "serviceregistry", &[], 30).unwrap();
        let der = keystore_p12(
            "serviceregistry",
            &leaf,
            &[&cloud.cert, &master.cert],
            "secret",
        )
        .unwrap();
        let ks = common::tls::Keystore::from_pkcs12_der(&der, "secret").unwrap();
        assert_eq!(
            ks.common_name().as_deref(),
            Some("serviceregistry.c.o.arrowhead.eu")
        );
        assert_eq!(ks.chain.len(), 2);
        let trust = truststore_p12(&[&cloud.cert], "secret").unwrap();
        let dir = std::env::temp_dir().join(format!("ah-trust-{}", std::process::id()));
        std::fs::write(&dir, trust).unwrap();
        let certs = common::tls::load_trust(&common::config::TrustMaterial::Pkcs12 {
            path: dir.clone(),
            password: "secret".into(),
        })
        .unwrap();
        std::fs::remove_file(dir).ok();
        assert_eq!(certs.len(), 1);
    }
}
