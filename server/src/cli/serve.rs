//! `lendscope serve` (the default): the web server.

use super::redact;
use crate::config::Config;
use crate::error::ServerError;
use crate::startup::Application;

pub(super) async fn serve(config: &Config) -> Result<(), ServerError> {
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
