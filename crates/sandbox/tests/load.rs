//! Load: a thousand runs at once, a tenth of them hostile, with the process's memory bounded.
//!
//! A test binary of its own, so no other test shares the process (its memory high-water mark is
//! what is measured) or competes for the two cores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sandbox::{Error, Limits, Sandbox, Script};
use serde_json::json;

fn rss_high_water_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_runs_at_once_keep_memory_bounded() {
    let in_flight = 8;
    let sandbox = Sandbox::new(in_flight);
    let before = rss_high_water_kb();
    let limits = Limits::workflow()
        .with_memory(16 * 1024 * 1024)
        .with_time(Duration::from_millis(250));
    let tasks: Vec<_> = (0..1000)
        .map(|i| {
            let sandbox = sandbox.clone();
            let limits = limits.clone();
            tokio::spawn(async move {
                let code = match i % 10 {
                    0 => "const a = []; for (;;) a.push('x'.repeat(1000))",
                    1 => "while (true) {}",
                    _ => "const a = new Array(50000).fill(ctx.i); return a.reduce((s, x) => s + x, 0)",
                };
                sandbox.run(Script::new(code).input("ctx", json!({"i": i})), limits).await
            })
        })
        .collect();
    let mut completed = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        match (i % 10, task.await.unwrap()) {
            // Under load a memory hog may reach its deadline before its cap: both stop it.
            (0, Err(Error::MemoryLimit { .. } | Error::Timeout { .. }))
            | (1, Err(Error::Timeout { .. })) => {}
            (_, Ok(outcome)) => {
                assert_eq!(outcome.value, json!(50000 * i));
                completed += 1;
            }
            (_, other) => panic!("run {i}: {other:?}"),
        }
    }
    assert_eq!(completed, 800);
    let grown_mb = rss_high_water_kb().saturating_sub(before) / 1024;
    println!("1,000 runs, {in_flight} in flight: peak RSS grew by {grown_mb} MB");
    // At most `in_flight` heaps of 16 MB exist at once, plus allocator slack.
    assert!(
        grown_mb < (in_flight as u64) * 16 * 2 + 64,
        "peak RSS grew by {grown_mb} MB"
    );
}
