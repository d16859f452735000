//! Discrimination and calibration metrics for binary classifiers.
//!
//! `scores` are predicted probabilities of the positive class (default); `labels` are the
//! observed outcomes (true = default).

use serde::{Deserialize, Serialize};

use crate::ModelError;

fn check(scores: &[f64], labels: &[bool]) -> Result<(usize, usize), ModelError> {
    if scores.len() != labels.len() {
        return Err(ModelError::Invalid(format!(
            "{} scores for {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.iter().any(|s| !s.is_finite()) {
        return Err(ModelError::Invalid("scores must be finite".into()));
    }
    let pos = labels.iter().filter(|&&l| l).count();
    let neg = labels.len() - pos;
    if pos == 0 || neg == 0 {
        return Err(ModelError::Invalid(
            "both outcomes must be present to compute this metric".into(),
        ));
    }
    Ok((pos, neg))
}

/// Indices sorted by score, ascending.
fn order(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    idx
}

/// Area under the ROC curve (Mann–Whitney, ties counted as one half).
pub fn auc(scores: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    let (pos, neg) = check(scores, labels)?;
    let idx = order(scores);
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += idx[i..=j].iter().filter(|&&k| labels[k]).count() as f64 * avg_rank;
        i = j + 1;
    }
    let (p, n) = (pos as f64, neg as f64);
    Ok((rank_sum - p * (p + 1.0) / 2.0) / (p * n))
}

/// Gini coefficient = 2·AUC − 1.
pub fn gini(scores: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    Ok(2.0 * auc(scores, labels)? - 1.0)
}

/// Kolmogorov–Smirnov statistic: the largest distance between the score distributions of
/// positives and negatives.
pub fn ks(scores: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    let (pos, neg) = check(scores, labels)?;
    let idx = order(scores);
    let (mut cp, mut cn, mut best) = (0usize, 0usize, 0.0f64);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j < idx.len() && scores[idx[j]] == scores[idx[i]] {
            if labels[idx[j]] {
                cp += 1;
            } else {
                cn += 1;
            }
            j += 1;
        }
        best = best.max((cp as f64 / pos as f64 - cn as f64 / neg as f64).abs());
        i = j;
    }
    Ok(best)
}

/// Mean squared error of the probabilities.
pub fn brier(scores: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    check_len(scores, labels)?;
    Ok(scores
        .iter()
        .zip(labels)
        .map(|(p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum::<f64>()
        / scores.len() as f64)
}

/// Mean negative log-likelihood, probabilities clipped to [1e-15, 1 − 1e-15].
pub fn log_loss(scores: &[f64], labels: &[bool]) -> Result<f64, ModelError> {
    check_len(scores, labels)?;
    Ok(-scores
        .iter()
        .zip(labels)
        .map(|(p, &y)| {
            let p = p.clamp(1e-15, 1.0 - 1e-15);
            if y {
                p.ln()
            } else {
                (1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / scores.len() as f64)
}

fn check_len(scores: &[f64], labels: &[bool]) -> Result<(), ModelError> {
    if scores.is_empty() || scores.len() != labels.len() {
        return Err(ModelError::Invalid(format!(
            "{} scores for {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return Err(ModelError::Invalid("scores must be probabilities".into()));
    }
    Ok(())
}

/// One bin of a calibration table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    pub count: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
    pub min_score: f64,
    pub max_score: f64,
}

/// Calibration by quantile bins of the score (rows with equal scores stay in one bin).
pub fn calibration(
    scores: &[f64],
    labels: &[bool],
    bins: usize,
) -> Result<Vec<CalibrationBin>, ModelError> {
    check_len(scores, labels)?;
    let idx = order(scores);
    let n = idx.len();
    let bins = bins.clamp(1, n);
    let mut out = Vec::with_capacity(bins);
    let mut start = 0;
    for b in 0..bins {
        let mut end = ((b + 1) * n / bins).max(start + 1).min(n);
        while end < n && scores[idx[end]] == scores[idx[end - 1]] {
            end += 1;
        }
        if start >= end {
            continue;
        }
        let part = &idx[start..end];
        let count = part.len();
        out.push(CalibrationBin {
            count,
            mean_predicted: part.iter().map(|&i| scores[i]).sum::<f64>() / count as f64,
            observed_rate: part.iter().filter(|&&i| labels[i]).count() as f64 / count as f64,
            min_score: scores[part[0]],
            max_score: scores[part[count - 1]],
        });
        start = end;
    }
    Ok(out)
}

/// The headline metrics of a model on labelled data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub rows: usize,
    pub positives: usize,
    pub auc: f64,
    pub gini: f64,
    pub ks: f64,
    pub brier: f64,
    pub log_loss: f64,
    pub calibration: Vec<CalibrationBin>,
}

pub fn summary(scores: &[f64], labels: &[bool]) -> Result<Summary, ModelError> {
    let auc = auc(scores, labels)?;
    Ok(Summary {
        rows: scores.len(),
        positives: labels.iter().filter(|&&l| l).count(),
        auc,
        gini: 2.0 * auc - 1.0,
        ks: ks(scores, labels)?,
        brier: brier(scores, labels)?,
        log_loss: log_loss(scores, labels)?,
        calibration: calibration(scores, labels, 10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_inverted_rankings() {
        let labels = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &labels).unwrap(), 1.0);
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &labels).unwrap(), 0.0);
        assert_eq!(auc(&[0.5; 4], &labels).unwrap(), 0.5);
        assert_eq!(ks(&[0.1, 0.2, 0.8, 0.9], &labels).unwrap(), 1.0);
        assert_eq!(ks(&[0.5; 4], &labels).unwrap(), 0.0);
        assert_eq!(gini(&[0.1, 0.2, 0.8, 0.9], &labels).unwrap(), 1.0);
    }

    #[test]
    fn auc_matches_the_pairwise_definition() {
        let scores = [0.3, 0.1, 0.4, 0.4, 0.9, 0.2, 0.4, 0.7];
        let labels = [true, false, false, true, true, false, false, true];
        let mut wins = 0.0;
        let mut pairs = 0.0;
        for i in 0..8 {
            for j in 0..8 {
                if labels[i] && !labels[j] {
                    pairs += 1.0;
                    wins += if scores[i] > scores[j] {
                        1.0
                    } else if scores[i] == scores[j] {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        assert!((auc(&scores, &labels).unwrap() - wins / pairs).abs() < 1e-12);
    }

    #[test]
    fn brier_log_loss_and_calibration() {
        let labels = [true, false];
        assert!((brier(&[1.0, 0.0], &labels).unwrap()).abs() < 1e-12);
        assert!((brier(&[0.5, 0.5], &labels).unwrap() - 0.25).abs() < 1e-12);
        assert!((log_loss(&[0.5, 0.5], &labels).unwrap() - std::f64::consts::LN_2).abs() < 1e-12);
        let scores: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let labels: Vec<bool> = (0..100).map(|i| i >= 50).collect();
        let table = calibration(&scores, &labels, 10).unwrap();
        assert_eq!(table.len(), 10);
        assert_eq!(table.iter().map(|b| b.count).sum::<usize>(), 100);
        assert_eq!(table[0].observed_rate, 0.0);
        assert_eq!(table[9].observed_rate, 1.0);
    }

    #[test]
    fn degenerate_inputs_are_errors() {
        assert!(auc(&[0.1, 0.2], &[true, true]).is_err());
        assert!(auc(&[0.1], &[true, false]).is_err());
        assert!(ks(&[f64::NAN, 0.2], &[true, false]).is_err());
        assert!(brier(&[], &[]).is_err());
    }
}
