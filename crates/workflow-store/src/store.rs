//! [`SqlStore`]: the engine's `RunStore` and `WorkQueue` on the platform database.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use change_bus::ChangeBus;
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbBackend, TransactionTrait, Value,
};
use workflow_engine::{
    Claimed, Commit, Error, Event, FinishedRuns, NewRun, QueuedWork, RunId, RunRecord, RunStatus,
    RunStore, Task, Timestamp, WorkQueue,
};

use crate::announce::Announcer;
use crate::committed::{CommittedRuns, Hints};
use crate::error::engine_error;
use crate::rows::{self, micros};
use crate::sql::{self, RUN_COLUMNS, TASK_COLUMNS, TASK_UPSERT, value_list, value_rows};

/// The engine's store on a platform database (see the crate documentation).
#[derive(Debug)]
pub struct SqlStore {
    db: DatabaseConnection,
    backend: DbBackend,
    announcer: Announcer,
    hints: Hints,
}

impl SqlStore {
    /// A store on `db` (migrated), announcing finished runs on `bus`. Call inside a Tokio
    /// runtime: it subscribes to the bus at once.
    pub fn new(db: DatabaseConnection, bus: ChangeBus) -> Result<Self, crate::Error> {
        let backend = db.get_database_backend();
        let announcer = Announcer::start(bus.clone())?;
        let hints = Hints::start(bus)?;
        Ok(SqlStore {
            db,
            backend,
            announcer,
            hints,
        })
    }

    /// Hints of the runs any process committed events to, for live views: read the log on from
    /// what was delivered when one arrives (see [`crate::Committed`]).
    pub fn committed_runs(&self) -> CommittedRuns {
        self.hints.subscribe()
    }

    /// Deletes up to `limit` runs that finished before `before`, with their events and tasks;
    /// the number deleted (call again while it is `limit`). A child run goes with the run that
    /// started it: it is deleted only once its parent is gone, so a parent never looks for a
    /// child that was purged first.
    pub async fn purge_finished(&self, before: Timestamp, limit: u64) -> Result<u64, Error> {
        let purged = self
            .db
            .execute_raw(self.statement(
                "DELETE FROM engine_runs WHERE id IN (SELECT id FROM engine_runs r \
                 WHERE r.status IN ('COMPLETED', 'FAILED', 'CANCELLED') AND r.updated_at < $1 \
                 AND (r.parent_run IS NULL \
                      OR NOT EXISTS (SELECT 1 FROM engine_runs p WHERE p.id = r.parent_run)) \
                 ORDER BY r.updated_at LIMIT $2)",
                vec![
                    micros(before).into(),
                    i64::try_from(limit).unwrap_or(i64::MAX).into(),
                ],
            ))
            .await
            .map_err(engine_error)?;
        Ok(purged.rows_affected())
    }

    fn statement(&self, sql: &str, values: Vec<Value>) -> sea_orm::Statement {
        sql::statement(self.backend, sql, values)
    }

    async fn insert_run(&self, txn: &DatabaseTransaction, run: &NewRun) -> Result<(), Error> {
        txn.execute_raw(self.statement(
            &format!(
                "INSERT INTO engine_runs ({RUN_COLUMNS}, workflow_id, workflow_version) VALUES {}",
                value_rows(1, RUN_VALUES, 1)
            ),
            run_values(run)?,
        ))
        .await
        .map_err(engine_error)?;
        self.insert_events(txn, run.record.id, &run.events).await?;
        self.enqueue(txn, &run.tasks).await
    }

    /// Inserts the rows of those of `runs` whose id is free, in one statement, and answers
    /// which ids were taken before (those rows are left as they were).
    async fn insert_free_runs(
        &self,
        txn: &DatabaseTransaction,
        runs: &[NewRun],
    ) -> Result<HashSet<RunId>, Error> {
        let mut values = Vec::with_capacity(runs.len() * RUN_VALUES);
        for run in runs {
            values.extend(run_values(run)?);
        }
        let inserted = txn
            .query_all_raw(self.statement(
                &format!(
                    "INSERT INTO engine_runs ({RUN_COLUMNS}, workflow_id, workflow_version) \
                     VALUES {} ON CONFLICT (id) DO NOTHING RETURNING id",
                    value_rows(runs.len(), RUN_VALUES, 1)
                ),
                values,
            ))
            .await
            .map_err(engine_error)?;
        let inserted = inserted
            .iter()
            .map(|row| {
                row.try_get::<uuid::Uuid>("", "id")
                    .map(RunId)
                    .map_err(|e| crate::Error::unreadable("engine_runs", e))
            })
            .collect::<Result<HashSet<_>, _>>()?;
        Ok(runs
            .iter()
            .map(|run| run.record.id)
            .filter(|id| !inserted.contains(id))
            .collect())
    }

    async fn insert_events(
        &self,
        txn: &DatabaseTransaction,
        run: RunId,
        events: &[Event],
    ) -> Result<(), Error> {
        let rows: Vec<(RunId, &Event)> = events.iter().map(|event| (run, event)).collect();
        self.insert_event_rows(txn, &rows).await
    }

    /// Inserts events, each with its run, in one statement.
    async fn insert_event_rows(
        &self,
        txn: &DatabaseTransaction,
        events: &[(RunId, &Event)],
    ) -> Result<(), Error> {
        if events.is_empty() {
            return Ok(());
        }
        let mut values = Vec::with_capacity(events.len() * 4);
        for (run, event) in events {
            values.push(run.0.into());
            values.push(version(event.seq())?.into());
            values.push(micros(event.at()).into());
            values.push(serde_json::to_value(event).map_err(Error::store)?.into());
        }
        txn.execute_raw(self.statement(
            &format!(
                "INSERT INTO engine_events (run_id, seq, at, body) VALUES {}",
                value_rows(events.len(), 4, 1)
            ),
            values,
        ))
        .await
        .map_err(engine_error)?;
        Ok(())
    }

    async fn enqueue(&self, txn: &DatabaseTransaction, tasks: &[Task]) -> Result<(), Error> {
        if tasks.is_empty() {
            return Ok(());
        }
        let mut values = Vec::with_capacity(tasks.len() * 8);
        for task in tasks {
            let due = micros(task.due);
            values.push(task.id.clone().into());
            values.push(task.run.0.into());
            values.push(task.namespace.clone().into());
            values.push(due.into());
            values.push(
                serde_json::to_value(&task.kind)
                    .map_err(Error::store)?
                    .into(),
            );
            values.push(Option::<String>::None.into());
            values.push(due.into());
            values.push(0i32.into());
        }
        txn.execute_raw(self.statement(
            &format!(
                "INSERT INTO engine_tasks ({TASK_COLUMNS}) VALUES {}{TASK_UPSERT}",
                value_rows(tasks.len(), 8, 1)
            ),
            values,
        ))
        .await
        .map_err(engine_error)?;
        Ok(())
    }

    async fn apply(&self, txn: &DatabaseTransaction, commit: &Commit) -> Result<(), Error> {
        // The compare-and-swap comes first: it takes the run's row lock (PostgreSQL) or the
        // write lock (SQLite) before anything else is read or written.
        let (new_version, updated_at) = match commit.events.last() {
            Some(last) => (last.seq(), Some(micros(last.at()))),
            None => (commit.expected_version, None),
        };
        let swapped = txn
            .execute_raw(self.statement(
                "UPDATE engine_runs SET version = $1, status = $2, \
                 updated_at = COALESCE($3, updated_at) WHERE id = $4 AND version = $5",
                vec![
                    version(new_version)?.into(),
                    commit.status.as_str().into(),
                    updated_at.into(),
                    commit.run.0.into(),
                    version(commit.expected_version)?.into(),
                ],
            ))
            .await
            .map_err(engine_error)?;
        if swapped.rows_affected() == 0 {
            let exists = txn
                .query_one_raw(self.statement(
                    "SELECT 1 AS one FROM engine_runs WHERE id = $1",
                    vec![commit.run.0.into()],
                ))
                .await
                .map_err(engine_error)?;
            return Err(match exists {
                Some(_) => Error::Conflict,
                None => Error::RunNotFound,
            });
        }
        self.insert_events(txn, commit.run, &commit.events).await?;
        if !commit.ack.is_empty() {
            txn.execute_raw(self.statement(
                &format!(
                    "DELETE FROM engine_tasks WHERE id IN ({})",
                    value_list(commit.ack.len(), 1)
                ),
                commit.ack.iter().map(|id| id.clone().into()).collect(),
            ))
            .await
            .map_err(engine_error)?;
        }
        if commit.drop_run_tasks {
            txn.execute_raw(self.statement(
                "DELETE FROM engine_tasks WHERE run_id = $1",
                vec![commit.run.0.into()],
            ))
            .await
            .map_err(engine_error)?;
        }
        self.enqueue(txn, &commit.enqueue).await?;
        for run in &commit.new_runs {
            self.insert_run(txn, run).await?;
        }
        Ok(())
    }
}

/// The values of an `engine_runs` row, in the order of [`RUN_COLUMNS`], then the host's
/// workflow id and version.
fn run_values(run: &NewRun) -> Result<Vec<Value>, Error> {
    let record = &run.record;
    let workflow = serde_json::to_value(&record.workflow).map_err(Error::store)?;
    let parent = record.parent.as_ref();
    Ok(vec![
        record.id.0.into(),
        record.namespace.clone().into(),
        workflow.into(),
        parent.map(|p| p.run.0).into(),
        parent.map(|p| p.node.clone()).into(),
        parent.map(|p| i64::from(p.activation)).into(),
        i64::from(record.depth).into(),
        record.status.as_str().into(),
        version(record.version)?.into(),
        micros(record.created_at).into(),
        micros(record.updated_at).into(),
        // The host's workflow id and version, as columns: hosts list runs by them.
        record.workflow.id.clone().into(),
        record
            .workflow
            .version
            .map(i64::try_from)
            .transpose()
            .map_err(Error::store)?
            .into(),
    ])
}

/// Values per `engine_runs` row ([`run_values`]).
const RUN_VALUES: usize = 13;

/// Runs per multi-row insert: 6,500 parameters, under SQLite's 32,766 and PostgreSQL's 65,535.
const RUNS_PER_STATEMENT: usize = 500;

/// Events or tasks per multi-row insert (8 values a task at most: 8,000 parameters).
const ROWS_PER_STATEMENT: usize = 1_000;

/// A version or sequence number as a `BIGINT`.
fn version(value: u64) -> Result<i64, Error> {
    i64::try_from(value).map_err(|_| Error::store("a version beyond i64"))
}

#[async_trait]
impl RunStore for SqlStore {
    async fn create(&self, run: NewRun) -> Result<(), Error> {
        let txn = self.db.begin().await.map_err(engine_error)?;
        self.insert_run(&txn, &run).await?;
        txn.commit().await.map_err(engine_error)?;
        if let Some(last) = run.events.last() {
            self.hints.note(run.record.id, last.seq());
        }
        if !run.tasks.is_empty() {
            self.announcer.queued().await;
        }
        Ok(())
    }

    async fn create_many(&self, runs: Vec<NewRun>) -> Result<Vec<bool>, Error> {
        let txn = self.db.begin().await.map_err(engine_error)?;
        let mut taken = HashSet::new();
        for chunk in runs.chunks(RUNS_PER_STATEMENT) {
            taken.extend(self.insert_free_runs(&txn, chunk).await?);
        }
        let fresh: Vec<&NewRun> = runs
            .iter()
            .filter(|run| !taken.contains(&run.record.id))
            .collect();
        let events: Vec<(RunId, &Event)> = fresh
            .iter()
            .flat_map(|run| run.events.iter().map(|event| (run.record.id, event)))
            .collect();
        for chunk in events.chunks(ROWS_PER_STATEMENT) {
            self.insert_event_rows(&txn, chunk).await?;
        }
        let tasks: Vec<Task> = fresh
            .iter()
            .flat_map(|run| run.tasks.iter().cloned())
            .collect();
        for chunk in tasks.chunks(ROWS_PER_STATEMENT) {
            self.enqueue(&txn, chunk).await?;
        }
        txn.commit().await.map_err(engine_error)?;
        for run in &fresh {
            if let Some(last) = run.events.last() {
                self.hints.note(run.record.id, last.seq());
            }
        }
        if !tasks.is_empty() {
            self.announcer.queued().await;
        }
        Ok(runs
            .iter()
            .map(|run| !taken.contains(&run.record.id))
            .collect())
    }

    async fn commit(&self, commit: Commit) -> Result<(), Error> {
        let txn = self.db.begin().await.map_err(engine_error)?;
        self.apply(&txn, &commit).await?;
        txn.commit().await.map_err(engine_error)?;
        if let Some(last) = commit.events.last() {
            self.hints.note(commit.run, last.seq());
        }
        for child in &commit.new_runs {
            if let Some(last) = child.events.last() {
                self.hints.note(child.record.id, last.seq());
            }
        }
        if commit.status.is_terminal() {
            self.announcer.finished(commit.run).await;
        }
        if !commit.enqueue.is_empty() || commit.new_runs.iter().any(|r| !r.tasks.is_empty()) {
            self.announcer.queued().await;
        }
        Ok(())
    }

    async fn record(&self, run: RunId) -> Result<Option<RunRecord>, Error> {
        let row = self
            .db
            .query_one_raw(self.statement(
                &format!("SELECT {RUN_COLUMNS} FROM engine_runs WHERE id = $1"),
                vec![run.0.into()],
            ))
            .await
            .map_err(engine_error)?;
        Ok(row.as_ref().map(rows::run_record).transpose()?)
    }

    async fn events(&self, run: RunId, after: u64) -> Result<Vec<Event>, Error> {
        let found = self
            .db
            .query_all_raw(self.statement(
                "SELECT body FROM engine_events WHERE run_id = $1 AND seq > $2 ORDER BY seq",
                vec![run.0.into(), version(after)?.into()],
            ))
            .await
            .map_err(engine_error)?;
        Ok(found
            .iter()
            .map(rows::event)
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn runs(
        &self,
        namespace: Option<&str>,
        status: Option<RunStatus>,
    ) -> Result<Vec<RunRecord>, Error> {
        let found = self
            .db
            .query_all_raw(self.statement(
                &format!(
                    "SELECT {RUN_COLUMNS} FROM engine_runs \
                     WHERE ($1 IS NULL OR namespace = $1) AND ($2 IS NULL OR status = $2) \
                     ORDER BY created_at DESC, id DESC"
                ),
                vec![
                    namespace.map(str::to_string).into(),
                    status.map(|s| s.as_str().to_string()).into(),
                ],
            ))
            .await
            .map_err(engine_error)?;
        Ok(found
            .iter()
            .map(rows::run_record)
            .collect::<Result<Vec<_>, _>>()?)
    }

    fn finished_runs(&self) -> Option<FinishedRuns> {
        Some(self.announcer.subscribe())
    }
}

#[async_trait]
impl WorkQueue for SqlStore {
    async fn claim(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Claimed>, Error> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let lease_until = lease_end(now, lease);
        let claimed = self
            .db
            .query_all_raw(self.statement(
                &sql::claim(self.backend),
                vec![
                    micros(now).into(),
                    i64::try_from(max).unwrap_or(i64::MAX).into(),
                    worker.to_string().into(),
                    micros(lease_until).into(),
                ],
            ))
            .await
            .map_err(engine_error)?;
        Ok(claimed
            .iter()
            .map(|row| rows::claimed(row, lease_until))
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn renew(&self, task: &str, worker: &str, until: Timestamp) -> Result<bool, Error> {
        let renewed = self
            .db
            .execute_raw(self.statement(
                "UPDATE engine_tasks SET claimable_at = $1 WHERE id = $2 AND lease_owner = $3",
                vec![
                    micros(until).into(),
                    task.to_string().into(),
                    worker.to_string().into(),
                ],
            ))
            .await
            .map_err(engine_error)?;
        Ok(renewed.rows_affected() > 0)
    }

    fn queued_work(&self) -> Option<QueuedWork> {
        Some(self.announcer.queued_work())
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, Error> {
        let row = self
            .db
            .query_one_raw(
                self.statement("SELECT MIN(claimable_at) AS next FROM engine_tasks", vec![]),
            )
            .await
            .map_err(engine_error)?;
        let next: Option<i64> = match row {
            Some(row) => row
                .try_get("", "next")
                .map_err(|e| crate::Error::unreadable("engine_tasks", e))?,
            None => None,
        };
        Ok(next.map(|at| rows::time("engine_tasks", at)).transpose()?)
    }
}

/// `now + lease`, saturating.
fn lease_end(now: Timestamp, lease: Duration) -> Timestamp {
    chrono::Duration::from_std(lease)
        .ok()
        .and_then(|lease| now.checked_add_signed(lease))
        .unwrap_or(now)
}
