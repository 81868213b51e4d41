//! The Device Registry over mutual TLS on MariaDB, next to a Service Registry (where it
//! registers its services), with real certificates.

#![allow(clippy::unwrap_used)]

use common::identity::CoreSystem;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::time::Duration;
use testing::backbone::{self, Backbone};
use testing::{client, error, free_port, read, RunningServer, StartFuture, TestDb};

struct Registry {
    port: u16,
    backbone: Backbone,
    _dr: RunningServer,
    db: TestDb,
}

impl Registry {
    fn start() -> Self {
        let db = TestDb::new();
        let backbone = Backbone::start(&db);
        let port = free_port();
        let s = deviceregistry::Settings::from_core(backbone::core(
            CoreSystem::DeviceRegistry,
            backbone::properties("deviceregistry", &db, port, backbone.sr, ""),
        ))
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
            backbone,
            _dr: dr,
            db,
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

fn send(rb: reqwest::blocking::RequestBuilder, body: &Value) -> (u16, Value) {
    read(rb.json(body).send().unwrap())
}

#[test]
fn updates_and_patches() {
    let dr = Registry::start();
    let s = client("sysop");
    let (_, first) = post(&s, &dr.url("/mgmt"), &device("cam-1", "aa:bb:cc:dd:ee:01"));
    let (_, second) = post(&s, &dr.url("/mgmt"), &device("cam-2", "aa:bb:cc:dd:ee:02"));
    let (id, id2) = (
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    );
    let url = dr.url(&format!("/mgmt/{id}"));

    // PUT: the entry names the request's device (created here) with the request's fields.
    let mut body = device("Cam-3", "AA:BB:CC:DD:EE:03");
    body["version"] = json!(5);
    body["metadata"] = json!({"room": "7"});
    let (status, got) = send(s.put(&url), &body);
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (
            got["id"].as_i64(),
            got["device"]["deviceName"].as_str(),
            got["device"]["macAddress"].as_str(),
            got["version"].as_i64(),
            got["metadata"].clone()
        ),
        (
            Some(id),
            Some("cam-3"),
            Some("aa:bb:cc:dd:ee:03"),
            Some(5),
            json!({"room": "7"})
        )
    );
    // Pointing it at a device that has an entry of its own: 400.
    assert_eq!(
        send(s.put(&url), &device("cam-2", "aa:bb:cc:dd:ee:02")),
        (
            400,
            error(
                "Device Registry entry with provider: (cam-2, aa:bb:cc:dd:ee:02) already exists.",
                400,
                "BAD_PAYLOAD",
                Some(&url)
            )
        )
    );
    assert_eq!(
        send(
            s.put(dr.url("/mgmt/999")),
            &device("x", "aa:bb:cc:dd:ee:09")
        ),
        (
            400,
            error(
                "Device Registry entry with id '999' does not exist",
                400,
                "BAD_PAYLOAD",
                Some(&dr.url("/mgmt/999"))
            )
        )
    );
    assert_eq!(
        send(s.put(&url), &json!({})).1["errorMessage"],
        "Device is null."
    );

    // PATCH: only what is given changes; a new MAC goes into the MAC (Java wrote the name).
    let (status, got) = send(
        s.patch(&url),
        &json!({"device": {"macAddress": "AA:BB:CC:DD:EE:33"}}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (
            got["device"]["deviceName"].as_str(),
            got["device"]["macAddress"].as_str(),
            got["version"].as_i64(),
            got["metadata"].clone()
        ),
        (
            Some("cam-3"),
            Some("aa:bb:cc:dd:ee:33"),
            Some(5),
            json!({"room": "7"})
        )
    );
    let (_, got) = send(s.patch(&url), &json!({"version": 6}));
    assert_eq!(
        (
            got["version"].as_i64(),
            got["device"]["macAddress"].as_str()
        ),
        (Some(6), Some("aa:bb:cc:dd:ee:33"))
    );
    assert_eq!(
        send(s.patch(&url), &json!({})),
        (
            400,
            error("Patch request is empty.", 400, "BAD_PAYLOAD", Some(&url))
        )
    );
    assert_eq!(
        send(
            s.patch(&url),
            &json!({"device": {"deviceName": "cam-2", "macAddress": "aa:bb:cc:dd:ee:02"}})
        ),
        (
            400,
            error(
                "Device Registry entry with provider: (cam-2, aa:bb:cc:dd:ee:02) already exists.",
                400,
                "BAD_PAYLOAD",
                Some(&url)
            )
        )
    );
    assert_eq!(
        send(
            s.patch(&url),
            &json!({"device": {"macAddress": "nonsense"}})
        )
        .1["errorMessage"],
        "Unrecognized format of MAC Address"
    );

    // Devices: PUT replaces, PATCH merges, both check the unique name and MAC.
    let dev2 = second["device"]["id"].as_i64().unwrap();
    let durl = dr.url(&format!("/mgmt/devices/{dev2}"));
    let (status, got) = send(
        s.put(&durl),
        &json!({"deviceName": "cam-2b", "address": "10.9.9.9", "macAddress": "aa:bb:cc:dd:ee:2b"}),
    );
    assert_eq!(
        (
            status,
            got["deviceName"].as_str(),
            got["authenticationInfo"].as_str()
        ),
        (200, Some("cam-2b"), None)
    );
    let (status, got) = send(s.patch(&durl), &json!({"address": "10.0.0.2"}));
    assert_eq!(
        (status, got["deviceName"].as_str(), got["address"].as_str()),
        (200, Some("cam-2b"), Some("10.0.0.2"))
    );
    assert_eq!(
        send(
            s.patch(&durl),
            &json!({"deviceName": "cam-3", "macAddress": "aa:bb:cc:dd:ee:33"})
        ),
        (
            400,
            error(
                "Device with name 'cam-3' and MAC address 'aa:bb:cc:dd:ee:33' already exists.",
                400,
                "BAD_PAYLOAD",
                Some(&durl)
            )
        )
    );
    let missing = dr.url("/mgmt/devices/999");
    assert_eq!(
        send(s.patch(&missing), &json!({"address": "x"})),
        (
            400,
            error(
                "Device with id 999 not found.",
                400,
                "BAD_PAYLOAD",
                Some(&missing)
            )
        )
    );
    assert_eq!(
        send(
            s.put(&missing),
            &json!({"deviceName": "d", "address": "a", "macAddress": "aa:bb:cc:dd:ee:ff"})
        ),
        (
            400,
            error(
                "No device with id : 999",
                400,
                "BAD_PAYLOAD",
                Some(&missing)
            )
        )
    );
    assert_eq!(
        send(s.patch(&durl), &json!({})),
        (
            400,
            error("Patch request is empty.", 400, "BAD_PAYLOAD", Some(&durl))
        )
    );
    // The entry follows its device.
    let (_, got) = read(s.get(dr.url(&format!("/mgmt/{id2}"))).send().unwrap());
    assert_eq!(got["device"]["address"], "10.0.0.2");
    // Not for other systems.
    let c = client("client");
    assert_eq!(send(c.patch(&url), &json!({"version": 1})).0, 401);
    assert_eq!(send(c.put(&durl), &json!({})).0, 401);
}

fn subject_cn(b64: &str) -> String {
    let cert = openssl::x509::X509::from_der(&openssl::base64::decode_block(b64).unwrap()).unwrap();
    let cn = cert
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .unwrap()
        .data()
        .to_string()
        .unwrap();
    cn
}

#[test]
fn onboarding_signs_registers_and_announces() {
    let dr = Registry::start();
    let (_eh, events) = dr.backbone.stand_in_event_handler();
    dr.backbone.wait_for_service("ca-sign");

    let c = client("client");
    let cloud = format!("{}.{}.arrowhead.eu", testing::CLOUD, testing::OPERATOR);
    // By name: a key pair is made, the certificate is `<commonName>.<cloud>`.
    let mut body = device("meter-1", "aa:bb:cc:dd:ee:41");
    body["certificateCreationRequest"] = json!({"commonName": "meter-1"});
    let (status, got) = post(&c, &dr.url("/onboarding/name"), &body);
    assert_eq!(status, 201, "{got}");
    let cert = &got["certificateResponse"];
    assert_eq!(
        (
            cert["certificateType"].as_str(),
            cert["certificateFormat"].as_str(),
            cert["keyPairDTO"]["keyFormat"].as_str(),
            got["device"]["deviceName"].as_str(),
            got["version"].as_i64()
        ),
        (
            Some("AH_DEVICE"),
            Some("X.509"),
            Some("X.509"),
            Some("meter-1"),
            Some(1)
        )
    );
    assert_eq!(
        subject_cn(cert["certificate"].as_str().unwrap()),
        format!("meter-1.{cloud}")
    );
    let private = cert["keyPairDTO"]["privateKey"].as_str().unwrap();
    let key = openssl::pkey::PKey::private_key_from_pkcs8(
        &openssl::base64::decode_block(private).unwrap(),
    )
    .unwrap();
    let issued = openssl::x509::X509::from_der(
        &openssl::base64::decode_block(cert["certificate"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(issued.public_key().unwrap().public_eq(&key));

    // By CSR: the device keeps its key; nothing private comes back.
    let (key, csr) = testing::csr_for(&format!("meter-2.{cloud}"));
    let mut body = device("meter-2", "aa:bb:cc:dd:ee:42");
    body["certificateSigningRequest"] = json!(csr);
    let (status, got) = post(&c, &dr.url("/onboarding/csr"), &body);
    assert_eq!(status, 201, "{got}");
    let cert = &got["certificateResponse"];
    assert_eq!(cert["keyPairDTO"]["privateKey"], Value::Null);
    let issued = openssl::x509::X509::from_der(
        &openssl::base64::decode_block(cert["certificate"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(issued.public_key().unwrap().public_eq(&key));

    // A device with an entry already is refused before anything is signed.
    let signed_before = dr.db.count("ca_certificate");
    let (_, csr) = testing::csr_for(&format!("meter-2.{cloud}"));
    body["certificateSigningRequest"] = json!(csr);
    assert_eq!(
        post(&c, &dr.url("/onboarding/csr"), &body),
        (
            400,
            error(
                "Device Registry entry with provider: (meter-2, aa:bb:cc:dd:ee:42) already exists.",
                400,
                "BAD_PAYLOAD",
                Some("/deviceregistry/onboarding/csr")
            )
        )
    );
    assert_eq!(dr.db.count("ca_certificate"), signed_before);

    // Protected names: the CA refuses them for the Device Registry, in every letter case.
    for name in ["sysop", "SysOp", "serviceregistry", "Service_Registry"] {
        let mut body = device(&format!("x{}", name.len()), "aa:bb:cc:dd:ee:50");
        body["certificateCreationRequest"] = json!({"commonName": name});
        let (status, got) = post(&c, &dr.url("/onboarding/name"), &body);
        assert_eq!(
            (status, got["errorMessage"].as_str()),
            (
                400,
                Some("Only sysop allowed to request a certificate with protected common name")
            ),
            "{name}"
        );
    }
    // Nothing registered for the refused ones.
    let (_, all) = read(client("sysop").get(dr.url("/mgmt")).send().unwrap());
    assert_eq!(all["count"], 2);

    // Validation before anything else.
    let origin = Some("/deviceregistry/onboarding/name");
    assert_eq!(
        post(
            &c,
            &dr.url("/onboarding/name"),
            &device("m", "aa:bb:cc:dd:ee:51")
        ),
        (
            400,
            error(
                "Certificate creation request is null.",
                400,
                "BAD_PAYLOAD",
                origin
            )
        )
    );
    assert_eq!(
        post(
            &c,
            &dr.url("/onboarding/name"),
            &json!({"certificateCreationRequest": {"commonName": "m"}})
        ),
        (400, error("Device is null.", 400, "BAD_PAYLOAD", origin))
    );
    let mut body = device("m", "aa:bb:cc:dd:ee:51");
    body["certificateCreationRequest"] = json!({"commonName": " "});
    assert_eq!(
        post(&c, &dr.url("/onboarding/name"), &body),
        (
            400,
            error(" Common name must have value ", 400, "BAD_PAYLOAD", origin)
        )
    );
    body["certificateCreationRequest"] = json!({"commonName": "m", "keyPairDTO": {"keyFormat": "PKCS#8", "publicKey": "AAAA", "privateKey": "%%%"}});
    assert_eq!(
        post(&c, &dr.url("/onboarding/name"), &body),
        (
            401,
            error(
                "Private key decoding failed due to wrong key format",
                401,
                "AUTH",
                origin
            )
        )
    );
    let origin = Some("/deviceregistry/onboarding/csr");
    assert_eq!(
        post(
            &c,
            &dr.url("/onboarding/csr"),
            &device("m", "aa:bb:cc:dd:ee:51")
        ),
        (
            400,
            error(
                "Certificate signing request is null.",
                400,
                "BAD_PAYLOAD",
                origin
            )
        )
    );
    let mut body = device("m", "aa:bb:cc:dd:ee:51");
    body["certificateSigningRequest"] = json!("bm90IGEgY3Ny");
    assert_eq!(
        post(&c, &dr.url("/onboarding/csr"), &body).1["errorMessage"],
        "Failed to parse request as a PKCS10 CSR"
    );

    // Events: REGISTER-DEVICE for each onboarded device, UNREGISTER-DEVICE when removed.
    assert_eq!(
        read(
            c.delete(dr.url("/unregister?device_name=meter-1&mac_address=aa:bb:cc:dd:ee:41"))
                .send()
                .unwrap()
        )
        .0,
        200
    );
    testing::wait_for("three events", Duration::from_secs(10), || {
        events.lock().unwrap().len() >= 3
    });
    let got = events.lock().unwrap().clone();
    let mut seen: Vec<(String, String)> = got
        .iter()
        .map(|e| {
            let payload: Value = serde_json::from_str(e["payload"].as_str().unwrap()).unwrap();
            (
                e["eventType"].as_str().unwrap().to_owned(),
                payload["device"]["deviceName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("REGISTER-DEVICE".into(), "meter-1".into()),
            ("REGISTER-DEVICE".into(), "meter-2".into()),
            ("UNREGISTER-DEVICE".into(), "meter-1".into()),
        ]
    );
    assert_eq!(got[0]["source"]["systemName"], "deviceregistry");
    assert_eq!(got[0]["metaData"], Value::Null);
}
