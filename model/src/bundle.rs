//! A scoring model: the trees and the schema that encodes their input, checked against
//! each other. This is what the service loads and what the batch CLIs use.

use crate::gbt::Prediction;
use crate::schema::{FeatureSchema, RawValue};
use crate::shap::Explanation;
use crate::values::{FeatureVector, Probability};
use crate::{GbtModel, ModelError};

#[derive(Debug, Clone)]
pub struct ModelBundle {
    model: GbtModel,
    schema: FeatureSchema,
}

impl ModelBundle {
    /// Parses `model.json` (XGBoost) and `schema.json` and checks that they agree.
    pub fn from_json(model_json: &[u8], schema_json: &[u8]) -> Result<Self, ModelError> {
        let model = GbtModel::from_json(model_json)?;
        let schema: FeatureSchema = serde_json::from_slice(schema_json)
            .map_err(|e| ModelError::Schema(format!("schema.json: {e}")))?;
        Self::new(model, schema)
    }

    pub fn new(model: GbtModel, schema: FeatureSchema) -> Result<Self, ModelError> {
        schema.check_model(&model)?;
        Ok(Self { model, schema })
    }

    pub fn model(&self) -> &GbtModel {
        &self.model
    }

    pub fn schema(&self) -> &FeatureSchema {
        &self.schema
    }

    pub fn encode<'a>(
        &self,
        value: impl Fn(&str) -> RawValue<'a>,
    ) -> Result<FeatureVector, ModelError> {
        self.schema.encode(value)
    }

    /// The probability of default of a row (see [`ModelBundle::prediction`] to explain it
    /// afterwards).
    pub fn predict(&self, x: &FeatureVector) -> Result<Probability, ModelError> {
        self.model.predict_proba(x)
    }

    pub fn explain(&self, x: &FeatureVector) -> Result<Explanation, ModelError> {
        self.model.explain(x)
    }

    /// The prediction of a row, to explain afterwards without walking the trees again.
    pub fn prediction(&self, x: &FeatureVector) -> Result<Prediction, ModelError> {
        self.model.prediction(x)
    }

    /// Explains a row [`ModelBundle::prediction`] predicted.
    pub fn explain_predicted(
        &self,
        x: &FeatureVector,
        prediction: Prediction,
    ) -> Result<Explanation, ModelError> {
        self.model.explain_predicted(x, prediction)
    }
}
