//! Reject inference: declined applicants never receive a loan, so their outcomes are never
//! observed, and a model retrained on labelled decisions alone learns from approved loans only
//! (selection bias). Augmentation brings the declined back into the training data with
//! outcomes inferred from the current champion's probability of default p:
//!
//! - **fuzzy**: each declined applicant enters twice, once as defaulted with weight p and once
//!   as repaid with weight 1 − p;
//! - **hard cut-off**: each enters once, as defaulted when among the riskiest k by p, where k is
//!   the champion's expected number of defaults among them (Σ p, rounded), else as repaid.
//!
//! Both keep the expected number of inferred defaults equal to what the champion predicts.

use serde::{Deserialize, Serialize};

use crate::schema::RawValue;
use crate::synth::{Applicant, Cell, Generator, Settings};
use crate::{metrics, ModelBundle, ModelError};

/// One training row inferred for declined applicant `row`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Inferred {
    pub row: usize,
    pub defaulted: bool,
    pub weight: f64,
}

fn check(pds: &[f64]) -> Result<(), ModelError> {
    match pds
        .iter()
        .position(|p| !p.is_finite() || !(0.0..=1.0).contains(p))
    {
        Some(i) => Err(ModelError::Invalid(format!(
            "declined applicant {}: probability of default {} is not in [0, 1]",
            i + 1,
            pds[i]
        ))),
        None => Ok(()),
    }
}

/// Fuzzy augmentation of declined applicants whose champion probabilities are `pds`: two
/// rows each (rows of zero weight left out).
pub fn fuzzy(pds: &[f64]) -> Result<Vec<Inferred>, ModelError> {
    check(pds)?;
    Ok(pds
        .iter()
        .enumerate()
        .flat_map(|(row, &p)| {
            [(true, p), (false, 1.0 - p)]
                .into_iter()
                .filter(|&(_, w)| w > 0.0)
                .map(move |(defaulted, weight)| Inferred {
                    row,
                    defaulted,
                    weight,
                })
        })
        .collect())
}

/// Hard cut-off augmentation: one row each, the riskiest round(Σ p) as defaulted (ties by
/// position), in the applicants' order.
pub fn hard_cutoff(pds: &[f64]) -> Result<Vec<Inferred>, ModelError> {
    check(pds)?;
    let k = pds.iter().sum::<f64>().round() as usize;
    let mut order: Vec<usize> = (0..pds.len()).collect();
    order.sort_by(|&a, &b| pds[b].total_cmp(&pds[a]).then(a.cmp(&b)));
    let mut defaulted = vec![false; pds.len()];
    for &row in order.iter().take(k) {
        defaulted[row] = true;
    }
    Ok(defaulted
        .into_iter()
        .enumerate()
        .map(|(row, defaulted)| Inferred {
            row,
            defaulted,
            weight: 1.0,
        })
        .collect())
}

/// How a model does on a whole through-the-door population whose every outcome is known —
/// declined applicants included, which only generated data can give.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PopulationFigures {
    pub rows: usize,
    pub auc: f64,
    /// The share approved: the `approved` applicants with the lowest probabilities.
    pub approval_rate: f64,
    pub approved: usize,
    /// Defaults among the approved.
    pub bad_rate: f64,
}

/// The applicants' positions ordered by probability of default, lowest first (ties by
/// position), and how many of them an approval rate approves (the first that many).
pub fn least_risky_first(pds: &[f64], approval_rate: f64) -> (Vec<usize>, usize) {
    let mut order: Vec<usize> = (0..pds.len()).collect();
    order.sort_by(|&a, &b| pds[a].total_cmp(&pds[b]).then(a.cmp(&b)));
    let approved = ((pds.len() as f64) * approval_rate).round() as usize;
    (order, approved.min(pds.len()))
}

/// AUC over the whole population and the bad rate among the `approval_rate` share with the
/// lowest probabilities of default (ties by position).
pub fn population_figures(
    pds: &[f64],
    defaulted: &[bool],
    approval_rate: f64,
) -> Result<PopulationFigures, ModelError> {
    if !(0.0..=1.0).contains(&approval_rate) {
        return Err(ModelError::Invalid(format!(
            "approval rate {approval_rate} is not in [0, 1]"
        )));
    }
    let auc = metrics::auc(pds, defaulted)?;
    let (order, approved) = least_risky_first(pds, approval_rate);
    let bad = order[..approved].iter().filter(|&&i| defaulted[i]).count();
    Ok(PopulationFigures {
        rows: pds.len(),
        auc,
        approval_rate,
        approved,
        bad_rate: if approved == 0 {
            0.0
        } else {
            bad as f64 / approved as f64
        },
    })
}

/// `rows` applicants from the synthetic generator (seed `seed`, no drift, no bias), each with
/// its true outcome.
pub fn generated_population(seed: u64, rows: usize) -> Result<Vec<Applicant>, ModelError> {
    Ok(Generator::new(Settings {
        seed,
        drift: 0.0,
        bias: 0.0,
    })?
    .take(rows)
    .collect())
}

/// A model's probabilities of default for generated applicants.
pub fn probabilities(
    bundle: &ModelBundle,
    applicants: &[Applicant],
) -> Result<Vec<f64>, ModelError> {
    applicants
        .iter()
        .map(|a| {
            let x = bundle.encode(|c| match a.input(c) {
                Some(Cell::Number(v)) => RawValue::Number(v),
                Some(Cell::Category(t)) => RawValue::Text(t),
                Some(Cell::Missing) | None => RawValue::Missing,
            })?;
            Ok(bundle.predict(&x)?.value())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzzy_enters_each_applicant_twice_weighted_by_the_probability() {
        let rows = fuzzy(&[0.25, 1.0, 0.6]).unwrap();
        assert_eq!(rows.len(), 5, "p = 1 has no repaid copy");
        let weight = |row, d| {
            rows.iter()
                .find(|x| x.row == row && x.defaulted == d)
                .map(|x| x.weight)
        };
        assert_eq!(weight(0, true), Some(0.25));
        assert_eq!(weight(0, false), Some(0.75));
        assert_eq!(weight(1, false), None);
        let expected: f64 = rows.iter().filter(|x| x.defaulted).map(|x| x.weight).sum();
        assert!((expected - 1.85).abs() < 1e-12);
    }

    #[test]
    fn hard_cutoff_labels_the_expected_number_of_defaults_riskiest_first() {
        let pds = [0.2, 0.9, 0.5, 0.7, 0.1];
        // Σp = 2.4: the two riskiest default.
        let rows = hard_cutoff(&pds).unwrap();
        let defaulted: Vec<usize> = rows.iter().filter(|x| x.defaulted).map(|x| x.row).collect();
        assert_eq!(defaulted, vec![1, 3]);
        assert!(rows.iter().all(|x| x.weight == 1.0));
        assert_eq!(rows.len(), 5);
    }

    #[test]
    fn population_figures_approve_the_least_risky_share() {
        let pds = [0.1, 0.8, 0.3, 0.6, 0.2];
        let defaulted = [false, true, true, false, false];
        let f = population_figures(&pds, &defaulted, 0.6).unwrap();
        // Approved: 0.1, 0.2, 0.3 — one default among three.
        assert_eq!(f.approved, 3);
        assert!((f.bad_rate - 1.0 / 3.0).abs() < 1e-12);
        assert!((f.auc - metrics::auc(&pds, &defaulted).unwrap()).abs() < 1e-12);
        assert!(population_figures(&pds, &defaulted, 1.5).is_err());
        let generated = generated_population(3, 50).unwrap();
        assert_eq!(generated.len(), 50);
        assert_eq!(generated, generated_population(3, 50).unwrap());
    }

    #[test]
    fn bad_probabilities_are_named() {
        for f in [fuzzy, hard_cutoff] {
            let err = f(&[0.3, 1.2]).unwrap_err();
            assert!(err.to_string().contains("declined applicant 2"), "{err}");
        }
        assert!(fuzzy(&[]).unwrap().is_empty());
    }
}
