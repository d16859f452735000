//! Integration tests: the real server on port 0 against a real database. Every test runs
//! twice, on a fresh SQLite file and on a fresh PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod access;
mod account;
mod alternatives;
mod api_keys;
mod app_role;
mod asvs;
mod bad_input;
mod fixture_chain;
mod health;
mod login;
mod matrix;
mod monitoring;
mod officer_pages;
mod outage;
mod page_soak;
mod registry;
mod replicas;
mod retention;
mod reviews;
mod scoring;
mod security_headers;
mod sessions;
mod ssr_stall;
mod tamper;
mod users;
mod validation;
