use lendscope_service::Actor;

use crate::helpers::{spawn, Backend, TestApp};

/// A fresh server with one API key created for `name`.
async fn app_with_key(backend: Backend, name: &str) -> (TestApp, String) {
    let app = spawn(backend).await;
    let key = app
        .services
        .create_api_key(name, Actor::System)
        .await
        .unwrap();
    (app, key)
}

/// `GET /api/v1/whoami` with the key.
async fn whoami(app: &TestApp, key: &str) -> reqwest::Response {
    app.client
        .get(app.url("/api/v1/whoami"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
}

async fn api_keys_authenticate_machine_clients(backend: Backend) {
    let (app, key) = app_with_key(backend, "partner-portal").await;
    assert!(key.starts_with("lsk_"));
    let ok = whoami(&app, &key).await;
    assert_eq!(ok.status(), 200);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["client"], "partner-portal");

    for auth in [
        None,
        Some("Bearer lsk_wrong"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut req = app.client.get(app.url("/api/v1/whoami"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{auth:?}");
        assert!(res.headers().contains_key("www-authenticate"));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthenticated");
    }
}

async fn api_keys_are_stored_only_as_hashes_and_names_are_unique(backend: Backend) {
    use lendscope_service::entity::api_key;
    use sea_orm::EntityTrait;
    let (app, key) = app_with_key(backend, "partner").await;
    let rows = api_key::Entity::find()
        .all(app.services.db())
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].key_hash, key);
    assert!(!rows[0].key_hash.contains(&key[4..]));
    assert_eq!(rows[0].key_hash.len(), 64);
    let dup = app.services.create_api_key("partner", Actor::System).await;
    assert!(matches!(
        dup,
        Err(lendscope_service::ServiceError::Conflict(_))
    ));
}

/// A key revoked in the database stops working once its time in the cache of resolved keys has
/// passed (by the service clock).
async fn revoked_api_keys_stop_working_within_the_cache_ttl(backend: Backend) {
    use lendscope_service::entity::api_key;
    use lendscope_service::identity::auth::API_KEY_CACHE_TTL_MS;
    use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
    let (app, key) = app_with_key(backend, "partner").await;
    let whoami = || async { whoami(&app, &key).await.status() };
    assert_eq!(whoami().await, 200);
    api_key::Entity::update_many()
        .set(api_key::ActiveModel {
            revoked_at: Set(Some(app.services.now())),
            ..Default::default()
        })
        .filter(api_key::Column::Name.eq("partner"))
        .exec(app.services.db())
        .await
        .unwrap();
    app.clock
        .advance(chrono::Duration::milliseconds(API_KEY_CACHE_TTL_MS));
    assert_eq!(whoami().await, 401);
    // A revoked key is not cached: it stays refused.
    assert_eq!(whoami().await, 401);
}

crate::on_both_backends!(
    revoked_api_keys_stop_working_within_the_cache_ttl,
    api_keys_authenticate_machine_clients,
    api_keys_are_stored_only_as_hashes_and_names_are_unique,
);
