use lendscope_domain::Role;
use lendscope_service::identity::passwords as password;

use crate::helpers::{redirected_to, spawn, Backend, Session, TestApp};

async fn create(app: &TestApp, s: &Session, form: &[(&str, &str)]) -> reqwest::Response {
    let mut fields = form.to_vec();
    fields.push(("csrf", &s.csrf));
    app.post_form("/rpc/users/create", &fields, Some(&s.cookie), false)
        .await
}

async fn admins_create_users_who_can_sign_in(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("adam", Role::Admin).await;
    let admin = app.login_as("adam").await;
    let res = create(
        &app,
        &admin,
        &[
            ("username", "New.Officer"),
            ("role", "officer"),
            ("password", "twelve chars ok"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let name: String = res.json().await.unwrap();
    assert_eq!(name, "new.officer");
    let stored = app
        .services
        .password_hash_of("new.officer")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(password::parameters(&stored).unwrap().0, "argon2id");
    assert!(redirected_to(&app.login("new.officer", "twelve chars ok", None).await).is_some());
    let users = app.services.list_users().await.unwrap();
    let created = users.iter().find(|u| u.username == "new.officer").unwrap();
    assert_eq!(created.created_by, "adam");
    assert!(app
        .audit_actions()
        .await
        .contains(&("user.create".into(), "success".into())));
}

async fn bad_user_input_is_rejected_by_field(backend: Backend) {
    let app = spawn(backend).await;
    app.add_user("adam", Role::Admin).await;
    let admin = app.login_as("adam").await;
    for (form, field) in [
        (
            [
                ("username", "x"),
                ("role", "officer"),
                ("password", "long enough pw"),
            ],
            "username",
        ),
        (
            [
                ("username", "valid"),
                ("role", "root"),
                ("password", "long enough pw"),
            ],
            "role",
        ),
        (
            [
                ("username", "valid"),
                ("role", "officer"),
                ("password", "short"),
            ],
            "password",
        ),
    ] {
        let res = create(&app, &admin, &form).await;
        assert_eq!(res.status(), 422, "{field}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["code"], "invalid");
        assert_eq!(body["field"], field);
    }
    let dup = create(
        &app,
        &admin,
        &[
            ("username", "adam"),
            ("role", "officer"),
            ("password", "long enough pw"),
        ],
    )
    .await;
    assert_eq!(dup.status(), 409);
    assert_eq!(
        app.services.list_users().await.unwrap().len(),
        1,
        "nothing written"
    );
}

crate::on_both_backends!(
    admins_create_users_who_can_sign_in,
    bad_user_input_is_rejected_by_field
);
