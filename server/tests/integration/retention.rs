//! Retention and reproducibility: a stored decision recomputed from its stored inputs with
//! the model version and policy version it names gives the same probability (bit for bit)
//! and a byte-identical notice — also after the champion and the policy changed.

use lendscope_service::audit::Actor;

use crate::helpers::{spawn, Backend};
use crate::on_both_backends;

on_both_backends!(notices_regenerate_byte_identical_after_model_and_policy_changes);

async fn notices_regenerate_byte_identical_after_model_and_policy_changes(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(50).await;
    let mut ids = Vec::new();
    let mut decisions = std::collections::BTreeSet::new();
    let applicants = lendscope_server::cli::demo::generated_applicants(9, 60, "REPRO").unwrap();
    for (i, (body, _)) in applicants.into_iter().enumerate() {
        let mut body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if i % 10 == 0 {
            body["loan"]["amount"] = serde_json::json!(7000); // out of the policy's range
        }
        let d = app.decide(&key, &body).await;
        decisions.insert(
            d["decision"]
                .as_str()
                .unwrap_or_else(|| panic!("{d}"))
                .to_owned(),
        );
        ids.push(d["application_id"].as_str().unwrap().to_owned());
    }
    // The policy and the serving pair change afterwards; old decisions keep their versions.
    let mut policy = app.services.current_policy().await.unwrap();
    policy.version = "2026-12-tighter".into();
    policy.approve_below /= 2.0;
    app.services
        .set_policy(policy, Actor::System)
        .await
        .unwrap();
    for id in &ids {
        let r = app.services.reproduce_decision(id).await.unwrap();
        assert!(r.identical(), "{id}: {r:?}");
        assert!(r
            .stored_notice
            .contains(&format!("\"application_id\":\"{id}\"")));
    }
    println!("decisions reproduced: {} ({decisions:?})", ids.len());
    assert_eq!(
        decisions.len(),
        3,
        "approve, review and reject: {decisions:?}"
    );
    let missing = app.services.reproduce_decision("no-such-application").await;
    assert!(missing.is_err());
}

on_both_backends!(purges_refuse_the_retention_period_and_keep_the_chain_verifiable);

async fn purges_refuse_the_retention_period_and_keep_the_chain_verifiable(backend: Backend) {
    use chrono::Duration;
    use lendscope_service::RequestMeta;
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let start = app.services.now();
    let mut old = Vec::new();
    for i in 0..5 {
        let d = app
            .decide(&key, &crate::helpers::application(&format!("OLD-{i}")))
            .await;
        old.push(d["application_id"].as_str().unwrap().to_owned());
    }
    crate::helpers::label(&app.services, &old[0], "repaid").await;
    app.clock.advance(Duration::days(60));
    let mut kept = Vec::new();
    for i in 0..3 {
        let d = app
            .decide(&key, &crate::helpers::application(&format!("KEPT-{i}")))
            .await;
        kept.push(d["application_id"].as_str().unwrap().to_owned());
    }
    // About 26.5 months after the old decisions; the kept ones are under 25 months old.
    app.clock.advance(Duration::days(30 * 25));
    let meta = RequestMeta::default();
    let young = start + Duration::days(61);
    let err = app
        .services
        .purge(young, "ops", &meta)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("kept at least 25 months"), "{err}");
    assert_eq!(app.services.verify_decisions().await.unwrap().records, 8);

    let cutoff = start + Duration::days(30);
    let plan = app.services.purge_plan(cutoff).await.unwrap();
    assert_eq!((plan.links, plan.decisions), (Some((1, 5)), 5));
    let done = app.services.purge(cutoff, "ops", &meta).await.unwrap();
    assert_eq!(done.decisions, 5);
    let report = app.services.verify_decisions().await.unwrap();
    assert_eq!(report.records, 3);
    assert!(report.broken.is_none(), "{report:?}");
    for id in &old {
        assert!(
            app.services.reproduce_decision(id).await.is_err(),
            "{id} purged"
        );
    }
    for id in &kept {
        assert!(app
            .services
            .reproduce_decision(id)
            .await
            .unwrap()
            .identical());
    }
    // Still append-only afterwards; nothing left to purge; the chain goes on.
    let db = app.services.db();
    assert!(
        sea_orm::ConnectionTrait::execute_unprepared(db, "DELETE FROM decisions")
            .await
            .is_err()
    );
    assert!(app
        .services
        .purge(cutoff, "ops", &meta)
        .await
        .unwrap()
        .links
        .is_none());
    app.decide(&key, &crate::helpers::application("AFTER-PURGE"))
        .await;
    let report = app.services.verify_decisions().await.unwrap();
    assert_eq!(report.records, 4);
    assert!(report.broken.is_none());
    assert!(app
        .audit_actions()
        .await
        .iter()
        .any(|(action, _)| action == "retention.purge"));
}
