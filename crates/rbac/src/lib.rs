//! Role-based access control: the permission catalog, the built-in roles, and the policy check.
//!
//! This crate decides; it does not load. Callers gather a subject's [`Grants`] in a tenant
//! (from its roles, asset grants and API-key roles) and call [`authorize`] or
//! [`authorize_execution`], which answer with a [`Permit`] — the only proof of a passed check,
//! constructible only here — or a [`Denied`] naming the missing permission.
//!
//! Modules: [`catalog`] (SYSTEM.md §2), [`builtin`] (Admin, Editor, Viewer), [`policy`] (the
//! rules, including delegated execution), [`store`] (the catalog table, built-in roles, loading
//! and checking grants), [`roles`] (role management), [`api_keys`] (issuing and resolving keys).
//! One error type, [`Error`].

pub mod api_keys;
pub mod builtin;
pub mod catalog;
pub mod error;
pub mod policy;
pub mod roles;
pub mod store;
pub mod tenant_lock;

pub use builtin::BuiltinRole;
pub use catalog::{Action, Permission, Resource, UnknownPermission};
pub use error::Error;
pub use policy::{
    Denied, Grants, Permit, Subject, Target, authorize, authorize_execution, authorize_read,
};
