//! # workflows
//!
//! Workflows in the platform, without HTTP: saved definitions ([`definitions`]: versioned
//! graphs, checked by the engine and for what they reference), the graph's wire shape
//! ([`graph`]), runs as instances of them ([`instances`]), the hosts the engine calls back
//! ([`hosts`]: data queries and sub-workflows, inside the run's tenant only) and the node
//! configuration schemas editors read ([`schemas`]).
//!
//! The engine itself (`workflow-engine`) and its SQL store (`workflow-store`) know nothing of
//! tenants: the platform runs every workflow with the tenant's id as the engine namespace, so
//! a run, its events, its requests and its sub-workflows never leave their tenant.

pub mod definitions;
mod error;
pub mod graph;
pub mod hosts;
pub mod instances;
pub mod schemas;

pub use error::Error;
