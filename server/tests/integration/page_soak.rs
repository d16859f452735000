//! Page-render soak: several servers in this one process, on both databases, built at the same
//! time (as the suite builds its servers), every page kind rendered over and over while more
//! servers keep being built beside them. Every render must finish, complete, within 2 s.
//!
//! It guards against the stall of leptos-rs/leptos#4773: generating the route list (done when
//! a server is built) sets a process-wide "suppress resource loads" flag, and a page whose
//! resource was created on another server at that moment never finished (408 after 30 s).
//! `startup::page_routes` now generates the list once per process; `ssr_stall.rs` keeps the
//! upstream reproduction (ignored).

use std::time::{Duration, Instant};

use lendscope_domain::Role;
use tokio::sync::Mutex;

use crate::helpers::{application, spawn, Backend, TestApp};

/// Renders in all (both databases, every page kind).
const RENDERS: usize = 10_200;
/// Concurrent clients.
const CLIENTS: usize = 6;
/// The bar every single render must stay under.
const LIMIT: Duration = Duration::from_secs(2);

/// One server with data behind every page, and the signed-in staff to see them.
struct Target {
    app: TestApp,
    backend: Backend,
    /// (page kind, path, cookie, expected status)
    pages: Vec<(&'static str, String, Option<String>, u16)>,
}

async fn prepare(backend: Backend) -> Target {
    let app = spawn(backend).await;
    let key = app.with_scoring(20).await;
    let mut last = serde_json::Value::Null;
    for i in 0..12 {
        last = app.decide(&key, &application(&format!("S-{i}"))).await;
    }
    let id = last["application_id"].as_str().unwrap().to_owned();
    let token = last["notice_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/notice/")
        .to_owned();
    app.services.run_monitoring("soak").await.unwrap();
    app.add_user("olivia", Role::Officer).await;
    app.add_user("adam", Role::Admin).await;
    app.add_user("clara", Role::Compliance).await;
    let officer = Some(app.login_as("olivia").await.cookie);
    let admin = Some(app.login_as("adam").await.cookie);
    let compliance = Some(app.login_as("clara").await.cookie);
    let pages = vec![
        ("home", "/".to_owned(), officer.clone(), 200),
        ("login", "/login".to_owned(), None, 200),
        ("apply", "/apply".to_owned(), None, 200),
        ("notice", format!("/notice/{token}"), None, 200),
        ("queue", "/queue".to_owned(), officer.clone(), 200),
        ("case", format!("/queue/{id}"), officer.clone(), 200),
        ("statistics", "/statistics".to_owned(), admin.clone(), 200),
        ("models", "/models".to_owned(), admin.clone(), 200),
        ("model version", "/models/1".to_owned(), admin.clone(), 200),
        ("compare", "/models/compare".to_owned(), admin.clone(), 200),
        (
            "monitoring",
            "/monitoring".to_owned(),
            compliance.clone(),
            200,
        ),
        ("users", "/admin/users".to_owned(), admin, 200),
        ("audit", "/audit".to_owned(), compliance.clone(), 200),
        (
            "decision search",
            format!("/audit/decisions?q={id}"),
            compliance.clone(),
            200,
        ),
        (
            "decision trace",
            format!("/audit/decisions/{id}"),
            compliance,
            200,
        ),
        ("account", "/account".to_owned(), officer, 200),
        ("not found", "/no-such-page".to_owned(), None, 404),
    ];
    Target {
        app,
        backend,
        pages,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_renders_within_two_seconds_while_servers_start_beside_it() {
    // Four servers built at once: two on SQLite, two on PostgreSQL.
    let (a, b, c, d) = tokio::join!(
        prepare(Backend::Sqlite),
        prepare(Backend::Postgres),
        prepare(Backend::Sqlite),
        prepare(Backend::Postgres)
    );
    let targets = vec![a, b, c, d];
    let jobs: Vec<(usize, usize)> = (0..RENDERS)
        .map(|n| {
            let t = n % targets.len();
            (t, (n / targets.len()) % targets[t].pages.len())
        })
        .collect();
    let kinds = targets[0].pages.len();
    assert!(
        RENDERS / (targets.len() * kinds) >= 100,
        "every page kind on every server at least 100 times"
    );

    // More servers keep being built while the pages render, as the rest of the suite does.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut built = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                drop(spawn(Backend::Sqlite).await);
                built += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            built
        }
    });

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let queue = std::sync::Arc::new(Mutex::new(jobs));
    let targets = std::sync::Arc::new(targets);
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CLIENTS {
        let (queue, targets, client) = (queue.clone(), targets.clone(), client.clone());
        workers.push(tokio::spawn(async move {
            let mut timings = Vec::new();
            loop {
                let Some((t, p)) = queue.lock().await.pop() else {
                    break;
                };
                let target = &targets[t];
                let (kind, path, cookie, status) = &target.pages[p];
                let mut req = client
                    .get(target.app.url(path))
                    .header("accept", "text/html");
                if let Some(c) = cookie {
                    req = req.header("cookie", c);
                }
                let begun = Instant::now();
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default();
                let outcome = match req.send().await {
                    Ok(res) => {
                        let code = res.status().as_u16();
                        match res.text().await {
                            Ok(body) if code == *status && body.contains("</html>") => Ok(()),
                            Ok(body) => Err(format!(
                                "status {code}, {} bytes, ends {:?}",
                                body.len(),
                                body.get(body.len().saturating_sub(60)..).unwrap_or("")
                            )),
                            Err(e) => Err(format!("body: {e}")),
                        }
                    }
                    Err(e) => Err(format!("request: {e}")),
                };
                // A failure names the wall-clock time the render began, to be matched with the
                // server logs.
                let outcome =
                    outcome.map_err(|e| format!("began at {:.6} s: {e}", wall.as_secs_f64()));
                timings.push((t, *kind, begun.elapsed(), outcome));
            }
            timings
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let built = churn.await.unwrap();

    // Figures per backend and page kind, then overall.
    println!(
        "page soak: {} renders on {} servers in {:.1} s ({:.0}/s, {CLIENTS} clients) while {built} more servers were built",
        all.len(),
        targets.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "{:<10} {:<16} {:>6} {:>10} {:>10} {:>10}",
        "database", "page", "renders", "p50", "p99", "max"
    );
    let mut failures = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for (kind, _, _, _) in &targets[0].pages {
            let mut times: Vec<Duration> = all
                .iter()
                .filter(|(t, k, _, _)| k == kind && targets[*t].backend == backend)
                .map(|(_, _, d, _)| *d)
                .collect();
            times.sort();
            println!(
                "{:<10} {:<16} {:>6} {:>10} {:>10} {:>10}",
                format!("{backend:?}"),
                kind,
                times.len(),
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                ms(*times.last().unwrap())
            );
        }
    }
    let mut times: Vec<Duration> = all.iter().map(|(_, _, d, _)| *d).collect();
    times.sort();
    println!(
        "{:<10} {:<16} {:>6} {:>10} {:>10} {:>10}",
        "both",
        "every page",
        times.len(),
        ms(percentile(&times, 0.5)),
        ms(percentile(&times, 0.99)),
        ms(*times.last().unwrap())
    );
    for (t, kind, d, outcome) in &all {
        if let Err(e) = outcome {
            failures.push(format!("{:?} {kind}: {e}", targets[*t].backend));
        } else if *d >= LIMIT {
            failures.push(format!("{:?} {kind}: took {}", targets[*t].backend, ms(*d)));
        }
    }
    assert_eq!(all.len(), RENDERS);
    assert!(
        failures.is_empty(),
        "{} of {} renders failed or took 2 s or more: {:?}",
        failures.len(),
        all.len(),
        &failures[..failures.len().min(20)]
    );
}
