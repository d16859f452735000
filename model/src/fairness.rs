//! Fairness of decisions across the groups of one protected attribute, with fairlearn's
//! definitions (`between_groups`): per group the selection (approval) rate and, when outcomes
//! are known, the true and false positive rates; the demographic parity difference (largest −
//! smallest selection rate) and ratio (smallest / largest), the four-fifths rule on that
//! ratio, the equal opportunity difference (largest − smallest true positive rate) and the
//! equalized odds difference (the larger of the true and false positive rate differences).
//!
//! Conventions: `selected` is the favourable decision (approval); `favourable` is the ground
//! truth that deserved it (the loan was repaid). A difference of [`ALERT_GAP`] or more raises
//! an alert. What cannot be computed (one group only; a group without deserving or
//! undeserving members) is `None` with a note — never NaN.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A gap in rates at or above this raises an alert.
pub const ALERT_GAP: f64 = 0.10;
/// The four-fifths rule: the smallest selection rate at least 80 % of the largest.
pub const FOUR_FIFTHS: f64 = 0.8;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupReport {
    pub group: String,
    pub members: usize,
    pub selected: usize,
    pub selection_rate: f64,
    /// Members whose outcome deserved selection (with outcomes only).
    pub favourable: Option<usize>,
    pub true_positive_rate: Option<f64>,
    pub false_positive_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FairnessReport {
    pub groups: Vec<GroupReport>,
    pub demographic_parity_difference: f64,
    pub demographic_parity_ratio: f64,
    /// The smallest selection rate is below four fifths of the largest.
    pub four_fifths_violated: bool,
    pub equal_opportunity_difference: Option<f64>,
    pub equalized_odds_difference: Option<f64>,
    /// Some difference is [`ALERT_GAP`] or more.
    pub alert: bool,
    pub notes: Vec<String>,
}

fn spread(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// The report for `groups[i]`, `selected[i]` and, optionally, `favourable[i]`.
pub fn report(
    groups: &[&str],
    selected: &[bool],
    favourable: Option<&[bool]>,
) -> Result<FairnessReport, ModelError> {
    if groups.len() != selected.len() || favourable.is_some_and(|f| f.len() != groups.len()) {
        return Err(ModelError::Invalid(
            "group, decision and outcome columns differ in length".into(),
        ));
    }
    // (members, selected, favourable, selected∧favourable, selected∧¬favourable)
    let mut by: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for (i, (&g, &s)) in groups.iter().zip(selected).enumerate() {
        let f = favourable.is_some_and(|f| f[i]);
        let e = by.entry(g).or_default();
        e[0] += 1;
        e[1] += usize::from(s);
        e[2] += usize::from(f);
        e[3] += usize::from(s && f);
        e[4] += usize::from(s && !f);
    }
    if by.len() < 2 {
        return Err(ModelError::Invalid(format!(
            "fairness needs at least two groups with members, found {}",
            by.len()
        )));
    }
    let mut notes = Vec::new();
    let groups: Vec<GroupReport> = by
        .into_iter()
        .map(|(g, [n, sel, fav, tp, fp])| {
            let unfav = n - fav;
            let with_outcomes = favourable.is_some();
            if with_outcomes && fav == 0 {
                notes.push(format!("group {g} has no member with a favourable outcome: its true positive rate is not computable"));
            }
            if with_outcomes && unfav == 0 {
                notes.push(format!("group {g} has no member with an unfavourable outcome: its false positive rate is not computable"));
            }
            GroupReport {
                group: g.to_owned(),
                members: n,
                selected: sel,
                selection_rate: sel as f64 / n as f64,
                favourable: with_outcomes.then_some(fav),
                true_positive_rate: (with_outcomes && fav > 0).then(|| tp as f64 / fav as f64),
                false_positive_rate: (with_outcomes && unfav > 0)
                    .then(|| fp as f64 / unfav as f64),
            }
        })
        .collect();
    let (lo, hi) = spread(groups.iter().map(|g| g.selection_rate));
    let ratio = if hi > 0.0 {
        lo / hi
    } else {
        notes.push("no group was selected at all: the parity ratio is taken as 1".into());
        1.0
    };
    let rate_gap = |rate: fn(&GroupReport) -> Option<f64>| -> Option<f64> {
        let rates: Option<Vec<f64>> = groups.iter().map(rate).collect();
        rates.map(|r| {
            let (lo, hi) = spread(r.into_iter());
            hi - lo
        })
    };
    let tpr_gap = rate_gap(|g| g.true_positive_rate);
    let fpr_gap = rate_gap(|g| g.false_positive_rate);
    let equalized = match (tpr_gap, fpr_gap) {
        (Some(t), Some(f)) => Some(t.max(f)),
        _ => None,
    };
    let difference = hi - lo;
    let alert = difference >= ALERT_GAP
        || tpr_gap.is_some_and(|g| g >= ALERT_GAP)
        || equalized.is_some_and(|g| g >= ALERT_GAP);
    Ok(FairnessReport {
        demographic_parity_difference: difference,
        demographic_parity_ratio: ratio,
        four_fifths_violated: ratio < FOUR_FIFTHS,
        equal_opportunity_difference: tpr_gap,
        equalized_odds_difference: equalized,
        alert,
        notes,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_rates_and_gaps() {
        // a: 4 members, 3 approved; favourable 1,1,0,0 → TPR 2/2 = 1, FPR 1/2
        // b: 4 members, 1 approved; favourable 1,1,0,1 → TPR 1/3, FPR 0/1 = 0
        let g = ["a", "a", "a", "a", "b", "b", "b", "b"];
        let s = [true, true, true, false, true, false, false, false];
        let f = [true, true, false, false, true, true, false, true];
        let r = report(&g, &s, Some(&f)).unwrap();
        assert!((r.demographic_parity_difference - 0.5).abs() < 1e-12);
        assert!((r.demographic_parity_ratio - 1.0 / 3.0).abs() < 1e-12);
        assert!(r.four_fifths_violated && r.alert);
        assert!((r.equal_opportunity_difference.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!((r.equalized_odds_difference.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!(r.notes.is_empty());
    }

    #[test]
    fn what_cannot_be_computed_is_named_not_nan() {
        assert!(report(&["a", "a"], &[true, false], None).is_err());
        assert!(report(&["a"], &[true, false], None).is_err());
        let r = report(&["a", "b"], &[false, false], None).unwrap();
        assert_eq!(r.demographic_parity_ratio, 1.0);
        assert!(!r.notes.is_empty());
        assert_eq!(r.equal_opportunity_difference, None);
        // Group b has only favourable outcomes: its false positive rate is not computable.
        let r = report(
            &["a", "a", "b"],
            &[true, false, true],
            Some(&[true, false, true]),
        )
        .unwrap();
        assert_eq!(r.equalized_odds_difference, None);
        assert_eq!(r.equal_opportunity_difference, Some(0.0));
        assert!(r.notes.iter().any(|n| n.contains("group b")));
    }
}
