//! The job's settings: how it picks its windows and when it alerts.

use serde::{Deserialize, Serialize};

use crate::Services;

/// How the job picks its windows and when it alerts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonitoringSettings {
    /// Decisions in the current window (and at most in the reference).
    pub window: usize,
    /// Fewest decisions on each side for drift to be computed.
    pub min_rows: usize,
    /// Groups smaller than this are listed but raise no fairness alert.
    pub min_group_members: usize,
    /// Fewest labelled decisions with both outcomes for realized performance.
    pub min_labelled: usize,
    /// A version's realized AUC this far below its test AUC raises an alert.
    pub auc_drop_alert: f64,
    /// Most labelled decisions read for realized performance.
    pub max_labelled: u64,
    /// Seconds between scheduled runs (0: off); the server's scheduler uses it.
    pub interval_secs: u64,
    /// Largest chunk of decisions per estimate of performance before outcomes (smaller when
    /// the reference is too small to give four chunks of this size).
    pub estimate_chunk: usize,
    /// Newest decisions read for the estimates.
    pub estimate_rows: u64,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        Self {
            window: 2000,
            min_rows: 50,
            min_group_members: 30,
            min_labelled: 20,
            auc_drop_alert: 0.05,
            max_labelled: 50_000,
            interval_secs: 3600,
            estimate_chunk: 500,
            estimate_rows: 20_000,
        }
    }
}

impl Services {
    pub fn monitoring_settings(&self) -> MonitoringSettings {
        self.inner.monitoring.read().map(|s| *s).unwrap_or_default()
    }

    pub fn set_monitoring_settings(&self, settings: MonitoringSettings) {
        if let Ok(mut s) = self.inner.monitoring.write() {
            *s = settings;
        }
    }
}
