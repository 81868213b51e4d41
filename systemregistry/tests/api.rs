//! The System Registry over mutual TLS on MariaDB, next to a Service Registry (where it
//! registers its services) and a Certificate Authority (which signs onboarded systems), with
//! real certificates.

#![allow(clippy::unwrap_used)]

use common::identity::CoreSystem;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};
use std::time::Duration;
use testing::backbone::{self, Backbone};
use testing::{client, error, free_port, read, RunningServer, StartFuture, TestDb};

struct Registry {
    port: u16,
    backbone: Backbone,
    _syr: RunningServer,
    db: TestDb,
}

impl Registry {
    fn start() -> Self {
        Self::with("")
    }

    fn with(extra: &str) -> Self {
        let db = TestDb::new();
        let backbone = Backbone::start(&db);
        let port = free_port();
        let s = systemregistry::Settings::from_core(backbone::core(
            CoreSystem::SystemRegistry,
            backbone::properties("systemregistry", &db, port, backbone.sr, extra),
        ))
        .unwrap();
        let syr = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                systemregistry::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        });
        Self {
            port,
            backbone,
            _syr: syr,
            db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/systemregistry{path}", self.port)
    }
}

fn post(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.post(url).json(body).send().unwrap())
}

fn send(rb: RequestBuilder, body: &Value) -> (u16, Value) {
    read(rb.json(body).send().unwrap())
}

fn entry(system: &str, port: u16, device: &str, mac: &str) -> Value {
    json!({"system": {"systemName": system, "address": "10.0.0.7", "port": port, "authenticationInfo": "key"},
           "provider": {"deviceName": device, "address": "10.0.0.7", "macAddress": mac}})
}

#[test]
fn register_query_unregister() {
    let syr = Registry::start();
    let c = client("client");
    let mut body = entry(" Thermometer ", 8080, "Gateway-7", "AA:BB:CC:DD:EE:07");
    body["system"]["metadata"] = json!({"unit": "celsius"});
    body["metadata"] = json!({"site": "hall-2"});
    body["version"] = json!(2);
    body["endOfValidity"] = json!("2030-01-01T00:00:00Z");
    let (status, got) = post(&c, &syr.url("/register"), &body);
    assert_eq!(status, 201, "{got}");
    // The core systems have rows in `system_` too (the Service Registry's table).
    let system_id = got["system"]["id"].as_i64().unwrap();
    assert_eq!(
        testing::scrub(got),
        json!({"id": 1,
               "system": {"id": system_id, "systemName": "thermometer", "address": "10.0.0.7", "port": 8080,
                          "authenticationInfo": "key", "metadata": {"unit": "celsius"}, "createdAt": "<ts>", "updatedAt": "<ts>"},
               "provider": {"id": 1, "deviceName": "gateway-7", "address": "10.0.0.7", "macAddress": "aa:bb:cc:dd:ee:07",
                            "createdAt": "<ts>", "updatedAt": "<ts>"},
               "endOfValidity": "2030-01-01T00:00:00Z", "metadata": {"site": "hall-2"}, "version": 2,
               "createdAt": "<ts>", "updatedAt": "<ts>"})
    );
    assert_eq!(
        post(&c, &syr.url("/register"), &entry("thermometer", 8080, "gateway-7", "aa:bb:cc:dd:ee:07")),
        (400, error("System Registry entry with provider: (gateway-7, aa:bb:cc:dd:ee:07) and system : thermometer already exists.",
                    400, "BAD_PAYLOAD", Some("/systemregistry/register")))
    );
    // The same system on a second device; a second system on the first device.
    assert_eq!(
        post(
            &c,
            &syr.url("/register"),
            &entry("thermometer", 8080, "gateway-8", "aa:bb:cc:dd:ee:08")
        )
        .0,
        201
    );
    let mut hygro = entry("thermometer", 9090, "gateway-7", "aa:bb:cc:dd:ee:07");
    hygro["system"]["address"] = json!("::1");
    hygro["version"] = json!(3);
    assert_eq!(post(&c, &syr.url("/register"), &hygro).0, 201);

    // Reserved names: the sysop only (Java let anyone register them here).
    for name in [
        "serviceregistry",
        "Service-Registry",
        "ORCHESTRATOR",
        "Sys-Op",
    ] {
        assert_eq!(
            post(
                &c,
                &syr.url("/register"),
                &entry(name, 8080, "gateway-9", "aa:bb:cc:dd:ee:09")
            ),
            (
                400,
                error(
                    &format!("System name '{name}' is a reserved arrowhead core system name."),
                    400,
                    "BAD_PAYLOAD",
                    Some("/systemregistry/register")
                )
            ),
            "{name}"
        );
    }
    assert_eq!(
        post(
            &client("sysop"),
            &syr.url("/register"),
            &entry("orchestrator", 8441, "gateway-9", "aa:bb:cc:dd:ee:09")
        )
        .0,
        201
    );

    // Query: the name is required; device, address type, version (Java's was inverted) and
    // metadata filter, unfilteredHits counts the named system's entries.
    let q = |form: Value| post(&c, &syr.url("/query"), &form);
    let hits = |got: &Value| {
        (
            got["unfilteredHits"].as_i64(),
            got["systemQueryData"].as_array().map(Vec::len),
        )
    };
    let (status, got) = q(json!({"systemNameRequirements": "THERMOMETER"}));
    assert_eq!((status, hits(&got)), (200, (Some(3), Some(3))));
    assert_eq!(
        hits(&q(json!({"systemNameRequirements": "thermometer", "versionRequirement": 2})).1),
        (Some(3), Some(1))
    );
    assert_eq!(
        hits(&q(json!({"systemNameRequirements": "thermometer", "minVersionRequirement": 2})).1),
        (Some(3), Some(2))
    );
    assert_eq!(hits(&q(json!({"systemNameRequirements": "thermometer", "deviceNameRequirements": "gateway-8"})).1), (Some(3), Some(1)));
    assert_eq!(hits(&q(json!({"systemNameRequirements": "thermometer", "addressTypeRequirements": ["IPV6"]})).1), (Some(3), Some(1)));
    assert_eq!(hits(&q(json!({"systemNameRequirements": "thermometer", "metadataRequirements": {"site": "hall-2"}})).1), (Some(3), Some(1)));
    assert_eq!(
        hits(&q(json!({"systemNameRequirements": "nothing"})).1),
        (Some(0), Some(0))
    );
    assert_eq!(
        q(json!({})),
        (
            400,
            error(
                "System definition requirement is null or blank",
                400,
                "BAD_PAYLOAD",
                Some("/systemregistry/query")
            )
        )
    );
    assert_eq!(
        q(json!({"systemNameRequirements": "x", "addressTypeRequirements": ["IPV5"]})).1
            ["errorMessage"],
        "Unknown address type requirement: 'IPV5'."
    );

    // Systems by id and by body.
    let (status, got) = read(
        c.get(syr.url(&format!("/query/system/{system_id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, got["systemName"].as_str()),
        (200, Some("thermometer"))
    );
    let missing = syr.url("/query/system/99");
    assert_eq!(
        read(c.get(&missing).send().unwrap()),
        (
            400,
            error(
                "System with id 99 not found.",
                400,
                "BAD_PAYLOAD",
                Some(&missing)
            )
        )
    );
    let (status, got) = post(
        &c,
        &syr.url("/query/system"),
        &json!({"systemName": "Thermometer", "address": "10.0.0.7", "port": 8080}),
    );
    assert_eq!((status, got["id"].as_i64()), (200, Some(system_id)));
    assert_eq!(
        post(&c, &syr.url("/query/system"), &json!({"systemName": "thermometer", "address": "10.0.0.7", "port": 1})),
        (400, error("System entry with name 'thermometer', address '10.0.0.7' and port '1' does not exist", 400, "BAD_PAYLOAD", Some("/systemregistry/query/system")))
    );

    // Unregister removes every entry of the system (two devices), matching the stored names.
    let un = |query: &str| {
        read(
            c.delete(syr.url(&format!("/unregister?{query}")))
                .send()
                .unwrap(),
        )
    };
    assert_eq!(
        un("system_name=Thermometer&address=10.0.0.7&port=8080").0,
        200
    );
    let origin = Some("/systemregistry/unregister");
    assert_eq!(
        un("system_name=thermometer&address=10.0.0.7&port=8080"),
        (400, error("System Registry entry for System with name 'thermometer', address '10.0.0.7' and port '8080' does not exist", 400, "BAD_PAYLOAD", origin))
    );
    assert_eq!(
        un("system_name=nothing&address=10.0.0.7&port=8080"),
        (400, error("System entry with name 'nothing', address '10.0.0.7' and port '8080' does not exist", 400, "BAD_PAYLOAD", origin))
    );
    assert_eq!(
        un("address=10.0.0.7&port=8080").1,
        error("Name of the system is blank", 400, "BAD_PAYLOAD", origin)
    );
    assert_eq!(
        un("system_name=x&port=8080").1,
        error("Address of the system is blank", 400, "BAD_PAYLOAD", origin)
    );
    assert_eq!(
        un("system_name=x&address=a&port=70000").1,
        error(
            "Port must be between 0 and 65535.",
            400,
            "BAD_PAYLOAD",
            origin
        )
    );
    assert_eq!(
        hits(&q(json!({"systemNameRequirements": "thermometer"})).1),
        (Some(1), Some(1))
    );
}

#[test]
fn pinging_keeps_the_reachable_systems() {
    let syr = Registry::with("ping_timeout=500\n");
    let c = client("client");
    let mut up = entry("pinged", syr.backbone.sr, "gateway-1", "aa:bb:cc:dd:ee:01");
    up["system"]["address"] = json!("127.0.0.1");
    let mut down = entry(
        "pinged",
        testing::closed_port(),
        "gateway-2",
        "aa:bb:cc:dd:ee:02",
    );
    down["system"]["address"] = json!("127.0.0.1");
    assert_eq!(post(&c, &syr.url("/register"), &up).0, 201);
    assert_eq!(post(&c, &syr.url("/register"), &down).0, 201);
    let (_, got) = post(
        &c,
        &syr.url("/query"),
        &json!({"systemNameRequirements": "pinged", "pingProviders": true}),
    );
    assert_eq!(got["unfilteredHits"], 2);
    assert_eq!(got["systemQueryData"].as_array().map(Vec::len), Some(1));
    assert_eq!(got["systemQueryData"][0]["system"]["port"], syr.backbone.sr);
}

#[test]
fn validation_and_access() {
    let syr = Registry::start();
    let c = client("client");
    let e = |m: &str| error(m, 400, "BAD_PAYLOAD", Some("/systemregistry/register"));
    let device =
        json!({"deviceName": "d", "address": "10.0.0.1", "macAddress": "aa:bb:cc:dd:ee:ff"});
    let with = |system: Value| json!({"system": system, "provider": device});
    let cases = [
        (json!({"provider": device}), "System is null."),
        (with(json!({"address": "10.0.0.1", "port": 1})), " System name must have value "),
        (with(json!({"systemName": "a_b", "address": "10.0.0.1", "port": 1})),
         "System name has invalid format. System names only contain letters (english alphabet), numbers and dash (-), and have to start with a letter (also cannot end with dash)."),
        (with(json!({"systemName": "s", "port": 1})), " System address must have value "),
        (with(json!({"systemName": "s", "address": "10.0.0.1"})), " System port must have value "),
        (with(json!({"systemName": "s", "address": "10.0.0.1", "port": 0})), "Port must be between 0 and 65535."),
        (with(json!({"systemName": "s", "address": "224.0.0.1", "port": 1})), "IPv4 network address '224.0.0.1' is a multicast address."),
        (json!({"system": {"systemName": "s", "address": "10.0.0.1", "port": 1}}), "Device is null."),
        (json!({"system": {"systemName": "s", "address": "10.0.0.1", "port": 1}, "provider": {"address": "a", "macAddress": "aa:bb:cc:dd:ee:ff"}}),
         " Device name must have value "),
        (json!({"system": {"systemName": "s", "address": "10.0.0.1", "port": 1}, "provider": {"deviceName": "d", "address": "a", "macAddress": "aa:bb"}}),
         "Unrecognized format of MAC Address"),
        (json!({"system": {"systemName": "s", "address": "10.0.0.1", "port": 1}, "provider": device, "endOfValidity": "soon"}),
         "End of validity is specified in the wrong format. Please provide UTC time using ISO-8601 format."),
        (json!({"system": {"systemName": "s", "address": "10.0.0.1", "port": 1, "authenticationInfo": "k".repeat(2048)}, "provider": device}),
         "Authentication info is longer than 2047 characters."),
    ];
    for (body, message) in cases {
        assert_eq!(
            post(&c, &syr.url("/register"), &body),
            (400, e(message)),
            "{body}"
        );
    }
    // Management: the sysop only, hostile certificates refused.
    assert_eq!(read(c.get(syr.url("/mgmt")).send().unwrap()).0, 401);
    assert_eq!(read(c.get(syr.url("/mgmt/systems")).send().unwrap()).0, 401);
    assert_eq!(read(c.get(syr.url("/mgmt/devices")).send().unwrap()).0, 401);
    testing::assert_hostile_refused(&syr.url("/mgmt"));
    assert_eq!(
        read(c.get(syr.url("/echo")).send().unwrap()),
        (200, json!("Got it!"))
    );
    testing::check_mgmt_logs(&syr.db, &syr.url(""), "systemregistry");
}

#[test]
fn management() {
    let syr = Registry::start();
    let s = client("sysop");
    let (_, first) = post(
        &s,
        &syr.url("/register"),
        &entry("cam", 8080, "box-1", "aa:bb:cc:dd:ee:01"),
    );
    let (_, second) = post(
        &s,
        &syr.url("/register"),
        &entry("cam", 8081, "box-2", "aa:bb:cc:dd:ee:02"),
    );
    let (id, id2) = (
        first["id"].as_i64().unwrap(),
        second["id"].as_i64().unwrap(),
    );
    let url = syr.url(&format!("/mgmt/{id}"));

    let (status, list) = read(
        s.get(syr.url("/mgmt?page=0&item_per_page=1&direction=DESC"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (
            status,
            list["count"].as_i64(),
            list["data"][0]["id"].as_i64()
        ),
        (200, Some(2), Some(id2))
    );
    let (_, by_name) = read(s.get(syr.url("/mgmt/systemname/CAM")).send().unwrap());
    assert_eq!(by_name["count"], 2);

    let (_, systems) = read(s.get(syr.url("/mgmt/systems")).send().unwrap());
    let system_count = systems["count"].as_i64().unwrap();
    // PUT: reserved names refused here, duplicates refused, a new pair taken over.
    assert_eq!(
        send(
            s.put(&url),
            &entry("orchestrator", 1, "box-1", "aa:bb:cc:dd:ee:01")
        )
        .1["errorMessage"],
        "System name 'orchestrator' is a reserved arrowhead core system name."
    );
    assert_eq!(
        send(s.put(&url), &entry("cam", 8081, "box-2", "aa:bb:cc:dd:ee:02")),
        (400, error("System Registry entry with provider: (box-2, aa:bb:cc:dd:ee:02) and system : cam already exists.", 400, "BAD_PAYLOAD", Some(&url)))
    );
    // The refused PUT created nothing.
    let (_, systems) = read(s.get(syr.url("/mgmt/systems")).send().unwrap());
    assert_eq!(systems["count"].as_i64(), Some(system_count));
    let (status, got) = send(
        s.put(&url),
        &entry("camera", 8082, "box-3", "aa:bb:cc:dd:ee:03"),
    );
    assert_eq!(
        (
            status,
            got["system"]["systemName"].as_str(),
            got["provider"]["deviceName"].as_str(),
            got["version"].as_i64()
        ),
        (200, Some("camera"), Some("box-3"), Some(1))
    );

    // PATCH: what is given changes, in place; a MAC goes into the MAC (Java wrote the name);
    // no system or provider in the patch is fine (Java: 500).
    let (status, got) = send(
        s.patch(&url),
        &json!({"provider": {"macAddress": "AA:BB:CC:DD:EE:33"}}),
    );
    assert_eq!(
        (
            status,
            got["provider"]["deviceName"].as_str(),
            got["provider"]["macAddress"].as_str()
        ),
        (200, Some("box-3"), Some("aa:bb:cc:dd:ee:33")),
        "{got}"
    );
    let (status, got) = send(
        s.patch(&url),
        &json!({"version": 4, "system": {"port": 8083}}),
    );
    assert_eq!(
        (
            status,
            got["version"].as_i64(),
            got["system"]["port"].as_i64(),
            got["system"]["authenticationInfo"].as_str()
        ),
        (200, Some(4), Some(8083), Some("key"))
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
            &json!({"system": {"systemName": "cam", "port": 8081, "address": "10.0.0.7"}})
        ),
        (
            400,
            error(
                "System with name: cam, address: 10.0.0.7, port: 8081 already exists.",
                400,
                "BAD_PAYLOAD",
                Some(&url)
            )
        )
    );
    let missing = syr.url("/mgmt/999");
    assert_eq!(
        send(s.patch(&missing), &json!({"version": 1})),
        (
            400,
            error(
                "System Registry entry with id '999' does not exist",
                400,
                "BAD_PAYLOAD",
                Some(&missing)
            )
        )
    );

    // Systems: create, get (a system, where Java answered a device), PUT, PATCH, delete.
    let systems = syr.url("/mgmt/systems");
    let (status, created) = post(
        &s,
        &systems,
        &json!({"systemName": "Printer", "address": "10.0.0.9", "port": 631}),
    );
    assert_eq!(
        (status, created["systemName"].as_str()),
        (201, Some("printer")),
        "{created}"
    );
    assert_eq!(
        post(
            &s,
            &systems,
            &json!({"systemName": "printer", "address": "10.0.0.9", "port": 631})
        ),
        (
            400,
            error(
                "System with name: printer, address: 10.0.0.9, port: 631 already exists.",
                400,
                "BAD_PAYLOAD",
                Some("/systemregistry/mgmt/systems")
            )
        )
    );
    assert_eq!(
        post(
            &s,
            &systems,
            &json!({"systemName": "Event-Handler", "address": "10.0.0.9", "port": 1})
        )
        .1["errorMessage"],
        "System name 'Event-Handler' is a reserved arrowhead core system name."
    );
    let sid = created["id"].as_i64().unwrap();
    let surl = syr.url(&format!("/mgmt/systems/{sid}"));
    for path in [surl.clone(), syr.url(&format!("/mgmt/system/{sid}"))] {
        let (status, got) = read(s.get(&path).send().unwrap());
        assert_eq!(
            (status, got["systemName"].as_str(), got["port"].as_i64()),
            (200, Some("printer"), Some(631)),
            "{path}"
        );
    }
    let (status, got) = send(
        s.put(&surl),
        &json!({"systemName": "printer", "address": "10.0.0.10", "port": 632}),
    );
    assert_eq!((status, got["address"].as_str()), (200, Some("10.0.0.10")));
    let (status, got) = send(s.patch(&surl), &json!({"metadata": {"color": "yes"}}));
    assert_eq!(
        (status, got["metadata"].clone(), got["port"].as_i64()),
        (200, json!({"color": "yes"}), Some(632))
    );
    assert_eq!(
        send(s.patch(&surl), &json!({})).1["errorMessage"],
        "Patch request is empty."
    );
    let nowhere = syr.url("/mgmt/systems/999");
    assert_eq!(
        send(
            s.put(&nowhere),
            &json!({"systemName": "p", "address": "10.0.0.1", "port": 1})
        ),
        (
            400,
            error(
                "No system with id : 999",
                400,
                "BAD_PAYLOAD",
                Some(&nowhere)
            )
        )
    );
    assert_eq!(read(s.delete(&surl).send().unwrap()).0, 200);
    assert_eq!(
        read(s.get(&surl).send().unwrap()).1["errorMessage"],
        format!("System with id {sid} not found.")
    );

    // Devices through the System Registry's paths.
    let (status, dev) = post(
        &s,
        &syr.url("/mgmt/devices"),
        &json!({"deviceName": "rack", "address": "10.0.0.5", "macAddress": "aa:bb:cc:dd:ee:55"}),
    );
    assert_eq!(status, 201, "{dev}");
    let durl = syr.url(&format!("/mgmt/device/{}", dev["id"]));
    let (status, got) = send(s.patch(&durl), &json!({"address": "10.0.0.6"}));
    assert_eq!(
        (status, got["address"].as_str(), got["macAddress"].as_str()),
        (200, Some("10.0.0.6"), Some("aa:bb:cc:dd:ee:55"))
    );
    let (status, got) = send(
        s.put(&durl),
        &json!({"deviceName": "rack-2", "address": "10.0.0.6", "macAddress": "aa:bb:cc:dd:ee:56"}),
    );
    assert_eq!((status, got["deviceName"].as_str()), (200, Some("rack-2")));
    let (_, devices) = read(
        s.get(syr.url("/mgmt/devices?sort_field=deviceName"))
            .send()
            .unwrap(),
    );
    assert_eq!(devices["count"], 4);
    assert_eq!(read(s.delete(&durl).send().unwrap()).0, 200);

    // Deleting an entry.
    assert_eq!(read(s.delete(&url).send().unwrap()).0, 200);
    assert_eq!(
        read(s.get(&url).send().unwrap()).1["errorMessage"],
        format!("System Registry entry with id '{id}' does not exist")
    );
}

fn certificate(b64: &Value) -> openssl::x509::X509 {
    openssl::x509::X509::from_der(&openssl::base64::decode_block(b64.as_str().unwrap()).unwrap())
        .unwrap()
}

#[test]
fn onboarding_signs_registers_and_announces() {
    let syr = Registry::start();
    let (_eh, events) = syr.backbone.stand_in_event_handler();
    syr.backbone.wait_for_service("ca-sign");
    let c = client("client");
    let cloud = format!("{}.{}.arrowhead.eu", testing::CLOUD, testing::OPERATOR);

    // By name: the certificate is `<commonName>.<cloud>`, typed AH_SYSTEM (Java: AH_DEVICE).
    let mut body = entry("meter", 8080, "box-1", "aa:bb:cc:dd:ee:41");
    body["certificateCreationRequest"] = json!({"commonName": "meter"});
    let (status, got) = post(&c, &syr.url("/onboarding/name"), &body);
    assert_eq!(status, 201, "{got}");
    let cert = &got["certificateResponse"];
    assert_eq!(
        (
            cert["certificateType"].as_str(),
            got["system"]["systemName"].as_str(),
            got["provider"]["deviceName"].as_str()
        ),
        (Some("AH_SYSTEM"), Some("meter"), Some("box-1"))
    );
    let issued = certificate(&cert["certificate"]);
    let cn = issued
        .subject_name()
        .entries_by_nid(openssl::nid::Nid::COMMONNAME)
        .next()
        .unwrap()
        .data()
        .to_string()
        .unwrap();
    assert_eq!(cn, format!("meter.{cloud}"));
    let key = openssl::pkey::PKey::private_key_from_pkcs8(
        &openssl::base64::decode_block(cert["keyPairDTO"]["privateKey"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(issued.public_key().unwrap().public_eq(&key));
    // Issued by the cloud: it verifies against the cloud certificate.
    let cloud_cert = testing::pki_cloud_certificate();
    assert!(issued.verify(&cloud_cert.public_key().unwrap()).unwrap());

    // By CSR: nothing private comes back.
    let (key, csr) = testing::csr_for(&format!("meter-2.{cloud}"));
    let mut body = entry("meter-2", 8080, "box-1", "aa:bb:cc:dd:ee:41");
    body["certificateSigningRequest"] = json!(csr);
    let (status, got) = post(&c, &syr.url("/onboarding/csr"), &body);
    assert_eq!(status, 201, "{got}");
    assert_eq!(
        got["certificateResponse"]["keyPairDTO"]["privateKey"],
        Value::Null
    );
    assert!(certificate(&got["certificateResponse"]["certificate"])
        .public_key()
        .unwrap()
        .public_eq(&key));

    // Registered already: refused before anything is signed.
    let signed = syr.db.count("ca_certificate");
    assert_eq!(
        post(&c, &syr.url("/onboarding/csr"), &body),
        (400, error("System Registry entry with provider: (box-1, aa:bb:cc:dd:ee:41) and system : meter-2 already exists.", 400, "BAD_PAYLOAD", Some("/systemregistry/onboarding/csr")))
    );
    assert_eq!(syr.db.count("ca_certificate"), signed);

    // Reserved system names, and protected certificate names in every spelling.
    let mut body = entry("Orchestrator", 8080, "box-5", "aa:bb:cc:dd:ee:45");
    body["certificateCreationRequest"] = json!({"commonName": "x"});
    assert_eq!(
        post(&c, &syr.url("/onboarding/name"), &body).1["errorMessage"],
        "System name 'Orchestrator' is a reserved arrowhead core system name."
    );
    for name in ["sysop", "SYSOP", "orchestrator", "Event-Handler"] {
        let mut body = entry(
            &format!("s{}", name.len()),
            8080,
            "box-6",
            "aa:bb:cc:dd:ee:46",
        );
        body["certificateCreationRequest"] = json!({"commonName": name});
        assert_eq!(
            post(&c, &syr.url("/onboarding/name"), &body).1["errorMessage"],
            "Only sysop allowed to request a certificate with protected common name",
            "{name}"
        );
    }
    let origin = Some("/systemregistry/onboarding/name");
    assert_eq!(
        post(
            &c,
            &syr.url("/onboarding/name"),
            &entry("m", 1, "box-7", "aa:bb:cc:dd:ee:47")
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
            &syr.url("/onboarding/csr"),
            &entry("m", 1, "box-7", "aa:bb:cc:dd:ee:47")
        ),
        (
            400,
            error(
                "Certificate signing request is null.",
                400,
                "BAD_PAYLOAD",
                Some("/systemregistry/onboarding/csr")
            )
        )
    );

    // Events: REGISTER-SYSTEM per onboarding, UNREGISTER-SYSTEM when removed.
    assert_eq!(
        read(
            c.delete(syr.url("/unregister?system_name=meter&address=10.0.0.7&port=8080"))
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
                payload["system"]["systemName"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("REGISTER-SYSTEM".into(), "meter".into()),
            ("REGISTER-SYSTEM".into(), "meter-2".into()),
            ("UNREGISTER-SYSTEM".into(), "meter".into()),
        ]
    );
    assert_eq!(got[0]["source"]["systemName"], "systemregistry");
}
