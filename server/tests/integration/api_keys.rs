use lendscope_service::Actor;

use crate::helpers::{spawn, Backend};

async fn api_keys_authenticate_machine_clients(backend: Backend) {
    let app = spawn(backend).await;
    let key = app
        .services
        .create_api_key("partner-portal", Actor::System)
        .await
        .unwrap();
    assert!(key.starts_with("lsk_"));
    let ok = app
        .client
        .get(app.url("/api/v1/whoami"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
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
    let app = spawn(backend).await;
    let key = app
        .services
        .create_api_key("partner", Actor::System)
        .await
        .unwrap();
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

crate::on_both_backends!(
    api_keys_authenticate_machine_clients,
    api_keys_are_stored_only_as_hashes_and_names_are_unique,
);
