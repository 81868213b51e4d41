//! What the onboarding systems stand on, in-process over mutual TLS: a Service Registry and a
//! Certificate Authority signing with the test cloud's key, and a stand-in Event Handler (a
//! recording server with the real one's certificate) registered where core systems look for
//! `event-publish`.

use crate::{
    client, pki, read, recording_server, wait_for, Recorded, RunningServer, StartFuture, TestDb,
};
use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use serde_json::json;
use std::time::Duration;

/// The properties of `system` (a certificate name) listening on `port`, registering in the
/// Service Registry at `sr`, plus `extra` lines.
pub fn properties(system: &str, db: &TestDb, port: u16, sr: u16, extra: &str) -> Properties {
    Properties::parse(&format!(
        "{}server.port={port}\ndomain.port={port}\nsr_address=localhost\nsr_port={sr}\nallow_self_addressing=true\n{extra}",
        crate::secure_properties(system, db)
    ))
    .with_env(std::iter::empty())
}

/// The settings of a core system from [`properties`].
pub fn core(system: CoreSystem, p: Properties) -> CoreSettings {
    CoreSettings::from_properties(system, p).unwrap_or_else(|e| panic!("{system:?}: {e}"))
}

pub struct Backbone {
    pub sr: u16,
    pub ca: u16,
    _servers: Vec<RunningServer>,
}

impl Backbone {
    pub fn start(db: &TestDb) -> Self {
        let (sr, ca) = (crate::free_port(), crate::free_port());
        let s = serviceregistry::Settings::from_core(core(
            CoreSystem::ServiceRegistry,
            properties("serviceregistry", db, sr, sr, ""),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let sr_server = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                serviceregistry::start(s, Duration::from_secs(10))
                    .await
                    .map_err(|e| e.to_string())
            })
        });
        let cloud_key = pki().dir.join(format!("{}.p12", crate::CLOUD));
        let extra = format!(
            "cloud.ssl.key-store={}\ncloud.ssl.key-store-password=123456\ncloud.ssl.key-password=123456\n",
            cloud_key.display()
        );
        let s = certificate_authority::Settings::from_core(core(
            CoreSystem::CertificateAuthority,
            properties("certificateauthority", db, ca, sr, &extra),
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let ca_server = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                certificate_authority::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        });
        Self {
            sr,
            ca,
            _servers: vec![sr_server, ca_server],
        }
    }

    pub fn sr_url(&self, path: &str) -> String {
        format!("https://localhost:{}/serviceregistry{path}", self.sr)
    }

    /// Waits until some system has registered `definition`.
    pub fn wait_for_service(&self, definition: &str) {
        let url = self.sr_url(&format!("/mgmt/servicedef/{definition}"));
        wait_for(definition, Duration::from_secs(20), || {
            client("sysop")
                .get(&url)
                .send()
                .map(|r| read(r).1["count"].as_i64() > Some(0))
                .unwrap_or(false)
        });
    }

    /// A recording server with the Event Handler's certificate, registered as the provider of
    /// `event-publish`: the events core systems publish land in the returned list.
    pub fn stand_in_event_handler(&self) -> (RunningServer, Recorded) {
        let pki = pki();
        let (eh, events) = recording_server(
            &pki.dir.join("eventhandler.p12"),
            &pki.dir.join("truststore.p12"),
            "/eventhandler/publish",
            0,
        );
        let (status, got) = read(
            client("eventhandler")
                .post(self.sr_url("/register"))
                .json(&json!({"serviceDefinition": "event-publish", "providerSystem": {"systemName": "eventhandler",
                    "address": "localhost", "port": eh.port, "authenticationInfo": "k"},
                    "serviceUri": "/eventhandler/publish", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"]}))
                .send()
                .unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(status, 201, "{got}");
        (eh, events)
    }
}
