//! Certificates for onboarding devices and systems, shared by the Onboarding Controller, the
//! Device Registry and the System Registry: the device's key pair (sent in Java's formats or
//! generated), a CSR for `<label>.<cloud>`, and the Certificate Authority's signature through
//! its `ca-sign` service.

use crate::dto::onboarding::{CertificateResponse, KeyPairDto};
use crate::identity::CoreSystem;
use crate::registration::Registrar;
use crate::ArrowheadError;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::stack::Stack;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509NameBuilder, X509Req};
use serde::{Deserialize, Serialize};

fn bad(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::bad_payload(message).with_origin(origin)
}

fn auth(message: impl Into<String>, origin: &str) -> ArrowheadError {
    ArrowheadError::auth(message).with_origin(origin)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignRequest {
    #[serde(rename = "encodedCSR")]
    encoded_csr: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignResponse {
    certificate_chain: Vec<String>,
}

/// The device's key pair: the one it sent (decoded per Java's formats; errors are 401 as in
/// Java), or a new RSA-2048 pair.
pub fn key_pair(dto: Option<&KeyPairDto>, origin: &str) -> Result<PKey<Private>, ArrowheadError> {
    let given = dto.and_then(|k| Some((k.public_key.as_deref()?, k.private_key.as_deref()?, k)));
    let Some((public, private, dto)) = given else {
        return PKey::from_rsa(
            openssl::rsa::Rsa::generate(2048)
                .map_err(|e| ArrowheadError::internal(e.to_string()))?,
        )
        .map_err(|e| ArrowheadError::internal(e.to_string()));
    };
    let decode = |b64: &str, what: &str| {
        let compact: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
        openssl::base64::decode_block(&compact).map_err(|_| {
            auth(
                format!("{what} key decoding failed due to wrong key format"),
                origin,
            )
        })
    };
    let private_der = decode(private, "Private")?;
    let private_failed = || {
        auth(
            "Private key decoding failed due to wrong key format",
            origin,
        )
    };
    let key = match dto
        .key_format
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        Some("PKCS#8") | Some("PKCS8") => {
            PKey::private_key_from_pkcs8(&private_der).map_err(|_| private_failed())?
        }
        Some("PKCS#1") | Some("PKCS1") => openssl::rsa::Rsa::private_key_from_der(&private_der)
            .and_then(PKey::from_rsa)
            .map_err(|_| private_failed())?,
        Some("X.509") | Some("X509") | None => PKey::private_key_from_pkcs8(&private_der)
            .or_else(|_| {
                openssl::rsa::Rsa::private_key_from_der(&private_der).and_then(PKey::from_rsa)
            })
            .map_err(|_| private_failed())?,
        Some(_) => return Err(auth("Unknown or unsupported key format.", origin)),
    };
    let public_key: PKey<Public> = PKey::public_key_from_der(&decode(public, "Public")?)
        .map_err(|_| auth("Public key decoding failed due to wrong key format", origin))?;
    if !public_key.public_eq(&key) {
        return Err(bad(
            "The public key does not belong to the private key",
            origin,
        ));
    }
    Ok(key)
}

/// A CSR for `<label>.<cloud>` signed with `key`, with the SANs Java gives (localhost, the
/// label, 127.0.0.1 and the device's address).
pub fn build_csr(
    label: &str,
    cloud_cn: &str,
    key: &PKey<Private>,
    remote: Option<std::net::IpAddr>,
) -> Result<Vec<u8>, ArrowheadError> {
    let err = |e: openssl::error::ErrorStack| ArrowheadError::internal(e.to_string());
    let mut b = X509Req::builder().map_err(err)?;
    let mut name = X509NameBuilder::new().map_err(err)?;
    name.append_entry_by_text("CN", &format!("{label}.{cloud_cn}"))
        .map_err(err)?;
    b.set_subject_name(&name.build()).map_err(err)?;
    b.set_pubkey(key).map_err(err)?;
    let mut san = SubjectAlternativeName::new();
    san.dns("localhost").dns(label).ip("127.0.0.1");
    if let Some(ip) = remote {
        san.ip(&ip.to_string());
    }
    let mut exts = Stack::new().map_err(err)?;
    exts.push(san.build(&b.x509v3_context(None)).map_err(err)?)
        .map_err(err)?;
    b.add_extensions(&exts).map_err(err)?;
    b.sign(key, MessageDigest::sha256()).map_err(err)?;
    b.build().to_der().map_err(err)
}

/// The CSR of a `name` onboarding variant: `<commonName>.<cloud>` signed with the key pair the
/// request carries, or a new one (returned, so the answer can hand its private key over).
/// `cloud_cn` is `None` on an insecure server, which has no cloud to name (`who` says which
/// system in the refusal).
pub fn csr_for_name(
    creation: &crate::dto::onboarding::CertificateCreationRequest,
    cloud_cn: Option<&str>,
    remote: Option<std::net::IpAddr>,
    who: &str,
    origin: &str,
) -> Result<(Vec<u8>, PKey<Private>), ArrowheadError> {
    let label = creation
        .common_name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad(" Common name must have value ", origin))?;
    let cloud_cn = cloud_cn
        .ok_or_else(|| bad(format!("Onboarding by name needs a secured {who}."), origin))?;
    let key = key_pair(creation.key_pair_dto.as_ref(), origin)?;
    let csr = build_csr(label, cloud_cn, &key, remote)?;
    Ok((csr, key))
}

/// The DER bytes of a base64 CSR as a device sends it (line breaks allowed); the CA checks the
/// rest.
pub fn decode_csr(
    text: Option<&str>,
    missing: &str,
    origin: &str,
) -> Result<Vec<u8>, ArrowheadError> {
    let text = text
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| bad(missing, origin))?;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    openssl::base64::decode_block(&compact)
        .map_err(|_| bad("Failed to parse request as a PKCS10 CSR", origin))
}

/// A certificate the CA issued, with the cloud's chain (base64 DER each).
#[derive(Debug, Clone)]
pub struct Signed {
    pub leaf: String,
    pub intermediate: String,
    pub root: String,
}

impl Signed {
    /// Java `CertificateCreationResponseDTO` for this certificate: the public key from the
    /// certificate, the private key only when it was made or given here (never for a CSR).
    pub fn response(
        &self,
        certificate_type: &str,
        key: Option<&PKey<Private>>,
    ) -> Result<CertificateResponse, ArrowheadError> {
        let internal = |e: openssl::error::ErrorStack| ArrowheadError::internal(e.to_string());
        let leaf_der = openssl::base64::decode_block(&self.leaf).map_err(internal)?;
        let public_key = openssl::x509::X509::from_der(&leaf_der)
            .and_then(|c| c.public_key())
            .and_then(|k| k.public_key_to_der())
            .map_err(internal)?;
        let private_key = match key {
            Some(k) => Some(openssl::base64::encode_block(
                &k.private_key_to_pkcs8().map_err(internal)?,
            )),
            None => None,
        };
        Ok(CertificateResponse {
            certificate: self.leaf.clone(),
            certificate_type: certificate_type.into(),
            key_pair_dto: KeyPairDto {
                key_algorithm: Some("RSA".into()),
                key_format: Some("X.509".into()),
                public_key: Some(openssl::base64::encode_block(&public_key)),
                private_key,
            },
            certificate_format: "X.509".into(),
        })
    }
}

/// Has the Certificate Authority (found through the Service Registry) sign `csr` as this
/// system; the CA's refusals (a protected name, a bad signature) reach the caller unchanged.
pub async fn sign(registrar: &Registrar, csr: &[u8]) -> Result<Signed, ArrowheadError> {
    let ca = registrar.locate("ca-sign").await?;
    let signed: SignResponse = registrar
        .client()
        .send(
            CoreSystem::CertificateAuthority,
            reqwest::Method::POST,
            &ca.url,
            Some(&SignRequest {
                encoded_csr: openssl::base64::encode_block(csr),
            }),
        )
        .await?;
    let chain = signed.certificate_chain;
    match (chain.first(), chain.get(1), chain.last()) {
        (Some(leaf), Some(intermediate), Some(root)) => Ok(Signed {
            leaf: leaf.clone(),
            intermediate: intermediate.clone(),
            root: root.clone(),
        }),
        _ => Err(ArrowheadError::internal(
            "The Certificate Authority answered without a certificate chain.",
        )),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn key_pairs_in_every_java_format() {
        let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let public = openssl::base64::encode_block(&key.public_key_to_der().unwrap());
        let pkcs8 = openssl::base64::encode_block(&key.private_key_to_pkcs8().unwrap());
        let pkcs1 =
            openssl::base64::encode_block(&key.rsa().unwrap().private_key_to_der().unwrap());
        let dto = |format: Option<&str>, private: &str| KeyPairDto {
            key_algorithm: Some("RSA".into()),
            key_format: format.map(str::to_owned),
            public_key: Some(public.clone()),
            private_key: Some(private.to_owned()),
        };
        for (format, private) in [
            (Some("PKCS#8"), &pkcs8),
            (Some("pkcs#1"), &pkcs1),
            (None, &pkcs8),
            (None, &pkcs1),
        ] {
            let got = key_pair(Some(&dto(format, private)), "/o").unwrap();
            assert!(got.public_eq(&key), "{format:?}");
        }
        let code = |r: Result<PKey<Private>, ArrowheadError>| {
            r.map(|_| ()).map_err(|e| e.to_message().error_message)
        };
        assert_eq!(
            code(key_pair(Some(&dto(Some("PEM"), &pkcs8)), "/o")),
            Err("Unknown or unsupported key format.".into())
        );
        assert_eq!(
            code(key_pair(Some(&dto(Some("PKCS#8"), "AAAA")), "/o")),
            Err("Private key decoding failed due to wrong key format".into())
        );
        let mut wrong_public = dto(None, &pkcs8);
        wrong_public.public_key = Some("AAAA".into());
        assert_eq!(
            code(key_pair(Some(&wrong_public), "/o")),
            Err("Public key decoding failed due to wrong key format".into())
        );
        let other = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
        let mut mismatched = dto(None, &pkcs8);
        mismatched.public_key = Some(openssl::base64::encode_block(
            &other.public_key_to_der().unwrap(),
        ));
        assert_eq!(
            code(key_pair(Some(&mismatched), "/o")),
            Err("The public key does not belong to the private key".into())
        );
        // Nothing given: a new RSA-2048 pair.
        assert_eq!(key_pair(None, "/o").unwrap().bits(), 2048);
    }
}
