//! Tenants, users, memberships, user–tenant configuration and folders.
//!
//! This crate owns the business rules of who exists and who belongs where. It knows the database
//! (through `db-entity`) but nothing about HTTP: callers hand it plain values and get domain
//! types back.
//!
//! Modules: [`users`] (rows synced from verified identities), [`tenants`] (creation with the
//! creator as admin, changes, disabling, soft deletion, membership lookup), [`members`]
//! (invitations, removal, roles, the last-admin rule), [`preferences`] (the per-user, per-tenant
//! preferences blob), [`folders`] (the asset tree) and [`folder_items`] (the items folders file,
//! registered by the crates that own them).

pub mod error;
pub mod folder_items;
pub mod folders;
pub mod members;
pub mod preferences;
pub mod tenants;
pub mod users;

pub use error::Error;
