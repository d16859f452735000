//! The fairness and drift reports on CSV files (`lendscope fairness`, `lendscope drift`): the
//! same engines as the monitoring job; nothing here touches the database.

use std::path::{Path, PathBuf};

use clap::Args;
use lendscope_trainer::dataset::Table;

use super::ml::{read, train_err, usage};
use crate::error::ServerError;

#[derive(Debug, Args)]
pub struct FairnessArgs {
    /// CSV file with a header row, one decision per row.
    #[arg(long)]
    pub data: PathBuf,
    /// The protected attribute (rows where it is empty are left out and counted).
    #[arg(long)]
    pub group: String,
    /// The decision: approve / approved / 1 / true / yes is favourable; reject, manual_review,
    /// 0, false, no are not.
    #[arg(long)]
    pub decision: String,
    /// The outcome that deserved approval: repaid / 1 / true / yes; defaulted / 0 / false / no.
    #[arg(long)]
    pub label: Option<String>,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

fn parse_flag(value: &str, yes: &[&str], no: &[&str]) -> Option<bool> {
    let v = value.trim().to_ascii_lowercase();
    if yes.contains(&v.as_str()) {
        Some(true)
    } else if no.contains(&v.as_str()) {
        Some(false)
    } else {
        None
    }
}

/// `lendscope fairness`: approval rates per group, demographic parity difference and ratio,
/// the four-fifths rule and, with outcomes, equal opportunity and equalized odds (fairlearn's
/// definitions). Exits with an error naming the column and line of anything it cannot read.
pub fn fairness(args: &FairnessArgs) -> Result<(), ServerError> {
    let file = args.data.display().to_string();
    let table = Table::from_csv(&file, &read(&args.data)?).map_err(train_err)?;
    let column = |name: &str| {
        table
            .column_index(name)
            .ok_or_else(|| usage(format!("{file}: no column {name:?}")))
    };
    let (g, d) = (column(&args.group)?, column(&args.decision)?);
    let l = args.label.as_deref().map(column).transpose()?;
    let (mut groups, mut selected, mut favourable, mut left_out) =
        (Vec::new(), Vec::new(), Vec::new(), 0usize);
    for row in 0..table.len() {
        let group = table.cell(row, g).trim();
        if group.is_empty() {
            left_out += 1;
            continue;
        }
        let at = |col: &str, value: &str| {
            usage(format!(
                "{file}, line {}: {col} {value:?} is not a recognised value",
                table.line(row)
            ))
        };
        let decision = table.cell(row, d);
        selected.push(
            parse_flag(
                decision,
                &["approve", "approved", "1", "true", "yes"],
                &["reject", "rejected", "manual_review", "0", "false", "no"],
            )
            .ok_or_else(|| at(&args.decision, decision))?,
        );
        if let (Some(l), Some(name)) = (l, args.label.as_deref()) {
            let label = table.cell(row, l);
            favourable.push(
                parse_flag(
                    label,
                    &["repaid", "1", "true", "yes"],
                    &["defaulted", "0", "false", "no"],
                )
                .ok_or_else(|| at(name, label))?,
            );
        }
        groups.push(group);
    }
    let report = lendscope_model::fairness::report(
        &groups,
        &selected,
        l.is_some().then_some(favourable.as_slice()),
    )
    .map_err(|e| usage(format!("{file}: {e}")))?;
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    println!(
        "{} decisions in {} groups of {}{}",
        groups.len(),
        report.groups.len(),
        args.group,
        if left_out > 0 {
            format!(" ({left_out} rows without a group left out)")
        } else {
            String::new()
        }
    );
    for gr in &report.groups {
        println!(
            "  {:<16} {:>7} members, approval rate {:>6}{}",
            gr.group,
            gr.members,
            pct(gr.selection_rate),
            match (gr.true_positive_rate, gr.false_positive_rate) {
                (Some(t), Some(f)) => format!(", TPR {}, FPR {}", pct(t), pct(f)),
                _ => String::new(),
            }
        );
    }
    println!(
        "demographic parity difference {:.4}, ratio {:.4} (four-fifths rule {})",
        report.demographic_parity_difference,
        report.demographic_parity_ratio,
        if report.four_fifths_violated {
            "violated"
        } else {
            "met"
        }
    );
    let opt = |x: Option<f64>| x.map_or_else(|| "not computable".to_owned(), |x| format!("{x:.4}"));
    if l.is_some() {
        println!(
            "equal opportunity difference {}, equalized odds difference {}",
            opt(report.equal_opportunity_difference),
            opt(report.equalized_odds_difference)
        );
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    if report.alert {
        println!("ALERT: a gap of 10 percentage points or more");
    }
    if let Some(out) = &args.json {
        let json = serde_json::json!({
            "rows": groups.len(),
            "left_out": left_out,
            "group_column": args.group,
            "report": report,
        });
        let text = serde_json::to_string_pretty(&json).map_err(usage)?;
        std::fs::write(out, text).map_err(|e| usage(format!("{}: {e}", out.display())))?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// CSV file with a header row: the reference sample (e.g. the training data).
    #[arg(long)]
    pub reference: PathBuf,
    /// CSV file with a header row: the current window.
    #[arg(long)]
    pub current: PathBuf,
    /// Columns to compare (default: every column of either file).
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Columns to treat as categorical even if every value is a number.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Cells pandas reads as missing (its default `na_values`).
const MISSING_CELLS: [&str; 19] = [
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// A column of one file: numbers (missing as NaN) or, at the first non-number, the line and
/// value that made it text.
fn numeric_cells(table: &Table, col: usize) -> Result<Vec<f64>, (u64, String)> {
    let mut out = Vec::with_capacity(table.len());
    for (row, cell) in table.column(col).enumerate() {
        if MISSING_CELLS.contains(&cell) {
            out.push(f64::NAN);
        } else {
            match cell.parse::<f64>() {
                Ok(v) => out.push(v),
                Err(_) => return Err((table.line(row), cell.to_owned())),
            }
        }
    }
    Ok(out)
}

/// `lendscope drift`: the drift engine of the monitoring job, on two CSV files.
pub fn drift(args: &DriftArgs) -> Result<(), ServerError> {
    use lendscope_model::drift::{self, ColumnData, ColumnDrift, ColumnKind, DriftColumn};
    let started = std::time::Instant::now();
    let load = |path: &Path| {
        let file = path.display().to_string();
        Table::from_csv(&file, &read(path)?).map_err(train_err)
    };
    let (reference, current) = (load(&args.reference)?, load(&args.current)?);
    let loaded = started.elapsed();
    let names: Vec<String> = if args.columns.is_empty() {
        let mut names = reference.header.clone();
        names.extend(
            current
                .header
                .iter()
                .filter(|h| !reference.header.contains(h))
                .cloned(),
        );
        names
    } else {
        args.columns.clone()
    };
    for c in &args.categorical {
        if !names.contains(c) {
            return Err(usage(format!(
                "--categorical {c:?} is not among the compared columns"
            )));
        }
    }
    let options = drift::DriftOptions::default();
    // Columns that can be computed, and entries for those that cannot (in column order).
    let mut slots: Vec<Option<ColumnDrift>> = Vec::with_capacity(names.len());
    let mut computable: Vec<DriftColumn> = Vec::new();
    for name in &names {
        let (r, c) = match (reference.column_index(name), current.column_index(name)) {
            (Some(r), Some(c)) => (r, c),
            (r, c) => {
                let absent_from = match (r, c) {
                    (None, None) => "either file",
                    (None, _) => reference.file.as_str(),
                    _ => current.file.as_str(),
                };
                slots.push(Some(ColumnDrift::not_computable(
                    name,
                    ColumnKind::Numeric,
                    format!("no column {name:?} in {absent_from}"),
                )));
                continue;
            }
        };
        let text = |t: &Table, i: usize| -> Vec<Option<String>> {
            t.column(i)
                .map(|v| (!MISSING_CELLS.contains(&v)).then(|| v.to_owned()))
                .collect()
        };
        let forced = args.categorical.contains(name);
        let (rn, cn) = if forced {
            (Err((0, String::new())), Err((0, String::new())))
        } else {
            (numeric_cells(&reference, r), numeric_cells(&current, c))
        };
        let numeric_side_is_current = rn.is_err() && cn.is_ok();
        let data = match (rn, cn) {
            (Ok(reference), Ok(current)) => ColumnData::Numeric { reference, current },
            (Ok(_), Err(bad)) | (Err(bad), Ok(_)) if !forced => {
                let ((line, value), text_file, num_file) = if numeric_side_is_current {
                    (bad, &reference.file, &current.file)
                } else {
                    (bad, &current.file, &reference.file)
                };
                slots.push(Some(ColumnDrift::not_computable(
                    name,
                    ColumnKind::Categorical,
                    format!(
                        "numeric in {num_file} but text in {text_file} (line {line}: {value:?}); \
                         pass --categorical {name} to compare it as categories"
                    ),
                )));
                continue;
            }
            _ => {
                let (rt, ct) = (text(&reference, r), text(&current, c));
                ColumnData::categorical(
                    rt.iter().map(|v| v.as_deref()),
                    ct.iter().map(|v| v.as_deref()),
                )
            }
        };
        computable.push(DriftColumn {
            name: name.clone(),
            data,
        });
        slots.push(None);
    }
    let engine_start = std::time::Instant::now();
    let mut results = drift::compute_columns(&computable, &options).into_iter();
    let engine = engine_start.elapsed();
    let columns: Vec<ColumnDrift> = slots
        .into_iter()
        .filter_map(|s| s.or_else(|| results.next()))
        .collect();
    let report = drift::DriftReport::from_columns(columns, &options);
    println!(
        "reference {} ({} rows), current {} ({} rows)",
        reference.file,
        reference.len(),
        current.file,
        current.len()
    );
    println!(
        "{:<28} {:<12} {:<30} {:>12} {:>9} {:<10} {:>9}",
        "column", "type", "test", "statistic", "threshold", "drift", "PSI"
    );
    for c in &report.columns {
        let kind = match c.kind {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Categorical => "categorical",
        };
        match (
            &c.not_computable,
            c.test,
            c.statistic,
            c.threshold,
            c.drifted,
        ) {
            (None, Some(test), Some(stat), Some(threshold), Some(drifted)) => println!(
                "{:<28} {:<12} {:<30} {:>12.6} {:>9} {:<10} {:>9.4}",
                c.column,
                kind,
                test.label(),
                stat,
                threshold,
                if drifted { "DRIFT" } else { "no drift" },
                c.psi.unwrap_or(0.0)
            ),
            (reason, ..) => println!(
                "{:<28} {:<12} not computable: {}",
                c.column,
                kind,
                reason.as_deref().unwrap_or("no result")
            ),
        }
    }
    println!(
        "dataset drift: {} ({} of {} tested columns drifted{}; threshold: half)",
        if report.dataset_drift { "YES" } else { "no" },
        report.drifted_columns,
        report.tested_columns,
        report
            .drift_share
            .map_or_else(String::new, |s| format!(", {:.1}%", s * 100.0)),
    );
    println!(
        "time: reading {:.3} s, drift engine {:.3} s",
        loaded.as_secs_f64(),
        engine.as_secs_f64()
    );
    if let Some(out) = &args.json {
        let json = serde_json::json!({
            "reference": { "file": reference.file, "rows": reference.len() },
            "current": { "file": current.file, "rows": current.len() },
            "options": options,
            "report": report,
        });
        let text = serde_json::to_string_pretty(&json).map_err(usage)?;
        std::fs::write(out, text).map_err(|e| usage(format!("{}: {e}", out.display())))?;
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// CSV with a header row: the reference period, every row with its outcome.
    #[arg(long)]
    pub reference: PathBuf,
    /// CSV with a header row: the period to estimate (outcomes optional, per row).
    #[arg(long)]
    pub analysis: PathBuf,
    /// Rows per chunk, in file order; the remainder forms a last, shorter chunk.
    #[arg(long)]
    pub chunk_size: usize,
    /// The column with the model's probability of default.
    #[arg(long, default_value = "probability_of_default")]
    pub probability: String,
    /// The outcome column: 1 / true / yes / defaulted, or 0 / false / no / repaid; an empty
    /// cell in the analysis file is an outcome not yet known.
    #[arg(long, default_value = "defaulted")]
    pub outcome: String,
    /// Write the estimates as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// A file's name, its probabilities and its outcomes (`None` where not known yet).
struct ScoredFile {
    file: String,
    scores: Vec<f64>,
    outcomes: Vec<Option<bool>>,
}

/// One file's probabilities and outcomes, each bad cell named by file, line and column.
fn scored_rows(
    path: &Path,
    args: &EstimateArgs,
    outcome_required: bool,
) -> Result<ScoredFile, ServerError> {
    let file = path.display().to_string();
    let table = Table::from_csv(&file, &read(path)?).map_err(train_err)?;
    let p = table
        .column_index(&args.probability)
        .ok_or_else(|| usage(format!("{file}: no column {:?}", args.probability)))?;
    let o = table.column_index(&args.outcome);
    if o.is_none() && outcome_required {
        return Err(usage(format!("{file}: no column {:?}", args.outcome)));
    }
    if table.is_empty() {
        return Err(usage(format!("{file}: no rows")));
    }
    let (mut scores, mut outcomes) = (Vec::with_capacity(table.len()), Vec::new());
    for row in 0..table.len() {
        let at = |col: &str, value: &str, what: &str| {
            usage(format!(
                "{file}, line {}: {col} {value:?} {what}",
                table.line(row)
            ))
        };
        let cell = table.cell(row, p).trim();
        match cell.parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => scores.push(v),
            _ => {
                return Err(at(
                    &args.probability,
                    cell,
                    "is not a probability in [0, 1]",
                ))
            }
        }
        let label = o.map_or("", |o| table.cell(row, o).trim());
        if MISSING_CELLS.contains(&label) {
            if outcome_required {
                return Err(at(
                    &args.outcome,
                    label,
                    "is missing: the reference needs every outcome",
                ));
            }
            outcomes.push(None);
        } else {
            let flag = parse_flag(
                label,
                &["1", "1.0", "true", "yes", "defaulted"],
                &["0", "0.0", "false", "no", "repaid"],
            )
            .ok_or_else(|| at(&args.outcome, label, "is not a recognised outcome"))?;
            outcomes.push(Some(flag));
        }
    }
    Ok(ScoredFile {
        file,
        scores,
        outcomes,
    })
}

/// `lendscope estimate`: confidence-based performance estimation on two CSV files — the
/// estimator of the monitoring job, fitted on the reference and applied to both files.
pub fn estimate(args: &EstimateArgs) -> Result<(), ServerError> {
    use lendscope_model::cbpe::{size_chunks, Cbpe, ChunkEstimate};
    if args.chunk_size == 0 {
        return Err(usage("--chunk-size must be at least 1"));
    }
    let ScoredFile {
        file: ref_file,
        scores: ref_scores,
        outcomes: ref_outcomes,
    } = scored_rows(&args.reference, args, true)?;
    let ScoredFile {
        file: an_file,
        scores,
        outcomes,
    } = scored_rows(&args.analysis, args, false)?;
    let ref_labels: Vec<bool> = ref_outcomes.iter().map(|o| o.unwrap_or(false)).collect();
    let ref_chunks = size_chunks(ref_scores.len(), args.chunk_size);
    let cbpe = Cbpe::fit(&ref_scores, &ref_labels, &ref_chunks)
        .map_err(|e| usage(format!("{ref_file}: {e}")))?;
    let run = |s: &[f64], o: &[Option<bool>]| -> Result<Vec<ChunkEstimate>, ServerError> {
        size_chunks(s.len(), args.chunk_size)
            .into_iter()
            .map(|c| {
                cbpe.estimate(c.start, &s[c.clone()], &o[c])
                    .map_err(|e| usage(e.to_string()))
            })
            .collect()
    };
    let reference = run(&ref_scores, &ref_outcomes)?;
    let analysis = run(&scores, &outcomes)?;
    println!(
        "reference {ref_file}: {} rows, {} defaulted; calibration: {}",
        cbpe.reference_rows,
        cbpe.reference_defaults,
        if cbpe.calibration.is_some() {
            "isotonic (it lowered the calibration error on held-out reference rows)"
        } else {
            "none needed"
        }
    );
    let thr = |t: &lendscope_model::cbpe::Thresholds| {
        let f = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
        format!("[{}, {}]", f(t.lower), f(t.upper))
    };
    println!(
        "thresholds: ROC AUC {}, default rate {} (mean ± 3 sd over {} reference chunks)",
        thr(&cbpe.roc_auc_thresholds),
        thr(&cbpe.default_rate_thresholds),
        ref_chunks.len()
    );
    println!(
        "{:<10} {:<15} {:>6} {:>9} {:>19} {:>9} {:>9} {:>19} {:>9}  alerts",
        "period", "rows", "n", "est. AUC", "band", "realized", "est. DR", "band", "realized"
    );
    let f = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    let band = |lo: Option<f64>, hi: Option<f64>| format!("[{}, {}]", f(lo), f(hi));
    for (period, chunks) in [("reference", &reference), ("analysis", &analysis)] {
        for c in chunks {
            let mut alerts = Vec::new();
            if c.roc_auc.alert {
                alerts.push("ROC AUC");
            }
            if c.default_rate.alert {
                alerts.push("default rate");
            }
            println!(
                "{:<10} {:<15} {:>6} {:>9} {:>19} {:>9} {:>9} {:>19} {:>9}  {}",
                period,
                format!("[{}:{}]", c.start, c.end),
                c.rows,
                f(c.roc_auc.value),
                band(c.roc_auc.lower_band, c.roc_auc.upper_band),
                f(c.roc_auc.realized),
                f(c.default_rate.value),
                band(c.default_rate.lower_band, c.default_rate.upper_band),
                f(c.default_rate.realized),
                if alerts.is_empty() {
                    "-".to_owned()
                } else {
                    alerts.join(", ")
                }
            );
        }
    }
    let alerts = analysis
        .iter()
        .filter(|c| c.roc_auc.alert || c.default_rate.alert)
        .count();
    println!(
        "{alerts} of {} analysis chunks ({an_file}) raised an alert",
        analysis.len()
    );
    if let Some(out) = &args.json {
        let json = serde_json::json!({
            "reference": { "file": ref_file, "rows": cbpe.reference_rows },
            "analysis": { "file": an_file, "rows": scores.len() },
            "chunk_size": args.chunk_size,
            "calibrated": cbpe.calibration.is_some(),
            "roc_auc_thresholds": cbpe.roc_auc_thresholds,
            "default_rate_thresholds": cbpe.default_rate_thresholds,
            "reference_chunks": reference,
            "analysis_chunks": analysis,
        });
        let text = serde_json::to_string_pretty(&json).map_err(usage)?;
        std::fs::write(out, text).map_err(|e| usage(format!("{}: {e}", out.display())))?;
    }
    Ok(())
}
