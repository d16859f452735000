//! The closed vocabularies of Lendscope: what a model recommends, the role a serving model has,
//! what an officer does with a case, the state of a case and how severe an alert is.
//!
//! Each is an enum with serde; its spelling (`as_str`, the serde name and the stored column
//! value are one and the same) is part of the stored decision records and of the API, so it
//! never changes. `parse` is the one way in from text.

#[doc(hidden)]
pub use serde as __serde;

/// The message of a value outside its vocabulary: `"{field}: '{text}' is not one of a, b"`,
/// the form of [`crate::AppError::Invalid`]'s text, so that it reads back as that error. Long
/// input is cut short.
pub fn unknown_value<'a>(
    field: &str,
    text: &str,
    allowed: impl Iterator<Item = &'a str>,
) -> String {
    let shown: String = text.chars().take(40).collect();
    let list: Vec<&str> = allowed.collect();
    format!("{field}: '{shown}' is not one of {}", list.join(", "))
}

/// Declares a string-backed enum: `as_str`, `ALL`, `parse` and `Display` from one table, so the
/// spelling is written once.
///
/// `$field` is the name of the form field or JSON member that usually carries the value: a
/// value that is not in the table fails to deserialize with the message
/// `"{field}: '{text}' is not one of …"` (see [`unknown_value`]), which a server function turns
/// into a 422 naming that field (`AppError::from_server_fn_error`).
#[macro_export]
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident ($field:literal) { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, $crate::kinds::__serde::Serialize)]
        #[serde(crate = "lendscope_domain::kinds::__serde")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl<'de> $crate::kinds::__serde::Deserialize<'de> for $name {
            fn deserialize<D>(d: D) -> Result<Self, D::Error>
            where
                D: $crate::kinds::__serde::Deserializer<'de>,
            {
                let text = <String as $crate::kinds::__serde::Deserialize>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    <D::Error as $crate::kinds::__serde::de::Error>::custom(
                        $crate::kinds::unknown_value(
                            $field,
                            &text,
                            $name::ALL.iter().map(|v| v.as_str()),
                        ),
                    )
                })
            }
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value spelled `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        /// Compares with a spelling, so `decision == "approve"` reads as it always did.
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// A recommendation of the scoring policy, or an officer's final decision.
    Decision("decision") {
        Approve = "approve",
        ManualReview = "manual_review",
        Reject = "reject",
    }
}

vocabulary! {
    /// The alias a serving model version holds (not a staff role: see [`crate::Role`]).
    ModelRole("role") {
        Champion = "champion",
        Challenger = "challenger",
    }
}

vocabulary! {
    /// What an officer does with a case.
    ReviewAction("action") {
        Claim = "claim",
        Release = "release",
        Approve = "approve",
        Reject = "reject",
        /// Decide by the counteroffer stored with the automated decision: a loan on its terms
        /// is offered, with the reasons for declining the request as made.
        Counteroffer = "counteroffer",
        /// Send to manual review: joins the manual-review cases at the front of the queue;
        /// claim released.
        Escalate = "escalate",
    }
}

vocabulary! {
    /// Whether a case still waits for an officer.
    CaseState("state") {
        Open = "open",
        Decided = "decided",
    }
}

vocabulary! {
    /// How declined applicants, whose outcomes are never observed, enter a retraining (see
    /// `lendscope_model::reject_inference`).
    RejectInference("reject_inference") {
        /// They do not: approved loans with outcomes only.
        None = "none",
        /// Each twice, as defaulted and as repaid, weighted by the champion's probability.
        Fuzzy = "fuzzy",
        /// Each once, the riskiest by the champion's probability as defaulted (as many as it
        /// expects), the rest as repaid.
        HardCutoff = "hard_cutoff",
    }
}

impl RejectInference {
    /// How the method reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            RejectInference::None => "none (approved loans only)",
            RejectInference::Fuzzy => "fuzzy augmentation",
            RejectInference::HardCutoff => "hard cut-off augmentation",
        }
    }
}

vocabulary! {
    /// How urgent a monitoring alert is.
    AlertSeverity("severity") {
        Warning = "warning",
        Critical = "critical",
    }
}

impl Decision {
    /// How the decision reads on a page.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Approve => "Approve",
            Decision::ManualReview => "Manual review",
            Decision::Reject => "Reject",
        }
    }
}

impl ReviewAction {
    /// How the action reads in a case history.
    pub fn label(self) -> &'static str {
        match self {
            ReviewAction::Approve => "Approve",
            ReviewAction::Reject => "Reject",
            ReviewAction::Counteroffer => "Counteroffer",
            ReviewAction::Escalate => "Sent to manual review",
            ReviewAction::Claim => "Claimed",
            ReviewAction::Release => "Released",
        }
    }

    /// The final decision this action makes, if it makes one. A counteroffer approves a loan
    /// on the offered terms (the notice states it as a counteroffer, with reasons).
    pub fn decision(self) -> Option<Decision> {
        match self {
            ReviewAction::Approve | ReviewAction::Counteroffer => Some(Decision::Approve),
            ReviewAction::Reject => Some(Decision::Reject),
            _ => None,
        }
    }

    /// Whether taking this action against `recommended` overrides the model.
    pub fn overrides(self, recommended: Decision) -> bool {
        matches!(
            (self, recommended),
            (ReviewAction::Approve, Decision::Reject) | (ReviewAction::Reject, Decision::Approve)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[test]
    fn spellings_round_trip_through_parse_serde_and_display() {
        fn check<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
        where
            T: Copy + PartialEq + std::fmt::Debug + Serialize + std::fmt::Display,
            T: for<'de> Deserialize<'de>,
        {
            for &v in all {
                let text = as_str(v);
                assert_eq!(parse(text), Some(v));
                assert_eq!(v.to_string(), text);
                let json = serde_json::to_string(&v).unwrap();
                assert_eq!(json, format!("\"{text}\""));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
            }
            assert_eq!(parse("Approve "), None);
        }
        check(Decision::ALL, Decision::as_str, Decision::parse);
        check(ModelRole::ALL, ModelRole::as_str, ModelRole::parse);
        check(ReviewAction::ALL, ReviewAction::as_str, ReviewAction::parse);
        check(CaseState::ALL, CaseState::as_str, CaseState::parse);
        check(
            RejectInference::ALL,
            RejectInference::as_str,
            RejectInference::parse,
        );
        check(
            AlertSeverity::ALL,
            AlertSeverity::as_str,
            AlertSeverity::parse,
        );
    }

    #[test]
    fn the_stored_spellings_are_the_ones_records_hold() {
        // These spellings are inside hashed decision records: changing one breaks old chains.
        assert_eq!(Decision::ManualReview.as_str(), "manual_review");
        assert_eq!(ModelRole::Challenger.as_str(), "challenger");
        assert_eq!(ReviewAction::Escalate.as_str(), "escalate");
        assert_eq!(CaseState::Decided.as_str(), "decided");
        assert_eq!(AlertSeverity::Critical.as_str(), "critical");
    }

    #[test]
    fn only_opposite_final_actions_override() {
        assert!(ReviewAction::Approve.overrides(Decision::Reject));
        assert!(ReviewAction::Reject.overrides(Decision::Approve));
        assert!(!ReviewAction::Approve.overrides(Decision::ManualReview));
        assert!(!ReviewAction::Reject.overrides(Decision::ManualReview));
        assert!(!ReviewAction::Escalate.overrides(Decision::Approve));
        assert!(!ReviewAction::Claim.overrides(Decision::Reject));
    }
}
