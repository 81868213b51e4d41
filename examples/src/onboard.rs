//! The device side of onboarding, the whole Arrowhead chain: a device that holds only the
//! shared secret (and the master certificate, to know it talks to the right cloud)
//! 1. gets an onboarding certificate from the Onboarding Controller (HTTP Basic with the
//!    secret, its own CSR);
//! 2. with it, onboards as a device at the Device Registry (device certificate + entry);
//! 3. with that, onboards its system at the System Registry (system certificate + entry);
//!
//! and writes the files the system then uses (`<system>.p12`, `.key`, `.crt`, `.chain.pem`,
//! `.pub`, the device's as `<device>.*`, and `truststore.p12`/`.pem` when absent). Every key
//! is made here and never leaves the device (the CSR variants, which the README recommends).
//! When the cloud runs no Device or System Registry, the Onboarding Controller's certificate
//! for the system is the result (steps 2 and 3 are skipped).

use crate::Application;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use openssl::x509::{X509NameBuilder, X509Req, X509};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

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

/// What the Onboarding Controller handed out: a certificate for `label` and the cloud's chain.
struct FromController {
    cloud: String,
    key: PKey<Private>,
    leaf: X509,
    cloud_cert: X509,
    root: X509,
    answer: Value,
}

fn new_key() -> Result<PKey<Private>, String> {
    PKey::from_rsa(openssl::rsa::Rsa::generate(2048).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())
}

fn public_b64(key: &PKey<Private>) -> Result<String, String> {
    Ok(openssl::base64::encode_block(
        &key.public_key_to_der().map_err(|e| e.to_string())?,
    ))
}

/// Step 1: a certificate for `label` from the Onboarding Controller at `url`, by the shared
/// secret.
async fn from_controller(
    url: &str,
    secret: &str,
    label: &str,
    trust: &X509,
    key: PKey<Private>,
) -> Result<FromController, String> {
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
    let cloud = tokio::task::spawn_blocking(move || cloud_of(&host, port, &trust_clone))
        .await
        .map_err(|e| e.to_string())??;
    let request = json!({ "certificateSigningRequest":
        openssl::base64::encode_block(&csr(&format!("{label}.{cloud}"), &key)?) });
    let client = reqwest::Client::builder()
        .tls_backend_native()
        .tls_certs_only([reqwest::Certificate::from_der(
            &trust.to_der().map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?])
        .build()
        .map_err(|e| e.to_string())?;
    let basic = openssl::base64::encode_block(format!("{label}:{secret}").as_bytes());
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
    Ok(FromController {
        cloud,
        key,
        leaf: cert_of(
            answer["onboardingCertificate"]["certificate"].as_str(),
            "certificate",
        )?,
        cloud_cert: cert_of(
            answer["intermediateCertificate"].as_str(),
            "intermediateCertificate",
        )?,
        root: cert_of(answer["rootCertificate"].as_str(), "rootCertificate")?,
        answer,
    })
}

/// The device this runs on, as the Device and System Registries record it.
#[derive(Debug, Clone)]
pub struct Device {
    /// A certificate label (letters, digits, `-`).
    pub name: String,
    pub address: String,
    /// `aa:bb:cc:dd:ee:ff`.
    pub mac: String,
}

/// The system to onboard on the device.
#[derive(Debug, Clone)]
pub struct SystemSpec {
    pub name: String,
    pub address: String,
    pub port: u16,
}

/// What the chain produced.
#[derive(Debug, Clone)]
pub struct Joined {
    /// The system's certificate name: `<system>.<cloud>.<operator>.arrowhead.eu`.
    pub common_name: String,
    pub keystore: PathBuf,
    /// The Onboarding Controller's answer (where the registries and the Orchestrator are).
    pub answer: Value,
    /// The Device and System Registry entries (absent when the cloud has no such registries).
    pub device_entry: Option<Value>,
    pub system_entry: Option<Value>,
}

/// Steps 2 and 3: onboards at a registry (`peer`, at `uri`) as the identity stored under
/// `identity` in `out`, with a CSR for `label`; returns the new key, certificate and entry.
async fn at_registry(
    out: &Path,
    (identity, password): (&str, &str),
    (peer, uri): (&str, &str),
    mut body: Value,
    (common_name, key): (&str, PKey<Private>),
) -> Result<(PKey<Private>, X509, Value), String> {
    let app = Application::load(out, identity, password)?;
    body["certificateSigningRequest"] =
        json!(openssl::base64::encode_block(&csr(common_name, &key)?));
    let (status, answer) = app
        .call(peer, hyper::Method::POST, uri, Some(&body))
        .await?;
    if status != 201 {
        return Err(format!("{peer} answered {status}: {answer}"));
    }
    let leaf = cert_of(
        answer["certificateResponse"]["certificate"].as_str(),
        "certificate",
    )?;
    Ok((key, leaf, answer))
}

/// Walks the whole chain (see the module documentation) for `system` on `device`, with the
/// Onboarding Controller at `url` and the shared `secret`, trusting `trust` (the master
/// certificate); writes the files into `out` (keystores protected by `password`).
pub async fn join(
    url: &str,
    secret: &str,
    device: &Device,
    system: &SystemSpec,
    trust: &X509,
    out: &Path,
    password: &str,
) -> Result<Joined, String> {
    // The three keys (onboarding, device, system) are made at once: RSA key generation is
    // most of a device's time in the chain.
    let made = tokio::join!(
        tokio::task::spawn_blocking(new_key),
        tokio::task::spawn_blocking(new_key),
        tokio::task::spawn_blocking(new_key),
    );
    let mut keys = [made.0, made.1, made.2]
        .into_iter()
        .map(|k| k.map_err(|e| e.to_string())?)
        .collect::<Result<Vec<_>, String>>()?
        .into_iter();
    let mut key = || keys.next().ok_or_else(|| "no key".to_owned());
    let oc = from_controller(url, secret, &device.name, trust, key()?).await?;
    let chain = (&oc.cloud_cert, &oc.root);
    let common_name = format!("{}.{}", system.name, oc.cloud);
    let registries = (
        oc.answer["deviceRegistry"]["uri"].as_str(),
        oc.answer["systemRegistry"]["uri"].as_str(),
    );
    let (Some(dr), Some(syr)) = registries else {
        // No registries in this cloud: the Onboarding Controller certifies the system itself.
        let sys = from_controller(url, secret, &system.name, trust, key()?).await?;
        let keystore = write_files(out, &system.name, &sys.leaf, &sys.key, chain, password)?;
        return Ok(Joined {
            common_name,
            keystore,
            answer: oc.answer,
            device_entry: None,
            system_entry: None,
        });
    };
    // Step 2, as the onboarding certificate: the device's own certificate and entry.
    write_files(out, &device.name, &oc.leaf, &oc.key, chain, password)?;
    let device_json = json!({"deviceName": device.name, "address": device.address,
                             "macAddress": device.mac, "authenticationInfo": public_b64(&oc.key)?});
    let (device_key, device_leaf, device_entry) = at_registry(
        out,
        (&device.name, password),
        ("deviceregistry", dr),
        json!({"device": device_json}),
        (&format!("{}.{}", device.name, oc.cloud), key()?),
    )
    .await?;
    write_files(
        out,
        &device.name,
        &device_leaf,
        &device_key,
        chain,
        password,
    )?;
    // Step 3, as the device: the system's certificate and entry.
    let mut provider = device_json;
    provider["authenticationInfo"] = json!(public_b64(&device_key)?);
    let system_body = json!({"system": {"systemName": system.name, "address": system.address, "port": system.port},
                             "provider": provider});
    // The system's public key becomes its authenticationInfo when it registers its services.
    let (system_key, system_leaf, system_entry) = at_registry(
        out,
        (&device.name, password),
        ("systemregistry", syr),
        system_body,
        (&common_name, key()?),
    )
    .await?;
    let keystore = write_files(
        out,
        &system.name,
        &system_leaf,
        &system_key,
        chain,
        password,
    )?;
    Ok(Joined {
        common_name,
        keystore,
        answer: oc.answer,
        device_entry: Some(device_entry),
        system_entry: Some(system_entry),
    })
}

/// This machine's first network interface with a real MAC address (Linux), for `--mac`'s
/// default.
pub fn local_mac() -> Option<String> {
    let mut names: Vec<_> = std::fs::read_dir("/sys/class/net")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    names.iter().find_map(|n| {
        let mac =
            std::fs::read_to_string(Path::new("/sys/class/net").join(n).join("address")).ok()?;
        let mac = mac.trim().to_owned();
        (n != "lo" && mac.len() == 17 && mac != "00:00:00:00:00:00").then_some(mac)
    })
}

fn write_files(
    out: &Path,
    system: &str,
    leaf: &X509,
    key: &PKey<Private>,
    (cloud, root): (&X509, &X509),
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
