use clap::Parser;
use lendscope_server::cli::{run, Cli};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("lendscope: {e}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
