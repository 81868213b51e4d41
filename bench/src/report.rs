//! Results of a run as JSON and as one self-contained HTML page (inline SVG plots, no scripts or
//! network), so runs can be compared side by side and kept beside the code they measured.

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One measured phase: a scenario at the maximum rate or at a set rate.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub label: String,
    pub scenario: String,
    /// Requests/s asked for (`None`: as fast as possible).
    pub target_rate: Option<f64>,
    pub connections: usize,
    pub seconds: f64,
    pub requests: usize,
    pub errors: usize,
    pub rps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// (percentile, ms) from p0 to p100, for the percentile plot.
    pub percentiles: Vec<(f64, f64)>,
    /// Completed requests per second over the phase, in 250 ms buckets.
    pub throughput: Vec<(f64, f64)>,
    /// CPU time per completed request of each process of the cloud (and of the benchmark
    /// itself), in ms: where the machine's time goes.
    pub cpu_ms_per_request: BTreeMap<String, f64>,
}

/// A figure computed outside the phases (the RSA signing rate, deliveries/s, ...).
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub command: String,
    pub started_unix: u64,
    pub cores: usize,
    pub phases: Vec<Phase>,
    pub figures: Vec<Figure>,
}

static REPORT: Mutex<Option<Report>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Report) -> R) -> R {
    let mut guard = REPORT.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(|| Report {
        command: std::env::args().collect::<Vec<_>>().join(" "),
        started_unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        ..Default::default()
    }))
}

pub fn add_phase(p: Phase) {
    with(|r| r.phases.push(p));
}

/// Appends `suffix` to the label of the phase added last (e.g. its round).
pub fn label_last(suffix: &str) {
    with(|r| {
        if let Some(p) = r.phases.last_mut() {
            p.label.push_str(suffix);
        }
    });
}

pub fn add_figure(name: &str, value: f64, unit: &str) {
    with(|r| {
        r.figures.push(Figure {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
        })
    });
}

/// Builds a phase from (completion offset µs, latency µs) samples.
pub fn phase(
    label: String,
    scenario: &str,
    target_rate: Option<f64>,
    connections: usize,
    seconds: f64,
    mut samples: Vec<(u64, u32)>,
    errors: usize,
) -> Phase {
    let mut lat: Vec<u32> = samples.iter().map(|s| s.1).collect();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map(|v| f64::from(*v) / 1000.0)
            .unwrap_or(0.0)
    };
    let mut percentiles = Vec::new();
    for i in 0..=200 {
        // Dense towards the tail: 0..90 in steps of 1, then 90..100 ever finer.
        let p = if i <= 90 {
            f64::from(i)
        } else {
            100.0 - 10.0 * 0.955_f64.powi(i - 90)
        };
        percentiles.push((p, pct(p / 100.0)));
    }
    percentiles.push((100.0, lat.last().map_or(0.0, |v| f64::from(*v) / 1000.0)));
    samples.sort_unstable_by_key(|s| s.0);
    let bucket = 250_000u64;
    let buckets = ((seconds * 1e6) as u64).div_ceil(bucket).max(1) as usize;
    let mut counts = vec![0usize; buckets];
    for (at, _) in &samples {
        let i = (*at / bucket) as usize;
        if let Some(c) = counts.get_mut(i) {
            *c += 1;
        }
    }
    let throughput = counts
        .iter()
        .enumerate()
        .map(|(i, c)| ((i as f64 + 0.5) * 0.25, *c as f64 * 4.0))
        .collect();
    Phase {
        label,
        scenario: scenario.to_owned(),
        target_rate,
        connections,
        seconds,
        requests: lat.len(),
        errors,
        rps: lat.len() as f64 / seconds.max(1e-9),
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        p999_ms: pct(0.999),
        max_ms: lat.last().map_or(0.0, |v| f64::from(*v) / 1000.0),
        percentiles,
        throughput,
        cpu_ms_per_request: BTreeMap::new(),
    }
}

/// CPU time (user + system, in clock ticks) of every process of the cloud: the programs built
/// beside this benchmark (the core systems, and the benchmark itself) and MariaDB, summed per
/// program name.
pub fn cpu_ticks() -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let home = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in dir.flatten() {
        let exe = std::fs::read_link(e.path().join("exe")).ok();
        let ours = exe
            .as_ref()
            .is_some_and(|x| x.parent().map(Path::to_path_buf) == home);
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ... ; comm may hold spaces, so split at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let comm = &stat[open + 1..close];
        if !(ours || comm == "mariadbd") {
            continue;
        }
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        // After the comm: state is field 0, utime 11, stime 12.
        let ticks = fields
            .get(11)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            + fields
                .get(12)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        *out.entry(comm.to_owned()).or_insert(0) += ticks;
    }
    out
}

/// Per-request CPU ms of each process between two [`cpu_ticks`] readings.
pub fn cpu_per_request(
    before: &BTreeMap<String, u64>,
    after: &BTreeMap<String, u64>,
    requests: usize,
) -> BTreeMap<String, f64> {
    // Linux reports these in USER_HZ, which is 100 on every architecture it runs on.
    const TICK_MS: f64 = 10.0;
    after
        .iter()
        .filter_map(|(name, t)| {
            let used = t.saturating_sub(before.get(name).copied().unwrap_or(0));
            (used > 0 && requests > 0)
                .then(|| (name.clone(), used as f64 * TICK_MS / requests as f64))
        })
        .collect()
}

/// Writes `<dir>/<stem>.json` and `<dir>/<stem>.html`; returns the HTML path.
pub fn write(dir: &Path, stem: &str) -> Result<Option<PathBuf>, String> {
    let guard = REPORT.lock().unwrap_or_else(|p| p.into_inner());
    let Some(report) = guard.as_ref() else {
        return Ok(None);
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let json = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    let json_path = dir.join(format!("{stem}.json"));
    std::fs::write(&json_path, json).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let html_path = dir.join(format!("{stem}.html"));
    std::fs::write(&html_path, html(report))
        .map_err(|e| format!("{}: {e}", html_path.display()))?;
    Ok(Some(html_path))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const COLORS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];

/// An SVG line plot of several series; `log_x` puts "percentile" on a log scale of the
/// remaining fraction so the tail is readable.
fn plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
    tail_x: bool,
) -> String {
    let (w, h, left, bottom, top, right) = (760.0, 340.0, 70.0, 40.0, 30.0, 20.0);
    let tx = |x: f64| {
        if tail_x {
            -(1.0 - (x / 100.0).min(0.99999)).log10()
        } else {
            x
        }
    };
    let (mut x_max, mut y_max) = (0.0f64, 0.0f64);
    for (_, pts) in series {
        for (x, y) in pts {
            x_max = x_max.max(tx(*x));
            y_max = y_max.max(*y);
        }
    }
    let x_max = if x_max <= 0.0 { 1.0 } else { x_max };
    let y_max = if y_max <= 0.0 { 1.0 } else { y_max * 1.05 };
    let px = |x: f64| left + (w - left - right) * tx(x) / x_max;
    let py = |y: f64| h - bottom - (h - bottom - top) * y / y_max;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="18" font-size="14" text-anchor="middle">{}</text>"#,
        w / 2.0,
        esc(title)
    );
    let _ = write!(
        s,
        r##"<line x1="{left}" y1="{}" x2="{}" y2="{}" stroke="#000"/><line x1="{left}" y1="{top}" x2="{left}" y2="{}" stroke="#000"/>"##,
        h - bottom,
        w - right,
        h - bottom,
        h - bottom
    );
    for i in 0..=4 {
        let y = y_max * f64::from(i) / 4.0;
        let _ = write!(
            s,
            r##"<line x1="{left}" y1="{0}" x2="{1}" y2="{0}" stroke="#ddd"/><text x="{2}" y="{3}" text-anchor="end">{4:.2}</text>"##,
            py(y),
            w - right,
            left - 4.0,
            py(y) + 4.0,
            y
        );
    }
    let ticks: Vec<(f64, String)> = if tail_x {
        [
            (0.0, "0"),
            (50.0, "50"),
            (90.0, "90"),
            (99.0, "99"),
            (99.9, "99.9"),
            (99.99, "99.99"),
        ]
        .iter()
        .filter(|(x, _)| tx(*x) <= x_max)
        .map(|(x, l)| (*x, (*l).to_owned()))
        .collect()
    } else {
        (0..=4)
            .map(|i| {
                let x = x_max * f64::from(i) / 4.0;
                (x, format!("{x:.1}"))
            })
            .collect()
    };
    for (x, l) in ticks {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            px(x),
            h - bottom + 14.0,
            l
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (left + w - right) / 2.0,
        h - 6.0,
        esc(x_label)
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle">{}</text>"#,
        h / 2.0,
        h / 2.0,
        esc(y_label)
    );
    for (i, (name, pts)) in series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let path: Vec<String> = pts
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/>"#,
            path.join(" ")
        );
        let ly = top + 14.0 * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{}" y="{}" width="10" height="10" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
            left + 10.0,
            ly,
            left + 24.0,
            ly + 9.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

fn html(r: &Report) -> String {
    let mut s = String::new();
    let _ = write!(s, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>arrowhead-bench</title><style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}</style></head><body>");
    let _ = write!(
        s,
        "<h1>arrowhead-bench</h1><p><code>{}</code><br>started {} (unix), {} cores</p>",
        esc(&r.command),
        r.started_unix,
        r.cores
    );
    s.push_str("<table><tr><th>phase</th><th>req/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>ok</th><th>errors</th><th>connections</th></tr>");
    for p in &r.phases {
        let _ = write!(s, "<tr><td>{}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>", esc(&p.label), p.rps, p.p50_ms, p.p90_ms, p.p99_ms, p.p999_ms, p.max_ms, p.requests, p.errors, p.connections);
    }
    s.push_str("</table>");
    let names: std::collections::BTreeSet<&String> = r
        .phases
        .iter()
        .flat_map(|p| p.cpu_ms_per_request.keys())
        .collect();
    if !names.is_empty() {
        s.push_str("<h2>CPU ms per request</h2><table><tr><th>phase</th>");
        for n in &names {
            let _ = write!(s, "<th>{}</th>", esc(n));
        }
        s.push_str("<th>all</th></tr>");
        for p in &r.phases {
            let _ = write!(s, "<tr><td>{}</td>", esc(&p.label));
            for n in &names {
                let _ = write!(
                    s,
                    "<td>{:.3}</td>",
                    p.cpu_ms_per_request.get(*n).copied().unwrap_or(0.0)
                );
            }
            let _ = write!(
                s,
                "<td>{:.3}</td></tr>",
                p.cpu_ms_per_request.values().sum::<f64>()
            );
        }
        s.push_str("</table>");
    }
    if !r.figures.is_empty() {
        s.push_str("<h2>Figures</h2><table><tr><th>figure</th><th>value</th><th>unit</th></tr>");
        for f in &r.figures {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{:.1}</td><td>{}</td></tr>",
                esc(&f.name),
                f.value,
                esc(&f.unit)
            );
        }
        s.push_str("</table>");
    }
    let max: Vec<&Phase> = r
        .phases
        .iter()
        .filter(|p| p.target_rate.is_none())
        .collect();
    let paced: Vec<&Phase> = r
        .phases
        .iter()
        .filter(|p| p.target_rate.is_some())
        .collect();
    for (title, group) in [("at the maximum rate", &max), ("at a set rate", &paced)] {
        if group.is_empty() {
            continue;
        }
        let lat: Vec<(String, Vec<(f64, f64)>)> = group
            .iter()
            .map(|p| (p.label.clone(), p.percentiles.clone()))
            .collect();
        let thr: Vec<(String, Vec<(f64, f64)>)> = group
            .iter()
            .map(|p| (p.label.clone(), p.throughput.clone()))
            .collect();
        let _ = write!(
            s,
            "<h2>{}</h2><p>{}</p><p>{}</p>",
            title,
            plot(
                &format!("latency by percentile, {title}"),
                "percentile",
                "ms",
                &lat,
                true
            ),
            plot(
                &format!("throughput over time, {title}"),
                "s",
                "requests/s",
                &thr,
                false
            )
        );
    }
    s.push_str("</body></html>\n");
    s
}
