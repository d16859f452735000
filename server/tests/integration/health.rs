use crate::helpers::{spawn, Backend};

async fn health_endpoints_report_live_and_ready(backend: Backend) {
    let app = spawn(backend).await;
    let live = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

async fn requests_carry_a_request_id(backend: Backend) {
    let app = spawn(backend).await;
    let res = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let mine = app
        .client
        .get(app.url("/health/live"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.headers()["x-request-id"], "trace-me-123");
}

async fn migrations_are_idempotent(backend: Backend) {
    let app = spawn(backend).await;
    lendscope_service::db::migrate(app.services.db())
        .await
        .unwrap();
    lendscope_service::db::readiness(app.services.db())
        .await
        .unwrap();
    if backend == Backend::Postgres {
        // Migration 13: decision records are compressed with LZ4 (Debian's PostgreSQL has it).
        use sea_orm::ConnectionTrait;
        let row = app
            .services
            .db()
            .query_one(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT attcompression::text AS method FROM pg_attribute \
                 WHERE attrelid = 'decisions'::regclass AND attname = 'content'",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<String>("", "method").unwrap(), "l");
    }
}

crate::on_both_backends!(
    health_endpoints_report_live_and_ready,
    requests_carry_a_request_id,
    migrations_are_idempotent,
);
