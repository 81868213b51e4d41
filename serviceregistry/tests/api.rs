//! Service Registry endpoints over HTTPS with client certificates, on a real MariaDB database:
//! success paths and error cases, asserting status codes and exact JSON bodies.

#![allow(clippy::unwrap_used)]

mod support;

use diesel::connection::SimpleConnection;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use support::TestServer;
use testing::{client, error, read, scrub};

fn get(c: &Client, url: &str) -> (u16, Value) {
    read(c.get(url).send().unwrap())
}
fn post(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.post(url).json(body).send().unwrap())
}
fn put(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.put(url).json(body).send().unwrap())
}
fn patch(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.patch(url).json(body).send().unwrap())
}
fn delete(c: &Client, url: &str) -> (u16, Value) {
    read(c.delete(url).send().unwrap())
}

/// A real public key (base64 DER): what a TOKEN provider's `authenticationInfo` must be.
fn public_key(system: &str) -> String {
    common::tls::Keystore::from_pkcs12_file(&testing::pki().keystore(system), testing::PASSWORD)
        .unwrap()
        .public_key_base64()
        .unwrap()
        .replace('\n', "")
}

fn registration(provider: &str, def: &str) -> Value {
    json!({
        "serviceDefinition": def,
        "providerSystem": {"systemName": provider, "address": "127.0.0.1", "port": 9001, "authenticationInfo": "cHVibGljLWtleQ=="},
        "serviceUri": "/temperature",
        "secure": "CERTIFICATE",
        "interfaces": ["HTTP-SECURE-JSON"]
    })
}

/// Ids in a fresh database: the registry's own 5 services take ids 1–5, its system id 1, the
/// seeded interfaces ids 1–2.
#[test]
fn register_returns_the_java_entry() {
    let sr = TestServer::secure();
    let key = public_key("provider");
    let body = json!({
        "serviceDefinition": " Temperature ",
        "providerSystem": {"systemName": "Provider", "address": " 127.0.0.1 ", "port": 9001, "authenticationInfo": key,
                           "metadata": {"site": "plant-1"}},
        "serviceUri": "/temperature",
        "endOfValidity": "2030-01-01T00:00:00Z",
        "secure": "token",
        "metadata": {" unit ": " celsius ", "dropped": null},
        "version": 2,
        "interfaces": ["http-secure-json", "HTTP-SECURE-XML"]
    });
    let (status, got) = post(&client("provider"), &sr.url("/register"), &body);
    assert_eq!(status, 201, "{got}");
    assert_eq!(
        scrub(got),
        json!({
            "id": 6,
            "serviceDefinition": {"id": 6, "serviceDefinition": "temperature", "createdAt": "<ts>", "updatedAt": "<ts>"},
            "provider": {"id": 2, "systemName": "provider", "address": "127.0.0.1", "port": 9001, "authenticationInfo": key,
                         "metadata": {"site": "plant-1"}, "createdAt": "<ts>", "updatedAt": "<ts>"},
            "serviceUri": "/temperature",
            "endOfValidity": "2030-01-01T00:00:00Z",
            "secure": "TOKEN",
            "metadata": {"unit": "celsius"},
            "version": 2,
            "interfaces": [
                {"id": 1, "interfaceName": "HTTP-SECURE-JSON", "createdAt": "<ts>", "updatedAt": "<ts>"},
                {"id": 3, "interfaceName": "HTTP-SECURE-XML", "createdAt": "<ts>", "updatedAt": "<ts>"}
            ],
            "createdAt": "<ts>",
            "updatedAt": "<ts>"
        })
    );
    // Stored in the Java metadata format, readable by the Java systems.
    use diesel::prelude::*;
    let mut conn = sr.db.connect();
    let stored: Option<String> =
        diesel::sql_query("SELECT metadata FROM service_registry WHERE id = 6")
            .load::<MetaRow>(&mut conn)
            .unwrap()
            .pop()
            .unwrap()
            .metadata;
    assert_eq!(stored.as_deref(), Some("unit=celsius"));
}

#[derive(diesel::QueryableByName)]
struct MetaRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    metadata: Option<String>,
}

#[test]
fn register_rejects_bad_input_with_java_errors() {
    let sr = TestServer::secure();
    let c = client("provider");
    let origin = Some("/serviceregistry/register");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = registration("provider", "temperature");
        f(&mut b);
        b
    };
    let cases: Vec<(Value, Value)> = vec![
        (with(&|b| b["serviceDefinition"] = json!("  ")), error("Service definition is null or blank", 400, "BAD_PAYLOAD", origin)),
        (
            with(&|b| b["serviceDefinition"] = json!("temp_sensor")),
            error(
                "Service definition 'temp_sensor' has invalid format. Service definition only contains maximum 63 character of letters (english alphabet), numbers and dash (-), and has to start with a letter (also cannot end with dash).",
                400,
                "BAD_PAYLOAD",
                origin,
            ),
        ),
        (with(&|b| b["providerSystem"] = Value::Null), error("Provider system is null.", 400, "BAD_PAYLOAD", origin)),
        (with(&|b| b["providerSystem"]["port"] = Value::Null), error("Port is null.", 400, "BAD_PAYLOAD", origin)),
        (with(&|b| b["providerSystem"]["port"] = json!(70000)), error("Port must be between 0 and 65535.", 400, "BAD_PAYLOAD", origin)),
        (with(&|b| b["providerSystem"]["address"] = json!("")), error("System address is null or blank.", 400, "BAD_PAYLOAD", origin)),
        (
            with(&|b| b["providerSystem"]["address"] = json!("0.0.0.0")),
            error("IPv4 network address '0.0.0.0' is a placeholder address (0.0.0.0).", 400, "BAD_PAYLOAD", origin),
        ),
        (
            with(&|b| b["endOfValidity"] = json!("next year")),
            error("End of validity is specified in the wrong format. Please provide UTC time using ISO-8601 format.", 400, "BAD_PAYLOAD", origin),
        ),
        (with(&|b| b["secure"] = json!("SSL")), error("Security type is not valid: SSL", 400, "BAD_PAYLOAD", origin)),
        (
            with(&|b| b["providerSystem"]["authenticationInfo"] = Value::Null),
            error("Security type is in conflict with the availability of the authentication info.", 400, "BAD_PAYLOAD", origin),
        ),
        (with(&|b| b["interfaces"] = json!([])), error("Interfaces list is null or empty.", 400, "BAD_PAYLOAD", origin)),
        (
            with(&|b| b["interfaces"] = json!(["HTTP-JSON"])),
            error("Specified interface name is not valid: HTTP-JSON", 400, "BAD_PAYLOAD", origin),
        ),
    ];
    for (body, expected) in cases {
        let (status, got) = post(&c, &sr.url("/register"), &body);
        assert_eq!((status, &got), (400, &expected), "{body}");
    }
    // Values longer than their columns are client mistakes, not database failures.
    let (status, got) = post(
        &c,
        &sr.url("/register"),
        &with(&|b| b["serviceUri"] = json!("/".repeat(256))),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Service URI is longer than 255 characters.",
                400,
                "BAD_PAYLOAD",
                origin
            )
        )
    );
    let (status, got) = post(
        &c,
        &sr.url("/register"),
        &with(&|b| b["providerSystem"]["authenticationInfo"] = json!("A".repeat(2048))),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Authentication info is longer than 2047 characters.",
                400,
                "BAD_PAYLOAD",
                origin
            )
        )
    );
    let long_interface = format!("HTTP-SECURE-{}", "J".repeat(250));
    let (status, got) = post(
        &c,
        &sr.url("/register"),
        &with(&|b| b["interfaces"] = json!([long_interface])),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Interface name is longer than 255 characters.",
                400,
                "BAD_PAYLOAD",
                origin
            )
        )
    );
    // System name format is checked after the certificate match, so use a matching cert name.
    let (status, got) = post(
        &c,
        &sr.url("/register"),
        &with(&|b| b["providerSystem"]["systemName"] = json!("")),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error("System name is null or blank.", 400, "BAD_PAYLOAD", origin)
        )
    );
    // Malformed JSON and wrong types are Arrowhead errors too.
    let resp = c
        .post(sr.url("/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    let (status, got) = read(resp);
    assert_eq!(status, 400);
    assert_eq!(got["exceptionType"], "BAD_PAYLOAD");
    assert_eq!(got["origin"], "/serviceregistry/register");
    let (status, got) = post(
        &c,
        &sr.url("/register"),
        &with(&|b| b["providerSystem"]["port"] = json!("abc")),
    );
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("BAD_PAYLOAD"))
    );
}

#[test]
fn duplicate_registration_is_rejected_and_provider_data_overwritten() {
    let sr = TestServer::secure();
    let c = client("provider");
    assert_eq!(
        post(
            &c,
            &sr.url("/register"),
            &registration("provider", "temperature")
        )
        .0,
        201
    );
    let (status, got) = post(
        &c,
        &sr.url("/register"),
        &registration("provider", "temperature"),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Service Registry entry with provider: (provider, 127.0.0.1:9001), service definition: temperature and service URI: /temperature already exists.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    // Same provider, another service: the stored authentication info is overwritten.
    let mut other = registration("provider", "humidity");
    other["providerSystem"]["authenticationInfo"] = json!("bmV3LWtleQ==");
    let (status, got) = post(&c, &sr.url("/register"), &other);
    assert_eq!(status, 201);
    assert_eq!(got["provider"]["id"], 2);
    assert_eq!(got["provider"]["authenticationInfo"], "bmV3LWtleQ==");
}

#[test]
fn register_access_rules() {
    let sr = TestServer::secure();
    let (status, got) = post(
        &client("provider"),
        &sr.url("/register"),
        &registration("consumer", "temperature"),
    );
    let url = sr.url("/register");
    assert_eq!(
        (status, got),
        (401, error("Provider system name (consumer) and certificate common name (provider) do not match!", 401, "AUTH", Some(&url)))
    );
    let (status, got) = post(
        &client("provider"),
        &sr.url("/register"),
        &registration("provider", "orchestration-service"),
    );
    assert_eq!(
        (status, got),
        (401, error("Service definition (orchestration-service) is a reserved arrowhead core service definition.", 401, "AUTH", Some(&url)))
    );
    // A core system may register its own core services.
    let (status, _) = post(
        &client("orchestrator"),
        &sr.url("/register"),
        &registration("orchestrator", "orchestration-service"),
    );
    assert_eq!(status, 201);
}

#[test]
fn unregister_removes_only_the_callers_services() {
    let sr = TestServer::secure();
    let c = client("provider");
    assert_eq!(
        post(
            &c,
            &sr.url("/register"),
            &registration("provider", "temperature")
        )
        .0,
        201
    );
    let q = "service_definition=Temperature&system_name=provider&address=127.0.0.1&port=9001&service_uri=/temperature";
    let (status, got) = delete(&client("consumer"), &sr.url(&format!("/unregister?{q}")));
    let url = sr.url("/unregister");
    assert_eq!(
        (status, got),
        (401, error("Application system name (provider) and certificate common name (consumer) do not match!", 401, "AUTH", Some(&url)))
    );
    assert_eq!(
        delete(&c, &sr.url(&format!("/unregister?{q}"))),
        (200, json!(""))
    );
    let (status, got) = delete(&c, &sr.url(&format!("/unregister?{q}")));
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "No Service Registry entry with provider: (provider, 127.0.0.1:9001), service definition: temperature and service URI: /temperature exists.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    let (status, got) = delete(
        &c,
        &sr.url("/unregister?service_definition=x&system_name=provider&port=1&service_uri=/"),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Network address is null or blank.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/unregister")
            )
        )
    );
    let (status, got) = delete(&c, &sr.url("/unregister?system_name=provider"));
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("BAD_PAYLOAD"))
    );
    let (status, got) = delete(&c, &sr.url("/unregister?service_definition=nothing&system_name=provider&address=127.0.0.1&port=9001&service_uri=/"));
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "No service exists with definition nothing",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
}

#[test]
fn query_filters_and_counts_like_java() {
    let sr = TestServer::secure();
    let p = client("provider");
    let mut a = registration("provider", "temperature");
    a["metadata"] = json!({"unit": "celsius"});
    a["interfaces"] = json!(["HTTP-SECURE-JSON", "HTTP-SECURE-XML"]);
    assert_eq!(post(&p, &sr.url("/register"), &a).0, 201);
    let mut b = registration("provider", "temperature");
    b["serviceUri"] = json!("/v2");
    b["version"] = json!(2);
    b["secure"] = json!("TOKEN");
    // Not a public key: refused at registration, naming the field.
    let (status, got) = post(&p, &sr.url("/register"), &b);
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("BAD_PAYLOAD")),
        "{got}"
    );
    assert!(
        got["errorMessage"]
            .as_str()
            .unwrap()
            .contains("authenticationInfo"),
        "{got}"
    );
    b["providerSystem"]["authenticationInfo"] = json!(public_key("provider"));
    assert_eq!(post(&p, &sr.url("/register"), &b).0, 201);
    let orch = client("orchestrator");
    let query = |form: Value| post(&orch, &sr.url("/query"), &form);

    let (status, got) = query(json!({"serviceDefinitionRequirement": "TEMPERATURE"}));
    assert_eq!(status, 200);
    assert_eq!(got["unfilteredHits"], 2);
    assert_eq!(got["serviceQueryData"].as_array().unwrap().len(), 2);

    let (_, got) = query(
        json!({"serviceDefinitionRequirement": "temperature", "interfaceRequirements": ["http-secure-xml"]}),
    );
    assert_eq!(got["unfilteredHits"], 2);
    let data = got["serviceQueryData"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(
        data[0]["interfaces"].as_array().unwrap().len(),
        1,
        "non-matching interfaces are removed"
    );
    assert_eq!(data[0]["interfaces"][0]["interfaceName"], "HTTP-SECURE-XML");

    let (_, got) = query(
        json!({"serviceDefinitionRequirement": "temperature", "securityRequirements": ["TOKEN"]}),
    );
    assert_eq!(got["serviceQueryData"][0]["serviceUri"], "/v2");
    let (_, got) =
        query(json!({"serviceDefinitionRequirement": "temperature", "minVersionRequirement": 2}));
    assert_eq!(got["serviceQueryData"].as_array().unwrap().len(), 1);
    let (_, got) =
        query(json!({"serviceDefinitionRequirement": "temperature", "versionRequirement": 1}));
    assert_eq!(got["serviceQueryData"][0]["serviceUri"], "/temperature");
    let (_, got) = query(
        json!({"serviceDefinitionRequirement": "temperature", "metadataRequirements": {"unit": "celsius"}}),
    );
    assert_eq!(got["serviceQueryData"].as_array().unwrap().len(), 1);
    let (_, got) = query(
        json!({"serviceDefinitionRequirement": "temperature", "metadataRequirements": {"unit": "Celsius"}}),
    );
    assert_eq!(got["serviceQueryData"], json!([]));
    let (_, got) = query(
        json!({"serviceDefinitionRequirement": "temperature", "providerAddressTypeRequirements": ["IPV6"]}),
    );
    assert_eq!(
        (
            got["serviceQueryData"].as_array().unwrap().len(),
            got["unfilteredHits"].as_i64()
        ),
        (0, Some(2))
    );
    let (_, got) = query(
        json!({"serviceDefinitionRequirement": "temperature", "providerAddressTypeRequirements": ["IPV4"]}),
    );
    assert_eq!(got["serviceQueryData"].as_array().unwrap().len(), 2);
    assert_eq!(
        query(json!({"serviceDefinitionRequirement": "unknown"})),
        (200, json!({"serviceQueryData": [], "unfilteredHits": 0}))
    );
    assert_eq!(
        query(json!({"interfaceRequirements": ["HTTP-SECURE-JSON"]})),
        (
            400,
            error(
                "Service definition requirement is null or blank",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/query")
            )
        )
    );
}

#[test]
fn applications_may_query_public_core_services_only() {
    let sr = TestServer::secure();
    let c = client("consumer");
    let url = sr.url("/query");
    let (status, got) = post(
        &c,
        &url,
        &json!({"serviceDefinitionRequirement": "temperature"}),
    );
    assert_eq!(
        (status, got),
        (
            401,
            error(
                "Only public core system services are allowed to query directly. Requested service (temperature) is not!",
                401,
                "AUTH",
                Some(&url)
            )
        )
    );
    let (status, got) = post(
        &c,
        &url,
        &json!({"serviceDefinitionRequirement": "orchestration-service"}),
    );
    assert_eq!(
        (status, got),
        (200, json!({"serviceQueryData": [], "unfilteredHits": 0}))
    );
    // The registry's own services are registered at startup.
    let (status, got) = post(
        &client("orchestrator"),
        &url,
        &json!({"serviceDefinitionRequirement": "service-register"}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        got["serviceQueryData"][0]["provider"]["systemName"],
        "serviceregistry"
    );
    assert_eq!(
        got["serviceQueryData"][0]["serviceUri"],
        "/serviceregistry/register"
    );
    assert_eq!(got["serviceQueryData"][0]["secure"], "CERTIFICATE");
    assert_eq!(
        got["serviceQueryData"][0]["interfaces"][0]["interfaceName"],
        "HTTP-SECURE-JSON"
    );
}

#[test]
fn ping_providers_keeps_reachable_ones() {
    let sr = TestServer::secure();
    let p = client("provider");
    let mut up = registration("provider", "temperature");
    up["providerSystem"]["port"] = json!(sr.port);
    assert_eq!(post(&p, &sr.url("/register"), &up).0, 201);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut down = registration("provider", "temperature");
    down["providerSystem"]["port"] = json!(closed);
    assert_eq!(post(&p, &sr.url("/register"), &down).0, 201);
    let (_, got) = post(
        &client("orchestrator"),
        &sr.url("/query"),
        &json!({"serviceDefinitionRequirement": "temperature", "pingProviders": true}),
    );
    assert_eq!(got["unfilteredHits"], 2);
    let data = got["serviceQueryData"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["provider"]["port"], sr.port);
}

#[test]
fn private_endpoints() {
    let sr = TestServer::secure();
    assert_eq!(
        post(
            &client("provider"),
            &sr.url("/register"),
            &registration("provider", "temperature")
        )
        .0,
        201
    );
    let orch = client("orchestrator");
    let chor = client("choreographer");

    let (status, got) = post(
        &orch,
        &sr.url("/query/multi"),
        &json!({"forms": [{"serviceDefinitionRequirement": "temperature"}, {"serviceDefinitionRequirement": "x"}]}),
    );
    assert_eq!(status, 200);
    assert_eq!(got["results"][0]["unfilteredHits"], 1);
    assert_eq!(
        got["results"][1],
        json!({"serviceQueryData": [], "unfilteredHits": 0})
    );
    assert_eq!(
        post(&orch, &sr.url("/query/multi"), &json!({"forms": []})),
        (
            400,
            error(
                "Form list is null or empty.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/query/multi")
            )
        )
    );

    let (status, got) = get(&orch, &sr.url("/query/system/2"));
    assert_eq!(status, 200);
    assert_eq!(
        scrub(got),
        json!({"id": 2, "systemName": "provider", "address": "127.0.0.1", "port": 9001, "authenticationInfo": "cHVibGljLWtleQ==", "createdAt": "<ts>", "updatedAt": "<ts>"})
    );
    assert_eq!(
        get(&orch, &sr.url("/query/system/99")),
        (
            400,
            error(
                "System with id 99 not found.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    assert_eq!(
        get(&orch, &sr.url("/query/system/0")),
        (
            400,
            error(
                "Id must be greater than 0. ",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/query/system/{id}")
            )
        )
    );

    let (status, got) = post(
        &orch,
        &sr.url("/query/system"),
        &json!({"systemName": "PROVIDER", "address": "127.0.0.1", "port": 9001}),
    );
    assert_eq!((status, got["id"].as_i64()), (200, Some(2)));
    let (status, got) = post(
        &chor,
        &sr.url("/query/system"),
        &json!({"systemName": "nobody", "address": "127.0.0.1", "port": 1}),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "System with name: nobody, address: 127.0.0.1, port: 1 not exists.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let (status, got) = get(&client("gatekeeper"), &sr.url("/query/all"));
    assert_eq!(
        (
            status,
            got["count"].as_i64(),
            got["data"].as_array().unwrap().len()
        ),
        (200, Some(6), 6)
    );

    let (status, got) = get(&chor, &sr.url("/query/provider/2"));
    assert_eq!((status, got["count"].as_i64()), (200, Some(1)));
    assert_eq!(
        got["data"][0]["serviceDefinition"]["serviceDefinition"],
        "temperature"
    );
    assert_eq!(
        get(&chor, &sr.url("/query/provider/77")),
        (
            400,
            error(
                "System with id 77 not found.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let (status, got) = post(
        &chor,
        &sr.url("/query/definition"),
        &json!(["Temperature", "service-register", "nothing"]),
    );
    assert_eq!((status, got["count"].as_i64()), (200, Some(2)));

    let (status, got) = post(
        &client("consumer"),
        &sr.url("/register-system"),
        &json!({"systemName": "consumer", "address": "10.1.2.3", "port": 5000}),
    );
    assert_eq!(status, 201);
    assert_eq!(
        scrub(got),
        json!({"id": 3, "systemName": "consumer", "address": "10.1.2.3", "port": 5000, "createdAt": "<ts>", "updatedAt": "<ts>"})
    );
    let (status, got) = post(
        &client("consumer"),
        &sr.url("/register-system"),
        &json!({"systemName": "consumer", "address": "10.1.2.3", "port": 5000}),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "System with name: consumer, address: 10.1.2.3, port: 5000 already exists.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let (status, got) = get(
        &client("plantdescriptionengine"),
        &sr.url("/pull-systems?page=0&item_per_page=2&direction=DESC"),
    );
    assert_eq!((status, got["count"].as_i64()), (200, Some(3)));
    let names: Vec<&str> = got["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["systemName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["consumer", "provider"]);

    assert_eq!(
        get(&client("authorization"), &sr.url("/pull-config")),
        (
            200,
            json!({"map": {"allow_non_routable_addressing": "true", "allow_self_addressing": "true", "use_strict_service_definition_verifier": "true"}})
        )
    );

    assert_eq!(
        delete(
            &client("consumer"),
            &sr.url("/unregister-system?system_name=consumer&address=10.1.2.3&port=5000")
        ),
        (200, json!(""))
    );
    let (status, got) = delete(
        &client("consumer"),
        &sr.url("/unregister-system?system_name=consumer&address=10.1.2.3&port=5000"),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "System with name: consumer, address: 10.1.2.3, port: 5000 not exists.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
}

#[test]
fn management_of_entries() {
    let sr = TestServer::secure();
    let s = client("sysop");
    let mut body = registration("provider", "temperature");
    body["serviceUri"] = json!("/a");
    let (status, created) = post(&s, &sr.url("/mgmt"), &body);
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    body["serviceUri"] = json!("/b");
    assert_eq!(post(&s, &sr.url("/mgmt"), &body).0, 201);
    let (status, got) = post(
        &s,
        &sr.url("/mgmt"),
        &registration("orchestrator", "temperature"),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "System name 'orchestrator' is a reserved arrowhead core system name.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt")
            )
        )
    );

    let (status, got) = get(
        &s,
        &sr.url("/mgmt?page=0&item_per_page=3&direction=DESC&sort_field=id"),
    );
    assert_eq!((status, got["count"].as_i64()), (200, Some(7)));
    let ids: Vec<i64> = got["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [7, 6, 5]);
    assert_eq!(
        get(&s, &sr.url("/mgmt?page=1")),
        (
            400,
            error(
                "Defined page or size could not be with undefined size or page.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt")
            )
        )
    );
    assert_eq!(
        get(&s, &sr.url(&format!("/mgmt?page={}&item_per_page=2", i64::MAX))),
        (400, error("Page index must be at least 0 and page size at least 1 (and their product a 64-bit number).", 400, "BAD_PAYLOAD", Some("/serviceregistry/mgmt")))
    );
    assert_eq!(
        get(&s, &sr.url("/mgmt?direction=UP")),
        (
            400,
            error(
                "Invalid sort direction flag",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt")
            )
        )
    );
    assert_eq!(
        get(&s, &sr.url("/mgmt?sort_field=name")),
        (
            400,
            error(
                "Sortable field with reference 'name' is not available",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt")
            )
        )
    );

    let (status, got) = get(&s, &sr.url(&format!("/mgmt/{id}")));
    assert_eq!((status, scrub(got)), (200, scrub(created.clone())));
    assert_eq!(
        get(&s, &sr.url("/mgmt/999")),
        (
            400,
            error(
                "Service Registry entry with id '999' does not exist",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let mut replacement = registration("provider", "humidity");
    replacement["interfaces"] = json!(["HTTP-SECURE-XML"]);
    replacement["secure"] = json!("NOT_SECURE");
    let (status, got) = put(&s, &sr.url(&format!("/mgmt/{id}")), &replacement);
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["serviceDefinition"]["serviceDefinition"], "humidity");
    assert_eq!(got["secure"], "NOT_SECURE");
    assert_eq!(got["interfaces"][0]["interfaceName"], "HTTP-SECURE-XML");
    assert_eq!(got["interfaces"].as_array().unwrap().len(), 1);

    let (status, got) = patch(
        &s,
        &sr.url(&format!("/mgmt/{id}")),
        &json!({"version": 7, "metadata": {"k": "v"}}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (got["version"].as_i64(), got["metadata"].clone()),
        (Some(7), json!({"k": "v"}))
    );
    assert_eq!(
        got["serviceDefinition"]["serviceDefinition"], "humidity",
        "unpatched fields stay"
    );
    assert_eq!(got["interfaces"][0]["interfaceName"], "HTTP-SECURE-XML");
    let (status, got) = patch(
        &s,
        &sr.url(&format!("/mgmt/{id}")),
        &json!({"providerSystem": {"port": 9002}}),
    );
    assert_eq!(
        (
            status,
            got["provider"]["port"].as_i64(),
            got["provider"]["systemName"].as_str()
        ),
        (200, Some(9002), Some("provider"))
    );
    assert_eq!(
        patch(&s, &sr.url(&format!("/mgmt/{id}")), &json!({})),
        (
            400,
            error(
                "Patch request is empty.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt/{id}")
            )
        )
    );

    let (status, got) = get(&s, &sr.url("/mgmt/servicedef/temperature"));
    assert_eq!((status, got["count"].as_i64()), (200, Some(1)));
    assert_eq!(
        get(&s, &sr.url("/mgmt/servicedef/nothing")),
        (
            400,
            error(
                "Service with definition of 'nothing' is not exists",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let (status, got) = get(&s, &sr.url("/mgmt/grouped"));
    assert_eq!(status, 200);
    let systems = got["servicesGroupedBySystems"].as_array().unwrap();
    assert_eq!(systems.len(), 3, "{got}");
    assert!(got["servicesGroupedByServiceDefinition"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["serviceDefinition"] == "humidity"));
    assert_eq!(
        got["autoCompleteData"]["interfaceList"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert!(got["autoCompleteData"]["serviceList"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["value"] == "temperature"));

    assert_eq!(
        delete(&s, &sr.url(&format!("/mgmt/{id}"))),
        (200, json!(""))
    );
    assert_eq!(
        delete(&s, &sr.url(&format!("/mgmt/{id}"))),
        (
            400,
            error(
                &format!("Service Registry entry with id '{id}' does not exist"),
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let (status, got) = get(&s, &sr.url("/mgmt/logs?level=ERROR"));
    assert_eq!((status, got), (200, json!({"data": [], "count": 0})));
    let (status, got) = get(&s, &sr.url("/mgmt/logs?level=LOUD"));
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Defined log level is not exists.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt/logs")
            )
        )
    );
}

#[test]
fn management_of_systems_services_and_interfaces() {
    let sr = TestServer::secure();
    let s = client("sysop");
    let (status, got) = post(
        &s,
        &sr.url("/mgmt/systems"),
        &json!({"systemName": "Sensor-1", "address": "sensor.local", "port": 80, "metadata": {"a": "b"}}),
    );
    assert_eq!(status, 201);
    assert_eq!(
        scrub(got),
        json!({"id": 2, "systemName": "sensor-1", "address": "sensor.local", "port": 80, "metadata": {"a": "b"}, "createdAt": "<ts>", "updatedAt": "<ts>"})
    );
    assert_eq!(
        post(
            &s,
            &sr.url("/mgmt/systems"),
            &json!({"systemName": "eventhandler", "address": "x.local", "port": 80})
        ),
        (
            400,
            error(
                "System name 'eventhandler' is a reserved arrowhead core system name.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt/systems")
            )
        )
    );
    assert_eq!(
        post(
            &s,
            &sr.url("/mgmt/systems"),
            &json!({"systemName": "sensor-1", "address": "sensor.local", "port": 80})
        )
        .0,
        400
    );
    let (status, got) = get(
        &s,
        &sr.url("/mgmt/systems?sort_field=systemName&direction=DESC"),
    );
    assert_eq!(
        (
            status,
            got["count"].as_i64(),
            got["data"][0]["systemName"].as_str()
        ),
        (200, Some(2), Some("serviceregistry"))
    );
    let (status, got) = put(
        &s,
        &sr.url("/mgmt/systems/2"),
        &json!({"systemName": "sensor-2", "address": "10.0.0.2", "port": 81}),
    );
    assert_eq!(
        (status, got["systemName"].as_str(), got.get("metadata")),
        (200, Some("sensor-2"), None)
    );
    let (status, got) = patch(&s, &sr.url("/mgmt/systems/2"), &json!({"port": 82}));
    assert_eq!(
        (
            status,
            got["systemName"].as_str(),
            got["port"].as_i64(),
            got["address"].as_str()
        ),
        (200, Some("sensor-2"), Some(82), Some("10.0.0.2"))
    );
    assert_eq!(
        patch(&s, &sr.url("/mgmt/systems/2"), &json!({})),
        (
            400,
            error(
                "Patch request is empty.",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt/systems/{id}")
            )
        )
    );
    assert_eq!(get(&s, &sr.url("/mgmt/systems/2")).1["port"], 82);
    assert_eq!(delete(&s, &sr.url("/mgmt/systems/2")), (200, json!("")));
    assert_eq!(
        get(&s, &sr.url("/mgmt/systems/2")),
        (
            400,
            error(
                "System with id 2 not found.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let (status, got) = post(
        &s,
        &sr.url("/mgmt/services"),
        &json!({"serviceDefinition": "Pressure"}),
    );
    assert_eq!(
        (status, scrub(got)),
        (
            201,
            json!({"id": 6, "serviceDefinition": "pressure", "createdAt": "<ts>", "updatedAt": "<ts>"})
        )
    );
    assert_eq!(
        post(
            &s,
            &sr.url("/mgmt/services"),
            &json!({"serviceDefinition": "pressure"})
        ),
        (
            400,
            error(
                "pressure definition already exists",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    assert_eq!(
        post(&s, &sr.url("/mgmt/services"), &json!({"serviceDefinition": "event-publish"})),
        (400, error("Service definition 'event-publish' is a reserved arrowhead core service definition.", 400, "BAD_PAYLOAD", Some("/serviceregistry/mgmt/services")))
    );
    assert_eq!(
        put(
            &s,
            &sr.url("/mgmt/services/6"),
            &json!({"serviceDefinition": "pressure-2"})
        )
        .1["serviceDefinition"],
        "pressure-2"
    );
    assert_eq!(
        patch(
            &s,
            &sr.url("/mgmt/services/6"),
            &json!({"serviceDefinition": "pressure-3"})
        )
        .1["serviceDefinition"],
        "pressure-3"
    );
    assert_eq!(
        get(&s, &sr.url("/mgmt/services?page=0&item_per_page=100")).1["count"],
        6
    );
    assert_eq!(delete(&s, &sr.url("/mgmt/services/6")).0, 200);
    assert_eq!(
        get(&s, &sr.url("/mgmt/services/6")),
        (
            400,
            error(
                "Service definition with id of '6' does not exist",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );

    let (status, got) = post(
        &s,
        &sr.url("/mgmt/interfaces"),
        &json!({"interfaceName": "coap-secure-cbor"}),
    );
    assert_eq!(
        (status, scrub(got)),
        (
            201,
            json!({"id": 3, "interfaceName": "COAP-SECURE-CBOR", "createdAt": "<ts>", "updatedAt": "<ts>"})
        )
    );
    assert_eq!(
        post(
            &s,
            &sr.url("/mgmt/interfaces"),
            &json!({"interfaceName": "COAP-SECURE-CBOR"})
        ),
        (
            400,
            error(
                "COAP-SECURE-CBOR interface already exists",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    assert_eq!(
        post(
            &s,
            &sr.url("/mgmt/interfaces"),
            &json!({"interfaceName": "bad"})
        ),
        (
            400,
            error(
                "Specified interface name is not valid: bad",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/mgmt/interfaces")
            )
        )
    );
    assert_eq!(
        put(
            &s,
            &sr.url("/mgmt/interfaces/3"),
            &json!({"interfaceName": "MQTT-SECURE-JSON"})
        )
        .1["interfaceName"],
        "MQTT-SECURE-JSON"
    );
    assert_eq!(get(&s, &sr.url("/mgmt/interfaces")).1["count"], 3);
    assert_eq!(delete(&s, &sr.url("/mgmt/interfaces/3")).0, 200);
    assert_eq!(
        delete(&s, &sr.url("/mgmt/interfaces/3")),
        (
            400,
            error(
                "Service interface with id of '3' does not exist",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
}

#[test]
fn framework_errors_are_arrowhead_json() {
    let sr = TestServer::secure();
    let s = client("sysop");
    assert_eq!(
        get(&s, &sr.url("/nothing-here")),
        (
            404,
            error(
                "No endpoint is available at GET /serviceregistry/nothing-here",
                404,
                "DATA_NOT_FOUND",
                Some("/serviceregistry/nothing-here")
            )
        )
    );
    let (status, got) = read(s.put(sr.url("/echo")).json(&json!({})).send().unwrap());
    assert_eq!(
        (
            status,
            got["errorCode"].as_i64(),
            got["exceptionType"].as_str()
        ),
        (405, Some(405), Some("GENERIC")),
        "{got}"
    );
    let (status, got) = read(s.post(sr.url("/query")).send().unwrap());
    assert_eq!(
        (status, got),
        (400, error("Message body is null (unusual for POST/PUT/PATCH request)! Please check the message body.", 400, "BAD_PAYLOAD", Some("/serviceregistry/query")))
    );
    let (status, got) = read(s.get(sr.url("/echo")).body("x").send().unwrap());
    assert_eq!(
        (status, got),
        (400, error("Message body is not null (unusual for GET/DELETE request)! Please check the message body.", 400, "BAD_PAYLOAD", Some("/serviceregistry/echo")))
    );
    let (status, got) = get(&s, &sr.url("/mgmt/systems/abc"));
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("BAD_PAYLOAD"))
    );
    let (status, got) = get(&s, &sr.url("/mgmt?page=x&item_per_page=1"));
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("BAD_PAYLOAD"))
    );
    // A trailing slash is the same endpoint.
    assert_eq!(get(&s, &sr.url("/echo/")), (200, json!("Got it!")));
    assert_eq!(get(&s, &sr.url("/mgmt/systems/")).0, 200);
    // Swagger UI and the OpenAPI document are served at the root: the page is titled with the
    // system, the validator badge (which would send the document to swagger.io) is off, and
    // Java's page addresses lead to it.
    let root = sr.base.replace("/serviceregistry", "");
    let resp = s.get(format!("{root}/swagger-ui/")).send().unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let page = resp.text().unwrap();
    assert!(
        page.contains("<title>Arrowhead Service Registry</title>"),
        "{page}"
    );
    let init = s
        .get(format!("{root}/swagger-ui/swagger-initializer.js"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(init.contains(r#""validatorUrl": "none""#), "{init}");
    assert!(init.contains("/api-docs/openapi.json"), "{init}");
    for page in ["/", "/swagger-ui.html"] {
        let resp = s.get(format!("{root}{page}")).send().unwrap();
        assert_eq!(
            resp.url().path(),
            "/swagger-ui/",
            "{page} leads to the Swagger page"
        );
        assert_eq!(resp.status().as_u16(), 200);
    }
    let (status, doc) = get(
        &s,
        &sr.base
            .replace("/serviceregistry", "/api-docs/openapi.json"),
    );
    assert_eq!(status, 200);
    assert!(doc["paths"]["/serviceregistry/register"]["post"].is_object());
    assert!(doc["paths"]["/serviceregistry/mgmt/{id}"]["patch"].is_object());
}

#[test]
fn expired_entries_are_removed_by_the_ttl_clean_up() {
    let sr = TestServer::secure();
    let mut old = registration("provider", "temperature");
    old["endOfValidity"] = json!("2020-01-01T00:00:00Z");
    assert_eq!(post(&client("provider"), &sr.url("/register"), &old).0, 201);
    let mut fresh = registration("provider", "temperature");
    fresh["serviceUri"] = json!("/fresh");
    // Beyond the TIMESTAMP column's range: refused, not stored as something else.
    fresh["endOfValidity"] = json!("2099-01-01T00:00:00Z");
    assert_eq!(
        post(&client("provider"), &sr.url("/register"), &fresh).0,
        400
    );
    fresh["endOfValidity"] = json!("2037-01-01T00:00:00Z");
    let (status, got) = post(&client("provider"), &sr.url("/register"), &fresh);
    assert_eq!(
        (status, &got["endOfValidity"]),
        (201, &json!("2037-01-01T00:00:00Z"))
    );
    // The task itself runs (at once, then every 200 ms) until the expired entry is gone.
    let settings = sr.db.settings.clone();
    let task = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let pool =
                common::db::connect(&settings, 2, std::time::Duration::from_secs(5), &[]).unwrap();
            let run = serviceregistry::tasks::ttl_task(
                pool,
                std::time::Duration::ZERO,
                std::time::Duration::from_millis(200),
            );
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), run).await;
        })
    });
    let query = || {
        post(
            &client("orchestrator"),
            &sr.url("/query"),
            &json!({"serviceDefinitionRequirement": "temperature"}),
        )
        .1
    };
    testing::wait_for(
        "the expired entry removed",
        std::time::Duration::from_secs(3),
        || query()["unfilteredHits"] == 1,
    );
    task.join().unwrap();
    let got = query();
    assert_eq!(got["serviceQueryData"][0]["serviceUri"], "/fresh");
    assert_eq!(got["unfilteredHits"], 1);
}

/// Two instances on one database behave as one registry: nothing is cached in-process.
#[test]
fn two_instances_share_one_database() {
    let first = TestServer::secure();
    let second = TestServer::start(&support::secure_properties(&first.db), first.db.share());
    assert_eq!(
        post(
            &client("provider"),
            &first.url("/register"),
            &registration("provider", "temperature")
        )
        .0,
        201
    );
    let (_, got) = post(
        &client("orchestrator"),
        &second.url("/query"),
        &json!({"serviceDefinitionRequirement": "temperature"}),
    );
    assert_eq!(got["unfilteredHits"], 1);
    let q = "service_definition=temperature&system_name=provider&address=127.0.0.1&port=9001&service_uri=/temperature";
    assert_eq!(
        delete(
            &client("provider"),
            &second.url(&format!("/unregister?{q}"))
        )
        .0,
        200
    );
    let (_, got) = post(
        &client("orchestrator"),
        &first.url("/query"),
        &json!({"serviceDefinitionRequirement": "temperature"}),
    );
    assert_eq!(got["unfilteredHits"], 0);
}

/// Providers registering the same new service at the same moment all succeed (the definition,
/// interface and system rows are created once, whoever wins the race).
#[test]
fn concurrent_registrations_of_a_new_service_all_succeed() {
    let sr = TestServer::secure();
    let url = sr.url("/mgmt");
    let threads: Vec<_> = (0..12)
        .map(|i| {
            let url = url.clone();
            std::thread::spawn(move || {
                let mut body = registration(&format!("provider-{}", i % 4), "brand-new-service");
                body["serviceUri"] = json!(format!("/x/{i}"));
                body["interfaces"] = json!(["HTTP-SECURE-JSON", "BRAND_NEW-SECURE-JSON"]);
                post(&client("sysop"), &url, &body)
            })
        })
        .collect();
    for t in threads {
        let (status, got) = t.join().unwrap();
        assert_eq!(status, 201, "{got}");
    }
    let (_, got) = post(
        &client("orchestrator"),
        &sr.url("/query"),
        &json!({"serviceDefinitionRequirement": "brand-new-service"}),
    );
    assert_eq!(got["unfilteredHits"], 12);
    let (_, systems) = get(&client("sysop"), &sr.url("/mgmt/systems"));
    assert_eq!(systems["count"], 5, "one row per provider: {systems}");
}

/// A database account that may not create triggers (a Java-style per-system account): the
/// registry runs without its query cache and every query still sees every write.
#[test]
fn without_trigger_privilege_queries_read_the_tables() {
    // A server of the test's own, where the test user's TRIGGER privilege can be taken away.
    let server = testing::mariadb::PrivateMariaDb::start();
    server.as_root("REVOKE TRIGGER ON `arrowhead`.* FROM 'arrowhead'@'127.0.0.1'");
    let db = server.test_db();
    let properties = support::secure_properties(&db);
    let sr = TestServer::start(&properties, db);
    let query = || {
        post(
            &client("orchestrator"),
            &sr.url("/query"),
            &json!({"serviceDefinitionRequirement": "temperature"}),
        )
    };
    let (status, registered) = post(
        &client("provider"),
        &sr.url("/register"),
        &registration("provider", "temperature"),
    );
    assert_eq!(status, 201, "{registered}");
    let (status, got) = query();
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["serviceQueryData"], json!([registered]));
    // No trigger was created, so nothing could tell a cache of this write: it must not cache.
    let mut conn = sr.db.connect();
    conn.batch_execute("UPDATE system_ SET metadata = 'zone=north' WHERE system_name = 'provider'")
        .unwrap();
    assert_eq!(
        query().1["serviceQueryData"][0]["provider"]["metadata"],
        json!({"zone": "north"})
    );
    #[derive(diesel::QueryableByName)]
    struct Triggers {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let triggers: Triggers = diesel::RunQueryDsl::get_result(
        diesel::sql_query(
            "SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()",
        ),
        &mut conn,
    )
    .unwrap();
    assert_eq!(triggers.n, 0, "the account could not create them");
    drop(sr);
    drop(server);
}

/// The query cache never hides a write: not another instance's, not a cascade's, not one made
/// directly in the database (as a Java system would).
#[test]
fn cached_queries_see_every_write() {
    let a = TestServer::secure();
    let b = TestServer::start(&support::secure_properties(&a.db), a.db.share());
    let orch = client("orchestrator");
    let query = |sr: &TestServer| {
        post(
            &orch,
            &sr.url("/query"),
            &json!({"serviceDefinitionRequirement": "temperature"}),
        )
        .1
    };
    assert_eq!(
        post(
            &client("provider"),
            &a.url("/register"),
            &registration("provider", "temperature")
        )
        .0,
        201
    );
    assert_eq!(query(&b)["unfilteredHits"], 1);
    assert_eq!(query(&b)["unfilteredHits"], 1, "served from the cache");

    // Another instance changes the provider's key by registering a second service.
    let mut second = registration("provider", "humidity");
    second["providerSystem"]["authenticationInfo"] = json!("b3RoZXI=");
    assert_eq!(
        post(&client("provider"), &a.url("/register"), &second).0,
        201
    );
    assert_eq!(
        query(&b)["serviceQueryData"][0]["provider"]["authenticationInfo"],
        "b3RoZXI="
    );

    // A direct database write (a Java system sharing the database).
    use diesel::connection::SimpleConnection;
    let mut conn = a.db.connect();
    conn.batch_execute("UPDATE system_ SET metadata = 'zone=north' WHERE system_name = 'provider'")
        .unwrap();
    assert_eq!(
        query(&b)["serviceQueryData"][0]["provider"]["metadata"],
        json!({"zone": "north"})
    );
    conn.batch_execute("UPDATE service_interface SET interface_name = 'HTTP-SECURE-CBOR' WHERE interface_name = 'HTTP-SECURE-JSON'").unwrap();
    assert_eq!(
        query(&b)["serviceQueryData"][0]["interfaces"][0]["interfaceName"],
        "HTTP-SECURE-CBOR"
    );

    // A cascade: deleting the provider removes its entries.
    conn.batch_execute("DELETE FROM system_ WHERE system_name = 'provider'")
        .unwrap();
    assert_eq!(
        query(&b),
        json!({"serviceQueryData": [], "unfilteredHits": 0})
    );
}

/// Look-alikes of a core service definition (accent, case, underscore) are refused for anyone
/// but the owning core system under the exact name, with the strict verifier on and off; in the
/// database a look-alike is a row of its own, never the core definition.
#[test]
fn look_alike_core_definitions_cannot_be_registered() {
    for strict in ["true", "false"] {
        let sr = TestServer::secure_with(&format!(
            "use_strict_service_definition_verifier={strict}\n"
        ));
        let reg = |who: &str, def: &str| {
            post(
                &client(who),
                &sr.url("/register"),
                &json!({"serviceDefinition": def,
                        "providerSystem": {"systemName": who, "address": "127.0.0.1", "port": 9100, "authenticationInfo": "a2V5"},
                        "serviceUri": "/authorization/intracloud/check", "secure": "CERTIFICATE",
                        "interfaces": ["HTTP-SECURE-JSON"]}),
            )
        };
        for def in [
            "authorizatión-control-intra",
            "Authorization-Control-Intra",
            "authorization_control_intra",
            "authorization-control-intra",
        ] {
            let (status, got) = reg("provider", def);
            let reserved = |who: &str, got: Value| {
                let url = sr.url("/register");
                assert_eq!(
                    got,
                    error(
                        &format!(
                            "Service definition ({}) is a reserved arrowhead core service definition.",
                            def.trim().to_lowercase()
                        ),
                        401,
                        "AUTH",
                        Some(&url)
                    ),
                    "strict={strict} {who} {def}"
                );
            };
            assert_eq!(status, 401, "strict={strict} {def}: {got}");
            reserved("provider", got);
            // Another core system may not take it over either.
            let (status, got) = reg("orchestrator", def);
            assert_eq!(status, 401, "strict={strict} orchestrator {def}: {got}");
            reserved("orchestrator", got);
        }
        let (status, got) = reg("authorization", "authorization-control-intra");
        assert_eq!(status, 201, "{got}");
        let (status, got) = post(
            &client("sysop"),
            &sr.url("/mgmt/services"),
            &json!({"serviceDefinition": "authorizatión-control-intra"}),
        );
        assert_eq!(status, 400, "{got}");
        // A look-alike written by someone else (a Java system, by hand) is its own row.
        sr.db
            .connect()
            .batch_execute(
                "INSERT INTO service_definition (service_definition) VALUES ('authorizatión-control-intra')",
            )
            .unwrap();
        let (_, got) = post(
            &client("orchestrator"),
            &sr.url("/query"),
            &json!({"serviceDefinitionRequirement": "authorization-control-intra"}),
        );
        assert_eq!(got["unfilteredHits"], 1, "{got}");
        assert_eq!(
            got["serviceQueryData"][0]["provider"]["systemName"],
            "authorization"
        );
    }
}

/// Clients written for 4.3 and earlier unregister without `service_uri`: every entry of that
/// provider for that definition goes (whatever its URI), nothing else.
#[test]
fn unregister_without_service_uri_removes_the_providers_entries_of_the_definition() {
    let sr = TestServer::secure();
    let c = client("provider");
    for (def, uri) in [
        ("temperature", "/a"),
        ("temperature", "/b"),
        ("humidity", "/a"),
    ] {
        let mut body = registration("provider", def);
        body["serviceUri"] = json!(uri);
        assert_eq!(post(&c, &sr.url("/register"), &body).0, 201);
    }
    let other = registration("client", "temperature");
    assert_eq!(post(&client("client"), &sr.url("/register"), &other).0, 201);
    let q = "service_definition=temperature&system_name=provider&address=127.0.0.1&port=9001";
    assert_eq!(
        delete(&c, &sr.url(&format!("/unregister?{q}"))),
        (200, json!(""))
    );
    let uris = |def: &str| {
        let (_, got) = post(
            &client("orchestrator"),
            &sr.url("/query"),
            &json!({"serviceDefinitionRequirement": def}),
        );
        let mut found: Vec<String> = got["serviceQueryData"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}{}",
                    e["provider"]["systemName"].as_str().unwrap(),
                    e["serviceUri"].as_str().unwrap()
                )
            })
            .collect();
        found.sort();
        found
    };
    assert_eq!(uris("temperature"), ["client/temperature"]);
    assert_eq!(uris("humidity"), ["provider/a"]);
    let (status, got) = delete(&c, &sr.url(&format!("/unregister?{q}")));
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "No Service Registry entry with provider: (provider, 127.0.0.1:9001) and service definition: temperature exists.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
}

/// HEAD answers wherever GET does (health checks), with the GET status and no body.
#[test]
fn head_works_where_get_does() {
    let sr = TestServer::secure();
    for (who, path, status) in [
        ("provider", "/echo", 200),
        ("sysop", "/mgmt/systems", 200),
        ("provider", "/mgmt/systems", 401),
    ] {
        let resp = client(who).head(sr.url(path)).send().unwrap();
        assert_eq!(resp.status().as_u16(), status, "{who} HEAD {path}");
        assert_eq!(resp.text().unwrap(), "", "{who} HEAD {path}");
    }
}

/// Text with 4-byte UTF-8 characters (emoji) is stored as it came where our migrations made the
/// schema; on tables in the Java schema's 3-byte `utf8` it is refused with 400 naming the field,
/// never answered 500 and never stored changed.
#[test]
fn four_byte_text_is_stored_faithfully_or_refused() {
    let sr = TestServer::secure();
    let sysop = client("sysop");
    let (status, got) = post(
        &sysop,
        &sr.url("/mgmt/systems"),
        &json!({"systemName": "emoji-system", "address": "127.0.0.1", "port": 7001, "authenticationInfo": "x😀", "metadata": {"unit": "°C🌡"}}),
    );
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["authenticationInfo"], "x😀");
    let (status, again) = get(&sysop, &sr.url(&format!("/mgmt/systems/{}", got["id"])));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["authenticationInfo"], "x😀");
    assert_eq!(again["metadata"], json!({"unit": "°C🌡"}));
    // Two service URIs that differ only in their emoji are two entries.
    for uri in ["/a😀", "/a😁"] {
        let body = json!({
            "serviceDefinition": "emoji-service",
            "providerSystem": {"systemName": "provider", "address": "127.0.0.1", "port": 9001},
            "serviceUri": uri,
            "interfaces": ["HTTP-SECURE-JSON"]
        });
        let (status, got) = post(&client("provider"), &sr.url("/register"), &body);
        assert_eq!(status, 201, "{got}");
        assert_eq!(got["serviceUri"], uri);
    }
    let (status, got) = get(&sysop, &sr.url("/mgmt/servicedef/emoji-service"));
    assert_eq!((status, got["count"].clone()), (200, json!(2)), "{got}");
    let (status, got) = get(&sysop, &sr.url("/mgmt/servicedef/%F0%9F%98%80"));
    assert!(status < 500, "{status} {got}");
    // The other places fuzzing found answering 500: unregister, mgmt create, systems PATCH.
    let (status, got) = delete(
        &client("provider"),
        &sr.url("/unregister?service_definition=emoji-service&system_name=provider&address=127.0.0.1&port=9001&service_uri=%2Fa%F0%9F%98%80"),
    );
    assert_eq!(status, 200, "{got}");
    let (status, got) = get(&sysop, &sr.url("/mgmt/servicedef/emoji-service"));
    assert_eq!(
        (status, got["count"].clone()),
        (200, json!(1)),
        "only /a😀 went: {got}"
    );
    let (status, got) = post(
        &sysop,
        &sr.url("/mgmt"),
        &json!({"serviceDefinition": "emoji-mgmt", "providerSystem": {"systemName": "provider", "address": "127.0.0.1", "port": 9001}, "serviceUri": "/🌡", "interfaces": ["HTTP-SECURE-JSON"], "metadata": {"k": "🌡"}}),
    );
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["metadata"], json!({"k": "🌡"}), "{got}");
    let (status, got) = patch(
        &sysop,
        &sr.url(&format!("/mgmt/systems/{}", again["id"])),
        &json!({"authenticationInfo": "z🌡"}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["authenticationInfo"], "z🌡", "{got}");

    // A Java-made schema: 3-byte utf8 tables.
    drop(sr);
    let sr = TestServer::secure();
    sr.db
        .connect()
        .batch_execute(
            "ALTER TABLE system_ CONVERT TO CHARACTER SET utf8 COLLATE utf8_general_ci; \
             ALTER TABLE service_definition CONVERT TO CHARACTER SET utf8 COLLATE utf8_general_ci",
        )
        .unwrap();
    let (status, got) = post(
        &sysop,
        &sr.url("/mgmt/systems"),
        &json!({"systemName": "emoji-system-2", "address": "127.0.0.1", "port": 7002, "authenticationInfo": "y😀"}),
    );
    assert_eq!(status, 400, "{got}");
    assert_eq!(got["exceptionType"], "BAD_PAYLOAD", "{got}");
    assert!(
        got["errorMessage"]
            .as_str()
            .unwrap()
            .contains("authenticationInfo"),
        "{got}"
    );
    let mut conn = sr.db.connect();
    use diesel::RunQueryDsl;
    let stored: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT COUNT(*) FROM system_ WHERE system_name = 'emoji-system-2')",
    ))
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(stored, 0, "nothing stored changed");
    let (status, got) = get(&sysop, &sr.url("/mgmt/servicedef/%F0%9F%98%80"));
    assert_eq!(status, 400, "{got}");
    assert_eq!(got["errorCode"], 400, "{got}");
}
