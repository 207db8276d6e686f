//! The realtime endpoints over a real websocket client (tokio-tungstenite) and real SSE, on the
//! real server: a run started on the socket is followed in order; a client reconnecting with
//! `afterSeq` mid-run gets the rest with no gap and no duplicate; SSE the same with
//! `Last-Event-ID`; every room kind refuses a stranger and a member without `workflow:read`
//! with an error frame and not one event; a consumer that never reads is closed (4008) while
//! 100 others get every event; a subscriber on one process follows a run another executes;
//! credentials come by header or by the first message, and an expired token closes the socket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use test_support::tokens::{TestKey, firebase_claims};
use test_support::{Backend, db_test};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{Tenant, TestApp, code};
use crate::isolation::{give_role, give_role_with};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PATIENCE: Duration = Duration::from_secs(60);

/// What a socket said.
#[derive(Debug)]
enum Said {
    Frame(Value),
    Closed(Option<u16>),
}

struct Client {
    socket: Socket,
    /// Events that arrived while an answer was awaited.
    backlog: Vec<Value>,
    next_id: u64,
}

fn ws_url(app: &TestApp) -> String {
    format!("{}/api/v1/ws", app.address.replace("http://", "ws://"))
}

impl Client {
    /// A socket authenticated by its `Authorization` header; waits for `ready`.
    async fn connect(app: &TestApp, auth: &str) -> Client {
        let mut request = ws_url(app).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", auth.parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut client = Client::wrap(socket);
        let ready = client.next().await;
        assert_eq!(ready["type"], "ready", "{ready}");
        assert_eq!(ready["protocol"], 1);
        client
    }

    /// A socket opened without credentials.
    async fn anonymous(app: &TestApp) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(ws_url(app)).await.unwrap();
        Client::wrap(socket)
    }

    fn wrap(socket: Socket) -> Client {
        Client {
            socket,
            backlog: Vec::new(),
            next_id: 1,
        }
    }

    async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap();
    }

    /// The next frame or the close, skipping pings.
    async fn said(&mut self) -> Said {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("the socket said nothing");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Said::Frame(serde_json::from_str(text.as_str()).unwrap());
                }
                Some(Ok(Message::Close(frame))) => {
                    return Said::Closed(frame.map(|f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Said::Closed(None),
            }
        }
    }

    async fn next(&mut self) -> Value {
        match self.said().await {
            Said::Frame(frame) => frame,
            Said::Closed(code) => panic!("the socket closed ({code:?})"),
        }
    }

    /// Sends `message` with a fresh id and answers the frame echoing it.
    async fn ask(&mut self, mut message: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        message["id"] = json!(id);
        self.send(message).await;
        loop {
            let frame = self.next().await;
            if frame["id"] == id {
                return frame;
            }
            assert_eq!(frame["type"], "event", "{frame}");
            self.backlog.push(frame);
        }
    }

    /// The event frames of `room` up to and including the run's final status.
    async fn events_until_end(&mut self, room: &str) -> Vec<Value> {
        let mut events: Vec<Value> = std::mem::take(&mut self.backlog)
            .into_iter()
            .filter(|e| e["room"] == room)
            .collect();
        loop {
            if events.last().is_some_and(is_final) {
                return events;
            }
            let frame = self.next().await;
            assert_eq!(frame["type"], "event", "{frame}");
            if frame["room"] == room {
                events.push(frame);
            }
        }
    }

    /// Every event frame that arrives before the answer to a ping sent now.
    async fn events_so_far(&mut self) -> Vec<Value> {
        let pong = self.ask(json!({"type": "ping"})).await;
        assert_eq!(pong["type"], "pong", "{pong}");
        std::mem::take(&mut self.backlog)
    }
}

fn is_final(event: &Value) -> bool {
    event["event"] == "workflow_status_update"
        && ["COMPLETED", "FAILED", "CANCELLED"].contains(&event["status"].as_str().unwrap_or(""))
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

impl Tenant {
    async fn create(&self, nodes: Value, edges: Value) -> String {
        let (status, made) = self
            .call(
                "POST",
                "workflows",
                Some(
                    json!({"workflowTitle": format!("w{}", uuid::Uuid::now_v7().simple()),
                    "nodes": nodes, "edges": edges}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        made["data"]["workflowID"].as_str().unwrap().to_string()
    }

    async fn execute(&self, workflow: &str, input: Value) -> String {
        let (status, started) = self
            .call(
                "POST",
                &format!("workflows/{workflow}/execute"),
                Some(json!({"inputValues": input})),
            )
            .await;
        assert_eq!(status, 201, "{started}");
        started["data"]["instanceID"].as_str().unwrap().to_string()
    }

    async fn instance(&self, run: &str) -> Value {
        let (status, read) = self
            .call("GET", &format!("workflows/instances/{run}"), None)
            .await;
        assert_eq!(status, 200, "{read}");
        read["data"].clone()
    }

    /// Waits until `run` has ended (its last event is committed and handed on).
    async fn ended(&self, run: &str) {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let read = self.instance(run).await;
            if ["COMPLETED", "FAILED", "CANCELLED"].contains(&read["status"].as_str().unwrap_or(""))
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never ended: {read}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn pending_request(&self, run: &str) -> String {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let read = self.instance(run).await;
            if let Some(id) = read["pendingRequests"][0]["requestID"].as_str() {
                return id.to_string();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "never waited: {read}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// start → two JavaScript steps around a delay → end.
fn steps() -> (Value, Value) {
    (
        json!([
            {"id": "start", "type": "start"},
            {"id": "first", "type": "javascript", "data": {"code": "return {n: 1};"}},
            {"id": "pause", "type": "delay", "data": {"delayType": "fixed", "delayMs": 30}},
            {"id": "second", "type": "javascript", "data": {"code": "return {n: 2};"}},
            {"id": "end", "type": "end"}
        ]),
        json!([{"source": "start", "target": "first"},
               {"source": "first", "target": "pause", "sourceHandle": "success"},
               {"source": "pause", "target": "second"},
               {"source": "second", "target": "end", "sourceHandle": "success"}]),
    )
}

/// start → a step → a form to fill → a step → end: the run waits mid-way.
fn with_form() -> (Value, Value) {
    (
        json!([
            {"id": "start", "type": "start"},
            {"id": "before", "type": "javascript", "data": {"code": "return {n: 1};"}},
            {"id": "ask", "type": "dataCollection",
             "data": {"title": "Who?", "formSchema": {"type": "object", "required": ["name"],
                      "properties": {"name": {"type": "string"}}}}},
            {"id": "after", "type": "javascript", "data": {"code": "return {n: 2};"}},
            {"id": "end", "type": "end"}
        ]),
        json!([{"source": "start", "target": "before"},
               {"source": "before", "target": "ask", "sourceHandle": "success"},
               {"source": "ask", "target": "after"},
               {"source": "after", "target": "end", "sourceHandle": "success"}]),
    )
}

/// The `id:`s of an SSE body, whether it ended with `event: end`, and the data frames.
fn parse_sse(body: &str) -> (Vec<u64>, bool, Vec<Value>) {
    let mut ids = Vec::new();
    let mut frames = Vec::new();
    let mut ended = false;
    for block in body.split("\n\n") {
        for line in block.lines() {
            if let Some(id) = line.strip_prefix("id: ") {
                ids.push(id.parse().unwrap());
            } else if let Some(data) = line.strip_prefix("data: ") {
                if block.contains("event: end") {
                    ended = true;
                } else {
                    frames.push(serde_json::from_str::<Value>(data).unwrap());
                }
            }
        }
    }
    (ids, ended, frames)
}

async fn sse(t: &Tenant, run: &str, last_event_id: Option<u64>) -> (u16, String) {
    let mut request = t.app.get(&format!(
        "/api/v1/tenants/{}/workflows/instances/{run}/events",
        t.id
    ));
    request = request.header("authorization", &t.auth);
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id.to_string());
    }
    let response = tokio::time::timeout(PATIENCE, request.send())
        .await
        .unwrap()
        .unwrap();
    let status = response.status().as_u16();
    let body = tokio::time::timeout(PATIENCE, response.text())
        .await
        .expect("the event stream did not end")
        .unwrap();
    (status, body)
}

async fn a_run_is_followed_on_the_socket_and_by_sse(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;
    let (nodes, edges) = steps();
    let workflow = t.create(nodes, edges).await;

    // `run` on the socket: the run's events follow on the same socket, in order, all of them.
    let mut client = Client::connect(&app, &t.auth).await;
    let ack = client
        .ask(json!({"type": "run", "workflowID": workflow, "inputValues": {}}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let run = ack["instanceID"].as_str().unwrap().to_string();
    let room = format!("run:{run}");
    assert_eq!(ack["room"], room.as_str());
    let events = client.events_until_end(&room).await;
    let log = t.instance(&run).await["events"].as_array().unwrap().len() as u64;
    assert_eq!(seqs(&events), (1..=log).collect::<Vec<_>>(), "{events:?}");
    assert_eq!(events[0]["event"], "workflow_status_update");
    assert_eq!(events[0]["status"], "RUNNING");
    assert_eq!(events[0]["workflowID"], workflow.as_str());
    let second = events
        .iter()
        .find(|e| e["nodeID"] == "second" && e["status"] == "success")
        .expect("the second step's update");
    assert_eq!(second["event"], "workflow_node_update");
    assert_eq!(second["log"]["output"], json!({"n": 2}));
    assert_eq!(events.last().unwrap()["status"], "COMPLETED");

    // A run waits mid-way: a first socket follows it to the form, goes away; a second one
    // (authenticated by message) resumes after the last event it saw, answers the form over
    // the socket and gets the rest: together every event once.
    let (nodes, edges) = with_form();
    let form = t.create(nodes, edges).await;
    let run = t.execute(&form, json!({})).await;
    let room = format!("run:{run}");
    let mut first = Client::connect(&app, &t.auth).await;
    let ack = first.ask(json!({"type": "subscribe", "room": room})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let mut seen = std::mem::take(&mut first.backlog);
    while !seen
        .iter()
        .any(|e| e["event"] == "workflow_data_collection_request")
    {
        seen.push(first.next().await);
    }
    let asked = seen
        .iter()
        .find(|e| e["event"] == "workflow_data_collection_request")
        .unwrap();
    assert_eq!(asked["nodeID"], "ask", "{asked}");
    let request = asked["requestID"].as_str().unwrap().to_string();
    assert_eq!(asked["request"]["kind"], "dataCollection", "{asked}");
    drop(first);
    let resume_after = seen.last().unwrap()["seq"].as_u64().unwrap();

    let mut second = Client::anonymous(&app).await;
    second
        .send(json!({"type": "auth", "authorization": t.auth}))
        .await;
    assert_eq!(second.next().await["type"], "ready");
    let ack = second
        .ask(json!({"type": "subscribe", "room": room, "afterSeq": resume_after}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let answered = second
        .ask(
            json!({"type": "submit", "instanceID": run, "requestID": request,
            "submittedData": {"name": "Ada"}}),
        )
        .await;
    assert_eq!(answered["type"], "ack", "{answered}");
    let rest = second.events_until_end(&room).await;
    let mut all = seqs(&seen);
    all.extend(seqs(&rest));
    let log = t.instance(&run).await["events"].as_array().unwrap().len() as u64;
    assert_eq!(all, (1..=log).collect::<Vec<_>>());
    assert_eq!(rest.last().unwrap()["status"], "COMPLETED");

    // SSE, live: a stream opened on a waiting run ends after its final status, gapless.
    let waiting = t.execute(&form, json!({})).await;
    let request = t.pending_request(&waiting).await;
    let streaming = {
        let t = Tenant {
            app: t.app.clone(),
            auth: t.auth.clone(),
            id: t.id.clone(),
        };
        let waiting = waiting.clone();
        tokio::spawn(async move { sse(&t, &waiting, None).await })
    };
    let (status, body) = t
        .call(
            "POST",
            &format!("workflows/instances/{waiting}/requests/{request}/submit"),
            Some(json!({"submittedData": {"name": "Grace"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = streaming.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let (ids, ended, frames) = parse_sse(&body);
    let log = t.instance(&waiting).await["events"]
        .as_array()
        .unwrap()
        .len() as u64;
    assert_eq!(ids, (1..=log).collect::<Vec<_>>(), "{body}");
    assert!(ended, "{body}");
    assert_eq!(frames.last().unwrap()["status"], "COMPLETED");

    // SSE resumed with Last-Event-ID: the rest only.
    let (status, body) = sse(&t, &waiting, Some(4)).await;
    assert_eq!(status, 200);
    let (ids, ended, _) = parse_sse(&body);
    assert_eq!(ids, (5..=log).collect::<Vec<_>>(), "{body}");
    assert!(ended);
    // Nothing after the end: the stream ends at once.
    let (_, body) = sse(&t, &waiting, Some(log)).await;
    assert_eq!(parse_sse(&body), (Vec::new(), true, Vec::new()), "{body}");
}
db_test!(a_run_is_followed_on_the_socket_and_by_sse);

async fn the_protocol_refuses_what_it_should(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.realtime.max_subscriptions = 2;
        s.realtime.auth_timeout = Duration::from_millis(300);
        s.cors_allowed_origins = vec!["https://admin.example.com".into()];
    })
    .await
    else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;

    // No credentials in time: 4001. A forged token: 401 before the upgrade.
    let mut silent = Client::anonymous(&app).await;
    assert!(matches!(silent.said().await, Said::Closed(Some(4001))));
    let mut request = ws_url(&app).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", "Bearer forged".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else {
        panic!("a forged token was let in");
    };
    assert_eq!(response.status().as_u16(), 401);
    // An origin off the list: 403; a listed one: in.
    for (origin, allowed) in [
        ("https://evil.example", false),
        ("https://admin.example.com", true),
    ] {
        let mut request = ws_url(&app).into_client_request().unwrap();
        request
            .headers_mut()
            .insert("authorization", t.auth.parse().unwrap());
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        let outcome = tokio_tungstenite::connect_async(request).await;
        match outcome {
            Ok(_) => assert!(allowed, "{origin} was let in"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert!(!allowed, "{origin} was refused");
                assert_eq!(response.status().as_u16(), 403);
            }
            Err(other) => panic!("{other}"),
        }
    }
    // A plain GET is not a websocket.
    let (status, body) = app.call("GET", "/api/v1/ws", &t.auth, None).await;
    assert_eq!((status, code(&body)), (400, "INVALID_REQUEST"), "{body}");

    // Bad messages get error frames, the socket stays.
    let mut client = Client::connect(&app, &t.auth).await;
    for (message, expected) in [
        (
            json!({"type": "join_room", "room": "x"}),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type": "subscribe", "room": "widget:1"}),
            "VALIDATION_ERROR",
        ),
        (
            json!({"type": "subscribe", "room": format!("run:{}", uuid::Uuid::now_v7())}),
            "NOT_FOUND",
        ),
        (
            json!({"type": "unsubscribe", "room": format!("tenant:{}", t.id)}),
            "NOT_FOUND",
        ),
        (
            json!({"type": "subscribe", "room": format!("tenant:{}", t.id), "afterSeq": 1}),
            "VALIDATION_ERROR",
        ),
    ] {
        let answer = client.ask(message.clone()).await;
        assert_eq!(answer["type"], "error", "{message}: {answer}");
        assert_eq!(answer["error"]["code"], expected, "{message}: {answer}");
    }
    client.send(json!("not an object")).await;
    assert_eq!(client.next().await["error"]["code"], "VALIDATION_ERROR");

    // The subscription limit.
    let (nodes, edges) = steps();
    let workflow = t.create(nodes, edges).await;
    for room in [format!("tenant:{}", t.id), format!("workflow:{workflow}")] {
        let ack = client.ask(json!({"type": "subscribe", "room": room})).await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let third = client
        .ask(json!({"type": "run", "workflowID": workflow}))
        .await;
    assert_eq!(third["error"]["code"], "RATE_LIMITED", "{third}");
    let ack = client
        .ask(json!({"type": "unsubscribe", "room": format!("tenant:{}", t.id)}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");

    // The workflow room carries every event of a run of the workflow started now.
    let run = t.execute(&workflow, json!({})).await;
    let events = client
        .events_until_end(&format!("workflow:{workflow}"))
        .await;
    assert!(events.iter().all(|e| e["instanceID"] == run.as_str()));
    assert_eq!(seqs(&events), (1..=events.len() as u64).collect::<Vec<_>>());

    // A token that expires closes the socket with 4002.
    let now = test_support::tokens::now();
    let mut claims = firebase_claims("alice", "alice@example.com", now);
    claims["exp"] = json!(now + 2);
    let key = TestKey::primary();
    let short = key.sign(&key.header(), &claims);
    let mut expiring = Client::connect(&app, &format!("Bearer {short}")).await;
    assert!(matches!(expiring.said().await, Said::Closed(Some(4002))));

    // A fresh token sent in time keeps the socket open past the old one's expiry.
    let now = test_support::tokens::now();
    claims["exp"] = json!(now + 2);
    let short = key.sign(&key.header(), &claims);
    let mut renewed = Client::connect(&app, &format!("Bearer {short}")).await;
    let fresh = renewed
        .ask(json!({"type": "auth", "authorization": t.auth}))
        .await;
    assert_eq!(fresh["type"], "ack", "{fresh}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pong = renewed.ask(json!({"type": "ping"})).await;
    assert_eq!(pong["type"], "pong", "{pong}");
}
db_test!(the_protocol_refuses_what_it_should);

async fn every_room_refuses_strangers_and_members_without_read(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;
    let tenant_id: uuid::Uuid = t.id.parse().unwrap();
    let (nodes, edges) = steps();
    let workflow = t.create(nodes.clone(), edges.clone()).await;
    let other_workflow = t.create(nodes, edges).await;
    let (nodes, edges) = with_form();
    let form = t.create(nodes, edges).await;
    let run = t.execute(&workflow, json!({})).await;
    let waiting = t.execute(&form, json!({})).await;
    let request = t.pending_request(&waiting).await;

    // Bob: a user of another tenant, and that tenant's admin key.
    let bob_token = app.token_for("bob", "bob@example.com");
    let bob = format!("Bearer {bob_token}");
    let elsewhere = app.create_tenant(&bob_token, "B").await;
    let admin_role = app.role_id(&bob_token, &elsewhere, "Admin").await;
    let (status, key) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{elsewhere}/apikeys"),
            &bob,
            Some(json!({"apiKeyTitle": "B admin", "roleIDs": [admin_role]})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let bob_key = format!("api_key {}", key["data"]["apiKey"].as_str().unwrap());
    // Members of alice's tenant: carol holds nothing; dave lists workflows and reads another
    // one; erin reads this one (an asset grant).
    let member = |who: &str| {
        format!(
            "Bearer {}",
            app.token_for(who, &format!("{who}@example.com"))
        )
    };
    let (carol, dave, erin) = (member("carol"), member("dave"), member("erin"));
    app.join_without_roles(&carol, tenant_id).await;
    let dave_id = app.join_without_roles(&dave, tenant_id).await;
    let erin_id = app.join_without_roles(&erin, tenant_id).await;
    give_role_with(
        &app,
        &t.auth,
        &t.id,
        &dave_id,
        json!(["workflow:list"]),
        json!([{"resourceType": "workflow", "resourceID": other_workflow, "action": "read"}]),
    )
    .await;
    give_role(
        &app,
        &t.auth,
        &t.id,
        &erin_id,
        json!([{"resourceType": "workflow", "resourceID": workflow, "action": "read"}]),
    )
    .await;

    let rooms = [
        format!("run:{run}"),
        format!("workflow:{workflow}"),
        format!("tenant:{}", t.id),
    ];
    let refusals = [
        (&bob, ["NOT_FOUND"; 3]),
        (&bob_key, ["NOT_FOUND"; 3]),
        (&carol, ["PERMISSION_DENIED"; 3]),
        (&dave, ["PERMISSION_DENIED"; 3]),
        (&erin, ["ok", "ok", "PERMISSION_DENIED"]),
    ];
    let mut sockets = Vec::new();
    for (auth, expected) in refusals {
        let mut client = Client::connect(&app, auth).await;
        for (room, expected) in rooms.iter().zip(expected) {
            let answer = client.ask(json!({"type": "subscribe", "room": room})).await;
            let got = if answer["type"] == "ack" {
                "ok"
            } else {
                answer["error"]["code"].as_str().unwrap()
            };
            assert_eq!(got, expected, "{auth} on {room}: {answer}");
        }
        // Acting needs `workflow:execute` in the tenant.
        let started = client
            .ask(json!({"type": "run", "workflowID": workflow}))
            .await;
        let answered = client
            .ask(
                json!({"type": "submit", "instanceID": waiting, "requestID": request,
                "submittedData": {"name": "Mallory"}}),
            )
            .await;
        let refused = if expected[0] == "NOT_FOUND" {
            "NOT_FOUND"
        } else {
            "PERMISSION_DENIED"
        };
        assert_eq!(started["error"]["code"], refused, "{auth}: {started}");
        assert_eq!(answered["error"]["code"], refused, "{auth}: {answered}");
        sockets.push((auth.clone(), client));
    }

    // Another run of the workflow goes by; a watcher with every right sees it end. The first
    // run has ended first, so that the feeds carry the second run's events only.
    t.ended(&run).await;
    let mut watcher = Client::connect(&app, &t.auth).await;
    for room in [format!("workflow:{workflow}"), format!("tenant:{}", t.id)] {
        let ack = watcher
            .ask(json!({"type": "subscribe", "room": room}))
            .await;
        assert_eq!(ack["type"], "ack", "{ack}");
    }
    let second = t.execute(&workflow, json!({})).await;
    let seen = watcher
        .events_until_end(&format!("workflow:{workflow}"))
        .await;
    assert!(seen.iter().all(|e| e["instanceID"] == second.as_str()));
    let statuses = watcher.events_until_end(&format!("tenant:{}", t.id)).await;
    assert!(
        statuses
            .iter()
            .all(|e| e["event"] == "workflow_status_update"),
        "{statuses:?}"
    );

    // Refused subscriptions got not one event; erin's two got theirs.
    for (auth, mut client) in sockets {
        let events = client.events_so_far().await;
        if auth == erin {
            assert!(events.iter().any(|e| e["room"] == format!("run:{run}")));
            assert!(events.iter().any(|e| e["instanceID"] == second.as_str()));
            assert!(
                events
                    .iter()
                    .all(|e| e["room"] != format!("tenant:{}", t.id))
            );
        } else {
            assert!(events.is_empty(), "{auth} got {events:?}");
        }
    }
    // The waiting run was not answered by anyone refused.
    assert!(
        !t.instance(&waiting).await["pendingRequests"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
db_test!(every_room_refuses_strangers_and_members_without_read);

/// A socket whose receive buffer is tiny and that never reads after subscribing.
async fn never_reading(app: &TestApp, auth: &str, room: &str) -> Client {
    let address: std::net::SocketAddr = app.address.trim_start_matches("http://").parse().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(address).await.unwrap();
    let mut request = ws_url(app).into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", auth.parse().unwrap());
    let (socket, _) =
        tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
    let mut client = Client::wrap(socket);
    assert_eq!(client.next().await["type"], "ready");
    let ack = client.ask(json!({"type": "subscribe", "room": room})).await;
    assert_eq!(ack["type"], "ack", "{ack}");
    client
}

/// The sequence number of an event frame, read without parsing a frame of megabytes.
fn seq_of(text: &str) -> Option<u64> {
    let at = text.find("\"seq\":")? + 6;
    text[at..]
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Every sequence number of `room` up to the run's final status, read cheaply.
async fn seqs_until_end(socket: &mut Socket, room: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    loop {
        let message = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("the socket said nothing")
            .expect("the socket closed")
            .unwrap();
        let Message::Text(text) = message else {
            continue;
        };
        let text = text.as_str();
        if !text.contains(room) {
            continue;
        }
        if let Some(seq) = seq_of(text) {
            seqs.push(seq);
        }
        if text.len() < 4096
            && text.contains("\"workflow_status_update\"")
            && text.contains("\"COMPLETED\"")
        {
            return seqs;
        }
    }
}

/// A run of 44 events whose second node's event weighs 6 MB: it fills the kernel's buffers of
/// a client that reads nothing, and the 40 small steps after it fill the session's queue.
async fn a_heavy_run(t: &Tenant) -> String {
    let mut nodes = vec![
        json!({"id": "start", "type": "start"}),
        json!({"id": "big", "type": "javascript",
               "data": {"code": "return {blob: 'x'.repeat(6000000)};"}}),
    ];
    let mut edges = vec![json!({"source": "start", "target": "big"})];
    let mut previous = "big".to_string();
    for i in 0..40 {
        let id = format!("step{i}");
        nodes.push(json!({"id": id, "type": "javascript", "data": {"code": format!("return {{n: {i}}};")}}));
        edges.push(json!({"source": previous, "target": id, "sourceHandle": "success"}));
        previous = id;
    }
    nodes.push(json!({"id": "end", "type": "end"}));
    edges.push(json!({"source": previous, "target": "end", "sourceHandle": "success"}));
    let workflow = t.create(json!(nodes), json!(edges)).await;
    t.execute(&workflow, json!({})).await
}

/// Subscribes `count` readers to `room` one after the other (while the run goes on) and
/// checks that each receives every event of the run once, in order.
async fn every_reader_gets_every_event(app: &TestApp, t: &Tenant, run: &str, count: usize) {
    let room = format!("run:{run}");
    let mut readers = Vec::new();
    for _ in 0..count {
        let mut client = Client::connect(app, &t.auth).await;
        let ack = client.ask(json!({"type": "subscribe", "room": room})).await;
        assert_eq!(ack["type"], "ack", "{ack}");
        let room = room.clone();
        readers.push(tokio::spawn(async move {
            let mut seqs: Vec<u64> = client
                .backlog
                .iter()
                .filter_map(|e| e["seq"].as_u64())
                .collect();
            seqs.extend(seqs_until_end(&mut client.socket, &room).await);
            seqs
        }));
    }
    let mut everyone = Vec::new();
    for reader in readers {
        everyone.push(reader.await.unwrap());
    }
    let total = t.instance(run).await["events"].as_array().unwrap().len() as u64;
    for (i, seqs) in everyone.iter().enumerate() {
        assert_eq!(seqs, &(1..=total).collect::<Vec<_>>(), "reader {i}");
    }
}

/// A subscriber whose queue stays full (its socket is not yet judged too slow) while others
/// join mid-run: the hub serves them from their own cursors, with no gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_stuck_behind_costs_those_joining_after_it_nothing() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.realtime.stall_timeout = Duration::from_secs(600);
        s.realtime.queue_events = 16;
        s.realtime.max_sockets_per_principal = 100;
    })
    .await
    else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;
    let run = a_heavy_run(&t).await;
    let _stuck = never_reading(&app, &t.auth, &format!("run:{run}")).await;
    every_reader_gets_every_event(&app, &t, &run, 50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_never_reads_is_closed_while_100_others_get_every_event() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.realtime.stall_timeout = Duration::from_secs(1);
        s.realtime.queue_events = 16;
        s.realtime.max_sockets_per_principal = 200;
    })
    .await
    else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;
    let run = a_heavy_run(&t).await;
    let mut slow = never_reading(&app, &t.auth, &format!("run:{run}")).await;
    every_reader_gets_every_event(&app, &t, &run, 100).await;
    let total = t.instance(&run).await["events"].as_array().unwrap().len() as u64;

    // The slow one was cut off: it reads what was on its way, then the end, not the rest.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut got = Vec::new();
    let end = loop {
        let message = tokio::time::timeout(PATIENCE, slow.socket.next())
            .await
            .expect("the slow socket was never closed");
        match message {
            Some(Ok(Message::Text(text))) => got.extend(seq_of(text.as_str())),
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert!(end.is_none() || end == Some(4008), "closed with {end:?}");
    assert!(
        (got.len() as u64) < total,
        "the slow socket got everything: {got:?}"
    );
    assert_eq!(got, (1..=got.len() as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_on_one_process_follows_a_run_another_executes() {
    let Some(executing) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    // The front end executes nothing: every event it relays was committed by the other.
    let front = executing.peer(|s| s.workflows.concurrency = 0).await;
    let t = Tenant::new(&front, "alice").await;
    let (nodes, edges) = steps();
    let workflow = t.create(nodes, edges).await;
    let mut client = Client::connect(&front, &t.auth).await;
    let ack = client
        .ask(json!({"type": "run", "workflowID": workflow}))
        .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let run = ack["instanceID"].as_str().unwrap().to_string();
    let events = client.events_until_end(&format!("run:{run}")).await;
    let log = t.instance(&run).await["events"].as_array().unwrap().len() as u64;
    assert_eq!(seqs(&events), (1..=log).collect::<Vec<_>>());
    assert_eq!(events.last().unwrap()["status"], "COMPLETED");
}
