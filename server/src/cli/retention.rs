//! `lendscope retention`: purging decisions older than the retention period.

use clap::Subcommand;

use super::{cli_meta, services};
use crate::config::Config;
use crate::error::ServerError;

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

pub(super) async fn run(config: &Config, command: RetentionCommand) -> Result<(), ServerError> {
    let RetentionCommand::Purge { before, apply } = command;
    let day = chrono::NaiveDate::parse_from_str(before.trim(), "%Y-%m-%d").map_err(|_| {
        ServerError::Usage(format!(
            "--before {before:?}: expected a date as YYYY-MM-DD"
        ))
    })?;
    let cutoff = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let svc = services(config).await?;
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
