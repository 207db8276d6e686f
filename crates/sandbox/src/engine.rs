//! One run, synchronously, on the calling thread: a fresh QuickJS runtime and context, the
//! limits installed, inputs and helpers bound, the code evaluated, its promise driven to the end,
//! and the result converted to JSON.
//!
//! Nothing is reused between runs, so nothing a script does (polluting prototypes, redefining
//! globals, leaking memory) can be seen by the next one. A fresh runtime costs tens of
//! microseconds, which is why pooling is not worth its risk.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rquickjs::context::EvalOptions;
use rquickjs::function::Rest;
use rquickjs::prelude::Func;
use rquickjs::promise::PromiseState;
use rquickjs::{Context, Ctx, Exception, Function, Object, Persistent, Promise, Runtime, Value};

use crate::error::Error;
use crate::limits::Limits;
use crate::outcome::{ConsoleLevel, ConsoleLine, Outcome};
use crate::script::{HostFn, Script};

/// The user's code runs as the body of this function, so `return` and `await` work at the top.
/// The prefix sits on the user's first line so line numbers need no shifting; columns on that
/// first line are shifted back by its length.
const WRAPPER_PREFIX: &str = "(async function () {";
const WRAPPER_SUFFIX: &str = "\n})()";
const FILE_NAME: &str = "script";

/// Marker of the error the result converter throws when the JSON is too long.
const TOO_LARGE_MARKER: &str = "__jet_output_too_large__";

/// Built before any user code runs, so the script cannot replace the functions it captures.
/// It rejects functions and symbols anywhere in the result (plain `JSON.stringify` would drop
/// them silently) and refuses output longer than the limit.
const RESULT_CONVERTER: &str = r#"(function (stringify) {
  function replacer(key, value) {
    var kind = typeof value;
    if (kind === "function" || kind === "symbol") {
      throw new TypeError("a " + kind + " at " + (key === "" ? "the top level" : "key " + stringify(key)) + " cannot be represented in JSON");
    }
    return value;
  }
  return function (value, max) {
    var text = stringify(value, replacer);
    if (text !== undefined && text.length > max) {
      throw new RangeError("__jet_output_too_large__");
    }
    return text === undefined ? "null" : text;
  };
})(JSON.stringify)"#;

/// Heap sampling walks the whole heap, so the job loop samples only every this many jobs.
const SAMPLE_EVERY_JOBS: u32 = 256;

/// Runs `script` under `limits` on this thread.
pub fn run_blocking(script: &Script, limits: &Limits) -> Result<Outcome, Error> {
    let started = Instant::now();
    let deadline = started + limits.time;
    let runtime = Runtime::new().map_err(engine_error)?;
    runtime.set_memory_limit(limits.memory_bytes);
    runtime.set_max_stack_size(limits.stack_bytes);
    let timed_out = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&timed_out);
    runtime.set_interrupt_handler(Some(Box::new(move || {
        if Instant::now() >= deadline {
            flag.store(true, Ordering::Relaxed);
            true
        } else {
            false
        }
    })));
    let context = Context::full(&runtime).map_err(engine_error)?;
    let console = Rc::new(RefCell::new(ConsoleBuffer::new(limits)));

    let mut run = Run {
        runtime: &runtime,
        context: &context,
        limits,
        timed_out: &timed_out,
        deadline,
        peak_heap_bytes: 0,
    };
    let outcome = run.execute(script, &console);
    let peak_heap_bytes = run.peak_heap_bytes;
    // Free the context before the runtime, and both before reporting: a run leaves nothing.
    drop(context);
    drop(runtime);

    let value = outcome?;
    let console = Rc::try_unwrap(console)
        .map(RefCell::into_inner)
        .unwrap_or_else(|shared| shared.borrow().clone());
    Ok(Outcome {
        value,
        console: console.lines,
        console_dropped: console.dropped,
        elapsed: started.elapsed(),
        peak_heap_bytes,
    })
}

struct Run<'a> {
    runtime: &'a Runtime,
    context: &'a Context,
    limits: &'a Limits,
    timed_out: &'a AtomicBool,
    deadline: Instant,
    peak_heap_bytes: usize,
}

type Started = (Persistent<Promise<'static>>, Persistent<Function<'static>>);

impl Run<'_> {
    fn execute(
        &mut self,
        script: &Script,
        console: &Rc<RefCell<ConsoleBuffer>>,
    ) -> Result<serde_json::Value, Error> {
        let (promise, convert) = self.context.with(|ctx| self.start(&ctx, script, console))?;
        self.sample_heap();

        // Drive the job queue outside `with`: the runtime's own methods need its lock.
        let mut jobs: u32 = 0;
        loop {
            let settled = self
                .context
                .with(|ctx| {
                    promise
                        .clone()
                        .restore(&ctx)
                        .map(|p| p.state() != PromiseState::Pending)
                })
                .map_err(engine_error)?;
            if settled {
                break;
            }
            // Jobs can be short enough never to reach the interrupt check; look at the clock too.
            if self.timed_out.load(Ordering::Relaxed) || Instant::now() >= self.deadline {
                return Err(self.timeout());
            }
            match self.runtime.execute_pending_job() {
                Ok(true) => {}
                // A job that threw: async code turns throws into rejections, so this is an
                // uncatchable interrupt or an allocation failure; the checks below classify it.
                Err(_) => {}
                Ok(false) => {
                    if self.timed_out.load(Ordering::Relaxed) {
                        return Err(self.timeout());
                    }
                    return Err(Error::Script {
                        message: "the script awaited a promise that never settles".into(),
                        line: None,
                        column: None,
                        stack: None,
                    });
                }
            }
            jobs = jobs.wrapping_add(1);
            if jobs.is_multiple_of(SAMPLE_EVERY_JOBS) {
                self.sample_heap();
            }
        }

        let json = self
            .context
            .with(|ctx| self.finish(&ctx, promise, convert))?;
        self.sample_heap();
        if json.len() > self.limits.result_bytes {
            return Err(Error::OutputTooLarge {
                limit: self.limits.result_bytes,
            });
        }
        serde_json::from_str(&json).map_err(|e| Error::InvalidResult {
            reason: e.to_string(),
        })
    }

    /// Binds the environment and evaluates the wrapped code, returning its promise.
    fn start<'js>(
        &self,
        ctx: &Ctx<'js>,
        script: &Script,
        console: &Rc<RefCell<ConsoleBuffer>>,
    ) -> Result<Started, Error> {
        let fail = |e| self.failure(ctx, e);
        let convert: Function<'js> = ctx.eval(RESULT_CONVERTER).map_err(fail)?;
        let globals = ctx.globals();
        for (name, value) in &script.inputs {
            let json = serde_json::to_string(value).map_err(|e| Error::Engine(e.to_string()))?;
            let value = ctx.json_parse(json).map_err(fail)?;
            globals.set(name.as_str(), value).map_err(fail)?;
        }
        install_console(ctx, console).map_err(fail)?;
        for (name, helper) in &script.helpers {
            install_helper(ctx, name, helper.clone()).map_err(fail)?;
        }

        // Source text only: a NUL byte cannot occur in JavaScript source, and is how serialized
        // bytecode would have to arrive.
        if let Some(position) = script.code.find('\0') {
            return Err(Error::Script {
                message: format!(
                    "SyntaxError: the source contains a NUL byte at offset {position}"
                ),
                line: None,
                column: None,
                stack: None,
            });
        }
        let source = format!("{WRAPPER_PREFIX}{}{WRAPPER_SUFFIX}", script.code);
        let mut options = EvalOptions::default();
        options.global = true;
        options.strict = false;
        options.filename = Some(FILE_NAME.to_string());
        let promise: Promise<'js> = ctx.eval_with_options(source, options).map_err(fail)?;
        Ok((
            Persistent::save(ctx, promise),
            Persistent::save(ctx, convert),
        ))
    }

    /// Reads the settled promise and converts its value to JSON text.
    fn finish<'js>(
        &self,
        ctx: &Ctx<'js>,
        promise: Persistent<Promise<'static>>,
        convert: Persistent<Function<'static>>,
    ) -> Result<String, Error> {
        let promise = promise.restore(ctx).map_err(engine_error)?;
        let convert = convert.restore(ctx).map_err(engine_error)?;
        let value: Value<'js> = match promise.result() {
            Some(result) => result.map_err(|e| self.failure(ctx, e))?,
            None => return Err(Error::Engine("the promise settled and unsettled".into())),
        };
        convert
            .call((value, self.limits.result_bytes))
            .map_err(|e| self.result_failure(ctx, e))
    }

    fn sample_heap(&mut self) {
        let usage = self.runtime.memory_usage();
        let used = usize::try_from(usage.malloc_size).unwrap_or(usize::MAX);
        self.peak_heap_bytes = self.peak_heap_bytes.max(used);
    }

    fn timeout(&self) -> Error {
        Error::Timeout {
            limit: self.limits.time,
        }
    }

    /// Classifies a failure while converting the result.
    fn result_failure(&self, ctx: &Ctx<'_>, error: rquickjs::Error) -> Error {
        match self.failure(ctx, error) {
            Error::Script { message, .. } if message.contains(TOO_LARGE_MARKER) => {
                Error::OutputTooLarge {
                    limit: self.limits.result_bytes,
                }
            }
            Error::Script { message, .. } if message.starts_with("TypeError") => {
                Error::InvalidResult { reason: message }
            }
            other => other,
        }
    }

    /// Turns an engine error (usually a pending JavaScript exception) into our error.
    fn failure(&self, ctx: &Ctx<'_>, error: rquickjs::Error) -> Error {
        if self.timed_out.load(Ordering::Relaxed) {
            return self.timeout();
        }
        match error {
            rquickjs::Error::Exception => self.exception(ctx, ctx.catch()),
            rquickjs::Error::Allocation => Error::MemoryLimit {
                limit: self.limits.memory_bytes,
            },
            other => Error::Engine(other.to_string()),
        }
    }

    fn exception<'js>(&self, ctx: &Ctx<'js>, thrown: Value<'js>) -> Error {
        let memory_limit = Error::MemoryLimit {
            limit: self.limits.memory_bytes,
        };
        let Some(exception) = thrown.as_exception() else {
            // QuickJS throws `null` when it cannot even allocate the error object.
            if thrown.is_null() || thrown.is_undefined() {
                return memory_limit;
            }
            let text = ctx
                .json_stringify(thrown)
                .ok()
                .flatten()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_else(|| "a non-error value".into());
            return Error::Script {
                message: format!("Uncaught {text}"),
                line: None,
                column: None,
                stack: None,
            };
        };
        let message = exception.message().unwrap_or_default();
        let name: String = exception
            .get::<_, Option<rquickjs::convert::Coerced<String>>>("name")
            .ok()
            .flatten()
            .map(|n| n.0)
            .unwrap_or_else(|| "Error".into());
        if message.contains("out of memory") {
            return memory_limit;
        }
        if message.contains("stack overflow") || message.contains("Maximum call stack") {
            return Error::StackOverflow;
        }
        let stack = exception.stack().filter(|s| !s.trim().is_empty());
        let (line, column) = stack
            .as_deref()
            .and_then(first_user_position)
            .map_or((None, None), |(l, c)| (Some(l), Some(c)));
        Error::Script {
            message: format!("{name}: {message}"),
            line,
            column,
            stack,
        }
    }
}

/// The first `script:line:column` in a QuickJS stack, mapped back to the user's code.
fn first_user_position(stack: &str) -> Option<(u32, u32)> {
    let marker = format!("{FILE_NAME}:");
    stack.lines().find_map(|frame| {
        let start = frame.find(&marker)? + marker.len();
        let mut parts = frame[start..].split(|c: char| !c.is_ascii_digit());
        let line: u32 = parts.next()?.parse().ok()?;
        let column: u32 = parts.next()?.parse().ok()?;
        let prefix = u32::try_from(WRAPPER_PREFIX.len()).ok()?;
        let column = if line == 1 {
            column.saturating_sub(prefix).max(1)
        } else {
            column
        };
        Some((line, column))
    })
}

fn engine_error(error: rquickjs::Error) -> Error {
    Error::Engine(error.to_string())
}

/// Console output kept within the limits.
#[derive(Debug, Clone)]
struct ConsoleBuffer {
    lines: Vec<ConsoleLine>,
    dropped: usize,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl ConsoleBuffer {
    fn new(limits: &Limits) -> Self {
        ConsoleBuffer {
            lines: Vec::new(),
            dropped: 0,
            bytes: 0,
            max_lines: limits.console_lines,
            max_bytes: limits.console_bytes,
        }
    }

    fn push(&mut self, level: ConsoleLevel, mut text: String) {
        let room = self.max_bytes.saturating_sub(self.bytes);
        if self.lines.len() >= self.max_lines || room == 0 {
            self.dropped += 1;
            return;
        }
        if text.len() > room {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        self.bytes += text.len();
        self.lines.push(ConsoleLine { level, text });
    }
}

fn install_console<'js>(
    ctx: &Ctx<'js>,
    buffer: &Rc<RefCell<ConsoleBuffer>>,
) -> rquickjs::Result<()> {
    let console = Object::new(ctx.clone())?;
    let methods = [
        ("log", ConsoleLevel::Log),
        ("info", ConsoleLevel::Log),
        ("warn", ConsoleLevel::Warn),
        ("error", ConsoleLevel::Error),
        ("debug", ConsoleLevel::Debug),
    ];
    for (name, level) in methods {
        let buffer = Rc::clone(buffer);
        let print = move |ctx: Ctx<'js>, args: Rest<Value<'js>>| {
            let text = args
                .0
                .into_iter()
                .map(|value| display(&ctx, value))
                .collect::<Vec<_>>()
                .join(" ");
            buffer.borrow_mut().push(level, text);
        };
        console.set(name, Func::from(print))?;
    }
    ctx.globals().set("console", console)
}

/// Strings as they are, everything else as JSON (or a placeholder when that fails).
fn display<'js>(ctx: &Ctx<'js>, value: Value<'js>) -> String {
    if let Some(text) = value.as_string() {
        return text.to_string().unwrap_or_default();
    }
    if value.is_undefined() {
        return "undefined".into();
    }
    ctx.json_stringify(value)
        .ok()
        .flatten()
        .and_then(|s| s.to_string().ok())
        .unwrap_or_else(|| "[unserializable]".into())
}

fn install_helper<'js>(ctx: &Ctx<'js>, name: &str, helper: HostFn) -> rquickjs::Result<()> {
    let call = move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> rquickjs::Result<Value<'js>> {
        let mut json_args = Vec::with_capacity(args.0.len());
        for value in args.0 {
            let text = ctx
                .json_stringify(value)?
                .map(|s| s.to_string())
                .transpose()?
                .unwrap_or_else(|| "null".into());
            let parsed = serde_json::from_str(&text)
                .map_err(|e| Exception::throw_type(&ctx, &e.to_string()))?;
            json_args.push(parsed);
        }
        match helper(&json_args) {
            Ok(result) => {
                let text = serde_json::to_string(&result)
                    .map_err(|e| Exception::throw_internal(&ctx, &e.to_string()))?;
                ctx.json_parse(text)
            }
            Err(message) => Err(Exception::throw_message(&ctx, &message)),
        }
    };
    ctx.globals().set(name, Func::from(call))
}

#[cfg(test)]
mod tests {
    use super::first_user_position;

    #[test]
    fn stack_positions_map_to_the_users_code() {
        let prefix = super::WRAPPER_PREFIX.len() as u32;
        assert_eq!(
            first_user_position("    at <anonymous> (script:3:11)\n"),
            Some((3, 11))
        );
        assert_eq!(
            first_user_position(&format!("    at f (script:1:{})\n", prefix + 5)),
            Some((1, 5))
        );
        assert_eq!(first_user_position("    at native\n"), None);
    }
}
