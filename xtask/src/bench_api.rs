//! `cargo xtask bench api [--sqlite | --postgres]`: authorized tenant reads against `/health` on
//! the same release server, in the same run, on SQLite and PostgreSQL (both unless one is named).
//!
//! The server is pinned to CPU 0 and the load generator to CPU 1 (`taskset`), so the two do not
//! steal each other's core and the figures are comparable between runs. The load generator is
//! `wrk` when it is installed (`apt-get install wrk`), else a built-in closed-loop client; both
//! keep 64 requests in flight over keep-alive connections, 10 s after a 2 s warm-up. `/health` is
//! measured first and last: the ratio is taken against the first, and the last shows the drift.
//! Rate limits are off for the run: they would measure the limiter, not the route.

pub(crate) mod load;
pub(crate) mod seed;
pub(crate) mod server;
mod wrk;

use anyhow::{Result, bail};

use crate::args::Args;
use crate::{postgres, run};
use load::{Generator, Stats};
use seed::Seeded;
use server::{Backend, Pinning, Server};

/// Runs the benchmark.
pub fn run(raw: &[String]) -> Result<()> {
    let backends = backends(raw)?;
    run::cargo(&["build", "--release", "--package", "jet-server"], &[], &[])?;
    let pinning = Pinning::detect();
    let generator = Generator::detect(pinning.load_cpu());
    // Before the runtime exists: its threads inherit the affinity.
    pinning.pin_this_process()?;
    println!("{}; load from {}", pinning.describe(), generator.describe());
    on_each_backend(&backends, |backend| bench(backend, &pinning, &generator))
}

/// The stores named by `--sqlite` / `--postgres` (both when neither or both are).
pub(crate) fn backends(raw: &[String]) -> Result<Vec<Backend>> {
    let args = Args::parse(raw, &["postgres", "sqlite"])?;
    Ok(match (args.switch("sqlite"), args.switch("postgres")) {
        (true, false) => vec![Backend::Sqlite],
        (false, true) => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    })
}

/// Runs `bench` for each backend on a runtime of its own, with a fresh PostgreSQL database for
/// the PostgreSQL one (dropped afterwards).
pub(crate) fn on_each_backend<F, Fut>(backends: &[Backend], bench: F) -> Result<()>
where
    F: Fn(Backend) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    for &backend in backends {
        if backend == Backend::Postgres {
            // Outside the benchmark's runtime: these helpers run their own.
            postgres::recreate_database(postgres::LOCAL_URL, server::BENCH_DATABASE)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        let outcome = runtime.block_on(bench(backend));
        drop(runtime);
        if backend == Backend::Postgres {
            postgres::drop_test_databases(postgres::LOCAL_URL)?;
        }
        outcome?;
    }
    Ok(())
}

async fn bench(backend: Backend, pinning: &Pinning, generator: &Generator) -> Result<()> {
    let server = Server::start(backend, pinning).await?;
    let seeded = Seeded::create(&server).await?;
    let base = &server.base;
    let tenant = &seeded.tenant_id;
    let key = format!("api_key {}", seeded.api_key);
    let bearer = format!("Bearer {}", seeded.user_token);
    let routes: Vec<(&str, String, Option<&str>)> = vec![
        ("GET /health", format!("{base}/health"), None),
        (
            "GET /tenants/{id} (API key)",
            format!("{base}/api/v1/tenants/{tenant}"),
            Some(&key),
        ),
        (
            "GET /tenants/{id} (user)",
            format!("{base}/api/v1/tenants/{tenant}"),
            Some(&bearer),
        ),
        (
            "GET /{id}/roles (API key)",
            format!("{base}/api/v1/tenants/{tenant}/roles"),
            Some(&key),
        ),
        (
            "GET /{id}/roles (user)",
            format!("{base}/api/v1/tenants/{tenant}/roles"),
            Some(&bearer),
        ),
        ("GET /health (again)", format!("{base}/health"), None),
    ];
    let mut results: Vec<(&str, Stats)> = Vec::new();
    for (name, url, auth) in &routes {
        let stats = generator.measure(url, *auth).await?;
        results.push((name, stats));
    }
    print_table(backend, &results)
}

fn print_table(backend: Backend, results: &[(&str, Stats)]) -> Result<()> {
    let Some((_, health)) = results.first() else {
        bail!("nothing was measured");
    };
    println!(
        "\n{}, {} in flight, {} s each after {} s warm-up, release build",
        backend.name(),
        load::CONCURRENCY,
        load::MEASURE.as_secs(),
        load::WARMUP.as_secs()
    );
    println!(
        "{:<30} {:>10} {:>9} {:>9} {:>10}",
        "route", "req/s", "p50 ms", "p99 ms", "of /health"
    );
    for (name, stats) in results {
        println!(
            "{name:<30} {:>10.0} {:>9.2} {:>9.2} {:>9.1} %",
            stats.throughput,
            stats.p50_ms,
            stats.p99_ms,
            100.0 * stats.throughput / health.throughput
        );
    }
    Ok(())
}
