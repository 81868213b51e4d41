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
use testing::{client, pki, read, TestDb};

fn core_client(name: &str) -> CoreClient {
    let pki = pki();
    let ks = Keystore::from_pkcs12_file(&pki.keystore(name), testing::PASSWORD).unwrap();
    let trust = load_trust(&TrustMaterial::Pkcs12 {
        path: pki.truststore(),
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

/// A server of another cloud under the same master passes TLS but is refused by the client.
#[test]
fn core_client_refuses_a_peer_of_another_cloud() {
    let db = TestDb::new();
    let pki = pki();
    let props = support::secure_properties(&db).replace(
        &format!(
            "server.ssl.key-store={}",
            pki.keystore("serviceregistry").display()
        ),
        &format!(
            "server.ssl.key-store={}",
            pki.keystore("other-provider").display()
        ),
    );
    let foreign = TestServer::start(&props, db);
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
    let settings = sr.db.settings.clone();
    let removed = actix_web::rt::System::new().block_on(async move {
        let pool = common::db::connect(
            &settings,
            2,
            Duration::from_secs(5),
            serviceregistry::REQUIRED_TABLES,
        )
        .unwrap();
        serviceregistry::tasks::remove_unreachable(&pool, Duration::from_millis(500))
            .await
            .unwrap()
    });
    // The dead provider's entry goes; the registry's own services (port 8443 in these tests,
    // where nothing listens) go as well, exactly as the Java ping task would remove them.
    assert!(removed >= 1);
    let (_, got) = read(
        client("orchestrator")
            .post(sr.url("/query"))
            .json(&json!({"serviceDefinitionRequirement": "temperature"}))
            .send()
            .unwrap(),
    );
    assert_eq!(got["unfilteredHits"], 1);
    assert_eq!(got["serviceQueryData"][0]["serviceUri"], "/alive");
    drop(listener);
}
