//! The Lendscope server: configuration, HTTP stack, JSON API, and the command line.
//!
//! `main.rs` only parses the command line; everything here is a library so that integration
//! tests can start the real server on port 0.

pub mod api;
pub mod cli;
pub mod config;
mod drain;
pub mod error;
pub mod http;
pub mod startup;
pub mod telemetry;

pub use config::Config;
pub use error::ServerError;
pub use startup::Application;
