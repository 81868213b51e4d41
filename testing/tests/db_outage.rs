//! The database goes away and comes back: core systems started before it wait for it; while it is
//! down every request is answered 503 error JSON within a couple of seconds; once it is back they
//! serve again by themselves, and no acknowledged write is lost. A MariaDB of the test's own is
//! killed with SIGKILL and restarted on the same port and data, under load.

#![allow(clippy::unwrap_used)]

use common::identity::CoreSystem;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testing::backbone::{core, properties};
use testing::mariadb::PrivateMariaDb;
use testing::{client, free_port, read, RunningServer, StartFuture};

/// One answer under load.
#[derive(Debug, Clone)]
struct Answer {
    at: Instant,
    took: Duration,
    status: u16,
    body: Value,
    /// The service a registration created (when it was a registration).
    registered: Option<String>,
}

fn registration(def: &str) -> Value {
    json!({
        "serviceDefinition": def,
        "providerSystem": {"systemName": "provider", "address": "127.0.0.1", "port": 9001},
        "serviceUri": "/outage",
        "interfaces": ["HTTP-SECURE-JSON"]
    })
}

#[test]
fn a_database_outage_is_answered_503_and_survived() {
    let mut maria = PrivateMariaDb::start();
    let db = maria.test_db();
    // Started while its database is down, the Service Registry waits for it.
    maria.kill();
    let sr = free_port();
    let settings = serviceregistry::Settings::from_core(core(
        CoreSystem::ServiceRegistry,
        properties("serviceregistry", &db, sr, sr, ""),
    ))
    .unwrap();
    let starting = std::thread::spawn(move || {
        RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                serviceregistry::start(settings, common::db::WAIT_FOREVER)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
    });
    std::thread::sleep(Duration::from_secs(3));
    assert!(!starting.is_finished(), "waits for the database");
    let t = Instant::now();
    maria.resume();
    let _sr_server = starting.join().unwrap();
    eprintln!("ready {:?} after the database came up", t.elapsed());

    // Load: four clients registering services and querying, each on one kept-alive connection.
    let url = |path: &str| format!("https://localhost:{sr}/serviceregistry{path}");
    let answers: Arc<Mutex<Vec<Answer>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (answers, stop, register, query) = (
                answers.clone(),
                stop.clone(),
                url("/register"),
                url("/query"),
            );
            std::thread::spawn(move || {
                let (c, orch) = (client("provider"), client("orchestrator"));
                let mut i = 0;
                while !stop.load(Ordering::SeqCst) {
                    i += 1;
                    let def = format!("outage-{w}-{i}");
                    let start = Instant::now();
                    let (req, registered) = if i % 2 == 0 {
                        (c.post(&register).json(&registration(&def)), Some(def))
                    } else {
                        (
                            orch.post(&query)
                                .json(&json!({"serviceDefinitionRequirement": "outage-0-2"})),
                            None,
                        )
                    };
                    let (status, body) = match req.send() {
                        Ok(r) => read(r),
                        Err(e) => panic!("no answer at all: {e}"),
                    };
                    answers.lock().unwrap().push(Answer {
                        at: start,
                        took: start.elapsed(),
                        status,
                        body,
                        registered,
                    });
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let killed = Instant::now();
    maria.kill();
    std::thread::sleep(Duration::from_secs(5));
    let restarted = Instant::now();
    maria.resume();
    let resumed = Instant::now();
    std::thread::sleep(Duration::from_secs(6));
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.join().unwrap();
    }
    let answers = answers.lock().unwrap().clone();

    let phase = |from: Instant, to: Instant| {
        answers
            .iter()
            .filter(move |a| a.at >= from && a.at < to)
            .collect::<Vec<_>>()
    };
    let count = |v: &[&Answer], ok: fn(u16) -> bool| v.iter().filter(|a| ok(a.status)).count();
    let before = phase(answers[0].at, killed);
    let during = phase(killed, restarted);
    let after = phase(resumed, Instant::now());
    let ok = |s: u16| s == 200 || s == 201;
    eprintln!(
        "before: {} answers, {} ok; outage (5 s): {} answers, {} ok, {} 503; after: {} answers, {} ok",
        before.len(),
        count(&before, ok),
        during.len(),
        count(&during, ok),
        count(&during, |s| s == 503),
        after.len(),
        count(&after, ok),
    );
    // Before the kill all succeed (but those still in flight when it came).
    assert!(!before.is_empty());
    assert!(before
        .iter()
        .filter(|a| a.at + a.took < killed)
        .all(|a| ok(a.status)));
    // Nothing but success or 503 error JSON, ever; and no request hangs.
    for a in &answers {
        assert!(ok(a.status) || a.status == 503, "{} {}", a.status, a.body);
        if a.status == 503 {
            assert_eq!(a.body["errorCode"], 503, "{}", a.body);
            assert_eq!(a.body["exceptionType"], "UNAVAILABLE", "{}", a.body);
            assert!(
                a.body["origin"]
                    .as_str()
                    .is_some_and(|o| o.starts_with("/serviceregistry/")),
                "{}",
                a.body
            );
        }
        assert!(
            a.took < Duration::from_secs(4),
            "an answer took {:?}",
            a.took
        );
    }
    // Those wholly inside the outage (after the kill had settled, before the restart).
    let failing = during
        .iter()
        .filter(|a| a.at >= killed + Duration::from_millis(500) && a.at + a.took < restarted);
    assert!(failing.clone().count() > 0);
    assert!(
        failing.clone().all(|a| a.status == 503),
        "all refused while the database is down"
    );
    // Recovered by itself: the first success after the restart, and none failing after it.
    let first_ok = after.iter().find(|a| ok(a.status)).expect("served again");
    let recovery = first_ok.at.saturating_duration_since(resumed) + first_ok.took;
    eprintln!("first success {recovery:?} after the database took connections again");
    assert!(recovery < Duration::from_secs(3), "{recovery:?}");
    let settled = phase(first_ok.at + Duration::from_secs(1), Instant::now());
    assert!(
        settled.iter().all(|a| ok(a.status)),
        "serves normally again"
    );

    // Every registration answered 201 is there.
    let acknowledged: Vec<&String> = answers
        .iter()
        .filter(|a| a.status == 201)
        .filter_map(|a| a.registered.as_ref())
        .collect();
    #[derive(diesel::QueryableByName)]
    struct Def {
        #[diesel(sql_type = diesel::sql_types::Text)]
        d: String,
    }
    use diesel::RunQueryDsl;
    let stored: std::collections::HashSet<String> = diesel::sql_query(
        "SELECT d.service_definition AS d FROM service_registry r \
         JOIN service_definition d ON d.id = r.service_id",
    )
    .load::<Def>(&mut db.connect())
    .unwrap()
    .into_iter()
    .map(|r| r.d)
    .collect();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|d| !stored.contains(**d))
        .collect();
    eprintln!(
        "{} registrations acknowledged, {} lost",
        acknowledged.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost: {lost:?}");
}

/// A core system started while the Service Registry is down serves at once and registers its
/// services as soon as the registry is up (it retries with backoff, saying so in its log).
#[test]
fn a_system_started_before_the_service_registry_registers_later() {
    let db = testing::TestDb::new();
    // Nothing listens there yet: registration attempts are refused until the registry starts.
    let sr = testing::closed_port();
    let auth = free_port();
    let settings = authorization::Settings::from_core(core(
        CoreSystem::Authorization,
        properties("authorization", &db, auth, sr, ""),
    ))
    .unwrap();
    let _auth = RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            authorization::start(settings, common::db::WAIT_FOREVER)
                .await
                .map(|s| s.running)
        })
    });
    let echo = client("sysop")
        .get(format!("https://localhost:{auth}/authorization/echo"))
        .send()
        .unwrap();
    assert_eq!(echo.status(), 200, "ready without the registry");
    std::thread::sleep(Duration::from_secs(2));
    let settings = serviceregistry::Settings::from_core(core(
        CoreSystem::ServiceRegistry,
        properties("serviceregistry", &db, sr, sr, ""),
    ))
    .unwrap();
    let _sr = RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            serviceregistry::start(settings, common::db::WAIT_FOREVER)
                .await
                .map_err(|e| e.to_string())
        })
    });
    let started = Instant::now();
    testing::wait_for("authorization's services", Duration::from_secs(40), || {
        client("sysop")
            .get(format!(
                "https://localhost:{sr}/serviceregistry/mgmt/servicedef/authorization-control-intra"
            ))
            .send()
            .map(|r| read(r).1["count"].as_i64() > Some(0))
            .unwrap_or(false)
    });
    eprintln!(
        "registered {:?} after the registry started",
        started.elapsed()
    );
}
