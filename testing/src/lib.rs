//! Fixtures for integration tests against real parts: every test gets its own MariaDB database
//! (created on the server named by `ARROWHEAD_TEST_DB_URL`, dropped when the fixture is dropped),
//! a local-cloud PKI generated once per test binary, and blocking mTLS clients holding any of
//! its certificates.

#![allow(clippy::unwrap_used)]

pub mod backbone;
pub mod broker;
pub mod clouds;
pub mod mariadb;

use certificate_authority::local_cloud::{self, CloudSpec};
use certificate_authority::pki::{self, Issued, Profile};
use common::config::DatabaseSettings;
use common::tls::Keystore;
use diesel::connection::SimpleConnection;
use diesel::{Connection, MysqlConnection};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Server URL (without database) of the MariaDB the tests may create databases on.
pub fn admin_url() -> String {
    std::env::var("ARROWHEAD_TEST_DB_URL")
        .unwrap_or_else(|_| "mysql://arrowhead:arrowhead@127.0.0.1:3306".to_owned())
}

/// A throwaway database, dropped with the fixture.
pub struct TestDb {
    pub name: String,
    pub settings: DatabaseSettings,
    /// Only the creating fixture drops the database.
    owned: bool,
}

impl TestDb {
    pub fn new() -> Self {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "ah_test_{}_{}_{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst),
            nanos % 100_000
        );
        let admin = admin_url();
        let mut conn = MysqlConnection::establish(&admin)
            .unwrap_or_else(|e| panic!("test database server {admin} not reachable ({e}); run ./scripts/test.sh, which starts one"));
        conn.batch_execute(&format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .unwrap();
        let url = admin.trim_start_matches("mysql://");
        let (creds, hostport) = url.split_once('@').unwrap();
        let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
        let settings =
            DatabaseSettings::from_jdbc(&format!("jdbc:mysql://{hostport}/{name}"), user, password)
                .unwrap();
        Self {
            name,
            settings,
            owned: true,
        }
    }

    /// A database on a server of the test's own (dropped with that server, not here).
    pub fn on_own_server(name: &str, settings: DatabaseSettings) -> Self {
        Self {
            name: name.to_owned(),
            settings,
            owned: false,
        }
    }

    /// The same database for a second system instance; dropping it leaves the database alone.
    pub fn share(&self) -> Self {
        Self {
            name: self.name.clone(),
            settings: self.settings.clone(),
            owned: false,
        }
    }

    pub fn jdbc_url(&self) -> String {
        format!(
            "jdbc:mysql://{}:{}/{}",
            self.settings.host, self.settings.port, self.name
        )
    }

    pub fn connect(&self) -> MysqlConnection {
        MysqlConnection::establish(&self.settings.diesel_url()).unwrap()
    }

    /// The number of rows in `table` (a name of ours, never input).
    pub fn count(&self, table: &str) -> i64 {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM `{table}`"))
            .get_result::<N>(&mut self.connect())
            .unwrap()
            .n
    }
}

/// A counter of the connection's own session (`SHOW SESSION STATUS`, e.g. `Com_stmt_execute`):
/// what a piece of database code did on it, untouched by other tests sharing the server. The
/// SHOW statement itself counts as one prepare and one execute.
pub fn session_counter(conn: &mut MysqlConnection, name: &str) -> i64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Status {
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[diesel(column_name = Value)]
        value: String,
    }
    diesel::sql_query(format!("SHOW SESSION STATUS LIKE '{name}'"))
        .get_result::<Status>(conn)
        .unwrap()
        .value
        .parse()
        .unwrap()
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        if let Ok(mut conn) = MysqlConnection::establish(&admin_url()) {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

/// The generated PKI: cloud `testcloud.aitia` with the core systems, sysop and applications
/// `provider`, `consumer`, `client`; plus a second cloud under the same master and a certificate
/// from our cloud CA whose CN is not an Arrowhead system name.
pub struct Pki {
    pub dir: PathBuf,
    pub master: X509,
}

pub const CLOUD: &str = "testcloud";
pub const OPERATOR: &str = "aitia";
pub const PASSWORD: &str = "123456";

/// A new RSA-2048 key and a base64 DER CSR for `cn`, as a device makes them.
pub fn csr_for(cn: &str) -> (PKey<Private>, String) {
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut b = openssl::x509::X509Req::builder().unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    b.set_subject_name(&name.build()).unwrap();
    b.set_pubkey(&key).unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    (
        key,
        openssl::base64::encode_block(&b.build().to_der().unwrap()),
    )
}

/// The test cloud's certificate (the issuer of everything the Certificate Authority signs).
pub fn pki_cloud_certificate() -> X509 {
    Keystore::from_pkcs12_file(&pki().dir.join(format!("{CLOUD}.p12")), PASSWORD)
        .unwrap()
        .cert
}

pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ah-test-pki-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let spec = CloudSpec {
            cloud: CLOUD.into(),
            operator: OPERATOR.into(),
            password: PASSWORD.into(),
            hosts: vec![],
            applications: [
                "provider",
                "consumer",
                "client",
                "choreographer",
                "plantdescriptionengine",
                "qosmonitor",
            ]
            .map(String::from)
            .to_vec(),
            days: 30,
            force: false,
        };
        local_cloud::generate(&spec, &dir).unwrap();
        let master = Keystore::from_pkcs12_file(&dir.join("master.p12"), PASSWORD).unwrap();
        let master_issued = Issued {
            cert: master.cert.clone(),
            key: master.key.clone(),
        };
        let other_cloud = pki::make_cloud(&master_issued, "othercloud", OPERATOR, 30).unwrap();
        let other = pki::make_leaf(&other_cloud, "provider", &[], 30).unwrap();
        write_identity(
            &dir,
            "other-provider",
            &other,
            &[&other_cloud.cert, &master.cert],
        );
        let cloud =
            Keystore::from_pkcs12_file(&dir.join(format!("{CLOUD}.p12")), PASSWORD).unwrap();
        let cloud_issued = Issued {
            cert: cloud.cert,
            key: cloud.key,
        };
        write_identity(
            &dir,
            "wrong-cn",
            &signed_leaf("intruder.example.com", &cloud_issued),
            &[&cloud_issued.cert, &master.cert],
        );
        std::fs::write(dir.join("master.pem"), master.cert.to_pem().unwrap()).unwrap();
        write_hostile(&dir, &master_issued, &cloud_issued, &other_cloud);
        Pki {
            dir,
            master: master.cert,
        }
    })
}

/// A cloud as the common Python tooling (and older Java tooling) makes it: master
/// `arrowhead.eu` → organisation `aitia.arrowhead.eu` → cloud `fourcloud.aitia.arrowhead.eu` →
/// systems, the core systems under their pre-4.4 underscore names (`service_registry`,
/// `event_handler`, ...). Its truststore holds the cloud certificate only; keystores carry the
/// chain up to the master.
pub struct FourLevelPki {
    pub dir: PathBuf,
    pub master: X509,
}

pub const FOUR_LEVEL_CLOUD: &str = "fourcloud";

impl FourLevelPki {
    /// The keystore of a system (underscore names for the core systems that have one).
    pub fn keystore(&self, system: &str) -> PathBuf {
        let file = common::identity::CoreSystem::from_system_name(system)
            .and_then(|c| c.legacy_name())
            .unwrap_or(system);
        self.dir.join(format!("{file}.p12"))
    }
    pub fn truststore(&self) -> PathBuf {
        self.dir.join("truststore.p12")
    }
    pub fn client(&self, system: &str) -> reqwest::blocking::Client {
        client_from(&self.keystore(system), &self.master)
    }
}

pub fn four_level_pki() -> &'static FourLevelPki {
    static PKI: OnceLock<FourLevelPki> = OnceLock::new();
    PKI.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("ah-test-pki4-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let master = pki::make_root(30).unwrap();
        let org_key = pki::generate_key().unwrap();
        let org_cert = pki::sign_certificate(
            &format!("{OPERATOR}.arrowhead.eu"),
            &org_key,
            Some(&master),
            None,
            Profile::Root,
            30,
        )
        .unwrap();
        let org = Issued {
            cert: org_cert,
            key: org_key,
        };
        let cloud = pki::make_cloud(&org, FOUR_LEVEL_CLOUD, OPERATOR, 30).unwrap();
        for name in [
            "service_registry",
            "authorization",
            "orchestrator",
            "event_handler",
            "sysop",
            "consumer",
            "provider",
            "client",
        ] {
            write_identity(
                &dir,
                name,
                &signed_leaf(
                    &format!("{name}.{FOUR_LEVEL_CLOUD}.{OPERATOR}.arrowhead.eu"),
                    &cloud,
                ),
                &[&cloud.cert, &org.cert, &master.cert],
            );
        }
        std::fs::write(
            dir.join("truststore.p12"),
            pki::truststore_p12(&[&cloud.cert], PASSWORD).unwrap(),
        )
        .unwrap();
        FourLevelPki {
            dir,
            master: master.cert,
        }
    })
}

/// The hostile identities of [`HOSTILE`], and `master-truststore.p12`, a truststore holding only
/// the master (as deployments that trust every cloud under it have).
fn write_hostile(dir: &Path, master: &Issued, cloud: &Issued, other_cloud: &Issued) {
    let sysop_cn = format!("sysop.{CLOUD}.{OPERATOR}.arrowhead.eu");
    // A trusted certificate without a system name, with a self-signed "sysop" appended.
    let wrong = Keystore::from_pkcs12_file(&dir.join("wrong-cn.p12"), PASSWORD).unwrap();
    let forged_key = pki::generate_key().unwrap();
    let forged = pki::sign_certificate(
        &sysop_cn,
        &forged_key,
        None,
        Some(&forged_key),
        Profile::Root,
        30,
    )
    .unwrap();
    write_identity(
        dir,
        "hostile-appended-sysop",
        &Issued {
            cert: wrong.cert,
            key: wrong.key,
        },
        &[&forged, &cloud.cert, &master.cert],
    );
    // This cloud's sysop name, issued by another cloud's CA under the same master.
    write_identity(
        dir,
        "hostile-foreign-sysop",
        &signed_leaf(&sysop_cn, other_cloud),
        &[&other_cloud.cert, &master.cert],
    );
    // Issued by this cloud's CA, but not names of this cloud's systems.
    for (file, system) in [
        ("hostile-accented-sysop", "sýsop"),
        ("hostile-underscored-sysop", "sys_op"),
        ("hostile-dotted", "sysop.x"),
    ] {
        let cn = format!("{system}.{CLOUD}.{OPERATOR}.arrowhead.eu");
        write_identity(
            dir,
            file,
            &signed_leaf(&cn, cloud),
            &[&cloud.cert, &master.cert],
        );
    }
    // A CA under the master without a path length limit issues a sub-CA named like this cloud,
    // which issues this cloud's sysop name.
    let rogue_key = pki::generate_key().unwrap();
    let rogue = Issued {
        cert: pki::sign_certificate(
            &format!("roguecloud.{OPERATOR}.arrowhead.eu"),
            &rogue_key,
            Some(master),
            None,
            Profile::Root,
            30,
        )
        .unwrap(),
        key: rogue_key,
    };
    let fake_key = pki::generate_key().unwrap();
    let fake_cloud = Issued {
        cert: pki::sign_certificate(
            &format!("{CLOUD}.{OPERATOR}.arrowhead.eu"),
            &fake_key,
            Some(&rogue),
            None,
            Profile::Cloud,
            30,
        )
        .unwrap(),
        key: fake_key,
    };
    write_identity(
        dir,
        "hostile-subca-sysop",
        &signed_leaf(&sysop_cn, &fake_cloud),
        &[&fake_cloud.cert, &rogue.cert, &master.cert],
    );
    // Claims another cloud's name although this cloud's CA signed it.
    write_identity(
        dir,
        "hostile-misissued",
        &signed_leaf(&format!("sysop.othercloud.{OPERATOR}.arrowhead.eu"), cloud),
        &[&cloud.cert, &master.cert],
    );
    std::fs::write(
        dir.join("master-truststore.p12"),
        pki::truststore_p12(&[&master.cert], PASSWORD).unwrap(),
    )
    .unwrap();
}

/// Client identities that must never be served as this cloud's operator: each is trusted by the
/// TLS layer (a master-trusting store accepts `hostile-foreign-sysop` too) but is not the sysop
/// certificate issued by this cloud's certificate. `hostile-underscored-sysop` is a valid but
/// different system (`sys_op`); the others are not systems of this cloud at all.
pub const HOSTILE: &[&str] = &[
    "hostile-appended-sysop",
    "hostile-foreign-sysop",
    "hostile-subca-sysop",
    "hostile-accented-sysop",
    "hostile-underscored-sysop",
    "hostile-dotted",
    "hostile-misissued",
];

/// Checks a sysop-only endpoint: the sysop gets 200, every [`HOSTILE`] identity an Arrowhead
/// 401 (or, where the server's truststore does not reach its issuer, a refused handshake).
pub fn assert_hostile_refused(url: &str) {
    let pki = pki();
    assert_eq!(
        read(client("sysop").get(url).send().unwrap()).0,
        200,
        "sysop at {url}"
    );
    for name in HOSTILE {
        match client_from(&pki.keystore(name), &pki.master)
            .get(url)
            .send()
        {
            Ok(resp) => {
                let (status, body) = read(resp);
                assert_eq!(status, 401, "{name} at {url}: {body}");
                assert_eq!(body["exceptionType"], "AUTH", "{name} at {url}: {body}");
            }
            Err(_) => {
                // Refused in the handshake: assert the alert itself (see tls12_client_from).
                handshake_alert(
                    tls12_client_from(&pki.keystore(name), &pki.master)
                        .get(url)
                        .send(),
                );
            }
        }
    }
}

/// A system certificate with any common name (valid or not), signed by `issuer`, with its key.
fn signed_leaf(cn: &str, issuer: &Issued) -> Issued {
    let key = pki::generate_key().unwrap();
    let cert = pki::sign_certificate(
        cn,
        &key,
        Some(issuer),
        None,
        Profile::Leaf { hosts: &[] },
        30,
    )
    .unwrap();
    Issued { cert, key }
}

fn write_identity(dir: &Path, name: &str, issued: &Issued, chain: &[&X509]) {
    let der = pki::keystore_p12(name, issued, chain, PASSWORD).unwrap();
    std::fs::write(dir.join(format!("{name}.p12")), der).unwrap();
}

impl Pki {
    pub fn keystore(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.p12"))
    }
    pub fn truststore(&self) -> PathBuf {
        self.dir.join("truststore.p12")
    }
    /// A truststore holding only the master certificate.
    pub fn master_truststore(&self) -> PathBuf {
        self.dir.join("master-truststore.p12")
    }
    pub fn master_pem(&self) -> PathBuf {
        self.dir.join("master.pem")
    }
}

/// A blocking HTTPS client presenting the keystore at `p12` (any password-123456 PKCS#12,
/// legacy-encrypted ones included) and trusting `root`.
/// A client holding a fresh certificate of the test cloud for `system`: any name, such as a
/// core system the generated PKI has no keystore for.
pub fn client_issued(system: &str) -> reqwest::blocking::Client {
    let pki = pki();
    let cloud =
        Keystore::from_pkcs12_file(&pki.dir.join(format!("{CLOUD}.p12")), PASSWORD).unwrap();
    let issuer = Issued {
        cert: cloud.cert.clone(),
        key: cloud.key.clone(),
    };
    let leaf = pki::make_leaf(&issuer, system, &[], 1).unwrap();
    let p12 = pki::keystore_p12(system, &leaf, &[&cloud.cert, &pki.master], PASSWORD).unwrap();
    let path = pki.dir.join(format!("issued-{system}.p12"));
    std::fs::write(&path, p12).unwrap();
    client_from(&path, &pki.master)
}

pub fn client_from(p12: &Path, root: &X509) -> reqwest::blocking::Client {
    client_builder_from(p12, root).build().unwrap()
}

fn client_builder_from(p12: &Path, root: &X509) -> reqwest::blocking::ClientBuilder {
    let ks = Keystore::from_pkcs12_file(p12, PASSWORD).unwrap();
    let key = ks.key.private_key_to_pem_pkcs8().unwrap();
    let identity = reqwest::Identity::from_pkcs8_pem(&ks.chain_pem().unwrap(), &key).unwrap();
    reqwest::blocking::Client::builder()
        .tls_backend_native()
        .identity(identity)
        .tls_certs_only([reqwest::Certificate::from_der(&root.to_der().unwrap()).unwrap()])
}

/// Like [`client_from`], limited to TLS 1.2: refusals must read the same under both versions.
pub fn tls12_client_from(p12: &Path, root: &X509) -> reqwest::blocking::Client {
    client_builder_from(p12, root)
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap()
}

/// The TLS alert a refused handshake ended with (the client's whole error chain); fails the
/// test when the request got through or failed otherwise.
pub fn handshake_alert(result: Result<reqwest::blocking::Response, reqwest::Error>) -> String {
    let e = result.expect_err("the handshake should have been refused");
    let chain = common::https::error_chain(&e);
    assert!(chain.contains("alert"), "not a TLS alert: {chain}");
    chain
}

/// A client of the generated PKI by system name (`sysop`, `provider`, `orchestrator`, ...).
pub fn client(name: &str) -> reqwest::blocking::Client {
    let pki = pki();
    client_from(&pki.keystore(name), &pki.master)
}

/// A client without a certificate (TLS 1.3 when the server offers it; `tls12` limits it to 1.2).
pub fn anonymous_client(root: &X509, tls12: bool) -> reqwest::blocking::Client {
    let mut b = reqwest::blocking::Client::builder().tls_backend_native();
    if tls12 {
        b = b.tls_version_max(reqwest::tls::Version::TLS_1_2);
    }
    b.tls_certs_only([reqwest::Certificate::from_der(&root.to_der().unwrap()).unwrap()])
        .build()
        .unwrap()
}

/// Status and body (JSON when it parses, else a JSON string) of a response.
///
/// Every JSON answer must say so: a body that parses as JSON without a `Content-Type:
/// application/json` header fails the test (clients that decode by content type need it), so
/// every endpoint any test reads is checked. Text answers (`/echo`) do not parse as JSON.
pub fn read(resp: reqwest::blocking::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    let url = resp.url().to_string();
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = resp.text().unwrap();
    match serde_json::from_str(&text) {
        Ok(body) => {
            assert!(
                content_type.starts_with("application/json"),
                "{url} answered JSON with Content-Type '{content_type}': {text}"
            );
            (status, body)
        }
        Err(_) => (status, serde_json::Value::String(text)),
    }
}

/// A core system running in-process (real listener, its own thread and actix runtime), stopped
/// when dropped.
pub struct RunningServer {
    /// `https://localhost:<port>` (or `http://` in insecure mode).
    pub origin: String,
    pub port: u16,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
}

pub type StartFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<common::web::Running, String>>>>;

impl RunningServer {
    /// Runs `start` (a system's start function) on a new actix system and waits until it listens.
    pub fn start(secure: bool, start: impl FnOnce() -> StartFuture + Send + 'static) -> Self {
        common::web::init_test_tracing();
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match start().await {
                    Ok(running) => {
                        tx.send(Ok((running.addr, running.server.handle())))
                            .unwrap();
                        let _ = running.server.await;
                    }
                    Err(e) => tx.send(Err(e)).unwrap(),
                }
            })
        });
        let (addr, handle) = rx
            .recv()
            .unwrap()
            .unwrap_or_else(|e| panic!("system did not start: {e}"));
        let scheme = if secure { "https" } else { "http" };
        Self {
            origin: format!("{scheme}://localhost:{}", addr.port()),
            port: addr.port(),
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        actix_web::rt::System::new().block_on(handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Properties of a secured system on the generated PKI and the given database.
pub fn secure_properties(system: &str, db: &TestDb) -> String {
    let pki = pki();
    format!(
        "server.address=127.0.0.1\nserver.port=0\ndomain.name=127.0.0.1\n\
         server.ssl.key-store={}\nserver.ssl.key-store-password=123456\nserver.ssl.trust-store={}\nserver.ssl.trust-store-password=123456\n\
         spring.datasource.url={}\nspring.datasource.username={}\nspring.datasource.password={}\nserver.workers=2\n",
        pki.keystore(system).display(),
        pki.truststore().display(),
        db.jdbc_url(),
        db.settings.username,
        db.settings.password,
    )
}

/// Replaces timestamps (after checking their ISO-8601 UTC form) so bodies compare exactly.
pub fn scrub(mut v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
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
pub fn error(message: &str, code: u16, kind: &str, origin: Option<&str>) -> serde_json::Value {
    let mut v =
        serde_json::json!({"errorMessage": message, "errorCode": code, "exceptionType": kind});
    if let Some(o) = origin {
        v["origin"] = serde_json::Value::String(o.to_owned());
    }
    v
}

/// The Java sample certificates (`fixtures/java-certificates` of the shared reference
/// material): `ARROWHEAD_JAVA_FIXTURES` if set, else the first `shared/fixtures/java-certificates`
/// found in a folder above this workspace (a checkout sits next to `shared/`).
pub fn java_fixtures() -> std::path::PathBuf {
    if let Ok(dir) = std::env::var("ARROWHEAD_JAVA_FIXTURES") {
        return dir.into();
    }
    let start = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|a| a.join("shared/fixtures/java-certificates"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| {
            panic!(
                "the Java sample certificates were not found in a shared/fixtures/java-certificates above {}; set ARROWHEAD_JAVA_FIXTURES",
                start.display()
            )
        })
}

/// A port for a system of this test process, reserved by binding it (port 0) and kept bound:
/// the listener is handed over to the server that is later started on this port, so no other
/// process can take it in between. Until that server starts, connections wait in the backlog.
pub fn free_port() -> u16 {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("no free port: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("no free port: {e}"))
        .port();
    common::web::hand_over_listener(listener);
    port
}

/// A port where nothing listens now (bound, then released): for a peer that must be down
/// (connections refused) before it starts, and for systems run as child processes, which bind
/// their port themselves. Only these take the small risk of another process taking the port.
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Polls `ok` until it holds; fails the test naming `what` after `limit`.
pub fn wait_for(what: &str, limit: std::time::Duration, mut ok: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + limit;
    while !ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The JSON bodies a [`recording_server`] received, in arrival order.
pub type Recorded = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// A real mTLS server standing in for a system (a subscriber, a stand-in Event Handler): it
/// presents `keystore`, trusts `truststore`, answers 200 to every POST under `path` and records
/// the bodies. `port` 0 picks one (see [`RunningServer::port`]).
pub fn recording_server(
    keystore: &Path,
    truststore: &Path,
    path: &str,
    port: u16,
) -> (RunningServer, Recorded) {
    let received = Recorded::default();
    let sink = received.clone();
    let (keystore, truststore, path) =
        (keystore.to_owned(), truststore.to_owned(), path.to_owned());
    let server = RunningServer::start(true, move || -> StartFuture {
        Box::pin(async move {
            let ks = Keystore::from_pkcs12_file(&keystore, PASSWORD).map_err(|e| e.to_string())?;
            let trust = common::tls::load_trust(&common::config::TrustMaterial::Pkcs12 {
                path: truststore,
                password: PASSWORD.into(),
            })
            .map_err(|e| e.to_string())?;
            let tls = common::tls::TlsContext::new(ks, trust).map_err(|e| e.to_string())?;
            common::web::start(common::web::ServerSpec {
                address: "127.0.0.1".into(),
                port,
                tls: Some(tls),
                workers: Some(1),
                openapi: utoipa::openapi::OpenApiBuilder::new().build(),
                revocations: None,
                limits: Default::default(),
                configure: move |cfg: &mut actix_web::web::ServiceConfig| {
                    let sink = sink.clone();
                    cfg.route(
                        &path,
                        actix_web::web::post().to(
                            move |body: actix_web::web::Json<serde_json::Value>| {
                                sink.lock().unwrap().push(body.into_inner());
                                async { actix_web::HttpResponse::Ok().finish() }
                            },
                        ),
                    );
                },
            })
            .map_err(|e| e.to_string())
        })
    });
    (server, received)
}

/// `GET <base>/mgmt/logs` lists only `system_name`'s rows of the Java `logs` table, from the
/// given level up, to the sysop only (`base`: `https://localhost:port/<system>`).
pub fn check_mgmt_logs(db: &TestDb, base: &str, system_name: &str) {
    use diesel::connection::SimpleConnection;
    db.connect()
        .batch_execute(&format!(
            "INSERT INTO logs (log_id, entry_date, logger, log_level, system_name, message) VALUES
             ('l-1', '2026-01-01 10:00:00', 'x::api', 'WARN', '{system_name}', 'mine'),
             ('l-2', '2026-01-01 10:00:01', 'x::api', 'ERROR', '{system_name}', 'mine too'),
             ('l-3', '2026-01-01 10:00:02', 'x::api', 'INFO', '{system_name}', 'detail'),
             ('l-4', '2026-01-01 10:00:03', 'y', 'WARN', 'ANOTHERSYSTEM', 'not mine')"
        ))
        .unwrap();
    let (status, got) = read(
        client("sysop")
            .get(format!("{base}/mgmt/logs?level=warn&direction=DESC"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["count"], 2, "{got}");
    assert_eq!(got["data"][0]["logId"], "l-2", "{got}");
    assert_eq!(got["data"][0]["entryDate"], "2026-01-01T10:00:01Z", "{got}");
    assert_eq!(got["data"][0]["systemName"], system_name, "{got}");
    let (_, all) = read(
        client("sysop")
            .get(format!("{base}/mgmt/logs"))
            .send()
            .unwrap(),
    );
    assert_eq!(all["count"], 3, "{all}");
    assert_eq!(
        read(
            client("consumer")
                .get(format!("{base}/mgmt/logs"))
                .send()
                .unwrap()
        )
        .0,
        401
    );
}

/// A raw mutual-TLS connection to `port` with `system`'s certificate, for tests that must send
/// bytes an HTTP client would not (a trickled request, a malformed head). `max`: the highest
/// TLS version offered (`None`: 1.3).
pub fn raw_tls(
    system: &str,
    port: u16,
    max: Option<openssl::ssl::SslVersion>,
) -> Result<openssl::ssl::SslStream<std::net::TcpStream>, String> {
    use openssl::ssl::{SslConnector, SslMethod};
    let pki = pki();
    let ks =
        Keystore::from_pkcs12_file(&pki.keystore(system), PASSWORD).map_err(|e| e.to_string())?;
    let mut b = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    b.set_certificate(&ks.cert).map_err(|e| e.to_string())?;
    for c in &ks.chain {
        b.add_extra_chain_cert(c.clone())
            .map_err(|e| e.to_string())?;
    }
    b.set_private_key(&ks.key).map_err(|e| e.to_string())?;
    b.cert_store_mut()
        .add_cert(pki.master.clone())
        .map_err(|e| e.to_string())?;
    b.set_max_proto_version(max).map_err(|e| e.to_string())?;
    if max.is_some() {
        b.set_min_proto_version(max).map_err(|e| e.to_string())?;
        // Old versions offered for real (this OpenSSL's default level would not even try),
        // so that a refusal is the server's.
        b.set_cipher_list("DEFAULT:@SECLEVEL=0")
            .map_err(|e| e.to_string())?;
    }
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    b.build()
        .connect("localhost", tcp)
        .map_err(|e| e.to_string())
}
