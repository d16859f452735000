//! The pure-Rust model against XGBoost's own C++ (1.6.2, through xgboost-rs): predictions and
//! SHAP contributions for every row of models trained on generated data with missing values
//! and one-hot categoricals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use lendscope_model::synth::Settings;
use lendscope_trainer::generate::generated_dataset;
use lendscope_trainer::train::{dmatrix, Quiet};
use lendscope_trainer::{train, TrainParams};
use xgboost_rs::Booster;

fn check_parity(max_depth: u32, rounds: u32, seed: u64) {
    let settings = Settings {
        seed,
        drift: 0.0,
        bias: 0.0,
    };
    let data = generated_dataset(settings, 3000).unwrap();
    let params = TrainParams {
        rounds,
        max_depth,
        early_stopping_rounds: rounds,
        seed,
        ..TrainParams::default()
    };
    let artifact = train(&data, &params, &mut Quiet).unwrap();
    assert!(
        artifact.card.metrics.test.auc > 0.65,
        "AUC {}",
        artifact.card.metrics.test.auc
    );

    let matrix = data.matrix().unwrap();
    let refs: Vec<_> = matrix.iter().collect();
    assert!(
        refs.iter().any(|r| r.as_slice().iter().any(|v| v.is_nan())),
        "the data has missing values"
    );
    let booster = Booster::load_buffer(artifact.model_json.as_bytes()).unwrap();
    let dm = dmatrix(&refs, None).unwrap();
    let preds = booster.predict(&dm).unwrap();
    let (contribs, (n, width)) = booster.predict_contributions(&dm).unwrap();
    let features = data.schema.features().len();
    assert_eq!((n, width), (matrix.len(), features + 1));
    let mut worst_p = 0.0f64;
    let mut worst_c = 0.0f64;
    for (i, x) in matrix.iter().enumerate() {
        let p = artifact.bundle.predict(x).unwrap().value();
        worst_p = worst_p.max((p - f64::from(preds[i])).abs());
        let e = artifact.bundle.explain(x).unwrap();
        let row = &contribs[i * width..(i + 1) * width];
        for (f, c) in e.contributions.iter().enumerate() {
            worst_c = worst_c.max((c - f64::from(row[f])).abs());
        }
        worst_c = worst_c.max((e.bias - f64::from(row[features])).abs());
        let total = e.bias + e.contributions.iter().sum::<f64>();
        assert!(
            (total - e.margin).abs() < 1e-5,
            "row {i}: {total} vs {}",
            e.margin
        );
    }
    assert!(worst_p <= 1e-6, "largest prediction difference {worst_p}");
    assert!(worst_c <= 1e-5, "largest contribution difference {worst_c}");
}

#[test]
fn shallow_models_match_xgboost_exactly() {
    check_parity(3, 40, 11);
}

#[test]
fn deep_models_match_xgboost_exactly() {
    check_parity(6, 80, 12);
}

#[test]
fn keep_all_rounds_trains_exactly_the_rounds_asked_for() {
    let settings = Settings {
        seed: 13,
        drift: 0.0,
        bias: 0.0,
    };
    let data = generated_dataset(settings, 2000).unwrap();
    // With eta 0.5 validation AUC peaks early: the default refits to the best round.
    let params = TrainParams {
        rounds: 60,
        max_depth: 4,
        eta: 0.5,
        early_stopping_rounds: 60,
        seed: 13,
        ..TrainParams::default()
    };
    let refit = train(&data, &params, &mut Quiet).unwrap();
    let kept = train(
        &data,
        &TrainParams {
            keep_all_rounds: true,
            ..params
        },
        &mut Quiet,
    )
    .unwrap();
    let trees = |json: &str| {
        lendscope_model::GbtModel::from_json(json.as_bytes())
            .unwrap()
            .num_trees()
    };
    assert_eq!(trees(&kept.model_json), 60);
    assert!(
        trees(&refit.model_json) < 60,
        "the default keeps the best round only"
    );
}
