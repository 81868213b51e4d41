//! Two local clouds on one machine under one master, each with its own database and its own
//! Service Registry, Authorization, Orchestrator and Gatekeeper (and, when asked, a Gateway;
//! in-process, mutual TLS), and a private ActiveMQ relay between them, registered in both
//! Gatekeepers: what the inter-cloud tests stand on. Cloud A is the generated test cloud
//! (`testcloud.aitia`); cloud B (`remotecloud.aitia`) gets a PKI of its own under the same
//! master.

use crate::broker::Broker;
use crate::{client_from, free_port, pki, read, RunningServer, StartFuture, TestDb, PASSWORD};
use certificate_authority::local_cloud::{self, CloudSpec};
use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use common::tls::Keystore;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

pub const REMOTE_CLOUD: &str = "remotecloud";

/// The PKI folder of cloud B (generated once per test process, master shared with cloud A).
pub fn remote_pki() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let a = pki();
        let dir = a.dir.join(REMOTE_CLOUD);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(a.dir.join("master.p12"), dir.join("master.p12")).unwrap();
        let spec = CloudSpec {
            cloud: REMOTE_CLOUD.into(),
            operator: crate::OPERATOR.into(),
            password: PASSWORD.into(),
            hosts: vec![],
            applications: ["provider", "consumer", "qosmonitor"]
                .map(String::from)
                .to_vec(),
            days: 30,
            force: false,
        };
        local_cloud::generate(&spec, &dir).unwrap();
        dir
    })
}

/// One cloud's core systems.
pub struct Cloud {
    pub name: String,
    pub dir: PathBuf,
    pub db: TestDb,
    pub sr: u16,
    pub auth: u16,
    pub orch: u16,
    pub gk: u16,
    /// The Gateway's port and its consumer ports, when it runs one.
    pub gw: Option<(u16, u16, u16)>,
    servers: Vec<RunningServer>,
}

/// Properties of `system` of the cloud in `dir`.
fn properties(
    dir: &Path,
    system: &str,
    db: &TestDb,
    port: u16,
    sr: u16,
    extra: &str,
) -> Properties {
    Properties::parse(&format!(
        "server.address=127.0.0.1\nserver.port={port}\ndomain.name=localhost\ndomain.port={port}\n\
         server.ssl.key-store={}\nserver.ssl.key-store-password=123456\nserver.ssl.trust-store={}\nserver.ssl.trust-store-password=123456\n\
         spring.datasource.url={}\nspring.datasource.username={}\nspring.datasource.password={}\nserver.workers=2\n\
         sr_address=localhost\nsr_port={sr}\nallow_self_addressing=true\n{extra}",
        dir.join(format!("{system}.p12")).display(),
        dir.join("truststore.p12").display(),
        db.jdbc_url(),
        db.settings.username,
        db.settings.password,
    ))
    .with_env(std::iter::empty())
}

fn core(system: CoreSystem, p: Properties) -> CoreSettings {
    CoreSettings::from_properties(system, p).unwrap_or_else(|e| panic!("{system:?}: {e}"))
}

fn serve<F>(start: F) -> RunningServer
where
    F: FnOnce() -> StartFuture + Send + 'static,
{
    RunningServer::start(true, start)
}

/// Extra Gatekeeper and Orchestrator properties of a cloud, and whether it runs a Gateway
/// (`gateway_is_present`) that other clouds must use (`gateway_is_mandatory`).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub gatekeeper: String,
    pub orchestrator: String,
    pub gateway: bool,
    pub mandatory: bool,
}

/// `n` consecutive free ports (a Gateway's consumer ports).
pub fn free_ports(n: u16) -> (u16, u16) {
    loop {
        let first = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("no free port: {e}"));
        let Some(last) = first.checked_add(n - 1) else {
            continue;
        };
        if (first..=last).all(|p| std::net::TcpListener::bind(("0.0.0.0", p)).is_ok()) {
            return (first, last);
        }
    }
}

impl Cloud {
    /// Starts the cloud whose PKI is in `dir`; the Gatekeeper trusts the relay master in
    /// `relay_trust` (a PEM file).
    pub fn start(name: &str, dir: &Path, relay_trust: &Path, options: &Options) -> Self {
        let db = TestDb::new();
        let (sr, auth, orch, gk) = (free_port(), free_port(), free_port(), free_port());
        let mut servers = Vec::new();
        let s = serviceregistry::Settings::from_core(core(
            CoreSystem::ServiceRegistry,
            properties(dir, "serviceregistry", &db, sr, sr, ""),
        ))
        .unwrap();
        servers.push(serve(move || -> StartFuture {
            Box::pin(async move {
                serviceregistry::start(s, Duration::from_secs(10))
                    .await
                    .map_err(|e| e.to_string())
            })
        }));
        let s = authorization::Settings::from_core(core(
            CoreSystem::Authorization,
            properties(dir, "authorization", &db, auth, sr, ""),
        ))
        .unwrap();
        servers.push(serve(move || -> StartFuture {
            Box::pin(async move {
                authorization::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        }));
        let extra = format!(
            "gatekeeper_is_present=true\nauth_token_ttl_in_minutes=60\n{}",
            options.orchestrator
        );
        let s = orchestrator::Settings::from_core(core(
            CoreSystem::Orchestrator,
            properties(dir, "orchestrator", &db, orch, sr, &extra),
        ))
        .unwrap();
        servers.push(serve(move || -> StartFuture {
            Box::pin(async move {
                orchestrator::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        }));
        let mut gw = None;
        if options.gateway {
            let port = free_port();
            let (min, max) = free_ports(4);
            gw = Some((port, min, max));
            let extra = format!(
                "relay.trust-store={}\nmin_port={min}\nmax_port={max}\ngateway_socket_timeout=10000\n",
                relay_trust.display()
            );
            let s = gateway::Settings::from_core(core(
                CoreSystem::Gateway,
                properties(dir, "gateway", &db, port, sr, &extra),
            ))
            .unwrap();
            servers.push(serve(move || -> StartFuture {
                Box::pin(async move {
                    gateway::start(s, Duration::from_secs(10))
                        .await
                        .map(|s| s.running)
                })
            }));
        }
        let extra = format!(
            "relay.trust-store={}\nrelay_check_interval=1\ntimeout=5000\ngateway_is_present={}\ngateway_is_mandatory={}\n{}",
            relay_trust.display(),
            options.gateway,
            options.mandatory,
            options.gatekeeper
        );
        let s = gatekeeper::Settings::from_core(core(
            CoreSystem::Gatekeeper,
            properties(dir, "gatekeeper", &db, gk, sr, &extra),
        ))
        .unwrap();
        servers.push(serve(move || -> StartFuture {
            Box::pin(async move {
                gatekeeper::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        }));
        let cloud = Self {
            name: name.into(),
            dir: dir.to_owned(),
            db,
            sr,
            auth,
            orch,
            gk,
            gw,
            servers,
        };
        if options.gateway {
            cloud.wait_for_service("gw-connect-consumer");
        }
        for service in [
            "authorization-control-inter",
            "orchestration-service",
            "global-service-discovery",
            "inter-cloud-negotiations",
            "token-generation",
        ] {
            cloud.wait_for_service(service);
        }
        cloud
    }

    /// Stops this cloud's Gatekeeper (the last system started): other clouds find it silent.
    pub fn stop_gatekeeper(&mut self) {
        drop(self.servers.pop());
    }

    /// A client of this cloud holding `system`'s certificate.
    pub fn client(&self, system: &str) -> reqwest::blocking::Client {
        client_from(&self.dir.join(format!("{system}.p12")), &pki().master)
    }

    pub fn url(&self, system: &str, path: &str) -> String {
        let port = match system {
            "serviceregistry" => self.sr,
            "authorization" => self.auth,
            "orchestrator" => self.orch,
            "gatekeeper" => self.gk,
            "gateway" => self.gw.expect("no Gateway in this cloud").0,
            other => panic!("no {other} in this cloud"),
        };
        format!("https://localhost:{port}/{system}{path}")
    }

    /// Waits until `definition` is registered in this cloud.
    pub fn wait_for_service(&self, definition: &str) {
        let url = self.url("serviceregistry", &format!("/mgmt/servicedef/{definition}"));
        let sysop = self.client("sysop");
        crate::wait_for(definition, Duration::from_secs(20), || {
            sysop
                .get(&url)
                .send()
                .map(|r| read(r).1["count"].as_i64() > Some(0))
                .unwrap_or(false)
        });
    }

    /// The public key (base64 DER) of one of this cloud's systems.
    pub fn public_key(&self, system: &str) -> String {
        Keystore::from_pkcs12_file(&self.dir.join(format!("{system}.p12")), PASSWORD)
            .unwrap()
            .public_key_base64()
            .unwrap()
    }

    /// POSTs `body` as `who` and returns the status and JSON.
    pub fn post(&self, who: &str, system: &str, path: &str, body: &Value) -> (u16, Value) {
        read(
            self.client(who)
                .post(self.url(system, path))
                .json(body)
                .send()
                .unwrap(),
        )
    }

    /// Registers the relay (once) and `other` as a neighbour cloud reached through it; returns
    /// the id of `other` in this cloud.
    pub fn know(&self, other: &Cloud, relay_port: u16) -> i64 {
        let (status, relays) = self.post(
            "sysop",
            "gatekeeper",
            "/mgmt/relays",
            &json!([{"address": "127.0.0.1", "port": relay_port, "secure": true,
                     "exclusive": false, "type": "GENERAL_RELAY"}]),
        );
        let relay_id = if status == 201 {
            relays["data"][0]["id"].as_i64().unwrap()
        } else {
            let (_, r) = read(
                self.client("sysop")
                    .get(self.url(
                        "gatekeeper",
                        &format!("/mgmt/relays/127.0.0.1/{relay_port}"),
                    ))
                    .send()
                    .unwrap(),
            );
            r["id"].as_i64().unwrap()
        };
        let (status, clouds) = self.post(
            "sysop",
            "gatekeeper",
            "/mgmt/clouds",
            &json!([{"operator": crate::OPERATOR, "name": other.name, "secure": true, "neighbor": true,
                     "authenticationInfo": other.public_key("gatekeeper"), "gatekeeperRelayIds": [relay_id]}]),
        );
        assert_eq!(status, 201, "{clouds}");
        clouds["data"][0]["id"].as_i64().unwrap()
    }
}

/// B's provider: GET answers who called (the system name of the verified certificate), POST
/// echoes the body.
pub fn echo_provider(cloud: &Cloud) -> RunningServer {
    let keystore = cloud.dir.join("provider.p12");
    let truststore = cloud.dir.join("truststore.p12");
    RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            let ks = common::tls::Keystore::from_pkcs12_file(&keystore, PASSWORD)
                .map_err(|e| e.to_string())?;
            let trust = common::tls::load_trust(&common::config::TrustMaterial::Pkcs12 {
                path: truststore,
                password: PASSWORD.into(),
            })
            .map_err(|e| e.to_string())?;
            let tls = common::tls::TlsContext::new(ks, trust).map_err(|e| e.to_string())?;
            common::web::start(common::web::ServerSpec {
                address: "127.0.0.1".into(),
                port: 0,
                tls: Some(tls),
                workers: Some(1),
                openapi: utoipa::openapi::OpenApiBuilder::new().build(),
                revocations: None,
                limits: Default::default(),
                configure: |cfg: &mut actix_web::web::ServiceConfig| {
                    cfg.app_data(actix_web::web::PayloadConfig::new(16 * 1024 * 1024))
                        .route(
                            "/temperature",
                            actix_web::web::get().to(
                                |caller: common::identity::Caller| async move {
                                    caller.system_name().unwrap_or("?").to_owned()
                                },
                            ),
                        )
                        .route(
                            "/temperature",
                            actix_web::web::post().to(|body: actix_web::web::Bytes| async move {
                                actix_web::HttpResponse::Ok().body(body)
                            }),
                        );
                },
            })
            .map_err(|e| e.to_string())
        })
    })
}

/// A relay and two clouds that know each other through it.
pub struct TwoClouds {
    pub a: Cloud,
    pub b: Cloud,
    /// The id of cloud B in cloud A's database, and of A in B's.
    pub b_in_a: i64,
    pub a_in_b: i64,
    pub broker: Broker,
}

impl TwoClouds {
    pub fn start(a: &Options, b: &Options) -> Self {
        Self::start_on(a, b, Broker::start())
    }

    /// The same on a given broker (e.g. one that collects idle destinations quickly).
    pub fn start_on(a: &Options, b: &Options, broker: Broker) -> Self {
        let trust = pki()
            .dir
            .join(format!("relay-master-{}.pem", broker.stomp_ssl));
        std::fs::write(&trust, broker.relay_master.to_pem().unwrap()).unwrap();
        let ca = Cloud::start(crate::CLOUD, &pki().dir, &trust, a);
        let cb = Cloud::start(REMOTE_CLOUD, remote_pki(), &trust, b);
        let b_in_a = ca.know(&cb, broker.stomp_ssl);
        let a_in_b = cb.know(&ca, broker.stomp_ssl);
        // Both Gatekeepers listen on the relay once each can ask the other something.
        for (from, to) in [(&ca, &cb), (&cb, &ca)] {
            crate::wait_for(
                "the Gatekeepers on the relay",
                Duration::from_secs(20),
                || {
                    let (status, got) = from.post(
                        "qosmonitor",
                        "gatekeeper",
                        "/collect_access_types",
                        &json!([{"operator": crate::OPERATOR, "name": to.name}]),
                    );
                    status == 200 && got["count"] == 1
                },
            );
        }
        Self {
            a: ca,
            b: cb,
            b_in_a,
            a_in_b,
            broker,
        }
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        // Gatekeeper first: its relay links end with it.
        while let Some(s) = self.servers.pop() {
            drop(s);
        }
    }
}
