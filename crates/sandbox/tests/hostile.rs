//! Hostile scripts: each is stopped by its deadline or at its memory cap (the error says which),
//! the host survives, and the next run on the same sandbox is clean. How promptly the deadline
//! bites is measured by `cargo xtask bench sandbox`, not asserted here: a loaded machine (CI
//! runs tests in parallel on two cores) would make such an assertion fail for no fault of the
//! sandbox. The only clock check is a hang guard far above any deadline.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use sandbox::{Error, Limits, Sandbox, Script};
use serde_json::json;

const DEADLINE: Duration = Duration::from_millis(200);
/// A run still going this long after its deadline was not stopped by it.
const HANG_GUARD: Duration = Duration::from_secs(5);

fn limits() -> Limits {
    Limits::workflow()
        .with_time(DEADLINE)
        .with_memory(32 * 1024 * 1024)
}

/// Memory cases get a long deadline, so the cap (not the clock) is what must stop them.
fn memory_limits() -> Limits {
    Limits::workflow()
        .with_time(Duration::from_secs(10))
        .with_memory(16 * 1024 * 1024)
}

/// Runs `code`, checks it ends the expected way in time, then checks the sandbox still works.
async fn stopped(sandbox: &Sandbox, name: &str, code: &str, expected: fn(&Error) -> bool) {
    stopped_within(sandbox, name, code, expected, limits()).await
}

async fn stopped_within(
    sandbox: &Sandbox,
    name: &str,
    code: &str,
    expected: fn(&Error) -> bool,
    limits: Limits,
) {
    let deadline = limits.time;
    let started = Instant::now();
    let outcome = sandbox
        .run(Script::new(code).input("ctx", json!({"a": 1})), limits)
        .await;
    let elapsed = started.elapsed();
    match outcome {
        Err(error) => assert!(expected(&error), "{name}: unexpected {error:?}"),
        Ok(outcome) => panic!("{name}: expected a failure, got {:?}", outcome.value),
    }
    assert!(
        elapsed <= deadline + HANG_GUARD,
        "{name}: the deadline did not stop it ({elapsed:?})"
    );
    let next = sandbox
        .run(
            Script::new("return ctx.a + 1").input("ctx", json!({"a": 1})),
            Limits::workflow(),
        )
        .await
        .unwrap();
    assert_eq!(next.value, json!(2), "{name}: the next run is not clean");
}

fn timeout(e: &Error) -> bool {
    matches!(e, Error::Timeout { .. })
}
fn memory(e: &Error) -> bool {
    matches!(e, Error::MemoryLimit { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_code_is_stopped_at_the_deadline() {
    let sandbox = Sandbox::new(2);
    let cases: &[(&str, &str)] = &[
        ("while(true)", "while (true) {}"),
        (
            "loop inside try/finally",
            "try { while (true) {} } finally { while (true) {} }",
        ),
        (
            "loop inside catch",
            "while (true) { try { while (true) {} } catch (e) { } }",
        ),
        (
            "catch swallowing the interrupt",
            "for (;;) { try { for (;;) {} } catch (e) { continue } }",
        ),
        (
            "endless promise chain",
            "const go = () => Promise.resolve().then(go); go(); return new Promise(() => {})",
        ),
        (
            "async loop",
            "async function spin() { for (;;) { await null } } return spin()",
        ),
        ("eval", "eval('while (true) {}')"),
        ("Function", "new Function('while (true) {}')()"),
        (
            "toJSON at conversion time",
            "return { toJSON() { while (true) {} } }",
        ),
        (
            "getter at conversion time",
            "return { get x() { for (;;) {} } }",
        ),
    ];
    for (name, code) in cases {
        stopped(&sandbox, name, code, timeout).await;
    }
    // Allocates a promise per turn: whichever limit comes first stops it.
    stopped(
        &sandbox,
        "then-chain built in a loop",
        "let p = Promise.resolve(); for (;;) { p = p.then(() => 1) }",
        |e| timeout(e) || memory(e),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_hogs_are_stopped_at_the_cap() {
    let sandbox = Sandbox::new(2);
    let cases: &[(&str, &str)] = &[
        (
            "array growth",
            "const a = []; for (;;) a.push({ n: a.length, s: 'x' + a.length })",
        ),
        (
            "string doubling, flattened",
            "let s = 'x'; for (;;) s = [s, s].join('')",
        ),
        (
            "typed arrays",
            "const keep = []; for (;;) keep.push(new Float64Array(1 << 20))",
        ),
        (
            "eval'd growth",
            "eval('const a = []; for (;;) a.push([1, 2, 3])')",
        ),
    ];
    for (name, code) in cases {
        stopped_within(&sandbox, name, code, memory, memory_limits()).await;
    }
    // Concatenation builds ropes that share storage, so doubling reaches QuickJS's string length
    // cap (2^30) before the memory cap; that stop is a script error, and just as final.
    stopped_within(
        &sandbox,
        "string doubling",
        "let s = 'x'; for (;;) s += s",
        |e| {
            memory(e)
                || matches!(e, Error::Script { message, .. } if message.contains("string too long"))
        },
        memory_limits(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deep_recursion_overflows_the_stack_limit_not_the_host() {
    let sandbox = Sandbox::new(2);
    stopped(
        &sandbox,
        "recursion",
        "function f(n) { return f(n + 1) + 1 } return f(0)",
        |e| matches!(e, Error::StackOverflow),
    )
    .await;
    stopped(
        &sandbox,
        "recursion with catch",
        "function f() { try { return f() } catch (e) { return f() } } return f()",
        |e| matches!(e, Error::StackOverflow | Error::Timeout { .. }),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mb_result_is_refused() {
    let sandbox = Sandbox::new(1);
    let limits = Limits::workflow().with_time(Duration::from_secs(5));
    let outcome = sandbox
        .run(
            Script::new("return 'x'.repeat(100 * 1024 * 1024)"),
            limits.clone(),
        )
        .await;
    assert!(
        matches!(
            outcome,
            Err(Error::OutputTooLarge { .. } | Error::MemoryLimit { .. })
        ),
        "{outcome:?}"
    );
    // With room for the string, the result cap (16 MB) is what refuses it.
    let roomy = limits.with_memory(512 * 1024 * 1024);
    let outcome = sandbox
        .run(Script::new("return 'x'.repeat(100 * 1024 * 1024)"), roomy)
        .await;
    assert!(
        matches!(outcome, Err(Error::OutputTooLarge { .. })),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catastrophic_regex_is_stopped_at_the_deadline() {
    let sandbox = Sandbox::new(1);
    let subject = format!("{}!", "a".repeat(30));
    let started = Instant::now();
    let outcome = sandbox
        .regex_matches("(a+)+$", "", &subject, limits())
        .await;
    let elapsed = started.elapsed();
    assert!(matches!(outcome, Err(Error::Timeout { .. })), "{outcome:?}");
    assert!(
        elapsed <= DEADLINE + HANG_GUARD,
        "the deadline did not stop it ({elapsed:?})"
    );
    assert!(
        sandbox
            .regex_matches("^a+!$", "", &subject, limits())
            .await
            .unwrap()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pollution_never_reaches_the_next_run_or_the_host() {
    let sandbox = Sandbox::new(1);
    let ctx = json!({"user": {"name": "a"}});
    let polluter = Script::new(
        "Object.prototype.polluted = 'yes'; ctx.__proto__.viaCtx = 'yes'; ctx.user.name = 'mutated';
         Array.prototype.map = null; JSON.stringify = () => '\"hacked\"'; JSON.parse = null;
         globalThis.leftover = 1; return { ok: true }",
    )
    .input("ctx", ctx.clone());
    let outcome = sandbox.run(polluter, Limits::workflow()).await.unwrap();
    assert_eq!(
        outcome.value,
        json!({"ok": true}),
        "the result converter was captured before user code"
    );
    assert_eq!(ctx["user"]["name"], "a", "the host's value is a copy");

    let probe = Script::new(
        "return [typeof Object.prototype.polluted, typeof ({}).viaCtx, typeof [].map,
                 typeof JSON.parse, typeof globalThis.leftover, ctx.user.name]",
    )
    .input("ctx", ctx);
    let outcome = sandbox.run(probe, Limits::workflow()).await.unwrap();
    assert_eq!(
        outcome.value,
        json!([
            "undefined",
            "undefined",
            "function",
            "function",
            "undefined",
            "a"
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_global_object_holds_no_host_capabilities() {
    let sandbox = Sandbox::new(1);
    let outcome = sandbox
        .run(
            Script::new("return Object.getOwnPropertyNames(globalThis)").input("ctx", json!({})),
            Limits::workflow(),
        )
        .await
        .unwrap();
    let names: Vec<String> = serde_json::from_value(outcome.value).unwrap();
    let forbidden = [
        "require",
        "process",
        "module",
        "exports",
        "std",
        "os",
        "fetch",
        "XMLHttpRequest",
        "WebSocket",
        "setTimeout",
        "setInterval",
        "setImmediate",
        "Deno",
        "Bun",
        "print",
        "scriptArgs",
        "__loadScript",
        "Worker",
        "importScripts",
    ];
    for name in forbidden {
        assert!(
            !names.iter().any(|n| n == name),
            "globalThis.{name} must not exist"
        );
    }
    // What remains is the ECMAScript library (quickjs-ng adds `queueMicrotask`, which only
    // schedules a job in this run's own queue) plus what we bound.
    assert!(names.iter().any(|n| n == "ctx") && names.iter().any(|n| n == "console"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_cannot_be_loaded() {
    let sandbox = Sandbox::new(1);
    for code in [
        "return await import('x')",
        "return await import('/etc/passwd')",
        "return await import('data:text/javascript,export default 1')",
    ] {
        let outcome = sandbox.run(Script::new(code), Limits::workflow()).await;
        assert!(
            matches!(outcome, Err(Error::Script { .. })),
            "{code}: {outcome:?}"
        );
    }
}

#[test]
fn bytecode_is_never_executed() {
    let runtime = rquickjs::Runtime::new().unwrap();
    let context = rquickjs::Context::full(&runtime).unwrap();
    let bytecode = context.with(|ctx| {
        rquickjs::Module::declare(ctx, "m", "export default 42")
            .unwrap()
            .write(rquickjs::WriteOptions::default())
            .unwrap()
    });
    let as_text = String::from_utf8_lossy(&bytecode).into_owned();
    let outcome = sandbox::run_blocking(&Script::new(as_text), &Limits::workflow());
    assert!(
        matches!(&outcome, Err(Error::Script { message, .. }) if message.starts_with("SyntaxError")),
        "{outcome:?}"
    );
}
