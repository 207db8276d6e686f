//! What every request handler can reach: the database, the token verifier, the edge policy.
//!
//! Built once by `startup` and shared through `web::Data` (an `Arc`) across actix's worker
//! threads. Nothing in here is mutable except the rate limiters' internal counters.

use std::sync::Arc;

use identity::TokenVerifier;
use sea_orm::DatabaseConnection;

use crate::http::middleware::cors::CorsPolicy;
use crate::http::middleware::rate_limit::RateLimits;

/// Request-independent settings of the HTTP edge.
#[derive(Debug)]
pub struct EdgeConfig {
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The CORS allow-list.
    pub cors: CorsPolicy,
    /// Whether `X-Forwarded-For` names the client.
    pub trust_forwarded_for: bool,
}

/// Shared application state.
#[derive(Debug)]
pub struct AppState {
    /// The platform database pool.
    pub db: DatabaseConnection,
    /// Verifies ID tokens.
    pub verifier: Arc<TokenVerifier>,
    /// Edge policy.
    pub edge: EdgeConfig,
    /// Per-IP and per-principal request limits.
    pub limits: Arc<RateLimits>,
    /// Seals and opens datasource secrets: the active key and the previous ones.
    pub keys: Arc<datasources::secrets::KeyRing>,
    /// Runs data queries and connection tests (live connectors, the per-tenant cap).
    pub runner: Arc<datasources::run::Runner>,
    /// Where audit entries are queued.
    pub audit: audit::AuditSink,
    /// Recently loaded grants, resolved API keys and role lists, kept in step across
    /// processes by `access_sync`.
    pub caches: crate::access_sync::Caches,
    /// Messages to every server process (cache invalidation; later wake-ups and live events).
    pub bus: change_bus::ChangeBus,
    /// The workflow engine and the runtime its calls run on.
    pub workflows: crate::workflow_runtime::WorkflowRuntime,
    /// Live runs: the hub, the socket limits.
    pub realtime: crate::realtime::Realtime,
    /// Cron jobs: the launcher of fires and the ticker's wake-up.
    pub cron: crate::cron::Cron,
    /// The item types folders file, each in its owner's table (data queries so far).
    pub folder_items: tenancy::folder_items::FolderItemRegistry,
    /// The OpenAPI document, serialized once at start-up.
    pub api_description: actix_web::web::Bytes,
}
