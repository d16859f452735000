//! Minimal reproduction of an upstream Leptos defect, kept as an ignored test:
//! leptos-rs/leptos#4773 (open; leptos 0.8.23, leptos_server 0.8.8, leptos_router 0.8.17).
//!
//! `generate_route_list` renders the app once with resource loading suppressed, through ONE
//! process-wide flag (`leptos_server::resource::IS_SUPPRESSING_RESOURCE_LOAD`, set by
//! `leptos_router::RouteList::generate`). A resource created on any thread while the flag is set
//! parks on `std::future::pending()` and never loads, so a page rendered at that moment by a
//! server in the same process never finishes (answered 408 by the request time-out).
//! Lendscope's servers no longer trigger it (`startup::page_routes` generates the list once per
//! process); this test calls `generate_route_list` itself, beside a running server, and prints
//! each stalled render with the route-list window it started in.
//!
//! Run: `cargo test -p lendscope-server --test integration ssr_stall -- --ignored --nocapture`.
//! It fails while the upstream defect exists; when it passes, the defect is fixed upstream.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::helpers::{spawn, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "reproduces leptos-rs/leptos#4773 (upstream, open): fails until Leptos fixes it"]
async fn generating_a_route_list_stalls_pages_rendered_at_that_moment() {
    let app = spawn(Backend::Sqlite).await;
    let t0 = Instant::now();
    let windows: Arc<Mutex<Vec<(Duration, Duration)>>> = Arc::default();
    let generator = tokio::spawn({
        let windows = windows.clone();
        async move {
            while t0.elapsed() < Duration::from_secs(4) {
                let begun = t0.elapsed();
                drop(leptos_axum::generate_route_list(lendscope_app::App));
                windows.lock().unwrap().push((begun, t0.elapsed()));
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let mut renders = Vec::new();
    for _ in 0..4 {
        let (client, url) = (client.clone(), app.url("/login"));
        renders.push(tokio::spawn(async move {
            let mut stalls = Vec::new();
            let mut count = 0;
            while t0.elapsed() < Duration::from_secs(4) {
                let begun = t0.elapsed();
                let ok = match client.get(&url).send().await {
                    Ok(res) => res.text().await.is_ok_and(|b| b.contains("</html>")),
                    Err(_) => false,
                };
                count += 1;
                if !ok {
                    stalls.push(begun);
                }
            }
            (count, stalls)
        }));
    }
    let (mut total, mut stalls) = (0, Vec::new());
    for r in renders {
        let (count, s) = r.await.unwrap();
        total += count;
        stalls.extend(s);
    }
    generator.await.unwrap();
    stalls.sort();
    let windows = windows.lock().unwrap().clone();
    println!(
        "{total} renders of /login, {} route lists generated beside them, {} renders stalled (no answer within 2 s)",
        windows.len(),
        stalls.len()
    );
    let mut inside = 0;
    for s in &stalls {
        let window = windows
            .iter()
            // The render creates its resource a few milliseconds after its request began.
            .find(|(a, b)| *a <= *s + Duration::from_millis(10) && *s <= *b);
        match window {
            Some((a, b)) => {
                inside += 1;
                println!(
                    "  render started at {:9.3} ms — route list being generated {:9.3}–{:9.3} ms",
                    s.as_secs_f64() * 1e3,
                    a.as_secs_f64() * 1e3,
                    b.as_secs_f64() * 1e3
                );
            }
            None => println!(
                "  render started at {:9.3} ms — no generation window began within 10 ms",
                s.as_secs_f64() * 1e3
            ),
        }
    }
    println!(
        "{inside} of {} stalls started inside a generation window",
        stalls.len()
    );
    assert!(stalls.is_empty(), "{} renders stalled", stalls.len());
}
