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
    /// Train exactly --rounds rounds and keep them all (no early stopping, no refit to the
    /// best round): a model of a given size, e.g. for benchmarks.
    #[arg(long)]
    pub keep_all_rounds: bool,
    /// Output directory for model.json, schema.json and card.json.
    #[arg(long)]
    pub out: PathBuf,
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

pub(super) fn usage(e: impl std::fmt::Display) -> ServerError {
    ServerError::Usage(e.to_string())
}

pub(super) fn train_err(e: TrainError) -> ServerError {
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

pub(super) fn read(path: &Path) -> Result<Vec<u8>, ServerError> {
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
        keep_all_rounds: args.keep_all_rounds,
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
        let prediction = bundle.prediction(x).map_err(usage)?;
        let p = prediction.probability().map_err(usage)?;
        let e = bundle.explain_predicted(x, prediction).map_err(usage)?;
        let mut line = e.contributions.clone();
        line.extend([e.bias, e.margin, p.value()]);
        out.push(line);
    }
    write_atomically(&args.out, |w| write_matrix(w, &header, out.into_iter()))?;
    println!("explained {} rows: {}", rows.len(), args.out.display());
    Ok(())
}
