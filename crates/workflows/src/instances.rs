//! Runs as the platform shows them ("instances"): listed by workflow, status and start time
//! from the engine store's `engine_runs` (whose `workflow_id`/`workflow_version` columns the
//! store fills from the run's definition), always within one tenant (the run's namespace).
//!
//! Reading a run's state, events, cancelling or restarting it goes through the engine; this
//! module only finds runs and says which workflow each belongs to, for the read check.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};
use uuid::Uuid;
use workflow_engine::{RunId, RunStatus};

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
    /// The run whose `subWorkflow` node started it.
    pub parent: Option<RunId>,
    /// Creation.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
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

const COLUMNS: &str =
    "id, workflow_id, workflow_version, status, parent_run, created_at, updated_at";

fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let text = match backend {
        DbBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_string(),
    };
    Statement::from_sql_and_values(backend, text, values)
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

fn time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

fn instance(row: &QueryResult) -> Result<Instance, Error> {
    let id: Uuid = row.try_get("", "id")?;
    let workflow_id: Option<String> = row.try_get("", "workflow_id")?;
    let version: Option<i64> = row.try_get("", "workflow_version")?;
    let status: String = row.try_get("", "status")?;
    let parent: Option<Uuid> = row.try_get("", "parent_run")?;
    let status = serde_json::from_value(serde_json::Value::String(status.clone()))
        .map_err(|_| Error::Engine(format!("run {id} has an unknown status {status}")))?;
    Ok(Instance {
        id: RunId(id),
        workflow_id: workflow_id.and_then(|w| Uuid::parse_str(&w).ok()),
        workflow_version: version.and_then(|v| u64::try_from(v).ok()),
        status,
        parent: parent.map(RunId),
        created_at: time(row.try_get("", "created_at")?),
        updated_at: time(row.try_get("", "updated_at")?),
    })
}

/// The conditions and values of `filter` in `tenant_id`, parameters numbered from 1.
fn conditions(tenant_id: Uuid, filter: &InstanceFilter) -> (String, Vec<Value>) {
    let mut sql = String::from("namespace = $1");
    let mut values: Vec<Value> = vec![tenant_id.to_string().into()];
    let mut add = |condition: &str, value: Value| {
        values.push(value);
        sql.push_str(&format!(" AND {condition} ${}", values.len()));
    };
    if let Some(workflow) = filter.workflow_id {
        add("workflow_id =", workflow.to_string().into());
    }
    if let Some(status) = filter.status {
        add("status =", status.as_str().into());
    }
    if let Some(from) = filter.from {
        add("created_at >=", micros(from).into());
    }
    if let Some(to) = filter.to {
        add("created_at <", micros(to).into());
    }
    (sql, values)
}

/// A page of the tenant's runs, newest first, and how many match in all.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    filter: &InstanceFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<Instance>, u64), Error> {
    let backend = db.get_database_backend();
    let (conditions, values) = conditions(tenant_id, filter);
    let count = db
        .query_one_raw(statement(
            backend,
            &format!("SELECT COUNT(*) AS n FROM engine_runs WHERE {conditions}"),
            values.clone(),
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    let mut page_values = values;
    let at = page_values.len();
    page_values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    page_values.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
    let rows = db
        .query_all_raw(statement(
            backend,
            &format!(
                "SELECT {COLUMNS} FROM engine_runs WHERE {conditions} \
                 ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
                at + 1,
                at + 2
            ),
            page_values,
        ))
        .await?;
    let instances = rows.iter().map(instance).collect::<Result<Vec<_>, _>>()?;
    Ok((instances, u64::try_from(count).unwrap_or_default()))
}

/// Run `id` of the tenant (a run of another tenant is not found).
pub async fn find(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: RunId,
) -> Result<Instance, Error> {
    let backend = db.get_database_backend();
    db.query_one_raw(statement(
        backend,
        &format!("SELECT {COLUMNS} FROM engine_runs WHERE id = $1 AND namespace = $2"),
        vec![id.0.into(), tenant_id.to_string().into()],
    ))
    .await?
    .as_ref()
    .map(instance)
    .transpose()?
    .ok_or(Error::NotFound)
}
