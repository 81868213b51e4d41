//! `arrowhead-certgen`: creates or completes a local cloud's certificates.

use certificate_authority::local_cloud::{generate, CloudSpec};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: arrowhead-certgen [--out DIR] [--cloud NAME] [--operator NAME] [--password PW]
                         [--host HOST]... [--system NAME]... [--days N] [--force]

Creates master -> <cloud>.<operator>.arrowhead.eu -> one keystore per core system, the sysop
and each --system, as PKCS#12 (<name>.p12, alias <name>) and PEM (<name>.crt, <name>.chain.pem,
<name>.key), plus truststore.p12/truststore.pem holding the cloud certificate. Existing master,
cloud and system keystores in DIR are kept (use --force to re-issue system keystores).
Defaults: --out certificates --cloud localcloud --operator operator --password 123456 --days 3650";

fn parse() -> Result<(CloudSpec, PathBuf), String> {
    let mut spec = CloudSpec {
        cloud: "localcloud".into(),
        operator: "operator".into(),
        password: "123456".into(),
        hosts: vec![],
        applications: vec![],
        days: 3650,
        force: false,
    };
    let mut out = PathBuf::from("certificates");
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{a} needs a value\n\n{USAGE}"))
        };
        match a.as_str() {
            "--out" => out = value()?.into(),
            "--cloud" => spec.cloud = value()?,
            "--operator" => spec.operator = value()?,
            "--password" => spec.password = value()?,
            "--host" => spec.hosts.push(value()?),
            "--system" => spec.applications.push(value()?),
            "--days" => {
                spec.days = value()?
                    .parse()
                    .map_err(|_| "--days needs a number".to_owned())?
            }
            "--force" => spec.force = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument '{other}'\n\n{USAGE}")),
        }
    }
    Ok((spec, out))
}

fn main() -> ExitCode {
    let (spec, out) = match parse() {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match generate(&spec, &out) {
        Ok(report) => {
            println!("cloud {} in {}", report.cloud_cn, out.display());
            for p in &report.created {
                println!("  created {}", p.display());
            }
            for p in &report.kept {
                println!("  kept    {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("arrowhead-certgen: {e}");
            ExitCode::FAILURE
        }
    }
}
