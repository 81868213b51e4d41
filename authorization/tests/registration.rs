//! The Authorization binary finds the Service Registry by itself: started first, it keeps
//! retrying, registers its services once the registry is up, and removes them when stopped.

#![allow(clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testing::{client, read, RunningServer, StartFuture, TestDb};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn query(sr_port: u16, definition: &str) -> Option<Value> {
    let resp = client("orchestrator")
        .post(format!("https://localhost:{sr_port}/serviceregistry/query"))
        .json(&json!({"serviceDefinitionRequirement": definition}))
        .send()
        .ok()?;
    Some(read(resp).1)
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn registers_when_the_registry_appears_and_leaves_on_shutdown() {
    let db = TestDb::new();
    let (sr_port, auth_port) = (free_port(), free_port());
    let config = std::env::temp_dir().join(format!("ah-auth-{}.properties", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "{}server.port={auth_port}\ndomain.port={auth_port}\nsr_address=localhost\nsr_port={sr_port}\n",
            testing::secure_properties("authorization", &db)
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_authorization"))
        .args(["--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Up and answering before any registry exists.
    wait_for("authorization", || {
        client("sysop")
            .get(format!("https://localhost:{auth_port}/authorization/echo"))
            .send()
            .is_ok_and(|r| r.status().is_success())
    });

    let sr_props = format!(
        "{}server.port={sr_port}\ndomain.port={sr_port}\nallow_self_addressing=true\n",
        testing::secure_properties("serviceregistry", &db)
    );
    let settings = serviceregistry::Settings::from_core(
        CoreSettings::from_properties(
            CoreSystem::ServiceRegistry,
            Properties::parse(&sr_props).with_env(std::iter::empty()),
        )
        .unwrap(),
    )
    .unwrap();
    let _sr = RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            serviceregistry::start(settings, Duration::from_secs(10))
                .await
                .map_err(|e| e.to_string())
        })
    });

    wait_for("registration", || {
        query(sr_port, "auth-public-key").is_some_and(|v| v["unfilteredHits"] == 1)
    });
    let got = query(sr_port, "token-generation").unwrap();
    let entry = &got["serviceQueryData"][0];
    assert_eq!(entry["provider"]["systemName"], "authorization");
    assert_eq!(entry["provider"]["port"], auth_port);
    assert_eq!(entry["serviceUri"], "/authorization/token");
    assert_eq!(entry["secure"], "CERTIFICATE");
    assert_eq!(entry["interfaces"][0]["interfaceName"], "HTTP-SECURE-JSON");
    let published: String = serde_json::from_value(
        read(
            client("sysop")
                .get(format!(
                    "https://localhost:{auth_port}/authorization/publickey"
                ))
                .send()
                .unwrap(),
        )
        .1,
    )
    .unwrap();
    assert_eq!(entry["provider"]["authenticationInfo"], published);
    for def in [
        "authorization-control-intra",
        "authorization-control-inter",
        "authorization-control-subscription",
    ] {
        assert_eq!(query(sr_port, def).unwrap()["unfilteredHits"], 1, "{def}");
    }

    // SIGTERM: graceful stop, then the entries are gone.
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        query(sr_port, "token-generation").unwrap(),
        json!({"serviceQueryData": [], "unfilteredHits": 0})
    );
    std::fs::remove_file(config).ok();
}
