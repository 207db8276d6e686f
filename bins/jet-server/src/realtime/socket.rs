//! `GET /api/v1/ws`: the realtime websocket.
//!
//! The upgrade is refused (as JSON errors) for an Origin off the CORS allow-list, bad
//! credentials in the `Authorization` header, or too many sockets of the principal. A socket
//! opened without the header must send an `auth` message within the auth timeout; a token is
//! never read from the URL (URLs reach logs). Then each connection is one task that reads client
//! messages ([`protocol::ClientMessage`]), writes the events of its subscriptions from its
//! bounded queue, pings every heartbeat, and closes with a documented code ([`Close`]) when the
//! client is too slow or silent, its token expires, or the server stops.
//!
//! Too slow means: one write could not proceed for the stall timeout (the client reads
//! nothing, so the kernel's buffers and the session's short queue are full), or a live feed
//! overflowed. Meanwhile the hub only keeps the socket's run cursors; nothing piles up.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{Data, Payload};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;
use workflow_engine::RunId;

use crate::http::access::TenantRule;
use crate::http::auth::{Authenticated, Principal, authenticate_credentials};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::middleware::access_log::PrincipalId;
use crate::http::tenant_member::admit;
use crate::realtime::SocketSlot;
use crate::realtime::hub::{Delivery, Inbox, Outbox, Subscription};
use crate::realtime::protocol::{self, ClientMessage, Close};
use crate::realtime::rooms::{self, Room, Source};
use crate::state::AppState;

/// How long a close frame may wait for room in the send queue.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// Deliveries a socket writes in one go before it looks at its other duties again.
const BATCH: usize = 64;

/// The upgrade handler.
pub async fn connect(
    req: HttpRequest,
    body: Payload,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if let Some(origin) = req.headers().get(header::ORIGIN)
        && !state.edge.cors.allows(origin.to_str().unwrap_or("null"))
    {
        return Err(ApiError::new(
            ErrorCode::CorsOriginNotAllowed,
            "this origin may not open the realtime socket (CORS_ALLOWED_ORIGINS)",
        ));
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().map(str::trim))
        .transpose()
        .map_err(|_| ApiError::from(identity::Error::MalformedAuthorization))?
        .filter(|value| !value.is_empty());
    let (authenticated, slot) = match authorization {
        Some(header) => {
            let authenticated = authenticate_credentials(&state, header).await?;
            req.extensions_mut()
                .insert(PrincipalId(authenticated.principal_id.clone()));
            state.limits.check_principal(&authenticated.principal_id)?;
            let slot = state
                .realtime
                .open_socket(&authenticated.principal_id)
                .ok_or_else(too_many_sockets)?;
            (Some(authenticated), Some(slot))
        }
        None => (None, None),
    };
    let (response, session, stream) = actix_ws::handle(&req, body).map_err(|_| {
        ApiError::new(
            ErrorCode::InvalidRequest,
            "this endpoint speaks WebSocket: send GET with `Upgrade: websocket`",
        )
    })?;
    let max = state.realtime.settings.max_message_bytes;
    let stream = stream
        .max_frame_size(max)
        .aggregate_continuations()
        .max_continuation_size(max);
    let (outbox, inbox) = state
        .realtime
        .hub
        .queue(state.realtime.settings.queue_events);
    let connection = Connection {
        state,
        session,
        outbox,
        auth: authenticated,
        _slot: slot,
        subscriptions: HashMap::new(),
        rooms_by_subscription: HashMap::new(),
        last_heard: Instant::now(),
    };
    actix_web::rt::spawn(connection.run(stream, inbox));
    Ok(response)
}

fn too_many_sockets() -> ApiError {
    ApiError::new(
        ErrorCode::RateLimited,
        "too many open realtime sockets for this principal",
    )
}

/// What to do after handling something.
enum Flow {
    Continue,
    Close(Close),
    /// The client went away.
    Gone,
}

struct Connection {
    state: Data<AppState>,
    session: Session,
    outbox: Outbox,
    auth: Option<Authenticated>,
    _slot: Option<SocketSlot>,
    subscriptions: HashMap<Room, Subscription>,
    rooms_by_subscription: HashMap<u64, String>,
    last_heard: Instant,
}

impl Connection {
    async fn run(mut self, mut stream: AggregatedMessageStream, mut inbox: Inbox) {
        let settings = self.state.realtime.settings.clone();
        if self.auth.is_none() {
            let flow = tokio::time::timeout(settings.auth_timeout, self.await_auth(&mut stream))
                .await
                .unwrap_or(Flow::Close(Close::Unauthenticated));
            match flow {
                Flow::Continue => {}
                Flow::Close(close) => return self.close(close).await,
                Flow::Gone => return,
            }
        }
        if self.session.text(self.ready_frame()).await.is_err() {
            return;
        }
        let closing = self.state.realtime.closing.clone();
        // Waited on once, not made again on every turn of the loop: each new wait registers
        // (and drops) a waiter under the token's lock, once per event per socket.
        let going_away = closing.clone().cancelled_owned();
        let lagging = inbox.lagged().clone().cancelled_owned();
        tokio::pin!(going_away, lagging);
        let mut heartbeat =
            tokio::time::interval_at(Instant::now() + settings.heartbeat, settings.heartbeat);
        // Made once and reset on a fresh token: a timer made on every turn of the loop would
        // cost each socket a timer-wheel entry per event.
        let mut expires_at = self.expires_at();
        let expiry = tokio::time::sleep_until(deadline(expires_at));
        tokio::pin!(expiry);
        let outcome = loop {
            let flow = tokio::select! {
                biased;
                () = &mut going_away => Flow::Close(Close::GoingAway),
                () = &mut lagging => Flow::Close(Close::TooSlow),
                () = &mut expiry, if expires_at.is_some() => Flow::Close(Close::TokenExpired),
                message = stream.recv() => match message {
                    Some(message) => self.on_message(message).await,
                    None => Flow::Gone,
                },
                delivery = inbox.next() => match delivery {
                    Some(delivery) => self.send_events(delivery, &mut inbox, &closing).await,
                    None => Flow::Gone,
                },
                _ = heartbeat.tick() => self.beat(settings.heartbeat).await,
            };
            if self.expires_at() != expires_at {
                expires_at = self.expires_at();
                expiry.as_mut().reset(deadline(expires_at));
            }
            match flow {
                Flow::Continue => {}
                Flow::Close(close) => break Some(close),
                Flow::Gone => break None,
            }
        };
        // Unsubscribe before the (possibly slow) close.
        self.subscriptions.clear();
        if let Some(close) = outcome {
            self.close(close).await;
        }
    }

    /// Waits for the `auth` message of a socket opened without credentials.
    async fn await_auth(&mut self, stream: &mut AggregatedMessageStream) -> Flow {
        loop {
            let text = match stream.recv().await {
                None => return Flow::Gone,
                Some(Ok(AggregatedMessage::Text(text))) => text,
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if self.session.pong(&bytes).await.is_err() {
                        return Flow::Gone;
                    }
                    continue;
                }
                Some(Ok(AggregatedMessage::Pong(_))) => continue,
                Some(Ok(AggregatedMessage::Close(_))) => return Flow::Gone,
                Some(Ok(AggregatedMessage::Binary(_))) | Some(Err(_)) => {
                    return Flow::Close(Close::Unauthenticated);
                }
            };
            let (id, authorization) = match serde_json::from_str::<ClientMessage>(&text) {
                Ok(ClientMessage::Auth { id, authorization }) => (id, authorization),
                Ok(other) => {
                    let error = ApiError::new(
                        ErrorCode::UserAuthTokenNotFound,
                        "send an `auth` message first (or the Authorization header)",
                    );
                    self.reply(protocol::error_frame(other.id(), &error)).await;
                    return Flow::Close(Close::Unauthenticated);
                }
                Err(error) => {
                    let error = ApiError::new(ErrorCode::InvalidRequest, error.to_string());
                    self.reply(protocol::error_frame(None, &error)).await;
                    return Flow::Close(Close::Unauthenticated);
                }
            };
            let authenticated = match authenticate_credentials(&self.state, &authorization).await {
                Ok(authenticated) => authenticated,
                Err(error) => {
                    self.reply(protocol::error_frame(id.as_ref(), &error)).await;
                    return Flow::Close(Close::Unauthenticated);
                }
            };
            let Some(slot) = self.state.realtime.open_socket(&authenticated.principal_id) else {
                return Flow::Close(Close::TooManySockets);
            };
            self._slot = Some(slot);
            self.auth = Some(authenticated);
            return Flow::Continue;
        }
    }

    /// When the socket's ID token expires (`None`: an API key, or not yet authenticated).
    fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.auth.as_ref().and_then(|a| a.expires_at)
    }

    fn ready_frame(&self) -> String {
        let settings = &self.state.realtime.settings;
        json!({
            "type": "ready",
            "protocol": protocol::VERSION,
            "principal": self.auth.as_ref().map(|a| a.principal_id.as_str()),
            "expiresAt": self.auth.as_ref().and_then(|a| a.expires_at),
            "limits": {
                "subscriptions": settings.max_subscriptions,
                "messageBytes": settings.max_message_bytes,
                "queuedEvents": settings.queue_events,
                "heartbeatSecs": settings.heartbeat.as_secs(),
            },
        })
        .to_string()
    }

    async fn on_message(
        &mut self,
        message: Result<AggregatedMessage, actix_ws::ProtocolError>,
    ) -> Flow {
        self.last_heard = Instant::now();
        match message {
            Ok(AggregatedMessage::Text(text)) => self.on_text(&text).await,
            Ok(AggregatedMessage::Binary(_)) => {
                let error = ApiError::new(
                    ErrorCode::InvalidRequest,
                    "send JSON text frames, not binary",
                );
                self.reply(protocol::error_frame(None, &error)).await
            }
            Ok(AggregatedMessage::Ping(bytes)) => match self.session.pong(&bytes).await {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Gone,
            },
            Ok(AggregatedMessage::Pong(_)) => Flow::Continue,
            Ok(AggregatedMessage::Close(_)) => Flow::Gone,
            Err(error) => {
                tracing::debug!(%error, "realtime socket protocol error");
                match error {
                    // The frame or the message (its continuation frames) over the limit.
                    actix_ws::ProtocolError::Overflow => Flow::Close(Close::TooBig),
                    actix_ws::ProtocolError::Io(io) => match io.kind() {
                        std::io::ErrorKind::Other => Flow::Close(Close::TooBig),
                        std::io::ErrorKind::InvalidData => Flow::Close(Close::NotUtf8),
                        _ => Flow::Gone,
                    },
                    _ => Flow::Close(Close::ProtocolViolation),
                }
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Flow {
        let Some(principal_id) = self.auth.as_ref().map(|a| a.principal_id.clone()) else {
            return Flow::Close(Close::Unauthenticated);
        };
        let message = match serde_json::from_str::<ClientMessage>(text) {
            Ok(message) => message,
            Err(error) => {
                // Still echo the id of a message that is JSON but not a known one.
                let id = serde_json::from_str::<Value>(text)
                    .ok()
                    .and_then(|v| v.get("id").cloned());
                let error = ApiError::new(ErrorCode::ValidationError, error.to_string());
                return self.reply(protocol::error_frame(id.as_ref(), &error)).await;
            }
        };
        let id = message.id().cloned();
        if let Err(error) = self.state.limits.check_principal(&principal_id) {
            return self.reply(protocol::error_frame(id.as_ref(), &error)).await;
        }
        let answer = match message {
            ClientMessage::Auth { authorization, .. } => self.reauthenticate(&authorization).await,
            ClientMessage::Subscribe {
                room, after_seq, ..
            } => self.subscribe(&room, after_seq).await,
            ClientMessage::Unsubscribe { room, .. } => self.unsubscribe(&room),
            ClientMessage::Run {
                workflow_id,
                input_values,
                ..
            } => self.start_run(workflow_id, input_values, text).await,
            ClientMessage::Submit {
                instance_id,
                request_id,
                submitted_data,
                ..
            } => {
                self.submit(RunId(instance_id), request_id, submitted_data, text)
                    .await
            }
            ClientMessage::Ping { .. } => {
                return self
                    .reply(json!({"type": "pong", "id": id}).to_string())
                    .await;
            }
        };
        let frame = match answer {
            Ok(fields) => protocol::ack_frame(id.as_ref(), fields),
            Err(error) => protocol::error_frame(id.as_ref(), &error),
        };
        self.reply(frame).await
    }

    fn principal(&self) -> Result<&Principal, ApiError> {
        self.auth
            .as_ref()
            .map(|a| &a.principal)
            .ok_or_else(ApiError::server_error)
    }

    /// A fresh token for the same principal keeps the socket open past the old one's expiry.
    async fn reauthenticate(&mut self, authorization: &str) -> Result<Value, ApiError> {
        let fresh = authenticate_credentials(&self.state, authorization).await?;
        let current = self.auth.as_ref().map(|a| a.principal_id.as_str());
        if current != Some(fresh.principal_id.as_str()) {
            return Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "a socket keeps the principal it opened with; open another socket",
            ));
        }
        let expires_at = fresh.expires_at;
        self.auth = Some(fresh);
        Ok(json!({"expiresAt": expires_at}))
    }

    async fn subscribe(&mut self, raw: &str, after_seq: Option<u64>) -> Result<Value, ApiError> {
        let room = Room::parse(raw)?;
        if after_seq.is_some_and(|seq| i64::try_from(seq).is_err()) {
            return Err(ApiError::new(
                ErrorCode::ValidationError,
                format!("afterSeq: must be 0 to {}", i64::MAX),
            )
            .with_detail("field", "afterSeq"));
        }
        let limit = self.state.realtime.settings.max_subscriptions;
        if !self.subscriptions.contains_key(&room) && self.subscriptions.len() >= limit {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("at most {limit} subscriptions per socket"),
            ));
        }
        let source = rooms::authorize(&self.state, self.principal()?, room).await?;
        let subscription = match source {
            Source::Run(run) => {
                self.state
                    .realtime
                    .hub
                    .follow_run(run, after_seq.unwrap_or(0), &self.outbox)
            }
            Source::Feed(_) if after_seq.is_some() => {
                return Err(ApiError::new(
                    ErrorCode::ValidationError,
                    "afterSeq: only run rooms replay; workflow and tenant rooms are live",
                )
                .with_detail("field", "afterSeq"));
            }
            Source::Feed(scope) => self.state.realtime.hub.follow_feed(scope, &self.outbox),
        };
        Ok(self.track(room, subscription))
    }

    /// Records `subscription` to `room` (replacing an earlier one) and says so.
    fn track(&mut self, room: Room, subscription: Subscription) -> Value {
        let name = room.to_string();
        let id = subscription.id();
        self.rooms_by_subscription.insert(id, name.clone());
        if let Some(old) = self.subscriptions.insert(room, subscription) {
            self.rooms_by_subscription.remove(&old.id());
        }
        json!({"room": name})
    }

    fn unsubscribe(&mut self, raw: &str) -> Result<Value, ApiError> {
        let room = Room::parse(raw)?;
        let subscription = self
            .subscriptions
            .remove(&room)
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "not subscribed to this room"))?;
        self.rooms_by_subscription.remove(&subscription.id());
        Ok(json!({"room": room.to_string()}))
    }

    /// `run`: starts a saved workflow (`workflow:execute` on it) and follows the run.
    async fn start_run(
        &mut self,
        workflow_id: Uuid,
        input: serde_json::Map<String, Value>,
        text: &str,
    ) -> Result<Value, ApiError> {
        let limit = self.state.realtime.settings.max_subscriptions;
        if self.subscriptions.len() >= limit {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("at most {limit} subscriptions per socket"),
            ));
        }
        let tenant_id = workflows::definitions::tenant_of(&self.state.db, workflow_id)
            .await
            .map_err(ApiError::from)?;
        let rule = TenantRule::writes(rbac::Resource::Workflow, rbac::Action::Execute)
            .on_object("workflowID");
        let principal = self.principal()?.clone();
        let started = async {
            admit(&self.state, principal, tenant_id, rule, Some(workflow_id)).await?;
            crate::http::routes::workflow_runs::start_saved(
                &self.state,
                tenant_id,
                workflow_id,
                input,
            )
            .await
        }
        .await;
        self.audit(tenant_id, "run", text, started.as_ref().err());
        let run = started?;
        let subscription = self.state.realtime.hub.follow_run(run, 0, &self.outbox);
        let mut ack = self.track(Room::Run(run), subscription);
        ack["instanceID"] = json!(run.0);
        Ok(ack)
    }

    /// `submit`: answers a run's data-collection request (`workflow:execute` on its workflow).
    async fn submit(
        &mut self,
        run: RunId,
        request_id: String,
        data: serde_json::Map<String, Value>,
        text: &str,
    ) -> Result<Value, ApiError> {
        let origin = workflow_store::run_origin(&self.state.db, run)
            .await
            .map_err(|e| ApiError::internal(&e))?
            .ok_or_else(ApiError::not_found)?;
        let tenant_id = Uuid::parse_str(&origin.namespace).map_err(|_| ApiError::not_found())?;
        let rule = TenantRule::writes(rbac::Resource::Workflow, rbac::Action::Execute)
            .on_run("instanceID");
        let principal = self.principal()?.clone();
        let namespace = origin.namespace.clone();
        let request = request_id.clone();
        let submitted = async {
            admit(&self.state, principal, tenant_id, rule, Some(run.0)).await?;
            self.state
                .workflows
                .call(move |engine| async move {
                    engine
                        .submit(&namespace, run, &request, Value::Object(data))
                        .await
                })
                .await?
                .map_err(workflows::Error::from)
                .map_err(ApiError::from)
        }
        .await;
        self.audit(tenant_id, "submit", text, submitted.as_ref().err());
        submitted?;
        Ok(json!({"instanceID": run.0, "requestID": request_id}))
    }

    /// Records a socket action that changes something, like the HTTP audit middleware does.
    fn audit(&self, tenant_id: Uuid, action: &str, text: &str, error: Option<&ApiError>) {
        let (user_id, api_key_id) = match self.auth.as_ref().map(|a| &a.principal) {
            Some(Principal::User(user)) => (Some(user.id), None),
            Some(Principal::ApiKey(key)) => (None, Some(key.id)),
            None => (None, None),
        };
        self.state.audit.record(audit::AuditEntry {
            id: Uuid::now_v7(),
            kind: audit::AuditKind::ApiRequest,
            tenant_id: Some(tenant_id),
            user_id,
            api_key_id,
            method: "WS".into(),
            route: format!("/api/v1/ws {action}"),
            path: "/api/v1/ws".into(),
            status: error.map_or(200, |e| e.code().status().as_u16()),
            duration_ms: 0,
            client_ip: None,
            user_agent: None,
            request_body: audit::redact_body(text.as_bytes()),
            metadata: serde_json::json!({}),
            created_at: Utc::now(),
        });
    }

    /// Sends `first` and the deliveries queued behind it (up to [`BATCH`]) without going
    /// back through the loop's other branches: under load a socket wakes once for a run of
    /// events rather than once for each.
    async fn send_events(
        &mut self,
        first: Delivery,
        inbox: &mut Inbox,
        closing: &tokio_util::sync::CancellationToken,
    ) -> Flow {
        let mut flow = self.send_event(first, closing).await;
        for _ in 1..BATCH {
            if !matches!(flow, Flow::Continue) {
                break;
            }
            let Some(next) = inbox.try_next() else {
                break;
            };
            flow = self.send_event(next, closing).await;
        }
        flow
    }

    async fn send_event(
        &mut self,
        delivery: Delivery,
        closing: &tokio_util::sync::CancellationToken,
    ) -> Flow {
        // A delivery for a subscription since replaced or ended is dropped.
        let Some(room) = self.rooms_by_subscription.get(&delivery.subscription) else {
            return Flow::Continue;
        };
        let frame = delivery.event.frame_in(room);
        let send = self.session.text(frame);
        tokio::pin!(send);
        // Nearly every write goes through at once: those need no stall timer (each one made
        // and dropped is a timer-wheel insert and removal per event per socket).
        if let Some(sent) = (&mut send).now_or_never() {
            return match sent {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Gone,
            };
        }
        // The session's own queue is short: a client that reads nothing blocks this write
        // once the kernel's buffers are full too.
        let stall = self.state.realtime.settings.stall_timeout;
        tokio::select! {
            sent = send => match sent {
                Ok(()) => Flow::Continue,
                Err(_) => Flow::Gone,
            },
            () = tokio::time::sleep(stall) => Flow::Close(Close::TooSlow),
            () = closing.cancelled() => Flow::Close(Close::GoingAway),
        }
    }

    async fn beat(&mut self, interval: Duration) -> Flow {
        if self.last_heard.elapsed() > interval * 3 {
            return Flow::Close(Close::Silent);
        }
        match self.session.ping(b"").await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Gone,
        }
    }

    async fn reply(&mut self, frame: String) -> Flow {
        match self.session.text(frame).await {
            Ok(()) => Flow::Continue,
            Err(_) => Flow::Gone,
        }
    }

    async fn close(self, close: Close) {
        let code = match close {
            Close::GoingAway => CloseCode::Away,
            Close::TooBig => CloseCode::Size,
            Close::ProtocolViolation => CloseCode::Protocol,
            Close::NotUtf8 => CloseCode::Invalid,
            other => CloseCode::Other(other.code()),
        };
        let reason = CloseReason {
            code,
            description: Some(close.reason().to_string()),
        };
        // A slow client's queue may be full: the close frame then goes with the connection.
        let _ = tokio::time::timeout(CLOSE_WAIT, self.session.close(Some(reason))).await;
    }
}

/// When a token expiring at `at` expires, on the runtime's clock (a day away when it never
/// does: the timer is then disabled, see the loop).
fn deadline(at: Option<DateTime<Utc>>) -> tokio::time::Instant {
    let left = match at {
        Some(at) => (at - Utc::now()).to_std().unwrap_or(Duration::ZERO),
        None => Duration::from_secs(86_400),
    };
    tokio::time::Instant::now() + left
}
