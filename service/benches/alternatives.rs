//! The counteroffer and recourse search per declined application (issue 20: under 2 ms and at
//! most 500 predictions at 300 x 6), on generated applicants scored by a real model.
//!
//! `LENDSCOPE_BENCH_MODEL_DIR` holds `model.json` and `schema.json` (a model trained by
//! `lendscope train`; `scripts/bench-alternatives.sh` trains a 300 x 6 one). Applicants come
//! from the synthetic generator, are parsed as the API parses them, scored with the default
//! policy, and every one not approved is searched (one thread, warm caches: each application
//! is searched once untimed first). Prints the distribution of the time per declined
//! application and the work done (full predictions to re-score, grid cells evaluated).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::Instant;

use lendscope_domain::Decision;
use lendscope_model::features::INPUTS;
use lendscope_model::synth::{Cell, Generator, Settings};
use lendscope_model::ModelBundle;
use lendscope_service::scoring::alternatives::alternatives;
use lendscope_service::scoring::policy::DecisionPolicy;
use lendscope_service::scoring::request::{self, body_from_columns, InputValue, Protected};

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing: run either way.
    let Ok(dir) = std::env::var("LENDSCOPE_BENCH_MODEL_DIR") else {
        println!("alternatives bench: LENDSCOPE_BENCH_MODEL_DIR is not set, nothing measured");
        return;
    };
    let dir = std::path::Path::new(&dir);
    let model = ModelBundle::from_json(
        &std::fs::read(dir.join("model.json")).expect("model.json"),
        &std::fs::read(dir.join("schema.json")).expect("schema.json"),
    )
    .expect("model");
    let n: usize = std::env::var("LENDSCOPE_BENCH_APPLICANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let policy = DecisionPolicy::default();
    let generator = Generator::new(Settings {
        seed: 11,
        drift: 0.0,
        bias: 0.0,
    })
    .expect("generator");
    let mut times_us = Vec::new();
    let (mut max_predictions, mut total_predictions, mut max_cells) = (0usize, 0usize, 0usize);
    let (mut offers, mut statements, mut declined) = (0usize, 0usize, 0usize);
    for (k, a) in generator.take(n).enumerate() {
        let body = body_from_columns(
            &format!("B-{k}"),
            |c| match a.input(c) {
                Some(Cell::Number(x)) => InputValue::Number(x),
                Some(Cell::Category(c)) => InputValue::Category(c),
                _ => InputValue::Missing,
            },
            &Protected::default(),
        );
        let input = request::parse(body.to_string().as_bytes()).expect("valid applicant");
        let x = model.encode(|c| input.raw(c)).expect("encode");
        let pd = model.predict(&x).expect("predict").value();
        let decision = policy
            .decide(pd, input.loan_amount(), input.loan_term_months())
            .decision;
        if decision == Decision::Approve {
            continue;
        }
        declined += 1;
        // Warm once, then time.
        let _ = alternatives(&model, &input, &policy, decision).expect("search");
        let start = Instant::now();
        let (alt, work) = alternatives(&model, &input, &policy, decision).expect("search");
        times_us.push(start.elapsed().as_secs_f64() * 1e6);
        max_predictions = max_predictions.max(work.predictions);
        total_predictions += work.predictions;
        max_cells = max_cells.max(work.cells);
        offers += usize::from(alt.counteroffer.is_some());
        statements += alt.recourse.len();
    }
    assert!(declined > 0, "no applicant was declined");
    times_us.sort_by(f64::total_cmp);
    let q = |p: f64| times_us[((times_us.len() - 1) as f64 * p).round() as usize];
    let mean = times_us.iter().sum::<f64>() / times_us.len() as f64;
    println!(
        "model: {} trees, depth {}, {} features; inputs in the feature set: {}",
        model.model().num_trees(),
        model.model().max_depth(),
        model.model().num_features(),
        INPUTS.len()
    );
    println!(
        "declined applications searched: {declined} of {n} generated (default policy); \
         counteroffers {offers}, recourse statements {statements}"
    );
    println!(
        "time per declined application (counteroffer + recourse, one thread): mean {mean:.0} µs, \
         p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        q(0.5),
        q(0.99),
        q(1.0)
    );
    println!(
        "full predictions per declined application (re-scoring what is stated): mean {:.2}, max \
         {max_predictions} (bound 500); grid cells evaluated, max {max_cells}",
        total_predictions as f64 / declined as f64
    );
}
