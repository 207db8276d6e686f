//! Dev-dependency only: what tests across the workspace share.
//!
//! - [`tokens`]: RS256 ID tokens signed with committed test keys, and their JWK Set, so identity
//!   rules are tested offline exactly as Google's tokens would be checked.
//! - [`db`]: a fresh database per test on SQLite (always) and PostgreSQL (when
//!   `TEST_DATABASE_URL` is set; required when `JET_TEST_REQUIRE_POSTGRES=1`), and the
//!   [`db_test!`] macro that runs one test body on both; [`migrated`] adds the migrations and a
//!   connection configured as the server configures its own.
//! - [`http`]: an HTTP client for talking to a spawned server.
//! - [`services`]: the local MariaDB, Redis and brokers, required when
//!   `JET_TEST_REQUIRE_SERVICES=1`.
//!
//! This crate reads environment variables (the test database URL); the tidy test allows that
//! here only because the crate is never a normal dependency of anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod db;
pub mod http;
pub mod services;
pub mod tokens;

pub use db::{Backend, TestDatabase, migrated};
