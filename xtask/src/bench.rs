//! `cargo xtask bench sandbox`: our cold run against the original's sandbox, in the same run.
//! (`cargo xtask bench api` lives in `bench_api.rs`.)
//!
//! Runs the criterion benchmark `crates/sandbox/benches/cold_run.rs`, then the same scripts on
//! Node with isolated-vm (`bench/isolated-vm/bench.mjs`, a new isolate per run, as the original
//! did), and prints medians, p99s and the ratio.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::run;

const CASES: &[&str] = &["return_ctx_a_plus_1", "ctx_10kb"];

/// Runs the named benchmark suite.
pub fn run(raw: &[String]) -> Result<()> {
    match raw.first().map(String::as_str) {
        Some("sandbox") => sandbox(),
        Some("api") => crate::bench_api::run(&raw[1..]),
        Some("queries") => crate::bench_queries::run(&raw[1..]),
        Some("ws") => crate::bench_ws::run(&raw[1..]),
        Some("cron") => crate::bench_cron::run(&raw[1..]),
        Some("engine") if raw.get(1).map(String::as_str) == Some("--persisted") => persisted(),
        Some("engine") => engine(),
        _ => bail!(
            "usage: cargo xtask bench sandbox | cargo xtask bench api [--sqlite|--postgres] | cargo xtask bench engine [--persisted] | cargo xtask bench queries | cargo xtask bench ws [--sqlite|--postgres] | cargo xtask bench cron"
        ),
    }
}

fn workspace_root() -> Result<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

fn sandbox() -> Result<()> {
    let root = workspace_root()?;
    run::cargo(
        &["bench", "--package", "sandbox", "--bench", "cold_run"],
        &[],
        &[],
    )?;
    let ours: Vec<f64> = CASES
        .iter()
        .map(|case| criterion_median_ms(&root, case))
        .collect::<Result<_>>()?;

    let baseline_dir = root.join("bench/isolated-vm");
    if !baseline_dir.join("node_modules/isolated-vm").exists() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund"])
            .current_dir(&baseline_dir)
            .status()
            .context("npm is needed for the isolated-vm baseline")?;
        if !status.success() {
            bail!("npm install failed in {}", baseline_dir.display());
        }
    }
    let output = Command::new("node")
        .arg("bench.mjs")
        .current_dir(&baseline_dir)
        .output()
        .context("node is needed for the isolated-vm baseline")?;
    if !output.status.success() {
        bail!(
            "the isolated-vm baseline failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let baseline: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;

    println!("\ncold run, median (same machine, same run)");
    println!(
        "{:<22} {:>14} {:>22} {:>8}",
        "case", "sandbox (ms)", "isolated-vm (ms)", "ratio"
    );
    for (case, ours_ms) in CASES.iter().zip(ours) {
        let theirs = baseline
            .iter()
            .find(|v| v["name"] == *case)
            .and_then(|v| v["median_ms"].as_f64())
            .with_context(|| format!("the baseline printed no {case}"))?;
        println!(
            "{case:<22} {ours_ms:>14.4} {theirs:>22.4} {:>7.1}x",
            theirs / ours_ms
        );
    }
    Ok(())
}

/// The engine's per-node overhead (`crates/workflow-engine/benches/overhead.rs`): µs per node
/// and nodes/s per shape, and each against the spawn-per-node baseline of the same run.
fn engine() -> Result<()> {
    let root = workspace_root()?;
    run::cargo(
        &[
            "bench",
            "--package",
            "workflow-engine",
            "--bench",
            "overhead",
        ],
        &[],
        &[],
    )?;
    const SHAPES: &[(&str, f64)] = &[
        ("chain_1000", 1001.0),
        ("fanout_1000", 1002.0),
        ("diamonds_100x10", 1000.0),
        ("baseline_spawn_per_node_1000", 1000.0),
    ];
    let per_node: Vec<f64> = SHAPES
        .iter()
        .map(|(case, nodes)| Ok(criterion_median_ms_in(&root, "engine", case)? * 1000.0 / nodes))
        .collect::<Result<_>>()?;
    let baseline = per_node[SHAPES.len() - 1];
    println!("\nengine overhead with no-op nodes, median (goal: <= 20 us per node)");
    println!(
        "{:<30} {:>12} {:>12} {:>18}",
        "shape", "us/node", "nodes/s", "vs spawn/node"
    );
    for ((case, _), us) in SHAPES.iter().zip(&per_node) {
        println!(
            "{case:<30} {us:>12.2} {:>12.0} {:>17.2}x",
            1e6 / us,
            us / baseline
        );
    }
    Ok(())
}

/// The engine on the SQL store against the raw floor of the same database, same run
/// (`crates/workflow-store/benches/persisted.rs`): SQLite in a scratch file, and PostgreSQL in a
/// scratch database when 127.0.0.1:5432 answers.
fn persisted() -> Result<()> {
    let scratch = tempfile::tempdir()?;
    let sqlite = scratch.path().join("bench.db").display().to_string();
    let mut args = vec!["--sqlite".to_string(), sqlite];
    if crate::postgres::local_server_answers() {
        // Named like test databases, so `cargo xtask test` cleans it up too.
        const DATABASE: &str = "jet_test_bench_engine";
        crate::postgres::recreate_database(crate::postgres::LOCAL_URL, DATABASE)?;
        args.push("--postgres".into());
        args.push(format!("postgres://postgres@127.0.0.1:5432/{DATABASE}"));
    } else {
        println!("PostgreSQL does not answer on 127.0.0.1:5432: SQLite only");
    }
    run::cargo(
        &[
            "bench",
            "--package",
            "workflow-store",
            "--bench",
            "persisted",
            "--",
        ],
        &args,
        &[],
    )
}

fn criterion_median_ms(root: &Path, case: &str) -> Result<f64> {
    criterion_median_ms_in(root, "sandbox", case)
}

fn criterion_median_ms_in(root: &Path, group: &str, case: &str) -> Result<f64> {
    let path = root.join(format!(
        "target/criterion/{group}/{case}/new/estimates.json"
    ));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("criterion wrote no {}", path.display()))?;
    let estimates: Value = serde_json::from_str(&text)?;
    estimates["median"]["point_estimate"]
        .as_f64()
        .map(|ns| ns / 1e6)
        .with_context(|| format!("no median in {}", path.display()))
}
