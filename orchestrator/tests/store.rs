//! Orchestrator Store management over mTLS on the real database: dense priorities, all-or-none
//! creation, the list views, and who may use them; plus the system starting from the Java
//! sample keystores and orchestrating for an application of the Java sample cloud.

#![allow(clippy::unwrap_used)]

mod support;

use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use support::{post, Cloud};
use testing::{client, error, read, scrub};

fn ids_and_priorities(list: &Value) -> Vec<(String, i64)> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["providerSystem"]["systemName"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                e["priority"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn management_logs() {
    let cloud = Cloud::start();
    testing::check_mgmt_logs(&cloud.db, &cloud.orch_url(""), "ORCHESTRATOR");
}

#[test]
fn store_management() {
    let cloud = Cloud::start();
    cloud
        .db
        .connect()
        .batch_execute(
            "INSERT INTO system_ (system_name, address, port) VALUES ('consumer','127.0.0.1',5000),('p1','127.0.0.1',6001),('p2','127.0.0.1',6002),('p3','127.0.0.1',6003);
             INSERT INTO cloud (operator, name, secure, neighbor, own_cloud) VALUES ('acme','factory',1,1,0);",
        )
        .unwrap();
    let consumer: i64 = {
        let (_, v) = read(
            client("sysop")
                .get(cloud.sr_url("/mgmt/systems"))
                .send()
                .unwrap(),
        );
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["systemName"] == "consumer")
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let sysop = client("sysop");
    let url = cloud.orch_url("/mgmt/store");
    let entry = |provider: &str, port: u16, priority: i64| {
        json!({"serviceDefinitionName": "Temperature", "consumerSystemId": consumer,
               "providerSystem": {"systemName": provider, "address": "127.0.0.1", "port": port},
               "serviceInterfaceName": "http-secure-json", "priority": priority, "attribute": {"k": "v"}})
    };
    let (status, created) = post(
        &sysop,
        &url,
        &json!([entry("p1", 6001, 1), entry("p2", 6002, 2)]),
    );
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["count"], 2);
    let first = scrub(created["data"][0].clone());
    assert_eq!(
        first["serviceDefinition"]["serviceDefinition"],
        "temperature"
    );
    assert_eq!(
        first["serviceInterface"]["interfaceName"],
        "HTTP-SECURE-JSON"
    );
    assert_eq!(first["consumerSystem"]["systemName"], "consumer");
    assert_eq!(first["foreign"], false);
    assert_eq!(
        first["providerCloud"]["ownCloud"], true,
        "local providers show this cloud"
    );
    assert_eq!(first["attribute"], json!({"k": "v"}));
    // Inserting at a taken priority moves the others down.
    let (status, got) = post(&sysop, &url, &json!([entry("p3", 6003, 1)]));
    assert_eq!(status, 200, "{got}");
    let (_, list) = read(sysop.get(&url).send().unwrap());
    let mut order = ids_and_priorities(&list);
    order.sort_by_key(|(_, p)| *p);
    assert_eq!(
        order,
        [("p3".into(), 1), ("p1".into(), 2), ("p2".into(), 3)]
    );
    // A foreign provider (a known other cloud) is recorded as a foreign system.
    let mut foreign = entry("remote", 7000, 9);
    foreign["cloud"] = json!({"operator": "Acme", "name": "Factory"});
    let (status, got) = post(&sysop, &url, &json!([foreign]));
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (
            &got["data"][0]["foreign"],
            &got["data"][0]["priority"],
            &got["data"][0]["providerCloud"]["name"]
        ),
        (&json!(true), &json!(4), &json!("factory")),
        "priority beyond the end is placed right after the last"
    );
    let remote_id = got["data"][0]["id"].as_i64().unwrap();

    // All or none: one bad element, nothing is stored.
    let (status, got) = post(
        &sysop,
        &url,
        &json!([entry("p1", 6001, 1), entry("p2", 6002, 1)]),
    );
    assert_eq!(
        (status, got),
        (400, error(&format!("OrchestratorStore entry for consumer {consumer}, service temperature, interface HTTP-SECURE-JSON and provider p1 already exists."), 400, "INVALID_PARAMETER", None)),
        "duplicate provider"
    );
    let (status, got) = post(&sysop, &url, &json!([entry("nobody", 1, 1)]));
    assert_eq!(
        (status, got),
        (400, error("Provider system with name nobody, address 127.0.0.1 and port 1 is not available in database", 400, "INVALID_PARAMETER", None))
    );
    let mut unknown_cloud = entry("remote", 7000, 1);
    unknown_cloud["cloud"] = json!({"operator": "x", "name": "y"});
    assert_eq!(
        post(&sysop, &url, &json!([unknown_cloud])),
        (
            400,
            error(
                "Cloud with operator x and name y is not available in database",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    // Longer than the schema's columns: a client mistake, not a failed insert.
    let mut long = entry("p1", 6001, 1);
    long["serviceDefinitionName"] = json!("d".repeat(256));
    assert_eq!(
        post(&sysop, &url, &json!([long])),
        (
            400,
            error(
                "Service definition name is longer than 255 characters.",
                400,
                "BAD_PAYLOAD",
                Some("/orchestrator/mgmt/store")
            )
        )
    );
    let (_, list) = read(sysop.get(&url).send().unwrap());
    assert_eq!(list["count"], 4);
    assert_eq!(
        post(&sysop, &url, &json!([])),
        (
            400,
            error(
                "Request is empty.",
                400,
                "BAD_PAYLOAD",
                Some("/orchestrator/mgmt/store")
            )
        )
    );

    // Views.
    let (status, top) = read(
        sysop
            .get(cloud.orch_url("/mgmt/store/all_top_priority"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, ids_and_priorities(&top)),
        (200, vec![("p3".into(), 1)])
    );
    let by_consumer =
        cloud.orch_url("/mgmt/store/all_by_consumer?page=0&item_per_page=2&direction=DESC");
    let (status, page) = post(
        &sysop,
        &by_consumer,
        &json!({"consumerSystemId": consumer, "serviceDefinitionName": "temperature"}),
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (
            page["count"].as_i64(),
            page["data"].as_array().unwrap().len()
        ),
        (Some(4), 2)
    );
    assert_eq!(page["data"][0]["id"], remote_id, "highest id first");
    let (status, got) = post(
        &sysop,
        &cloud.orch_url("/mgmt/store/all_by_consumer"),
        &json!({"consumerSystemId": consumer, "serviceDefinitionName": "unknown"}),
    );
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("INVALID_PARAMETER"))
    );
    let (status, got) = read(
        sysop
            .get(format!("{url}?sort_field=priority"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("BAD_PAYLOAD"))
    );

    // Get, priorities, delete.
    let id_of = |name: &str, list: &Value| {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["providerSystem"]["systemName"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (_, list) = read(sysop.get(&url).send().unwrap());
    let (p1, p2, p3) = (id_of("p1", &list), id_of("p2", &list), id_of("p3", &list));
    let (status, one) = read(sysop.get(format!("{url}/{p1}")).send().unwrap());
    assert_eq!((status, one["priority"].as_i64()), (200, Some(2)));
    let modify = cloud.orch_url("/mgmt/store/modify_priorities");
    let (status, got) = post(
        &sysop,
        &modify,
        &json!({"priorityMap": {p1.to_string(): 1, p2.to_string(): 2}}),
    );
    assert_eq!(
        (status, got),
        (400, error("The given PriorityMap has different size than the size of consumer-serviceDefinition-interface pairs in DB", 400, "INVALID_PARAMETER", None)),
        "must cover the whole group"
    );
    let (status, _) = post(
        &sysop,
        &modify,
        &json!({"priorityMap": {p1.to_string(): 1, p2.to_string(): 2, p3.to_string(): 3, remote_id.to_string(): 4}}),
    );
    assert_eq!(status, 200);
    let deleted = sysop.delete(format!("{url}/{p1}")).send().unwrap();
    assert_eq!(deleted.status().as_u16(), 200);
    let (_, list) = read(sysop.get(&url).send().unwrap());
    let mut order = ids_and_priorities(&list);
    order.sort_by_key(|(_, p)| *p);
    assert_eq!(
        order,
        [("p2".into(), 1), ("p3".into(), 2), ("remote".into(), 3)],
        "the gap is closed"
    );
    let (status, got) = read(sysop.get(format!("{url}/{p1}")).send().unwrap());
    assert_eq!(
        (status, got["errorMessage"].as_str()),
        (
            400,
            Some(format!("OrchestratorStore with id {p1} not found.").as_str())
        )
    );
    let (status, got) = read(sysop.get(format!("{url}/0")).send().unwrap());
    assert_eq!(
        (status, got["origin"].as_str()),
        (400, Some("/orchestrator/mgmt/store/{id}"))
    );

    // Access: management is the operator's; echo and orchestration by id are open to the cloud.
    for who in ["consumer", "orchestrator", "choreographer", "gatekeeper"] {
        let (status, got) = read(client(who).get(&url).send().unwrap());
        assert_eq!(status, 401, "{who}: {got}");
        assert_eq!(got["exceptionType"], "AUTH");
    }
    assert_eq!(
        read(
            client("consumer")
                .get(cloud.orch_url("/echo"))
                .send()
                .unwrap()
        ),
        (200, json!("Got it!"))
    );
    let other_cloud = testing::client_from(
        &testing::pki().keystore("other-provider"),
        &testing::pki().master,
    );
    match other_cloud.get(cloud.orch_url("/echo")).send() {
        Err(_) => {} // refused during the handshake: not in this cloud's chain of trust
        Ok(r) => assert_eq!(r.status().as_u16(), 401, "another cloud's system"),
    }
    let (status, _) = post(
        &client("consumer"),
        &cloud.orch_url("/orchestration-by-proxy"),
        &json!({"requesterSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000}}),
    );
    assert_eq!(status, 401, "choreographer only");
    let (status, got) = post(
        &client("gatekeeper"),
        &cloud.orch_url("/orchestration"),
        &json!({"requesterSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000},
                "orchestrationFlags": {"externalServiceRequest": true}}),
    );
    assert_eq!((status, got["errorMessage"].as_str()), (400, Some("External service request can not be served. Orchestrator runs in NO GATEKEEPER mode.")));
    let (status, _) = post(
        &client("consumer"),
        &cloud.orch_url("/orchestration"),
        &json!({"requesterSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000},
                "orchestrationFlags": {"externalServiceRequest": true}}),
    );
    assert_eq!(
        status, 401,
        "external requests come from the Gatekeeper only"
    );
    let (status, doc) = read(
        client("sysop")
            .get(
                cloud
                    .orch_url("")
                    .replace("/orchestrator", "/api-docs/openapi.json"),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert!(doc["paths"]["/orchestrator/orchestration"]["post"].is_object());
}

/// The three systems start from the Java sample keystores of `testcloud2` and serve an
/// application whose certificate the Java sample cloud CA issued.
#[test]
fn java_sample_cloud_orchestrates() {
    use certificate_authority::pki;
    use common::tls::Keystore;
    let master = Keystore::from_pkcs12_file(
        std::path::Path::new(&support::java_fixture("master.p12")),
        "123456",
    )
    .unwrap()
    .cert;
    let java_client = |name: &str| {
        testing::client_from(
            std::path::Path::new(&support::java_fixture(&format!("testcloud2/{name}.p12"))),
            &master,
        )
    };
    let cloud = Cloud::start_with(support::Pki::Java, true, java_client("orchestrator"));
    let ca = Keystore::from_pkcs12_file(
        std::path::Path::new(&support::java_fixture("testcloud2/testcloud2.p12")),
        "123456",
    )
    .unwrap();
    let issuer = pki::Issued {
        cert: ca.cert.clone(),
        key: ca.key.clone(),
    };
    let app = |name: &str| {
        let leaf = pki::make_leaf(&issuer, name, &[], 1).unwrap();
        let path = std::env::temp_dir().join(format!("ah-orch-{name}-{}.p12", std::process::id()));
        std::fs::write(
            &path,
            pki::keystore_p12(name, &leaf, &[&ca.cert, &master], "123456").unwrap(),
        )
        .unwrap();
        let c = testing::client_from(&path, &master);
        std::fs::remove_file(&path).ok();
        c
    };
    let (provider, consumer) = (app("demo-provider"), app("demo-consumer"));
    let (status, entry) = post(
        &provider,
        &cloud.sr_url("/register"),
        &json!({"serviceDefinition": "temperature",
        "providerSystem": {"systemName": "demo-provider", "address": "127.0.0.1", "port": 9001, "authenticationInfo": "a2V5"},
        "serviceUri": "/t", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"]}),
    );
    assert_eq!(status, 201, "{entry}");
    let (status, me) = post(
        &consumer,
        &cloud.sr_url("/register-system"),
        &json!({"systemName": "demo-consumer", "address": "127.0.0.1", "port": 9002}),
    );
    assert_eq!(status, 201, "{me}");
    let (status, got) = post(
        &java_client("sysop"),
        &cloud.auth_url("/mgmt/intracloud"),
        &json!({
        "consumerId": me["id"], "providerIds": [entry["provider"]["id"]],
        "serviceDefinitionIds": [entry["serviceDefinition"]["id"]], "interfaceIds": [entry["interfaces"][0]["id"]]}),
    );
    assert_eq!(status, 201, "{got}");
    // The Java sample orchestrator certificate names only 127.0.0.1 (no DNS name).
    let orchestration = cloud
        .orch_url("/orchestration")
        .replace("localhost", "127.0.0.1");
    let (status, got) = post(
        &consumer,
        &orchestration,
        &json!({
        "requesterSystem": {"systemName": "demo-consumer", "address": "127.0.0.1", "port": 9002},
        "requestedService": {"serviceDefinitionRequirement": "temperature"},
        "orchestrationFlags": {"overrideStore": true, "matchmaking": true}}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["response"][0]["provider"]["systemName"],
        "demo-provider"
    );
    assert_eq!(got["response"][0]["serviceUri"], "/t");
}

/// Hostile certificates (forged chains, look-alike names, another cloud's CA) are never the sysop.
#[test]
fn hostile_certificates_are_refused() {
    let cloud = Cloud::start();
    testing::assert_hostile_refused(&cloud.orch_url("/mgmt/store"));
}
