//! Route handlers, one module per resource. Handlers translate between the wire (camelCase JSON,
//! the envelope) and domain crates; business rules live in the domain crates.

pub mod apikeys;
pub mod audit;
pub mod auth;
pub mod cron_jobs;
pub mod datasources;
pub mod folders;
pub mod health;
pub mod queries;
pub mod realtime;
pub mod reference;
pub mod roles;
pub mod tenants;
pub mod users;
pub mod webhooks;
pub mod workflow_runs;
pub mod workflows;
