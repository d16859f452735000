//! Drift benchmark: `rows` reference and `rows` current rows × 30 features (24 continuous, 3
//! numeric with four values, 3 categorical), the current side shifted in a third of the
//! features. Writes the columns as raw little-endian files for the Evidently side of
//! `scripts/bench-drift.sh`, then times `drift::detect` (the monitoring job's engine) on the
//! in-memory columns and prints the figures.
//!
//! usage: drift_bench ROWS OUT_DIR [REPEATS]

use std::io::Write;
use std::time::Instant;

use lendscope_model::drift::{self, ColumnData, DriftColumn, DriftOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const CATEGORIES: [&str; 6] = [
    "salaried",
    "self_employed",
    "contract",
    "gig",
    "retired",
    "student",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let out = std::path::PathBuf::from(args.get(2).map_or("target/drift-bench", String::as_str));
    let repeats: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    std::fs::create_dir_all(&out)?;
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);
    let mut columns = Vec::new();
    let mut manifest = String::from("name,kind\n");
    for k in 0..30 {
        let shifted = k % 3 == 0;
        let side = |rng: &mut ChaCha8Rng, shift: f64| -> Vec<f64> {
            let normal = Normal::new(100.0 + 10.0 * k as f64 + shift, 15.0)
                .unwrap_or_else(|_| unreachable!());
            match k {
                0..=23 => (0..rows).map(|_| normal.sample(rng)).collect(),
                _ => (0..rows)
                    .map(|_| ((rng.gen::<f64>() + shift / 50.0) * 4.0).floor().min(3.0))
                    .collect(),
            }
        };
        let name = format!("f{k:02}");
        let shift = if shifted { 3.0 } else { 0.0 };
        let data = if k >= 27 {
            let codes = |rng: &mut ChaCha8Rng, tilt: f64| -> Vec<u32> {
                (0..rows)
                    .map(|_| {
                        let u: f64 = rng.gen::<f64>().powf(1.0 + tilt);
                        ((u * CATEGORIES.len() as f64) as u32).min(5)
                    })
                    .collect()
            };
            let (r, c) = (
                codes(&mut rng, 0.0),
                codes(&mut rng, if shifted { 0.3 } else { 0.0 }),
            );
            write_u8(&out.join(format!("ref_{name}.u8")), &r)?;
            write_u8(&out.join(format!("cur_{name}.u8")), &c)?;
            manifest.push_str(&format!("{name},categorical\n"));
            ColumnData::Categorical {
                labels: CATEGORIES.iter().map(|s| (*s).to_owned()).collect(),
                reference: r,
                current: c,
            }
        } else {
            let (r, c) = (side(&mut rng, 0.0), side(&mut rng, shift));
            write_f64(&out.join(format!("ref_{name}.f64")), &r)?;
            write_f64(&out.join(format!("cur_{name}.f64")), &c)?;
            manifest.push_str(&format!("{name},numerical\n"));
            ColumnData::Numeric {
                reference: r,
                current: c,
            }
        };
        columns.push(DriftColumn { name, data });
    }
    std::fs::write(out.join("manifest.csv"), manifest)?;
    println!(
        "generated {rows} + {rows} rows × {} features in {:.1} s (written to {})",
        columns.len(),
        started.elapsed().as_secs_f64(),
        out.display()
    );
    let options = DriftOptions::default();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let report = drift::detect(&columns, &options);
        times.push(t.elapsed().as_secs_f64());
        last = Some(report);
    }
    times.sort_by(f64::total_cmp);
    let report = last.ok_or("no run")?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "lendscope drift engine: {} features, {} drifted, dataset drift {}",
        report.tested_columns, report.drifted_columns, report.dataset_drift
    );
    println!(
        "lendscope seconds: best {:.3}, median {:.3} over {} runs on {threads} threads",
        times[0],
        times[times.len() / 2],
        times.len()
    );
    let mut verdicts = std::fs::File::create(out.join("lendscope.csv"))?;
    writeln!(verdicts, "name,test,statistic,drift")?;
    for c in &report.columns {
        writeln!(
            verdicts,
            "{},{},{},{}",
            c.column,
            c.test.map_or("none", |t| t.label()),
            c.statistic.unwrap_or(f64::NAN),
            c.drifted.unwrap_or(false)
        )?;
    }
    println!("RUST_SECONDS={:.4}", times[times.len() / 2]);
    Ok(())
}

fn write_f64(path: &std::path::Path, values: &[f64]) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(values.len() * 8);
    for v in values {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    std::fs::write(path, bytes)
}

fn write_u8(path: &std::path::Path, codes: &[u32]) -> std::io::Result<()> {
    std::fs::write(path, codes.iter().map(|&c| c as u8).collect::<Vec<u8>>())
}
