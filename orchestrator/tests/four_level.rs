//! A whole local cloud made as the common Python tooling makes one: master → organisation →
//! cloud → systems, core systems under their pre-4.4 underscore names, a truststore holding only
//! the (not self-signed) cloud certificate. The core systems register with each other, a consumer
//! orchestrates a CERTIFICATE and a TOKEN provider (the token verifies), and events reach a
//! subscriber.

#![allow(clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use common::tls::Keystore;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};
use testing::{four_level_pki, free_port, read, wait_for, RunningServer, StartFuture, TestDb};

fn properties(system: &str, db: &TestDb, port: u16, sr_port: u16) -> Properties {
    let pki = four_level_pki();
    Properties::parse(&format!(
        "{}server.ssl.key-store={}\nserver.ssl.trust-store={}\nserver.port={port}\ndomain.port={port}\n\
         sr_address=localhost\nsr_port={sr_port}\nallow_self_addressing=true\neventhandler_is_present=true\n\
         auth_token_ttl_in_minutes=60\n",
        testing::secure_properties(system, db),
        pki.keystore(system).display(),
        pki.truststore().display(),
    ))
    .with_env(std::iter::empty())
}

fn start(system: CoreSystem, db: &TestDb, port: u16, sr_port: u16) -> RunningServer {
    let core = CoreSettings::from_properties(system, properties(system.name(), db, port, sr_port))
        .unwrap();
    RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            let wait = Duration::from_secs(10);
            match system {
                CoreSystem::ServiceRegistry => serviceregistry::start(
                    serviceregistry::Settings::from_core(core).unwrap(),
                    wait,
                )
                .await
                .map_err(|e| e.to_string()),
                CoreSystem::Authorization => {
                    authorization::start(authorization::Settings::from_core(core).unwrap(), wait)
                        .await
                        .map(|s| s.running)
                }
                CoreSystem::Orchestrator => {
                    orchestrator::start(orchestrator::Settings::from_core(core).unwrap(), wait)
                        .await
                        .map(|s| s.running)
                }
                _ => eventhandler::start(eventhandler::Settings::from_core(core).unwrap(), wait)
                    .await
                    .map(|s| s.running),
            }
        })
    })
}

fn post(who: &str, url: &str, body: &Value) -> (u16, Value) {
    read(
        four_level_pki()
            .client(who)
            .post(url)
            .json(body)
            .send()
            .unwrap(),
    )
}

fn key_of(system: &str) -> Keystore {
    Keystore::from_pkcs12_file(&four_level_pki().keystore(system), testing::PASSWORD).unwrap()
}

#[test]
fn a_four_level_cloud_with_underscore_names_works_end_to_end() {
    let db = TestDb::new();
    let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
    let (sr_port, auth_port, orch_port, eh_port, sub_port) =
        (ports[0], ports[1], ports[2], ports[3], ports[4]);
    let _sr = start(CoreSystem::ServiceRegistry, &db, sr_port, sr_port);
    let _auth = start(CoreSystem::Authorization, &db, auth_port, sr_port);
    let _orch = start(CoreSystem::Orchestrator, &db, orch_port, sr_port);
    let _eh = start(CoreSystem::EventHandler, &db, eh_port, sr_port);
    let sr = |p: &str| format!("https://localhost:{sr_port}/serviceregistry{p}");
    let auth = |p: &str| format!("https://localhost:{auth_port}/authorization{p}");
    let orch = |p: &str| format!("https://localhost:{orch_port}/orchestrator{p}");
    let eh = |p: &str| format!("https://localhost:{eh_port}/eventhandler{p}");

    // The core systems register with each other over the four-level chain.
    for definition in ["token-generation", "orchestration-service", "event-publish"] {
        wait_for(definition, Duration::from_secs(30), || {
            post(
                "orchestrator",
                &sr("/query"),
                &json!({"serviceDefinitionRequirement": definition}),
            )
            .1["unfilteredHits"]
                == 1
        });
    }

    // A TOKEN and a CERTIFICATE provider, a consumer, rules for both.
    let register = |who: &str, port: u16, secure: &str| {
        let (status, got) = post(
            who,
            &sr("/register"),
            &json!({"serviceDefinition": "temperature",
                    "providerSystem": {"systemName": who, "address": "127.0.0.1", "port": port,
                                       "authenticationInfo": key_of(who).public_key_base64().unwrap()},
                    "serviceUri": "/temperature", "secure": secure, "interfaces": ["HTTP-SECURE-JSON"]}),
        );
        assert_eq!(status, 201, "{got}");
        got
    };
    let token_entry = register("provider", 6000, "TOKEN");
    let cert_entry = register("client", 6100, "CERTIFICATE");
    let (status, consumer) = post(
        "consumer",
        &sr("/register-system"),
        &json!({"systemName": "consumer", "address": "127.0.0.1", "port": sub_port,
                "authenticationInfo": key_of("consumer").public_key_base64().unwrap()}),
    );
    assert_eq!(status, 201, "{consumer}");
    let service = token_entry["serviceDefinition"]["id"].as_i64().unwrap();
    let interface = token_entry["interfaces"][0]["id"].as_i64().unwrap();
    for provider in [&token_entry, &cert_entry] {
        let (status, got) = post(
            "sysop",
            &auth("/mgmt/intracloud"),
            &json!({"consumerId": consumer["id"], "providerIds": [provider["provider"]["id"]],
                    "serviceDefinitionIds": [service], "interfaceIds": [interface]}),
        );
        assert_eq!(status, 201, "{got}");
    }

    // The consumer orchestrates: both providers, a token for the TOKEN one that verifies.
    let (status, got) = post(
        "consumer",
        &orch("/orchestration"),
        &json!({"requesterSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": sub_port},
                "requestedService": {"serviceDefinitionRequirement": "temperature"},
                "orchestrationFlags": {"overrideStore": true}}),
    );
    assert_eq!(status, 200, "{got}");
    let results = got["response"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{got}");
    let by = |name: &str| {
        results
            .iter()
            .find(|r| r["provider"]["systemName"] == name)
            .unwrap()
    };
    assert_eq!(by("client")["authorizationTokens"], Value::Null);
    let token = by("provider")["authorizationTokens"]["HTTP-SECURE-JSON"]
        .as_str()
        .unwrap();
    let published: String = serde_json::from_value(
        read(
            four_level_pki()
                .client("provider")
                .get(auth("/publickey"))
                .send()
                .unwrap(),
        )
        .1,
    )
    .unwrap();
    let auth_key = common::token::public_key_from_base64(&published).unwrap();
    let verified = common::token::verify(
        token,
        &key_of("provider").key,
        &auth_key,
        "consumer",
        SystemTime::now(),
    )
    .unwrap();
    assert_eq!(verified.grant.consumer, "consumer.fourcloud.aitia");

    // Events: the consumer subscribes, the provider publishes, the event arrives over mTLS.
    let pki = four_level_pki();
    let (_subscriber, received) = testing::recording_server(
        &pki.keystore("consumer"),
        &pki.truststore(),
        "/notify",
        sub_port,
    );
    let (status, got) = post(
        "consumer",
        &eh("/subscribe"),
        &json!({"eventType": "temperature_changed",
                "subscriberSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": sub_port},
                "notifyUri": "/notify", "matchMetaData": false}),
    );
    assert_eq!(status, 200, "{got}");
    let (status, got) = post(
        "provider",
        &eh("/publish"),
        &json!({"eventType": "temperature_changed",
                "source": {"systemName": "provider", "address": "127.0.0.1", "port": 6000},
                "payload": "21.5",
                "timeStamp": common::dto::format_instant(&chrono::Utc::now().naive_utc())}),
    );
    assert_eq!(status, 200, "{got}");
    wait_for("the event", Duration::from_secs(15), || {
        !received.lock().unwrap().is_empty()
    });
    assert_eq!(received.lock().unwrap()[0]["payload"], "21.5");
}
