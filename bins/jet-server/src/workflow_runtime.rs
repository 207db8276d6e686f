//! The workflow engine inside the server: built on the SQL store with the platform's hosts
//! (the sandbox for scripts, the datasources runner for `dataQuery` nodes, saved workflows for
//! `subWorkflow` nodes), its dispatcher on the main runtime, drained on a graceful stop.
//!
//! Every engine call from a request handler is run on the main runtime ([`WorkflowRuntime::call`]):
//! actix's worker runtimes are shut down before the workers stop, and a database connection
//! opened on one of them would break the engine's last commits during the drain (the same reason
//! the audit writer has a pool of its own).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::runtime::Handle;
use workflow_engine::{Engine, EngineConfig, RunLimits, SandboxScripts};
use workflow_store::SqlStore;
use workflows::graph::GraphLimits;
use workflows::hosts::{PlatformDataQueries, PlatformWorkflows};

use crate::http::error::ApiError;
use crate::settings::WorkflowSettings;
use crate::workers::Workers;

/// The engine and the runtime its calls run on.
#[derive(Debug, Clone)]
pub struct WorkflowRuntime {
    engine: Arc<Engine>,
    store: Arc<SqlStore>,
    runtime: Handle,
    limits: GraphLimits,
}

/// Why the engine could not start.
#[derive(Debug, thiserror::Error)]
#[error("workflow engine: {0}")]
pub struct EngineStartError(String);

impl WorkflowRuntime {
    /// Builds the engine on `db` (which must be a pool opened on this runtime), announcing on
    /// `bus`, and registers its drain and the retention cleaner with `workers`.
    pub fn start(
        settings: &WorkflowSettings,
        shutdown_timeout: Duration,
        db: DatabaseConnection,
        bus: change_bus::ChangeBus,
        runner: Arc<datasources::run::Runner>,
        workers: &mut Workers,
    ) -> Result<Self, EngineStartError> {
        let store =
            Arc::new(SqlStore::new(db.clone(), bus).map_err(|e| EngineStartError(e.to_string()))?);
        let engine = Engine::builder(store.clone())
            .scripts(Arc::new(SandboxScripts::new(settings.scripts_in_flight)))
            .data_queries(Arc::new(PlatformDataQueries::new(db.clone(), runner)))
            .workflows(Arc::new(PlatformWorkflows::new(db)))
            .config(EngineConfig {
                concurrency: settings.concurrency,
                lease: settings.lease,
                poll_interval: settings.poll_interval,
                limits: RunLimits {
                    max_context_bytes: settings.max_context_bytes,
                    max_events: settings.max_events,
                },
                ..EngineConfig::default()
            })
            .build()
            .map_err(|e| EngineStartError(e.to_string()))?;
        let engine = Arc::new(engine);
        let hub_store = Arc::clone(&store);
        let draining = Arc::clone(&engine);
        workers.spawn("workflow-engine", move |stop| async move {
            stop.cancelled().await;
            draining.drain(shutdown_timeout).await;
        });
        if settings.retention_days > 0 {
            let days = i64::from(settings.retention_days);
            workers.spawn("run-retention", move |stop| {
                purge_periodically(store, days, stop)
            });
        }
        Ok(WorkflowRuntime {
            engine,
            store: hub_store,
            runtime: Handle::current(),
            limits: GraphLimits {
                max_nodes: settings.max_nodes,
                ..GraphLimits::default()
            },
        })
    }

    /// The engine, for what does not touch the store (validation, node types).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The store runs are kept in (the realtime hub reads their logs).
    pub fn store(&self) -> Arc<SqlStore> {
        Arc::clone(&self.store)
    }

    /// How big a graph may be.
    pub fn limits(&self) -> GraphLimits {
        self.limits
    }

    /// Runs `work` with the engine on the main runtime (see the module documentation).
    pub async fn call<F, Fut, T>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(Arc<Engine>) -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
    {
        let engine = Arc::clone(&self.engine);
        self.runtime
            .spawn(async move { work(engine).await })
            .await
            .map_err(|error| {
                tracing::error!(%error, "an engine call panicked or was cancelled");
                ApiError::server_error()
            })
    }
}

/// Every hour, deletes the runs that finished more than `days` days ago, a thousand at a time.
async fn purge_periodically(
    store: Arc<SqlStore>,
    days: i64,
    stop: tokio_util::sync::CancellationToken,
) {
    const BATCH: u64 = 1_000;
    let mut ticks = tokio::time::interval(Duration::from_secs(3_600));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let before = Utc::now() - chrono::Duration::days(days);
        let mut purged = 0;
        loop {
            match store.purge_finished(before, BATCH).await {
                Ok(count) => {
                    purged += count;
                    if count < BATCH || stop.is_cancelled() {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "purging finished runs failed");
                    break;
                }
            }
        }
        if purged > 0 {
            tracing::info!(
                purged,
                days,
                "finished runs past their retention were deleted"
            );
        }
    }
}
