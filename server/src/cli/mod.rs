//! The command line of the `lendscope` binary.

pub mod demo;
mod ml;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use lendscope_domain::{NewPassword, Role, Username};
use lendscope_service::{db, Actor, RequestMeta, Services, SystemClock};

use crate::config::Config;
use crate::error::ServerError;
use crate::startup::Application;
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
    Retrain {
        /// Base training data (CSV with the inputs and `defaulted`); default: the configured
        /// base data, else the demo champion's generated data.
        #[arg(long)]
        base_data: Option<PathBuf>,
    },
    /// Write synthetic applicants with outcomes to a CSV file.
    Generate(ml::GenerateArgs),
    /// Train an XGBoost model on a CSV file with a binary target.
    Train(ml::TrainArgs),
    /// Fairness of decisions per group of a protected attribute (fairlearn's definitions).
    Fairness(ml::FairnessArgs),
    /// Data drift per column between a reference and a current CSV (Evidently's default tests).
    Drift(ml::DriftArgs),
    /// Write the numeric model input matrix of raw rows (header = model features).
    Encode(ml::BatchArgs),
    /// Write per-row SHAP contributions, bias, margin and probability.
    Explain(ml::BatchArgs),
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Purge the decisions made before a date (with their outcomes, reviews and queue
    /// entries), keeping the chain verifiable from an anchor. Refused for a date within the
    /// last 25 months. Lists what would go unless `--apply` is given. Run as the database owner.
    Purge {
        /// YYYY-MM-DD (midnight UTC).
        #[arg(long)]
        before: String,
        #[arg(long)]
        apply: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or update the login role the server should run as: no UPDATE, DELETE or
    /// TRUNCATE on decisions, outcomes, reviews, the audit trail and the other append-only
    /// tables. The password is read from standard input. Run as the database owner.
    GrantAppRole { role: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input (never from the command line).
    Add {
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// List users.
    List,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain of every decision; names the first broken link.
    Verify,
    /// Recompute a stored decision from its stored inputs with the model version and policy
    /// version it names, and regenerate its notice: exit code 1 unless byte-identical.
    Reproduce { application_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Register a model directory (model.json, schema.json, optional card.json).
    Register {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// List registered versions with alias, status, source and test AUC.
    List,
    /// Show one version: lineage, parameters, metrics, alias periods, realized performance.
    Show { name: String, version: i32 },
    /// Archive a version that serves no traffic (it can no longer take an alias).
    Archive {
        model_id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Point an alias (champion or challenger) at a model id.
    Alias { alias: String, model_id: i64 },
    /// Set the challenger's share of applicants, 0–100.
    Share { percent: u8 },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the policy in force as JSON.
    Show,
    /// Put a new policy version in force, read from a JSON file (see `policy show`).
    Set { file: PathBuf },
    /// Turn the kill switch on (every application to manual review) or off, as a new version.
    KillSwitch {
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key and print it once; only its hash is stored.
    Create { name: String },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| e.message)
}

pub async fn run(cli: Cli) -> Result<(), ServerError> {
    let command = cli.command.unwrap_or(Command::Serve);
    // The data-science commands need neither configuration nor database.
    match &command {
        Command::Generate(args) => return ml::generate(args),
        Command::Encode(args) => return ml::encode(args),
        Command::Fairness(args) => return ml::fairness(args),
        Command::Drift(args) => return ml::drift(args),
        Command::Explain(args) => return ml::explain(args),
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init(config.log_format);
    match command {
        Command::Generate(_)
        | Command::Encode(_)
        | Command::Explain(_)
        | Command::Fairness(_)
        | Command::Drift(_) => Ok(()),
        Command::Train(args) => train_recorded(&services(&config).await?, args).await,
        Command::Serve => serve(&config).await,
        Command::Migrate => {
            let conn = db::connect(&config.database_url).await?;
            db::migrate(&conn).await?;
            println!("migrations applied to {}", redact(&config.database_url));
            Ok(())
        }
        Command::Retention {
            command: RetentionCommand::Purge { before, apply },
        } => {
            let day =
                chrono::NaiveDate::parse_from_str(before.trim(), "%Y-%m-%d").map_err(|_| {
                    ServerError::Usage(format!(
                        "--before {before:?}: expected a date as YYYY-MM-DD"
                    ))
                })?;
            let cutoff = day.and_time(chrono::NaiveTime::MIN).and_utc();
            let svc = services(&config).await?;
            let plan = if apply {
                svc.purge(cutoff, "cli", &cli_meta()).await?
            } else {
                svc.purge_plan(cutoff).await?
            };
            match plan.links {
                None => println!("nothing was decided before {day} that is still stored"),
                Some((a, b)) => println!(
                    "{} {} decisions (chain links {a}–{b}) decided before {day}{}",
                    if apply { "purged" } else { "would purge" },
                    plan.decisions,
                    if apply {
                        "; audit verify now starts after the anchor"
                    } else {
                        "; run again with --apply"
                    }
                ),
            }
            Ok(())
        }
        Command::Db {
            command: DbCommand::GrantAppRole { role },
        } => {
            let conn = db::connect(&config.database_url).await?;
            db::migrate(&conn).await?;
            let password = read_password()?;
            let grants = db::grant_app_role(&conn, &role, password.expose()).await?;
            println!("role {role} may now log in; its privileges:");
            for g in grants {
                println!("  {g}");
            }
            Ok(())
        }
        Command::Demo => demo::run(&services(&config).await?, &cli_meta()).await,
        Command::Audit {
            command: AuditCommand::Reproduce { application_id },
        } => {
            let r = services(&config)
                .await?
                .reproduce_decision(&application_id)
                .await?;
            println!(
                "application {}: model {}, policy {}: probability of default stored {} recomputed {}",
                r.application_id, r.model, r.policy_version, r.stored_probability, r.recomputed_probability
            );
            if r.identical() {
                println!(
                    "notice regenerated byte-identical ({} bytes)",
                    r.stored_notice.len()
                );
                Ok(())
            } else {
                Err(ServerError::Usage(format!(
                    "the regenerated notice differs:\n stored:      {}\n regenerated: {}",
                    r.stored_notice, r.regenerated_notice
                )))
            }
        }
        Command::Audit {
            command: AuditCommand::Verify,
        } => {
            let report = services(&config).await?.verify_decisions().await?;
            match report.broken {
                None => {
                    println!(
                        "audit verify: {} decisions, hash chain intact, head matches",
                        report.records
                    );
                    Ok(())
                }
                Some(b) => Err(ServerError::Usage(format!(
                    "audit verify: chain broken at link {}{}: {} ({} links verified before it)",
                    b.seq,
                    b.application_id
                        .map(|a| format!(" (application {a})"))
                        .unwrap_or_default(),
                    b.problem,
                    report.records
                ))),
            }
        }
        Command::Models { command } => models(&services(&config).await?, command).await,
        Command::Retrain { base_data } => {
            let svc = services(&config).await?;
            svc.set_retrain_base(base_data.or(config.retrain_base_data.clone()));
            retrain(&svc).await
        }
        Command::Policy { command } => policy(&services(&config).await?, command).await,
        Command::User {
            command: UserCommand::Add { username, role },
        } => {
            let username =
                Username::parse(&username).map_err(|e| ServerError::Usage(e.to_string()))?;
            let password = read_password()?;
            let svc = services(&config).await?;
            let user = svc
                .create_user(username, role, password, Actor::System, &cli_meta())
                .await?;
            println!("created {} ({})", user.username, user.role);
            Ok(())
        }
        Command::User {
            command: UserCommand::List,
        } => {
            for u in services(&config).await?.list_users().await? {
                println!(
                    "{:<24} {:<11} {:<8} created {} by {}",
                    u.username,
                    u.role,
                    if u.disabled { "disabled" } else { "active" },
                    u.created_at.format("%Y-%m-%d %H:%M UTC"),
                    u.created_by
                );
            }
            Ok(())
        }
        Command::Apikey {
            command: ApiKeyCommand::Create { name },
        } => {
            let key = services(&config)
                .await?
                .create_api_key(&name, Actor::System)
                .await?;
            println!("API key for {name} (shown once; store it now):\n{key}");
            Ok(())
        }
    }
}

/// Trains like `ml::train_model` and records the run (parameters, data hash, metrics, or the
/// error) in the database, registered or not.
async fn train_recorded(svc: &Services, args: ml::TrainArgs) -> Result<(), ServerError> {
    let who = std::env::var("USER").unwrap_or_else(|_| "cli".to_owned());
    let run = svc
        .start_run("train", &who, &ml::train_params(&args), None, args.rounds)
        .await?;
    let trained = tokio::task::spawn_blocking(move || ml::train_model(&args))
        .await
        .map_err(|e| ServerError::Usage(format!("training task: {e}")))?;
    let recorded = trained.as_ref().map_err(ToString::to_string).map(|card| {
        lendscope_service::governance::RunResult {
            data_sha256: Some(card.data.sha256.clone()),
            data_rows: i64::try_from(card.data.rows).ok(),
            labelled_rows: None,
            metrics: serde_json::to_value(&card.metrics).ok(),
            model_id: None,
        }
    });
    svc.finish_run(run, recorded).await?;
    println!("recorded as training run #{run}");
    trained.map(|_| ())
}

/// Runs the retraining job and waits for it, printing its progress.
async fn retrain(svc: &Services) -> Result<(), ServerError> {
    let who = std::env::var("USER").unwrap_or_else(|_| "cli".to_owned());
    let run = svc.start_retrain(&who, None, &cli_meta()).await?;
    println!("retraining: run #{run}");
    let mut shown = -1;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        let Some(r) = svc
            .training_runs(20)
            .await?
            .into_iter()
            .find(|r| r.id == run)
        else {
            continue;
        };
        if r.round != shown && r.state == "running" {
            shown = r.round;
            let _ = writeln!(std::io::stderr(), "round {}/{}", r.round, r.rounds);
        }
        match r.state.as_str() {
            "running" => continue,
            "succeeded" => {
                println!(
                    "retrained {} on {} rows ({} labelled decisions): test AUC {}; it is now the challenger",
                    r.model.unwrap_or_default(),
                    r.data_rows.unwrap_or(0),
                    r.labelled_rows.unwrap_or(0),
                    r.test_auc.map_or_else(|| "-".to_owned(), |a| format!("{a:.4}"))
                );
                return Ok(());
            }
            _ => {
                return Err(ServerError::Usage(format!(
                    "retraining run #{run} failed: {}",
                    r.error.unwrap_or_default()
                )))
            }
        }
    }
}

async fn serve(config: &Config) -> Result<(), ServerError> {
    let app = Application::build(config).await?;
    tracing::info!(
        port = app.port(),
        database = %redact(&config.database_url),
        "Lendscope listening on http://{}:{}",
        config.listen.ip(),
        app.port()
    );
    app.run_until_stopped().await?;
    Ok(())
}

async fn services(config: &Config) -> Result<Services, ServerError> {
    let conn = db::connect(&config.database_url).await?;
    db::migrate(&conn).await?;
    Ok(Services::new(
        conn,
        Arc::new(SystemClock),
        config.auth_settings(),
    ))
}

fn cli_meta() -> RequestMeta {
    RequestMeta {
        client_ip: Some("cli".to_owned()),
        ..RequestMeta::default()
    }
}

async fn policy(svc: &Services, command: PolicyCommand) -> Result<(), ServerError> {
    use lendscope_service::scoring::policy::DecisionPolicy;
    let usage = |e: &dyn std::fmt::Display| ServerError::Usage(e.to_string());
    match command {
        PolicyCommand::Show => {
            let p = svc.current_policy().await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&p).map_err(|e| usage(&e))?
            );
        }
        PolicyCommand::Set { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| usage(&format!("{}: {e}", file.display())))?;
            let p: DecisionPolicy = serde_json::from_str(&text)
                .map_err(|e| usage(&format!("{}: {e}", file.display())))?;
            let version = p.version.clone();
            svc.set_policy(p, Actor::System).await?;
            println!("policy {version} is in force");
        }
        PolicyCommand::KillSwitch { state } => {
            let mut p = svc.current_policy().await?;
            p.kill_switch = state == "on";
            p.version = format!(
                "{}-kill-{}-{}",
                p.version.split("-kill-").next().unwrap_or("policy"),
                state,
                chrono::Utc::now().format("%Y%m%d%H%M%S")
            );
            let version = p.version.clone();
            svc.set_policy(p, Actor::System).await?;
            println!("kill switch {state}: policy {version} is in force");
        }
    }
    Ok(())
}

async fn models(svc: &Services, command: ModelsCommand) -> Result<(), ServerError> {
    use lendscope_service::scoring::registry::Role as ModelRole;
    match command {
        ModelsCommand::Register { dir, name } => {
            let read = |f: &str| {
                std::fs::read_to_string(dir.join(f))
                    .map_err(|e| ServerError::Usage(format!("{}: {e}", dir.join(f).display())))
            };
            let card = if dir.join("card.json").exists() {
                read("card.json")?
            } else {
                "{}".to_owned()
            };
            let m = svc
                .register_model(
                    &name,
                    &read("model.json")?,
                    &read("schema.json")?,
                    &card,
                    Actor::System,
                )
                .await?;
            println!("registered {} v{} as model {}", m.name, m.version, m.id);
        }
        ModelsCommand::List => {
            println!(
                "{:>4}  {:<24} {:>4}  {:<10} {:<10} {:<9} {:>8}  registered",
                "id", "name", "ver", "alias", "status", "source", "test AUC"
            );
            for m in svc.model_rows().await? {
                println!(
                    "{:>4}  {:<24} {:>4}  {:<10} {:<10} {:<9} {:>8}  {} by {}",
                    m.id,
                    m.name,
                    m.version,
                    m.alias.as_deref().unwrap_or("-"),
                    if m.archived { "archived" } else { "active" },
                    m.source,
                    m.test_auc
                        .map_or_else(|| "-".to_owned(), |a| format!("{a:.4}")),
                    m.created_at,
                    m.created_by
                );
            }
        }
        ModelsCommand::Show { name, version } => {
            let id = svc.model_id(&name, version).await?;
            let d = svc.model_detail(id).await?;
            println!("{} v{} (model {})", d.row.name, d.row.version, d.row.id);
            println!("  alias        {}", d.row.alias.as_deref().unwrap_or("-"));
            println!(
                "  status       {}",
                if d.row.archived { "archived" } else { "active" }
            );
            println!("  sha256       {}", d.sha256);
            println!("  features     {}, trees {}", d.features, d.trees);
            println!("lineage:");
            for (k, v) in &d.lineage {
                println!("  {k:<32} {v}");
            }
            if !d.parameters.is_empty() {
                println!("parameters:");
                for (k, v) in &d.parameters {
                    println!("  {k:<32} {v}");
                }
            }
            if !d.metrics.is_empty() {
                println!("metrics (validation / test):");
                let f = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| format!("{x:.4}"));
                for m in &d.metrics {
                    println!("  {:<12} {:>8} {:>8}", m.label, f(m.validation), f(m.test));
                }
            }
            println!("alias history:");
            if d.periods.is_empty() {
                println!("  never held an alias");
            }
            for p in &d.periods {
                println!(
                    "  {:<10} {} → {} set by {}{}",
                    p.alias,
                    p.from,
                    p.to.as_deref().unwrap_or("now"),
                    p.set_by,
                    p.approved_by
                        .as_ref()
                        .map(|a| format!(" ({a})"))
                        .unwrap_or_default()
                );
            }
            match (&d.realized, &d.realized_note) {
                (Some(r), _) => println!(
                    "realized on {} decided applications with outcomes ({} defaulted): AUC {:.4}, KS {:.4}, Gini {:.4}, Brier {:.4}",
                    r.rows, r.positives, r.auc, r.ks, r.gini, r.brier
                ),
                (None, Some(note)) => println!("realized: {note}"),
                (None, None) => {}
            }
        }
        ModelsCommand::Archive { model_id, reason } => {
            svc.archive_model(model_id, "cli", &reason, &cli_meta())
                .await?;
            println!("model {model_id} is archived");
        }
        ModelsCommand::Alias { alias, model_id } => {
            let role = match alias.as_str() {
                "champion" => ModelRole::Champion,
                "challenger" => ModelRole::Challenger,
                other => {
                    return Err(ServerError::Usage(format!(
                        "unknown alias '{other}': champion or challenger"
                    )))
                }
            };
            svc.set_alias(role, Some(model_id), Actor::System).await?;
            println!("{alias} is now model {model_id}");
        }
        ModelsCommand::Share { percent } => {
            svc.set_challenger_share(percent, Actor::System).await?;
            println!("the challenger now scores {percent} % of applicants");
        }
    }
    Ok(())
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
