//! The built-in node types of the product (SYSTEM.md §4), each a [`NodeHandler`] registered
//! like any host type.

mod approval;
mod condition;
mod data_collection;
mod data_query;
mod delay;
mod end;
mod fanout;
mod javascript;
mod join;
mod loop_node;
pub mod operators;
mod start;
mod sub_workflow;
mod switch;

use std::sync::Arc;
use std::time::Duration;

use crate::node::NodeHandler;
use crate::run::Timestamp;

/// One handler per built-in type.
pub fn builtins() -> Vec<Arc<dyn NodeHandler>> {
    vec![
        Arc::new(start::Start),
        Arc::new(end::End),
        Arc::new(javascript::JavaScript),
        Arc::new(condition::Condition),
        Arc::new(switch::Switch),
        Arc::new(loop_node::Loop),
        Arc::new(delay::Delay),
        Arc::new(data_query::DataQuery),
        Arc::new(data_collection::DataCollection),
        Arc::new(fanout::Fanout),
        Arc::new(join::Join),
        Arc::new(approval::Approval),
        Arc::new(sub_workflow::SubWorkflow),
    ]
}

/// The expiry of a request created at `now` for `expiryMinutes` (0 or absent with no default:
/// never).
fn expiry(config: &serde_json::Value, default_minutes: f64, now: Timestamp) -> Option<Timestamp> {
    let minutes = config
        .get("expiryMinutes")
        .and_then(|v| v.as_f64())
        .unwrap_or(default_minutes);
    (minutes > 0.0).then(|| crate::clock::after(now, Duration::from_secs_f64(minutes * 60.0)))
}
