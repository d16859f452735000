//! Fairness in the current window, per protected attribute: of the recommendations, and of
//! the final decisions (the officer's, else the automated one) beside them.

use std::collections::BTreeMap;

use lendscope_model::fairness;

use super::report::AttributeFairness;
use super::settings::MonitoringSettings;
use super::windows::Row;
use crate::registry::{judged_groups, PROTECTED_ATTRIBUTES};

pub(super) fn attribute_fairness(
    current: &[Row],
    labels: &BTreeMap<i64, bool>,
    s: &MonitoringSettings,
) -> Vec<AttributeFairness> {
    PROTECTED_ATTRIBUTES
        .iter()
        .map(|&attribute| {
            let mut notes = Vec::new();
            let (judged, small) = judged_groups(
                current.iter().map(|r| (&r.stored.input, r)),
                attribute,
                s.min_group_members,
            );
            if !small.is_empty() {
                notes.push(format!(
                    "groups with fewer than {} applications in the window are left out: {}",
                    s.min_group_members,
                    small.join(", ")
                ));
            }
            let groups: Vec<&str> = judged.iter().map(|(g, _)| *g).collect();
            let selected: Vec<bool> = judged.iter().map(|(_, r)| r.approved).collect();
            let report = match fairness::report(&groups, &selected, None) {
                Ok(r) => Some(r),
                Err(e) => {
                    notes.push(format!("approval parity not computable: {e}"));
                    None
                }
            };
            // Outcomes: favourable = repaid.
            let labelled: Vec<(&str, bool, bool)> = judged
                .iter()
                .filter_map(|(g, r)| labels.get(&r.seq).map(|&d| (*g, r.approved, !d)))
                .collect();
            let with_outcomes = if labelled.len() >= s.min_labelled {
                let g: Vec<&str> = labelled.iter().map(|x| x.0).collect();
                let sel: Vec<bool> = labelled.iter().map(|x| x.1).collect();
                let fav: Vec<bool> = labelled.iter().map(|x| x.2).collect();
                match fairness::report(&g, &sel, Some(&fav)) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        notes.push(format!("outcome-based fairness not computable: {e}"));
                        None
                    }
                }
            } else {
                notes.push(format!(
                    "{} decisions in the window have an outcome; equal opportunity needs {}",
                    labelled.len(),
                    s.min_labelled
                ));
                None
            };
            // Groups are judged by their decided members alone (the same floor).
            let (decided_rows, small_decided) = judged_groups(
                current
                    .iter()
                    .filter(|r| r.final_approved.is_some())
                    .map(|r| (&r.stored.input, r)),
                attribute,
                s.min_group_members,
            );
            if !small_decided.is_empty() {
                notes.push(format!(
                    "final decisions: groups with fewer than {} decided applications are left out: {}",
                    s.min_group_members,
                    small_decided.join(", ")
                ));
            }
            let decided: Vec<(&str, bool)> = decided_rows
                .iter()
                .filter_map(|(g, r)| r.final_approved.map(|a| (*g, a)))
                .collect();
            let (final_groups, final_selected): (Vec<&str>, Vec<bool>) =
                decided.iter().copied().unzip();
            let final_decisions = match fairness::report(&final_groups, &final_selected, None) {
                Ok(r) => Some(r),
                Err(e) => {
                    notes.push(format!("parity of the final decisions not computable: {e}"));
                    None
                }
            };
            AttributeFairness {
                attribute: attribute.to_owned(),
                report,
                with_outcomes,
                final_decisions,
                final_decided: decided.len(),
                notes,
            }
        })
        .collect()
}
