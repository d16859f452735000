//! Faults: the database goes away under a running server (PostgreSQL reached through a proxy
//! the test cuts: open connections are dropped and new ones refused), and comes back.
//! Readiness turns 503, scoring answers 503 with `Retry-After` within a second (no hanging
//! request, no decision written), and the server recovers by itself when the database
//! returns. Load shedding answers 503 with `Retry-After` beyond the configured concurrency.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::{application, spawn_with, Backend};

/// A TCP proxy to PostgreSQL that can be cut (connections dropped, new ones refused), made to
/// hang (connections dropped, new ones accepted and never answered, as when packets are lost)
/// and restored.
struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    hang: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<AbortHandle>>>,
    held: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(AtomicBool::new(true));
        let hang = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (o, h, c, k) = (open.clone(), hang.clone(), conns.clone(), held.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if h.load(Ordering::SeqCst) {
                    k.lock().unwrap().push(inbound); // accepted, never answered
                    continue;
                }
                if !o.load(Ordering::SeqCst) {
                    drop(inbound); // refused: closed at once
                    continue;
                }
                let task = tokio::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        Self {
            addr,
            open,
            hang,
            conns,
            held,
        }
    }

    fn black_hole(&self) {
        self.hang.store(true, Ordering::SeqCst);
        self.cut();
    }

    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.hang.store(false, Ordering::SeqCst);
        self.held.lock().unwrap().clear();
        self.open.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_answers_503_at_once_and_recovers_without_restart() {
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let port = proxy.addr.port();
    let app = spawn_with(Backend::Postgres, |c| {
        c.database_url = c.database_url.replace(":5432/", &format!(":{port}/"));
    })
    .await;
    let key = app.with_scoring(0).await;
    let first = app
        .post_application(&key, &application("OUTAGE-0"), None)
        .await;
    assert_eq!(first.status(), 201);

    proxy.cut();
    let refused = outage(&app, &key, "REFUSED").await;
    println!("database refusing connections: slowest 503 answer {refused:?}");
    recover(&app, &key, &proxy, "AFTER-REFUSED").await;
    proxy.black_hole();
    let lost = outage(&app, &key, "LOST").await;
    println!("database packets lost: slowest 503 answer {lost:?}");
    recover(&app, &key, &proxy, "AFTER-LOST").await;
    // Nothing answered 503 was written; the chain is intact.
    let report = app.services.verify_decisions().await.unwrap();
    assert_eq!(report.records, 3, "one before, one after each outage");
    assert!(report.broken.is_none(), "{report:?}");
}

/// Ten applications and readiness checks during an outage: each answered 503 with
/// `Retry-After` within a second. Returns the slowest answer.
async fn outage(app: &crate::helpers::TestApp, key: &str, prefix: &str) -> Duration {
    let mut worst = Duration::ZERO;
    for i in 1..=10 {
        let started = Instant::now();
        let res = app
            .post_application(key, &application(&format!("{prefix}-{i}")), None)
            .await;
        let took = started.elapsed();
        worst = worst.max(took);
        assert_eq!(res.status(), 503, "request {i}");
        assert!(res.headers().contains_key("retry-after"), "request {i}");
        crate::security_headers::assert_security_header_map(res.headers(), "503 in an outage");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unavailable", "{body}");
        let started = Instant::now();
        let ready = app.get("/health/ready", None).await;
        worst = worst.max(started.elapsed());
        assert_eq!(ready.status(), 503);
        assert!(ready.headers().contains_key("retry-after"));
    }
    assert!(worst < Duration::from_secs(1), "slowest answer {worst:?}");
    worst
}

/// Restores the database and waits until scoring succeeds again (no restart).
async fn recover(app: &crate::helpers::TestApp, key: &str, proxy: &Proxy, id: &str) {
    proxy.restore();
    let started = Instant::now();
    let recovered = loop {
        let res = app.post_application(key, &application(id), None).await;
        if res.status() == 201 {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no recovery: {}",
            res.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("database back: first decision accepted after {recovered:?}");
    assert_eq!(app.get("/health/ready", None).await.status(), 200);
}

crate::on_both_backends!(scoring_beyond_capacity_is_shed_with_retry_after);

async fn scoring_beyond_capacity_is_shed_with_retry_after(backend: Backend) {
    // No waiting for a slot: everything beyond the capacity is refused at once.
    let app = spawn_with(backend, |c| {
        c.max_concurrent_scoring = 2;
        c.scoring_queue_ms = 0;
    })
    .await;
    let key = app.with_scoring(0).await;
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..60 {
        let (app, key) = (app.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let res = app
                .post_application(&key, &application(&format!("SHED-{i}")), None)
                .await;
            if res.status() == 503 {
                crate::security_headers::assert_security_header_map(res.headers(), "shed");
            }
            let retry = res.headers().get("retry-after").cloned();
            (res.status().as_u16(), retry)
        }));
    }
    let (mut accepted, mut shed) = (0u64, 0u64);
    for t in tasks {
        match t.await.unwrap() {
            (201, _) => accepted += 1,
            (503, Some(r)) => {
                assert_eq!(r, "1");
                shed += 1;
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    println!("60 concurrent applications, capacity 2: {accepted} accepted, {shed} shed");
    assert!(
        accepted >= 2 && shed >= 1,
        "{accepted} accepted, {shed} shed"
    );
    assert_eq!(app.decisions().await, accepted);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(metrics.contains(&format!(
        "lendscope_http_shed_total{{route=\"/api/v1/applications\"}} {shed}"
    )));
    // Below capacity nothing is shed.
    let res = app
        .post_application(&key, &application("SHED-AFTER"), None)
        .await;
    assert_eq!(res.status(), 201);
}

crate::on_both_backends!(scoring_beyond_capacity_waits_for_a_slot_within_the_queue_time);

/// With one slot and a queue time longer than the whole burst takes, 12 concurrent
/// applications are all scored, one after the other: none is shed, and those that found the
/// slot taken are counted as queued.
async fn scoring_beyond_capacity_waits_for_a_slot_within_the_queue_time(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.max_concurrent_scoring = 1;
        c.scoring_queue_ms = 20_000;
    })
    .await;
    let key = app.with_scoring(0).await;
    let app = Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let (app, key) = (app.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            app.post_application(&key, &application(&format!("QUEUE-{i}")), None)
                .await
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert_eq!(app.decisions().await, 12);
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let counter = |name: &str| -> u64 {
        let series = format!("{name}{{route=\"/api/v1/applications\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series.as_str()))
            .map_or(0, |v| v.trim().parse().unwrap())
    };
    assert_eq!(counter("lendscope_http_shed_total"), 0, "{metrics}");
    let queued = counter("lendscope_http_queued_total");
    println!("12 concurrent applications, capacity 1: {queued} waited for the slot");
    assert!(queued >= 1, "no application waited: {metrics}");
}
