use chrono::Duration;
use lendscope_domain::Role;
use lendscope_service::identity::passwords as password;

use crate::helpers::{
    redirected_to, session_cookie, set_cookies, spawn, spawn_with, Backend, PASSWORD,
};

async fn login_sets_a_hardened_session_cookie(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let res = app.login("olivia", PASSWORD, None).await;
    assert_eq!(redirected_to(&res).as_deref(), Some("/"));
    let cookies = set_cookies(&res);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("lendscope_session="))
        .expect("session cookie");
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP by default: {cookie}"
    );
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("lendscope_session=");
    assert!(token.len() >= 43, "256-bit id, base64url: {token}");
    let me = app.whoami(Some(&session_cookie(&res).unwrap())).await;
    assert_eq!(me["username"], "olivia");
    assert_eq!(me["role"], "officer");
    assert!(app
        .audit_actions()
        .await
        .contains(&("login".into(), "success".into())));
}

async fn cookies_are_secure_behind_tls(backend: Backend) {
    let app = spawn_with(backend, |c| c.session.secure_cookies = true).await;
    app.add_user("olivia", Role::Officer).await;
    // The browser would talk https; the server derives the expected Origin from that.
    let res = app
        .client
        .post(app.url("/rpc/login"))
        .header("origin", format!("https://{}", app.host()))
        .header("accept", "application/json")
        .form(&[("username", "olivia"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(redirected_to(&res).is_some());
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.contains("session="))
        .unwrap();
    assert!(cookie.starts_with("__Host-lendscope_session="), "{cookie}");
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    assert!(res.headers().contains_key("strict-transport-security"));
}

async fn stored_hashes_are_argon2id_with_owasp_parameters(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let stored = app
        .services
        .password_hash_of("olivia")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        password::parameters(&stored),
        Some(("argon2id".to_owned(), 19_456, 2, 1))
    );
    assert!(!stored.contains(PASSWORD));
}

async fn weak_hashes_are_upgraded_at_login(backend: Backend) {
    use argon2::password_hash::{rand_core::OsRng, SaltString};
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    use lendscope_service::entity::user;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let weak = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(8192, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
    .unwrap()
    .to_string();
    let row = user::Entity::find()
        .filter(user::Column::Username.eq("olivia"))
        .one(app.services.db())
        .await
        .unwrap()
        .unwrap();
    let mut active: user::ActiveModel = row.into();
    active.password_hash = Set(weak.clone());
    active.update(app.services.db()).await.unwrap();

    let res = app.login("olivia", PASSWORD, None).await;
    assert!(redirected_to(&res).is_some());
    let stored = app
        .services
        .password_hash_of("olivia")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(stored, weak);
    assert_eq!(password::parameters(&stored).unwrap().1, 19_456);
}

async fn wrong_password_and_unknown_user_get_the_same_answer(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    let wrong = app.login("olivia", "not the right password", None).await;
    let unknown = app.login("nobody", "not the right password", None).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(unknown.status(), 401);
    assert!(session_cookie(&wrong).is_none());
    let a: serde_json::Value = wrong.json().await.unwrap();
    let b: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(a, b);
    assert_eq!(a["code"], "invalid_credentials");
    let failures = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, o)| a == "login" && o == "failure")
        .count();
    assert_eq!(failures, 2);
}

async fn plain_form_posts_return_to_the_form_with_an_error_code(backend: Backend) {
    let app = spawn(backend).await;
    let res = app
        .client
        .post(app.url("/rpc/login"))
        .headers(app.browser_post_headers(true))
        .header("referer", format!("{}/login?next=%2Fqueue", app.base))
        .form(&[("username", "x"), ("password", "y"), ("next", "/queue")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    let location = res.headers()["location"].to_str().unwrap();
    assert_eq!(location, "/login?next=%2Fqueue&error=invalid_credentials");
}

async fn login_redirects_only_to_local_paths(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    for (next, expected) in [
        ("/queue", "/queue"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("", "/"),
    ] {
        let res = app
            .post_form(
                "/rpc/login",
                &[
                    ("username", "olivia"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
                None,
                false,
            )
            .await;
        assert_eq!(
            redirected_to(&res).as_deref(),
            Some(expected),
            "next={next}"
        );
    }
}

async fn failed_logins_are_throttled_per_account_without_permanent_lockout(backend: Backend) {
    let app = spawn_with(backend, |c| c.session.max_failed_logins_per_hour = 3).await;
    app.add_user("olivia", Role::Officer).await;
    for _ in 0..3 {
        assert_eq!(
            app.login("olivia", "wrong password!", None).await.status(),
            401
        );
    }
    // Even the right password is refused while the account is throttled.
    let refused = app.login("olivia", PASSWORD, None).await;
    assert_eq!(refused.status(), 429);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "throttled");
    assert_eq!(body["retry_after_secs"].as_u64(), Some(retry));
    // Unknown accounts are throttled the same way: no hint which accounts exist.
    for _ in 0..3 {
        let _ = app.login("ghost", "wrong password!", None).await;
    }
    assert_eq!(
        app.login("ghost", "wrong password!", None).await.status(),
        429
    );
    // An hour later the window has moved on.
    app.clock.advance(Duration::minutes(61));
    assert!(redirected_to(&app.login("olivia", PASSWORD, None).await).is_some());
    assert!(app
        .audit_actions()
        .await
        .contains(&("login".into(), "denied".into())));
}

async fn failed_logins_are_throttled_per_client(backend: Backend) {
    let app = spawn_with(backend, |c| c.session.max_failed_logins_per_hour = 3).await;
    app.add_user("olivia", Role::Officer).await;
    for name in ["a-one", "a-two", "a-three"] {
        assert_eq!(app.login(name, "wrong password!", None).await.status(), 401);
    }
    // The same client now cannot try another account either.
    assert_eq!(app.login("olivia", PASSWORD, None).await.status(), 429);
}

crate::on_both_backends!(
    login_sets_a_hardened_session_cookie,
    cookies_are_secure_behind_tls,
    stored_hashes_are_argon2id_with_owasp_parameters,
    weak_hashes_are_upgraded_at_login,
    wrong_password_and_unknown_user_get_the_same_answer,
    plain_form_posts_return_to_the_form_with_an_error_code,
    login_redirects_only_to_local_paths,
    failed_logins_are_throttled_per_account_without_permanent_lockout,
    failed_logins_are_throttled_per_client,
);
