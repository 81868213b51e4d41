//! The `arrowhead-certgen` command as an operator runs it.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn certgen(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_arrowhead-certgen"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn creates_a_complete_cloud_and_keeps_it_on_rerun() {
    let dir = std::env::temp_dir().join(format!("ah-certgen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.to_str().unwrap();
    let run = certgen(&[
        "--out",
        out,
        "--cloud",
        "factory",
        "--operator",
        "acme",
        "--system",
        "sensor-1",
        "--host",
        "10.0.0.5",
        "--password",
        "pw",
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for f in [
        "master.p12",
        "factory.p12",
        "truststore.p12",
        "truststore.pem",
        "sysop.p12",
        "serviceregistry.p12",
        "sensor-1.p12",
        "sensor-1.chain.pem",
        "sensor-1.key",
        "sensor-1.crt",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let ks = common::tls::Keystore::from_pkcs12_file(&dir.join("sensor-1.p12"), "pw").unwrap();
    assert_eq!(
        ks.common_name().as_deref(),
        Some("sensor-1.factory.acme.arrowhead.eu")
    );
    assert_eq!(ks.chain.len(), 2, "cloud and master travel with the leaf");
    // `<name>.pub`: the PEM public key whose base64 body is the authenticationInfo.
    let pem = std::fs::read_to_string(dir.join("sensor-1.pub")).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    assert_eq!(body, ks.public_key_base64().unwrap().replace('\n', ""));
    let master_before = std::fs::read(dir.join("master.p12")).unwrap();
    let again = certgen(&[
        "--out",
        out,
        "--cloud",
        "factory",
        "--operator",
        "acme",
        "--password",
        "pw",
        "--system",
        "sensor-2",
    ]);
    assert!(again.status.success());
    assert_eq!(
        std::fs::read(dir.join("master.p12")).unwrap(),
        master_before,
        "existing keys are kept"
    );
    assert!(String::from_utf8_lossy(&again.stdout).contains("created"));
    // Another cloud in the same folder is refused instead of mixing two clouds' files.
    let other = certgen(&[
        "--out",
        out,
        "--cloud",
        "other",
        "--operator",
        "acme",
        "--password",
        "pw",
    ]);
    assert_eq!(other.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&other.stderr)
        .contains("holds the certificates of factory.acme.arrowhead.eu"));
    assert!(!dir.join("other.p12").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn refuses_invalid_names() {
    let dir = std::env::temp_dir().join(format!("ah-certgen-bad-{}", std::process::id()));
    let run = certgen(&["--out", dir.to_str().unwrap(), "--system", "my_sensor"]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("invalid name 'my_sensor'"), "{stderr}");
    let run = certgen(&["--bogus"]);
    assert_eq!(run.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}
