//! Server-side rendering speed of the officer's pages against a running server: the review
//! queue (first page, deep keyset pages, filtered) and application pages of cases sampled
//! across the whole queue. Requests are sent one at a time (the time to render one page),
//! then by `--concurrency` clients; each figure is a full HTTP round trip on loopback.
//!
//! cargo run --release -p lendscope-server --example pagebench -- \
//!     --url http://127.0.0.1:3000 --cookie 'lendscope_session=…' --requests 300
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::time::Instant;

use clap::Parser;

#[derive(Parser, Debug)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The officer's session cookie (`name=value`).
    #[arg(long)]
    cookie: String,
    /// Requests per measured page kind.
    #[arg(long, default_value_t = 300)]
    requests: usize,
    /// Queue pages to walk through when sampling cases.
    #[arg(long, default_value_t = 40)]
    walk: usize,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

/// The `href` values in `html` that start with `prefix`.
fn hrefs<'a>(html: &'a str, prefix: &str) -> Vec<&'a str> {
    let needle = format!("href=\"{prefix}");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        let start = i + "href=\"".len();
        let end = rest[start..].find('"').map_or(rest.len(), |j| start + j);
        out.push(&rest[start..end]);
        rest = &rest[end..];
    }
    out
}

struct Client {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Client {
    async fn get(&self, path: &str) -> (f64, String) {
        let started = Instant::now();
        let res = self
            .http
            .get(format!("{}{}", self.base, path.replace("&amp;", "&")))
            .header("cookie", &self.cookie)
            .header("accept", "text/html")
            .send()
            .await
            .expect("request");
        let status = res.status();
        let body = res.text().await.expect("body");
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        assert!(status.is_success(), "{path}: {status}");
        (ms, body)
    }
}

async fn measure(
    client: &Client,
    label: &str,
    paths: &[String],
    requests: usize,
    concurrency: usize,
) {
    // One at a time.
    let mut serial = Vec::with_capacity(requests);
    for i in 0..requests {
        serial.push(client.get(&paths[i % paths.len()]).await.0);
    }
    // Concurrent clients.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..concurrency {
        let client = Client {
            http: client.http.clone(),
            base: client.base.clone(),
            cookie: client.cookie.clone(),
        };
        let paths = paths.to_vec();
        let n = requests / concurrency;
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(n);
            for i in 0..n {
                out.push(
                    client
                        .get(&paths[(c + i * concurrency) % paths.len()])
                        .await
                        .0,
                );
            }
            out
        }));
    }
    let mut concurrent = Vec::new();
    for t in tasks {
        concurrent.extend(t.await.expect("task"));
    }
    let elapsed = started.elapsed().as_secs_f64();
    for (mode, mut v) in [("1 client", serial), ("concurrent", concurrent)] {
        v.sort_by(f64::total_cmp);
        let extra = if mode == "concurrent" {
            format!(
                " ({concurrency} clients, {:.0} pages/s)",
                v.len() as f64 / elapsed
            )
        } else {
            String::new()
        };
        println!(
            "{label:<34} {mode:<10} n={:<5} p50={:>6.2} ms  p95={:>6.2} ms  p99={:>6.2} ms  max={:>6.2} ms{extra}",
            v.len(),
            percentile(&v, 50.0),
            percentile(&v, 95.0),
            percentile(&v, 99.0),
            v.last().copied().unwrap_or(f64::NAN),
        );
    }
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let client = Client {
        http: reqwest::Client::builder()
            .pool_max_idle_per_host(args.concurrency * 2)
            .build()
            .expect("client"),
        base: args.url.trim_end_matches('/').to_owned(),
        cookie: args.cookie.clone(),
    };
    // Walk the queue by its "next page" links from the start and from deep positions (a
    // cursor is `priority.sequence`; 1 = not manual review), collecting page URLs and cases.
    let mut pages: Vec<String> = Vec::new();
    let mut cases: Vec<String> = Vec::new();
    for start in [
        "/queue",
        "/queue?after=1.30000",
        "/queue?after=1.60000",
        "/queue?after=1.90000",
    ] {
        let mut at = start.to_owned();
        for _ in 0..args.walk.div_ceil(4) {
            let (_, html) = client.get(&at).await;
            pages.push(at.clone());
            cases.extend(hrefs(&html, "/queue/").into_iter().map(str::to_owned));
            match hrefs(&html, "/queue?")
                .into_iter()
                .find(|h| h.contains("after="))
            {
                Some(next) => at = next.replace("&amp;", "&"),
                None => break,
            }
        }
    }
    cases.sort();
    cases.dedup();
    assert!(
        !cases.is_empty(),
        "the queue is empty: seed applications first"
    );
    let (_, first) = client.get("/queue").await;
    let open = first
        .split("data-testid=\"open-count\"")
        .nth(1)
        .and_then(|s| s.split_once('>'))
        .and_then(|(_, s)| s.split('<').next())
        .unwrap_or("?")
        .to_owned();
    println!(
        "open cases in the queue: {open}; sampled {} queue pages and {} application pages",
        pages.len(),
        cases.len()
    );
    let filtered: Vec<String> = ["approve", "reject", "manual_review"]
        .iter()
        .flat_map(|r| {
            ["A", "C", "E"]
                .iter()
                .map(move |b| format!("/queue?recommended={r}&band={b}&min=800&max=4000"))
        })
        .collect();
    measure(
        &client,
        "queue, first page",
        &pages[..1],
        args.requests,
        args.concurrency,
    )
    .await;
    measure(
        &client,
        "queue, keyset pages (also deep)",
        &pages,
        args.requests,
        args.concurrency,
    )
    .await;
    measure(
        &client,
        "queue, filtered",
        &filtered,
        args.requests,
        args.concurrency,
    )
    .await;
    measure(
        &client,
        "application page (SHAP waterfall)",
        &cases,
        args.requests,
        args.concurrency,
    )
    .await;
}
