//! `cargo xtask chaos`: runs survive `kill -9`.
//!
//! ```text
//! cargo xtask chaos [--runs 200] [--nodes 20] [--seconds 60] [--sqlite]
//! ```
//!
//! On PostgreSQL it starts two server processes on one fresh database, creates a workflow of
//! `--nodes` nodes (JavaScript, delays, effects, a diamond with a join) and starts `--runs` runs
//! of it over the first two thirds of `--seconds`, while every 3–5 s it sends `kill -9` to a
//! random process and starts it again. Then it waits for the runs to settle and checks: every run
//! COMPLETED, none stuck, every completed attempt of an effect node recorded its effect exactly
//! once (a data query inserting the attempt's idempotency key, which absorbs redeliveries), and
//! both processes ran nodes. `--sqlite` is the single-process variant on the embedded default.
//! Logs stay in `target/chaos/`.

mod check;
pub mod processes;
pub mod workflow;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

use crate::args::Args;
use processes::Slot;
use workflow::Session;

/// Named like test databases, so `cargo xtask test` cleans them up too.
const PLATFORM_DATABASE: &str = "jet_test_chaos";
const EFFECTS_DATABASE: &str = "jet_test_chaos_effects";

struct Plan {
    runs: usize,
    nodes: usize,
    seconds: u64,
    postgres: bool,
}

/// Entry point.
pub fn run(raw: &[String]) -> Result<()> {
    let args = Args::parse(raw, &["sqlite"])?;
    let number = |name: &str, default: u64| -> Result<u64> {
        args.value(name)
            .map(str::parse)
            .transpose()
            .with_context(|| format!("--{name} must be a whole number"))
            .map(|v| v.unwrap_or(default))
    };
    let plan = Plan {
        runs: usize::try_from(number("runs", 200)?)?,
        nodes: usize::try_from(number("nodes", 20)?)?.max(8),
        seconds: number("seconds", 60)?,
        postgres: !args.switch("sqlite"),
    };
    if plan.postgres && !crate::postgres::local_server_answers() {
        bail!("chaos on PostgreSQL needs the server on 127.0.0.1:5432 (or pass --sqlite)");
    }
    crate::run::cargo(&["build", "--quiet", "--package", "jet-server"], &[], &[])?;
    if plan.postgres {
        // (Each makes its own runtime: before ours.)
        crate::postgres::recreate_database(crate::postgres::LOCAL_URL, PLATFORM_DATABASE)?;
        crate::postgres::recreate_database(crate::postgres::LOCAL_URL, EFFECTS_DATABASE)?;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(chaos(&plan))
}

/// A small xorshift generator: enough to pick victims and intervals.
struct Dice(u64);

impl Dice {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64);
        Dice(seed | 1)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

async fn chaos(plan: &Plan) -> Result<()> {
    let dir = Path::new("target/chaos");
    let _ = std::fs::remove_dir_all(dir);
    let data_dir = dir.join("data");
    let sqlite_dir = data_dir.join("datasources");
    std::fs::create_dir_all(&sqlite_dir)?;
    let data_dir = std::fs::canonicalize(&data_dir)?;
    let mut env: Vec<(String, String)> = [
        ("JET_DATA_DIR", data_dir.display().to_string()),
        ("JET_WORKFLOW_LEASE_SECS", "3".into()),
        ("JET_WORKFLOW_POLL_MS", "250".into()),
        ("JET_RATE_LIMIT_PER_IP", "0".into()),
        ("JET_RATE_LIMIT_PER_PRINCIPAL", "0".into()),
        ("RUST_LOG", "warn,workflow_engine=debug".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();

    let (effects_url, datasource) = if plan.postgres {
        env.push((
            "DATABASE_URL".into(),
            format!("postgres://postgres@127.0.0.1:5432/{PLATFORM_DATABASE}"),
        ));
        env.push((
            "JET_ENCRYPTION_KEY".into(),
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
        ));
        env.push(("JET_ALLOW_LOCAL_IDENTITY".into(), "1".into()));
        (
            format!("postgres://postgres@127.0.0.1:5432/{EFFECTS_DATABASE}"),
            json!({"datasourceTitle": "effects", "datasourceType": "postgresql",
                "datasourceOptions": {"host": "127.0.0.1", "port": 5432, "user": "postgres",
                    "database": EFFECTS_DATABASE, "sslMode": "disable"}}),
        )
    } else {
        let file = sqlite_dir.join("effects.db");
        (
            format!(
                "sqlite://{}?mode=rwc",
                std::fs::canonicalize(&sqlite_dir)?
                    .join("effects.db")
                    .display()
            ),
            json!({"datasourceTitle": "effects", "datasourceType": "sqlite",
                "datasourceOptions": {"path": file.file_name().and_then(|f| f.to_str()).unwrap_or("effects.db")}}),
        )
    };
    let effects_db = Database::connect(&effects_url).await?;
    for statement in workflow::effect_tables(plan.postgres) {
        effects_db.execute_unprepared(statement).await?;
    }
    effects_db.close().await?;

    let client = processes::http_client()?;
    let names: &[char] = if plan.postgres { &['A', 'B'] } else { &['A'] };
    let mut slots: Vec<Slot> = names
        .iter()
        .map(|n| Slot::new(*n, env.clone(), dir))
        .collect();
    for slot in &mut slots {
        slot.start(&client).await?;
    }
    let session = Arc::new(Session::create(client.clone(), &data_dir, &slots[0].base).await?);
    let (workflow, effect_nodes) = workflow::seed(
        &session,
        &slots[0].base,
        datasource,
        plan.postgres,
        plan.nodes,
    )
    .await?;
    println!(
        "chaos: {} process(es) on {}, {} runs of {} nodes ({} effect nodes), kills every 3–5 s for {} s",
        slots.len(),
        if plan.postgres {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        plan.runs,
        plan.nodes,
        effect_nodes.len(),
        plan.seconds
    );

    let bases: Arc<Mutex<Vec<String>>> =
        Arc::new(Mutex::new(slots.iter().map(|s| s.base.clone()).collect()));
    let began = Instant::now();
    let spread = Duration::from_secs(plan.seconds * 2 / 3);
    let starter = tokio::spawn(start_runs(
        Arc::clone(&session),
        Arc::clone(&bases),
        workflow,
        plan.runs,
        spread,
    ));

    let mut dice = Dice::new();
    let mut kills = 0;
    let deadline = began + Duration::from_secs(plan.seconds);
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(3_000 + dice.below(2_001))).await;
        let victim = usize::try_from(dice.below(slots.len() as u64))?;
        let slot = &mut slots[victim];
        slot.kill();
        kills += 1;
        lock(&bases)[victim] = String::new();
        slot.start(&client).await?;
        lock(&bases)[victim] = slot.base.clone();
    }
    let runs = starter.await??;
    let chaos_secs = began.elapsed().as_secs_f64();
    println!("chaos: {kills} kills in {chaos_secs:.0} s; waiting for the runs to settle");

    let base = slots[0].base.clone();
    let settled = settle(&session, &base).await?;
    let read = read_runs(&session, &base, &runs).await?;
    let verdict = check::verify(&read, &effect_nodes, &effects_url).await?;
    let total = began.elapsed().as_secs_f64();

    println!();
    println!("| measure | value |");
    println!("|---|---|");
    println!("| runs started | {} |", runs.len());
    println!("| COMPLETED | {} |", verdict.completed);
    println!("| failed or cancelled | {} |", verdict.failed.len());
    println!(
        "| stuck (not finished {settled:.0} s after the chaos) | {} |",
        verdict.stuck
    );
    println!("| kills (`kill -9`) | {kills} |");
    println!(
        "| completed attempts of effect nodes | {} |",
        verdict.attempts
    );
    println!(
        "| ... without their effect | {} |",
        verdict.missing_effects.len()
    );
    println!(
        "| effects no attempt accounts for | {} |",
        verdict.unexplained_effects
    );
    println!(
        "| redelivered effects absorbed by the idempotency key | {} |",
        verdict.redeliveries
    );
    let mut idle_process = false;
    for slot in &slots {
        let started = slot.attempts_started()?;
        idle_process |= started == 0;
        println!(
            "| node attempts started by process {} ({} incarnations) | {started} |",
            slot.name, slot.starts
        );
    }
    println!("| wall time | {total:.0} s |");
    for failure in verdict.failed.iter().take(5) {
        println!("failed: {failure}");
    }
    for missing in verdict.missing_effects.iter().take(5) {
        println!("missing effect: {missing}");
    }
    if !verdict.passed(plan.runs) || (plan.postgres && idle_process) {
        bail!("chaos: the checks failed (logs in {})", dir.display());
    }
    println!("chaos: passed");
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts `count` runs over `spread`, each on whichever server is up (the one just killed
/// refuses: it goes to the other, or waits for the restart).
async fn start_runs(
    session: Arc<Session>,
    bases: Arc<Mutex<Vec<String>>>,
    workflow: String,
    count: usize,
    spread: Duration,
) -> Result<Vec<String>> {
    let gap = spread / u32::try_from(count.max(1))?;
    let path = session.path(&format!("workflows/{workflow}/execute"));
    let mut runs = Vec::with_capacity(count);
    for i in 0..count {
        let started = Instant::now();
        let give_up = started + Duration::from_secs(120);
        loop {
            let live: Vec<String> = lock(&bases)
                .iter()
                .filter(|b| !b.is_empty())
                .cloned()
                .collect();
            let Some(base) = live.get(i % live.len().max(1)) else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            match session
                .send(
                    base,
                    "POST",
                    &path,
                    Some(json!({"inputValues": {"seed": i}})),
                )
                .await
            {
                Ok(answer) => {
                    let id = answer["data"]["instanceID"]
                        .as_str()
                        .context("no instance id")?;
                    runs.push(id.to_string());
                    break;
                }
                Err(_) if Instant::now() < give_up => {
                    // The server was killed under the request: the run may or may not exist;
                    // a new one is started (an orphan would show up as an extra run).
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error),
            }
        }
        tokio::time::sleep(gap.saturating_sub(started.elapsed())).await;
    }
    Ok(runs)
}

/// Waits (at most five minutes) until none of the tenant's runs is pending or running; the
/// seconds it took.
async fn settle(session: &Session, base: &str) -> Result<f64> {
    let began = Instant::now();
    loop {
        let mut open = 0;
        for status in ["PENDING", "RUNNING"] {
            let page = session
                .send(
                    base,
                    "GET",
                    &session.path(&format!("workflows/instances?status={status}&pageSize=1")),
                    None,
                )
                .await?;
            open += page["total"].as_u64().unwrap_or(0);
        }
        if open == 0 || began.elapsed() > Duration::from_secs(300) {
            return Ok(began.elapsed().as_secs_f64());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every run as `GET …/instances/{id}` shows it.
async fn read_runs(session: &Session, base: &str, runs: &[String]) -> Result<Vec<(String, Value)>> {
    let mut read = Vec::with_capacity(runs.len());
    for id in runs {
        let run = session
            .send(
                base,
                "GET",
                &session.path(&format!("workflows/instances/{id}")),
                None,
            )
            .await?;
        read.push((id.clone(), run["data"].clone()));
    }
    Ok(read)
}
