//! The Gatekeeper's relay management over mutual TLS on MariaDB, with the Java JSON and
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
        "List of RelayRequestDTO is empty"
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
