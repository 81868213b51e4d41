//! The Certificate Authority end to end: a Service Registry and the CA in-process on one test
//! database over mutual TLS with real certificates. Signed certificates are used as real client
//! certificates; revocation is seen by the Service Registry.

#![allow(clippy::unwrap_used)]

use common::config::{CoreSettings, Properties};
use common::identity::CoreSystem;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509NameBuilder, X509Req, X509};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testing::{client, error, free_port, read, wait_for, RunningServer, StartFuture, TestDb};

struct Cloud {
    sr_port: u16,
    /// A second Service Registry instance on the same database.
    sr2_port: u16,
    ca_port: u16,
    root: X509,
    _sr: RunningServer,
    _sr2: RunningServer,
    _ca: RunningServer,
    _db: TestDb,
}

/// Keystores of a system: the generated PKI, or the Java samples of `testcloud2`.
fn keystore_lines(system: &str, java: bool) -> String {
    if !java {
        return String::new();
    }
    let f = testing::java_fixtures().join("testcloud2");
    format!(
        "server.ssl.key-store={}\nserver.ssl.trust-store={}\nserver.ssl.key-alias={system}\n",
        f.join(format!("{system}.p12")).display(),
        f.join("truststore.p12").display()
    )
}

impl Cloud {
    fn start(java: bool) -> Self {
        let db = TestDb::new();
        let (sr_port, ca_port) = (free_port(), free_port());
        let props = |system: &str, port: u16, extra: &str| {
            let text = format!(
                "{}{}server.port={port}\ndomain.port={port}\nsr_address=localhost\nsr_port={sr_port}\nallow_self_addressing=true\n{extra}",
                testing::secure_properties(system, &db),
                keystore_lines(system, java),
            );
            Properties::parse(&text).with_env(std::iter::empty())
        };
        let sr_settings = serviceregistry::Settings::from_core(
            CoreSettings::from_properties(
                CoreSystem::ServiceRegistry,
                props("serviceregistry", sr_port, ""),
            )
            .unwrap(),
        )
        .unwrap();
        let start_sr = |settings: serviceregistry::Settings| {
            RunningServer::start(true, move || -> StartFuture {
                Box::pin(async move {
                    serviceregistry::start(settings, Duration::from_secs(10))
                        .await
                        .map_err(|e| e.to_string())
                })
            })
        };
        let sr2_port = free_port();
        let sr2_settings = serviceregistry::Settings::from_core(
            CoreSettings::from_properties(
                CoreSystem::ServiceRegistry,
                props("serviceregistry", sr2_port, ""),
            )
            .unwrap(),
        )
        .unwrap();
        let sr = start_sr(sr_settings);
        let sr2 = start_sr(sr2_settings);
        let cloud_key = if java {
            testing::java_fixtures().join("testcloud2/testcloud2.p12")
        } else {
            testing::pki().dir.join(format!("{}.p12", testing::CLOUD))
        };
        let ca_props = props(
            "certificateauthority",
            ca_port,
            &format!(
                "cloud.ssl.key-store={}\ncloud.ssl.key-store-password=123456\ncloud.ssl.key-password=123456\n",
                cloud_key.display()
            ),
        );
        let ca_settings = certificate_authority::Settings::from_core(
            CoreSettings::from_properties(CoreSystem::CertificateAuthority, ca_props).unwrap(),
        )
        .unwrap();
        let ca = RunningServer::start(true, move || -> StartFuture {
            Box::pin(async move {
                certificate_authority::start(ca_settings, Duration::from_secs(10))
                    .await
                    .map(|s| s.running)
            })
        });
        let root = if java {
            X509::from_pem(&std::fs::read(testing::java_fixtures().join("master.crt")).unwrap())
                .unwrap()
        } else {
            testing::pki().master.clone()
        };
        Self {
            sr_port,
            sr2_port,
            ca_port,
            root,
            _sr: sr,
            _sr2: sr2,
            _ca: ca,
            _db: db,
        }
    }

    fn ca(&self, path: &str) -> String {
        format!(
            "https://localhost:{}/certificate-authority{path}",
            self.ca_port
        )
    }

    fn sr(&self, path: &str) -> String {
        format!("https://localhost:{}/serviceregistry{path}", self.sr_port)
    }

    /// A client holding an issued certificate chain (base64 DER) and its key.
    fn client_with(&self, chain: &Value, key: &PKey<Private>) -> Client {
        let mut pem = Vec::new();
        for c in chain.as_array().unwrap() {
            let der = openssl::base64::decode_block(c.as_str().unwrap()).unwrap();
            pem.extend(X509::from_der(&der).unwrap().to_pem().unwrap());
        }
        let identity =
            reqwest::Identity::from_pkcs8_pem(&pem, &key.private_key_to_pem_pkcs8().unwrap())
                .unwrap();
        Client::builder()
            .tls_backend_native()
            .identity(identity)
            .tls_certs_only([reqwest::Certificate::from_der(&self.root.to_der().unwrap()).unwrap()])
            .build()
            .unwrap()
    }
}

fn post(c: &Client, url: &str, body: &Value) -> (u16, Value) {
    read(c.post(url).json(body).send().unwrap())
}

fn new_key() -> PKey<Private> {
    PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap()
}

/// Base64 DER of a CSR for `cn` signed with `key`.
fn csr(cn: &str, key: &PKey<Private>) -> String {
    let mut b = X509Req::builder().unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    b.set_subject_name(&name.build()).unwrap();
    b.set_pubkey(key).unwrap();
    b.sign(key, MessageDigest::sha256()).unwrap();
    openssl::base64::encode_block(&b.build().to_der().unwrap())
}

const CN: &str = "testcloud.aitia.arrowhead.eu";

fn registration(system: &str, key: &PKey<Private>) -> Value {
    let public = openssl::base64::encode_block(&key.public_key_to_der().unwrap());
    json!({"serviceDefinition": "temperature", "serviceUri": "/t", "secure": "CERTIFICATE",
           "interfaces": ["HTTP-SECURE-JSON"],
           "providerSystem": {"systemName": system, "address": "127.0.0.1", "port": 9100,
                              "authenticationInfo": public}})
}

#[test]
fn signs_checks_revokes_and_every_system_refuses_a_revoked_certificate() {
    let cloud = Cloud::start(false);
    let key = new_key();
    let (status, signed) = post(
        &client("sysop"),
        &cloud.ca("/sign"),
        &json!({"encodedCSR": csr(&format!("device-1.{CN}"), &key)}),
    );
    assert_eq!(status, 200, "{signed}");
    let chain = &signed["certificateChain"];
    assert_eq!(chain.as_array().unwrap().len(), 3, "issued, cloud, master");
    let leaf_b64 = chain[0].as_str().unwrap().to_owned();
    let leaf = X509::from_der(&openssl::base64::decode_block(&leaf_b64).unwrap()).unwrap();
    assert_eq!(
        common::tls::common_name(&leaf).as_deref(),
        Some(format!("device-1.{CN}").as_str())
    );

    // The new certificate is a real client certificate of the cloud.
    let device = cloud.client_with(chain, &key);
    let (status, got) = post(
        &device,
        &cloud.sr("/register"),
        &registration("device-1", &key),
    );
    assert_eq!(status, 201, "{got}");

    let (status, check) = post(
        &client("consumer"),
        &cloud.ca("/checkCertificate"),
        &json!({"version": 1, "certificate": leaf_b64}),
    );
    assert_eq!(status, 200, "{check}");
    assert_eq!(check["status"], "GOOD");
    assert_eq!(check["commonName"], format!("device-1.{CN}"));
    assert_eq!(check["version"], 1);
    let serial = common::revocation::serial_of(&leaf).unwrap();
    assert_eq!(check["serialNumber"], json!(serial));
    assert!(check["producedAt"].as_str().unwrap().ends_with('Z'));

    let (status, list) = read(
        client("sysop")
            .get(cloud.ca("/mgmt/certificates"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(list["count"], 1);
    let issued = &list["issuedCertificates"][0];
    assert_eq!(issued["id"], signed["id"]);
    assert_eq!(issued["createdBy"], format!("sysop.{CN}"));
    assert_eq!(issued["status"], "GOOD");
    assert_eq!(issued["revokedAt"], Value::Null);
    assert_eq!(issued["serialNumber"], json!(serial));

    // A certificate of our cloud the CA did not issue: UNKNOWN, with its own serial.
    let other = std::fs::read(testing::pki().dir.join("provider.crt")).unwrap();
    let other = X509::from_pem(&other).unwrap();
    let (_, check) = post(
        &client("consumer"),
        &cloud.ca("/checkCertificate"),
        &json!({"version": 3, "certificate": openssl::base64::encode_block(&other.to_der().unwrap())}),
    );
    assert_eq!(
        (check["status"].as_str(), check["version"].as_i64()),
        (Some("UNKNOWN"), Some(3))
    );
    // Its end of validity, as an ISO-8601 instant like every date of the API.
    let epoch = openssl::asn1::Asn1Time::from_unix(0).unwrap();
    let d = epoch.diff(other.not_after()).unwrap();
    let end = chrono::DateTime::from_timestamp(i64::from(d.days) * 86_400 + i64::from(d.secs), 0)
        .unwrap();
    assert_eq!(
        check["endOfValidity"],
        json!(common::dto::format_instant(&end.naive_utc())),
        "{check}"
    );

    let sr2_echo = format!("https://localhost:{}/serviceregistry/echo", cloud.sr2_port);
    assert_eq!(read(device.get(&sr2_echo).send().unwrap()).0, 200);
    // Revocation: the registry refuses the device on its open connection within the bound, and
    // so does the second instance.
    let id = signed["id"].as_i64().unwrap();
    let resp = client("sysop")
        .delete(cloud.ca(&format!("/mgmt/certificates/{id}")))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.text().unwrap(), "Certificate revoked");
    let revoked_at = Instant::now();
    let (_, check) = post(
        &client("consumer"),
        &cloud.ca("/checkCertificate"),
        &json!({"certificate": leaf_b64}),
    );
    assert_eq!(check["status"], "REVOKED");
    let mut refusal = Value::Null;
    wait_for(
        "the registry refuses the revoked certificate",
        Duration::from_secs(6),
        || {
            let (status, got) = read(device.get(cloud.sr("/echo")).send().unwrap());
            refusal = got;
            status == 401
        },
    );
    wait_for(
        "the second instance refuses it too",
        Duration::from_secs(6),
        || read(device.get(&sr2_echo).send().unwrap()).0 == 401,
    );
    let took = revoked_at.elapsed();
    assert!(took < Duration::from_secs(4), "refused only after {took:?}");
    assert_eq!(
        refusal,
        error(
            &format!(
                "The certificate of device-1.{CN} has been revoked by the Certificate Authority."
            ),
            401,
            "AUTH",
            Some(&cloud.sr("/echo"))
        )
    );
    // Revoking again changes nothing; the list says REVOKED.
    let resp = client("sysop")
        .delete(cloud.ca(&format!("/mgmt/certificates/{id}")))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, list) = read(
        client("sysop")
            .get(cloud.ca("/mgmt/certificates"))
            .send()
            .unwrap(),
    );
    assert_eq!(list["issuedCertificates"][0]["status"], "REVOKED");
    assert!(list["issuedCertificates"][0]["revokedAt"].is_string());
}

#[test]
fn refusals_answer_error_json() {
    let cloud = Cloud::start(false);
    let key = new_key();
    let sign = cloud.ca("/sign");
    let e = |m: &str, code: u16, kind: &str, origin: &str| error(m, code, kind, Some(origin));
    let origin = "/certificate-authority/sign";
    let cases: Vec<(&str, Value, u16, Value)> = vec![
        ("sysop", json!({}), 400, e("The encodedCSR is mandatory", 400, "BAD_PAYLOAD", origin)),
        ("sysop", json!({"encodedCSR": "bm90IGEgY3Ny"}), 400, e("Failed to parse request as a PKCS10 CSR", 400, "BAD_PAYLOAD", origin)),
        ("sysop", json!({"encodedCSR": "%%%"}), 400, e("Failed to parse request as a PKCS10 CSR", 400, "BAD_PAYLOAD", origin)),
        ("sysop", json!({"encodedCSR": csr("device.othercloud.aitia.arrowhead.eu", &key)}), 400,
         e(&format!("Certificate request does not have a valid common name! Valid common name: {{systemName}}.{CN}"), 400, "BAD_PAYLOAD", origin)),
        ("onboardingcontroller", json!({"encodedCSR": csr(&format!("Orchestrator.{CN}"), &key)}), 400,
         e("Only sysop allowed to request a certificate with protected common name", 400, "BAD_PAYLOAD", origin)),
        ("onboardingcontroller", json!({"encodedCSR": csr(&format!("SYSOP.{CN}"), &key)}), 400,
         e("Only sysop allowed to request a certificate with protected common name", 400, "BAD_PAYLOAD", origin)),
        ("onboardingcontroller", json!({"encodedCSR": csr(&format!("service-registry.{CN}"), &key)}), 400,
         e("Only sysop allowed to request a certificate with protected common name", 400, "BAD_PAYLOAD", origin)),
        ("sysop", json!({"encodedCSR": csr(&format!("d.{CN}"), &key), "validAfter": "yesterday"}), 400,
         e("Invalid validAfter: 'yesterday' is not an ISO-8601 instant", 400, "BAD_PAYLOAD", origin)),
        ("consumer", json!({"encodedCSR": csr(&format!("d.{CN}"), &key)}), 401,
         e(&format!("consumer.{CN} is unauthorized to access {sign}"), 401, "AUTH", &sign)),
    ];
    for (who, body, status, expected) in cases {
        assert_eq!(
            post(&client(who), &sign, &body),
            (status, expected),
            "{who} {body}"
        );
    }
    // Beyond the configured validity.
    let (status, got) = post(
        &client("sysop"),
        &sign,
        &json!({"encodedCSR": csr(&format!("d.{CN}"), &key), "validBefore": "2099-01-01T00:00:00Z"}),
    );
    assert_eq!(status, 400);
    assert!(
        got["errorMessage"].as_str().unwrap().starts_with(
            "Validity range parameter exceeds maximum validity range: validBefore (limit: "
        ),
        "{got}"
    );
    // The onboarding chain may sign ordinary systems, within a shorter validity.
    let (status, got) = post(
        &client("onboardingcontroller"),
        &sign,
        &json!({"encodedCSR": csr(&format!("thermometer.{CN}"), &key),
                "validBefore": common::dto::format_instant(&(chrono::Utc::now() + chrono::Duration::days(30)).naive_utc())}),
    );
    assert_eq!(status, 200, "{got}");

    let mgmt = cloud.ca("/mgmt/certificates");
    // Forged chain members, another cloud's CA, look-alike names: none is the sysop.
    testing::assert_hostile_refused(&mgmt);
    testing::assert_hostile_refused(&cloud.ca("/mgmt/keys"));
    assert_eq!(read(client("consumer").get(&mgmt).send().unwrap()).0, 401);
    assert_eq!(
        read(client("onboardingcontroller").get(&mgmt).send().unwrap()).0,
        401
    );
    let (status, got) = read(
        client("sysop")
            .get(format!("{mgmt}?page=0"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, got),
        (
            400,
            e(
                "Only both or none of page and size may be defined.",
                400,
                "BAD_PAYLOAD",
                "/certificate-authority/mgmt/certificates"
            )
        )
    );
    let (status, got) = read(
        client("sysop")
            .get(format!("{mgmt}?sort_field=createdBy"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, got["errorMessage"].as_str()),
        (
            400,
            Some("Sortable field with reference 'createdBy' is not available")
        )
    );
    let (status, got) = read(
        client("sysop")
            .get(format!(
                "{mgmt}?page=0&item_per_page=5&direction=DESC&sort_field=commonName"
            ))
            .send()
            .unwrap(),
    );
    assert_eq!((status, got["count"].as_i64()), (200, Some(1)));

    for (id, message) in [
        ("0", "Invalid id".to_owned()),
        ("abc", "Invalid id".to_owned()),
        (
            "999",
            "Certificate revocation failed: no certificate with id 999".to_owned(),
        ),
    ] {
        let url = cloud.ca(&format!("/mgmt/certificates/{id}"));
        assert_eq!(
            read(client("sysop").delete(&url).send().unwrap()),
            (400, e(&message, 400, "BAD_PAYLOAD", &url)),
            "{id}"
        );
    }
    let (status, got) = post(
        &client("consumer"),
        &cloud.ca("/checkCertificate"),
        &json!({"certificate": "AAAA"}),
    );
    assert_eq!(status, 400);
    assert!(
        got["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("Cannot parse certificate, because: "),
        "{got}"
    );
    assert_eq!(
        post(
            &client("consumer"),
            &cloud.ca("/checkCertificate"),
            &json!({"version": 1})
        ),
        (
            400,
            e(
                "The certificate is mandatory",
                400,
                "BAD_PAYLOAD",
                "/certificate-authority/checkCertificate"
            )
        )
    );
}

#[test]
fn trusted_keys() {
    let cloud = Cloud::start(false);
    let keys = cloud.ca("/mgmt/keys");
    let e = |m: &str| {
        error(
            m,
            400,
            "BAD_PAYLOAD",
            Some("/certificate-authority/mgmt/keys"),
        )
    };
    let key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmanufacturer";
    let add = |body: Value| read(client("sysop").put(&keys).json(&body).send().unwrap());
    let good = json!({"publicKey": key, "description": "ACME sensors", "validAfter": "2020-01-01T00:00:00Z", "validBefore": "2037-01-01T00:00:00Z"});
    let (status, added) = add(good.clone());
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["validAfter"], "2020-01-01T00:00:00Z");
    assert_eq!(
        add(good.clone()),
        (400, e("This public key is already trusted"))
    );
    let mut bad = good.clone();
    bad["publicKey"] = json!("other");
    bad["validAfter"] = json!("someday");
    assert_eq!(
        add(bad.clone()),
        (
            400,
            e("Invalid validAfter: 'someday' is not an ISO-8601 instant")
        )
    );
    bad["validAfter"] = json!("2030-01-01T00:00:00Z");
    bad["validBefore"] = json!("2029-01-01T00:00:00Z");
    assert_eq!(
        add(bad.clone()),
        (
            400,
            e("Invalid validity range: validAfter must have a value before validBefore")
        )
    );
    assert_eq!(
        add(json!({"publicKey": "k"})),
        (400, e("The description is mandatory"))
    );
    assert_eq!(
        add(
            json!({"publicKey": "k".repeat(30_000), "description": "d", "validAfter": "2020-01-01T00:00:00Z", "validBefore": "2030-01-01T00:00:00Z"})
        ),
        (400, e("The publicKey is longer than 21845 characters."))
    );
    bad["validBefore"] = json!("2099-01-01T00:00:00Z");
    assert_eq!(
        add(bad.clone()),
        (400, e("Validity dates must lie between 1970-01-01T00:00:01Z and 2038-01-19T03:14:07Z (the database's TIMESTAMP range)."))
    );
    // An expired key is not trusted (Java ignores the validity).
    let expired = json!({"publicKey": "old", "description": "old", "validAfter": "2000-01-01T00:00:00Z", "validBefore": "2001-01-01T00:00:00Z"});
    assert_eq!(add(expired).0, 201);

    let check = cloud.ca("/checkTrustedKey");
    let ce = |m: &str| {
        error(
            m,
            400,
            "BAD_PAYLOAD",
            Some("/certificate-authority/checkTrustedKey"),
        )
    };
    let (status, got) = post(
        &client("onboardingcontroller"),
        &check,
        &json!({"publicKey": key}),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        (got["id"].clone(), got["description"].clone()),
        (added["id"].clone(), json!("ACME sensors"))
    );
    assert_eq!(
        post(
            &client("onboardingcontroller"),
            &check,
            &json!({"publicKey": "unknown"})
        ),
        (400, ce("Cannot find trusted certificate"))
    );
    let (status, got) = post(&client("sysop"), &check, &json!({"publicKey": "old"}));
    assert_eq!(status, 400);
    assert!(
        got["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("The trusted key is not valid now"),
        "{got}"
    );
    assert_eq!(
        post(&client("consumer"), &check, &json!({"publicKey": key})).0,
        401
    );

    let (status, list) = read(client("sysop").get(&keys).send().unwrap());
    assert_eq!((status, list["count"].as_i64()), (200, Some(2)));
    assert_eq!(list["trustedKeys"][0]["description"], "ACME sensors");
    assert!(list["trustedKeys"][0].get("publicKey").is_none());
    let id = added["id"].as_i64().unwrap();
    let url = cloud.ca(&format!("/mgmt/keys/{id}"));
    assert_eq!(
        client("sysop")
            .delete(&url)
            .send()
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(
        read(client("sysop").delete(&url).send().unwrap()),
        (
            400,
            error(
                &format!("Trusted key with id {id} does not exist"),
                400,
                "BAD_PAYLOAD",
                Some(&url)
            )
        )
    );
}

/// The CA started from the Java sample keystores (`certificateauthority.p12`, cloud key
/// `testcloud2.p12`) signs a CSR, and a Service Registry started from the Java `testcloud2`
/// keystores accepts the issued certificate.
#[test]
fn java_sample_keystores() {
    let cloud = Cloud::start(true);
    let sysop = testing::client_from(
        &testing::java_fixtures().join("testcloud2/sysop.p12"),
        &cloud.root,
    );
    let key = new_key();
    let cn = "device-7.testcloud2.aitia.arrowhead.eu";
    let (status, signed) = post(
        &sysop,
        &cloud.ca("/sign"),
        &json!({"encodedCSR": csr(cn, &key)}),
    );
    assert_eq!(status, 200, "{signed}");
    let device = cloud.client_with(&signed["certificateChain"], &key);
    let (status, got) = post(
        &device,
        &cloud.sr("/register"),
        &registration("device-7", &key),
    );
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["provider"]["systemName"], "device-7");
}
