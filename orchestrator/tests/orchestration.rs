//! Orchestration end to end: providers register in the Service Registry, the operator adds
//! Authorization rules and Orchestrator Store entries, a consumer orchestrates over mTLS and
//! gets exactly the providers it may use, with tokens the TOKEN provider can verify.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::{json, Value};
use std::time::{Duration, SystemTime};
use support::{
    add_rule, consumer_form, interface_id, orchestrate, post, provider_key, providers_of, register,
    register_consumer, Cloud,
};
use testing::{client, error, read};

#[test]
fn consumer_gets_exactly_the_authorized_providers_with_verifiable_tokens() {
    let cloud = Cloud::start();
    let token_entry = register(
        &cloud,
        "provider",
        6000,
        "TOKEN",
        json!({"endOfValidity": "2037-01-01T00:00:00Z", "metadata": {"unit": "celsius"}}),
    );
    let cert_entry = register(
        &cloud,
        "client",
        6100,
        "CERTIFICATE",
        json!({"interfaces": ["HTTP-SECURE-JSON", "HTTP-SECURE-XML"]}),
    );
    let consumer = register_consumer(&cloud, "consumer", 5000);
    let service = token_entry["serviceDefinition"]["id"].as_i64().unwrap();
    let (provider, client_provider) = (
        token_entry["provider"]["id"].as_i64().unwrap(),
        cert_entry["provider"]["id"].as_i64().unwrap(),
    );
    let (json_id, xml_id) = (
        interface_id(&cloud, "HTTP-SECURE-JSON"),
        interface_id(&cloud, "HTTP-SECURE-XML"),
    );
    let dynamic = json!({"overrideStore": true});

    // No rule: nothing, although both are registered.
    let (status, got) = orchestrate(
        &cloud,
        "consumer",
        &consumer_form(dynamic.clone(), json!({})),
    );
    assert_eq!((status, got), (200, json!({"response": []})));

    add_rule(&cloud, consumer, provider, service, &[json_id]);
    let xml_rule = add_rule(&cloud, consumer, client_provider, service, &[xml_id]);
    let form = json!({
        "requesterSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000},
        "requestedService": {"serviceDefinitionRequirement": "temperature"},
        "orchestrationFlags": dynamic
    });
    let (status, got) = orchestrate(&cloud, "consumer", &form);
    assert_eq!(status, 200, "{got}");
    assert_eq!(providers_of(&got), ["client", "provider"]);
    let results = got["response"].as_array().unwrap();
    let by = |name: &str| {
        results
            .iter()
            .find(|r| r["provider"]["systemName"] == name)
            .unwrap()
    };

    // The CERTIFICATE provider: only the authorized interface, no tokens (written as null).
    let c = by("client");
    assert_eq!(c["authorizationTokens"], Value::Null);
    assert!(c.as_object().unwrap().contains_key("authorizationTokens"));
    assert_eq!(c["interfaces"].as_array().unwrap().len(), 1);
    assert_eq!(c["interfaces"][0]["interfaceName"], "HTTP-SECURE-XML");
    assert_eq!(c["warnings"], json!(["TTL_UNKNOWN"]));
    assert_eq!(c["metadata"], json!({}), "never null");
    assert_eq!(c["serviceUri"], "/client/temperature");
    assert_eq!(c["secure"], "CERTIFICATE");
    assert_eq!(c["version"], 1);
    assert_eq!(c["service"]["serviceDefinition"], "temperature");

    // The TOKEN provider: a token per interface, verifiable with its own key and the
    // Authorization system's published key, naming consumer, service and interface.
    let p = by("provider");
    assert_eq!(p["warnings"], json!([]));
    assert_eq!(p["metadata"], json!({"unit": "celsius"}));
    let token = p["authorizationTokens"]["HTTP-SECURE-JSON"]
        .as_str()
        .unwrap();
    let auth_key = support::authorization_key(&cloud);
    let now = SystemTime::now();
    let verified =
        common::token::verify(token, &provider_key().key, &auth_key, "consumer", now).unwrap();
    assert_eq!(verified.grant.consumer, "consumer.testcloud.aitia");
    assert_eq!(verified.grant.service, "temperature");
    assert_eq!(verified.grant.interface, "HTTP-SECURE-JSON");
    let left = verified.expires_at.unwrap().duration_since(now).unwrap();
    assert!(
        left > Duration::from_secs(3500) && left <= Duration::from_secs(3601),
        "auth_token_ttl_in_minutes=60 gives an hour: {left:?}"
    );
    assert!(common::token::verify(token, &provider_key().key, &auth_key, "client", now).is_err());

    // Another system without rules gets nothing.
    register_consumer(&cloud, "plantdescriptionengine", 5100);
    let mut other = form.clone();
    other["requesterSystem"] =
        json!({"systemName": "plantdescriptionengine", "address": "127.0.0.1", "port": 5100});
    let (status, got) = orchestrate(&cloud, "plantdescriptionengine", &other);
    assert_eq!((status, got), (200, json!({"response": []})));

    // Store-based (the default): no entry, no provider.
    let store_form = consumer_form(json!({}), json!({}));
    let (status, got) = orchestrate(&cloud, "consumer", &store_form);
    assert_eq!((status, got), (200, json!({"response": []})));
    // Priority 1: client (not authorized on JSON), priority 2: provider → the walk ends at the
    // provider, with its token.
    let entry = |provider: &str, port: u16, priority: i64| {
        json!({"serviceDefinitionName": "temperature", "consumerSystemId": consumer,
               "providerSystem": {"systemName": provider, "address": "127.0.0.1", "port": port},
               "serviceInterfaceName": "HTTP-SECURE-JSON", "priority": priority})
    };
    let (status, created) = post(
        &client("sysop"),
        &cloud.orch_url("/mgmt/store"),
        &json!([entry("client", 6100, 1), entry("provider", 6000, 2)]),
    );
    assert_eq!(status, 200, "{created}");
    let (status, got) = orchestrate(&cloud, "consumer", &store_form);
    assert_eq!(status, 200, "{got}");
    assert_eq!(providers_of(&got), ["provider"]);
    assert!(got["response"][0]["authorizationTokens"]["HTTP-SECURE-JSON"].is_string());
    // Once client may use JSON too, its higher priority wins.
    let deleted = client("sysop")
        .delete(cloud.auth_url(&format!("/mgmt/intracloud/{xml_rule}")))
        .send()
        .unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    add_rule(
        &cloud,
        consumer,
        client_provider,
        service,
        &[json_id, xml_id],
    );
    let (_, got) = orchestrate(&cloud, "consumer", &store_form);
    assert_eq!(providers_of(&got), ["client"]);
    // Swapping the priorities swaps the answer.
    let ids: Vec<i64> = created["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    let (status, _) = post(
        &client("sysop"),
        &cloud.orch_url("/mgmt/store/modify_priorities"),
        &json!({"priorityMap": {ids[0].to_string(): 2, ids[1].to_string(): 1}}),
    );
    assert_eq!(status, 200);
    let (_, got) = orchestrate(&cloud, "consumer", &store_form);
    assert_eq!(providers_of(&got), ["provider"]);
    // By consumer id: the priority-1 provider of each of its services.
    let (status, got) = read(
        client("consumer")
            .get(cloud.orch_url(&format!("/orchestration/{consumer}")))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(providers_of(&got), ["provider"]);
    // Store orchestration without a service: the same.
    let mut all = store_form.clone();
    all.as_object_mut().unwrap().remove("requestedService");
    let (_, got) = orchestrate(&cloud, "consumer", &all);
    assert_eq!(providers_of(&got), ["provider"]);
}

#[test]
fn flags_shape_the_answer() {
    let cloud = Cloud::start();
    let a = register(
        &cloud,
        "provider",
        6000,
        "CERTIFICATE",
        json!({"metadata": {"unit": "celsius"},
        "endOfValidity": common::dto::format_instant(&(chrono::Utc::now().naive_utc() + chrono::Duration::seconds(60)))}),
    );
    // Registered by host name, so the IP-only flags can tell the two apart.
    let b = register(
        &cloud,
        "client",
        6100,
        "CERTIFICATE",
        json!({"metadata": {"unit": "kelvin"},
               "providerSystem": {"systemName": "client", "address": "localhost", "port": 6100, "authenticationInfo": "a2V5"}}),
    );
    let consumer = register_consumer(&cloud, "consumer", 5000);
    let service = a["serviceDefinition"]["id"].as_i64().unwrap();
    let json_id = interface_id(&cloud, "HTTP-SECURE-JSON");
    for p in [&a, &b] {
        add_rule(
            &cloud,
            consumer,
            p["provider"]["id"].as_i64().unwrap(),
            service,
            &[json_id],
        );
    }
    let run = |flags: Value, extra: Value| {
        let (status, got) = orchestrate(&cloud, "consumer", &consumer_form(flags, extra));
        assert_eq!(status, 200, "{got}");
        got
    };
    let got = run(json!({"overrideStore": true}), json!({}));
    assert_eq!(providers_of(&got), ["client", "provider"]);
    let expiring = got["response"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["provider"]["systemName"] == "provider")
        .unwrap();
    assert_eq!(
        expiring["warnings"],
        json!(["TTL_EXPIRING"]),
        "60 s left, window 120 s"
    );

    // metadataSearch: only then do metadata requirements filter.
    let kelvin = json!({"requestedService": {"serviceDefinitionRequirement": "temperature", "metadataRequirements": {"unit": "kelvin"}}});
    assert_eq!(
        providers_of(&run(json!({"overrideStore": true}), kelvin.clone())),
        ["client", "provider"]
    );
    assert_eq!(
        providers_of(&run(
            json!({"overrideStore": true, "metadataSearch": true}),
            kelvin
        )),
        ["client"]
    );

    // matchmaking: exactly one; the preferred one when given.
    for _ in 0..5 {
        assert_eq!(
            run(
                json!({"overrideStore": true, "matchmaking": true}),
                json!({})
            )["response"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
    let prefer_client = json!({"preferredProviders": [{"providerSystem": {"systemName": "client", "address": "localhost", "port": 6100}}]});
    assert_eq!(
        providers_of(&run(
            json!({"overrideStore": true, "matchmaking": true}),
            prefer_client.clone()
        )),
        ["client"]
    );
    // onlyPreferred: only preferred providers of this cloud.
    assert_eq!(
        providers_of(&run(
            json!({"overrideStore": true, "onlyPreferred": true}),
            prefer_client
        )),
        ["client"]
    );
    // IP-only flags: the host-name provider is left out.
    for flag in ["onlyIPv4AddressResponse", "onlyIPAddressResponse"] {
        let mut flags = json!({"overrideStore": true});
        flags[flag] = json!(true);
        assert_eq!(providers_of(&run(flags, json!({}))), ["provider"], "{flag}");
    }
    let ipv6 = run(
        json!({"overrideStore": true, "onlyIPv6AddressResponse": true}),
        json!({}),
    );
    assert_eq!(providers_of(&ipv6), Vec::<String>::new());
    // pingProviders: nothing listens on the registered ports.
    assert_eq!(
        providers_of(&run(
            json!({"overrideStore": true, "pingProviders": true}),
            json!({})
        )),
        Vec::<String>::new()
    );

    // Errors.
    let (status, got) = orchestrate(
        &cloud,
        "consumer",
        &consumer_form(
            json!({"overrideStore": true, "onlyPreferred": true}),
            json!({}),
        ),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "There is no valid preferred provider, but \"onlyPreferred\" is set to true",
                400,
                "BAD_PAYLOAD",
                Some("/orchestrator/orchestration")
            )
        )
    );
    let (status, got) = orchestrate(
        &cloud,
        "consumer",
        &consumer_form(json!({"triggerInterCloud": true}), json!({})),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Forced inter cloud service request can not be served. Orchestrator runs in NO GATEKEEPER mode.",
                400,
                "BAD_PAYLOAD",
                Some("/orchestrator/orchestration")
            )
        )
    );
    let mut no_service = consumer_form(json!({"overrideStore": true}), json!({}));
    no_service
        .as_object_mut()
        .unwrap()
        .remove("requestedService");
    assert_eq!(
        orchestrate(&cloud, "consumer", &no_service),
        (400, error("Requested service can not be null when \"overrideStore\" or \"triggerInterCloud\" is TRUE", 400, "BAD_PAYLOAD", Some("/orchestrator/orchestration")))
    );
    let two = json!({"requestedService": {"serviceDefinitionRequirement": "temperature", "interfaceRequirements": ["HTTP-SECURE-JSON", "HTTP-SECURE-XML"]}});
    let (status, got) = orchestrate(&cloud, "consumer", &consumer_form(json!({}), two));
    assert_eq!(
        (status, got["errorMessage"].as_str()),
        (
            400,
            Some("There must be exactly one interface requirement for store-based orchestration.")
        )
    );
    // The requester must be the certificate's system.
    let (status, got) = orchestrate(
        &cloud,
        "client",
        &consumer_form(json!({"overrideStore": true}), json!({})),
    );
    assert_eq!(
        (status, got),
        (401, error("Requester system name(consumer) and client name from certificate (client) do not match!", 401, "AUTH",
            Some(&cloud.orch_url("/orchestration"))))
    );
    // An unregistered requester: the Authorization system's error reaches the consumer unchanged.
    let mut stranger = consumer_form(json!({"overrideStore": true}), json!({}));
    stranger["requesterSystem"]["port"] = json!(5999);
    let (status, got) = orchestrate(&cloud, "consumer", &stranger);
    assert_eq!(
        (status, got),
        (400, error("Consumer with name: consumer, address: 127.0.0.1, port: 5999 is not exist in the database.", 400, "INVALID_PARAMETER", None))
    );
    // The registry's validation errors too.
    let bad_version = json!({"requestedService": {"serviceDefinitionRequirement": "temperature", "securityRequirements": ["NOBODY"]}});
    let (status, got) = orchestrate(
        &cloud,
        "consumer",
        &consumer_form(json!({"overrideStore": true}), bad_version),
    );
    assert_eq!(
        (status, &got["exceptionType"], &got["origin"]),
        (400, &json!("BAD_PAYLOAD"), &json!("/serviceregistry/query")),
        "{got}"
    );
}

/// Started without the Authorization system, the Orchestrator answers with a clear 503 naming
/// what is missing, and recovers by itself once the Authorization system registers.
/// Over HTTPS (the Java way, and the fallback for accounts that may not read the rule tables) the
/// Authorization system must be running to orchestrate at all.
#[test]
fn missing_authorization_is_a_clear_error_until_it_appears() {
    let mut cloud = Cloud::start_configured(
        support::Pki::Generated,
        false,
        client("orchestrator"),
        "direct_database_reads=false",
    );
    register(&cloud, "provider", 6000, "CERTIFICATE", json!({}));
    register_consumer(&cloud, "consumer", 5000);
    let form = consumer_form(json!({"overrideStore": true}), json!({}));
    let (status, got) = orchestrate(&cloud, "consumer", &form);
    assert_eq!(
        (status, got),
        (
            503,
            error(
                "No provider of authorization-control-intra is registered in the Service Registry.",
                503,
                "UNAVAILABLE",
                Some("/orchestrator/orchestration")
            )
        )
    );
    cloud.auth = Some(support::start_authorization(
        &cloud.db,
        cloud.auth_port,
        cloud.sr_port,
        support::Pki::Generated,
    ));
    cloud.wait_registered(&client("orchestrator"), "authorization-control-intra");
    let (status, got) = orchestrate(&cloud, "consumer", &form);
    assert_eq!(
        (status, got),
        (200, json!({"response": []})),
        "reachable now; no rule yet"
    );
}

/// With direct reads the rules come from the database: certificate-secured providers are
/// orchestrated while the Authorization process is down, exactly as its rules say; a TOKEN
/// provider still needs it (only it can sign) and gets a clear 503.
#[test]
fn direct_reads_orchestrate_without_the_authorization_process() {
    let cloud = Cloud::start_with(support::Pki::Generated, false, client("orchestrator"));
    let entry = register(&cloud, "provider", 6000, "CERTIFICATE", json!({}));
    let consumer = register_consumer(&cloud, "consumer", 5000);
    let form = consumer_form(json!({"overrideStore": true}), json!({}));
    let (status, got) = orchestrate(&cloud, "consumer", &form);
    assert_eq!((status, got), (200, json!({"response": []})), "no rule yet");
    // The rule is written as the Authorization system (or Java's) would write it.
    let mut c = cloud.db.connect();
    use diesel::connection::SimpleConnection;
    c.batch_execute(&format!(
        "INSERT INTO authorization_intra_cloud (consumer_system_id, provider_system_id, service_id) VALUES ({consumer}, {}, {});
         INSERT INTO authorization_intra_cloud_interface_connection (authorization_intra_cloud_id, interface_id) VALUES (LAST_INSERT_ID(), {});",
        entry["provider"]["id"], entry["serviceDefinition"]["id"], entry["interfaces"][0]["id"]
    ))
    .unwrap();
    let (status, got) = orchestrate(&cloud, "consumer", &form);
    assert_eq!(
        (status, providers_of(&got)),
        (200, vec!["provider".to_owned()]),
        "{got}"
    );
    // An unregistered requester gets the Authorization system's own error.
    let mut stranger = form.clone();
    stranger["requesterSystem"]["port"] = json!(5001);
    let (status, got) = orchestrate(&cloud, "consumer", &stranger);
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Consumer with name: consumer, address: 127.0.0.1, port: 5001 is not exist in the database.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    // TOKEN: the provider changes its registration; only the Authorization system can sign.
    let (status, _) = read(
        client("provider")
            .delete(cloud.sr_url("/unregister?service_definition=temperature&system_name=provider&address=127.0.0.1&port=6000"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    // Same provider, service and interface: the rule still applies.
    register(&cloud, "provider", 6000, "TOKEN", json!({}));
    let (status, got) = orchestrate(&cloud, "consumer", &form);
    assert_eq!(
        (status, got),
        (
            503,
            error(
                "No provider of token-generation is registered in the Service Registry.",
                503,
                "UNAVAILABLE",
                Some("/orchestrator/orchestration")
            )
        )
    );
}
