//! The HTTP edge's middleware, one concern per module. `startup` wraps the app in this order
//! (outermost first): request id → access log → security headers → CORS → per-IP rate limit →
//! body-size check → audit → router; `http::resource` wraps every resource in the panic catcher, and `http::configure` wraps the
//! resources of routes that change access in `access_changes`.
//!
//! Why this order: the request id must exist before anything logs; the access log must see the
//! final status, including a caught panic's 500; CORS wraps the rate limiter so a browser can read
//! a 429; the body check runs last, right before routing.
//!
//! Rule for app-level layers: never hold a clone of the `HttpRequest` across `next.call` (the
//! router needs sole ownership of it and panics otherwise).

pub mod access_changes;
pub mod access_log;
pub mod audit;
pub mod body_limit;
pub mod catch_panic;
pub mod cors;
pub mod rate_limit;
pub mod request_id;
pub mod security_headers;
