//! The officer's pages and their server functions over HTTP: queue, application page,
//! decisions (bad input, conflicts, expired sessions), the notice after an officer's
//! decision, and the public application form.

use lendscope_domain::Role;
use lendscope_service::review::ReviewAction;

use crate::helpers::{application, redirected_to, spawn, Backend, TestApp};

/// Form fields of a post.
type Form<'a> = &'a [(&'a str, &'a str)];

struct Officer {
    cookie: String,
    csrf: String,
}

async fn setup(app: &TestApp, names: &[&str]) -> (String, Vec<Officer>) {
    let key = app.with_scoring(0).await;
    let mut officers = Vec::new();
    for name in names {
        app.add_user(name, Role::Officer).await;
        let s = app.login_as(name).await;
        officers.push(Officer {
            cookie: s.cookie,
            csrf: s.csrf,
        });
    }
    (key, officers)
}

/// Posts the review form as a script would (JSON answer).
async fn review(app: &TestApp, who: &Officer, fields: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut form: Vec<(&str, &str)> = fields.to_vec();
    form.push(("csrf", &who.csrf));
    let res = app
        .post_form("/rpc/case/review", &form, Some(&who.cookie), false)
        .await;
    let status = res.status().as_u16();
    let redirect = redirected_to(&res);
    let body = res.text().await.unwrap();
    let json = match redirect {
        Some(to) => serde_json::json!({ "redirect": to }),
        None => serde_json::from_str(&body).unwrap_or(serde_json::json!({ "raw": body })),
    };
    (status, json)
}

async fn the_queue_and_application_pages_render_on_the_server(backend: Backend) {
    let app = spawn(backend).await;
    let (key, officers) = setup(&app, &["olivia"]).await;
    let d = app.decide(&key, &application("P-1")).await;
    let id = d["application_id"].as_str().unwrap();
    let cookie = Some(officers[0].cookie.as_str());

    let res = app.get("/queue", cookie).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(
        html.contains(&format!("href=\"/queue/{id}\"")),
        "the case is listed"
    );
    let counts = html
        .split("data-testid=\"open-count\"")
        .nth(1)
        .unwrap_or_default();
    let counts = counts.split_once('>').map_or("", |(_, rest)| rest);
    assert!(
        counts.starts_with("1<"),
        "counts: {}",
        &counts[..counts.len().min(80)]
    );

    let res = app.get(&format!("/queue/{id}"), cookie).await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    // Base + 10 factors + "other" + final, plus the background rectangle.
    let svg = html.split("data-testid=\"waterfall\"").nth(1).unwrap();
    let svg = &svg[..svg.find("</svg>").unwrap()];
    assert_eq!(svg.matches("<rect").count(), 14);
    assert!(svg.contains("Base value") && svg.contains("other factors"));
    assert!(html.contains("Monthly income") || html.contains("Stated monthly income"));
    assert!(html.contains("$1,800"), "loan amount readable");
    assert!(
        !html.contains("female") && !html.contains("25-34"),
        "protected attributes are not shown to officers"
    );
    assert!(
        html.contains("name=\"shown\""),
        "the form carries the shown token"
    );

    // Unknown application: a 404 page; bad filters: a 4xx with the field named.
    let res = app
        .get("/queue/00000000-0000-4000-8000-000000000000", cookie)
        .await;
    assert_eq!(res.status(), 404);
    let res = app.get("/queue?band=Z", cookie).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("band"));
    let res = app.get("/queue?after=nonsense", cookie).await;
    assert_eq!(res.status(), 422);
}

async fn decisions_refuse_bad_input_and_record_nothing(backend: Backend) {
    let app = spawn(backend).await;
    let (key, officers) = setup(&app, &["olivia", "oscar"]).await;
    // Outside the amount range: recommended reject by rule.
    let mut body = application("P-2");
    body["loan"]["amount"] = serde_json::json!(9000);
    let d = app.decide(&key, &body).await;
    let id = d["application_id"].as_str().unwrap().to_owned();
    let shown = app.services.case_file(&id).await.unwrap().shown_token;
    let (olivia, oscar) = (&officers[0], &officers[1]);

    let cases: [(Form, u16, &str); 5] = [
        (
            &[("id", &id), ("action", "delete"), ("version", "0")],
            422,
            "action",
        ),
        (
            &[("id", &id), ("action", "approve"), ("version", "x")],
            422,
            "version",
        ),
        (
            &[
                ("id", &id),
                ("action", "approve"),
                ("version", "0"),
                ("shown", &shown),
            ],
            422,
            "note",
        ),
        (
            &[
                ("id", &id),
                ("action", "reject"),
                ("version", "0"),
                ("shown", "forged"),
            ],
            422,
            "shown",
        ),
        (
            &[("id", "no-such-id"), ("action", "reject"), ("version", "0")],
            404,
            "",
        ),
    ];
    for (form, status, field) in cases {
        let (got, json) = review(&app, olivia, form).await;
        assert_eq!(got, status, "{form:?}: {json}");
        if !field.is_empty() {
            assert_eq!(json["field"], field, "{json}");
        }
    }
    assert!(app.services.case_history(&id).await.unwrap().is_empty());

    // Olivia claims; Oscar cannot act on it, nor release it; stale versions are refused.
    let (s, json) = review(
        &app,
        olivia,
        &[("id", &id), ("action", "claim"), ("version", "0")],
    )
    .await;
    assert_eq!(s, 200, "{json}");
    assert_eq!(json["redirect"], format!("/queue/{id}"));
    for action in ["approve", "release", "escalate"] {
        let (s, json) = review(
            &app,
            oscar,
            &[
                ("id", &id),
                ("action", action),
                ("version", "1"),
                ("note", "n"),
            ],
        )
        .await;
        assert_eq!(s, 409, "{action}: {json}");
        let message = json["message"].as_str().unwrap();
        assert!(
            message.contains("olivia is working on this case") || message.contains("do not hold"),
            "{json}"
        );
    }
    let (s, _) = review(
        &app,
        olivia,
        &[("id", &id), ("action", "reject"), ("version", "0")],
    )
    .await;
    assert_eq!(s, 409, "stale version");
    let (s, json) = review(
        &app,
        olivia,
        &[
            ("id", &id),
            ("action", "approve"),
            ("version", "1"),
            ("note", "income verified by phone"),
            ("shown", &shown),
        ],
    )
    .await;
    assert_eq!(s, 200, "{json}");
    assert_eq!(json["redirect"], "/queue?done=approve");
    let (s, _) = review(
        &app,
        olivia,
        &[
            ("id", &id),
            ("action", "reject"),
            ("version", "2"),
            ("note", "n"),
        ],
    )
    .await;
    assert_eq!(s, 409, "already decided");
    let history = app.services.case_history(&id).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[1].action, ReviewAction::Approve.as_str());

    // The applicant's notice now carries the officer's decision.
    let token = d["notice_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("/notice/");
    let notice = app.services.notice_by_token(token).await.unwrap();
    assert_eq!(notice.decision, "approve");
    assert!(notice.reasons.is_empty());

    // An expired session: refused, nothing recorded; a plain form post goes back with a code.
    app.clock.advance(chrono::Duration::hours(13));
    let (s, _) = review(
        &app,
        oscar,
        &[("id", &id), ("action", "escalate"), ("version", "2")],
    )
    .await;
    assert_eq!(s, 401);
    let res = app
        .client
        .post(app.url("/rpc/case/review"))
        .headers(app.browser_post_headers(true))
        .header("cookie", &oscar.cookie)
        .header("referer", app.url(&format!("/queue/{id}")))
        .form(&[
            ("id", id.as_str()),
            ("action", "escalate"),
            ("version", "2"),
            ("csrf", &oscar.csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("/queue/{id}?error=unauthenticated")
    );
    assert_eq!(app.services.case_history(&id).await.unwrap().len(), 2);
}

async fn the_public_form_scores_through_the_api_path_and_lands_on_the_notice(backend: Backend) {
    let app = spawn(backend).await;
    app.with_scoring(0).await;
    let get_form = app.get("/apply", None).await;
    assert_eq!(get_form.status(), 200);
    let html = get_form.text().await.unwrap();
    assert!(html.contains("name=\"fields[loan_amount]\""));
    let form_id = html
        .split("name=\"form_id\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    let fields = [
        ("applicant_id", "WEB-1"),
        ("loan_amount", "1,500"),
        ("loan_term_months", "12"),
        ("loan_purpose", "vehicle"),
        ("monthly_income", "2400"),
        ("employment_status", "full_time"),
        ("employer_changes_24m", "1"),
        ("income_verified", "yes"),
        ("late_payments_12m", "1"),
        ("payment_history_months", "40"),
        ("rent_on_time_ratio", "0.96"),
        ("gender", ""),
        ("age_band", "25-34"),
    ];
    // A browser without JavaScript percent-encodes the brackets of the field names.
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (format!("fields[{k}]"), (*v).to_owned()))
        .collect();
    form.push(("form_id".into(), form_id.clone()));
    form.push(("csrf".into(), String::new()));
    let post = |form: Vec<(String, String)>| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/rpc/apply"))
                .headers(app.browser_post_headers(true))
                .header("referer", app.url("/apply"))
                .form(&form)
                .send()
                .await
                .unwrap()
        }
    };
    let res = post(form.clone()).await;
    assert_eq!(res.status(), 302);
    let notice = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(notice.starts_with("/notice/"), "{notice}");
    assert_eq!(app.decisions().await, 1);
    // A double submit lands on the same notice, no second decision.
    let again = post(form.clone()).await;
    assert_eq!(again.headers()["location"].to_str().unwrap(), notice);
    assert_eq!(app.decisions().await, 1);
    let page = app.get(&notice, None).await;
    assert_eq!(page.status(), 200);

    // Bad input names the form field; nothing is scored.
    let mut bad = form.clone();
    bad.retain(|(k, _)| k != "form_id");
    bad.push(("form_id".into(), "f2".into()));
    for (field, value) in [
        ("loan_amount", "lots"),
        ("loan_term_months", "-3"),
        ("loan_purpose", "yacht"),
    ] {
        let mut f = bad.clone();
        f.retain(|(k, _)| k != &format!("fields[{field}]"));
        f.push((format!("fields[{field}]"), value.into()));
        let res = post(f).await;
        assert_eq!(res.status(), 302, "{field}");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(
            location,
            format!("/apply?error=invalid&field={field}"),
            "{field}"
        );
    }
    let mut unknown = bad.clone();
    unknown.push(("fields[is_admin]".into(), "1".into()));
    assert_eq!(
        post(unknown).await.headers()["location"].to_str().unwrap(),
        "/apply?error=invalid&field=is_admin"
    );
    assert_eq!(app.decisions().await, 1);
}

crate::on_both_backends!(
    the_queue_and_application_pages_render_on_the_server,
    decisions_refuse_bad_input_and_record_nothing,
    the_public_form_scores_through_the_api_path_and_lands_on_the_notice,
);
