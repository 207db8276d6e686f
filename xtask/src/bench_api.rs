//! `cargo xtask bench api [--postgres]`: an authorized tenant route against `/health` on the
//! same release server, in the same run.
//!
//! Starts `jet-server` (release) on a fresh data directory (SQLite) or a fresh PostgreSQL
//! database, creates a tenant and an Editor API key through the API, then drives each route with
//! a closed-loop load client (64 concurrent requests over keep-alive connections, 10 s after a
//! 2 s warm-up) and prints throughput, p50 and p99 latency and the ratio. Rate limits are off for
//! the run: they would measure the limiter, not the route.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use identity::LocalSigningKey;
use serde_json::{Value, json};

use crate::args::Args;
use crate::{postgres, run};

const CONCURRENCY: usize = 64;
const WARMUP: Duration = Duration::from_secs(2);
const MEASURE: Duration = Duration::from_secs(10);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the benchmark.
pub fn run(raw: &[String]) -> Result<()> {
    let args = Args::parse(raw, &["postgres"])?;
    run::cargo(&["build", "--release", "--package", "jet-server"], &[], &[])?;
    let use_postgres = args.switch("postgres");
    if use_postgres {
        // Outside the benchmark's runtime: these helpers run their own.
        postgres::recreate_database(postgres::LOCAL_URL, BENCH_DATABASE)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let outcome = runtime.block_on(bench(use_postgres));
    drop(runtime);
    if use_postgres {
        postgres::drop_test_databases(postgres::LOCAL_URL)?;
    }
    outcome
}

/// Named like test databases, so `cargo xtask test` cleans it up too.
const BENCH_DATABASE: &str = "jet_test_bench";

fn client() -> Result<reqwest::Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .pool_max_idle_per_host(CONCURRENCY)
        .build()?)
}

async fn bench(use_postgres: bool) -> Result<()> {
    let data_dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut command = Command::new("target/release/jet-server");
    command
        .env_clear()
        .env("PORT", port.to_string())
        .env("JET_DATA_DIR", data_dir.path())
        .env("JET_RATE_LIMIT_PER_IP", "0")
        .env("JET_RATE_LIMIT_PER_PRINCIPAL", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let backend = if use_postgres {
        let name = BENCH_DATABASE;
        command
            .env(
                "DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{name}"),
            )
            .env(
                "JET_ENCRYPTION_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            )
            .env("JET_ALLOW_LOCAL_IDENTITY", "1");
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let _server = Server(command.spawn().context("start target/release/jet-server")?);
    let base = format!("http://127.0.0.1:{port}");
    let client = client()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.get(format!("{base}/health")).send().await.is_err() {
        if Instant::now() > deadline {
            bail!("the server did not start");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let key = LocalSigningKey::load_or_create(data_dir.path())?;
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs(),
    )?;
    let token = key.mint("bench@example.com", None, Duration::from_secs(3600), now);
    let tenant: Value = client
        .post(format!("{base}/api/v1/tenants"))
        .bearer_auth(&token)
        .json(&json!({"tenantTitle": "bench"}))
        .send()
        .await?
        .json()
        .await?;
    let tenant_id = tenant["data"]["tenantID"]
        .as_str()
        .context("no tenant id")?
        .to_string();
    let roles: Value = client
        .get(format!("{base}/api/v1/tenants/{tenant_id}/roles"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    let editor = roles["data"]
        .as_array()
        .context("no roles")?
        .iter()
        .find(|r| r["roleTitle"] == "Editor")
        .context("no Editor role")?["roleID"]
        .clone();
    let issued: Value = client
        .post(format!("{base}/api/v1/tenants/{tenant_id}/apikeys"))
        .bearer_auth(&token)
        .json(&json!({"apiKeyTitle": "bench", "roleIDs": [editor]}))
        .send()
        .await?
        .json()
        .await?;
    let api_key = issued["data"]["apiKey"]
        .as_str()
        .context("no key")?
        .to_string();

    let health = load(&client, format!("{base}/health"), None).await?;
    let roles = load(
        &client,
        format!("{base}/api/v1/tenants/{tenant_id}/roles"),
        Some(format!("api_key {api_key}")),
    )
    .await?;
    println!(
        "\n{backend}, {CONCURRENCY} concurrent, {}s each, release build",
        MEASURE.as_secs()
    );
    println!(
        "{:<34} {:>10} {:>10} {:>10}",
        "route", "req/s", "p50 ms", "p99 ms"
    );
    for (name, stats) in [
        ("GET /health", &health),
        ("GET /{tenantID}/roles (API key)", &roles),
    ] {
        println!(
            "{name:<34} {:>10.0} {:>10.2} {:>10.2}",
            stats.throughput, stats.p50_ms, stats.p99_ms
        );
    }
    println!(
        "authorized route / health throughput: {:.1} %",
        100.0 * roles.throughput / health.throughput
    );
    Ok(())
}

struct Stats {
    throughput: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn load(client: &reqwest::Client, url: String, auth: Option<String>) -> Result<Stats> {
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            let auth = auth.clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut failures = 0u64;
                while start.elapsed() < WARMUP + MEASURE {
                    let began = Instant::now();
                    let mut request = client.get(&url);
                    if let Some(auth) = &auth {
                        request = request.header("authorization", auth);
                    }
                    let ok = match request.send().await {
                        Ok(response) => {
                            response.status().is_success() && response.bytes().await.is_ok()
                        }
                        Err(_) => false,
                    };
                    if began.duration_since(start) >= WARMUP {
                        if ok {
                            samples.push(began.elapsed());
                        } else {
                            failures += 1;
                        }
                    }
                }
                (samples, failures)
            })
        })
        .collect();
    let mut samples = Vec::new();
    let mut failures = 0;
    for worker in workers {
        let (mine, failed) = worker.await?;
        samples.extend(mine);
        failures += failed;
    }
    if failures > 0 {
        bail!("{failures} requests to {url} failed");
    }
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len() as f64) * q) as usize;
        samples
            .get(index.min(samples.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(Stats {
        throughput: samples.len() as f64 / MEASURE.as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    })
}
