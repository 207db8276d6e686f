//! The engine: the public API embedders call, wired to the dispatcher ([`worker`]), the run
//! cache and commit loop ([`runs`]) and the transition rules ([`transition`]).

mod batch;
mod idle;
mod runs;
mod snapshot;
mod transition;
mod worker;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::event::Event;
use crate::graph::{CompiledWorkflow, NodeSettingsDefaults, compile};
use crate::host::{DataQueryRunner, ScriptRunner, WorkflowSource};
use crate::inputs;
use crate::model::WorkflowDefinition;
use crate::node::{NodeHandler, Services};
use crate::observe::EventSink;
use crate::registry::Registry;
use crate::run::{RunId, Timestamp};
use crate::state::RunState;
use crate::store::{FinishedRun, Store};

pub use batch::StartRequest;
pub use snapshot::{CancelOutcome, NodeStatus, NodeSummary, PendingRequest, RunSnapshot};

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Node attempts running at once in this engine (default 10). 0: this engine claims
    /// nothing; it starts, reads, cancels and answers runs that engines elsewhere on the same
    /// store execute (a front-end process), and its [`Engine::idle`] never reports.
    pub concurrency: usize,
    /// How long a claimed task is reserved; renewed every third of it while the attempt runs.
    /// After a crash, another engine resumes the task once this lapses (default 60 s).
    pub lease: Duration,
    /// How often an idle dispatcher looks for work other processes queued (default 1 s).
    pub poll_interval: Duration,
    /// Defaults for nodes that set nothing.
    pub node_defaults: NodeSettingsDefaults,
    /// This engine's name in leases (default: a random one).
    pub worker_id: Option<String>,
    /// What one run may grow to.
    pub limits: RunLimits,
}

/// What one run may grow to; a run that goes over fails with a message naming the limit, so a
/// runaway loop or an oversized result cannot fill the store or the memory of every process
/// that loads the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// The run's context as JSON, in bytes (default 16 MiB).
    pub max_context_bytes: usize,
    /// Events in the run's log (default 1,000,000; a loop iteration records about three).
    pub max_events: u64,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            max_context_bytes: 16 * 1024 * 1024,
            max_events: 1_000_000,
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            concurrency: 10,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            node_defaults: NodeSettingsDefaults::default(),
            worker_id: None,
            limits: RunLimits::default(),
        }
    }
}

/// Builds an [`Engine`].
#[derive(Debug)]
pub struct EngineBuilder {
    store: Arc<dyn Store>,
    registry: Registry,
    scripts: Option<Arc<dyn ScriptRunner>>,
    data_queries: Option<Arc<dyn DataQueryRunner>>,
    workflows: Option<Arc<dyn WorkflowSource>>,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
    config: EngineConfig,
}

impl EngineBuilder {
    /// Registers a host node type (or replaces a built-in).
    pub fn node_type(mut self, handler: Arc<dyn NodeHandler>) -> Self {
        self.registry.register(handler);
        self
    }

    /// The JavaScript runner for `javascript` nodes and `expression` conditions.
    pub fn scripts(mut self, runner: Arc<dyn ScriptRunner>) -> Self {
        self.scripts = Some(runner);
        self
    }

    /// The runner of `dataQuery` nodes.
    pub fn data_queries(mut self, runner: Arc<dyn DataQueryRunner>) -> Self {
        self.data_queries = Some(runner);
        self
    }

    /// Where `subWorkflow` nodes find their workflows.
    pub fn workflows(mut self, source: Arc<dyn WorkflowSource>) -> Self {
        self.workflows = Some(source);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where published events go.
    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Settings.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Starts the engine's dispatcher on the current Tokio runtime.
    pub fn build(self) -> Result<Engine, Error> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let worker = self
            .config
            .worker_id
            .clone()
            .unwrap_or_else(|| format!("engine-{}", uuid::Uuid::new_v4().simple()));
        let (finished, _) = broadcast::channel(1024);
        let shutdown = CancellationToken::new();
        let draining = shutdown.child_token();
        let core = Arc::new_cyclic(|me| Core {
            me: me.clone(),
            store: self.store,
            services: Services {
                scripts: self.scripts,
                data_queries: self.data_queries,
                workflows: self.workflows,
                clock: Arc::clone(&self.clock),
            },
            registry: self.registry,
            clock: self.clock,
            sink: self.sink,
            config: self.config,
            worker,
            cache: Mutex::new(HashMap::new()),
            run_tokens: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            idle: idle::IdleSignal::default(),
            finished,
            draining,
            shutdown,
            tracker: TaskTracker::new(),
        });
        core.tracker
            .spawn_on(worker::dispatch(Arc::clone(&core)), &runtime);
        Ok(Engine { core })
    }
}

/// Shared by the engine handle, the dispatcher and the workers.
#[derive(Debug)]
pub(crate) struct Core {
    me: Weak<Core>,
    store: Arc<dyn Store>,
    registry: Registry,
    services: Services,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn EventSink>>,
    config: EngineConfig,
    worker: String,
    cache: Mutex<HashMap<RunId, Arc<tokio::sync::Mutex<Option<RunState>>>>>,
    run_tokens: Mutex<HashMap<RunId, CancellationToken>>,
    wake: Notify,
    /// Reports passes of the dispatcher that found nothing to do ([`Engine::idle`]).
    idle: idle::IdleSignal,
    /// Final snapshots of runs finished by this engine (the live state, which the property
    /// tests show equals the fold of the log), so `wait` need not replay the log.
    finished: broadcast::Sender<(RunId, Arc<RunSnapshot>)>,
    /// Cancelled when the engine stops claiming work (a drain, or shutdown: it is a child of
    /// `shutdown`); attempts in flight go on.
    draining: CancellationToken,
    /// Cancelled when attempts in flight are abandoned.
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

/// A run of another namespace is reported exactly like a run that does not exist.
fn owned(state: &RunState, namespace: &str) -> Result<(), Error> {
    if state.namespace == namespace {
        Ok(())
    } else {
        Err(Error::RunNotFound)
    }
}

/// The workflow engine. Dropping it stops its dispatcher and abandons in-flight attempts, whose
/// tasks another engine on the same store resumes when their leases lapse.
#[derive(Debug)]
pub struct Engine {
    core: Arc<Core>,
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.core.shutdown.cancel();
    }
}

impl Engine {
    /// An engine over `store` with the built-in node types and the system clock.
    pub fn builder(store: Arc<dyn Store>) -> EngineBuilder {
        EngineBuilder {
            store,
            registry: Registry::with_builtins(),
            scripts: None,
            data_queries: None,
            workflows: None,
            clock: Arc::new(SystemClock),
            sink: None,
            config: EngineConfig::default(),
        }
    }

    /// Checks a workflow as [`start`](Engine::start) would, without running it: every problem
    /// is listed in [`Error::InvalidDefinition`], each with its node, edge or field.
    pub fn validate(&self, workflow: &WorkflowDefinition) -> Result<(), Error> {
        self.compile(workflow.clone()).map(drop)
    }

    fn compile(&self, workflow: WorkflowDefinition) -> Result<CompiledWorkflow, Error> {
        compile(
            workflow,
            &self.core.registry,
            self.core.config.node_defaults,
            &self.core.services.available(),
        )
    }

    /// The node types this engine knows.
    pub fn node_types(&self) -> Vec<&str> {
        self.core.registry.types()
    }

    /// Starts a run of `workflow` in `namespace` with `input` (checked against the workflow's
    /// input definitions).
    pub async fn start(
        &self,
        namespace: &str,
        workflow: WorkflowDefinition,
        input: Value,
    ) -> Result<RunId, Error> {
        self.start_as(RunId::new(), namespace, workflow, input)
            .await
    }

    /// [`start`](Engine::start) with an id the caller chose: at most one run ever has it, so
    /// a start that may be attempted twice (a scheduler firing after a crash, a retried
    /// request carrying an idempotency key) starts one run. The second attempt gets
    /// [`Error::RunExists`] and nothing else happens. Ids should be UUIDv7-shaped (ids sort by
    /// creation time); derive them from what makes the start unique.
    pub async fn start_as(
        &self,
        run_id: RunId,
        namespace: &str,
        workflow: WorkflowDefinition,
        input: Value,
    ) -> Result<RunId, Error> {
        let run = self.new_run(run_id, namespace, workflow, input)?;
        let publish = self.events_to_publish(&run);
        match self.core.store.create(run).await {
            Ok(()) => {}
            Err(Error::Conflict) => return Err(Error::RunExists(run_id)),
            Err(other) => return Err(other),
        }
        self.publish(publish);
        self.core.wake.notify_one();
        Ok(run_id)
    }

    /// A new run of `workflow` (compiled, its input checked), not stored yet.
    fn new_run(
        &self,
        run_id: RunId,
        namespace: &str,
        workflow: WorkflowDefinition,
        input: Value,
    ) -> Result<crate::store::NewRun, Error> {
        let compiled = self.compile(workflow)?;
        let input = inputs::check(&compiled.definition().options.input_definitions, input)?;
        let (run, _) = transition::new_run(
            run_id,
            namespace.to_string(),
            Arc::new(compiled),
            input,
            None,
            0,
            self.core.clock.now(),
        );
        Ok(run)
    }

    /// What the event sink (if any) is told once `run` is stored.
    fn events_to_publish(
        &self,
        run: &crate::store::NewRun,
    ) -> Option<Vec<crate::observe::EngineEvent>> {
        self.core.sink.as_ref().map(|_| {
            crate::observe::published_events(
                run.record.id,
                &run.record.namespace,
                &run.events,
                || Value::Null,
            )
        })
    }

    fn publish(&self, events: Option<Vec<crate::observe::EngineEvent>>) {
        if let (Some(sink), Some(events)) = (&self.core.sink, events) {
            events.into_iter().for_each(|event| sink.publish(event));
        }
    }

    async fn owned_state(&self, namespace: &str, run: RunId) -> Result<RunState, Error> {
        let state = self.core.load(run).await?;
        owned(&state, namespace)?;
        Ok(state)
    }

    async fn check_namespace(&self, namespace: &str, run: RunId) -> Result<(), Error> {
        match self.core.store.record(run).await? {
            Some(record) if record.namespace == namespace => Ok(()),
            _ => Err(Error::RunNotFound),
        }
    }

    /// Cancels a run: nothing new starts, in-flight attempts are told to stop, children are
    /// cancelled. A run that already ended is left as it is, and the outcome says so
    /// ([`CancelOutcome::AlreadyFinished`], [`CancelOutcome::AlreadyCancelled`]): a caller
    /// racing the run's completion can ignore those.
    pub async fn cancel(
        &self,
        namespace: &str,
        run: RunId,
        reason: Option<String>,
    ) -> Result<CancelOutcome, Error> {
        self.core
            .transact(run, |_, state, tx| {
                owned(state, namespace)?;
                Ok(transition::cancel(state, tx, reason.clone()))
            })
            .await
    }

    /// Restarts a failed run from the node(s) whose failure failed it, with a new attempt and
    /// the context as it was.
    pub async fn restart(&self, namespace: &str, run: RunId) -> Result<(), Error> {
        self.core
            .transact(run, |_, state, tx| {
                owned(state, namespace)?;
                transition::restart(state, tx)
            })
            .await
    }

    /// Answers a suspended node's request (a form submission, an approval decision).
    pub async fn submit(
        &self,
        namespace: &str,
        run: RunId,
        request_id: &str,
        data: Value,
    ) -> Result<(), Error> {
        self.core
            .transact(run, |_, state, tx| {
                owned(state, namespace)?;
                transition::submit(state, tx, request_id, data.clone())
            })
            .await
    }

    /// The run's current state, folded from the store's log.
    pub async fn snapshot(&self, namespace: &str, run: RunId) -> Result<RunSnapshot, Error> {
        Ok(RunSnapshot::of(&self.owned_state(namespace, run).await?))
    }

    /// The run's event log.
    pub async fn events(&self, namespace: &str, run: RunId) -> Result<Vec<Event>, Error> {
        self.check_namespace(namespace, run).await?;
        self.core.store.events(run, 0).await
    }

    /// Waits until the run finishes, whichever engine finishes it, and returns its final
    /// snapshot.
    ///
    /// Nothing polls: a run this engine finishes hands its final snapshot over directly, and a
    /// run another engine finishes is announced by the store ([`RunStore::finished_runs`]).
    /// Only with a store that announces nothing does `wait` re-read the run, every
    /// [`EngineConfig::poll_interval`].
    ///
    /// [`RunStore::finished_runs`]: crate::RunStore::finished_runs
    pub async fn wait(&self, namespace: &str, run: RunId) -> Result<RunSnapshot, Error> {
        // Subscribe before reading, so a finish between the read and the wait is not missed.
        let mut local = self.core.finished.subscribe();
        let mut announced = self.core.store.finished_runs();
        match self.core.store.record(run).await? {
            Some(record) if record.namespace != namespace => return Err(Error::RunNotFound),
            None => return Err(Error::RunNotFound),
            Some(record) if record.status.is_terminal() => {
                return self.snapshot(namespace, run).await;
            }
            Some(_) => {}
        }
        loop {
            let poll = self.core.config.poll_interval;
            tokio::select! {
                biased;
                received = local.recv() => match received {
                    Ok((id, snapshot)) if id == run => {
                        if snapshot.namespace != namespace {
                            return Err(Error::RunNotFound);
                        }
                        return Ok(RunSnapshot::clone(&snapshot));
                    }
                    Ok(_) => continue,
                    // Missed some: the run may be among them.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return Err(Error::ShuttingDown),
                },
                heard = next_announcement(&mut announced, poll) => match heard {
                    FinishedRun::Finished(id) if id != run => continue,
                    _ => {}
                },
                () = self.core.shutdown.cancelled() => return Err(Error::ShuttingDown),
            }
            let state = self.owned_state(namespace, run).await?;
            if state.status.is_terminal() {
                return Ok(RunSnapshot::of(&state));
            }
        }
    }

    /// [`wait`](Engine::wait), for at most `timeout`: `None` when the run is still going then.
    pub async fn wait_timeout(
        &self,
        namespace: &str,
        run: RunId,
        timeout: Duration,
    ) -> Result<Option<RunSnapshot>, Error> {
        match tokio::time::timeout(timeout, self.wait(namespace, run)).await {
            Ok(outcome) => outcome.map(Some),
            Err(_) => Ok(None),
        }
    }

    /// Resolves once this engine's dispatcher has found, after the call, nothing due to claim
    /// and no attempt of its own in flight (or the engine is shutting down). Time-driven work is
    /// due only when the engine's clock says so: with a [`FakeClock`](crate::FakeClock), `idle`
    /// after `advance` means everything the advance made due has run, and whatever has not run
    /// was not due. Work other engines on the store are doing is not waited for.
    pub async fn idle(&self) {
        let ticket = self.core.idle.request();
        self.core.wake.notify_one();
        tokio::select! {
            () = self.core.idle.reached(ticket) => {}
            () = self.core.shutdown.cancelled() => {}
        }
    }

    /// Stops claiming work and lets the attempts in flight finish and commit for up to `grace`;
    /// those still running then are abandoned as by [`Engine::shutdown`] (their leases lapse
    /// and any engine on the store resumes them). For a server's graceful stop: what finishes
    /// in time is not run twice. The engine claims nothing afterwards.
    pub async fn drain(&self, grace: Duration) {
        self.core.draining.cancel();
        self.core.tracker.close();
        if tokio::time::timeout(grace, self.core.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                ?grace,
                "node attempts still running after the grace period are abandoned; \
                 another process resumes them when their leases lapse"
            );
            self.core.shutdown.cancel();
            self.core.tracker.wait().await;
        }
    }

    /// Stops claiming work, abandons in-flight attempts (their leases lapse and any engine on
    /// the store resumes them) and waits for the workers to return.
    pub async fn shutdown(self) {
        self.core.shutdown.cancel();
        self.core.tracker.close();
        self.core.tracker.wait().await;
    }

    /// The engine's clock.
    pub fn now(&self) -> Timestamp {
        self.core.clock.now()
    }
}

/// The next announcement of a finished run; with a store that announces nothing, a tick every
/// `poll` (reported as [`FinishedRun::Missed`], so the waiter re-reads).
async fn next_announcement(
    announced: &mut Option<crate::store::FinishedRuns>,
    poll: Duration,
) -> FinishedRun {
    match announced {
        Some(runs) => match runs.next().await {
            Some(heard) => heard,
            None => {
                *announced = None;
                FinishedRun::Missed
            }
        },
        None => {
            tokio::time::sleep(poll).await;
            FinishedRun::Missed
        }
    }
}
