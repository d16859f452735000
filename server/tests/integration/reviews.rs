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
        .review(id, "olivia", ReviewAction::Claim, 0, None, None, &[], &meta)
        .await
        .unwrap();
    assert_eq!(v1, 1);
    // Another officer cannot act on a claimed case.
    let err = s
        .review(id, "oscar", ReviewAction::Claim, 1, None, None, &[], &meta)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Conflict(ref m) if m.contains("olivia")),
        "{err}"
    );
    // A stale version is refused.
    let err = s
        .review(
            id,
            "olivia",
            ReviewAction::Release,
            0,
            None,
            None,
            &[],
            &meta,
        )
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
            &[],
            &meta,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Invalid(ref f) if f.field == "shown"),
        "{err}"
    );
    // A rejection states its own reasons (ignored for an approval).
    let why = vec!["O01".to_owned()];
    let against = if case.recommended == "approve" {
        ReviewAction::Reject
    } else {
        ReviewAction::Approve
    };
    if case.recommended != "manual_review" {
        let err = s
            .review(
                id,
                "olivia",
                against,
                1,
                None,
                Some(shown.as_str()),
                &why,
                &meta,
            )
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
            &why,
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
            &[],
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
        &[],
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
                &[],
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
    an_officers_rejection_states_its_own_reasons,
    the_queue_puts_manual_review_first_then_age_and_pages_by_keyset,
    officers_claim_decide_and_decided_cases_leave_the_queue,
    two_officers_deciding_at_once_record_one_decision,
);

/// A rejection needs 1–4 principal reasons from the case's choices (the model's reasons for
/// this applicant first, then the officer catalog); the notice, the history and the compliance
/// trace state exactly those; an approval needs none. Through the service and the page's form.
async fn an_officers_rejection_states_its_own_reasons(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let ids = scored(&app, &key, 2, "W").await;
    let s = &app.services;
    let id = &ids[0];
    let file = s.case_file(id).await.unwrap();
    let model: Vec<&str> = file
        .reason_choices
        .iter()
        .filter(|c| c.from_model)
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(model, file.reasons, "the model's reasons are offered first");
    assert!(file.reason_choices.iter().any(|c| c.code == "O01"));
    async fn reject(
        s: &lendscope_service::Services,
        id: &str,
        shown: &str,
        reasons: &[&str],
    ) -> Result<i32, ServiceError> {
        let reasons: Vec<String> = reasons.iter().map(|r| (*r).to_owned()).collect();
        s.review(
            id,
            "olivia",
            ReviewAction::Reject,
            0,
            Some("checked the documents"),
            Some(shown),
            &reasons,
            &RequestMeta::default(),
        )
        .await
    }
    let shown = file.shown_token.clone();
    for bad in [
        vec![],
        vec!["O01", "O02", "O03", "O04", "O05"],
        vec!["X99"],
        vec!["O01", "O01"],
    ] {
        let err = reject(s, id, &shown, &bad).await.unwrap_err();
        assert!(
            matches!(err, ServiceError::Invalid(ref f) if f.field == "reasons"),
            "{bad:?}: {err}"
        );
    }
    assert!(
        s.case_history(id).await.unwrap().is_empty(),
        "nothing recorded"
    );
    reject(s, id, &shown, &["O01", "O03"]).await.unwrap();
    let stated = ["Unable to verify income", "Incomplete application"];
    let token = file.notice_url.trim_start_matches("/notice/");
    let notice = s.notice_by_token(token).await.unwrap();
    assert_eq!(notice.decision, "reject");
    assert_eq!(notice.reasons, stated, "exactly the officer's reasons");
    assert!(notice.ecoa_statement.is_some());
    let history = s.history_entries(id).await.unwrap();
    assert_eq!(history[0].reasons, stated);
    let trace = s.decision_trace(id).await.unwrap();
    assert_eq!(trace.actions[0].reasons, stated);
    assert_eq!(trace.final_decision.map(|d| d.as_str()), Some("reject"));

    // Through the case page's form: reasons in reason_1…reason_4; an approval needs none.
    app.add_user("oscar", lendscope_domain::Role::Officer).await;
    let oscar = app.login_as("oscar").await;
    let other = &ids[1];
    async fn post(
        app: &TestApp,
        who: &crate::helpers::Session,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut form: Vec<(&str, &str)> = vec![("csrf", who.csrf.as_str())];
        form.extend_from_slice(fields);
        app.post_form("/rpc/case/review", &form, Some(&who.cookie), false)
            .await
    }
    let res = post(
        &app,
        &oscar,
        &[
            ("id", other),
            ("action", "reject"),
            ("version", "0"),
            ("note", "n"),
            ("reason_1", ""),
        ],
    )
    .await;
    assert_eq!(res.status(), 422);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["field"], "reasons", "{body}");
    let res = post(
        &app,
        &oscar,
        &[
            ("id", other),
            ("action", "reject"),
            ("version", "0"),
            ("note", "n"),
            ("reason_1", "O02"),
        ],
    )
    .await;
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    let notice = s.notice_for_application(other, "partner").await.unwrap().0;
    assert_eq!(
        notice.reasons,
        ["Insufficient income for the amount of credit requested"]
    );
}
