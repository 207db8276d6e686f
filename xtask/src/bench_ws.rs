//! `cargo xtask bench ws [--sqlite | --postgres]`: live run events delivered to websocket
//! subscribers, on the release server (pinned like `bench api`), SQLite and PostgreSQL.
//!
//! Two workflows wait on a form, then run [`STEPS`] steps: `delay` steps of [`STEP_DELAY_MS`]
//! (events at the pace of steps that do something) or JavaScript steps back to back (events as
//! fast as the engine commits them). For each run every subscriber subscribes to
//! `run:{instanceID}` (the replay brings it to the form), the form is answered over HTTP, and
//! the events that follow are live. A delivery's latency is the client's receipt minus the
//! event's `at`, which the engine stamps just before it commits the event (same machine, same
//! clock): it covers the commit, the commit hint, the hub's read of the log, the fan-out and
//! the socket. Each case runs with one subscriber (the baseline, same run) and with
//! [`SUBSCRIBERS`]; one subscriber in [`SAMPLE_EVERY`] is timed, the others only read, so that
//! the client (one core) keeps up. The goal is p99 ≤ 50 ms at 1,000. The CPU each side used and
//! the server's CPU time per frame sent say which side was the limit.
//!
//! Memory: the server's resident set before and after [`SUBSCRIBERS`] authenticated sockets
//! are opened and left idle, divided by their number.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use memchr::memmem;
use serde_json::{Value, json};

use crate::bench_api::load::post;
use crate::bench_api::seed::Seeded;
use crate::bench_api::server::{Backend, Pinning, Server};
use crate::run;
use crate::ws_client::WsClient;

/// Subscribers of the run in the measured case.
const SUBSCRIBERS: usize = 1_000;
/// Steps after the form (each commits a few events).
const STEPS: usize = 20;
/// How long each step of the paced workflow waits.
const STEP_DELAY_MS: u64 = 20;
/// One subscriber in this many has its deliveries timed (every one of the run's events);
/// the others read and discard.
const SAMPLE_EVERY: usize = 10;
/// Runs per case.
const ROUNDS: usize = 10;
/// How long any one wait may take before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(120);

type Socket = WsClient;

/// Runs the benchmark.
pub fn run(raw: &[String]) -> Result<()> {
    let backends = crate::bench_api::backends(raw)?;
    run::cargo(&["build", "--release", "--package", "jet-server"], &[], &[])?;
    let pinning = Pinning::detect();
    // Before the runtime exists: its threads inherit the affinity.
    pinning.pin_this_process()?;
    println!("{}", pinning.describe());
    crate::bench_api::on_each_backend(&backends, |backend| bench(backend, &pinning))
}

async fn bench(backend: Backend, pinning: &Pinning) -> Result<()> {
    let sockets = (SUBSCRIBERS + 10).to_string();
    let server = Server::start_with(
        backend,
        pinning,
        &[("JET_WS_MAX_SOCKETS_PER_PRINCIPAL", sockets.as_str())],
    )
    .await?;
    let seeded = Seeded::create(&server).await?;
    let bench = Bench {
        http: server.client.clone(),
        tenant: format!("{}/api/v1/tenants/{}", server.base, seeded.tenant_id),
        ws_url: format!("{}/api/v1/ws", server.base.replace("http://", "ws://")),
        auth: format!("Bearer {}", seeded.user_token),
    };
    let paced = bench.create_workflow(Pace::Paced).await?;
    let burst = bench.create_workflow(Pace::Burst).await?;

    // Memory of idle sockets.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = resident_bytes(server.pid())?;
    let mut sockets = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        sockets.push(bench.connect().await?);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = resident_bytes(server.pid())?;
    let per_socket = after.saturating_sub(before) as f64 / SUBSCRIBERS as f64;

    // Warm-up runs (the sandbox, the statement caches), not measured.
    bench.round(&paced, &mut sockets[..1]).await?;
    bench.round(&burst, &mut sockets[..1]).await?;
    println!(
        "\n{}: live run events, commit → client, {ROUNDS} runs of {STEPS} steps per case, release server",
        backend.name()
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>8} {:>12} {:>10}",
        "case", "p50 ms", "p99 ms", "max ms", "timed", "CPU srv/cli", "srv µs/frame"
    );
    for (pace, workflow) in [(Pace::Paced, &paced), (Pace::Burst, &burst)] {
        let one = bench.measure(workflow, &mut sockets[..1], &server).await?;
        let many = bench.measure(workflow, &mut sockets, &server).await?;
        for (count, m) in [("1 (baseline)", &one), ("1,000", &many)] {
            println!(
                "{:<34} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>5.0}/{:<3.0} % {:>10.1}",
                format!("{}, {count}", pace.describe()),
                m.latency.p50_ms,
                m.latency.p99_ms,
                m.latency.max_ms,
                m.latency.count,
                m.server_cpu * 100.0,
                m.client_cpu * 100.0,
                m.server_us_per_frame
            );
        }
        println!(
            "{:<34} p50 ×{:.1}, p99 ×{:.1}; goal p99 ≤ 50 ms at 1,000: {}",
            format!("{}, 1,000 vs 1", pace.describe()),
            many.latency.p50_ms / one.latency.p50_ms,
            many.latency.p99_ms / one.latency.p99_ms,
            if many.latency.p99_ms <= 50.0 {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    println!(
        "memory per idle socket: {:.1} KiB (resident set {:.1} → {:.1} MiB with {SUBSCRIBERS} sockets)",
        per_socket / 1024.0,
        before as f64 / 1_048_576.0,
        after as f64 / 1_048_576.0
    );
    Ok(())
}

/// How fast a benchmark run's steps follow each other.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// `delay` steps of [`STEP_DELAY_MS`]: events at the pace of a workflow whose steps do
    /// something (call an API, run a query).
    Paced,
    /// JavaScript steps that return at once: events as fast as the engine commits them.
    Burst,
}

impl Pace {
    fn describe(self) -> String {
        match self {
            Pace::Paced => format!("steps of {STEP_DELAY_MS} ms"),
            Pace::Burst => "steps back to back".to_string(),
        }
    }

    fn handle(self) -> &'static str {
        match self {
            Pace::Paced => "output",
            Pace::Burst => "success",
        }
    }
}

/// One case's figures.
struct Measured {
    latency: Latency,
    /// Share of one core the server and this client used during the case.
    server_cpu: f64,
    client_cpu: f64,
    /// The server's CPU time (the runs included) per frame its sockets sent.
    server_us_per_frame: f64,
}

struct Bench {
    http: reqwest::Client,
    tenant: String,
    ws_url: String,
    auth: String,
}

impl Bench {
    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        post(
            &self.http,
            &format!("{}/{path}", self.tenant),
            &self.auth,
            body,
        )
        .await
    }

    /// start → a form → [`STEPS`] steps of `pace` → end.
    async fn create_workflow(&self, pace: Pace) -> Result<String> {
        let mut nodes = vec![
            json!({"id": "start", "type": "start"}),
            json!({"id": "ask", "type": "dataCollection",
                   "data": {"title": "Go?", "formSchema": {"type": "object"}}}),
        ];
        let mut edges = vec![json!({"source": "start", "target": "ask"})];
        let mut previous = "ask".to_string();
        for i in 0..STEPS {
            let id = format!("step{i}");
            nodes.push(match pace {
                Pace::Paced => json!({"id": id, "type": "delay",
                    "data": {"delayType": "fixed", "delayMs": STEP_DELAY_MS}}),
                Pace::Burst => json!({"id": id, "type": "javascript",
                    "data": {"code": format!("return {{n: {i}}};")}}),
            });
            let mut edge = json!({"source": previous, "target": id});
            if previous != "ask" {
                edge["sourceHandle"] = json!(pace.handle());
            }
            edges.push(edge);
            previous = id;
        }
        nodes.push(json!({"id": "end", "type": "end"}));
        edges.push(json!({"source": previous, "target": "end", "sourceHandle": pace.handle()}));
        let made = self
            .post(
                "workflows",
                json!({"workflowTitle": format!("bench ws {pace:?}"), "nodes": nodes, "edges": edges}),
            )
            .await?;
        made["data"]["workflowID"]
            .as_str()
            .map(str::to_string)
            .context("no workflowID")
    }

    /// An authenticated socket, past its `ready` frame.
    async fn connect(&self) -> Result<Socket> {
        let mut socket = WsClient::connect(&self.ws_url, &[("Authorization", &self.auth)]).await?;
        let ready = next_frame(&mut socket).await?;
        if ready["type"] != "ready" {
            bail!("expected ready, got {ready}");
        }
        Ok(socket)
    }

    /// [`ROUNDS`] runs of `workflow` followed by `sockets`.
    async fn measure(
        &self,
        workflow: &str,
        sockets: &mut [Socket],
        server: &Server,
    ) -> Result<Measured> {
        let server_cpu = cpu_seconds(server.pid())?;
        let client_cpu = cpu_seconds(std::process::id())?;
        let began = std::time::Instant::now();
        let mut samples = Vec::new();
        let mut frames = 0;
        for _ in 0..ROUNDS {
            let (latencies, count) = self.round(workflow, sockets).await?;
            samples.extend(latencies);
            frames += count;
        }
        let wall = began.elapsed().as_secs_f64();
        let server_seconds = cpu_seconds(server.pid())? - server_cpu;
        Ok(Measured {
            latency: Latency::of(samples)?,
            server_cpu: server_seconds / wall,
            client_cpu: (cpu_seconds(std::process::id())? - client_cpu) / wall,
            server_us_per_frame: server_seconds * 1e6 / frames.max(1) as f64,
        })
    }

    /// One run followed by every socket of `sockets`; the sampled live deliveries' latencies,
    /// and the frames all sockets received.
    async fn round(
        &self,
        workflow: &str,
        sockets: &mut [Socket],
    ) -> Result<(Vec<Duration>, usize)> {
        let started = self
            .post(
                &format!("workflows/{workflow}/execute"),
                json!({"inputValues": {}}),
            )
            .await?;
        let run = started["data"]["instanceID"]
            .as_str()
            .context("no instanceID")?
            .to_string();
        let room = format!("run:{run}");
        let subscribe = json!({"type": "subscribe", "room": room}).to_string();
        for socket in sockets.iter_mut() {
            socket.send_text(&subscribe).await?;
        }
        // Every subscriber reaches the form (replayed or live) before it is answered.
        let mut request = None;
        for socket in sockets.iter_mut() {
            loop {
                let frame = next_frame(socket).await?;
                if frame["event"] == "workflow_data_collection_request" {
                    request = frame["requestID"].as_str().map(str::to_string);
                    break;
                }
            }
        }
        let request = request.context("no data-collection request")?;
        let answered = SystemTime::now();

        self.post(
            &format!("workflows/instances/{run}/requests/{request}/submit"),
            json!({"submittedData": {}}),
        )
        .await?;
        let readers: Vec<_> = sockets
            .iter_mut()
            .enumerate()
            .map(|(i, socket)| read_until_end(socket, answered, i % SAMPLE_EVERY == 0))
            .collect();
        let mut latencies = Vec::new();
        let mut frames = 0;
        for read in futures_util::future::join_all(readers).await {
            let (samples, count) = read?;
            latencies.extend(samples);
            frames += count;
        }
        let unsubscribe = json!({"type": "unsubscribe", "room": room}).to_string();
        for socket in sockets.iter_mut() {
            socket.send_text(&unsubscribe).await?;
        }
        Ok((latencies, frames))
    }
}

/// The fields of an event frame the benchmark needs; the rest (the engine's log entry) is
/// skipped without being built: the client must not be what is measured.
#[derive(serde::Deserialize)]
struct Seen<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    event: Option<&'a str>,
    status: Option<&'a str>,
    at: Option<&'a str>,
}

/// Reads events until the run's final status; when `sampled`, the latencies of those stamped
/// after `since`. Sockets not sampled only look for the end, so that the client (one core)
/// keeps up with the server and what is measured is the server.
async fn read_until_end(
    socket: &mut Socket,
    since: SystemTime,
    sampled: bool,
) -> Result<(Vec<Duration>, usize)> {
    let status = memmem::Finder::new(b"\"workflow_status_update\"");
    let completed = memmem::Finder::new(b"\"COMPLETED\"");
    let mut stamps = Vec::new();
    let mut frames = 0;
    loop {
        let (text, received) = tokio::time::timeout(PATIENCE, socket.next_text())
            .await
            .context("the socket said nothing")??;
        frames += 1;
        if !sampled {
            if status.find(text).is_some() && completed.find(text).is_some() {
                return Ok((Vec::new(), frames));
            }
            continue;
        }
        let seen: Seen<'_> = serde_json::from_slice(text)?;
        if seen.kind != "event" {
            continue;
        }
        stamps.push((
            seen.at.context("an event without `at`")?.to_string(),
            received,
        ));
        if seen.event == Some("workflow_status_update") {
            match seen.status {
                Some("COMPLETED") => break,
                Some(status @ ("FAILED" | "CANCELLED")) => bail!("the run ended {status}"),
                _ => {}
            }
        }
    }
    let mut latencies = Vec::new();
    for (at, received) in stamps {
        let at: SystemTime = at.parse::<chrono::DateTime<chrono::Utc>>()?.into();
        if at >= since {
            latencies.push(received.duration_since(at).unwrap_or_default());
        }
    }
    Ok((latencies, frames))
}

/// The next frame, parsed.
async fn next_frame(socket: &mut Socket) -> Result<Value> {
    let (text, _) = tokio::time::timeout(PATIENCE, socket.next_text())
        .await
        .context("the socket said nothing")??;
    Ok(serde_json::from_slice(text)?)
}

/// The resident set of process `pid`, in bytes (Linux).
fn resident_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .context("no VmRSS")?
        .parse()?;
    Ok(kib * 1024)
}

/// User and system CPU time of process `pid` so far, in seconds (Linux, 100 ticks a second).
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name (which may hold spaces) start after its `)`.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("unexpected /proc/pid/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| -> Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc/pid/stat")?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Percentiles of a set of delays (also `bench cron`'s lateness).
pub(crate) struct Latency {
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) max_ms: f64,
    pub(crate) count: usize,
}

impl Latency {
    /// The percentiles of `samples` (an error when there are none).
    pub(crate) fn of(mut samples: Vec<Duration>) -> Result<Latency> {
        if samples.is_empty() {
            bail!("no live delivery was measured");
        }
        samples.sort();
        let at = |q: f64| {
            let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
            samples[index].as_secs_f64() * 1000.0
        };
        Ok(Latency {
            p50_ms: at(0.50),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            count: samples.len(),
        })
    }
}
