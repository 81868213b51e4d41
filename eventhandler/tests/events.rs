//! The Event Handler end to end: Service Registry, Authorization and Event Handler over mTLS on
//! one test database, with real subscriber servers (mTLS, this cloud's certificates) receiving
//! the events.

#![allow(clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use diesel::connection::SimpleConnection;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use testing::{client, error, free_port, read, wait_for, RunningServer, StartFuture, TestDb};

fn post(c: &reqwest::blocking::Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.post(url).json(body).send().unwrap())
}

/// `extra` lines go last (they win).
fn properties_text(system: &str, db: &TestDb, port: u16, sr_port: u16, extra: &str) -> String {
    format!(
        "{}server.port={port}\ndomain.port={port}\nsr_address=localhost\nsr_port={sr_port}\nallow_self_addressing=true\neventhandler_is_present=true\nevent_delivery_first_backoff_ms=200\n{extra}",
        testing::secure_properties(system, db)
    )
}

fn properties(system: &str, db: &TestDb, port: u16, sr_port: u16) -> Properties {
    properties_with(system, db, port, sr_port, "")
}

fn properties_with(system: &str, db: &TestDb, port: u16, sr_port: u16, extra: &str) -> Properties {
    Properties::parse(&properties_text(system, db, port, sr_port, extra))
        .with_env(std::iter::empty())
}

struct Cloud {
    _sr: RunningServer,
    _auth: RunningServer,
    /// `None` while stopped.
    eh: Option<RunningServer>,
    sr_port: u16,
    auth_port: u16,
    eh_port: u16,
    db: TestDb,
}

fn start_event_handler(db: &TestDb, port: u16, sr_port: u16) -> RunningServer {
    start_event_handler_with(db, port, sr_port, "")
}

fn start_event_handler_with(db: &TestDb, port: u16, sr_port: u16, extra: &str) -> RunningServer {
    let settings = eventhandler::Settings::from_core(
        CoreSettings::from_properties(
            CoreSystem::EventHandler,
            properties_with("eventhandler", db, port, sr_port, extra),
        )
        .unwrap(),
    )
    .unwrap();
    RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            eventhandler::start(settings, Duration::from_secs(10))
                .await
                .map(|s| s.running)
        })
    })
}

impl Cloud {
    fn start() -> Self {
        Self::start_with(Some(""))
    }

    /// `eh`: the Event Handler's extra properties, or `None` to start it later (as a process).
    fn start_with(eh: Option<&str>) -> Self {
        let db = TestDb::new();
        // A process binds its port itself.
        let eh_port = if eh.is_some() {
            free_port()
        } else {
            testing::closed_port()
        };
        let (sr_port, auth_port) = (free_port(), free_port());
        let sr_settings = serviceregistry::Settings::from_core(
            CoreSettings::from_properties(
                CoreSystem::ServiceRegistry,
                properties("serviceregistry", &db, sr_port, sr_port),
            )
            .unwrap(),
        )
        .unwrap();
        let sr = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                serviceregistry::start(sr_settings, Duration::from_secs(10))
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        let auth_settings = authorization::Settings::from_core(
            CoreSettings::from_properties(
                CoreSystem::Authorization,
                properties("authorization", &db, auth_port, sr_port),
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
        let eh = eh.map(|extra| start_event_handler_with(&db, eh_port, sr_port, extra));
        let cloud = Self {
            _sr: sr,
            _auth: auth,
            eh,
            sr_port,
            auth_port,
            eh_port,
            db,
        };
        let defs: &[&str] = if cloud.eh.is_some() {
            &[
                "authorization-control-subscription",
                "event-publish-auth-update",
            ]
        } else {
            &["authorization-control-subscription"]
        };
        for def in defs {
            wait_for(def, Duration::from_secs(20), || {
                client("orchestrator")
                    .post(format!(
                        "https://localhost:{}/serviceregistry/query",
                        cloud.sr_port
                    ))
                    .json(&json!({"serviceDefinitionRequirement": def}))
                    .send()
                    .ok()
                    .map(read)
                    .is_some_and(|(_, v)| v["unfilteredHits"] == 1)
            });
        }
        cloud
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/eventhandler{path}", self.eh_port)
    }

    /// A system row (subscribers carry a key, so they are notified over HTTPS).
    fn system(&self, name: &str, port: u16) -> i64 {
        self.system_with_key(name, port, "'a2V5'")
    }

    /// `key` is the SQL value of `authentication_info` (`NULL`: notified over plain HTTP).
    fn system_with_key(&self, name: &str, port: u16, key: &str) -> i64 {
        self.db
            .connect()
            .batch_execute(&format!(
                "INSERT INTO system_ (system_name, address, port, authentication_info) VALUES ('{name}', '127.0.0.1', {port}, {key})"
            ))
            .unwrap();
        let (_, v) = read(
            client("sysop")
                .get(format!(
                    "https://localhost:{}/serviceregistry/mgmt/systems",
                    self.sr_port
                ))
                .send()
                .unwrap(),
        );
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["systemName"] == name)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    /// An intra-cloud rule: `consumer` may use something of `provider` (that is what lets it
    /// hear the provider's events). Authorization then notifies the Event Handler.
    fn allow(&self, consumer: i64, provider: i64) -> i64 {
        self.db
            .connect()
            .batch_execute(
                "INSERT IGNORE INTO service_definition (service_definition) VALUES ('events')",
            )
            .unwrap();
        let (_, defs) = read(
            client("sysop")
                .get(format!(
                    "https://localhost:{}/serviceregistry/mgmt/services",
                    self.sr_port
                ))
                .send()
                .unwrap(),
        );
        let def = defs["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["serviceDefinition"] == "events")
            .unwrap()["id"]
            .clone();
        let (status, got) = post(
            &client("sysop"),
            &format!(
                "https://localhost:{}/authorization/mgmt/intracloud",
                self.auth_port
            ),
            &json!({"consumerId": consumer, "providerIds": [provider], "serviceDefinitionIds": [def], "interfaceIds": [1]}),
        );
        assert_eq!(status, 201, "{got}");
        got["data"][0]["id"].as_i64().unwrap()
    }

    fn subscribe(&self, who: &str, port: u16, extra: Value) -> (u16, Value) {
        let mut body = json!({
            "eventType": "temperature_changed",
            "subscriberSystem": {"systemName": who, "address": "127.0.0.1", "port": port},
            "notifyUri": "/notify",
            "matchMetaData": false
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        post(&client(who), &self.url("/subscribe"), &body)
    }

    fn publish(&self, who: &str, port: u16, payload: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({
            "eventType": "temperature_changed",
            "source": {"systemName": who, "address": "127.0.0.1", "port": port},
            "payload": payload
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        post(&client(who), &self.url("/publish"), &body)
    }

    /// Sources of the subscription (as the Event Handler stored them).
    fn authorized_sources(&self, subscriber: i64) -> Vec<i64> {
        let mut conn = self.db.connect();
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            system_id: i64,
        }
        diesel::sql_query(format!(
            "SELECT c.system_id FROM subscription_publisher_connection c JOIN subscription s ON s.id = c.subscription_id WHERE s.system_id = {subscriber} AND c.authorized = 1 ORDER BY c.system_id"
        ))
        .load::<Row>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|r| r.system_id)
        .collect()
    }
}

/// What a subscriber server does with a notification.
#[derive(Clone, Default)]
struct Behaviour {
    delay: Duration,
    /// Plain HTTP (a subscriber that registered no key).
    plain: bool,
    /// Answers 200 with a gigabyte of body (streamed, never held in memory here).
    huge: bool,
    /// Answers 503 (without recording the event) until then.
    unavailable_until: Option<Instant>,
}

/// A subscriber: a real mTLS server with an application certificate of this cloud.
struct Subscriber {
    received: Arc<Mutex<Vec<(Value, Instant)>>>,
    _server: RunningServer,
}

impl Subscriber {
    fn start(cert: &'static str, port: u16, behaviour: Behaviour) -> Self {
        let received: Arc<Mutex<Vec<(Value, Instant)>>> = Arc::default();
        let sink = received.clone();
        let plain = behaviour.plain;
        let server = RunningServer::start(!plain, move || -> StartFuture {
            Box::pin(async move {
                let pki = testing::pki();
                let ks =
                    common::tls::Keystore::from_pkcs12_file(&pki.keystore(cert), testing::PASSWORD)
                        .map_err(|e| e.to_string())?;
                let trust = common::tls::load_trust(&common::config::TrustMaterial::Pkcs12 {
                    path: pki.truststore(),
                    password: testing::PASSWORD.into(),
                })
                .map_err(|e| e.to_string())?;
                let tls = common::tls::TlsContext::new(ks, trust).map_err(|e| e.to_string())?;
                common::web::start(common::web::ServerSpec {
                    address: "127.0.0.1".into(),
                    port,
                    tls: (!plain).then_some(tls),
                    workers: Some(1),
                    openapi: utoipa::openapi::OpenApiBuilder::new().build(),
                    revocations: None,
                    limits: Default::default(),
                    configure: move |cfg: &mut actix_web::web::ServiceConfig| {
                        let sink = sink.clone();
                        let behaviour = behaviour.clone();
                        cfg.route(
                            "/{tail:.*}",
                            actix_web::web::post().to(move |req: actix_web::HttpRequest, body: actix_web::web::Json<Value>| {
                                let sink = sink.clone();
                                let delay = behaviour.delay;
                                let huge = behaviour.huge;
                                let closed = behaviour.unavailable_until.is_some_and(|t| Instant::now() < t);
                                async move {
                                    if closed {
                                        return actix_web::HttpResponse::ServiceUnavailable().finish();
                                    }
                                    if !delay.is_zero() {
                                        tokio::time::sleep(delay).await;
                                    }
                                    let mut event = body.into_inner();
                                    // The delivery's id, kept beside the event for the tests.
                                    event["_eventId"] = req
                                        .headers()
                                        .get(eventhandler::delivery::EVENT_ID_HEADER)
                                        .and_then(|v| v.to_str().ok())
                                        .map_or(Value::Null, |v| Value::String(v.to_owned()));
                                    sink.lock().unwrap().push((event, Instant::now()));
                                    if huge {
                                        let chunk = bytes::Bytes::from(vec![b' '; 64 * 1024]);
                                        let gigabyte =
                                            futures_util::stream::iter((0..16 * 1024).map(
                                                move |_| Ok::<_, std::io::Error>(chunk.clone()),
                                            ));
                                        return actix_web::HttpResponse::Ok()
                                            .content_type("application/json")
                                            .streaming(gigabyte);
                                    }
                                    actix_web::HttpResponse::Ok().finish()
                                }
                            }),
                        );
                    },
                })
                .map_err(|e| e.to_string())
            })
        });
        Self {
            received,
            _server: server,
        }
    }

    fn payloads(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|(v, _)| v["payload"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn wait_count(&self, n: usize) {
        wait_for(&format!("{n} events"), Duration::from_secs(15), || {
            self.received.lock().unwrap().len() >= n
        });
    }
}

/// Publishes a barrier event from `provider` (port 6000), with `extra` so that it passes the
/// subscription's filters, waits until it arrives and takes it out again. Delivery to one
/// subscriber keeps publish order, so once the barrier is there, every event published before
/// it that was going to arrive has arrived: "nothing else arrived" needs no sleep.
fn barrier(cloud: &Cloud, subscriber: &Subscriber, extra: Value) {
    assert_eq!(cloud.publish("provider", 6000, "barrier", extra).0, 200);
    wait_for("the barrier event", Duration::from_secs(15), || {
        subscriber.payloads().last().map(String::as_str) == Some("barrier")
    });
    subscriber.received.lock().unwrap().pop();
}

#[test]
fn authorized_publishers_reach_subscribers_as_they_asked() {
    let cloud = Cloud::start();
    let sub_port = free_port();
    let consumer = cloud.system("consumer", sub_port);
    let provider = cloud.system("provider", 6000);
    let other = cloud.system("client", 6100);
    let subscriber = Subscriber::start("consumer", sub_port, Behaviour::default());

    cloud.allow(consumer, provider);
    let (status, got) = cloud.subscribe("consumer", sub_port, json!({}));
    assert_eq!(status, 200, "{got}");
    assert_eq!(cloud.authorized_sources(consumer), [provider]);

    // The authorized publisher is heard, the other one is not; the body is Java's EventDTO.
    assert_eq!(
        cloud
            .publish(
                "provider",
                6000,
                "21.5",
                json!({"metaData": {"unit": "celsius"}})
            )
            .0,
        200
    );
    assert_eq!(
        cloud.publish("client", 6100, "from client", json!({})).0,
        200
    );
    subscriber.wait_count(1);
    barrier(&cloud, &subscriber, json!({}));
    let got = subscriber.received.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let event = &got[0].0;
    assert_eq!(event["eventType"], "temperature_changed");
    assert_eq!(event["payload"], "21.5");
    assert_eq!(event["metaData"], json!({"unit": "celsius"}));
    assert!(common::dto::parse_instant(event["timeStamp"].as_str().unwrap()).is_some());
    // The delivery's id comes as a header, for subscribers that want to recognise repeats.
    assert!(
        event["_eventId"]
            .as_str()
            .is_some_and(|id| id.parse::<u64>().is_ok()),
        "{event}"
    );

    // An authorization change reaches the Event Handler: now client is heard too.
    cloud.allow(consumer, other);
    wait_for("auth update", Duration::from_secs(10), || {
        cloud.authorized_sources(consumer) == [provider, other]
    });
    cloud.publish("client", 6100, "client heard", json!({}));
    subscriber.wait_count(2);
    assert_eq!(subscriber.payloads()[1], "client heard");

    // Metadata filter (case-insensitive values), and only the named sources.
    let (status, got) = cloud.subscribe(
        "consumer",
        sub_port,
        json!({"matchMetaData": true, "filterMetaData": {"unit": "celsius"}, "sources": [{"systemName": "provider", "address": "127.0.0.1", "port": 6000}]}),
    );
    assert_eq!(status, 200, "{got}");
    cloud.publish(
        "provider",
        6000,
        "kelvin",
        json!({"metaData": {"unit": "kelvin"}}),
    );
    cloud.publish("provider", 6000, "no metadata", json!({}));
    cloud.publish(
        "client",
        6100,
        "not a source",
        json!({"metaData": {"unit": "celsius"}}),
    );
    cloud.publish(
        "provider",
        6000,
        "CELSIUS",
        json!({"metaData": {"unit": "CELSIUS"}}),
    );
    subscriber.wait_count(3);
    barrier(
        &cloud,
        &subscriber,
        json!({"metaData": {"unit": "celsius"}}),
    );
    assert_eq!(subscriber.payloads()[2..], ["CELSIUS"]);

    // Start and end dates, compared with the event's time stamp.
    let at = |secs: i64| {
        common::dto::format_instant(
            &(chrono::Utc::now().naive_utc() + chrono::Duration::seconds(secs)),
        )
    };
    let (status, got) = cloud.subscribe(
        "consumer",
        sub_port,
        json!({"startDate": at(40), "endDate": at(80)}),
    );
    assert_eq!(status, 200, "{got}");
    cloud.publish("provider", 6000, "too early", json!({"timeStamp": at(0)}));
    cloud.publish("provider", 6000, "in time", json!({"timeStamp": at(60)}));
    cloud.publish("provider", 6000, "too late", json!({"timeStamp": at(100)}));
    subscriber.wait_count(4);
    barrier(&cloud, &subscriber, json!({"timeStamp": at(60)}));
    assert_eq!(subscriber.payloads()[3..], ["in time"]);

    // Management view of the subscription, then unsubscribe: nothing more arrives.
    let (status, list) = read(
        client("sysop")
            .get(cloud.url("/mgmt/subscriptions"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, list["count"].as_i64()),
        (200, Some(1)),
        "re-subscribing replaced the subscription"
    );
    let s = &list["data"][0];
    assert_eq!(s["eventType"]["eventTypeName"], "TEMPERATURE_CHANGED");
    assert_eq!(s["subscriberSystem"]["systemName"], "consumer");
    assert_eq!(s["notifyUri"], "/notify");
    assert_eq!(
        s["sources"].as_array().unwrap().len(),
        2,
        "both authorized publishers"
    );
    let resp = client("consumer")
        .delete(cloud.url(&format!("/unsubscribe?event_type=temperature_changed&system_name=consumer&address=127.0.0.1&port={sub_port}")))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    cloud.publish("provider", 6000, "after unsubscribe", json!({}));
    // Subscribed again, the barrier queues behind anything still meant for this subscriber.
    assert_eq!(cloud.subscribe("consumer", sub_port, json!({})).0, 200);
    barrier(&cloud, &subscriber, json!({}));
    assert_eq!(subscriber.payloads().len(), 4);
    let (_, stats) = read(
        client("sysop")
            .get(cloud.url("/mgmt/deliveries"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        stats,
        // The four events and the four barriers.
        json!({"delivered": 8, "retried": 0, "failed": 0, "dropped": 0, "pending": 0, "queues": []})
    );
}

#[test]
fn delivery_is_ordered_retried_and_isolated() {
    let cloud = Cloud::start();
    // The late subscriber is down at first: its connections are refused.
    let (fast_port, slow_port, late_port) = (free_port(), free_port(), testing::closed_port());
    let provider = cloud.system("provider", 6000);
    for (name, port) in [
        ("consumer", fast_port),
        ("plantdescriptionengine", slow_port),
        ("choreographer", late_port),
    ] {
        let id = cloud.system(name, port);
        cloud.allow(id, provider);
        let (status, got) = cloud.subscribe(name, port, json!({}));
        assert_eq!(status, 200, "{got}");
    }
    let fast = Subscriber::start("consumer", fast_port, Behaviour::default());
    let slow = Subscriber::start(
        "plantdescriptionengine",
        slow_port,
        Behaviour {
            delay: Duration::from_secs(2),
            ..Behaviour::default()
        },
    );
    // choreographer is down for now.

    let t0 = Instant::now();
    for i in 0..20 {
        let (status, got) = cloud.publish("provider", 6000, &i.to_string(), json!({}));
        assert_eq!(status, 200, "{got}");
    }
    // Had publish waited for the slow subscriber (2 s per event), 20 publishes would take 40 s;
    // the margin is for a machine busy with the other tests.
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "publish answers at once: {:?}",
        t0.elapsed()
    );
    fast.wait_count(20);
    let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(fast.payloads(), expected, "in publish order");
    // Had the fast subscriber waited behind the slow one (2 s per event), it would have needed
    // 40 s; it got all 20 while the slow one got only a few (a margin for a loaded machine).
    assert!(
        slow.payloads().len() < 5,
        "the slow subscriber is still busy, and did not hold up the fast one"
    );

    // The subscriber that was down comes back and gets every event, in order.
    std::thread::sleep(Duration::from_millis(500));
    let late = Subscriber::start("choreographer", late_port, Behaviour::default());
    late.wait_count(20);
    assert_eq!(late.payloads(), expected);
    let (_, stats) = read(
        client("sysop")
            .get(cloud.url("/mgmt/deliveries"))
            .send()
            .unwrap(),
    );
    assert!(stats["retried"].as_u64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["failed"], 0, "{stats}");
}

#[test]
fn management_logs() {
    let cloud = Cloud::start();
    testing::check_mgmt_logs(&cloud.db, &cloud.url(""), "EVENTHANDLER");
}

#[test]
fn validation_and_access() {
    let cloud = Cloud::start();
    let provider = cloud.system("provider", 6000);
    let consumer = cloud.system("consumer", 5000);
    cloud.allow(consumer, provider);

    // An unregistered publisher: 400 with a clear message (Java: 500).
    let (status, got) = cloud.publish("client", 6100, "x", json!({}));
    assert_eq!(
        (status, got),
        (400, error("Publisher system with name: client, address: 127.0.0.1, port: 6100 is not registered.", 400, "INVALID_PARAMETER", None))
    );
    let (status, got) = cloud.publish("provider", 6000, " ", json!({}));
    assert_eq!(
        (status, got["errorMessage"].as_str(), got["origin"].as_str()),
        (
            400,
            Some("Payload is null or blank."),
            Some("/eventhandler/publish")
        )
    );
    let old = common::dto::format_instant(
        &(chrono::Utc::now().naive_utc() - chrono::Duration::seconds(600)),
    );
    let (status, got) = cloud.publish("provider", 6000, "x", json!({"timeStamp": old}));
    assert_eq!(
        (status, got["errorMessage"].as_str()),
        (
            400,
            Some("Request.TimeStamp is further in the past than the tolerated time difference")
        )
    );
    let (status, got) = cloud.subscribe("consumer", 5000, json!({"matchMetaData": true}));
    assert_eq!(
        (status, got["errorMessage"].as_str()),
        (
            400,
            Some("Request.MatchMetaData is true but Request.FilterMetaData is null or blank.")
        )
    );
    let (status, got) = cloud.subscribe(
        "consumer",
        5000,
        json!({"startDate": "2020-01-01T00:00:00Z"}),
    );
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Start date must be in the future.",
                400,
                "BAD_PAYLOAD",
                Some("/eventhandler/subscribe")
            )
        )
    );
    // Longer than the event_type column: a client mistake, not a failed insert.
    let (status, got) = cloud.subscribe("consumer", 5000, json!({"eventType": "E".repeat(256)}));
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "Event type is longer than 255 characters.",
                400,
                "BAD_PAYLOAD",
                Some("/eventhandler/subscribe")
            )
        )
    );
    let (status, got) = cloud.subscribe("consumer", 5001, json!({}));
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("INVALID_PARAMETER")),
        "unregistered subscriber"
    );

    // Names must match certificates; management is the operator's; auth updates come only
    // from Authorization.
    let (status, got) = post(
        &client("provider"),
        &cloud.url("/subscribe"),
        &json!({"eventType": "x",
        "subscriberSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000}, "notifyUri": "/n"}),
    );
    assert_eq!((status, got["errorMessage"].as_str()), (401, Some("Requester system name(consumer) and client name from certificate (provider) do not match!")));
    assert_eq!(
        post(
            &client("consumer"),
            &cloud.url("/publish"),
            &json!({"eventType": "x",
        "source": {"systemName": "provider", "address": "127.0.0.1", "port": 6000}, "payload": "p"})
        )
        .0,
        401
    );
    let resp = client("provider")
        .delete(
            cloud.url("/unsubscribe?event_type=x&system_name=consumer&address=127.0.0.1&port=5000"),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    for who in ["consumer", "authorization"] {
        assert_eq!(
            read(
                client(who)
                    .get(cloud.url("/mgmt/subscriptions"))
                    .send()
                    .unwrap()
            )
            .0,
            401,
            "{who}"
        );
    }
    let update = json!({"eventType": "SUBSCRIBER_AUTH_UPDATE", "source": {"systemName": "authorization", "address": "127.0.0.1", "port": 1}, "payload": consumer.to_string()});
    assert_eq!(
        post(
            &client("orchestrator"),
            &cloud.url("/publish/authupdate"),
            &update
        )
        .0,
        401
    );
    assert_eq!(
        post(
            &client("authorization"),
            &cloud.url("/publish/authupdate"),
            &update
        )
        .0,
        200
    );
    let mut wrong = update.clone();
    wrong["eventType"] = json!("SOMETHING_ELSE");
    assert_eq!(
        post(
            &client("authorization"),
            &cloud.url("/publish/authupdate"),
            &wrong
        ),
        (
            400,
            error(
                "Event type must be SUBSCRIBER_AUTH_UPDATE.",
                400,
                "BAD_PAYLOAD",
                Some("/eventhandler/publish/authupdate")
            )
        )
    );

    // Management: get, update, delete.
    assert_eq!(cloud.subscribe("consumer", 5000, json!({})).0, 200);
    let (_, list) = read(
        client("sysop")
            .get(cloud.url("/mgmt/subscriptions?page=0&item_per_page=10"))
            .send()
            .unwrap(),
    );
    let id = list["data"][0]["id"].as_i64().unwrap();
    let (status, one) = read(
        client("sysop")
            .get(cloud.url(&format!("/mgmt/subscriptions/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!((status, one["notifyUri"].as_str()), (200, Some("/notify")));
    let (status, updated) = read(
        client("sysop")
            .put(cloud.url(&format!("/mgmt/subscriptions/{id}")))
            .json(&json!({"eventType": "pressure", "subscriberSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5000},
                          "notifyUri": "/other", "matchMetaData": false}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (
            updated["eventType"]["eventTypeName"].as_str(),
            updated["notifyUri"].as_str()
        ),
        (Some("PRESSURE"), Some("/other"))
    );
    assert_eq!(
        client("sysop")
            .delete(cloud.url(&format!("/mgmt/subscriptions/{id}")))
            .send()
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let (status, got) = read(
        client("sysop")
            .get(cloud.url(&format!("/mgmt/subscriptions/{id}")))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, got["exceptionType"].as_str()),
        (400, Some("INVALID_PARAMETER"))
    );

    // The clean-up task removes subscriptions whose end date has passed, and only those.
    let soon = common::dto::format_instant(
        &(chrono::Utc::now().naive_utc() + chrono::Duration::seconds(1)),
    );
    assert_eq!(
        cloud
            .subscribe("consumer", 5000, json!({"endDate": soon}))
            .0,
        200
    );
    assert_eq!(
        cloud
            .subscribe("consumer", 5000, json!({"eventType": "forever"}))
            .0,
        200
    );
    // The task itself runs (every 200 ms here) until the expired one is gone.
    let settings = cloud.db.settings.clone();
    let task = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let pool = common::db::connect(&settings, 2, Duration::from_secs(5), &[]).unwrap();
            let run = eventhandler::remove_expired(pool, Duration::from_millis(200));
            let _ = tokio::time::timeout(Duration::from_secs(4), run).await;
        })
    });
    let count = || {
        read(
            client("sysop")
                .get(cloud.url("/mgmt/subscriptions"))
                .send()
                .unwrap(),
        )
        .1
    };
    wait_for(
        "the expired subscription removed",
        Duration::from_secs(4),
        || count()["count"] == 1,
    );
    let list = count();
    assert_eq!(list["data"][0]["eventType"]["eventTypeName"], "FOREVER");
    task.join().unwrap();
    assert_eq!(count()["count"], 1, "the unexpired one stays");
}

/// Rules that changed while the Event Handler was down are picked up when it starts again.
#[test]
fn startup_rechecks_every_subscription() {
    let mut cloud = Cloud::start();
    let sub_port = free_port();
    let consumer = cloud.system("consumer", sub_port);
    let provider = cloud.system("provider", 6000);
    assert_eq!(cloud.subscribe("consumer", sub_port, json!({})).0, 200);
    assert!(cloud.authorized_sources(consumer).is_empty(), "no rule yet");

    // Stopped; the rule's announcement cannot reach it.
    let port = cloud.eh_port;
    cloud.eh = None;
    cloud.allow(consumer, provider);
    std::thread::sleep(Duration::from_millis(500));
    assert!(cloud.authorized_sources(consumer).is_empty());

    cloud.eh = Some(start_event_handler(&cloud.db, port, cloud.sr_port));
    wait_for("startup re-check", Duration::from_secs(15), || {
        cloud.authorized_sources(consumer) == [provider]
    });
    let subscriber = Subscriber::start("consumer", sub_port, Behaviour::default());
    assert_eq!(
        cloud
            .publish("provider", 6000, "after restart", json!({}))
            .0,
        200
    );
    subscriber.wait_count(1);
}

/// A subscriber that registered no key is notified over plain HTTP, as in Java.
#[test]
fn subscribers_without_a_key_get_plain_http() {
    let cloud = Cloud::start();
    let port = free_port();
    let consumer = cloud.system_with_key("consumer", port, "NULL");
    let provider = cloud.system("provider", 6000);
    cloud.allow(consumer, provider);
    assert_eq!(cloud.subscribe("consumer", port, json!({})).0, 200);
    let subscriber = Subscriber::start(
        "consumer",
        port,
        Behaviour {
            plain: true,
            ..Behaviour::default()
        },
    );
    assert_eq!(cloud.publish("provider", 6000, "plain", json!({})).0, 200);
    subscriber.wait_count(1);
    assert_eq!(subscriber.payloads(), ["plain"]);
}

/// Hostile certificates (forged chains, look-alike names, another cloud's CA) are never the sysop.
#[test]
fn hostile_certificates_are_refused() {
    let cloud = Cloud::start();
    testing::assert_hostile_refused(&cloud.url("/mgmt/subscriptions"));
}

/// Resident memory of this test process (Event Handler and subscriber run in it), in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// A subscriber that answers each event with a gigabyte: the Event Handler reads a few
/// kilobytes of it, counts the delivery and stays small.
#[test]
fn a_subscriber_answering_a_gigabyte_costs_no_memory() {
    let cloud = Cloud::start();
    let port = free_port();
    let consumer = cloud.system("consumer", port);
    let provider = cloud.system("provider", 6000);
    let subscriber = Subscriber::start(
        "consumer",
        port,
        Behaviour {
            huge: true,
            ..Default::default()
        },
    );
    cloud.allow(consumer, provider);
    assert_eq!(cloud.subscribe("consumer", port, json!({})).0, 200);
    let before = resident_bytes();
    for i in 0..3 {
        assert_eq!(
            cloud
                .publish("provider", 6000, &format!("e{i}"), json!({}))
                .0,
            200
        );
    }
    subscriber.wait_count(3);
    let delivered = || {
        read(
            client("sysop")
                .get(cloud.url("/mgmt/deliveries"))
                .send()
                .unwrap(),
        )
        .1
    };
    wait_for("3 deliveries counted", Duration::from_secs(20), || {
        delivered()["delivered"] == 3
    });
    assert_eq!(
        delivered(),
        json!({"delivered": 3, "retried": 0, "failed": 0, "dropped": 0, "pending": 0, "queues": []})
    );
    assert_eq!(subscriber.payloads(), ["e0", "e1", "e2"]);
    // Reading an answer whole would take a gigabyte at once; the margin leaves room for the
    // other tests of this binary running at the same time.
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < 512 * 1024 * 1024, "grew by {grown} bytes");
}

/// Rows of the delivery queue now.
fn pending(db: &TestDb) -> i64 {
    use diesel::prelude::*;
    diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT COUNT(*) FROM event_delivery)",
    ))
    .get_result(&mut db.connect())
    .unwrap()
}

/// Payloads in first-arrival order, and how many arrived more than once (at least once allows
/// repeats; they carry the same event id).
fn first_arrivals(subscriber: &Subscriber) -> (Vec<String>, usize) {
    let got = subscriber.received.lock().unwrap().clone();
    let mut seen = std::collections::HashMap::new();
    let mut order = Vec::new();
    let mut repeats = 0;
    for (event, _) in got {
        let payload = event["payload"].as_str().unwrap().to_owned();
        let id = event["_eventId"].as_str().unwrap().to_owned();
        match seen.insert(payload.clone(), id.clone()) {
            None => order.push(payload),
            Some(earlier) => {
                assert_eq!(earlier, id, "a repeat carries the same event id");
                repeats += 1;
            }
        }
    }
    (order, repeats)
}

/// An Event Handler process, killed with SIGKILL right after it answered 500 publishes, loses
/// none of them: restarted, it delivers every one, in publish order.
#[test]
fn accepted_events_survive_a_kill() {
    let cloud = Cloud::start_with(None);
    let config = std::env::temp_dir().join(format!("eh-crash-{}.properties", cloud.eh_port));
    std::fs::write(
        &config,
        properties_text("eventhandler", &cloud.db, cloud.eh_port, cloud.sr_port, ""),
    )
    .unwrap();
    let log = std::env::temp_dir().join(format!("eh-crash-{}.log", cloud.eh_port));
    let spawn = || {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_eventhandler"))
            .arg("--config")
            .arg(&config)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        wait_for("the Event Handler process", Duration::from_secs(30), || {
            client("sysop")
                .get(cloud.url("/echo"))
                .send()
                .is_ok_and(|r| r.status() == 200)
        });
        child
    };
    let mut eh = spawn();
    let port = free_port();
    let consumer = cloud.system("consumer", port);
    let provider = cloud.system("provider", 6000);
    cloud.allow(consumer, provider);
    wait_for("auth update", Duration::from_secs(10), || {
        assert_eq!(cloud.subscribe("consumer", port, json!({})).0, 200);
        cloud.authorized_sources(consumer) == [provider]
    });
    // A subscriber that takes 20 ms per event: most events are still queued at the kill.
    let subscriber = Subscriber::start(
        "consumer",
        port,
        Behaviour {
            delay: Duration::from_millis(20),
            ..Behaviour::default()
        },
    );
    let publisher = client("provider");
    let t0 = Instant::now();
    for i in 0..500 {
        let (status, got) = post(
            &publisher,
            &cloud.url("/publish"),
            &json!({"eventType": "temperature_changed", "source": {"systemName": "provider", "address": "127.0.0.1", "port": 6000}, "payload": i.to_string()}),
        );
        assert_eq!(status, 200, "{got}");
    }
    let accepting = t0.elapsed();
    eh.kill().unwrap();
    eh.wait().unwrap();
    let at_kill = first_arrivals(&subscriber).0.len();
    let queued = pending(&cloud.db);
    eprintln!("500 accepted in {accepting:?}; at the kill {at_kill} delivered, {queued} queued");
    assert!(queued > 0, "the kill came before the queue was done");
    let t1 = Instant::now();
    let mut eh = spawn();
    wait_for("every accepted event", Duration::from_secs(90), || {
        first_arrivals(&subscriber).0.len() == 500
    });
    let (order, repeats) = first_arrivals(&subscriber);
    let expected: Vec<String> = (0..500).map(|i| i.to_string()).collect();
    assert_eq!(order, expected, "in publish order");
    eprintln!(
        "after the restart: all 500 delivered in {:?}, {repeats} repeated",
        t1.elapsed()
    );
    wait_for("an empty queue", Duration::from_secs(10), || {
        pending(&cloud.db) == 0
    });
    eh.kill().unwrap();
    eh.wait().unwrap();
    let _ = std::fs::remove_file(&config);
}

/// A subscriber answering 503 for its first 10 s still gets all 100 events, in order; one that
/// stays away does not grow the queue beyond its bound, and what was dropped is counted and
/// shown to the operator.
#[test]
fn retries_outlast_an_outage_and_queues_are_bounded() {
    let cloud = Cloud::start_with(Some("event_delivery_queue_size=150\n"));
    let (port, dead_port) = (free_port(), testing::closed_port());
    let provider = cloud.system("provider", 6000);
    for (name, p) in [("consumer", port), ("choreographer", dead_port)] {
        let id = cloud.system(name, p);
        cloud.allow(id, provider);
        assert_eq!(cloud.subscribe(name, p, json!({})).0, 200);
    }
    let subscriber = Subscriber::start(
        "consumer",
        port,
        Behaviour {
            unavailable_until: Some(Instant::now() + Duration::from_secs(10)),
            ..Behaviour::default()
        },
    );
    let publisher = client("provider");
    for i in 0..200 {
        let (status, got) = post(
            &publisher,
            &cloud.url("/publish"),
            &json!({"eventType": "temperature_changed", "source": {"systemName": "provider", "address": "127.0.0.1", "port": 6000}, "payload": i.to_string()}),
        );
        assert_eq!(status, 200, "{got}");
    }
    // The consumer's queue held 150: the last 50 of its events were dropped; choreographer's too.
    let expected: Vec<String> = (0..150).map(|i| i.to_string()).collect();
    wait_for(
        "150 events after the outage",
        Duration::from_secs(60),
        || first_arrivals(&subscriber).0.len() == 150,
    );
    assert_eq!(first_arrivals(&subscriber).0, expected);
    let (_, stats) = read(
        client("sysop")
            .get(cloud.url("/mgmt/deliveries"))
            .send()
            .unwrap(),
    );
    assert_eq!(stats["dropped"], 100, "{stats}");
    assert!(stats["retried"].as_u64().unwrap() >= 2, "{stats}");
    assert_eq!(stats["failed"], 0, "{stats}");
    let queues = stats["queues"].as_array().unwrap();
    let of = |name: &str| {
        queues
            .iter()
            .find(|q| q["systemName"] == name)
            .unwrap_or_else(|| panic!("{name} in {stats}"))
            .clone()
    };
    assert_eq!(of("consumer")["dropped"], 50, "{stats}");
    let dead = of("choreographer");
    assert_eq!(dead["dropped"], 50, "{stats}");
    assert_eq!(dead["pending"], 150, "{stats}");
    assert_eq!(stats["pending"], 150, "{stats}");
    assert!(
        dead["lastLossReason"].as_str().unwrap().contains("full"),
        "{stats}"
    );
    assert!(dead["deliveredBy"].as_str().is_some(), "{stats}");
    assert_eq!(pending(&cloud.db), 150);
}

/// Events queued by an instance that stops are delivered by another instance of the cloud once
/// the first one's lease has run out.
#[test]
fn another_instance_finishes_the_work() {
    let lease = "event_delivery_lease_seconds=2\nevent_delivery_poll_ms=200\n";
    let mut cloud = Cloud::start_with(Some(lease));
    let port = testing::closed_port();
    let consumer = cloud.system("consumer", port);
    let provider = cloud.system("provider", 6000);
    cloud.allow(consumer, provider);
    assert_eq!(cloud.subscribe("consumer", port, json!({})).0, 200);
    for i in 0..20 {
        assert_eq!(
            cloud.publish("provider", 6000, &i.to_string(), json!({})).0,
            200
        );
    }
    // Stopped with its subscriber still down: the queue stays, leased to the stopped instance.
    cloud.eh = None;
    assert_eq!(pending(&cloud.db), 20);
    let other_port = free_port();
    let _other = start_event_handler_with(&cloud.db, other_port, cloud.sr_port, lease);
    let subscriber = Subscriber::start("consumer", port, Behaviour::default());
    wait_for(
        "20 events from the other instance",
        Duration::from_secs(30),
        || first_arrivals(&subscriber).0.len() == 20,
    );
    let expected: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    assert_eq!(first_arrivals(&subscriber).0, expected);
    let (_, stats) = read(
        client("sysop")
            .get(format!(
                "https://localhost:{other_port}/eventhandler/mgmt/deliveries"
            ))
            .send()
            .unwrap(),
    );
    assert_eq!(stats["delivered"], 20, "{stats}");
}

/// Text with 4-byte UTF-8 characters (emoji) in subscriptions and events is stored and delivered
/// as sent; where a name cannot hold it, the answer is 400, never 500.
#[test]
fn four_byte_text_in_subscriptions_and_events() {
    let cloud = Cloud::start();
    let port = free_port();
    let consumer = cloud.system("consumer", port);
    let provider = cloud.system("provider", 6000);
    cloud.allow(consumer, provider);
    let (status, got) = cloud.subscribe(
        "consumer",
        port,
        json!({"notifyUri": "/notify/🌡", "matchMetaData": true, "filterMetaData": {"unit": "°C🌡"}}),
    );
    assert_eq!(status, 200, "{got}");
    let subscriber = Subscriber::start("consumer", port, Behaviour::default());
    let (status, got) = cloud.publish(
        "provider",
        6000,
        "21.5 🌡",
        json!({"metaData": {"unit": "°C🌡"}}),
    );
    assert_eq!(status, 200, "{got}");
    subscriber.wait_count(1);
    assert_eq!(subscriber.payloads(), ["21.5 🌡"]);
    let (status, list) = read(
        client("sysop")
            .get(cloud.url("/mgmt/subscriptions"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{list}");
    let sub = &list["data"][0];
    assert_eq!(sub["filterMetaData"], json!({"unit": "°C🌡"}), "{list}");
    let (status, got) = read(
        client("sysop")
            .put(cloud.url(&format!("/mgmt/subscriptions/{}", sub["id"])))
            .json(&json!({"eventType": "temperature_changed", "subscriberSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": port}, "notifyUri": "/😀", "matchMetaData": false}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["notifyUri"], "/😀", "{got}");
    for event_type in ["%F0%9F%8C%A1", "temperature_changed"] {
        let resp = client("consumer")
            .delete(cloud.url(&format!("/unsubscribe?event_type={event_type}&system_name=consumer&address=127.0.0.1&port={port}")))
            .send()
            .unwrap();
        assert!(resp.status().as_u16() < 500, "{}", resp.status());
    }
}
