//! A run event as clients see it: rendered to its JSON frame once, then shared by every
//! subscriber (a run with 1,000 watchers is serialized once per event, not 1,000 times).
//!
//! The frame carries the original product's event names (`workflow_node_update`,
//! `workflow_status_update`, `workflow_data_collection_request`) with the run's sequence
//! number, and the engine's log entry itself under `log`. Context keys starting with `__` (the
//! engine's and the platform's bookkeeping) never leave the server.

use bytestring::ByteString;
use serde_json::{Map, Value, json};
use workflow_engine::{Event, RunId};

/// One event of one run, ready to send.
#[derive(Debug)]
pub struct LiveEvent {
    /// The run.
    pub run: RunId,
    /// Its sequence number in the run's log.
    pub seq: u64,
    /// Whether it changes the run's status (the tenant feed carries only these).
    pub is_status: bool,
    /// Whether it ends the run (completed, failed, cancelled).
    pub is_terminal: bool,
    /// The frame in the run's own room (`{"room":"run:…","type":"event",…}`), the room nearly
    /// every subscriber listens in: built once, and each socket sends a reference to it.
    in_run_room: ByteString,
    /// `run:{instanceID}`.
    run_room: String,
}

impl LiveEvent {
    /// Renders `event` of `run` (of workflow `workflow_id`).
    pub fn render(run: RunId, workflow_id: Option<&str>, event: &Event) -> LiveEvent {
        let mut log = serde_json::to_value(event).unwrap_or(Value::Null);
        strip_private(&mut log);
        let (name, status) = classify(event.name(), &log);
        let mut frame = json!({
            "type": "event",
            "event": name,
            "instanceID": run.0,
            "workflowID": workflow_id,
            "seq": event.seq(),
            "at": event.at(),
            "nodeID": event.node(),
            "status": status,
            "log": log,
        });
        if name == "workflow_data_collection_request" {
            // What `submit` (or `…/requests/{requestID}/submit`) answers.
            frame["requestID"] = frame["log"]["request_id"].clone();
            frame["request"] = frame["log"]["suspension"].clone();
        }
        let run_room = format!("run:{}", run.0);
        LiveEvent {
            in_run_room: ByteString::from(in_room(&frame.to_string(), &run_room)),
            run_room,
            run,
            seq: event.seq(),
            is_status: name == "workflow_status_update",
            is_terminal: matches!(
                event.name(),
                "RUN_COMPLETED" | "RUN_FAILED" | "RUN_CANCELLED"
            ),
        }
    }

    /// The frame in the run's room, for SSE (the stream of one run).
    pub fn frame(&self) -> &str {
        &self.in_run_room
    }

    /// The frame with the subscription's room first (`{"room":"run:…","type":"event",…}`).
    pub fn frame_in(&self, room: &str) -> ByteString {
        if room == self.run_room {
            return self.in_run_room.clone();
        }
        // What follows the run's room in the shared frame: `,"type":"event",…}`.
        let rest = self
            .in_run_room
            .get(in_room_prefix_len(&self.run_room)..)
            .unwrap_or_default();
        let room = Value::String(room.to_string());
        ByteString::from(format!("{{\"room\":{room}{rest}"))
    }
}

/// The length of `{"room":"<room>"` (a run room needs no escaping).
fn in_room_prefix_len(run_room: &str) -> usize {
    r#"{"room":""#.len() + run_room.len() + 1
}

/// `frame` with `"room"` as its first key.
fn in_room(frame: &str, room: &str) -> String {
    let body = frame.strip_prefix('{').unwrap_or(frame);
    let room = Value::String(room.to_string());
    format!("{{\"room\":{room},{body}")
}

/// The client-facing event name and status for a log entry.
fn classify(log_name: &str, log: &Value) -> (&'static str, Option<String>) {
    let node = |status: &str| ("workflow_node_update", Some(status.to_string()));
    let run = |status: &str| ("workflow_status_update", Some(status.to_string()));
    match log_name {
        "INPUT_SET" | "RUN_RESTARTED" => run("RUNNING"),
        "RUN_COMPLETED" => run("COMPLETED"),
        "RUN_FAILED" => run("FAILED"),
        "RUN_CANCELLED" => run("CANCELLED"),
        "NODE_DISPATCHED" => node("queued"),
        "NODE_COMPLETED" => node("success"),
        "NODE_FAILED" => {
            let retrying = log["outcome"]["then"] == "retry";
            node(if retrying { "retrying" } else { "error" })
        }
        "CHILD_STARTED" => node("waiting"),
        "NODE_SUSPENDED" => ("workflow_data_collection_request", Some("waiting".into())),
        "SYSTEM_SET" => ("workflow_context_update", None),
        _ => ("workflow_log", None),
    }
}

/// Drops `__` keys from the places a log entry carries context: a system patch, a run's input
/// and a completed node's context patch.
fn strip_private(log: &mut Value) {
    for key in ["patch", "input"] {
        if let Some(Value::Object(map)) = log.get_mut(key) {
            let kept: Map<String, Value> = std::mem::take(map)
                .into_iter()
                .filter(|(key, _)| !key.starts_with("__"))
                .collect();
            *map = kept;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_room_goes_first_and_the_frame_stays_json() {
        let frame = json!({"type": "event", "seq": 1}).to_string();
        let run = RunId(uuid::Uuid::nil());
        let event = LiveEvent {
            in_run_room: ByteString::from(in_room(&frame, &format!("run:{}", run.0))),
            run_room: format!("run:{}", run.0),
            run,
            seq: 1,
            is_status: false,
            is_terminal: false,
        };
        let framed: Value = serde_json::from_str(&event.frame_in("run:\"x\"")).unwrap_or_default();
        assert_eq!(
            framed,
            json!({"room": "run:\"x\"", "type": "event", "seq": 1})
        );
        let in_run: Value =
            serde_json::from_str(&event.frame_in(&format!("run:{}", run.0))).unwrap_or_default();
        assert_eq!(
            in_run,
            json!({"room": format!("run:{}", run.0), "type": "event", "seq": 1})
        );
    }

    #[test]
    fn private_keys_are_dropped_from_patches_and_input() {
        let mut log = json!({"type": "systemSet", "patch": {"__workflowDefinition": {}, "a": 1},
            "input": {"__secret": 1, "b": 2}});
        strip_private(&mut log);
        assert_eq!(
            log,
            json!({"type": "systemSet", "patch": {"a": 1}, "input": {"b": 2}})
        );
    }
}
