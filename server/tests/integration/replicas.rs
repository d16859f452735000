//! Two server processes on one PostgreSQL database: a promotion approved through one is
//! serving on the other within two seconds, and no request fails during the swap.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lendscope_service::registry::Resolution;
use lendscope_service::RequestMeta;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::{application, spawn, spawn_with, Backend, TestApp};

/// Posts applications to `app` until `stop`; counts successes and failures.
async fn load(
    app: Arc<TestApp>,
    key: String,
    tag: &'static str,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
) {
    let mut i = 0u64;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let res = app
            .post_application(&key, &application(&format!("{tag}-{i:06}")), None)
            .await;
        if res.status().is_success() {
            ok.fetch_add(1, Ordering::Relaxed);
        } else {
            failed.fetch_add(1, Ordering::Relaxed);
            println!(
                "{tag}: {} {}",
                res.status(),
                res.text().await.unwrap_or_default()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_promotion_on_one_replica_serves_on_the_other_within_two_seconds() {
    let a = spawn(Backend::Postgres).await;
    let key = a.with_scoring(0).await;
    let url = a.database_url.clone();
    let b = Arc::new(spawn_with(Backend::Postgres, |c| c.database_url = url).await);
    let a = Arc::new(a);
    // Labelled outcomes so that the promotion gate can be judged.
    let generated = lendscope_server::cli::demo::generated_applicants(41, 120, "R").unwrap();
    for (body, defaulted) in generated {
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let d = a.decide(&key, &body).await;
        let id = d["application_id"].as_str().unwrap();
        let outcome = if defaulted { "defaulted" } else { "repaid" };
        crate::helpers::label(&a.services, id, outcome).await;
    }
    a.services.set_gate_settings(crate::helpers::lenient_gate());
    for name in ["ada", "bob"] {
        a.add_user(name, lendscope_domain::Role::Admin).await;
    }
    let request = a
        .services
        .request_promotion(
            "ada",
            lendscope_service::registry::RequestKind::Champion,
            "replica test",
            &RequestMeta::default(),
        )
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut tasks = Vec::new();
    for (app, tag) in [(&a, "LA1"), (&a, "LA2"), (&b, "LB1"), (&b, "LB2")] {
        tasks.push(tokio::spawn(load(
            app.clone(),
            key.clone(),
            tag,
            stop.clone(),
            ok.clone(),
            failed.clone(),
        )));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    a.services
        .resolve_promotion(
            request,
            "bob",
            Resolution::Approve,
            "ok",
            &RequestMeta::default(),
        )
        .await
        .unwrap();
    let approved = Instant::now();
    let mut seen = None;
    let mut i = 0;
    while approved.elapsed() < Duration::from_secs(5) {
        i += 1;
        let d = b.decide(&key, &application(&format!("PROBE-{i:05}"))).await;
        if d["model"]["version"] == 2 {
            seen = Some(approved.elapsed());
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let seen = seen.expect("replica b never served the new champion");
    let (ok, failed) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    println!(
        "replica b served the new champion {:.0} ms after the approval on replica a; {ok} requests succeeded and {failed} failed during the swap",
        seen.as_secs_f64() * 1000.0
    );
    assert!(seen <= Duration::from_secs(2), "took {seen:?}");
    assert_eq!(failed, 0);
    assert!(ok > 20, "the load ran: {ok}");
    assert_eq!(
        a.services.verify_decisions().await.unwrap().broken,
        None,
        "one chain across both replicas"
    );
}

/// Two replicas deciding in turn: each one's writer last saw the head before the other moved
/// it, so every append after the first finds the head moved, writes nothing, and links the
/// batch again onto the head read afresh. The chain stays one, without gaps.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_deciding_in_turn_keep_one_chain() {
    let a = spawn(Backend::Postgres).await;
    let key = a.with_scoring(0).await;
    let url = a.database_url.clone();
    let b = spawn_with(Backend::Postgres, |c| c.database_url = url).await;
    let mut seqs = Vec::new();
    for i in 0..12 {
        let app = if i % 2 == 0 { &a } else { &b };
        let d = app.decide(&key, &application(&format!("T-{i:03}"))).await;
        let id = d["application_id"].as_str().unwrap().to_owned();
        let row = lendscope_service::entity::decision::Entity::find()
            .filter(lendscope_service::entity::decision::Column::ApplicationId.eq(id))
            .one(a.services.db())
            .await
            .unwrap()
            .unwrap();
        seqs.push(row.seq);
    }
    assert_eq!(seqs, (1..=12).collect::<Vec<i64>>());
    let report = b.services.verify_decisions().await.unwrap();
    assert_eq!((report.records, report.broken), (12, None));
}
