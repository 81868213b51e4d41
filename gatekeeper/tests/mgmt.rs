//! The Gatekeeper's relay and cloud management over mutual TLS on MariaDB, with the Java JSON and
//! messages, and its start-up rules.

#![allow(clippy::unwrap_used)]

use common::identity::CoreSystem;
use diesel::connection::SimpleConnection;
use reqwest::blocking::RequestBuilder;
use serde_json::{json, Value};
use std::time::Duration;
use testing::backbone::{self, Backbone};
use testing::{client, error, free_port, read, RunningServer, StartFuture, TestDb};

struct Gk {
    port: u16,
    _backbone: Backbone,
    _gk: RunningServer,
    db: TestDb,
}

impl Gk {
    fn start() -> Self {
        let db = TestDb::new();
        let backbone = Backbone::start(&db);
        let port = free_port();
        let s = gatekeeper::Settings::from_core(backbone::core(
            CoreSystem::Gatekeeper,
            backbone::properties("gatekeeper", &db, port, backbone.sr, ""),
        ))
        .unwrap();
        let gk = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                gatekeeper::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        });
        Self {
            port,
            _backbone: backbone,
            _gk: gk,
            db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/gatekeeper{path}", self.port)
    }
}

fn send(rb: RequestBuilder, body: &Value) -> (u16, Value) {
    read(rb.json(body).send().unwrap())
}

#[test]
fn relay_management() {
    let gk = Gk::start();
    let s = client("sysop");
    let relays = gk.url("/mgmt/relays");
    let origin = Some("/gatekeeper/mgmt/relays");
    let (status, got) = send(
        s.post(&relays),
        &json!([{"address": " Relay1.Example.COM ", "port": 61617, "secure": true, "type": "gatekeeper_relay"},
                {"address": "relay2.example.com", "port": 61617, "authenticationInfo": "KEY2", "exclusive": true, "type": "GATEWAY_RELAY"}]),
    );
    assert_eq!(status, 201, "{got}");
    assert_eq!(
        testing::scrub(got.clone()),
        json!({"count": 2, "data": [
            {"id": 1, "address": "relay1.example.com", "port": 61617, "authenticationInfo": null, "secure": true, "exclusive": false,
             "type": "GATEKEEPER_RELAY", "createdAt": "<ts>", "updatedAt": "<ts>"},
            {"id": 2, "address": "relay2.example.com", "port": 61617, "authenticationInfo": "KEY2", "secure": false, "exclusive": true,
             "type": "GATEWAY_RELAY", "createdAt": "<ts>", "updatedAt": "<ts>"}]})
    );
    // All or none: a list with one duplicate creates nothing.
    assert_eq!(
        send(s.post(&relays), &json!([{"address": "relay3.example.com", "port": 1}, {"address": "RELAY1.example.com", "port": 61617}])),
        (400, error("Relay with the following address and port already exists: relay1.example.com, 61617", 400, "BAD_PAYLOAD", origin))
    );
    assert_eq!(
        send(
            s.post(&relays),
            &json!([{"address": "relay4.example.com", "port": 1, "authenticationInfo": "KEY2"}])
        ),
        (
            400,
            error(
                "Relay with the following authentication info already exists: KEY2",
                400,
                "BAD_PAYLOAD",
                origin
            )
        )
    );
    assert_eq!(gk.db.count("relay"), 2);
    assert_eq!(
        send(s.post(&relays), &json!([{"port": 70000, "type": "x"}])).1["errorMessage"],
        "RelayRequestDTO is invalid due to the following reasons: address is empty,  port is null or should be between 0 and 65535, type 'x' is not valid"
    );
    assert_eq!(
        send(s.post(&relays), &json!([])).1["errorMessage"],
        "List of RelayRequestDTO is null or empty"
    );

    // Lists, sorted and paged; one by id and by address.
    let (_, list) = read(
        s.get(format!(
            "{relays}?sort_field=address&direction=DESC&page=0&item_per_page=1"
        ))
        .send()
        .unwrap(),
    );
    assert_eq!(
        (list["count"].as_i64(), list["data"][0]["id"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(
        read(
            s.get(format!("{relays}?sort_field=nothing"))
                .send()
                .unwrap()
        )
        .0,
        400
    );
    assert_eq!(
        read(s.get(gk.url("/mgmt/relays/1")).send().unwrap()).1["address"],
        "relay1.example.com"
    );
    let missing = gk.url("/mgmt/relays/9");
    assert_eq!(
        read(s.get(&missing).send().unwrap()),
        (
            400,
            error(
                "Relay with id '9' not exists",
                400,
                "BAD_PAYLOAD",
                Some(&missing)
            )
        )
    );
    assert_eq!(
        read(
            s.get(gk.url("/mgmt/relays/RELAY2.example.com/61617"))
                .send()
                .unwrap()
        )
        .1["id"],
        2
    );
    let nowhere = gk.url("/mgmt/relays/relay9.example.com/1");
    assert_eq!(
        read(s.get(&nowhere).send().unwrap()),
        (
            400,
            error(
                "Relay with the following address and port not exists: relay9.example.com, 1",
                400,
                "BAD_PAYLOAD",
                Some(&nowhere)
            )
        )
    );

    // PUT: everything but the type may change; the address is normalised here too.
    let one = gk.url("/mgmt/relays/1");
    let (status, got) = send(
        s.put(&one),
        &json!({"address": "Relay1b.example.com", "port": 61618, "type": "GATEKEEPER_RELAY"}),
    );
    assert_eq!(
        (status, got["address"].as_str(), got["port"].as_i64()),
        (200, Some("relay1b.example.com"), Some(61618))
    );
    assert_eq!(
        send(
            s.put(&one),
            &json!({"address": "relay1b.example.com", "port": 61618})
        ),
        (
            400,
            error(
                "Type of relay couldn't be updated",
                400,
                "BAD_PAYLOAD",
                Some(&one)
            )
        )
    );
    assert_eq!(
        send(
            s.put(&one),
            &json!({"address": "relay2.example.com", "port": 61617, "type": "GATEKEEPER_RELAY"})
        )
        .1["errorMessage"],
        "Relay with the following address and port already exists: relay2.example.com, 61617"
    );

    // A cloud's last Gatekeeper relay cannot go.
    gk.db.connect().batch_execute(
        "INSERT INTO cloud (operator, name, secure, neighbor, own_cloud) VALUES ('aitia', 'testcloud9', 0, 1, 0);
         INSERT INTO cloud_gatekeeper_relay (cloud_id, relay_id) SELECT id, 1 FROM cloud WHERE name = 'testcloud9';",
    ).unwrap();
    assert_eq!(
        read(s.delete(&one).send().unwrap()),
        (400, error("Relay couldn't be removed, because the following cloud woud stay without gatekeeper Relay: aitia.testcloud9", 400, "BAD_PAYLOAD", Some(&one)))
    );
    assert_eq!(
        read(s.delete(gk.url("/mgmt/relays/2")).send().unwrap()).0,
        200
    );
    assert_eq!(
        read(s.delete(gk.url("/mgmt/relays/2")).send().unwrap()).1["errorMessage"],
        "Relay with id '2' not exists"
    );
    assert_eq!(
        read(s.delete(gk.url("/mgmt/relays/0")).send().unwrap()).1["errorMessage"],
        "Id must be greater than 0."
    );

    // Management is the sysop's.
    let c = client("orchestrator");
    assert_eq!(read(c.get(&relays).send().unwrap()).0, 401);
    testing::assert_hostile_refused(&relays);
    assert_eq!(
        read(c.get(gk.url("/echo")).send().unwrap()),
        (200, json!("Got it!"))
    );
    testing::check_mgmt_logs(&gk.db, &gk.url(""), "gatekeeper");
}

#[test]
fn start_up_rules() {
    let db = TestDb::new();
    let props =
        |extra: &str| backbone::properties("gatekeeper", &db, free_port(), free_port(), extra);
    let settings = |extra: &str| {
        gatekeeper::Settings::from_core(backbone::core(CoreSystem::Gatekeeper, props(extra)))
    };
    let e = settings("gateway_is_present=false\ngateway_is_mandatory=true\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("Gatekeeper can't start with 'gateway_is_present=false' property when the 'gateway_is_mandatory' property is true!"), "{e}");
    let e = settings("server.ssl.enabled=false\n")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("Gatekeeper can only started in SECURE mode!"),
        "{e}"
    );
    let ok = settings("gateway_is_present=true\ngateway_is_mandatory=true\n").unwrap();
    assert!(ok.gateway_is_present && ok.gateway_is_mandatory);
}

#[test]
fn cloud_management() {
    let gk = Gk::start();
    let s = client("sysop");
    let clouds = gk.url("/mgmt/clouds");
    let origin = Some("/gatekeeper/mgmt/clouds");
    let (status, _) = send(
        s.post(gk.url("/mgmt/relays")),
        &json!([{"address": "gk.relay", "port": 61617, "type": "GATEKEEPER_RELAY"},
                {"address": "general.relay", "port": 61617},
                {"address": "gw.relay", "port": 61617, "exclusive": true, "type": "GATEWAY_RELAY"},
                {"address": "public-gw.relay", "port": 61617, "type": "GATEWAY_RELAY"}]),
    );
    assert_eq!(status, 201);
    let (status, got) = send(
        s.post(&clouds),
        &json!([{"operator": " AITIA ", "name": "TestCloud1", "secure": true, "neighbor": true, "authenticationInfo": "GKKEY",
                 "gatekeeperRelayIds": [1], "gatewayRelayIds": [3]}]),
    );
    assert_eq!(status, 201, "{got}");
    let cloud = &got["data"][0];
    let id = cloud["id"].as_i64().unwrap();
    assert_eq!(
        (
            cloud["operator"].as_str(),
            cloud["name"].as_str(),
            cloud["secure"].as_bool(),
            cloud["ownCloud"].as_bool(),
            got["count"].as_i64()
        ),
        (
            Some("aitia"),
            Some("testcloud1"),
            Some(true),
            Some(false),
            Some(1)
        )
    );
    assert_eq!(
        (
            cloud["gatekeeperRelays"][0]["address"].as_str(),
            cloud["gatewayRelays"][0]["address"].as_str()
        ),
        (Some("gk.relay"), Some("gw.relay"))
    );
    // Java's refusals, each leaving nothing behind.
    let refused = |body: Value, message: &str| {
        assert_eq!(
            send(s.post(&clouds), &body),
            (400, error(message, 400, "BAD_PAYLOAD", origin)),
            "{body}"
        );
    };
    refused(
        json!([{"operator": "aitia", "name": "testcloud1", "gatekeeperRelayIds": [1]}]),
        "Cloud with the following operator and name already exists: aitia, testcloud1",
    );
    refused(
        json!([{"operator": "a", "name": "c2", "gatekeeperRelayIds": [1]}, {"operator": "A", "name": "C2", "gatekeeperRelayIds": [1]}]),
        "List of CloudRequestDTO contains uinque constraint violation: a operator with c2 name",
    );
    refused(
        json!([{"operator": "a", "name": "c3", "secure": true, "gatekeeperRelayIds": [1]}]),
        "Secure cloud without authenticationInfo is denied",
    );
    refused(
        json!([{"operator": "a", "name": "c3"}]),
        "GatekeeperRelayIds list is empty",
    );
    refused(
        json!([{"operator": "a", "name": "c3", "gatekeeperRelayIds": [9]}]),
        "GatekeeperRelay with id '9' not exists",
    );
    refused(
        json!([{"operator": "a", "name": "c3", "gatekeeperRelayIds": [3]}]),
        "Relay with gatekeeper purpose couldn't be exclusive",
    );
    refused(json!([{"operator": "a", "name": "c3", "gatekeeperRelayIds": [4]}]),
            "Relay with gatekeeper purpose could be only GATEKEEPER_RELAY or GENERAL_RELAY type, but not GATEWAY_RELAY type");
    refused(json!([{"operator": "a", "name": "c3", "gatekeeperRelayIds": [1], "gatewayRelayIds": [2]}]),
            "Gateway dedicated relay could be only exclusive GATEWAY_RELAY type, but not non-exclusive GENERAL_RELAY type");
    refused(
        json!([{"operator": "a", "name": "c3", "gatekeeperRelayIds": [1], "gatewayRelayIds": [9]}]),
        "GatekewayRelay with id '9' not exists",
    );
    refused(json!([{"operator": "", "name": "under_score", "gatekeeperRelayIds": [1]}]),
            "CloudRequestDTO is invalid due to the following reasons: operator is empty, operator is in wrong format, name is in wrong format");
    refused(json!([]), "List of CloudRequestDTO is null or empty");
    assert_eq!(gk.db.count("cloud"), 2, "the own cloud and testcloud1");

    // Assign adds relays; an id assigned already is refused.
    let (status, got) = send(
        s.post(gk.url("/mgmt/clouds/assign")),
        &json!({"cloudId": id, "gatekeeperRelayIds": [2]}),
    );
    assert_eq!(
        (status, got["gatekeeperRelays"].as_array().map(Vec::len)),
        (200, Some(2)),
        "{got}"
    );
    assert_eq!(
        send(
            s.post(gk.url("/mgmt/clouds/assign")),
            &json!({"cloudId": id, "gatekeeperRelayIds": [2]})
        )
        .1["errorMessage"],
        "Invalid relay id: 2"
    );
    assert_eq!(
        send(
            s.post(gk.url("/mgmt/clouds/assign")),
            &json!({"cloudId": id})
        )
        .1["errorMessage"],
        "GatekeeperRelayIds and GatewayRelayIds list couldn't be null or empty at the same time"
    );
    // PUT replaces the lists too.
    let one = gk.url(&format!("/mgmt/clouds/{id}"));
    let (status, got) = send(
        s.put(&one),
        &json!({"operator": "aitia", "name": "testcloud1", "neighbor": false, "gatekeeperRelayIds": [2]}),
    );
    assert_eq!(
        (
            status,
            got["gatekeeperRelays"][0]["address"].as_str(),
            got["gatewayRelays"].as_array().map(Vec::len),
            got["neighbor"].as_bool()
        ),
        (200, Some("general.relay"), Some(0), Some(false))
    );
    let (_, list) = read(s.get(format!("{clouds}?sort_field=name")).send().unwrap());
    assert_eq!(list["count"], 2);
    assert_eq!(read(s.get(&one).send().unwrap()).1["name"], "testcloud1");
    let missing = gk.url("/mgmt/clouds/99");
    assert_eq!(
        read(s.get(&missing).send().unwrap()),
        (
            400,
            error(
                "Cloud with id '99' not exists",
                400,
                "BAD_PAYLOAD",
                Some(&missing)
            )
        )
    );
    // The own cloud stays (Java deletes it and then fails every inter-cloud call).
    let own = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["ownCloud"] == true)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let own_url = gk.url(&format!("/mgmt/clouds/{own}"));
    assert_eq!(
        read(s.delete(&own_url).send().unwrap()),
        (
            400,
            error(
                "The own cloud cannot be removed.",
                400,
                "BAD_PAYLOAD",
                Some(&own_url)
            )
        )
    );
    assert_eq!(read(s.delete(&one).send().unwrap()).0, 200);
    assert_eq!(
        read(s.delete(&one).send().unwrap()).0,
        200,
        "a missing cloud is no error, as in Java"
    );
    assert_eq!(gk.db.count("cloud_gatekeeper_relay"), 0);
    assert_eq!(
        read(client("orchestrator").get(&clouds).send().unwrap()).0,
        401
    );
}

#[test]
fn clouds_for_the_orchestrator_and_the_qos_monitor() {
    let gk = Gk::start();
    let s = client("sysop");
    assert_eq!(
        send(
            s.post(gk.url("/mgmt/relays")),
            &json!([{"address": "gk.relay", "port": 1, "type": "GATEKEEPER_RELAY"},
                    {"address": "general.relay", "port": 1},
                    {"address": "gw.relay", "port": 1, "exclusive": true, "type": "GATEWAY_RELAY"},
                    {"address": "public-gw.relay", "port": 1, "type": "GATEWAY_RELAY"}]),
        )
        .0,
        201
    );
    assert_eq!(
        send(
            s.post(gk.url("/mgmt/clouds")),
            &json!([{"operator": "aitia", "name": "testcloud1", "neighbor": true, "gatekeeperRelayIds": [1], "gatewayRelayIds": [3]}]),
        )
        .0,
        201
    );
    // The Orchestrator gets the cloud with every public gateway relay added to its own.
    let (status, got) = read(
        client("orchestrator")
            .get(gk.url("/cloud/AITIA/testcloud1"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{got}");
    let gateway: Vec<&str> = got["gatewayRelays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(gateway, ["gw.relay", "general.relay", "public-gw.relay"]);
    assert_eq!(got["gatekeeperRelays"][0]["address"], "gk.relay");
    assert_eq!(
        read(
            client("orchestrator")
                .get(gk.url("/cloud/aitia/nowhere"))
                .send()
                .unwrap()
        ),
        (
            400,
            error(
                "Cloud with the following operator and name not exists: aitia, nowhere",
                400,
                "BAD_PAYLOAD",
                Some("/gatekeeper/cloud/{operator}/{name}")
            )
        )
    );
    let qos = testing::client_issued("qosmonitor");
    assert_eq!(
        read(qos.get(gk.url("/cloud/aitia/testcloud1")).send().unwrap()).0,
        200
    );
    // Only those two, the look-alike names included; the answer is the Arrowhead error JSON.
    let url = gk.url("/cloud/aitia/testcloud1");
    for who in ["client", "sysop", "gateway", "qos-monitor", "orchestrat0r"] {
        let refused = read(testing::client_issued(who).get(&url).send().unwrap());
        let cn = format!("{who}.testcloud.aitia.arrowhead.eu");
        assert_eq!(
            refused,
            (
                401,
                error(
                    &format!("{cn} is unauthorized to access {url}"),
                    401,
                    "AUTH",
                    Some(&url)
                )
            ),
            "{who}"
        );
    }
    // The QoS Monitor pulls every cloud (the own one included) with the public relays.
    let (status, got) = read(qos.get(gk.url("/pull_clouds")).send().unwrap());
    assert_eq!((status, got["count"].as_i64()), (200, Some(2)), "{got}");
    let public: Vec<&str> = got["data"][0]["publicRelays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(public, ["general.relay", "public-gw.relay"]);
    assert_eq!(
        read(
            client("orchestrator")
                .get(gk.url("/pull_clouds"))
                .send()
                .unwrap()
        )
        .0,
        401
    );
}
