//! Finding runs for a host's views: a page of one namespace's runs (by the host's workflow id,
//! status and creation time, newest first) and one run, from the `engine_runs` columns alone
//! (`workflow_id` and `workflow_version` are copied from the definition at creation), without
//! reading definitions or logs.

use sea_orm::{ConnectionTrait, QueryResult, Value};
use workflow_engine::{RunId, RunStatus, Timestamp};

use crate::error::Error;
use crate::rows::{micros, time};
use crate::sql::statement;

const TABLE: &str = "engine_runs";
const COLUMNS: &str =
    "id, workflow_id, workflow_version, status, version, parent_run, created_at, updated_at";

/// One run as a list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedRun {
    /// The run.
    pub id: RunId,
    /// The host's workflow id from its definition (none for a definition without one).
    pub workflow_id: Option<String>,
    /// The host's version of that definition.
    pub workflow_version: Option<u64>,
    /// Where it is.
    pub status: RunStatus,
    /// The sequence number of its last event.
    pub last_seq: u64,
    /// The run whose sub-workflow node started it.
    pub parent: Option<RunId>,
    /// Creation.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// Which runs of a namespace to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only runs of this host workflow id.
    pub workflow_id: Option<String>,
    /// Only runs in this status.
    pub status: Option<RunStatus>,
    /// Only runs created at or after this.
    pub from: Option<Timestamp>,
    /// Only runs created before this.
    pub to: Option<Timestamp>,
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: &str) -> Result<T, Error> {
    row.try_get("", column)
        .map_err(|e| Error::unreadable(TABLE, format!("{column}: {e}")))
}

fn listed(row: &QueryResult) -> Result<ListedRun, Error> {
    let status: String = get(row, "status")?;
    let version: Option<i64> = get(row, "workflow_version")?;
    Ok(ListedRun {
        id: RunId(get(row, "id")?),
        workflow_id: get(row, "workflow_id")?,
        workflow_version: version.and_then(|v| u64::try_from(v).ok()),
        status: serde_json::from_value(serde_json::Value::String(status.clone()))
            .map_err(|_| Error::unreadable(TABLE, format!("status {status}")))?,
        last_seq: u64::try_from(get::<i64>(row, "version")?).unwrap_or_default(),
        parent: get::<Option<uuid::Uuid>>(row, "parent_run")?.map(RunId),
        created_at: time(TABLE, get(row, "created_at")?)?,
        updated_at: time(TABLE, get(row, "updated_at")?)?,
    })
}

/// The conditions of `filter` in `namespace`, parameters numbered from 1.
fn conditions(namespace: &str, filter: &RunFilter) -> (String, Vec<Value>) {
    let mut sql = String::from("namespace = $1");
    let mut values: Vec<Value> = vec![namespace.into()];
    let mut add = |condition: &str, value: Value| {
        values.push(value);
        sql.push_str(&format!(" AND {condition} ${}", values.len()));
    };
    if let Some(workflow) = &filter.workflow_id {
        add("workflow_id =", workflow.clone().into());
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

/// A page of `namespace`'s runs matching `filter`, newest first, and how many match in all.
pub async fn list_runs(
    db: &impl ConnectionTrait,
    namespace: &str,
    filter: &RunFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<ListedRun>, u64), Error> {
    let backend = db.get_database_backend();
    let (conditions, values) = conditions(namespace, filter);
    let count: i64 = match db
        .query_one_raw(statement(
            backend,
            &format!("SELECT COUNT(*) AS n FROM {TABLE} WHERE {conditions}"),
            values.clone(),
        ))
        .await?
    {
        Some(row) => get(&row, "n")?,
        None => 0,
    };
    let mut page_values = values;
    let at = page_values.len();
    page_values.push(i64::try_from(limit).unwrap_or(i64::MAX).into());
    page_values.push(i64::try_from(offset).unwrap_or(i64::MAX).into());
    let rows = db
        .query_all_raw(statement(
            backend,
            &format!(
                "SELECT {COLUMNS} FROM {TABLE} WHERE {conditions} \
                 ORDER BY created_at DESC, id DESC LIMIT ${} OFFSET ${}",
                at + 1,
                at + 2
            ),
            page_values,
        ))
        .await?;
    let runs = rows.iter().map(listed).collect::<Result<Vec<_>, _>>()?;
    Ok((runs, u64::try_from(count).unwrap_or_default()))
}

/// Run `id` if it belongs to `namespace` (a run of another namespace is `None`, like none).
pub async fn find_run(
    db: &impl ConnectionTrait,
    namespace: &str,
    id: RunId,
) -> Result<Option<ListedRun>, Error> {
    db.query_one_raw(statement(
        db.get_database_backend(),
        &format!("SELECT {COLUMNS} FROM {TABLE} WHERE id = $1 AND namespace = $2"),
        vec![id.0.into(), namespace.into()],
    ))
    .await?
    .as_ref()
    .map(listed)
    .transpose()
}

/// Where a run belongs: its namespace and its host workflow id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOrigin {
    /// The namespace (the host's tenant).
    pub namespace: String,
    /// The host's workflow id from its definition (none for a definition without one).
    pub workflow_id: Option<String>,
}

/// The namespace and workflow of run `id`, whatever its namespace (for a host that learns of a
/// run by its id alone, as a live feed does, and then checks the namespace itself).
pub async fn run_origin(db: &impl ConnectionTrait, id: RunId) -> Result<Option<RunOrigin>, Error> {
    let Some(row) = db
        .query_one_raw(statement(
            db.get_database_backend(),
            &format!("SELECT namespace, workflow_id FROM {TABLE} WHERE id = $1"),
            vec![id.0.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(RunOrigin {
        namespace: get(&row, "namespace")?,
        workflow_id: get(&row, "workflow_id")?,
    }))
}
