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
    /// Inclusive bounds of a valid value (product limits are the decision policy's business).
    pub min: f64,
    pub max: f64,
    /// Whether only whole numbers are valid.
    pub integer: bool,
    /// Whether the data can be absent (then it reaches the model as missing).
    pub optional: bool,
    /// The reason code and the plain-language reason when this factor raises the risk…
    pub reason_code: &'static str,
    pub reason: &'static str,
    /// …and the reason when the raising factor is that the data is absent.
    pub reason_missing: &'static str,
    /// Which values raise the risk, as the feature set declares it: a model factor becomes a
    /// reason only when the applicant's value is on this side (see [`Adverse`]).
    pub adverse: Adverse,
    /// The reason stating the applicant's value: `{}` is replaced by the value as the
    /// applicant reads it. Empty: [`Input::reason`] as it stands.
    pub reason_value: &'static str,
    /// Whether, and how, an applicant can change this input: only inputs declared here are
    /// ever suggested as recourse (never employment status or tenure, device or account age,
    /// nor a protected attribute, which are not inputs at all).
    pub actionable: Option<Actionable>,
}

/// How an applicant could act on an input, for recourse statements: the favourable direction,
/// the plausible range of a change and how the condition reads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Actionable {
    /// The favourable direction: lower values (`true`) or higher ones.
    pub lower_is_better: bool,
    /// The grid step of suggested values (whole counts, $50, one percentage point).
    pub step: f64,
    /// The largest plausible change from the applicant's value.
    pub max_change: f64,
    /// The value no change goes beyond (no fewer than 0 late payments, no longer than the
    /// product's longest term); the decision policy's limits narrow amount and term further.
    pub limit: f64,
    /// The open-ended condition ("at most {} late payment{s} in the last 12 months"): `{}` is
    /// replaced by the value and `{s}` by the plural ending; "at most {} …" reads "no …" at
    /// zero. Stated only when every value from the stated one to the input's own bound was
    /// checked (counts down to 0).
    pub condition: &'static str,
    /// The condition over the range that was checked ("a loan amount between {lo} and {hi}"),
    /// stated otherwise.
    pub range: &'static str,
}

/// The side of an input that raises the risk of default, declared by the feature set. The
/// boundary is the model's reference (the training data's median, stored in its schema) or,
/// for a model without one, the declared typical value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Adverse {
    /// Values above the reference raise the risk.
    Higher { typical: f64 },
    /// Values below the reference raise the risk.
    Lower { typical: f64 },
    /// Categories: those whose training default rate was above the overall rate (the model's
    /// reference) or, for a model without one, these declared ones.
    Categories(&'static [&'static str]),
}

impl Adverse {
    /// Whether a numeric value is on the adverse side of `reference` (the typical value when
    /// the model has none). Values at the reference are not adverse.
    pub fn numeric_is_adverse(self, value: f64, reference: Option<f64>) -> bool {
        match self {
            Adverse::Higher { typical } => value > reference.unwrap_or(typical),
            Adverse::Lower { typical } => value < reference.unwrap_or(typical),
            Adverse::Categories(_) => false,
        }
    }
}

/// A numeric input: name, group, label, bounds, whole numbers only, optional, reason code,
/// reason, reason when absent.
#[allow(clippy::too_many_arguments)]
const fn num(
    name: &'static str,
    group: Group,
    label: &'static str,
    (min, max): (f64, f64),
    integer: bool,
    optional: bool,
    reason_code: &'static str,
    (reason, reason_missing): (&'static str, &'static str),
) -> Input {
    Input {
        name,
        group,
        label,
        categories: None,
        min,
        max,
        integer,
        optional,
        reason_code,
        reason,
        reason_missing,
        adverse: Adverse::Higher {
            typical: f64::INFINITY,
        },
        reason_value: "",
        actionable: None,
    }
}

const fn cat(
    name: &'static str,
    group: Group,
    label: &'static str,
    categories: &'static [&'static str],
    reason_code: &'static str,
    reason: &'static str,
) -> Input {
    Input {
        name,
        group,
        label,
        categories: Some(categories),
        min: 0.0,
        max: 0.0,
        integer: false,
        optional: false,
        reason_code,
        reason,
        reason_missing: reason,
        adverse: Adverse::Categories(&[]),
        reason_value: "",
        actionable: None,
    }
}

impl Input {
    /// Declares the adverse side and the reason text that states the value.
    const fn adverse(mut self, adverse: Adverse, reason_value: &'static str) -> Input {
        self.adverse = adverse;
        self.reason_value = reason_value;
        self
    }

    /// Declares the input actionable: lower (or higher) is better, in steps of `step`, by at
    /// most `max_change`, never beyond `limit`; `condition` states the value.
    const fn actionable(
        mut self,
        lower_is_better: bool,
        (step, max_change, limit): (f64, f64, f64),
        (condition, range): (&'static str, &'static str),
    ) -> Input {
        self.actionable = Some(Actionable {
            lower_is_better,
            step,
            max_change,
            limit,
            condition,
            range,
        });
        self
    }
}

use Group::{
    Application as App, Banking as Bank, Digital as Dig, Employment as Emp, Payments as Pay,
};

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
        App,
        "Loan amount",
        (1.0, 1_000_000.0),
        false,
        false,
        "R01",
        (
            "Amount of credit requested is high for the applicant's profile",
            "",
        ),
    )
    .adverse(
        Adverse::Higher { typical: 1_500.0 },
        "The amount of credit requested ({}) is high for the applicant's profile",
    )
    .actionable(
        true,
        (50.0, 1_000_000.0, 500.0),
        (
            "a loan amount of at most {}",
            "a loan amount between {lo} and {hi}",
        ),
    ),
    num(
        "loan_term_months",
        App,
        "Loan term (months)",
        (1.0, 120.0),
        true,
        false,
        "R02",
        ("Length of the requested repayment term", ""),
    )
    .adverse(
        Adverse::Lower { typical: 12.0 },
        "The repayment term requested ({} months) is short for the amount",
    )
    .actionable(
        false,
        (1.0, 120.0, 36.0),
        (
            "a repayment term of at least {} months",
            "a repayment term of {lo} to {hi} months",
        ),
    ),
    cat(
        "loan_purpose",
        App,
        "Loan purpose",
        LOAN_PURPOSES,
        "R03",
        "Purpose of the loan",
    )
    .adverse(
        Adverse::Categories(&["emergency", "debt_consolidation", "business"]),
        "Purpose of the loan ({})",
    ),
    num(
        "monthly_income",
        App,
        "Stated monthly income",
        (0.0, 1_000_000.0),
        false,
        false,
        "R04",
        ("Income insufficient for the amount of credit requested", ""),
    )
    .adverse(
        Adverse::Lower { typical: 2_000.0 },
        "Income ({} a month) is insufficient for the amount of credit requested",
    ),
    cat(
        "employment_status",
        Emp,
        "Employment status",
        EMPLOYMENT_STATUSES,
        "R05",
        "Current employment status",
    )
    .adverse(
        Adverse::Categories(&["unemployed", "gig"]),
        "Current employment status ({})",
    ),
    num(
        "employment_tenure_months",
        Emp,
        "Time with current employer (months)",
        (0.0, 600.0),
        true,
        true,
        "R06",
        (
            "Length of time with the current employer is short",
            "No current employment on record",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 24.0 },
        "{} months with the current employer",
    ),
    num(
        "employer_changes_24m",
        Emp,
        "Employer changes in 24 months",
        (0.0, 24.0),
        true,
        false,
        "R07",
        ("Number of employer changes in the last 24 months", ""),
    )
    .adverse(
        Adverse::Higher { typical: 1.0 },
        "{} employer changes in the last 24 months",
    ),
    num(
        "income_verified",
        Emp,
        "Income verified (1 = yes)",
        (0.0, 1.0),
        true,
        false,
        "R08",
        ("Income could not be verified", ""),
    )
    .adverse(Adverse::Lower { typical: 0.5 }, ""),
    num(
        "rent_on_time_ratio",
        Pay,
        "Rent paid on time (share)",
        (0.0, 1.0),
        false,
        true,
        "R09",
        (
            "Rent payments were not consistently on time",
            "No rental payment history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 0.9 },
        "Rent was paid on time {} of the time",
    ),
    num(
        "utility_on_time_ratio",
        Pay,
        "Utility bills paid on time (share)",
        (0.0, 1.0),
        false,
        true,
        "R10",
        (
            "Utility bills were not consistently paid on time",
            "No utility payment history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 0.9 },
        "Utility bills were paid on time {} of the time",
    ),
    num(
        "telecom_on_time_ratio",
        Pay,
        "Telecom bills paid on time (share)",
        (0.0, 1.0),
        false,
        true,
        "R11",
        (
            "Telecom bills were not consistently paid on time",
            "No telecom payment history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 0.9 },
        "Telecom bills were paid on time {} of the time",
    ),
    num(
        "late_payments_12m",
        Pay,
        "Late payments in 12 months",
        (0.0, 100.0),
        true,
        false,
        "R12",
        ("Number of late payments in the last 12 months", ""),
    )
    .adverse(
        Adverse::Higher { typical: 1.0 },
        "{} late payments in the last 12 months",
    )
    .actionable(
        true,
        (1.0, 100.0, 0.0),
        (
            "at most {} late payment{s} in the last 12 months",
            "{lo} to {hi} late payments in the last 12 months",
        ),
    ),
    num(
        "payment_history_months",
        Pay,
        "Length of payment history (months)",
        (0.0, 600.0),
        true,
        false,
        "R13",
        ("Length of payment history is limited", ""),
    )
    .adverse(
        Adverse::Lower { typical: 24.0 },
        "Payment history covers {} months",
    ),
    num(
        "mobile_account_tenure_months",
        Dig,
        "Mobile account age (months)",
        (0.0, 600.0),
        true,
        true,
        "R14",
        (
            "Mobile account is recent",
            "No mobile account history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 36.0 },
        "Mobile account is {} months old",
    ),
    num(
        "device_tenure_months",
        Dig,
        "Device in use (months)",
        (0.0, 240.0),
        true,
        true,
        "R15",
        (
            "Device usage history is short",
            "No device usage history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 14.0 },
        "Device in use for {} months",
    ),
    num(
        "topup_regularity",
        Dig,
        "Regularity of prepaid top-ups (0–1)",
        (0.0, 1.0),
        false,
        true,
        "R16",
        (
            "Prepaid top-ups were irregular",
            "No prepaid top-up history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 0.75 },
        "Prepaid top-ups were irregular ({} regularity)",
    ),
    num(
        "digital_txn_monthly",
        Dig,
        "Digital payments per month",
        (0.0, 10_000.0),
        true,
        true,
        "R17",
        (
            "Limited digital payment activity",
            "No digital payment history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 25.0 },
        "{} digital payments a month",
    ),
    num(
        "bank_account_tenure_months",
        Bank,
        "Bank account age (months)",
        (0.0, 1200.0),
        true,
        true,
        "R18",
        (
            "Bank account is recent",
            "No bank account history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 48.0 },
        "Bank account is {} months old",
    ),
    num(
        "avg_monthly_balance",
        Bank,
        "Average monthly balance",
        (-100_000.0, 10_000_000.0),
        false,
        true,
        "R19",
        (
            "Average account balance is low",
            "No account balance history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 700.0 },
        "Average account balance ({}) is low",
    )
    .actionable(
        false,
        (50.0, 2_000.0, 10_000_000.0),
        (
            "an average monthly balance of at least {}",
            "an average monthly balance between {lo} and {hi}",
        ),
    ),
    num(
        "min_balance_90d",
        Bank,
        "Lowest balance in 90 days",
        (-100_000.0, 10_000_000.0),
        false,
        true,
        "R20",
        (
            "Account balance fell low in the last 90 days",
            "No account balance history available",
        ),
    )
    .adverse(
        Adverse::Lower { typical: 100.0 },
        "Account balance fell to {} in the last 90 days",
    )
    .actionable(
        false,
        (50.0, 1_000.0, 10_000_000.0),
        (
            "a lowest balance in the last 90 days of at least {}",
            "a lowest balance in the last 90 days between {lo} and {hi}",
        ),
    ),
    num(
        "overdrafts_90d",
        Bank,
        "Overdrafts in 90 days",
        (0.0, 100.0),
        true,
        true,
        "R21",
        (
            "Number of overdrafts in the last 90 days",
            "No overdraft history available",
        ),
    )
    .adverse(
        Adverse::Higher { typical: 0.0 },
        "{} overdrafts in the last 90 days",
    )
    .actionable(
        true,
        (1.0, 100.0, 0.0),
        (
            "at most {} overdraft{s} in the last 90 days",
            "{lo} to {hi} overdrafts in the last 90 days",
        ),
    ),
    num(
        "income_volatility",
        Bank,
        "Income volatility (coefficient of variation)",
        (0.0, 5.0),
        false,
        true,
        "R22",
        (
            "Income varies strongly from month to month",
            "No income history available",
        ),
    )
    .adverse(
        Adverse::Higher { typical: 0.3 },
        "Income varies strongly from month to month (volatility {})",
    ),
    num(
        "savings_rate",
        Bank,
        "Share of income saved",
        (-1.0, 1.0),
        false,
        true,
        "R23",
        (
            "Little or no income is saved",
            "No savings history available",
        ),
    )
    .adverse(Adverse::Lower { typical: 0.05 }, "{} of income is saved")
    .actionable(
        false,
        (0.01, 0.15, 0.5),
        (
            "at least {} of income saved",
            "between {lo} and {hi} of income saved",
        ),
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

/// Why `found` cannot serve the Lendscope feature set, naming the first difference (unknown
/// column, missing column, different kind or category encoding, order), or `None` when it
/// matches exactly.
pub fn schema_mismatch(found: &FeatureSchema) -> Option<String> {
    let expected = match schema() {
        Ok(s) => s,
        Err(e) => return Some(format!("the built-in feature set does not build: {e}")),
    };
    if found.feature_set() != Some(FEATURE_SET) {
        return Some(format!(
            "the schema declares feature set {:?}; Lendscope serves {FEATURE_SET:?}",
            found.feature_set().unwrap_or("(none)")
        ));
    }
    let names =
        |s: &FeatureSchema| -> Vec<String> { s.columns().iter().map(|c| c.name.clone()).collect() };
    let (want, got) = (names(&expected), names(found));
    if let Some(unknown) = got.iter().find(|n| !want.contains(n)) {
        return Some(format!(
            "unknown feature {unknown:?}: the application form has no such input"
        ));
    }
    if let Some(missing) = want.iter().find(|n| !got.contains(n)) {
        return Some(format!("the model lacks the input {missing:?}"));
    }
    for (e, f) in expected.columns().iter().zip(found.columns()) {
        if e.name != f.name {
            return Some(format!(
                "inputs are in a different order: expected {:?} where the schema has {:?}",
                e.name, f.name
            ));
        }
        if e.kind != f.kind {
            let show = |k: &ColumnKind| match k {
                ColumnKind::Numeric => "numeric".to_owned(),
                ColumnKind::Categorical { categories } => {
                    format!("categorical {categories:?}")
                }
            };
            return Some(format!(
                "input {:?} is encoded as {} but the feature set encodes it as {}",
                e.name,
                show(&f.kind),
                show(&e.kind)
            ));
        }
    }
    None
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
    fn reason_codes_are_unique_and_every_factor_has_a_reason() {
        for (i, input) in INPUTS.iter().enumerate() {
            assert!(!input.reason.is_empty(), "{}", input.name);
            assert!(
                INPUTS[..i]
                    .iter()
                    .all(|o| o.reason_code != input.reason_code),
                "{}",
                input.reason_code
            );
            if input.optional {
                assert!(!input.reason_missing.is_empty(), "{}", input.name);
            }
        }
    }

    #[test]
    fn only_behaviour_the_applicant_controls_is_actionable() {
        let actionable: Vec<&str> = INPUTS
            .iter()
            .filter(|i| i.actionable.is_some())
            .map(|i| i.name)
            .collect();
        assert_eq!(
            actionable,
            [
                "loan_amount",
                "loan_term_months",
                "late_payments_12m",
                "avg_monthly_balance",
                "min_balance_90d",
                "overdrafts_90d",
                "savings_rate"
            ]
        );
        for i in INPUTS {
            if let Some(a) = i.actionable {
                assert!(i.categories.is_none(), "{}", i.name);
                assert!(a.step > 0.0 && a.max_change >= a.step, "{}", i.name);
                assert!(a.condition.contains("{}"), "{}", i.name);
                assert!(
                    a.range.contains("{lo}") && a.range.contains("{hi}"),
                    "{}",
                    i.name
                );
                assert!((i.min..=i.max).contains(&a.limit), "{}", i.name);
            }
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

    #[test]
    fn schema_mismatches_are_named() {
        assert_eq!(schema_mismatch(&schema().unwrap()), None);
        let mut cols = schema().unwrap().columns().to_vec();
        let target = Some(crate::schema::TargetSpec {
            column: TARGET.to_owned(),
            positive: "1".to_owned(),
        });
        let build = |cols: Vec<ColumnSpec>| {
            FeatureSchema::new(cols, Some(FEATURE_SET.to_owned()), target.clone()).unwrap()
        };
        let other = FeatureSchema::new(cols.clone(), Some("other".into()), None).unwrap();
        assert!(schema_mismatch(&other).unwrap().contains("feature set"));
        let mut extra = cols.clone();
        extra.push(ColumnSpec::numeric("shoe_size"));
        assert!(schema_mismatch(&build(extra))
            .unwrap()
            .contains("unknown feature \"shoe_size\""));
        let removed = cols.remove(0);
        assert!(schema_mismatch(&build(cols.clone()))
            .unwrap()
            .contains(&removed.name));
        cols.insert(0, removed);
        let k = cols
            .iter()
            .position(|c| matches!(c.kind, ColumnKind::Categorical { .. }))
            .unwrap();
        if let ColumnKind::Categorical { categories } = &mut cols[k].kind {
            categories.reverse();
        }
        let msg = schema_mismatch(&build(cols.clone())).unwrap();
        assert!(msg.contains("encoded as categorical"), "{msg}");
        if let ColumnKind::Categorical { categories } = &mut cols[k].kind {
            categories.reverse();
        }
        cols.swap(0, 1);
        assert!(schema_mismatch(&build(cols)).unwrap().contains("order"));
    }
}
