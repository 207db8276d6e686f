//! The engine's acceptance tests, one binary, through the public API as an embedder uses it:
//! topologies, validation, the join race, random DAGs, and the crash contract.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
#[cfg(feature = "sandbox")]
mod javascript;
mod properties;
mod races;
mod support;
mod surface;
mod topology;
mod validation;
