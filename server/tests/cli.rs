//! The data-science commands of the `lendscope` binary, run as a user would run them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn lendscope(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lendscope"))
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", "sqlite::memory:")
        .output()
        .unwrap()
}

fn ok(args: &[&str], dir: &Path) -> String {
    let out = lendscope(args, dir);
    assert!(
        out.status.success(),
        "lendscope {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns its error output.
fn fails(args: &[&str], dir: &Path) -> String {
    let out = lendscope(args, dir);
    assert!(
        !out.status.success(),
        "lendscope {args:?} should have failed"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A JSON file the command wrote.
fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The Python with the reference packages (`LENDSCOPE_PYTHON`, default `python3`).
fn python() -> Command {
    Command::new(std::env::var("LENDSCOPE_PYTHON").unwrap_or_else(|_| "python3".to_owned()))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lendscope-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (header, rows)
}

#[test]
fn generate_train_encode_explain_round_trip() {
    let dir = temp("round-trip");
    ok(
        &[
            "generate", "--rows", "4000", "--seed", "5", "--out", "data.csv",
        ],
        &dir,
    );
    let again = temp("round-trip-again");
    ok(
        &[
            "generate", "--rows", "4000", "--seed", "5", "--out", "data.csv",
        ],
        &again,
    );
    assert_eq!(
        std::fs::read(dir.join("data.csv")).unwrap(),
        std::fs::read(again.join("data.csv")).unwrap(),
        "deterministic per seed"
    );
    ok(
        &[
            "generate", "--rows", "300", "--seed", "6", "--drift", "1", "--bias", "1", "--out",
            "new.csv",
        ],
        &dir,
    );

    let summary = ok(
        &[
            "train",
            "--data",
            "data.csv",
            "--target",
            "defaulted",
            "--rounds",
            "60",
            "--out",
            "model",
        ],
        &dir,
    );
    assert!(summary.contains("AUC"), "{summary}");
    assert!(summary.contains("left out protected_gender"), "{summary}");
    for f in ["model.json", "schema.json", "card.json"] {
        assert!(dir.join("model").join(f).is_file(), "{f}");
    }
    let card: serde_json::Value = read_json(&dir.join("model/card.json"));
    assert_eq!(card["data"]["rows"], 4000);
    assert_eq!(card["data"]["sha256"].as_str().unwrap().len(), 64);
    assert!(card["metrics"]["test"]["auc"].as_f64().unwrap() > 0.7);
    assert_eq!(card["feature_set"], "lendscope-alt-v1");

    ok(
        &[
            "encode",
            "--model",
            "model",
            "--data",
            "new.csv",
            "--out",
            "matrix.csv",
        ],
        &dir,
    );
    let (header, rows) = read_csv(&dir.join("matrix.csv"));
    let schema: serde_json::Value = read_json(&dir.join("model/schema.json"));
    let features: Vec<String> = schema["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(header, features);
    assert_eq!(rows.len(), 300);
    assert!(
        rows.iter().any(|r| r.iter().any(String::is_empty)),
        "missing values stay empty, never 0"
    );

    ok(
        &[
            "explain", "--model", "model", "--data", "new.csv", "--out", "shap.csv",
        ],
        &dir,
    );
    let (header, rows) = read_csv(&dir.join("shap.csv"));
    assert_eq!(
        &header[header.len() - 3..],
        ["bias", "margin", "probability"]
    );
    for r in &rows {
        let v: Vec<f64> = r.iter().map(|s| s.parse().unwrap()).collect();
        let n = v.len();
        let total: f64 = v[..n - 2].iter().sum();
        assert!(
            (total - v[n - 2]).abs() < 1e-5,
            "bias + contributions = margin"
        );
        assert!((v[n - 1] - 1.0 / (1.0 + (-v[n - 2]).exp())).abs() < 1e-6);
    }
    std::fs::remove_dir_all(dir).unwrap();
    std::fs::remove_dir_all(again).unwrap();
}

#[test]
fn any_csv_with_a_binary_target_trains() {
    let dir = temp("generic");
    // A credit file of another shape: text columns, a yes/no target, an id to exclude.
    let mut csv =
        String::from("id,checking_status,duration,credit_history,amount,housing,bad_risk\n");
    let statuses = ["<0", "0<=X<200", ">=200", "no checking"];
    let histories = ["critical", "existing paid", "delayed", "all paid"];
    let housing = ["own", "rent", "free"];
    for i in 0..1500u64 {
        let h = i.wrapping_mul(2_654_435_761) % 1000;
        let status = statuses[(h % 4) as usize];
        let duration = 6 + (h % 43);
        let amount = 250 + (h * 17) % 9000;
        let bad = (status == "<0" && h % 3 != 0) || (duration > 36 && h % 2 == 0) || h % 11 == 0;
        csv += &format!(
            "{i},{status},{duration},{},{amount},{},{}\n",
            histories[(h / 4 % 4) as usize],
            housing[(h / 16 % 3) as usize],
            if bad { "yes" } else { "no" }
        );
    }
    std::fs::write(dir.join("credit.csv"), csv).unwrap();
    let out = ok(
        &[
            "train",
            "--data",
            "credit.csv",
            "--target",
            "bad_risk",
            "--exclude",
            "id",
            "--categorical",
            "housing",
            "--rounds",
            "40",
            "--out",
            "m",
        ],
        &dir,
    );
    assert!(out.contains("left out id: excluded"), "{out}");
    let schema = std::fs::read_to_string(dir.join("m/schema.json")).unwrap();
    assert!(
        schema.contains("checking_status=no checking"),
        "text columns are one-hot encoded"
    );
    assert!(schema.contains("\"positive\": \"yes\""), "{schema}");
    ok(
        &[
            "explain",
            "--model",
            "m",
            "--data",
            "credit.csv",
            "--out",
            "shap.csv",
        ],
        &dir,
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_data_is_refused_with_its_location_and_nothing_is_written() {
    let dir = temp("bad");
    let cases: &[(&str, &str, &[&str], &str)] = &[
        ("empty.csv", "", &[], "empty.csv: the file is empty"),
        ("header.csv", "a,y\n", &[], "no data rows"),
        (
            "ragged.csv",
            "a,y\n1,0\n2,1,9\n",
            &[],
            "ragged.csv, line 3: the row has 3 fields but the header has 2",
        ),
        (
            "notarget.csv",
            "a,b\n1,0\n2,1\n",
            &[],
            "column 'y': no such column",
        ),
        (
            "multi.csv",
            "a,y\n1,0\n2,1\n3,2\n",
            &[],
            "line 4, column 'y': the target is not binary",
        ),
        (
            "text.csv",
            "a,y\n1,0\nlots,1\n2,0\n",
            &["--numeric", "a"],
            "text.csv, line 3, column 'a': 'lots' is not a number",
        ),
    ];
    for (file, content, extra, expected) in cases {
        std::fs::write(dir.join(file), content).unwrap();
        let mut args = vec!["train", "--data", file, "--target", "y", "--out", "out"];
        args.extend_from_slice(extra);
        let err = fails(&args, &dir);
        assert!(err.contains(expected), "{file}: {err}");
        assert!(!dir.join("out").exists(), "{file}: nothing written");
    }
    // A model of another objective.
    std::fs::create_dir_all(dir.join("regression")).unwrap();
    let model = serde_json::json!({
        "version": [3, 0, 0],
        "learner": {"objective": {"name": "reg:squarederror"}, "learner_model_param": {"base_score": "0.5", "num_feature": "1"},
                    "gradient_booster": {"name": "gbtree", "model": {"trees": []}}}
    });
    std::fs::write(dir.join("regression/model.json"), model.to_string()).unwrap();
    std::fs::write(
        dir.join("regression/schema.json"),
        r#"{"format":1,"columns":[{"name":"a","kind":"numeric"}],"features":["a"]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("rows.csv"), "a\n1\n").unwrap();
    let err = fails(
        &[
            "explain",
            "--model",
            "regression",
            "--data",
            "rows.csv",
            "--out",
            "shap.csv",
        ],
        &dir,
    );
    assert!(err.contains("reg:squarederror"), "{err}");
    assert!(!dir.join("shap.csv").exists() && !dir.join("shap.partial").exists());
    // Rows lacking a model column.
    ok(&["generate", "--rows", "500", "--out", "data.csv"], &dir);
    ok(
        &[
            "train",
            "--data",
            "data.csv",
            "--target",
            "defaulted",
            "--rounds",
            "10",
            "--out",
            "m",
        ],
        &dir,
    );
    let err = fails(
        &[
            "encode", "--model", "m", "--data", "rows.csv", "--out", "x.csv",
        ],
        &dir,
    );
    assert!(
        err.contains("column 'loan_amount': no such column"),
        "{err}"
    );
    assert!(!dir.join("x.csv").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs a command against a SQLite file that persists between commands.
fn with_db(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lendscope"))
        .args(args)
        .current_dir(dir)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("registry.db").display()),
        )
        .output()
        .unwrap()
}

fn stdout_of(out: &Output, args: &[&str]) -> String {
    assert!(
        out.status.success(),
        "lendscope {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Recomputes a schema file's derived feature list from its columns (as a tool producing a
/// consistent schema would).
fn rebuild_features(schema: &mut serde_json::Value) {
    let features: Vec<serde_json::Value> = schema["columns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| {
            let name = c["name"].as_str().unwrap().to_owned();
            match c["categories"].as_array() {
                Some(cats) => cats
                    .iter()
                    .map(|k| format!("{name}={}", k.as_str().unwrap()).into())
                    .collect::<Vec<_>>(),
                None => vec![name.into()],
            }
        })
        .collect();
    schema["features"] = features.into();
}

/// Copies a model directory, letting `edit` change one of its files.
fn variant(dir: &Path, from: &str, to: &str, file: &str, edit: impl Fn(&mut serde_json::Value)) {
    let (src, dst) = (dir.join(from), dir.join(to));
    std::fs::create_dir_all(&dst).unwrap();
    for f in ["model.json", "schema.json", "card.json"] {
        std::fs::copy(src.join(f), dst.join(f)).unwrap();
    }
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dst.join(file)).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(dst.join(file), v.to_string()).unwrap();
}

#[test]
fn training_runs_are_recorded_and_models_register_list_and_show() {
    let dir = temp("registry");
    ok(
        &[
            "generate", "--rows", "2000", "--seed", "8", "--out", "data.csv",
        ],
        &dir,
    );
    let args = [
        "train",
        "--data",
        "data.csv",
        "--target",
        "defaulted",
        "--rounds",
        "30",
        "--out",
        "m1",
    ];
    let trained = stdout_of(&with_db(&args, &dir), &args);
    assert!(trained.contains("recorded as training run #1"), "{trained}");
    // A failing run is recorded too (and the command still fails).
    let bad = [
        "train", "--data", "data.csv", "--target", "nope", "--out", "m0",
    ];
    assert!(!with_db(&bad, &dir).status.success());

    let reg = ["models", "register", "--dir", "m1", "--name", "credit"];
    let out = stdout_of(&with_db(&reg, &dir), &reg);
    assert!(out.contains("registered credit v1"), "{out}");
    let list = stdout_of(&with_db(&["models", "list"], &dir), &["models", "list"]);
    assert!(
        list.contains("credit") && list.contains("trained"),
        "{list}"
    );
    let show = ["models", "show", "credit", "1"];
    let shown = stdout_of(&with_db(&show, &dir), &show);
    for expected in [
        "credit v1",
        "lineage:",
        "Training data SHA-256",
        "parameters:",
        "max_depth",
        "metrics (validation / test):",
        "never held an alias",
    ] {
        assert!(shown.contains(expected), "{expected} missing in:\n{shown}");
    }

    // Models trained elsewhere are checked against the feature pipeline.
    variant(&dir, "m1", "unknown", "schema.json", |s| {
        s["columns"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"name": "shoe_size", "kind": "numeric"}));
        rebuild_features(s);
    });
    variant(&dir, "m1", "objective", "model.json", |m| {
        m["learner"]["objective"]["name"] = "reg:squarederror".into();
    });
    variant(&dir, "m1", "encoding", "schema.json", |s| {
        let cols = s["columns"].as_array_mut().unwrap();
        let c = cols
            .iter_mut()
            .find(|c| c["kind"] == "categorical")
            .unwrap();
        c["categories"].as_array_mut().unwrap().reverse();
        rebuild_features(s);
    });
    std::fs::create_dir_all(dir.join("broken")).unwrap();
    std::fs::write(dir.join("broken/model.json"), "{not json").unwrap();
    std::fs::copy(dir.join("m1/schema.json"), dir.join("broken/schema.json")).unwrap();
    for (sub, message) in [
        ("unknown", "unknown feature \"shoe_size\""),
        ("objective", "objective"),
        ("encoding", "is encoded as categorical"),
        ("broken", "model"),
    ] {
        let args = ["models", "register", "--dir", sub, "--name", "credit"];
        let out = with_db(&args, &dir);
        assert!(!out.status.success(), "{sub} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(message), "{sub}: {err}");
    }
    let list = stdout_of(&with_db(&["models", "list"], &dir), &["models", "list"]);
    assert_eq!(
        list.matches("credit").count(),
        1,
        "registry unchanged:\n{list}"
    );
    let missing = ["models", "show", "credit", "9"];
    assert!(!with_db(&missing, &dir).status.success());

    // Aliases and shares go through the gate and four eyes on the registry page: the command
    // line refuses them unless it is an emergency with a reason (audited, listed on the page).
    let id = out
        .rsplit("as model ")
        .next()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or_else(|| panic!("no model id in {out}"));
    let id = id.to_string();
    for args in [
        vec!["models", "alias", "champion", id.as_str()],
        vec!["models", "share", "20"],
        vec!["models", "share", "20", "--emergency"],
        vec!["models", "share", "20", "--reason", "no flag"],
    ] {
        let refused = with_db(&args, &dir);
        assert!(!refused.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("--emergency --reason TEXT"), "{args:?}: {err}");
    }
    let list = stdout_of(&with_db(&["models", "list"], &dir), &["models", "list"]);
    assert!(!list.contains("champion"), "nothing changed:\n{list}");
    let alias = [
        "models",
        "alias",
        "champion",
        id.as_str(),
        "--emergency",
        "--reason",
        "incident 7: restore service",
    ];
    assert!(stdout_of(&with_db(&alias, &dir), &alias).contains("emergency change, audited"));
    let list = stdout_of(&with_db(&["models", "list"], &dir), &["models", "list"]);
    assert!(list.contains("champion"), "{list}");
}

/// fairlearn's figures for a decisions CSV (group, decision, outcome), rows without a group
/// left out as `lendscope fairness` does.
const FAIRLEARN: &str = r#"
import json, sys
import pandas as pd
from fairlearn.metrics import (MetricFrame, selection_rate, demographic_parity_difference,
    demographic_parity_ratio, equalized_odds_difference, equal_opportunity_difference)
df = pd.read_csv(sys.argv[1], dtype={"group": str})
df = df[df["group"].notna()]
y_pred = (df["decision"] == "approve").astype(int)
y_true = (df["outcome"] == "repaid").astype(int)
sf = df["group"]
kw = dict(sensitive_features=sf)
rates = MetricFrame(metrics=selection_rate, y_true=y_true, y_pred=y_pred, **kw).by_group
print(json.dumps({
    "dpd": float(demographic_parity_difference(y_true, y_pred, **kw)),
    "dpr": float(demographic_parity_ratio(y_true, y_pred, **kw)),
    "eod": float(equalized_odds_difference(y_true, y_pred, **kw)),
    "eop": float(equal_opportunity_difference(y_true, y_pred, **kw)),
    "rates": {str(k): float(v) for k, v in rates.items()},
}))
"#;

#[test]
fn fairness_matches_fairlearn() {
    let dir = temp("fairness");
    // Three groups with different approval and repayment rates, some rows without a group.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut csv = String::from("group,decision,outcome\n");
    for i in 0..3000 {
        let (group, approve, repay) = match i % 7 {
            0..=2 => ("female", 0.62, 0.85),
            3..=5 => ("male", 0.55, 0.8),
            _ if i % 5 == 0 => ("", 0.5, 0.5),
            _ => ("nonbinary", 0.7, 0.9),
        };
        let decision = if next() < approve {
            "approve"
        } else {
            "reject"
        };
        let outcome = if next() < repay {
            "repaid"
        } else {
            "defaulted"
        };
        csv.push_str(&format!("{group},{decision},{outcome}\n"));
    }
    std::fs::write(dir.join("decisions.csv"), csv).unwrap();
    let out = ok(
        &[
            "fairness",
            "--data",
            "decisions.csv",
            "--group",
            "group",
            "--decision",
            "decision",
            "--label",
            "outcome",
            "--json",
            "fair.json",
        ],
        &dir,
    );
    assert!(out.contains("rows without a group left out"), "{out}");
    let ours: serde_json::Value = read_json(&dir.join("fair.json"));
    let reference = python()
        .args(["-c", FAIRLEARN])
        .arg(dir.join("decisions.csv"))
        .output()
        .expect("python3 with fairlearn (scripts/setup.sh installs it)");
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let theirs: serde_json::Value = serde_json::from_slice(&reference.stdout).unwrap();
    let r = &ours["report"];
    for (mine, key) in [
        ("demographic_parity_difference", "dpd"),
        ("demographic_parity_ratio", "dpr"),
        ("equalized_odds_difference", "eod"),
        ("equal_opportunity_difference", "eop"),
    ] {
        let (a, b) = (r[mine].as_f64().unwrap(), theirs[key].as_f64().unwrap());
        assert!((a - b).abs() < 1e-12, "{mine}: ours {a}, fairlearn {b}");
    }
    for g in r["groups"].as_array().unwrap() {
        let name = g["group"].as_str().unwrap();
        let (a, b) = (
            g["selection_rate"].as_f64().unwrap(),
            theirs["rates"][name].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 1e-12, "{name}: ours {a}, fairlearn {b}");
    }
    assert_eq!(r["groups"].as_array().unwrap().len(), 3);

    // Bad input is named: a missing column, an unknown decision value, a single group.
    std::fs::write(dir.join("bad.csv"), "group,decision\na,approve\nb,maybe\n").unwrap();
    let err = fails(
        &[
            "fairness",
            "--data",
            "bad.csv",
            "--group",
            "group",
            "--decision",
            "verdict",
        ],
        &dir,
    );
    assert!(err.contains("no column \"verdict\""), "{err}");
    let err = fails(
        &[
            "fairness",
            "--data",
            "bad.csv",
            "--group",
            "group",
            "--decision",
            "decision",
        ],
        &dir,
    );
    assert!(err.contains("line 3") && err.contains("maybe"), "{err}");
    std::fs::write(dir.join("one.csv"), "group,decision\na,approve\na,reject\n").unwrap();
    let err = fails(
        &[
            "fairness",
            "--data",
            "one.csv",
            "--group",
            "group",
            "--decision",
            "decision",
        ],
        &dir,
    );
    assert!(err.contains("at least two groups"), "{err}");
}

/// A deterministic uniform generator for the drift data sets (xorshift).
struct Uniform(u64);

impl Uniform {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Approximately normal (sum of four uniforms, centred and scaled).
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..4).map(|_| self.next()).sum::<f64>() - 2.0;
        mean + sd * s * 3f64.sqrt()
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[((self.next() * items.len() as f64) as usize).min(items.len() - 1)]
    }
}

/// One side of a drift data set: `shift` moves the distributions.
fn drift_rows(rng: &mut Uniform, rows: usize, shift: f64) -> String {
    let mut csv = String::from(
        "income,tenure_months,late_payments,has_phone,employment,region,steady,constant,sparse,text_or_number\n",
    );
    for i in 0..rows {
        let income = rng.normal(3000.0 + 400.0 * shift, 800.0);
        let tenure = (rng.next() * 120.0).floor();
        let late = ((rng.next() + 0.15 * shift) * 4.0).floor().min(3.0); // 0..=3: 4 values
        let phone = u8::from(rng.next() < 0.8 - 0.1 * shift);
        let employment = if shift > 0.0 && rng.next() < 0.1 {
            "gig" // a category the reference never saw
        } else {
            rng.pick(&[
                "salaried",
                "self_employed",
                "contract",
                "unemployed",
                "retired",
            ])
        };
        let region = rng.pick(&["north", "south"]);
        let steady = rng.normal(50.0, 10.0);
        // Every fifth value missing; a column with only a few values.
        let sparse = if i % 5 == 0 {
            String::new()
        } else {
            format!("{}", rng.normal(1.0, 0.2 + 0.05 * shift))
        };
        let mixed = if shift > 0.0 && i == 3 {
            "n/k".to_owned()
        } else {
            format!("{}", i % 9)
        };
        csv.push_str(&format!(
            "{income},{tenure},{late},{phone},{employment},{region},{steady},7,{sparse},{mixed}\n"
        ));
    }
    csv
}

fn evidently(dir: &Path, reference: &str, current: &str, extra: &[&str]) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/evidently_drift.py");
    let out = python()
        .arg(script)
        .args([reference, current])
        .args([
            "--numerical",
            "income,tenure_months,late_payments,has_phone,steady,constant,sparse",
            "--categorical",
            "employment,region",
        ])
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("python3 with evidently (scripts/setup.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `lendscope drift` against the `evidently` package on the same files: the same test per
/// column, the statistic within 1e-6 and the same verdicts — for small references (KS, χ², Z)
/// and large ones (Wasserstein, Jensen–Shannon), equal and unequal sample sizes, missing
/// values, a constant column and a category only the current window has. PSI is compared
/// with Evidently's `psi` test. A column that is a number on one side and text on the other
/// is reported as not computable, with the line.
#[test]
fn drift_matches_evidently() {
    let dir = temp("drift");
    let columns =
        "income,tenure_months,late_payments,has_phone,employment,region,steady,constant,sparse";
    let mut rng = Uniform(0x9e37_79b9_7f4a_7c15);
    let mut verdicts = Vec::new();
    let mut worst = 0f64;
    for (case, (nr, nc, shift)) in [
        (800, 600, 0.6),
        (700, 700, 0.3),
        (1000, 9000, 0.4),
        (600, 500, 3.0),
        (5000, 3000, 0.5),
        (4000, 4000, 0.05),
        (3000, 2000, 3.0),
    ]
    .into_iter()
    .enumerate()
    {
        let (r, c) = (format!("ref{case}.csv"), format!("cur{case}.csv"));
        std::fs::write(dir.join(&r), drift_rows(&mut rng, nr, 0.0)).unwrap();
        std::fs::write(dir.join(&c), drift_rows(&mut rng, nc, shift)).unwrap();
        let out = ok(
            &[
                "drift",
                "--reference",
                &r,
                "--current",
                &c,
                "--columns",
                columns,
                "--json",
                "drift.json",
            ],
            &dir,
        );
        assert!(out.contains("dataset drift:"), "{out}");
        let ours: serde_json::Value = read_json(&dir.join("drift.json"));
        let report = &ours["report"];
        let theirs = evidently(&dir, &r, &c, &[]);
        let psi = evidently(&dir, &r, &c, &["--stattest", "psi"]);
        let mut tests = Vec::new();
        for col in report["columns"].as_array().unwrap() {
            let name = col["column"].as_str().unwrap();
            let e = &theirs["columns"][name];
            assert_eq!(col["test"], e["test"], "case {case} {name}: {col} vs {e}");
            let (a, b) = (
                col["statistic"].as_f64().unwrap(),
                e["score"].as_f64().unwrap(),
            );
            assert!(
                (a - b).abs() <= 1e-6,
                "case {case} {name}: ours {a}, evidently {b}"
            );
            worst = worst.max((a - b).abs());
            assert_eq!(col["drifted"], e["drift"], "case {case} {name}: verdict");
            assert_eq!(col["threshold"].as_f64(), e["threshold"].as_f64(), "{name}");
            let (a, b) = (
                col["psi"].as_f64().unwrap(),
                psi["columns"][name]["score"].as_f64().unwrap(),
            );
            assert!(
                (a - b).abs() <= 1e-6,
                "case {case} {name} PSI: ours {a}, evidently {b}"
            );
            worst = worst.max((a - b).abs());
            tests.push(col["test"].as_str().unwrap().to_owned());
        }
        assert_eq!(
            report["dataset_drift"], theirs["dataset_drift"],
            "case {case}"
        );
        verdicts.push(report["dataset_drift"].as_bool().unwrap());
        let share = report["drift_share"].as_f64().unwrap();
        assert!(
            (share - theirs["share"].as_f64().unwrap()).abs() < 1e-12,
            "case {case}"
        );
        println!(
            "case {case} ({nr} × {nc}): tests {tests:?}, dataset drift {}",
            report["dataset_drift"]
        );
        if nr <= 1000 {
            for t in ["ks", "chisquare", "z"] {
                assert!(
                    tests.iter().any(|x| x == t),
                    "case {case} exercises {t}: {tests:?}"
                );
            }
        } else {
            for t in ["wasserstein", "jensenshannon"] {
                assert!(
                    tests.iter().any(|x| x == t),
                    "case {case} exercises {t}: {tests:?}"
                );
            }
        }
    }
    println!("largest difference from evidently's statistics and PSI: {worst:e}");
    // Both dataset verdicts occur among the cases compared above.
    assert!(
        verdicts.contains(&true) && verdicts.contains(&false),
        "{verdicts:?}"
    );
    // A column numeric on one side and text on the other; a column absent from one file.
    let out = ok(
        &[
            "drift",
            "--reference",
            "ref0.csv",
            "--current",
            "cur0.csv",
            "--columns",
            "text_or_number,nowhere,income",
            "--json",
            "bad.json",
        ],
        &dir,
    );
    assert!(out.contains("not computable"), "{out}");
    let bad: serde_json::Value = read_json(&dir.join("bad.json"));
    let cols = bad["report"]["columns"].as_array().unwrap();
    let reason = cols[0]["not_computable"].as_str().unwrap();
    assert!(
        reason.contains("line 5") && reason.contains("n/k"),
        "{reason}"
    );
    assert!(cols[1]["not_computable"]
        .as_str()
        .unwrap()
        .contains("either file"));
    assert_eq!(bad["report"]["tested_columns"], 1);
    // Forced categorical, the mismatch compares as categories.
    ok(
        &[
            "drift",
            "--reference",
            "ref0.csv",
            "--current",
            "cur0.csv",
            "--columns",
            "text_or_number",
            "--categorical",
            "text_or_number",
        ],
        &dir,
    );
    // An empty current window (header only) is refused with the reason; a window whose
    // column is all missing gives a not-computable entry and no dataset drift.
    std::fs::write(dir.join("empty.csv"), "income,region\n").unwrap();
    let err = fails(
        &["drift", "--reference", "ref0.csv", "--current", "empty.csv"],
        &dir,
    );
    assert!(
        err.contains("empty.csv") && err.contains("no data rows"),
        "{err}"
    );
    std::fs::write(dir.join("blank.csv"), "income,region\n,\nNA,\n").unwrap();
    let out = ok(
        &[
            "drift",
            "--reference",
            "ref0.csv",
            "--current",
            "blank.csv",
            "--columns",
            "income,region",
            "--json",
            "blank.json",
        ],
        &dir,
    );
    assert!(out.contains("no values in the current window"), "{out}");
    let blank: serde_json::Value = read_json(&dir.join("blank.json"));
    assert_eq!(blank["report"]["dataset_drift"], false);
    assert_eq!(blank["report"]["drift_share"], serde_json::Value::Null);
    assert_eq!(blank["report"]["columns"][0]["current_missing"], 2);
    let err = fails(
        &["drift", "--reference", "ref0.csv", "--current", "nope.csv"],
        &dir,
    );
    assert!(err.contains("nope.csv"), "{err}");
}

/// `audit keygen`, `audit checkpoint` and `audit verify` with the key and directory from the
/// environment, as an operator runs them; a verifier with only the public key; a wrong key.
#[test]
fn checkpoints_are_signed_written_and_verified_from_the_command_line() {
    let dir = temp("checkpoints");
    let run = |args: &[&str], key: &Path| {
        Command::new(env!("CARGO_BIN_EXE_lendscope"))
            .args(args)
            .current_dir(&dir)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("audit.db").display()),
            )
            .env("LENDSCOPE_CHECKPOINT_KEY", key)
            .env("LENDSCOPE_CHECKPOINT_DIR", dir.join("checkpoints"))
            .output()
            .unwrap()
    };
    let key = dir.join("checkpoint.key");
    let out = stdout_of(
        &run(&["audit", "keygen", "--out", "checkpoint.key"], &key),
        &["keygen"],
    );
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("public key "))
        .unwrap()
        .to_owned();
    assert_eq!(public.len(), 64, "{out}");
    assert!(!run(&["audit", "keygen", "--out", "checkpoint.key"], &key)
        .status
        .success());
    let out = stdout_of(&run(&["audit", "checkpoint"], &key), &["checkpoint"]);
    assert!(out.contains("decisions at link 0"), "{out}");
    let out = stdout_of(&run(&["audit", "verify"], &key), &["verify"]);
    assert!(out.contains("1 signed checkpoints hold"), "{out}");
    let with_public = run(
        &["audit", "verify", "--public-key", &public],
        Path::new("/nonexistent"),
    );
    assert!(stdout_of(&with_public, &["verify --public-key"]).contains("1 signed checkpoints hold"));
    let other = dir.join("other.key");
    stdout_of(
        &run(&["audit", "keygen", "--out", "other.key"], &other),
        &["keygen other"],
    );
    let wrong = run(&["audit", "verify"], &other);
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("not signed by this deployment's"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The Python of nannyml's own virtual environment (`LENDSCOPE_NANNYML_PYTHON`, set by the
/// test command; nannyml pins another xgboost than the other reference packages).
fn nannyml_python() -> Command {
    Command::new(std::env::var("LENDSCOPE_NANNYML_PYTHON").unwrap_or_else(|_| "python3".to_owned()))
}

/// Rows of `probability_of_default,defaulted`: probabilities `prob(u)` of u, the product of
/// two uniforms, outcomes drawn with probability `truth(p)`; every `hide`-th outcome left
/// empty.
fn scored_csv(
    rng: &mut Uniform,
    n: usize,
    truth: impl Fn(f64) -> f64,
    prob: impl Fn(f64) -> f64,
    hide: usize,
) -> String {
    let mut csv = String::new();
    for i in 0..n {
        let u = rng.next() * rng.next();
        let p = prob(u);
        let defaulted = rng.next() < truth(p);
        if hide > 0 && i % hide == 0 {
            csv.push_str(&format!("{p},\n"));
        } else {
            csv.push_str(&format!("{p},{}\n", u8::from(defaulted)));
        }
    }
    csv
}

/// `lendscope estimate` against nannyml 0.13's CBPE on the same files: per chunk of the
/// reference and of the analysis period, the estimated ROC AUC and its band (the issue asks
/// 0.005; they agree to rounding), the sampling error, realized AUC and thresholds within 1e-9, the same alerts and the same calibration
/// decision — for a calibrated reference and for one whose probabilities are too high (where
/// both calibrate by isotonic regression). The analysis periods hold an unchanged
/// population, one whose probabilities crowd together (discrimination falls: alerts) and a
/// riskier one, with a third of the outcomes unknown and a last, shorter chunk.
#[test]
fn estimate_matches_nannyml() {
    let dir = temp("estimate");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/nannyml_cbpe.py");
    let mut rng = Uniform(0x2545_f491_4f6c_dd1d);
    let mut worst = 0f64;
    let header = "probability_of_default,defaulted\n";
    let mut calibrated = Vec::new();
    fn spread(u: f64) -> f64 {
        0.01 + 0.98 * u
    }
    /// Five equally common risk levels, each blurred by at most 0.001: calibration does not
    /// help here. (u(1 − ln u), the distribution function of u, is uniform.)
    fn levels(u: f64) -> f64 {
        let uniform = if u > 0.0 { u * (1.0 - u.ln()) } else { 0.0 };
        let k = (uniform * 5.0).min(4.999);
        [0.05, 0.1, 0.2, 0.4, 0.7][k as usize] + k.fract() * 1e-3
    }
    type Shape = fn(f64) -> f64;
    let cases: [(Shape, Shape, [Shape; 3]); 3] = [
        // Calibrated probabilities, then ones crowded together, then a riskier spread.
        (
            |p| p,
            spread,
            [spread, |u| spread(0.3 + 0.15 * u), |u| spread(u.sqrt())],
        ),
        // Probabilities too high (the truth is their square).
        (
            |p| p * p,
            spread,
            [spread, |u| spread(0.3 + 0.15 * u), |u| spread(u.sqrt())],
        ),
        (
            |p| p,
            levels,
            [levels, |u| levels(0.4 + 0.2 * u), |u| levels(u.sqrt())],
        ),
    ];
    for (case, (truth, reference_shape, periods)) in cases.into_iter().enumerate() {
        let reference = format!(
            "{header}{}",
            scored_csv(&mut rng, 6_000, truth, reference_shape, 0)
        );
        let analysis = format!(
            "{header}{}{}{}",
            scored_csv(&mut rng, 2_000, truth, periods[0], 3),
            scored_csv(&mut rng, 1_500, truth, periods[1], 3),
            scored_csv(&mut rng, 1_250, truth, periods[2], 3),
        );
        let (r, a) = (format!("ref{case}.csv"), format!("an{case}.csv"));
        std::fs::write(dir.join(&r), reference).unwrap();
        std::fs::write(dir.join(&a), analysis).unwrap();
        let out = ok(
            &[
                "estimate",
                "--reference",
                &r,
                "--analysis",
                &a,
                "--chunk-size",
                "500",
                "--json",
                "est.json",
            ],
            &dir,
        );
        assert!(out.contains("analysis chunks"), "{out}");
        let ours = read_json(&dir.join("est.json"));
        let reference = nannyml_python()
            .arg(&script)
            .args([dir.join(&r), dir.join(&a)])
            .arg("500")
            .output()
            .expect("nannyml's virtual environment (scripts/setup.sh --test makes it)");
        assert!(
            reference.status.success(),
            "{}",
            String::from_utf8_lossy(&reference.stderr)
        );
        let theirs: serde_json::Value = serde_json::from_slice(&reference.stdout).unwrap();
        assert_eq!(ours["calibrated"], theirs["calibrated"], "case {case}");
        calibrated.push(ours["calibrated"].as_bool().unwrap());
        let mine: Vec<&serde_json::Value> = ours["reference_chunks"]
            .as_array()
            .unwrap()
            .iter()
            .chain(ours["analysis_chunks"].as_array().unwrap())
            .collect();
        let theirs = theirs["chunks"].as_array().unwrap();
        assert_eq!(mine.len(), theirs.len(), "case {case}: chunk count");
        assert_eq!(mine.len(), 12 + 10, "case {case}");
        let close = |a: &serde_json::Value, b: &serde_json::Value, tol: f64, what: &str| match (
            a.as_f64(),
            b.as_f64(),
        ) {
            (Some(x), Some(y)) => assert!(
                (x - y).abs() <= tol,
                "case {case} {what}: ours {x}, nannyml {y}"
            ),
            _ => assert_eq!(a.is_null(), b.is_null(), "case {case} {what}: {a} vs {b}"),
        };
        let mut alerts = 0;
        for (m, t) in mine.iter().zip(theirs) {
            let at = format!("chunk [{}:{}]", t["start"], t["end"]);
            assert_eq!(m["start"], t["start"], "{at}");
            assert_eq!(m["end"], t["end"], "{at}");
            let e = &m["roc_auc"];
            close(&e["value"], &t["value"], 1e-9, &format!("{at} estimate"));
            worst = worst.max((e["value"].as_f64().unwrap() - t["value"].as_f64().unwrap()).abs());
            close(
                &e["sampling_error"],
                &t["sampling_error"],
                1e-9,
                &format!("{at} sampling error"),
            );
            close(
                &e["realized"],
                &t["realized"],
                1e-9,
                &format!("{at} realized"),
            );
            close(
                &e["upper_band"],
                &t["upper_band"],
                1e-9,
                &format!("{at} upper band"),
            );
            close(
                &e["lower_band"],
                &t["lower_band"],
                1e-9,
                &format!("{at} lower band"),
            );
            let thresholds = &ours["roc_auc_thresholds"];
            close(
                &thresholds["lower"],
                &t["lower_threshold"],
                1e-9,
                "lower threshold",
            );
            close(
                &thresholds["upper"],
                &t["upper_threshold"],
                1e-9,
                "upper threshold",
            );
            assert_eq!(e["alert"], t["alert"], "case {case} {at} alert: {e} vs {t}");
            alerts += usize::from(t["alert"].as_bool().unwrap());
        }
        // The crowded period alerts in nannyml and here; the unchanged one does not.
        assert!(alerts >= 3, "case {case}: {alerts} alerts");
        assert!(
            mine[12..16].iter().all(|m| m["roc_auc"]["alert"] == false),
            "case {case}: the unchanged period alerted"
        );
    }
    // Both branches of the calibration check are exercised, and agree with nannyml's.
    assert_eq!(calibrated, [true, true, false]);
    println!("largest difference from nannyml's estimated ROC AUC: {worst:e}");

    // Bad input is named: an outcome missing from the reference, a probability out of range.
    std::fs::write(
        dir.join("bad.csv"),
        "probability_of_default,defaulted\n0.2,1\n0.3,\n",
    )
    .unwrap();
    let err = fails(
        &[
            "estimate",
            "--reference",
            "bad.csv",
            "--analysis",
            "bad.csv",
            "--chunk-size",
            "1",
        ],
        &dir,
    );
    assert!(err.contains("bad.csv, line 3: defaulted"), "{err}");
    std::fs::write(dir.join("worse.csv"), "probability_of_default\n0.2\n1.7\n").unwrap();
    let err = fails(
        &[
            "estimate",
            "--reference",
            "ref0.csv",
            "--analysis",
            "worse.csv",
            "--chunk-size",
            "5",
        ],
        &dir,
    );
    assert!(
        err.contains("worse.csv, line 3: probability_of_default \"1.7\""),
        "{err}"
    );
}
