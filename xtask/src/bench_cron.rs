//! `cargo xtask bench cron`: cron fires across two server processes on one PostgreSQL.
//!
//! Starts two release servers on a fresh database and a workflow that does nothing (start →
//! end), so what is measured is the ticker, the claim and the run's start, not the workflow.
//! Two phases, the first the baseline of the second, same processes, same run:
//! 1. one job on `* * * * * *` for [`BASELINE_SECONDS`];
//! 2. [`JOBS`] jobs on `* * * * * *` for [`SECONDS`] (the acceptance: 12,000 fires).
//!
//! In each, the jobs are created disabled and then enabled (over HTTP, alternately on each
//! process), and the window starts two seconds after the last one is enabled. After the window
//! they are disabled again. Then the history is read from the database: every (job, second) of
//! the window must have exactly one row (the count, the duplicates, the missing). Lateness is
//! measured three ways after the fire time: the claim, the run made (the engine's `created_at`
//! of the run, stamped before its row is written), and the start (the fire's `startedAt`: the
//! run is stored, in the same transaction as the rest of the pass's runs). The goal is judged
//! on the start.
//!
//! `JET_BENCH_NO_BUILD=1` measures the release binary already in `target/release` (the build
//! step otherwise rebuilds it when `cargo xtask` runs it with another fingerprint).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

use crate::bench_ws::Latency;
use crate::chaos::processes::{Slot, http_client};
use crate::chaos::workflow::Session;

/// Jobs in the measured phase.
const JOBS: usize = 200;
/// The measured phase's window.
const SECONDS: i64 = 60;
/// The baseline phase's window (one job).
const BASELINE_SECONDS: i64 = 10;
/// Named like test databases, so `cargo xtask test` cleans it up too.
const DATABASE: &str = "jet_test_bench_cron";

/// Runs the benchmark.
pub fn run(_raw: &[String]) -> Result<()> {
    if !crate::postgres::local_server_answers() {
        bail!("bench cron needs PostgreSQL on 127.0.0.1:5432");
    }
    if std::env::var_os("JET_BENCH_NO_BUILD").is_none() {
        crate::run::cargo(
            &["build", "--release", "--quiet", "--package", "jet-server"],
            &[],
            &[],
        )?;
    }
    crate::postgres::recreate_database(crate::postgres::LOCAL_URL, DATABASE)?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(bench())
}

async fn bench() -> Result<()> {
    let dir = Path::new("target/bench-cron");
    let _ = std::fs::remove_dir_all(dir);
    let data_dir = dir.join("data");
    std::fs::create_dir_all(&data_dir)?;
    let data_dir = std::fs::canonicalize(&data_dir)?;
    let url = format!("postgres://postgres@127.0.0.1:5432/{DATABASE}");
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", url.clone()),
        ("JET_DATA_DIR", data_dir.display().to_string()),
        (
            "JET_ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        ),
        ("JET_ALLOW_LOCAL_IDENTITY", "1".into()),
        ("JET_RATE_LIMIT_PER_IP", "0".into()),
        ("JET_RATE_LIMIT_PER_PRINCIPAL", "0".into()),
        (
            "RUST_LOG",
            std::env::var("JET_BENCH_LOG").unwrap_or_else(|_| "warn".into()),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    // Server settings to try, passed through as they are (`DATABASE_MAX_CONNECTIONS=30 …`).
    .chain(std::env::vars().filter(|(k, _)| {
        k == "DATABASE_MAX_CONNECTIONS"
            || k.starts_with("JET_WORKFLOW_")
            || k.starts_with("JET_CRON_")
    }))
    .collect();
    let client = http_client()?;
    let program = std::fs::canonicalize("target/release/jet-server")?;
    let mut slots: Vec<Slot> = ['A', 'B']
        .iter()
        .map(|name| Slot::running(program.clone(), *name, env.clone(), dir))
        .collect();
    for slot in &mut slots {
        slot.start(&client).await?;
    }
    let bases: Vec<String> = slots.iter().map(|s| s.base.clone()).collect();
    let session = Session::create(client, &data_dir, &bases[0]).await?;
    let workflow = session
        .send(
            &bases[0],
            "POST",
            &session.path("workflows"),
            Some(
                json!({"workflowTitle": "nothing", "nodes": [{"id": "start", "type": "start"},
                {"id": "end", "type": "end"}], "edges": [{"source": "start", "target": "end"}]}),
            ),
        )
        .await?["data"]["workflowID"]
        .as_str()
        .context("no workflow id")?
        .to_string();
    let pool = sqlx::PgPool::connect(&url).await?;

    println!("cron fires, two release server processes on one PostgreSQL, jobs on `* * * * * *`");
    let baseline = phase(&session, &bases, &workflow, &pool, 1, BASELINE_SECONDS).await?;
    let measured = phase(&session, &bases, &workflow, &pool, JOBS, SECONDS).await?;
    println!(
        "{:<22} {:>12} {:>4} {:>8} {:>5} {:>22} {:>22} {:>22}",
        "case",
        "fires",
        "dup",
        "missing",
        "fail",
        "claimed p50/p99/max",
        "run made p50/p99/max",
        "started p50/p99/max"
    );
    for outcome in [&baseline, &measured] {
        println!(
            "{:<22} {:>12} {:>4} {:>8} {:>5} {:>22} {:>22} {:>22}",
            format!("{} job(s) × {} s", outcome.jobs, outcome.seconds),
            format!("{}/{}", outcome.fires, outcome.expected),
            outcome.duplicates,
            outcome.missing,
            outcome.failed,
            describe(&outcome.claim),
            describe(&outcome.run),
            describe(&outcome.start)
        );
    }
    println!(
        "(ms after the fire time: claimed; the run made, before its row is written; started, \
         the run stored)"
    );
    println!(
        "{JOBS} jobs vs 1: started p50 ×{:.1}, p99 ×{:.1}; goal p99 ≤ 100 ms: {}",
        measured.start.p50_ms / baseline.start.p50_ms.max(0.001),
        measured.start.p99_ms / baseline.start.p99_ms.max(0.001),
        if measured.start.p99_ms <= 100.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    ensure!(
        measured.duplicates == 0 && measured.missing == 0 && measured.fires == measured.expected,
        "not every (job, second) fired exactly once"
    );
    pool.close().await;
    Ok(())
}

/// A fire as read back: job, fire time, claimed, started, status, and its run's creation
/// (microseconds since the epoch).
type FireRow = (String, i64, i64, Option<i64>, String, Option<i64>);

struct Outcome {
    jobs: usize,
    seconds: i64,
    expected: usize,
    fires: usize,
    duplicates: usize,
    missing: usize,
    failed: usize,
    start: Latency,
    claim: Latency,
    run: Latency,
}

async fn phase(
    session: &Session,
    bases: &[String],
    workflow: &str,
    pool: &sqlx::PgPool,
    jobs: usize,
    seconds: i64,
) -> Result<Outcome> {
    let mut ids = Vec::with_capacity(jobs);
    for n in 0..jobs {
        let made = session
            .send(
                &bases[n % bases.len()],
                "POST",
                &session.path("cronjobs"),
                Some(json!({"cronJobTitle": format!("every second {jobs}/{n}"),
                    "schedule": "* * * * * *", "workflowID": workflow, "enabled": false})),
            )
            .await?;
        ids.push(
            made["data"]["cronJobID"]
                .as_str()
                .context("no job id")?
                .to_string(),
        );
    }
    toggle(session, bases, &ids, "enable").await?;
    let now = chrono::Utc::now().timestamp();
    let (start, end) = (now + 2, now + 2 + seconds);
    let until_end = (end + 3 - chrono::Utc::now().timestamp()).max(0);
    tokio::time::sleep(Duration::from_secs(u64::try_from(until_end)?)).await;
    toggle(session, bases, &ids, "disable").await?;
    // The last fires' starts are recorded as they launch.
    tokio::time::sleep(Duration::from_secs(2)).await;

    let rows: Vec<FireRow> = sqlx::query_as(
        "SELECT f.cron_job_id::text, f.scheduled_for, f.claimed_at, f.started_at, f.status, \
         r.created_at FROM cron_fires f LEFT JOIN engine_runs r ON r.id = f.instance_id \
         WHERE f.tenant_id = $1::uuid AND f.scheduled_for >= $2 AND f.scheduled_for < $3",
    )
    .bind(&session.tenant)
    .bind(start * 1_000_000)
    .bind(end * 1_000_000)
    .fetch_all(pool)
    .await?;
    let ours: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|row| ours.contains(row.0.as_str()))
        .collect();
    let mut per_fire: HashMap<(&str, i64), usize> = HashMap::new();
    for row in &rows {
        *per_fire.entry((row.0.as_str(), row.1)).or_default() += 1;
    }
    let expected = jobs * usize::try_from(seconds)?;
    let fired = per_fire.len();
    let late =
        |at: i64, scheduled: i64| Duration::from_micros(u64::try_from(at - scheduled).unwrap_or(0));
    Ok(Outcome {
        jobs,
        seconds,
        expected,
        fires: rows.len(),
        duplicates: rows.len() - fired,
        missing: expected.saturating_sub(fired),
        failed: rows.iter().filter(|row| row.4 == "failed").count(),
        start: Latency::of(
            rows.iter()
                .filter_map(|row| row.3.map(|started| late(started, row.1)))
                .collect(),
        )?,
        claim: Latency::of(rows.iter().map(|row| late(row.2, row.1)).collect())?,
        run: Latency::of(
            rows.iter()
                .filter_map(|row| row.5.map(|created| late(created, row.1)))
                .collect(),
        )?,
    })
}

/// `POST …/cronjobs/{id}/{action}` for every job, alternately on each process.
async fn toggle(session: &Session, bases: &[String], ids: &[String], action: &str) -> Result<()> {
    for (n, id) in ids.iter().enumerate() {
        let answer: Value = session
            .send(
                &bases[n % bases.len()],
                "POST",
                &session.path(&format!("cronjobs/{id}/{action}")),
                None,
            )
            .await?;
        ensure!(answer["data"].is_object(), "{action} {id}: {answer}");
    }
    Ok(())
}

/// `p50/p99/max` in milliseconds.
fn describe(latency: &Latency) -> String {
    format!(
        "{:.1}/{:.1}/{:.1}",
        latency.p50_ms, latency.p99_ms, latency.max_ms
    )
}
