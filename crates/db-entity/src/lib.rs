//! sea-orm entities of the platform tables. No logic.
//!
//! One module per table, mirroring the `migrations` crate. Domain crates use these to query; the
//! server never touches them directly and never serializes them to the wire.

pub mod users;
