//! `lendscope apikey`: API keys for machine clients.

use clap::Subcommand;
use lendscope_service::{Actor, Services};

use crate::error::ServerError;

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create an API key and print it once; only its hash is stored.
    Create { name: String },
}

pub(super) async fn run(svc: &Services, command: ApiKeyCommand) -> Result<(), ServerError> {
    let ApiKeyCommand::Create { name } = command;
    let key = svc.create_api_key(&name, Actor::System).await?;
    println!("API key for {name} (shown once; store it now):\n{key}");
    Ok(())
}
