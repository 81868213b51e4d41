//! Request limits, attacked: an oversized body, deeply nested JSON, an oversized header block,
//! a trickled body and a trickled head (slowloris), and more connections than allowed. Each is
//! answered with the right status (error JSON where HTTP allows) and the server keeps serving.

#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use std::io::{Read, Write};
use std::time::{Duration, Instant};
use support::TestServer;
use testing::{client, read};

fn echo_ok(sr: &TestServer) {
    let r = client("sysop").get(sr.url("/echo")).send().unwrap();
    assert_eq!(r.status(), 200, "still serving");
}

/// Reads what the server sends until it closes the connection (or `limit` passes).
fn read_until_closed(
    s: &mut openssl::ssl::SslStream<std::net::TcpStream>,
    limit: Duration,
) -> String {
    s.get_ref().set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn oversized_and_malformed_requests_get_error_json() {
    let sr = TestServer::secure();
    let sysop = client("sysop");
    // A body over the 1 MiB default: 413.
    let big = json!({"serviceDefinition": "x".repeat(2 * 1024 * 1024)});
    let (status, got) = read(
        sysop
            .post(sr.url("/mgmt/services"))
            .json(&big)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 413, "{got}");
    assert_eq!(got["errorCode"], 413, "{got}");
    assert_eq!(got["exceptionType"], "BAD_PAYLOAD", "{got}");
    assert_eq!(got["origin"], "/serviceregistry/mgmt/services", "{got}");
    // JSON nested 100,000 deep (200 kB): refused by the parser's depth limit, no stack overflow.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let (status, got) = read(
        sysop
            .post(sr.url("/mgmt/services"))
            .header("content-type", "application/json")
            .body(deep)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{got}");
    assert_eq!(got["exceptionType"], "BAD_PAYLOAD", "{got}");
    let deep_object = format!("{}1{}", "{\"a\":".repeat(50_000), "}".repeat(50_000));
    let (status, got) = read(
        sysop
            .post(sr.url("/mgmt/services"))
            .header("content-type", "application/json")
            .body(deep_object)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{got}");
    // A 1 MB header: the HTTP layer's 431 (its head buffer is 32 kB; a head that arrives
    // whole in one read may be somewhat larger).
    let r = sysop
        .get(sr.url("/echo"))
        .header("x-big", "a".repeat(1024 * 1024))
        .send();
    match r {
        Ok(r) => assert_eq!(r.status(), 431),
        // The server may close before the client has written it all.
        Err(e) => assert!(e.is_request() || e.is_connect(), "{e}"),
    }
    echo_ok(&sr);
}

#[test]
fn slow_clients_are_cut_off() {
    let sr = TestServer::secure_with("request_body_timeout_seconds=2\n");
    // A body trickled after its head: 408 error JSON once the body time is up.
    let mut s = testing::raw_tls("sysop", sr.port, None).unwrap();
    let t = Instant::now();
    s.write_all(
        b"POST /serviceregistry/mgmt/services HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"serviceDef",
    )
    .unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"errorCode\":408"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    // A head that never ends: the connection is closed after actix's 5 s request timeout.
    let mut s = testing::raw_tls("sysop", sr.port, None).unwrap();
    let t = Instant::now();
    s.write_all(b"GET /serviceregistry/echo HTTP/1.1\r\nHost: local")
        .unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(20));
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    // A connection that never even starts its handshake is closed after 3 s.
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", sr.port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 16];
    let _ = tcp.read(&mut buf);
    assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
    echo_ok(&sr);
}

#[test]
fn connections_beyond_the_limit_wait() {
    let sr = TestServer::secure_with("server.workers=1\nserver.tomcat.max-connections=2\n");
    // Two idle connections take both places; a third client waits until the server drops them
    // (3 s without a handshake), then is served.
    let _idle: Vec<_> = (0..2)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", sr.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let t = Instant::now();
    let r = client("sysop").get(sr.url("/echo")).send().unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        t.elapsed() >= Duration::from_millis(2500),
        "served at once: the limit did not hold ({:?})",
        t.elapsed()
    );
}

/// TLS 1.2 and 1.3 only: a client offering 1.0 or 1.1 is refused in the handshake.
#[test]
fn only_tls_1_2_and_1_3() {
    use openssl::ssl::SslVersion;
    let sr = TestServer::secure();
    for old in [SslVersion::TLS1, SslVersion::TLS1_1] {
        assert!(
            testing::raw_tls("sysop", sr.port, Some(old)).is_err(),
            "{old:?} accepted"
        );
    }
    for ok in [SslVersion::TLS1_2, SslVersion::TLS1_3] {
        let s = testing::raw_tls("sysop", sr.port, Some(ok)).unwrap();
        assert_eq!(s.ssl().version2(), Some(ok));
        // No weak suite was agreed: forward secrecy and AEAD.
        let cipher = s.ssl().current_cipher().unwrap().name();
        assert!(
            cipher.contains("GCM") || cipher.contains("CHACHA20"),
            "{cipher}"
        );
    }
}
