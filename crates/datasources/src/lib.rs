//! Datasources and data queries, without HTTP.
//!
//! - [`connector`]: one connector per family behind one trait (test, run, introspect).
//! - [`datasource`]: the records, scoped by tenant, changed under permits and the tenant lock.
//! - [`types`]: the datasource types, each with the JSON Schema of its options (secret fields
//!   marked) and of its queries.
//! - [`options`]: options checked against their type's schema, split into plain and secret
//!   fields, sealed, masked for every response, and restored from the stored values where a
//!   caller sends the mask back.
//! - [`description`]: the description rule both records share.
//! - [`query`]: data-query records, their options checked against the datasource's type.
//! - [`rotation`]: re-sealing every row under the active key, in resumable batches.
//! - [`run`]: running saved queries (delegated execution) and unsaved ones, capped per tenant.
//! - [`secrets`]: the AES-256-GCM envelope and the key ring (active key, previous keys).
//! - [`network`]: the SSRF policy: hosts resolved, checked, and connected to by address.
//! - [`scrub`]: driver messages with every secret value cut out.
//! - [`inputs`] and [`template`]: a query's input definitions, the coercion of input values, and
//!   the `{{inputs.x}}` templates; [`sql`] turns a SQL template into a statement with bound
//!   parameters (never text), refusing templates inside string literals and identifiers.

pub mod connector;
pub mod datasource;
pub mod description;
pub mod error;
pub mod inputs;
pub mod network;
pub mod options;
pub mod query;
pub mod rotation;
pub mod run;
pub mod scrub;
pub use sealed_secrets as secrets;
pub mod sql;
pub mod template;
pub mod types;

pub use error::Error;
