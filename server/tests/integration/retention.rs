//! Retention and reproducibility: a stored decision recomputed from its stored inputs with
//! the model version and policy version it names gives the same probability (bit for bit)
//! and a byte-identical notice — also after the champion and the policy changed.

use lendscope_service::audit::Actor;

use crate::helpers::{spawn, Backend};
use crate::on_both_backends;

on_both_backends!(notices_regenerate_byte_identical_after_model_and_policy_changes);

async fn notices_regenerate_byte_identical_after_model_and_policy_changes(backend: Backend) {
    let app = spawn(backend).await;
    let key = app.with_scoring(50).await;
    let mut ids = Vec::new();
    let mut decisions = std::collections::BTreeSet::new();
    let applicants = lendscope_server::cli::demo::generated_applicants(9, 60, "REPRO").unwrap();
    for (i, (body, _)) in applicants.into_iter().enumerate() {
        let mut body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        if i % 10 == 0 {
            body["loan"]["amount"] = serde_json::json!(7000); // out of the policy's range
        }
        let d = app.decide(&key, &body).await;
        decisions.insert(
            d["decision"]
                .as_str()
                .unwrap_or_else(|| panic!("{d}"))
                .to_owned(),
        );
        ids.push(d["application_id"].as_str().unwrap().to_owned());
    }
    // The policy and the serving pair change afterwards; old decisions keep their versions.
    let mut policy = app.services.current_policy().await.unwrap();
    policy.version = "2026-12-tighter".into();
    policy.approve_below /= 2.0;
    app.services
        .set_policy(policy, Actor::System)
        .await
        .unwrap();
    for id in &ids {
        let r = app.services.reproduce_decision(id).await.unwrap();
        assert!(r.identical(), "{id}: {r:?}");
        assert!(r
            .stored_notice
            .contains(&format!("\"application_id\":\"{id}\"")));
    }
    println!("decisions reproduced: {} ({decisions:?})", ids.len());
    assert_eq!(
        decisions.len(),
        3,
        "approve, review and reject: {decisions:?}"
    );
    let missing = app.services.reproduce_decision("no-such-application").await;
    assert!(missing.is_err());
}
