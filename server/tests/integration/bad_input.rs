use lendscope_domain::Role;
use sea_orm::ConnectionTrait;

use crate::helpers::{redirected_to, spawn, Backend};

async fn state_changes_without_a_valid_csrf_token_are_refused(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let s = app.login_as("olivia").await;
    let token = s.cookie.trim_start_matches("lendscope_session=").to_owned();
    // Missing token, wrong token.
    for form in [vec![], vec![("csrf", "not-the-token")]] {
        let res = app
            .post_form("/rpc/logout", &form, Some(&s.cookie), false)
            .await;
        assert_eq!(res.status(), 403, "{form:?}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "csrf");
    }
    // A cross-site post with the right token (a stolen token cannot be used from elsewhere).
    let res = app
        .post_cross_site("/rpc/logout", &[("csrf", &s.csrf)], &s.cookie)
        .await;
    assert_eq!(res.status(), 403);
    let res = app
        .client
        .post(app.url("/rpc/logout"))
        .header("cookie", &s.cookie)
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", s.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A cross-site login attempt (login CSRF) is refused too.
    let res = app
        .client
        .post(app.url("/rpc/login"))
        .header("sec-fetch-site", "cross-site")
        .header("accept", "text/html")
        .form(&[
            ("username", "olivia"),
            ("password", crate::helpers::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(res.text().await.unwrap().contains("Request refused"));
    // Nothing was changed: the session still exists. The token in a header works.
    assert!(app.services.session_exists(&token).await.unwrap());
    let res = app
        .client
        .post(app.url("/rpc/logout"))
        .header("cookie", &s.cookie)
        .header("x-csrf-token", &s.csrf)
        .form(&[("csrf", "")])
        .send()
        .await
        .unwrap();
    assert!(redirected_to(&res).is_some());
    assert!(!app.services.session_exists(&token).await.unwrap());
    let refusals = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, o)| a == "csrf" && o == "denied")
        .count();
    assert_eq!(refusals, 5);
}

async fn malformed_requests_get_4xx_never_500(backend: Backend) {
    let app = spawn(backend).await;
    // Missing arguments, wrong types, garbage bodies.
    for body in [
        "",
        "username=only",
        "%%%garbage",
        "password=x&username=y&next=%ZZ",
    ] {
        let res = app
            .client
            .post(app.url("/rpc/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_client_error(),
            "{body:?} -> {}",
            res.status()
        );
    }
    let res = app
        .client
        .get(app.url("/rpc/audit?before=not-a-number"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
    // Unknown routes: HTML for pages, JSON under /api and /rpc.
    let page = app.get("/definitely/not/here", None).await;
    assert_eq!(page.status(), 404);
    assert!(page.text().await.unwrap().contains("Page not found"));
    for path in ["/api/v2/x", "/rpc/nope"] {
        let res = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_found");
    }
    // Wrong method on a server function.
    let res = app.client.get(app.url("/rpc/login")).send().await.unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());
}

async fn the_audit_log_is_append_only(backend: Backend) {
    let app = spawn(backend).await;
    let _ = app.login("nobody", "wrong password!", None).await;
    let db = app.services.db();
    assert!(db
        .execute_unprepared("UPDATE audit_log SET actor = 'x'")
        .await
        .is_err());
    assert!(db
        .execute_unprepared("DELETE FROM audit_log")
        .await
        .is_err());
    if matches!(backend, Backend::Postgres) {
        assert!(db.execute_unprepared("TRUNCATE audit_log").await.is_err());
    }
    assert_eq!(app.audit_actions().await.len(), 1);
}

crate::on_both_backends!(
    state_changes_without_a_valid_csrf_token_are_refused,
    malformed_requests_get_4xx_never_500,
    the_audit_log_is_append_only,
);
