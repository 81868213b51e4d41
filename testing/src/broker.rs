//! A private ActiveMQ relay per test (started by `scripts/relay.sh`, so operators and tests run
//! it the same way): its own folder and free ports, a broker certificate under a relay master
//! (`relay.arrowhead.eu`, as in the Java samples' `relay1/`), trusting only the test master.
//! Stopped and removed when dropped.

use certificate_authority::pki::{self, Issued, Profile};
use openssl::x509::X509;
use std::path::PathBuf;

pub struct Broker {
    /// The STOMP over mutual TLS port (our systems).
    pub stomp_ssl: u16,
    /// The `auto+ssl` port (Java OpenWire `ssl://` and STOMP on one port).
    pub auto_ssl: u16,
    /// What a client must trust to accept the broker.
    pub relay_master: X509,
    dir: PathBuf,
    gc: Option<(u32, u32)>,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/relay.sh")
}

impl Broker {
    pub fn start() -> Self {
        Self::start_with_gc(None)
    }

    /// A broker that removes destinations without consumers after `gc` = (inactive ms, sweep
    /// period ms) instead of the relay guide's (60000, 10000).
    pub fn start_with_gc(gc: Option<(u32, u32)>) -> Self {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ah-relay-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let master_key = pki::generate_key().unwrap();
        let master_cert = pki::sign_certificate(
            "relay.arrowhead.eu",
            &master_key,
            None,
            Some(&master_key),
            Profile::Root,
            30,
        )
        .unwrap();
        let relay_master = Issued {
            cert: master_cert,
            key: master_key,
        };
        let broker_key = pki::generate_key().unwrap();
        let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
        let broker_cert = pki::sign_certificate(
            "broker.relay.arrowhead.eu",
            &broker_key,
            Some(&relay_master),
            None,
            Profile::Leaf { hosts: &hosts },
            30,
        )
        .unwrap();
        let broker = Issued {
            cert: broker_cert,
            key: broker_key,
        };
        let p12 =
            pki::keystore_p12("broker", &broker, &[&relay_master.cert], crate::PASSWORD).unwrap();
        std::fs::write(dir.join("broker.p12"), p12).unwrap();
        std::fs::write(
            dir.join("master.crt"),
            crate::pki().master.to_pem().unwrap(),
        )
        .unwrap();
        let (stomp_ssl, auto_ssl) = launch(&dir, 0, 0, gc);
        Self {
            stomp_ssl,
            auto_ssl,
            relay_master: relay_master.cert,
            dir,
            gc,
        }
    }

    /// Starts the stopped broker again on the same ports (a relay restart).
    pub fn restart(&self) {
        launch(&self.dir, self.stomp_ssl, self.auto_ssl, self.gc);
    }

    /// Stops the broker now (the folder stays until drop): a relay going down.
    pub fn stop(&self) {
        let _ = std::process::Command::new("bash")
            .arg(script())
            .arg("stop")
            .args(["--dir", &self.dir.join("run").display().to_string()])
            .output();
    }
}

/// `relay.sh start` in `dir` on these ports (0: free ones); the ports it listens on.
fn launch(dir: &std::path::Path, stomp: u16, auto: u16, gc: Option<(u32, u32)>) -> (u16, u16) {
    let (gc_ms, purge_ms) = gc.unwrap_or((60_000, 10_000));
    let out = std::process::Command::new("bash")
        .arg(script())
        .arg("start")
        .args(["--dir", &dir.join("run").display().to_string()])
        .args(["--keystore", &dir.join("broker.p12").display().to_string()])
        .args(["--trust-pem", &dir.join("master.crt").display().to_string()])
        .args(["--password", crate::PASSWORD])
        .args(["--stomp-ssl-port", &stomp.to_string()])
        .args(["--auto-ssl-port", &auto.to_string()])
        .args(["--gc-ms", &gc_ms.to_string()])
        .args(["--purge-ms", &purge_ms.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "relay.sh start failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = |name: &str| -> u16 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} port in {text}"))
    };
    (port("stomp+ssl"), port("auto+ssl"))
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
