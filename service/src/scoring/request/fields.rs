//! Where each feature-set column sits in the request body: its dotted path, and how its
//! value is read from a parsed [`ApplicationBody`].

use super::{ApplicationBody, Num};

/// The JSON path of each feature-set input in the request body.
pub const FIELD_PATHS: &[(&str, &str)] = &[
    ("loan_amount", "loan.amount"),
    ("loan_term_months", "loan.term_months"),
    ("loan_purpose", "loan.purpose"),
    ("monthly_income", "applicant.monthly_income"),
    ("employment_status", "alternative_data.employment.status"),
    (
        "employment_tenure_months",
        "alternative_data.employment.tenure_months",
    ),
    (
        "employer_changes_24m",
        "alternative_data.employment.employer_changes_24m",
    ),
    (
        "income_verified",
        "alternative_data.employment.income_verified",
    ),
    (
        "rent_on_time_ratio",
        "alternative_data.payments.rent_on_time_ratio",
    ),
    (
        "utility_on_time_ratio",
        "alternative_data.payments.utility_on_time_ratio",
    ),
    (
        "telecom_on_time_ratio",
        "alternative_data.payments.telecom_on_time_ratio",
    ),
    (
        "late_payments_12m",
        "alternative_data.payments.late_payments_12m",
    ),
    (
        "payment_history_months",
        "alternative_data.payments.payment_history_months",
    ),
    (
        "mobile_account_tenure_months",
        "alternative_data.digital.mobile_account_tenure_months",
    ),
    (
        "device_tenure_months",
        "alternative_data.digital.device_tenure_months",
    ),
    (
        "topup_regularity",
        "alternative_data.digital.topup_regularity",
    ),
    (
        "digital_txn_monthly",
        "alternative_data.digital.digital_txn_monthly",
    ),
    (
        "bank_account_tenure_months",
        "alternative_data.banking.bank_account_tenure_months",
    ),
    (
        "avg_monthly_balance",
        "alternative_data.banking.avg_monthly_balance",
    ),
    (
        "min_balance_90d",
        "alternative_data.banking.min_balance_90d",
    ),
    ("overdrafts_90d", "alternative_data.banking.overdrafts_90d"),
    (
        "income_volatility",
        "alternative_data.banking.income_volatility",
    ),
    ("savings_rate", "alternative_data.banking.savings_rate"),
];

/// The request path of a feature-set column.
pub fn path_of(column: &str) -> &'static str {
    FIELD_PATHS
        .iter()
        .find(|(c, _)| *c == column)
        .map_or("", |(_, p)| p)
}

impl ApplicationBody {
    /// The value given for each feature-set column, by path.
    pub(super) fn lookup(&self, column: &str) -> Option<Field<'_>> {
        let a = &self.alternative_data;
        let n = |v: &Num| Some(Field::Number(v.0));
        let o = |v: &Option<Num>| Some(v.map_or(Field::Absent, |x| Field::Number(x.0)));
        match column {
            "loan_amount" => n(&self.loan.amount),
            "loan_term_months" => n(&self.loan.term_months),
            "loan_purpose" => Some(Field::Text(&self.loan.purpose)),
            "monthly_income" => n(&self.applicant.monthly_income),
            "employment_status" => Some(Field::Text(&a.employment.status)),
            "employment_tenure_months" => o(&a.employment.tenure_months),
            "employer_changes_24m" => n(&a.employment.employer_changes_24m),
            "income_verified" => Some(Field::Number(if a.employment.income_verified {
                1.0
            } else {
                0.0
            })),
            "rent_on_time_ratio" => o(&a.payments.rent_on_time_ratio),
            "utility_on_time_ratio" => o(&a.payments.utility_on_time_ratio),
            "telecom_on_time_ratio" => o(&a.payments.telecom_on_time_ratio),
            "late_payments_12m" => n(&a.payments.late_payments_12m),
            "payment_history_months" => n(&a.payments.payment_history_months),
            "mobile_account_tenure_months" => o(&a.digital.mobile_account_tenure_months),
            "device_tenure_months" => o(&a.digital.device_tenure_months),
            "topup_regularity" => o(&a.digital.topup_regularity),
            "digital_txn_monthly" => o(&a.digital.digital_txn_monthly),
            "bank_account_tenure_months" => o(&a.banking.bank_account_tenure_months),
            "avg_monthly_balance" => o(&a.banking.avg_monthly_balance),
            "min_balance_90d" => o(&a.banking.min_balance_90d),
            "overdrafts_90d" => o(&a.banking.overdrafts_90d),
            "income_volatility" => o(&a.banking.income_volatility),
            "savings_rate" => o(&a.banking.savings_rate),
            _ => None,
        }
    }
}

/// A request field's value as given, before validation.
pub(super) enum Field<'a> {
    Number(f64),
    Text(&'a str),
    Absent,
}
