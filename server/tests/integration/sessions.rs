use chrono::Duration;
use lendscope_domain::Role;

use crate::helpers::{redirected_to, session_cookie, set_cookies, spawn, Backend, PASSWORD};

async fn login_rotates_the_session_id(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let first = app.login_as("olivia").await;
    // Signing in again while presenting the first session (with its token) ends that session.
    let res = app
        .post_form(
            "/rpc/login",
            &[
                ("username", "olivia"),
                ("password", PASSWORD),
                ("csrf", &first.csrf),
            ],
            Some(&first.cookie),
            false,
        )
        .await;
    assert!(redirected_to(&res).is_some());
    let second = session_cookie(&res).unwrap();
    assert_ne!(first.cookie, second);
    let first_token = first.cookie.trim_start_matches("lendscope_session=");
    assert!(!app.services.session_exists(first_token).await.unwrap());
    assert!(app.whoami(Some(&first.cookie)).await.is_null());
    assert_eq!(app.whoami(Some(&second)).await["username"], "olivia");
    // Each session has its own anti-CSRF token.
    assert_ne!(app.csrf_of(&second).await, first.csrf);
}

async fn logout_deletes_the_session_on_the_server(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let s = app.login_as("olivia").await;
    let res = app
        .post_form("/rpc/logout", &[("csrf", &s.csrf)], Some(&s.cookie), false)
        .await;
    assert_eq!(redirected_to(&res).as_deref(), Some("/login"));
    assert!(set_cookies(&res).iter().any(|c| c.contains("Max-Age=0")));
    let token = s.cookie.trim_start_matches("lendscope_session=");
    assert!(!app.services.session_exists(token).await.unwrap());
    // Replaying the old cookie gets nothing.
    assert!(app.whoami(Some(&s.cookie)).await.is_null());
    assert_eq!(app.get("/queue", Some(&s.cookie)).await.status(), 303);
    assert!(app
        .audit_actions()
        .await
        .contains(&("logout".into(), "success".into())));
}

async fn sessions_end_after_the_idle_timeout(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let s = app.login_as("olivia").await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.get("/queue", Some(&s.cookie)).await.status(), 200);
    // Activity moved the idle window; 29 more minutes are fine, 31 are not.
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.get("/queue", Some(&s.cookie)).await.status(), 200);
    app.clock.advance(Duration::minutes(31));
    let res = app.get("/queue", Some(&s.cookie)).await;
    assert_eq!(res.status(), 303, "idle session must have ended");
    assert!(
        set_cookies(&res).iter().any(|c| c.contains("Max-Age=0")),
        "cookie cleared"
    );
}

async fn sessions_end_after_the_absolute_timeout(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let s = app.login_as("olivia").await;
    // Stay active every 20 minutes for almost 12 hours.
    for _ in 0..35 {
        app.clock.advance(Duration::minutes(20));
        assert_eq!(app.get("/queue", Some(&s.cookie)).await.status(), 200);
    }
    app.clock.advance(Duration::minutes(21));
    assert_eq!(app.get("/queue", Some(&s.cookie)).await.status(), 303);
}

async fn forged_session_cookies_are_anonymous_and_cleared(backend: Backend) {
    let app = spawn(backend).await;
    let forged = "lendscope_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let res = app.get("/queue", Some(forged)).await;
    assert_eq!(res.status(), 303);
    assert!(set_cookies(&res).iter().any(|c| c.contains("Max-Age=0")));
    assert!(app.whoami(Some(forged)).await.is_null());
    let res = app
        .get(
            "/queue",
            Some(&format!("lendscope_session={}", "x".repeat(5000))),
        )
        .await;
    assert!(
        res.status().is_client_error() || res.status() == 303,
        "{}",
        res.status()
    );
}

async fn disabled_users_lose_their_sessions(backend: Backend) {
    use lendscope_service::entity::user;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let s = app.login_as("olivia").await;
    let row = user::Entity::find()
        .filter(user::Column::Username.eq("olivia"))
        .one(app.services.db())
        .await
        .unwrap()
        .unwrap();
    let mut active: user::ActiveModel = row.into();
    active.disabled = Set(true);
    active.update(app.services.db()).await.unwrap();
    assert_eq!(app.get("/queue", Some(&s.cookie)).await.status(), 303);
    assert_eq!(app.login("olivia", PASSWORD, None).await.status(), 401);
}

crate::on_both_backends!(
    login_rotates_the_session_id,
    logout_deletes_the_session_on_the_server,
    sessions_end_after_the_idle_timeout,
    sessions_end_after_the_absolute_timeout,
    forged_session_cookies_are_anonymous_and_cleared,
    disabled_users_lose_their_sessions,
);
