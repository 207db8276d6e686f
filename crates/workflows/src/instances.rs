//! Runs as the platform shows them ("instances"): one tenant's runs (the engine namespace is
//! the tenant id), found through the engine store's listing (`workflow_store::list_runs`), with
//! the workflow id read as the platform's UUID.
//!
//! Reading a run's state, events, cancelling or restarting it goes through the engine; this
//! module only finds runs and says which workflow each belongs to, for the read check.

use chrono::{DateTime, Utc};
use sea_orm::ConnectionTrait;
use uuid::Uuid;
use workflow_engine::{RunId, RunStatus};
use workflow_store::{ListedRun, RunFilter};

use crate::Error;

/// One run.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The run id.
    pub id: RunId,
    /// The workflow it runs; `None` for a test run of an unsaved graph.
    pub workflow_id: Option<Uuid>,
    /// The version of the workflow it runs.
    pub workflow_version: Option<u64>,
    /// Where it is.
    pub status: RunStatus,
    /// The sequence number of its last event.
    pub last_seq: u64,
    /// The run whose `subWorkflow` node started it.
    pub parent: Option<RunId>,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<ListedRun> for Instance {
    fn from(run: ListedRun) -> Self {
        Instance {
            id: run.id,
            workflow_id: run.workflow_id.and_then(|w| Uuid::parse_str(&w).ok()),
            workflow_version: run.workflow_version,
            status: run.status,
            last_seq: run.last_seq,
            parent: run.parent,
            created_at: run.created_at,
            updated_at: run.updated_at,
        }
    }
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct InstanceFilter {
    /// Only this workflow's.
    pub workflow_id: Option<Uuid>,
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// Only runs created at or after this.
    pub from: Option<DateTime<Utc>>,
    /// Only runs created before this.
    pub to: Option<DateTime<Utc>>,
}

fn store_error(error: workflow_store::Error) -> Error {
    match error {
        workflow_store::Error::Database(error) => Error::Database(error),
        other => Error::Engine(other.to_string()),
    }
}

/// A page of the tenant's runs, newest first, and how many match in all.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    filter: &InstanceFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Instance>, u64), Error> {
    let filter = RunFilter {
        workflow_id: filter.workflow_id.map(|id| id.to_string()),
        status: filter.status,
        from: filter.from,
        to: filter.to,
    };
    let (runs, total) =
        workflow_store::list_runs(db, &tenant_id.to_string(), &filter, offset, limit)
            .await
            .map_err(store_error)?;
    Ok((runs.into_iter().map(Instance::from).collect(), total))
}

/// Run `id` of the tenant (a run of another tenant is not found).
pub async fn find(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: RunId,
) -> Result<Instance, Error> {
    workflow_store::find_run(db, &tenant_id.to_string(), id)
        .await
        .map_err(store_error)?
        .map(Instance::from)
        .ok_or(Error::NotFound)
}
