//! The realtime protocol, version 1: JSON text frames, one message per frame.
//!
//! Client → server: `auth`, `subscribe`, `unsubscribe`, `run`, `submit`, `ping`; each may carry
//! an `id` the answer echoes. Server → client: `ready` (authenticated), `ack`, `error` (with a
//! code of the HTTP API's code table), `event`, `pong`. `docs/realtime.md` is the reference;
//! the close codes are [`Close`].

use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::http::error::ApiError;

/// The protocol version, sent in `ready`.
pub const VERSION: u32 = 1;

/// A client message.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum ClientMessage {
    /// Credentials, for clients that cannot set the `Authorization` header (browsers): the
    /// header's value, or a fresh token to keep the socket open past the old one's expiry.
    #[serde(rename_all = "camelCase")]
    Auth {
        /// Echoed.
        id: Option<Value>,
        /// `Bearer <ID token>` or `api_key <key>`.
        authorization: String,
    },
    /// Listen to a room.
    #[serde(rename_all = "camelCase")]
    Subscribe {
        /// Echoed.
        id: Option<Value>,
        /// `run:{instanceID}`, `workflow:{workflowID}` or `tenant:{tenantID}`.
        room: String,
        /// For a run: replay the events after this sequence number first (0: all).
        after_seq: Option<u64>,
    },
    /// Stop listening to a room.
    #[serde(rename_all = "camelCase")]
    Unsubscribe {
        /// Echoed.
        id: Option<Value>,
        /// The room.
        room: String,
    },
    /// Start a run of a saved workflow and follow it on this socket.
    #[serde(rename_all = "camelCase")]
    Run {
        /// Echoed.
        id: Option<Value>,
        /// The workflow.
        #[serde(rename = "workflowID")]
        workflow_id: Uuid,
        /// Its input values.
        #[serde(default)]
        input_values: Map<String, Value>,
    },
    /// Answer a run's data-collection request.
    #[serde(rename_all = "camelCase")]
    Submit {
        /// Echoed.
        id: Option<Value>,
        /// The run.
        #[serde(rename = "instanceID")]
        instance_id: Uuid,
        /// The request.
        #[serde(rename = "requestID")]
        request_id: String,
        /// The answer.
        submitted_data: Map<String, Value>,
    },
    /// Liveness at the application level (websocket pings work too).
    Ping {
        /// Echoed.
        id: Option<Value>,
    },
}

impl ClientMessage {
    /// The correlation id the answer echoes.
    pub fn id(&self) -> Option<&Value> {
        match self {
            ClientMessage::Auth { id, .. }
            | ClientMessage::Subscribe { id, .. }
            | ClientMessage::Unsubscribe { id, .. }
            | ClientMessage::Run { id, .. }
            | ClientMessage::Submit { id, .. }
            | ClientMessage::Ping { id } => id.as_ref(),
        }
    }
}

/// Why the server closes a socket: the websocket close code and its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// 1001: the server is stopping; reconnect (to another process) with `afterSeq`.
    GoingAway,
    /// 1002: a frame that breaks the websocket protocol.
    ProtocolViolation,
    /// 1007: a text message that is not UTF-8.
    NotUtf8,
    /// 1009: a message over `JET_WS_MAX_MESSAGE_BYTES`.
    TooBig,
    /// 4001: no valid credentials within the auth timeout, or the credentials were refused.
    Unauthenticated,
    /// 4002: the ID token expired and no fresh one came.
    TokenExpired,
    /// 4008: the client did not read its events: a write waited longer than
    /// `JET_WS_STALL_SECS`, or a live feed overflowed; reconnect with `afterSeq` to resume.
    TooSlow,
    /// 4010: no pong (or any message) for three heartbeat intervals.
    Silent,
    /// 4029: too many sockets of this principal.
    TooManySockets,
}

impl Close {
    /// The close code.
    pub fn code(self) -> u16 {
        match self {
            Close::GoingAway => 1001,
            Close::ProtocolViolation => 1002,
            Close::NotUtf8 => 1007,
            Close::TooBig => 1009,
            Close::Unauthenticated => 4001,
            Close::TokenExpired => 4002,
            Close::TooSlow => 4008,
            Close::Silent => 4010,
            Close::TooManySockets => 4029,
        }
    }

    /// The reason sent with it.
    pub fn reason(self) -> &'static str {
        match self {
            Close::GoingAway => "server stopping",
            Close::ProtocolViolation => "protocol error",
            Close::NotUtf8 => "text is not UTF-8",
            Close::TooBig => "message too big",
            Close::Unauthenticated => "not authenticated",
            Close::TokenExpired => "token expired",
            Close::TooSlow => "too slow: the client did not read",
            Close::Silent => "no heartbeat",
            Close::TooManySockets => "too many sockets",
        }
    }
}

/// `{"type":"error","id":…,"error":{code,message,…}}`.
pub fn error_frame(id: Option<&Value>, error: &ApiError) -> String {
    json!({"type": "error", "id": id, "error": error.body()}).to_string()
}

/// `{"type":"ack","id":…, …fields}`.
pub fn ack_frame(id: Option<&Value>, fields: Value) -> String {
    let mut frame = json!({"type": "ack", "id": id});
    if let (Some(frame), Value::Object(fields)) = (frame.as_object_mut(), fields) {
        frame.extend(fields);
    }
    frame.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_by_type_and_refuse_unknown_fields() {
        let parse = |v: Value| serde_json::from_value::<ClientMessage>(v).is_ok();
        assert!(parse(
            json!({"type": "subscribe", "room": "run:x", "afterSeq": 3, "id": 1})
        ));
        assert!(parse(json!({"type": "ping"})));
        assert!(parse(
            json!({"type": "run", "workflowID": Uuid::nil(), "inputValues": {}})
        ));
        assert!(!parse(
            json!({"type": "subscribe", "room": "run:x", "extra": 1})
        ));
        assert!(!parse(json!({"type": "join_room", "room": "x"})));
        assert!(!parse(json!({"room": "x"})));
    }

    #[test]
    fn acks_carry_their_fields() {
        let frame: Value = serde_json::from_str(&ack_frame(Some(&json!(7)), json!({"room": "r"})))
            .unwrap_or_default();
        assert_eq!(frame, json!({"type": "ack", "id": 7, "room": "r"}));
    }
}
