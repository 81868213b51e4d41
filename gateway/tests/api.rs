//! The Gateway's endpoints over mutual TLS with a real relay: its key, who may call what (hostile
//! certificates included), Java's validation messages, the port pool (exhausted, freed, reused),
//! closing by port, an unreachable provider, and the management listing.

#![allow(clippy::unwrap_used)]

use common::identity::CoreSystem;
use serde_json::{json, Value};
use std::time::Duration;
use testing::backbone::{self, Backbone};
use testing::broker::Broker;
use testing::{client, error, free_port, read, RunningServer, StartFuture, TestDb};

struct Gw {
    port: u16,
    consumer_port: u16,
    broker: Broker,
    db: TestDb,
    _backbone: Backbone,
    _gw: RunningServer,
}

impl Gw {
    fn start() -> Self {
        let db = TestDb::new();
        let backbone = Backbone::start(&db);
        let broker = Broker::start();
        let trust = testing::pki()
            .dir
            .join(format!("gw-relay-{}.pem", broker.stomp_ssl));
        std::fs::write(&trust, broker.relay_master.to_pem().unwrap()).unwrap();
        let (port, consumer_port) = (free_port(), testing::clouds::free_ports(1).0);
        let extra = format!(
            "relay.trust-store={}\nmin_port={consumer_port}\nmax_port={consumer_port}\ngateway_socket_timeout=3000\n",
            trust.display()
        );
        let s = gateway::Settings::from_core(backbone::core(
            CoreSystem::Gateway,
            backbone::properties("gateway", &db, port, backbone.sr, &extra),
        ))
        .unwrap();
        let gw = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                gateway::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        });
        Self {
            port,
            consumer_port,
            broker,
            db,
            _backbone: backbone,
            _gw: gw,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/gateway{path}", self.port)
    }

    fn relay(&self) -> Value {
        json!({"address": "127.0.0.1", "port": self.broker.stomp_ssl, "secure": true, "exclusive": false, "type": "GENERAL_RELAY"})
    }
}

fn post(who: &str, url: &str, body: &Value) -> (u16, Value) {
    read(client(who).post(url).json(body).send().unwrap())
}

fn system(name: &str, port: u16) -> Value {
    json!({"systemName": name, "address": "localhost", "port": port})
}

#[test]
fn gateway_endpoints() {
    let gw = Gw::start();
    let own_key = common::tls::Keystore::from_pkcs12_file(
        &testing::pki().keystore("gateway"),
        testing::PASSWORD,
    )
    .unwrap()
    .public_key_base64()
    .unwrap();
    let other_key = common::tls::Keystore::from_pkcs12_file(
        &testing::pki().keystore("gatekeeper"),
        testing::PASSWORD,
    )
    .unwrap()
    .public_key_base64()
    .unwrap();

    // The key, quoted, as Java answers it; only the Gatekeeper may ask.
    let resp = client("gatekeeper")
        .get(gw.url("/publickey"))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().unwrap(), format!("\"{own_key}\""));
    let (status, got) = read(client("consumer").get(gw.url("/publickey")).send().unwrap());
    assert_eq!(status, 401, "{got}");
    assert_eq!(got["exceptionType"], "AUTH");
    let (status, _) = read(client("gatekeeper").get(gw.url("/echo")).send().unwrap());
    assert_eq!(status, 200);
    testing::assert_hostile_refused(&gw.url("/mgmt/sessions"));

    // Java's validation messages.
    let o = Some("/gateway/connect_provider");
    let provider_form = |relay: Value, key: Value| {
        json!({"relay": relay, "consumer": system("consumer", 1), "provider": system("provider", testing::closed_port()),
            "consumerCloud": {"operator": "aitia", "name": "other"}, "providerCloud": {"operator": "aitia", "name": "testcloud"},
            "serviceDefinition": "temperature", "consumerGWPublicKey": key})
    };
    let url = gw.url("/connect_provider");
    assert_eq!(
        post(
            "gatekeeper",
            &url,
            &provider_form(Value::Null, json!(other_key))
        ),
        (400, error("Relay is null.", 400, "BAD_PAYLOAD", o))
    );
    let mut gatekeeper_relay = gw.relay();
    gatekeeper_relay["type"] = json!("GATEKEEPER_RELAY");
    assert_eq!(
        post(
            "gatekeeper",
            &url,
            &provider_form(gatekeeper_relay, json!(other_key))
        ),
        (400, error("Relay type is invalid.", 400, "BAD_PAYLOAD", o))
    );
    assert_eq!(
        post("gatekeeper", &url, &provider_form(gw.relay(), json!(" "))),
        (
            400,
            error(
                "Consumer gateway public key is null or blank.",
                400,
                "BAD_PAYLOAD",
                o
            )
        )
    );
    assert_eq!(
        post(
            "orchestrator",
            &url,
            &provider_form(gw.relay(), json!(other_key))
        ),
        (
            401,
            error(
                &format!(
                    "orchestrator.testcloud.aitia.arrowhead.eu is unauthorized to access {url}"
                ),
                401,
                "AUTH",
                Some(&url)
            )
        )
    );
    // The provider does not answer: Java's 502, and no session stays behind.
    let (status, got) = post(
        "gatekeeper",
        &url,
        &provider_form(gw.relay(), json!(other_key)),
    );
    assert_eq!(status, 502, "{got}");
    assert_eq!(
        got["errorMessage"],
        "Error occured when initialize relay communication."
    );

    // The consumer side: one port in the pool.
    let consumer_form = json!({"relay": gw.relay(), "queueId": "AbC123", "peerName": "gateway.other.aitia.arrowhead.eu",
        "providerGWPublicKey": other_key, "consumer": system("consumer", 1), "provider": system("provider", 2),
        "consumerCloud": {"operator": "aitia", "name": "testcloud"}, "providerCloud": {"operator": "aitia", "name": "other"},
        "serviceDefinition": "temperature"});
    let url = gw.url("/connect_consumer");
    let mut no_queue = consumer_form.clone();
    no_queue["queueId"] = json!("");
    assert_eq!(
        post("gatekeeper", &url, &no_queue),
        (
            400,
            error(
                "Queue id is null or blank.",
                400,
                "BAD_PAYLOAD",
                Some("/gateway/connect_consumer")
            )
        )
    );
    let (status, got) = post("gatekeeper", &url, &consumer_form);
    assert_eq!((status, got.clone()), (201, json!(gw.consumer_port)));
    let (status, got) = post("gatekeeper", &url, &consumer_form);
    assert_eq!(status, 503, "{got}");
    assert_eq!(got["errorMessage"], "No available gateway port.");

    let (status, sessions) = read(
        client("sysop")
            .get(gw.url("/mgmt/sessions"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(sessions["count"], 1);
    let s = &sessions["data"][0];
    assert_eq!(s["queueId"], "AbC123");
    assert_eq!(
        s["requestQueue"],
        "REQ-gateway.other.aitia.arrowhead.eu-AbC123"
    );
    assert_eq!(
        s["responseControlQueue"],
        "RESP-gateway.other.aitia.arrowhead.eu-AbC123-CONTROL"
    );
    assert_eq!(s["consumerServerSocketPort"], gw.consumer_port);
    let (status, got) = read(
        client("sysop")
            .get(gw.url("/mgmt/sessions?page=-1&item_per_page=1"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{got}");

    // close_sessions: the Choreographer's; failures listed, the good port freed and reusable.
    let url = gw.url("/close_sessions");
    assert_eq!(
        post("choreographer", &url, &json!([])),
        (
            400,
            error(
                "Ports list is null or empty.",
                400,
                "BAD_PAYLOAD",
                Some("/gateway/close_sessions")
            )
        )
    );
    assert_eq!(
        post("gatekeeper", &url, &json!([gw.consumer_port])),
        (
            401,
            error(
                &format!("gatekeeper.testcloud.aitia.arrowhead.eu is unauthorized to access {url}"),
                401,
                "AUTH",
                Some(&url)
            )
        )
    );
    let (status, got) = post("choreographer", &url, &json!([1, gw.consumer_port]));
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got,
        json!([{"port": 1, "error": "Invalid active session port."}])
    );
    testing::wait_for("the port is free again", Duration::from_secs(10), || {
        post("gatekeeper", &gw.url("/connect_consumer"), &consumer_form).0 == 201
    });
    // Nobody connects within gateway_socket_timeout: the session ends and the port returns.
    testing::wait_for("the idle session ends", Duration::from_secs(15), || {
        read(
            client("sysop")
                .get(gw.url("/mgmt/sessions"))
                .send()
                .unwrap(),
        )
        .1["count"]
            == 0
    });
    let (status, _) = post("gatekeeper", &gw.url("/connect_consumer"), &consumer_form);
    assert_eq!(status, 201, "the freed port is given out again");

    testing::check_mgmt_logs(&gw.db, &gw.url(""), "GATEWAY");
}
