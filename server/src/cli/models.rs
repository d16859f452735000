//! `lendscope models`: the model store.

use std::path::PathBuf;

use clap::Subcommand;
use lendscope_service::{Actor, Services};

use super::cli_meta;
use crate::error::ServerError;

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
    /// Emergency only: point an alias (champion or challenger) at a model id outside the
    /// promotion gate and four eyes. Needs `--emergency --reason TEXT`; audited and listed on
    /// the registry page. Admins promote on the registry page instead.
    Alias {
        alias: String,
        model_id: i64,
        #[command(flatten)]
        bypass: Bypass,
    },
    /// Emergency only: set the challenger's share of live decisions, 0–100, outside the gate
    /// and four eyes. Needs `--emergency --reason TEXT`; audited and listed on the registry
    /// page. Admins request a share on the registry page instead.
    Share {
        percent: u8,
        #[command(flatten)]
        bypass: Bypass,
    },
}

/// The emergency bypass of the promotion gate and four eyes.
#[derive(Debug, clap::Args)]
pub struct Bypass {
    /// Confirms that this change bypasses the promotion gate and the second admin.
    #[arg(long)]
    emergency: bool,
    /// Why (recorded in the audit log and shown on the registry page).
    #[arg(long)]
    reason: Option<String>,
    /// Who makes the change (default: the operating-system user, $SUDO_USER or $USER).
    #[arg(long)]
    by: Option<String>,
}

impl Bypass {
    fn emergency(&self, what: &str) -> Result<lendscope_service::registry::Emergency, ServerError> {
        match (self.emergency, self.reason.as_deref()) {
            (true, Some(reason)) => {
                let operator = self
                    .by
                    .clone()
                    .or_else(|| std::env::var("SUDO_USER").ok())
                    .or_else(|| std::env::var("USER").ok())
                    .unwrap_or_default();
                Ok(lendscope_service::registry::Emergency::new(reason)?.by(&operator))
            }
            _ => Err(ServerError::Usage(format!(
                "refused: {what} goes through the promotion gate and a second admin on the \
                 registry page (/models). In an emergency only: add --emergency --reason TEXT \
                 (audited and shown on the registry page)"
            ))),
        }
    }
}

pub(super) async fn run(svc: &Services, command: ModelsCommand) -> Result<(), ServerError> {
    use lendscope_service::registry::ModelRole;
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
        ModelsCommand::Alias {
            alias,
            model_id,
            bypass,
        } => {
            let role = match alias.as_str() {
                "champion" => ModelRole::Champion,
                "challenger" => ModelRole::Challenger,
                other => {
                    return Err(ServerError::Usage(format!(
                        "unknown alias '{other}': champion or challenger"
                    )))
                }
            };
            let emergency = bypass.emergency(&format!("setting the {alias} alias"))?;
            svc.set_alias(role, Some(model_id), Actor::System, &emergency)
                .await?;
            println!("{alias} is now model {model_id} (emergency change, audited)");
        }
        ModelsCommand::Share { percent, bypass } => {
            let emergency = bypass.emergency("a share of live decisions")?;
            svc.set_challenger_share(percent, Actor::System, &emergency)
                .await?;
            println!("the challenger now decides for {percent} % of applicants (emergency change, audited)");
        }
    }
    Ok(())
}
