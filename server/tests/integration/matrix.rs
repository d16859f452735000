//! The access matrix: every page area, every server function and every JSON API route, asked
//! by every kind of caller — anonymous, an applicant holding a notice link, an officer,
//! compliance, an admin, an API key, and (last) the same staff sessions after their idle
//! timeout. Nothing answers 2xx to a caller the rule does not admit; what is admitted
//! answers; denials of signed-in staff are audited.

use chrono::Duration;
use lendscope_domain::{Area, Role};

use crate::helpers::{application, spawn, Backend, Session, TestApp};
use crate::on_both_backends;

on_both_backends!(no_caller_gets_what_its_role_does_not_allow);

/// Read server functions: (path with arguments, area).
fn reads(app_id: &str) -> Vec<(String, Area)> {
    vec![
        ("/rpc/users".into(), Area::Users),
        ("/rpc/audit".into(), Area::Audit),
        (format!("/rpc/audit/decisions?q={app_id}"), Area::Audit),
        (format!("/rpc/audit/decision?id={app_id}"), Area::Audit),
        ("/rpc/queue".into(), Area::Queue),
        (format!("/rpc/case?id={app_id}"), Area::Queue),
        ("/rpc/statistics".into(), Area::Statistics),
        ("/rpc/models".into(), Area::Models),
        ("/rpc/models/version?id=1".into(), Area::Models),
        ("/rpc/models/compare".into(), Area::Models),
        ("/rpc/monitoring".into(), Area::Monitoring),
        ("/rpc/validation/versions".into(), Area::Validation),
        ("/rpc/validation/report?id=1".into(), Area::Validation),
        ("/rpc/account".into(), Area::Account),
    ]
}

/// A form's fields.
type Form = Vec<(&'static str, &'static str)>;

/// State-changing server functions: (path, form without csrf, area). Sent only by callers
/// the area refuses.
fn writes() -> Vec<(&'static str, Form, Area)> {
    vec![
        (
            "/rpc/users/create",
            vec![
                ("username", "mallory"),
                ("role", "admin"),
                ("password", "a very long password"),
            ],
            Area::Users,
        ),
        (
            "/rpc/models/act",
            vec![("action", "share"), ("percent", "100")],
            Area::Models,
        ),
        ("/rpc/monitoring/run", vec![], Area::Monitoring),
        (
            "/rpc/account/password",
            vec![
                ("current_password", "x"),
                ("new_password", "a very long password"),
                ("repeat_password", "a very long password"),
            ],
            Area::Account,
        ),
        (
            "/rpc/account/sessions/end",
            vec![("session", "others")],
            Area::Account,
        ),
        (
            "/rpc/case/review",
            vec![
                ("id", "x"),
                ("action", "approve"),
                ("version", "0"),
                ("note", ""),
            ],
            Area::Queue,
        ),
    ]
}

async fn get(app: &TestApp, path: &str, cookie: Option<&str>, bearer: Option<&str>) -> u16 {
    app.get_json(path, cookie, bearer).await.status().as_u16()
}

async fn no_caller_gets_what_its_role_does_not_allow(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let decision = app.decide(&key, &application("MATRIX-0001")).await;
    let app_id = decision["application_id"].as_str().unwrap().to_owned();
    let notice_url = decision["notice_url"].as_str().unwrap().to_owned();
    let token = notice_url.trim_start_matches("/notice/").to_owned();
    let mut staff: Vec<(Role, Session)> = Vec::new();
    for role in Role::ALL {
        app.add_user(role.as_str(), role).await;
        staff.push((role, app.login_as(role.as_str()).await));
    }
    let mut checked = 0usize;
    // Pages and read server functions.
    for (path, area) in reads(&app_id)
        .into_iter()
        .chain(Area::ALL.iter().map(|a| (a.path().to_owned(), *a)))
    {
        let rpc = path.starts_with("/rpc/");
        // Anonymous, the applicant with a notice link (no session), an API key: never.
        for (who, status) in [
            ("anonymous", get(&app, &path, None, None).await),
            ("API key", get(&app, &path, None, Some(&key)).await),
        ] {
            let expected = if rpc { 401 } else { 303 };
            assert_eq!(status, expected, "{who} on {path}");
            checked += 1;
        }
        for (role, s) in &staff {
            let status = get(&app, &path, Some(&s.cookie), None).await;
            if area.allows(*role) {
                assert_eq!(status, 200, "{role:?} on {path}");
            } else {
                assert_eq!(status, 403, "{role:?} on {path}");
            }
            checked += 1;
        }
    }
    // State-changing server functions by every caller the area refuses (with a valid token).
    for (path, form, area) in writes() {
        let mut f = form.clone();
        f.push(("csrf", "no-session"));
        let res = app.post_form(path, &f, None, false).await;
        assert!(
            matches!(res.status().as_u16(), 401 | 403),
            "anonymous POST {path}: {}",
            res.status()
        );
        checked += 1;
        for (role, s) in staff.iter().filter(|(r, _)| !area.allows(*r)) {
            let mut f = form.clone();
            f.push(("csrf", &s.csrf));
            let res = app.post_form(path, &f, Some(&s.cookie), false).await;
            assert_eq!(res.status(), 403, "{role:?} POST {path}");
            checked += 1;
        }
    }
    assert_eq!(
        app.services.list_users().await.unwrap().len(),
        3,
        "no user was created"
    );
    assert!(app.services.monitoring_runs(5).await.unwrap().is_empty());
    // The JSON API: only API keys; a session cookie is not a credential there.
    let api_paths = [
        format!("/api/v1/applications/{app_id}"),
        format!("/api/v1/applications/{app_id}/notice"),
        "/api/v1/whoami".to_owned(),
    ];
    for path in &api_paths {
        assert_eq!(get(&app, path, None, None).await, 401, "anonymous {path}");
        for (role, s) in &staff {
            assert_eq!(
                get(&app, path, Some(&s.cookie), None).await,
                401,
                "{role:?} {path}"
            );
        }
        assert_eq!(
            get(&app, path, None, Some(&key)).await,
            200,
            "API key {path}"
        );
        checked += 2 + staff.len();
    }
    // Another client's key sees nothing of this client's applications.
    let other = app
        .services
        .create_api_key("other-partner", lendscope_service::audit::Actor::System)
        .await
        .unwrap();
    assert_eq!(get(&app, &api_paths[0], None, Some(&other)).await, 404);
    assert_eq!(get(&app, &api_paths[1], None, Some(&other)).await, 404);
    // The applicant's notice link shows the notice and nothing else.
    assert_eq!(get(&app, &notice_url, None, None).await, 200);
    assert_eq!(
        get(&app, &format!("/rpc/notice?token={token}"), None, None).await,
        200
    );
    assert_eq!(
        get(
            &app,
            "/notice/not-a-real-token-000000000000000000000",
            None,
            None
        )
        .await,
        404
    );
    checked += 5;
    let audited_denials = app
        .audit_actions()
        .await
        .iter()
        .filter(|(a, o)| a == "access" && o == "denied")
        .count();
    assert!(audited_denials > 0);

    // Expired sessions (idle timeout): every staff page and server function refuses them.
    app.clock.advance(Duration::minutes(31));
    for (path, _) in reads(&app_id) {
        for (role, s) in &staff {
            assert_eq!(
                get(&app, &path, Some(&s.cookie), None).await,
                401,
                "expired {role:?} on {path}"
            );
            checked += 1;
        }
    }
    for (role, s) in &staff {
        let mut f = vec![("action", "share"), ("percent", "100")];
        f.push(("csrf", &s.csrf));
        let res = app
            .post_form("/rpc/models/act", &f, Some(&s.cookie), false)
            .await;
        assert!(
            matches!(res.status().as_u16(), 401 | 403),
            "expired {role:?}: {}",
            res.status()
        );
        checked += 1;
    }
    println!("access matrix: {checked} requests, 0 unauthorized successes, {audited_denials} denials audited");
}
