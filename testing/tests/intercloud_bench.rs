//! Inter-cloud figures, side by side with their local baselines in one run (ignored by default;
//! run in release):
//!
//! `cargo test --release -p testing --test intercloud_bench -- --ignored --nocapture`
//!
//! - orchestration latency (p50/p99, sequential, keep-alive mutual TLS): a local dynamic
//!   orchestration in cloud A next to an inter-cloud one (`triggerInterCloud`: GSD + ICN over the
//!   relay, B's Orchestrator and Authorization system) and one through the Gateways;
//! - the Gateways: added latency per request against calling the provider directly, and
//!   throughput of large bodies (MB/s echoed, both directions counted).

#![allow(clippy::unwrap_used)]

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use testing::clouds::{Cloud, Options, TwoClouds};

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let i = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[i]
}

fn report(what: &str, mut samples: Vec<Duration>) -> Duration {
    let p50 = percentile(&mut samples, 0.5);
    let p99 = percentile(&mut samples, 0.99);
    println!(
        "{what:<48} n={:<4} p50 {:>8.2} ms   p99 {:>8.2} ms",
        samples.len(),
        p50.as_secs_f64() * 1000.0,
        p99.as_secs_f64() * 1000.0
    );
    p50
}

fn register(cloud: &Cloud, system: &str, port: u16) -> Value {
    let (status, got) = cloud.post(
        system,
        "serviceregistry",
        "/register",
        &json!({"serviceDefinition": "temperature", "providerSystem": {"systemName": system,
            "address": "localhost", "port": port, "authenticationInfo": cloud.public_key(system)},
            "serviceUri": "/temperature", "secure": "TOKEN", "interfaces": ["HTTP-SECURE-JSON"]}),
    );
    assert_eq!(status, 201, "{got}");
    got
}

fn form(flags: Value) -> Value {
    json!({"requesterSystem": {"systemName": "consumer", "address": "localhost", "port": 5000},
        "requestedService": {"serviceDefinitionRequirement": "temperature", "interfaceRequirements": ["HTTP-SECURE-JSON"]},
        "orchestrationFlags": flags})
}

fn time_orchestrations(cloud: &Cloud, flags: Value, n: usize, expect: &str) -> Vec<Duration> {
    let client = cloud.client("consumer");
    let url = cloud.url("orchestrator", "/orchestration");
    let body = form(flags);
    (0..n)
        .map(|_| {
            let t = Instant::now();
            let got: Value = client
                .post(&url)
                .json(&body)
                .send()
                .unwrap()
                .json()
                .unwrap();
            let took = t.elapsed();
            assert_eq!(
                got["response"][0]["provider"]["systemName"], expect,
                "{got}"
            );
            took
        })
        .collect()
}

fn setup(mandatory: bool) -> (TwoClouds, testing::RunningServer) {
    let a = Options {
        gateway: mandatory,
        ..Default::default()
    };
    let b = Options {
        gateway: mandatory,
        mandatory,
        ..Default::default()
    };
    let clouds = TwoClouds::start(&a, &b);
    let provider = testing::clouds::echo_provider(&clouds.b);
    let got = register(&clouds.b, "provider", provider.port);
    let (status, rule) = clouds.b.post(
        "sysop",
        "authorization",
        "/mgmt/intercloud",
        &json!({"cloudId": clouds.a_in_b, "providerIdList": [got["provider"]["id"]],
            "serviceDefinitionIdList": [got["serviceDefinition"]["id"]], "interfaceIdList": [got["interfaces"][0]["id"]]}),
    );
    assert_eq!(status, 201, "{rule}");
    (clouds, provider)
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn intercloud_figures() {
    const N: usize = 200;
    println!("\n== orchestration (sequential, keep-alive mutual TLS) ==");
    let (clouds, _provider) = setup(false);
    // The local baseline: a provider in A, allowed for the consumer, dynamic orchestration.
    let local = register(&clouds.a, "provider", 9999);
    let consumer = register(&clouds.a, "consumer", 5000);
    let (status, got) = clouds.a.post(
        "sysop",
        "authorization",
        "/mgmt/intracloud",
        &json!({"consumerId": consumer["provider"]["id"], "providerIds": [local["provider"]["id"]],
            "serviceDefinitionIds": [local["serviceDefinition"]["id"]], "interfaceIds": [local["interfaces"][0]["id"]]}),
    );
    assert_eq!(status, 201, "{got}");
    let _ = time_orchestrations(&clouds.a, json!({"overrideStore": true}), 20, "provider");
    let local = report(
        "local dynamic orchestration (A)",
        time_orchestrations(&clouds.a, json!({"overrideStore": true}), N, "provider"),
    );
    let _ = time_orchestrations(
        &clouds.a,
        json!({"triggerInterCloud": true}),
        20,
        "provider",
    );
    let inter = report(
        "inter-cloud orchestration (GSD + ICN, direct)",
        time_orchestrations(&clouds.a, json!({"triggerInterCloud": true}), N, "provider"),
    );
    println!(
        "inter-cloud / local (p50): {:.1}x",
        inter.as_secs_f64() / local.as_secs_f64()
    );
    drop(clouds);

    println!("\n== through the Gateways ==");
    let (clouds, provider) = setup(true);
    // Each answer opens a session that holds one of the Gateway's four consumer ports until
    // a consumer connects or gateway_socket_timeout (10 s here) passes.
    report(
        "inter-cloud orchestration via gateways",
        (0..4)
            .map(|_| {
                let t = Instant::now();
                let (status, got) = clouds.a.post(
                    "consumer",
                    "orchestrator",
                    "/orchestration",
                    &form(json!({"triggerInterCloud": true})),
                );
                assert_eq!(status, 200, "{got}");
                t.elapsed()
            })
            .collect(),
    );
    testing::wait_for("the unused sessions end", Duration::from_secs(30), || {
        let (_, s) = testing::read(
            clouds
                .a
                .client("sysop")
                .get(clouds.a.url("gateway", "/mgmt/sessions"))
                .send()
                .unwrap(),
        );
        s["count"] == 0
    });
    // One session for the measurements below.
    let (_, got) = clouds.a.post(
        "consumer",
        "orchestrator",
        "/orchestration",
        &form(json!({"triggerInterCloud": true})),
    );
    let port = got["response"][0]["provider"]["port"].as_u64().unwrap();
    let via_gateway = clouds.a.client("consumer");
    let gw_url = format!("https://localhost:{port}/temperature");
    // Directly: the Gateway's own certificate of B reaches the provider (same cloud).
    let direct = clouds.b.client("gateway");
    let direct_url = format!("https://localhost:{}/temperature", provider.port);
    for (what, client, url) in [
        (
            "GET directly (B's gateway certificate)",
            &direct,
            &direct_url,
        ),
        ("GET through both gateways", &via_gateway, &gw_url),
    ] {
        for _ in 0..20 {
            client.get(url).send().unwrap().text().unwrap();
        }
        report(
            what,
            (0..N)
                .map(|_| {
                    let t = Instant::now();
                    assert_eq!(client.get(url).send().unwrap().status().as_u16(), 200);
                    t.elapsed()
                })
                .collect(),
        );
    }
    let body: Vec<u8> = (0..8_000_000u32).map(|i| (i % 251) as u8).collect();
    for (what, client, url) in [
        ("8 MB echo directly", &direct, &direct_url),
        ("8 MB echo through both gateways", &via_gateway, &gw_url),
    ] {
        let rounds = 5;
        let t = Instant::now();
        for _ in 0..rounds {
            let back = client
                .post(url)
                .body(body.clone())
                .send()
                .unwrap()
                .bytes()
                .unwrap();
            assert_eq!(back.len(), body.len());
        }
        let secs = t.elapsed().as_secs_f64();
        println!(
            "{what:<48} {:.1} MB/s (each byte counted once per direction)",
            (2 * rounds * body.len()) as f64 / 1e6 / secs
        );
    }
}
