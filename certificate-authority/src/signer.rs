//! Turning a PKCS#10 certificate signing request into a system certificate of the cloud: parsed
//! and its signature verified with `x509-parser`, built and signed with `rcgen` (the cloud's RSA
//! key is read by openssl from the keystore and handed over as PKCS#8).
//!
//! What Java gets wrong and this does right, keeping the wire format: protected names (the
//! sysop and every core system, in both spellings) are compared ignoring case; the requested
//! validity is honoured in the certificate itself, within the configured bounds; serials are
//! positive 63-bit numbers, made unique by the `ca_certificate` table (the caller retries on a
//! collision) instead of random 32-bit numbers that collide.

use chrono::{DateTime, Duration as ChronoDuration, Utc};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use rcgen::{CertificateSigningRequestParams, IsCa, Issuer, KeyPair, SerialNumber};
use x509_parser::prelude::FromDer;

/// Why a request cannot be signed (each is a 400 with Java's message).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    #[error("Failed to parse request as a PKCS10 CSR")]
    Unparsable,
    #[error("Certificate request has invalid signature! (key pair does not match)")]
    BadSignature,
    #[error("Certificate request does not have a valid common name! Valid common name: {{systemName}}.{0}")]
    BadCommonName(String),
    #[error("Only sysop allowed to request a certificate with protected common name")]
    Protected,
    #[error("{0}")]
    Validity(String),
    #[error("Cannot build the certificate: {0}")]
    Build(String),
}

/// The cloud's signing material.
pub struct Signer {
    issuer: Issuer<'static, CloudKey>,
    /// `<cloud>.<operator>.arrowhead.eu`
    pub cloud_cn: String,
    /// The cloud certificate and what signed it (DER), as the chain of issued certificates.
    pub chain: Vec<Vec<u8>>,
    /// `chain` in base64, as every signing answer carries it.
    pub chain_base64: Vec<String>,
    pub cloud_cert: X509,
}

/// A certificate ready to be recorded and returned.
#[derive(Debug, Clone)]
pub struct Issued {
    pub der: Vec<u8>,
    pub common_name: String,
    pub serial: i64,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// Validity limits: certificates start at most `back` before now and end at most `ahead` after.
#[derive(Debug, Clone, Copy)]
pub struct ValidityBounds {
    pub back: ChronoDuration,
    pub ahead: ChronoDuration,
}

/// The cloud's key as rcgen's signer. rcgen builds the certificate; for an RSA key (every
/// Arrowhead cloud's) the private-key operation is OpenSSL's, which signs about twice as fast
/// as ring (rcgen's own) on the same machine, and signing is what the CA spends its time on.
/// Other key types stay with rcgen.
pub enum CloudKey {
    Rsa {
        key: PKey<Private>,
        /// `RSAPublicKey` (PKCS#1) DER, what rcgen calls the public key's DER bytes.
        public: Vec<u8>,
    },
    Other(Box<KeyPair>),
}

impl CloudKey {
    fn new(key: &PKey<Private>) -> Result<Self, String> {
        if let Ok(rsa) = key.rsa() {
            let public = rsa.public_key_to_der_pkcs1().map_err(|e| e.to_string())?;
            return Ok(CloudKey::Rsa {
                key: key.clone(),
                public,
            });
        }
        let pem = key.private_key_to_pem_pkcs8().map_err(|e| e.to_string())?;
        let pem = String::from_utf8(pem).map_err(|e| e.to_string())?;
        KeyPair::from_pem(&pem)
            .map(|k| CloudKey::Other(Box::new(k)))
            .map_err(|e| format!("the cloud key: {e}"))
    }
}

impl rcgen::PublicKeyData for CloudKey {
    fn der_bytes(&self) -> &[u8] {
        match self {
            CloudKey::Rsa { public, .. } => public,
            CloudKey::Other(k) => k.der_bytes(),
        }
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            CloudKey::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            CloudKey::Other(k) => k.algorithm(),
        }
    }
}

impl rcgen::SigningKey for CloudKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        match self {
            CloudKey::Rsa { key, .. } => {
                let mut signer =
                    openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key)
                        .map_err(|_| rcgen::Error::RemoteKeyError)?;
                signer
                    .update(msg)
                    .and_then(|_| signer.sign_to_vec())
                    .map_err(|_| rcgen::Error::RemoteKeyError)
            }
            CloudKey::Other(k) => k.sign(msg),
        }
    }
}

impl Signer {
    /// The cloud certificate `cloud` with its key, and the certificates above it (`above`).
    pub fn new(cloud: X509, key: &PKey<Private>, above: &[X509]) -> Result<Self, String> {
        let cloud_cn =
            common::tls::common_name(&cloud).ok_or("the cloud certificate has no common name")?;
        let labels: Vec<&str> = cloud_cn.split('.').collect();
        if labels.len() != 4 || !cloud_cn.to_ascii_lowercase().ends_with(".arrowhead.eu") {
            return Err(format!(
                "'{cloud_cn}' is not a cloud certificate (<cloud>.<operator>.arrowhead.eu)"
            ));
        }
        let key_pair = CloudKey::new(key)?;
        let cloud_der = cloud.to_der().map_err(|e| e.to_string())?;
        let issuer = Issuer::from_ca_cert_der(&cloud_der.clone().into(), key_pair)
            .map_err(|e| format!("the cloud certificate: {e}"))?;
        let mut chain = vec![cloud_der];
        for c in above {
            chain.push(c.to_der().map_err(|e| e.to_string())?);
        }
        Ok(Self {
            issuer,
            cloud_cn,
            chain_base64: chain
                .iter()
                .map(|c| openssl::base64::encode_block(c))
                .collect(),
            chain,
            cloud_cert: cloud,
        })
    }

    /// Checks and signs `csr_der` for `requester` (the verified certificate name of the caller),
    /// valid from `valid_after` to `valid_before` (each defaulting to the bound), with `serial`.
    pub fn sign(
        &self,
        csr_der: &[u8],
        requester: &str,
        (valid_after, valid_before): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
        bounds: ValidityBounds,
        now: DateTime<Utc>,
        serial: i64,
    ) -> Result<Issued, SignError> {
        let (rest, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(csr_der)
                .map_err(|_| SignError::Unparsable)?;
        if !rest.is_empty() {
            return Err(SignError::Unparsable);
        }
        let cn = csr
            .certification_request_info
            .subject
            .iter_common_name()
            .next()
            .and_then(|a| a.as_str().ok())
            .unwrap_or_default()
            .to_owned();
        let system = self
            .system_label(&cn)
            .ok_or_else(|| SignError::BadCommonName(self.cloud_cn.clone()))?;
        if is_protected(system) && !self.is_sysop(requester) {
            return Err(SignError::Protected);
        }
        let (not_before, not_after) = validity(valid_after, valid_before, bounds, now)?;
        // rcgen verifies the CSR's signature while reading it (verifying it here as well cost a
        // second RSA verification per certificate); when it refuses, x509-parser tells a bad
        // signature from anything else. As in Java, names are checked before the signature.
        let mut params = CertificateSigningRequestParams::from_der(&csr_der.to_vec().into())
            .map_err(|e| match csr.verify_signature() {
                Err(_) => SignError::BadSignature,
                Ok(()) => SignError::Build(e.to_string()),
            })?;
        params.params.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
        params.params.not_before = to_time(not_before)?;
        params.params.not_after = to_time(not_after)?;
        params.params.is_ca = IsCa::ExplicitNoCa;
        params.params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(&self.issuer)
            .map_err(|e| SignError::Build(e.to_string()))?;
        Ok(Issued {
            der: cert.der().to_vec(),
            common_name: cn,
            serial,
            not_before,
            not_after,
        })
    }

    /// The system label of `cn` when it is `<system>.<this cloud>` (cloud compared ignoring
    /// case, as Java does) with a plain ASCII system label (what every system accepts).
    fn system_label<'a>(&self, cn: &'a str) -> Option<&'a str> {
        let (label, cloud) = cn.split_once('.')?;
        let ok_label = label
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && label.len() <= 63;
        (ok_label && cloud.eq_ignore_ascii_case(&self.cloud_cn)).then_some(label)
    }

    /// Whether `requester` (a certificate name) is this cloud's sysop.
    pub fn is_sysop(&self, requester: &str) -> bool {
        match requester.split_once('.') {
            Some((label, cloud)) => {
                label.eq_ignore_ascii_case("sysop") && cloud.eq_ignore_ascii_case(&self.cloud_cn)
            }
            None => false,
        }
    }
}

pub use common::identity::is_protected;

/// The certificate's validity: the requested window, which must lie within the bounds.
pub fn validity(
    valid_after: Option<DateTime<Utc>>,
    valid_before: Option<DateTime<Utc>>,
    bounds: ValidityBounds,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), SignError> {
    let earliest = now - bounds.back;
    let latest = now + bounds.ahead;
    let not_before = valid_after.unwrap_or(earliest);
    let not_after = valid_before.unwrap_or(latest);
    if not_after > latest {
        return Err(SignError::Validity(format!(
            "Validity range parameter exceeds maximum validity range: validBefore (limit: {}, got: {})",
            instant(latest),
            instant(not_after)
        )));
    }
    if not_before < earliest {
        return Err(SignError::Validity(format!(
            "Validity range parameter exceeds maximum validity range: validAfter (limit: {}, got: {})",
            instant(earliest),
            instant(not_before)
        )));
    }
    if not_before >= not_after {
        return Err(SignError::Validity(
            "Invalid validity range: validAfter must have a value before validBefore".into(),
        ));
    }
    Ok((not_before, not_after))
}

fn instant(t: DateTime<Utc>) -> String {
    common::dto::format_instant(&t.naive_utc())
}

fn to_time(t: DateTime<Utc>) -> Result<time::OffsetDateTime, SignError> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map_err(|e| SignError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki;
    use openssl::hash::MessageDigest;
    use openssl::stack::Stack;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509NameBuilder, X509Req};
    use std::sync::OnceLock;

    fn cloud() -> &'static (Signer, pki::Issued) {
        static CLOUD: OnceLock<(Signer, pki::Issued)> = OnceLock::new();
        CLOUD.get_or_init(|| {
            let root = pki::make_root(30).unwrap();
            let cloud = pki::make_cloud(&root, "testcloud", "aitia", 30).unwrap();
            let signer = Signer::new(
                cloud.cert.clone(),
                &cloud.key,
                std::slice::from_ref(&root.cert),
            )
            .unwrap();
            (signer, root)
        })
    }

    fn key() -> &'static PKey<Private> {
        static KEY: OnceLock<PKey<Private>> = OnceLock::new();
        KEY.get_or_init(|| pki::generate_key().unwrap())
    }

    fn csr(cn: &str) -> Vec<u8> {
        let mut b = X509Req::builder().unwrap();
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        b.set_subject_name(&name.build()).unwrap();
        b.set_pubkey(key()).unwrap();
        let mut exts = Stack::new().unwrap();
        exts.push(
            SubjectAlternativeName::new()
                .dns("device.local")
                .ip("10.0.0.7")
                .build(&b.x509v3_context(None))
                .unwrap(),
        )
        .unwrap();
        b.add_extensions(&exts).unwrap();
        b.sign(key(), MessageDigest::sha256()).unwrap();
        b.build().to_der().unwrap()
    }

    const BOUNDS: ValidityBounds = ValidityBounds {
        back: ChronoDuration::minutes(1),
        ahead: ChronoDuration::days(365),
    };
    const OC: &str = "onboardingcontroller.testcloud.aitia.arrowhead.eu";
    const SYSOP: &str = "sysop.testcloud.aitia.arrowhead.eu";

    fn sign(cn: &str, requester: &str) -> Result<Issued, SignError> {
        cloud()
            .0
            .sign(&csr(cn), requester, (None, None), BOUNDS, Utc::now(), 77)
    }

    #[test]
    fn issues_a_system_certificate_of_the_cloud() {
        let now = Utc::now();
        let after = now + ChronoDuration::hours(1);
        let before = now + ChronoDuration::days(7);
        let issued = cloud()
            .0
            .sign(
                &csr("device-1.testcloud.aitia.arrowhead.eu"),
                OC,
                (Some(after), Some(before)),
                BOUNDS,
                now,
                (1 << 62) + 5,
            )
            .unwrap();
        let cert = X509::from_der(&issued.der).unwrap();
        let cloud_cert = &cloud().0.cloud_cert;
        assert!(cert.verify(&cloud_cert.public_key().unwrap()).unwrap());
        assert_eq!(
            cert.issuer_name()
                .try_cmp(cloud_cert.subject_name())
                .unwrap(),
            std::cmp::Ordering::Equal
        );
        assert_eq!(issued.common_name, "device-1.testcloud.aitia.arrowhead.eu");
        assert_eq!(common::revocation::serial_of(&cert), Some((1 << 62) + 5));
        // The requested validity is the certificate's (Java always uses the maximum).
        assert_eq!(
            cert.not_before().to_string(),
            openssl::asn1::Asn1Time::from_unix(after.timestamp())
                .unwrap()
                .to_string()
        );
        assert_eq!(
            cert.not_after().to_string(),
            openssl::asn1::Asn1Time::from_unix(before.timestamp())
                .unwrap()
                .to_string()
        );
        let sans: Vec<String> = cert
            .subject_alt_names()
            .unwrap()
            .iter()
            .map(|n| {
                n.dnsname()
                    .map(str::to_owned)
                    .or_else(|| n.ipaddress().map(|ip| format!("{ip:?}")))
                    .unwrap()
            })
            .collect();
        assert_eq!(sans, ["device.local", "[10, 0, 0, 7]"]);
        let text = String::from_utf8(cert.to_text().unwrap()).unwrap();
        assert!(text.contains("CA:FALSE"), "{text}");
        assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");
        assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
        assert_eq!(
            cloud().0.chain.len(),
            2,
            "the cloud certificate and the master"
        );
    }

    #[test]
    fn protected_names_need_the_sysop_in_every_spelling() {
        for label in [
            "sysop",
            "SysOp",
            "Sys_Op",
            "orchestrator",
            "Orchestrator",
            "SERVICEREGISTRY",
            "service_registry",
            "Service-Registry",
            "event_handler",
            "onboarding-controller",
            "certificateauthority",
        ] {
            let cn = format!("{label}.testcloud.aitia.arrowhead.eu");
            assert_eq!(sign(&cn, OC).unwrap_err(), SignError::Protected, "{label}");
            assert!(sign(&cn, SYSOP).is_ok(), "{label} for the sysop");
            assert!(
                sign(&cn, "SYSOP.TestCloud.aitia.arrowhead.eu").is_ok(),
                "{label}"
            );
        }
        // Another cloud's sysop is not ours.
        assert_eq!(
            sign(
                "orchestrator.testcloud.aitia.arrowhead.eu",
                "sysop.othercloud.aitia.arrowhead.eu"
            )
            .unwrap_err(),
            SignError::Protected
        );
        assert!(sign("thermometer.testcloud.aitia.arrowhead.eu", OC).is_ok());
    }

    #[test]
    fn refuses_what_is_not_a_system_of_this_cloud_or_not_a_csr() {
        let bad_cn = SignError::BadCommonName("testcloud.aitia.arrowhead.eu".into());
        for cn in [
            "device.othercloud.aitia.arrowhead.eu",
            "testcloud.aitia.arrowhead.eu",
            "a.b.testcloud.aitia.arrowhead.eu",
            "dévice.testcloud.aitia.arrowhead.eu",
            "1device.testcloud.aitia.arrowhead.eu",
            "device",
        ] {
            assert_eq!(sign(cn, SYSOP).unwrap_err(), bad_cn, "{cn}");
        }
        assert!(
            sign("Device.TESTCLOUD.aitia.arrowhead.eu", SYSOP).is_ok(),
            "cloud ignoring case"
        );
        let signer = &cloud().0;
        let now = Utc::now();
        let sign_der = |der: &[u8]| signer.sign(der, SYSOP, (None, None), BOUNDS, now, 1);
        assert_eq!(sign_der(b"not a csr").unwrap_err(), SignError::Unparsable);
        // Another key's signature over the request: the key pair does not match.
        let mut der = csr("device.testcloud.aitia.arrowhead.eu");
        let last = der.len() - 1;
        der[last] ^= 0xff;
        assert_eq!(sign_der(&der).unwrap_err(), SignError::BadSignature);
    }

    #[test]
    fn validity_stays_within_the_bounds() {
        let now = Utc::now();
        let too_late = now + ChronoDuration::days(400);
        let e = validity(None, Some(too_late), BOUNDS, now)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "Validity range parameter exceeds maximum validity range: validBefore (limit: "
            ),
            "{e}"
        );
        let too_early = now - ChronoDuration::hours(1);
        let e = validity(Some(too_early), None, BOUNDS, now)
            .unwrap_err()
            .to_string();
        assert!(e.contains("validAfter (limit: "), "{e}");
        let e = validity(
            Some(now + ChronoDuration::days(2)),
            Some(now + ChronoDuration::days(1)),
            BOUNDS,
            now,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "Invalid validity range: validAfter must have a value before validBefore"
        );
        assert_eq!(
            validity(None, None, BOUNDS, now).unwrap(),
            (now - BOUNDS.back, now + BOUNDS.ahead)
        );
    }
}
