//! The in-memory store: every contract of [`crate::store`] (CAS commits, leases, fair claims),
//! kept for as long as the process lives. Engines sharing one `MemoryStore` behave like
//! processes sharing one database, which is how the crash and race tests use it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::clock::after;
use crate::error::Error;
use crate::event::Event;
use crate::run::{RunId, RunStatus, Timestamp};
use crate::store::{
    Claimed, Commit, FinishedRun, FinishedRuns, NewRun, RunRecord, RunStore, Task, WorkQueue,
};

/// A complete store in memory.
#[derive(Debug)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
    /// Runs that reached a terminal status ([`RunStore::finished_runs`]).
    finished: broadcast::Sender<FinishedRun>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            inner: Mutex::default(),
            finished: broadcast::channel(1024).0,
        }
    }
}

#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<RunId, StoredRun>,
    tasks: HashMap<String, TaskRow>,
    /// Unleased tasks per namespace, by due time then arrival.
    available: BTreeMap<String, BTreeSet<(Timestamp, u64, String)>>,
    /// Leased tasks by lease end.
    leased: BTreeSet<(Timestamp, String)>,
    arrivals: u64,
    /// The namespace served last, so the next claim starts after it.
    last_served: Option<String>,
}

#[derive(Debug)]
struct StoredRun {
    record: RunRecord,
    events: Vec<Event>,
}

#[derive(Debug)]
struct TaskRow {
    task: Task,
    arrival: u64,
    lease: Option<(String, Timestamp)>,
    deliveries: u32,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Number of queued tasks (leased or not).
    pub fn task_count(&self) -> usize {
        self.lock().tasks.len()
    }
}

impl Inner {
    fn enqueue(&mut self, task: Task) {
        self.remove_task(&task.id);
        self.arrivals += 1;
        let arrival = self.arrivals;
        self.available
            .entry(task.namespace.clone())
            .or_default()
            .insert((task.due, arrival, task.id.clone()));
        self.tasks.insert(
            task.id.clone(),
            TaskRow {
                task,
                arrival,
                lease: None,
                deliveries: 0,
            },
        );
    }

    fn remove_task(&mut self, id: &str) {
        let Some(row) = self.tasks.remove(id) else {
            return;
        };
        match row.lease {
            Some((_, until)) => {
                self.leased.remove(&(until, row.task.id));
            }
            None => {
                if let Some(queue) = self.available.get_mut(&row.task.namespace) {
                    queue.remove(&(row.task.due, row.arrival, row.task.id));
                    if queue.is_empty() {
                        self.available.remove(&row.task.namespace);
                    }
                }
            }
        }
    }

    fn release_lapsed(&mut self, now: Timestamp) {
        while let Some((until, id)) = self.leased.first().cloned() {
            if until > now {
                break;
            }
            self.leased.pop_first();
            if let Some(row) = self.tasks.get_mut(&id) {
                row.lease = None;
                self.available
                    .entry(row.task.namespace.clone())
                    .or_default()
                    .insert((row.task.due, row.arrival, id));
            }
        }
    }

    /// Takes the earliest due task of `namespace`, if one is due.
    fn take_due(&mut self, namespace: &str, now: Timestamp) -> Option<String> {
        let queue = self.available.get_mut(namespace)?;
        let first = queue.first()?;
        if first.0 > now {
            return None;
        }
        let (_, _, id) = queue.pop_first()?;
        if queue.is_empty() {
            self.available.remove(namespace);
        }
        Some(id)
    }
}

#[async_trait]
impl RunStore for MemoryStore {
    async fn create(&self, run: NewRun) -> Result<(), Error> {
        let mut inner = self.lock();
        if inner.runs.contains_key(&run.record.id) {
            return Err(Error::Conflict);
        }
        inner.runs.insert(
            run.record.id,
            StoredRun {
                record: run.record,
                events: run.events,
            },
        );
        for task in run.tasks {
            inner.enqueue(task);
        }
        Ok(())
    }

    async fn commit(&self, commit: Commit) -> Result<(), Error> {
        let mut inner = self.lock();
        let stored = inner.runs.get(&commit.run).ok_or(Error::RunNotFound)?;
        if stored.record.version != commit.expected_version {
            return Err(Error::Conflict);
        }
        for run in &commit.new_runs {
            if inner.runs.contains_key(&run.record.id) {
                return Err(Error::Conflict);
            }
        }
        let Some(stored) = inner.runs.get_mut(&commit.run) else {
            return Err(Error::RunNotFound);
        };
        if let Some(last) = commit.events.last() {
            stored.record.version = last.seq;
            stored.record.updated_at = last.at;
        }
        stored.record.status = commit.status;
        stored.events.extend(commit.events);
        for id in &commit.ack {
            inner.remove_task(id);
        }
        if commit.drop_run_tasks {
            let doomed: Vec<String> = inner
                .tasks
                .values()
                .filter(|row| row.task.run == commit.run)
                .map(|row| row.task.id.clone())
                .collect();
            for id in doomed {
                inner.remove_task(&id);
            }
        }
        for task in commit.enqueue {
            inner.enqueue(task);
        }
        for run in commit.new_runs {
            for task in run.tasks {
                inner.enqueue(task);
            }
            inner.runs.insert(
                run.record.id,
                StoredRun {
                    record: run.record,
                    events: run.events,
                },
            );
        }
        drop(inner);
        if commit.status.is_terminal() {
            // Nobody listening is not an error.
            let _ = self.finished.send(FinishedRun::Finished(commit.run));
        }
        Ok(())
    }

    async fn record(&self, run: RunId) -> Result<Option<RunRecord>, Error> {
        Ok(self.lock().runs.get(&run).map(|r| r.record.clone()))
    }

    async fn events(&self, run: RunId, after_seq: u64) -> Result<Vec<Event>, Error> {
        let inner = self.lock();
        let Some(stored) = inner.runs.get(&run) else {
            return Ok(Vec::new());
        };
        // Sequence numbers are 1, 2, 3, … so event `n` sits at index `n - 1`.
        let from = usize::try_from(after_seq)
            .unwrap_or(usize::MAX)
            .min(stored.events.len());
        Ok(stored.events[from..].to_vec())
    }

    async fn runs(
        &self,
        namespace: Option<&str>,
        status: Option<RunStatus>,
    ) -> Result<Vec<RunRecord>, Error> {
        let inner = self.lock();
        let mut records: Vec<RunRecord> = inner
            .runs
            .values()
            .map(|r| &r.record)
            .filter(|r| namespace.is_none_or(|ns| r.namespace == ns))
            .filter(|r| status.is_none_or(|s| r.status == s))
            .cloned()
            .collect();
        records.sort_by_key(|r| std::cmp::Reverse(r.id));
        Ok(records)
    }

    fn finished_runs(&self) -> Option<FinishedRuns> {
        Some(FinishedRuns::new(self.finished.subscribe()))
    }
}

#[async_trait]
impl WorkQueue for MemoryStore {
    async fn claim(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        max: usize,
    ) -> Result<Vec<Claimed>, Error> {
        let mut inner = self.lock();
        inner.release_lapsed(now);
        let lease_until = after(now, lease);
        let mut namespaces: Vec<String> = inner.available.keys().cloned().collect();
        if let Some(last) = &inner.last_served {
            let split = namespaces.partition_point(|ns| ns <= last);
            namespaces.rotate_left(split);
        }
        let mut claimed = Vec::new();
        while claimed.len() < max {
            let mut progressed = false;
            for namespace in &namespaces {
                if claimed.len() >= max {
                    break;
                }
                let Some(id) = inner.take_due(namespace, now) else {
                    continue;
                };
                progressed = true;
                inner.last_served = Some(namespace.clone());
                inner.leased.insert((lease_until, id.clone()));
                if let Some(row) = inner.tasks.get_mut(&id) {
                    row.lease = Some((worker.to_string(), lease_until));
                    row.deliveries += 1;
                    claimed.push(Claimed {
                        task: row.task.clone(),
                        lease_until,
                        deliveries: row.deliveries,
                    });
                }
            }
            if !progressed {
                break;
            }
        }
        Ok(claimed)
    }

    async fn renew(&self, task: &str, worker: &str, until: Timestamp) -> Result<bool, Error> {
        let mut inner = self.lock();
        let Some(row) = inner.tasks.get_mut(task) else {
            return Ok(false);
        };
        let Some((holder, old_until)) = row.lease.clone() else {
            return Ok(false);
        };
        if holder != worker {
            return Ok(false);
        }
        row.lease = Some((holder, until));
        inner.leased.remove(&(old_until, task.to_string()));
        inner.leased.insert((until, task.to_string()));
        Ok(true)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, Error> {
        let inner = self.lock();
        let due = inner
            .available
            .values()
            .filter_map(|q| q.first().map(|f| f.0))
            .min();
        let lapse = inner.leased.first().map(|(until, _)| *until);
        Ok(match (due, lapse) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }
}
