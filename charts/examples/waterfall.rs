//! Writes a sample waterfall to stdout: `cargo run -p lendscope-charts --example waterfall > w.svg`.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use lendscope_charts::{waterfall, WaterfallItem};

fn main() {
    let items = [
        ("Late payments in 12 months", "4", 0.62),
        ("Overdrafts in 90 days", "3", 0.41),
        ("Rent paid on time (share)", "0.71", 0.33),
        ("Income volatility", "0.9", 0.21),
        ("Bank account age (months)", "not provided", 0.12),
        ("Stated monthly income", "2,100", -0.18),
        ("Employment status", "gig", 0.09),
        ("Telecom bills paid on time", "0.97", -0.27),
        ("Length of payment history", "14", 0.05),
        ("Loan amount", "1,800", 0.04),
        ("Loan purpose", "emergency", 0.15),
        ("Savings rate", "-0.05", 0.03),
        ("Device in use (months)", "6", -0.02),
    ]
    .map(|(l, v, c)| WaterfallItem {
        label: l.to_owned(),
        value: v.to_owned(),
        contribution: c,
    });
    println!("{}", waterfall(-2.1, &items, 10, 900).unwrap());
}
