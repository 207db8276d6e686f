//! Cron jobs in the server: the launcher that starts a fire's target (a workflow run on the
//! engine, or a data query through the runner) and records how it ended, and the ticker
//! worker (`cron_jobs::ticker`) woken through the change bus when a job changes in any process.
//!
//! A fire runs its target as the job (delegated execution: the saver's right to run the target
//! was checked when the job was saved), within the job's tenant. Every fire is in the audit
//! trail as a `CRON_FIRE` entry whose principal is the job.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use cron_jobs::fires::{self, Claimed, FireStatus};
use cron_jobs::jobs::{CronJob, Target};
use cron_jobs::ticker::{Ended, Launch, Launcher, Ticker, TickerConfig};
use datasources::run::{Caller, Runner};
use rbac::{Grants, Subject};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use workflow_engine::{RunId, RunStatus, StartRequest};

use crate::workflow_runtime::WorkflowRuntime;

/// The change-bus topic that wakes every process's ticker (a job was saved or toggled).
pub const TOPIC: &str = "cron-jobs.changed";

/// What the routes need of cron jobs: the launcher (`…/trigger`) and the ticker's wake-up.
#[derive(Clone)]
pub struct Cron {
    /// Starts targets.
    pub launcher: Arc<PlatformLauncher>,
    /// Wakes this process's ticker.
    pub wake: Arc<Notify>,
    bus: change_bus::ChangeBus,
}

impl std::fmt::Debug for Cron {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cron").finish_non_exhaustive()
    }
}

impl Cron {
    /// Tells every process's ticker that a job changed (its next fire time may be earlier).
    pub async fn changed(&self) {
        self.wake.notify_one();
        if let Err(error) = self.bus.publish(TOPIC, "").await {
            // The other processes' tickers still wake at their idle floor.
            tracing::debug!(%error, "could not announce a cron job change");
        }
    }
}

/// Starts the ticker on `workers`; the answer is what the routes use.
pub fn start(
    db: DatabaseConnection,
    workflows: WorkflowRuntime,
    runner: Arc<Runner>,
    bus: change_bus::ChangeBus,
    audit: audit::AuditSink,
    grace: chrono::Duration,
    workers: &mut crate::workers::Workers,
) -> Result<Cron, change_bus::Error> {
    let launcher = Arc::new(PlatformLauncher {
        db: db.clone(),
        workflows,
        runner,
        audit,
    });
    let wake = Arc::new(Notify::new());
    let mut changes = bus.subscribe(TOPIC)?;
    let relay = Arc::clone(&wake);
    workers.spawn("cron-wake", move |stop: CancellationToken| async move {
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                event = changes.recv() => match event {
                    Some(_) => relay.notify_one(),
                    None => return,
                },
            }
        }
    });
    let ticker = Ticker::new(
        db,
        Arc::clone(&launcher) as Arc<dyn Launcher>,
        TickerConfig {
            grace,
            ..TickerConfig::default()
        },
    );
    let ticking = Arc::clone(&wake);
    workers.spawn("cron-ticker", move |stop| ticker.run(ticking, stop));
    Ok(Cron {
        launcher,
        wake,
        bus,
    })
}

/// Starts fires' targets on this server's engine and query runner.
pub struct PlatformLauncher {
    db: DatabaseConnection,
    workflows: WorkflowRuntime,
    runner: Arc<Runner>,
    audit: audit::AuditSink,
}

impl std::fmt::Debug for PlatformLauncher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformLauncher").finish_non_exhaustive()
    }
}

#[async_trait]
impl Launcher for PlatformLauncher {
    async fn launch(&self, fires: &[Launch<'_>]) -> Vec<Result<Option<Uuid>, String>> {
        let began = std::time::Instant::now();
        let mut outcomes: Vec<Result<Option<Uuid>, String>> = Vec::with_capacity(fires.len());
        // The workflow runs of the batch start together (one transaction); each workflow is
        // read once however many of its jobs fire.
        let mut definitions = HashMap::new();
        let mut starts = Vec::new();
        for (index, fire) in fires.iter().enumerate() {
            let job = fire.job;
            let input = match &job.spec.input_values {
                Value::Object(map) => map.clone(),
                _ => Map::new(),
            };
            match job.spec.target {
                Target::Workflow(workflow_id) => {
                    let definition = match definitions.entry((job.tenant_id, workflow_id)) {
                        Entry::Occupied(known) => known.into_mut(),
                        Entry::Vacant(new) => {
                            new.insert(self.runnable(job.tenant_id, workflow_id).await)
                        }
                    };
                    match definition {
                        Ok(workflow) => {
                            starts.push((
                                index,
                                StartRequest {
                                    run_id: RunId(fire.claimed.run_id),
                                    namespace: job.tenant_id.to_string(),
                                    workflow: workflow.clone(),
                                    input: Value::Object(input),
                                },
                            ));
                            // Answered once the batch is started.
                            outcomes.push(Ok(None));
                        }
                        Err(error) => outcomes.push(Err(error.clone())),
                    }
                }
                Target::DataQuery(query_id) => {
                    self.spawn_query(job, fire.claimed, query_id, input);
                    outcomes.push(Ok(None));
                }
            }
        }
        for (index, started) in self.start_runs(starts).await {
            if let (Some(outcome), Some(fire)) = (outcomes.get_mut(index), fires.get(index)) {
                if let Ok(run) = &started {
                    self.follow_run(fire.job, RunId(*run), fire.claimed.fire_id);
                }
                *outcome = started.map(Some);
            }
        }
        for (fire, outcome) in fires.iter().zip(&outcomes) {
            self.audit_fire(fire.job, fire.claimed, outcome, began.elapsed());
        }
        outcomes
    }

    async fn ended(&self, job: &CronJob, fire: &fires::Fire) -> Option<Ended> {
        let now = Utc::now();
        let past_timeout =
            |limit: chrono::Duration| fire.started_at.is_some_and(|started| now - started > limit);
        match job.spec.target {
            Target::Workflow(_) => {
                let run = RunId(fire.instance_id?);
                let namespace = job.tenant_id.to_string();
                let read = namespace.clone();
                let snapshot = self
                    .workflows
                    .call(move |engine| async move { engine.snapshot(&read, run).await })
                    .await
                    .ok()?
                    .ok()?;
                if let Some(ended) = run_end(snapshot.status, snapshot.error, snapshot.output) {
                    return Some(ended);
                }
                let limit = chrono::Duration::seconds(i64::from(job.spec.timeout_secs?));
                if !past_timeout(limit) {
                    return None;
                }
                // Its follower would have cancelled it: do what it would have done.
                Some(cancel_past_timeout(&self.workflows, namespace, run).await)
            }
            // A query runs in the process that launched it: past its time limit (or an hour)
            // and still `running`, that process stopped before recording its end.
            Target::DataQuery(_) => {
                let limit = job
                    .spec
                    .timeout_secs
                    .map_or(chrono::Duration::hours(1), |secs| {
                        chrono::Duration::seconds(i64::from(secs) + 60)
                    });
                past_timeout(limit).then(|| Ended {
                    status: FireStatus::Failed,
                    error: Some("the process running the query stopped before it ended".into()),
                    result: None,
                })
            }
        }
    }
}

/// Cancels `run`, which passed its job's timeout: the fire's end.
async fn cancel_past_timeout(workflows: &WorkflowRuntime, namespace: String, run: RunId) -> Ended {
    let _ = workflows
        .call(move |engine| async move {
            engine
                .cancel(&namespace, run, Some("the cron job's timeout".into()))
                .await
        })
        .await;
    Ended {
        status: FireStatus::TimedOut,
        error: Some("the run passed the job's timeout and was cancelled".into()),
        result: None,
    }
}

/// A fire's end from its run's final status; `None` while the run goes on.
fn run_end(status: RunStatus, error: Option<String>, output: Value) -> Option<Ended> {
    match status {
        RunStatus::Completed => Some(Ended {
            status: FireStatus::Completed,
            error: None,
            result: Some(output),
        }),
        status if status.is_terminal() => Some(Ended {
            status: FireStatus::Failed,
            error: Some(error.unwrap_or_else(|| format!("the run ended {}", status.as_str()))),
            result: None,
        }),
        _ => None,
    }
}

impl PlatformLauncher {
    /// The fire's audit entry: the job is the principal; the status says whether its target
    /// started (202) or could not be started (422); how the target ended is in the history.
    fn audit_fire(
        &self,
        job: &CronJob,
        claimed: &Claimed,
        launched: &Result<Option<Uuid>, String>,
        took: Duration,
    ) {
        let (status, instance_id, error) = match launched {
            Ok(instance_id) => (202, *instance_id, None),
            Err(error) => (422, None, Some(error.clone())),
        };
        self.audit.record(audit::AuditEntry {
            id: Uuid::now_v7(),
            kind: audit::AuditKind::CronFire,
            tenant_id: Some(job.tenant_id),
            user_id: None,
            api_key_id: None,
            method: "CRON".into(),
            route: "cron fire".into(),
            path: format!("/api/v1/tenants/{}/cronjobs/{}", job.tenant_id, job.id),
            status,
            duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            client_ip: None,
            user_agent: None,
            request_body: None,
            metadata: serde_json::json!({
                "cronJobID": job.id,
                "fireID": claimed.fire_id,
                "attempt": claimed.attempt,
                "scheduledFor": claimed.scheduled_for,
                "target": job.spec.target.kind(),
                "targetID": job.spec.target.id(),
                "instanceID": instance_id,
                "error": error,
            }),
            created_at: Utc::now(),
        });
    }

    /// Workflow `workflow_id` of `tenant_id`, if it can run.
    async fn runnable(
        &self,
        tenant_id: Uuid,
        workflow_id: Uuid,
    ) -> Result<workflow_engine::WorkflowDefinition, String> {
        let workflow = workflows::definitions::get(&self.db, tenant_id, workflow_id)
            .await
            .map_err(|error| format!("the workflow could not be loaded: {error}"))?;
        if workflow.summary.is_disabled {
            return Err("the workflow is disabled".into());
        }
        workflow
            .definition()
            .map_err(|error| format!("the workflow cannot run: {error}"))
    }

    /// Starts the fires' runs together (each once: its id comes from the claim, and a run that
    /// exists already was started by an earlier launch of the claim, a recovery after a
    /// crash), answering each start's run or error beside the index it came with.
    async fn start_runs(
        &self,
        starts: Vec<(usize, StartRequest)>,
    ) -> Vec<(usize, Result<Uuid, String>)> {
        if starts.is_empty() {
            return Vec::new();
        }
        let (indices, starts): (Vec<usize>, Vec<StartRequest>) = starts.into_iter().unzip();
        let started = self
            .workflows
            .call(move |engine| async move { engine.start_many(starts).await })
            .await;
        let each: Vec<Result<Uuid, String>> = match started {
            Ok(Ok(each)) => each
                .into_iter()
                .map(|outcome| match outcome {
                    Ok(run) | Err(workflow_engine::Error::RunExists(run)) => Ok(run.0),
                    Err(error) => Err(error.to_string()),
                })
                .collect(),
            Ok(Err(error)) => {
                let error = error.to_string();
                indices.iter().map(|_| Err(error.clone())).collect()
            }
            Err(_) => indices
                .iter()
                .map(|_| Err("the engine could not be reached".to_string()))
                .collect(),
        };
        indices.into_iter().zip(each).collect()
    }

    /// Records the run's end on the fire when it comes (cancelling it past the job's timeout).
    fn follow_run(&self, job: &CronJob, run: RunId, fire_id: Uuid) {
        let (namespace, timeout) = (job.tenant_id.to_string(), job.spec.timeout_secs);
        let retry = job.retry_policy();
        let db = self.db.clone();
        let workflows = self.workflows.clone();
        tokio::spawn(async move {
            let limit = timeout.map(|secs| Duration::from_secs(u64::from(secs)));
            let waited = {
                let namespace = namespace.clone();
                workflows
                    .call(move |engine| async move {
                        match limit {
                            Some(limit) => engine.wait_timeout(&namespace, run, limit).await,
                            None => engine.wait(&namespace, run).await.map(Some),
                        }
                    })
                    .await
            };
            let (status, error, result) = match waited {
                Ok(Ok(Some(snapshot))) => {
                    match run_end(snapshot.status, snapshot.error, snapshot.output) {
                        Some(ended) => (ended.status, ended.error, ended.result),
                        // `wait` answers ended runs only; the settling pass will see it end.
                        None => return,
                    }
                }
                Ok(Ok(None)) => {
                    let ended = cancel_past_timeout(&workflows, namespace, run).await;
                    (ended.status, ended.error, ended.result)
                }
                // This process stops (or the engine failed): the fire stays `running`.
                Ok(Err(error)) => {
                    tracing::warn!(%run, %error, "cron: could not follow a fire's run");
                    return;
                }
                Err(_) => return,
            };
            if let Err(error) =
                fires::finished(&db, fire_id, status, error, result, Utc::now(), retry).await
            {
                tracing::warn!(%fire_id, %error, "cron: could not record a fire's end");
            }
        });
    }

    /// Runs the fire's data query in the background and records its result summary.
    fn spawn_query(
        &self,
        job: &CronJob,
        claimed: &Claimed,
        query_id: Uuid,
        input: Map<String, Value>,
    ) {
        let db = self.db.clone();
        let runner = Arc::clone(&self.runner);
        let (tenant_id, fire_id, retry) = (job.tenant_id, claimed.fire_id, job.retry_policy());
        let timeout = job
            .spec
            .timeout_secs
            .map(|secs| Duration::from_secs(u64::from(secs)));
        tokio::spawn(async move {
            let grants = Grants::new();
            let caller = Caller {
                subject: Subject::System,
                grants: &grants,
                origin: None,
            };
            let run = runner.run_saved(&db, tenant_id, caller, query_id, &input);
            let outcome = match timeout {
                Some(limit) => tokio::time::timeout(limit, run).await.ok(),
                None => Some(run.await),
            };
            let (status, error, result) = match outcome {
                Some(Ok(output)) => (FireStatus::Completed, None, Some(summary(output.to_json()))),
                Some(Err(error)) => (FireStatus::Failed, Some(error.to_string()), None),
                None => (
                    FireStatus::TimedOut,
                    Some("the query passed the job's timeout".into()),
                    None,
                ),
            };
            if let Err(error) =
                fires::finished(&db, fire_id, status, error, result, Utc::now(), retry).await
            {
                tracing::warn!(%fire_id, %error, "cron: could not record a fire's end");
            }
        });
    }
}

/// What the history keeps of a query's result: its counts, not its rows (a nightly export
/// would otherwise copy its whole result into the history every night).
fn summary(result: Value) -> Value {
    let mut kept = Map::new();
    if let Value::Object(fields) = &result {
        for key in [
            "rowCount",
            "truncated",
            "durationMs",
            "affectedRows",
            "status",
        ] {
            if let Some(value) = fields.get(key) {
                kept.insert(key.to_string(), value.clone());
            }
        }
    }
    Value::Object(kept)
}
