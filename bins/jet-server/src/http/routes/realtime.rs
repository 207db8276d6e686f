//! The realtime endpoints' declarations: the websocket (`GET /api/v1/ws`) and a run's
//! Server-Sent Events. Their handlers live in [`crate::realtime`].

use rbac::{Action, Resource};

use crate::http::access::{Access, TenantRule};
use crate::http::error::ErrorCode;
use crate::http::route::Route;
use crate::realtime::{socket, sse};

/// What the websocket's OpenAPI description says (the full reference is `docs/realtime.md`).
const SOCKET_DESCRIPTION: &str = "\
The realtime websocket, protocol version 1: JSON text frames, one message each.\n\n\
**Authentication**: the `Authorization` header (`Bearer <ID token>` or `api_key <key>`), or \
for browsers a first message `{\"type\":\"auth\",\"authorization\":\"Bearer …\"}` within 5 s. \
Never put a token in the URL. The server answers `{\"type\":\"ready\",\"protocol\":1,…}`. \
An `Origin` must be on `CORS_ALLOWED_ORIGINS`. The socket closes (4002) when the ID token \
expires unless an `auth` message brought a fresh one.\n\n\
**Client messages** (each may carry an `id`, echoed in the answer): \
`subscribe {room, afterSeq?}`, `unsubscribe {room}`, `run {workflowID, inputValues}` \
(`workflow:execute`; the run is followed on this socket), \
`submit {instanceID, requestID, submittedData}` (`workflow:execute`), `ping`, `auth`. \
Answers: `ack` or `error {error: {code, message}}` with the codes of the HTTP API.\n\n\
**Rooms**: `run:{instanceID}` (every event, replayed after `afterSeq`, then live; \
`workflow:read` on its workflow), `workflow:{workflowID}` (every event of its runs, live; \
`workflow:read` on it), `tenant:{tenantID}` (status events of every run, live; \
`workflow:list` and type-wide `workflow:read`).\n\n\
**Events**: `{\"type\":\"event\",\"room\",\"event\",\"instanceID\",\"workflowID\",\"seq\",\"at\",\
\"nodeID\",\"status\",\"log\"}` where `event` is `workflow_node_update`, \
`workflow_status_update`, `workflow_data_collection_request`, `workflow_context_update` or \
`workflow_log`.\n\n\
**Close codes**: 1001 server stopping, 1002 protocol error, 1007 text not UTF-8, \
1009 message too big, 4001 not authenticated, \
4002 token expired, 4008 too slow (the client did not read: resume with `afterSeq`), \
4010 no heartbeat, 4029 too many sockets.";

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v1/ws", Access::Principal, socket::connect)
            .doc("openRealtimeSocket", "Realtime", "The realtime websocket")
            .describe(SOCKET_DESCRIPTION)
            .upgrade()
            .errors(&[ErrorCode::InvalidRequest]),
        Route::get(
            "/api/v1/tenants/{tenantID}/workflows/instances/{instanceID}/events",
            Access::Tenant(
                TenantRule::reads(Resource::Workflow, Action::Read).on_run("instanceID"),
            ),
            sse::events,
        )
        .doc(
            "streamWorkflowRunEvents",
            "Realtime",
            "A run's events as Server-Sent Events",
        )
        .describe(
            "Every event of the run after `Last-Event-ID` (or `afterSeq`), then live, each as \
             `id: <seq>` and `data: <the websocket's event frame>`; `event: end` follows the \
             run's final status, then the stream ends; a client that reconnects resumes with \
             `Last-Event-ID`.",
        )
        .query::<sse::StreamQuery>()
        .event_stream(),
    ]
}
