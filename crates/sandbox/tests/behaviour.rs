//! What well-behaved scripts get: every JSON type back, errors with positions, console capture,
//! async results, inputs, helpers, and limits honoured exactly as configured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use sandbox::{ConsoleLevel, Error, Limits, Script, run_blocking};
use serde_json::{Value, json};

fn run(code: &str) -> Result<Value, Error> {
    run_blocking(&Script::new(code), &Limits::workflow()).map(|o| o.value)
}

#[test]
fn every_json_type_comes_back() {
    let cases = [
        ("return 42", json!(42)),
        ("return 1.5", json!(1.5)),
        ("return -0", json!(0)),
        ("return 'text'", json!("text")),
        ("return true", json!(true)),
        ("return null", json!(null)),
        ("return [1, 'a', null, [2]]", json!([1, "a", null, [2]])),
        (
            "return {a: {b: [1, {c: 'd'}]}}",
            json!({"a": {"b": [1, {"c": "d"}]}}),
        ),
        ("return undefined", json!(null)),
        ("", json!(null)),
        ("return {a: undefined, b: 1}", json!({"b": 1})),
        ("return NaN", json!(null)),
        ("return new Date(0)", json!("1970-01-01T00:00:00.000Z")),
        ("return 'héllo ✓ 😀'", json!("héllo ✓ 😀")),
    ];
    for (code, expected) in cases {
        assert_eq!(run(code).unwrap(), expected, "{code}");
    }
}

#[test]
fn values_that_are_not_json_are_refused() {
    for code in [
        "return function () {}",
        "return Symbol('s')",
        "return 10n",
        "const a = {}; a.self = a; return a",
        "return {nested: {fn() {}}}",
        "return [1, Symbol.iterator]",
    ] {
        assert!(
            matches!(run(code), Err(Error::InvalidResult { .. })),
            "{code}: {:?}",
            run(code)
        );
    }
}

#[test]
fn inputs_are_bound_as_globals() {
    let script =
        Script::new("return ctx.order.items.map(i => i.price * i.qty).reduce((a, b) => a + b, 0)")
            .input(
                "ctx",
                json!({"order": {"items": [{"price": 2, "qty": 3}, {"price": 5, "qty": 1}]}}),
            );
    assert_eq!(
        run_blocking(&script, &Limits::workflow()).unwrap().value,
        json!(11)
    );

    let script = Script::new("return event.type + ':' + ctx.n")
        .input("event", json!({"type": "created"}))
        .input("ctx", json!({"n": 1}));
    assert_eq!(
        run_blocking(&script, &Limits::transform()).unwrap().value,
        json!("created:1")
    );
}

#[test]
fn errors_carry_message_line_and_column() {
    let error = run("const a = 1;\nconst b = 2;\nnull.x;").unwrap_err();
    let Error::Script {
        message,
        line,
        column,
        stack,
    } = error
    else {
        panic!("{error:?}")
    };
    assert!(message.starts_with("TypeError"), "{message}");
    assert_eq!(line, Some(3));
    assert!(column.is_some());
    assert!(stack.is_some());

    let error = run("throw new Error('boom')").unwrap_err();
    let Error::Script {
        message,
        line,
        column,
        ..
    } = error
    else {
        panic!("{error:?}")
    };
    assert_eq!(message, "Error: boom");
    assert_eq!(line, Some(1));
    // QuickJS places an Error at its constructor call: `new Error` starts at column 11.
    assert_eq!(
        column,
        Some(11),
        "columns on the first line ignore the wrapper"
    );

    let error = run("let x = ;").unwrap_err();
    let Error::Script { message, line, .. } = error else {
        panic!("{error:?}")
    };
    assert!(message.starts_with("SyntaxError"), "{message}");
    assert_eq!(line, Some(1));

    let error = run("throw 'plain string'").unwrap_err();
    assert!(
        matches!(&error, Error::Script { message, .. } if message.contains("plain string")),
        "{error:?}"
    );
}

#[test]
fn console_output_is_captured_and_bounded() {
    let outcome = run_blocking(
        &Script::new("console.log('a', 1, {b: 2}, [3], undefined); console.warn('w'); console.error('e'); console.debug('d'); return 0"),
        &Limits::workflow(),
    )
    .unwrap();
    let lines: Vec<_> = outcome
        .console
        .iter()
        .map(|l| (l.level, l.text.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (ConsoleLevel::Log, "a 1 {\"b\":2} [3] undefined"),
            (ConsoleLevel::Warn, "w"),
            (ConsoleLevel::Error, "e"),
            (ConsoleLevel::Debug, "d"),
        ]
    );

    let limits = Limits {
        console_lines: 3,
        console_bytes: 1000,
        ..Limits::workflow()
    };
    let outcome = run_blocking(
        &Script::new("for (let i = 0; i < 10; i++) console.log(i)"),
        &limits,
    )
    .unwrap();
    assert_eq!(outcome.console.len(), 3);
    assert_eq!(outcome.console_dropped, 7);

    let limits = Limits {
        console_lines: 100,
        console_bytes: 10,
        ..Limits::workflow()
    };
    let outcome = run_blocking(
        &Script::new("console.log('x'.repeat(50)); console.log('y')"),
        &limits,
    )
    .unwrap();
    assert_eq!(outcome.console[0].text, "x".repeat(10));
    assert_eq!(outcome.console_dropped, 1);
}

#[test]
fn async_code_is_awaited() {
    let cases = [
        ("return await Promise.resolve(5)", json!(5)),
        (
            "const xs = await Promise.all([1, 2, 3].map(async x => x * 2)); return xs",
            json!([2, 4, 6]),
        ),
        (
            "async function f(n) { return n <= 0 ? 0 : n + await f(n - 1) } return f(100)",
            json!(5050),
        ),
        ("return Promise.resolve({ok: true})", json!({"ok": true})),
    ];
    for (code, expected) in cases {
        assert_eq!(run(code).unwrap(), expected, "{code}");
    }
    let error = run("await Promise.reject(new RangeError('nope'))").unwrap_err();
    assert!(
        matches!(&error, Error::Script { message, .. } if message == "RangeError: nope"),
        "{error:?}"
    );
    let error = run("await new Promise(() => {})").unwrap_err();
    assert!(
        matches!(&error, Error::Script { message, .. } if message.contains("never settles")),
        "{error:?}"
    );
}

#[test]
fn helpers_are_the_only_way_out_and_speak_json() {
    let script =
        Script::new("return formatDate(ctx.ts, 'iso') + '|' + JSON.stringify(echo({a: [1]}))")
            .input("ctx", json!({"ts": 0}))
            .helper("formatDate", |args| {
                assert_eq!(args, [json!(0), json!("iso")]);
                Ok(json!("1970-01-01"))
            })
            .helper("echo", |args| Ok(args[0].clone()));
    assert_eq!(
        run_blocking(&script, &Limits::workflow()).unwrap().value,
        json!("1970-01-01|{\"a\":[1]}")
    );

    let failing = Script::new("try { fail() } catch (e) { return e.message }")
        .helper("fail", |_| Err("no such date".into()));
    assert_eq!(
        run_blocking(&failing, &Limits::workflow()).unwrap().value,
        json!("no such date")
    );
}

#[test]
fn the_time_limit_is_honoured_as_configured() {
    for millis in [20u64, 150, 400] {
        let limit = Duration::from_millis(millis);
        let outcome = run_blocking(
            &Script::new("while (true) {}"),
            &Limits::workflow().with_time(limit),
        );
        assert_eq!(outcome.unwrap_err(), Error::Timeout { limit });
    }
    // Well within the limit, a slow-ish script completes.
    let outcome = run_blocking(
        &Script::new("let s = 0; for (let i = 0; i < 1e5; i++) s += i; return s"),
        &Limits::workflow().with_time(Duration::from_secs(5)),
    )
    .unwrap();
    assert_eq!(outcome.value, json!(4999950000u64));
    assert!(outcome.elapsed < Duration::from_secs(5));
}

#[test]
fn the_memory_limit_is_honoured_as_configured() {
    let grow =
        "const a = []; for (let i = 0; i < 1e8; i++) a.push({i, s: 'x' + i}); return a.length";
    for megabytes in [4usize, 16, 32] {
        let limit = megabytes * 1024 * 1024;
        let outcome = run_blocking(&Script::new(grow), &Limits::workflow().with_memory(limit));
        assert_eq!(outcome.unwrap_err(), Error::MemoryLimit { limit });
    }
    // The same cap admits a script that stays under it.
    let outcome = run_blocking(
        &Script::new("const a = new Array(1000).fill('x'.repeat(100)); return a.length"),
        &Limits::workflow().with_memory(4 * 1024 * 1024),
    )
    .unwrap();
    assert_eq!(outcome.value, json!(1000));
    assert!(outcome.peak_heap_bytes > 0 && outcome.peak_heap_bytes <= 4 * 1024 * 1024);
}

#[test]
fn the_result_limit_is_honoured_as_configured() {
    let limits = Limits {
        result_bytes: 100,
        ..Limits::workflow()
    };
    assert_eq!(
        run_blocking(&Script::new("return 'x'.repeat(98)"), &limits)
            .unwrap()
            .value
            .as_str()
            .map(str::len),
        Some(98)
    );
    assert_eq!(
        run_blocking(&Script::new("return 'x'.repeat(99)"), &limits).unwrap_err(),
        Error::OutputTooLarge { limit: 100 }
    );
}

#[test]
fn conditions_and_regexes_evaluate() {
    let ctx = json!({"order": {"total": 120, "tags": ["vip"]}});
    let limits = Limits::transform();
    assert!(
        sandbox::condition_blocking(
            "ctx.order.total > 100 && ctx.order.tags.includes('vip')",
            ctx.clone(),
            &limits
        )
        .unwrap()
    );
    assert!(!sandbox::condition_blocking("ctx.order.total > 1000", ctx.clone(), &limits).unwrap());
    assert!(
        sandbox::condition_blocking("ctx.order.total // trailing comment", ctx.clone(), &limits)
            .unwrap()
    );
    assert!(sandbox::condition_blocking("ctx.missing", ctx, &limits).is_ok_and(|v| !v));

    assert!(sandbox::regex_matches_blocking("^ord-\\d+$", "", "ord-42", &limits).unwrap());
    assert!(sandbox::regex_matches_blocking("^ORD", "i", "ord-42", &limits).unwrap());
    assert!(!sandbox::regex_matches_blocking("^x", "", "ord", &limits).unwrap());
    assert!(matches!(
        sandbox::regex_matches_blocking("(", "", "x", &limits),
        Err(Error::Script { .. })
    ));
    assert!(matches!(
        sandbox::regex_matches_blocking("a", "z", "a", &limits),
        Err(Error::Script { .. })
    ));
}
