//! `lendscope policy`: the decision policy.

use std::path::PathBuf;

use clap::Subcommand;
use lendscope_service::{Actor, Services};

use crate::error::ServerError;

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

pub(super) async fn run(svc: &Services, command: PolicyCommand) -> Result<(), ServerError> {
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
