//! The device side of onboarding: a device that holds only the shared secret (and the master
//! certificate, to know it talks to the right cloud) makes its key and CSR locally, has the
//! Onboarding Controller get its certificate signed, and writes the files a system then uses
//! (`<system>.p12`, `.key`, `.crt`, `.chain.pem`, `.pub`, and `truststore.p12`/`.pem` when
//! absent). The private key never leaves the device (the CSR variant, which the README
//! recommends).

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::{X509NameBuilder, X509Req, X509};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// What onboarding produced.
#[derive(Debug, Clone)]
pub struct Onboarded {
    /// The new certificate's name: `<system>.<cloud>.<operator>.arrowhead.eu`.
    pub common_name: String,
    pub keystore: PathBuf,
    /// The Onboarding Controller's answer (where the registries and the Orchestrator are).
    pub answer: Value,
}

/// The cloud (`<cloud>.<operator>.arrowhead.eu`) of the Onboarding Controller at `host:port`,
/// read from its certificate in a handshake verified against `trust`.
pub fn cloud_of(host: &str, port: u16, trust: &X509) -> Result<String, String> {
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    let mut store = openssl::x509::store::X509StoreBuilder::new().map_err(|e| e.to_string())?;
    store.add_cert(trust.clone()).map_err(|e| e.to_string())?;
    b.set_verify_cert_store(store.build())
        .map_err(|e| e.to_string())?;
    b.set_verify(SslVerifyMode::PEER);
    let connector = b.build();
    let tcp =
        std::net::TcpStream::connect((host, port)).map_err(|e| format!("{host}:{port}: {e}"))?;
    let stream = connector
        .connect(host, tcp)
        .map_err(|e| format!("TLS with {host}:{port}: {e}"))?;
    let cert = stream
        .ssl()
        .peer_certificate()
        .ok_or("the Onboarding Controller sent no certificate")?;
    let cn = common::tls::common_name(&cert)
        .ok_or("the Onboarding Controller's certificate has no name")?;
    let id = common::identity::SystemIdentity::from_cn(&cn)
        .ok_or_else(|| format!("'{cn}' is not an Arrowhead system name"))?;
    Ok(id.cloud_cn())
}

fn csr(cn: &str, key: &PKey<Private>) -> Result<Vec<u8>, String> {
    let err = |e: openssl::error::ErrorStack| e.to_string();
    let mut b = X509Req::builder().map_err(err)?;
    let mut name = X509NameBuilder::new().map_err(err)?;
    name.append_entry_by_text("CN", cn).map_err(err)?;
    b.set_subject_name(&name.build()).map_err(err)?;
    b.set_pubkey(key).map_err(err)?;
    b.sign(key, MessageDigest::sha256()).map_err(err)?;
    b.build().to_der().map_err(err)
}

fn cert_of(b64: Option<&str>, what: &str) -> Result<X509, String> {
    let b64 = b64.ok_or_else(|| format!("the answer has no {what}"))?;
    let der = openssl::base64::decode_block(b64).map_err(|e| format!("{what}: {e}"))?;
    X509::from_der(&der).map_err(|e| format!("{what}: {e}"))
}

/// Onboards `system` at the Onboarding Controller `url` (`https://host:8435`) with the shared
/// `secret`, trusting `trust` (the master certificate), and writes the files into `out`
/// (keystores protected by `password`).
pub async fn onboard(
    url: &str,
    secret: &str,
    system: &str,
    trust: &X509,
    out: &Path,
    password: &str,
) -> Result<Onboarded, String> {
    let base = url.trim_end_matches('/');
    let authority = base
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(base)
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h.to_owned(),
            p.parse::<u16>().map_err(|_| format!("bad port in {url}"))?,
        ),
        None => (authority.clone(), 443),
    };
    let trust_clone = trust.clone();
    let host_clone = host.clone();
    let cloud = tokio::task::spawn_blocking(move || cloud_of(&host_clone, port, &trust_clone))
        .await
        .map_err(|e| e.to_string())??;
    let common_name = format!("{system}.{cloud}");
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let request = json!({ "certificateSigningRequest": openssl::base64::encode_block(&csr(&common_name, &key)?) });
    let client = reqwest::Client::builder()
        .tls_backend_native()
        .tls_certs_only([reqwest::Certificate::from_der(
            &trust.to_der().map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?])
        .build()
        .map_err(|e| e.to_string())?;
    let basic = openssl::base64::encode_block(format!("{system}:{secret}").as_bytes());
    let resp = client
        .post(format!("{base}/onboarding/sharedsecret/csr"))
        .header("Authorization", format!("Basic {basic}"))
        .json(&request)
        .send()
        .await
        .map_err(|e| format!("{base}: {}", common::https::error_chain(&e)))?;
    let status = resp.status().as_u16();
    let answer: Value = resp.json().await.map_err(|e| e.to_string())?;
    if status != 200 {
        return Err(format!(
            "the Onboarding Controller answered {status}: {answer}"
        ));
    }
    let leaf = cert_of(
        answer["onboardingCertificate"]["certificate"].as_str(),
        "certificate",
    )?;
    let cloud_cert = cert_of(
        answer["intermediateCertificate"].as_str(),
        "intermediateCertificate",
    )?;
    let root = cert_of(answer["rootCertificate"].as_str(), "rootCertificate")?;
    let keystore = write_files(out, system, &leaf, &key, &cloud_cert, &root, password)?;
    Ok(Onboarded {
        common_name,
        keystore,
        answer,
    })
}

fn write_files(
    out: &Path,
    system: &str,
    leaf: &X509,
    key: &PKey<Private>,
    cloud: &X509,
    root: &X509,
    password: &str,
) -> Result<PathBuf, String> {
    use certificate_authority::pki;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let write = |name: String, bytes: &[u8], private: bool| -> Result<(), String> {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        if private {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    };
    let issued = pki::Issued {
        cert: leaf.clone(),
        key: key.clone(),
    };
    let p12 =
        pki::keystore_p12(system, &issued, &[cloud, root], password).map_err(|e| e.to_string())?;
    write(format!("{system}.p12"), &p12, true)?;
    let pem = |c: &X509| c.to_pem().map_err(|e| e.to_string());
    write(format!("{system}.crt"), &pem(leaf)?, false)?;
    let mut chain = pem(leaf)?;
    chain.extend(pem(cloud)?);
    chain.extend(pem(root)?);
    write(format!("{system}.chain.pem"), &chain, false)?;
    write(
        format!("{system}.key"),
        &key.private_key_to_pem_pkcs8().map_err(|e| e.to_string())?,
        true,
    )?;
    write(
        format!("{system}.pub"),
        &key.public_key_to_pem().map_err(|e| e.to_string())?,
        false,
    )?;
    if !out.join("truststore.p12").exists() {
        let trust = pki::truststore_p12(&[cloud], password).map_err(|e| e.to_string())?;
        write("truststore.p12".into(), &trust, false)?;
        write("truststore.pem".into(), &pem(cloud)?, false)?;
    }
    Ok(out.join(format!("{system}.p12")))
}
