//! `cargo xtask bench ws [--sqlite | --postgres]`: live run events delivered to websocket
//! subscribers, on the release server (pinned like `bench api`), SQLite and PostgreSQL.
//!
//! A workflow waits on a form, then runs [`STEPS`] JavaScript steps. For each round a run is
//! started, every subscriber subscribes to `run:{instanceID}` (the replay brings them to the
//! form), the form is answered over HTTP, and the events that follow are live. The latency of
//! one delivery is the client's receipt minus the event's `at`, which the engine stamps just
//! before it commits the event (same machine, same clock): it covers the commit, the commit
//! hint, the hub's read of the log, the fan-out and the socket. Measured with one subscriber
//! (the baseline, same run) and with [`SUBSCRIBERS`]; the goal is p99 ≤ 50 ms at 1,000.
//!
//! Memory: the server's resident set before and after [`SUBSCRIBERS`] authenticated sockets
//! are opened and left idle, divided by their number.

use std::time::{Duration, SystemTime};

use anyhow::{Context, Result, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::bench_api::load::post;
use crate::bench_api::seed::Seeded;
use crate::bench_api::server::{Backend, Pinning, Server};
use crate::run;

/// Subscribers of the run in the measured case.
const SUBSCRIBERS: usize = 1_000;
/// JavaScript steps after the form (each commits a few events).
const STEPS: usize = 20;
/// Runs per case.
const ROUNDS: usize = 3;
/// How long any one wait may take before the benchmark gives up.
const PATIENCE: Duration = Duration::from_secs(120);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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
    let workflow = bench.create_workflow().await?;

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

    // Warm-up run (the sandbox, the statement caches), not measured.
    bench.round(&workflow, &mut sockets[..1]).await?;
    let mut one = Vec::new();
    let mut many = Vec::new();
    for _ in 0..ROUNDS {
        one.extend(bench.round(&workflow, &mut sockets[..1]).await?);
    }
    let server_cpu = cpu_seconds(server.pid())?;
    let client_cpu = cpu_seconds(std::process::id())?;
    let began = std::time::Instant::now();
    for _ in 0..ROUNDS {
        many.extend(bench.round(&workflow, &mut sockets).await?);
    }
    let wall = began.elapsed().as_secs_f64();
    let server_cpu = cpu_seconds(server.pid())? - server_cpu;
    let client_cpu = cpu_seconds(std::process::id())? - client_cpu;
    let one = Latency::of(one)?;
    let many = Latency::of(many)?;

    println!(
        "\n{}: live run events, commit → client, {ROUNDS} runs of {STEPS} steps per case, release server",
        backend.name()
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>12}",
        "subscribers", "p50 ms", "p99 ms", "max ms", "deliveries"
    );
    for (label, latency) in [("1 (baseline)", &one), ("1,000", &many)] {
        println!(
            "{label:<22} {:>10.2} {:>10.2} {:>10.2} {:>12}",
            latency.p50_ms, latency.p99_ms, latency.max_ms, latency.count
        );
    }
    println!(
        "1,000 vs 1: p50 ×{:.1}, p99 ×{:.1}; goal p99 ≤ 50 ms: {}",
        many.p50_ms / one.p50_ms,
        many.p99_ms / one.p99_ms,
        if many.p99_ms <= 50.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "CPU busy during the 1,000-subscriber runs ({wall:.1} s): server {:.0} %, client {:.0} % (of one core each)",
        server_cpu / wall * 100.0,
        client_cpu / wall * 100.0
    );
    println!(
        "memory per idle socket: {:.1} KiB (resident set {:.1} → {:.1} MiB with {SUBSCRIBERS} sockets)",
        per_socket / 1024.0,
        before as f64 / 1_048_576.0,
        after as f64 / 1_048_576.0
    );
    Ok(())
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

    /// start → a form → [`STEPS`] JavaScript steps → end.
    async fn create_workflow(&self) -> Result<String> {
        let mut nodes = vec![
            json!({"id": "start", "type": "start"}),
            json!({"id": "ask", "type": "dataCollection",
                   "data": {"title": "Go?", "formSchema": {"type": "object"}}}),
        ];
        let mut edges = vec![json!({"source": "start", "target": "ask"})];
        let mut previous = "ask".to_string();
        for i in 0..STEPS {
            let id = format!("step{i}");
            nodes.push(json!({"id": id, "type": "javascript",
                              "data": {"code": format!("return {{n: {i}}};")}}));
            let mut edge = json!({"source": previous, "target": id});
            if previous != "ask" {
                edge["sourceHandle"] = json!("success");
            }
            edges.push(edge);
            previous = id;
        }
        nodes.push(json!({"id": "end", "type": "end"}));
        edges.push(json!({"source": previous, "target": "end", "sourceHandle": "success"}));
        let made = self
            .post(
                "workflows",
                json!({"workflowTitle": "bench ws", "nodes": nodes, "edges": edges}),
            )
            .await?;
        made["data"]["workflowID"]
            .as_str()
            .map(str::to_string)
            .context("no workflowID")
    }

    /// An authenticated socket, past its `ready` frame.
    async fn connect(&self) -> Result<Socket> {
        let mut request = self.ws_url.as_str().into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", self.auth.parse()?);
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
        let ready = next_frame(&mut socket).await?;
        if ready["type"] != "ready" {
            bail!("expected ready, got {ready}");
        }
        Ok(socket)
    }

    /// One run followed by every socket of `sockets`; the live deliveries' latencies.
    async fn round(&self, workflow: &str, sockets: &mut [Socket]) -> Result<Vec<Duration>> {
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
            socket.send(Message::text(subscribe.clone())).await?;
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
            .map(|socket| read_until_end(socket, answered))
            .collect();
        let mut latencies = Vec::new();
        for samples in futures_util::future::join_all(readers).await {
            latencies.extend(samples?);
        }
        let unsubscribe = json!({"type": "unsubscribe", "room": room}).to_string();
        for socket in sockets.iter_mut() {
            socket.send(Message::text(unsubscribe.clone())).await?;
        }
        Ok(latencies)
    }
}

/// Reads events until the run's final status; the latencies of those stamped after `since`.
/// The frames are read as text, not parsed: the client must not be what is measured.
async fn read_until_end(socket: &mut Socket, since: SystemTime) -> Result<Vec<Duration>> {
    let mut stamps = Vec::new();
    loop {
        let (text, received) = next_text(socket).await?;
        if last_field(&text, "type") != Some("event") {
            continue;
        }
        stamps.push((
            field(&text, "at")
                .context("an event without `at`")?
                .to_string(),
            received,
        ));
        if field(&text, "event") == Some("workflow_status_update") {
            match last_field(&text, "status") {
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
    Ok(latencies)
}

/// The first string value of `"name":"…"` in a frame: a top-level key sorted before `log`
/// (the frame's keys are in order, and `log` holds the engine's entry, which has keys of its own).
fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    value_at(text, text.find(&key)? + key.len())
}

/// The last string value of `"name":"…"`: a top-level key sorted after `log`.
fn last_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    value_at(text, text.rfind(&key)? + key.len())
}

fn value_at(text: &str, start: usize) -> Option<&str> {
    let end = text[start..].find('"')?;
    Some(&text[start..start + end])
}

async fn next_frame(socket: &mut Socket) -> Result<Value> {
    Ok(serde_json::from_str(&next_text(socket).await?.0)?)
}

/// The next text frame and when it arrived.
async fn next_text(socket: &mut Socket) -> Result<(String, SystemTime)> {
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .context("the socket said nothing")?
            .context("the socket closed")??;
        let received = SystemTime::now();
        match message {
            Message::Text(text) => return Ok((text.as_str().to_string(), received)),
            Message::Close(frame) => bail!("the server closed the socket: {frame:?}"),
            _ => {}
        }
    }
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

struct Latency {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    count: usize,
}

impl Latency {
    fn of(mut samples: Vec<Duration>) -> Result<Latency> {
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
