//! What the engine calls back into the platform for: `dataQuery` nodes run saved queries
//! through the datasources crate, `subWorkflow` nodes load saved workflows, both only inside the
//! run's namespace, which is its tenant's id.
//!
//! A query runs as the workflow (the platform acting within the tenant: delegated execution):
//! the saver's right to execute it was checked when the graph was saved
//! ([`crate::definitions::check_graph`]). A query or workflow of another tenant is not found,
//! exactly like one that does not exist.

use std::sync::Arc;

use async_trait::async_trait;
use datasources::run::{Caller, Runner};
use rbac::{Grants, Subject};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use uuid::Uuid;
use workflow_engine::{
    DataQueryCall, DataQueryRunner, NodeError, WorkflowDefinition, WorkflowSource,
};

use crate::Error;
use crate::definitions;

/// The tenant a run belongs to: its namespace. Runs are only ever started with a tenant id,
/// so anything else is a fault, not a user error.
fn tenant_of(namespace: &str) -> Result<Uuid, NodeError> {
    Uuid::parse_str(namespace)
        .map_err(|_| NodeError::fatal(format!("the run's namespace `{namespace}` is not a tenant")))
}

/// The input through which a data query receives its node attempt's idempotency key.
pub const IDEMPOTENCY_KEY_INPUT: &str = "idempotencyKey";

/// Runs `dataQuery` nodes' saved queries.
#[derive(Debug, Clone)]
pub struct PlatformDataQueries {
    db: DatabaseConnection,
    runner: Arc<Runner>,
}

impl PlatformDataQueries {
    /// Runs queries stored in `db` with `runner`.
    pub fn new(db: DatabaseConnection, runner: Arc<Runner>) -> Self {
        PlatformDataQueries { db, runner }
    }
}

/// A query failure as a node error: the connection and capacity failures are worth retrying,
/// the query's own are not.
fn query_error(error: datasources::Error) -> NodeError {
    use datasources::Error as E;
    match error {
        E::NotFound => NodeError::fatal("no such data query in this workflow's tenant"),
        error @ (E::Connection(_) | E::Timeout(_) | E::Busy | E::Database(_)) => {
            NodeError::retryable(error.to_string())
        }
        other => NodeError::fatal(other.to_string()),
    }
}

#[async_trait]
impl DataQueryRunner for PlatformDataQueries {
    async fn run(&self, call: DataQueryCall) -> Result<Value, NodeError> {
        let tenant_id = tenant_of(&call.namespace)?;
        let Ok(query_id) = Uuid::parse_str(&call.query_id) else {
            return Err(NodeError::fatal(
                "no such data query in this workflow's tenant",
            ));
        };
        let mut inputs = match call.inputs {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(NodeError::fatal("inputValues must be an object")),
        };
        // A query that declares the input `idempotencyKey` receives the attempt's key (the same
        // on a redelivery after a crash, new on a retry), so its side effect can be made
        // exactly-once per attempt; a query that does not declare it never sees it.
        inputs
            .entry(IDEMPOTENCY_KEY_INPUT)
            .or_insert_with(|| Value::String(call.idempotency_key.clone()));
        let grants = Grants::new();
        let caller = Caller {
            subject: Subject::System,
            grants: &grants,
            origin: None,
        };
        self.runner
            .run_saved(&self.db, tenant_id, caller, query_id, &inputs)
            .await
            .map(|output| output.to_json())
            .map_err(query_error)
    }
}

/// Loads the workflows `subWorkflow` nodes start.
#[derive(Debug, Clone)]
pub struct PlatformWorkflows {
    db: DatabaseConnection,
}

impl PlatformWorkflows {
    /// Loads from `db`.
    pub fn new(db: DatabaseConnection) -> Self {
        PlatformWorkflows { db }
    }
}

#[async_trait]
impl WorkflowSource for PlatformWorkflows {
    async fn load(
        &self,
        namespace: &str,
        workflow_id: &str,
    ) -> Result<Option<WorkflowDefinition>, NodeError> {
        let tenant_id = tenant_of(namespace)?;
        let Ok(id) = Uuid::parse_str(workflow_id) else {
            return Ok(None);
        };
        match definitions::get(&self.db, tenant_id, id).await {
            Ok(workflow) if workflow.summary.is_disabled => {
                Err(NodeError::fatal(format!("the workflow {id} is disabled")))
            }
            Ok(workflow) => workflow
                .definition()
                .map(Some)
                .map_err(|error| NodeError::fatal(error.to_string())),
            Err(Error::NotFound) => Ok(None),
            Err(error) => Err(NodeError::retryable(error.to_string())),
        }
    }
}
