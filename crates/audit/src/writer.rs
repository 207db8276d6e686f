//! The buffered writer: entries are queued by request handlers and written in batches. When an
//! entry arrives the writer waits [`WriterConfig::flush_interval`] (250 ms by default), then writes
//! everything queued by then; everything still queued is written when the writer stops.
//!
//! Waiting instead of writing at every N entries matters under load: the writer wakes once per
//! interval, not once per request (each wake-up is a thread switch), and the database sees one
//! large insert instead of one per few requests.
//!
//! Requests never wait for the database: [`AuditSink::record`] only queues. The queue is bounded
//! (100,000 entries); if the database is down long enough to fill it, further entries are
//! dropped and counted in the log rather than growing memory without bound. A failed batch is
//! kept and retried at the next flush.

use std::time::Duration;

use db_entity::audit_logs;
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::AuditEntry;

/// When the writer flushes.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// How long after an entry arrives it is written, with everything queued meanwhile.
    pub flush_interval: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            flush_interval: Duration::from_millis(250),
        }
    }
}

const QUEUE_CAPACITY: usize = 100_000;
/// Most rows in one `INSERT` (16 bound values each: well inside SQLite's and PostgreSQL's
/// parameter limits); a larger backlog is written in several.
const MAX_ROWS_PER_INSERT: usize = 1_000;

/// The handle request handlers record into. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AuditSink {
    queue: mpsc::Sender<AuditEntry>,
}

impl AuditSink {
    /// Queues an entry without waiting.
    pub fn record(&self, entry: AuditEntry) {
        if let Err(error) = self.queue.try_send(entry) {
            tracing::error!(%error, "audit queue full or closed: an audit entry was dropped");
        }
    }
}

/// Creates the sink and the writer loop; run the loop as a background worker.
pub fn channel(db: DatabaseConnection, config: WriterConfig) -> (AuditSink, AuditWriter) {
    let (queue, incoming) = mpsc::channel(QUEUE_CAPACITY);
    let config = WriterConfig {
        // Zero would mean a write per entry; a millisecond still batches bursts.
        flush_interval: config.flush_interval.max(Duration::from_millis(1)),
    };
    (
        AuditSink { queue },
        AuditWriter {
            db,
            incoming,
            config,
        },
    )
}

/// The loop that writes queued entries.
#[derive(Debug)]
pub struct AuditWriter {
    db: DatabaseConnection,
    incoming: mpsc::Receiver<AuditEntry>,
    config: WriterConfig,
}

impl AuditWriter {
    /// Writes batches until `stop` is cancelled, then writes everything still queued.
    pub async fn run(mut self, stop: CancellationToken) {
        let mut pending: Vec<AuditEntry> = Vec::new();
        loop {
            // Sleep until an entry arrives (a failed batch is retried without waiting for one).
            if pending.is_empty() {
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    received = self.incoming.recv_many(&mut pending, MAX_ROWS_PER_INSERT) => {
                        if received == 0 {
                            break; // every sink is gone
                        }
                    }
                }
            }
            // Let the burst gather: senders do not wake a writer that is not waiting on them.
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                () = tokio::time::sleep(self.config.flush_interval) => {}
            }
            while let Ok(entry) = self.incoming.try_recv() {
                pending.push(entry);
            }
            self.flush(&mut pending).await;
        }
        // Stopping: take whatever is still queued, then write it all.
        self.incoming.close();
        while let Some(entry) = self.incoming.recv().await {
            pending.push(entry);
        }
        self.flush(&mut pending).await;
        if !pending.is_empty() {
            tracing::error!(
                lost = pending.len(),
                "audit entries could not be written at shutdown"
            );
        }
    }

    async fn flush(&self, pending: &mut Vec<AuditEntry>) {
        while !pending.is_empty() {
            let take = pending.len().min(MAX_ROWS_PER_INSERT);
            if !self.insert(pending, take).await {
                return;
            }
        }
    }

    /// Writes the first `take` entries and removes them; on failure keeps them (bounded) and
    /// answers false.
    async fn insert(&self, pending: &mut Vec<AuditEntry>, take: usize) -> bool {
        let rows: Vec<audit_logs::ActiveModel> = pending[..take].iter().map(row).collect();
        match audit_logs::Entity::insert_many(rows)
            .exec_without_returning(&self.db)
            .await
        {
            Ok(_) => {
                pending.drain(..take);
                true
            }
            Err(error) => {
                tracing::error!(%error, waiting = pending.len(), "writing audit entries failed; will retry");
                if pending.len() > QUEUE_CAPACITY {
                    let excess = pending.len() - QUEUE_CAPACITY;
                    pending.drain(..excess);
                    tracing::error!(
                        dropped = excess,
                        "audit backlog over capacity: oldest entries dropped"
                    );
                }
                false
            }
        }
    }
}

fn row(entry: &AuditEntry) -> audit_logs::ActiveModel {
    audit_logs::ActiveModel {
        id: Set(entry.id),
        tenant_id: Set(entry.tenant_id),
        user_id: Set(entry.user_id),
        api_key_id: Set(entry.api_key_id),
        kind: Set(entry.kind.as_str().into()),
        method: Set(entry.method.clone()),
        route: Set(entry.route.clone()),
        path: Set(entry.path.clone()),
        status: Set(i16::try_from(entry.status).unwrap_or(i16::MAX)),
        success: Set((200..400).contains(&entry.status)),
        duration_ms: Set(i32::try_from(entry.duration_ms).unwrap_or(i32::MAX)),
        client_ip: Set(entry.client_ip.clone()),
        user_agent: Set(entry.user_agent.clone()),
        request_body: Set(entry.request_body.clone()),
        metadata: Set(entry.metadata.clone()),
        created_at: Set(entry.created_at),
    }
}
