//! Two clouds on one machine (own databases, own core systems, one private ActiveMQ relay with
//! mutual TLS): discovery and negotiation between their Gatekeepers, the inter-cloud rules
//! deciding, forged advertisements refused, a broker outage and a silent Gatekeeper answered.

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testing::clouds::{Cloud, Options, TwoClouds, REMOTE_CLOUD};

/// Registers a TOKEN-secured `temperature` provider in `cloud` and returns (service
/// definition id, provider id, interface id).
fn register_provider(cloud: &Cloud, port: u16) -> (i64, i64, i64) {
    let (status, got) = cloud.post(
        "provider",
        "serviceregistry",
        "/register",
        &json!({"serviceDefinition": "temperature", "providerSystem": {"systemName": "provider",
            "address": "localhost", "port": port, "authenticationInfo": cloud.public_key("provider")},
            "serviceUri": "/temperature", "secure": "TOKEN", "interfaces": ["HTTP-SECURE-JSON"]}),
    );
    assert_eq!(status, 201, "{got}");
    (
        got["serviceDefinition"]["id"].as_i64().unwrap(),
        got["provider"]["id"].as_i64().unwrap(),
        got["interfaces"][0]["id"].as_i64().unwrap(),
    )
}

fn allow_cloud(cloud: &Cloud, cloud_id: i64, (service, provider, interface): (i64, i64, i64)) {
    let (status, got) = cloud.post(
        "sysop",
        "authorization",
        "/mgmt/intercloud",
        &json!({"cloudId": cloud_id, "providerIdList": [provider], "serviceDefinitionIdList": [service],
            "interfaceIdList": [interface]}),
    );
    assert_eq!(status, 201, "{got}");
}

fn gsd(clouds: &TwoClouds, body: &Value) -> (u16, Value) {
    clouds
        .a
        .post("orchestrator", "gatekeeper", "/init_gsd", body)
}

fn icn_form(clouds: &TwoClouds) -> Value {
    json!({"requestedService": {"serviceDefinitionRequirement": "temperature"},
        "targetCloudId": clouds.b_in_a,
        "requesterSystem": {"systemName": "consumer", "address": "localhost", "port": 5000},
        "preferredSystems": [], "negotiationFlags": {"matchmaking": false}, "commands": {}})
}

#[test]
fn gatekeepers_discover_and_negotiate_over_the_relay() {
    let mut clouds = TwoClouds::start(&Options::default(), &Options::default());
    let temperature = json!({"requestedService": {"serviceDefinitionRequirement": "temperature"}});

    // Only the Orchestrator asks: not another system of the cloud, nor another cloud's
    // Orchestrator (its chain ends at another cloud's certificate).
    let init_gsd = clouds.a.url("gatekeeper", "/init_gsd");
    assert_eq!(
        clouds
            .a
            .post("consumer", "gatekeeper", "/init_gsd", &temperature),
        (
            401,
            testing::error(
                &format!(
                    "consumer.testcloud.aitia.arrowhead.eu is unauthorized to access {init_gsd}"
                ),
                401,
                "AUTH",
                Some(&init_gsd)
            )
        )
    );
    match clouds
        .b
        .client("orchestrator")
        .post(&init_gsd)
        .json(&temperature)
        .send()
    {
        Err(e) => assert!(common::https::error_chain(&e).contains("alert"), "{e}"),
        Ok(resp) => {
            let (status, got) = testing::read(resp);
            assert_eq!(
                (status, got["exceptionType"].as_str()),
                (401, Some("AUTH")),
                "{got}"
            );
        }
    }

    // Nothing registered in B yet: the poll is answered, but unsuccessful.
    let (status, got) = gsd(&clouds, &temperature);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got, json!({"results": [], "unsuccessfulRequests": 1}));

    // Registered but no inter-cloud rule: still nothing.
    let ids = register_provider(&clouds.b, 9876);
    let (_, got) = gsd(&clouds, &temperature);
    assert_eq!(got["results"], json!([]), "{got}");

    allow_cloud(&clouds.b, clouds.a_in_b, ids);
    let started = Instant::now();
    let (status, got) = gsd(&clouds, &temperature);
    println!("GSD over the relay: {:?}", started.elapsed());
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["unsuccessfulRequests"], 0, "{got}");
    let result = &got["results"][0];
    assert_eq!(
        result["providerCloud"]["id"], clouds.b_in_a,
        "A's own id of B: {got}"
    );
    assert_eq!(result["providerCloud"]["name"], REMOTE_CLOUD);
    assert_eq!(result["requiredServiceDefinition"], "temperature");
    assert_eq!(result["availableInterfaces"], json!(["HTTP-SECURE-JSON"]));
    assert_eq!(result["numOfProviders"], 1);
    assert_eq!(result["gatewayIsMandatory"], false);

    // Several services at once, for the Choreographer: B offers one of the two.
    let (status, got) = clouds.a.post(
        "choreographer",
        "gatekeeper",
        "/init_multi_gsd",
        &json!({"requestedServices": [{"serviceDefinitionRequirement": "temperature"},
            {"serviceDefinitionRequirement": "humidity"}]}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["unsuccessfulRequests"], 0, "{got}");
    assert_eq!(got["results"][0]["providerCloud"]["id"], clouds.b_in_a);
    assert_eq!(
        got["results"][0]["providedServiceDefinitions"],
        json!(["temperature"])
    );
    let multi = clouds.a.url("gatekeeper", "/init_multi_gsd");
    assert_eq!(
        clouds.a.post(
            "orchestrator",
            "gatekeeper",
            "/init_multi_gsd",
            &json!({"requestedServices": [{"serviceDefinitionRequirement": "temperature"}]}),
        ),
        (
            401,
            testing::error(
                &format!(
                    "orchestrator.testcloud.aitia.arrowhead.eu is unauthorized to access {multi}"
                ),
                401,
                "AUTH",
                Some(&multi)
            )
        ),
        "only the Choreographer"
    );

    // Unknown preferred cloud: Java's message.
    let (status, got) = gsd(
        &clouds,
        &json!({"requestedService": {"serviceDefinitionRequirement": "temperature"},
            "preferredClouds": [{"operator": "aitia", "name": "nowhere"}]}),
    );
    assert_eq!(status, 400, "{got}");
    assert_eq!(
        got["errorMessage"],
        "initGSDPoll failed: Given preferred clouds are not exists"
    );
    let (status, got) = gsd(&clouds, &json!({"requestedService": {}}));
    assert_eq!(
        (status, got["errorMessage"].as_str()),
        (400, Some("serviceDefinitionRequirement is empty"))
    );

    // No neighbour cloud and none preferred: Java's message.
    let b_record = |neighbor: bool| {
        json!({"operator": "aitia", "name": REMOTE_CLOUD, "secure": true, "neighbor": neighbor,
            "authenticationInfo": clouds.b.public_key("gatekeeper"), "gatekeeperRelayIds": [1]})
    };
    assert_eq!(read_put(&clouds.a, clouds.b_in_a, &b_record(false)).0, 200);
    let (status, got) = gsd(&clouds, &temperature);
    assert_eq!(status, 400, "{got}");
    assert_eq!(
        got["errorMessage"],
        "initGSDPoll failed: Neither preferred clouds were given, nor neighbor clouds registered"
    );
    // Preferred, B is asked even when it is no neighbour.
    let (status, got) = gsd(
        &clouds,
        &json!({"requestedService": {"serviceDefinitionRequirement": "temperature"},
            "preferredClouds": [{"operator": "aitia", "name": REMOTE_CLOUD}]}),
    );
    assert_eq!(
        (status, got["results"][0]["numOfProviders"].clone()),
        (200, json!(1)),
        "{got}"
    );
    assert_eq!(read_put(&clouds.a, clouds.b_in_a, &b_record(true)).0, 200);

    // Negotiation: B's Orchestrator answers for A's consumer, with a token minted in B.
    let started = Instant::now();
    let (status, got) = clouds.a.post(
        "orchestrator",
        "gatekeeper",
        "/init_icn",
        &icn_form(&clouds),
    );
    println!("ICN over the relay: {:?}", started.elapsed());
    assert_eq!(status, 200, "{got}");
    let result = &got["response"][0];
    assert_eq!(result["provider"]["systemName"], "provider", "{got}");
    assert_eq!(result["provider"]["port"], 9876);
    assert_eq!(result["serviceUri"], "/temperature");
    assert!(
        result["authorizationTokens"]["HTTP-SECURE-JSON"].is_string(),
        "{got}"
    );
    assert_eq!(got["response"].as_array().unwrap().len(), 1);

    // The QoS Monitor's questions.
    let (status, got) = clouds.a.post(
        "qosmonitor",
        "gatekeeper",
        "/collect_access_types",
        &json!([{"operator": "aitia", "name": REMOTE_CLOUD}, {"operator": "aitia", "name": "testcloud"}]),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got,
        json!({"data": [{"cloudName": REMOTE_CLOUD, "cloudOperator": "aitia", "directAccess": true}], "count": 1})
    );
    let (status, got) = clouds.a.post(
        "qosmonitor",
        "gatekeeper",
        "/collect_system_addresses",
        &json!({"operator": "aitia", "name": REMOTE_CLOUD}),
    );
    assert_eq!(status, 200, "{got}");
    assert!(
        got["addresses"]
            .as_array()
            .unwrap()
            .contains(&json!("localhost")),
        "{got}"
    );

    // A forged advertisement: B records another key for A's Gatekeeper, so A's messages (signed
    // with A's real key) are refused at once, with an error, not left to time out.
    let forged_record = json!({"operator": "aitia", "name": "testcloud", "secure": true, "neighbor": true,
        "authenticationInfo": clouds.a.public_key("consumer"), "gatekeeperRelayIds": [1]});
    let (status, got) = read_put(&clouds.b, clouds.a_in_b, &forged_record);
    assert_eq!(status, 200, "{got}");
    let started = Instant::now();
    let (status, got) = clouds.a.post(
        "orchestrator",
        "gatekeeper",
        "/init_icn",
        &icn_form(&clouds),
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "answered, not timed out"
    );
    assert_eq!(status, 401, "{got}");
    assert!(
        got["errorMessage"]
            .as_str()
            .unwrap()
            .contains("is not the one recorded for cloud aitia/testcloud"),
        "{got}"
    );
    let (_, got) = gsd(&clouds, &temperature);
    assert_eq!(got, json!({"results": [], "unsuccessfulRequests": 1}));
    let honest = json!({"operator": "aitia", "name": "testcloud", "secure": true, "neighbor": true,
        "authenticationInfo": clouds.a.public_key("gatekeeper"), "gatekeeperRelayIds": [1]});
    assert_eq!(read_put(&clouds.b, clouds.a_in_b, &honest).0, 200);

    // The broker goes away: 503 within the timeout; back again, the Gatekeepers reconnect.
    clouds.broker.stop();
    let (status, got) = clouds.a.post(
        "orchestrator",
        "gatekeeper",
        "/init_icn",
        &icn_form(&clouds),
    );
    assert_eq!(status, 503, "{got}");
    clouds.broker.restart();
    testing::wait_for(
        "negotiation after the relay restart",
        Duration::from_secs(40),
        || {
            let (status, got) = clouds.a.post(
                "orchestrator",
                "gatekeeper",
                "/init_icn",
                &icn_form(&clouds),
            );
            status == 200 && got["response"].as_array().is_some_and(|r| r.len() == 1)
        },
    );

    // B's Gatekeeper falls silent: ICN is answered with Java's 504 within the timeout (5 s
    // here), GSD counts B as unsuccessful.
    clouds.b.stop_gatekeeper();
    let started = Instant::now();
    let (status, got) = clouds.a.post(
        "orchestrator",
        "gatekeeper",
        "/init_icn",
        &icn_form(&clouds),
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert_eq!(
        (status, got),
        (
            504,
            testing::error(
                "gatekeeper.remotecloud.aitia.arrowhead.eu does not acknowledge request in time",
                504,
                "TIMEOUT",
                Some("ICN Proposal to gatekeeper.remotecloud.aitia.arrowhead.eu")
            )
        )
    );
    let (status, got) = gsd(&clouds, &temperature);
    assert_eq!(
        (status, got),
        (200, json!({"results": [], "unsuccessfulRequests": 1}))
    );
}

/// A token as B's provider checks it: with its own key and B's Authorization key, presented by
/// `presenter`.
fn verify_at_provider(cloud: &Cloud, token: &str, presenter: &str) -> common::token::VerifiedToken {
    let provider_key =
        common::tls::Keystore::from_pkcs12_file(&cloud.dir.join("provider.p12"), testing::PASSWORD)
            .unwrap()
            .key;
    let auth_key =
        common::token::public_key_from_base64(&cloud.public_key("authorization")).unwrap();
    common::token::verify(
        token,
        &provider_key,
        &auth_key,
        presenter,
        std::time::SystemTime::now(),
    )
    .unwrap()
}

fn read_put(cloud: &Cloud, id: i64, body: &Value) -> (u16, Value) {
    testing::read(
        cloud
            .client("sysop")
            .put(cloud.url("gatekeeper", &format!("/mgmt/clouds/{id}")))
            .json(body)
            .send()
            .unwrap(),
    )
}

fn orchestrate(cloud: &Cloud, flags: Value, extra: Value) -> (u16, Value) {
    let mut form = json!({"requesterSystem": {"systemName": "consumer", "address": "localhost", "port": 5000},
        "requestedService": {"serviceDefinitionRequirement": "temperature", "interfaceRequirements": ["HTTP-SECURE-JSON"]},
        "orchestrationFlags": flags});
    for (k, v) in extra.as_object().unwrap() {
        form[k] = v.clone();
    }
    cloud.post("consumer", "orchestrator", "/orchestration", &form)
}

#[test]
fn a_consumer_uses_a_provider_of_the_other_cloud_directly() {
    let clouds = TwoClouds::start(&Options::default(), &Options::default());
    let pki = testing::pki();
    // B's provider accepts any system under the master (A's consumer included).
    let (provider, calls) = testing::recording_server(
        &clouds.b.dir.join("provider.p12"),
        &pki.master_truststore(),
        "/temperature",
        0,
    );
    let ids = register_provider(&clouds.b, provider.port);

    // No inter-cloud rule in B: nothing.
    let (status, got) = orchestrate(&clouds.a, json!({"triggerInterCloud": true}), json!({}));
    assert_eq!((status, got), (200, json!({"response": []})));

    allow_cloud(&clouds.b, clouds.a_in_b, ids);
    let started = Instant::now();
    let (status, got) = orchestrate(&clouds.a, json!({"triggerInterCloud": true}), json!({}));
    println!("inter-cloud orchestration: {:?}", started.elapsed());
    assert_eq!(status, 200, "{got}");
    let result = &got["response"][0];
    assert_eq!(result["provider"]["systemName"], "provider", "{got}");
    assert_eq!(result["provider"]["port"], provider.port);
    assert!(
        result["warnings"]
            .as_array()
            .unwrap()
            .contains(&json!("FROM_OTHER_CLOUD")),
        "{got}"
    );

    // Nothing in A matches: enableInterCloud falls over to the other cloud.
    let (status, got) = orchestrate(
        &clouds.a,
        json!({"overrideStore": true, "enableInterCloud": true}),
        json!({}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["response"].as_array().unwrap().len(), 1, "{got}");
    // Without enableInterCloud the same request stays in A.
    let (status, got) = orchestrate(&clouds.a, json!({"overrideStore": true}), json!({}));
    assert_eq!((status, got), (200, json!({"response": []})));

    // A global preferred provider with matchmaking: exactly that one.
    let preferred = json!({"preferredProviders": [{"providerSystem": {"systemName": "provider", "address": "localhost", "port": provider.port},
        "providerCloud": {"operator": "aitia", "name": REMOTE_CLOUD}}]});
    let (status, got) = orchestrate(
        &clouds.a,
        json!({"triggerInterCloud": true, "matchmaking": true}),
        preferred,
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["response"].as_array().unwrap().len(), 1, "{got}");
    let token = got["response"][0]["authorizationTokens"]["HTTP-SECURE-JSON"]
        .as_str()
        .unwrap()
        .to_owned();

    // A store rule of A naming B's provider: negotiated with B for that provider, no
    // discovery.
    let (status, consumer) = clouds.a.post(
        "sysop",
        "serviceregistry",
        "/mgmt/systems",
        &json!({"systemName": "consumer", "address": "localhost", "port": 5000}),
    );
    assert_eq!(status, 201, "{consumer}");
    let (status, got) = clouds.a.post(
        "sysop",
        "orchestrator",
        "/mgmt/store",
        &json!([{"serviceDefinitionName": "temperature", "consumerSystemId": consumer["id"],
            "providerSystem": {"systemName": "provider", "address": "localhost", "port": provider.port,
                "authenticationInfo": clouds.b.public_key("provider")},
            "cloud": {"operator": "aitia", "name": REMOTE_CLOUD},
            "serviceInterfaceName": "HTTP-SECURE-JSON", "priority": 1}]),
    );
    assert_eq!(status, 200, "Java answers 200 here: {got}");
    let (status, got) = orchestrate(&clouds.a, json!({}), json!({}));
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["response"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got["response"][0]["provider"]["port"], provider.port);
    assert!(got["response"][0]["warnings"]
        .as_array()
        .unwrap()
        .contains(&json!("FROM_OTHER_CLOUD")));

    // The consumer calls B's provider with its own certificate and B's token; the provider
    // verifies the token with its key and B's Authorization key.
    let consumer = testing::client_from(&pki.keystore("consumer"), &pki.master);
    let (status, _) = testing::read(
        consumer
            .post(format!("https://localhost:{}/temperature", provider.port))
            .json(&json!({"token": token}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    let received = calls.lock().unwrap()[0]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let verified = verify_at_provider(&clouds.b, &received, "consumer");
    assert_eq!(verified.grant.consumer, "consumer.testcloud.aitia");
    assert_eq!(verified.grant.service, "temperature");
}

#[test]
fn through_the_gateways_when_the_provider_cloud_demands_it() {
    let a = Options {
        gateway: true,
        ..Default::default()
    };
    let b = Options {
        gateway: true,
        mandatory: true,
        ..Default::default()
    };
    // A relay that removes a destination 2 s after its last consumer left (the relay guide:
    // 60 s), to show that a quiet session keeps its queues.
    let broker = testing::broker::Broker::start_with_gc(Some((2000, 500)));
    let clouds = TwoClouds::start_on(&a, &b, broker);
    let provider = testing::clouds::echo_provider(&clouds.b);
    let ids = register_provider(&clouds.b, provider.port);
    allow_cloud(&clouds.b, clouds.a_in_b, ids);

    let started = Instant::now();
    let (status, got) = orchestrate(&clouds.a, json!({"triggerInterCloud": true}), json!({}));
    println!(
        "inter-cloud orchestration via gateways: {:?}",
        started.elapsed()
    );
    assert_eq!(status, 200, "{got}");
    let result = &got["response"][0];
    assert_eq!(got["response"].as_array().unwrap().len(), 1, "{got}");
    assert_eq!(result["provider"]["systemName"], "gateway", "{got}");
    assert_eq!(result["provider"]["address"], "localhost");
    let (_, min, max) = clouds.a.gw.unwrap();
    let port = result["provider"]["port"].as_u64().unwrap() as u16;
    assert!((min..=max).contains(&port), "{port} not in {min}..={max}");
    assert_eq!(
        result["provider"]["authenticationInfo"],
        clouds.a.public_key("gateway")
    );
    for w in ["VIA_GATEWAY", "FROM_OTHER_CLOUD"] {
        assert!(
            result["warnings"].as_array().unwrap().contains(&json!(w)),
            "{got}"
        );
    }
    // The token was minted in B for B's Gateway, the caller the provider sees.
    let token = result["authorizationTokens"]["HTTP-SECURE-JSON"]
        .as_str()
        .unwrap();
    let verified = verify_at_provider(&clouds.b, token, "gateway");
    assert_eq!(verified.grant.consumer, "gateway.remotecloud.aitia");

    // Both sessions are listed.
    let (status, sessions) = testing::read(
        clouds
            .a
            .client("sysop")
            .get(clouds.a.url("gateway", "/mgmt/sessions"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{sessions}");
    assert_eq!(sessions["count"], 1, "{sessions}");
    assert_eq!(sessions["data"][0]["consumerServerSocketPort"], port);
    let (_, provider_side) = testing::read(
        clouds
            .b
            .client("sysop")
            .get(clouds.b.url("gateway", "/mgmt/sessions"))
            .send()
            .unwrap(),
    );
    assert_eq!(provider_side["count"], 1, "{provider_side}");
    assert_eq!(
        provider_side["data"][0]["queueId"],
        sessions["data"][0]["queueId"]
    );

    // The consumer talks HTTP to its Gateway's port as if it were the provider: several
    // requests on one kept-alive connection, a large body among them.
    let consumer = clouds.a.client("consumer");
    let base = format!("https://localhost:{port}/temperature?token={token}");
    let started = Instant::now();
    let who = consumer.get(&base).send().unwrap().text().unwrap();
    println!(
        "first request through the gateways: {:?}",
        started.elapsed()
    );
    assert_eq!(who, "gateway", "the provider sees B's Gateway");
    // Silence for longer than the broker's clean-up: the session stays (Java's died, #186).
    std::thread::sleep(Duration::from_secs(5));
    let small = consumer.post(&base).body("hello").send().unwrap();
    assert_eq!(small.status().as_u16(), 200);
    assert_eq!(small.text().unwrap(), "hello");
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let started = Instant::now();
    let echoed = consumer.post(&base).body(big.clone()).send().unwrap();
    assert_eq!(echoed.status().as_u16(), 200);
    let echoed = echoed.bytes().unwrap();
    let took = started.elapsed();
    println!(
        "3 MB echoed through the gateways in {took:?} ({:.1} MB/s both ways)",
        6.0 / took.as_secs_f64()
    );
    assert!(echoed[..] == big[..], "the body came back unchanged");
    let who = consumer.get(&base).send().unwrap().text().unwrap();
    assert_eq!(who, "gateway");

    // The consumer hangs up: both Gateways end the session (the other one is told, not left
    // to time out), and the port is free again.
    drop(consumer);
    testing::wait_for(
        "the session ends with the connection",
        Duration::from_secs(20),
        || {
            let (_, s) = testing::read(
                clouds
                    .a
                    .client("sysop")
                    .get(clouds.a.url("gateway", "/mgmt/sessions"))
                    .send()
                    .unwrap(),
            );
            s["count"] == 0
        },
    );
    testing::wait_for(
        "the provider side ends too",
        Duration::from_secs(20),
        || {
            let (_, s) = testing::read(
                clouds
                    .b
                    .client("sysop")
                    .get(clouds.b.url("gateway", "/mgmt/sessions"))
                    .send()
                    .unwrap(),
            );
            s["count"] == 0
        },
    );

    // No relay both clouds know as a public gateway relay (B now names it by another address):
    // Java's 401 reaches the consumer.
    let (status, got) = testing::read(
        clouds
            .b
            .client("sysop")
            .put(clouds.b.url("gatekeeper", "/mgmt/relays/1"))
            .json(
                &json!({"address": "localhost", "port": clouds.broker.stomp_ssl, "secure": true,
                "exclusive": false, "type": "GENERAL_RELAY"}),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{got}");
    let (status, got) = orchestrate(&clouds.a, json!({"triggerInterCloud": true}), json!({}));
    assert_eq!(status, 401, "{got}");
    assert_eq!(
        got["errorMessage"],
        "No common communication relay was found."
    );
}
