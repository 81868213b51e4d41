//! The Device Registry over mutual TLS on MariaDB, next to a Service Registry (where it
//! registers its services), with real certificates.

#![allow(clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::time::Duration;
use testing::{client, error, free_port, read, RunningServer, StartFuture, TestDb};

struct Registry {
    port: u16,
    _sr: RunningServer,
    _dr: RunningServer,
    _db: TestDb,
}

impl Registry {
    fn start() -> Self {
        let db = TestDb::new();
        let (sr, port) = (free_port(), free_port());
        let props = |system: &str, p: u16| {
            Properties::parse(&format!(
                "{}server.port={p}\ndomain.port={p}\nsr_address=localhost\nsr_port={sr}\nallow_self_addressing=true\n",
                testing::secure_properties(system, &db)
            ))
            .with_env(std::iter::empty())
        };
        let s = serviceregistry::Settings::from_core(
            CoreSettings::from_properties(
                CoreSystem::ServiceRegistry,
                props("serviceregistry", sr),
            )
            .unwrap(),
        )
        .unwrap();
        let sr_server = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                serviceregistry::start(s, Duration::from_secs(10))
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        let s = deviceregistry::Settings::from_core(
            CoreSettings::from_properties(
                CoreSystem::DeviceRegistry,
                props("deviceregistry", port),
            )
            .unwrap(),
        )
        .unwrap();
        let dr = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                deviceregistry::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        });
        Self {
            port,
            _sr: sr_server,
            _dr: dr,
            _db: db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/deviceregistry{path}", self.port)
    }
}

fn post(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.post(url).json(body).send().unwrap())
}

/// Timestamps differ per run.
fn scrub(mut v: Value) -> Value {
    for key in ["createdAt", "updatedAt"] {
        if v.get(key).is_some() {
            v[key] = json!("<ts>");
        }
        if v["device"].get(key).is_some() {
            v["device"][key] = json!("<ts>");
        }
    }
    v
}

fn device(name: &str, mac: &str) -> Value {
    json!({"device": {"deviceName": name, "address": "10.0.0.7", "macAddress": mac, "authenticationInfo": "key"}})
}

#[test]
fn register_query_unregister() {
    let dr = Registry::start();
    let c = client("client");
    let mut body = device(" Gateway-7 ", "AA:BB:CC:DD:EE:07");
    body["metadata"] = json!({"site": "hall-2"});
    body["version"] = json!(2);
    body["endOfValidity"] = json!("2030-01-01T00:00:00Z");
    let (status, got) = post(&c, &dr.url("/register"), &body);
    assert_eq!(status, 201, "{got}");
    assert_eq!(
        scrub(got.clone()),
        json!({"id": 1, "device": {"id": 1, "deviceName": "gateway-7", "address": "10.0.0.7", "macAddress": "aa:bb:cc:dd:ee:07",
               "authenticationInfo": "key", "createdAt": "<ts>", "updatedAt": "<ts>"},
               "endOfValidity": "2030-01-01T00:00:00Z", "metadata": {"site": "hall-2"}, "version": 2,
               "createdAt": "<ts>", "updatedAt": "<ts>"})
    );
    assert_eq!(
        post(&c, &dr.url("/register"), &device("gateway-7", "aa:bb:cc:dd:ee:07")),
        (400, error("Device Registry entry with provider: (gateway-7, aa:bb:cc:dd:ee:07) already exists.", 400, "BAD_PAYLOAD", Some("/deviceregistry/register")))
    );
    assert_eq!(
        post(
            &c,
            &dr.url("/register"),
            &device("gateway-8", "aa:bb:cc:dd:ee:08")
        )
        .0,
        201
    );

    // Query: name required; version, address and metadata filter (Java: the version filter was
    // inverted and the address filter did nothing).
    let q = |form: Value| post(&c, &dr.url("/query"), &form);
    let (status, got) = q(json!({"deviceNameRequirements": "gateway-7", "versionRequirement": 2}));
    assert_eq!(
        (
            status,
            got["unfilteredHits"].as_i64(),
            got["deviceQueryData"].as_array().map(Vec::len)
        ),
        (200, Some(1), Some(1))
    );
    let (_, got) = q(json!({"deviceNameRequirements": "GATEWAY-7", "versionRequirement": 1}));
    assert_eq!(
        (
            got["unfilteredHits"].as_i64(),
            got["deviceQueryData"].as_array().map(Vec::len)
        ),
        (Some(1), Some(0))
    );
    let (_, got) =
        q(json!({"deviceNameRequirements": "gateway-7", "addressRequirement": "10.0.0.8"}));
    assert_eq!(got["deviceQueryData"].as_array().map(Vec::len), Some(0));
    let (_, got) = q(
        json!({"deviceNameRequirements": "gateway-7", "metadataRequirements": {"site": "hall-2"}, "minVersionRequirement": 2}),
    );
    assert_eq!(
        got["deviceQueryData"][0]["device"]["deviceName"],
        "gateway-7"
    );
    assert_eq!(
        q(json!({})),
        (
            400,
            error(
                "Device definition requirement is null or blank",
                400,
                "BAD_PAYLOAD",
                Some("/deviceregistry/query")
            )
        )
    );

    // Devices by id and by body.
    let (status, got) = read(c.get(dr.url("/query/device/1")).send().unwrap());
    assert_eq!(
        (status, got["deviceName"].as_str()),
        (200, Some("gateway-7"))
    );
    assert_eq!(
        read(c.get(dr.url("/query/device/99")).send().unwrap()),
        (
            400,
            error(
                "Device with id 99 not found.",
                400,
                "BAD_PAYLOAD",
                Some(&dr.url("/query/device/99"))
            )
        )
    );
    let (status, got) = post(
        &c,
        &dr.url("/query/device"),
        &json!({"deviceName": "gateway-8", "macAddress": "AA:BB:CC:DD:EE:08"}),
    );
    assert_eq!((status, got["id"].as_i64()), (200, Some(2)));

    // Unregister matches what was stored (Java compares the raw parameters).
    let un = |name: &str, mac: &str| {
        read(
            c.delete(dr.url(&format!("/unregister?device_name={name}&mac_address={mac}")))
                .send()
                .unwrap(),
        )
    };
    assert_eq!(un("Gateway-7", "AA:BB:CC:DD:EE:07").0, 200);
    let origin = Some("/deviceregistry/unregister");
    assert_eq!(
        un("gateway-7", "aa:bb:cc:dd:ee:07"),
        (400, error("Device Registry entry for System with name 'gateway-7' and MAC address 'aa:bb:cc:dd:ee:07' does not exist", 400, "BAD_PAYLOAD", origin))
    );
    assert_eq!(
        un("nothing", "aa:bb:cc:dd:ee:00"),
        (400, error("Device entry with name 'nothing' and MAC address 'aa:bb:cc:dd:ee:00' does not exist", 400, "BAD_PAYLOAD", origin))
    );
    assert_eq!(
        un("x", "zz").1,
        error(
            "Unrecognized format of MAC Address",
            400,
            "BAD_PAYLOAD",
            origin
        )
    );
    let (status, got) = read(
        c.delete(dr.url("/unregister?mac_address=aa:bb:cc:dd:ee:00"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error("Name of the device is blank", 400, "BAD_PAYLOAD", origin)
        )
    );
}

#[test]
fn validation_management_and_access() {
    let dr = Registry::start();
    let c = client("client");
    let e = |m: &str| error(m, 400, "BAD_PAYLOAD", Some("/deviceregistry/register"));
    let cases = [
        (json!({}), "Device is null."),
        (json!({"device": {"address": "a", "macAddress": "aa:bb:cc:dd:ee:ff"}}), "Device name must have value"),
        (json!({"device": {"deviceName": "d", "macAddress": "aa:bb:cc:dd:ee:ff"}}), "Device address must have value"),
        (json!({"device": {"deviceName": "d", "address": "a"}}), "Device MAC address must have value"),
        (json!({"device": {"deviceName": "d", "address": "a", "macAddress": "aa:bb"}}), "Unrecognized format of MAC Address"),
        (json!({"device": {"deviceName": "d.x", "address": "a", "macAddress": "aa:bb:cc:dd:ee:ff"}}), "Name can't contain dot (.)"),
        (json!({"device": {"deviceName": "d", "address": "a", "macAddress": "aa:bb:cc:dd:ee:ff"}, "endOfValidity": "soon"}),
         "End of validity is specified in the wrong format. Please provide UTC time using ISO-8601 format."),
        (json!({"device": {"deviceName": "d", "address": "a", "macAddress": "aa:bb:cc:dd:ee:ff"}, "endOfValidity": "2099-01-01T00:00:00Z"}),
         "End of validity is out of the storable range (1970-01-01T00:00:01Z to 2038-01-19T03:14:07Z)."),
        // Beyond what the Java columns hold: 400, not a database failure.
        (json!({"device": {"deviceName": "d", "address": "a", "macAddress": "aa:bb:cc:dd:ee:ff", "authenticationInfo": "k".repeat(2048)}}),
         "Authentication info is longer than 2047 characters."),
        (json!({"device": {"deviceName": "d", "address": "a", "macAddress": "aa:bb:cc:dd:ee:ff"}, "metadata": {"big": "v".repeat(30_000)}}),
         "Metadata is longer than 21845 characters."),
    ];
    for (body, message) in cases {
        assert_eq!(
            post(&c, &dr.url("/register"), &body),
            (400, e(message)),
            "{body}"
        );
    }
    // Management: the sysop only.
    let s = client("sysop");
    let (status, created) = post(
        &s,
        &dr.url("/mgmt"),
        &device("sensor-1", "aa:bb:cc:dd:ee:01"),
    );
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        post(
            &c,
            &dr.url("/mgmt"),
            &device("sensor-2", "aa:bb:cc:dd:ee:02")
        )
        .0,
        401
    );
    assert_eq!(read(c.get(dr.url("/mgmt")).send().unwrap()).0, 401);
    testing::assert_hostile_refused(&dr.url("/mgmt"));
    let (status, list) = read(
        s.get(dr.url("/mgmt?page=0&item_per_page=10&direction=DESC"))
            .send()
            .unwrap(),
    );
    assert_eq!((status, list["count"].as_i64()), (200, Some(1)));
    let id = created["id"].as_i64().unwrap();
    let (status, got) = read(s.get(dr.url(&format!("/mgmt/{id}"))).send().unwrap());
    assert_eq!((status, scrub(got)), (200, scrub(created.clone())));
    assert_eq!(
        read(s.delete(dr.url(&format!("/mgmt/{id}"))).send().unwrap()).0,
        200
    );
    let url = dr.url(&format!("/mgmt/{id}"));
    assert_eq!(
        read(s.get(&url).send().unwrap()),
        (
            400,
            error(
                &format!("Device Registry entry with id '{id}' does not exist"),
                400,
                "BAD_PAYLOAD",
                Some(&url)
            )
        )
    );
    let url = dr.url("/mgmt/0");
    assert_eq!(
        read(s.get(&url).send().unwrap()),
        (
            400,
            error("Id must be greater than 0.", 400, "BAD_PAYLOAD", Some(&url))
        )
    );
    assert_eq!(
        read(c.get(dr.url("/echo")).send().unwrap()),
        (200, json!("Got it!"))
    );
}

#[test]
fn device_management() {
    let dr = Registry::start();
    let (c, s) = (client("client"), client("sysop"));
    let devices = dr.url("/mgmt/devices");
    let (status, dev) = post(
        &s,
        &devices,
        &json!({"deviceName": "Meter-1", "address": "10.0.0.9", "macAddress": "aa:bb:cc:dd:ee:09"}),
    );
    assert_eq!(
        (status, dev["deviceName"].as_str()),
        (201, Some("meter-1")),
        "{dev}"
    );
    assert_eq!(
        post(
            &s,
            &devices,
            &json!({"deviceName": "alpha", "address": "a", "macAddress": "aa:bb:cc:dd:ee:0a"})
        )
        .0,
        201
    );
    assert_eq!(
        post(
            &s,
            &devices,
            &json!({"deviceName": "meter-1", "address": "10.0.0.9", "macAddress": "AA:BB:CC:DD:EE:09"})
        ),
        (
            400,
            error(
                "Device with name 'meter-1' and MAC address 'aa:bb:cc:dd:ee:09' already exists.",
                400,
                "BAD_PAYLOAD",
                Some("/deviceregistry/mgmt/devices")
            )
        )
    );
    assert_eq!(post(&c, &devices, &json!({})).0, 401);
    let (status, list) = read(
        s.get(format!("{devices}?sort_field=deviceName&direction=DESC"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, list["data"][0]["deviceName"].as_str()),
        (200, Some("meter-1")),
        "{list}"
    );
    assert_eq!(list["count"], 2);
    let id = dev["id"].as_i64().unwrap();
    let (status, got) = read(s.get(dr.url(&format!("/mgmt/device/{id}"))).send().unwrap());
    assert_eq!(
        (status, got["macAddress"].as_str()),
        (200, Some("aa:bb:cc:dd:ee:09"))
    );
    assert_eq!(
        read(
            s.delete(dr.url(&format!("/mgmt/devices/{id}")))
                .send()
                .unwrap()
        )
        .0,
        200
    );
    let url = dr.url(&format!("/mgmt/device/{id}"));
    assert_eq!(
        read(s.get(&url).send().unwrap()),
        (
            400,
            error(
                &format!("Device with id {id} not found."),
                400,
                "BAD_PAYLOAD",
                Some(&url)
            )
        )
    );
    // Entries by device name.
    let mut body = json!({"device": {"deviceName": "alpha", "address": "a", "macAddress": "aa:bb:cc:dd:ee:0a"}});
    assert_eq!(post(&s, &dr.url("/mgmt"), &body).0, 201);
    body["device"]["macAddress"] = json!("aa:bb:cc:dd:ee:0b");
    assert_eq!(post(&s, &dr.url("/mgmt"), &body).0, 201);
    let (status, got) = read(
        s.get(dr.url("/mgmt/devicename/Alpha?page=0&item_per_page=1&direction=DESC"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (
            got["count"].as_i64(),
            got["data"][0]["device"]["macAddress"].as_str()
        ),
        (Some(2), Some("aa:bb:cc:dd:ee:0b"))
    );
    assert_eq!(
        read(c.get(dr.url("/mgmt/devicename/alpha")).send().unwrap()).0,
        401
    );
}
