//! `cargo xtask bench queries`: a saved query run through `POST …/queries/{id}/run` against the
//! same statement run through `sqlx` directly, on the same PostgreSQL, in the same run.
//!
//! Two statements: one row (`SELECT 1`) and a thousand (`generate_series`). Both paths keep
//! [`CONCURRENCY`] runs in flight for [`MEASURE`] after [`WARMUP`]; the HTTP path pays for the
//! server's authentication (an Editor API key), the permission check, opening the datasource's sealed options,
//! the template compile, the run and the JSON result. The server is the release build, pinned
//! like `bench api`. The ratio is HTTP throughput over direct throughput.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use crate::bench_api::load::{Stats, client, post};
use crate::bench_api::seed::Seeded;
use crate::bench_api::server::{self, Backend, Pinning, Server};
use crate::{postgres, run};

/// Runs in flight on each path.
pub const CONCURRENCY: usize = 8;
/// Not measured, at the start.
pub const WARMUP: Duration = Duration::from_secs(1);
/// Measured.
pub const MEASURE: Duration = Duration::from_secs(5);

const CASES: &[(&str, &str)] = &[
    ("1 row", "SELECT 1 AS n"),
    (
        "1,000 rows",
        "SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 1000) AS g",
    ),
];

/// Runs the benchmark.
pub fn run(_raw: &[String]) -> Result<()> {
    run::cargo(&["build", "--release", "--package", "jet-server"], &[], &[])?;
    let pinning = Pinning::detect();
    pinning.pin_this_process()?;
    postgres::recreate_database(postgres::LOCAL_URL, server::BENCH_DATABASE)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(bench(&pinning));
    drop(runtime);
    postgres::drop_test_databases(postgres::LOCAL_URL)?;
    outcome
}

/// Keeps [`CONCURRENCY`] calls of `op` going; what they measured (any failure fails the run).
async fn closed_loop<F, Fut>(op: F) -> Result<Stats>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                while start.elapsed() < WARMUP + MEASURE {
                    let began = Instant::now();
                    op().await?;
                    if began.duration_since(start) >= WARMUP {
                        samples.push(began.elapsed());
                    }
                }
                anyhow::Ok(samples)
            })
        })
        .collect();
    let mut samples = Vec::new();
    for worker in workers {
        samples.extend(worker.await??);
    }
    Ok(Stats::from_samples(samples, MEASURE))
}

async fn bench(pinning: &Pinning) -> Result<()> {
    let server = Server::start(Backend::Postgres, pinning).await?;
    let seeded = Seeded::create(&server).await?;
    let base = format!("{}/api/v1/tenants/{}", server.base, seeded.tenant_id);
    let auth = format!("Bearer {}", seeded.user_token);
    let http = client()?;
    let made = post(
        &http,
        &format!("{base}/datasources"),
        &auth,
        json!({"datasourceTitle": "bench", "datasourceType": "postgresql",
            "datasourceOptions": {"host": "127.0.0.1", "port": 5432, "database": "postgres",
                "user": "postgres", "sslMode": "disable"}}),
    )
    .await?;
    let datasource = made["data"]["datasourceID"].clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(u32::try_from(CONCURRENCY)?)
        .connect("postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
        .await?;
    println!(
        "\nPostgreSQL, {CONCURRENCY} in flight, {} s each after {} s warm-up, release server; {}",
        MEASURE.as_secs(),
        WARMUP.as_secs(),
        pinning.describe()
    );
    println!(
        "{:<12} {:<22} {:>9} {:>9} {:>9} {:>10}",
        "statement", "path", "runs/s", "p50 ms", "p99 ms", "of direct"
    );
    for (name, sql) in CASES {
        let saved = post(
            &http,
            &format!("{base}/queries"),
            &auth,
            json!({"dataQueryTitle": name, "datasourceID": datasource, "dataQueryOptions": {"query": sql}}),
        )
        .await?;
        let id = saved["data"]["dataQueryID"]
            .as_str()
            .context("no query id")?;
        let url = format!("{base}/queries/{id}/run");
        let direct = {
            let pool = pool.clone();
            closed_loop(move || {
                let pool = pool.clone();
                async move {
                    sqlx::query(sqlx::AssertSqlSafe(*sql))
                        .fetch_all(&pool)
                        .await?;
                    Ok(())
                }
            })
            .await?
        };
        let through_http = {
            // The Editor API key runs it: a cached principal, as a service calling the API is.
            let (http, auth) = (http.clone(), format!("api_key {}", seeded.api_key));
            closed_loop(move || {
                let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
                async move {
                    post(&http, &url, &auth, json!({})).await?;
                    Ok(())
                }
            })
            .await?
        };
        for (path, stats) in [("sqlx directly", &direct), ("POST …/run", &through_http)] {
            println!(
                "{name:<12} {path:<22} {:>9.0} {:>9.2} {:>9.2} {:>9.1} %",
                stats.throughput,
                stats.p50_ms,
                stats.p99_ms,
                100.0 * stats.throughput / direct.throughput
            );
        }
    }
    Ok(())
}
