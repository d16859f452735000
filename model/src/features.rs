//! The Lendscope feature set: the one typed, versioned definition of the model inputs.
//!
//! The synthetic generator writes these columns, training encodes them through the schema
//! built here, and the scoring service turns an application into the same columns — so
//! training and serving cannot drift apart. Protected attributes are defined separately and
//! are never columns of the schema.

use crate::schema::{ColumnKind, ColumnSpec, FeatureSchema};
use crate::ModelError;

/// Name and version of this feature set, recorded in every schema built from it.
pub const FEATURE_SET: &str = "lendscope-alt-v1";

/// The group a factor belongs to, for display and documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    Application,
    Employment,
    Payments,
    Digital,
    Banking,
}

impl Group {
    pub fn label(self) -> &'static str {
        match self {
            Group::Application => "Loan request",
            Group::Employment => "Employment records",
            Group::Payments => "Payment patterns",
            Group::Digital => "Digital footprint",
            Group::Banking => "Banking behaviour",
        }
    }
}

/// One input of the feature set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Input {
    pub name: &'static str,
    pub group: Group,
    pub label: &'static str,
    /// `None` for numeric inputs.
    pub categories: Option<&'static [&'static str]>,
    /// Inclusive bounds of a numeric input.
    pub min: f64,
    pub max: f64,
    /// Whether the data can be absent (then it reaches the model as missing).
    pub optional: bool,
}

const fn num(
    name: &'static str,
    group: Group,
    label: &'static str,
    min: f64,
    max: f64,
    optional: bool,
) -> Input {
    Input {
        name,
        group,
        label,
        categories: None,
        min,
        max,
        optional,
    }
}

const fn cat(
    name: &'static str,
    group: Group,
    label: &'static str,
    categories: &'static [&'static str],
) -> Input {
    Input {
        name,
        group,
        label,
        categories: Some(categories),
        min: 0.0,
        max: 0.0,
        optional: false,
    }
}

pub const LOAN_PURPOSES: &[&str] = &[
    "education",
    "medical",
    "business",
    "vehicle",
    "home_improvement",
    "debt_consolidation",
    "emergency",
    "other",
];

pub const EMPLOYMENT_STATUSES: &[&str] = &[
    "full_time",
    "part_time",
    "self_employed",
    "gig",
    "unemployed",
    "student",
];

/// Every input, in schema order.
pub const INPUTS: &[Input] = &[
    num(
        "loan_amount",
        Group::Application,
        "Loan amount",
        500.0,
        5000.0,
        false,
    ),
    num(
        "loan_term_months",
        Group::Application,
        "Loan term (months)",
        3.0,
        36.0,
        false,
    ),
    cat(
        "loan_purpose",
        Group::Application,
        "Loan purpose",
        LOAN_PURPOSES,
    ),
    num(
        "monthly_income",
        Group::Application,
        "Stated monthly income",
        0.0,
        100_000.0,
        false,
    ),
    cat(
        "employment_status",
        Group::Employment,
        "Employment status",
        EMPLOYMENT_STATUSES,
    ),
    num(
        "employment_tenure_months",
        Group::Employment,
        "Time with current employer (months)",
        0.0,
        600.0,
        true,
    ),
    num(
        "employer_changes_24m",
        Group::Employment,
        "Employer changes in 24 months",
        0.0,
        24.0,
        false,
    ),
    num(
        "income_verified",
        Group::Employment,
        "Income verified (1 = yes)",
        0.0,
        1.0,
        false,
    ),
    num(
        "rent_on_time_ratio",
        Group::Payments,
        "Rent paid on time (share)",
        0.0,
        1.0,
        true,
    ),
    num(
        "utility_on_time_ratio",
        Group::Payments,
        "Utility bills paid on time (share)",
        0.0,
        1.0,
        true,
    ),
    num(
        "telecom_on_time_ratio",
        Group::Payments,
        "Telecom bills paid on time (share)",
        0.0,
        1.0,
        true,
    ),
    num(
        "late_payments_12m",
        Group::Payments,
        "Late payments in 12 months",
        0.0,
        100.0,
        false,
    ),
    num(
        "payment_history_months",
        Group::Payments,
        "Length of payment history (months)",
        0.0,
        600.0,
        false,
    ),
    num(
        "mobile_account_tenure_months",
        Group::Digital,
        "Mobile account age (months)",
        0.0,
        600.0,
        true,
    ),
    num(
        "device_tenure_months",
        Group::Digital,
        "Device in use (months)",
        0.0,
        240.0,
        true,
    ),
    num(
        "topup_regularity",
        Group::Digital,
        "Regularity of prepaid top-ups (0–1)",
        0.0,
        1.0,
        true,
    ),
    num(
        "digital_txn_monthly",
        Group::Digital,
        "Digital payments per month",
        0.0,
        10_000.0,
        true,
    ),
    num(
        "bank_account_tenure_months",
        Group::Banking,
        "Bank account age (months)",
        0.0,
        1200.0,
        true,
    ),
    num(
        "avg_monthly_balance",
        Group::Banking,
        "Average monthly balance",
        -100_000.0,
        10_000_000.0,
        true,
    ),
    num(
        "min_balance_90d",
        Group::Banking,
        "Lowest balance in 90 days",
        -100_000.0,
        10_000_000.0,
        true,
    ),
    num(
        "overdrafts_90d",
        Group::Banking,
        "Overdrafts in 90 days",
        0.0,
        100.0,
        true,
    ),
    num(
        "income_volatility",
        Group::Banking,
        "Income volatility (coefficient of variation)",
        0.0,
        5.0,
        true,
    ),
    num(
        "savings_rate",
        Group::Banking,
        "Share of income saved",
        -1.0,
        1.0,
        true,
    ),
];

/// Protected attributes carried with an application for fairness monitoring. Each becomes a
/// `protected_<name>` column in data files and is refused by every schema.
pub const PROTECTED: &[(&str, &[&str])] = &[
    ("gender", &["female", "male", "nonbinary", "undisclosed"]),
    ("age_band", &["18-24", "25-34", "35-49", "50-64", "65+"]),
];

/// The name of the target column in generated data.
pub const TARGET: &str = "defaulted";

pub fn input(name: &str) -> Option<&'static Input> {
    INPUTS.iter().find(|i| i.name == name)
}

/// The schema of the Lendscope feature set.
pub fn schema() -> Result<FeatureSchema, ModelError> {
    let columns = INPUTS
        .iter()
        .map(|i| ColumnSpec {
            name: i.name.to_owned(),
            kind: match i.categories {
                None => ColumnKind::Numeric,
                Some(c) => ColumnKind::Categorical {
                    categories: c.iter().map(|s| (*s).to_owned()).collect(),
                },
            },
        })
        .collect();
    FeatureSchema::new(
        columns,
        Some(FEATURE_SET.to_owned()),
        Some(crate::schema::TargetSpec {
            column: TARGET.to_owned(),
            positive: "1".to_owned(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::is_protected;

    #[test]
    fn the_feature_set_has_at_least_twenty_model_features_and_no_protected_input() {
        let s = schema().unwrap();
        assert!(s.features().len() >= 20, "{}", s.features().len());
        assert!(INPUTS.iter().all(|i| !is_protected(i.name)));
        for (name, _) in PROTECTED {
            assert!(is_protected(&format!("protected_{name}")));
            assert!(input(name).is_none());
        }
    }

    #[test]
    fn every_group_is_represented() {
        for g in [
            Group::Application,
            Group::Employment,
            Group::Payments,
            Group::Digital,
            Group::Banking,
        ] {
            assert!(INPUTS.iter().filter(|i| i.group == g).count() >= 2, "{g:?}");
        }
    }
}
