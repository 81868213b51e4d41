//! A complete local cloud in-process for the Orchestrator tests: Service Registry,
//! Authorization and Orchestrator on one test database, over mTLS with real certificates,
//! finding each other through the registry as in production.

#![allow(dead_code, clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::time::Duration;
use testing::{client, read, RunningServer, StartFuture, TestDb};
pub use testing::{free_port, wait_for};

pub fn post(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.post(url).json(body).send().unwrap())
}

/// Properties of one system: its keystore (generated PKI unless `java` gives keystore and
/// truststore paths), the database, a fixed port and where the registry is.
pub fn properties(
    system: &str,
    db: &TestDb,
    port: u16,
    sr_port: u16,
    java: Option<(&str, &str)>,
) -> Properties {
    let mut text = testing::secure_properties(system, db);
    if let Some((keystore, truststore)) = java {
        text.push_str(&format!(
            "server.ssl.key-store={keystore}\nserver.ssl.trust-store={truststore}\nserver.ssl.key-alias={system}\n"
        ));
    }
    text.push_str(&format!(
        "server.port={port}\ndomain.port={port}\nsr_address=localhost\nsr_port={sr_port}\nallow_self_addressing=true\nauth_token_ttl_in_minutes=60\n"
    ));
    Properties::parse(&text).with_env(std::iter::empty())
}

pub struct Cloud {
    pub sr: RunningServer,
    pub auth: Option<RunningServer>,
    pub orch: RunningServer,
    pub sr_port: u16,
    pub auth_port: u16,
    pub db: TestDb,
}

/// Which keystores the systems use: the generated PKI, or the Java samples of `testcloud2`.
#[derive(Clone, Copy)]
pub enum Pki {
    Generated,
    Java,
}

pub fn java_fixture(path: &str) -> String {
    testing::java_fixtures().join(path).display().to_string()
}

fn keystores(pki: Pki, system: &str) -> Option<(String, String)> {
    match pki {
        Pki::Generated => None,
        Pki::Java => Some((
            java_fixture(&format!("testcloud2/{system}.p12")),
            java_fixture("testcloud2/truststore.p12"),
        )),
    }
}

pub fn start_registry(db: &TestDb, port: u16, pki: Pki) -> RunningServer {
    let ks = keystores(pki, "serviceregistry");
    let props = properties(
        "serviceregistry",
        db,
        port,
        port,
        ks.as_ref().map(|(k, t)| (k.as_str(), t.as_str())),
    );
    let settings = serviceregistry::Settings::from_core(
        CoreSettings::from_properties(CoreSystem::ServiceRegistry, props).unwrap(),
    )
    .unwrap();
    RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            serviceregistry::start(settings, Duration::from_secs(10))
                .await
                .map_err(|e| e.to_string())
        })
    })
}

pub fn start_authorization(db: &TestDb, port: u16, sr_port: u16, pki: Pki) -> RunningServer {
    let ks = keystores(pki, "authorization");
    let props = properties(
        "authorization",
        db,
        port,
        sr_port,
        ks.as_ref().map(|(k, t)| (k.as_str(), t.as_str())),
    );
    let settings = authorization::Settings::from_core(
        CoreSettings::from_properties(CoreSystem::Authorization, props).unwrap(),
    )
    .unwrap();
    RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            authorization::start(settings, Duration::from_secs(10))
                .await
                .map(|s| s.running)
        })
    })
}

pub fn start_orchestrator(db: &TestDb, port: u16, sr_port: u16, pki: Pki) -> RunningServer {
    let ks = keystores(pki, "orchestrator");
    let props = properties(
        "orchestrator",
        db,
        port,
        sr_port,
        ks.as_ref().map(|(k, t)| (k.as_str(), t.as_str())),
    );
    let settings = orchestrator::Settings::from_core(
        CoreSettings::from_properties(CoreSystem::Orchestrator, props).unwrap(),
    )
    .unwrap();
    RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            orchestrator::start(settings, Duration::from_secs(10))
                .await
                .map(|s| s.running)
        })
    })
}

impl Cloud {
    /// All three systems, waiting until Authorization and Orchestrator are registered.
    pub fn start() -> Self {
        Self::start_with(Pki::Generated, true, client("orchestrator"))
    }

    /// `with_auth` false leaves the Authorization system out (started later by the test).
    /// `observer` queries the registry while waiting (any core-system client of the cloud).
    pub fn start_with(pki: Pki, with_auth: bool, observer: Client) -> Self {
        let db = TestDb::new();
        let (sr_port, auth_port, orch_port) = (free_port(), free_port(), free_port());
        let sr = start_registry(&db, sr_port, pki);
        let auth = with_auth.then(|| start_authorization(&db, auth_port, sr_port, pki));
        let orch = start_orchestrator(&db, orch_port, sr_port, pki);
        let cloud = Self {
            sr,
            auth,
            orch,
            sr_port,
            auth_port,
            db,
        };
        if with_auth {
            cloud.wait_registered(&observer, "token-generation");
        }
        cloud.wait_registered(&observer, "orchestration-service");
        cloud
    }

    pub fn wait_registered(&self, observer: &Client, definition: &str) {
        wait_for(definition, Duration::from_secs(20), || {
            observer
                .post(self.sr_url("/query"))
                .json(&json!({"serviceDefinitionRequirement": definition}))
                .send()
                .ok()
                .map(read)
                .is_some_and(|(_, v)| v["unfilteredHits"] == 1)
        });
    }

    pub fn sr_url(&self, path: &str) -> String {
        format!("{}/serviceregistry{path}", self.sr.origin)
    }
    pub fn auth_url(&self, path: &str) -> String {
        format!("https://localhost:{}/authorization{path}", self.auth_port)
    }
    pub fn orch_url(&self, path: &str) -> String {
        format!("{}/orchestrator{path}", self.orch.origin)
    }
}
