//! Starts a Service Registry in-process (real TLS listener, own test database) for one test.

#![allow(dead_code, clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use serde_json::Value;
use std::time::Duration;
use testing::{pki, TestDb};

pub struct TestServer {
    pub base: String,
    pub port: u16,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    pub db: TestDb,
}

/// Properties of a secured registry on the generated PKI.
pub fn secure_properties(db: &TestDb) -> String {
    let pki = pki();
    format!(
        "server.address=127.0.0.1\nserver.port=0\ndomain.name=127.0.0.1\ndomain.port=8443\n\
         server.ssl.key-store={}\nserver.ssl.key-store-password=123456\nserver.ssl.trust-store={}\nserver.ssl.trust-store-password=123456\n\
         spring.datasource.url={}\nspring.datasource.username={}\nspring.datasource.password={}\n\
         use_strict_service_definition_verifier=true\nallow_self_addressing=true\nallow_non_routable_addressing=true\nserver.workers=2\n",
        pki.keystore("serviceregistry").display(),
        pki.truststore().display(),
        db.jdbc_url(),
        db.settings.username,
        db.settings.password,
    )
}

impl TestServer {
    pub fn secure() -> Self {
        Self::secure_with("")
    }

    /// A secured registry with extra properties appended (later keys win).
    pub fn secure_with(extra: &str) -> Self {
        let db = TestDb::new();
        let text = format!("{}{extra}", secure_properties(&db));
        Self::start(&text, db)
    }

    pub fn insecure() -> Self {
        let db = TestDb::new();
        let text = format!(
            "server.address=127.0.0.1\nserver.port=0\nserver.ssl.enabled=false\nspring.datasource.url={}\n\
             spring.datasource.username={}\nspring.datasource.password={}\nallow_self_addressing=true\nserver.workers=2\n",
            db.jdbc_url(),
            db.settings.username,
            db.settings.password
        );
        Self::start(&text, db)
    }

    pub fn start(properties: &str, db: TestDb) -> Self {
        common::web::init_test_tracing();
        let props = Properties::parse(properties).with_env(std::iter::empty());
        let settings = serviceregistry::Settings::from_core(
            CoreSettings::from_properties(CoreSystem::ServiceRegistry, props).unwrap(),
        )
        .unwrap();
        let secure = settings.core.ssl.is_some();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match serviceregistry::start(settings, Duration::from_secs(10)).await {
                    Ok(running) => {
                        tx.send(Ok((running.addr, running.server.handle())))
                            .unwrap();
                        let _ = running.server.await;
                    }
                    Err(e) => tx.send(Err(e.to_string())).unwrap(),
                }
            })
        });
        let (addr, handle) = rx
            .recv()
            .unwrap()
            .unwrap_or_else(|e| panic!("registry did not start: {e}"));
        let scheme = if secure { "https" } else { "http" };
        Self {
            base: format!("{scheme}://localhost:{}/serviceregistry", addr.port()),
            port: addr.port(),
            handle,
            thread: Some(thread),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Replaces timestamps (after checking their ISO-8601 UTC form) so bodies compare exactly.
pub fn scrub(mut v: Value) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, val) in m.iter_mut() {
                    if k == "createdAt" || k == "updatedAt" {
                        let s = val.as_str().unwrap_or_default();
                        assert!(
                            chrono::DateTime::parse_from_rfc3339(s).is_ok() && s.ends_with('Z'),
                            "bad timestamp {s}"
                        );
                        *val = Value::String("<ts>".into());
                    } else {
                        walk(val);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut v);
    v
}

/// An Arrowhead error body.
pub fn error(message: &str, code: u16, kind: &str, origin: Option<&str>) -> Value {
    let mut v =
        serde_json::json!({"errorMessage": message, "errorCode": code, "exceptionType": kind});
    if let Some(o) = origin {
        v["origin"] = Value::String(o.to_owned());
    }
    v
}
