//! The monitoring job: data drift of every input between a reference window and the current
//! window of scored applications, prediction drift of the probability of default, fairness of
//! the recommendations per protected attribute, realized performance per model version and
//! period once outcomes exist, performance estimated before outcomes (CBPE) per version, and
//! the alerts they raise. Each run is stored (append-only)
//! and its figures are exported as Prometheus gauges. The scheduler in the server and the
//! monitoring page's button both call [`Services::run_monitoring`].
//!
//! Windows: the current window is the newest `window` decisions (at most half of all
//! decisions); the reference is the earliest decisions served by the current champion version
//! (its launch window, up to `window`) that are not in the current window.
//!
//! Layout: `settings` (the job's settings), `report` (what a run produces and stores),
//! `windows` (the decisions and outcomes the job reads), `drift`, `fairness`, `performance`
//! and `estimated` (the figures), `alerts` (what raises an alert), `job` (one run), `store` (stored runs),
//! `gauges` (Prometheus) and `views` (the monitoring page).
//!
//! [`Services::run_monitoring`]: crate::Services::run_monitoring

mod alerts;
mod drift;
mod estimated;
mod fairness;
mod gauges;
mod job;
mod performance;
mod report;
mod settings;
mod store;
mod views;
mod windows;

pub use report::{
    Alert, AttributeFairness, EstimatedChunk, EstimatedVersion, MonitoringReport, PerformanceRow,
    Window,
};
pub use settings::MonitoringSettings;
pub use store::RunSummary;
