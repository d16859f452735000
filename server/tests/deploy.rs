//! The monitoring deployment files: Prometheus accepts the scrape configuration and the alert
//! rules (`promtool` from Debian's `prometheus` package, which scripts/setup.sh installs), the
//! rules' unit tests pass, and every metric the rules and the Grafana dashboard use is one
//! that Lendscope exports.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use lendscope_service::metrics::HELP;

fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(deploy().join("prometheus"))
        .output()
        .expect("promtool (Debian package prometheus; scripts/setup.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_accepts_the_configuration_and_the_rules_fire_as_tested() {
    let out = promtool(&["check", "config", "prometheus.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
    let out = promtool(&["check", "rules", "lendscope.rules.yml"]);
    assert!(out.contains("14 rules found"), "{out}");
    let out = promtool(&["test", "rules", "lendscope.rules.test.yml"]);
    assert!(out.contains("SUCCESS"), "{out}");
}

/// Every `lendscope_…` metric name in `text`.
fn metric_names(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("lendscope_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

fn exported(name: &str) -> bool {
    HELP.iter().any(|(n, kind, _)| {
        *n == name
            || (*kind == "histogram"
                && ["_bucket", "_count", "_sum"]
                    .iter()
                    .any(|s| name.strip_suffix(s) == Some(n)))
    })
}

#[test]
fn the_rules_and_the_dashboard_use_only_exported_metrics() {
    let rules = std::fs::read_to_string(deploy().join("prometheus/lendscope.rules.yml")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_slice(
        &std::fs::read(deploy().join("grafana/dashboards/lendscope.json")).unwrap(),
    )
    .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        let targets = panel["targets"].as_array().unwrap();
        assert!(!targets.is_empty(), "{} has no query", panel["title"]);
        for t in targets {
            let e = t["expr"].as_str().unwrap();
            assert!(!e.trim().is_empty());
            exprs.push(e.to_owned());
        }
        assert_eq!(panel["datasource"]["uid"], "lendscope-prometheus");
    }
    let used: Vec<String> = metric_names(&rules)
        .into_iter()
        .chain(exprs.iter().flat_map(|e| metric_names(e)))
        .collect();
    assert!(used.len() > 20);
    for name in &used {
        assert!(
            exported(name),
            "{name} is used but Lendscope does not export it"
        );
    }
    // The dashboard covers what operators and compliance watch.
    let titles: Vec<&str> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for needed in [
        "Scoring latency percentiles",
        "Throughput and errors",
        "Decisions by outcome",
        "Decisions by model version and role",
        "PSI per input (last monitoring run)",
        "Fairness: demographic parity difference",
        "Active model versions",
    ] {
        assert!(titles.contains(&needed), "{needed} missing");
    }
    let datasource =
        std::fs::read_to_string(deploy().join("grafana/provisioning/datasources/prometheus.yml"))
            .unwrap();
    assert!(datasource.contains("uid: lendscope-prometheus"));
}
