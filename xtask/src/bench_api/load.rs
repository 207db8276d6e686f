//! The load generators: `wrk` when installed, else a built-in closed-loop client. Both keep
//! [`CONCURRENCY`] requests in flight and measure [`MEASURE`] after [`WARMUP`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use super::wrk;

/// Requests in flight.
pub const CONCURRENCY: usize = 64;
/// Discarded before measuring (connections, caches, the allocator settle).
pub const WARMUP: Duration = Duration::from_secs(2);
/// Measured.
pub const MEASURE: Duration = Duration::from_secs(10);

/// One route's figures.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Successful requests per second.
    pub throughput: f64,
    /// Median latency.
    pub p50_ms: f64,
    /// 99th-percentile latency.
    pub p99_ms: f64,
}

/// Which load generator runs.
pub enum Generator {
    /// `wrk`, pinned to `cpu` when given.
    Wrk { cpu: Option<usize> },
    /// The built-in client (this process, already pinned).
    BuiltIn,
}

impl Generator {
    /// `wrk` when it is on the `PATH`.
    pub fn detect(load_cpu: Option<usize>) -> Self {
        if wrk::installed() {
            Generator::Wrk { cpu: load_cpu }
        } else {
            Generator::BuiltIn
        }
    }

    /// For the report.
    pub fn describe(&self) -> &'static str {
        match self {
            Generator::Wrk { .. } => "wrk (1 thread)",
            Generator::BuiltIn => "the built-in client (install wrk for lower client overhead)",
        }
    }

    /// Loads `url` with `authorization` and measures it; any failed request fails the run.
    pub async fn measure(&self, url: &str, authorization: Option<&str>) -> Result<Stats> {
        match self {
            Generator::Wrk { cpu } => {
                let (url, authorization, cpu) =
                    (url.to_string(), authorization.map(str::to_string), *cpu);
                tokio::task::spawn_blocking(move || {
                    wrk::measure(&url, authorization.as_deref(), cpu)
                })
                .await?
            }
            Generator::BuiltIn => built_in(url, authorization).await,
        }
    }
}

/// The HTTP client (plain HTTP; rustls is configured only because reqwest insists on a backend).
pub fn client() -> Result<reqwest::Client> {
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

async fn built_in(url: &str, authorization: Option<&str>) -> Result<Stats> {
    let client = client()?;
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let client = client.clone();
            let url = url.to_string();
            let authorization = authorization.map(str::to_string);
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut failures = 0u64;
                while start.elapsed() < WARMUP + MEASURE {
                    let began = Instant::now();
                    let mut request = client.get(&url);
                    if let Some(value) = &authorization {
                        request = request.header("authorization", value);
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
    Ok(Stats::from_samples(samples, MEASURE))
}

impl Stats {
    /// Throughput and percentiles of the latencies `samples`, taken over `measured`.
    pub fn from_samples(mut samples: Vec<Duration>, measured: Duration) -> Self {
        samples.sort();
        let at = |q: f64| {
            let index = ((samples.len() as f64) * q) as usize;
            samples
                .get(index.min(samples.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        Stats {
            throughput: samples.len() as f64 / measured.as_secs_f64(),
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }
}

/// POSTs `body` as JSON with `auth`; the answer, or an error naming the status and body.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    auth: &str,
    body: serde_json::Value,
) -> Result<serde_json::Value> {
    let response = client
        .post(url)
        .header("authorization", auth)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await?;
    if !status.is_success() {
        bail!("{url}: {status} {answer}");
    }
    Ok(answer)
}
