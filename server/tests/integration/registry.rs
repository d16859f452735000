//! The model registry: pages, four-eyes promotion, expiry, rollback, archiving, bad input.

use lendscope_domain::governance::RunRow;
use lendscope_domain::{RejectInference, Role};
use lendscope_server::cli::demo::generated_applicants;
use lendscope_service::registry::GateSettings;
use lendscope_service::RequestMeta;

use crate::helpers::{lenient_gate as lenient, redirected_to, spawn, Backend, Session, TestApp};
use crate::on_both_backends;

on_both_backends!(
    promotion_needs_a_second_admin_and_rollback_restores,
    the_gate_blocks_requests_and_requests_expire,
    bad_registry_actions_change_nothing,
    compliance_traces_a_decision_to_its_model_and_approvers,
    the_upload_form_registers_or_refuses_with_the_reason,
    retraining_registers_a_challenger_with_its_lineage,
    a_live_share_needs_the_gate_and_a_second_admin,
);

/// Scores `n` generated applications through the API; records the outcome of each when
/// `labelled`. Returns the application ids.
async fn traffic(app: &TestApp, key: &str, n: usize, seed: u64, labelled: bool) -> Vec<String> {
    let applicants = generated_applicants(seed, n, &format!("T{seed}")).unwrap();
    app.score_all(key, applicants, labelled).await
}

async fn act(app: &TestApp, s: &Session, form: &[(&str, &str)]) -> reqwest::Response {
    let mut f = form.to_vec();
    f.push(("csrf", &s.csrf));
    app.post_form("/rpc/models/act", &f, Some(&s.cookie), false)
        .await
}

/// The version of the champion serving now: applicants are scored until one is routed to
/// the champion (the challenger takes its share of applicants).
async fn champion_version(app: &TestApp, key: &str, prefix: &str) -> i64 {
    for i in 0..40 {
        let d = app
            .decide(
                key,
                &crate::helpers::application(&format!("{prefix}-{i:04}")),
            )
            .await;
        if d["model"]["role"] == "champion" {
            return d["model"]["version"].as_i64().unwrap();
        }
    }
    panic!("no applicant was routed to the champion");
}

async fn promotion_needs_a_second_admin_and_rollback_restores(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(20).await;
    app.services.set_gate_settings(lenient());
    for (name, role) in [
        ("ada", Role::Admin),
        ("bob", Role::Admin),
        ("otto", Role::Officer),
    ] {
        app.add_user(name, role).await;
    }
    traffic(&app, &key, 160, 11, true).await;
    let (first, second) = (
        app.services.compare_serving().await.unwrap(),
        app.services.compare_serving().await.unwrap(),
    );
    assert!(first.auc.is_some());
    assert_eq!(
        first.auc, second.auc,
        "the same data gives the same intervals"
    );
    let (ada, bob, otto) = (
        app.login_as("ada").await,
        app.login_as("bob").await,
        app.login_as("otto").await,
    );

    let page = app.get("/models", Some(&ada.cookie)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for expected in [
        "Serving now",
        "fixture v1",
        "fixture v2",
        "Training runs",
        "% of applicants",
    ] {
        assert!(html.contains(expected), "{expected} missing on /models");
    }
    let cmp = app.get("/models/compare", Some(&ada.cookie)).await;
    assert_eq!(cmp.status(), 200);
    let html = cmp.text().await.unwrap();
    assert!(html.contains("Promotion gate"), "{html}");
    assert!(
        html.contains("on 160 labelled decisions"),
        "labelled comparison shown"
    );
    assert!(html.contains("AUC (95% CI)"));
    assert!(html.matches("<svg").count() >= 1, "distribution chart");
    assert!(
        html.contains("Request promotion"),
        "the gate passes: {html}"
    );

    assert_eq!(app.get("/models", Some(&otto.cookie)).await.status(), 403);
    let res = act(
        &app,
        &ada,
        &[("action", "request"), ("note", "better on recent data")],
    )
    .await;
    assert_eq!(redirected_to(&res).as_deref(), Some("/models?done=request"));
    let again = act(&app, &ada, &[("action", "request"), ("note", "twice")]).await;
    assert_eq!(again.status(), 409);
    assert!(again.text().await.unwrap().contains("still open"));
    let req_id = app.services.registry_view().await.unwrap().promotions[0]
        .id
        .to_string();

    // Four eyes: the requester cannot approve; an officer cannot act at all.
    let own = act(&app, &ada, &[("action", "approve"), ("request", &req_id)]).await;
    assert_eq!(own.status(), 409);
    assert!(own.text().await.unwrap().contains("four eyes"));
    let officer = act(&app, &otto, &[("action", "approve"), ("request", &req_id)]).await;
    assert_eq!(officer.status(), 403);
    assert_eq!(champion_version(&app, &key, "STILL-V1").await, 1);

    let page = app
        .get("/models", Some(&bob.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Approve promotion"),
        "bob sees the approval form"
    );
    let ok = act(
        &app,
        &bob,
        &[
            ("action", "approve"),
            ("request", &req_id),
            ("note", "checked"),
        ],
    )
    .await;
    assert_eq!(redirected_to(&ok).as_deref(), Some("/models?done=approve"));
    let twice = act(&app, &bob, &[("action", "approve"), ("request", &req_id)]).await;
    assert_eq!(twice.status(), 409);
    // The next application is scored by the new champion (this process sees it at once).
    assert_eq!(champion_version(&app, &key, "AFTER-PROMOTION").await, 2);
    let rows = app.services.model_rows().await.unwrap();
    let v1 = rows.iter().find(|m| m.version == 1).unwrap();
    let v2 = rows.iter().find(|m| m.version == 2).unwrap();
    assert_eq!(v2.alias.as_deref(), Some("champion"));
    assert_eq!(v1.alias, None);
    assert!(v1.was_champion);
    let detail = app
        .get(&format!("/models/{}", v2.id), Some(&ada.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        detail.contains("requested by ada, approved by bob"),
        "{detail}"
    );
    assert!(detail.contains("Realized performance"));
    assert!(
        detail.contains("ROC curve"),
        "realized ROC chart on 160 labelled decisions"
    );

    // Rollback to the earlier champion, by one admin, with a reason.
    let no_reason = act(
        &app,
        &ada,
        &[("action", "rollback"), ("model", &v1.id.to_string())],
    )
    .await;
    assert_eq!(no_reason.status(), 422);
    let back = act(
        &app,
        &ada,
        &[
            ("action", "rollback"),
            ("model", &v1.id.to_string()),
            ("note", "incident 42"),
        ],
    )
    .await;
    assert_eq!(
        redirected_to(&back).as_deref(),
        Some("/models?done=rollback")
    );
    assert_eq!(champion_version(&app, &key, "AFTER-ROLLBACK").await, 1);

    let actions = app.audit_actions().await;
    for (action, outcome) in [
        ("model.promotion.request", "success"),
        ("model.promotion.resolve", "denied"),
        ("model.promotion.resolve", "success"),
        ("model.rollback", "success"),
    ] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == outcome),
            "{action}/{outcome} not audited"
        );
    }
}

async fn the_gate_blocks_requests_and_requests_expire(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(50).await;
    for name in ["ada", "bob"] {
        app.add_user(name, Role::Admin).await;
    }
    let ada = app.login_as("ada").await;
    // No outcomes yet: the performance check cannot pass, so nothing can be requested.
    traffic(&app, &key, 40, 21, false).await;
    let c = app.services.compare_serving().await.unwrap();
    assert!(!c.gate_passed);
    let perf = &c.gate[0];
    assert!(
        !perf.passed && perf.measured.contains("needs at least 100"),
        "{perf:?}"
    );
    assert!(c.shadow_compared > 0, "live shadow comparisons counted");
    let refused = act(&app, &ada, &[("action", "request"), ("note", "please")]).await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("gate does not pass"));
    assert!(app
        .services
        .registry_view()
        .await
        .unwrap()
        .promotions
        .is_empty());

    // With labelled data and a lenient gate a request is made, then it expires.
    traffic(&app, &key, 120, 22, true).await;
    app.services.set_gate_settings(lenient());
    let res = act(&app, &ada, &[("action", "request"), ("note", "ok")]).await;
    if redirected_to(&res).is_none() {
        let gate = app.services.compare_serving().await.unwrap().gate;
        panic!("{} {}\n{gate:#?}", res.status(), res.text().await.unwrap());
    }
    let req = app.services.registry_view().await.unwrap().promotions[0].clone();
    assert_eq!(req.state, "open");
    app.clock.advance(chrono::Duration::hours(25));
    // The earlier sessions timed out meanwhile.
    let (ada, bob) = (app.login_as("ada").await, app.login_as("bob").await);
    let late = act(
        &app,
        &bob,
        &[("action", "approve"), ("request", &req.id.to_string())],
    )
    .await;
    assert_eq!(late.status(), 409);
    assert!(late.text().await.unwrap().contains("expired"));
    let view = app.services.registry_view().await.unwrap();
    assert_eq!(view.promotions[0].state, "expired");
    let champion = view
        .models
        .iter()
        .find(|m| m.alias.as_deref() == Some("champion"))
        .unwrap();
    assert_eq!(champion.version, 1, "registry unchanged");

    // A strict fairness bound (0 gap allowed) blocks the gate with the attribute named.
    app.services.set_gate_settings(GateSettings {
        max_parity_difference: 0.0,
        ..lenient()
    });
    let c = app.services.compare_serving().await.unwrap();
    assert!(c
        .gate
        .iter()
        .any(|g| g.name == "Demographic parity (gender)" && !g.passed));
    app.services.set_gate_settings(lenient());

    // A new request; its version is then replaced as challenger and archived: the approval
    // is refused. Then two admins approve a fresh request at the same moment: one wins.
    let res = act(&app, &ada, &[("action", "request"), ("note", "again")]).await;
    assert!(redirected_to(&res).is_some(), "{}", res.status());
    let req = app.services.registry_view().await.unwrap().promotions[0]
        .id
        .to_string();
    let ((m, sch, c), _) = crate::helpers::fixture_models().clone();
    let v3 = app
        .services
        .register_model("fixture", &m, &sch, &c, lendscope_service::Actor::System)
        .await
        .unwrap();
    let v2 = view.models.iter().find(|m| m.version == 2).unwrap().id;
    app.services
        .make_challenger(v3.id, "ada", &RequestMeta::default())
        .await
        .unwrap();
    app.services
        .archive_model(v2, "ada", "withdrawn", &RequestMeta::default())
        .await
        .unwrap();
    let res = act(&app, &bob, &[("action", "approve"), ("request", &req)]).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("archived"));
    let other = act(&app, &bob, &[("action", "cancel"), ("request", &req)]).await;
    assert_eq!(other.status(), 409, "only the requester cancels");
    let cancelled = act(&app, &ada, &[("action", "cancel"), ("request", &req)]).await;
    assert_eq!(
        redirected_to(&cancelled).as_deref(),
        Some("/models?done=cancel"),
        "the refused approval left the request open"
    );

    app.add_user("cem", Role::Admin).await;
    let cem = app.login_as("cem").await;
    traffic(&app, &key, 30, 23, true).await;
    let res = act(&app, &ada, &[("action", "request"), ("note", "v3")]).await;
    assert!(redirected_to(&res).is_some(), "{}", res.status());
    let req = app.services.registry_view().await.unwrap().promotions[0]
        .id
        .to_string();
    let approve = |s: Session| {
        let (req, app) = (req.clone(), &app);
        async move {
            let form = [
                ("action", "approve"),
                ("request", req.as_str()),
                ("csrf", s.csrf.as_str()),
            ];
            app.post_form("/rpc/models/act", &form, Some(&s.cookie), false)
                .await
        }
    };
    let (x, y) = tokio::join!(approve(bob.clone()), approve(cem));
    let mut statuses = [x.status().as_u16(), y.status().as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "one approval wins");
    let rows = app.services.model_rows().await.unwrap();
    assert_eq!(
        rows.iter()
            .find(|m| m.alias.as_deref() == Some("champion"))
            .unwrap()
            .id,
        v3.id
    );
}

async fn bad_registry_actions_change_nothing(backend: Backend) {
    let app = spawn(backend).await;
    app.with_scoring(20).await;
    app.add_user("ada", Role::Admin).await;
    let ada = app.login_as("ada").await;
    let rows = app.services.model_rows().await.unwrap();
    let (champion, challenger) = (
        rows.iter().find(|m| m.version == 1).unwrap().id.to_string(),
        rows.iter().find(|m| m.version == 2).unwrap().id.to_string(),
    );
    for (form, status, needle) in [
        (
            vec![("action", "share"), ("percent", "150")],
            422,
            "percent",
        ),
        (vec![("action", "share"), ("percent", "x")], 422, "percent"),
        (
            vec![
                ("action", "archive"),
                ("model", &challenger),
                ("note", "old"),
            ],
            409,
            "challenger",
        ),
        (
            vec![("action", "archive"), ("model", &champion), ("note", "old")],
            409,
            "champion",
        ),
        (
            vec![("action", "archive"), ("model", "abc"), ("note", "x")],
            422,
            "model",
        ),
        (
            vec![
                ("action", "rollback"),
                ("model", &challenger),
                ("note", "x"),
            ],
            409,
            "never was",
        ),
        (
            vec![("action", "challenger"), ("model", &champion)],
            409,
            "champion",
        ),
        (vec![("action", "challenger"), ("model", "999999")], 404, ""),
        (
            vec![("action", "explode"), ("request", "1")],
            422,
            "resolution",
        ),
        (vec![("action", "approve"), ("request", "999999")], 404, ""),
    ] {
        let res = act(&app, &ada, &form).await;
        assert_eq!(res.status(), status, "{form:?}");
        let body = res.text().await.unwrap();
        assert!(body.contains(needle), "{form:?}: {body}");
    }
    // An oversized artifact is refused before it is parsed.
    let huge = format!("{{\"pad\":\"{}\"}}", "x".repeat(33 * 1024 * 1024));
    let err = app
        .services
        .register_model(
            "fixture",
            &huge,
            "{}",
            "{}",
            lendscope_service::Actor::System,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exceeds 32 MiB"), "{err}");
    // Archive a version that serves nothing; it can then not become challenger.
    let ((m, s, c), _) = crate::helpers::fixture_models().clone();
    let third = app
        .services
        .register_model("fixture", &m, &s, &c, lendscope_service::Actor::System)
        .await
        .unwrap();
    let id = third.id.to_string();
    let res = act(
        &app,
        &ada,
        &[
            ("action", "archive"),
            ("model", &id),
            ("note", "superseded"),
        ],
    )
    .await;
    assert_eq!(redirected_to(&res).as_deref(), Some("/models?done=archive"));
    let res = act(&app, &ada, &[("action", "challenger"), ("model", &id)]).await;
    assert_eq!(res.status(), 409);
    assert!(res.text().await.unwrap().contains("archived"));
    let rows = app.services.model_rows().await.unwrap();
    assert_eq!(
        rows.iter()
            .filter_map(|m| m.alias.clone())
            .collect::<Vec<_>>()
            .len(),
        2,
        "aliases unchanged"
    );
    assert!(rows.iter().find(|m| m.id == third.id).unwrap().archived);
    assert_eq!(app.services.serving_share().await.unwrap(), 20);
    // A version page that does not exist is a 404 page.
    assert_eq!(
        app.get("/models/999999", Some(&ada.cookie)).await.status(),
        404
    );
}

async fn compliance_traces_a_decision_to_its_model_and_approvers(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    app.services.set_gate_settings(lenient());
    for (name, role) in [
        ("ada", Role::Admin),
        ("bob", Role::Admin),
        ("carla", Role::Compliance),
        ("otto", Role::Officer),
    ] {
        app.add_user(name, role).await;
    }
    traffic(&app, &key, 120, 31, true).await;
    let (ada, bob) = (app.login_as("ada").await, app.login_as("bob").await);
    act(
        &app,
        &ada,
        &[("action", "request"), ("note", "quarterly refresh")],
    )
    .await;
    let req = app.services.registry_view().await.unwrap().promotions[0]
        .id
        .to_string();
    let res = act(&app, &bob, &[("action", "approve"), ("request", &req)]).await;
    assert!(redirected_to(&res).is_some());
    let d = app
        .decide(&key, &crate::helpers::application("TRACE-ME-0001"))
        .await;
    let id = d["application_id"].as_str().unwrap();

    let carla = app.login_as("carla").await;
    let otto = app.login_as("otto").await;
    assert_eq!(
        app.get("/audit/decisions", Some(&otto.cookie))
            .await
            .status(),
        403
    );
    let found = app
        .get(&format!("/audit/decisions?q={id}"), Some(&carla.cookie))
        .await;
    let (status, location) = (found.status(), found.headers().get("location").cloned());
    let found = found.text().await.unwrap();
    assert!(
        found.contains(&format!("/audit/decisions/{id}")),
        "{status} {location:?} {found}"
    );
    let today = app.services.now().format("%Y-%m-%d").to_string();
    let by_day = app.services.find_decisions(&today).await.unwrap();
    assert_eq!(by_day.len(), 121);
    let page = app
        .get(&format!("/audit/decisions/{id}"), Some(&carla.cookie))
        .await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for expected in [
        "fixture v2",
        "requested by ada, approved by bob",
        "verified: previous-hash, hash and columns agree",
        "hash chain intact",
        "Policy version",
    ] {
        assert!(html.contains(expected), "{expected} missing:\n{html}");
    }
    let missing = app
        .get("/audit/decisions/no-such-id", Some(&carla.cookie))
        .await;
    assert_eq!(missing.status(), 404);
    let bad = app.services.find_decisions("").await;
    assert!(bad.is_err());
}

/// A multipart/form-data body with text fields and files.
fn multipart(parts: &[(&str, Option<&str>, &str)]) -> (String, Vec<u8>) {
    let boundary = "----lendscope-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/json\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(content.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn the_upload_form_registers_or_refuses_with_the_reason(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("ada", Role::Admin).await;
    app.add_user("otto", Role::Officer).await;
    let ada = app.login_as("ada").await;
    let otto = app.login_as("otto").await;
    let ((model, schema, card), _) = crate::helpers::fixture_models().clone();
    let post = |cookie: String, parts: Vec<(&'static str, Option<&'static str>, String)>| {
        let app = &app;
        async move {
            let borrowed: Vec<(&str, Option<&str>, &str)> =
                parts.iter().map(|(n, f, c)| (*n, *f, c.as_str())).collect();
            let (ct, body) = multipart(&borrowed);
            app.client
                .post(app.url("/models/upload"))
                .headers(app.browser_post_headers(true))
                .header("content-type", ct)
                .header("cookie", cookie)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let form = |csrf: &str, schema: &str| {
        vec![
            ("csrf", None, csrf.to_owned()),
            ("name", None, "imported".to_owned()),
            ("model", Some("model.json"), model.clone()),
            ("schema", Some("schema.json"), schema.to_owned()),
            ("card", Some("card.json"), card.clone()),
        ]
    };
    // Refusals: wrong token, officer, unknown feature, malformed model; nothing registered.
    let res = post(ada.cookie.clone(), form("forged", &schema)).await;
    assert_eq!(res.status(), 403);
    let res = post(otto.cookie.clone(), form(&otto.csrf, &schema)).await;
    assert_eq!(res.status(), 403);
    let mut bad: serde_json::Value = serde_json::from_str(&schema).unwrap();
    bad["columns"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"name": "shoe_size", "kind": "numeric"}));
    bad["features"]
        .as_array_mut()
        .unwrap()
        .push("shoe_size".into());
    let res = post(ada.cookie.clone(), form(&ada.csrf, &bad.to_string())).await;
    assert_eq!(res.status(), 422);
    let text = res.text().await.unwrap();
    assert!(
        text.contains("unknown feature") && text.contains("shoe_size"),
        "{text}"
    );
    let mut broken = form(&ada.csrf, &schema);
    broken[2].2 = "{\"learner\": 1".to_owned();
    let res = post(ada.cookie.clone(), broken).await;
    assert_eq!(res.status(), 422);
    assert!(
        app.services.model_rows().await.unwrap().is_empty(),
        "registry unchanged"
    );
    // A cross-site upload is refused by the CSRF layer before the handler.
    let (ct, body) = multipart(&[("csrf", None, ada.csrf.as_str())]);
    let res = app
        .client
        .post(app.url("/models/upload"))
        .header("origin", "http://evil.example")
        .header("content-type", ct)
        .header("cookie", &ada.cookie)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    let res = post(ada.cookie.clone(), form(&ada.csrf, &schema)).await;
    let to = redirected_to(&res).or_else(|| {
        (res.status() == 303).then(|| res.headers()["location"].to_str().unwrap().to_owned())
    });
    let rows = app.services.model_rows().await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(to, Some(format!("/models/{}?done=upload", rows[0].id)));
    assert_eq!(rows[0].name, "imported");
    assert_eq!(
        rows[0].source, "trained",
        "a Lendscope card keeps its lineage"
    );
}

async fn retraining_registers_a_challenger_with_its_lineage(backend: Backend) {
    use lendscope_service::registry::generated_base;
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    traffic(&app, &key, 60, 51, true).await;
    let meta = RequestMeta::default();
    let base = generated_base(1, 1500).unwrap();
    let run = app
        .services
        .start_retrain("ada", Some(base.clone()), RejectInference::None, &meta)
        .await
        .unwrap();
    // One retraining at a time.
    let again = app
        .services
        .start_retrain("ada", Some(base.clone()), RejectInference::None, &meta)
        .await;
    assert!(matches!(
        again,
        Err(lendscope_service::ServiceError::Conflict(_))
    ));
    let r = finished(&app, run).await;
    assert_eq!(r.state, "succeeded", "{:?}", r.error);
    assert_eq!(r.kind, "retrain");
    assert_eq!(r.labelled_rows, Some(60));
    assert_eq!(r.data_rows, Some(1560), "base rows plus labelled decisions");
    assert!(r.test_auc.is_some() && r.data_sha256.is_some());
    let rows = app.services.model_rows().await.unwrap();
    let new = rows.iter().find(|m| Some(m.id) == r.model_id).unwrap();
    assert_eq!(new.source, "retrained");
    assert_eq!(new.parent.as_deref(), Some("fixture v1"));
    assert_eq!(new.alias.as_deref(), Some("challenger"));
    assert_eq!(new.version, 3);
    let detail = app.services.model_detail(new.id).await.unwrap();
    assert!(detail
        .lineage
        .iter()
        .any(|(k, v)| k == "Training run" && v == &format!("#{run}")));

    // Bad base data fails the run with the reason; nothing is registered.
    let bad = lendscope_service::registry::BaseData {
        name: "bad.csv".into(),
        csv: b"a,b\n1,2\n".to_vec(),
    };
    let run = app
        .services
        .start_retrain("ada", Some(bad), RejectInference::None, &meta)
        .await
        .unwrap();
    for _ in 0..100 {
        let r = app.services.training_runs(10).await.unwrap();
        let r = r.into_iter().find(|x| x.id == run).unwrap();
        if r.state != "running" {
            assert_eq!(r.state, "failed");
            assert!(r.error.unwrap().contains("defaulted"));
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.services.model_rows().await.unwrap().len(), 3);

    // Reject inference: the declined applications enter twice (fuzzy augmentation), as
    // defaulted and as repaid, weighted by the champion's probability of default; they only
    // train. The run records the method, the card counts the inferred rows.
    let mut declined = 0;
    for (body, _) in generated_applicants(52, 40, "RI").unwrap() {
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if app.decide(&key, &body).await["decision"] == "reject" {
            declined += 1;
        }
    }
    assert!(declined > 0);
    let run = app
        .services
        .start_retrain("ada", Some(base.clone()), RejectInference::Fuzzy, &meta)
        .await
        .unwrap();
    let r = finished(&app, run).await;
    assert_eq!(r.state, "succeeded", "{:?}", r.error);
    assert!(
        r.params
            .iter()
            .any(|(k, v)| k == "reject_inference" && v == "fuzzy"),
        "{:?}",
        r.params
    );
    assert_eq!(r.labelled_rows, Some(60));
    assert_eq!(r.data_rows, Some(1560 + 2 * declined));
    let detail = app
        .services
        .model_detail(r.model_id.unwrap())
        .await
        .unwrap();
    let lineage = |label: &str| {
        detail
            .lineage
            .iter()
            .find(|(k, _)| k == label)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        lineage("Reject inference"),
        format!(
            "fuzzy augmentation; {} inferred training rows",
            2 * declined
        )
    );
    // Inferred rows only train: validation and test are the observed rows' as before.
    let parts: Vec<i64> = lineage("Train / validation / test rows")
        .split(" / ")
        .map(|x| x.parse().unwrap())
        .collect();
    assert_eq!(parts.iter().sum::<i64>(), 1560 + 2 * declined);
    // The comparison page names the challenger's method and puts both versions through a
    // generated population with every outcome known.
    let c = app.services.compare_serving().await.unwrap();
    assert_eq!(c.challenger.id, r.model_id.unwrap());
    assert_eq!(c.challenger_reject_inference, "fuzzy augmentation");
    let tt = c.through_the_door.as_ref().unwrap();
    assert_eq!(tt.rows, 5_000);
    for x in [tt.champion_auc, tt.challenger_auc] {
        assert!(x > 0.6 && x < 1.0, "{tt:?}");
    }
    for x in [tt.champion_bad_rate, tt.challenger_bad_rate] {
        assert!(x > 0.0 && x < 0.3, "{tt:?}");
    }
    assert!(tt.approval_rate > 0.0 && tt.approval_rate <= 1.0);
    let first = app.services.model_detail(new.id).await.unwrap();
    let first_parts = first
        .lineage
        .iter()
        .find(|(k, _)| k == "Train / validation / test rows")
        .map(|(_, v)| v.clone())
        .unwrap();
    assert_eq!(
        first_parts.split(" / ").skip(1).collect::<Vec<_>>(),
        lineage("Train / validation / test rows")
            .split(" / ")
            .skip(1)
            .collect::<Vec<_>>()
    );
}

/// A training run once it has finished (within a minute).
async fn finished(app: &TestApp, run: i64) -> RunRow {
    for _ in 0..600 {
        let runs = app.services.training_runs(10).await.unwrap();
        let r = runs.into_iter().find(|r| r.id == run).unwrap();
        if r.state != "running" {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the retraining did not finish within a minute");
}

/// Live exposure is governed: a challenger decides for nobody until a share request passes
/// the gate and a second admin; one admin may return it to shadow; the emergency set-up is
/// listed on the registry page.
async fn a_live_share_needs_the_gate_and_a_second_admin(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    for name in ["ada", "bob"] {
        app.add_user(name, Role::Admin).await;
    }
    let (ada, bob) = (app.login_as("ada").await, app.login_as("bob").await);
    let page = app
        .get("/models", Some(&ada.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Emergency changes"), "{page}");
    assert!(page.contains("test set-up"));
    assert!(page.contains("shadow: the challenger scores every application and decides none"));

    // Without outcomes the gate cannot pass: no share is requested.
    traffic(&app, &key, 30, 31, false).await;
    let refused = act(
        &app,
        &ada,
        &[("action", "share"), ("percent", "30"), ("note", "try it")],
    )
    .await;
    assert_eq!(refused.status(), 409);
    assert!(refused.text().await.unwrap().contains("gate does not pass"));
    for (form, needle) in [
        (
            vec![("action", "share"), ("percent", "0"), ("note", "x")],
            "percent",
        ),
        (
            vec![("action", "share"), ("percent", "101"), ("note", "x")],
            "percent",
        ),
    ] {
        let res = act(&app, &ada, &form).await;
        assert_eq!(res.status(), 422, "{form:?}");
        assert!(res.text().await.unwrap().contains(needle));
    }
    assert!(app
        .services
        .registry_view()
        .await
        .unwrap()
        .promotions
        .is_empty());
    assert_eq!(app.services.serving_share().await.unwrap(), 0);

    // With outcomes and a lenient gate: ada requests 30 %, which changes nothing yet.
    traffic(&app, &key, 120, 32, true).await;
    app.services.set_gate_settings(lenient());
    // The comparison shows the final decisions' fairness beside the recommendations'.
    let c = app.services.compare_serving().await.unwrap();
    assert!(
        c.final_decided > 0 && c.final_decided <= c.window,
        "{}",
        c.final_decided
    );
    assert_eq!(c.final_fairness.len(), c.fairness.len());
    let cmp = app
        .get("/models/compare", Some(&ada.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(cmp.contains("Fairness of the final decisions"));
    let no_reason = act(&app, &ada, &[("action", "share"), ("percent", "30")]).await;
    assert_eq!(no_reason.status(), 422);
    let res = act(
        &app,
        &ada,
        &[
            ("action", "share"),
            ("percent", "30"),
            ("note", "shadow looks good"),
        ],
    )
    .await;
    assert_eq!(redirected_to(&res).as_deref(), Some("/models?done=share"));
    let view = app.services.registry_view().await.unwrap();
    let req = &view.promotions[0];
    assert_eq!(
        (req.challenger_share, req.state.as_str()),
        (Some(30), "open")
    );
    assert_eq!(app.services.serving_share().await.unwrap(), 0);
    let own = act(
        &app,
        &ada,
        &[("action", "approve"), ("request", &req.id.to_string())],
    )
    .await;
    assert_eq!(own.status(), 409);
    assert_eq!(app.services.serving_share().await.unwrap(), 0);
    let bob_page = app
        .get("/models", Some(&bob.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(bob_page.contains("Approve share"), "{bob_page}");
    assert!(bob_page.contains("decide for 30 % of applicants"));
    let ok = act(
        &app,
        &bob,
        &[("action", "approve"), ("request", &req.id.to_string())],
    )
    .await;
    assert_eq!(redirected_to(&ok).as_deref(), Some("/models?done=approve"));
    assert_eq!(app.services.serving_share().await.unwrap(), 30);
    let mut roles = std::collections::BTreeSet::new();
    let mut by_challenger = None;
    for i in 0..60 {
        let d = app
            .decide(&key, &crate::helpers::application(&format!("SHARE-{i:03}")))
            .await;
        let role = d["model"]["role"].as_str().unwrap().to_owned();
        if role == "challenger" {
            by_challenger = d["application_id"].as_str().map(str::to_owned);
        }
        roles.insert(role);
    }
    assert_eq!(
        roles.len(),
        2,
        "the challenger decides for its approved share"
    );
    // The compliance trace names the share and who requested and approved it.
    let trace = app
        .services
        .decision_trace(&by_challenger.unwrap())
        .await
        .unwrap();
    assert!(
        trace
            .model_authorised
            .contains("deciding for 30 % of applicants")
            && trace
                .model_authorised
                .contains("requested by ada, approved by bob"),
        "{}",
        trace.model_authorised
    );
    // The champion alias did not move.
    let rows = app.services.model_rows().await.unwrap();
    assert_eq!(
        rows.iter()
            .find(|m| m.version == 1)
            .unwrap()
            .alias
            .as_deref(),
        Some("champion")
    );

    // One admin may take the challenger out of live decisions at once.
    // An emergency change names the person who made it (the command line's --by or user).
    let drill = lendscope_service::registry::Emergency::new("drill")
        .unwrap()
        .by("jane");
    app.services
        .set_challenger_share(30, lendscope_service::Actor::System, &drill)
        .await
        .unwrap();
    let latest = app.services.emergencies(1).await.unwrap();
    assert_eq!(
        (
            latest[0].actor.as_str(),
            latest[0].change.as_str(),
            latest[0].reason.as_str()
        ),
        ("jane (system)", "challenger's share → 30 %", "drill")
    );
    let back = act(&app, &ada, &[("action", "shadow")]).await;
    assert_eq!(redirected_to(&back).as_deref(), Some("/models?done=shadow"));
    assert_eq!(app.services.serving_share().await.unwrap(), 0);
    let actions = app.audit_actions().await;
    for (action, outcome) in [
        ("model.promotion.request", "success"),
        ("model.promotion.resolve", "denied"),
        ("model.promotion.resolve", "success"),
        ("routing.shadow", "success"),
        ("routing.share.emergency", "success"),
        ("model.alias.emergency", "success"),
    ] {
        assert!(
            actions.iter().any(|(a, o)| a == action && o == outcome),
            "{action}/{outcome} not audited"
        );
    }
}
