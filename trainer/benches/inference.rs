//! Single-row prediction and TreeSHAP: the pure-Rust model against XGBoost's own C++
//! (`predict` and `pred_contribs` through xgboost-rs), on one thread, for models of
//! 100 trees × depth 4 and 300 trees × depth 6 over 30 features. Also the model's memory
//! against the size of its JSON file.
//!
//! Run: `cargo bench -p lendscope-trainer --bench inference`. Criterion prints each timing;
//! the summary at the end prints the speed ratios and memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::Criterion;
use lendscope_model::{FeatureVector, GbtModel};
use lendscope_trainer::train::{dmatrix, fit};
use lendscope_trainer::TrainParams;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use xgboost_rs::{Booster, DMatrix};

const FEATURES: usize = 30;
const ROWS: usize = 20_000;
const PROBE_ROWS: usize = 200;

/// Random rows with 5 % missing values and a non-linear outcome.
fn data(seed: u64, n: usize) -> (Vec<FeatureVector>, Vec<f32>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f32> = (0..FEATURES)
            .map(|_| {
                if rng.gen_bool(0.05) {
                    f32::NAN
                } else {
                    rng.gen_range(-2.0f32..2.0)
                }
            })
            .collect();
        let v = |i: usize| if x[i].is_nan() { 0.0 } else { f64::from(x[i]) };
        let logit = 0.8 * v(0) - 0.6 * v(1) * v(2) + 0.5 * v(3).abs() - 0.4 * v(4)
            + 0.3 * (v(5) * 2.0).sin()
            - 1.0;
        labels.push(if rng.gen_bool(1.0 / (1.0 + (-logit).exp())) {
            1.0
        } else {
            0.0
        });
        rows.push(FeatureVector::new(x).unwrap());
    }
    (rows, labels)
}

struct Case {
    name: &'static str,
    model: GbtModel,
    booster: Booster,
    json_bytes: usize,
    probes: Vec<FeatureVector>,
    probe_matrices: Vec<DMatrix>,
}

fn case(name: &'static str, trees: u32, depth: u32) -> Case {
    let (rows, labels) = data(7, ROWS);
    let refs: Vec<&FeatureVector> = rows.iter().collect();
    let dtrain = dmatrix(&refs, Some(&labels)).unwrap();
    let params = TrainParams {
        max_depth: depth,
        eta: 0.1,
        threads: 1,
        ..TrainParams::default()
    };
    let booster = fit(&params, &dtrain, &[&dtrain], trees).unwrap();
    let json = booster.save_to_buffer("json".to_owned()).unwrap();
    let model = GbtModel::from_json(json.as_bytes()).unwrap();
    assert_eq!(model.num_trees(), trees as usize);
    let (probes, _) = data(99, PROBE_ROWS);
    let probe_matrices: Vec<DMatrix> = probes
        .iter()
        .map(|p| dmatrix(&[p], None).unwrap())
        .collect();
    // The benchmark compares equal outputs: check parity on every probe first.
    for (x, dm) in probes.iter().zip(&probe_matrices) {
        let theirs = booster.predict(dm).unwrap()[0];
        let ours = model.predict_proba(x).unwrap().value();
        assert!((ours - f64::from(theirs)).abs() <= 1e-6);
        let (contribs, _) = booster.predict_contributions(dm).unwrap();
        let e = model.explain(x).unwrap();
        for (a, b) in e.contributions.iter().zip(&contribs) {
            assert!((a - f64::from(*b)).abs() <= 1e-5);
        }
    }
    Case {
        name,
        model,
        booster,
        json_bytes: json.len(),
        probes,
        probe_matrices,
    }
}

fn bench(c: &mut Criterion, cases: &[Case]) {
    for case in cases {
        let mut group = c.benchmark_group(case.name);
        let mut i = 0usize;
        group.bench_function("rust_predict", |b| {
            b.iter(|| {
                i = (i + 1) % PROBE_ROWS;
                black_box(
                    case.model
                        .predict_margin(black_box(&case.probes[i]))
                        .unwrap(),
                )
            });
        });
        let mut out = vec![0.0f64; FEATURES];
        group.bench_function("rust_treeshap", |b| {
            b.iter(|| {
                i = (i + 1) % PROBE_ROWS;
                black_box(
                    case.model
                        .explain_into(black_box(&case.probes[i]), &mut out)
                        .unwrap(),
                )
            });
        });
        // XGBoost caches predictions per DMatrix, so a served row needs a fresh one: the
        // matrix is built inside the timed call, as it would be for each request.
        group.bench_function("xgboost_predict", |b| {
            b.iter(|| {
                i = (i + 1) % PROBE_ROWS;
                let dm = dmatrix(&[black_box(&case.probes[i])], None).unwrap();
                black_box(case.booster.predict(&dm).unwrap())
            });
        });
        group.bench_function("xgboost_dmatrix_only", |b| {
            b.iter(|| {
                i = (i + 1) % PROBE_ROWS;
                black_box(dmatrix(&[black_box(&case.probes[i])], None).unwrap())
            });
        });
        // Contributions are not cached: the prebuilt matrix leaves XGBoost only its own work.
        group.bench_function("xgboost_pred_contribs", |b| {
            b.iter(|| {
                i = (i + 1) % PROBE_ROWS;
                black_box(
                    case.booster
                        .predict_contributions(black_box(&case.probe_matrices[i]))
                        .unwrap(),
                )
            });
        });
        group.finish();
    }
}

/// Mean time per iteration in nanoseconds, as criterion estimated it.
fn estimate(dir: &std::path::Path, group: &str, bench: &str) -> Option<f64> {
    let text =
        std::fs::read_to_string(dir.join(group).join(bench).join("new/estimates.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

/// Resident memory of this process, in bytes.
fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    // XGBoost's OpenMP pool: one thread, like the pure-Rust code.
    std::env::set_var("OMP_NUM_THREADS", "1");
    let out_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"))
        .join("criterion");
    let cases = vec![case("100x4", 100, 4), case("300x6", 300, 6)];
    let mut criterion = Criterion::default()
        .output_directory(&out_dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench(&mut criterion, &cases);
    criterion.final_summary();

    println!(
        "\nSummary (mean per row, one thread; machine: {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:<8} {:>14} {:>20} {:>14} {:>16} {:>10} {:>10}",
        "model",
        "rust predict",
        "xgb predict (+DMat)",
        "rust TreeSHAP",
        "xgb contribs",
        "SHAP ×",
        "predict ×"
    );
    for c in &cases {
        let get = |b: &str| estimate(&out_dir, c.name, b);
        if let (Some(rp), Some(xp), Some(rs), Some(xs)) = (
            get("rust_predict"),
            get("xgboost_predict"),
            get("rust_treeshap"),
            get("xgboost_pred_contribs"),
        ) {
            println!(
                "{:<8} {:>11.2} µs {:>17.2} µs {:>11.2} µs {:>13.2} µs {:>9.1}× {:>9.1}×",
                c.name,
                rp / 1e3,
                xp / 1e3,
                rs / 1e3,
                xs / 1e3,
                xs / rs,
                xp / rp
            );
        }
    }
    println!("\nMemory (model structures against the JSON file)");
    for c in &cases {
        let before = rss_bytes();
        let copies: Vec<GbtModel> = (0..20)
            .map(|_| {
                GbtModel::from_json(
                    c.booster
                        .save_to_buffer("json".to_owned())
                        .unwrap()
                        .as_bytes(),
                )
                .unwrap()
            })
            .collect();
        let after = rss_bytes();
        let rss_per_model = match (before, after) {
            (Some(b), Some(a)) => a.saturating_sub(b) as f64 / copies.len() as f64,
            _ => f64::NAN,
        };
        println!(
            "{:<8} JSON {:>9} B · model heap {:>9} B ({:.2}× JSON) · resident growth per loaded copy {:>9.0} B ({:.2}× JSON)",
            c.name,
            c.json_bytes,
            c.model.heap_bytes(),
            c.model.heap_bytes() as f64 / c.json_bytes as f64,
            rss_per_model,
            rss_per_model / c.json_bytes as f64
        );
        drop(copies);
    }
}
