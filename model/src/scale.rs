//! Points scaling by the PDO method, and risk bands.
//!
//! factor = PDO / ln 2; offset = base_points − factor · ln(base_odds);
//! score = offset + factor · ln(odds of good), odds of good = (1 − PD) / PD.

use serde::{Deserialize, Serialize};

use crate::values::Probability;
use crate::ModelError;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PointsScale {
    /// Score at `base_odds` (good:bad).
    pub base_points: f64,
    pub base_odds: f64,
    /// Points that double the odds of good.
    pub pdo: f64,
}

impl Default for PointsScale {
    /// 600 points at 50:1 good:bad, 20 points to double the odds.
    fn default() -> Self {
        Self {
            base_points: 600.0,
            base_odds: 50.0,
            pdo: 20.0,
        }
    }
}

impl PointsScale {
    pub fn new(base_points: f64, base_odds: f64, pdo: f64) -> Result<Self, ModelError> {
        if !(base_points.is_finite()
            && base_odds > 0.0
            && base_odds.is_finite()
            && pdo > 0.0
            && pdo.is_finite())
        {
            return Err(ModelError::Invalid(
                "points scale needs finite base points, positive base odds and PDO".into(),
            ));
        }
        Ok(Self {
            base_points,
            base_odds,
            pdo,
        })
    }

    pub fn factor(&self) -> f64 {
        self.pdo / std::f64::consts::LN_2
    }

    pub fn offset(&self) -> f64 {
        self.base_points - self.factor() * self.base_odds.ln()
    }

    /// The score of a probability of default, rounded to whole points. PDs are clipped to
    /// [1e-6, 1 − 1e-6] so that certain outcomes still get a finite score.
    pub fn score(&self, pd: Probability) -> i64 {
        let p = pd.value().clamp(1e-6, 1.0 - 1e-6);
        (self.offset() + self.factor() * ((1.0 - p) / p).ln()).round() as i64
    }
}

/// Risk bands by probability of default: the first band whose upper bound exceeds the PD.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskBands {
    bands: Vec<(String, f64)>,
}

impl Default for RiskBands {
    fn default() -> Self {
        Self {
            bands: vec![
                ("A".into(), 0.03),
                ("B".into(), 0.06),
                ("C".into(), 0.12),
                ("D".into(), 0.25),
                ("E".into(), f64::INFINITY),
            ],
        }
    }
}

impl RiskBands {
    /// Bands as (label, upper PD bound), bounds strictly increasing, the last unbounded.
    pub fn new(bands: Vec<(String, f64)>) -> Result<Self, ModelError> {
        if bands.is_empty() || bands.windows(2).any(|w| w[0].1 >= w[1].1) {
            return Err(ModelError::Invalid("band bounds must increase".into()));
        }
        if bands.last().is_some_and(|b| b.1 <= 1.0) {
            return Err(ModelError::Invalid(
                "the last band must cover PD up to 1".into(),
            ));
        }
        Ok(Self { bands })
    }

    pub fn band(&self, pd: Probability) -> &str {
        self.bands
            .iter()
            .find(|(_, upper)| pd.value() < *upper)
            .or(self.bands.last())
            .map_or("?", |(label, _)| label.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pd(p: f64) -> Probability {
        Probability::new(p).unwrap()
    }

    #[test]
    fn base_odds_give_base_points_and_pdo_doubles() {
        let s = PointsScale::default();
        // 50:1 good:bad → PD = 1/51.
        assert_eq!(s.score(pd(1.0 / 51.0)), 600);
        // 100:1 → 620.
        assert_eq!(s.score(pd(1.0 / 101.0)), 620);
        // 25:1 → 580.
        assert_eq!(s.score(pd(1.0 / 26.0)), 580);
        assert!(s.score(pd(0.0)) > s.score(pd(0.5)));
        assert!(PointsScale::new(600.0, 0.0, 20.0).is_err());
    }

    #[test]
    fn bands_follow_pd() {
        let b = RiskBands::default();
        assert_eq!(b.band(pd(0.01)), "A");
        assert_eq!(b.band(pd(0.03)), "B");
        assert_eq!(b.band(pd(0.2)), "D");
        assert_eq!(b.band(pd(1.0)), "E");
        assert!(RiskBands::new(vec![("A".into(), 0.5), ("B".into(), 0.4)]).is_err());
    }
}
