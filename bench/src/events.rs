//! `--only events`: the Event Handler under load. The benchmark is its own subscriber: an mTLS
//! server in this process receives the deliveries, so publish-to-delivery latency is measured on
//! one clock (the payload carries the publish time). Subscriber systems get certificates issued
//! in memory by the cloud's key, because each must subscribe under its own name and receive on a
//! connection that presents it.

use crate::{call, cleanup, client, print, run, Args, Scenario, Stats};
use certificate_authority::pki;
use common::tls::{Keystore, TlsContext};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

static EPOCH: OnceLock<Instant> = OnceLock::new();

fn micros() -> u64 {
    EPOCH.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// The event a publish request sends: its payload is the send time (µs since the epoch).
pub fn publish_body() -> Value {
    json!({
        "eventType": "BENCH_EVENT",
        "source": {"systemName": "benchprovider", "address": "127.0.0.1", "port": 1},
        "payload": micros().to_string()
    })
}

/// Latencies (µs) of the deliveries received so far.
type Received = Arc<Mutex<Vec<u32>>>;

/// Subscriber systems `bench-sub-<i>`, each with a certificate issued in memory by the cloud's
/// key: the Event Handler delivers to a subscriber only over a connection presenting that
/// subscriber's own certificate.
struct Subscribers {
    names: Vec<String>,
    keystores: Vec<Keystore>,
    /// The cloud certificate (what the subscribers' server trusts).
    cloud: openssl::x509::X509,
    root: Vec<u8>,
}

fn subscriber_identities(args: &Args, n: usize) -> Result<Subscribers, String> {
    let cloud = Keystore::from_pkcs12_file(
        &args.certs.join(format!("{}.p12", cloud_name(args)?)),
        &args.password,
    )
    .map_err(|e| e.to_string())?;
    let issuer = pki::Issued {
        cert: cloud.cert.clone(),
        key: cloud.key.clone(),
    };
    let key = pki::generate_key().map_err(|e| e.to_string())?;
    let mut names = Vec::new();
    let mut keystores = Vec::new();
    for i in 0..n {
        let name = format!("bench-sub-{i}");
        let cert = pki::sign_leaf(&issuer, &name, &key, &[], 1).map_err(|e| e.to_string())?;
        let mut chain = vec![cloud.cert.clone()];
        chain.extend(cloud.chain.iter().cloned());
        keystores.push(Keystore {
            cert,
            chain,
            key: key.clone(),
        });
        names.push(name);
    }
    Ok(Subscribers {
        names,
        keystores,
        cloud: cloud.cert,
        root: std::fs::read(args.certs.join("master.crt")).map_err(|e| e.to_string())?,
    })
}

/// Starts the subscribers' HTTPS server (in its own thread and actix system): one listener per
/// subscriber system, each presenting that system's certificate. Returns the ports.
fn start_receiver(subs: &Subscribers, received: Received) -> Result<Vec<u16>, String> {
    let mut bound = Vec::new();
    for ks in &subs.keystores {
        let tls =
            TlsContext::new(ks.clone(), vec![subs.cloud.clone()]).map_err(|e| e.to_string())?;
        let acceptor = tls.acceptor().map_err(|e| e.to_string())?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        bound.push((listener, acceptor));
    }
    let ports = bound
        .iter()
        .map(|(l, _)| l.local_addr().map(|a| a.port()).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let sink = received.clone();
            let mut server = actix_web::HttpServer::new(move || {
                let sink = sink.clone();
                actix_web::App::new().route(
                    "/notify/{i}",
                    actix_web::web::post().to(move |body: actix_web::web::Json<Value>| {
                        let now = micros();
                        if let Some(sent) =
                            body["payload"].as_str().and_then(|p| p.parse::<u64>().ok())
                        {
                            let lat = now.saturating_sub(sent).min(u64::from(u32::MAX)) as u32;
                            sink.lock().unwrap_or_else(|p| p.into_inner()).push(lat);
                        }
                        async { actix_web::HttpResponse::Ok().finish() }
                    }),
                )
            })
            .workers(1);
            for (listener, acceptor) in bound {
                server = match server.listen_openssl(listener, acceptor) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
            }
            let _ = tx.send(Ok(()));
            let _ = server.run().await;
        })
    });
    rx.recv().map_err(|e| e.to_string())??;
    Ok(ports)
}

/// Registers subscriber systems `from..to`, allows them to hear benchprovider and subscribes
/// each (with its own certificate).
async fn add_subscribers(
    args: &Args,
    subs: &Subscribers,
    ports: &[u16],
    range: std::ops::Range<usize>,
    ids: &(Value, Value, Value),
) -> Result<(), String> {
    let sysop = client(args, "sysop")?;
    for i in range {
        let (name, port) = (&subs.names[i], ports[i]);
        let ks = &subs.keystores[i];
        let public_key = ks.public_key_base64().map_err(|e| e.to_string())?;
        let system = call(
            &sysop,
            reqwest::Method::POST,
            format!("{}/serviceregistry/mgmt/systems", args.url),
            Some(json!({"systemName": name, "address": "127.0.0.1", "port": port, "authenticationInfo": public_key})),
        )
        .await?;
        call(
            &sysop,
            reqwest::Method::POST,
            format!("{}/authorization/mgmt/intracloud", args.auth_url),
            Some(json!({"consumerId": system["id"], "providerIds": [ids.0], "serviceDefinitionIds": [ids.1], "interfaceIds": [ids.2]})),
        )
        .await?;
        let identity = reqwest::Identity::from_pkcs8_pem(
            &ks.chain_pem().map_err(|e| e.to_string())?,
            &ks.key
                .private_key_to_pem_pkcs8()
                .map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        let subscriber = reqwest::Client::builder()
            .tls_backend_native()
            .identity(identity)
            .tls_certs_only(
                [reqwest::Certificate::from_pem(&subs.root).map_err(|e| e.to_string())?],
            )
            .build()
            .map_err(|e| e.to_string())?;
        call(
            &subscriber,
            reqwest::Method::POST,
            format!("{}/eventhandler/subscribe", args.eh_url),
            Some(json!({"eventType": "BENCH_EVENT", "notifyUri": format!("/notify/{i}"), "matchMetaData": false,
                        "subscriberSystem": {"systemName": name, "address": "127.0.0.1", "port": port}})),
        )
        .await?;
    }
    Ok(())
}

/// The cloud's name (its keystore is `<cloud>.p12`), read from the sysop certificate
/// `sysop.<cloud>.<operator>.arrowhead.eu`.
fn cloud_name(args: &Args) -> Result<String, String> {
    let sysop = Keystore::from_pkcs12_file(&args.certs.join("sysop.p12"), &args.password)
        .map_err(|e| e.to_string())?;
    common::tls::common_name(&sysop.cert)
        .and_then(|cn| cn.split('.').nth(1).map(str::to_owned))
        .ok_or_else(|| "cannot read the cloud name from sysop.p12".into())
}

/// Waits until every delivery arrived or none came for 3 s (at most 3 min), then takes the
/// latencies.
async fn drain(received: &Received, expected: usize) -> (Vec<u32>, Duration) {
    let start = Instant::now();
    let mut last = (0, Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let n = received.lock().unwrap_or_else(|p| p.into_inner()).len();
        if n >= expected || start.elapsed() > Duration::from_secs(180) {
            break;
        }
        if n != last.0 {
            last = (n, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    let mut all = std::mem::take(&mut *received.lock().unwrap_or_else(|p| p.into_inner()));
    all.sort_unstable();
    (all, start.elapsed())
}

fn report(
    label: &str,
    publish: &Stats,
    subscribers: usize,
    lat: &[u32],
    seconds: f64,
    drain: Duration,
) {
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|v| f64::from(*v) / 1000.0)
            .unwrap_or(0.0)
    };
    let expected = publish.requests * subscribers;
    println!(
        "{label:<34} {:>7.0} publishes/s  {:>8.0} deliveries/s  delivered {}/{}  publish-to-delivery p50 {:>7.2} ms  p99 {:>8.2} ms",
        publish.rps,
        lat.len() as f64 / (seconds + drain.as_secs_f64()).max(0.001),
        lat.len(),
        expected,
        pct(0.5),
        pct(0.99)
    );
}

pub async fn bench_events(args: &Args) -> Result<(), String> {
    let _ = micros();
    let d = Duration::from_secs(args.seconds);
    println!(
        "{} connections, {} s per phase, target {}",
        args.connections, args.seconds, args.eh_url
    );
    cleanup(args).await?;
    let received: Received = Arc::default();
    let subs = subscriber_identities(args, 100)?;
    let ports = start_receiver(&subs, received.clone())?;
    let sysop = client(args, "sysop")?;
    let key = Keystore::from_pkcs12_file(&args.certs.join("benchprovider.p12"), &args.password)
        .map_err(|e| e.to_string())?
        .public_key_base64()
        .map_err(|e| e.to_string())?;
    let entry = call(
        &sysop,
        reqwest::Method::POST,
        format!("{}/serviceregistry/mgmt", args.url),
        Some(json!({"serviceDefinition": "bench-events",
            "providerSystem": {"systemName": "benchprovider", "address": "127.0.0.1", "port": 1, "authenticationInfo": key},
            "serviceUri": "/bench", "secure": "CERTIFICATE", "interfaces": ["HTTP-SECURE-JSON"]})),
    )
    .await?;
    let ids = (
        entry["provider"]["id"].clone(),
        entry["serviceDefinition"]["id"].clone(),
        entry["interfaces"][0]["id"].clone(),
    );
    let echo = run(args, Scenario::EhEcho, d, None, 1, 0).await?;
    print("eventhandler echo", &echo, echo.rps);
    for (subscribers, paced_rate) in [(1usize, 200.0), (100, 20.0)] {
        let have = if subscribers == 1 { 0 } else { 1 };
        add_subscribers(args, &subs, &ports, have..subscribers, &ids).await?;
        received.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let max = run(args, Scenario::Publish, d, None, 1, 0).await?;
        let (lat, waited) = drain(&received, max.requests * subscribers).await;
        report(
            &format!("{subscribers} subscriber(s), max rate"),
            &max,
            subscribers,
            &lat,
            d.as_secs_f64(),
            waited,
        );
        // One connection, so the events are evenly spaced (many paced connections would start
        // in step and publish in bursts).
        let one = Args {
            connections: 1,
            ..args.clone()
        };
        let paced = run(&one, Scenario::Publish, d, Some(paced_rate), 1, 0).await?;
        let (lat, waited) = drain(&received, paced.requests * subscribers).await;
        report(
            &format!("{subscribers} subscriber(s), {paced_rate:.0} publishes/s"),
            &paced,
            subscribers,
            &lat,
            d.as_secs_f64(),
            waited,
        );
    }
    if !args.keep {
        let removed = cleanup(args).await?;
        println!("\nremoved {removed} benchmark systems and their subscriptions");
    }
    Ok(())
}
