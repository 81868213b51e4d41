//! Group commit of registrations on a real MariaDB: registrations written together get exactly
//! the answers they would get alone (duplicates, errors, several providers, definitions and
//! interfaces in one group), a group is one transaction of six statements whatever its size,
//! and a burst of concurrent `/register` calls over mutual TLS is answered entry by entry as
//! stored.

#![allow(clippy::unwrap_used)]

mod support;

use common::db::registry_read::SecurityType;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use serviceregistry::registry;
use serviceregistry::validate::{self, Policy, ValidEntry};
use support::TestServer;
use testing::{client, error, read, session_counter};

fn body(def: &str, port: u16, uri: &str, interfaces: &[&str]) -> Value {
    json!({
        "serviceDefinition": def,
        "providerSystem": {"systemName": "provider", "address": "127.0.0.1", "port": port, "authenticationInfo": format!("a2V5LXtwb3J0fQ{port}")},
        "serviceUri": uri,
        "secure": "CERTIFICATE",
        "interfaces": interfaces,
        "metadata": {"uri": uri}
    })
}

fn valid(v: &Value) -> ValidEntry {
    let policy = Policy {
        secure: true,
        address: common::names::AddressPolicy {
            allow_self_addressing: true,
            allow_non_routable_addressing: true,
        },
        ..Policy::default()
    };
    let e = validate::entry(
        &serde_json::from_value(v.clone()).unwrap(),
        &policy,
        "/serviceregistry/register",
    )
    .unwrap();
    assert_eq!(e.secure, SecurityType::Certificate);
    e
}

/// Registrations of `temperature` by one provider, at `/t/<n>`.
fn temperatures(range: std::ops::Range<u32>) -> Vec<ValidEntry> {
    range
        .map(|i| {
            valid(&body(
                "temperature",
                9001,
                &format!("/t/{i}"),
                &["HTTP-SECURE-JSON"],
            ))
        })
        .collect()
}

fn duplicate(def: &str, port: u16, uri: &str) -> Value {
    error(
        &format!("Service Registry entry with provider: (provider, 127.0.0.1:{port}), service definition: {def} and service URI: {uri} already exists."),
        400,
        "INVALID_PARAMETER",
        None,
    )
}

/// What `/mgmt/{id}` answers for an entry: the registration's answer must be the same.
fn stored(sr: &TestServer, id: &Value) -> Value {
    let (status, got) = read(
        client("sysop")
            .get(sr.url(&format!("/mgmt/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{got}");
    got
}

#[test]
fn a_group_is_one_transaction_and_answers_as_alone() {
    let sr = TestServer::secure();
    let mut conn = sr.db.connect();
    let before = sr.db.count("service_registry");

    // Eight registrations of a known definition by one provider: one transaction of six
    // statements (BEGIN, the lookup, the insert, the read-back, the links, COMMIT).
    let group = temperatures(0..8);
    // The definition and provider exist first (a system's first registration creates them).
    registry::register(
        &mut conn,
        &valid(&body("temperature", 9001, "/first", &["HTTP-SECURE-JSON"])),
    )
    .unwrap();
    let (commits, executes) = (
        session_counter(&mut conn, "Com_commit"),
        session_counter(&mut conn, "Com_stmt_execute"),
    );
    let answers = registry::register_all(&mut conn, &group);
    // The two SHOW statements themselves are one execute each.
    assert_eq!(
        session_counter(&mut conn, "Com_stmt_execute") - executes - 1,
        6,
        "six statements for eight registrations"
    );
    assert_eq!(session_counter(&mut conn, "Com_commit") - commits, 1);
    for (i, a) in answers.iter().enumerate() {
        let a = serde_json::to_value(a.as_ref().unwrap()).unwrap();
        assert_eq!(a["serviceUri"], format!("/t/{i}"));
        assert_eq!(a, stored(&sr, &a["id"]), "answer {i} is what was stored");
    }
    // The next group of that size prepares nothing again (the statements are kept).
    let prepares = session_counter(&mut conn, "Com_stmt_prepare");
    let group = temperatures(8..16);
    assert!(registry::register_all(&mut conn, &group)
        .iter()
        .all(Result::is_ok));
    assert_eq!(session_counter(&mut conn, "Com_stmt_prepare") - prepares, 1);

    // A mixed group: a new definition, a new interface, a second provider, two interfaces in
    // order, a duplicate of a stored entry, the same registration twice, and one the database
    // refuses (4-byte UTF-8 in a table of the Java schema's 3-byte utf8). Any failure writes the
    // group one by one, so each gets its own answer.
    conn.batch_execute(
        "ALTER TABLE service_registry CONVERT TO CHARACTER SET utf8 COLLATE utf8_general_ci",
    )
    .unwrap();
    let mixed = [
        body(
            "humidity",
            9001,
            "/h",
            &["HTTP-SECURE-JSON", "GROUP_NEW-SECURE-JSON"],
        ),
        body("temperature", 9001, "/t/3", &["HTTP-SECURE-JSON"]),
        body(
            "temperature",
            9002,
            "/t/3",
            &["GROUP_NEW-SECURE-JSON", "HTTP-SECURE-JSON"],
        ),
        body(
            "humidity",
            9001,
            "/h",
            &["HTTP-SECURE-JSON", "GROUP_NEW-SECURE-JSON"],
        ),
        body("temperature", 9002, "/🌡", &["HTTP-SECURE-JSON"]),
        body("pressure", 9003, "/p", &["HTTP-SECURE-JSON"]),
    ];
    let entries: Vec<ValidEntry> = mixed.iter().map(valid).collect();
    let answers = registry::register_all(&mut conn, &entries);
    let ok = |n: usize| serde_json::to_value(answers[n].as_ref().unwrap()).unwrap();
    let refused =
        |n: usize| serde_json::to_value(answers[n].as_ref().unwrap_err().to_message()).unwrap();
    for n in [0, 2, 5] {
        let a = ok(n);
        assert_eq!(
            a,
            stored(&sr, &a["id"]),
            "mixed answer {n} is what was stored"
        );
    }
    let names = |a: &Value| -> Vec<Value> {
        a["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["interfaceName"].clone())
            .collect()
    };
    assert_eq!(
        names(&ok(2)),
        vec![json!("GROUP_NEW-SECURE-JSON"), json!("HTTP-SECURE-JSON")]
    );
    assert_eq!(ok(2)["provider"]["port"], 9002);
    assert_eq!(refused(1), duplicate("temperature", 9001, "/t/3"));
    assert_eq!(refused(3), duplicate("humidity", 9001, "/h"));
    assert!(
        refused(4)["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("The value of serviceUri holds characters this database cannot store"),
        "{}",
        refused(4)
    );
    assert_eq!(refused(4)["errorCode"], 400);
    // 1 + 16 + 3 stored, nothing of the refused ones.
    assert_eq!(sr.db.count("service_registry"), before + 20);
}

/// Many providers registering at the same moment over HTTPS: every registration answered
/// exactly as stored, every duplicate refused with Java's message, nothing lost or doubled.
#[test]
fn a_burst_of_registrations_is_answered_entry_by_entry() {
    let sr = TestServer::secure();
    let before = sr.db.count("service_registry");
    let defs = ["burst-a", "burst-b", "burst-new"];
    let mut bodies: Vec<Value> = (0..48u16)
        .map(|i| {
            let interfaces: &[&str] = if i % 2 == 0 {
                &["HTTP-SECURE-JSON"]
            } else {
                &["HTTP-SECURE-JSON", "BURST-SECURE-JSON"]
            };
            body(
                defs[usize::from(i % 3)],
                9001 + i % 4,
                &format!("/b/{i}"),
                interfaces,
            )
        })
        .collect();
    // Eight registrations sent twice at once.
    bodies.extend(bodies[..8].to_vec());
    let start = std::sync::Arc::new(std::sync::Barrier::new(bodies.len()));
    let url = sr.url("/register");
    let threads: Vec<_> = bodies
        .iter()
        .cloned()
        .map(|b| {
            let (start, url) = (start.clone(), url.clone());
            std::thread::spawn(move || {
                let c = client("provider");
                // The TLS handshake first, so the registrations arrive together.
                let echo = url.replace("/register", "/echo");
                assert_eq!(c.get(&echo).send().unwrap().status(), 200);
                start.wait();
                read(c.post(&url).json(&b).send().unwrap())
            })
        })
        .collect();
    let answers: Vec<(u16, Value)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for i in 0..48 {
        let mut of_this: Vec<&(u16, Value)> = vec![&answers[i]];
        if i < 8 {
            of_this.push(&answers[48 + i]);
        }
        let created: Vec<&Value> = of_this
            .iter()
            .filter(|(s, _)| *s == 201)
            .map(|(_, v)| v)
            .collect();
        assert_eq!(created.len(), 1, "registration {i}: {of_this:?}");
        let a = created[0];
        assert_eq!(a["serviceUri"], format!("/b/{i}"));
        assert_eq!(a["serviceDefinition"]["serviceDefinition"], defs[i % 3]);
        assert_eq!(a["metadata"], json!({"uri": format!("/b/{i}")}));
        assert_eq!(
            *a,
            stored(&sr, &a["id"]),
            "registration {i} answered as stored"
        );
        for (status, refused) in of_this.iter().filter(|(s, _)| *s != 201) {
            let port = 9001 + u16::try_from(i % 4).unwrap();
            assert_eq!(
                (*status, refused.clone()),
                (400, duplicate(defs[i % 3], port, &format!("/b/{i}")))
            );
        }
    }
    assert_eq!(sr.db.count("service_registry"), before + 48);
}

/// A registration chosen as a deadlock's victim runs again instead of answering 500: here it
/// creates a provider and an interface that another transaction creates in the opposite order.
#[test]
fn a_registration_that_loses_a_deadlock_runs_again() {
    let sr = TestServer::secure();
    let mut other = sr.db.connect();
    // The other transaction: heavier (many rows written), so the database picks the
    // registration as the victim; it holds the new interface first.
    other.batch_execute("BEGIN").unwrap();
    for n in 0..30 {
        other
            .batch_execute(&format!(
                "INSERT INTO service_definition (service_definition) VALUES ('weight-{n}')"
            ))
            .unwrap();
    }
    other
        .batch_execute(
            "INSERT INTO service_interface (interface_name) VALUES ('DEADLOCK-SECURE-JSON')",
        )
        .unwrap();
    let entry = valid(&body("temperature", 9100, "/d", &["DEADLOCK-SECURE-JSON"]));
    let db = sr.db.share();
    // The registration creates the provider, then waits for the interface.
    let registering = std::thread::spawn(move || registry::register(&mut db.connect(), &entry));
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Now the other transaction wants the provider: a deadlock, the registration its victim.
    other
        .batch_execute(
            "INSERT INTO system_ (system_name, address, address_type, port) \
             VALUES ('provider', '127.0.0.1', 'IPV4', 9100)",
        )
        .unwrap();
    other.batch_execute("COMMIT").unwrap();
    let registered = registering.join().unwrap();
    let registered = serde_json::to_value(registered.unwrap()).unwrap();
    assert_eq!(registered, stored(&sr, &registered["id"]));
    assert_eq!(
        registered["interfaces"][0]["interfaceName"],
        "DEADLOCK-SECURE-JSON"
    );
    // The provider row is the other transaction's, updated to the registration's details.
    assert_eq!(
        registered["provider"]["authenticationInfo"],
        "a2V5LXtwb3J0fQ9100"
    );
    assert_eq!(
        sr.db.count("system_"),
        2,
        "the registry itself and the provider"
    );
}

/// A find-or-create that meets a row another transaction committed after this transaction's
/// snapshot was taken (two registrations creating the same provider, definition or interface
/// at once) returns that row: the upsert sees it, and so must the read-back, which a plain
/// read under REPEATABLE READ would not (the 500 that made the deadlock test above flaky).
#[test]
fn a_row_committed_after_the_snapshot_is_found_by_find_or_create() {
    use common::db::models;
    let sr = TestServer::secure();
    let mut late = sr.db.connect();
    let mut other = sr.db.connect();
    late.batch_execute("BEGIN").unwrap();
    // The snapshot: this transaction's reads from now on see the tables as they are now.
    late.batch_execute("SELECT COUNT(*) FROM system_; SELECT COUNT(*) FROM service_definition; SELECT COUNT(*) FROM service_interface")
        .unwrap();
    other
        .batch_execute(
            "INSERT INTO system_ (system_name, address, address_type, port, authentication_info) \
             VALUES ('racer', '127.0.0.1', 'IPV4', 9200, 'other-key'); \
             INSERT INTO service_definition (service_definition) VALUES ('raced'); \
             INSERT INTO service_interface (interface_name) VALUES ('RACED-SECURE-JSON')",
        )
        .unwrap();
    let values = models::SystemValues {
        system_name: "racer".into(),
        address: "127.0.0.1".into(),
        address_type: Some("IPV4".into()),
        port: 9200,
        authentication_info: Some("my-key".into()),
        metadata: None,
    };
    let system = models::insert_system(&mut late, &values).unwrap();
    assert_eq!((system.system_name.as_str(), system.port), ("racer", 9200));
    assert_eq!(system.authentication_info.as_deref(), Some("other-key"));
    let def = models::service_definition_for(&mut late, "raced").unwrap();
    assert_eq!(def.service_definition, "raced");
    let interface = models::interface_for(&mut late, "RACED-SECURE-JSON").unwrap();
    assert_eq!(interface.interface_name, "RACED-SECURE-JSON");
    late.batch_execute("COMMIT").unwrap();
    assert_eq!(sr.db.count("system_"), 2, "the registry itself and racer");
}
