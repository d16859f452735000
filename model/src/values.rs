//! Validated values that cross module boundaries.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The numeric input of a model, in the model's feature order. Missing values are NaN, which
/// XGBoost (and [`crate::GbtModel`]) route along each split's default direction. Values are
/// `f32` because that is the precision XGBoost compares splits in.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureVector(Vec<f32>);

impl FeatureVector {
    /// Wraps raw values. Infinite values are refused (NaN is the only "no value").
    pub fn new(values: Vec<f32>) -> Result<Self, ModelError> {
        if let Some(i) = values.iter().position(|v| v.is_infinite()) {
            return Err(ModelError::Invalid(format!("feature {i} is infinite")));
        }
        Ok(Self(values))
    }

    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A probability in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Probability(f64);

impl Probability {
    pub fn new(p: f64) -> Result<Self, ModelError> {
        if (0.0..=1.0).contains(&p) {
            Ok(Self(p))
        } else {
            Err(ModelError::Invalid(format!("{p} is not a probability")))
        }
    }

    pub fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Probability {
    type Error = ModelError;
    fn try_from(p: f64) -> Result<Self, Self::Error> {
        Self::new(p)
    }
}

impl From<Probability> for f64 {
    fn from(p: Probability) -> f64 {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probabilities_are_bounded() {
        assert!(Probability::new(0.5).is_ok());
        assert!(Probability::new(-0.1).is_err());
        assert!(Probability::new(1.1).is_err());
        assert!(Probability::new(f64::NAN).is_err());
    }

    #[test]
    fn feature_vectors_allow_nan_but_not_infinity() {
        assert!(FeatureVector::new(vec![1.0, f32::NAN]).is_ok());
        assert!(FeatureVector::new(vec![f32::INFINITY]).is_err());
    }
}
