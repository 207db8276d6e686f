//! sea-orm entities of the platform tables, the one rule their title columns share
//! ([`title`]) and the one lookup every domain crate shares ([`folders::files`]: is this a
//! folder of that type in this tenant). No other logic.
//!
//! One module per table, mirroring the `migrations` crate. Domain crates use these to query; the
//! server never touches them directly and never serializes them to the wire.

pub mod api_key_roles;
pub mod api_keys;
pub mod audit_logs;
pub mod cron_fires;
pub mod cron_jobs;
pub mod data_queries;
pub mod datasources;
pub mod folders;
pub mod permissions;
pub mod role_asset_grants;
pub mod role_permissions;
pub mod roles;
pub mod tenant_member_roles;
pub mod tenant_members;
pub mod tenants;
pub mod title;
pub mod user_tenant_configs;
pub mod users;
pub mod webhook_deliveries;
pub mod webhooks;
pub mod workflow_edges;
pub mod workflow_nodes;
pub mod workflows;
