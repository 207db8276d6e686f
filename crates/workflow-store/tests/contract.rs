//! The store contract on both databases: runs and logs read back as written, compare-and-swap
//! commits that change nothing when they lose, leases, fair claims, renewals, concurrent
//! claimers that never share a task, and finished runs announced through the change bus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;
use support::stores;
use test_support::{Backend, db_test};
use workflow_engine::{
    Commit, Error, NewRun, RunId, RunRecord, RunStatus, RunStore, Task, TaskKind, Timestamp,
    WorkQueue, WorkflowDefinition,
};

fn at(seconds: i64) -> Timestamp {
    Utc.timestamp_opt(1_800_000_000 + seconds, 123_456_000)
        .single()
        .unwrap()
}

fn workflow() -> WorkflowDefinition {
    WorkflowDefinition::from_json(
        r#"{"nodes": [{"id": "start", "type": "start"}, {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "end"}]}"#,
    )
    .unwrap()
}

fn task(run: RunId, namespace: &str, id: &str, due: Timestamp) -> Task {
    Task {
        id: id.to_string(),
        run,
        namespace: namespace.to_string(),
        due,
        kind: TaskKind::Execute {
            node: "end".into(),
            activation: 1,
            attempt: 1,
        },
    }
}

/// A new run in `namespace` with no events (version 0) and these tasks.
fn new_run(namespace: &str, tasks: impl Fn(RunId) -> Vec<Task>) -> NewRun {
    let id = RunId::new();
    NewRun {
        record: RunRecord {
            id,
            namespace: namespace.to_string(),
            workflow: workflow(),
            parent: None,
            depth: 0,
            status: RunStatus::Pending,
            version: 0,
            created_at: at(0),
            updated_at: at(0),
        },
        events: Vec::new(),
        tasks: tasks(id),
    }
}

fn commit(run: RunId, expected_version: u64, status: RunStatus) -> Commit {
    Commit {
        run,
        expected_version,
        events: Vec::new(),
        status,
        ack: Vec::new(),
        drop_run_tasks: false,
        enqueue: Vec::new(),
        new_runs: Vec::new(),
    }
}

async fn runs_read_back_and_commits_swap_once(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let store = stores.store.clone();
    let run = new_run("t-a", |id| vec![task(id, "t-a", "a1", at(5))]);
    let id = run.record.id;
    store.create(run.clone()).await.unwrap();
    assert!(matches!(
        store.create(run.clone()).await,
        Err(Error::Conflict)
    ));
    assert_eq!(store.record(id).await.unwrap().unwrap(), run.record);
    assert_eq!(store.record(RunId::new()).await.unwrap(), None);

    // A commit from the wrong version changes nothing.
    let mut stale = commit(id, 7, RunStatus::Running);
    stale.ack.push("a1".into());
    assert!(matches!(store.commit(stale).await, Err(Error::Conflict)));
    assert_eq!(store.next_due().await.unwrap(), Some(at(5)));
    assert!(matches!(
        store
            .commit(commit(RunId::new(), 0, RunStatus::Running))
            .await,
        Err(Error::RunNotFound)
    ));

    // A commit from the current version: status, ack, new tasks, a child run.
    let mut next = commit(id, 0, RunStatus::Running);
    next.ack.push("a1".into());
    next.enqueue.push(task(id, "t-a", "a2", at(9)));
    let child = new_run("t-a", |child| vec![task(child, "t-a", "c1", at(3))]);
    let child_id = child.record.id;
    next.new_runs.push(child);
    store.commit(next).await.unwrap();
    let record = store.record(id).await.unwrap().unwrap();
    assert_eq!(record.status, RunStatus::Running);
    assert_eq!(store.next_due().await.unwrap(), Some(at(3)));
    assert!(store.record(child_id).await.unwrap().is_some());
    let listed = store
        .runs(Some("t-a"), Some(RunStatus::Pending))
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, child_id);
    assert!(store.runs(Some("t-b"), None).await.unwrap().is_empty());
    assert_eq!(store.runs(None, None).await.unwrap().len(), 2);

    // Dropping the run's tasks leaves the child's.
    let mut failed = commit(id, 0, RunStatus::Failed);
    failed.drop_run_tasks = true;
    store.commit(failed).await.unwrap();
    assert_eq!(store.next_due().await.unwrap(), Some(at(3)));
}
db_test!(runs_read_back_and_commits_swap_once);

async fn leases_hold_until_they_lapse_and_renew_only_for_their_owner(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let store = stores.store.clone();
    let run = new_run("t-a", |id| {
        vec![
            task(id, "t-a", "due", at(0)),
            task(id, "t-a", "later", at(60)),
        ]
    });
    store.create(run).await.unwrap();
    let lease = Duration::from_secs(30);
    let first = store.claim("w1", at(1), lease, 10).await.unwrap();
    assert_eq!(first.len(), 1, "only the due task");
    assert_eq!(first[0].task.id, "due");
    assert_eq!(first[0].deliveries, 1);
    assert_eq!(first[0].lease_until, at(31));
    assert!(
        store
            .claim("w2", at(2), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_due().await.unwrap(), Some(at(31)));
    assert!(store.renew("due", "w1", at(45)).await.unwrap());
    assert!(!store.renew("due", "w2", at(90)).await.unwrap());
    assert!(!store.renew("gone", "w1", at(90)).await.unwrap());
    assert!(
        store
            .claim("w2", at(40), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // w1 died: at 45 its lease lapsed and w2 takes the task, a second delivery.
    let second = store.claim("w2", at(46), lease, 10).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(
        (second[0].task.id.as_str(), second[0].deliveries),
        ("due", 2)
    );
    assert!(!store.renew("due", "w1", at(100)).await.unwrap());
    // Task payloads read back as written.
    assert_eq!(second[0].task.due, at(0));
    assert_eq!(
        second[0].task.kind,
        TaskKind::Execute {
            node: "end".into(),
            activation: 1,
            attempt: 1
        }
    );
}
db_test!(leases_hold_until_they_lapse_and_renew_only_for_their_owner);

async fn claims_take_namespaces_in_turn(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let store = stores.store.clone();
    // A busy namespace with 5 due tasks, two quiet ones with one each.
    store
        .create(new_run("busy", |id| {
            (0..5)
                .map(|n| task(id, "busy", &format!("b{n}"), at(n)))
                .collect()
        }))
        .await
        .unwrap();
    for quiet in ["q1", "q2"] {
        store
            .create(new_run(quiet, |id| vec![task(id, quiet, quiet, at(10))]))
            .await
            .unwrap();
    }
    let claimed = store
        .claim("w", at(20), Duration::from_secs(30), 3)
        .await
        .unwrap();
    let namespaces: HashSet<String> = claimed.iter().map(|c| c.task.namespace.clone()).collect();
    assert_eq!(
        namespaces,
        HashSet::from(["busy".into(), "q1".into(), "q2".into()]),
        "one task of each namespace before a second of any"
    );
    let busy: Vec<&str> = claimed
        .iter()
        .filter(|c| c.task.namespace == "busy")
        .map(|c| c.task.id.as_str())
        .collect();
    assert_eq!(busy, ["b0"], "the earliest due first");
}
db_test!(claims_take_namespaces_in_turn);

async fn concurrent_claimers_never_share_a_task(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let store = stores.store.clone();
    // A second store on the same database, as another process would have.
    let other = Arc::new(stores.another_process().await);
    for chunk in 0..10 {
        store
            .create(new_run(&format!("t{chunk}"), |id| {
                (0..20)
                    .map(|n| task(id, &format!("t{chunk}"), &format!("{chunk}-{n}"), at(0)))
                    .collect()
            }))
            .await
            .unwrap();
    }
    let mut claimers = Vec::new();
    for (n, claimer) in [store.clone(), other.clone(), store.clone(), other]
        .into_iter()
        .enumerate()
    {
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let got = claimer
                    .claim(&format!("w{n}"), at(1), Duration::from_secs(600), 7)
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|c| c.task.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for claimer in claimers {
        for id in claimer.await.unwrap() {
            total += 1;
            assert!(seen.insert(id.clone()), "{id} was claimed twice");
        }
    }
    assert_eq!(total, 200);
}
db_test!(concurrent_claimers_never_share_a_task);

/// A form that suspends its run until the host submits.
fn form() -> WorkflowDefinition {
    WorkflowDefinition::from_json(
        r#"{"nodes": [{"id": "start", "type": "start"},
                      {"id": "ask", "type": "dataCollection", "config": {"title": "Age?"}},
                      {"id": "end", "type": "end"}],
            "edges": [{"source": "start", "target": "ask"}, {"source": "ask", "target": "end"}]}"#,
    )
    .unwrap()
}

/// Engine A runs the workflow; engine B, on a second store over the same database (another
/// process on PostgreSQL), can claim nothing (its clock is in 2000) and re-reads only hourly: its
/// `wait` can only return through the announcement of the finished run.
async fn events_keep_their_sequence_and_finished_runs_are_announced(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let store = stores.store.clone();
    let a = workflow_engine::Engine::builder(store.clone())
        .build()
        .unwrap();
    let b = workflow_engine::Engine::builder(Arc::new(stores.another_process().await))
        .clock(Arc::new(workflow_engine::FakeClock::at(
            Utc.timestamp_opt(946_684_800, 0).single().unwrap(),
        )))
        .config(workflow_engine::EngineConfig {
            poll_interval: Duration::from_secs(3600),
            ..workflow_engine::EngineConfig::default()
        })
        .build()
        .unwrap();
    let run = a.start("t-a", form(), json!({})).await.unwrap();
    let request = loop {
        let now = a.snapshot("t-a", run).await.unwrap();
        if let Some(pending) = now.pending.first() {
            break pending.request_id.clone();
        }
        a.idle().await;
    };
    let waiting = tokio::spawn(async move { b.wait("t-a", run).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.submit("t-a", run, &request, json!({"age": 1}))
        .await
        .unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(20), waiting)
        .await
        .expect("B's wait never heard the run finish")
        .unwrap()
        .unwrap();
    assert_eq!(finished.status, RunStatus::Completed);

    let log = store.events(run, 0).await.unwrap();
    assert!(log.len() >= 6, "{log:?}");
    assert!(log.iter().enumerate().all(|(i, e)| e.seq() == i as u64 + 1));
    assert_eq!(store.events(run, 2).await.unwrap(), log[2..].to_vec());
    assert_eq!(log.last().unwrap().name(), "RUN_COMPLETED");
    assert_eq!(
        store.record(run).await.unwrap().unwrap().version,
        log.len() as u64
    );
}
db_test!(events_keep_their_sequence_and_finished_runs_are_announced);

async fn finished_runs_are_purged_after_their_parents_and_never_while_running(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let store = stores.store.clone();
    // An old finished parent with a finished child, an old running run, a recent finished run.
    let parent = new_run("t-a", |_| Vec::new());
    let parent_id = parent.record.id;
    let mut child = new_run("t-a", |_| Vec::new());
    child.record.parent = Some(workflow_engine::ParentLink {
        run: parent_id,
        node: "sub".into(),
        activation: 1,
    });
    let child_id = child.record.id;
    let running = new_run("t-a", |id| vec![task(id, "t-a", "r1", at(0))]);
    let running_id = running.record.id;
    let recent = new_run("t-a", |_| Vec::new());
    let recent_id = recent.record.id;
    for run in [parent, child, running, recent] {
        store.create(run).await.unwrap();
    }
    for (id, finished_at) in [(parent_id, 10), (child_id, 10), (recent_id, 1_000)] {
        let mut done = commit(id, 0, RunStatus::Completed);
        done.events.push(
            serde_json::from_value(
                json!({"seq": 1, "at": at(finished_at), "type": "runCompleted", "output": {}}),
            )
            .unwrap(),
        );
        store.commit(done).await.unwrap();
    }
    assert_eq!(
        store.purge_finished(at(500), 100).await.unwrap(),
        1,
        "the parent first"
    );
    assert!(store.record(parent_id).await.unwrap().is_none());
    assert!(store.events(parent_id, 0).await.unwrap().is_empty());
    assert_eq!(
        store.purge_finished(at(500), 100).await.unwrap(),
        1,
        "then its child"
    );
    assert_eq!(store.purge_finished(at(500), 100).await.unwrap(), 0);
    assert!(store.record(running_id).await.unwrap().is_some());
    assert!(store.record(recent_id).await.unwrap().is_some());
    assert_eq!(
        store.next_due().await.unwrap(),
        Some(at(0)),
        "the running run keeps its task"
    );
}
db_test!(finished_runs_are_purged_after_their_parents_and_never_while_running);

/// A store that delegates to a `SqlStore` but claims nothing: an engine on it starts runs and
/// waits for them, and leaves the work to others.
#[derive(Debug)]
struct StartsOnly(Arc<workflow_store::SqlStore>);

#[async_trait::async_trait]
impl RunStore for StartsOnly {
    async fn create(&self, run: NewRun) -> Result<(), Error> {
        self.0.create(run).await
    }
    async fn commit(&self, commit: Commit) -> Result<(), Error> {
        self.0.commit(commit).await
    }
    async fn record(&self, run: RunId) -> Result<Option<RunRecord>, Error> {
        self.0.record(run).await
    }
    async fn events(&self, run: RunId, after: u64) -> Result<Vec<workflow_engine::Event>, Error> {
        self.0.events(run, after).await
    }
    async fn runs(
        &self,
        namespace: Option<&str>,
        status: Option<RunStatus>,
    ) -> Result<Vec<RunRecord>, Error> {
        self.0.runs(namespace, status).await
    }
    fn finished_runs(&self) -> Option<workflow_engine::FinishedRuns> {
        self.0.finished_runs()
    }
}

#[async_trait::async_trait]
impl WorkQueue for StartsOnly {
    async fn claim(
        &self,
        _worker: &str,
        _now: Timestamp,
        _lease: Duration,
        _max: usize,
    ) -> Result<Vec<workflow_engine::Claimed>, Error> {
        Ok(Vec::new())
    }
    async fn renew(&self, _task: &str, _worker: &str, _until: Timestamp) -> Result<bool, Error> {
        Ok(false)
    }
    async fn next_due(&self) -> Result<Option<Timestamp>, Error> {
        Ok(None)
    }
}

/// Engine B, in another process on PostgreSQL, polls only hourly: it runs the work engine A
/// queues only because the store's queued-work hint wakes it.
async fn an_idle_dispatcher_in_another_process_is_woken_by_queued_work(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let a = workflow_engine::Engine::builder(Arc::new(StartsOnly(stores.store.clone())))
        .build()
        .unwrap();
    let b = workflow_engine::Engine::builder(Arc::new(stores.another_process().await))
        .config(workflow_engine::EngineConfig {
            poll_interval: Duration::from_secs(3600),
            ..workflow_engine::EngineConfig::default()
        })
        .build()
        .unwrap();
    b.idle().await;
    // `idle` leaves a wake-up permit behind when it finds the dispatcher busy; let B use it and
    // park, so only a hint can wake it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let run = a.start("t-a", workflow(), json!({})).await.unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(20), a.wait("t-a", run))
        .await
        .expect("the idle engine in the other process never ran the work")
        .unwrap();
    assert_eq!(finished.status, RunStatus::Completed);
    drop(b);
}
db_test!(an_idle_dispatcher_in_another_process_is_woken_by_queued_work);

/// A follower in another process (its own store and bus listener on PostgreSQL) hears commit
/// hints for a run engine A executes, and by reading the log on from what it delivered after
/// each hint it hands on every event once, in order, ending with the run's last one.
async fn commit_hints_let_another_process_follow_a_run_without_gaps(backend: Backend) {
    let Some(stores) = stores(backend).await else {
        return;
    };
    let follower = stores.another_process().await;
    let mut hints = follower.committed_runs();
    let a = workflow_engine::Engine::builder(stores.store.clone())
        .build()
        .unwrap();
    let run = a.start("t-a", workflow(), json!({})).await.unwrap();
    let mut delivered: Vec<u64> = Vec::new();
    let mut hints_heard = 0;
    let follow = async {
        loop {
            match hints.next().await.expect("the store is alive") {
                workflow_store::Committed::Run { run: hinted, .. } if hinted != run => continue,
                _ => {}
            }
            hints_heard += 1;
            let after = delivered.last().copied().unwrap_or(0);
            let new = follower.events(run, after).await.unwrap();
            delivered.extend(new.iter().map(|e| e.seq()));
            if new.last().is_some_and(|e| e.name() == "RUN_COMPLETED") {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), follow)
        .await
        .expect("the follower never saw the run complete");
    let log = stores.store.events(run, 0).await.unwrap();
    assert_eq!(
        delivered,
        (1..=log.len() as u64).collect::<Vec<_>>(),
        "every event once, in order"
    );
    assert!(hints_heard >= 1);
}
db_test!(commit_hints_let_another_process_follow_a_run_without_gaps);
