//! The whole chain in-process over mutual TLS on MariaDB: a device holding only the shared
//! secret (and the master certificate) onboards through the Onboarding Controller and the
//! Certificate Authority, registers a service in the Service Registry with its new certificate,
//! and after the sysop's rule the Orchestrator hands it to a consumer.

#![allow(clippy::unwrap_used)]

use common::identity::CoreSystem;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::time::Duration;
use testing::backbone::{core, properties as props};
use testing::{client, error, free_port, read, wait_for, RunningServer, StartFuture, TestDb};

const SECRET: &str = "s3cret:with-colon";

struct Cloud {
    sr: u16,
    orch: u16,
    oc: u16,
    _servers: Vec<RunningServer>,
    _db: TestDb,
}

impl Cloud {
    fn start() -> Self {
        Self::with(false)
    }

    /// `registries`: with a Device Registry and a System Registry (the whole chain).
    fn with(registries: bool) -> Self {
        let db = TestDb::new();
        let (sr, auth, orch, ca, oc) = (
            free_port(),
            free_port(),
            free_port(),
            free_port(),
            free_port(),
        );
        let mut servers = Vec::new();
        let s = serviceregistry::Settings::from_core(core(
            CoreSystem::ServiceRegistry,
            props("serviceregistry", &db, sr, sr, ""),
        ))
        .unwrap();
        servers.push(RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                serviceregistry::start(s, Duration::from_secs(10))
                    .await
                    .map_err(|e| e.to_string())
            })
        }));
        let s = authorization::Settings::from_core(core(
            CoreSystem::Authorization,
            props("authorization", &db, auth, sr, ""),
        ))
        .unwrap();
        servers.push(RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                authorization::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        }));
        let s = orchestrator::Settings::from_core(core(
            CoreSystem::Orchestrator,
            props("orchestrator", &db, orch, sr, ""),
        ))
        .unwrap();
        servers.push(RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                orchestrator::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        }));
        let cloud_key = testing::pki().dir.join(format!("{}.p12", testing::CLOUD));
        let ca_extra = format!(
            "cloud.ssl.key-store={}\ncloud.ssl.key-store-password=123456\ncloud.ssl.key-password=123456\n",
            cloud_key.display()
        );
        let s = certificate_authority::Settings::from_core(core(
            CoreSystem::CertificateAuthority,
            props("certificateauthority", &db, ca, sr, &ca_extra),
        ))
        .unwrap();
        servers.push(RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                certificate_authority::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        }));
        let oc_extra = format!("server.ssl.client-auth=want\nsharedSecret={SECRET}\n");
        let s = onboarding::Settings::from_core(core(
            CoreSystem::OnboardingController,
            props("onboardingcontroller", &db, oc, sr, &oc_extra),
        ))
        .unwrap();
        servers.push(RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                onboarding::start(s, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        }));
        if registries {
            let (dr, syr) = (free_port(), free_port());
            let s = deviceregistry::Settings::from_core(core(
                CoreSystem::DeviceRegistry,
                props("deviceregistry", &db, dr, sr, ""),
            ))
            .unwrap();
            servers.push(RunningServer::start(true, move || -> StartFuture {
                Box::pin(async move {
                    deviceregistry::start(s, Duration::from_secs(10))
                        .await
                        .map(|s| s.running)
                })
            }));
            let s = systemregistry::Settings::from_core(core(
                CoreSystem::SystemRegistry,
                props("systemregistry", &db, syr, sr, ""),
            ))
            .unwrap();
            servers.push(RunningServer::start(true, move || -> StartFuture {
                Box::pin(async move {
                    systemregistry::start(s, Duration::from_secs(10))
                        .await
                        .map(|s| s.running)
                })
            }));
        }
        let cloud = Self {
            sr,
            orch,
            oc,
            _servers: servers,
            _db: db,
        };
        // Every system registers itself in the background.
        let mut wanted = vec!["ca-sign", "orchestration-service", "service-register"];
        if registries {
            wanted.extend(["device-onboarding-with-csr", "system-onboarding-with-csr"]);
        }
        for def in wanted {
            let url = cloud.sr_url(&format!("/mgmt/servicedef/{def}"));
            wait_for(def, Duration::from_secs(20), || {
                read(client("sysop").get(&url).send().unwrap()).1["count"].as_i64() > Some(0)
            });
        }
        cloud
    }

    fn sr_url(&self, path: &str) -> String {
        format!("https://localhost:{}/serviceregistry{path}", self.sr)
    }

    fn oc_url(&self, path: &str) -> String {
        format!("https://localhost:{}/onboarding{path}", self.oc)
    }
}

/// A client without a certificate (a new device), trusting the master.
fn device_client() -> Client {
    Client::builder()
        .tls_backend_native()
        .tls_certs_only([
            reqwest::Certificate::from_der(&testing::pki().master.to_der().unwrap()).unwrap(),
        ])
        .build()
        .unwrap()
}

fn basic(user_and_secret: &str) -> String {
    format!(
        "Basic {}",
        openssl::base64::encode_block(user_and_secret.as_bytes())
    )
}

fn join(cloud: &Cloud, dir: &std::path::Path) -> arrowhead_app::onboard::Joined {
    let _ = std::fs::remove_dir_all(dir);
    let master = testing::pki().master.clone();
    let url = format!("https://localhost:{}", cloud.oc);
    let device = arrowhead_app::onboard::Device {
        name: "greenhouse-7".into(),
        address: "127.0.0.1".into(),
        mac: "02:00:00:00:00:07".into(),
    };
    let system = arrowhead_app::onboard::SystemSpec {
        name: "hygrometer".into(),
        address: "127.0.0.1".into(),
        port: 9104,
    };
    actix_web::rt::System::new()
        .block_on(arrowhead_app::onboard::join(
            &url, SECRET, &device, &system, &master, dir, "123456",
        ))
        .unwrap()
}

/// Without Device and System Registries, the Onboarding Controller certifies the system.
#[test]
fn without_registries_the_controller_certifies_the_system() {
    let cloud = Cloud::start();
    let dir = std::env::temp_dir().join(format!("ah-onboard-oc-{}", std::process::id()));
    let done = join(&cloud, &dir);
    assert_eq!(done.common_name, "hygrometer.testcloud.aitia.arrowhead.eu");
    assert!(done.device_entry.is_none() && done.system_entry.is_none());
    assert_eq!(
        done.answer["deviceRegistry"],
        Value::Null,
        "no Device Registry in this cloud"
    );
    let cert =
        common::tls::Keystore::from_pkcs12_file(&dir.join("hygrometer.p12"), "123456").unwrap();
    assert_eq!(
        common::tls::common_name(&cert.cert).as_deref(),
        Some("hygrometer.testcloud.aitia.arrowhead.eu")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_device_with_only_the_shared_secret_joins_and_is_orchestrated() {
    let cloud = Cloud::with(true);
    let dir = std::env::temp_dir().join(format!("ah-onboard-{}", std::process::id()));
    let master = testing::pki().master.clone();
    let done = join(&cloud, &dir);
    assert_eq!(done.common_name, "hygrometer.testcloud.aitia.arrowhead.eu");
    for file in [
        "hygrometer.p12",
        "hygrometer.key",
        "hygrometer.crt",
        "hygrometer.chain.pem",
        "hygrometer.pub",
        "greenhouse-7.p12",
        "truststore.p12",
    ] {
        assert!(dir.join(file).is_file(), "{file} written");
    }
    let answer = &done.answer;
    assert_eq!(
        answer["onboardingCertificate"]["certificateType"],
        "AH_ONBOARDING"
    );
    assert_eq!(
        answer["onboardingCertificate"]["keyPairDTO"]["privateKey"],
        Value::Null,
        "the key stayed on the device"
    );
    assert_eq!(
        answer["serviceRegistry"]["service"],
        "SERVICEREGISTRY_REGISTER_SERVICE"
    );
    assert!(answer["serviceRegistry"]["uri"]
        .as_str()
        .unwrap()
        .ends_with("/serviceregistry/register"));
    assert_eq!(
        answer["orchestrationService"]["service"],
        "ORCHESTRATION_SERVICE"
    );
    assert_eq!(
        answer["deviceRegistry"]["service"],
        "DEVICEREGISTRY_ONBOARDING_WITH_CSR_SERVICE"
    );
    assert_eq!(
        answer["systemRegistry"]["service"],
        "SYSTEMREGISTRY_ONBOARDING_WITH_CSR_SERVICE"
    );
    // The device is in the Device Registry with a certificate of its own; the system is in the
    // System Registry on that device, with its own.
    let device_entry = done.device_entry.as_ref().unwrap();
    assert_eq!(
        (
            device_entry["device"]["deviceName"].as_str(),
            device_entry["device"]["macAddress"].as_str(),
            device_entry["certificateResponse"]["certificateType"].as_str()
        ),
        (
            Some("greenhouse-7"),
            Some("02:00:00:00:00:07"),
            Some("AH_DEVICE")
        )
    );
    let system_entry = done.system_entry.as_ref().unwrap();
    assert_eq!(
        (
            system_entry["system"]["systemName"].as_str(),
            system_entry["provider"]["deviceName"].as_str(),
            system_entry["certificateResponse"]["certificateType"].as_str()
        ),
        (Some("hygrometer"), Some("greenhouse-7"), Some("AH_SYSTEM"))
    );
    // At startup the controller allowed itself every service it consumes (Java's start-up
    // rules), so the Orchestrator can answer it.
    let auth_port = {
        let (_, found) = read(
            client("sysop")
                .get(cloud.sr_url("/mgmt/servicedef/authorization-control-intra"))
                .send()
                .unwrap(),
        );
        found["data"][0]["provider"]["port"].as_i64().unwrap()
    };
    let rules_url = format!("https://localhost:{auth_port}/authorization/mgmt/intracloud");
    wait_for("the controller's rules", Duration::from_secs(40), || {
        let (_, rules) = read(client("sysop").get(&rules_url).send().unwrap());
        let mut allowed: Vec<String> = rules["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["consumerSystem"]["systemName"] == "onboardingcontroller")
            .filter_map(|r| {
                r["serviceDefinition"]["serviceDefinition"]
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        allowed.sort();
        allowed.dedup();
        allowed.len() == onboarding::peers::CONSUMED.len()
    });
    let device_cert =
        common::tls::Keystore::from_pkcs12_file(&dir.join("greenhouse-7.p12"), "123456").unwrap();
    assert_eq!(
        common::tls::common_name(&device_cert.cert).as_deref(),
        Some("greenhouse-7.testcloud.aitia.arrowhead.eu")
    );
    let system_cert =
        common::tls::Keystore::from_pkcs12_file(&dir.join("hygrometer.p12"), "123456").unwrap();
    assert!(system_cert
        .cert
        .verify(&testing::pki_cloud_certificate().public_key().unwrap())
        .unwrap());

    // The new system registers a service with its own certificate.
    let device = testing::client_from(&dir.join("hygrometer.p12"), &master);
    let key = common::tls::Keystore::from_pkcs12_file(&dir.join("hygrometer.p12"), "123456")
        .unwrap()
        .public_key_base64()
        .unwrap();
    let (status, registered) = read(
        device
            .post(cloud.sr_url("/register"))
            .json(&json!({"serviceDefinition": "humidity", "serviceUri": "/humidity", "secure": "CERTIFICATE",
                          "interfaces": ["HTTP-SECURE-JSON"],
                          "providerSystem": {"systemName": "hygrometer", "address": "127.0.0.1", "port": 9104, "authenticationInfo": key}}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{registered}");

    // The sysop allows a consumer; the Orchestrator hands the new provider out.
    let (status, consumer) = read(
        client("consumer")
            .post(cloud.sr_url("/register-system"))
            .json(&json!({"systemName": "consumer", "address": "127.0.0.1", "port": 5001}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{consumer}");
    let auth_port = {
        let (_, found) = read(
            client("sysop")
                .get(cloud.sr_url("/mgmt/servicedef/authorization-control-intra"))
                .send()
                .unwrap(),
        );
        found["data"][0]["provider"]["port"].as_i64().unwrap()
    };
    let (status, rule) = read(
        client("sysop")
            .post(format!(
                "https://localhost:{auth_port}/authorization/mgmt/intracloud"
            ))
            .json(
                &json!({"consumerId": consumer["id"], "providerIds": [registered["provider"]["id"]],
                          "serviceDefinitionIds": [registered["serviceDefinition"]["id"]],
                          "interfaceIds": [registered["interfaces"][0]["id"]]}),
            )
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{rule}");
    let (status, orchestrated) = read(
        client("consumer")
            .post(format!("https://localhost:{}/orchestrator/orchestration", cloud.orch))
            .json(&json!({"requesterSystem": {"systemName": "consumer", "address": "127.0.0.1", "port": 5001},
                          "requestedService": {"serviceDefinitionRequirement": "humidity", "interfaceRequirements": ["HTTP-SECURE-JSON"]},
                          "orchestrationFlags": {"overrideStore": true}}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{orchestrated}");
    assert_eq!(
        orchestrated["response"][0]["provider"]["systemName"],
        "hygrometer"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn refusals() {
    let cloud = Cloud::start();
    let e = |m: &str, code: u16, kind: &str, origin: &str| error(m, code, kind, Some(origin));
    let csr_body = json!({"certificateSigningRequest": "AAAA"});
    let secret_csr = "/onboarding/sharedsecret/csr";
    let post = |c: &Client, path: &str, auth: Option<String>, body: &Value| {
        let mut r = c.post(cloud.oc_url(path)).json(body);
        if let Some(a) = auth {
            r = r.header("Authorization", a);
        }
        read(r.send().unwrap())
    };
    let d = device_client();
    assert_eq!(
        post(&d, "/sharedsecret/csr", None, &csr_body),
        (
            401,
            e(
                "Basic Authentication is needed for this method",
                401,
                "AUTH",
                secret_csr
            )
        )
    );
    for header in [
        basic("device:wrong"),
        "Basic".to_owned(),
        "Basic %%%".to_owned(),
        basic("device"),
    ] {
        assert_eq!(
            post(&d, "/sharedsecret/csr", Some(header.clone()), &csr_body),
            (
                401,
                e(
                    "Basic Authentication failed with the given secret",
                    401,
                    "AUTH",
                    secret_csr
                )
            ),
            "{header}"
        );
    }
    // The right secret, a bad CSR: the CA's refusal reaches the device.
    let (status, got) = post(
        &d,
        "/sharedsecret/csr",
        Some(basic(&format!("device:{SECRET}"))),
        &csr_body,
    );
    assert_eq!(
        (status, got["errorMessage"].as_str()),
        (400, Some("Failed to parse request as a PKCS10 CSR")),
        "{got}"
    );
    assert_eq!(
        post(
            &d,
            "/sharedsecret/csr",
            Some(basic(&format!("device:{SECRET}"))),
            &json!({})
        ),
        (
            400,
            e(
                " CertificateSigningRequest must have value ",
                400,
                "BAD_PAYLOAD",
                secret_csr
            )
        )
    );
    // Protected names are not for the Onboarding Controller's devices, in any spelling.
    for name in ["orchestrator", "Service_Registry", "SYSOP"] {
        let (status, got) = post(
            &d,
            "/sharedsecret/name",
            Some(basic(&format!(":{SECRET}"))),
            &json!({"creationRequestDTO": {"commonName": name}}),
        );
        assert_eq!(
            (status, got["errorMessage"].as_str()),
            (
                400,
                Some("Only sysop allowed to request a certificate with protected common name")
            ),
            "{name}: {got}"
        );
    }
    // The certificate endpoints need a certificate of the cloud.
    let cert_csr = "/onboarding/certificate/csr";
    let (status, got) = post(&d, "/certificate/csr", None, &csr_body);
    assert_eq!(
        (status, got),
        (
            401,
            e("Client certificate is needed!", 401, "AUTH", cert_csr)
        )
    );
    // With one, the name variant makes the key pair and returns it.
    let (status, got) = post(
        &client("consumer"),
        "/certificate/name",
        None,
        &json!({"creationRequestDTO": {"commonName": "consumer-2"}}),
    );
    assert_eq!(status, 200, "{got}");
    assert!(got["onboardingCertificate"]["keyPairDTO"]["privateKey"].is_string());
    // Anyone reaches echo; only the sysop the logs.
    assert_eq!(
        read(d.get(cloud.oc_url("/echo")).send().unwrap()),
        (200, json!("Got it!"))
    );
    assert_eq!(
        read(d.get(cloud.oc_url("/mgmt/logs")).send().unwrap()).0,
        401
    );
    assert_eq!(
        read(
            client("sysop")
                .get(cloud.oc_url("/mgmt/logs"))
                .send()
                .unwrap()
        )
        .0,
        200
    );
    // client-auth=want lets clients without a certificate in, not impostors of the sysop.
    testing::assert_hostile_refused(&cloud.oc_url("/mgmt/logs"));
}
