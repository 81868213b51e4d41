//! The registry's neighbours: the core-to-core HTTPS client other systems use to call it (peer
//! errors propagate unchanged, unreachable peers are a clear 503, peers of another cloud are
//! refused), and the ping clean-up task against real sockets.

#![allow(clippy::unwrap_used)]

mod support;

use common::client::CoreClient;
use common::config::TrustMaterial;
use common::error::ExceptionType;
use common::identity::CoreSystem;
use common::tls::{load_trust, Keystore, TlsContext};
use serde_json::{json, Value};
use std::time::Duration;
use support::TestServer;
use testing::{client, pki, read};

fn core_client(name: &str) -> CoreClient {
    core_client_trusting(name, &pki().truststore())
}

fn core_client_trusting(name: &str, truststore: &std::path::Path) -> CoreClient {
    let pki = pki();
    let ks = Keystore::from_pkcs12_file(&pki.keystore(name), testing::PASSWORD).unwrap();
    let trust = load_trust(&TrustMaterial::Pkcs12 {
        path: truststore.to_owned(),
        password: testing::PASSWORD.into(),
    })
    .unwrap();
    let ctx = TlsContext::new(ks, trust).unwrap();
    CoreClient::new(
        Some(&ctx),
        Duration::from_secs(2),
        Duration::from_secs(5),
        false,
    )
    .unwrap()
}

#[test]
fn core_client_calls_and_propagates_errors() {
    let sr = TestServer::secure();
    let url = sr.url("/query");
    actix_web::rt::System::new().block_on(async move {
        let orch = core_client("orchestrator");
        let ok: Value = orch
            .send(
                CoreSystem::ServiceRegistry,
                reqwest::Method::POST,
                &url,
                Some(&json!({"serviceDefinitionRequirement": "service-register"})),
            )
            .await
            .unwrap();
        assert_eq!(ok["unfilteredHits"], 1);

        // The peer's Arrowhead error comes back unchanged.
        let err = orch
            .send::<_, Value>(
                CoreSystem::ServiceRegistry,
                reqwest::Method::POST,
                &url,
                Some(&json!({"serviceDefinitionRequirement": " "})),
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ExceptionType::BadPayload);
        assert_eq!(err.status().as_u16(), 400);
        assert_eq!(
            err.message,
            "Service definition requirement is null or blank"
        );
        assert_eq!(err.origin.as_deref(), Some("/serviceregistry/query"));

        // An application system is refused by the peer's access rules: 401 AUTH, as sent.
        let app = core_client("provider");
        let err = app
            .send::<_, Value>(
                CoreSystem::ServiceRegistry,
                reqwest::Method::POST,
                &url,
                Some(&json!({"serviceDefinitionRequirement": "temperature"})),
            )
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.status().as_u16()),
            (ExceptionType::Auth, 401)
        );

        // Nobody listening: a 503 naming the URL.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dead = format!("https://localhost:{closed}/serviceregistry/echo");
        let err = orch
            .send_raw::<()>(
                CoreSystem::ServiceRegistry,
                reqwest::Method::GET,
                &dead,
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(
            (err.kind, err.status().as_u16()),
            (ExceptionType::Unavailable, 503)
        );
        assert_eq!(
            err.message,
            format!("Could not get any response from: {dead}")
        );
    });
}

/// A server of another cloud under the same master is refused by the client in the handshake.
#[test]
fn core_client_refuses_a_peer_of_another_cloud() {
    let foreign = server_as("other-provider");
    let url = foreign.url("/echo");
    actix_web::rt::System::new().block_on(async move {
        let err = core_client("orchestrator")
            .send_raw::<()>(
                CoreSystem::ServiceRegistry,
                reqwest::Method::GET,
                &url,
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind, ExceptionType::Auth);
        assert_eq!(
            err.message,
            format!("The system at {url} is not part of the same certificate chain of trust!")
        );
    });
}

/// A stand-in server presenting another keystore of the generated PKI (a core system refuses to
/// start with another system's certificate, so impostors are plain servers). Requests never get
/// past the client's handshake, so what it serves does not matter.
struct Impostor(testing::RunningServer);

impl Impostor {
    fn url(&self, path: &str) -> String {
        format!("{}/serviceregistry{path}", self.0.origin)
    }
}

fn server_as(keystore: &str) -> Impostor {
    impostor(&pki().keystore(keystore), &pki().truststore())
}

fn impostor(keystore: &std::path::Path, truststore: &std::path::Path) -> Impostor {
    Impostor(testing::recording_server(keystore, truststore, "/unused", 0).0)
}

fn refused(err: &common::ArrowheadError, url: &str) {
    assert_eq!(
        (err.kind, err.status().as_u16(), err.message.as_str()),
        (
            ExceptionType::Auth,
            401,
            format!("The system at {url} is not part of the same certificate chain of trust!")
                .as_str()
        )
    );
}

/// A core client reaches only the core system it expects: a genuine system of the cloud in the
/// wrong place (an application, another core system) is refused in the handshake.
#[test]
fn core_client_refuses_a_peer_that_is_not_the_expected_core_system() {
    let sr = TestServer::secure();
    let impostor = server_as("provider");
    let operator = server_as("sysop");
    let url = sr.url("/echo");
    let others = [impostor.url("/echo"), operator.url("/echo")];
    let errors = actix_web::rt::System::new().block_on(async move {
        let orch = core_client("orchestrator");
        let genuine = orch
            .send_raw::<()>(
                CoreSystem::ServiceRegistry,
                reqwest::Method::GET,
                &url,
                None,
            )
            .await;
        let mut errors = vec![(
            url.clone(),
            orch.send_raw::<()>(CoreSystem::Authorization, reqwest::Method::GET, &url, None)
                .await,
        )];
        for other in others {
            let got = orch
                .send_raw::<()>(
                    CoreSystem::ServiceRegistry,
                    reqwest::Method::GET,
                    &other,
                    None,
                )
                .await;
            errors.push((other, got));
        }
        assert_eq!(genuine.unwrap(), "Got it!");
        errors
    });
    for (url, got) in errors {
        refused(&got.unwrap_err(), &url);
    }
    drop((impostor, operator));
}

/// With the master trusted by the client, a server certificate of another cloud's CA that
/// claims this cloud's Service Registry name is still refused.
#[test]
fn core_client_refuses_a_look_alike_issued_by_another_cloud() {
    let pki = pki();
    // A "serviceregistry.testcloud..." certificate signed by the other cloud's CA.
    let master =
        Keystore::from_pkcs12_file(&pki.dir.join("master.p12"), testing::PASSWORD).unwrap();
    let other = certificate_authority::pki::make_cloud(
        &certificate_authority::pki::Issued {
            cert: master.cert.clone(),
            key: master.key.clone(),
        },
        "othercloud",
        testing::OPERATOR,
        1,
    )
    .unwrap();
    let key = certificate_authority::pki::generate_key().unwrap();
    let hosts = ["localhost".to_owned(), "127.0.0.1".to_owned()];
    let cert = certificate_authority::pki::sign_certificate(
        &format!(
            "serviceregistry.{}.{}.arrowhead.eu",
            testing::CLOUD,
            testing::OPERATOR
        ),
        &key,
        Some(&other),
        None,
        certificate_authority::pki::Profile::Leaf { hosts: &hosts },
        1,
    )
    .unwrap();
    let path = std::env::temp_dir().join(format!("ah-lookalike-sr-{}.p12", std::process::id()));
    std::fs::write(
        &path,
        certificate_authority::pki::keystore_p12(
            "serviceregistry",
            &certificate_authority::pki::Issued { cert, key },
            &[&other.cert, &master.cert],
            testing::PASSWORD,
        )
        .unwrap(),
    )
    .unwrap();
    let fake = impostor(&path, &pki.master_truststore());
    std::fs::remove_file(&path).ok();
    let url = fake.url("/echo");
    actix_web::rt::System::new().block_on(async move {
        let orch = core_client_trusting("orchestrator", &pki.master_truststore());
        let err = orch
            .send_raw::<()>(
                CoreSystem::ServiceRegistry,
                reqwest::Method::GET,
                &url,
                None,
            )
            .await
            .unwrap_err();
        refused(&err, &url);
    });
}

#[test]
fn ping_clean_up_removes_unreachable_providers() {
    let sr = TestServer::secure();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let alive_port = listener.local_addr().unwrap().port();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (uri, port) in [("/alive", alive_port), ("/dead", dead_port)] {
        let body = json!({"serviceDefinition": "temperature",
            "providerSystem": {"systemName": "provider", "address": "127.0.0.1", "port": port},
            "serviceUri": uri, "interfaces": ["HTTP-SECURE-JSON"]});
        assert_eq!(
            read(
                client("provider")
                    .post(sr.url("/register"))
                    .json(&body)
                    .send()
                    .unwrap()
            )
            .0,
            201
        );
    }
    // The task itself runs (at once, then every 300 ms) until the dead entry is gone; the
    // registry's own services (port 8443 in these tests, where nothing listens) go as well,
    // exactly as the Java ping task would remove them.
    let settings = sr.db.settings.clone();
    let task = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let pool = common::db::connect(
                &settings,
                2,
                Duration::from_secs(5),
                serviceregistry::REQUIRED_TABLES,
            )
            .unwrap();
            let run = serviceregistry::tasks::ping_task(
                pool,
                Duration::ZERO,
                Duration::from_millis(300),
                Duration::from_millis(500),
            );
            let _ = tokio::time::timeout(Duration::from_secs(4), run).await;
        })
    });
    let query = || {
        read(
            client("orchestrator")
                .post(sr.url("/query"))
                .json(&json!({"serviceDefinitionRequirement": "temperature"}))
                .send()
                .unwrap(),
        )
        .1
    };
    testing::wait_for("the dead entry removed", Duration::from_secs(4), || {
        query()["unfilteredHits"] == 1
    });
    task.join().unwrap();
    let got = query();
    assert_eq!(got["unfilteredHits"], 1, "the live one stays");
    assert_eq!(got["serviceQueryData"][0]["serviceUri"], "/alive");
    drop(listener);
}

/// Two instances of one system (same name, other ports) registering, restarting and stopping:
/// each touches only its own entries.
#[test]
fn instances_of_one_system_leave_each_other_registered() {
    use common::registration::Registrar;
    let sr = TestServer::secure();
    let sr_port = sr.port;
    let query_url = sr.url("/query");
    let ports = actix_web::rt::System::new().block_on(async move {
        let instance = |address: &str, port: u16| {
            Registrar::new(
                core_client("authorization"),
                "localhost",
                sr_port,
                CoreSystem::Authorization,
                address,
                port,
                Some("a2V5".into()),
            )
        };
        // The third instance's address is stored in another spelling (IPv6 in full form).
        let (a, b, c) = (
            instance("127.0.0.1", 7001),
            instance("127.0.0.1", 7002),
            instance("::1", 7003),
        );
        let observer = core_client("orchestrator");
        let ports = || async {
            let got: Value = observer
                .send(
                    CoreSystem::ServiceRegistry,
                    reqwest::Method::POST,
                    &query_url,
                    Some(&json!({"serviceDefinitionRequirement": "authorization-control-intra"})),
                )
                .await
                .unwrap();
            let mut ports: Vec<i64> = got["serviceQueryData"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["provider"]["port"].as_i64().unwrap())
                .collect();
            ports.sort();
            ports
        };
        let mut seen = Vec::new();
        a.register_all().await.unwrap();
        b.register_all().await.unwrap();
        c.register_all().await.unwrap();
        seen.push(ports().await);
        a.register_all().await.unwrap(); // a restarts
        c.register_all().await.unwrap(); // c restarts
        seen.push(ports().await);
        a.unregister_all().await; // a stops
        seen.push(ports().await);
        c.unregister_all().await; // c stops
        seen.push(ports().await);
        seen
    });
    assert_eq!(
        ports,
        vec![
            vec![7001, 7002, 7003],
            vec![7001, 7002, 7003],
            vec![7002, 7003],
            vec![7002]
        ]
    );
}
