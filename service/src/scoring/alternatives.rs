//! What an applicant who was not approved can be offered or told: a **counteroffer** (the
//! largest amount, then the term closest to the one asked for, that the model and policy in
//! force approve) and **recourse** (the smallest change of one actionable input, else of two,
//! that would have turned the recommendation into an approval).
//!
//! Both are searched exhaustively over declared grids with [`GbtModel::margin_grid`], which
//! evaluates every cell of a grid exactly in one region walk of each tree, and every result is
//! then **re-scored** with the model itself (encode, predict, policy) before it is stated: a
//! cell whose grid margin and prediction disagree near a threshold is dropped, never offered.
//!
//! Recourse only moves inputs the feature set declares actionable
//! ([`features::Actionable`]: late payments, overdrafts, balances, savings rate, amount, term),
//! only in the favourable direction, only within the declared plausible range and the policy's
//! limits, and never an input the applicant left out. A statement covers a range: every value
//! from the stated one to the end of the plausible range is approved too (with a margin of
//! [`GUARD`] to spare; the stated value itself is re-scored) — the grid holds each step of the
//! range and, for inputs that are not whole counts, each split threshold of the model inside
//! it, so no value between grid points can behave differently. The statement names that range
//! ("a loan amount between $500 and $5,000") unless it reaches the input's own bound ("at most
//! 1 late payment": no count is below 0).
//!
//! Stored records keep [`ALTERNATIVES_METHOD`]: a change to what this search finds must come
//! with a new method number (and the old one kept for `audit reproduce`).
//!
//! [`GbtModel::margin_grid`]: lendscope_model::GbtModel::margin_grid

use lendscope_model::features::{self, Actionable};
use lendscope_model::scale::PointsScale;
use lendscope_model::whatif::Axis;
use lendscope_model::{gbt::sigmoid, FeatureVector, ModelBundle, Probability};
use serde::{Deserialize, Serialize};

use super::display::display_number;
use super::policy::DecisionPolicy;
use super::request::{ApplicationInput, InputValue};
use crate::error::{ServiceError, ServiceResult};
use lendscope_domain::Decision;

/// The search method of new decisions, stored with them so that `audit reproduce` recomputes a
/// record with the method it was made by.
pub const ALTERNATIVES_METHOD: u32 = 1;

/// The most recourse statements given.
pub const MAX_RECOURSE: usize = 3;

/// The margin (log-odds) a recourse grid cell must clear the approval cut by: far above the
/// rounding between a grid's `f64` sum and the model's `f32` one (about 1e-5 for 300 trees),
/// far below any difference that matters (0.001 in log-odds is under 0.01 points of
/// probability near the thresholds).
const GUARD: f64 = 1e-3;

/// The most grid results re-scored before a search gives up (each failure is a cell within
/// rounding of the approval threshold).
const MAX_RESCORES: usize = 16;

/// The disclaimer shown with recourse statements.
pub const RECOURSE_DISCLAIMER: &str = "These statements describe how the scoring model and \
policy in use today treat this application if some of its information had been different. They \
are not an offer or a promise of credit: a new application is assessed on the information it \
holds then, by the model and policy in use then. Each statement was checked by scoring the \
application again with the stated value, and holds for every value in the range it names.";

/// Loan terms a counteroffer may have, as the product defines them (the policy narrows them).
const OFFER_TERMS: (u32, u32) = (3, 36);
/// The step between offered amounts, and the product's smallest loan.
const OFFER_STEP: f64 = 50.0;
const OFFER_MIN: f64 = 500.0;

/// Terms the model and policy approve instead of the request, re-scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counteroffer {
    pub amount: f64,
    pub term_months: u32,
    pub probability_of_default: f64,
    pub score: i64,
}

/// One input changed in a recourse statement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub feature: String,
    pub from: f64,
    pub to: f64,
}

/// A change of one or two actionable inputs that the model and policy would approve,
/// re-scored, and the statement the applicant reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recourse {
    pub changes: Vec<Change>,
    pub probability_of_default: f64,
    pub statement: String,
}

/// The counteroffer and recourse of a decision, as stored with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alternatives {
    /// [`ALTERNATIVES_METHOD`] when it was computed.
    pub method: u32,
    pub counteroffer: Option<Counteroffer>,
    pub recourse: Vec<Recourse>,
}

/// The work a search did, for the benchmark and the bound test.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Full predictions (encode, every tree, policy) run to re-score results.
    pub predictions: usize,
    /// Grids evaluated (each one region walk of every tree).
    pub grids: usize,
    /// Grid cells evaluated.
    pub cells: usize,
}

/// One applicant, one model, one policy: what the searches share.
struct Search<'a> {
    model: &'a ModelBundle,
    input: &'a ApplicationInput,
    policy: &'a DecisionPolicy,
    x: FeatureVector,
    /// The policy's probability rule as a margin: see [`margin_cut`].
    cut: f32,
    work: Work,
}

/// An input the search may move: its position in the feature set, its model feature (`None`
/// when the model does not use it: then only the policy sees it), its declaration and the
/// applicant's value.
#[derive(Debug, Clone, Copy)]
struct Lever {
    index: usize,
    def: &'static features::Input,
    act: Actionable,
    feature: Option<usize>,
    from: f64,
}

/// Candidate values of one lever, ordered from the applicant's value outwards: `nice` are the
/// statement values (steps), `all` adds the model's thresholds inside the range, so that every
/// interval on which the model is constant has a representative.
struct Candidates {
    /// Every value evaluated, nearest first; `nice[k]` is `all[nice_at[k]]`.
    all: Vec<f64>,
    nice_at: Vec<usize>,
    /// The distance of the farthest value, to compare changes of different inputs.
    span: f64,
    /// The farthest statement value: the end of the range a statement's quantifier covers.
    end: f64,
    /// Whether `end` is the input's own bound (no valid value lies beyond it), so that an
    /// open-ended "at most" / "at least" is true; otherwise the statement names the range.
    open: bool,
}

impl Search<'_> {
    fn approves(&self, pd: f64, amount: f64, term: f64) -> bool {
        self.policy.decide(pd, amount, term).decision == Decision::Approve
    }

    /// Re-scores the application with `changes` applied: its probability of default, and
    /// whether the policy approves it.
    fn rescore(&mut self, changes: &[(usize, f64)]) -> ServiceResult<(Probability, bool)> {
        let mut changed = self.input.clone();
        for &(index, value) in changes {
            changed.values[index] = InputValue::Number(value);
        }
        let x = self
            .model
            .encode(|c| changed.raw(c))
            .map_err(|e| ServiceError::Internal(format!("encoding a what-if: {e}")))?;
        let pd = self
            .model
            .predict(&x)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        self.work.predictions += 1;
        let ok = self.approves(
            pd.value(),
            changed.loan_amount(),
            changed.loan_term_months(),
        );
        Ok((pd, ok))
    }

    /// The margins of the grid `rows` × `cols` (values in any order; an axis the model does not
    /// use leaves the margin unchanged).
    fn grid(
        &mut self,
        rows: (Option<usize>, &[f64]),
        cols: Option<(Option<usize>, &[f64])>,
    ) -> ServiceResult<Margins> {
        // The model sees f32 values, ascending and distinct; each value's place among them.
        let axis = |feature: Option<usize>, values: &[f64]| {
            feature.map(|f| {
                let mut v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
                v.sort_by(f32::total_cmp);
                v.dedup();
                let at: Vec<usize> = values
                    .iter()
                    .map(|&x| v.partition_point(|&y| y < x as f32))
                    .collect();
                (f, v, at)
            })
        };
        let col_values: &[f64] = cols.map_or(&[0.0], |c| c.1);
        let (r, c) = (axis(rows.0, rows.1), cols.and_then(|c| axis(c.0, c.1)));
        let model = self.model.model();
        let grid = |a: &(usize, Vec<f32>, Vec<usize>),
                    b: Option<&(usize, Vec<f32>, Vec<usize>)>| {
            model.margin_grid(
                &self.x,
                Axis {
                    feature: a.0,
                    values: &a.1,
                },
                b.map(|b| Axis {
                    feature: b.0,
                    values: &b.1,
                }),
            )
        };
        let internal =
            |e: lendscope_model::ModelError| ServiceError::Internal(format!("what-if grid: {e}"));
        let (nr, nc) = (rows.1.len(), col_values.len());
        let mut values = Vec::with_capacity(nr * nc);
        match (&r, &c) {
            (Some(r), Some(c)) => {
                let g = grid(r, Some(c)).map_err(internal)?;
                for &i in &r.2 {
                    values.extend(c.2.iter().map(|&j| g.margin(i, j)));
                }
            }
            (Some(r), None) => {
                let g = grid(r, None).map_err(internal)?;
                for &i in &r.2 {
                    values.extend(std::iter::repeat_n(g.margin(i, 0), nc));
                }
            }
            (None, Some(c)) => {
                let g = grid(c, None).map_err(internal)?;
                for _ in 0..nr {
                    values.extend(c.2.iter().map(|&j| g.margin(j, 0)));
                }
            }
            (None, None) => {
                let m = f64::from(model.predict_margin(&self.x).map_err(internal)?);
                values.resize(nr * nc, m);
            }
        }
        self.work.grids += 1;
        self.work.cells += nr * nc;
        Ok(Margins { cols: nc, values })
    }

    /// Whether a grid margin approves at `amount` and `term`: the policy's rules, with the
    /// probability rule read as a margin cut (see [`margin_cut`]).
    fn approves_margin(&self, margin: f64, amount: f64, term: f64) -> bool {
        self.approves_margin_by(margin, 0.0, amount, term)
    }

    /// [`Search::approves_margin`] with `guard` of margin to spare: recourse claims a range
    /// from grid margins (only the stated value is re-scored), and a grid margin, summed in
    /// `f64`, may differ from the model's `f32` sum by rounding.
    fn approves_margin_by(&self, margin: f64, guard: f64, amount: f64, term: f64) -> bool {
        ((margin + guard) as f32) < self.cut
            && !self.policy.kill_switch
            && self.policy.amount_in_range(amount)
            && self.policy.term_in_range(term)
    }
}

/// Margins of a grid, row-major.
struct Margins {
    cols: usize,
    values: Vec<f64>,
}

impl Margins {
    fn at(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.cols + j]
    }
}

/// The smallest `f32` margin whose probability (the `f32` logistic, as the model computes it)
/// the policy no longer approves: margins below it are approved by the probability rule.
/// Found once per search by bisection over `f32` values, so cells compare margins instead of
/// computing an exponential each.
fn margin_cut(policy: &DecisionPolicy) -> f32 {
    let approves = |m: f32| policy.approves_pd(f64::from(sigmoid(m)));
    let (mut lo, mut hi) = (ordered(-100.0), ordered(100.0));
    if !approves(unordered(lo)) {
        return f32::NEG_INFINITY;
    }
    if approves(unordered(hi)) {
        return f32::INFINITY;
    }
    // Invariant: the margin `lo` stands for is approved, `hi`'s is not; they end adjacent.
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if approves(unordered(mid)) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    unordered(hi)
}

/// An `f32` (not NaN) as an integer in the same order: adjacent floats are adjacent integers.
fn ordered(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 1 << 31
    }
}

/// The inverse of [`ordered`].
fn unordered(k: u32) -> f32 {
    f32::from_bits(if k >> 31 == 1 { k & !(1 << 31) } else { !k })
}

/// The counteroffer and recourse for an application `decision` did not approve (none for an
/// approval, and none when the policy's kill switch holds every application for review).
pub fn alternatives(
    model: &ModelBundle,
    input: &ApplicationInput,
    policy: &DecisionPolicy,
    decision: Decision,
) -> ServiceResult<(Alternatives, Work)> {
    let none = Alternatives {
        method: ALTERNATIVES_METHOD,
        counteroffer: None,
        recourse: Vec::new(),
    };
    if decision == Decision::Approve || policy.kill_switch {
        return Ok((none, Work::default()));
    }
    let x = model
        .encode(|c| input.raw(c))
        .map_err(|e| ServiceError::Internal(format!("encoding: {e}")))?;
    let mut s = Search {
        model,
        input,
        policy,
        x,
        cut: margin_cut(policy),
        work: Work::default(),
    };
    let counteroffer = counteroffer(&mut s)?;
    let recourse = recourse(&mut s)?;
    Ok((
        Alternatives {
            counteroffer,
            recourse,
            ..none
        },
        s.work,
    ))
}

fn column_index(name: &str) -> ServiceResult<usize> {
    features::INPUTS
        .iter()
        .position(|i| i.name == name)
        .ok_or_else(|| ServiceError::Internal(format!("feature set has no '{name}'")))
}

/// The largest approvable amount (multiples of $50 below the request, and the request itself,
/// down to the product's and the policy's smallest loan), then the term closest to the one
/// asked for (the shorter of two equally close), re-scored.
fn counteroffer(s: &mut Search<'_>) -> ServiceResult<Option<Counteroffer>> {
    let (asked_amount, asked_term) = (s.input.loan_amount(), s.input.loan_term_months());
    let floor = s.policy.min_amount.max(OFFER_MIN);
    let top = asked_amount.min(s.policy.max_amount);
    let mut amounts: Vec<f64> = Vec::new();
    if top >= floor {
        amounts.push(top);
        let mut k = (top / OFFER_STEP).ceil() - 1.0;
        while k * OFFER_STEP >= floor {
            amounts.push(k * OFFER_STEP);
            k -= 1.0;
        }
    }
    let lo = OFFER_TERMS
        .0
        .max(s.policy.min_term_months.ceil().max(0.0) as u32);
    let hi = OFFER_TERMS
        .1
        .min(s.policy.max_term_months.floor().max(0.0) as u32);
    let mut terms: Vec<u32> = (lo..=hi).collect();
    terms.sort_by(|a, b| {
        (f64::from(*a) - asked_term)
            .abs()
            .total_cmp(&(f64::from(*b) - asked_term).abs())
            .then(a.cmp(b))
    });
    if amounts.is_empty() || terms.is_empty() {
        return Ok(None);
    }
    let schema = s.model.schema();
    let (fa, ft) = (
        schema.numeric_feature("loan_amount"),
        schema.numeric_feature("loan_term_months"),
    );
    let term_values: Vec<f64> = terms.iter().map(|&t| f64::from(t)).collect();
    let margins = s.grid((fa, &amounts), Some((ft, &term_values)))?;
    let (ia, it) = (
        column_index("loan_amount")?,
        column_index("loan_term_months")?,
    );
    let mut rescored = 0;
    for (i, &amount) in amounts.iter().enumerate() {
        for (j, &term) in terms.iter().enumerate() {
            let t = f64::from(term);
            if amount == asked_amount && t == asked_term {
                continue; // the request itself
            }
            if !s.approves_margin(margins.at(i, j), amount, t) {
                continue;
            }
            if rescored == MAX_RESCORES {
                return Ok(None);
            }
            rescored += 1;
            let (pd, ok) = s.rescore(&[(ia, amount), (it, t)])?;
            if ok {
                return Ok(Some(Counteroffer {
                    amount,
                    term_months: term,
                    probability_of_default: pd.value(),
                    score: PointsScale::default().score(pd),
                }));
            }
        }
    }
    Ok(None)
}

/// The inputs recourse may move for this applicant: declared actionable, given (not missing),
/// and with room to move in the favourable direction.
fn levers(s: &Search<'_>) -> Vec<(Lever, Candidates)> {
    let schema = s.model.schema();
    features::INPUTS
        .iter()
        .enumerate()
        .filter_map(|(index, def)| {
            let act = def.actionable?;
            let InputValue::Number(from) = s.input.values[index] else {
                return None;
            };
            let lever = Lever {
                index,
                def,
                act,
                feature: schema.numeric_feature(def.name),
                from,
            };
            let c = candidates(s, &lever);
            (!c.nice_at.is_empty()).then_some((lever, c))
        })
        .collect()
}

/// The values of a lever, from the applicant's value outwards (see [`Candidates`]).
fn candidates(s: &Search<'_>, l: &Lever) -> Candidates {
    let a = l.act;
    // The plausible range in the favourable direction, within the input's valid values and
    // the policy's limits for amount and term (an amount above the largest loan is never
    // approved, so the values start at it).
    let (mut lo, mut hi) = if a.lower_is_better {
        ((l.from - a.max_change).max(a.limit), l.from)
    } else {
        (l.from, (l.from + a.max_change).min(a.limit))
    };
    lo = lo.max(l.def.min);
    hi = hi.min(l.def.max);
    match l.def.name {
        "loan_amount" => {
            lo = lo.max(s.policy.min_amount);
            hi = hi.min(s.policy.max_amount);
        }
        "loan_term_months" => {
            lo = lo.max(s.policy.min_term_months);
            hi = hi.min(s.policy.max_term_months);
        }
        // The lowest balance of 90 days cannot exceed the average balance.
        "min_balance_90d" => {
            if let Some(InputValue::Number(avg)) = s.input.value("avg_monthly_balance") {
                hi = hi.min(avg);
            }
        }
        _ => {}
    }
    // Multiples of the step strictly beyond the applicant's value, within the range (rounded
    // to the step's decimals, so that 7 × 0.01 reads 0.07).
    let decimals = if a.step < 1.0 { 1e4 } else { 1.0 };
    let round = |v: f64| (v * decimals).round() / decimals;
    let beyond = |v: f64| {
        if a.lower_is_better {
            v < l.from
        } else {
            v > l.from
        }
    };
    let (k0, k1) = ((lo / a.step).ceil() as i64, (hi / a.step).floor() as i64);
    let mut nice: Vec<f64> = (k0..=k1)
        .map(|k| round(k as f64 * a.step))
        .filter(|&v| beyond(v) && v >= lo && v <= hi)
        .collect();
    let distance = |v: f64| (v - l.from).abs();
    nice.sort_by(|x, y| distance(*x).total_cmp(&distance(*y)));
    nice.dedup();
    // The model's thresholds inside the range (a value at a threshold goes right, so it
    // represents the interval starting there), for inputs that are not whole counts.
    let mut extra: Vec<f64> = Vec::new();
    if !l.def.integer {
        if let Some(f) = l.feature {
            extra = s
                .model
                .model()
                .split_thresholds(f)
                .iter()
                .map(|&t| f64::from(t))
                .filter(|&t| t >= lo && t <= hi && beyond(t))
                .collect();
        }
    }
    let mut all: Vec<f64> = nice.iter().copied().chain(extra).collect();
    all.sort_by(|x, y| distance(*x).total_cmp(&distance(*y)));
    all.dedup();
    // Only values out to the farthest statement value count: beyond it nothing is claimed.
    let end = nice.last().copied().unwrap_or(l.from);
    all.retain(|&v| distance(v) <= distance(end));
    let nice_at = nice
        .iter()
        .filter_map(|v| all.iter().position(|w| w == v))
        .collect();
    let span = distance(end);
    let open = if a.lower_is_better {
        end <= l.def.min
    } else {
        end >= l.def.max
    };
    Candidates {
        all,
        nice_at,
        span,
        end,
        open,
    }
}

/// For values ordered nearest first, `ok[k]`: whether `approved[k..]` all hold, i.e. every
/// value from the `k`-th outwards is approved.
fn approved_beyond(approved: &[bool]) -> Vec<bool> {
    let mut out = vec![false; approved.len()];
    let mut all = true;
    for k in (0..approved.len()).rev() {
        all &= approved[k];
        out[k] = all;
    }
    out
}

/// How a changed value reads in a statement: "at most 1 late payment …", "no late payments …"
/// when every value to the input's own bound was checked, else the checked range ("a loan
/// amount between $500 and $5,000").
fn condition(l: &Lever, c: &Candidates, value: f64) -> String {
    let shown = |v: f64| display_number(l.def.name, v);
    if !c.open {
        let (lo, hi) = if value <= c.end {
            (value, c.end)
        } else {
            (c.end, value)
        };
        return l
            .act
            .range
            .replacen("{lo}", &shown(lo), 1)
            .replacen("{hi}", &shown(hi), 1);
    }
    let plural = if value == 1.0 { "" } else { "s" };
    let text = match l.act.condition.strip_prefix("at most {} ") {
        Some(rest) if value == 0.0 => format!("no {rest}"),
        _ => l.act.condition.replacen("{}", &shown(value), 1),
    };
    text.replace("{s}", plural)
}

fn statement(conditions: &[String]) -> String {
    format!(
        "With {}, this application would have been approved by the model in use today.",
        conditions.join(" and ")
    )
}

/// The smallest changes of one actionable input that the model and policy approve (at most
/// [`MAX_RECOURSE`], smallest relative change first); when none is found (or none re-scores to
/// an approval), of two.
fn recourse(s: &mut Search<'_>) -> ServiceResult<Vec<Recourse>> {
    let levers = levers(s);
    let (amount, term) = (s.input.loan_amount(), s.input.loan_term_months());
    // What the policy sees of a lever's value: amount and term are policy inputs too.
    let policy_view = |l: &Lever, v: f64, at: (f64, f64)| match l.def.name {
        "loan_amount" => (v, at.1),
        "loan_term_months" => (at.0, v),
        _ => at,
    };
    // One input.
    let mut singles: Vec<(f64, usize, f64)> = Vec::new(); // (relative change, lever, value)
    for (n, (l, c)) in levers.iter().enumerate() {
        let margins = s.grid((l.feature, &c.all), None)?;
        let approved: Vec<bool> = c
            .all
            .iter()
            .enumerate()
            .map(|(k, &v)| {
                let (a, t) = policy_view(l, v, (amount, term));
                s.approves_margin_by(margins.at(k, 0), GUARD, a, t)
            })
            .collect();
        // The smallest change such that it and every value beyond it are approved.
        let ok = approved_beyond(&approved);
        if let Some(&k) = c.nice_at.iter().find(|&&k| ok[k]) {
            let v = c.all[k];
            singles.push(((v - l.from).abs() / c.span.max(f64::MIN_POSITIVE), n, v));
        }
    }
    singles.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut out = Vec::new();
    let mut rescored = 0;
    for &(_, n, v) in &singles {
        if out.len() == MAX_RECOURSE || rescored == MAX_RESCORES {
            break;
        }
        let l = levers[n].0;
        rescored += 1;
        let (pd, ok) = s.rescore(&[(l.index, v)])?;
        if ok {
            out.push(Recourse {
                changes: vec![Change {
                    feature: l.def.name.to_owned(),
                    from: l.from,
                    to: v,
                }],
                probability_of_default: pd.value(),
                statement: statement(&[condition(&l, &levers[n].1, v)]),
            });
        }
    }
    if !out.is_empty() {
        return Ok(out);
    }
    // Two inputs: for each pair, the cell with the smallest sum of relative changes such that
    // it and every cell beyond it in both directions are approved.
    let mut pairs: Vec<(f64, usize, usize, f64, f64)> = Vec::new();
    for p in 0..levers.len() {
        for q in p + 1..levers.len() {
            let ((lp, cp), (lq, cq)) = (&levers[p], &levers[q]);
            let margins = s.grid((lp.feature, &cp.all), Some((lq.feature, &cq.all)))?;
            let (np, nq) = (cp.all.len(), cq.all.len());
            // ok[i][j] (row-major, one spare row and column of `true`): the cell and every
            // cell beyond it in both directions are approved.
            let w = nq + 1;
            let mut ok = vec![true; (np + 1) * w];
            for i in (0..np).rev() {
                let (ai, ti) = policy_view(lp, cp.all[i], (amount, term));
                for j in (0..nq).rev() {
                    let (a, t) = policy_view(lq, cq.all[j], (ai, ti));
                    ok[i * w + j] = s.approves_margin_by(margins.at(i, j), GUARD, a, t)
                        && ok[i * w + j + 1]
                        && ok[(i + 1) * w + j];
                }
            }
            let mut best: Option<(f64, f64, f64)> = None;
            for &i in &cp.nice_at {
                for &j in &cq.nice_at {
                    if !ok[i * w + j] {
                        continue;
                    }
                    let (vp, vq) = (cp.all[i], cq.all[j]);
                    let cost = (vp - lp.from).abs() / cp.span.max(f64::MIN_POSITIVE)
                        + (vq - lq.from).abs() / cq.span.max(f64::MIN_POSITIVE);
                    if best.is_none_or(|b| cost < b.0) {
                        best = Some((cost, vp, vq));
                    }
                }
            }
            if let Some((cost, vp, vq)) = best {
                pairs.push((cost, p, q, vp, vq));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    for &(_, p, q, vp, vq) in &pairs {
        if out.len() == MAX_RECOURSE || rescored == MAX_RESCORES {
            break;
        }
        let (lp, lq) = (levers[p].0, levers[q].0);
        rescored += 1;
        let (pd, ok) = s.rescore(&[(lp.index, vp), (lq.index, vq)])?;
        if ok {
            out.push(Recourse {
                changes: vec![
                    Change {
                        feature: lp.def.name.to_owned(),
                        from: lp.from,
                        to: vp,
                    },
                    Change {
                        feature: lq.def.name.to_owned(),
                        from: lq.from,
                        to: vq,
                    },
                ],
                probability_of_default: pd.value(),
                statement: statement(&[
                    condition(&lp, &levers[p].1, vp),
                    condition(&lq, &levers[q].1, vq),
                ]),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
