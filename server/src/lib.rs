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

#[cfg(test)]
mod layering {
    /// The JSON API and the HTTP layer never import the UI crate: the error body and the cookie
    /// policy they share with the pages live in `lendscope-domain` and `lendscope-service`.
    /// (Only `startup.rs` mounts the pages.)
    #[test]
    fn api_and_http_do_not_import_the_ui_crate() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = 0;
        for folder in ["api", "http"] {
            for entry in std::fs::read_dir(src.join(folder)).unwrap() {
                let path = entry.unwrap().path();
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(
                    !text.contains("lendscope_app"),
                    "{} imports the UI crate",
                    path.display()
                );
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} files checked");
    }
}
