//! Generates (or completes) the PKI of a local cloud on disk: master, cloud CA, one keystore per
//! core system, the sysop and named application systems, a truststore holding the cloud
//! certificate, and the same material as PEM. Existing master and cloud keys are reused, so the
//! command can be re-run to add systems without invalidating issued certificates.

use crate::pki::{self, Issued, PkiError};
use common::tls::Keystore;
use std::path::{Path, PathBuf};

/// The core systems that get a keystore by default.
pub const CORE_SYSTEMS: [&str; 10] = [
    "serviceregistry",
    "authorization",
    "orchestrator",
    "eventhandler",
    "gatekeeper",
    "gateway",
    "certificateauthority",
    "onboardingcontroller",
    "deviceregistry",
    "systemregistry",
];

#[derive(Debug, Clone)]
pub struct CloudSpec {
    pub cloud: String,
    pub operator: String,
    pub password: String,
    /// Extra SANs (host names or IPs) for every system certificate.
    pub hosts: Vec<String>,
    /// Application systems besides the core systems and the sysop.
    pub applications: Vec<String>,
    pub days: u32,
    /// Re-issue system keystores that already exist.
    pub force: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}")]
    Existing(String),
}

fn write(path: &Path, data: &[u8], private: bool) -> Result<(), GenerateError> {
    std::fs::write(path, data).map_err(|e| GenerateError::Io(path.display().to_string(), e))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| GenerateError::Io(path.display().to_string(), e))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    Ok(())
}

fn load_existing(path: &Path, password: &str) -> Result<Option<Issued>, GenerateError> {
    if !path.exists() {
        return Ok(None);
    }
    let ks = Keystore::from_pkcs12_file(path, password)
        .map_err(|e| GenerateError::Existing(e.to_string()))?;
    Ok(Some(Issued {
        cert: ks.cert,
        key: ks.key,
    }))
}

fn write_pem_set(
    out: &Path,
    name: &str,
    issued: &Issued,
    chain: &[&Issued],
) -> Result<(), GenerateError> {
    let cert = issued.cert.to_pem().map_err(PkiError::from)?;
    write(&out.join(format!("{name}.crt")), &cert, false)?;
    let mut full = cert.clone();
    for c in chain {
        full.extend(c.cert.to_pem().map_err(PkiError::from)?);
    }
    write(&out.join(format!("{name}.chain.pem")), &full, false)?;
    // The public key as the Java tooling writes it (`<name>.pub`, PEM); its base64 body on one
    // line is the system's `authenticationInfo`.
    write(
        &out.join(format!("{name}.pub")),
        &issued.key.public_key_to_pem().map_err(PkiError::from)?,
        false,
    )?;
    write(
        &out.join(format!("{name}.key")),
        &issued
            .key
            .private_key_to_pem_pkcs8()
            .map_err(PkiError::from)?,
        true,
    )
}

/// What [`generate`] did.
#[derive(Debug, Default)]
pub struct Report {
    pub cloud_cn: String,
    pub created: Vec<PathBuf>,
    pub kept: Vec<PathBuf>,
}

pub fn generate(spec: &CloudSpec, out: &Path) -> Result<Report, GenerateError> {
    pki::check_label(&spec.cloud)?;
    pki::check_label(&spec.operator)?;
    for a in &spec.applications {
        pki::check_label(a)?;
    }
    std::fs::create_dir_all(out).map_err(|e| GenerateError::Io(out.display().to_string(), e))?;
    let mut report = Report {
        cloud_cn: format!("{}.{}.arrowhead.eu", spec.cloud, spec.operator),
        ..Default::default()
    };

    // One folder holds one cloud: its keystores and truststore must not be mixed with another's.
    if let Ok(pem) = std::fs::read(out.join("truststore.pem")) {
        let held = openssl::x509::X509::from_pem(&pem)
            .ok()
            .and_then(|c| common::tls::common_name(&c))
            .unwrap_or_default();
        if held != report.cloud_cn {
            return Err(GenerateError::Existing(format!(
                "{} holds the certificates of {held}, not {}; use another --out folder",
                out.display(),
                report.cloud_cn
            )));
        }
    }
    let master_path = out.join("master.p12");
    let master = match load_existing(&master_path, &spec.password)? {
        Some(m) => {
            report.kept.push(master_path);
            m
        }
        None => {
            let m = pki::make_root(spec.days.max(3650))?;
            write(
                &master_path,
                &pki::keystore_p12("arrowhead.eu", &m, &[], &spec.password)?,
                true,
            )?;
            write_pem_set(out, "master", &m, &[])?;
            report.created.push(master_path);
            m
        }
    };
    let cloud_path = out.join(format!("{}.p12", spec.cloud));
    let cloud = match load_existing(&cloud_path, &spec.password)? {
        Some(c) => {
            let cn = common::tls::common_name(&c.cert).unwrap_or_default();
            if cn != report.cloud_cn {
                return Err(GenerateError::Existing(format!(
                    "{} holds {cn}, not {}",
                    cloud_path.display(),
                    report.cloud_cn
                )));
            }
            report.kept.push(cloud_path);
            c
        }
        None => {
            let c = pki::make_cloud(&master, &spec.cloud, &spec.operator, spec.days.max(3650))?;
            write(
                &cloud_path,
                &pki::keystore_p12(&report.cloud_cn, &c, &[&master.cert], &spec.password)?,
                true,
            )?;
            write_pem_set(out, &spec.cloud, &c, &[&master])?;
            report.created.push(cloud_path);
            c
        }
    };
    write(
        &out.join("truststore.p12"),
        &pki::truststore_p12(&[&cloud.cert], &spec.password)?,
        false,
    )?;
    write(
        &out.join("truststore.pem"),
        &cloud.cert.to_pem().map_err(PkiError::from)?,
        false,
    )?;

    let mut names: Vec<&str> = CORE_SYSTEMS.to_vec();
    names.push("sysop");
    names.extend(spec.applications.iter().map(String::as_str));
    for name in names {
        let path = out.join(format!("{name}.p12"));
        if path.exists() && !spec.force {
            report.kept.push(path);
            continue;
        }
        let leaf = pki::make_leaf(&cloud, name, &spec.hosts, spec.days)?;
        write(
            &path,
            &pki::keystore_p12(name, &leaf, &[&cloud.cert, &master.cert], &spec.password)?,
            true,
        )?;
        write_pem_set(out, name, &leaf, &[&cloud, &master])?;
        report.created.push(path);
    }
    Ok(report)
}
