use lendscope_domain::{Area, Role};

use crate::helpers::{spawn, Backend};

/// The pages of each area, by role: 200 when allowed, 403 when signed in without the role,
/// a redirect to sign-in when anonymous.
async fn every_area_admits_exactly_its_roles(backend: Backend) {
    let app = spawn(backend).await;
    let mut sessions = Vec::new();
    for role in Role::ALL {
        app.add_user(role.as_str(), role).await;
        sessions.push((role, app.login_as(role.as_str()).await));
    }
    for area in Area::ALL {
        let res = app.get(area.path(), None).await;
        assert_eq!(res.status(), 303, "anonymous {area:?}");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        assert!(location.starts_with("/login?next=%2F"), "{location}");
        for (role, s) in &sessions {
            let res = app.get(area.path(), Some(&s.cookie)).await;
            let expected = if area.allows(*role) { 200 } else { 403 };
            assert_eq!(res.status(), expected, "{role:?} on {area:?}");
        }
    }
    let denials = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, o)| a == "access" && o == "denied")
        .count();
    let expected: usize = Area::ALL
        .iter()
        .map(|a| Role::ALL.iter().filter(|r| !a.allows(**r)).count())
        .sum();
    assert_eq!(denials, expected, "every denial is audited");
}

async fn server_functions_enforce_roles_too(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    app.add_user("adam", Role::Admin).await;
    app.add_user("carla", Role::Compliance).await;
    let officer = app.login_as("olivia").await;
    let admin = app.login_as("adam").await;
    let compliance = app.login_as("carla").await;
    let get = |path: &'static str, cookie: Option<String>| {
        let app = &app;
        async move { app.get_json(path, cookie.as_deref(), None).await }
    };
    assert_eq!(get("/rpc/users", None).await.status(), 401);
    assert_eq!(
        get("/rpc/users", Some(officer.cookie.clone()))
            .await
            .status(),
        403
    );
    assert_eq!(
        get("/rpc/users", Some(compliance.cookie.clone()))
            .await
            .status(),
        403
    );
    let ok = get("/rpc/users", Some(admin.cookie.clone())).await;
    assert_eq!(ok.status(), 200);
    let users: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(users.as_array().unwrap().len(), 3);
    assert!(
        !users.to_string().contains("argon2"),
        "hashes never leave the server"
    );

    assert_eq!(
        get("/rpc/audit", Some(officer.cookie.clone()))
            .await
            .status(),
        403
    );
    assert_eq!(
        get("/rpc/audit", Some(admin.cookie.clone())).await.status(),
        403
    );
    let audit = get("/rpc/audit", Some(compliance.cookie.clone())).await;
    assert_eq!(audit.status(), 200);
    let rows: serde_json::Value = audit.json().await.unwrap();
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["action"] == "access" && r["outcome"] == "denied"));

    // An officer cannot create users, even with a valid anti-CSRF token.
    let res = app
        .post_form(
            "/rpc/users/create",
            &[
                ("username", "mallory"),
                ("role", "admin"),
                ("password", "a very long password"),
                ("csrf", &officer.csrf),
            ],
            Some(&officer.cookie),
            false,
        )
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        app.services.list_users().await.unwrap().len(),
        3,
        "nothing written"
    );
}

async fn the_audit_page_filters_and_pages(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("carla", Role::Compliance).await;
    for _ in 0..60 {
        let _ = app.login("nobody", "wrong password!", None).await;
    }
    let s = app.login_as("carla").await;
    let page = |q: String| {
        let app = &app;
        let cookie = s.cookie.clone();
        async move {
            let res = app
                .client
                .get(app.url(&format!("/rpc/audit?{q}")))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            res.json::<Vec<serde_json::Value>>().await.unwrap()
        }
    };
    let first = page("action=login".into()).await;
    assert_eq!(first.len(), 50);
    assert!(first.iter().all(|r| r["action"] == "login"));
    let last_id = first.last().unwrap()["id"].as_i64().unwrap();
    let second = page(format!("action=login&before={last_id}")).await;
    assert!(!second.is_empty());
    assert!(second.iter().all(|r| r["id"].as_i64().unwrap() < last_id));
    let html = app.get("/audit?action=login", Some(&s.cookie)).await;
    assert_eq!(html.status(), 200);
    let body = html.text().await.unwrap();
    assert!(body.contains("audit-table"), "table rendered on the server");
    assert!(body.contains("Older events"));
}

crate::on_both_backends!(
    every_area_admits_exactly_its_roles,
    server_functions_enforce_roles_too,
    the_audit_page_filters_and_pages,
);
