//! `lendscope migrate` and `lendscope db`: database administration.

use clap::Subcommand;
use lendscope_service::db;

use super::{read_password, redact};
use crate::config::Config;
use crate::error::ServerError;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create or update the login role the server should run as: no UPDATE, DELETE or
    /// TRUNCATE on decisions, outcomes, reviews, the audit trail and the other append-only
    /// tables. The password is read from standard input. Run as the database owner.
    GrantAppRole { role: String },
}

/// `lendscope migrate`: applies pending migrations.
pub(super) async fn migrate(config: &Config) -> Result<(), ServerError> {
    let conn = db::connect(&config.database_url).await?;
    db::migrate(&conn).await?;
    println!("migrations applied to {}", redact(&config.database_url));
    Ok(())
}

pub(super) async fn run(config: &Config, command: DbCommand) -> Result<(), ServerError> {
    let DbCommand::GrantAppRole { role } = command;
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
