//! The champion compared with the challenger, and the promotion gate.
//!
//! Comparisons re-score stored applications: every decision keeps its validated input, so
//! any version can be evaluated on the same recent applications (agreement, score
//! distributions, fairness) and on the decided applications whose outcome is known (AUC and
//! KS with paired bootstrap intervals), whether or not it served them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::Duration;
use lendscope_domain::governance::{
    Comparison, GateCheck, GroupParity, Interval, ModelRow, ThroughTheDoor,
};
use lendscope_domain::RejectInference;
use lendscope_model::compare::{self, Estimate};

use super::applications::{internal, Stored};
use super::store::LoadedModel;
use crate::error::{ServiceError, ServiceResult};
use crate::scoring::policy::{Decision, DecisionPolicy};
use crate::scoring::request::ApplicationInput;
use crate::Services;

/// The bounds a challenger must meet before anyone may request its promotion.
#[derive(Debug, Clone, PartialEq)]
pub struct GateSettings {
    /// The challenger's AUC on labelled outcomes may be at most this much below the champion's.
    pub auc_tolerance: f64,
    /// Fewest labelled decisions (with both outcomes) for the performance check.
    pub min_labelled: usize,
    /// Largest demographic parity difference of approval rates across groups.
    pub max_parity_difference: f64,
    /// Smallest ratio of approval rates (the four-fifths rule).
    pub min_disparate_impact: f64,
    /// Groups with fewer applications in the window are listed but not judged: with 100
    /// members an approval rate's standard error is up to 5 points, with 30 up to 9.
    pub min_group_members: usize,
    /// Largest PSI between the champion's and the challenger's scores on the same applications.
    pub max_psi: f64,
    /// Largest 99th percentile of the challenger's scoring time (encode, predict, explain).
    pub max_latency_p99_us: f64,
    /// Recent applications re-scored for agreement, distributions and fairness.
    pub window: u64,
    /// Labelled decisions used at most (the newest).
    pub max_labelled: u64,
    /// How long a promotion request waits for its approval.
    pub request_ttl: Duration,
}

impl Default for GateSettings {
    fn default() -> Self {
        Self {
            auc_tolerance: 0.02,
            min_labelled: 100,
            max_parity_difference: 0.10,
            min_disparate_impact: 0.8,
            min_group_members: 100,
            max_psi: 0.25,
            max_latency_p99_us: 5_000.0,
            window: 2_000,
            max_labelled: 20_000,
            request_ttl: Duration::hours(24),
        }
    }
}

const BOOTSTRAP_RESAMPLES: usize = 300;
const HIST_BINS: usize = 20;
pub(crate) const PROTECTED_ATTRIBUTES: [&str; 2] = ["gender", "age_band"];

/// Probability of default and the policy's recommendation of `model` for each input.
pub(super) fn rescore(
    model: &LoadedModel,
    inputs: &[&ApplicationInput],
    policy: &DecisionPolicy,
) -> ServiceResult<Vec<(f64, Decision)>> {
    inputs
        .iter()
        .map(|input| {
            let x = model.bundle.encode(|c| input.raw(c)).map_err(internal)?;
            let pd = model.bundle.predict(&x).map_err(internal)?.value();
            let d = policy
                .decide(pd, input.loan_amount(), input.loan_term_months())
                .decision;
            Ok((pd, d))
        })
        .collect()
}

/// Scoring time per application (encode, predict, explain) in microseconds: (p50, p99).
fn latency(model: &LoadedModel, inputs: &[&ApplicationInput]) -> ServiceResult<(f64, f64)> {
    let mut times = Vec::with_capacity(inputs.len());
    for input in inputs.iter().take(500) {
        let start = std::time::Instant::now();
        let x = model.bundle.encode(|c| input.raw(c)).map_err(internal)?;
        let p = model.bundle.prediction(&x).map_err(internal)?;
        let e = model.bundle.explain_predicted(&x, p).map_err(internal)?;
        std::hint::black_box((p, e));
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    if times.is_empty() {
        return Ok((0.0, 0.0));
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.5), at(0.99)))
}

fn interval(e: Estimate) -> Interval {
    Interval {
        value: e.value,
        low: e.low,
        high: e.high,
    }
}

pub(crate) fn protected_value<'a>(input: &'a ApplicationInput, attribute: &str) -> Option<&'a str> {
    match attribute {
        "gender" => input.protected.gender.as_deref(),
        "age_band" => input.protected.age_band.as_deref(),
        _ => None,
    }
}

/// The members of each group of a protected attribute, with what goes with each application,
/// keeping only groups of at least `min_members` (smaller groups' rates are too uncertain to
/// judge); also "group (n)" for each group left out.
pub(crate) fn judged_groups<'a, T>(
    items: impl IntoIterator<Item = (&'a ApplicationInput, T)>,
    attribute: &str,
    min_members: usize,
) -> (Vec<(&'a str, T)>, Vec<String>) {
    let pairs: Vec<(&'a str, T)> = items
        .into_iter()
        .filter_map(|(i, t)| protected_value(i, attribute).map(|g| (g, t)))
        .collect();
    let mut sizes: BTreeMap<&str, usize> = BTreeMap::new();
    for (g, _) in &pairs {
        *sizes.entry(g).or_default() += 1;
    }
    let small = sizes
        .iter()
        .filter(|(_, &n)| n < min_members)
        .map(|(g, n)| format!("{g} ({n})"))
        .collect();
    let judged = pairs
        .into_iter()
        .filter(|(g, _)| sizes.get(g).copied().unwrap_or(0) >= min_members)
        .collect();
    (judged, small)
}

/// Approval-rate parity per protected attribute of the recommendations `approved`.
fn fairness(
    inputs: &[&ApplicationInput],
    approved: &[bool],
    min_members: usize,
) -> Vec<GroupParity> {
    PROTECTED_ATTRIBUTES
        .iter()
        .map(|&attribute| {
            let (judged, small) = judged_groups(
                inputs.iter().copied().zip(approved.iter().copied()),
                attribute,
                min_members,
            );
            let (groups, sel): (Vec<&str>, Vec<bool>) = judged.into_iter().unzip();
            let small_note = (!small.is_empty()).then(|| {
                format!(
                    "groups with fewer than {min_members} applications are not judged (their approval rate is too uncertain): {}",
                    small.join(", ")
                )
            });
            match lendscope_model::fairness::report(&groups, &sel, None) {
                Ok(p) => GroupParity {
                    attribute: attribute.to_owned(),
                    groups: p
                        .groups
                        .iter()
                        .map(|g| (g.group.clone(), g.members, g.selection_rate))
                        .collect(),
                    difference: Some(p.demographic_parity_difference),
                    ratio: Some(p.demographic_parity_ratio),
                    note: small_note,
                },
                Err(e) => GroupParity {
                    attribute: attribute.to_owned(),
                    groups: Vec::new(),
                    difference: None,
                    ratio: None,
                    note: Some(match small_note {
                        Some(n) => format!("not computable: {e}; {n}"),
                        None => format!("not computable: {e}"),
                    }),
                },
            }
        })
        .collect()
}

impl Services {
    /// The champion and the challenger compared, with the promotion gate.
    pub async fn compare_serving(&self) -> ServiceResult<Comparison> {
        let settings = self.gate_settings();
        let pair = self.serving_pair().await?;
        let challenger = pair.challenger.clone().ok_or_else(|| {
            ServiceError::Conflict(
                "no challenger is set; register one and make it challenger".into(),
            )
        })?;
        let rows: HashMap<i64, ModelRow> = self
            .model_rows()
            .await?
            .into_iter()
            .map(|r| (r.id, r))
            .collect();
        let row = |id: i64| {
            rows.get(&id)
                .cloned()
                .ok_or(ServiceError::NotFound("model"))
        };
        let champion_row = row(pair.champion.meta.id)?;
        let challenger_row = row(challenger.meta.id)?;
        let recent = self.recent(settings.window).await?;
        let labelled = self.labelled(settings.max_labelled).await?;
        let policy = self.current_policy().await?;
        let champion = pair.champion.clone();
        let share = pair.challenger_share;
        let method = self.reject_inference_of(challenger.meta.id).await?;
        let mut comparison = tokio::task::spawn_blocking(move || {
            evaluate(
                &settings,
                &champion,
                &challenger,
                &recent,
                &labelled,
                &policy,
                champion_row,
                challenger_row,
                share,
            )
        })
        .await
        .map_err(internal)??;
        comparison.challenger_reject_inference = method
            .map_or("not recorded by its training", RejectInference::label)
            .to_owned();
        Ok(comparison)
    }
}

/// The generated through-the-door population of the comparison: its size, its seed, and the
/// approval rate used when there are no recent applications to take it from.
const THROUGH_THE_DOOR_ROWS: usize = 5_000;
const THROUGH_THE_DOOR_SEED: u64 = 20_261_207;
const DEFAULT_APPROVAL_RATE: f64 = 0.6;

/// Both versions on a generated population with every outcome known (declined included):
/// ROC AUC and the bad rate among the `approval_rate` share each approves.
fn through_the_door(
    champion: &LoadedModel,
    challenger: &LoadedModel,
    approval_rate: f64,
) -> ServiceResult<ThroughTheDoor> {
    use lendscope_model::reject_inference::{
        generated_population, population_figures, probabilities,
    };
    let population =
        generated_population(THROUGH_THE_DOOR_SEED, THROUGH_THE_DOOR_ROWS).map_err(internal)?;
    let truth: Vec<bool> = population.iter().map(|a| a.defaulted).collect();
    let figures = |m: &LoadedModel| {
        probabilities(&m.bundle, &population)
            .and_then(|p| population_figures(&p, &truth, approval_rate))
            .map_err(internal)
    };
    let (a, b) = (figures(champion)?, figures(challenger)?);
    Ok(ThroughTheDoor {
        rows: THROUGH_THE_DOOR_ROWS,
        seed: THROUGH_THE_DOOR_SEED,
        approval_rate,
        champion_auc: a.auc,
        challenger_auc: b.auc,
        champion_bad_rate: a.bad_rate,
        challenger_bad_rate: b.bad_rate,
    })
}

fn fmt(x: f64) -> String {
    format!("{x:.3}")
}

/// The comparison and its gate, from stored applications (pure; runs on a blocking thread).
#[allow(clippy::too_many_arguments)]
fn evaluate(
    settings: &GateSettings,
    champion: &Arc<LoadedModel>,
    challenger: &Arc<LoadedModel>,
    recent: &[Stored],
    labelled: &[(Stored, bool)],
    policy: &DecisionPolicy,
    champion_row: ModelRow,
    challenger_row: ModelRow,
    challenger_share: u8,
) -> ServiceResult<Comparison> {
    let inputs: Vec<&ApplicationInput> = recent.iter().map(|s| &s.input).collect();
    let a = rescore(champion, &inputs, policy)?;
    let b = rescore(challenger, &inputs, policy)?;
    let window = inputs.len();
    let agree = a.iter().zip(&b).filter(|(x, y)| x.1 == y.1).count();
    let pd_a: Vec<f64> = a.iter().map(|x| x.0).collect();
    let pd_b: Vec<f64> = b.iter().map(|x| x.0).collect();
    let distribution_svg = lendscope_charts::quality::overlaid_histograms(
        (
            &format!("champion {} v{}", champion_row.name, champion_row.version),
            &compare::histogram(&pd_a, 0.0, 1.0, HIST_BINS),
        ),
        (
            &format!(
                "challenger {} v{}",
                challenger_row.name, challenger_row.version
            ),
            &compare::histogram(&pd_b, 0.0, 1.0, HIST_BINS),
        ),
        "probability of default",
        720,
        300,
    )
    .map_err(internal)?;
    let psi = compare::psi(&pd_a, &pd_b, 10).ok();

    // Live shadow comparison: applications served by one of the pair with the other shadowing.
    let pair = [champion.meta.id, challenger.meta.id];
    let (mut shadow_compared, mut shadow_disagreements, mut abs_diff) = (0usize, 0usize, 0.0);
    for s in recent {
        if let (Some(sm), Some(hm), Some(sp), Some(hp)) =
            (s.served_model, s.shadow_model, s.served_pd, s.shadow_pd)
        {
            if pair.contains(&sm) && pair.contains(&hm) && sm != hm {
                shadow_compared += 1;
                abs_diff += (sp - hp).abs();
                if s.served_decision != s.shadow_decision {
                    shadow_disagreements += 1;
                }
            }
        }
    }

    // Labelled outcomes, both versions on the same rows.
    let l_inputs: Vec<&ApplicationInput> = labelled.iter().map(|(s, _)| &s.input).collect();
    let labels: Vec<bool> = labelled.iter().map(|(_, l)| *l).collect();
    let la: Vec<f64> = rescore(champion, &l_inputs, policy)?
        .into_iter()
        .map(|x| x.0)
        .collect();
    let lb: Vec<f64> = rescore(challenger, &l_inputs, policy)?
        .into_iter()
        .map(|x| x.0)
        .collect();
    let positives = labels.iter().filter(|&&l| l).count();
    let enough = labels.len() >= settings.min_labelled && positives > 0 && positives < labels.len();
    let paired = if enough {
        Some(
            compare::paired_comparison(&la, &lb, &labels, BOOTSTRAP_RESAMPLES, 20_261_126)
                .map_err(internal)?,
        )
    } else {
        None
    };
    let labelled_note = (!enough).then(|| {
        format!(
            "{} decided applications have an outcome ({positives} defaulted); the comparison needs at least {} with both outcomes",
            labels.len(),
            settings.min_labelled
        )
    });

    let approved: Vec<bool> = b.iter().map(|x| x.1 == Decision::Approve).collect();
    let (final_inputs, final_approved): (Vec<&ApplicationInput>, Vec<bool>) = recent
        .iter()
        .filter_map(|s| s.final_approved.map(|a| (&s.input, a)))
        .unzip();
    let final_fairness = fairness(&final_inputs, &final_approved, settings.min_group_members);
    let fairness = fairness(&inputs, &approved, settings.min_group_members);
    let (p50, p99) = latency(challenger, &inputs)?;
    let approval_rate = if window > 0 {
        a.iter().filter(|x| x.1 == Decision::Approve).count() as f64 / window as f64
    } else {
        DEFAULT_APPROVAL_RATE
    };
    // Informational: a failure here is logged and shown, never a failed comparison (the
    // promotion request computes the comparison too).
    let (through_the_door, through_the_door_note) = if approval_rate > 0.0 {
        match through_the_door(champion, challenger, approval_rate) {
            Ok(t) => (Some(t), None),
            Err(e) => {
                tracing::warn!(error = %e, "the through-the-door check failed");
                (
                    None,
                    Some("the check could not be computed; see the server log".to_owned()),
                )
            }
        }
    } else {
        (
            None,
            Some("the champion approved none of the recent applications: no approval rate to compare at".to_owned()),
        )
    };

    let mut gate = Vec::new();
    gate.push(GateCheck {
        name: "Not worse on labelled outcomes".into(),
        passed: paired
            .as_ref()
            .is_some_and(|p| p.auc_b.value >= p.auc_a.value - settings.auc_tolerance),
        measured: paired.as_ref().map_or_else(
            || labelled_note.clone().unwrap_or_default(),
            |p| {
                format!(
                    "AUC challenger {} vs champion {} (difference {} , 95% CI {} to {}) on {} labelled decisions",
                    fmt(p.auc_b.value),
                    fmt(p.auc_a.value),
                    fmt(p.auc_diff.value),
                    fmt(p.auc_diff.low),
                    fmt(p.auc_diff.high),
                    p.rows
                )
            },
        ),
        bound: format!(
            "challenger AUC ≥ champion AUC − {} on at least {} labelled decisions",
            settings.auc_tolerance, settings.min_labelled
        ),
    });
    for f in &fairness {
        gate.push(GateCheck {
            name: format!("Demographic parity ({})", f.attribute),
            passed: f
                .difference
                .is_some_and(|d| d < settings.max_parity_difference),
            measured: f.difference.map_or_else(
                || f.note.clone().unwrap_or_default(),
                |d| format!("approval-rate gap {:.1} percentage points", d * 100.0),
            ),
            bound: format!(
                "gap < {:.0} percentage points",
                settings.max_parity_difference * 100.0
            ),
        });
        gate.push(GateCheck {
            name: format!("Disparate impact ({})", f.attribute),
            passed: f.ratio.is_some_and(|r| r >= settings.min_disparate_impact),
            measured: f.ratio.map_or_else(
                || f.note.clone().unwrap_or_default(),
                |r| format!("lowest/highest approval rate {}", fmt(r)),
            ),
            bound: format!("ratio ≥ {}", settings.min_disparate_impact),
        });
    }
    gate.push(GateCheck {
        name: "Score distribution stability".into(),
        passed: psi.is_some_and(|p| p < settings.max_psi),
        measured: psi.map_or_else(
            || "no recent applications to compare".to_owned(),
            |p| {
                let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
                format!(
                    "PSI challenger vs champion {} on {window} recent applications (mean probability of default {} vs {})",
                    fmt(p),
                    fmt(mean(&pd_b)),
                    fmt(mean(&pd_a))
                )
            },
        ),
        bound: format!("PSI < {}", settings.max_psi),
    });
    gate.push(GateCheck {
        name: "Serving latency".into(),
        passed: window > 0 && p99 <= settings.max_latency_p99_us,
        measured: if window > 0 {
            format!("p50 {p50:.0} µs, p99 {p99:.0} µs per application (encode, predict, explain)")
        } else {
            "no recent applications to time".to_owned()
        },
        bound: format!("p99 ≤ {:.0} µs", settings.max_latency_p99_us),
    });
    gate.push(GateCheck {
        name: "Version is active".into(),
        passed: !challenger_row.archived,
        measured: if challenger_row.archived {
            "archived"
        } else {
            "active"
        }
        .into(),
        bound: "not archived".into(),
    });
    let gate_passed = gate.iter().all(|c| c.passed);
    let triple = |x: Estimate, y: Estimate, d: Estimate| (interval(x), interval(y), interval(d));
    Ok(Comparison {
        champion: champion_row,
        challenger: challenger_row,
        challenger_share,
        window,
        agreement: if window > 0 {
            agree as f64 / window as f64
        } else {
            0.0
        },
        shadow_compared,
        shadow_disagreements,
        mean_abs_pd_difference: if shadow_compared > 0 {
            abs_diff / shadow_compared as f64
        } else {
            0.0
        },
        distribution_svg,
        psi,
        labelled_rows: labels.len(),
        labelled_positives: positives,
        auc: paired
            .as_ref()
            .map(|p| triple(p.auc_a, p.auc_b, p.auc_diff)),
        ks: paired.as_ref().map(|p| triple(p.ks_a, p.ks_b, p.ks_diff)),
        labelled_note,
        fairness,
        final_decided: final_inputs.len(),
        final_fairness,
        through_the_door,
        through_the_door_note,
        challenger_reject_inference: String::new(),
        latency_p50_us: p50,
        latency_p99_us: p99,
        gate,
        gate_passed,
    })
}
