//! `arrowhead-bench`: drives a running Service Registry over keep-alive mutual TLS with N
//! concurrent connections and reports requests/s, p50 and p99 for `echo` (the framework
//! baseline), `query` on a registry holding many entries, and `register`, side by side in one
//! run; then repeats each at half its maximum rate to report the latency a loaded (not
//! saturated) system gives. The entries it creates are removed at the end. `--only token` and
//! `--only orchestration` measure the Authorization and Orchestrator systems the same way.

mod events;
mod report;

use common::tls::{Keystore, TlsContext};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str =
    "usage: arrowhead-bench [--url https://localhost:8443] [--certs DIR] [--password PW]
                       [--connections N] [--seconds S] [--entries N] [--providers-per-service N]
                       [--rounds N]
                       [--only echo|query|register|token|orchestration] [--keep]
                       [--auth-url https://localhost:8445] [--orch-url https://localhost:8441]
                       [--eh-url https://localhost:8455] [--ca-url https://localhost:8448]
                       [--cpu] [--report-dir target/bench-reports]

Every run writes its phases (throughput, latency percentiles, CPU per request of each cloud
process) as <report-dir>/<scenario>-<unix time>.json and a one-file HTML report beside it.
--cpu also prints the CPU split after each phase.

--only token measures token generation at the Authorization system against the machine's
RSA-2048 signing rate (`openssl speed`) instead of the registry scenarios.
--only orchestration[:dynamic|store|token] measures the Orchestrator: dynamic and store-based orchestration of a
service with 5 CERTIFICATE providers, and dynamic orchestration of one TOKEN provider (a token
per answer), next to /orchestrator/echo; it sets up the systems, rules and store entries it
needs and removes them afterwards (needs benchconsumer.p12: --system benchconsumer).
--only scale fills the registry with --entries entries and a tenth as many authorization
rules, then measures query and dynamic orchestration of the preloaded services and reports the
memory of the registry, Authorization and Orchestrator (run it with 10000 and 100000 entries).
--rounds N repeats the default run's maximum-rate echo and query phases N times in turn (echo,
query, echo, ...; register follows once) and prints each round's query ratio to echo and their
median: the machine's speed drifts over minutes, and alternating phases compare like with like.
--only sign measures certificate signing at the Certificate Authority (as the sysop, one CSR of
a new RSA-2048 key, a new certificate and database row per request) against the machine's
RSA-2048 signing rate, next to /certificate-authority/echo.
--only events measures the Event Handler: publish-to-delivery latency and deliveries/s with 1
and with 100 subscribers (served by the benchmark itself over mTLS), next to
/eventhandler/echo; it needs the cloud's keystore (<cloud>.p12) to issue the subscribers'
certificates in memory.

DIR holds the local cloud's keystores (sysop.p12, orchestrator.p12, benchprovider.p12) and
master.crt, as arrowhead-certgen writes them (create benchprovider with --system benchprovider).
Defaults: --certs certificates --password 123456 --connections 32 --seconds 10 --entries 10000
--providers-per-service 5 --rounds 1";

#[derive(Clone)]
struct Args {
    url: String,
    certs: PathBuf,
    password: String,
    connections: usize,
    seconds: u64,
    entries: usize,
    per_service: usize,
    only: Option<String>,
    keep: bool,
    auth_url: String,
    orch_url: String,
    eh_url: String,
    ca_url: String,
    /// Print the CPU time per request of each process after each phase.
    cpu: bool,
    /// Where the JSON and HTML reports go.
    report_dir: PathBuf,
    /// The default run's maximum-rate echo and query phases, repeated this many times in turn
    /// (echo, query, echo, ...): the machine's speed drifts over minutes, and a ratio taken from
    /// phases that alternate compares like with like.
    rounds: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: "https://localhost:8443".into(),
        certs: "certificates".into(),
        password: "123456".into(),
        connections: 32,
        seconds: 10,
        entries: 10_000,
        per_service: 5,
        only: None,
        keep: false,
        auth_url: "https://localhost:8445".into(),
        orch_url: "https://localhost:8441".into(),
        eh_url: "https://localhost:8455".into(),
        ca_url: "https://localhost:8448".into(),
        cpu: false,
        report_dir: "target/bench-reports".into(),
        rounds: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut v = || {
            it.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        let num = |s: String| s.parse::<u64>().map_err(|_| format!("{arg}: not a number"));
        match arg.as_str() {
            "--url" => a.url = v()?,
            "--certs" => a.certs = v()?.into(),
            "--password" => a.password = v()?,
            "--connections" => a.connections = num(v()?)?.max(1) as usize,
            "--seconds" => a.seconds = num(v()?)?.max(1),
            "--entries" => a.entries = num(v()?)? as usize,
            "--providers-per-service" => a.per_service = num(v()?)?.max(1) as usize,
            "--only" => a.only = Some(v()?),
            "--keep" => a.keep = true,
            "--auth-url" => a.auth_url = v()?,
            "--orch-url" => a.orch_url = v()?,
            "--eh-url" => a.eh_url = v()?,
            "--ca-url" => a.ca_url = v()?,
            "--cpu" => a.cpu = true,
            "--report-dir" => a.report_dir = v()?.into(),
            "--rounds" => a.rounds = num(v()?)?.max(1) as usize,
            _ => return Err(USAGE.into()),
        }
    }
    Ok(a)
}

/// Identities by keystore name, each decoded once: decoding a PKCS#12 keystore takes tens of
/// milliseconds, which for every connection of every phase made a run wait seconds between phases.
static IDENTITIES: std::sync::Mutex<Vec<(String, reqwest::Identity)>> =
    std::sync::Mutex::new(Vec::new());

fn identity(args: &Args, name: &str) -> Result<reqwest::Identity, String> {
    let mut held = IDENTITIES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, id)) = held.iter().find(|(n, _)| n == name) {
        return Ok(id.clone());
    }
    let ks = Keystore::from_pkcs12_file(&args.certs.join(format!("{name}.p12")), &args.password)
        .map_err(|e| e.to_string())?;
    let ctx = TlsContext::new(ks, vec![]).map_err(|e| e.to_string())?;
    let id = ctx.reqwest_identity().map_err(|e| e.to_string())?;
    held.push((name.to_owned(), id.clone()));
    Ok(id)
}

/// A keep-alive client with one connection, presenting `name`'s keystore.
fn client(args: &Args, name: &str) -> Result<reqwest::Client, String> {
    let root =
        std::fs::read(args.certs.join("master.crt")).map_err(|e| format!("master.crt: {e}"))?;
    reqwest::Client::builder()
        .tls_backend_native()
        .identity(identity(args, name)?)
        .tls_certs_only([reqwest::Certificate::from_pem(&root).map_err(|e| e.to_string())?])
        .pool_max_idle_per_host(1)
        .build()
        .map_err(|e| e.to_string())
}

#[derive(Clone, Copy)]
enum Scenario {
    Echo,
    Query,
    Register,
    /// `POST /authorization/token` for one TOKEN provider and interface.
    Token,
    /// `GET /orchestrator/echo`: the Orchestrator's baseline.
    OrchEcho,
    /// Dynamic orchestration of a service with 5 authorized CERTIFICATE providers.
    Dynamic,
    /// Store-based orchestration of the same service (priority walk, one answer).
    Store,
    /// Dynamic orchestration of a service with one TOKEN provider: a token per answer.
    OrchToken,
    /// Dynamic orchestration of one of the preloaded services that have rules (`--only scale`).
    ScaleOrch,
    /// `GET /eventhandler/echo`: the Event Handler's baseline.
    EhEcho,
    /// `POST /eventhandler/publish` of an event whose payload is its send time.
    Publish,
    /// `GET /certificate-authority/echo`: the Certificate Authority's baseline.
    CaEcho,
    /// `POST /certificate-authority/sign` of one CSR (a new certificate each time).
    Sign,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Echo => "echo",
            Scenario::Query => "query",
            Scenario::Register => "register",
            Scenario::Token => "token",
            Scenario::OrchEcho => "orchestrator echo",
            Scenario::Dynamic => "orchestration dynamic",
            Scenario::Store => "orchestration store",
            Scenario::OrchToken => "orchestration + token",
            Scenario::ScaleOrch => "orchestration of a preloaded service",
            Scenario::EhEcho => "eventhandler echo",
            Scenario::Publish => "publish",
            Scenario::CaEcho => "certificate-authority echo",
            Scenario::Sign => "sign",
        }
    }
    fn cert(self) -> &'static str {
        match self {
            Scenario::Echo => "sysop",
            Scenario::Query => "orchestrator",
            Scenario::Register => "benchprovider",
            Scenario::Token => "orchestrator",
            Scenario::OrchEcho => "sysop",
            Scenario::Dynamic | Scenario::Store | Scenario::OrchToken | Scenario::ScaleOrch => {
                "benchconsumer"
            }
            Scenario::EhEcho => "sysop",
            Scenario::Publish => "benchprovider",
            Scenario::CaEcho | Scenario::Sign => "sysop",
        }
    }
}

struct Stats {
    /// CPU ms per request of each process (see `report::cpu_ticks`).
    cpu: std::collections::BTreeMap<String, f64>,
    requests: usize,
    errors: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

impl Stats {
    /// The phases of several rounds as one: their mean rate and CPU, summed counts, and the
    /// median of their percentiles (the phases' samples are not kept).
    fn combined<'a>(phases: impl Iterator<Item = &'a Stats>) -> Stats {
        let phases: Vec<&Stats> = phases.collect();
        let n = phases.len().max(1) as f64;
        let median = |f: fn(&Stats) -> f64| {
            let mut v: Vec<f64> = phases.iter().map(|p| f(p)).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied().unwrap_or(0.0)
        };
        let mut cpu = std::collections::BTreeMap::new();
        for p in &phases {
            for (name, ms) in &p.cpu {
                *cpu.entry(name.clone()).or_insert(0.0) += ms / n;
            }
        }
        Stats {
            cpu,
            requests: phases.iter().map(|p| p.requests).sum(),
            errors: phases.iter().map(|p| p.errors).sum(),
            rps: phases.iter().map(|p| p.rps).sum::<f64>() / n,
            p50_ms: median(|p| p.p50_ms),
            p99_ms: median(|p| p.p99_ms),
        }
    }
}

/// One request of the scenario; `n` makes registrations unique.
/// The token request body (the provider's real public key), set before a token run.
static TOKEN_BODY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
/// The signing request body (one CSR of a fresh key), set before a sign run.
static SIGN_BODY: std::sync::OnceLock<Value> = std::sync::OnceLock::new();

async fn request(c: &reqwest::Client, base: &str, s: Scenario, n: u64, services: u64) -> bool {
    let orchestrate = |service: &str, dynamic: bool| {
        c.post(format!("{base}/orchestrator/orchestration")).json(&json!({
            "requesterSystem": {"systemName": "benchconsumer", "address": "127.0.0.1", "port": 1},
            "requestedService": {"serviceDefinitionRequirement": service, "interfaceRequirements": ["HTTP-SECURE-JSON"]},
            "orchestrationFlags": {"overrideStore": dynamic}
        }))
    };
    let resp = match s {
        Scenario::EhEcho => c.get(format!("{base}/eventhandler/echo")).send().await,
        Scenario::CaEcho => c.get(format!("{base}/certificate-authority/echo")).send().await,
        Scenario::Sign => c
            .post(format!("{base}/certificate-authority/sign"))
            .json(SIGN_BODY.get().unwrap_or(&Value::Null))
            .send()
            .await,
        Scenario::Publish => c
            .post(format!("{base}/eventhandler/publish"))
            .json(&events::publish_body())
            .send()
            .await,
        Scenario::OrchEcho => c.get(format!("{base}/orchestrator/echo")).send().await,
        Scenario::Dynamic => orchestrate("bench-orch", true).send().await,
        Scenario::Store => orchestrate("bench-orch", false).send().await,
        Scenario::OrchToken => orchestrate("bench-orch-token", true).send().await,
        Scenario::ScaleOrch => {
            let def = format!("bench-service-{}", n.wrapping_mul(2_654_435_761) % services.max(1));
            orchestrate(&def, true).send().await
        }
        Scenario::Token => c.post(format!("{base}/authorization/token")).json(TOKEN_BODY.get().unwrap_or(&Value::Null)).send().await,
        Scenario::Echo => c.get(format!("{base}/serviceregistry/echo")).send().await,
        // The body written directly, as a lean client would: building and serializing a JSON
        // tree per request made the load generator, which shares the machine with the server,
        // spend a fifth more per query than per echo.
        Scenario::Query => {
            let i = n.wrapping_mul(2_654_435_761) % services.max(1);
            c.post(format!("{base}/serviceregistry/query"))
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(format!(r#"{{"serviceDefinitionRequirement":"bench-service-{i}","interfaceRequirements":["HTTP-SECURE-JSON"]}}"#))
                .send()
                .await
        }
        Scenario::Register => c
            .post(format!("{base}/serviceregistry/register"))
            .json(&json!({
                "serviceDefinition": "bench-register",
                "providerSystem": {"systemName": "benchprovider", "address": "127.0.0.1", "port": 1, "authenticationInfo": "YmVuY2g="},
                "serviceUri": format!("/bench/{n}"),
                "secure": "CERTIFICATE",
                "interfaces": ["HTTP-SECURE-JSON"]
            }))
            .send()
            .await,
    };
    match resp {
        Ok(r) => {
            let ok = r.status().is_success();
            let _ = r.bytes().await;
            ok
        }
        Err(_) => false,
    }
}

/// Runs the scenario on every connection for `duration`; with `rate`, each connection paces
/// itself so the total is `rate` requests/s.
async fn run(
    args: &Args,
    s: Scenario,
    duration: Duration,
    rate: Option<f64>,
    services: u64,
    offset: u64,
) -> Result<Stats, String> {
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(offset));
    // Every connection is built and its TLS handshake done before the clock starts.
    let clients: Vec<reqwest::Client> = (0..args.connections)
        .map(|_| client(args, s.cert()))
        .collect::<Result<_, _>>()?;
    let ready = Arc::new(tokio::sync::Barrier::new(args.connections + 1));
    let start_at = Arc::new(std::sync::OnceLock::<Instant>::new());
    let mut tasks = Vec::new();
    let connections = clients.len();
    for (index, c) in clients.into_iter().enumerate() {
        let base = match s {
            Scenario::Token => args.auth_url.clone(),
            Scenario::OrchEcho
            | Scenario::Dynamic
            | Scenario::Store
            | Scenario::OrchToken
            | Scenario::ScaleOrch => args.orch_url.clone(),
            Scenario::EhEcho | Scenario::Publish => args.eh_url.clone(),
            Scenario::CaEcho | Scenario::Sign => args.ca_url.clone(),
            _ => args.url.clone(),
        };
        let (counter, ready, start_at) = (counter.clone(), ready.clone(), start_at.clone());
        let period = rate.map(|r| Duration::from_secs_f64(args.connections as f64 / r));
        tasks.push(tokio::spawn(async move {
            // Warm the connection (handshake) with a request of the scenario's own system.
            let warm = match s {
                Scenario::OrchEcho
                | Scenario::Dynamic
                | Scenario::Store
                | Scenario::OrchToken
                | Scenario::ScaleOrch => Scenario::OrchEcho,
                Scenario::EhEcho | Scenario::Publish => Scenario::EhEcho,
                Scenario::CaEcho | Scenario::Sign => Scenario::CaEcho,
                _ => Scenario::Echo,
            };
            request(&c, &base, warm, 0, 1).await;
            ready.wait().await;
            let start = *start_at.get_or_init(Instant::now);
            let deadline = start + duration;
            let mut lat: Vec<(u64, u32)> = Vec::new();
            let mut errors = 0usize;
            // Connections spread evenly over the period: paced load arrives as a steady stream,
            // not as bursts of every connection at once.
            let mut tick = period.map(|p| {
                let first = start + p.mul_f64(index as f64 / connections as f64);
                let mut t = tokio::time::interval_at(tokio::time::Instant::from_std(first), p);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                t
            });
            while Instant::now() < deadline {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let t0 = Instant::now();
                if request(&c, &base, s, n, services).await {
                    lat.push((
                        start.elapsed().as_micros() as u64,
                        t0.elapsed().as_micros() as u32,
                    ));
                } else {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    ready.wait().await;
    let cpu_before = report::cpu_ticks();
    let start = *start_at.get_or_init(Instant::now);
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.map_err(|e| e.to_string())?;
        all.extend(lat);
        errors += e;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu_after = report::cpu_ticks();
    let label = match rate {
        Some(r) => format!("{} @ {:.0}/s", s.name(), r),
        None => s.name().to_owned(),
    };
    let mut phase = report::phase(
        label,
        s.name(),
        rate,
        args.connections,
        elapsed,
        all,
        errors,
    );
    phase.cpu_ms_per_request = report::cpu_per_request(&cpu_before, &cpu_after, phase.requests);
    let stats = Stats {
        cpu: phase.cpu_ms_per_request.clone(),
        requests: phase.requests,
        errors,
        rps: phase.rps,
        p50_ms: phase.p50_ms,
        p99_ms: phase.p99_ms,
    };
    if args.cpu {
        let total: f64 = phase.cpu_ms_per_request.values().sum();
        let parts: Vec<String> = phase
            .cpu_ms_per_request
            .iter()
            .filter(|(_, v)| **v >= 0.01)
            .map(|(n, v)| format!("{n}={v:.3}"))
            .collect();
        println!(
            "  cpu ms/request {:<24} {total:.3} ({})",
            phase.label,
            parts.join(" ")
        );
    }
    report::add_phase(phase);
    Ok(stats)
}

async fn call(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut r = c.request(method, &url);
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{url}: {status} {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Fills the registry with `entries` entries: `entries / per_service` definitions with
/// `per_service` providers each, registered concurrently through the management API.
async fn preload(args: &Args) -> Result<u64, String> {
    Ok(preload_ids(args).await?.services)
}

/// What [`preload_ids`] registered: the number of services, and the ids of the first
/// provider entries' parts (for authorization rules).
struct Preloaded {
    services: u64,
    /// service index → definition id (of the services seen with provider 0).
    definitions: std::collections::BTreeMap<usize, i64>,
    /// provider index → system id.
    providers: std::collections::BTreeMap<usize, i64>,
    interface: i64,
}

async fn preload_ids(args: &Args) -> Result<Preloaded, String> {
    let services = (args.entries / args.per_service).max(1) as u64;
    let sysops: Vec<reqwest::Client> = (0..8)
        .map(|_| client(args, "sysop"))
        .collect::<Result<_, _>>()?;
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for c in sysops {
        let next = next.clone();
        let base = args.url.clone();
        let (total, per) = (args.entries, args.per_service);
        tasks.push(tokio::spawn(async move {
            let mut seen: Vec<(usize, usize, Value)> = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return Ok::<_, String>(seen);
                }
                let body = json!({
                    "serviceDefinition": format!("bench-service-{}", i / per),
                    "providerSystem": {"systemName": format!("bench-provider-{}", i % per), "address": "127.0.0.1", "port": 20000 + (i % per),
                                       "authenticationInfo": "YmVuY2g="},
                    "serviceUri": "/bench",
                    "secure": "CERTIFICATE",
                    "metadata": {"index": i.to_string()},
                    "interfaces": ["HTTP-SECURE-JSON", "HTTP-SECURE-XML"]
                });
                let entry = call(&c, reqwest::Method::POST, format!("{base}/serviceregistry/mgmt"), Some(body)).await?;
                if i.is_multiple_of(per) || i < per {
                    seen.push((i / per, i % per, entry));
                }
            }
        }));
    }
    let mut out = Preloaded {
        services,
        definitions: Default::default(),
        providers: Default::default(),
        interface: 0,
    };
    for t in tasks {
        for (service, provider, entry) in t.await.map_err(|e| e.to_string())?? {
            out.definitions.insert(
                service,
                entry["serviceDefinition"]["id"].as_i64().unwrap_or(0),
            );
            out.providers
                .insert(provider, entry["provider"]["id"].as_i64().unwrap_or(0));
            if let Some(i) = entry["interfaces"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| i["interfaceName"] == "HTTP-SECURE-JSON")
            {
                out.interface = i["id"].as_i64().unwrap_or(0);
            }
        }
    }
    Ok(out)
}

/// RSS of each program of the cloud (MiB), as `report::cpu_ticks` finds them.
fn rss_mib(program: &str) -> Option<f64> {
    let dir = std::fs::read_dir("/proc").ok()?;
    let mut total = None;
    for e in dir.flatten() {
        // Processes come and go while the directory is read: skip what cannot be read.
        let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
        if comm.trim() != program {
            continue;
        }
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        let kb: Option<f64> = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok());
        if let Some(kb) = kb {
            *total.get_or_insert(0.0) += kb / 1024.0;
        }
    }
    total
}

/// `--only scale`: the registry filled with `--entries` entries and a tenth as many
/// authorization rules, then query and dynamic orchestration of the preloaded services (at the
/// maximum and at half that rate), with the memory of the registry and the Orchestrator.
async fn bench_scale(args: &Args) -> Result<(), String> {
    cleanup(args).await?;
    let d = Duration::from_secs(args.seconds);
    let rss = |label: &str| {
        for p in ["serviceregistry", "orchestrator", "authorization"] {
            if let Some(m) = rss_mib(p) {
                println!("  RSS {p} {label}: {m:.1} MiB");
                report::add_figure(&format!("RSS {p} {label}"), m, "MiB");
            }
        }
    };
    rss("before");
    let t = Instant::now();
    let pre = preload_ids(args).await?;
    println!(
        "preloaded {} entries ({} services x {} providers) in {:.1} s",
        args.entries,
        pre.services,
        args.per_service,
        t.elapsed().as_secs_f64()
    );
    // Rules: benchconsumer may use every provider of the first tenth of the services.
    let sysop = client(args, "sysop")?;
    let consumer = call(
        &sysop,
        reqwest::Method::POST,
        format!("{}/serviceregistry/mgmt/systems", args.url),
        Some(json!({"systemName": "benchconsumer", "address": "127.0.0.1", "port": 1})),
    )
    .await?;
    let ruled = (pre.services as usize / 10).max(1);
    let providers: Vec<i64> = pre.providers.values().copied().collect();
    let definitions: Vec<i64> = (0..ruled)
        .filter_map(|k| pre.definitions.get(&k).copied())
        .collect();
    let t = Instant::now();
    // One provider with many services per call (the combination Java accepts).
    for provider in &providers {
        for chunk in definitions.chunks(500) {
            call(
                &sysop,
                reqwest::Method::POST,
                format!("{}/authorization/mgmt/intracloud", args.auth_url),
                Some(
                    json!({"consumerId": consumer["id"], "providerIds": [provider],
                            "serviceDefinitionIds": chunk, "interfaceIds": [pre.interface]}),
                ),
            )
            .await?;
        }
    }
    println!(
        "added {} authorization rules in {:.1} s",
        definitions.len() * providers.len(),
        t.elapsed().as_secs_f64()
    );
    // What the preload alone leaves, so that what queries add (the caches) can be told apart.
    rss("preloaded");
    report::add_figure("registry entries", args.entries as f64, "entries");
    report::add_figure(
        "authorization rules",
        (definitions.len() * providers.len()) as f64,
        "rules",
    );
    let mut max = Vec::new();
    for (s, services) in [
        (Scenario::Echo, 1),
        (Scenario::Query, pre.services),
        (Scenario::ScaleOrch, ruled as u64),
    ] {
        max.push((s, services, run(args, s, d, None, services, 0).await?));
    }
    let echo = max[0].2.rps;
    println!("\nmaximum rate:");
    for (s, _, stats) in &max {
        print(s.name(), stats, echo);
    }
    println!("\nat half the maximum rate:");
    for (s, services, stats) in &max {
        let half = run(args, *s, d, Some(stats.rps / 2.0), *services, 1_000_000_000).await?;
        print(
            &format!("{} @ {:.0}/s", s.name(), stats.rps / 2.0),
            &half,
            echo,
        );
    }
    rss("loaded");
    if !args.keep {
        let removed = cleanup(args).await?;
        println!("\nremoved {removed} benchmark systems and their entries");
    }
    Ok(())
}

/// Removes every system the benchmark created (their entries go with them).
async fn cleanup(args: &Args) -> Result<usize, String> {
    let c = client(args, "sysop")?;
    let systems = call(
        &c,
        reqwest::Method::GET,
        format!("{}/serviceregistry/mgmt/systems", args.url),
        None,
    )
    .await?;
    let mut removed = 0;
    for s in systems["data"].as_array().into_iter().flatten() {
        let name = s["systemName"].as_str().unwrap_or_default();
        if name.starts_with("bench-provider-")
            || name.starts_with("bench-orch-")
            || name.starts_with("bench-sub-")
            || name == "benchprovider"
            || name == "benchconsumer"
        {
            call(
                &c,
                reqwest::Method::DELETE,
                format!("{}/serviceregistry/mgmt/systems/{}", args.url, s["id"]),
                None,
            )
            .await?;
            removed += 1;
        }
    }
    for d in ["bench-register"] {
        let defs = call(
            &c,
            reqwest::Method::GET,
            format!("{}/serviceregistry/mgmt/services", args.url),
            None,
        )
        .await?;
        for s in defs["data"].as_array().into_iter().flatten() {
            let v = s["serviceDefinition"].as_str().unwrap_or_default();
            if v == d
                || v.starts_with("bench-service-")
                || v.starts_with("bench-orch")
                || v == "bench-events"
            {
                call(
                    &c,
                    reqwest::Method::DELETE,
                    format!("{}/serviceregistry/mgmt/services/{}", args.url, s["id"]),
                    None,
                )
                .await?;
            }
        }
    }
    Ok(removed)
}

fn print(label: &str, s: &Stats, base: f64) {
    println!(
        "{label:<26} {:>9.0} req/s  ({:>5.1}% of echo)  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} ok, {} errors)",
        s.rps,
        100.0 * s.rps / base.max(1.0),
        s.p50_ms,
        s.p99_ms,
        s.requests,
        s.errors
    );
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::tls::ensure_legacy_providers();
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::from(2);
        }
    };
    match bench(&args).await {
        Ok(()) => {
            let stem = format!(
                "{}-{}",
                args.only
                    .as_deref()
                    .unwrap_or("registry")
                    .replace([':', '/'], "-"),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0)
            );
            match report::write(&args.report_dir, &stem) {
                Ok(Some(path)) => println!("\nreport: {} (and .json)", path.display()),
                Ok(None) => {}
                Err(e) => eprintln!("arrowhead-bench: cannot write the report: {e}"),
            }
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("arrowhead-bench: {e}");
            let _ = cleanup(&args).await;
            std::process::ExitCode::FAILURE
        }
    }
}

/// RSA-2048 signatures per second on all cores, from `openssl speed`.
fn rsa_sign_rate(seconds: u64) -> Result<f64, String> {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .to_string();
    let out = std::process::Command::new("openssl")
        .args([
            "speed",
            "-seconds",
            &seconds.to_string(),
            "-multi",
            &cores,
            "rsa2048",
        ])
        .output()
        .map_err(|e| format!("openssl speed: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .filter(|l| {
            l.trim_start().starts_with("rsa 2048 bits")
                || l.trim_start().starts_with("rsa  2048 bits")
        })
        .find_map(|l| {
            l.split_whitespace()
                .nth(5)
                .and_then(|v| v.parse::<f64>().ok())
        })
        .ok_or_else(|| format!("cannot read the sign rate from openssl speed:\n{text}"))
}

/// Tokens issued in-process on every core for `d` (the library's ceiling, without HTTP or TLS).
fn tokens_in_process(key: &Keystore, d: Duration) -> Result<f64, String> {
    let recipient = common::token::recipient(&key.public_key_base64().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let recipient = Arc::new(recipient);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let start = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let issuer = common::token::Issuer::new(&key.key).map_err(|e| e.to_string());
            let recipient = recipient.clone();
            std::thread::spawn(move || -> Result<u64, String> {
                let issuer = issuer?;
                let grant = common::token::Grant {
                    consumer: "benchconsumer.localcloud.operator".into(),
                    service: "bench-service".into(),
                    interface: "HTTP-SECURE-JSON".into(),
                };
                let mut n = 0;
                while start.elapsed() < d {
                    issuer
                        .issue(
                            &recipient,
                            &grant,
                            Some(Duration::from_secs(3600)),
                            std::time::SystemTime::now(),
                        )
                        .map_err(|e| e.to_string())?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    let mut total = 0;
    for t in threads {
        total += t
            .join()
            .map_err(|_| "token thread panicked".to_string())??;
    }
    Ok(total as f64 / start.elapsed().as_secs_f64())
}

/// Certificate signing next to the CA's echo and the raw RSA signing rate (each certificate is
/// one RSA-2048 signature plus a database insert).
async fn bench_sign(args: &Args) -> Result<(), String> {
    let sysop = Keystore::from_pkcs12_file(&args.certs.join("sysop.p12"), &args.password)
        .map_err(|e| e.to_string())?;
    let cloud = common::identity::SystemIdentity::from_cn(&sysop.common_name().unwrap_or_default())
        .ok_or("sysop.p12 does not hold a system certificate")?
        .cloud_cn();
    let key = openssl::pkey::PKey::from_rsa(
        openssl::rsa::Rsa::generate(2048).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let mut req = openssl::x509::X509Req::builder().map_err(|e| e.to_string())?;
    let mut name = openssl::x509::X509NameBuilder::new().map_err(|e| e.to_string())?;
    name.append_entry_by_text("CN", &format!("benchdevice.{cloud}"))
        .map_err(|e| e.to_string())?;
    req.set_subject_name(&name.build())
        .map_err(|e| e.to_string())?;
    req.set_pubkey(&key).map_err(|e| e.to_string())?;
    req.sign(&key, openssl::hash::MessageDigest::sha256())
        .map_err(|e| e.to_string())?;
    let der = req.build().to_der().map_err(|e| e.to_string())?;
    let _ = SIGN_BODY.set(json!({ "encodedCSR": openssl::base64::encode_block(&der) }));
    let d = Duration::from_secs(args.seconds);
    println!(
        "{} connections, {} s per phase, target {}",
        args.connections, args.seconds, args.ca_url
    );
    let echo = run(args, Scenario::CaEcho, d, None, 1, 0).await?;
    let max = run(args, Scenario::Sign, d, None, 1, 0).await?;
    let rsa = rsa_sign_rate(args.seconds.min(5))?;
    report::add_figure("openssl speed rsa2048, all cores", rsa, "signs/s");
    println!("\nmaximum rate:");
    print(Scenario::CaEcho.name(), &echo, echo.rps);
    println!(
        "sign                      {:>9.0} req/s  ({:>5.1}% of {:.0} RSA-2048 signs/s)  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} ok, {} errors)",
        max.rps,
        100.0 * max.rps / rsa.max(1.0),
        rsa,
        max.p50_ms,
        max.p99_ms,
        max.requests,
        max.errors
    );
    let half = run(args, Scenario::Sign, d, Some(max.rps / 2.0), 1, 0).await?;
    print(&format!("sign @ {:.0}/s", max.rps / 2.0), &half, echo.rps);
    Ok(())
}

/// Token generation next to the raw RSA signing rate (each token is one RSA-2048 signature
/// plus cheap public-key encryption, so the signing rate is its ceiling).
async fn bench_tokens(args: &Args) -> Result<(), String> {
    let key = Keystore::from_pkcs12_file(&args.certs.join("benchprovider.p12"), &args.password)
        .map_err(|e| e.to_string())?;
    let body = json!({
        "consumer": {"systemName": "benchconsumer", "address": "127.0.0.1", "port": 1},
        "service": "bench-service",
        "providers": [{"provider": {"systemName": "benchprovider", "address": "127.0.0.1", "port": 1,
                                     "authenticationInfo": key.public_key_base64().map_err(|e| e.to_string())?},
                       "serviceInterfaces": ["HTTP-SECURE-JSON"], "tokenDuration": 3600}]
    });
    let _ = TOKEN_BODY.set(body);
    let d = Duration::from_secs(args.seconds);
    println!(
        "{} connections, {} s per phase, target {}",
        args.connections, args.seconds, args.auth_url
    );
    let max = run(args, Scenario::Token, d, None, 1, 0).await?;
    let rsa = rsa_sign_rate(args.seconds.min(5))?;
    report::add_figure("openssl speed rsa2048, all cores", rsa, "signs/s");
    let local = tokens_in_process(&key, Duration::from_secs(args.seconds.min(5)))?;
    report::add_figure("tokens issued in-process, all cores", local, "tokens/s");
    println!("\nmaximum rate:");
    println!(
        "token                     {:>9.0} req/s  ({:>5.1}% of {:.0} RSA-2048 signs/s)  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} ok, {} errors)",
        max.rps,
        100.0 * max.rps / rsa.max(1.0),
        rsa,
        max.p50_ms,
        max.p99_ms,
        max.requests,
        max.errors
    );
    // The cores the Authorization system used, from its CPU time per token: what signing alone
    // would have reached on them, and how much of its time went into the signatures.
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let sign_ms = 1000.0 * cores / rsa.max(1.0);
    if let Some(server) = max.cpu.get("authorization").filter(|v| **v > 0.0) {
        println!(
            "  Authorization CPU per token {server:.3} ms, of which one RSA-2048 signature {sign_ms:.3} ms: {:.1}% of its signing rate on the {:.2} cores it used",
            100.0 * sign_ms / server,
            server * max.rps / 1000.0
        );
        report::add_figure("Authorization CPU per token", *server, "ms");
        report::add_figure(
            "token rate / signing rate on the server's cores",
            100.0 * sign_ms / server,
            "%",
        );
    }
    println!(
        "  in-process token issuing: {local:.0} tokens/s on {cores} cores ({:.1}% of the signing rate)",
        100.0 * local / rsa.max(1.0)
    );
    let half = run(args, Scenario::Token, d, Some(max.rps / 2.0), 1, 0).await?;
    println!(
        "token @ {:.0}/s           {:>9.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} ok, {} errors)",
        max.rps / 2.0,
        half.rps,
        half.p50_ms,
        half.p99_ms,
        half.requests,
        half.errors
    );
    Ok(())
}

/// Registers the orchestration scenario's providers and consumer, authorizes them and adds the
/// store entries.
async fn setup_orchestration(args: &Args) -> Result<(), String> {
    cleanup(args).await?; // leftovers of an interrupted or --keep run
    let sysop = client(args, "sysop")?;
    let key = Keystore::from_pkcs12_file(&args.certs.join("benchprovider.p12"), &args.password)
        .map_err(|e| e.to_string())?
        .public_key_base64()
        .map_err(|e| e.to_string())?;
    let register = |def: &str, name: String, port: usize, secure: &str| {
        json!({"serviceDefinition": def,
               "providerSystem": {"systemName": name, "address": "127.0.0.1", "port": port, "authenticationInfo": key},
               "serviceUri": "/bench", "secure": secure, "interfaces": ["HTTP-SECURE-JSON"]})
    };
    let mut entries = Vec::new();
    for i in 0..5 {
        entries.push(register(
            "bench-orch",
            format!("bench-orch-{i}"),
            21000 + i,
            "CERTIFICATE",
        ));
    }
    entries.push(register(
        "bench-orch-token",
        "benchprovider".into(),
        1,
        "TOKEN",
    ));
    let mut registered = Vec::new();
    for e in entries {
        registered.push(
            call(
                &sysop,
                reqwest::Method::POST,
                format!("{}/serviceregistry/mgmt", args.url),
                Some(e),
            )
            .await?,
        );
    }
    let consumer = call(
        &sysop,
        reqwest::Method::POST,
        format!("{}/serviceregistry/mgmt/systems", args.url),
        Some(json!({"systemName": "benchconsumer", "address": "127.0.0.1", "port": 1})),
    )
    .await?;
    for (i, r) in registered.iter().enumerate() {
        call(
            &sysop,
            reqwest::Method::POST,
            format!("{}/authorization/mgmt/intracloud", args.auth_url),
            Some(json!({"consumerId": consumer["id"], "providerIds": [r["provider"]["id"]],
                        "serviceDefinitionIds": [r["serviceDefinition"]["id"]], "interfaceIds": [r["interfaces"][0]["id"]]})),
        )
        .await?;
        if i < 5 {
            call(
                &sysop,
                reqwest::Method::POST,
                format!("{}/orchestrator/mgmt/store", args.orch_url),
                Some(json!([{"serviceDefinitionName": "bench-orch", "consumerSystemId": consumer["id"],
                    "providerSystem": {"systemName": r["provider"]["systemName"], "address": "127.0.0.1", "port": r["provider"]["port"]},
                    "serviceInterfaceName": "HTTP-SECURE-JSON", "priority": i + 1}])),
            )
            .await?;
        }
    }
    Ok(())
}

/// Orchestration with a TOKEN provider against what RSA signing alone reaches on the cores the
/// cloud's processes used for it (every process but this load generator): each answer carries
/// one signed token, so the signing rate is its ceiling.
fn token_orchestration_vs_signing(args: &Args, stats: &Stats) -> Result<(), String> {
    let rsa = rsa_sign_rate(args.seconds.min(5))?;
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1) as f64;
    let sign_ms = 1000.0 * cores / rsa.max(1.0);
    let server: f64 = stats
        .cpu
        .iter()
        .filter(|(name, _)| name.as_str() != "arrowhead-bench")
        .map(|(_, ms)| *ms)
        .sum();
    if server > 0.0 {
        println!(
            "  server CPU per orchestration + token {server:.3} ms, of which one RSA-2048 signature {sign_ms:.3} ms ({rsa:.0} signs/s on {cores} cores): {:.1}% of the signing rate on the {:.2} cores the servers used",
            100.0 * sign_ms / server,
            server * stats.rps / 1000.0
        );
        report::add_figure("openssl speed rsa2048, all cores", rsa, "signs/s");
        report::add_figure(
            "orchestration + token / signing rate on the servers' cores",
            100.0 * sign_ms / server,
            "%",
        );
    }
    Ok(())
}

/// Orchestration next to the Orchestrator's echo, at the maximum and at half that rate.
async fn bench_orchestration(args: &Args) -> Result<(), String> {
    let d = Duration::from_secs(args.seconds);
    println!(
        "{} connections, {} s per phase, target {}",
        args.connections, args.seconds, args.orch_url
    );
    setup_orchestration(args).await?;
    let mut max = Vec::new();
    // `--only orchestration:<word>` keeps the scenarios whose name contains the word.
    let filter = args
        .only
        .as_deref()
        .and_then(|o| o.strip_prefix("orchestration:"));
    for s in [
        Scenario::OrchEcho,
        Scenario::Dynamic,
        Scenario::Store,
        Scenario::OrchToken,
    ] {
        if !matches!(s, Scenario::OrchEcho) && filter.is_some_and(|f| !s.name().contains(f)) {
            continue;
        }
        max.push((s, run(args, s, d, None, 1, 0).await?));
    }
    let echo = max[0].1.rps;
    println!("\nmaximum rate:");
    for (s, stats) in &max {
        print(s.name(), stats, echo);
    }
    if let Some((_, stats)) = max.iter().find(|(s, _)| matches!(s, Scenario::OrchToken)) {
        token_orchestration_vs_signing(args, stats)?;
    }
    println!("\nat half the maximum rate:");
    for (s, stats) in max.iter().filter(|(_, st)| st.rps > 0.0) {
        let half = run(args, *s, d, Some(stats.rps / 2.0), 1, 0).await?;
        print(
            &format!("{} @ {:.0}/s", s.name(), stats.rps / 2.0),
            &half,
            echo,
        );
    }
    if !args.keep {
        let removed = cleanup(args).await?;
        println!("\nremoved {removed} benchmark systems and their entries");
    }
    Ok(())
}

/// Asks for every preloaded service once, untimed, so that the measured query phases show
/// the registry's steady state (its cache holding what is asked) rather than its first reads
/// after the preload's writes; `--only scale` measures those first reads.
async fn warm_queries(args: &Args, services: u64) -> Result<(), String> {
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (c, base, next) = (
            client(args, Scenario::Query.cert())?,
            args.url.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut failed = 0u64;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= services {
                    return failed;
                }
                if !request(&c, &base, Scenario::Query, n, services).await {
                    failed += 1;
                }
            }
        }));
    }
    let mut failed = 0;
    for t in tasks {
        failed += t.await.map_err(|e| e.to_string())?;
    }
    if failed > 0 {
        return Err(format!("{failed} warm-up queries failed"));
    }
    Ok(())
}

async fn bench(args: &Args) -> Result<(), String> {
    if args.only.as_deref() == Some("token") {
        return bench_tokens(args).await;
    }
    if args.only.as_deref() == Some("events") {
        return events::bench_events(args).await;
    }
    if args.only.as_deref() == Some("sign") {
        return bench_sign(args).await;
    }
    if args.only.as_deref() == Some("scale") {
        return bench_scale(args).await;
    }
    if args
        .only
        .as_deref()
        .is_some_and(|o| o.starts_with("orchestration"))
    {
        return bench_orchestration(args).await;
    }
    let d = Duration::from_secs(args.seconds);
    println!(
        "{} connections, {} s per phase, target {}",
        args.connections, args.seconds, args.url
    );
    let t = Instant::now();
    let services = preload(args).await?;
    println!(
        "preloaded {} entries ({} services x {} providers) in {:.1} s",
        args.entries,
        services,
        args.per_service,
        t.elapsed().as_secs_f64()
    );
    let selected = |s: Scenario| {
        args.only
            .as_deref()
            .is_none_or(|o| o == s.name() || s.name() == "echo")
    };
    if selected(Scenario::Query) {
        let t = Instant::now();
        warm_queries(args, services).await?;
        println!(
            "asked for each of the {services} services once (warm-up) in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
    // The rounds alternate echo and query only: a registration changes the registry's
    // generation, so a query phase after a register phase would measure the first reads after
    // a write (which `--only scale` measures) instead of the steady state.
    let scenarios: Vec<Scenario> = [Scenario::Echo, Scenario::Query]
        .into_iter()
        .filter(|&s| selected(s))
        .collect();
    let mut rounds: Vec<Vec<Stats>> = Vec::new();
    for round in 0..args.rounds {
        let mut this = Vec::new();
        for &s in &scenarios {
            this.push(run(args, s, d, None, services, 0).await?);
            if args.rounds > 1 {
                report::label_last(&format!(" (round {}/{})", round + 1, args.rounds));
            }
        }
        rounds.push(this);
    }
    if args.rounds > 1 {
        println!("\nratio to echo in each round:");
        for (i, &s) in scenarios.iter().enumerate().skip(1) {
            let mut ratios: Vec<f64> = rounds
                .iter()
                .map(|r| 100.0 * r[i].rps / r[0].rps.max(1.0))
                .collect();
            let each: Vec<String> = ratios.iter().map(|r| format!("{r:.1}%")).collect();
            ratios.sort_by(f64::total_cmp);
            let median = ratios[ratios.len() / 2];
            println!("{:<26} {}  (median {median:.1}%)", s.name(), each.join(" "));
            report::add_figure(
                &format!("{} / echo, median of rounds", s.name()),
                median,
                "%",
            );
        }
    }
    let mut max: Vec<(Scenario, Stats)> = scenarios
        .iter()
        .enumerate()
        .map(|(i, &s)| (s, Stats::combined(rounds.iter().map(|r| &r[i]))))
        .collect();
    if selected(Scenario::Register) {
        let stats = run(args, Scenario::Register, d, None, services, 0).await?;
        max.push((Scenario::Register, stats));
        // The registrations emptied the query cache: warm it again for the half-rate phase.
        if selected(Scenario::Query) {
            warm_queries(args, services).await?;
        }
    }
    let echo = max[0].1.rps;
    println!(
        "\nmaximum rate{}:",
        if args.rounds > 1 {
            " (mean of the rounds' rates, median of their percentiles)"
        } else {
            ""
        }
    );
    for (s, stats) in &max {
        print(s.name(), stats, echo);
    }
    if let Some((_, stats)) = max.iter().find(|(s, _)| matches!(s, Scenario::OrchToken)) {
        token_orchestration_vs_signing(args, stats)?;
    }
    println!("\nat half the maximum rate:");
    for (s, stats) in &max {
        let half = run(args, *s, d, Some(stats.rps / 2.0), services, 1_000_000_000).await?;
        print(
            &format!("{} @ {:.0}/s", s.name(), stats.rps / 2.0),
            &half,
            echo,
        );
    }
    if !args.keep {
        let removed = cleanup(args).await?;
        println!("\nremoved {removed} benchmark systems and their entries");
    }
    Ok(())
}
