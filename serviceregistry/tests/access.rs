//! The access-control matrix over real TLS: sysop, application systems, core systems, a
//! certificate from another cloud, a certificate whose CN is not an Arrowhead name, no
//! certificate, insecure mode; and the Java sample keystores.

#![allow(clippy::unwrap_used)]

mod support;

use certificate_authority::pki;
use common::tls::Keystore;
use diesel::prelude::*;
use reqwest::blocking::Client;
use serde_json::{json, Value};
use std::path::PathBuf;
use support::TestServer;
use testing::{
    anonymous_client, client, client_from, error, handshake_alert, pki as test_pki, read, TestDb,
};

fn send(
    c: &Client,
    method: &str,
    url: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut req = c.request(method.parse().unwrap(), url);
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().map(read)
}

#[test]
fn access_matrix_over_tls() {
    let sr = TestServer::secure();
    let reg = |name: &str| {
        json!({"serviceDefinition": "temperature", "providerSystem": {"systemName": name, "address": "127.0.0.1", "port": 9001},
               "serviceUri": "/t", "interfaces": ["HTTP-SECURE-JSON"]})
    };
    let query = json!({"serviceDefinitionRequirement": "temperature"});
    let public_query = json!({"serviceDefinitionRequirement": "orchestration-service"});
    let system = json!({"systemName": "provider", "address": "127.0.0.1", "port": 9001});
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, &str, Option<Value>, u16)> = vec![
        ("sysop", "GET", "/echo", None, 200),
        ("provider", "GET", "/echo", None, 200),
        ("orchestrator", "GET", "/echo", None, 200),
        ("wrong-cn", "GET", "/echo", None, 401),
        ("sysop", "GET", "/mgmt", None, 200),
        ("sysop", "GET", "/mgmt/systems", None, 200),
        ("provider", "GET", "/mgmt", None, 401),
        ("orchestrator", "GET", "/mgmt/systems", None, 401),
        ("wrong-cn", "GET", "/mgmt", None, 401),
        ("provider", "POST", "/register", Some(reg("provider")), 201),
        ("consumer", "POST", "/register", Some(reg("provider")), 401),
        ("sysop", "POST", "/register", Some(reg("provider")), 401),
        ("provider", "POST", "/query", Some(query.clone()), 401),
        ("provider", "POST", "/query", Some(public_query), 200),
        ("orchestrator", "POST", "/query", Some(query.clone()), 200),
        ("gatekeeper", "POST", "/query", Some(query.clone()), 200),
        ("gateway", "POST", "/query", Some(query.clone()), 401),
        ("sysop", "POST", "/query", Some(query.clone()), 401),
        ("orchestrator", "POST", "/query/multi", Some(json!({"forms": [query.clone()]})), 200),
        ("provider", "POST", "/query/multi", Some(json!({"forms": [query]})), 401),
        ("orchestrator", "POST", "/query/system", Some(system.clone()), 200),
        ("provider", "POST", "/query/system", Some(system), 401),
        ("orchestrator", "GET", "/query/system/1", None, 200),
        ("gatekeeper", "GET", "/query/system/1", None, 401),
        ("gatekeeper", "GET", "/query/all", None, 200),
        ("sysop", "GET", "/query/all", None, 401),
        ("choreographer", "GET", "/query/provider/1", None, 200),
        ("orchestrator", "GET", "/query/provider/1", None, 401),
        ("choreographer", "POST", "/query/definition", Some(json!(["temperature"])), 200),
        ("plantdescriptionengine", "GET", "/pull-systems", None, 200),
        ("orchestrator", "GET", "/pull-systems", None, 401),
        ("eventhandler", "GET", "/pull-config", None, 200),
        ("provider", "GET", "/pull-config", None, 401),
        ("consumer", "POST", "/register-system", Some(json!({"systemName": "consumer", "address": "10.0.0.9", "port": 1})), 201),
        ("consumer", "POST", "/register-system", Some(json!({"systemName": "client", "address": "10.0.0.9", "port": 1})), 401),
        ("orchestrator", "POST", "/register-system", Some(json!({"systemName": "x", "address": "10.0.0.9", "port": 1})), 401),
        ("consumer", "DELETE", "/unregister-system?system_name=client&address=10.0.0.9&port=1", None, 401),
        ("consumer", "DELETE", "/unregister-system?system_name=consumer&address=10.0.0.9&port=1", None, 200),
    ];
    for (who, method, path, body, expected) in cases {
        let (status, got) = send(&client(who), method, &sr.url(path), body.as_ref()).unwrap();
        assert_eq!(status, expected, "{who} {method} {path}: {got}");
        if status == 401 {
            assert_eq!(got["exceptionType"], "AUTH", "{got}");
            assert_eq!(
                got["origin"].as_str().unwrap(),
                sr.url(path.split('?').next().unwrap()),
                "{got}"
            );
        }
    }
    // The exact denial for a CN that is not an Arrowhead system name.
    let (status, got) = send(&client("wrong-cn"), "GET", &sr.url("/echo"), None).unwrap();
    let url = sr.url("/echo");
    assert_eq!(
        (status, got),
        (
            401,
            error(
                &format!("intruder.example.com is unauthorized to access {url}"),
                401,
                "AUTH",
                Some(&url)
            )
        )
    );
    let (status, got) = send(&client("provider"), "GET", &sr.url("/mgmt"), None).unwrap();
    let url = sr.url("/mgmt");
    assert_eq!(
        (status, got),
        (
            401,
            error(
                &format!("provider.testcloud.aitia.arrowhead.eu is unauthorized to access {url}"),
                401,
                "AUTH",
                Some(&url)
            )
        )
    );
}

/// A client without a certificate, or with another cloud's, reads the server's TLS alert every
/// time, under TLS 1.3 as under 1.2 (under 1.3 the client has already sent its request when the
/// server refuses it: the server must not reset the connection before the alert is read).
/// Plain HTTP on the TLS port is answered with a hint, as error JSON.
#[test]
fn no_certificate_or_another_clouds_certificate_fails_the_handshake() {
    let sr = TestServer::secure();
    let pki = test_pki();
    for round in 0..15 {
        let chain = handshake_alert(
            anonymous_client(&pki.master, false)
                .get(sr.url("/echo"))
                .send(),
        );
        assert!(
            chain.contains("certificate required"),
            "round {round}: {chain}"
        );
        let chain = handshake_alert(
            anonymous_client(&pki.master, true)
                .get(sr.url("/echo"))
                .send(),
        );
        assert!(
            chain.contains("alert handshake failure"),
            "round {round}: {chain}"
        );
        let other = client_from(&pki.keystore("other-provider"), &pki.master);
        let chain = handshake_alert(other.get(sr.url("/echo")).send());
        assert!(chain.contains("unknown ca"), "round {round}: {chain}");
        let other = testing::tls12_client_from(&pki.keystore("other-provider"), &pki.master);
        let chain = handshake_alert(other.get(sr.url("/echo")).send());
        assert!(chain.contains("unknown ca"), "round {round}: {chain}");
    }
    let plain = reqwest::blocking::get(sr.url("/echo").replace("https://", "http://")).unwrap();
    assert_eq!(
        read(plain),
        (
            400,
            json!({"errorMessage": "This port serves HTTPS only: use https:// with a client certificate of this local cloud.",
                   "errorCode": 400, "exceptionType": "BAD_PAYLOAD"})
        )
    );
}

/// Certificates the TLS layer accepts but that are not this cloud's sysop: a forged "sysop"
/// appended to a trusted non-system certificate, this cloud's sysop name issued by another
/// cloud's CA, accented/underscored/dotted look-alikes, a name of another cloud signed by ours.
#[test]
fn hostile_certificates_are_refused() {
    let sr = TestServer::secure();
    testing::assert_hostile_refused(&sr.url("/mgmt/systems"));
    // The forged name appended to a trusted certificate is not the identity, whatever asks.
    let pki = test_pki();
    let forged = client_from(&pki.keystore("hostile-appended-sysop"), &pki.master);
    let (status, got) = send(&forged, "GET", &sr.url("/echo"), None).unwrap();
    assert_eq!(status, 401, "{got}");
    assert!(
        got["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("intruder.example.com is unauthorized"),
        "{got}"
    );
}

/// With the master trusted, every cloud under it passes TLS: only a sysop certificate signed by
/// this cloud's certificate is the sysop.
#[test]
fn hostile_certificates_are_refused_with_the_master_trusted() {
    let db = TestDb::new();
    let pki = test_pki();
    let props = format!(
        "{}server.ssl.trust-store={}\n",
        support::secure_properties(&db),
        pki.master_truststore().display()
    );
    let sr = TestServer::start(&props, db);
    testing::assert_hostile_refused(&sr.url("/mgmt/systems"));
    let (status, _) = send(
        &client_from(&pki.keystore("hostile-foreign-sysop"), &pki.master),
        "POST",
        &sr.url("/mgmt/systems"),
        Some(&json!({"systemName": "planted", "address": "10.0.0.1", "port": 1})),
    )
    .unwrap();
    assert_eq!(status, 401);
}

/// The Java sample truststore also trusts `relay.arrowhead.eu`: its relay certificate with a
/// self-signed "sysop" appended must not become the operator.
#[test]
fn java_relay_certificate_with_an_appended_sysop_is_refused() {
    let db = TestDb::new();
    let sr = TestServer::start(&java_sample_properties(&db), db);
    let master = Keystore::from_pkcs12_file(&java_fixture("master.p12"), "123456")
        .unwrap()
        .cert;
    let relay = Keystore::from_pkcs12_file(&java_fixture("relay1/relay1.p12"), "123456").unwrap();
    let key = pki::generate_key().unwrap();
    let forged = pki::sign_certificate(
        "sysop.testcloud2.aitia.arrowhead.eu",
        &key,
        None,
        Some(&key),
        pki::Profile::Root,
        1,
    )
    .unwrap();
    let mut chain = vec![&forged];
    chain.extend(relay.chain.iter());
    let issued = pki::Issued {
        cert: relay.cert.clone(),
        key: relay.key.clone(),
    };
    let path = std::env::temp_dir().join(format!("ah-relay-forged-{}.p12", std::process::id()));
    std::fs::write(
        &path,
        pki::keystore_p12("relay", &issued, &chain, "123456").unwrap(),
    )
    .unwrap();
    let c = client_from(&path, &master);
    std::fs::remove_file(&path).ok();
    for (method, path) in [("GET", "/mgmt/systems"), ("GET", "/echo")] {
        let (status, got) = send(&c, method, &sr.url(path), None).unwrap();
        assert_eq!(status, 401, "{path}: {got}");
    }
    let sysop = client_from(&java_fixture("testcloud2/sysop.p12"), &master);
    assert_eq!(
        send(&sysop, "GET", &sr.url("/mgmt/systems"), None)
            .unwrap()
            .0,
        200
    );
}

/// When the operator trusts the master (all clouds pass TLS), the same-cloud check answers 401.
#[test]
fn another_cloud_is_refused_by_the_same_cloud_check() {
    let db = TestDb::new();
    let pki = test_pki();
    let props = format!(
        "{}server.ssl.trust-certificate={}\n",
        support::secure_properties(&db),
        pki.master_pem().display()
    );
    let sr = TestServer::start(&props, db);
    let (status, got) = send(&client("other-provider"), "GET", &sr.url("/echo"), None).unwrap();
    let url = sr.url("/echo");
    assert_eq!(
        (status, got),
        (
            401,
            error(
                &format!("provider.othercloud.aitia.arrowhead.eu is unauthorized to access {url}"),
                401,
                "AUTH",
                Some(&url)
            )
        )
    );
    assert_eq!(
        send(&client("sysop"), "GET", &sr.url("/echo"), None)
            .unwrap()
            .0,
        200
    );
}

#[derive(QueryableByName, Debug, PartialEq)]
struct CloudRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    operator: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    secure: i32,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    own_cloud: i32,
}

fn clouds(db: &TestDb) -> Vec<CloudRow> {
    diesel::sql_query("SELECT operator, name, secure, own_cloud FROM cloud ORDER BY id")
        .load(&mut db.connect())
        .unwrap()
}

#[test]
fn insecure_mode_has_no_access_control_and_no_secure_services() {
    let sr = TestServer::insecure();
    assert!(sr.base.starts_with("http://"));
    let c = Client::new();
    assert_eq!(
        read(c.get(sr.url("/echo")).send().unwrap()),
        (200, json!("Got it!"))
    );
    assert_eq!(read(c.get(sr.url("/mgmt/systems")).send().unwrap()).0, 200);
    let body = json!({"serviceDefinition": "temperature", "providerSystem": {"systemName": "p", "address": "127.0.0.1", "port": 9001,
                      "authenticationInfo": "a2V5"}, "serviceUri": "/t", "secure": "CERTIFICATE", "interfaces": ["HTTP-INSECURE-JSON"]});
    let (status, got) = read(c.post(sr.url("/register")).json(&body).send().unwrap());
    assert_eq!(
        (status, got),
        (
            400,
            error(
                "ServiceRegistry insecure mode can not handle secure services",
                400,
                "BAD_PAYLOAD",
                Some("/serviceregistry/register")
            )
        )
    );
    let mut open = body.clone();
    open["secure"] = json!("NOT_SECURE");
    assert_eq!(
        read(c.post(sr.url("/register")).json(&open).send().unwrap()).0,
        201
    );
    let (_, got) = read(
        c.post(sr.url("/query"))
            .json(&json!({"serviceDefinitionRequirement": "temperature"}))
            .send()
            .unwrap(),
    );
    assert_eq!(got["unfilteredHits"], 1);
    assert_eq!(
        clouds(&sr.db),
        vec![CloudRow {
            operator: "default-operator".into(),
            name: "default-insecure-cloud".into(),
            secure: 0,
            own_cloud: 1
        }]
    );
}

fn java_fixture(path: &str) -> PathBuf {
    testing::java_fixtures().join(path)
}

/// The registry starts from the Java sample keystores (legacy PKCS#12) and serves the Java
/// sysop keystore and an application certificate issued by the Java sample cloud CA.
fn java_sample_properties(db: &TestDb) -> String {
    format!(
        "server.address=127.0.0.1\nserver.port=0\nserver.ssl.key-store={}\nserver.ssl.key-store-password=123456\n\
         server.ssl.key-alias=serviceregistry\nserver.ssl.key-password=123456\nserver.ssl.trust-store={}\n\
         server.ssl.trust-store-password=123456\nspring.datasource.url={}\nspring.datasource.username={}\n\
         spring.datasource.password={}\ncore_system_name=SERVICEREGISTRY\nallow_self_addressing=true\n",
        java_fixture("testcloud2/serviceregistry.p12").display(),
        java_fixture("testcloud2/truststore.p12").display(),
        db.jdbc_url(),
        db.settings.username,
        db.settings.password,
    )
}

#[test]
fn starts_from_the_java_sample_keystores() {
    let db = TestDb::new();
    let sr = TestServer::start(&java_sample_properties(&db), db);
    let master = Keystore::from_pkcs12_file(&java_fixture("master.p12"), "123456")
        .unwrap()
        .cert;
    let sysop = client_from(&java_fixture("testcloud2/sysop.p12"), &master);
    let (status, got) = read(sysop.get(sr.url("/mgmt/systems")).send().unwrap());
    assert_eq!(
        (status, got["data"][0]["systemName"].as_str()),
        (200, Some("serviceregistry"))
    );

    // An application certificate issued by the Java sample cloud CA (testcloud2.p12).
    let cloud =
        Keystore::from_pkcs12_file(&java_fixture("testcloud2/testcloud2.p12"), "123456").unwrap();
    let issuer = pki::Issued {
        cert: cloud.cert.clone(),
        key: cloud.key.clone(),
    };
    let app = pki::make_leaf(&issuer, "demo-provider", &[], 1).unwrap();
    let dir = std::env::temp_dir().join(format!("ah-java-app-{}.p12", std::process::id()));
    std::fs::write(
        &dir,
        pki::keystore_p12("demo-provider", &app, &[&cloud.cert, &master], "123456").unwrap(),
    )
    .unwrap();
    let app_client = client_from(&dir, &master);
    std::fs::remove_file(&dir).ok();
    let body = json!({"serviceDefinition": "temperature", "providerSystem": {"systemName": "demo-provider", "address": "127.0.0.1",
                      "port": 9001, "authenticationInfo": "a2V5"}, "serviceUri": "/t", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"]});
    let (status, got) = read(
        app_client
            .post(sr.url("/register"))
            .json(&body)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201, "{got}");
    // A Java core-system keystore works as a client too.
    let orch = client_from(&java_fixture("testcloud2/orchestrator.p12"), &master);
    let (_, got) = read(
        orch.post(sr.url("/query"))
            .json(&json!({"serviceDefinitionRequirement": "temperature"}))
            .send()
            .unwrap(),
    );
    assert_eq!(
        got["serviceQueryData"][0]["provider"]["systemName"],
        "demo-provider"
    );
    // A certificate from older tooling with the underscore name is still the onboarding
    // controller: a core system, so /pull-config (core systems only) answers.
    let legacy = client_from(
        &java_fixture("testcloud2/onboarding_controller.p12"),
        &master,
    );
    let (status, got) = read(legacy.get(sr.url("/pull-config")).send().unwrap());
    assert_eq!(status, 200, "{got}");
    assert_eq!(
        read(
            client_from(&java_fixture("testcloud2/sysop.p12"), &master)
                .get(sr.url("/pull-config"))
                .send()
                .unwrap()
        )
        .0,
        401
    );
    // The other sample cloud is refused at TLS.
    let other = testing::tls12_client_from(&java_fixture("testcloud1/sysop.p12"), &master);
    let chain = handshake_alert(other.get(sr.url("/echo")).send());
    assert!(chain.contains("unknown ca"), "{chain}");
    // The own-cloud row comes from the server certificate.
    assert_eq!(
        clouds(&sr.db),
        vec![CloudRow {
            operator: "aitia".into(),
            name: "testcloud2".into(),
            secure: 1,
            own_cloud: 1
        }]
    );
}

/// A client that resumes its TLS session (browsers, Java clients) is still who its certificate
/// says: a resumed session carries no verified chain, so the stored certificates are verified
/// again. `openssl s_client` saves and resumes the session (reqwest does not resume).
#[test]
fn resumed_tls_sessions_keep_their_identity() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let sr = TestServer::secure();
    let pki = test_pki();
    let ks = Keystore::from_pkcs12_file(&pki.keystore("sysop"), testing::PASSWORD).unwrap();
    let dir = std::env::temp_dir().join(format!("ah-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("cert.pem"), ks.chain_pem().unwrap()).unwrap();
    std::fs::write(
        dir.join("key.pem"),
        ks.key.private_key_to_pem_pkcs8().unwrap(),
    )
    .unwrap();
    let session = dir.join("session.pem");
    let get = |resume: bool| {
        let mut cmd = Command::new("openssl");
        cmd.args(["s_client", "-connect", &format!("127.0.0.1:{}", sr.port)])
            .args(["-servername", "localhost", "-tls1_2", "-ign_eof"])
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .arg(if resume { "-sess_in" } else { "-sess_out" })
            .arg(&session)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = cmd.spawn().expect("openssl (Debian package openssl) runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(
                b"GET /serviceregistry/mgmt/systems HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        let out = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned();
        (
            out.lines().any(|l| l.starts_with("Reused, ")),
            out.lines().any(|l| l.starts_with("HTTP/1.1 200")),
            out,
        )
    };
    let (reused, ok, out) = get(false);
    assert!(!reused && ok, "first connection: {out}");
    let (reused, ok, out) = get(true);
    assert!(reused, "the session was not resumed: {out}");
    assert!(ok, "resumed session refused: {out}");
    std::fs::remove_dir_all(&dir).ok();
}
