//! User JavaScript in QuickJS, with hard limits.
//!
//! Workflow JavaScript nodes, condition expressions, `matches_regex` and listener transforms all
//! run code written by tenants. This crate runs it so that the worst a script can do is fail.
//!
//! # Using it
//!
//! ```
//! # async fn demo() -> Result<(), sandbox::Error> {
//! use sandbox::{Limits, Sandbox, Script};
//! let sandbox = Sandbox::new(8);
//! let script = Script::new("return ctx.a + 1").input("ctx", serde_json::json!({"a": 41}));
//! let outcome = sandbox.run(script, Limits::workflow()).await?;
//! assert_eq!(outcome.value, serde_json::json!(42));
//! # Ok(()) }
//! ```
//!
//! The code is the body of an `async` function: `return` gives the result, `await` works, and the
//! returned promise is awaited. The result must be JSON: `undefined` becomes `null`; functions,
//! symbols, BigInts and cycles are [`Error::InvalidResult`].
//!
//! # Threat model
//!
//! **A script can:** compute with the JSON inputs it was given (`ctx`, `event`, …); use the
//! standard ECMAScript library (including `eval`, `Function`, `RegExp`, `Date`, `Math`, typed
//! arrays, promises); call the host helpers its caller chose to bind (JSON in, JSON out); write
//! to `console` (captured, bounded); return a JSON result.
//!
//! **A script cannot:**
//! - *reach the host*: QuickJS has no I/O of its own and we add none — no file system, network,
//!   processes, environment variables, timers or module loading (no loader is installed, so
//!   `import()` rejects). Only the caller's helpers cross the boundary, as JSON values.
//! - *run forever*: an interrupt handler checks the deadline while JavaScript executes (loops,
//!   `finally` blocks, promise jobs, regex matching) and raises an exception the script cannot
//!   catch. Host helpers are synchronous and return before the check resumes.
//! - *exhaust memory*: the runtime's allocator refuses beyond [`Limits::memory_bytes`] (the
//!   `rust-alloc`/`allocator` features, which would bypass the cap, are off); results and console
//!   output have their own caps.
//! - *overflow the native stack*: recursion stops at [`Limits::stack_bytes`].
//! - *affect another run*: every run gets a fresh runtime and context, dropped when it ends, so
//!   prototype pollution, redefined globals or leftover promises vanish with it; inputs are
//!   copied in as JSON, so mutating `ctx` never touches the caller's value.
//! - *inject bytecode*: only source text is ever evaluated; the bytecode loaders of QuickJS are
//!   never called.
//! - *stall the server*: runs happen on blocking threads ([`Sandbox`]), a bounded number at once.
//!
//! **Not defended here:** side channels (timing), and the caller's own helpers — a helper that
//! does I/O gives scripts that I/O. Helpers are the caller's responsibility and should be few.

mod engine;
mod error;
mod limits;
mod outcome;
mod predicates;
mod runner;
mod script;

pub use engine::run_blocking;
pub use error::Error;
pub use limits::Limits;
pub use outcome::{ConsoleLevel, ConsoleLine, Outcome};
pub use predicates::{condition_blocking, regex_matches_blocking};
pub use runner::Sandbox;
pub use script::{HostFn, Script};
