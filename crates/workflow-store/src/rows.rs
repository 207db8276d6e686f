//! Rows to the engine's types and back: run records, events, claimed tasks, and times as
//! microseconds since the Unix epoch.

use sea_orm::QueryResult;
use serde_json::Value;
use uuid::Uuid;
use workflow_engine::{
    Claimed, Event, ParentLink, RunId, RunRecord, RunStatus, Task, Timestamp, WorkflowDefinition,
};

use crate::error::Error;

/// A time as stored.
pub(crate) fn micros(at: Timestamp) -> i64 {
    at.timestamp_micros()
}

/// A stored time.
pub(crate) fn time(table: &'static str, micros: i64) -> Result<Timestamp, Error> {
    chrono::DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Error::unreadable(table, format!("time {micros} is out of range")))
}

fn get<T: sea_orm::TryGetable>(
    row: &QueryResult,
    table: &'static str,
    column: &str,
) -> Result<T, Error> {
    row.try_get("", column)
        .map_err(|e| Error::unreadable(table, format!("{column}: {e}")))
}

fn unsigned(table: &'static str, column: &str, value: i64) -> Result<u32, Error> {
    u32::try_from(value).map_err(|_| Error::unreadable(table, format!("{column} {value}")))
}

/// An `engine_runs` row.
pub(crate) fn run_record(row: &QueryResult) -> Result<RunRecord, Error> {
    const T: &str = "engine_runs";
    let workflow: Value = get(row, T, "workflow")?;
    let workflow: WorkflowDefinition =
        serde_json::from_value(workflow).map_err(|e| Error::unreadable(T, e))?;
    let status: String = get(row, T, "status")?;
    let status: RunStatus =
        serde_json::from_value(Value::String(status)).map_err(|e| Error::unreadable(T, e))?;
    let parent_run: Option<Uuid> = get(row, T, "parent_run")?;
    let parent = match parent_run {
        Some(run) => Some(ParentLink {
            run: RunId(run),
            node: get::<Option<String>>(row, T, "parent_node")?.unwrap_or_default(),
            activation: unsigned(
                T,
                "parent_activation",
                get::<Option<i32>>(row, T, "parent_activation")?
                    .unwrap_or_default()
                    .into(),
            )?,
        }),
        None => None,
    };
    let version: i64 = get(row, T, "version")?;
    Ok(RunRecord {
        id: RunId(get(row, T, "id")?),
        namespace: get(row, T, "namespace")?,
        workflow,
        parent,
        depth: unsigned(T, "depth", get::<i32>(row, T, "depth")?.into())?,
        status,
        version: u64::try_from(version).map_err(|_| Error::unreadable(T, "version"))?,
        created_at: time(T, get(row, T, "created_at")?)?,
        updated_at: time(T, get(row, T, "updated_at")?)?,
    })
}

/// An `engine_events` row (its `body`).
pub(crate) fn event(row: &QueryResult) -> Result<Event, Error> {
    const T: &str = "engine_events";
    let body: Value = get(row, T, "body")?;
    serde_json::from_value(body).map_err(|e| Error::unreadable(T, e))
}

/// A task just leased (`lease_until` is what the claim set).
pub(crate) fn claimed(row: &QueryResult, lease_until: Timestamp) -> Result<Claimed, Error> {
    const T: &str = "engine_tasks";
    let kind: Value = get(row, T, "kind")?;
    let deliveries: i32 = get(row, T, "deliveries")?;
    Ok(Claimed {
        task: Task {
            id: get(row, T, "id")?,
            run: RunId(get(row, T, "run_id")?),
            namespace: get(row, T, "namespace")?,
            due: time(T, get(row, T, "due")?)?,
            kind: serde_json::from_value(kind).map_err(|e| Error::unreadable(T, e))?,
        },
        lease_until,
        deliveries: unsigned(T, "deliveries", deliveries.into())?,
    })
}
