//! Cron jobs over HTTP on SQLite and PostgreSQL: a job fires its workflow on schedule and its
//! history shows each run's real outcome (a failing workflow: failed, with its error, after its
//! retry); a job can be fired by hand, disabled, and asked for its next fire times in its zone;
//! bad jobs are refused with the field at fault.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};
use test_support::{Backend, db_test};

use crate::helpers::{Tenant, TestApp, code};

const PATIENCE: Duration = Duration::from_secs(60);

impl Tenant {
    /// A workflow whose one JavaScript step runs `code`.
    async fn workflow(&self, code: &str) -> String {
        let nodes = json!([{"id": "start", "type": "start"},
            {"id": "work", "type": "javascript", "data": {"code": code}},
            {"id": "end", "type": "end"}]);
        let edges = json!([{"source": "start", "target": "work"},
            {"source": "work", "target": "end", "sourceHandle": "success"}]);
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

    async fn job(&self, body: Value) -> Value {
        let (status, made) = self.call("POST", "cronjobs", Some(body)).await;
        assert_eq!(status, 201, "{made}");
        made["data"].clone()
    }

    async fn history(&self, job: &str) -> Vec<Value> {
        let (status, page) = self
            .call("GET", &format!("cronjobs/{job}/history?pageSize=200"), None)
            .await;
        assert_eq!(status, 200, "{page}");
        page["data"].as_array().unwrap().clone()
    }

    /// The history once `done` holds for it.
    async fn history_when(&self, job: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let fires = self.history(job).await;
            if done(&fires) {
                return fires;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the history never got there: {fires:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn ended(fires: &[Value], status: &str) -> usize {
    fires.iter().filter(|f| f["status"] == status).count()
}

async fn a_job_fires_its_workflow_and_the_history_shows_how_each_run_ended(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;
    let fine = t
        .workflow("return {doubled: (ctx.input.n || 0) * 2};")
        .await;
    let job = t
        .job(
            json!({"cronJobTitle": "every second", "schedule": "* * * * * *",
            "workflowID": fine, "inputValues": {"n": 21}}),
        )
        .await;
    let id = job["cronJobID"].as_str().unwrap();
    assert!(job["nextFireAt"].is_string(), "{job}");
    let fires = t.history_when(id, |f| ended(f, "completed") >= 2).await;
    let done = fires.iter().find(|f| f["status"] == "completed").unwrap();
    assert_eq!(done["trigger"], "scheduled");
    assert!(done["instanceID"].is_string(), "{done}");
    assert!(done["durationMs"].is_i64(), "{done}");
    // The run behind the fire is a run of the workflow, with the job's input.
    let (status, run) = t
        .call(
            "GET",
            &format!(
                "workflows/instances/{}",
                done["instanceID"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["data"]["status"], "COMPLETED");

    // Disabled: no new fire after the ones in flight.
    let (status, off) = t
        .call("POST", &format!("cronjobs/{id}/disable"), None)
        .await;
    assert_eq!(status, 200, "{off}");
    assert!(off["data"]["nextFireAt"].is_null());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let before = t.history(id).await.len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(t.history(id).await.len(), before);

    // Fired by hand while disabled: a manual fire with its own run.
    let (status, fired) = t
        .call("POST", &format!("cronjobs/{id}/trigger"), None)
        .await;
    assert_eq!(status, 201, "{fired}");
    assert_eq!(fired["data"]["trigger"], "manual");
    let fires = t
        .history_when(id, |f| {
            f.iter()
                .any(|x| x["trigger"] == "manual" && x["status"] == "completed")
        })
        .await;
    assert!(fires.iter().all(|f| f["status"] != "failed"), "{fires:?}");

    // Every fire is in the audit trail with the job as its principal and its run.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let (status, page) = t
            .call("GET", "audit?type=CRON_FIRE&pageSize=200", None)
            .await;
        assert_eq!(status, 200, "{page}");
        let entries = page["data"].as_array().unwrap();
        let audited = |fire: &Value| {
            entries.iter().any(|entry| {
                entry["metadata"]["fireID"] == fire["fireID"]
                    && entry["metadata"]["cronJobID"] == id
                    && entry["metadata"]["instanceID"] == fire["instanceID"]
                    && entry["userID"].is_null()
                    && entry["type"] == "CRON_FIRE"
            })
        };
        if fires.iter().all(audited) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "fires missing from the audit trail: {fires:?} {page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
db_test!(a_job_fires_its_workflow_and_the_history_shows_how_each_run_ended);

async fn a_failing_workflow_makes_failed_fires_with_its_error(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;
    let failing = t.workflow("throw new Error('the ledger is closed');").await;
    let job = t
        .job(
            json!({"cronJobTitle": "doomed", "schedule": "* * * * * *", "workflowID": failing,
            "retries": 1, "retryDelaySecs": 1}),
        )
        .await;
    // One retry a second after each failure: a fire ends failed at its second attempt, with
    // no further retry due.
    let fires = t
        .history_when(job["cronJobID"].as_str().unwrap(), |f| {
            f.iter()
                .any(|f| f["status"] == "failed" && f["attempt"] == 2)
        })
        .await;
    let failed = fires
        .iter()
        .find(|f| f["status"] == "failed" && f["attempt"] == 2)
        .unwrap();
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("the ledger is closed"),
        "{failed}"
    );
    assert!(failed["instanceID"].is_string());
    assert!(failed["retryAt"].is_null(), "{failed}");
    assert!(
        fires.iter().all(|f| f["attempt"].as_u64() <= Some(2)),
        "{fires:?}"
    );
}
db_test!(a_failing_workflow_makes_failed_fires_with_its_error);

async fn next_fire_times_read_in_the_zone_and_bad_jobs_name_their_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let t = Tenant::new(&app, "alice").await;
    let other = Tenant::new(&app, "bob").await;
    let workflow = t.workflow("return 1;").await;
    let theirs = other.workflow("return 1;").await;
    let job = t
        .job(json!({"cronJobTitle": "nightly", "schedule": "30 2 * * *",
            "timeZone": "Europe/Berlin", "workflowID": workflow, "enabled": false}))
        .await;
    let id = job["cronJobID"].as_str().unwrap();
    let (status, next) = t
        .call("GET", &format!("cronjobs/{id}/next?count=3"), None)
        .await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["data"]["timeZone"], "Europe/Berlin");
    let times = next["data"]["next"].as_array().unwrap();
    assert_eq!(times.len(), 3);
    for time in times {
        let local = time["local"].as_str().unwrap();
        assert!(
            local.contains("T02:30:00+01:00")
                || local.contains("T02:30:00+02:00")
                || local.contains("T03:00:00+02:00"),
            "{time}"
        );
    }
    let (status, bad) = t
        .call("GET", &format!("cronjobs/{id}/next?count=0"), None)
        .await;
    assert_eq!((status, code(&bad)), (400, "VALIDATION_ERROR"));

    for (body, field, status) in [
        (
            json!({"cronJobTitle": "x", "schedule": "61 * * * *", "workflowID": workflow}),
            "schedule",
            400,
        ),
        (
            json!({"cronJobTitle": "x", "schedule": "* * * * *", "timeZone": "Mars/Olympus", "workflowID": workflow}),
            "timeZone",
            400,
        ),
        (
            json!({"cronJobTitle": "x", "schedule": "* * * * *"}),
            "workflowID",
            400,
        ),
        (
            json!({"cronJobTitle": "x", "schedule": "* * * * *", "workflowID": workflow, "dataQueryID": workflow}),
            "workflowID",
            400,
        ),
        (
            json!({"cronJobTitle": "x", "schedule": "* * * * *", "workflowID": theirs}),
            "workflowID",
            409,
        ),
    ] {
        let (got, refused) = t.call("POST", "cronjobs", Some(body)).await;
        assert_eq!(got, status, "{refused}");
        assert_eq!(refused["error"]["field"], field, "{refused}");
    }
    let (status, listed) = t.call("GET", "cronjobs", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["data"].as_array().unwrap().len(), 1);
}
db_test!(next_fire_times_read_in_the_zone_and_bad_jobs_name_their_field);

/// The real binary on the embedded default in `data_dir`, its output discarded (a pipe nobody
/// reads would fill and stall it); the child and its URL.
async fn spawn_server(data_dir: &std::path::Path) -> (std::process::Child, String) {
    use std::process::{Command, Stdio};
    let port = crate::startup::free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_jet-server"))
        .env_clear()
        .env("PORT", port.to_string())
        .env("JET_DATA_DIR", data_dir)
        // A fire time more than a second old when the ticker reaches it was missed.
        .env("JET_CRON_MISFIRE_GRACE_SECS", "1")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    crate::startup::wait_until_healthy(&test_support::http::client(), &base, &mut child).await;
    (child, base)
}

/// `kill -9` the server, restart it six seconds later: the `skip` job fires none of the ticks
/// it missed, the `runOnce` job fires once for all of them (a `makeUp` fire), and neither
/// fires twice for a tick it had fired before the kill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_skip_fires_nothing_missed_and_run_once_fires_once() {
    use chrono::{DateTime, Utc};
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let client = test_support::http::client();
    let (mut child, base) = spawn_server(&data_dir).await;
    let token = identity::LocalSigningKey::load_or_create(&data_dir)
        .unwrap()
        .mint(
            "kim@example.com",
            None,
            Duration::from_secs(600),
            test_support::tokens::now(),
        );
    let call = |base: &str, method: &str, path: String, body: Option<Value>| {
        let mut request = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { crate::helpers::json(request.send().await.unwrap()).await }
    };
    let (status, tenant) = call(
        &base,
        "POST",
        "/api/v1/tenants".into(),
        Some(json!({"tenantTitle": "K"})),
    )
    .await;
    assert_eq!(status, 201, "{tenant}");
    let t = format!(
        "/api/v1/tenants/{}",
        tenant["data"]["tenantID"].as_str().unwrap()
    );
    let (status, flow) = call(
        &base,
        "POST",
        format!("{t}/workflows"),
        Some(
            json!({"workflowTitle": "tick", "nodes": [{"id": "start", "type": "start"},
            {"id": "end", "type": "end"}], "edges": [{"source": "start", "target": "end"}]}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{flow}");
    let mut jobs = Vec::new();
    for misfire in ["skip", "runOnce"] {
        let (status, job) = call(
            &base,
            "POST",
            format!("{t}/cronjobs"),
            Some(json!({"cronJobTitle": misfire, "schedule": "* * * * * *",
                "workflowID": flow["data"]["workflowID"], "misfire": misfire})),
        )
        .await;
        assert_eq!(status, 201, "{job}");
        jobs.push(job["data"]["cronJobID"].as_str().unwrap().to_string());
    }
    let history = |base: String, job: String| {
        let path = format!("{t}/cronjobs/{job}/history?pageSize=200");
        async move {
            let (status, page) = call(&base, "GET", path, None).await;
            assert_eq!(status, 200, "{page}");
            page["data"].as_array().unwrap().clone()
        }
    };
    let deadline = tokio::time::Instant::now() + PATIENCE;
    for job in &jobs {
        while ended(&history(base.clone(), job.clone()).await, "completed") == 0 {
            assert!(tokio::time::Instant::now() < deadline, "{job} never fired");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    // kill -9: no drain, no cleanup.
    child.kill().unwrap();
    child.wait().unwrap();
    let killed_at = Utc::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let restarted_at = Utc::now();
    let (child, base) = spawn_server(&data_dir).await;
    // Fires after the restart, so each job is seen ticking again.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let scheduled = |fire: &Value| {
        fire["scheduledFor"]
            .as_str()
            .unwrap()
            .parse::<DateTime<Utc>>()
            .unwrap()
    };
    // Ticks no process could fire: after the kill, and missed by more than the grace when the
    // restarted ticker came.
    let downtime = |fire: &Value| {
        let at = scheduled(fire);
        at > killed_at + chrono::Duration::seconds(1)
            && at <= restarted_at - chrono::Duration::seconds(1)
    };
    let (skip, run_once) = (
        history(base.clone(), jobs[0].clone()).await,
        history(base.clone(), jobs[1].clone()).await,
    );
    for (name, fires) in [("skip", &skip), ("runOnce", &run_once)] {
        let mut times: Vec<_> = fires.iter().map(&scheduled).collect();
        let count = times.len();
        times.sort();
        times.dedup();
        assert_eq!(times.len(), count, "{name}: a tick fired twice: {fires:?}");
        assert!(
            fires
                .iter()
                .any(|f| scheduled(f) > restarted_at && f["trigger"] == "scheduled"),
            "{name} does not tick after the restart: {fires:?}"
        );
    }
    assert!(
        !skip.iter().any(|f| downtime(f) || f["trigger"] == "makeUp"),
        "skip fired for missed ticks: {skip:?}"
    );
    let made_up: Vec<&Value> = run_once
        .iter()
        .filter(|f| f["trigger"] == "makeUp")
        .collect();
    assert_eq!(made_up.len(), 1, "runOnce fires once: {run_once:?}");
    assert!(
        !run_once
            .iter()
            .any(|f| downtime(f) && f["trigger"] == "scheduled"),
        "runOnce fired missed ticks one by one: {run_once:?}"
    );
    crate::startup::stop(child).await;
}
