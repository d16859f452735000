//! Synthetic thin-file applicants with outcomes, from a documented generative process.
//!
//! Each applicant has a latent creditworthiness `c ~ N(0, 1)` that no column shows directly.
//! The observable alternative data depend on `c` (and on age and employment) with plausible
//! marginals, and the log-odds of default are a monotone function of the observables plus the
//! unobserved part of `c`:
//!
//! | column | process |
//! |---|---|
//! | age (→ `protected_age_band`) | 18 + Gamma(2, 9), at most 80 |
//! | `protected_gender` | female 49 %, male 49 %, non-binary 1 %, undisclosed 1 % |
//! | `employment_status` | full-time 45 %, part-time 15 %, self-employed 12 %, gig 14 %, unemployed 7 %, student 7 % (students mostly under 25) |
//! | `monthly_income` | log-normal; median by status (full-time 2,800 … unemployed 600) × e^(0.25c), σ = 0.4 |
//! | `income_verified` | Bernoulli: 0.8 employees, 0.45 self-employed / gig, 0.2 others |
//! | `employment_tenure_months` | missing when unemployed; log-normal, median 24·e^(0.3c), capped by working age |
//! | `employer_changes_24m` | Poisson(0.8·e^(−0.3c)), +1.5 for gig workers |
//! | `rent_on_time_ratio`, `utility_…`, `telecom_…` | missing 25 % / 15 % / 5 %; Beta with mean σ(2.2 + 0.9c), σ(2.5 + 0.8c), σ(2.8 + 0.7c) |
//! | `late_payments_12m` | Poisson(e^(0.2 − 0.8c)) |
//! | `payment_history_months` | log-normal, median 30, capped by age |
//! | `mobile_account_tenure_months`, `device_tenure_months` | missing 3 % / 10 %; log-normal, medians 36·e^(0.2c), 14 |
//! | `topup_regularity` | missing 35 % (post-paid); Beta with mean σ(1.2 + 0.6c) |
//! | `digital_txn_monthly` | missing 5 %; log-normal, median 25·e^(0.2c), more for the young |
//! | banking columns | all missing for the unbanked 12 %; tenure log-normal median 48·e^(0.2c); average balance = income × log-normal(median 0.35·e^(0.5c)); minimum balance below it; overdrafts Poisson(e^(−0.5 − 0.9c)); income volatility log-normal median 0.25·e^(−0.3c) (×1.8 gig / self-employed); savings rate N(0.05 + 0.06c, 0.1) in [−0.5, 0.6] |
//! | `loan_purpose` | emergency and debt consolidation likelier when c is low |
//! | `loan_amount`, `loan_term_months` | amount log-normal around 1,500·(income/2,000)^0.4, 500–5,000 in steps of 50; longer terms for larger amounts |
//!
//! Default: logit = a − 0.9c + 2.5·(instalment / income) + 0.25·late payments
//! + 0.15·overdrafts + 0.6·income volatility + 0.6·unemployed − 0.3·income verified
//! + purpose effects + N(0, 0.3), with `a` set so that about 13 % default.
//!
//! `drift K` (for drift tests) lowers income by 20 %·K, raises late payments and overdrafts
//! (×(1 + 0.8K), ×(1 + K)), lowers telecom on-time means, and raises loan amounts by 30 %·K.
//! `bias K` (for fairness tests) lowers the income of women by 15 %·K and adds 0.8·K to their
//! log-odds of default. Both are 0 by default; the same seed always gives the same rows.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Gamma, LogNormal, Normal, Poisson};

use crate::features::{EMPLOYMENT_STATUSES, INPUTS, LOAN_PURPOSES, PROTECTED, TARGET};
use crate::ModelError;

/// One generated cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Number(f64),
    Category(&'static str),
    Missing,
}

/// One applicant: the feature-set inputs (in [`INPUTS`] order), the protected attributes (in
/// [`PROTECTED`] order) and the outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Applicant {
    pub inputs: Vec<Cell>,
    pub protected: Vec<&'static str>,
    pub defaulted: bool,
}

impl Applicant {
    /// The row as CSV fields (empty = missing), in [`header`] order.
    pub fn to_fields(&self) -> Vec<String> {
        self.inputs
            .iter()
            .map(|c| match c {
                Cell::Number(x) => format_value(*x),
                Cell::Category(s) => (*s).to_owned(),
                Cell::Missing => String::new(),
            })
            .chain(self.protected.iter().map(|s| (*s).to_owned()))
            .chain(std::iter::once(
                if self.defaulted { "1" } else { "0" }.to_owned(),
            ))
            .collect()
    }

    pub fn input(&self, name: &str) -> Option<Cell> {
        INPUTS
            .iter()
            .position(|i| i.name == name)
            .map(|k| self.inputs[k])
    }
}

fn format_value(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

/// The CSV header of generated data.
pub fn header() -> Vec<String> {
    INPUTS
        .iter()
        .map(|i| i.name.to_owned())
        .chain(PROTECTED.iter().map(|(n, _)| format!("protected_{n}")))
        .chain(std::iter::once(TARGET.to_owned()))
        .collect()
}

/// Generator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub seed: u64,
    /// Distribution shift, 0 (none) to 3.
    pub drift: f64,
    /// Dependence on the protected group, 0 (none) to 3.
    pub bias: f64,
}

/// An endless, deterministic stream of applicants.
pub struct Generator {
    rng: ChaCha8Rng,
    drift: f64,
    bias: f64,
}

/// The intercept of the default log-odds, tuned for a default rate of about 13 %.
const INTERCEPT: f64 = -3.35;

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

impl Generator {
    pub fn new(s: Settings) -> Result<Self, ModelError> {
        for (name, v) in [("drift", s.drift), ("bias", s.bias)] {
            if !(0.0..=3.0).contains(&v) {
                return Err(ModelError::Invalid(format!(
                    "{name} must be between 0 and 3"
                )));
            }
        }
        Ok(Self {
            rng: ChaCha8Rng::seed_from_u64(s.seed),
            drift: s.drift,
            bias: s.bias,
        })
    }

    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        Normal::new(mean, sd).map_or(mean, |d| d.sample(&mut self.rng))
    }

    fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        LogNormal::new(median.max(1e-9).ln(), sigma).map_or(median, |d| d.sample(&mut self.rng))
    }

    fn beta_mean(&mut self, mean: f64, concentration: f64) -> f64 {
        let m = mean.clamp(0.01, 0.995);
        Beta::new(m * concentration, (1.0 - m) * concentration)
            .map_or(m, |d| d.sample(&mut self.rng))
    }

    fn poisson(&mut self, lambda: f64) -> f64 {
        Poisson::new(lambda.max(1e-6)).map_or(0.0, |d| d.sample(&mut self.rng))
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    fn pick<T: Copy>(&mut self, options: &[(T, f64)]) -> T {
        let total: f64 = options.iter().map(|o| o.1).sum();
        let mut u = self.rng.gen::<f64>() * total;
        for &(v, w) in options {
            if u < w {
                return v;
            }
            u -= w;
        }
        options[options.len() - 1].0
    }

    pub fn applicant(&mut self) -> Applicant {
        let c = self.normal(0.0, 1.0);
        let age: f64 =
            (18.0 + Gamma::new(2.0f64, 9.0).map_or(20.0, |g| g.sample(&mut self.rng))).min(80.0);
        let gender = self.pick(&[
            ("female", 49.0),
            ("male", 49.0),
            ("nonbinary", 1.0),
            ("undisclosed", 1.0),
        ]);
        let female = gender == "female";
        let young = age < 25.0;
        let status = self.pick(&[
            ("full_time", 45.0),
            ("part_time", 15.0),
            ("self_employed", 12.0),
            ("gig", 14.0),
            ("unemployed", 7.0),
            ("student", if young { 25.0 } else { 2.0 }),
        ]);
        debug_assert!(EMPLOYMENT_STATUSES.contains(&status));
        let median_income = match status {
            "full_time" => 2800.0,
            "part_time" => 1500.0,
            "self_employed" => 2600.0,
            "gig" => 1700.0,
            "unemployed" => 600.0,
            _ => 800.0,
        };
        let mut income = self.lognormal(median_income * (0.25 * c).exp(), 0.4);
        income *= 1.0 - 0.2 * self.drift;
        if female {
            income *= 1.0 - 0.15 * self.bias;
        }
        income = (income / 10.0).round() * 10.0;
        let verified_p = match status {
            "full_time" | "part_time" => 0.8,
            "self_employed" | "gig" => 0.45,
            _ => 0.2,
        };
        let verified = self.chance(verified_p);
        let working_months = ((age - 16.0) * 12.0).max(1.0);
        let tenure = if status == "unemployed" {
            None
        } else {
            Some(
                self.lognormal(24.0 * (0.3 * c).exp(), 0.8)
                    .min(working_months)
                    .round(),
            )
        };
        let changes = self
            .poisson(0.8 * (-0.3 * c).exp() + if status == "gig" { 1.5 } else { 0.0 })
            .min(24.0);

        let rent = (!self.chance(0.25)).then(|| self.beta_mean(sigmoid(2.2 + 0.9 * c), 20.0));
        let utility = (!self.chance(0.15)).then(|| self.beta_mean(sigmoid(2.5 + 0.8 * c), 20.0));
        let telecom_shift = 0.6 * self.drift;
        let telecom = (!self.chance(0.05))
            .then(|| self.beta_mean(sigmoid(2.8 + 0.7 * c - telecom_shift), 20.0));
        let late = self
            .poisson((0.2 - 0.8 * c).exp() * (1.0 + 0.8 * self.drift))
            .min(100.0);
        let history = self
            .lognormal(30.0, 0.7)
            .min(((age - 18.0) * 12.0).max(1.0))
            .round();

        let mobile = (!self.chance(0.03)).then(|| {
            self.lognormal(36.0 * (0.2 * c).exp(), 0.7)
                .min(working_months)
                .round()
        });
        let device = (!self.chance(0.10)).then(|| self.lognormal(14.0, 0.6).min(240.0).round());
        let topup = (!self.chance(0.35)).then(|| self.beta_mean(sigmoid(1.2 + 0.6 * c), 10.0));
        let digital = (!self.chance(0.05)).then(|| {
            self.lognormal(25.0 * (0.2 * c).exp() * if young { 1.4 } else { 1.0 }, 0.6)
                .round()
        });

        let banked = !self.chance(0.12);
        let (bank_tenure, avg_balance, min_balance, overdrafts, volatility, savings) = if banked {
            let tenure = self
                .lognormal(48.0 * (0.2 * c).exp(), 0.8)
                .min(((age - 16.0) * 12.0).max(1.0))
                .round();
            let avg = income * self.lognormal(0.35 * (0.5 * c).exp(), 0.6);
            let overdrafts = self
                .poisson((-0.5 - 0.9 * c).exp() * (1.0 + self.drift))
                .min(100.0);
            let min = avg * self.rng.gen_range(-0.3..0.6) - 40.0 * overdrafts;
            let irregular = matches!(status, "gig" | "self_employed");
            let vol = (self.lognormal(0.25 * (-0.3 * c).exp(), 0.5)
                * if irregular { 1.8 } else { 1.0 })
            .min(5.0);
            let savings = self.normal(0.05 + 0.06 * c, 0.1).clamp(-0.5, 0.6);
            (
                Some(tenure),
                Some((avg * 100.0).round() / 100.0),
                Some((min * 100.0).round() / 100.0),
                Some(overdrafts),
                Some(vol),
                Some(savings),
            )
        } else {
            (None, None, None, None, None, None)
        };

        let distress = c < -0.5;
        let purpose = self.pick(&[
            ("education", 12.0),
            ("medical", 10.0),
            ("business", 10.0),
            ("vehicle", 14.0),
            ("home_improvement", 12.0),
            ("debt_consolidation", if distress { 22.0 } else { 12.0 }),
            ("emergency", if distress { 20.0 } else { 10.0 }),
            ("other", 10.0),
        ]);
        debug_assert!(LOAN_PURPOSES.contains(&purpose));
        let amount = (self.lognormal(1500.0 * (income.max(100.0) / 2000.0).powf(0.4), 0.5)
            * (1.0 + 0.3 * self.drift))
            .clamp(500.0, 5000.0);
        let amount = (amount / 50.0).round() * 50.0;
        let term = if amount <= 1000.0 {
            self.pick(&[(3.0, 2.0), (6.0, 3.0), (9.0, 2.0), (12.0, 3.0)])
        } else if amount <= 2500.0 {
            self.pick(&[(6.0, 1.0), (12.0, 3.0), (18.0, 2.0), (24.0, 2.0)])
        } else {
            self.pick(&[(12.0, 1.0), (18.0, 2.0), (24.0, 3.0), (36.0, 2.0)])
        };

        let instalment_ratio = (amount / term) / income.max(100.0);
        let purpose_effect = match purpose {
            "emergency" => 0.35,
            "debt_consolidation" => 0.3,
            "business" => 0.15,
            "education" => -0.1,
            "home_improvement" => -0.15,
            _ => 0.0,
        };
        let logit = INTERCEPT - 0.9 * c
            + 2.5 * instalment_ratio.min(3.0)
            + 0.25 * late.min(12.0)
            + 0.15 * overdrafts.unwrap_or(1.0).min(12.0)
            + 0.6 * volatility.unwrap_or(0.4)
            + if status == "unemployed" { 0.6 } else { 0.0 }
            - if verified { 0.3 } else { 0.0 }
            + purpose_effect
            + if female { 0.8 * self.bias } else { 0.0 }
            + self.normal(0.0, 0.3);
        let defaulted = self.chance(sigmoid(logit));

        let age_band = match age {
            a if a < 25.0 => "18-24",
            a if a < 35.0 => "25-34",
            a if a < 50.0 => "35-49",
            a if a < 65.0 => "50-64",
            _ => "65+",
        };
        let n = |x: f64| Cell::Number(x);
        let opt = |x: Option<f64>| {
            x.map_or(Cell::Missing, |v| {
                Cell::Number((v * 10_000.0).round() / 10_000.0)
            })
        };
        let inputs = vec![
            n(amount),
            n(term),
            Cell::Category(purpose),
            n(income),
            Cell::Category(status),
            opt(tenure),
            n(changes),
            n(if verified { 1.0 } else { 0.0 }),
            opt(rent),
            opt(utility),
            opt(telecom),
            n(late),
            n(history),
            opt(mobile),
            opt(device),
            opt(topup),
            opt(digital),
            opt(bank_tenure),
            opt(avg_balance),
            opt(min_balance),
            opt(overdrafts),
            opt(volatility),
            opt(savings),
        ];
        debug_assert_eq!(inputs.len(), INPUTS.len());
        Applicant {
            inputs,
            protected: vec![gender, age_band],
            defaulted,
        }
    }
}

impl Iterator for Generator {
    type Item = Applicant;
    fn next(&mut self) -> Option<Applicant> {
        Some(self.applicant())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::INPUTS;

    fn rows(seed: u64, drift: f64, bias: f64, n: usize) -> Vec<Applicant> {
        Generator::new(Settings { seed, drift, bias })
            .unwrap()
            .take(n)
            .collect()
    }

    fn mean(rows: &[Applicant], name: &str) -> f64 {
        let v: Vec<f64> = rows
            .iter()
            .filter_map(|r| match r.input(name) {
                Some(Cell::Number(x)) => Some(x),
                _ => None,
            })
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        assert_eq!(rows(1, 0.0, 0.0, 200), rows(1, 0.0, 0.0, 200));
        assert_ne!(rows(1, 0.0, 0.0, 200), rows(2, 0.0, 0.0, 200));
    }

    #[test]
    fn default_rate_is_plausible_and_values_respect_the_feature_bounds() {
        let data = rows(42, 0.0, 0.0, 20_000);
        let rate = data.iter().filter(|r| r.defaulted).count() as f64 / data.len() as f64;
        assert!((0.08..=0.20).contains(&rate), "default rate {rate}");
        for r in &data {
            for (cell, input) in r.inputs.iter().zip(INPUTS) {
                match (cell, input.categories) {
                    (Cell::Number(x), None) => {
                        assert!(
                            x.is_finite() && *x >= input.min && *x <= input.max,
                            "{} = {x}",
                            input.name
                        );
                    }
                    (Cell::Category(c), Some(cats)) => assert!(cats.contains(c), "{}", input.name),
                    (Cell::Missing, None) => assert!(input.optional, "{} missing", input.name),
                    other => panic!("{}: {other:?}", input.name),
                }
            }
        }
    }

    #[test]
    fn risk_relations_are_monotone() {
        let data = rows(3, 0.0, 0.0, 20_000);
        let rate = |pred: &dyn Fn(&Applicant) -> bool| {
            let sel: Vec<_> = data.iter().filter(|r| pred(r)).collect();
            sel.iter().filter(|r| r.defaulted).count() as f64 / sel.len() as f64
        };
        let late = |r: &Applicant| matches!(r.input("late_payments_12m"), Some(Cell::Number(x)) if x >= 3.0);
        assert!(rate(&late) > 2.0 * rate(&|r: &Applicant| !late(r)));
        let telecom_good = |r: &Applicant| matches!(r.input("telecom_on_time_ratio"), Some(Cell::Number(x)) if x > 0.95);
        let telecom_bad = |r: &Applicant| matches!(r.input("telecom_on_time_ratio"), Some(Cell::Number(x)) if x < 0.8);
        assert!(rate(&telecom_bad) > rate(&telecom_good));
    }

    #[test]
    fn drift_and_bias_shift_what_they_say() {
        let base = rows(5, 0.0, 0.0, 10_000);
        let drifted = rows(5, 1.0, 0.0, 10_000);
        assert!(mean(&drifted, "monthly_income") < 0.9 * mean(&base, "monthly_income"));
        assert!(mean(&drifted, "late_payments_12m") > 1.3 * mean(&base, "late_payments_12m"));
        let biased = rows(5, 0.0, 2.0, 20_000);
        let group_rate = |rows: &[Applicant], g: &str| {
            let sel: Vec<_> = rows.iter().filter(|r| r.protected[0] == g).collect();
            sel.iter().filter(|r| r.defaulted).count() as f64 / sel.len() as f64
        };
        let gap_base = (group_rate(&base, "female") - group_rate(&base, "male")).abs();
        let gap_biased = group_rate(&biased, "female") - group_rate(&biased, "male");
        assert!(gap_base < 0.03, "{gap_base}");
        assert!(gap_biased > 0.1, "{gap_biased}");
        assert!(Generator::new(Settings {
            seed: 1,
            drift: 4.0,
            bias: 0.0
        })
        .is_err());
    }

    #[test]
    fn rows_match_the_header() {
        let r = rows(9, 0.0, 0.0, 1).remove(0);
        assert_eq!(r.to_fields().len(), header().len());
        assert_eq!(header().last().map(String::as_str), Some("defaulted"));
        assert!(header().iter().any(|h| h == "protected_gender"));
    }
}
