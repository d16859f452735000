//! How the value of an input reads for people: dollars for money, percentages for shares,
//! grouped digits for counts. One definition for the case file and the applicant's reasons.

use lendscope_domain::review::{grouped, money, percent};
use serde_json::Value;

/// Columns holding money, shown as dollars.
const MONEY: [&str; 4] = [
    "loan_amount",
    "monthly_income",
    "avg_monthly_balance",
    "min_balance_90d",
];
/// Columns holding a share between 0 and 1, shown as a percentage.
const SHARES: [&str; 5] = [
    "rent_on_time_ratio",
    "utility_on_time_ratio",
    "telecom_on_time_ratio",
    "topup_regularity",
    "savings_rate",
];

/// How a number of an input reads.
pub fn display_number(column: &str, x: f64) -> String {
    if MONEY.contains(&column) {
        money(x)
    } else if SHARES.contains(&column) {
        percent(x, 0)
    } else if x.fract() == 0.0 {
        grouped(x, 0)
    } else {
        format!("{x:.2}")
    }
}

/// How a value of an input (as the request body holds it) reads on the page.
pub fn display_value(column: &str, value: &Value) -> String {
    match value {
        Value::Null => "not provided".to_owned(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_owned(),
        Value::String(s) => s.replace('_', " "),
        Value::Number(n) => display_number(column, n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    }
}
