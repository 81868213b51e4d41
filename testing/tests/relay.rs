//! The relay client against a real private ActiveMQ broker over mutual TLS: our STOMP session
//! presents the system's chain and accepts the broker's chain under the relay master; text
//! arrives byte-exact; a client under a foreign root, or one that does not trust the relay
//! master, is refused; a broker going down ends the session at once.

#![allow(clippy::unwrap_used)]

use common::relay::connect_tls;
use common::relay::stomp::{Session, StompError};
use common::tls::Keystore;
use std::time::Duration;
use testing::broker::Broker;

fn keystore(name: &str) -> Keystore {
    Keystore::from_pkcs12_file(
        &testing::pki().dir.join(format!("{name}.p12")),
        testing::PASSWORD,
    )
    .unwrap()
}

async fn session(broker: &Broker, who: &str) -> Session {
    let tls = connect_tls(
        "127.0.0.1",
        broker.stomp_ssl,
        &keystore(who),
        std::slice::from_ref(&broker.relay_master),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    Session::connect(tls, "127.0.0.1", (2000, 2000), Duration::from_secs(5))
        .await
        .unwrap()
}

#[test]
fn messages_cross_the_relay_over_mutual_tls() {
    let broker = Broker::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut receiver = session(&broker, "consumer").await;
        assert!(
            receiver.beats.send_every.is_some() && receiver.beats.expect_every.is_some(),
            "heart-beats agreed: {:?}",
            receiver.beats
        );
        let sender = session(&broker, "provider").await;
        let queue = "/queue/REQ-gatekeeper.testcloud.aitia.arrowhead.eu-AbC123";
        receiver.subscribe(queue, "s1").await.unwrap();
        let text = "{\"a\":\"line\\nbreak: colon \\\\ backslash\"}\nü€ tab\tend";
        sender.send(queue, text, &[], true).await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(5), receiver.next_message())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.text().unwrap(), text);
        assert_eq!(m.get("destination"), Some(queue));
        assert_eq!(m.get("persistent"), Some("true"));
        // Several in order.
        for i in 0..50 {
            sender
                .send(queue, &format!("m{i}"), &[], false)
                .await
                .unwrap();
        }
        for i in 0..50 {
            let m = tokio::time::timeout(Duration::from_secs(5), receiver.next_message())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(m.text().unwrap(), format!("m{i}"));
        }
        // A topic, as the Gatekeepers' general advertisements use.
        let topic = "/topic/General-M5QTZXM9G9AnpPHWT6WennWu";
        receiver.subscribe(topic, "s2").await.unwrap();
        sender
            .send(topic, "advertisement", &[], true)
            .await
            .unwrap();
        let m = tokio::time::timeout(Duration::from_secs(5), receiver.next_message())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.get("destination"), m.text().unwrap()),
            (Some(topic), "advertisement")
        );
        sender.disconnect().await.unwrap();

        // The broker goes down: the session ends at once, with the reason.
        broker.stop();
        let gone = tokio::time::timeout(Duration::from_secs(10), receiver.next_message())
            .await
            .unwrap();
        assert!(gone.is_none());
        assert!(
            matches!(receiver.ended(), Some(StompError::Closed(_))),
            "{:?}",
            receiver.ended()
        );
    });
}

#[test]
fn wrong_trust_either_way_is_refused() {
    let broker = Broker::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        // We trust only the cloud master: the broker's relay chain does not verify.
        let refused = connect_tls(
            "127.0.0.1",
            broker.stomp_ssl,
            &keystore("consumer"),
            std::slice::from_ref(&testing::pki().master),
            Duration::from_secs(5),
        )
        .await;
        assert!(refused.is_err());
        // A client certificate under a root the broker does not trust.
        let key = certificate_authority::pki::generate_key().unwrap();
        let root = certificate_authority::pki::sign_certificate(
            "arrowhead.eu",
            &key,
            None,
            Some(&key),
            certificate_authority::pki::Profile::Root,
            1,
        )
        .unwrap();
        let root = certificate_authority::pki::Issued { cert: root, key };
        let cloud = certificate_authority::pki::make_cloud(&root, "testcloud", "aitia", 1).unwrap();
        let leaf = certificate_authority::pki::make_leaf(&cloud, "consumer", &[], 1).unwrap();
        let forged = Keystore {
            cert: leaf.cert,
            chain: vec![cloud.cert, root.cert],
            key: leaf.key,
        };
        let outcome = match connect_tls(
            "127.0.0.1",
            broker.stomp_ssl,
            &forged,
            std::slice::from_ref(&broker.relay_master),
            Duration::from_secs(5),
        )
        .await
        {
            Err(e) => Err(e),
            // TLS 1.3: the refusal arrives with the first read.
            Ok(tls) => Session::connect(tls, "127.0.0.1", (0, 0), Duration::from_secs(5))
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        assert!(
            outcome.is_err(),
            "a look-alike chain from another root was accepted"
        );
    });
}

/// The supervised link survives a broker restart: it reconnects on its own and subscribes
/// again, so messages sent after the restart arrive.
#[test]
fn the_link_reconnects_and_resubscribes_after_a_broker_restart() {
    use common::relay::link::{Endpoint, Link};
    let broker = Broker::start();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut link = Link::start(Endpoint {
            host: "127.0.0.1".into(),
            port: broker.stomp_ssl,
            identity: std::sync::Arc::new(keystore("consumer")),
            anchors: vec![broker.relay_master.clone()],
            heart_beat: (1000, 1000),
            secure: true,
        });
        assert!(link.wait_connected(Duration::from_secs(10)).await);
        let queue = "/queue/RESP-gatekeeper.testcloud.aitia.arrowhead.eu-Xyz789";
        link.subscribe(queue).await.unwrap();
        let sender = session(&broker, "provider").await;
        sender.send(queue, "before", &[], true).await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(5), link.messages.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.text().unwrap(), "before");

        broker.stop();
        let started = std::time::Instant::now();
        while link.is_connected() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the link did not notice the broker going"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        broker.restart();
        assert!(
            link.wait_connected(Duration::from_secs(40)).await,
            "no reconnection"
        );
        let sender = session(&broker, "provider").await;
        sender.send(queue, "after", &[], true).await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(5), link.messages.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.text().unwrap(), "after");
        // Sending through the link works too.
        link.send(queue, "through the link").await.unwrap();
        let m = tokio::time::timeout(Duration::from_secs(5), link.messages.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.text().unwrap(), "through the link");
    });
}

/// Interop with Java's relay clients: a Java OpenWire peer (compiled here with `javac` against
/// the ActiveMQ client jars Debian installs) receives what our STOMP client sends as a JMS
/// TextMessage with the exact text, and what it sends reaches us exactly, on the one `auto+ssl`
/// port a mixed Rust/Java relay offers.
#[test]
fn a_java_openwire_peer_and_our_stomp_client_understand_each_other() {
    use std::io::{BufRead, BufReader};
    let broker = Broker::start();
    let dir = std::env::temp_dir().join(format!("ah-java-peer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let classpath = [
        "activemq-client",
        "geronimo-jms_1.1_spec",
        "hawtbuf",
        "slf4j-api",
        "geronimo-j2ee-management-1.1-spec",
        "slf4j-nop",
    ]
    .map(|j| format!("/usr/share/java/{j}.jar"))
    .join(":");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("java/RelayPeer.java");
    let javac = std::process::Command::new("javac")
        .args(["-cp", &classpath, "-d"])
        .arg(&dir)
        .arg(&source)
        .output()
        .unwrap();
    assert!(
        javac.status.success(),
        "{}",
        String::from_utf8_lossy(&javac.stderr)
    );
    // Java reads a truststore only when keytool wrote it.
    std::fs::write(
        dir.join("relay-master.crt"),
        broker.relay_master.to_pem().unwrap(),
    )
    .unwrap();
    let keytool = std::process::Command::new("keytool")
        .args([
            "-importcert",
            "-noprompt",
            "-alias",
            "relay",
            "-storetype",
            "PKCS12",
            "-storepass",
            testing::PASSWORD,
            "-file",
        ])
        .arg(dir.join("relay-master.crt"))
        .arg("-keystore")
        .arg(dir.join("trust.p12"))
        .output()
        .unwrap();
    assert!(
        keytool.status.success(),
        "{}",
        String::from_utf8_lossy(&keytool.stderr)
    );
    let java = |args: &[&str]| {
        let mut c = std::process::Command::new("java");
        c.arg(format!(
            "-Djavax.net.ssl.keyStore={}",
            testing::pki().dir.join("provider.p12").display()
        ))
        .arg(format!(
            "-Djavax.net.ssl.keyStorePassword={}",
            testing::PASSWORD
        ))
        .arg(format!(
            "-Djavax.net.ssl.trustStore={}",
            dir.join("trust.p12").display()
        ))
        .arg(format!(
            "-Djavax.net.ssl.trustStorePassword={}",
            testing::PASSWORD
        ))
        .args([
            "-cp",
            &format!("{}:{classpath}", dir.display()),
            "RelayPeer",
        ])
        .args(args)
        .stdout(std::process::Stdio::piped());
        c
    };
    let url = format!("ssl://127.0.0.1:{}", broker.auto_ssl);
    let text = "{\"sid\":\"AbC123\",\"pld\":\"line\\nbreak: colon \\\\ back\"}\nü€ tab\tend";
    let b64 = |s: &str| openssl::base64::encode_block(s.as_bytes());
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Rust -> Java.
    let mut receiver = java(&[
        "receive",
        &url,
        "REQ-gatekeeper.testcloud.aitia.arrowhead.eu-J1",
        "20000",
    ])
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(receiver.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "READY");
    rt.block_on(async {
        let s = session(&broker, "consumer").await;
        s.send(
            "/queue/REQ-gatekeeper.testcloud.aitia.arrowhead.eu-J1",
            text,
            &[],
            true,
        )
        .await
        .unwrap();
    });
    assert_eq!(
        lines.next().unwrap().unwrap(),
        format!("TextMessage {}", b64(text))
    );
    assert!(receiver.wait().unwrap().success());

    // Java -> Rust.
    rt.block_on(async {
        let mut s = session(&broker, "consumer").await;
        s.subscribe(
            "/queue/RESP-gatekeeper.testcloud.aitia.arrowhead.eu-J2",
            "s",
        )
        .await
        .unwrap();
        let sent = java(&[
            "send",
            &url,
            "RESP-gatekeeper.testcloud.aitia.arrowhead.eu-J2",
            &b64(text),
        ])
        .output()
        .unwrap();
        assert_eq!(String::from_utf8_lossy(&sent.stdout).trim(), "SENT");
        let m = tokio::time::timeout(Duration::from_secs(10), s.next_message())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.text().unwrap(), text);
        assert_eq!(
            m.get("content-length"),
            None,
            "a TextMessage arrives without content-length"
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
