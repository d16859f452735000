use crate::helpers::{application, spawn, Backend};

async fn a_decision_is_complete_explained_and_chained(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let res = app.post_application(&key, &application("A-1"), None).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let d: serde_json::Value = res.json().await.unwrap();
    let id = d["application_id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v1/applications/{id}"));
    assert!(["approve", "manual_review", "reject"].contains(&d["decision"].as_str().unwrap()));
    assert_eq!(d["model"]["role"], "champion");
    assert_eq!(d["model"]["version"], 1);
    let pd = d["probability_of_default"].as_f64().unwrap();
    let e = &d["explanation"];
    let total: f64 = e["contributions"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_f64().unwrap())
        .sum::<f64>()
        + e["base_value"].as_f64().unwrap();
    let margin = e["margin"].as_f64().unwrap();
    assert!(
        (total - margin).abs() < 1e-5,
        "base value + contributions = margin"
    );
    assert!((pd - 1.0 / (1.0 + (-margin).exp())).abs() < 1e-6);
    assert!(d["score"].as_i64().unwrap() > 300);
    assert!(d["risk_band"].as_str().is_some());
    let reasons = d["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty() && reasons.len() <= 4, "{reasons:?}");
    for r in reasons {
        assert!(
            r["code"].as_str().unwrap().starts_with('R')
                || r["code"].as_str().unwrap().starts_with('P')
        );
        assert!(!r["feature"].as_str().unwrap().contains("protected"));
        assert!(r["contribution"].as_f64().unwrap() >= 0.0);
        assert!(!r["text"].as_str().unwrap().is_empty());
    }
    assert!(
        !d.to_string().contains("female"),
        "protected attributes never appear in a decision"
    );
    // Stored with the model version, the shadow result and the policy.
    let record =
        serde_json::to_value(app.services.decision_record(id, None).await.unwrap()).unwrap();
    assert_eq!(record["shadow"]["model"]["role"], "challenger");
    assert!(record["shadow"]["probability_of_default"]
        .as_f64()
        .is_some());
    assert_eq!(record["policy"]["version"], "default-1");
    assert_eq!(record["protected"]["gender"], "female");
    // Readable again by its client.
    let got: serde_json::Value = app.get_api(&key, &location).await;
    assert_eq!(got["application_id"], d["application_id"]);
    assert!(got["outcome"].is_null());
    let report = app.services.verify_decisions().await.unwrap();
    assert_eq!(report.records, 1);
    assert!(report.broken.is_none());
}

async fn routing_is_sticky_and_the_other_model_shadows(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(50).await;
    let mut roles = std::collections::HashSet::new();
    for i in 0..30 {
        let id = format!("applicant-{i}");
        let a: serde_json::Value = app.decide(&key, &application(&id)).await;
        let b: serde_json::Value = app.decide(&key, &application(&id)).await;
        assert_eq!(a["model"]["role"], b["model"]["role"], "sticky for {id}");
        let role = a["model"]["role"].as_str().unwrap().to_owned();
        let record = serde_json::to_value(
            app.services
                .decision_record(a["application_id"].as_str().unwrap(), None)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_ne!(
            record["shadow"]["model"]["role"].as_str().unwrap(),
            role,
            "the other model shadows"
        );
        roles.insert(role);
    }
    assert_eq!(roles.len(), 2, "both models serve at a 50 % share");
}

async fn idempotency_keys_replay_refuse_and_serialise(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let body = application("A-7");
    let first = app.post_application(&key, &body, Some("order-1")).await;
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = app.post_application(&key, &body, Some("order-1")).await;
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.json::<serde_json::Value>().await.unwrap(),
        first,
        "the stored response again"
    );
    let mut other = body.clone();
    other["loan"]["amount"] = serde_json::json!(2000);
    let refused = app.post_application(&key, &other, Some("order-1")).await;
    assert_eq!(refused.status(), 422);
    let err: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(err["error"]["field"], "Idempotency-Key");
    assert_eq!(app.decisions().await, 1);
    // Concurrent duplicates: exactly one decision is made.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let body = body.clone();
        let key = key.clone();
        let client = app.client.clone();
        let url = app.url("/api/v1/applications");
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .header("idempotency-key", "order-2")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|&&s| s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| [200, 201, 409].contains(s)),
        "{statuses:?}"
    );
    assert_eq!(app.decisions().await, 2);
}

async fn bad_applications_are_refused_by_field_and_nothing_is_stored(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let valid = application("A-9").to_string();
    let with = |from: &str, to: &str| {
        assert!(valid.contains(from), "{from}");
        valid.replace(from, to).into_bytes()
    };
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "NaN",
            with("\"amount\":1800", "\"amount\":NaN"),
            "application/json",
            422,
            "loan.amount",
        ),
        (
            "+Infinity",
            with("\"amount\":1800", "\"amount\":Infinity"),
            "application/json",
            422,
            "loan.amount",
        ),
        (
            "-Infinity",
            with("\"amount\":1800", "\"amount\":-Infinity"),
            "application/json",
            422,
            "loan.amount",
        ),
        (
            "1e400",
            with("\"amount\":1800", "\"amount\":1e400"),
            "application/json",
            422,
            "loan.amount",
        ),
        (
            "1e-400",
            with("\"amount\":1800", "\"amount\":1e-400"),
            "application/json",
            422,
            "loan.amount",
        ),
        (
            "negative amount",
            with("\"amount\":1800", "\"amount\":-100"),
            "application/json",
            422,
            "loan.amount",
        ),
        (
            "zero amount",
            with("\"amount\":1800", "\"amount\":0"),
            "application/json",
            422,
            "loan.amount",
        ),
        (
            "ratio above 1",
            with("\"rent_on_time_ratio\":0.71", "\"rent_on_time_ratio\":1.2"),
            "application/json",
            422,
            "alternative_data.payments.rent_on_time_ratio",
        ),
        (
            "missing field",
            with(",\"term_months\":12", ""),
            "application/json",
            422,
            "loan.term_months",
        ),
        (
            "unknown field",
            with(
                "\"purpose\":\"emergency\"",
                "\"purpose\":\"emergency\",\"colour\":\"red\"",
            ),
            "application/json",
            422,
            "loan.colour",
        ),
        (
            "wrong type",
            with("\"amount\":1800", "\"amount\":\"1800\""),
            "application/json",
            422,
            "loan.amount",
        ),
        ("empty body", Vec::new(), "application/json", 422, "body"),
        (
            "not an object",
            b"[]".to_vec(),
            "application/json",
            422,
            "body",
        ),
        (
            "invalid UTF-8",
            vec![b'{', 0xff, 0xfe, b'}'],
            "application/json",
            422,
            "body",
        ),
        (
            "wrong content type",
            valid.clone().into_bytes(),
            "text/plain",
            415,
            "",
        ),
        (
            "oversized body",
            format!("{{\"pad\":\"{}\"}}", "x".repeat(70 * 1024)).into_bytes(),
            "application/json",
            413,
            "",
        ),
    ];
    for (name, body, content_type, status, field) in cases {
        let res = app
            .client
            .post(app.url("/api/v1/applications"))
            .bearer_auth(&key)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{name}");
        let err: serde_json::Value = res
            .json()
            .await
            .unwrap_or_else(|_| panic!("{name}: JSON error body"));
        if !field.is_empty() {
            assert_eq!(err["error"]["field"], field, "{name}: {err}");
        }
        assert!(err["error"]["message"].as_str().is_some(), "{name}");
    }
    for auth in [None, Some("Bearer lsk_not-a-key")] {
        let mut req = app
            .client
            .post(app.url("/api/v1/applications"))
            .header("content-type", "application/json")
            .body(valid.clone());
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
    }
    assert_eq!(app.decisions().await, 0, "nothing stored");
}

async fn outcomes_are_recorded_once(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let d: serde_json::Value = app.decide(&key, &application("A-3")).await;
    let id = d["application_id"].as_str().unwrap();
    let post = |body: serde_json::Value| {
        let app = &app;
        let key = key.clone();
        async move {
            app.client
                .post(app.url(&format!("/api/v1/applications/{id}/outcome")))
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap()
        }
    };
    let later = (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339();
    // Only an approved application is a loan with an outcome: this risky applicant was not
    // approved by the model, so the outcome is refused with the reason and nothing is stored.
    assert_ne!(d["decision"], "approve", "{d}");
    let refused = post(serde_json::json!({"outcome": "repaid", "observed_at": later})).await;
    assert_eq!(refused.status(), 409);
    let body: serde_json::Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("approved loans only"), "{body}");
    assert!(
        message.contains(d["decision"].as_str().unwrap()) || message.contains("review"),
        "{body}"
    );
    let view: serde_json::Value = app
        .get_api(&key, &format!("/api/v1/applications/{id}"))
        .await;
    assert!(view["outcome"].is_null(), "nothing stored: {view}");
    // An officer's rejection is no loan either; an officer's approval is.
    let other = app.decide(&key, &application("A-3b")).await;
    let other_id = other["application_id"].as_str().unwrap();
    use lendscope_service::review::ReviewAction;
    let meta = lendscope_service::RequestMeta::default();
    let note = Some("checked the documents");
    app.services
        .review(
            other_id,
            "olivia",
            ReviewAction::Reject,
            0,
            note,
            None,
            &["O01".to_owned()],
            &meta,
        )
        .await
        .unwrap();
    let rejected = app
        .services
        .record_outcome(other_id, "partner", "repaid", app.services.now())
        .await
        .unwrap_err()
        .to_string();
    assert!(rejected.contains("officer: reject"), "{rejected}");
    app.services
        .review(
            id,
            "olivia",
            ReviewAction::Approve,
            0,
            note,
            None,
            &[],
            &meta,
        )
        .await
        .unwrap();
    assert_eq!(
        post(serde_json::json!({"outcome": "repaid", "observed_at": later}))
            .await
            .status(),
        201
    );
    assert_eq!(
        post(serde_json::json!({"outcome": "repaid", "observed_at": later}))
            .await
            .status(),
        200
    );
    let conflict = post(serde_json::json!({"outcome": "defaulted", "observed_at": later})).await;
    assert_eq!(conflict.status(), 409);
    for (body, field) in [
        (
            serde_json::json!({"outcome": "paid", "observed_at": later}),
            "outcome",
        ),
        (
            serde_json::json!({"outcome": "repaid", "observed_at": "yesterday"}),
            "observed_at",
        ),
        (serde_json::json!({"outcome": "repaid"}), "observed_at"),
        (
            serde_json::json!({"outcome": "repaid", "observed_at": later, "x": 1}),
            "x",
        ),
    ] {
        let res = post(body).await;
        assert_eq!(res.status(), 422);
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["error"]["field"], field);
    }
    let missing = app
        .client
        .post(app.url("/api/v1/applications/00000000-0000-4000-8000-000000000000/outcome"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(serde_json::json!({"outcome": "repaid", "observed_at": later}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let view: serde_json::Value = app
        .get_api(&key, &format!("/api/v1/applications/{id}"))
        .await;
    assert_eq!(view["outcome"]["outcome"], "repaid");

    // An automatic approval with an outcome is a disbursed loan: an officer can no longer
    // reject it.
    let mut good: serde_json::Value =
        serde_json::from_str(include_str!("../../../examples/application.json")).unwrap();
    good["applicant"]["id"] = "A-3-GOOD".into();
    good["alternative_data"]["payments"]["late_payments_12m"] = 0.into();
    let g = app.decide(&key, &good).await;
    assert_eq!(g["decision"], "approve", "{g}");
    let gid = g["application_id"].as_str().unwrap();
    app.services
        .record_outcome(gid, "partner", "repaid", app.services.now())
        .await
        .unwrap();
    let refused = app
        .services
        .review(
            gid,
            "olivia",
            ReviewAction::Reject,
            0,
            note,
            None,
            &["O01".to_owned()],
            &meta,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("observed outcome"), "{refused}");
}

async fn notices_state_the_reasons_at_an_unguessable_link(backend: Backend) {
    use lendscope_service::scoring::policy::DecisionPolicy;
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    // A strict policy so that the application is declined.
    let strict = DecisionPolicy {
        version: "strict".into(),
        approve_below: 0.001,
        reject_from: 0.002,
        ..DecisionPolicy::default()
    };
    app.services
        .set_policy(strict, lendscope_service::Actor::System)
        .await
        .unwrap();
    let d: serde_json::Value = app.decide(&key, &application("A-4")).await;
    assert_eq!(d["decision"], "reject");
    assert_eq!(d["policy"]["version"], "strict");
    let id = d["application_id"].as_str().unwrap();
    let notice: serde_json::Value = app
        .get_api(&key, &format!("/api/v1/applications/{id}/notice"))
        .await;
    let reasons = notice["reasons"].as_array().unwrap();
    assert!(!reasons.is_empty() && reasons.len() <= 4);
    assert!(notice["ecoa_statement"]
        .as_str()
        .unwrap()
        .contains("Equal Credit Opportunity Act"));
    assert!(
        !notice.to_string().contains("probability"),
        "no internal scores"
    );
    let url = notice["notice_url"].as_str().unwrap();
    assert_eq!(url, d["notice_url"].as_str().unwrap());
    let token = url.trim_start_matches("/notice/");
    assert!(token.len() >= 43, "256-bit token");
    let page = app.get(url, None).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(reasons[0].as_str().unwrap()),
        "the page states the first reason"
    );
    assert!(html.contains("reviewed by a person"));
    assert_eq!(
        app.get("/notice/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", None)
            .await
            .status(),
        404
    );
    // Kill switch: everything to manual review.
    let off = DecisionPolicy {
        version: "kill".into(),
        kill_switch: true,
        ..DecisionPolicy::default()
    };
    app.services
        .set_policy(off, lendscope_service::Actor::System)
        .await
        .unwrap();
    let d: serde_json::Value = app.decide(&key, &application("A-5")).await;
    assert_eq!(d["decision"], "manual_review");
    assert_eq!(d["policy"]["rule"], "kill_switch");
}

async fn out_of_product_requests_are_declined_by_rule(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let mut body = application("A-6");
    body["loan"]["amount"] = serde_json::json!(9000);
    let d: serde_json::Value = app.decide(&key, &body).await;
    assert_eq!(d["decision"], "reject");
    assert_eq!(d["policy"]["rule"], "amount_out_of_range");
    assert_eq!(d["reasons"][0]["code"], "P01");
    // The rule decided, not the model: the notice states the rule's reason only.
    assert_eq!(
        d["reasons"].as_array().unwrap().len(),
        1,
        "{}",
        d["reasons"]
    );
}

async fn concurrent_decisions_share_commits_and_keep_the_chain(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(30).await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let client = app.client.clone();
        let url = app.url("/api/v1/applications");
        let key = key.clone();
        let body = application(&format!("C-{i}")).to_string();
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(key)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let report = app.services.verify_decisions().await.unwrap();
    assert_eq!(report.records, 40);
    assert!(report.broken.is_none(), "{report:?}");
}

async fn openapi_and_metrics_are_served(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(50).await;
    for i in 0..6 {
        assert_eq!(
            app.post_application(&key, &application(&format!("M-{i}")), None)
                .await
                .status(),
            201
        );
    }
    let spec: serde_json::Value = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["openapi"], "3.0.3");
    for path in [
        "/api/v1/applications",
        "/api/v1/applications/{id}",
        "/api/v1/applications/{id}/notice",
        "/api/v1/applications/{id}/outcome",
    ] {
        assert!(spec["paths"][path].is_object(), "{path}");
    }
    // The README's example body is valid against the service (and so, by construction, the schema).
    let example: serde_json::Value =
        serde_json::from_str(include_str!("../../../examples/application.json")).unwrap();
    assert_eq!(
        app.post_application(&key, &example, None).await.status(),
        201
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("lendscope_decisions_total{decision="),
        "{metrics}"
    );
    assert!(metrics.contains("lendscope_decision_commit_seconds_count"));
    assert!(metrics.contains("lendscope_shadow_comparisons_total{served_role="));
    assert!(metrics.contains("lendscope_http_request_duration_seconds_bucket{route=\"/api/v1/applications\",method=\"POST\",status=\"2xx\""));
    let total: u64 = metrics
        .lines()
        .filter(|l| l.starts_with("lendscope_decisions_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 7);
}

crate::on_both_backends!(
    openapi_and_metrics_are_served,
    a_decision_is_complete_explained_and_chained,
    routing_is_sticky_and_the_other_model_shadows,
    idempotency_keys_replay_refuse_and_serialise,
    bad_applications_are_refused_by_field_and_nothing_is_stored,
    outcomes_are_recorded_once,
    notices_state_the_reasons_at_an_unguessable_link,
    out_of_product_requests_are_declined_by_rule,
    concurrent_decisions_share_commits_and_keep_the_chain,
);
