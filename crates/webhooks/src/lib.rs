//! # webhooks
//!
//! Webhook triggers without HTTP: a workflow's endpoints `POST /api/v1/hooks/{id}` that start
//! a run with the delivery's body as input.
//!
//! - [`auth`]: how a hook checks a delivery: no check, HTTP basic, a bearer token, a secret in
//!   a named header, or an HMAC-SHA256 signature over `timestamp + "." + raw body` with the
//!   timestamp in a five-minute window, every secret compared in constant time.
//! - [`hooks`]: the hooks themselves (create, list, rotate the secret, enable, disable,
//!   delete), their secrets made by the server, shown once and stored sealed.
//! - [`deliveries`]: what a delivery changes that every process must see: the hook's
//!   per-minute rate window and the delivery ids it accepted (a replay is refused).
//! - [`input`]: the body (JSON, form or text) as the run's input.
//!
//! The HTTP route, the refusal codes and the audit row of each delivery are the server's.

pub mod auth;
pub mod deliveries;
mod error;
pub mod hooks;
pub mod input;

pub use auth::{Checked, HookAuth, Presented, Refused, sign};
pub use error::Error;
