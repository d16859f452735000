use lendscope_service::review::{QueueFilter, ReviewAction};
use lendscope_service::{RequestMeta, ServiceError};

use crate::helpers::{application, spawn, Backend, TestApp};

/// Scores `n` applications and returns their ids.
async fn scored(app: &TestApp, key: &str, n: usize, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let mut body = application(&format!("{prefix}-{i}"));
        // Vary the risk so that recommendations differ.
        body["alternative_data"]["payments"]["late_payments_12m"] = serde_json::json!(i % 8);
        body["loan"]["amount"] = serde_json::json!(600 + 150 * (i % 20));
        let d = app.decide(key, &body).await;
        ids.push(d["application_id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn the_queue_puts_manual_review_first_then_age_and_pages_by_keyset(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let ids = scored(&app, &key, 25, "Q").await;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = app
            .services
            .review_queue(&QueueFilter::default(), after.as_deref(), 7)
            .await
            .unwrap();
        assert!(page.items.len() <= 7);
        seen.extend(page.items.iter().cloned());
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen.len(), ids.len(), "every open case exactly once");
    let mut unique: Vec<&str> = seen.iter().map(|c| c.application_id.as_str()).collect();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
    let first_other = seen
        .iter()
        .position(|c| c.recommended != "manual_review")
        .unwrap_or(seen.len());
    assert!(
        seen[first_other..]
            .iter()
            .all(|c| c.recommended != "manual_review"),
        "manual review first"
    );
    for w in seen[first_other..].windows(2) {
        assert!(w[0].created_at <= w[1].created_at, "then oldest first");
    }
    // Filters.
    let filter = QueueFilter {
        min_amount: Some(2000.0),
        ..QueueFilter::default()
    };
    let page = app.services.review_queue(&filter, None, 200).await.unwrap();
    assert!(!page.items.is_empty() && page.items.iter().all(|c| c.amount >= 2000.0));
    let counts = app.services.queue_counts().await.unwrap();
    assert_eq!(counts.open(), 25);
    assert_eq!(
        counts,
        app.services.count_cases_by_state().await.unwrap(),
        "the counts kept in memory agree with the database"
    );
    assert!(app
        .services
        .review_queue(&QueueFilter::default(), Some("bogus"), 10)
        .await
        .is_err());
}

async fn officers_claim_decide_and_decided_cases_leave_the_queue(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    // Counts computed before anything happens, then moved by each event.
    assert_eq!(app.services.queue_counts().await.unwrap().open(), 0);
    let ids = scored(&app, &key, 3, "D").await;
    assert_eq!(app.services.queue_counts().await.unwrap().open(), 3);
    let id = &ids[0];
    let meta = RequestMeta::default();
    let s = &app.services;
    let v1 = s
        .review(id, "olivia", ReviewAction::Claim, 0, None, None, &meta)
        .await
        .unwrap();
    assert_eq!(v1, 1);
    // Another officer cannot act on a claimed case.
    let err = s
        .review(id, "oscar", ReviewAction::Claim, 1, None, None, &meta)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Conflict(ref m) if m.contains("olivia")),
        "{err}"
    );
    // A stale version is refused.
    let err = s
        .review(id, "olivia", ReviewAction::Release, 0, None, None, &meta)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Conflict(_)), "{err}");
    let case = s.case_summary(id).await.unwrap();
    let shown = s.case_file(id).await.unwrap().shown_token;
    // A token that is not this application's is refused, nothing recorded.
    let err = s
        .review(
            id,
            "olivia",
            ReviewAction::Escalate,
            1,
            None,
            Some("forged"),
            &meta,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Invalid(ref f) if f.field == "shown"),
        "{err}"
    );
    let against = if case.recommended == "approve" {
        ReviewAction::Reject
    } else {
        ReviewAction::Approve
    };
    if case.recommended != "manual_review" {
        let err = s
            .review(id, "olivia", against, 1, None, Some(shown.as_str()), &meta)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Invalid(ref f) if f.field == "note"),
            "override needs a note: {err}"
        );
    }
    let v2 = s
        .review(
            id,
            "olivia",
            against,
            1,
            Some("verified income by phone"),
            Some(shown.as_str()),
            &meta,
        )
        .await
        .unwrap();
    assert_eq!(v2, 2);
    let case = s.case_summary(id).await.unwrap();
    assert_eq!(case.state, "decided");
    assert_eq!(
        case.final_decision.map(|d| d.as_str()),
        Some(against.as_str())
    );
    assert!(case.claimed_by.is_none());
    let queue = s
        .review_queue(&QueueFilter::default(), None, 200)
        .await
        .unwrap();
    assert!(
        queue.items.iter().all(|c| &c.application_id != id),
        "decided cases leave the queue"
    );
    let err = s
        .review(
            id,
            "olivia",
            ReviewAction::Approve,
            2,
            Some("again"),
            None,
            &meta,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Conflict(_)),
        "no second decision: {err}"
    );
    let history = s.case_history(id).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|a| a.action.as_str())
            .collect::<Vec<_>>(),
        ["claim", against.as_str()]
    );
    assert_eq!(history[1].note.as_deref(), Some("verified income by phone"));
    let shown_record: serde_json::Value =
        serde_json::from_str(history[1].model_shown.as_deref().unwrap()).unwrap();
    assert_eq!(shown_record["recommended"], case.recommended.as_str());
    assert_eq!(shown_record["decision_hash"], shown.as_str());
    // Escalation moves a case to the front.
    s.review(
        &ids[1],
        "oscar",
        ReviewAction::Escalate,
        0,
        None,
        None,
        &meta,
    )
    .await
    .unwrap();
    let queue = s
        .review_queue(&QueueFilter::default(), None, 200)
        .await
        .unwrap();
    assert_eq!(queue.items[0].application_id, ids[1]);
    assert_eq!(
        s.queue_counts().await.unwrap(),
        s.count_cases_by_state().await.unwrap(),
        "claims, decisions and escalations move the counts kept in memory"
    );
    let stats = s.officer_stats().await.unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].officer, "olivia");
    assert_eq!(stats[0].decisions, 1);
    assert_eq!(stats[0].aided, 1);
    assert_eq!(
        stats[0].overrides,
        u64::from(case.recommended != "manual_review")
    );
    assert_eq!(stats[0].approvals + stats[0].rejections, 1);
    // Review actions are append-only.
    use sea_orm::ConnectionTrait;
    assert!(s
        .db()
        .execute_unprepared("UPDATE review_actions SET note = 'x'")
        .await
        .is_err());
}

async fn two_officers_deciding_at_once_record_one_decision(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let ids = scored(&app, &key, 1, "R").await;
    let id = ids[0].clone();
    let mut tasks = Vec::new();
    for officer in ["olivia", "oscar", "otto", "ophelia"] {
        let s = app.services.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            s.review(
                &id,
                officer,
                ReviewAction::Escalate,
                0,
                Some("double check"),
                None,
                &RequestMeta::default(),
            )
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(ServiceError::Conflict(_)) => {}
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one action takes version 1");
    assert_eq!(app.services.case_history(&id).await.unwrap().len(), 1);
}

crate::on_both_backends!(
    the_queue_puts_manual_review_first_then_age_and_pages_by_keyset,
    officers_claim_decide_and_decided_cases_leave_the_queue,
    two_officers_deciding_at_once_record_one_decision,
);
