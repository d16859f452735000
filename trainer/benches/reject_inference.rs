//! Reject inference measured where it matters: on a whole generated through-the-door
//! population (declined applicants included, every outcome known), ROC AUC and the bad rate
//! among the approved share of a challenger retrained on approved loans only, with fuzzy
//! augmentation and with hard cut-off augmentation (see `lendscope_trainer::reject_inference`).
//! Sizes: `LENDSCOPE_RI_ROWS` rows for each population (default 20,000), approval rate
//! `LENDSCOPE_RI_APPROVAL` (default 0.6), `LENDSCOPE_RI_REPEATS` runs with different seeds
//! (default 5). Prints one table (mean, min and max over the runs); the figures go in the
//! README.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use lendscope_trainer::reject_inference::{run, Experiment};
use lendscope_trainer::TrainParams;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One model over the repeats.
struct Summary {
    model: String,
    training: usize,
    inferred: usize,
    aucs: Vec<f64>,
    bad_rates: Vec<f64>,
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let rows = env("LENDSCOPE_RI_ROWS", 20_000usize);
    let repeats = env("LENDSCOPE_RI_REPEATS", 5u64).max(1);
    let started = Instant::now();
    let mut table: Vec<Summary> = Vec::new();
    let mut last = Experiment::default();
    for k in 0..repeats {
        let e = Experiment {
            champion_rows: rows,
            applicant_rows: rows,
            evaluation_rows: rows,
            approval_rate: env("LENDSCOPE_RI_APPROVAL", 0.6f64),
            seeds: (1 + 100 * k, 7 + 100 * k, 9 + 100 * k),
        };
        let results = run(&e, &TrainParams::default()).expect("the reject-inference experiment");
        for (i, r) in results.into_iter().enumerate() {
            if table.len() <= i {
                table.push(Summary {
                    model: r.model.clone(),
                    training: r.training_rows,
                    inferred: r.inferred_rows,
                    aucs: Vec::new(),
                    bad_rates: Vec::new(),
                });
            }
            table[i].aucs.push(r.figures.auc);
            table[i].bad_rates.push(r.figures.bad_rate);
        }
        last = e;
    }
    println!(
        "reject inference: {repeats} runs (seeds 1/7/9 + 100k); each: a champion trained on {} generated applicants with every outcome, {} applicants of whom the champion approves {:.0} %, every model evaluated on {} others, declined included; {:.1} s",
        last.champion_rows,
        last.applicant_rows,
        last.approval_rate * 100.0,
        last.evaluation_rows,
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<40} {:>9} {:>9} {:>24} {:>30}",
        "model",
        "training",
        "inferred",
        "ROC AUC: mean (min–max)",
        "bad rate of approved: mean (min–max)"
    );
    let stats = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (mean, min, max)
    };
    for t in &table {
        let (model, training, inferred) = (&t.model, t.training, t.inferred);
        let (a, a0, a1) = stats(&t.aucs);
        let (b, b0, b1) = stats(&t.bad_rates);
        println!(
            "{model:<40} {training:>9} {inferred:>9}   {a:.4} ({a0:.4}–{a1:.4})     {:.2} % ({:.2}–{:.2} %)",
            b * 100.0,
            b0 * 100.0,
            b1 * 100.0
        );
    }
}
