//! The PostgreSQL backend: `NOTIFY` on one channel, one `LISTEN`ing connection per process.
//!
//! A notification carries `{"t": topic, "p": payload}`; when that would exceed what one
//! notification may carry (under 8,000 bytes), the payload is stored in `change_bus_payloads`
//! and the notification carries `{"t": topic, "r": id}` instead; every receiver loads the row.
//! Stored rows older than the retention are pruned whenever a new one is stored.
//!
//! The listener reconnects with exponential backoff after any failure (a restarted server, a
//! terminated backend, a network cut) and then sends [`Event::Missed`](crate::Event::Missed)
//! to every subscriber, because notifications sent while it was away are gone for good.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPool, PgPoolOptions};
use tokio_util::sync::CancellationToken;

use crate::{Error, Fanout, Message};

/// Largest notification text PostgreSQL accepts is 7,999 bytes.
const MAX_NOTIFICATION_BYTES: usize = 7_999;

/// Where and how the PostgreSQL bus runs.
#[derive(Debug, Clone)]
pub struct PostgresConfig {
    /// The platform database's URL (the overflow table lives there).
    pub url: String,
    /// The notification channel (one per deployment; every process must use the same).
    pub channel: String,
    /// `application_name` of the listening connection, so operators (and tests) can find it in
    /// `pg_stat_activity`.
    pub listener_name: String,
    /// First wait before reconnecting; doubled after each failure up to `max_backoff`.
    pub min_backoff: Duration,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// How long stored large payloads are kept for slow receivers.
    pub overflow_retention: Duration,
}

impl PostgresConfig {
    /// The defaults for the database at `url`: channel `jet_change_bus`, backoff 100 ms to
    /// 10 s, large payloads kept 10 minutes.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            channel: "jet_change_bus".into(),
            listener_name: "jet-change-bus".into(),
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(10),
            overflow_retention: Duration::from_secs(600),
        }
    }
}

/// One notification's text.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope {
    /// Topic.
    t: String,
    /// Payload, when it fits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    p: Option<String>,
    /// Id of the stored payload, when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<String>,
}

/// Sends notifications (and stores large payloads).
#[derive(Debug)]
pub(crate) struct Publisher {
    pool: PgPool,
    channel: String,
    retention_secs: f64,
}

impl Publisher {
    pub(crate) async fn publish(&self, topic: &str, payload: &str) -> Result<(), Error> {
        let inline = serde_json::to_string(&Envelope {
            t: topic.to_string(),
            p: Some(payload.to_string()),
            r: None,
        })
        .map_err(|e| Error::Database(sqlx::Error::Encode(Box::new(e))))?;
        let text = if inline.len() <= MAX_NOTIFICATION_BYTES {
            inline
        } else {
            let id = uuid::Uuid::now_v7().to_string();
            sqlx::query(
                "INSERT INTO change_bus_payloads (id, topic, payload, created_at) \
                 VALUES ($1::uuid, $2, $3, now())",
            )
            .bind(&id)
            .bind(topic)
            .bind(payload)
            .execute(&self.pool)
            .await?;
            sqlx::query(
                "DELETE FROM change_bus_payloads \
                 WHERE created_at < now() - make_interval(secs => $1)",
            )
            .bind(self.retention_secs)
            .execute(&self.pool)
            .await?;
            serde_json::to_string(&Envelope {
                t: topic.to_string(),
                p: None,
                r: Some(id),
            })
            .map_err(|e| Error::Database(sqlx::Error::Encode(Box::new(e))))?
        };
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(text)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Connects the publisher and the listener.
pub(crate) async fn connect(
    config: PostgresConfig,
    fanout: Arc<Fanout>,
) -> Result<(Publisher, Listening), Error> {
    let options = PgConnectOptions::from_str(&config.url)?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(options.clone().application_name("jet-change-bus-publisher"))
        .await?;
    let listener = connect_listener(&options, &config).await?;
    fanout.connected.store(true, Ordering::Relaxed);
    let publisher = Publisher {
        pool: pool.clone(),
        channel: config.channel.clone(),
        retention_secs: config.overflow_retention.as_secs_f64(),
    };
    let listening = Listening {
        listener,
        options,
        config,
        pool,
        fanout,
    };
    Ok((publisher, listening))
}

/// The listening connection and what it needs to reconnect and deliver.
pub(crate) struct Listening {
    listener: PgListener,
    options: PgConnectOptions,
    config: PostgresConfig,
    pool: PgPool,
    fanout: Arc<Fanout>,
}

impl std::fmt::Debug for Listening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listening")
            .field("channel", &self.config.channel)
            .finish_non_exhaustive()
    }
}

impl Listening {
    pub(crate) async fn run(self, stop: CancellationToken) {
        let Listening {
            listener,
            options,
            config,
            pool,
            fanout,
        } = self;
        listen(listener, options, config, pool, fanout, stop).await;
    }
}

async fn connect_listener(
    options: &PgConnectOptions,
    config: &PostgresConfig,
) -> Result<PgListener, Error> {
    // A pool of one connection without timeouts: the listener's own reconnection is disabled
    // (we recreate it), so the pool only carries the options.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .max_lifetime(None)
        .idle_timeout(None)
        .connect_with(options.clone().application_name(&config.listener_name))
        .await?;
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.eager_reconnect(false);
    listener.listen(&config.channel).await?;
    Ok(listener)
}

async fn listen(
    first: PgListener,
    options: PgConnectOptions,
    config: PostgresConfig,
    pool: PgPool,
    fanout: Arc<Fanout>,
    stop: CancellationToken,
) {
    let mut listener = Some(first);
    loop {
        if let Some(active) = listener.as_mut() {
            let received = tokio::select! {
                _ = stop.cancelled() => return,
                received = active.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => deliver(notification.payload(), &pool, &fanout).await,
                Ok(None) => {
                    tracing::warn!("change bus: the listening connection was lost; reconnecting");
                    listener = None;
                }
                Err(error) => {
                    tracing::warn!(%error, "change bus: the listening connection failed; reconnecting");
                    listener = None;
                }
            }
            continue;
        }
        fanout.connected.store(false, Ordering::Relaxed);
        let mut backoff = config.min_backoff;
        listener = loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            match connect_listener(&options, &config).await {
                Ok(reconnected) => break Some(reconnected),
                Err(error) => {
                    tracing::warn!(%error, retry_in_ms = backoff.as_millis() as u64,
                        "change bus: cannot reconnect yet");
                    backoff = (backoff * 2).min(config.max_backoff);
                }
            }
        };
        fanout.connected.store(true, Ordering::Relaxed);
        tracing::info!("change bus: reconnected; subscribers resynchronise");
        fanout.missed_everything();
    }
}

/// Hands one notification to the local subscribers of its topic.
async fn deliver(text: &str, pool: &PgPool, fanout: &Fanout) {
    let Ok(envelope) = serde_json::from_str::<Envelope>(text) else {
        tracing::warn!("change bus: ignored a notification that is not an envelope");
        return;
    };
    let payload = match (envelope.p, envelope.r) {
        (Some(payload), _) => payload,
        (None, Some(id)) => {
            let stored = sqlx::query_scalar::<_, String>(
                "SELECT payload FROM change_bus_payloads WHERE id = $1::uuid",
            )
            .bind(&id)
            .fetch_optional(pool)
            .await;
            match stored {
                Ok(Some(payload)) => payload,
                other => {
                    tracing::warn!(topic = %envelope.t, ?other, "change bus: a stored payload is gone");
                    fanout.missed(&envelope.t);
                    return;
                }
            }
        }
        (None, None) => String::new(),
    };
    fanout.deliver(Message {
        topic: envelope.t,
        payload,
    });
}
