//! A staff member's own account (ASVS V2.1.5, V3.3.3, V3.3.4): they see where they are signed
//! in and end those sessions, and they change their password with the current one, which
//! ends every other session.

use lendscope_domain::Role;

use crate::helpers::{
    redirected_to, session_cookie, spawn, spawn_with, Backend, Session, TestApp, PASSWORD,
};

crate::on_both_backends!(
    staff_see_their_sessions_and_end_the_others,
    changing_the_password_ends_every_other_session,
);

/// Signs in with a given browser name, as a second device would.
async fn login_from(app: &TestApp, name: &str, password: &str, browser: &str) -> Session {
    let res = app
        .login_with_headers(name, password, &[("user-agent", browser)])
        .await;
    let cookie = session_cookie(&res).expect("signed in");
    let csrf = app.csrf_of(&cookie).await;
    Session { cookie, csrf }
}

async fn sessions(app: &TestApp, s: &Session) -> Vec<serde_json::Value> {
    let res = app.get_json("/rpc/account", Some(&s.cookie), None).await;
    assert_eq!(res.status(), 200);
    res.json::<Vec<serde_json::Value>>().await.unwrap()
}

async fn end(app: &TestApp, s: &Session, which: &str) -> reqwest::Response {
    app.post_form(
        "/rpc/account/sessions/end",
        &[("session", which), ("csrf", &s.csrf)],
        Some(&s.cookie),
        false,
    )
    .await
}

async fn error_field(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap();
    (
        status,
        body["field"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn staff_see_their_sessions_and_end_the_others(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("olivia", Role::Officer).await;
    app.add_user("mallory", Role::Officer).await;
    let laptop = login_from(&app, "olivia", PASSWORD, "Laptop browser").await;
    let phone = login_from(&app, "olivia", PASSWORD, "Phone browser").await;
    let tablet = login_from(&app, "olivia", PASSWORD, "Tablet browser").await;
    let mallory = app.login_as("mallory").await;

    let rows = sessions(&app, &laptop).await;
    assert_eq!(rows.len(), 3, "only olivia's sessions: {rows:?}");
    let current: Vec<_> = rows.iter().filter(|r| r["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["browser"], "Laptop browser");
    let handle_of = |browser: &str| {
        rows.iter().find(|r| r["browser"] == browser).unwrap()["handle"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The handles are not session ids.
    for r in &rows {
        let h = r["handle"].as_str().unwrap();
        for s in [&laptop, &phone, &tablet] {
            assert!(!s.cookie.contains(h));
        }
        assert!(
            app.whoami(Some(&format!("lendscope_session={h}")))
                .await
                .is_null(),
            "a handle does not open a session"
        );
    }

    // End the phone's session from the laptop.
    let res = end(&app, &laptop, &handle_of("Phone browser")).await;
    assert_eq!(
        redirected_to(&res).as_deref(),
        Some("/account?done=sessions")
    );
    assert!(app.whoami(Some(&phone.cookie)).await.is_null());
    assert!(!app.whoami(Some(&laptop.cookie)).await.is_null());
    assert!(!app.whoami(Some(&tablet.cookie)).await.is_null());
    // Again: it is gone. The session in use is ended by signing out, not here.
    assert_eq!(
        error_field(end(&app, &laptop, &handle_of("Phone browser")).await)
            .await
            .0,
        404
    );
    assert_eq!(
        error_field(end(&app, &laptop, &handle_of("Laptop browser")).await).await,
        (422, "session".to_owned())
    );
    // Another user cannot end olivia's sessions, even knowing a handle.
    assert_eq!(
        error_field(end(&app, &mallory, &handle_of("Tablet browser")).await)
            .await
            .0,
        404
    );
    assert!(!app.whoami(Some(&tablet.cookie)).await.is_null());
    // All others.
    let res = end(&app, &laptop, "others").await;
    assert!(redirected_to(&res).is_some());
    assert!(app.whoami(Some(&tablet.cookie)).await.is_null());
    assert_eq!(sessions(&app, &laptop).await.len(), 1);
    assert!(!app.whoami(Some(&mallory.cookie)).await.is_null());

    // The page lists them for a browser without JavaScript.
    let html = app
        .get("/account", Some(&laptop.cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Where you are signed in"));
    assert!(html.contains("This browser"));
    assert!(html.contains("Laptop browser"));
    let ends = app
        .audit_actions()
        .await
        .into_iter()
        .filter(|(a, o)| a == "session.end" && o == "success")
        .count();
    assert_eq!(ends, 2);
}

async fn change(
    app: &TestApp,
    s: &Session,
    current: &str,
    new: &str,
    repeat: &str,
) -> reqwest::Response {
    app.post_form(
        "/rpc/account/password",
        &[
            ("current_password", current),
            ("new_password", new),
            ("repeat_password", repeat),
            ("csrf", &s.csrf),
        ],
        Some(&s.cookie),
        false,
    )
    .await
}

async fn changing_the_password_ends_every_other_session(backend: Backend) {
    let app = spawn_with(backend, |c| c.session.max_failed_logins_per_hour = 3).await;
    app.add_user("olivia", Role::Officer).await;
    let laptop = login_from(&app, "olivia", PASSWORD, "Laptop browser").await;
    let phone = login_from(&app, "olivia", PASSWORD, "Phone browser").await;
    let new = "a brand new passphrase";

    // Refused, with the field named, and nothing changed.
    for (current, new_pw, repeat, field) in [
        ("not my password!!", new, new, "current_password"),
        (PASSWORD, new, "something else entirely", "repeat_password"),
        (PASSWORD, "short", "short", "new_password"),
        (PASSWORD, PASSWORD, PASSWORD, "new_password"),
    ] {
        let res = change(&app, &laptop, current, new_pw, repeat).await;
        assert_eq!(error_field(res).await, (422, field.to_owned()));
    }
    assert!(!app.whoami(Some(&phone.cookie)).await.is_null());
    assert!(!app.whoami(Some(&laptop.cookie)).await.is_null());

    // Success: a new session for this browser, every other one ended.
    let res = change(&app, &laptop, PASSWORD, new, new).await;
    assert_eq!(
        redirected_to(&res).as_deref(),
        Some("/account?done=password")
    );
    let renewed = session_cookie(&res).expect("a new session cookie");
    assert_ne!(renewed, laptop.cookie);
    assert!(
        app.whoami(Some(&laptop.cookie)).await.is_null(),
        "old id ended"
    );
    assert!(
        app.whoami(Some(&phone.cookie)).await.is_null(),
        "other device ended"
    );
    assert_eq!(app.whoami(Some(&renewed)).await["username"], "olivia");
    assert_eq!(app.login("olivia", PASSWORD, None).await.status(), 401);
    assert!(redirected_to(&app.login("olivia", new, None).await).is_some());
    let audit = app.audit_actions().await;
    assert!(audit.contains(&("password.change".into(), "success".into())));
    assert!(audit.contains(&("password.change".into(), "failure".into())));

    // Guessing the current password through this form counts against the sign-in limit
    // (3 here): one wrong guess above, one wrong sign-in, one more guess, then refused.
    let s = login_from(&app, "olivia", new, "Laptop browser").await;
    let res = change(
        &app,
        &s,
        "guess number two",
        "another new passphrase",
        "another new passphrase",
    )
    .await;
    assert_eq!(error_field(res).await.0, 422);
    let res = change(
        &app,
        &s,
        new,
        "another new passphrase",
        "another new passphrase",
    )
    .await;
    assert_eq!(res.status(), 429, "throttled, even with the right password");
    assert!(!app.whoami(Some(&s.cookie)).await.is_null());
}
