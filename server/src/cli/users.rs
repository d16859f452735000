//! `lendscope user`: staff users.

use clap::Subcommand;
use lendscope_domain::{Role, Username};
use lendscope_service::Actor;

use super::{cli_meta, read_password, services};
use crate::config::Config;
use crate::error::ServerError;

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

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| e.message)
}

pub(super) async fn run(config: &Config, command: UserCommand) -> Result<(), ServerError> {
    match command {
        UserCommand::Add { username, role } => {
            let username =
                Username::parse(&username).map_err(|e| ServerError::Usage(e.to_string()))?;
            let password = read_password()?;
            let svc = services(config).await?;
            let user = svc
                .create_user(username, role, password, Actor::System, &cli_meta())
                .await?;
            println!("created {} ({})", user.username, user.role);
            Ok(())
        }
        UserCommand::List => {
            for u in services(config).await?.list_users().await? {
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
    }
}
