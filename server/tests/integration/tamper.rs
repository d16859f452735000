//! Tamper evidence: someone with write access to the database (the append-only triggers
//! removed first) changes the decision records — flips a byte, deletes a middle row, reorders
//! rows, appends a forged row, truncates the tail — and `verify_decisions` (what
//! `lendscope audit verify` runs) names the first broken link for each. The tail is caught
//! by the chain head recorded outside the decisions table.

use sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::helpers::{application, spawn, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(every_kind_of_tampering_is_detected);

/// Lifts the append-only protection as a database owner could.
async fn lift_triggers(app: &TestApp) {
    let db = app.services.db();
    let sql: &[&str] = match db.get_database_backend() {
        DatabaseBackend::Sqlite => &[
            "DROP TRIGGER decisions_no_update",
            "DROP TRIGGER decisions_no_delete",
        ],
        _ => &["ALTER TABLE decisions DISABLE TRIGGER USER"],
    };
    for s in sql {
        db.execute_unprepared(s).await.unwrap();
    }
}

async fn content_of(app: &TestApp, seq: i64) -> String {
    let row = app
        .services
        .db()
        .query_one(sea_orm::Statement::from_string(
            app.services.db().get_database_backend(),
            format!("SELECT content FROM decisions WHERE seq = {seq}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<String>("", "content").unwrap()
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

async fn every_kind_of_tampering_is_detected(backend: Backend) {
    for tamper in [
        "flip",
        "delete",
        "reorder",
        "forge",
        "forge-rehashed",
        "truncate",
    ] {
        let app = spawn(backend).await;
        let key = app.with_scoring(0).await;
        for i in 0..12 {
            app.decide(&key, &application(&format!("TAMPER-{tamper}-{i:02}")))
                .await;
        }
        let before = app.services.verify_decisions().await.unwrap();
        assert_eq!(before.records, 12);
        assert!(before.broken.is_none());
        // Without lifting the triggers, even the owner's UPDATE and DELETE are refused.
        let db = app.services.db();
        assert!(db
            .execute_unprepared("UPDATE decisions SET decision = 'approve' WHERE seq = 3")
            .await
            .is_err());
        assert!(db
            .execute_unprepared("DELETE FROM decisions WHERE seq = 3")
            .await
            .is_err());
        lift_triggers(&app).await;
        let statements: Vec<String> = match tamper {
            "flip" => {
                // One byte of the stored content of record 5 changes.
                let c = content_of(&app, 5).await;
                let i = c.find("\"probability_of_default\":").unwrap() + 26;
                let mut bytes = c.into_bytes();
                bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
                let flipped = String::from_utf8(bytes).unwrap();
                vec![format!(
                    "UPDATE decisions SET content = {} WHERE seq = 5",
                    quoted(&flipped)
                )]
            }
            "delete" => vec!["DELETE FROM decisions WHERE seq = 6".into()],
            "reorder" => vec![
                "UPDATE decisions SET seq = -4 WHERE seq = 4".into(),
                "UPDATE decisions SET seq = 4 WHERE seq = 5".into(),
                "UPDATE decisions SET seq = 5 WHERE seq = -4".into(),
            ],
            "forge" => {
                // A copy of the last record, chained to it, with a made-up hash.
                let c = content_of(&app, 12)
                    .await
                    .replace("TAMPER-forge-11", "FORGED-0001");
                vec![format!(
                    "INSERT INTO decisions (seq, application_id, notice_token, created_at, api_client, \
                     idempotency_key, request_hash, applicant_id, model_id, role, decision, \
                     probability_of_default, policy_version, content, prev_hash, hash) \
                     SELECT 13, 'forged-app', 'forged-token', created_at, api_client, NULL, request_hash, \
                     'FORGED-0001', model_id, role, 'approve', probability_of_default, policy_version, \
                     {}, hash, '{}' FROM decisions WHERE seq = 12",
                    quoted(&c),
                    "f".repeat(64)
                )]
            }
            "forge-rehashed" => {
                // A forger who knows the hash function: new ids, the content's sequence
                // number and a correctly computed link. Only the chain head, kept outside the
                // decisions table, tells that the chain was longer than it should be.
                let row = db
                    .query_one(sea_orm::Statement::from_string(
                        db.get_database_backend(),
                        "SELECT application_id, notice_token, hash FROM decisions WHERE seq = 12",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                let (app_id, token, prev): (String, String, String) = (
                    row.try_get("", "application_id").unwrap(),
                    row.try_get("", "notice_token").unwrap(),
                    row.try_get("", "hash").unwrap(),
                );
                let content = content_of(&app, 12)
                    .await
                    .replace(&app_id, "forged-app-0002")
                    .replace(&token, "forged-token-0002")
                    .replace("\"seq\":12", "\"seq\":13");
                let hash = lendscope_service::scoring::chain::link_hash(&prev, &content);
                vec![format!(
                    "INSERT INTO decisions (seq, application_id, notice_token, created_at, api_client, \
                     idempotency_key, request_hash, applicant_id, model_id, role, decision, \
                     probability_of_default, policy_version, content, prev_hash, hash) \
                     SELECT 13, 'forged-app-0002', 'forged-token-0002', created_at, api_client, \
                     idempotency_key, request_hash, applicant_id, model_id, role, decision, \
                     probability_of_default, policy_version, {}, hash, '{hash}' \
                     FROM decisions WHERE seq = 12",
                    quoted(&content)
                )]
            }
            "truncate" => vec!["DELETE FROM decisions WHERE seq >= 11".into()],
            _ => unreachable!(),
        };
        for s in &statements {
            db.execute_unprepared(s).await.unwrap();
        }
        let report = app.services.verify_decisions().await.unwrap();
        let broken = report
            .broken
            .clone()
            .unwrap_or_else(|| panic!("{tamper} went unnoticed: {report:?}"));
        println!(
            "{tamper}: detected at seq {}: {}",
            broken.seq, broken.problem
        );
        let expected_seq = match tamper {
            "flip" => 5,
            "delete" => 6,
            "reorder" => 4,
            "forge" | "forge-rehashed" => 13,
            "truncate" => 11,
            _ => unreachable!(),
        };
        assert_eq!(broken.seq, expected_seq, "{tamper}: {}", broken.problem);
    }
}
