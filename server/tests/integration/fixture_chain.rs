//! A decision chain written before the service layer was reorganised (issue 16) must still
//! verify, reproduce and read the same afterwards. `tests/fixtures/chain-e0e7df7.sqlite` was
//! written by commit e0e7df7 (see `tests/fixtures/README.md`): 36 applications scored by a
//! champion and a challenger (each shadowing the other), officer claims, approvals, rejections
//! and overrides, and outcomes. `chain-e0e7df7.golden.json` holds, for every application, the
//! compliance trace and the notice that commit produced from this database. The test opens a
//! copy (migrating it forward, as an upgrade would), then checks `audit verify`, `audit
//! reproduce` for every record, and that today's trace and notice equal the golden ones.
//! `LENDSCOPE_WRITE_GOLDEN=1` rewrites the golden file (only ever on the commit named above).

use std::sync::Arc;

use lendscope_service::{AuthSettings, Services, SystemClock};
use sea_orm::{ConnectionTrait, Statement};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chain-e0e7df7.sqlite"
);
const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/chain-e0e7df7.golden.json"
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_written_before_the_refactor_still_verifies_reproduces_and_reads_the_same() {
    let dir = std::env::temp_dir().join(format!("lendscope-fixture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("chain.sqlite");
    std::fs::copy(FIXTURE, &path).unwrap();
    let db = lendscope_service::db::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    lendscope_service::db::migrate(&db).await.unwrap();
    let services = Services::new(db, Arc::new(SystemClock), AuthSettings::default());

    let report = services.verify_decisions().await.unwrap();
    assert!(report.broken.is_none(), "{:?}", report.broken);
    assert_eq!(report.records, 36);
    // Officer actions and outcomes written before their chains existed get linked once (as
    // at the server's start) and then verify.
    services.link_unchained_records().await.unwrap();
    services.link_unchained_records().await.unwrap();
    let records = services.verify_record_chains().await.unwrap();
    assert_eq!(
        records
            .iter()
            .map(|r| (r.chain.as_str(), r.links, r.broken.clone()))
            .collect::<Vec<_>>(),
        [("review_actions", 12, None), ("outcomes", 17, None)]
    );

    let rows = services
        .db()
        .query_all(Statement::from_string(
            services.db().get_database_backend(),
            "SELECT application_id FROM decisions ORDER BY seq",
        ))
        .await
        .unwrap();
    let mut today = serde_json::Map::new();
    for row in rows {
        let id: String = row.try_get("", "application_id").unwrap();
        let r = services.reproduce_decision(&id).await.unwrap();
        assert!(
            r.identical(),
            "{id}: stored {} recomputed {}\n{}\n{}",
            r.stored_probability,
            r.recomputed_probability,
            r.stored_notice,
            r.regenerated_notice
        );
        let trace = services.decision_trace(&id).await.unwrap();
        let (notice, _) = services
            .notice_for_application(&id, &trace.api_client)
            .await
            .unwrap();
        today.insert(id, serde_json::json!({ "trace": trace, "notice": notice }));
    }
    let today = serde_json::Value::Object(today);
    if std::env::var_os("LENDSCOPE_WRITE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, serde_json::to_string_pretty(&today).unwrap()).unwrap();
    }
    let golden: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(GOLDEN).unwrap()).unwrap();
    for (id, want) in golden.as_object().unwrap() {
        assert_eq!(&today[id], want, "{id}: trace or notice changed");
    }
    assert_eq!(golden.as_object().unwrap().len(), 36);
    let _ = std::fs::remove_dir_all(&dir);
}
