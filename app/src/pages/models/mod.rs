//! The model registry (admins): versions with lineage and aliases, the challenger's traffic
//! share, four-eyes promotion requests, rollback, archiving, training runs; a version page
//! with metrics, ROC and calibration charts; the champion-versus-challenger comparison with
//! the promotion gate. Every action is a plain form post (works without JavaScript) that
//! returns to the page it came from.

mod compare;
mod registry;
mod version;

use leptos::prelude::*;

pub use compare::ComparePage;
pub use registry::ModelsPage;
pub use version::ModelVersionPage;

use crate::error::AppError;
use lendscope_domain::{ModelId, RejectInference, RequestId, SharePercent};

lendscope_domain::vocabulary! {
    /// What a registry form asks for: the `action` field of every form posted to
    /// [`registry_action`], and the `done` value of the page it returns to. Anything else is
    /// refused as an unknown promotion resolution (422, field `resolution`), as this endpoint
    /// has always answered it.
    ModelAction("resolution") {
        /// Make a version (`model`) the challenger.
        Challenger = "challenger",
        /// Make a former champion (`model`) the champion again, with `note` as the reason.
        Rollback = "rollback",
        /// Archive a version (`model`) that serves no traffic, with `note` as the reason.
        Archive = "archive",
        /// Request a share of live decisions (`percent`, 1–100) for the challenger, with
        /// `note` as the reason (four eyes and the gate).
        Share = "share",
        /// Take the challenger out of live decisions at once (share 0 %; one admin suffices).
        Shadow = "shadow",
        /// Request the challenger's promotion, with `note` as the reason.
        Request = "request",
        /// Start a retraining run whose result becomes the challenger.
        Retrain = "retrain",
        /// Approve an open promotion request (`request`).
        Approve = "approve",
        /// Reject an open promotion request (`request`).
        Reject = "reject",
        /// Cancel one's own open promotion request (`request`).
        Cancel = "cancel",
    }
}

impl ModelAction {
    /// What the registry page says once the action is done.
    pub fn done_text(self) -> &'static str {
        match self {
            Self::Challenger => "The version is now the challenger.",
            Self::Rollback => "Rolled back: the version is champion again.",
            Self::Archive => "The version is archived.",
            Self::Share => "Share requested. Another admin must approve it.",
            Self::Shadow => "The challenger is back in shadow: it decides for no applicant.",
            Self::Request => "Promotion requested. Another admin must approve it.",
            Self::Approve => "Approved: the request is in force (see Serving now).",
            Self::Reject => "The promotion request was rejected.",
            Self::Cancel => "The promotion request was cancelled.",
            Self::Retrain => "Retraining started: its progress shows under Training runs; the result becomes the challenger.",
        }
    }
}

/// Every registry action (see [`ModelAction`]): `challenger`, `rollback`, `archive` (with
/// `model`), `share` (with `percent` and `note`), `shadow`, `request` (with `note` as the
/// reason), `retrain` (with `reject_inference`, default none), `approve` /
/// `reject` / `cancel` (with `request`). Returns to `/models` (or the comparison page for
/// requests) with `done=action`.
#[server(prefix = "/rpc", endpoint = "models/act")]
pub async fn registry_action(
    action: ModelAction,
    model: Option<ModelId>,
    request: Option<RequestId>,
    percent: Option<SharePercent>,
    note: Option<String>,
    reject_inference: Option<RejectInference>,
    csrf: String,
) -> Result<(), AppError> {
    use crate::ssr;
    use lendscope_domain::Area;
    use lendscope_service::registry::{RequestKind, Resolution};
    use lendscope_service::ServiceError;
    let _ = csrf; // checked by the server's CSRF layer before this runs
    let admin = ssr::require(Area::Models).await.map_err(ssr::fail_form)?;
    let svc = ssr::services()?;
    let meta = ssr::request_meta();
    let note = note.unwrap_or_default();
    // The field an action needs and did not get.
    let id = |field: &str, v: Option<i64>| {
        v.ok_or_else(|| ServiceError::invalid(field, "is not a valid id"))
    };
    let (model, request) = (model.map(ModelId::get), request.map(RequestId::get));
    let who = admin.username.as_str();
    let result = match action {
        ModelAction::Challenger => match id("model", model) {
            Ok(m) => svc.make_challenger(m, who, &meta).await,
            Err(e) => Err(e),
        },
        ModelAction::Rollback => match id("model", model) {
            Ok(m) => svc.rollback_champion(m, who, &note, &meta).await,
            Err(e) => Err(e),
        },
        ModelAction::Archive => match id("model", model) {
            Ok(m) => svc.archive_model(m, who, &note, &meta).await,
            Err(e) => Err(e),
        },
        ModelAction::Share => match percent {
            Some(p) => match RequestKind::share(p.get()) {
                Ok(kind) => svc
                    .request_promotion(who, kind, &note, &meta)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            },
            None => Err(ServiceError::invalid(
                "percent",
                "must be a whole number from 1 to 100",
            )),
        },
        ModelAction::Shadow => svc.return_to_shadow(who, &meta).await,
        ModelAction::Request => svc
            .request_promotion(who, RequestKind::Champion, &note, &meta)
            .await
            .map(|_| ()),
        ModelAction::Retrain => svc
            .start_retrain(
                who,
                None,
                reject_inference.unwrap_or(RejectInference::None),
                &meta,
            )
            .await
            .map(|_| ()),
        ModelAction::Approve | ModelAction::Reject | ModelAction::Cancel => {
            let resolution = match action {
                ModelAction::Approve => Resolution::Approve,
                ModelAction::Reject => Resolution::Reject,
                _ => Resolution::Cancel,
            };
            match id("request", request) {
                Ok(req) => {
                    svc.resolve_promotion(req, who, resolution, &note, &meta)
                        .await
                }
                Err(e) => Err(e),
            }
        }
    };
    result.map_err(|e| ssr::fail_form(ssr::map_service_error(e)))?;
    leptos_axum::redirect(&format!("/models?done={}", action.as_str()));
    Ok(())
}

/// The not-found card of a model version's pages (the version page and its validation
/// report): title and explanation.
pub(crate) const NO_VERSION: (&str, &str) = (
    "No such model version",
    "There is no registered model version with this id.",
);

fn fmt3(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |x| format!("{x:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_round_trip_and_unknown_ones_are_refused() {
        for a in ModelAction::ALL {
            assert_eq!(ModelAction::parse(a.as_str()), Some(*a));
            let json = serde_json::to_string(a).unwrap();
            assert_eq!(serde_json::from_str::<ModelAction>(&json).unwrap(), *a);
        }
        let err = serde_json::from_str::<ModelAction>("\"explode\"").unwrap_err();
        assert!(matches!(
            AppError::from_argument_message(err.to_string()),
            AppError::Invalid { field, .. } if field == "resolution"
        ));
    }
}
