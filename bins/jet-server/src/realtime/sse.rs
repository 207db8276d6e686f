//! `GET …/workflows/instances/{instanceID}/events`: one run's events as Server-Sent Events, for
//! clients without websockets. The same events and frames as the socket's `run:` room; each
//! carries `id: <seq>`, so a reconnecting `EventSource` resumes with `Last-Event-ID` (or
//! `?afterSeq=`) with no gap and no duplicate. Authorized like reading the run.
//!
//! The stream ends after the run's final status event (`event: end`), so a finished run's
//! stream does not hang; a client that restarts a failed run opens a new one with its
//! `Last-Event-ID`.

use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{Bytes, Data};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use futures_util::stream;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use utoipa::IntoParams;
use workflow_engine::RunId;

use crate::http::error::{ApiError, ErrorCode};
use crate::http::middleware::access_log::PrincipalId;
use crate::http::tenant_member::{TenantMember, query};
use crate::realtime::SocketSlot;
use crate::realtime::hub::{Inbox, Subscription};
use crate::state::AppState;

/// `GET …/events` query.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StreamQuery {
    /// Start after this sequence number (`Last-Event-ID` wins when both are sent).
    #[param(minimum = 0)]
    after_seq: Option<u64>,
}

/// Where the stream starts: `Last-Event-ID`, else `afterSeq`, else the beginning.
fn start_after(req: &HttpRequest) -> Result<u64, ApiError> {
    let invalid = |field: &str| {
        ApiError::new(
            ErrorCode::ValidationError,
            format!("{field}: must be a sequence number, 0 to {}", i64::MAX),
        )
        .with_detail("field", field.to_string())
    };
    let q: StreamQuery = query(req)?;
    let after = match req.headers().get("last-event-id") {
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| invalid("Last-Event-ID"))?,
        None => q.after_seq.unwrap_or(0),
    };
    if i64::try_from(after).is_err() {
        return Err(invalid("afterSeq"));
    }
    Ok(after)
}

/// The handler (`workflow:read` on the run's workflow).
pub async fn events(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let after = start_after(&req)?;
    let run = RunId(member.object_id()?);
    // 404 for a run of another tenant (the access check passes a type-wide holder through).
    let instance = workflows::instances::find(&state.db, member.tenant_id(), run).await?;
    let principal = req
        .extensions()
        .get::<PrincipalId>()
        .map(|p| p.0.clone())
        .ok_or_else(ApiError::server_error)?;
    let slot = state.realtime.open_socket(&principal).ok_or_else(|| {
        ApiError::new(
            ErrorCode::RateLimited,
            "too many open realtime connections for this principal",
        )
    })?;
    // A terminal event at or after the last one known now is the run's end (an earlier one
    // was followed by a restart).
    let end_from = instance.last_seq;
    let finished = instance.status.is_terminal() && after >= end_from;
    let (outbox, inbox) = state
        .realtime
        .hub
        .queue(state.realtime.settings.queue_events);
    let subscription = state.realtime.hub.follow_run(run, after, &outbox);
    let feed = Feed {
        inbox,
        _subscription: subscription,
        _slot: slot,
        closing: state.realtime.closing.clone(),
        keepalive: state.realtime.settings.heartbeat,
        end_from,
        state: if finished { Stage::Ending } else { Stage::Live },
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(stream::unfold(feed, Feed::next_chunk)))
}

/// The state of one event stream.
struct Feed {
    inbox: Inbox,
    _subscription: Subscription,
    _slot: SocketSlot,
    closing: CancellationToken,
    keepalive: Duration,
    end_from: u64,
    state: Stage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Live,
    /// The next chunk says `end`.
    Ending,
    Ended,
}

impl Feed {
    async fn next_chunk(mut self) -> Option<(Result<Bytes, std::convert::Infallible>, Feed)> {
        match self.state {
            Stage::Ended => return None,
            Stage::Ending => {
                self.state = Stage::Ended;
                return Some((Ok(Bytes::from_static(b"event: end\ndata: {}\n\n")), self));
            }
            Stage::Live => {}
        }
        // Polled only when the client takes what was written: a client that reads nothing
        // leaves its events in the log, not here.
        let chunk = tokio::select! {
            biased;
            () = self.closing.cancelled() => return None,
            delivery = self.inbox.next() => match delivery {
                Some(delivery) => {
                    let event = &delivery.event;
                    if event.is_terminal && event.seq >= self.end_from {
                        self.state = Stage::Ending;
                    }
                    format!("id: {}\ndata: {}\n\n", event.seq, event.frame())
                }
                None => return None,
            },
            () = tokio::time::sleep(self.keepalive) => ": keepalive\n\n".to_string(),
        };
        Some((Ok(Bytes::from(chunk)), self))
    }
}
