//! Counteroffers, recourse and the notice PDF through the real server: what the API returns is
//! re-scored by applying again with it, an officer can make the counteroffer the decision, the
//! notice and its PDF follow, and `audit reproduce` recomputes all of it from the record.

use lendscope_service::review::ReviewAction;
use lendscope_service::scoring::request::path_of;
use lendscope_service::{RequestMeta, ServiceError};

use crate::helpers::{application, spawn, Backend, TestApp};

crate::on_both_backends!(
    a_declined_request_gets_a_counteroffer_an_officer_can_make,
    recourse_statements_hold_when_the_application_is_made_with_them,
);

/// A request body with the value of feature-set `column` set (counts as JSON integers).
fn with_value(body: &serde_json::Value, column: &str, value: f64) -> serde_json::Value {
    let mut out = body.clone();
    let mut target = &mut out;
    let path: Vec<&str> = path_of(column).split('.').collect();
    for part in &path[..path.len() - 1] {
        target = &mut target[*part];
    }
    target[path[path.len() - 1]] = if value.fract() == 0.0 {
        serde_json::json!(value as i64)
    } else {
        serde_json::json!(value)
    };
    out
}

async fn pdf(app: &TestApp, notice_url: &str) -> Vec<u8> {
    let res = app.get(&format!("{notice_url}/notice.pdf"), None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    res.bytes().await.unwrap().to_vec()
}

async fn a_declined_request_gets_a_counteroffer_an_officer_can_make(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    // A good payment record asking for more than the policy lends: declined by rule, with an
    // offer within the policy.
    let mut good: serde_json::Value =
        serde_json::from_str(include_str!("../../../examples/application.json")).unwrap();
    good["applicant"]["id"] = "A-CO-1".into();
    let good = with_value(&good, "late_payments_12m", 0.0);
    let asked = with_value(&good, "loan_amount", 9000.0);
    let d = app.decide(&key, &asked).await;
    assert_eq!(d["decision"], "reject", "{d}");
    let o = d["counteroffer"].clone();
    assert!(o.is_object(), "a counteroffer: {d}");
    let amount = o["amount"].as_f64().unwrap();
    let term = o["term_months"].as_f64().unwrap();
    assert!(
        (500.0..=5000.0).contains(&amount) && amount % 50.0 == 0.0,
        "{o}"
    );
    assert!((3.0..=36.0).contains(&term), "{o}");
    // Applying with the offered terms is approved, at the probability the offer states.
    let offered = with_value(
        &with_value(&asked, "loan_amount", amount),
        "loan_term_months",
        term,
    );
    let again = app.decide(&key, &offered).await;
    assert_eq!(again["decision"], "approve", "{again}");
    assert_eq!(again["probability_of_default"], o["probability_of_default"]);
    assert_eq!(again["counteroffer"], serde_json::Value::Null);
    assert_eq!(again["recourse"], serde_json::json!([]));

    // The automated notice offers it, with the reasons for the request as made.
    let id = d["application_id"].as_str().unwrap().to_owned();
    let notice = app
        .get_api(&key, &format!("/api/v1/applications/{id}/notice"))
        .await;
    let text = notice["counteroffer"]["text"].as_str().unwrap().to_owned();
    assert!(
        notice["headline"].as_str().unwrap().contains(&text),
        "{notice}"
    );
    assert_eq!(notice["counteroffer"]["decided_by_officer"], false);
    assert_eq!(notice["reasons"][0], d["reasons"][0]["text"]);
    assert!(notice["ecoa_statement"].is_string());
    let url = notice["notice_url"].as_str().unwrap().to_owned();
    let first = pdf(&app, &url).await;
    assert!(first.starts_with(b"%PDF-1.4") && first.ends_with(b"%%EOF\n"));
    assert_eq!(first, pdf(&app, &url).await, "the same bytes each time");

    // An officer makes the counteroffer the decision: the notice and the PDF follow.
    let meta = RequestMeta::default();
    app.services
        .review(
            &id,
            "olivia",
            ReviewAction::Counteroffer,
            0,
            None,
            None,
            &[],
            &meta,
        )
        .await
        .unwrap();
    let decided = app
        .get_api(&key, &format!("/api/v1/applications/{id}/notice"))
        .await;
    assert_eq!(
        decided["counteroffer"]["decided_by_officer"], true,
        "{decided}"
    );
    assert!(decided["headline"]
        .as_str()
        .unwrap()
        .starts_with("We are unable to approve the loan you asked for. We are offering you"));
    assert_eq!(
        decided["reasons"], notice["reasons"],
        "the reasons for the request as made"
    );
    assert!(decided["ecoa_statement"].is_string());
    let after = pdf(&app, &url).await;
    assert_ne!(after, first, "the PDF states the officer's decision");
    let page = app.get(&url, None).await.text().await.unwrap();
    assert!(page.contains("notice.pdf") && page.contains(&text));

    // The record reproduces: probability, notice, the searches and the PDF.
    let r = app.services.reproduce_decision(&id).await.unwrap();
    assert!(r.identical(), "{r:?}");
    assert!(r.regenerated_alternatives.contains("\"counteroffer\":{"));

    // An application without a counteroffer cannot be decided by one.
    let approved_id = again["application_id"].as_str().unwrap();
    let refused = app
        .services
        .review(
            approved_id,
            "olivia",
            ReviewAction::Counteroffer,
            0,
            None,
            None,
            &[],
            &meta,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Invalid(ref f) if f.field == "action"),
        "{refused}"
    );
}

async fn recourse_statements_hold_when_the_application_is_made_with_them(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    // Applicants the fixture model does not approve, with room to improve: check every
    // statement the API gives by applying again with the stated change.
    let mut checked = 0;
    for k in 0..40 {
        let mut body = application(&format!("A-RC-{k}"));
        for (column, value) in [
            ("late_payments_12m", f64::from(2 + k % 5)),
            ("overdrafts_90d", f64::from(k % 4)),
            ("avg_monthly_balance", 50.0 * f64::from(k % 7)),
            ("savings_rate", -0.02 * f64::from(k % 3)),
            ("loan_amount", 1000.0 + 250.0 * f64::from(k % 9)),
        ] {
            body = with_value(&body, column, value);
        }
        let d = app.decide(&key, &body).await;
        if d["decision"] == "approve" {
            assert!(d["recourse"].as_array().unwrap().is_empty());
            continue;
        }
        for r in d["recourse"].as_array().unwrap() {
            let statement = r["statement"].as_str().unwrap();
            assert!(statement.ends_with("would have been approved by the model in use today."));
            let mut changed = body.clone();
            for c in r["changes"].as_array().unwrap() {
                let column = c["feature"].as_str().unwrap();
                assert!(
                    lendscope_model::features::input(column)
                        .is_some_and(|i| i.actionable.is_some()),
                    "{column} is not actionable"
                );
                changed = with_value(&changed, column, c["to"].as_f64().unwrap());
            }
            let again = app.decide(&key, &changed).await;
            assert_eq!(again["decision"], "approve", "{statement}: {again}");
            assert_eq!(again["probability_of_default"], r["probability_of_default"]);
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} statements checked");
}
