//! On PostgreSQL the server runs as a role that cannot rewrite history: `lendscope db
//! grant-app-role` leaves it SELECT and INSERT on the append-only tables (decisions, outcomes,
//! reviews, audit trail, …), so UPDATE, DELETE and TRUNCATE are refused by privilege before
//! any trigger runs — and the server still scores and verifies as that role.

use lendscope_server::{Application, Config};
use sea_orm::{ConnectionTrait, Database};

use crate::helpers::{application, spawn, Backend};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_application_role_cannot_update_delete_or_truncate_history() {
    let app = spawn(Backend::Postgres).await;
    let key = app.with_scoring(0).await;
    for i in 0..3 {
        app.decide(&key, &application(&format!("ROLE-{i}"))).await;
    }
    let role = format!("lendscope_app_{}", std::process::id());
    let grants = lendscope_service::db::grant_app_role(app.services.db(), &role, "app-role-secret")
        .await
        .unwrap();
    assert!(
        grants.contains(&"decisions: SELECT, INSERT".to_owned()),
        "{grants:?}"
    );
    assert!(grants.contains(&"sessions: SELECT, INSERT, UPDATE, DELETE".to_owned()));
    let (_, db_name) = app.database_url.rsplit_once('/').unwrap();
    let role_url = format!("postgres://{role}:app-role-secret@127.0.0.1:5432/{db_name}");
    let as_role = Database::connect(&role_url).await.unwrap();
    for table in [
        "decisions",
        "audit_log",
        "outcomes",
        "review_actions",
        "monitoring_runs",
    ] {
        for sql in [
            format!("UPDATE {table} SET id = id"),
            format!("DELETE FROM {table}"),
            format!("TRUNCATE {table}"),
        ] {
            let err = as_role
                .execute_unprepared(&sql)
                .await
                .unwrap_err()
                .to_string();
            assert!(err.contains("permission denied"), "{sql}: {err}");
        }
    }
    // The server runs as the role: it migrates nothing, scores, and the chain verifies.
    let config = Config {
        database_url: role_url.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    let server = Application::build(&config).await.unwrap();
    let services = server.services().clone();
    let base = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run_until_stopped());
    let res = reqwest::Client::new()
        .post(format!("{base}/api/v1/applications"))
        .bearer_auth(&key)
        .json(&application("ROLE-AS-APP"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let report = services.verify_decisions().await.unwrap();
    assert_eq!(report.records, 4);
    assert!(report.broken.is_none());
    drop(as_role);
    // Leave no role behind in the shared cluster.
    let owner = app.services.db();
    let _ = owner
        .execute_unprepared(&format!("DROP OWNED BY {role}"))
        .await;
    let _ = Database::connect(crate::helpers::postgres_admin_url())
        .await
        .unwrap()
        .execute_unprepared(&format!("DROP ROLE IF EXISTS {role}"))
        .await;
}
