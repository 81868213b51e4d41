//! The Authorization binary finds the Service Registry by itself: started first, it keeps
//! retrying, registers its services once the registry is up, and removes them when stopped.

#![allow(clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use serde_json::{json, Value};
use std::process::{Command, Stdio};
use std::time::Duration;
use testing::{client, free_port, read, wait_for, RunningServer, StartFuture, TestDb};

fn query(sr_port: u16, definition: &str) -> Option<Value> {
    let resp = client("orchestrator")
        .post(format!("https://localhost:{sr_port}/serviceregistry/query"))
        .json(&json!({"serviceDefinitionRequirement": definition}))
        .send()
        .ok()?;
    Some(read(resp).1)
}

#[test]
fn registers_when_the_registry_appears_and_leaves_on_shutdown() {
    let db = TestDb::new();
    // The Authorization system is a child process: it binds its own port.
    let (sr_port, auth_port) = (free_port(), testing::closed_port());
    let config = std::env::temp_dir().join(format!("ah-auth-{}.properties", std::process::id()));
    std::fs::write(
        &config,
        format!(
            "{}server.port={auth_port}\ndomain.port={auth_port}\nsr_address=localhost\nsr_port={sr_port}\n",
            testing::secure_properties("authorization", &db)
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_authorization"))
        .args(["--config", config.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Up and answering before any registry exists.
    wait_for("authorization", Duration::from_secs(20), || {
        client("sysop")
            .get(format!("https://localhost:{auth_port}/authorization/echo"))
            .send()
            .is_ok_and(|r| r.status().is_success())
    });

    let _sr = start_registry(&db, sr_port);

    wait_for("registration", Duration::from_secs(20), || {
        query(sr_port, "auth-public-key").is_some_and(|v| v["unfilteredHits"] == 1)
    });
    let got = query(sr_port, "token-generation").unwrap();
    let entry = &got["serviceQueryData"][0];
    assert_eq!(entry["provider"]["systemName"], "authorization");
    assert_eq!(entry["provider"]["port"], auth_port);
    assert_eq!(entry["serviceUri"], "/authorization/token");
    assert_eq!(entry["secure"], "CERTIFICATE");
    assert_eq!(entry["interfaces"][0]["interfaceName"], "HTTP-SECURE-JSON");
    let published: String = serde_json::from_value(
        read(
            client("sysop")
                .get(format!(
                    "https://localhost:{auth_port}/authorization/publickey"
                ))
                .send()
                .unwrap(),
        )
        .1,
    )
    .unwrap();
    assert_eq!(entry["provider"]["authenticationInfo"], published);
    for def in [
        "authorization-control-intra",
        "authorization-control-inter",
        "authorization-control-subscription",
    ] {
        assert_eq!(query(sr_port, def).unwrap()["unfilteredHits"], 1, "{def}");
    }

    // SIGTERM: graceful stop, then the entries are gone.
    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        query(sr_port, "token-generation").unwrap(),
        json!({"serviceQueryData": [], "unfilteredHits": 0})
    );
    std::fs::remove_file(config).ok();
}

/// After rule changes, the Event Handler (found through the Service Registry) receives a
/// `SUBSCRIBER_AUTH_UPDATE` naming the consumer, without the operator's request waiting for it.
#[test]
fn rule_changes_reach_the_event_handler() {
    use diesel::connection::SimpleConnection;
    let db = TestDb::new();
    let sr_port = free_port();
    let _sr = start_registry(&db, sr_port);

    // A stand-in Event Handler: a real mTLS server with the eventhandler certificate.
    let pki = testing::pki();
    let (eh, received) = testing::recording_server(
        &pki.keystore("eventhandler"),
        &pki.truststore(),
        "/eventhandler/publish/authupdate",
        0,
    );
    let registration = json!({"serviceDefinition": "event-publish-auth-update",
        "providerSystem": {"systemName": "eventhandler", "address": "127.0.0.1", "port": eh.port, "authenticationInfo": "a2V5"},
        "serviceUri": "/eventhandler/publish/authupdate", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"]});
    let resp = client("eventhandler")
        .post(format!(
            "https://localhost:{sr_port}/serviceregistry/register"
        ))
        .json(&registration)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 201);

    let auth_props = format!(
        "{}sr_address=localhost\nsr_port={sr_port}\neventhandler_is_present=true\n",
        testing::secure_properties("authorization", &db)
    );
    let auth_settings = authorization::Settings::from_core(
        CoreSettings::from_properties(
            CoreSystem::Authorization,
            Properties::parse(&auth_props).with_env(std::iter::empty()),
        )
        .unwrap(),
    )
    .unwrap();
    let auth = RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            authorization::start(auth_settings, Duration::from_secs(10))
                .await
                .map(|s| s.running)
        })
    });
    db.connect()
        .batch_execute(
            "INSERT INTO system_ (system_name, address, port) VALUES ('subscriber','127.0.0.1',5000),('publisher','127.0.0.1',6000);
             INSERT INTO service_definition (service_definition) VALUES ('temperature');",
        )
        .unwrap();
    let consumer = id_of(
        &db,
        "SELECT id FROM system_ WHERE system_name = 'subscriber'",
    );
    let provider = id_of(
        &db,
        "SELECT id FROM system_ WHERE system_name = 'publisher'",
    );
    let service = id_of(
        &db,
        "SELECT id FROM service_definition WHERE service_definition = 'temperature'",
    );
    let url = format!("{}/authorization/mgmt/intracloud", auth.origin);
    let (status, created) = read(
        client("sysop")
            .post(&url)
            .json(&json!({"consumerId": consumer, "providerIds": [provider], "serviceDefinitionIds": [service], "interfaceIds": [1]}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{created}");
    wait_for("the create notification", Duration::from_secs(20), || {
        received.lock().unwrap().len() == 1
    });
    let event = received.lock().unwrap()[0].clone();
    assert_eq!(event["eventType"], "SUBSCRIBER_AUTH_UPDATE");
    assert_eq!(event["payload"], consumer.to_string());
    assert_eq!(event["source"]["systemName"], "authorization");
    assert!(event["timeStamp"].as_str().unwrap().ends_with('Z'));
    let rule = created["data"][0]["id"].as_i64().unwrap();
    assert_eq!(
        read(
            client("sysop")
                .delete(format!("{url}/{rule}"))
                .send()
                .unwrap()
        )
        .0,
        200
    );
    wait_for("the delete notification", Duration::from_secs(20), || {
        received.lock().unwrap().len() == 2
    });
    assert_eq!(received.lock().unwrap()[1]["payload"], consumer.to_string());
}

fn id_of(db: &TestDb, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    diesel::sql_query(sql)
        .load::<Id>(&mut db.connect())
        .unwrap()[0]
        .id
}

/// A Service Registry on `port` over the test database.
fn start_registry(db: &TestDb, port: u16) -> RunningServer {
    let props = format!(
        "{}server.port={port}\ndomain.port={port}\nallow_self_addressing=true\n",
        testing::secure_properties("serviceregistry", db)
    );
    let settings = serviceregistry::Settings::from_core(
        CoreSettings::from_properties(
            CoreSystem::ServiceRegistry,
            Properties::parse(&props).with_env(std::iter::empty()),
        )
        .unwrap(),
    )
    .unwrap();
    RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            serviceregistry::start(settings, Duration::from_secs(10))
                .await
                .map_err(|e| e.to_string())
        })
    })
}

/// Started with another core system's keystore, the Authorization system (and every system on
/// the shared startup path) refuses to start, naming both, before it writes or registers anything.
#[test]
fn refuses_another_systems_certificate() {
    let db = TestDb::new();
    let props = testing::secure_properties("authorization", &db).replace(
        &format!(
            "server.ssl.key-store={}",
            testing::pki().keystore("authorization").display()
        ),
        &format!(
            "server.ssl.key-store={}",
            testing::pki().keystore("orchestrator").display()
        ),
    );
    let settings = authorization::Settings::from_core(
        CoreSettings::from_properties(
            CoreSystem::Authorization,
            Properties::parse(&props).with_env(std::iter::empty()),
        )
        .unwrap(),
    )
    .unwrap();
    let err = actix_web::rt::System::new()
        .block_on(authorization::start(settings, Duration::from_secs(5)))
        .err()
        .unwrap();
    assert!(
        err.contains("orchestrator.testcloud.aitia.arrowhead.eu") && err.contains("AUTHORIZATION"),
        "{err}"
    );
}
