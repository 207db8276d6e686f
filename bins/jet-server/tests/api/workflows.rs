//! Workflows over HTTP on the real server and the SQL engine store: save (every problem of a
//! bad graph at once), run (`?wait` answers the output), read a run (context, node states, the
//! event log, the definition version), cancel, restart from the failed node, answer a
//! data-collection request and an approval, run an unsaved graph, export/import/clone/delete,
//! and tenant isolation of workflows, runs and sub-workflow references.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_support::{Backend, db_test};

use crate::helpers::{TestApp, code};

struct Tenant {
    app: TestApp,
    auth: String,
    id: String,
}

impl Tenant {
    async fn new(app: TestApp, who: &str) -> Tenant {
        let token = app.token_for(who, &format!("{who}@example.com"));
        let id = app.create_tenant(&token, who).await;
        Tenant {
            app,
            auth: format!("Bearer {token}"),
            id,
        }
    }

    async fn call(&self, method: &str, rest: &str, body: Option<Value>) -> (u16, Value) {
        let path = format!("/api/v1/tenants/{}/{rest}", self.id);
        self.app.call(method, &path, &self.auth, body).await
    }

    async fn create(&self, title: &str, nodes: Value, edges: Value, options: Value) -> String {
        let (status, made) = self
            .call(
                "POST",
                "workflows",
                Some(
                    json!({"workflowTitle": title, "nodes": nodes, "edges": edges,
                    "workflowOptions": options}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        made["data"]["workflowID"].as_str().unwrap().to_string()
    }

    async fn execute(&self, workflow: &str, query: &str, input: Value) -> Value {
        let (status, started) = self
            .call(
                "POST",
                &format!("workflows/{workflow}/execute{query}"),
                Some(json!({"inputValues": input})),
            )
            .await;
        assert_eq!(status, 201, "{started}");
        started["data"].clone()
    }

    async fn instance(&self, id: &str) -> Value {
        let (status, run) = self
            .call("GET", &format!("workflows/instances/{id}"), None)
            .await;
        assert_eq!(status, 200, "{run}");
        run["data"].clone()
    }

    /// The run's state once `done` holds for it (the run proceeds on the engine's workers).
    async fn instance_when(&self, id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let run = self.instance(id).await;
            if done(&run) {
                return run;
            }
            assert!(Instant::now() < deadline, "the run never got there: {run}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn adder() -> (Value, Value, Value) {
    (
        json!([
            {"id": "start", "type": "start", "position": {"x": 0, "y": 0}},
            {"id": "add", "type": "javascript",
             "data": {"code": "return {sum: ctx.input.a + ctx.input.b};"}},
            {"id": "end", "type": "end",
             "data": {"outputParameters": [{"name": "sum", "sourceVariable": "{{ctx.jsResult.sum}}"}]}}
        ]),
        json!([{"id": "e1", "source": "start", "target": "add"},
               {"id": "e2", "source": "add", "target": "end", "sourceHandle": "success"}]),
        json!({"inputDefinitions": [{"name": "a", "type": "number", "required": true},
                                    {"name": "b", "type": "number", "required": true}]}),
    )
}

fn form_then_approval() -> (Value, Value) {
    (
        json!([
            {"id": "start", "type": "start"},
            {"id": "ask", "type": "dataCollection",
             "data": {"title": "Who?", "formSchema": {"type": "object", "required": ["name"],
                      "properties": {"name": {"type": "string"}}}}},
            {"id": "approve", "type": "approval", "data": {"title": "Ship it?"}},
            {"id": "end", "type": "end",
             "data": {"outputParameters": [{"name": "name", "sourceVariable": "{{ctx.collectedData.name}}"}]}},
            {"id": "rejected", "type": "end", "data": {"status": "error"}}
        ]),
        json!([{"source": "start", "target": "ask"},
               {"source": "ask", "target": "approve"},
               {"source": "approve", "target": "end", "sourceHandle": "approved"},
               {"source": "approve", "target": "rejected", "sourceHandle": "rejected"}]),
    )
}

async fn a_workflow_is_saved_run_and_read_over_http(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let t = Tenant::new(app, "alice").await;

    // A bad graph: every problem at once, each with its node, edge or field.
    let (status, refused) = t
        .call(
            "POST",
            "workflows",
            Some(json!({"workflowTitle": "bad", "nodes": [
                {"id": "start", "type": "start"},
                {"id": "js", "type": "javascript", "data": {}},
                {"id": "what", "type": "teleport"}],
                "edges": [{"source": "start", "target": "nowhere"}]})),
        )
        .await;
    assert_eq!(
        (status, code(&refused)),
        (400, "VALIDATION_ERROR"),
        "{refused}"
    );
    let issues = refused["error"]["issues"].as_array().unwrap();
    assert!(issues.len() >= 3, "{refused}");
    for expected in [
        json!({"nodeID": "js", "field": "code"}),
        json!({"nodeID": "what"}),
        json!({"edge": 0}),
    ] {
        assert!(
            issues.iter().any(|issue| expected
                .as_object()
                .unwrap()
                .iter()
                .all(|(key, value)| &issue[key] == value)),
            "no issue like {expected}: {refused}"
        );
    }

    let (nodes, edges, options) = adder();
    let workflow = t.create("adder", nodes, edges, options).await;
    let (status, saved) = t.call("GET", &format!("workflows/{workflow}"), None).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["data"]["version"], 1);
    assert_eq!(
        saved["data"]["nodes"][0]["position"],
        json!({"x": 0, "y": 0})
    );

    // `?wait` answers the output; inputs are coerced by their definitions ("3" → 3).
    let done = t
        .execute(&workflow, "?wait=30", json!({"a": 2, "b": "3"}))
        .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    assert_eq!(done["output"]["sum"].as_f64(), Some(5.0), "{done}");
    let first = done["instanceID"].as_str().unwrap().to_string();

    let run = t.instance(&first).await;
    assert_eq!(run["status"], "COMPLETED");
    assert_eq!(run["workflowID"], workflow.as_str());
    assert_eq!(run["workflowVersion"], 1);
    assert_eq!(run["isTest"], false);
    assert_eq!(run["context"]["input"]["a"].as_f64(), Some(2.0), "{run}");
    assert_eq!(run["context"]["input"]["b"].as_f64(), Some(3.0), "{run}");
    assert!(
        run["context"]
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.starts_with("__")),
        "{run}"
    );
    let events = run["events"].as_array().unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{run}");
    let add = run["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "add")
        .unwrap();
    assert_eq!(add["status"], "completed", "{run}");
    let (_, later) = t
        .call(
            "GET",
            &format!("workflows/instances/{first}?afterSeq=2"),
            None,
        )
        .await;
    assert_eq!(later["data"]["events"][0]["seq"], 3, "{later}");

    // A missing input is refused before any run starts.
    let (status, refused) = t
        .call(
            "POST",
            &format!("workflows/{workflow}/execute"),
            Some(json!({"inputValues": {"a": 1}})),
        )
        .await;
    assert_eq!(
        (status, code(&refused)),
        (400, "VALIDATION_ERROR"),
        "{refused}"
    );

    // Editing the graph bumps the version; the earlier run keeps the one it ran.
    let (nodes, edges, options) = adder();
    let mut nodes = nodes;
    nodes[1]["data"]["code"] = json!("return {sum: ctx.input.a * ctx.input.b};");
    let (status, changed) = t
        .call(
            "PATCH",
            &format!("workflows/{workflow}"),
            Some(json!({"nodes": nodes, "edges": edges, "workflowOptions": options})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["data"]["version"], 2);
    let done = t
        .execute(&workflow, "?wait=30", json!({"a": 2, "b": 3}))
        .await;
    assert_eq!(done["output"]["sum"].as_f64(), Some(6.0), "{done}");
    assert_eq!(t.instance(&first).await["workflowVersion"], 1);
    let second = t.instance(done["instanceID"].as_str().unwrap()).await;
    assert_eq!(second["workflowVersion"], 2);
    let (status, listed) = t
        .call(
            "GET",
            &format!("workflows/instances?workflowID={workflow}&status=COMPLETED"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["total"], 2, "{listed}");

    // An unsaved graph runs as a test run.
    let (nodes, edges, options) = adder();
    let (status, tested) = t
        .call(
            "POST",
            "workflows/test?wait=30",
            Some(
                json!({"nodes": nodes, "edges": edges, "workflowOptions": options,
                "inputValues": {"a": 1, "b": 1}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{tested}");
    assert_eq!(
        tested["data"]["output"]["sum"].as_f64(),
        Some(2.0),
        "{tested}"
    );
    let test_run = t
        .instance(tested["data"]["instanceID"].as_str().unwrap())
        .await;
    assert_eq!(test_run["isTest"], true);
    assert_eq!(test_run["workflowID"], Value::Null);

    // Schemas, export → import, clone, delete.
    let (status, schemas) = t.call("GET", "workflows/schemas", None).await;
    assert_eq!(status, 200, "{schemas}");
    let types: Vec<&str> = schemas["data"]["nodeTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["nodeType"].as_str().unwrap())
        .collect();
    for expected in [
        "start",
        "end",
        "javascript",
        "condition",
        "dataQuery",
        "subWorkflow",
    ] {
        assert!(types.contains(&expected), "{types:?}");
    }
    let (status, none) = t
        .call("GET", "workflows/schemas?nodeType=teleport", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(none["data"]["nodeTypes"], json!([]), "{none}");
    let (status, bundle) = t
        .call("GET", &format!("workflows/{workflow}/export"), None)
        .await;
    assert_eq!(status, 200, "{bundle}");
    let (status, imported) = t
        .call("POST", "workflows/import", Some(bundle["data"].clone()))
        .await;
    assert_eq!(status, 201, "{imported}");
    assert_eq!(imported["data"]["nodes"], saved_nodes(&t, &workflow).await);
    let (status, copy) = t
        .call("POST", &format!("workflows/{workflow}/clone"), None)
        .await;
    assert_eq!(status, 201, "{copy}");
    assert_eq!(copy["data"]["workflowTitle"], "adder (copy)");
    let (status, _) = t
        .call("DELETE", &format!("workflows/{workflow}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = t.call("GET", &format!("workflows/{workflow}"), None).await;
    assert_eq!(status, 404);
    let (status, _) = t
        .call(
            "POST",
            &format!("workflows/{workflow}/execute"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 404);
    // Its runs stay readable.
    assert_eq!(t.instance(&first).await["status"], "COMPLETED");
}
db_test!(a_workflow_is_saved_run_and_read_over_http);

async fn saved_nodes(t: &Tenant, workflow: &str) -> Value {
    t.call("GET", &format!("workflows/{workflow}"), None)
        .await
        .1["data"]["nodes"]
        .clone()
}

async fn requests_are_answered_and_runs_cancelled_and_restarted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let t = Tenant::new(app, "alice").await;
    let (nodes, edges) = form_then_approval();
    let workflow = t.create("form", nodes, edges, json!({})).await;

    let started = t.execute(&workflow, "", json!({})).await;
    let run = started["instanceID"].as_str().unwrap().to_string();
    let waiting = t
        .instance_when(&run, |r| {
            !r["pendingRequests"].as_array().unwrap().is_empty()
        })
        .await;
    let request = waiting["pendingRequests"][0]["requestID"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, read) = t
        .call(
            "GET",
            &format!("workflows/instances/{run}/requests/{request}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["data"]["nodeID"], "ask");
    // An approval decision is refused on a form.
    let (status, refused) = t
        .call(
            "POST",
            &format!("workflows/instances/{run}/requests/{request}/decide"),
            Some(json!({"decision": "approve"})),
        )
        .await;
    assert_eq!((status, code(&refused)), (409, "CONFLICT"), "{refused}");
    let (status, submitted) = t
        .call(
            "POST",
            &format!("workflows/instances/{run}/requests/{request}/submit"),
            Some(json!({"submittedData": {"name": "Ada"}})),
        )
        .await;
    assert_eq!(status, 200, "{submitted}");
    let (status, _) = t
        .call(
            "GET",
            &format!("workflows/instances/{run}/requests/{request}"),
            None,
        )
        .await;
    assert_eq!(status, 404, "an answered request is no longer pending");

    let approving = t
        .instance_when(&run, |r| {
            r["pendingRequests"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["kind"] == "approval")
        })
        .await;
    let approval = approving["pendingRequests"][0]["requestID"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, decided) = t
        .call(
            "POST",
            &format!("workflows/instances/{run}/requests/{approval}/decide"),
            Some(json!({"decision": "approve", "comment": "fine"})),
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    let done = t.instance_when(&run, |r| r["status"] == "COMPLETED").await;
    assert_eq!(done["output"], json!({"name": "Ada"}), "{done}");

    // Cancel a waiting run; cancelling again says so; a finished run is left as it is.
    let other = t.execute(&workflow, "", json!({})).await["instanceID"]
        .as_str()
        .unwrap()
        .to_string();
    t.instance_when(&other, |r| {
        !r["pendingRequests"].as_array().unwrap().is_empty()
    })
    .await;
    let (status, cancelled) = t
        .call(
            "POST",
            &format!("workflows/instances/{other}/cancel"),
            Some(json!({"reason": "not needed"})),
        )
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["data"]["outcome"], "cancelled");
    let (_, again) = t
        .call(
            "POST",
            &format!("workflows/instances/{other}/cancel"),
            Some(json!({})),
        )
        .await;
    assert_eq!(again["data"]["outcome"], "alreadyCancelled", "{again}");
    assert_eq!(t.instance(&other).await["status"], "CANCELLED");
    let (_, finished) = t
        .call(
            "POST",
            &format!("workflows/instances/{run}/cancel"),
            Some(json!({})),
        )
        .await;
    assert_eq!(finished["data"]["outcome"], "alreadyFinished", "{finished}");

    // Restart from the failed node: a query on a table that does not exist yet fails the run;
    // once the table exists, the restart finishes it without running the nodes before again.
    let dir = t.app.database.dir.path().join("data").join("datasources");
    let file = dir.join("ledger.db");
    std::fs::File::create(&file).unwrap();
    let (status, source) = t
        .call(
            "POST",
            "datasources",
            Some(
                json!({"datasourceTitle": "ledger", "datasourceType": "sqlite",
                "datasourceOptions": {"path": "ledger.db"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{source}");
    let (status, query) = t
        .call(
            "POST",
            "queries",
            Some(
                json!({"dataQueryTitle": "entries", "datasourceID": source["data"]["datasourceID"],
                "dataQueryOptions": {"query": "SELECT COUNT(*) AS n FROM entries"}}),
            ),
        )
        .await;
    assert_eq!(status, 201, "{query}");
    let query = query["data"]["dataQueryID"].as_str().unwrap();
    let ledger = t
        .create(
            "ledger",
            json!([{"id": "start", "type": "start"},
                   {"id": "count", "type": "dataQuery",
                    "data": {"dataQueryID": query, "errorHandling": "fail_workflow"},
                    "errorHandling": "fail_workflow"},
                   {"id": "end", "type": "end",
                    "data": {"outputParameters": [{"name": "n", "sourceVariable": "{{ctx.queryResult.rows[0].n}}"}]}}]),
            json!([{"source": "start", "target": "count"},
                   {"source": "count", "target": "end", "sourceHandle": "success"}]),
            json!({}),
        )
        .await;
    let failed = t.execute(&ledger, "?wait=30", json!({})).await;
    assert_eq!(failed["status"], "FAILED", "{failed}");
    let failed_run = failed["instanceID"].as_str().unwrap().to_string();
    let (status, refused) = t
        .call("POST", &format!("workflows/instances/{run}/restart"), None)
        .await;
    assert_eq!(
        (status, code(&refused)),
        (409, "CONFLICT"),
        "a completed run: {refused}"
    );
    let db = sea_orm::Database::connect(format!("sqlite://{}?mode=rw", file.display()))
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared(
        "CREATE TABLE entries (id INTEGER); INSERT INTO entries VALUES (1), (2);",
    )
    .await
    .unwrap();
    let (status, restarted) = t
        .call(
            "POST",
            &format!("workflows/instances/{failed_run}/restart"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{restarted}");
    let done = t
        .instance_when(&failed_run, |r| r["status"] == "COMPLETED")
        .await;
    assert_eq!(done["output"], json!({"n": 2}), "{done}");
    let start = done["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node"] == "start")
        .unwrap();
    assert_eq!(
        start["completions"], 1,
        "the restart ran `start` again: {done}"
    );
}
db_test!(requests_are_answered_and_runs_cancelled_and_restarted);

/// Tenant B sees nothing of tenant A's workflows and runs (404, as for nothing), and cannot
/// reference A's workflow from a sub-workflow node: it is not found in B.
async fn another_tenant_finds_no_workflow_run_or_reference(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let a = Tenant::new(app, "alice").await;
    let (nodes, edges, options) = adder();
    let workflow = a.create("adder", nodes, edges, options).await;
    let run = a
        .execute(&workflow, "?wait=30", json!({"a": 1, "b": 2}))
        .await["instanceID"]
        .as_str()
        .unwrap()
        .to_string();

    let b = Tenant::new(a.app.clone(), "bob").await;
    for (method, path) in [
        ("GET", format!("workflows/{workflow}")),
        ("POST", format!("workflows/{workflow}/execute")),
        ("GET", format!("workflows/instances/{run}")),
        ("POST", format!("workflows/instances/{run}/cancel")),
        ("POST", format!("workflows/instances/{run}/restart")),
    ] {
        let (status, body) = b.call(method, &path, Some(json!({}))).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
    }
    // B's path with A's ids, and A's path: both 404 for B.
    let (status, _) = b
        .app
        .call(
            "GET",
            &format!("/api/v1/tenants/{}/workflows/{workflow}", a.id),
            &b.auth,
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, listed) = b.call("GET", "workflows/instances", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["total"], 0, "{listed}");

    let calls_a = json!([{"id": "start", "type": "start"},
        {"id": "child", "type": "subWorkflow", "data": {"childWorkflowID": workflow}},
        {"id": "end", "type": "end"}]);
    let edges = json!([{"source": "start", "target": "child"},
        {"source": "child", "target": "end", "sourceHandle": "success"}]);
    for (route, title) in [
        ("workflows", json!("thief")),
        ("workflows/test", Value::Null),
    ] {
        let mut body = json!({"nodes": calls_a, "edges": edges});
        if !title.is_null() {
            body["workflowTitle"] = title;
        }
        let (status, refused) = b.call("POST", route, Some(body)).await;
        assert_eq!(
            (status, code(&refused)),
            (400, "VALIDATION_ERROR"),
            "{route}: {refused}"
        );
        assert!(
            refused["error"]["issues"].as_array().unwrap().iter().any(
                |i| i["nodeID"] == "child" && i["message"] == "no such workflow in this tenant"
            ),
            "{route}: {refused}"
        );
    }
}
db_test!(another_tenant_finds_no_workflow_run_or_reference);

/// Creator rights: a member allowed only to create workflows holds every right on the ones she
/// created and on their runs, and none on another's.
async fn a_creator_holds_every_right_on_her_workflow_and_its_runs(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = Tenant::new(app, "alice").await;
    let carol_token = admin.app.token_for("carol", "carol@example.com");
    let carol_auth = format!("Bearer {carol_token}");
    let member = admin
        .app
        .join_without_roles(&carol_auth, admin.id.parse().unwrap())
        .await;
    let (status, role) = admin
        .call(
            "POST",
            "roles",
            Some(json!({"roleTitle": "makers", "permissions": ["workflow:create"]})),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    let (status, body) = admin
        .call(
            "PATCH",
            &format!("users/{member}/roles"),
            Some(json!({"roleIDs": [role["data"]["roleID"]]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let carol = Tenant {
        app: admin.app.clone(),
        auth: carol_auth,
        id: admin.id.clone(),
    };
    let (nodes, edges, options) = adder();
    let hers = carol
        .create("hers", nodes.clone(), edges.clone(), options.clone())
        .await;
    let theirs = admin.create("theirs", nodes, edges, options).await;

    let (status, _) = carol.call("GET", &format!("workflows/{hers}"), None).await;
    assert_eq!(status, 200);
    let done = carol
        .execute(&hers, "?wait=30", json!({"a": 1, "b": 1}))
        .await;
    assert_eq!(done["status"], "COMPLETED", "{done}");
    let run = done["instanceID"].as_str().unwrap();
    assert_eq!(carol.instance(run).await["status"], "COMPLETED");
    let (status, _) = carol
        .call(
            "PATCH",
            &format!("workflows/{hers}"),
            Some(json!({"workflowTitle": "mine"})),
        )
        .await;
    assert_eq!(status, 200);

    for (method, path, required) in [
        ("GET", format!("workflows/{theirs}"), "workflow:read"),
        (
            "POST",
            format!("workflows/{theirs}/execute"),
            "workflow:execute",
        ),
        // Listing is type-wide: the creator of one workflow does not list runs.
        ("GET", "workflows/instances".to_string(), "workflow:list"),
    ] {
        let (status, denied) = carol.call(method, &path, Some(json!({}))).await;
        assert_eq!(
            (status, denied["error"]["required"].as_str()),
            (403, Some(required)),
            "{method} {path}: {denied}"
        );
    }
}
db_test!(a_creator_holds_every_right_on_her_workflow_and_its_runs);

/// The real binary stopped with SIGTERM while a node runs: it stops claiming, lets the node
/// finish and commit, and exits 0; a server started again finishes the run at once. With a
/// lease of ten minutes, an abandoned attempt could not be resumed within the test.
async fn a_graceful_stop_lets_running_nodes_finish(backend: Backend) {
    use std::process::{Command, Stdio};

    use crate::startup::{free_port, stop, wait_until_healthy};

    let Some(database) = test_support::TestDatabase::new(backend).await else {
        return;
    };
    let data_dir = database.dir.path().join("data");
    let spawn = || {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_jet-server"));
        command
            .env_clear()
            .env("PORT", port.to_string())
            .env("JET_DATA_DIR", &data_dir)
            .env("JET_WORKFLOW_LEASE_SECS", "600")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if backend == Backend::Postgres {
            command
                .env("DATABASE_URL", &database.url)
                .env(
                    "JET_ENCRYPTION_KEY",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                )
                .env("JET_ALLOW_LOCAL_IDENTITY", "1");
        }
        (command.spawn().unwrap(), format!("http://127.0.0.1:{port}"))
    };
    let client = test_support::http::client();
    let (mut first, base) = spawn();
    wait_until_healthy(&client, &base, &mut first).await;
    let key = identity::LocalSigningKey::load_or_create(&data_dir).unwrap();
    let token = key.mint(
        "dora@example.com",
        None,
        Duration::from_secs(600),
        test_support::tokens::now(),
    );
    let call = |base: String, method: &'static str, path: String, body: Option<Value>| {
        let client = client.clone();
        let token = token.clone();
        async move {
            let mut request = client
                .request(method.parse().unwrap(), format!("{base}{path}"))
                .bearer_auth(token);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };
    let (status, tenant) = call(
        base.clone(),
        "POST",
        "/api/v1/tenants".into(),
        Some(json!({"tenantTitle": "T"})),
    )
    .await;
    assert_eq!(status, 201, "{tenant}");
    let tenant = tenant["data"]["tenantID"].as_str().unwrap().to_string();
    let (status, workflow) = call(
        base.clone(),
        "POST",
        format!("/api/v1/tenants/{tenant}/workflows"),
        Some(json!({"workflowTitle": "slow", "nodes": [
            {"id": "start", "type": "start"},
            {"id": "busy", "type": "javascript", "data": {"code":
                "const t = Date.now(); while (Date.now() - t < 1500) {} return {done: true};"}},
            {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "busy"},
                      {"source": "busy", "target": "end", "sourceHandle": "success"}]})),
    )
    .await;
    assert_eq!(status, 201, "{workflow}");
    let workflow = workflow["data"]["workflowID"].as_str().unwrap();
    let (status, started) = call(
        base.clone(),
        "POST",
        format!("/api/v1/tenants/{tenant}/workflows/{workflow}/execute"),
        Some(json!({})),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let run = started["data"]["instanceID"].as_str().unwrap().to_string();
    let instance = format!("/api/v1/tenants/{tenant}/workflows/instances/{run}");
    let busy_is = |run: &Value, status: &str| {
        run["data"]["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|n| n["node"] == "busy" && n["status"] == status)
    };
    // "running" means dispatched; the stop must come once the server has claimed the attempt
    // (its task leased), or there is nothing in flight for it to finish.
    let store_url = match backend {
        Backend::Postgres => database.url.clone(),
        Backend::Sqlite => format!("sqlite://{}?mode=rw", data_dir.join("jet.db").display()),
    };
    let store = sea_orm::Database::connect(store_url).await.unwrap();
    // The database holds this one run.
    let leased = "SELECT COUNT(*) AS n FROM engine_tasks WHERE lease_owner IS NOT NULL";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, read) = call(base.clone(), "GET", instance.clone(), None).await;
        if busy_is(&read, "running") && claimed(&store, leased).await {
            break;
        }
        assert!(Instant::now() < deadline, "the node never ran: {read}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(store);

    let (code, logs) = stop(first).await;
    assert_eq!(code, Some(0), "{logs}");
    assert!(!logs.contains("abandoned"), "{logs}");

    let (mut second, base) = spawn();
    wait_until_healthy(&client, &base, &mut second).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, read) = call(base.clone(), "GET", instance.clone(), None).await;
        assert!(
            busy_is(&read, "completed"),
            "the node was not finished by the stopped server: {read}"
        );
        if read["data"]["status"] == "COMPLETED" {
            let busy = read["data"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|n| n["node"] == "busy")
                .unwrap()
                .clone();
            assert_eq!(busy["attempts"], 1, "{read}");
            break;
        }
        assert!(Instant::now() < deadline, "the run never finished: {read}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (code, logs) = stop(second).await;
    assert_eq!(code, Some(0), "{logs}");
}
db_test!(a_graceful_stop_lets_running_nodes_finish);

/// Whether `count` (a `SELECT COUNT(*) AS n …`) finds a row.
async fn claimed(store: &sea_orm::DatabaseConnection, count: &str) -> bool {
    use sea_orm::ConnectionTrait;
    let row = store
        .query_one_raw(sea_orm::Statement::from_string(
            store.get_database_backend(),
            count,
        ))
        .await
        .unwrap();
    row.and_then(|r| r.try_get::<i64>("", "n").ok())
        .unwrap_or(0)
        > 0
}
