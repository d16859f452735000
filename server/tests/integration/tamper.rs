//! Tamper evidence: someone with write access to the database (the append-only triggers
//! removed first) changes the decision records — flips a byte, deletes a middle row, reorders
//! rows, appends a forged row, truncates the tail — and `verify_decisions` (what
//! `lendscope audit verify` runs) names the first broken link for each. The tail is caught
//! by the chain head recorded outside the decisions table.

use std::sync::Arc;

use lendscope_service::audit::checkpoint::CheckpointKey;
use lendscope_service::registry::artifact_sha256;
use lendscope_service::scoring::chain::link_hash;
use lendscope_service::{AuthSettings, ServiceError, Services, SystemClock};
use sea_orm::{ConnectionTrait, DatabaseBackend};

use crate::helpers::{application, spawn, Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    every_kind_of_tampering_is_detected,
    an_altered_artifact_is_never_served_and_fails_verify,
    signed_checkpoints_catch_a_rewritten_suffix_and_a_foreign_key,
    officer_actions_and_outcomes_are_chained
);

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

/// Lifts the append-only protection of the model registry as a database owner could.
async fn lift_model_triggers(app: &TestApp) {
    let db = app.services.db();
    let sql: &[&str] = match db.get_database_backend() {
        DatabaseBackend::Sqlite => &[
            "DROP TRIGGER models_no_update",
            "DROP TRIGGER models_no_delete",
        ],
        _ => &["ALTER TABLE models DISABLE TRIGGER USER"],
    };
    for s in sql {
        db.execute_unprepared(s).await.unwrap();
    }
}

async fn one_text(app: &TestApp, sql: &str) -> String {
    let db = app.services.db();
    let row = db
        .query_one(sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// A new process over the same database: nothing loaded or cached yet.
async fn fresh_services(app: &TestApp) -> Services {
    let db = lendscope_service::db::connect(&app.database_url)
        .await
        .unwrap();
    Services::new(db, Arc::new(SystemClock), AuthSettings::default())
}

/// Every record names the SHA-256 of the artifacts that scored it; the registry refuses to
/// change an artifact; one changed anyway (by the database owner) is never served — a
/// challenger's failure leaves the champion deciding, with the failure recorded, a champion's
/// makes scoring unavailable — and `audit verify` names the records scored by it, also when the
/// forger recomputed the registered hash.
async fn an_altered_artifact_is_never_served_and_fails_verify(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    let first = app.decide(&key, &application("ARTIFACT-1")).await;
    let id = first["application_id"].as_str().unwrap().to_owned();
    let record = app.services.decision_record(&id, None).await.unwrap();
    let (champion, challenger) = (
        record.served.model.id,
        record.shadow.as_ref().unwrap().model.id,
    );
    let registered = |m: i64| format!("SELECT sha256 FROM models WHERE id = {m}");
    assert_eq!(
        record.served.model.sha256.as_deref(),
        Some(one_text(&app, &registered(champion)).await.as_str())
    );
    assert_eq!(
        record.shadow.as_ref().unwrap().model.sha256.as_deref(),
        Some(one_text(&app, &registered(challenger)).await.as_str())
    );
    assert!(app
        .services
        .verify_decisions()
        .await
        .unwrap()
        .broken
        .is_none());

    // Artifacts are append-only in the database.
    let db = app.services.db();
    for sql in [
        format!("UPDATE models SET model_json = model_json || ' ' WHERE id = {challenger}"),
        format!("UPDATE models SET sha256 = 'x' WHERE id = {challenger}"),
        format!("DELETE FROM models WHERE id = {challenger}"),
    ] {
        assert!(
            db.execute_unprepared(&sql).await.is_err(),
            "{sql} was allowed"
        );
    }

    // The owner lifts the protection and appends a byte to the challenger's artifact.
    lift_model_triggers(&app).await;
    db.execute_unprepared(&format!(
        "UPDATE models SET model_json = model_json || ' ' WHERE id = {challenger}"
    ))
    .await
    .unwrap();
    let report = app.services.verify_decisions().await.unwrap();
    let broken = report.broken.expect("an altered artifact went unnoticed");
    assert_eq!(broken.seq, 1);
    assert!(
        broken.problem.contains("no longer matches"),
        "{}",
        broken.problem
    );

    // A new process refuses to load it: the champion decides alone, the record says why.
    let s2 = fresh_services(&app).await;
    let body = serde_json::to_vec(&application("ARTIFACT-2")).unwrap();
    let scored = s2.score_application("partner", None, &body).await.unwrap();
    let second = s2
        .decision_record(&scored.application_id, None)
        .await
        .unwrap();
    assert_eq!(second.served.model.id, champion);
    assert!(second.shadow.is_none());
    let why = second.shadow_error.clone().unwrap_or_default();
    assert!(
        why.contains(&format!("model {challenger}")) && why.contains("integrity"),
        "{why}"
    );
    assert_eq!(
        s2.metrics().counter(
            "lendscope_model_integrity_failures_total",
            &[("model_id", &challenger.to_string())]
        ),
        1
    );
    assert_eq!(
        s2.metrics().counter(
            "lendscope_shadow_failures_total",
            &[("served_role", "champion")]
        ),
        1
    );
    let alerts = one_text(
        &app,
        "SELECT target FROM audit_log WHERE action = 'model.integrity' ORDER BY id DESC",
    )
    .await;
    assert_eq!(alerts, challenger.to_string());

    // A forger who also recomputes the registered hash is caught by the records' own hashes.
    let model_json = one_text(
        &app,
        &format!("SELECT model_json FROM models WHERE id = {challenger}"),
    )
    .await;
    let schema_json = one_text(
        &app,
        &format!("SELECT schema_json FROM models WHERE id = {challenger}"),
    )
    .await;
    db.execute_unprepared(&format!(
        "UPDATE models SET sha256 = '{}' WHERE id = {challenger}",
        artifact_sha256(&model_json, &schema_json)
    ))
    .await
    .unwrap();
    let broken = app
        .services
        .verify_decisions()
        .await
        .unwrap()
        .broken
        .unwrap();
    assert_eq!(broken.seq, 1);
    assert!(
        broken.problem.contains("but the registry holds"),
        "{}",
        broken.problem
    );

    // An altered champion is never served: scoring is unavailable until it is fixed.
    db.execute_unprepared(&format!(
        "UPDATE models SET model_json = model_json || ' ' WHERE id = {champion}"
    ))
    .await
    .unwrap();
    let s3 = fresh_services(&app).await;
    let body = serde_json::to_vec(&application("ARTIFACT-3")).unwrap();
    let err = s3
        .score_application("partner", None, &body)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Unavailable(ref m) if m.contains(&format!("model {champion}")) && m.contains("integrity")),
        "{err}"
    );
}

/// The chain alone cannot tell a suffix rewritten by the database's owner with recomputed
/// hashes and head; a signed checkpoint written before can. A checkpoint signed by any other
/// key is refused.
async fn signed_checkpoints_catch_a_rewritten_suffix_and_a_foreign_key(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(0).await;
    for i in 0..10 {
        app.decide(&key, &application(&format!("CHECKPOINT-{i:02}")))
            .await;
    }
    let dir = std::env::temp_dir().join(format!(
        "lendscope-checkpoints-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let signer = CheckpointKey::generate(&dir.join("checkpoint.key")).unwrap();
    assert!(
        CheckpointKey::generate(&dir.join("checkpoint.key")).is_err(),
        "an existing key file is never overwritten"
    );
    let public = hex::decode(signer.public_key_hex()).unwrap();
    let ours = dir.join("ours");
    let (c, path) = app.services.write_checkpoint(&signer, &ours).await.unwrap();
    assert_eq!(c.heads[0].chain, "decisions");
    assert_eq!(c.heads[0].seq, 10);
    assert!(path.exists());
    let report = app
        .services
        .verify_checkpoints(&ours, &public)
        .await
        .unwrap();
    assert_eq!((report.checked, report.broken.clone()), (1, None));

    // The owner rewrites links 8 to 10 (an applicant's protected attribute) and recomputes
    // every hash and the head: the chain alone verifies again.
    lift_triggers(&app).await;
    let db = app.services.db();
    let mut prev = one_text(&app, "SELECT hash FROM decisions WHERE seq = 7").await;
    for seq in 8..=10 {
        let content = content_of(&app, seq)
            .await
            .replace("\"female\"", "\"male\"");
        let hash = link_hash(&prev, &content);
        db.execute_unprepared(&format!(
            "UPDATE decisions SET content = {}, prev_hash = '{prev}', hash = '{hash}' WHERE seq = {seq}",
            quoted(&content)
        ))
        .await
        .unwrap();
        prev = hash;
    }
    db.execute_unprepared(&format!(
        "UPDATE chain_heads SET hash = '{prev}' WHERE chain = 'decisions'"
    ))
    .await
    .unwrap();
    let chain = app.services.verify_decisions().await.unwrap();
    assert!(
        chain.broken.is_none(),
        "a consistent rewrite passes the chain alone"
    );
    let report = app
        .services
        .verify_checkpoints(&ours, &public)
        .await
        .unwrap();
    let (file, why) = report
        .broken
        .expect("the rewrite went unnoticed by the checkpoint");
    assert!(file.starts_with("checkpoint-000000000010-"), "{file}");
    assert!(
        why.contains("link 10") && why.contains("rewritten"),
        "{why}"
    );

    // A checkpoint signed by another key is refused, whatever it says.
    let stranger = CheckpointKey::generate(&dir.join("stranger.key")).unwrap();
    let theirs = dir.join("theirs");
    app.services
        .write_checkpoint(&stranger, &theirs)
        .await
        .unwrap();
    let report = app
        .services
        .verify_checkpoints(&theirs, &public)
        .await
        .unwrap();
    let (_, why) = report.broken.expect("a foreign checkpoint was accepted");
    assert!(
        why.contains("not signed by this deployment's checkpoint key"),
        "{why}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Officer actions and outcomes have hash chains of their own: a changed, removed or
/// forged record is named by `verify_record_chains` (what `lendscope audit verify` runs).
async fn officer_actions_and_outcomes_are_chained(backend: Backend) {
    use lendscope_service::review::ReviewAction;
    use lendscope_service::RequestMeta;
    for tamper in ["change-action", "remove-outcome", "forge-outcome", "none"] {
        let app = spawn(backend).await;
        let key = app.with_scoring(0).await;
        let mut ids = Vec::new();
        for i in 0..3 {
            let d = app
                .decide(&key, &application(&format!("RECORDS-{tamper}-{i}")))
                .await;
            ids.push(d["application_id"].as_str().unwrap().to_owned());
        }
        let s = &app.services;
        let meta = RequestMeta::default();
        s.review(
            &ids[0],
            "olivia",
            ReviewAction::Claim,
            0,
            None,
            None,
            &[],
            &meta,
        )
        .await
        .unwrap();
        s.review(
            &ids[0],
            "olivia",
            ReviewAction::Escalate,
            1,
            Some("check income"),
            None,
            &[],
            &meta,
        )
        .await
        .unwrap();
        // Outcomes of approved loans (an officer approves what the model did not).
        let approvals = {
            let before = s.case_history(&ids[1]).await.unwrap().len()
                + s.case_history(&ids[2]).await.unwrap().len();
            for id in &ids[1..] {
                crate::helpers::label(s, id, "repaid").await;
            }
            s.case_history(&ids[1]).await.unwrap().len()
                + s.case_history(&ids[2]).await.unwrap().len()
                - before
        };
        let reports = s.verify_record_chains().await.unwrap();
        assert_eq!(
            reports
                .iter()
                .map(|r| (r.chain.as_str(), r.links, r.broken.clone()))
                .collect::<Vec<_>>(),
            [
                ("review_actions", 2 + approvals as u64, None),
                ("outcomes", 2, None)
            ],
            "{tamper}"
        );
        let db = s.db();
        let lift: Vec<String> = match db.get_database_backend() {
            DatabaseBackend::Sqlite => ["review_actions", "outcomes"]
                .iter()
                .flat_map(|t| {
                    [
                        format!("DROP TRIGGER {t}_no_update"),
                        format!("DROP TRIGGER {t}_no_delete"),
                    ]
                })
                .collect(),
            _ => ["review_actions", "outcomes"]
                .iter()
                .map(|t| format!("ALTER TABLE {t} DISABLE TRIGGER USER"))
                .collect(),
        };
        for sql in lift {
            db.execute_unprepared(&sql).await.unwrap();
        }
        let (chain, expected) = match tamper {
            "change-action" => {
                db.execute_unprepared(
                    "UPDATE review_actions SET note = 'nothing to check' WHERE version = 2",
                )
                .await
                .unwrap();
                ("review_actions", "was changed after it was written")
            }
            "remove-outcome" => {
                db.execute_unprepared(&format!(
                    "DELETE FROM outcomes WHERE application_id = '{}'",
                    ids[2]
                ))
                .await
                .unwrap();
                ("outcomes", "was removed")
            }
            "forge-outcome" => {
                db.execute_unprepared(&format!(
                    "INSERT INTO outcomes (application_id, outcome, observed_at, recorded_at, recorded_by) \
                     SELECT '{}', 'defaulted', observed_at, recorded_at, recorded_by FROM outcomes \
                     WHERE application_id = '{}'",
                    ids[0], ids[1]
                ))
                .await
                .unwrap();
                ("outcomes", "written around Lendscope")
            }
            _ => ("", ""),
        };
        let reports = s.verify_record_chains().await.unwrap();
        for r in reports {
            if r.chain == chain {
                let why = r
                    .broken
                    .unwrap_or_else(|| panic!("{tamper} went unnoticed"));
                assert!(why.contains(expected), "{tamper}: {why}");
            } else {
                assert!(r.broken.is_none(), "{tamper}: {:?}", r.broken);
            }
        }
    }
}
