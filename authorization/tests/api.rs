//! The Authorization system over HTTPS with client certificates on a real database: rule
//! management, the intra-cloud check, and tokens that the provider can decrypt and verify.

#![allow(clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use common::tls::Keystore;
use diesel::connection::SimpleConnection;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::time::{Duration, SystemTime};
use testing::{client, error, pki, read, scrub, RunningServer, StartFuture, TestDb};

struct Auth {
    base: String,
    _server: RunningServer,
    /// Declared after the server, so it is dropped after the server stopped.
    _db: TestDb,
}

impl Auth {
    fn start() -> Self {
        let db = TestDb::new();
        let props = Properties::parse(&testing::secure_properties("authorization", &db))
            .with_env(std::iter::empty());
        let settings = authorization::Settings::from_core(
            CoreSettings::from_properties(CoreSystem::Authorization, props).unwrap(),
        )
        .unwrap();
        let server = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                authorization::start(settings, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        });
        // Systems 1-3, service definitions 1-2, interface 3 (1 and 2 are seeded).
        db.connect()
            .batch_execute(
                "INSERT INTO system_ (system_name, address, port) VALUES ('consumer','127.0.0.1',5000),('provider','127.0.0.1',6000),('other','127.0.0.1',7000);
                 INSERT INTO service_definition (service_definition) VALUES ('temperature'),('humidity');
                 INSERT INTO service_interface (interface_name) VALUES ('HTTP-SECURE-XML');",
            )
            .unwrap();
        Self {
            base: format!("{}/authorization", server.origin),
            _db: db,
            _server: server,
        }
    }
    fn url(&self, p: &str) -> String {
        format!("{}{p}", self.base)
    }
}

fn post(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.post(url).json(body).send().unwrap())
}

#[test]
fn echo_and_public_key() {
    let auth = Auth::start();
    assert_eq!(
        read(client("consumer").get(auth.url("/echo")).send().unwrap()),
        (200, json!("Got it!"))
    );
    let expected = Keystore::from_pkcs12_file(&pki().keystore("authorization"), testing::PASSWORD)
        .unwrap()
        .public_key_base64()
        .unwrap();
    assert_eq!(
        read(
            client("consumer")
                .get(auth.url("/publickey"))
                .send()
                .unwrap()
        ),
        (200, json!(expected))
    );
    let (status, doc) = read(
        client("sysop")
            .get(
                auth.base
                    .replace("/authorization", "/api-docs/openapi.json"),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    for path in [
        "/authorization/token",
        "/authorization/subscription/check",
        "/authorization/intercloud/check",
        "/authorization/mgmt/intercloud/{id}",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} missing from the OpenAPI document"
        );
    }
}

#[test]
fn management_logs() {
    let auth = Auth::start();
    testing::check_mgmt_logs(&auth._db, &auth.base, "AUTHORIZATION");
}

#[test]
fn rule_management() {
    let auth = Auth::start();
    let sysop = client("sysop");
    let url = auth.url("/mgmt/intracloud");
    // Several providers and interfaces, one service.
    let (status, got) = post(
        &sysop,
        &url,
        &json!({"consumerId": 1, "providerIds": [2, 3], "serviceDefinitionIds": [1], "interfaceIds": [1, 3]}),
    );
    assert_eq!(status, 201, "{got}");
    let got = scrub(got);
    assert_eq!(got["count"], 2);
    assert_eq!(
        got["data"][0],
        json!({
            "id": 1,
            "consumerSystem": {"id": 1, "systemName": "consumer", "address": "127.0.0.1", "port": 5000, "createdAt": "<ts>", "updatedAt": "<ts>"},
            "providerSystem": {"id": 2, "systemName": "provider", "address": "127.0.0.1", "port": 6000, "createdAt": "<ts>", "updatedAt": "<ts>"},
            "serviceDefinition": {"id": 1, "serviceDefinition": "temperature", "createdAt": "<ts>", "updatedAt": "<ts>"},
            "interfaces": [
                {"id": 1, "interfaceName": "HTTP-SECURE-JSON", "createdAt": "<ts>", "updatedAt": "<ts>"},
                {"id": 3, "interfaceName": "HTTP-SECURE-XML", "createdAt": "<ts>", "updatedAt": "<ts>"}
            ],
            "createdAt": "<ts>",
            "updatedAt": "<ts>"
        })
    );
    // One provider and interface, several services (the onboarding controller may do this too).
    let (status, got) = post(
        &client("onboardingcontroller"),
        &url,
        &json!({"consumerId": 3, "providerIds": [2], "serviceDefinitionIds": [1, 2], "interfaceIds": [1]}),
    );
    assert_eq!((status, got["count"].as_i64()), (201, Some(2)));

    let cases = [
        (json!({"consumerId": 1, "providerIds": [2, 3], "serviceDefinitionIds": [1, 2], "interfaceIds": [1]}),
         "Either one provider and one interface with several service definitions, or several providers and interfaces with one service definition can be given."),
        (json!({"providerIds": [2], "serviceDefinitionIds": [1], "interfaceIds": [1]}), "Consumer system id must be greater than 0."),
        (json!({"consumerId": 1, "providerIds": [], "serviceDefinitionIds": [1], "interfaceIds": [1]}), "Provider id list is null or empty."),
        (json!({"consumerId": 1, "providerIds": [0], "serviceDefinitionIds": [1], "interfaceIds": [1]}), "Provider ids must be greater than 0."),
    ];
    for (body, message) in cases {
        assert_eq!(
            post(&sysop, &url, &body),
            (
                400,
                error(
                    message,
                    400,
                    "BAD_PAYLOAD",
                    Some("/authorization/mgmt/intracloud")
                )
            ),
            "{body}"
        );
    }
    assert_eq!(
        post(
            &sysop,
            &url,
            &json!({"consumerId": 1, "providerIds": [99], "serviceDefinitionIds": [1], "interfaceIds": [1]})
        ),
        (
            400,
            error(
                "System with id of '99' not exists",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    assert_eq!(
        post(&sysop, &url, &json!({"consumerId": 1, "providerIds": [2], "serviceDefinitionIds": [1], "interfaceIds": [1]})),
        (400, error("AuthorizationIntraCloud entry with consumer id '1', provider id '2' and service definition id '1' already exists", 400, "INVALID_PARAMETER", None))
    );

    let (status, got) = read(
        sysop
            .get(format!("{url}?page=0&item_per_page=3&direction=DESC"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (
            status,
            got["count"].as_i64(),
            got["data"].as_array().unwrap().len(),
            got["data"][0]["id"].as_i64()
        ),
        (200, Some(4), 3, Some(4))
    );
    assert_eq!(
        read(sysop.get(format!("{url}/2")).send().unwrap()).1["providerSystem"]["systemName"],
        "other"
    );
    assert_eq!(
        read(sysop.delete(format!("{url}/2")).send().unwrap()),
        (200, json!(""))
    );
    assert_eq!(
        read(sysop.get(format!("{url}/2")).send().unwrap()),
        (
            400,
            error(
                "AuthorizationIntraCloud with id of '2' not exists",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    // Access: only the exact list/create path is open to the onboarding controller.
    assert_eq!(
        read(
            client("onboardingcontroller")
                .get(format!("{url}/1"))
                .send()
                .unwrap()
        )
        .0,
        401
    );
    assert_eq!(
        read(client("orchestrator").get(&url).send().unwrap()).0,
        401
    );
    assert_eq!(read(client("consumer").get(&url).send().unwrap()).0, 401);
}

#[test]
fn intra_cloud_check_returns_the_authorized_providers_and_interfaces() {
    let auth = Auth::start();
    let created = post(
        &client("sysop"),
        &auth.url("/mgmt/intracloud"),
        &json!({"consumerId": 1, "providerIds": [2], "serviceDefinitionIds": [1], "interfaceIds": [1]}),
    );
    assert_eq!(created.0, 201);
    let check = |who: &str, consumer: Value| {
        post(
            &client(who),
            &auth.url("/intracloud/check"),
            &json!({"consumer": consumer, "serviceDefinitionId": 1, "providerIdsWithInterfaceIds": [{"id": 2, "idList": [1, 3]}, {"id": 3, "idList": [1]}, {"id": 77, "idList": [1]}]}),
        )
    };
    let (status, got) = check(
        "orchestrator",
        json!({"systemName": "Consumer", "address": "127.0.0.1", "port": 5000}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        scrub(got["authorizedProviderIdsWithInterfaceIds"].clone()),
        json!([{"id": 2, "idList": [1]}])
    );
    assert_eq!(
        (
            got["serviceDefinitionId"].as_i64(),
            got["consumer"]["id"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let (status, got) = check(
        "gatekeeper",
        json!({"systemName": "nobody", "address": "127.0.0.1", "port": 1}),
    );
    assert_eq!(
        (status, got),
        (400, error("Consumer with name: nobody, address: 127.0.0.1, port: 1 is not exist in the database.", 400, "INVALID_PARAMETER", None))
    );
    assert_eq!(
        check(
            "consumer",
            json!({"systemName": "consumer", "address": "127.0.0.1", "port": 5000})
        )
        .0,
        401
    );
    let (status, got) = post(
        &client("orchestrator"),
        &auth.url("/intracloud/check"),
        &json!({"consumer": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000}, "serviceDefinitionId": 1}),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Provider list is null or empty.",
                400,
                "BAD_PAYLOAD",
                Some("/authorization/intracloud/check")
            )
        )
    );
}

#[test]
fn tokens_verify_with_the_providers_key_and_the_published_key() {
    let auth = Auth::start();
    let provider =
        Keystore::from_pkcs12_file(&pki().keystore("provider"), testing::PASSWORD).unwrap();
    let body = |info: &str, cloud: Option<Value>| {
        let mut b = json!({
            "consumer": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000},
            "service": "Temperature",
            "providers": [
                {"provider": {"systemName": "provider", "address": "127.0.0.1", "port": 6000, "authenticationInfo": info},
                 "serviceInterfaces": ["HTTP-SECURE-JSON", "http-secure-xml"], "tokenDuration": 120},
                {"provider": {"systemName": "broken", "address": "127.0.0.1", "port": 6001, "authenticationInfo": "bm90IGEga2V5"},
                 "serviceInterfaces": ["HTTP-SECURE-JSON"]}
            ]
        });
        if let Some(c) = cloud {
            b["consumerCloud"] = c;
        }
        b
    };
    let (status, got) = post(
        &client("orchestrator"),
        &auth.url("/token"),
        &body(&provider.public_key_base64().unwrap(), None),
    );
    assert_eq!(status, 200, "{got}");
    let data = got["tokenData"].as_array().unwrap();
    assert_eq!(
        data.len(),
        1,
        "the provider without a readable key is skipped"
    );
    assert_eq!(
        (
            data[0]["providerName"].as_str(),
            data[0]["providerAddress"].as_str(),
            data[0]["providerPort"].as_i64()
        ),
        (Some("provider"), Some("127.0.0.1"), Some(6000))
    );
    let published: String = serde_json::from_value(
        read(
            client("provider")
                .get(auth.url("/publickey"))
                .send()
                .unwrap(),
        )
        .1,
    )
    .unwrap();
    let auth_key = common::token::public_key_from_base64(&published).unwrap();
    let now = SystemTime::now();
    for interface in ["HTTP-SECURE-JSON", "HTTP-SECURE-XML"] {
        let token = data[0]["tokens"][interface].as_str().unwrap();
        let v = common::token::verify(token, &provider.key, &auth_key, "consumer", now).unwrap();
        assert_eq!(
            v.grant.consumer, "consumer.testcloud.aitia",
            "own cloud from the certificate"
        );
        assert_eq!(
            (v.grant.service.as_str(), v.grant.interface.as_str()),
            ("temperature", interface)
        );
        let left = v.expires_at.unwrap().duration_since(now).unwrap().as_secs();
        assert!((118..=121).contains(&left), "{left}");
        assert!(common::token::verify(token, &provider.key, &auth_key, "intruder", now).is_err());
    }
    // A consumer of another cloud (inter-cloud) is named with its own cloud.
    let (_, got) = post(
        &client("orchestrator"),
        &auth.url("/token"),
        &body(
            &provider.public_key_base64().unwrap(),
            Some(json!({"operator": "Acme", "name": "Factory"})),
        ),
    );
    let token = got["tokenData"][0]["tokens"]["HTTP-SECURE-JSON"]
        .as_str()
        .unwrap();
    assert_eq!(
        common::token::verify(token, &provider.key, &auth_key, "consumer", now)
            .unwrap()
            .grant
            .consumer,
        "consumer.factory.acme"
    );

    let (status, got) = post(
        &client("orchestrator"),
        &auth.url("/token"),
        &body("bm90IGEga2V5", None),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Token generation failed for all the provider systems.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    let (status, got) = post(
        &client("orchestrator"),
        &auth.url("/token"),
        &json!({"consumer": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000}, "providers": []}),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Service is null or blank.",
                400,
                "BAD_PAYLOAD",
                Some("/authorization/token")
            )
        )
    );
    assert_eq!(
        post(&client("consumer"), &auth.url("/token"), &body("x", None)).0,
        401
    );
    assert_eq!(
        post(&client("gatekeeper"), &auth.url("/token"), &body("x", None)).0,
        401
    );
}

#[test]
fn token_multi_answers_each_request_with_its_consumer() {
    let auth = Auth::start();
    let provider =
        Keystore::from_pkcs12_file(&pki().keystore("provider"), testing::PASSWORD).unwrap();
    let key = provider.public_key_base64().unwrap();
    let request = |consumer: &str, port: u16, service: &str| {
        json!({
            "consumer": {"systemName": consumer, "address": "127.0.0.1", "port": port},
            "service": service,
            "providers": [{"provider": {"systemName": "provider", "address": "127.0.0.1", "port": 6000, "authenticationInfo": key},
                           "serviceInterfaces": ["HTTP-SECURE-JSON"]}]
        })
    };
    let (status, got) = post(
        &client("choreographer"),
        &auth.url("/token/multi"),
        &json!([
            request("consumer", 5000, "temperature"),
            request("other", 7000, "Humidity")
        ]),
    );
    assert_eq!(status, 200, "{got}");
    let data = got["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(
        (
            &data[1]["service"],
            &data[1]["consumerName"],
            &data[1]["consumerAdress"],
            &data[1]["consumerPort"]
        ),
        (
            &json!("humidity"),
            &json!("other"),
            &json!("127.0.0.1"),
            &json!(7000)
        )
    );
    let auth_key = common::token::public_key_from_base64(
        &serde_json::from_value::<String>(
            read(
                client("provider")
                    .get(auth.url("/publickey"))
                    .send()
                    .unwrap(),
            )
            .1,
        )
        .unwrap(),
    )
    .unwrap();
    for (i, consumer) in [(0, "consumer"), (1, "other")] {
        let token = data[i]["tokenData"][0]["tokens"]["HTTP-SECURE-JSON"]
            .as_str()
            .unwrap();
        let v = common::token::verify(token, &provider.key, &auth_key, consumer, SystemTime::now())
            .unwrap();
        assert_eq!(v.grant.consumer, format!("{consumer}.testcloud.aitia"));
        assert!(v.expires_at.is_none(), "no duration: no expiry");
    }
    // One bad request fails the whole call before any token is issued.
    let (status, got) = post(
        &client("orchestrator"),
        &auth.url("/token/multi"),
        &json!([
            request("consumer", 5000, "temperature"),
            request("other", 7000, " ")
        ]),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Service is null or blank.",
                400,
                "BAD_PAYLOAD",
                Some("/authorization/token/multi")
            )
        )
    );
    assert_eq!(
        post(
            &client("orchestrator"),
            &auth.url("/token/multi"),
            &json!([])
        ),
        (
            400,
            error(
                "Request list is null or empty.",
                400,
                "BAD_PAYLOAD",
                Some("/authorization/token/multi")
            )
        )
    );
    assert_eq!(
        post(
            &client("consumer"),
            &auth.url("/token/multi"),
            &json!([request("consumer", 5000, "t")])
        )
        .0,
        401
    );
}

#[test]
fn subscription_check_lists_the_publishers_a_subscriber_may_hear() {
    let auth = Auth::start();
    let sysop = client("sysop");
    let url = auth.url("/mgmt/intracloud");
    assert_eq!(post(&sysop, &url, &json!({"consumerId": 1, "providerIds": [2, 3], "serviceDefinitionIds": [1], "interfaceIds": [1]})).0, 201);
    assert_eq!(post(&sysop, &url, &json!({"consumerId": 1, "providerIds": [2], "serviceDefinitionIds": [2], "interfaceIds": [1]})).0, 201);
    let check =
        |who: &str, body: Value| post(&client(who), &auth.url("/subscription/check"), &body);
    let consumer = json!({"systemName": "consumer", "address": "127.0.0.1", "port": 5000});
    let (status, got) = check("eventhandler", json!({"consumer": consumer}));
    assert_eq!(status, 200, "{got}");
    let names: Vec<&str> = got["publishers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["systemName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["provider", "other"], "each publisher once");
    assert_eq!(got["consumer"]["systemName"], "consumer");
    let (_, got) = check(
        "eventhandler",
        json!({"consumer": consumer, "publishers": [{"systemName": "Other", "address": "127.0.0.1", "port": 7000}, {"systemName": "stranger", "address": "127.0.0.1", "port": 1}]}),
    );
    let names: Vec<&str> = got["publishers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["systemName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["other"]);
    // Nobody has rules for "other" as consumer.
    let (_, got) = check(
        "eventhandler",
        json!({"consumer": {"systemName": "other", "address": "127.0.0.1", "port": 7000}}),
    );
    assert_eq!(got["publishers"], json!([]));
    assert_eq!(check("orchestrator", json!({"consumer": consumer})).0, 401);
    let (status, got) = check(
        "eventhandler",
        json!({"consumer": {"systemName": "ghost", "address": "127.0.0.1", "port": 1}}),
    );
    assert_eq!((status, got), (400, error("Consumer with name: ghost, address: 127.0.0.1, port: 1 is not exist in the database.", 400, "INVALID_PARAMETER", None)));
}

#[test]
fn inter_cloud_rules_and_check() {
    let auth = Auth::start();
    auth._db
        .connect()
        .batch_execute("INSERT INTO cloud (operator, name, secure, neighbor, own_cloud) VALUES ('acme','factory',1,1,0);")
        .unwrap();
    let sysop = client("sysop");
    let url = auth.url("/mgmt/intercloud");
    let (status, got) = post(
        &sysop,
        &url,
        &json!({"cloudId": 1, "providerIdList": [2], "serviceDefinitionIdList": [1, 2], "interfaceIdList": [1]}),
    );
    assert_eq!(status, 201, "{got}");
    let got = scrub(got);
    assert_eq!(got["count"], 2);
    assert_eq!(
        got["data"][0],
        json!({
            "id": 1,
            "cloud": {"id": 1, "operator": "acme", "name": "factory", "secure": true, "neighbor": true, "ownCloud": false, "createdAt": "<ts>", "updatedAt": "<ts>"},
            "provider": {"id": 2, "systemName": "provider", "address": "127.0.0.1", "port": 6000, "createdAt": "<ts>", "updatedAt": "<ts>"},
            "serviceDefinition": {"id": 1, "serviceDefinition": "temperature", "createdAt": "<ts>", "updatedAt": "<ts>"},
            "interfaces": [{"id": 1, "interfaceName": "HTTP-SECURE-JSON", "createdAt": "<ts>", "updatedAt": "<ts>"}],
            "createdAt": "<ts>",
            "updatedAt": "<ts>"
        })
    );
    assert_eq!(
        post(
            &sysop,
            &url,
            &json!({"cloudId": 9, "providerIdList": [2], "serviceDefinitionIdList": [1], "interfaceIdList": [1]})
        ),
        (
            400,
            error(
                "Cloud with id of '9' not exists",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    assert_eq!(
        post(&sysop, &url, &json!({"cloudId": 1, "providerIdList": [2], "serviceDefinitionIdList": [1], "interfaceIdList": [1]})),
        (400, error("AuthorizationInterCloud entry with cloud id '1', provider id '2' and service definition id '1' already exists", 400, "INVALID_PARAMETER", None))
    );
    assert_eq!(
        read(sysop.get(format!("{url}?direction=DESC")).send().unwrap()).1["data"][0]["id"],
        2
    );
    assert_eq!(
        read(sysop.get(format!("{url}/2")).send().unwrap()).1["serviceDefinition"]
            ["serviceDefinition"],
        "humidity"
    );
    assert_eq!(
        read(client("onboardingcontroller").get(&url).send().unwrap()).0,
        401,
        "only intra-cloud rules are open to onboarding"
    );

    let check = |who: &str, cloud: Value| {
        post(
            &client(who),
            &auth.url("/intercloud/check"),
            &json!({"cloud": cloud, "serviceDefinition": "Temperature", "providerIdsWithInterfaceIds": [{"id": 2, "idList": [1, 3]}, {"id": 3, "idList": [1]}]}),
        )
    };
    let (status, got) = check("gatekeeper", json!({"operator": "acme", "name": "factory"}));
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        got["authorizedProviderIdsWithInterfaceIds"],
        json!([{"id": 2, "idList": [1]}])
    );
    assert_eq!(
        (
            got["serviceDefinition"].as_str(),
            got["cloud"]["name"].as_str()
        ),
        (Some("temperature"), Some("factory"))
    );
    let (status, got) = check(
        "gatekeeper",
        json!({"operator": "acme", "name": "elsewhere"}),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Cloud with operator: acme and name: elsewhere is not exist in the database.",
                400,
                "INVALID_PARAMETER",
                None
            )
        )
    );
    assert_eq!(
        check("consumer", json!({"operator": "acme", "name": "factory"})).0,
        401
    );

    assert_eq!(
        read(sysop.delete(format!("{url}/1")).send().unwrap()),
        (200, json!(""))
    );
    assert_eq!(
        check(
            "orchestrator",
            json!({"operator": "acme", "name": "factory"})
        )
        .1["authorizedProviderIdsWithInterfaceIds"],
        json!([])
    );
}

/// Hostile certificates (forged chains, look-alike names, another cloud's CA) are never the sysop.
#[test]
fn hostile_certificates_are_refused() {
    let auth = Auth::start();
    testing::assert_hostile_refused(&auth.url("/mgmt/intracloud"));
}

/// A `tokenDuration` beyond Java's Integer range is a 400 naming it, never an overflow (500).
#[test]
fn huge_token_durations_are_refused() {
    let auth = Auth::start();
    let provider =
        Keystore::from_pkcs12_file(&pki().keystore("provider"), testing::PASSWORD).unwrap();
    let key = provider.public_key_base64().unwrap();
    let body = |duration: Value| {
        json!({
            "consumer": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000},
            "service": "temperature",
            "providers": [{"provider": {"systemName": "provider", "address": "127.0.0.1", "port": 6000,
                                        "authenticationInfo": key},
                           "serviceInterfaces": ["HTTP-SECURE-JSON"], "tokenDuration": duration}]
        })
    };
    for huge in [
        json!(i64::MAX),
        json!(i64::MAX - 1),
        json!(i64::from(i32::MAX) + 1),
    ] {
        let (status, got) = post(&client("orchestrator"), &auth.url("/token"), &body(huge));
        assert_eq!(
            (status, got),
            (
                400,
                error(
                    &format!("Token duration must be at most {} seconds.", i32::MAX),
                    400,
                    "BAD_PAYLOAD",
                    Some("/authorization/token")
                )
            )
        );
    }
    let (status, got) = post(
        &client("orchestrator"),
        &auth.url("/token"),
        &body(json!(i32::MAX)),
    );
    assert_eq!(status, 200, "{got}");
}
