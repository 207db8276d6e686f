//! Tenants, users, memberships, user–tenant configuration and folders.
//!
//! This crate owns the business rules of who exists and who belongs where. It knows the database
//! (through `db-entity`) but nothing about HTTP: callers hand it plain values and get domain
//! types back.
//!
//! So far: [`users`], the user rows synced from verified identities.

pub mod error;
pub mod users;

pub use error::Error;
