//! Tenants, users, memberships, user–tenant configuration and folders.
//!
//! This crate owns the business rules of who exists and who belongs where. It knows the database
//! (through `db-entity`) but nothing about HTTP: callers hand it plain values and get domain
//! types back.
//!
//! So far: [`users`] (rows synced from verified identities) and [`tenants`] (creation with the
//! creator as admin, membership lookup, the caller's tenants).

pub mod error;
pub mod tenants;
pub mod users;

pub use error::Error;
