//! The command line of the `lendscope` binary: the top-level commands, their dispatch and what
//! the command groups share. Each group (its subcommand type and handler) has its own module.
//!
//! The commands that need the trainer crate (XGBoost's C++: `generate`, `train`, `retrain`,
//! `demo`, `encode`, `explain`, `fairness`, `drift`, `estimate`) exist only with the `train` feature (on by
//! default); a serve-only build (`--no-default-features --features ssr`) does not have them, and
//! clap answers them as unrecognized subcommands.

#[cfg(feature = "train")]
mod analysis;
mod api_keys;
mod audit;
mod db;
pub mod demo;
#[cfg(feature = "train")]
mod ml;
mod models;
mod policy;
mod retention;
mod serve;
#[cfg(feature = "train")]
mod train;
mod users;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use lendscope_domain::NewPassword;
use lendscope_service::{RequestMeta, Services, SystemClock};

pub use api_keys::ApiKeyCommand;
pub use audit::AuditCommand;
pub use db::DbCommand;
pub use models::ModelsCommand;
pub use policy::PolicyCommand;
pub use retention::RetentionCommand;
pub use users::UserCommand;

use crate::config::Config;
use crate::error::ServerError;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "lendscope",
    version,
    about = "Explainable credit decisions for thin-file applicants"
)]
pub struct Cli {
    /// A TOML configuration file (default: ./lendscope.toml when present).
    #[arg(long, global = true, env = "LENDSCOPE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Retention: purge decisions older than the retention period (25 months).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Database administration (PostgreSQL).
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Fill an empty database with demo users (passwords printed once).
    #[cfg(feature = "train")]
    Demo,
    /// Manage staff users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API keys for machine clients.
    Apikey {
        #[command(subcommand)]
        command: ApiKeyCommand,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage the model store.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
    /// Show or change the decision policy.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Train a new challenger on the base data plus every labelled decision, register it with
    /// its lineage and make it challenger (the same job as the registry page's button).
    #[cfg(feature = "train")]
    Retrain {
        /// Base training data (CSV with the inputs and `defaulted`); default: the configured
        /// base data, else the demo champion's generated data.
        #[arg(long)]
        base_data: Option<PathBuf>,
        /// How declined applicants (whose outcomes are never observed) enter the training:
        /// none, fuzzy (each twice, weighted by the champion's probability of default) or
        /// hard_cutoff (the riskiest as defaulted, as many as the champion expects).
        #[arg(long, default_value = "none", value_parser = parse_reject_inference)]
        reject_inference: lendscope_domain::RejectInference,
    },
    /// Write synthetic applicants with outcomes to a CSV file.
    #[cfg(feature = "train")]
    Generate(ml::GenerateArgs),
    /// Train an XGBoost model on a CSV file with a binary target.
    #[cfg(feature = "train")]
    Train(ml::TrainArgs),
    /// Fairness of decisions per group of a protected attribute (fairlearn's definitions).
    #[cfg(feature = "train")]
    Fairness(analysis::FairnessArgs),
    /// Data drift per column between a reference and a current CSV (Evidently's default tests).
    #[cfg(feature = "train")]
    Drift(analysis::DriftArgs),
    /// ROC AUC and default rate estimated per chunk before outcomes arrive, from the
    /// probabilities alone (confidence-based performance estimation, nannyml's CBPE).
    #[cfg(feature = "train")]
    Estimate(analysis::EstimateArgs),
    /// Write the numeric model input matrix of raw rows (header = model features).
    #[cfg(feature = "train")]
    Encode(ml::BatchArgs),
    /// Write per-row SHAP contributions, bias, margin and probability.
    #[cfg(feature = "train")]
    Explain(ml::BatchArgs),
}

#[cfg(feature = "train")]
fn parse_reject_inference(s: &str) -> Result<lendscope_domain::RejectInference, String> {
    lendscope_domain::RejectInference::parse(s).ok_or_else(|| {
        lendscope_domain::kinds::unknown_value(
            "--reject-inference",
            s,
            lendscope_domain::RejectInference::ALL
                .iter()
                .map(|m| m.as_str()),
        )
    })
}

pub async fn run(cli: Cli) -> Result<(), ServerError> {
    let command = cli.command.unwrap_or(Command::Serve);
    // The data-science commands need neither configuration nor database.
    #[cfg(feature = "train")]
    {
        match &command {
            Command::Generate(args) => return ml::generate(args),
            Command::Encode(args) => return ml::encode(args),
            Command::Fairness(args) => return analysis::fairness(args),
            Command::Drift(args) => return analysis::drift(args),
            Command::Estimate(args) => return analysis::estimate(args),
            Command::Explain(args) => return ml::explain(args),
            _ => {}
        }
    }
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init(config.log_format);
    match command {
        #[cfg(feature = "train")]
        Command::Generate(_)
        | Command::Encode(_)
        | Command::Explain(_)
        | Command::Fairness(_)
        | Command::Drift(_)
        | Command::Estimate(_) => Ok(()),
        #[cfg(feature = "train")]
        Command::Train(args) => train::train_recorded(&services(&config).await?, args).await,
        Command::Serve => serve::serve(&config).await,
        Command::Migrate => db::migrate(&config).await,
        Command::Retention { command } => retention::run(&config, command).await,
        Command::Db { command } => db::run(&config, command).await,
        #[cfg(feature = "train")]
        Command::Demo => demo::run(&services(&config).await?, &cli_meta()).await,
        Command::Audit {
            command: AuditCommand::Keygen { out },
        } => audit::keygen(&out),
        Command::Audit { command } => audit::run(&services(&config).await?, &config, command).await,
        Command::Models { command } => models::run(&services(&config).await?, command).await,
        #[cfg(feature = "train")]
        Command::Retrain {
            base_data,
            reject_inference,
        } => train::retrain(&config, base_data, reject_inference).await,
        Command::Policy { command } => policy::run(&services(&config).await?, command).await,
        Command::User { command } => users::run(&config, command).await,
        Command::Apikey { command } => api_keys::run(&services(&config).await?, command).await,
    }
}

async fn services(config: &Config) -> Result<Services, ServerError> {
    let conn = lendscope_service::db::connect(&config.database_url).await?;
    lendscope_service::db::migrate(&conn).await?;
    let services = Services::new(conn, Arc::new(SystemClock), config.auth_settings());
    // As at the server's start: records from before the record chains get their links.
    services.link_unchained_records().await?;
    Ok(services)
}

fn cli_meta() -> RequestMeta {
    RequestMeta {
        client_ip: Some("cli".to_owned()),
        ..RequestMeta::default()
    }
}

/// Reads a new password: prompted twice without echo on a terminal, else one line of stdin.
fn read_password() -> Result<NewPassword, ServerError> {
    let raw = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Repeat password: ")?;
        if first != second {
            return Err(ServerError::Usage("the passwords differ".to_owned()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    NewPassword::parse(&raw).map_err(|e| ServerError::Usage(e.to_string()))
}

/// A database URL without its password, for logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use lendscope_domain::Role;

    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn the_command_line_parses() {
        let cli =
            Cli::try_parse_from(["lendscope", "user", "add", "ann", "--role", "officer"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::User {
                command: UserCommand::Add {
                    role: Role::Officer,
                    ..
                }
            })
        ));
        assert!(
            Cli::try_parse_from(["lendscope", "user", "add", "ann", "--role", "root"]).is_err()
        );
        assert!(Cli::try_parse_from(["lendscope"])
            .unwrap()
            .command
            .is_none());
    }
}
