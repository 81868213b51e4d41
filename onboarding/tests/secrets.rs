//! Secrets never reach the logs or an answer: the keystore and database passwords when a start
//! fails, and the onboarding shared secret when a request fails (and when it succeeds). Its own
//! test binary, so that it can capture everything the systems log, at trace level.

#![allow(clippy::unwrap_used)]

use common::identity::CoreSystem;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use testing::backbone::{core, properties, Backbone};
use testing::{free_port, read, RunningServer, StartFuture, TestDb};

const SHARED_SECRET: &str = "onboarding-Secret-4711";
const GUESSED_SECRET: &str = "guessed-Secret-0815";
const KEYSTORE_PASSWORD: &str = "keystore-Secret-2718";
const DB_PASSWORD: &str = "database-Secret-3141";

/// Everything logged in this process (the first call installs the capture).
fn logged() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = log.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "trace,hyper=info,hyper_util=info,h2=info,reqwest=info,mio=info,actix_server=info,actix_http=info,tokio=info",
            ))
            .with_ansi(false)
            .with_writer(move || Capture(sink.clone()))
            .init();
        log
    })
    .clone()
}

struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn assert_not_logged(secrets: &[&str]) {
    let log = String::from_utf8_lossy(&logged().lock().unwrap()).into_owned();
    assert!(log.len() > 1000, "the capture works: {} bytes", log.len());
    for s in secrets {
        assert!(!log.contains(s), "'{s}' was logged");
        let encoded = openssl::base64::encode_block(s.as_bytes());
        assert!(!log.contains(&encoded), "'{s}' was logged base64-encoded");
    }
}

/// Starts `system` with the given properties text appended; the start's error.
fn failed_start(db: &TestDb, system: &str, extra: &str) -> String {
    let port = free_port();
    let s = authorization::Settings::from_core(core(
        CoreSystem::Authorization,
        properties(system, db, port, port, extra),
    ))
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let r = authorization::start(s, Duration::from_secs(3)).await;
            let _ = tx.send(r.err().unwrap_or_default());
        })
    });
    rx.recv_timeout(Duration::from_secs(30)).unwrap()
}

#[test]
fn secrets_stay_out_of_logs_and_answers() {
    logged();
    let db = TestDb::new();

    // A wrong keystore password and a wrong database password: clear errors, no secret in them.
    let err = failed_start(
        &db,
        "authorization",
        &format!("server.ssl.key-store-password={KEYSTORE_PASSWORD}\n"),
    );
    assert!(err.contains("authorization.p12"), "{err}");
    assert!(!err.contains(KEYSTORE_PASSWORD), "{err}");
    let err = failed_start(
        &db,
        "authorization",
        &format!("spring.datasource.password={DB_PASSWORD}\n"),
    );
    assert!(
        err.to_lowercase().contains("denied") || err.contains("refused"),
        "{err}"
    );
    assert!(!err.contains(DB_PASSWORD), "{err}");

    // Onboarding with a guessed secret, then with the right one.
    let backbone = Backbone::start(&db);
    let oc = free_port();
    let s = onboarding::Settings::from_core(core(
        CoreSystem::OnboardingController,
        properties(
            "onboardingcontroller",
            &db,
            oc,
            backbone.sr,
            &format!("server.ssl.client-auth=want\nsharedSecret={SHARED_SECRET}\n"),
        ),
    ))
    .unwrap();
    let _oc = RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            onboarding::start(s, Duration::from_secs(10))
                .await
                .map(|s| s.running)
        })
    });
    let device = reqwest::blocking::Client::builder()
        .tls_backend_native()
        .tls_certs_only([
            reqwest::Certificate::from_der(&testing::pki().master.to_der().unwrap()).unwrap(),
        ])
        .build()
        .unwrap();
    for secret in [GUESSED_SECRET, SHARED_SECRET] {
        let auth = format!(
            "Basic {}",
            openssl::base64::encode_block(format!("device:{secret}").as_bytes())
        );
        let (status, got) = read(
            device
                .post(format!(
                    "https://localhost:{oc}/onboarding/sharedsecret/csr"
                ))
                .header("Authorization", auth)
                .json(&serde_json::json!({"certificateSigningRequest": "AAAA"}))
                .send()
                .unwrap(),
        );
        assert!(status == 401 || status == 400, "{status} {got}");
        let text = got.to_string();
        assert!(
            !text.contains(GUESSED_SECRET) && !text.contains(SHARED_SECRET),
            "{text}"
        );
    }
    assert_not_logged(&[
        KEYSTORE_PASSWORD,
        DB_PASSWORD,
        SHARED_SECRET,
        GUESSED_SECRET,
    ]);
}
