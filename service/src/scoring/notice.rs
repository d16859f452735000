//! The applicant-facing notice of a decision: the decision, the principal reasons in plain
//! language, and what the applicant can do next. Built only from the stored decision record,
//! so it can be regenerated identically at any time. No internal scores are shown.

use lendscope_domain::{Decision, ReviewAction};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub use lendscope_domain::notice::{Notice, OfferedTerms};
use lendscope_domain::review::money;

use super::alternatives::RECOURSE_DISCLAIMER;
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

/// The creditor a notice names (12 CFR 1002.9(a)(2) asks for its name and address).
pub const CREDITOR: &str = "Lendscope Community Lending, 100 Main Street, Springfield, IL 62701";

/// An officer's final decision on an application, when there is one.
pub struct FinalDecision {
    pub decision: Decision,
    pub decided_at: String,
    /// The officer's own principal reasons for a rejection (none for actions recorded before
    /// officers gave reasons: the notice then keeps the automated decision's).
    pub reasons: Option<Vec<String>>,
    /// Whether the officer decided by the stored counteroffer.
    pub counteroffer: bool,
}

/// The counteroffer stored with a decision, as the notice states it.
pub(crate) fn offered_terms(
    record: &DecisionRecord,
    decided_by_officer: bool,
) -> Option<OfferedTerms> {
    let o = record.alternatives.as_ref()?.counteroffer.as_ref()?;
    let amount = money(o.amount);
    Some(OfferedTerms {
        text: format!("a loan of {amount} repaid over {} months", o.term_months),
        amount,
        term_months: o.term_months,
        decided_by_officer,
    })
}

/// The notice of a stored decision; an officer's final decision replaces the recommendation.
pub(crate) fn build(
    record: &DecisionRecord,
    officer: Option<FinalDecision>,
) -> ServiceResult<Notice> {
    let took_counteroffer = officer.as_ref().is_some_and(|f| f.counteroffer);
    let by_officer = officer.is_some();
    let (decision, decided_at, officer_reasons) = match officer {
        // A counteroffer declines the request as made (the offer is stated beside it).
        Some(f) if f.counteroffer => (Decision::Reject, f.decided_at, f.reasons),
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
    // The counteroffer and the recourse come with the automated decision, and with an
    // officer's decision by the counteroffer; an officer's own approval or rejection replaces
    // them.
    let counteroffer = if by_officer && !took_counteroffer {
        None
    } else {
        offered_terms(record, took_counteroffer)
    };
    let recourse: Vec<String> = if by_officer && !took_counteroffer {
        Vec::new()
    } else {
        record
            .alternatives
            .iter()
            .flat_map(|a| a.recourse.iter().map(|r| r.statement.clone()))
            .collect()
    };
    let accept = |o: &OfferedTerms| {
        format!(
            "To accept {}, reply to this notice or contact us with your application reference \
             within 30 days.",
            o.text
        )
    };
    // The counteroffer the notice is about: one the officer made, or one offered with an
    // automated rejection (a manual-review notice mentions it among the next steps).
    let offer = match (decision, &counteroffer) {
        (Decision::Reject, Some(o)) => Some(o),
        _ => None,
    };
    let (headline, reasons, mut next_steps, ecoa) = match (decision, offer) {
        (_, Some(o)) => (
            format!(
                "We are unable to approve the loan you asked for. We {} {} instead.",
                if took_counteroffer {
                    "are offering you"
                } else {
                    "can offer you"
                },
                o.text
            ),
            reasons,
            vec![accept(o), review, correct],
            Some(ECOA_STATEMENT.to_owned()),
        ),
        (Decision::Approve, None) => (
            "Your loan application has been approved.".to_owned(),
            Vec::new(),
            vec!["We will contact you with your loan agreement.".to_owned()],
            None,
        ),
        (Decision::ManualReview, None) => (
            "Your application is being reviewed by a loan officer.".to_owned(),
            Vec::new(),
            vec![
                "A loan officer will look at your application and you will receive a decision within 30 days."
                    .to_owned(),
                correct,
            ],
            None,
        ),
        (Decision::Reject, None) => (
            "We are unable to approve your loan application at this time.".to_owned(),
            reasons,
            vec![review, correct],
            Some(ECOA_STATEMENT.to_owned()),
        ),
    };
    if decision == Decision::ManualReview {
        if let Some(o) = &counteroffer {
            next_steps.insert(
                1,
                format!(
                    "If you would prefer {}, which the model and policy in use today approve, \
                     reply to this notice: a loan officer will confirm it.",
                    o.text
                ),
            );
        }
    }
    let recourse_disclaimer = (!recourse.is_empty()).then(|| RECOURSE_DISCLAIMER.to_owned());
    Ok(Notice {
        application_id: record.application_id.clone(),
        creditor: CREDITOR.to_owned(),
        decided_at,
        decision,
        headline,
        counteroffer,
        reasons,
        recourse,
        recourse_disclaimer,
        next_steps,
        ecoa_statement: ecoa,
    })
}

/// `2026-12-02T08:15:30.123456Z` as `2026-12-02 08:15 UTC` (the text as stored otherwise).
fn notice_date(at: &str) -> String {
    match (at.get(..10), at.get(11..16)) {
        (Some(day), Some(time)) if at.len() > 16 => format!("{day} {time} UTC"),
        _ => at.to_owned(),
    }
}

/// The notice as a PDF the applicant can keep: the same data as the notice page, in the same
/// order. A pure function of the notice, so a notice regenerated from its stored record gives
/// the same bytes.
pub fn notice_pdf(n: &Notice) -> Vec<u8> {
    use crate::pdf::Block;
    let mut b = vec![
        Block::Title("Notice about your loan application".to_owned()),
        Block::Small(n.creditor.clone()),
        Block::Text(format!(
            "Application {} · {}",
            n.application_id,
            notice_date(&n.decided_at)
        )),
        Block::Space(6.0),
        Block::Heading(n.headline.clone()),
    ];
    if let Some(o) = &n.counteroffer {
        b.push(Block::Heading("Our offer".to_owned()));
        b.push(Block::Text(format!(
            "{} repaid over {} months.",
            o.amount, o.term_months
        )));
    }
    if !n.reasons.is_empty() {
        b.push(Block::Heading("Principal reasons".to_owned()));
        for (k, r) in n.reasons.iter().enumerate() {
            b.push(Block::Item(format!("{}.", k + 1), r.clone()));
        }
    }
    if !n.recourse.is_empty() {
        b.push(Block::Heading(
            "What would have changed the result".to_owned(),
        ));
        for r in &n.recourse {
            b.push(Block::Item("•".to_owned(), r.clone()));
        }
        if let Some(d) = &n.recourse_disclaimer {
            b.push(Block::Small(d.clone()));
        }
    }
    b.push(Block::Heading("What you can do".to_owned()));
    for s in &n.next_steps {
        b.push(Block::Item("•".to_owned(), s.clone()));
    }
    if let Some(e) = &n.ecoa_statement {
        b.push(Block::Heading("Your rights".to_owned()));
        b.push(Block::Small(e.clone()));
    }
    crate::pdf::render(&b, &format!("Application {}", n.application_id))
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

    /// The notice behind an unguessable link as a PDF, with its application's id.
    pub async fn notice_pdf_by_token(&self, token: &str) -> ServiceResult<(String, Vec<u8>)> {
        let notice = self.notice_by_token(token).await?;
        let pdf = notice_pdf(&notice);
        Ok((notice.application_id, pdf))
    }

    /// The officer's approval or rejection of an application, if one was recorded.
    async fn final_decision(&self, application_id: &str) -> ServiceResult<Option<FinalDecision>> {
        let action = review_action::Entity::find()
            .filter(review_action::Column::ApplicationId.eq(application_id))
            .filter(review_action::Column::Action.is_in([
                ReviewAction::Approve.as_str(),
                ReviewAction::Reject.as_str(),
                ReviewAction::Counteroffer.as_str(),
            ]))
            .one(self.db())
            .await?;
        action
            .map(|a| {
                let taken = known("review action", &a.action, ReviewAction::parse)?;
                Ok(FinalDecision {
                    counteroffer: taken == ReviewAction::Counteroffer,
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
