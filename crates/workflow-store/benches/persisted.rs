//! The engine on the SQL store, against the raw floor of the same database, in the same run
//! (`cargo xtask bench engine --persisted`, which passes the databases as arguments:
//! `persisted -- --sqlite FILE [--postgres URL]`).
//!
//! - **Per-step latency**, one run in flight: a chain of no-op nodes; a step is the time from
//!   one node's completion to the next one's (claim, execute, commit), p50 and p99.
//! - **Throughput**, many runs: 200 runs of 20-node chains, 16 attempts at once; transitions
//!   (node completions) per second.
//! - **The raw floor**: the same writes a step makes, issued directly through sqlx's prepared
//!   statements on the same pool and tables: claim the task (`UPDATE … RETURNING`), then in one
//!   transaction the version swap, two events, the acknowledgement and the next task. Measured
//!   one step after another (latency) and with 16 writers on their own runs (throughput).
//! - On PostgreSQL both are measured twice: as configured, and with `synchronous_commit = off`
//!   on the scratch database, which takes the disk's flush out and leaves the engine's cost.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use change_bus::ChangeBus;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use workflow_engine::{
    Completion, Engine, EngineConfig, EngineEvent, EngineEventKind, EventSink, Handles,
    NodeDefinition, NodeError, NodeHandler, NodeInput, NodeOutcome, RunId, WorkflowDefinition,
};
use workflow_store::SqlStore;

const CHAIN: usize = 300;
const RUNS: usize = 200;
const RUN_NODES: usize = 20;
const IN_FLIGHT: usize = 16;

#[derive(Debug)]
struct Noop;

#[async_trait]
impl NodeHandler for Noop {
    fn node_type(&self) -> &str {
        "noop"
    }
    fn handles(&self, _node: &NodeDefinition) -> Handles {
        Handles::of(&["output"])
    }
    async fn execute(&self, _input: NodeInput) -> Result<NodeOutcome, NodeError> {
        Ok(NodeOutcome::Complete(Completion::on("output", Value::Null)))
    }
}

/// When each node completion was published.
#[derive(Debug, Default)]
struct Completions(Mutex<Vec<(RunId, Instant)>>);

impl EventSink for Completions {
    fn publish(&self, event: EngineEvent) {
        if matches!(event.kind, EngineEventKind::NodeCompleted { .. }) {
            self.0.lock().unwrap().push((event.run_id, Instant::now()));
        }
    }
}

fn chain(n: usize) -> WorkflowDefinition {
    let mut nodes = vec![json!({"id": "start", "type": "start"})];
    let mut edges = Vec::new();
    let mut previous = "start".to_string();
    for i in 0..n {
        let id = format!("n{i}");
        nodes.push(json!({"id": id, "type": "noop"}));
        edges.push(json!({"source": previous, "target": id}));
        previous = id;
    }
    serde_json::from_value(json!({"nodes": nodes, "edges": edges})).unwrap()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Figures {
    p50: Duration,
    p99: Duration,
    per_second: f64,
}

async fn engine_figures(db: &DatabaseConnection) -> Figures {
    let store = Arc::new(SqlStore::new(db.clone(), ChangeBus::in_process()).unwrap());
    let completions = Arc::new(Completions::default());
    let engine = Engine::builder(store)
        .node_type(Arc::new(Noop))
        .events(completions.clone())
        .config(EngineConfig {
            concurrency: IN_FLIGHT,
            ..EngineConfig::default()
        })
        .build()
        .unwrap();
    // Latency: one run in flight.
    let run = engine
        .start("bench", chain(CHAIN), json!({}))
        .await
        .unwrap();
    engine.wait("bench", run).await.unwrap();
    let times: Vec<Instant> = completions
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(r, _)| *r == run)
        .map(|(_, at)| *at)
        .collect();
    let mut steps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
    steps.sort();
    // Throughput: many runs.
    completions.0.lock().unwrap().clear();
    let workflow = chain(RUN_NODES);
    let started = Instant::now();
    let mut runs = Vec::new();
    for _ in 0..RUNS {
        runs.push(
            engine
                .start("bench", workflow.clone(), json!({}))
                .await
                .unwrap(),
        );
    }
    for run in runs {
        engine.wait("bench", run).await.unwrap();
    }
    let elapsed = started.elapsed();
    let transitions = completions.0.lock().unwrap().len();
    engine.shutdown().await;
    Figures {
        p50: percentile(&steps, 0.5),
        p99: percentile(&steps, 0.99),
        per_second: transitions as f64 / elapsed.as_secs_f64(),
    }
}

/// The raw writes of steps, on `db`'s own pool (see the module documentation).
mod raw {
    use super::*;
    use sqlx::{Acquire, Database, Executor, IntoArguments, Pool};

    /// One run's row and its first task, in the engine's tables.
    pub(super) async fn seed<DB: Database>(pool: &Pool<DB>, run: uuid::Uuid, namespace: &str)
    where
        for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
        for<'q> <DB as Database>::Arguments: IntoArguments<DB>,
        for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> sqlx::types::Json<Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        sqlx::query(
            "INSERT INTO engine_runs (id, namespace, workflow, parent_run, parent_node, \
             parent_activation, depth, status, version, created_at, updated_at) \
             VALUES ($1, $2, $3, NULL, NULL, NULL, 0, 'RUNNING', 0, 0, 0)",
        )
        .bind(run)
        .bind(namespace.to_string())
        .bind(sqlx::types::Json(json!({})))
        .execute(pool)
        .await
        .unwrap();
        task(pool, run, 0).await;
    }

    async fn task<'e, DB: Database, E: Executor<'e, Database = DB>>(
        executor: E,
        run: uuid::Uuid,
        step: i64,
    ) where
        for<'q> <DB as Database>::Arguments: IntoArguments<DB>,
        for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> sqlx::types::Json<Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        sqlx::query(
            "INSERT INTO engine_tasks (id, run_id, namespace, due, kind, lease_owner, \
             claimable_at, deliveries) VALUES ($1, $2, 'raw', 0, $3, NULL, 0, 0)",
        )
        .bind(format!("{run}:{step}"))
        .bind(run)
        .bind(sqlx::types::Json(
            json!({"kind": "execute", "node": "n", "activation": 1, "attempt": 1}),
        ))
        .execute(executor)
        .await
        .unwrap();
    }

    /// One step of `run`: claim its task, then swap the version, append two events, delete the
    /// task and queue the next, in one transaction.
    pub(super) async fn step<DB: Database>(pool: &Pool<DB>, run: uuid::Uuid, step: i64)
    where
        for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
        for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
        for<'q> <DB as Database>::Arguments: IntoArguments<DB>,
        for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        for<'q> sqlx::types::Json<Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let id = format!("{run}:{step}");
        sqlx::query(
            "UPDATE engine_tasks SET lease_owner = 'raw', claimable_at = $1, \
             deliveries = deliveries + 1 WHERE id = $2 AND claimable_at <= $3 \
             RETURNING id, run_id, namespace, due, kind, deliveries",
        )
        .bind(i64::MAX)
        .bind(id.clone())
        .bind(i64::MAX - 1)
        .fetch_optional(pool)
        .await
        .unwrap();
        let mut connection = pool.acquire().await.unwrap();
        let mut txn = connection.begin().await.unwrap();
        let version = step * 2;
        sqlx::query("UPDATE engine_runs SET version = $1, status = 'RUNNING', updated_at = $2 WHERE id = $3 AND version = $4")
            .bind(version + 2)
            .bind(version)
            .bind(run)
            .bind(version)
            .execute(&mut *txn)
            .await
            .unwrap();
        sqlx::query("INSERT INTO engine_events (run_id, seq, at, body) VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)")
            .bind(run)
            .bind(version + 1)
            .bind(version)
            .bind(sqlx::types::Json(json!({"seq": version + 1, "type": "nodeCompleted", "node": "n", "output": null})))
            .bind(run)
            .bind(version + 2)
            .bind(version)
            .bind(sqlx::types::Json(json!({"seq": version + 2, "type": "nodeDispatched", "node": "n"})))
            .execute(&mut *txn)
            .await
            .unwrap();
        sqlx::query("DELETE FROM engine_tasks WHERE id = $1")
            .bind(id)
            .execute(&mut *txn)
            .await
            .unwrap();
        task(&mut *txn, run, step + 1).await;
        txn.commit().await.unwrap();
    }
}

async fn raw_figures<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> Figures
where
    for<'c> &'c sqlx::Pool<DB>: sqlx::Executor<'c, Database = DB>,
    for<'c> &'c mut <DB as sqlx::Database>::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> <DB as sqlx::Database>::Arguments: sqlx::IntoArguments<DB>,
    for<'q> uuid::Uuid: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i32: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> sqlx::types::Json<Value>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let run = uuid::Uuid::now_v7();
    raw::seed(pool, run, "raw").await;
    let mut steps = Vec::with_capacity(CHAIN);
    for n in 0..CHAIN as i64 {
        let started = Instant::now();
        raw::step(pool, run, n).await;
        steps.push(started.elapsed());
    }
    steps.sort();
    let total = RUNS * RUN_NODES;
    let per_writer = total / IN_FLIGHT;
    let started = Instant::now();
    let mut writers = Vec::new();
    for _ in 0..IN_FLIGHT {
        let pool = pool.clone();
        writers.push(async move {
            let run = uuid::Uuid::now_v7();
            raw::seed(&pool, run, "raw").await;
            for n in 0..per_writer as i64 {
                raw::step(&pool, run, n).await;
            }
        });
    }
    futures_join_all(writers).await;
    let elapsed = started.elapsed();
    Figures {
        p50: percentile(&steps, 0.5),
        p99: percentile(&steps, 0.99),
        per_second: (per_writer * IN_FLIGHT) as f64 / elapsed.as_secs_f64(),
    }
}

async fn futures_join_all<F: std::future::Future<Output = ()> + Send + 'static>(futures: Vec<F>) {
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    for handle in handles {
        handle.await.unwrap();
    }
}

fn report(name: &str, engine: &Figures, raw: &Figures) {
    println!("\n{name}");
    println!(
        "  per step, one run:   engine p50 {:.3} ms  p99 {:.3} ms   raw p50 {:.3} ms  p99 {:.3} ms   p50 ratio {:.2}x",
        ms(engine.p50),
        ms(engine.p99),
        ms(raw.p50),
        ms(raw.p99),
        ms(engine.p50) / ms(raw.p50)
    );
    println!(
        "  throughput:          engine {:.0} transitions/s   raw {:.0} steps/s   engine = {:.1} % of raw",
        engine.per_second,
        raw.per_second,
        100.0 * engine.per_second / raw.per_second
    );
}

async fn open(url: &str) -> DatabaseConnection {
    let mut config = database::DatabaseConfig::new(url);
    config.max_connections = 20;
    database::migrate(&config).await.unwrap();
    database::connect(&config).await.unwrap()
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    if let Some(file) = value("--sqlite") {
        let db = open(&format!("sqlite://{file}?mode=rwc")).await;
        let engine = engine_figures(&db).await;
        let raw = raw_figures(db.get_sqlite_connection_pool()).await;
        report("SQLite (embedded default)", &engine, &raw);
    }
    if let Some(url) = value("--postgres") {
        let db = open(&url).await;
        let engine = engine_figures(&db).await;
        let raw = raw_figures(db.get_postgres_connection_pool()).await;
        report("PostgreSQL", &engine, &raw);
        // Without waiting for the WAL flush, to show what the engine costs above the disk.
        // Only this scratch database is changed; the setting applies to new sessions.
        use sea_orm::ConnectionTrait;
        db.execute_unprepared(
            "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET synchronous_commit = off', \
             current_database()); END $$",
        )
        .await
        .unwrap();
        db.close().await.unwrap();
        let db = open(&url).await;
        let engine = engine_figures(&db).await;
        let raw = raw_figures(db.get_postgres_connection_pool()).await;
        report(
            "PostgreSQL, synchronous_commit = off (no WAL flush wait: the engine's own cost)",
            &engine,
            &raw,
        );
    }
}
