//! A load generator for `POST /api/v1/applications`.
//!
//! Fixed-rate mode (`--rate R`) sends on a schedule, whatever the answers do, and measures each
//! latency from the request's *scheduled* time, so a stalled server shows up in the tail
//! instead of hiding it (no coordinated omission). Maximum mode (`--rate 0`) runs
//! `--concurrency` clients back to back. Bounded in count and time; loopback only.
//!
//! cargo run --release -p lendscope-server --example loadgen -- \
//!     --url http://127.0.0.1:3000 --key lsk_... --rate 200 --seconds 20
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::sync::Mutex;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    #[arg(long)]
    key: String,
    /// Requests per second; 0 for as fast as `--concurrency` clients go.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Distinct application bodies to cycle through.
    #[arg(long, default_value_t = 2000)]
    bodies: usize,
    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Default)]
struct Stats {
    latencies: Vec<f64>,
    statuses: std::collections::BTreeMap<u16, u64>,
    failures: u64,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let host = args
        .url
        .trim_start_matches("http://")
        .split(['/', ':'])
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(
        host == "127.0.0.1" || host == "localhost" || host == "[::1]",
        "this load generator only targets the loopback interface"
    );
    let bodies: Arc<Vec<Vec<u8>>> = Arc::new(
        lendscope_server::cli::demo::generated_bodies(77, args.bodies, "LOAD").expect("bodies"),
    );
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let url = format!("{}/api/v1/applications", args.url.trim_end_matches('/'));
    let metrics_url = format!("{}/metrics", args.url.trim_end_matches('/'));
    let stages_before = stage_totals(&client, &metrics_url).await;
    let stats = Arc::new(Mutex::new(Stats::default()));
    let total = Duration::from_secs_f64(args.seconds);
    let started = Instant::now();

    let send = {
        let client = client.clone();
        let url = url.clone();
        let key = args.key.clone();
        let stats = stats.clone();
        let bodies = bodies.clone();
        move |i: usize, scheduled: Instant| {
            let client = client.clone();
            let url = url.clone();
            let key = key.clone();
            let stats = stats.clone();
            let body = bodies[i % bodies.len()].clone();
            async move {
                let res = client
                    .post(&url)
                    .bearer_auth(&key)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let latency = scheduled.elapsed().as_secs_f64();
                let mut s = stats.lock().await;
                match res {
                    Ok(r) => {
                        *s.statuses.entry(r.status().as_u16()).or_default() += 1;
                        if r.status().is_success() {
                            s.latencies.push(latency);
                        }
                    }
                    Err(_) => s.failures += 1,
                }
            }
        }
    };

    let mut tasks = tokio::task::JoinSet::new();
    if args.rate > 0.0 {
        let interval = Duration::from_secs_f64(1.0 / args.rate);
        let n = (args.rate * args.seconds).round() as usize;
        for i in 0..n {
            let scheduled = started + interval * i as u32;
            tokio::time::sleep_until(scheduled.into()).await;
            tasks.spawn(send(i, scheduled));
            while let Some(done) = tasks.try_join_next() {
                done.unwrap();
            }
        }
    } else {
        let counter = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for _ in 0..args.concurrency {
            let send = send.clone();
            let counter = counter.clone();
            tasks.spawn(async move {
                while started.elapsed() < total {
                    let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    send(i, Instant::now()).await;
                }
            });
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut s = stats.lock().await;
    s.latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if s.latencies.is_empty() {
            return f64::NAN;
        }
        let idx = ((p / 100.0) * (s.latencies.len() as f64 - 1.0)).round() as usize;
        s.latencies[idx] * 1000.0
    };
    let ok = s.latencies.len();
    let errors: u64 = s
        .statuses
        .iter()
        .filter(|(c, _)| **c >= 300)
        .map(|(_, n)| n)
        .sum::<u64>()
        + s.failures;
    // The server's own account of where the time went: the mean wall time of each stage of a
    // new decision over this run, from its `lendscope_decision_stage_seconds` histogram.
    let stages_after = stage_totals(&client, &metrics_url).await;
    let stages: Vec<(String, f64)> = stages_after
        .iter()
        .filter_map(|(stage, (sum, count))| {
            let (sum0, count0) = stages_before.get(stage).copied().unwrap_or((0.0, 0.0));
            (count - count0 > 0.0)
                .then(|| (stage.clone(), (sum - sum0) / (count - count0) * 1000.0))
        })
        .collect();
    let mode = if args.rate > 0.0 {
        format!("{:.0}/s", args.rate)
    } else {
        format!("max ({} clients)", args.concurrency)
    };
    if args.json {
        println!(
            "{{\"mode\":\"{mode}\",\"ok\":{ok},\"errors\":{errors},\"throughput\":{:.1},\"p50_ms\":{:.2},\"p95_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2},\"stages_mean_ms\":{{{}}}}}",
            ok as f64 / elapsed, pct(50.0), pct(95.0), pct(99.0), pct(100.0),
            stages
                .iter()
                .map(|(k, v)| format!("\"{k}\":{v:.3}"))
                .collect::<Vec<_>>()
                .join(",")
        );
    } else {
        println!(
            "{mode:<18} {ok:>7} ok {errors:>5} errors  {:>8.1} req/s  p50 {:>7.2} ms  p95 {:>7.2} ms  p99 {:>7.2} ms  max {:>8.2} ms",
            ok as f64 / elapsed, pct(50.0), pct(95.0), pct(99.0), pct(100.0)
        );
        if !stages.is_empty() {
            let line: Vec<String> = stages.iter().map(|(k, v)| format!("{k} {v:.3}")).collect();
            println!("{:<18} server stages, mean ms: {}", "", line.join(", "));
        }
    }
    if errors > 0 {
        eprintln!(
            "statuses: {:?}, transport failures: {}",
            s.statuses, s.failures
        );
    }
}

/// Sum and count of `lendscope_decision_stage_seconds` per stage, as the server exports them
/// now (empty when the metrics cannot be read).
async fn stage_totals(
    client: &reqwest::Client,
    url: &str,
) -> std::collections::BTreeMap<String, (f64, f64)> {
    let mut totals = std::collections::BTreeMap::new();
    let Ok(text) = async { client.get(url).send().await?.text().await }.await else {
        return totals;
    };
    for line in text.lines() {
        for (suffix, slot) in [("_sum{", 0), ("_count{", 1)] {
            let prefix = format!("lendscope_decision_stage_seconds{suffix}stage=\"");
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((stage, value)) = rest.split_once("\"} ") else {
                continue;
            };
            let Ok(v) = value.trim().parse::<f64>() else {
                continue;
            };
            let entry: &mut (f64, f64) = totals.entry(stage.to_owned()).or_default();
            if slot == 0 {
                entry.0 = v;
            } else {
                entry.1 = v;
            }
        }
    }
    totals
}
