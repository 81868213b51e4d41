//! Startup paths: PEM key material, refusal of a server certificate that is not an Arrowhead
//! system name, and migrations run by several systems starting at the same moment.

#![allow(clippy::unwrap_used)]

mod support;

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use serde_json::json;
use std::time::Duration;
use support::TestServer;
use testing::{client, pki, read, TestDb};

#[test]
fn starts_from_pem_files() {
    let db = TestDb::new();
    let pki = pki();
    // PEM material as certgen writes it next to the keystores.
    let dir = std::env::temp_dir().join(format!("ah-pem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ks = common::tls::Keystore::from_pkcs12_file(
        &pki.keystore("serviceregistry"),
        testing::PASSWORD,
    )
    .unwrap();
    std::fs::write(dir.join("sr.chain.pem"), ks.chain_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join("sr.key"),
        ks.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    let trust = common::tls::load_trust(&common::config::TrustMaterial::Pkcs12 {
        path: pki.truststore(),
        password: testing::PASSWORD.into(),
    })
    .unwrap();
    std::fs::write(dir.join("trust.pem"), trust[0].to_pem().unwrap()).unwrap();
    let props = format!(
        "server.address=127.0.0.1\nserver.port=0\nserver.ssl.certificate={}\nserver.ssl.certificate-private-key={}\n\
         server.ssl.trust-certificate={}\nspring.datasource.url={}\nspring.datasource.username={}\nspring.datasource.password={}\n",
        dir.join("sr.chain.pem").display(),
        dir.join("sr.key").display(),
        dir.join("trust.pem").display(),
        db.jdbc_url(),
        db.settings.username,
        db.settings.password
    );
    let sr = TestServer::start(&props, db);
    assert_eq!(
        read(client("sysop").get(sr.url("/echo")).send().unwrap()),
        (200, json!("Got it!"))
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn refuses_a_server_certificate_that_is_not_an_arrowhead_name() {
    let db = TestDb::new();
    let props = support::secure_properties(&db).replace(
        &format!(
            "server.ssl.key-store={}",
            pki().keystore("serviceregistry").display()
        ),
        &format!(
            "server.ssl.key-store={}",
            pki().keystore("wrong-cn").display()
        ),
    );
    let settings = serviceregistry::Settings::from_core(
        CoreSettings::from_properties(
            CoreSystem::ServiceRegistry,
            Properties::parse(&props).with_env(std::iter::empty()),
        )
        .unwrap(),
    )
    .unwrap();
    let err = actix_web::rt::System::new()
        .block_on(serviceregistry::start(settings, Duration::from_secs(5)))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "Server CN (intruder.example.com) is not compliant with the Arrowhead certificate structure: expected <system>.<cloud>.<operator>.arrowhead.eu"
    );
}

/// Eight systems starting together on an empty database: one migrates, the others wait for the
/// lock and find nothing to do.
#[test]
fn concurrent_startups_migrate_once() {
    let db = TestDb::new();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let settings = db.settings.clone();
            std::thread::spawn(move || {
                common::db::connect(
                    &settings,
                    1,
                    Duration::from_secs(30),
                    serviceregistry::REQUIRED_TABLES,
                )
                .map(|_| ())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let applied: Vec<N> = diesel::sql_query("SELECT COUNT(*) AS n FROM __diesel_schema_migrations")
        .load(&mut db.connect())
        .unwrap();
    let migrations =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../common/migrations"))
            .unwrap()
            .count();
    assert_eq!(applied[0].n, migrations as i64);
    let seeded: Vec<N> = diesel::sql_query("SELECT COUNT(*) AS n FROM service_interface")
        .load(&mut db.connect())
        .unwrap();
    assert_eq!(seeded[0].n, 2);
}

fn start_error(system: CoreSystem, props: &str) -> String {
    let core = CoreSettings::from_properties(
        system,
        Properties::parse(props).with_env(std::iter::empty()),
    )
    .unwrap();
    actix_web::rt::System::new().block_on(async move {
        serviceregistry::start(
            serviceregistry::Settings::from_core(core).unwrap(),
            Duration::from_secs(5),
        )
        .await
        .err()
        .unwrap()
        .to_string()
    })
}

/// A core system started with another system's keystore refuses to start, naming both.
#[test]
fn refuses_another_systems_certificate() {
    let db = TestDb::new();
    let with_keystore = |props: String, own: &str, other: &str| {
        props.replace(
            &format!("server.ssl.key-store={}", pki().keystore(own).display()),
            &format!("server.ssl.key-store={}", pki().keystore(other).display()),
        )
    };
    let err = start_error(
        CoreSystem::ServiceRegistry,
        &with_keystore(
            support::secure_properties(&db),
            "serviceregistry",
            "consumer",
        ),
    );
    assert!(
        err.contains("consumer.testcloud.aitia.arrowhead.eu")
            && err.contains("serviceregistry")
            && err.contains("SERVICEREGISTRY"),
        "{err}"
    );
    // Nothing was written: no system record.
    use diesel::prelude::*;
    let n: i64 = common::db::schema::system_::table
        .count()
        .get_result(&mut db.connect())
        .unwrap_or(0);
    assert_eq!(n, 0);
}

/// A second registry on a taken port, with another domain name, stops before it touches the
/// running registry's records.
#[test]
fn a_second_start_on_a_taken_port_changes_nothing() {
    use diesel::prelude::*;
    use diesel::sql_types::{Integer, Text};
    #[derive(QueryableByName, Debug, PartialEq)]
    struct Own {
        #[diesel(sql_type = Text)]
        address: String,
        #[diesel(sql_type = Integer)]
        port: i32,
        #[diesel(sql_type = Text)]
        updated_at: String,
    }
    let sr = TestServer::secure();
    let own = || -> Vec<Own> {
        diesel::sql_query(
            "SELECT address, port, CAST(updated_at AS CHAR) AS updated_at FROM system_ WHERE system_name = 'serviceregistry'",
        )
        .load(&mut sr.db.connect())
        .unwrap()
    };
    let before = own();
    assert_eq!(before.len(), 1);
    let props = format!(
        "{}server.port={}\ndomain.name=127.0.0.2\n",
        support::secure_properties(&sr.db),
        sr.port
    );
    let err = start_error(CoreSystem::ServiceRegistry, &props);
    assert!(err.contains("Address already in use"), "{err}");
    assert_eq!(own(), before);
}

/// A wrong database password stops startup at once, saying so (not after the wait for the
/// database to come up).
#[test]
fn a_refused_database_login_fails_at_once() {
    let db = TestDb::new();
    let props = format!(
        "{}spring.datasource.password=not-the-password\n",
        support::secure_properties(&db)
    );
    let core = CoreSettings::from_properties(
        CoreSystem::ServiceRegistry,
        Properties::parse(&props).with_env(std::iter::empty()),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let err = actix_web::rt::System::new()
        .block_on(serviceregistry::start(
            serviceregistry::Settings::from_core(core).unwrap(),
            Duration::from_secs(30),
        ))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("refused the login") && err.contains("Access denied"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// The binary: `--version` and `--help` name it; it logs to `logging.file.name`; each request's
/// log line names the caller and, for a refusal, the reason; the log file has no colour codes.
#[test]
fn the_binary_logs_caller_and_reason() {
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_serviceregistry");
    let out = Command::new(bin).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("serviceregistry {}", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(bin).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: serviceregistry "));

    let db = TestDb::new();
    let port = testing::closed_port();
    let dir = std::env::temp_dir().join(format!("ah-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("sr.properties");
    let log = dir.join("logs").join("sr.log");
    // The Spring keys the Java systems read: the log goes to this file, bounded in size.
    std::fs::write(
        &config,
        format!(
            "{}server.port={port}\nlogging.file.name={}\nlogging.file.max-size=1MB\nserver.adress=0.0.0.0\n",
            support::secure_properties(&db),
            log.display()
        ),
    )
    .unwrap();
    let mut child = Command::new(bin)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://localhost:{port}/serviceregistry/mgmt/systems");
    testing::wait_for("the registry", Duration::from_secs(20), || {
        client("sysop").get(&url).send().is_ok()
    });
    assert_eq!(read(client("consumer").get(&url).send().unwrap()).0, 401);
    // Another cloud's certificate: refused in the handshake, and the log says why.
    assert!(client("other-provider").get(&url).send().is_err());
    testing::wait_for(
        "the handshake refusal logged",
        Duration::from_secs(5),
        || {
            std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("client certificate refused in the TLS handshake")
        },
    );
    // Warnings reach the Java `logs` table, where the management tool reads them.
    let logs = format!("https://localhost:{port}/serviceregistry/mgmt/logs?level=WARN&direction=DESC&sort_field=entryDate");
    let mut listed = serde_json::Value::Null;
    testing::wait_for("the refusal in mgmt/logs", Duration::from_secs(10), || {
        listed = read(client("sysop").get(&logs).send().unwrap()).1;
        listed
            .to_string()
            .contains("client certificate refused in the TLS handshake")
    });
    let entry = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap_or_default()
                .contains("refused in the TLS handshake")
        })
        .unwrap();
    assert_eq!(entry["logLevel"], "WARN", "{entry}");
    assert_eq!(entry["systemName"], "SERVICEREGISTRY", "{entry}");
    assert!(
        entry["message"]
            .as_str()
            .unwrap()
            .contains("provider.othercloud.aitia.arrowhead.eu"),
        "{entry}"
    );
    assert_eq!(entry["logId"].as_str().unwrap().len(), 36, "{entry}");
    // INFO lines (every request) stay out of the table.
    let info = format!("https://localhost:{port}/serviceregistry/mgmt/logs?level=INFO");
    let all = read(client("sysop").get(&info).send().unwrap()).1;
    assert!(
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["logLevel"] != "INFO"),
        "{all}"
    );
    assert_eq!(read(client("consumer").get(&info).send().unwrap()).0, 401);
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(!text.contains('\u{1b}'), "colour codes in a log file");
    // A misspelt key is named, with the key it probably meant.
    assert!(
        text.contains("unknown setting 'server.adress' is ignored; did you mean 'server.address'?"),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("status=401"))
        .unwrap_or_else(|| panic!("no 401 line in:\n{text}"));
    assert!(
        line.contains("caller=consumer.testcloud.aitia.arrowhead.eu")
            && line.contains("is unauthorized to access"),
        "{line}"
    );
    assert!(text.lines().any(
        |l| l.contains("status=200") && l.contains("caller=sysop.testcloud.aitia.arrowhead.eu")
    ));
    let refused = text
        .lines()
        .find(|l| l.contains("refused in the TLS handshake"))
        .unwrap();
    assert!(
        refused.contains("certificate=\"provider.othercloud.aitia.arrowhead.eu\"")
            && refused.contains("reason="),
        "{refused}"
    );
}
