//! The pure-Rust model against the Python `xgboost` package (3.x): a model trained here and
//! a model trained in Python, each compared row by row on predictions and `pred_contribs`.
//! Needs `python3` with `xgboost` (scripts/test.sh installs it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lendscope_model::{features, FeatureVector, ModelBundle};
use lendscope_trainer::generate::{generated_dataset, write_matrix};
use lendscope_trainer::train::Quiet;
use lendscope_trainer::{train, Dataset, TrainParams};

fn python() -> String {
    std::env::var("LENDSCOPE_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/xgboost_reference.py")
}

fn run_python(args: &[&str]) {
    let out = Command::new(python())
        .arg(script())
        .args(args)
        .output()
        .expect("python3 must be installed (scripts/setup.sh installs the test packages)");
    assert!(
        out.status.success(),
        "python reference failed (is `xgboost` installed? pip install -r scripts/requirements-test.txt):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = String::from_utf8_lossy(&out.stderr);
    assert!(
        version.contains("xgboost 3."),
        "expected xgboost 3.x, got {version}"
    );
}

struct Reference {
    probability: Vec<f64>,
    contributions: Vec<Vec<f64>>,
}

fn read_reference(path: &Path) -> Reference {
    let text = std::fs::read_to_string(path).unwrap();
    let mut probability = Vec::new();
    let mut contributions = Vec::new();
    for line in text.lines().skip(1) {
        let v: Vec<f64> = line.split(',').map(|s| s.parse().unwrap()).collect();
        probability.push(v[0]);
        contributions.push(v[1..].to_vec());
    }
    Reference {
        probability,
        contributions,
    }
}

fn compare(bundle: &ModelBundle, rows: &[FeatureVector], reference: &Reference) {
    assert_eq!(rows.len(), reference.probability.len());
    let (mut worst_p, mut worst_c) = (0.0f64, 0.0f64);
    for (i, x) in rows.iter().enumerate() {
        let p = bundle.predict(x).unwrap().value();
        worst_p = worst_p.max((p - reference.probability[i]).abs());
        let e = bundle.explain(x).unwrap();
        let r = &reference.contributions[i];
        assert_eq!(r.len(), e.contributions.len() + 1);
        for (a, b) in e
            .contributions
            .iter()
            .chain(std::iter::once(&e.bias))
            .zip(r)
        {
            worst_c = worst_c.max((a - b).abs());
        }
    }
    assert!(worst_p <= 1e-6, "largest probability difference {worst_p}");
    assert!(worst_c <= 1e-5, "largest contribution difference {worst_c}");
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lendscope-parity-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn generated(rows: usize, seed: u64) -> Dataset {
    let settings = lendscope_model::synth::Settings {
        seed,
        drift: 0.0,
        bias: 0.0,
    };
    generated_dataset(settings, rows).unwrap()
}

fn write_x(path: &Path, bundle: &ModelBundle, rows: &[FeatureVector]) {
    write_matrix(
        std::fs::File::create(path).unwrap(),
        bundle.schema().features(),
        rows.iter().map(|r| r.as_slice().to_vec()),
    )
    .unwrap();
}

#[test]
fn a_model_trained_here_predicts_and_explains_like_python_xgboost() {
    let dir = temp_dir("rust-model");
    let data = generated(3000, 21);
    let params = TrainParams {
        rounds: 60,
        max_depth: 5,
        early_stopping_rounds: 60,
        ..TrainParams::default()
    };
    let artifact = train(&data, &params, &mut Quiet).unwrap();
    artifact.save(&dir.join("model")).unwrap();
    let rows = data.matrix().unwrap();
    write_x(&dir.join("x.csv"), &artifact.bundle, &rows);
    run_python(&[
        "predict",
        "--model",
        dir.join("model/model.json").to_str().unwrap(),
        "--matrix",
        dir.join("x.csv").to_str().unwrap(),
        "--out",
        dir.join("ref.csv").to_str().unwrap(),
    ]);
    compare(
        &artifact.bundle,
        &rows,
        &read_reference(&dir.join("ref.csv")),
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_model_trained_by_python_xgboost_3_loads_and_matches() {
    let dir = temp_dir("python-model");
    let data = generated(3000, 22);
    let rows = data.matrix().unwrap();
    let schema = features::schema().unwrap();
    let header = schema.features().to_vec();
    write_matrix(
        std::fs::File::create(dir.join("x.csv")).unwrap(),
        &header,
        rows.iter().map(|r| r.as_slice().to_vec()),
    )
    .unwrap();
    let labels: String = data
        .labels
        .iter()
        .map(|&l| if l { "1\n" } else { "0\n" })
        .collect();
    std::fs::write(dir.join("y.txt"), labels).unwrap();
    let x = dir.join("x.csv");
    run_python(&[
        "train",
        "--matrix",
        x.to_str().unwrap(),
        "--labels",
        dir.join("y.txt").to_str().unwrap(),
        "--out",
        dir.join("model.json").to_str().unwrap(),
        "--depth",
        "6",
        "--rounds",
        "80",
    ]);
    let model_json = std::fs::read(dir.join("model.json")).unwrap();
    let schema_json = serde_json::to_vec(&schema).unwrap();
    let bundle = ModelBundle::from_json(&model_json, &schema_json).unwrap();
    assert!(
        bundle.model().xgboost_version().starts_with('3'),
        "{}",
        bundle.model().xgboost_version()
    );
    assert_eq!(
        bundle.model().feature_names(),
        header.as_slice(),
        "feature names travel with the model"
    );
    run_python(&[
        "predict",
        "--model",
        dir.join("model.json").to_str().unwrap(),
        "--matrix",
        x.to_str().unwrap(),
        "--out",
        dir.join("ref.csv").to_str().unwrap(),
    ]);
    compare(&bundle, &rows, &read_reference(&dir.join("ref.csv")));

    // A schema that encodes differently is refused by name.
    let renamed = String::from_utf8(schema_json)
        .unwrap()
        .replace("\"loan_amount\"", "\"loan_sum\"")
        .into_bytes();
    let err = ModelBundle::from_json(&model_json, &renamed).unwrap_err();
    assert!(err.to_string().contains("loan_amount"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
