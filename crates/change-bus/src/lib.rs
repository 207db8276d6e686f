//! The change bus: named topics that reach every server process of one deployment.
//!
//! `publish(topic, payload)` and `subscribe(topic)`. Two backends, one contract:
//! - **in-process** (the embedded SQLite default, one process): a broadcast channel per topic;
//! - **PostgreSQL** (several processes): `NOTIFY` on one channel, and one `LISTEN`ing connection
//!   per process that fans notifications out to the local subscribers. The listener reconnects
//!   with exponential backoff; a payload too large for one notification (8,000 bytes) is stored
//!   in `change_bus_payloads` and the notification carries its id ([`postgres`]).
//!
//! Delivery is at most once and best effort: a subscriber gets [`Event::Missed`] whenever
//! messages may have been lost (the listener reconnected, or the subscriber fell behind its
//! buffer), and must then resynchronise from the database (a cache flushes everything). So the
//! bus is a fast path for freshness, never the record of truth: consumers keep a bound (a cache
//! TTL, a polling floor) for when it is down.

mod postgres;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::broadcast;

pub use postgres::PostgresConfig;

/// Messages a subscriber may fall behind by before it is told it missed some.
const SUBSCRIBER_BUFFER: usize = 1024;

/// Longest topic name, in bytes.
pub const MAX_TOPIC_BYTES: usize = 200;

/// Largest payload the bus carries (larger ones go through the database in pieces of work, not
/// through the bus).
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Errors of the change bus.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The topic is empty, too long or not printable ASCII.
    #[error("invalid topic `{0}`")]
    InvalidTopic(String),
    /// The payload is over [`MAX_PAYLOAD_BYTES`].
    #[error("payload of {0} bytes is over the bus's limit")]
    PayloadTooLarge(usize),
    /// PostgreSQL failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A published message.
    Message(Message),
    /// Messages may have been lost since the last event: resynchronise.
    Missed,
}

/// A published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Its topic.
    pub topic: String,
    /// Its payload (JSON by convention).
    pub payload: String,
}

/// A handle on the bus; clones share it.
#[derive(Debug, Clone)]
pub struct ChangeBus {
    shared: Arc<Shared>,
}

/// Subscribers by topic, shared by the handles and the PostgreSQL listener.
#[derive(Debug, Default)]
struct Fanout {
    topics: Mutex<HashMap<String, broadcast::Sender<Event>>>,
    /// Whether messages from other processes are arriving (always true in-process).
    connected: AtomicBool,
}

#[derive(Debug)]
struct Shared {
    fanout: Arc<Fanout>,
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    InProcess,
    Postgres(postgres::Publisher),
}

impl Fanout {
    fn sender(&self, topic: &str) -> broadcast::Sender<Event> {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        topics
            .entry(topic.to_string())
            .or_insert_with(|| broadcast::channel(SUBSCRIBER_BUFFER).0)
            .clone()
    }

    fn deliver(&self, message: Message) {
        let sender = {
            let topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
            topics.get(&message.topic).cloned()
        };
        if let Some(sender) = sender {
            // No receiver left is not an error: nobody here cares about the topic any more.
            let _ = sender.send(Event::Message(message));
        }
    }

    /// Tells the subscribers of `topic` they may have missed messages.
    fn missed(&self, topic: &str) {
        let sender = {
            let topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
            topics.get(topic).cloned()
        };
        if let Some(sender) = sender {
            let _ = sender.send(Event::Missed);
        }
    }

    /// Tells every subscriber it may have missed messages.
    fn missed_everything(&self) {
        let senders: Vec<broadcast::Sender<Event>> = {
            let topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
            topics.values().cloned().collect()
        };
        for sender in senders {
            let _ = sender.send(Event::Missed);
        }
    }
}

impl ChangeBus {
    /// A bus within this process (the embedded default).
    pub fn in_process() -> Self {
        let fanout = Arc::new(Fanout::default());
        fanout.connected.store(true, Ordering::Relaxed);
        ChangeBus {
            shared: Arc::new(Shared {
                fanout,
                backend: Backend::InProcess,
            }),
        }
    }

    /// A bus across every process on the PostgreSQL database of `config`, once its listener
    /// is connected. The returned [`Listener`] must be run (spawned) for messages from other
    /// processes to arrive; it reconnects by itself until stopped.
    pub async fn postgres(config: PostgresConfig) -> Result<(Self, Listener), Error> {
        let fanout = Arc::new(Fanout::default());
        let (publisher, listener) = postgres::connect(config, Arc::clone(&fanout)).await?;
        let bus = ChangeBus {
            shared: Arc::new(Shared {
                fanout,
                backend: Backend::Postgres(publisher),
            }),
        };
        Ok((bus, Listener(listener)))
    }

    /// Sends `payload` to every subscriber of `topic` in every process (this one included).
    pub async fn publish(&self, topic: &str, payload: &str) -> Result<(), Error> {
        check_topic(topic)?;
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Error::PayloadTooLarge(payload.len()));
        }
        match &self.shared.backend {
            Backend::InProcess => {
                self.shared.fanout.deliver(Message {
                    topic: topic.to_string(),
                    payload: payload.to_string(),
                });
                Ok(())
            }
            Backend::Postgres(publisher) => publisher.publish(topic, payload).await,
        }
    }

    /// The messages of `topic` published from now on, and [`Event::Missed`] when some may have
    /// been lost.
    pub fn subscribe(&self, topic: &str) -> Result<Subscription, Error> {
        check_topic(topic)?;
        Ok(Subscription {
            receiver: self.shared.fanout.sender(topic).subscribe(),
        })
    }

    /// Whether messages from other processes are arriving now (false while the PostgreSQL
    /// listener reconnects): consumers fall back to their own bounds meanwhile.
    pub fn is_connected(&self) -> bool {
        self.shared.fanout.connected.load(Ordering::Relaxed)
    }
}

/// The PostgreSQL bus's listening side (see [`ChangeBus::postgres`]).
#[derive(Debug)]
pub struct Listener(postgres::Listening);

impl Listener {
    /// Receives and fans out notifications until `stop` is cancelled.
    pub async fn run(self, stop: tokio_util::sync::CancellationToken) {
        self.0.run(stop).await;
    }
}

/// One subscriber's stream.
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Event>,
}

impl Subscription {
    /// The next event; `None` once the bus is gone.
    pub async fn recv(&mut self) -> Option<Event> {
        match self.receiver.recv().await {
            Ok(event) => Some(event),
            Err(broadcast::error::RecvError::Lagged(_)) => Some(Event::Missed),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

fn check_topic(topic: &str) -> Result<(), Error> {
    let printable = topic.bytes().all(|b| b.is_ascii_graphic());
    if topic.is_empty() || topic.len() > MAX_TOPIC_BYTES || !printable {
        return Err(Error::InvalidTopic(topic.chars().take(64).collect()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_process_messages_reach_every_subscriber_of_their_topic_only() {
        let bus = ChangeBus::in_process();
        let mut a = bus.subscribe("access").unwrap();
        let mut b = bus.subscribe("access").unwrap();
        let mut other = bus.subscribe("runs").unwrap();
        bus.publish("access", "{\"tenant\":1}").await.unwrap();
        bus.publish("runs", "r").await.unwrap();
        let expected = Event::Message(Message {
            topic: "access".into(),
            payload: "{\"tenant\":1}".into(),
        });
        assert_eq!(a.recv().await, Some(expected.clone()));
        assert_eq!(b.recv().await, Some(expected));
        assert_eq!(
            other.recv().await,
            Some(Event::Message(Message {
                topic: "runs".into(),
                payload: "r".into()
            }))
        );
        assert!(bus.is_connected());
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_told_it_missed_messages() {
        let bus = ChangeBus::in_process();
        let mut slow = bus.subscribe("t").unwrap();
        for i in 0..(SUBSCRIBER_BUFFER + 5) {
            bus.publish("t", &i.to_string()).await.unwrap();
        }
        assert_eq!(slow.recv().await, Some(Event::Missed));
        assert!(matches!(slow.recv().await, Some(Event::Message(_))));
    }

    #[tokio::test]
    async fn topics_and_payloads_are_checked() {
        let bus = ChangeBus::in_process();
        for topic in ["", "with space", "ü", &"x".repeat(MAX_TOPIC_BYTES + 1)] {
            assert!(matches!(
                bus.publish(topic, "p").await,
                Err(Error::InvalidTopic(_))
            ));
            assert!(bus.subscribe(topic).is_err());
        }
        let big = "x".repeat(MAX_PAYLOAD_BYTES + 1);
        assert!(matches!(
            bus.publish("t", &big).await,
            Err(Error::PayloadTooLarge(_))
        ));
    }
}
