//! # webhooks
//!
//! Webhook triggers without HTTP. This slice holds how a hook checks a delivery
//! ([`auth`]): no check, HTTP basic, a bearer token, a secret in a named header, or an
//! HMAC-SHA256 signature over `timestamp + "." + raw body` with the timestamp in a five-minute
//! window, every secret compared in constant time. The hooks' table, their encrypted secrets,
//! replay protection by delivery id, the rate limit and the route come next (issue 14).

pub mod auth;

pub use auth::{Checked, HookAuth, Presented, Refused, sign};
