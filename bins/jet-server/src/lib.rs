//! The Jet Admin server: settings, start-up, the HTTP edge and background workers.
//!
//! This binary crate is the only place that knows about HTTP and reads configuration. It wires the
//! domain crates (`identity`, `tenancy`, `database`, …) to actix-web: [`settings`] reads the
//! environment once, [`startup`] builds the [`startup::Application`], [`http`] holds routes,
//! extractors, middleware and the error envelope, [`workers`] runs background tasks,
//! [`workflow_runtime`] the workflow engine.
//! `main.rs` only glues these together.

pub mod access_cache;
pub mod access_sync;
pub mod cron;
pub mod http;
pub mod key_cache;
pub mod keys_command;
pub mod realtime;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod tenant_cache;
pub mod workers;
pub mod workflow_runtime;
