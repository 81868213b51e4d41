//! Starts a Service Registry in-process (real TLS listener, own test database) for one test.

#![allow(dead_code, clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use std::time::Duration;
use testing::{RunningServer, StartFuture, TestDb};

pub struct TestServer {
    pub base: String,
    pub port: u16,
    _server: RunningServer,
    /// Declared after the server, so it is dropped after the server stopped.
    pub db: TestDb,
}

/// Properties of a secured registry on the generated PKI.
pub fn secure_properties(db: &TestDb) -> String {
    format!(
        "{}domain.port=8443\nuse_strict_service_definition_verifier=true\nallow_self_addressing=true\nallow_non_routable_addressing=true\n",
        testing::secure_properties("serviceregistry", db)
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
        let props = Properties::parse(properties).with_env(std::iter::empty());
        let settings = serviceregistry::Settings::from_core(
            CoreSettings::from_properties(CoreSystem::ServiceRegistry, props).unwrap(),
        )
        .unwrap();
        let secure = settings.core.ssl.is_some();
        let server = RunningServer::start(secure, move || -> StartFuture {
            Box::pin(async move {
                serviceregistry::start(settings, Duration::from_secs(10))
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        Self {
            base: format!("{}/serviceregistry", server.origin),
            port: server.port,
            db,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}
