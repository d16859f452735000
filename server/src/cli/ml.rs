//! The data-science commands: generate, train, encode, explain. They use the same code as the
//! service (the schema encoder and the pure-Rust model); nothing here touches the database.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use lendscope_model::synth::Settings;
use lendscope_trainer::dataset::Table;
use lendscope_trainer::generate::{write_csv, write_matrix};
use lendscope_trainer::train::Progress;
use lendscope_trainer::{artifact, train, Dataset, DatasetOptions, TrainError, TrainParams};

use crate::error::ServerError;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of applicants.
    #[arg(long)]
    pub rows: usize,
    /// Random seed: the same seed gives the same file.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
    /// Shift distributions (income down, late payments and overdrafts up, …), 0–3.
    #[arg(long, default_value_t = 0.0)]
    pub drift: f64,
    /// Make outcomes and income depend on the protected group, 0–3.
    #[arg(long, default_value_t = 0.0)]
    pub bias: f64,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// CSV file with a header row.
    #[arg(long)]
    pub data: PathBuf,
    /// The binary outcome column.
    #[arg(long)]
    pub target: String,
    /// The target value of the positive class (inferred for 0/1, true/false, yes/no).
    #[arg(long)]
    pub positive: Option<String>,
    /// Columns to one-hot encode even if they look numeric.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Columns that must be numeric (text in them is an error).
    #[arg(long, value_delimiter = ',')]
    pub numeric: Vec<String>,
    /// Columns to leave out.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Most boosting rounds.
    #[arg(long, default_value_t = 300)]
    pub rounds: u32,
    #[arg(long, default_value_t = 4)]
    pub max_depth: u32,
    #[arg(long, default_value_t = 0.1)]
    pub eta: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Stop after this many rounds without a better validation AUC.
    #[arg(long, default_value_t = 30)]
    pub early_stopping: u32,
    /// Output directory for model.json, schema.json and card.json.
    #[arg(long)]
    pub out: PathBuf,
}

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

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// A model directory (model.json and schema.json).
    #[arg(long)]
    pub model: PathBuf,
    /// CSV with the raw input columns.
    #[arg(long)]
    pub data: PathBuf,
    #[arg(long)]
    pub out: PathBuf,
}

fn usage(e: impl std::fmt::Display) -> ServerError {
    ServerError::Usage(e.to_string())
}

fn train_err(e: TrainError) -> ServerError {
    ServerError::Usage(e.to_string())
}

/// Writes `out` through a temporary file renamed at the end: on error nothing is left.
fn write_atomically(
    out: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> Result<(), TrainError>,
) -> Result<(), ServerError> {
    let tmp = out.with_extension("partial");
    let file = std::fs::File::create(&tmp).map_err(|e| usage(format!("{}: {e}", tmp.display())))?;
    let mut w = std::io::BufWriter::new(file);
    let result = write(&mut w).and_then(|()| w.flush().map_err(|e| TrainError::io(&tmp, e)));
    match result {
        Ok(()) => std::fs::rename(&tmp, out).map_err(|e| usage(format!("{}: {e}", out.display()))),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(train_err(e))
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, ServerError> {
    std::fs::read(path).map_err(|e| usage(format!("{}: {e}", path.display())))
}

pub fn generate(args: &GenerateArgs) -> Result<(), ServerError> {
    if args.rows == 0 {
        return Err(usage("--rows must be at least 1"));
    }
    let settings = Settings {
        seed: args.seed,
        drift: args.drift,
        bias: args.bias,
    };
    write_atomically(&args.out, |w| write_csv(w, settings, args.rows))?;
    println!("wrote {} applicants to {}", args.rows, args.out.display());
    Ok(())
}

/// A progress bar on a terminal, a line every 25 rounds otherwise.
struct Bar {
    tty: bool,
}

impl Progress for Bar {
    fn round(&mut self, round: u32, max: u32, auc: f64, best: u32) {
        let mut err = std::io::stderr();
        if self.tty {
            let width = 30usize;
            let done = (round as usize * width / max.max(1) as usize).min(width);
            let _ = write!(
                err,
                "\r[{}{}] {round:>4}/{max} rounds · validation AUC {auc:.4} · best round {best}   ",
                "█".repeat(done),
                "░".repeat(width - done)
            );
        } else if round % 25 == 0 || round == 1 {
            let _ = writeln!(
                err,
                "round {round}/{max}: validation AUC {auc:.4} (best round {best})"
            );
        }
    }

    fn refit(&mut self, rounds: u32) {
        let mut err = std::io::stderr();
        if self.tty {
            let _ = writeln!(err);
        }
        let _ = writeln!(err, "early stopping: keeping the best {rounds} rounds");
    }
}

/// Trains and writes the artifact; returns its card (lineage and metrics).
pub fn train_model(
    args: &TrainArgs,
) -> Result<lendscope_trainer::artifact::ModelCard, ServerError> {
    let file = args.data.display().to_string();
    let table = Table::from_csv(&file, &read(&args.data)?).map_err(train_err)?;
    let opts = DatasetOptions {
        target: args.target.clone(),
        positive: args.positive.clone(),
        categorical: args.categorical.clone(),
        numeric: args.numeric.clone(),
        exclude: args.exclude.clone(),
    };
    let data = Dataset::new(table, &opts).map_err(train_err)?;
    for (column, reason) in &data.left_out {
        println!("left out {column}: {reason}");
    }
    let params = TrainParams {
        rounds: args.rounds,
        max_depth: args.max_depth,
        eta: args.eta,
        seed: args.seed,
        early_stopping_rounds: args.early_stopping,
        ..TrainParams::default()
    };
    let mut bar = Bar {
        tty: std::io::stderr().is_terminal(),
    };
    let artifact = train(&data, &params, &mut bar).map_err(train_err)?;
    artifact.save(&args.out).map_err(train_err)?;
    let c = &artifact.card;
    let t = &c.metrics.test;
    println!(
        "\ntrained {} rounds (kept {}), {} features, {} training / {} validation / {} test rows",
        c.training.rounds_trained,
        c.training.rounds_kept,
        c.features,
        c.data.train_rows,
        c.data.valid_rows,
        c.data.test_rows
    );
    println!("test metrics ({} rows, {} positive):", t.rows, t.positives);
    println!("  AUC      {:.4}", t.auc);
    println!("  Gini     {:.4}", t.gini);
    println!("  KS       {:.4}", t.ks);
    println!("  Brier    {:.4}", t.brier);
    println!("  log loss {:.4}", t.log_loss);
    println!("model written to {}", args.out.display());
    Ok(artifact.card)
}

/// The parameters of a `train` command, as recorded with its run.
pub fn train_params(args: &TrainArgs) -> serde_json::Value {
    serde_json::json!({
        "data": args.data.display().to_string(),
        "target": args.target,
        "rounds": args.rounds,
        "max_depth": args.max_depth,
        "eta": args.eta,
        "seed": args.seed,
        "early_stopping": args.early_stopping,
    })
}

fn load_batch(
    args: &BatchArgs,
) -> Result<
    (
        lendscope_model::ModelBundle,
        Vec<lendscope_model::FeatureVector>,
    ),
    ServerError,
> {
    let (bundle, _) = artifact::load(&args.model).map_err(train_err)?;
    let file = args.data.display().to_string();
    let table = Table::from_csv(&file, &read(&args.data)?).map_err(train_err)?;
    let rows = table.encode(bundle.schema()).map_err(train_err)?;
    Ok((bundle, rows))
}

pub fn encode(args: &BatchArgs) -> Result<(), ServerError> {
    let (bundle, rows) = load_batch(args)?;
    let header = bundle.schema().features().to_vec();
    write_atomically(&args.out, |w| {
        write_matrix(w, &header, rows.iter().map(|r| r.as_slice().to_vec()))
    })?;
    println!(
        "encoded {} rows into {} features: {}",
        rows.len(),
        header.len(),
        args.out.display()
    );
    Ok(())
}

pub fn explain(args: &BatchArgs) -> Result<(), ServerError> {
    let (bundle, rows) = load_batch(args)?;
    let mut header = bundle.schema().features().to_vec();
    header.extend(["bias", "margin", "probability"].map(str::to_owned));
    let mut out = Vec::with_capacity(rows.len());
    for x in &rows {
        let e = bundle.explain(x).map_err(usage)?;
        let p = bundle.predict(x).map_err(usage)?;
        let mut line = e.contributions.clone();
        line.extend([e.bias, e.margin, p.value()]);
        out.push(line);
    }
    write_atomically(&args.out, |w| write_matrix(w, &header, out.into_iter()))?;
    println!("explained {} rows: {}", rows.len(), args.out.display());
    Ok(())
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
