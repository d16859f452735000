//! Configuration: built-in defaults, then an optional TOML file, then environment variables.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::ServerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Minutes of inactivity after which a session ends.
    pub idle_timeout_minutes: u32,
    /// Hours after sign-in after which a session ends regardless of activity.
    pub absolute_timeout_hours: u32,
    /// Mark the cookie `Secure` (and use the `__Host-` prefix). Turn on behind TLS.
    pub secure_cookies: bool,
    /// Failed sign-ins allowed per account and per client address per hour.
    pub max_failed_logins_per_hour: u32,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout_minutes: 30,
            absolute_timeout_hours: 12,
            secure_cookies: false,
            max_failed_logins_per_hour: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://path` or `postgres://user@host/db`.
    pub database_url: String,
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    /// Folder with the compiled browser assets (`pkg/`), as written by `scripts/build.sh`.
    pub site_root: PathBuf,
    /// Seconds before a request is abandoned with 408.
    pub request_timeout_secs: u64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Use the last `X-Forwarded-For` address (the one the trusted proxy appended) as the client
    /// address.
    pub trust_forwarded_for: bool,
    pub session: SessionConfig,
    /// The base training data for retraining (a CSV with the Lendscope inputs and the
    /// `defaulted` target). Unset: the generated data the demo champion was trained on.
    pub retrain_base_data: Option<PathBuf>,
    /// Seconds between scheduled monitoring runs (0: only runs started from the page).
    pub monitoring_interval_secs: u64,
    /// Decisions in the monitoring job's current window.
    pub monitoring_window: usize,
    /// Applications scored at once; more wait for a slot (see `scoring_queue_ms`), then are
    /// answered 503 with `Retry-After` (load shedding).
    pub max_concurrent_scoring: usize,
    /// Milliseconds an application beyond `max_concurrent_scoring` waits for a slot, in
    /// arrival order, before it is answered 503 (0: at once).
    pub scoring_queue_ms: u64,
    /// The Ed25519 key (a file holding the 32-byte seed in hex; `lendscope audit keygen`)
    /// that signs checkpoints of the hash chains. Never stored in the database.
    pub checkpoint_key: Option<PathBuf>,
    /// Where signed checkpoints are written (outside the database: another disk or host).
    pub checkpoint_dir: Option<PathBuf>,
    /// How often the server writes a checkpoint when the decision chain moved (0: only by
    /// `lendscope audit checkpoint`).
    pub checkpoint_interval_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: lendscope_service::db::DEFAULT_DATABASE_URL.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 3000)),
            log_format: LogFormat::Pretty,
            site_root: PathBuf::from("target/site"),
            request_timeout_secs: 30,
            max_body_bytes: 1024 * 1024,
            trust_forwarded_for: false,
            session: SessionConfig::default(),
            retrain_base_data: None,
            monitoring_interval_secs: 3600,
            monitoring_window: 2000,
            max_concurrent_scoring: 64,
            scoring_queue_ms: 50,
            checkpoint_key: None,
            checkpoint_dir: None,
            checkpoint_interval_secs: 3600,
        }
    }
}

/// The environment variables read, in the order documented in the README.
pub const ENV_VARS: &[&str] = &[
    "DATABASE_URL",
    "LENDSCOPE_LISTEN",
    "LENDSCOPE_LOG_FORMAT",
    "LENDSCOPE_SITE_ROOT",
    "LENDSCOPE_REQUEST_TIMEOUT_SECS",
    "LENDSCOPE_MAX_BODY_BYTES",
    "LENDSCOPE_TRUST_FORWARDED_FOR",
    "LENDSCOPE_SESSION_IDLE_MINUTES",
    "LENDSCOPE_SESSION_ABSOLUTE_HOURS",
    "LENDSCOPE_COOKIE_SECURE",
    "LENDSCOPE_MAX_FAILED_LOGINS_PER_HOUR",
    "LENDSCOPE_RETRAIN_BASE_DATA",
    "LENDSCOPE_MONITORING_INTERVAL_SECS",
    "LENDSCOPE_MONITORING_WINDOW",
    "LENDSCOPE_MAX_CONCURRENT_SCORING",
    "LENDSCOPE_SCORING_QUEUE_MS",
    "LENDSCOPE_CHECKPOINT_KEY",
    "LENDSCOPE_CHECKPOINT_DIR",
    "LENDSCOPE_CHECKPOINT_INTERVAL_SECS",
];

impl Config {
    /// Loads the configuration: defaults, then `file` (or `lendscope.toml` when it exists and
    /// no file is named), then the process environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ServerError> {
        let mut config = match file {
            Some(path) => Self::from_file(path)?,
            None if Path::new("lendscope.toml").exists() => {
                Self::from_file(Path::new("lendscope.toml"))?
            }
            None => Self::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Self, ServerError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServerError::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| ServerError::Config(format!("{}: {e}", path.display())))
    }

    /// Applies overrides from a variable lookup (the environment, or a map in tests).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ServerError> {
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ServerError>
        where
            T::Err: std::fmt::Display,
        {
            value
                .trim()
                .parse()
                .map_err(|e| ServerError::Config(format!("{name}={value:?}: {e}")))
        }
        fn flag(name: &str, value: &str) -> Result<bool, ServerError> {
            match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(ServerError::Config(format!(
                    "{name}={value:?}: expected true or false"
                ))),
            }
        }
        for name in ENV_VARS {
            let Some(value) = var(name) else { continue };
            match *name {
                "DATABASE_URL" => self.database_url = value,
                "LENDSCOPE_RETRAIN_BASE_DATA" => {
                    self.retrain_base_data = Some(PathBuf::from(value.trim()));
                }
                "LENDSCOPE_LISTEN" => self.listen = parse(name, &value)?,
                "LENDSCOPE_LOG_FORMAT" => {
                    self.log_format = match value.trim() {
                        "pretty" => LogFormat::Pretty,
                        "json" => LogFormat::Json,
                        _ => {
                            return Err(ServerError::Config(format!(
                                "{name}={value:?}: expected pretty or json"
                            )))
                        }
                    }
                }
                "LENDSCOPE_SITE_ROOT" => self.site_root = PathBuf::from(value),
                "LENDSCOPE_REQUEST_TIMEOUT_SECS" => {
                    self.request_timeout_secs = parse(name, &value)?;
                }
                "LENDSCOPE_MAX_BODY_BYTES" => self.max_body_bytes = parse(name, &value)?,
                "LENDSCOPE_MONITORING_INTERVAL_SECS" => {
                    self.monitoring_interval_secs = parse(name, &value)?;
                }
                "LENDSCOPE_MONITORING_WINDOW" => self.monitoring_window = parse(name, &value)?,
                "LENDSCOPE_CHECKPOINT_KEY" => {
                    self.checkpoint_key = Some(PathBuf::from(value.trim()));
                }
                "LENDSCOPE_CHECKPOINT_DIR" => {
                    self.checkpoint_dir = Some(PathBuf::from(value.trim()));
                }
                "LENDSCOPE_CHECKPOINT_INTERVAL_SECS" => {
                    self.checkpoint_interval_secs = parse(name, &value)?;
                }
                "LENDSCOPE_MAX_CONCURRENT_SCORING" => {
                    self.max_concurrent_scoring = parse(name, &value)?;
                }
                "LENDSCOPE_SCORING_QUEUE_MS" => self.scoring_queue_ms = parse(name, &value)?,
                "LENDSCOPE_TRUST_FORWARDED_FOR" => self.trust_forwarded_for = flag(name, &value)?,
                "LENDSCOPE_SESSION_IDLE_MINUTES" => {
                    self.session.idle_timeout_minutes = parse(name, &value)?;
                }
                "LENDSCOPE_SESSION_ABSOLUTE_HOURS" => {
                    self.session.absolute_timeout_hours = parse(name, &value)?;
                }
                "LENDSCOPE_COOKIE_SECURE" => self.session.secure_cookies = flag(name, &value)?,
                "LENDSCOPE_MAX_FAILED_LOGINS_PER_HOUR" => {
                    self.session.max_failed_logins_per_hour = parse(name, &value)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub fn validate(&self) -> Result<(), ServerError> {
        let s = &self.session;
        let bad = |m: &str| Err(ServerError::Config(m.to_owned()));
        if s.idle_timeout_minutes == 0 || s.absolute_timeout_hours == 0 {
            return bad("session timeouts must be positive");
        }
        if u64::from(s.idle_timeout_minutes) > u64::from(s.absolute_timeout_hours) * 60 {
            return bad("the idle timeout cannot exceed the absolute timeout");
        }
        if s.max_failed_logins_per_hour == 0 || s.max_failed_logins_per_hour > 100 {
            return bad("max_failed_logins_per_hour must be between 1 and 100");
        }
        if self.request_timeout_secs == 0 {
            return bad("request_timeout_secs must be positive");
        }
        if self.scoring_queue_ms >= self.request_timeout_secs.saturating_mul(1000) {
            // The wait is outside the request time-out: it must end well before it.
            return bad("scoring_queue_ms must be below request_timeout_secs");
        }
        if self.max_body_bytes < 1024 {
            return bad("max_body_bytes must be at least 1024");
        }
        Ok(())
    }

    pub fn auth_settings(&self) -> lendscope_service::AuthSettings {
        lendscope_service::AuthSettings {
            idle_timeout: chrono::Duration::minutes(i64::from(self.session.idle_timeout_minutes)),
            absolute_timeout: chrono::Duration::hours(i64::from(
                self.session.absolute_timeout_hours,
            )),
            max_failures_per_hour: u64::from(self.session.max_failed_logins_per_hour),
        }
    }

    pub fn cookie_policy(&self) -> lendscope_service::CookiePolicy {
        lendscope_service::CookiePolicy {
            secure: self.session.secure_cookies,
            max_age_secs: i64::from(self.session.absolute_timeout_hours) * 3600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn environment_overrides_defaults() {
        let env: HashMap<&str, &str> = [
            ("DATABASE_URL", "postgres://u@h/db"),
            ("LENDSCOPE_LISTEN", "0.0.0.0:8080"),
            ("LENDSCOPE_LOG_FORMAT", "json"),
            ("LENDSCOPE_SESSION_IDLE_MINUTES", "15"),
            ("LENDSCOPE_COOKIE_SECURE", "true"),
        ]
        .into_iter()
        .collect();
        let mut c = Config::default();
        c.apply_env(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.database_url, "postgres://u@h/db");
        assert_eq!(c.listen.port(), 8080);
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.session.idle_timeout_minutes, 15);
        assert!(c.session.secure_cookies);
        c.validate().unwrap();
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "LENDSCOPE_LISTEN").then(|| "nowhere".to_owned()))
            .unwrap_err();
        assert!(err.to_string().contains("LENDSCOPE_LISTEN"), "{err}");
    }

    #[test]
    fn files_reject_unknown_keys() {
        let err = toml::from_str::<Config>("databse_url = 'x'").unwrap_err();
        assert!(err.to_string().contains("databse_url"), "{err}");
        let ok: Config = toml::from_str("[session]\nidle_timeout_minutes = 5\n").unwrap();
        assert_eq!(ok.session.idle_timeout_minutes, 5);
        assert_eq!(ok.session.absolute_timeout_hours, 12);
    }

    #[test]
    fn throttling_cannot_exceed_the_asvs_bound() {
        let mut c = Config::default();
        c.session.max_failed_logins_per_hour = 1000;
        assert!(c.validate().is_err());
    }

    #[test]
    fn the_scoring_wait_must_end_before_the_request_time_out() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "LENDSCOPE_SCORING_QUEUE_MS").then(|| "0".to_owned()))
            .unwrap();
        assert_eq!(c.scoring_queue_ms, 0);
        c.validate().unwrap();
        c.scoring_queue_ms = 29_999;
        c.validate().unwrap();
        c.scoring_queue_ms = 30_000;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("scoring_queue_ms"), "{err}");
    }
}
