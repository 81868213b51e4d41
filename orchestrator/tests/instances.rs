//! Two Orchestrator instances on one database never answer stale: every write — a registration
//! or unregistration in the Service Registry, an intra-cloud rule of the Authorization system, a
//! store entry written through the *other* Orchestrator, a consumer system removed — is seen by
//! the very next orchestration of an instance whose caches were warm, well within a second.
//! One step per cache of `orchestrator::reads`: registry entries, consumers, rules, store.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::{
    add_rule, consumer_form, orchestrate, post, providers_of, register, register_consumer, Cloud,
};
use testing::{client, free_port, read};

/// Orchestrates through `url` (instance B) as the consumer.
fn orchestrate_at(url: &str, form: &Value) -> (u16, Value) {
    post(&client("consumer"), url, form)
}

fn uris_of(response: &Value) -> Vec<String> {
    let mut uris: Vec<String> = response["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["serviceUri"].as_str().unwrap().to_owned())
        .collect();
    uris.sort();
    uris
}

/// Runs a write, then at once the read, and checks the read saw it within a second.
fn seen_at_once(what: &str, write: impl FnOnce(), read: impl FnOnce() -> bool) {
    let t = Instant::now();
    write();
    assert!(read(), "{what}: instance B answered stale");
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "{what}: took {:?}",
        t.elapsed()
    );
}

#[test]
fn a_write_anywhere_is_seen_by_the_next_orchestration_of_every_instance() {
    let cloud = Cloud::start();
    let b_port = free_port();
    let b = support::start_orchestrator(&cloud.db, b_port, cloud.sr_port, support::Pki::Generated);
    let b_url = format!("{}/orchestrator/orchestration", b.origin);
    let dynamic = consumer_form(json!({"overrideStore": true}), json!({}));
    let store = consumer_form(json!({}), json!({}));

    let entry = register(&cloud, "provider", 6000, "CERTIFICATE", json!({}));
    let consumer = register_consumer(&cloud, "consumer", 5000);
    let (provider, service, interface) = (
        entry["provider"]["id"].as_i64().unwrap(),
        entry["serviceDefinition"]["id"].as_i64().unwrap(),
        entry["interfaces"][0]["id"].as_i64().unwrap(),
    );
    let rule = add_rule(&cloud, consumer, provider, service, &[interface]);
    // Warm both instances' caches.
    for _ in 0..3 {
        let (status, got) = orchestrate(&cloud, "consumer", &dynamic);
        assert_eq!((status, providers_of(&got)), (200, vec!["provider".into()]));
        let (status, got) = orchestrate_at(&b_url, &dynamic);
        assert_eq!((status, providers_of(&got)), (200, vec!["provider".into()]));
    }

    // Registry entries: unregister, then register again at another URI.
    seen_at_once(
        "unregistration",
        || {
            let (status, _) = read(
                client("provider")
                    .delete(cloud.sr_url("/unregister?service_definition=temperature&system_name=provider&address=127.0.0.1&port=6000"))
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 200);
        },
        || orchestrate_at(&b_url, &dynamic).1 == json!({"response": []}),
    );
    seen_at_once(
        "registration",
        || {
            register(
                &cloud,
                "provider",
                6000,
                "CERTIFICATE",
                json!({"serviceUri": "/moved"}),
            );
        },
        || uris_of(&orchestrate_at(&b_url, &dynamic).1) == vec!["/moved".to_owned()],
    );

    // Rules: removed through the Authorization system, then added again.
    seen_at_once(
        "rule removal",
        || {
            let (status, _) = read(
                client("sysop")
                    .delete(cloud.auth_url(&format!("/mgmt/intracloud/{rule}")))
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 200);
        },
        || orchestrate_at(&b_url, &dynamic).1 == json!({"response": []}),
    );
    seen_at_once(
        "rule creation",
        || {
            add_rule(&cloud, consumer, provider, service, &[interface]);
        },
        || providers_of(&orchestrate_at(&b_url, &dynamic).1) == vec!["provider".to_owned()],
    );

    // Store: written through instance A, read through instance B.
    assert_eq!(
        orchestrate_at(&b_url, &store),
        (200, json!({"response": []}))
    );
    let mut store_id = 0;
    seen_at_once(
        "store entry written through the other instance",
        || {
            let (status, got) = post(
                &client("sysop"),
                &cloud.orch_url("/mgmt/store"),
                &json!([{"serviceDefinitionName": "temperature", "consumerSystemId": consumer,
                         "providerSystem": {"systemName": "provider", "address": "127.0.0.1", "port": 6000},
                         "serviceInterfaceName": "HTTP-SECURE-JSON", "priority": 1}]),
            );
            assert_eq!(status, 200, "{got}");
            store_id = got["data"][0]["id"].as_i64().unwrap();
        },
        || providers_of(&orchestrate_at(&b_url, &store).1) == vec!["provider".to_owned()],
    );
    seen_at_once(
        "store entry removed through the other instance",
        || {
            let (status, _) = read(
                client("sysop")
                    .delete(cloud.orch_url(&format!("/mgmt/store/{store_id}")))
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 200);
        },
        || orchestrate_at(&b_url, &store).1 == json!({"response": []}),
    );

    // Consumers: the consumer system removed from the registry (its rules go with it).
    seen_at_once(
        "consumer removal",
        || {
            let (status, _) = read(
                client("sysop")
                    .delete(cloud.sr_url(&format!("/mgmt/systems/{consumer}")))
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 200);
        },
        || {
            let (status, got) = orchestrate_at(&b_url, &store);
            status == 400
                && got["errorMessage"]
                    == "Consumer system with name: consumer, address: 127.0.0.1, port: 5000 is not registered."
        },
    );
    let (status, got) = orchestrate_at(&b_url, &dynamic);
    assert_eq!(
        (status, got["errorMessage"].clone()),
        (
            400,
            json!("Consumer with name: consumer, address: 127.0.0.1, port: 5000 is not exist in the database.")
        )
    );
}

/// The consumer's cloud in a token comes from the own-cloud row, which the Orchestrator now
/// reads and caches itself: renamed in the database (as the Gatekeeper's management or a Java
/// system may), the next token of every instance names the new cloud.
#[test]
fn a_renamed_own_cloud_is_named_in_the_next_token_of_every_instance() {
    use diesel::prelude::*;
    let cloud = Cloud::start();
    let b_port = free_port();
    let b = support::start_orchestrator(&cloud.db, b_port, cloud.sr_port, support::Pki::Generated);
    let b_url = format!("{}/orchestrator/orchestration", b.origin);
    let a_url = cloud.orch_url("/orchestration");
    let dynamic = consumer_form(json!({"overrideStore": true}), json!({}));

    let entry = register(&cloud, "provider", 6000, "TOKEN", json!({}));
    let consumer = register_consumer(&cloud, "consumer", 5000);
    add_rule(
        &cloud,
        consumer,
        entry["provider"]["id"].as_i64().unwrap(),
        entry["serviceDefinition"]["id"].as_i64().unwrap(),
        &[entry["interfaces"][0]["id"].as_i64().unwrap()],
    );
    let auth_key = support::authorization_key(&cloud);
    let token_consumer = |url: &str| {
        let (status, got) = orchestrate_at(url, &dynamic);
        assert_eq!(status, 200, "{got}");
        let token = got["response"][0]["authorizationTokens"]["HTTP-SECURE-JSON"]
            .as_str()
            .unwrap()
            .to_owned();
        common::token::verify(
            &token,
            &support::provider_key().key,
            &auth_key,
            "consumer",
            std::time::SystemTime::now(),
        )
        .unwrap()
        .grant
        .consumer
    };
    for _ in 0..3 {
        assert_eq!(token_consumer(&a_url), "consumer.testcloud.aitia");
        assert_eq!(token_consumer(&b_url), "consumer.testcloud.aitia");
    }
    seen_at_once(
        "own cloud renamed",
        || {
            let renamed = diesel::sql_query(
                "UPDATE cloud SET name = 'renamed' WHERE own_cloud = 1 AND secure = 1",
            )
            .execute(&mut cloud.db.connect())
            .unwrap();
            assert_eq!(renamed, 1);
        },
        || token_consumer(&b_url) == "consumer.renamed.aitia",
    );
    assert_eq!(token_consumer(&a_url), "consumer.renamed.aitia");
}
