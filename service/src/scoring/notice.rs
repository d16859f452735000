//! The applicant-facing notice of a decision: the decision, the principal reasons in plain
//! language, and what the applicant can do next. Built only from the stored decision record,
//! so it can be regenerated identically at any time. No internal scores are shown.

use lendscope_domain::{Decision, ReviewAction};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub use lendscope_domain::notice::Notice;

use super::record::DecisionRecord;
use crate::entity::{decision, review_action};
use crate::error::{known, ServiceError, ServiceResult};
use crate::Services;

/// The Equal Credit Opportunity Act notice (12 CFR 1002.9(b)(1)).
pub const ECOA_STATEMENT: &str = "The federal Equal Credit Opportunity Act prohibits creditors from \
discriminating against credit applicants on the basis of race, color, religion, national origin, sex, \
marital status, age (provided the applicant has the capacity to enter into a binding contract); because \
all or part of the applicant's income derives from any public assistance program; or because the \
applicant has in good faith exercised any right under the Consumer Credit Protection Act.";

/// An officer's final decision on an application, when there is one.
pub struct FinalDecision {
    pub decision: Decision,
    pub decided_at: String,
    /// The officer's own principal reasons for a rejection (none for actions recorded before
    /// officers gave reasons: the notice then keeps the automated decision's).
    pub reasons: Option<Vec<String>>,
}

/// The notice of a stored decision; an officer's final decision replaces the recommendation.
pub(crate) fn build(
    record: &DecisionRecord,
    officer: Option<FinalDecision>,
) -> ServiceResult<Notice> {
    let (decision, decided_at, officer_reasons) = match officer {
        Some(f) => (f.decision, f.decided_at, f.reasons),
        None => (record.decision, record.created_at.clone(), None),
    };
    // An officer's rejection states exactly the officer's reasons.
    let reasons = officer_reasons.unwrap_or_else(|| record.reason_texts());
    let review =
        "You may ask for your application to be reviewed by a person: reply to this notice or \
                  contact us with your application reference."
            .to_owned();
    let correct =
        "If any information we used is wrong or incomplete, tell us and we will reconsider your \
                   application with the corrected information."
            .to_owned();
    let (headline, reasons, next_steps, ecoa) = match decision {
        Decision::Approve => (
            "Your loan application has been approved.".to_owned(),
            Vec::new(),
            vec!["We will contact you with your loan agreement.".to_owned()],
            None,
        ),
        Decision::ManualReview => (
            "Your application is being reviewed by a loan officer.".to_owned(),
            Vec::new(),
            vec![
                "A loan officer will look at your application and you will receive a decision within 30 days."
                    .to_owned(),
                correct,
            ],
            None,
        ),
        Decision::Reject => (
            "We are unable to approve your loan application at this time.".to_owned(),
            reasons,
            vec![review, correct],
            Some(ECOA_STATEMENT.to_owned()),
        ),
    };
    Ok(Notice {
        application_id: record.application_id.clone(),
        decided_at,
        decision,
        headline,
        reasons,
        next_steps,
        ecoa_statement: ecoa,
    })
}

impl Services {
    /// The notice of an application, for the API client that submitted it.
    pub async fn notice_for_application(
        &self,
        application_id: &str,
        api_client: &str,
    ) -> ServiceResult<(Notice, String)> {
        let record = self
            .decision_record(application_id, Some(api_client))
            .await?;
        let token = record.notice_token.clone();
        let officer = self.final_decision(application_id).await?;
        Ok((build(&record, officer)?, token))
    }

    /// The notice behind an unguessable link (no login).
    pub async fn notice_by_token(&self, token: &str) -> ServiceResult<Notice> {
        if token.len() < 32
            || token.len() > 64
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(ServiceError::NotFound("notice"));
        }
        let row = decision::Entity::find()
            .filter(decision::Column::NoticeToken.eq(token))
            .one(self.db())
            .await?
            .ok_or(ServiceError::NotFound("notice"))?;
        let record = DecisionRecord::from_content(&row.content)?;
        let officer = self.final_decision(&row.application_id).await?;
        build(&record, officer)
    }

    /// The officer's approval or rejection of an application, if one was recorded.
    async fn final_decision(&self, application_id: &str) -> ServiceResult<Option<FinalDecision>> {
        let action = review_action::Entity::find()
            .filter(review_action::Column::ApplicationId.eq(application_id))
            .filter(review_action::Column::Action.is_in([
                ReviewAction::Approve.as_str(),
                ReviewAction::Reject.as_str(),
            ]))
            .one(self.db())
            .await?;
        action
            .map(|a| {
                let taken = known("review action", &a.action, ReviewAction::parse)?;
                Ok(FinalDecision {
                    reasons: a.stated_reason_texts()?,
                    decision: taken.decision().ok_or_else(|| {
                        ServiceError::Internal(format!("'{taken}' is not a final decision"))
                    })?,
                    decided_at: a
                        .created_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                })
            })
            .transpose()
    }
}
