//! A complete local cloud in-process for the Orchestrator tests: Service Registry,
//! Authorization and Orchestrator on one test database, over mTLS with real certificates,
//! finding each other through the registry as in production.

#![allow(dead_code, clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use common::tls::Keystore;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::time::Duration;
use testing::{client, pki, read, RunningServer, StartFuture, TestDb};
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
    start_orchestrator_with(db, port, sr_port, pki, "")
}

/// An Orchestrator with `extra` properties lines (e.g. `direct_database_reads=false`).
pub fn start_orchestrator_with(
    db: &TestDb,
    port: u16,
    sr_port: u16,
    pki: Pki,
    extra: &str,
) -> RunningServer {
    let ks = keystores(pki, "orchestrator");
    let mut text = testing::secure_properties("orchestrator", db);
    if let Some((keystore, truststore)) = &ks {
        text.push_str(&format!(
            "server.ssl.key-store={keystore}\nserver.ssl.trust-store={truststore}\nserver.ssl.key-alias=orchestrator\n"
        ));
    }
    text.push_str(&format!(
        "server.port={port}\ndomain.port={port}\nsr_address=localhost\nsr_port={sr_port}\nallow_self_addressing=true\nauth_token_ttl_in_minutes=60\n{extra}\n"
    ));
    let props = Properties::parse(&text).with_env(std::iter::empty());
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
        Self::start_configured(pki, with_auth, observer, "")
    }

    /// Like [`Cloud::start_with`], with `orch_extra` properties lines for the Orchestrator.
    pub fn start_configured(pki: Pki, with_auth: bool, observer: Client, orch_extra: &str) -> Self {
        let db = TestDb::new();
        let (sr_port, auth_port, orch_port) = (free_port(), free_port(), free_port());
        let sr = start_registry(&db, sr_port, pki);
        let auth = with_auth.then(|| start_authorization(&db, auth_port, sr_port, pki));
        let orch = start_orchestrator_with(&db, orch_port, sr_port, pki, orch_extra);
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

// ---- requests the tests make ----

/// The test PKI's provider key (its public half is every provider's authenticationInfo).
pub fn provider_key() -> Keystore {
    Keystore::from_pkcs12_file(&pki().keystore("provider"), testing::PASSWORD).unwrap()
}

/// The key the Authorization system signs tokens with, as it publishes it.
pub fn authorization_key(cloud: &Cloud) -> openssl::pkey::PKey<openssl::pkey::Public> {
    let published: String = serde_json::from_value(
        read(
            client("provider")
                .get(cloud.auth_url("/publickey"))
                .send()
                .unwrap(),
        )
        .1,
    )
    .unwrap();
    common::token::public_key_from_base64(&published).unwrap()
}

/// Registers `temperature` from `who` (whose certificate name is the provider name).
pub fn register(cloud: &Cloud, who: &str, port: u16, secure: &str, extra: Value) -> Value {
    let mut body = json!({
        "serviceDefinition": "temperature",
        "providerSystem": {"systemName": who, "address": "127.0.0.1", "port": port,
                           "authenticationInfo": provider_key().public_key_base64().unwrap()},
        "serviceUri": format!("/{who}/temperature"),
        "secure": secure,
        "interfaces": ["HTTP-SECURE-JSON"]
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (status, got) = post(&client(who), &cloud.sr_url("/register"), &body);
    assert_eq!(status, 201, "{got}");
    got
}

pub fn register_consumer(cloud: &Cloud, who: &str, port: u16) -> i64 {
    let (status, got) = post(
        &client(who),
        &cloud.sr_url("/register-system"),
        &json!({"systemName": who, "address": "127.0.0.1", "port": port}),
    );
    assert_eq!(status, 201, "{got}");
    got["id"].as_i64().unwrap()
}

pub fn consumer_form(flags: Value, extra: Value) -> Value {
    let mut form = json!({
        "requesterSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000},
        "requestedService": {"serviceDefinitionRequirement": "Temperature",
                             "interfaceRequirements": ["HTTP-SECURE-JSON"]},
        "orchestrationFlags": flags
    });
    for (k, v) in extra.as_object().unwrap() {
        form[k] = v.clone();
    }
    form
}

pub fn orchestrate(cloud: &Cloud, who: &str, form: &Value) -> (u16, Value) {
    post(&client(who), &cloud.orch_url("/orchestration"), form)
}

pub fn providers_of(response: &Value) -> Vec<String> {
    let mut names: Vec<String> = response["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["provider"]["systemName"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

pub fn add_rule(
    cloud: &Cloud,
    consumer: i64,
    provider: i64,
    service: i64,
    interfaces: &[i64],
) -> i64 {
    let (status, got) = post(
        &client("sysop"),
        &cloud.auth_url("/mgmt/intracloud"),
        &json!({"consumerId": consumer, "providerIds": [provider], "serviceDefinitionIds": [service], "interfaceIds": interfaces}),
    );
    assert_eq!(status, 201, "{got}");
    got["data"][0]["id"].as_i64().unwrap()
}

pub fn interface_id(cloud: &Cloud, name: &str) -> i64 {
    let (_, got) = read(
        client("sysop")
            .get(cloud.sr_url("/mgmt/interfaces"))
            .send()
            .unwrap(),
    );
    got["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["interfaceName"] == name)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}
