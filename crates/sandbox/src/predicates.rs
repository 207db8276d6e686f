//! Condition expressions and user regexes, run under the same limits as any script.
//!
//! A condition node's `expression` operator evaluates `Boolean(<expr>)` with `ctx` bound; the
//! `matches_regex` operator runs the user's pattern on QuickJS's backtracking regex engine, whose
//! matching loop polls the interrupt handler, so a catastrophic pattern stops at the deadline
//! instead of pinning a thread (the original ran it on its main thread).

use crate::error::Error;
use crate::limits::Limits;
use crate::script::Script;

/// Flags JavaScript's `RegExp` accepts.
const REGEX_FLAGS: &str = "dgimsuyv";

/// The script that evaluates a condition expression.
pub fn condition_script(expression: &str, ctx: serde_json::Value) -> Script {
    // The expression sits on its own lines so a trailing `//` comment cannot swallow the
    // closing parentheses.
    Script::new(format!("return Boolean((\n{expression}\n));")).input("ctx", ctx)
}

/// The script that tests `subject` against `pattern` with `flags`.
pub fn regex_script(pattern: &str, flags: &str, subject: &str) -> Result<Script, Error> {
    if let Some(bad) = flags.chars().find(|c| !REGEX_FLAGS.contains(*c)) {
        return Err(Error::Script {
            message: format!("SyntaxError: invalid regular expression flag '{bad}'"),
            line: None,
            column: None,
            stack: None,
        });
    }
    Ok(
        Script::new("return new RegExp(__pattern, __flags).test(__subject);")
            .input("__pattern", serde_json::Value::from(pattern))
            .input("__flags", serde_json::Value::from(flags))
            .input("__subject", serde_json::Value::from(subject)),
    )
}

/// Reads the boolean a predicate script returned.
pub fn as_bool(value: &serde_json::Value) -> Result<bool, Error> {
    value.as_bool().ok_or_else(|| Error::InvalidResult {
        reason: format!("expected a boolean, got {value}"),
    })
}

/// Evaluates a condition on the calling thread.
pub fn condition_blocking(
    expression: &str,
    ctx: serde_json::Value,
    limits: &Limits,
) -> Result<bool, Error> {
    let outcome = crate::engine::run_blocking(&condition_script(expression, ctx), limits)?;
    as_bool(&outcome.value)
}

/// Tests a regex on the calling thread.
pub fn regex_matches_blocking(
    pattern: &str,
    flags: &str,
    subject: &str,
    limits: &Limits,
) -> Result<bool, Error> {
    let outcome = crate::engine::run_blocking(&regex_script(pattern, flags, subject)?, limits)?;
    as_bool(&outcome.value)
}
