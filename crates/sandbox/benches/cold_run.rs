//! Cold-run cost of the sandbox: a fresh runtime and context, inputs in as JSON, evaluation,
//! result out as JSON — what every workflow JavaScript node pays.
//!
//! `cargo xtask bench sandbox` runs this and the original's isolated-vm on the same scripts
//! (`bench/isolated-vm/bench.mjs`) and prints the ratio.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use sandbox::{Limits, Script, run_blocking};
use serde_json::{Value, json};

/// About 10 KB of JSON, the same shape as the Node baseline's.
fn ten_kilobyte_ctx() -> Value {
    let items: Vec<Value> = (0..170)
        .map(|i| json!({"id": i, "name": format!("item-{i}"), "price": f64::from(i) * 1.5, "tags": ["a", "b"]}))
        .collect();
    json!({"a": 1, "items": items})
}

fn cold_runs(c: &mut Criterion) {
    let limits = Limits::workflow();
    let small = Script::new("return ctx.a + 1").input("ctx", json!({"a": 1}));
    let large = Script::new("return ctx.items.length + ctx.a").input("ctx", ten_kilobyte_ctx());
    assert!(serde_json::to_string(&ten_kilobyte_ctx()).unwrap().len() >= 9_500);

    let mut group = c.benchmark_group("sandbox");
    group.bench_function("return_ctx_a_plus_1", |b| {
        b.iter(|| run_blocking(&small, &limits).unwrap())
    });
    group.bench_function("ctx_10kb", |b| {
        b.iter(|| run_blocking(&large, &limits).unwrap())
    });
    group.finish();
}

criterion_group!(benches, cold_runs);
criterion_main!(benches);
