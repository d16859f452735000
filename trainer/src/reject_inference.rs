//! The reject-inference experiment on generated data, where every applicant's true outcome is
//! known — declined ones included — so the question that matters can be measured: does a
//! challenger retrained with reject inference rank and select the whole through-the-door
//! population better than one retrained on approved loans alone?
//!
//! 1. A champion is trained on a generated population with every outcome.
//! 2. A second generated population applies; the champion approves the least risky
//!    `approval_rate` share. Only the approved get loans, so only their outcomes are observed.
//! 3. Three challengers are trained on the approved loans: without reject inference, with
//!    fuzzy augmentation and with hard cut-off augmentation of the declined (weights and
//!    labels from the champion's probabilities, [`lendscope_model::reject_inference`]).
//! 4. Every model is scored on a third generated population, all outcomes known: ROC AUC, and
//!    the bad rate among the `approval_rate` share each would approve.

use lendscope_model::features::TARGET;
use lendscope_model::reject_inference::{
    self, generated_population, least_risky_first, population_figures, probabilities, Inferred,
    PopulationFigures,
};
use lendscope_model::synth::{header, Settings};

use crate::dataset::{Table, INFERRED_COLUMN, WEIGHT_COLUMN};
use crate::generate::generated_dataset;
use crate::train::{train, Quiet, TrainParams};
use crate::{Dataset, DatasetOptions, TrainError};

/// The sizes and seeds of one run of the experiment.
#[derive(Debug, Clone, Copy)]
pub struct Experiment {
    pub champion_rows: usize,
    pub applicant_rows: usize,
    pub evaluation_rows: usize,
    pub approval_rate: f64,
    /// Seeds of the champion's data, the applicants and the evaluation population.
    pub seeds: (u64, u64, u64),
}

impl Default for Experiment {
    fn default() -> Self {
        Self {
            champion_rows: 20_000,
            applicant_rows: 20_000,
            evaluation_rows: 20_000,
            approval_rate: 0.6,
            seeds: (1, 7, 9),
        }
    }
}

/// One model's result.
#[derive(Debug, Clone)]
pub struct Row {
    pub model: String,
    /// Training rows: observed loans plus inferred rows.
    pub training_rows: usize,
    pub inferred_rows: usize,
    pub figures: PopulationFigures,
}

fn err(e: impl std::fmt::Display) -> TrainError {
    TrainError::Artifact(format!("reject-inference experiment: {e}"))
}

/// Runs the experiment with `params` for every training: the champion's row first, then the
/// challengers without, with fuzzy and with hard cut-off reject inference.
pub fn run(e: &Experiment, params: &TrainParams) -> Result<Vec<Row>, TrainError> {
    let settings = |seed| Settings {
        seed,
        drift: 0.0,
        bias: 0.0,
    };
    let champion_data = generated_dataset(settings(e.seeds.0), e.champion_rows)?;
    let champion = train(&champion_data, params, &mut Quiet)?.bundle;

    // The applicants: the champion approves its least risky share.
    let applicants = generated_population(e.seeds.1, e.applicant_rows)?;
    let pds = probabilities(&champion, &applicants)?;
    let (order, approved_n) = least_risky_first(&pds, e.approval_rate);
    let (approved, declined) = order.split_at(approved_n);
    let declined_pds: Vec<f64> = declined.iter().map(|&i| pds[i]).collect();

    let evaluation = generated_population(e.seeds.2, e.evaluation_rows)?;
    let truth: Vec<bool> = evaluation.iter().map(|a| a.defaulted).collect();
    let figures = |bundle: &lendscope_model::ModelBundle| -> Result<PopulationFigures, TrainError> {
        let p = probabilities(bundle, &evaluation)?;
        Ok(population_figures(&p, &truth, e.approval_rate)?)
    };
    let mut rows = vec![Row {
        model: "champion (trained on every outcome)".to_owned(),
        training_rows: e.champion_rows,
        inferred_rows: 0,
        figures: figures(&champion)?,
    }];
    type Augment = fn(&[f64]) -> Result<Vec<Inferred>, lendscope_model::ModelError>;
    let methods: [(&str, Option<Augment>); 3] = [
        ("challenger, approved loans only", None),
        (
            "challenger, fuzzy augmentation",
            Some(reject_inference::fuzzy),
        ),
        (
            "challenger, hard cut-off augmentation",
            Some(reject_inference::hard_cutoff),
        ),
    ];
    for (name, augment) in methods {
        let inferred = match augment {
            Some(f) => f(&declined_pds)?,
            None => Vec::new(),
        };
        let mut csv = csv::Writer::from_writer(Vec::new());
        let mut head = header();
        head.extend([WEIGHT_COLUMN.to_owned(), INFERRED_COLUMN.to_owned()]);
        csv.write_record(&head).map_err(err)?;
        for &i in approved {
            let mut fields = applicants[i].to_fields();
            fields.extend(["1".to_owned(), "0".to_owned()]);
            csv.write_record(&fields).map_err(err)?;
        }
        for r in &inferred {
            let mut a = applicants[declined[r.row]].clone();
            a.defaulted = r.defaulted;
            let mut fields = a.to_fields();
            fields.extend([format!("{}", r.weight), "1".to_owned()]);
            csv.write_record(&fields).map_err(err)?;
        }
        let bytes = csv.into_inner().map_err(err)?;
        let data = Dataset::new(
            Table::from_csv(name, &bytes)?,
            &DatasetOptions {
                target: TARGET.to_owned(),
                ..DatasetOptions::default()
            },
        )?;
        let model = train(&data, params, &mut Quiet)?.bundle;
        rows.push(Row {
            model: name.to_owned(),
            training_rows: data.labels.len(),
            inferred_rows: inferred.len(),
            figures: figures(&model)?,
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small run: the champion first, then the three challengers; the inferred rows are
    /// those the methods define for the declined share, and every figure is a real one.
    #[test]
    fn the_experiment_trains_three_challengers_on_the_approved_loans() {
        let e = Experiment {
            champion_rows: 3_000,
            applicant_rows: 2_000,
            evaluation_rows: 2_000,
            approval_rate: 0.6,
            seeds: (1, 7, 9),
        };
        let params = TrainParams {
            rounds: 40,
            ..TrainParams::default()
        };
        let rows = run(&e, &params).unwrap();
        assert_eq!(rows.len(), 4);
        let (approved, declined) = (1_200, 800);
        assert_eq!((rows[0].training_rows, rows[0].inferred_rows), (3_000, 0));
        assert_eq!(
            (rows[1].training_rows, rows[1].inferred_rows),
            (approved, 0)
        );
        // Fuzzy: two rows per declined applicant (none has a probability of exactly 0 or 1).
        assert_eq!(rows[2].inferred_rows, 2 * declined);
        assert_eq!(rows[2].training_rows, approved + 2 * declined);
        assert_eq!(rows[3].inferred_rows, declined);
        for r in &rows {
            assert_eq!(r.figures.rows, 2_000);
            assert_eq!(r.figures.approved, 1_200);
            assert!(r.figures.auc > 0.6 && r.figures.auc < 1.0, "{r:?}");
            assert!(
                r.figures.bad_rate > 0.0 && r.figures.bad_rate < 0.2,
                "{r:?}"
            );
        }
    }
}
