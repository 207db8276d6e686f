//! The PostgreSQL bus against the real server: two buses on one database stand for two server
//! processes. Messages cross in both directions, large payloads travel by pointer, and a
//! terminated listening connection comes back and says that messages may have been missed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use change_bus::{ChangeBus, Event, Message, PostgresConfig};
use database::{DatabaseConfig, migrate};
use sqlx::Connection;
use test_support::TestDatabase;
use tokio_util::sync::CancellationToken;

/// Long enough for any real delivery on this machine; a lost message fails the test instead of
/// hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

async fn database() -> Option<TestDatabase> {
    let db = TestDatabase::postgres().await?;
    migrate(&DatabaseConfig::new(&db.url)).await.unwrap();
    Some(db)
}

async fn bus(db: &TestDatabase, name: &str, stop: &CancellationToken) -> ChangeBus {
    let mut config = PostgresConfig::new(&db.url);
    // One channel per test database: tests run in parallel on one server.
    config.channel = channel_of(db);
    config.listener_name = name.to_string();
    config.min_backoff = Duration::from_millis(20);
    let (bus, listener) = ChangeBus::postgres(config).await.unwrap();
    tokio::spawn(listener.run(stop.clone()));
    bus
}

fn channel_of(db: &TestDatabase) -> String {
    let name = db.url.rsplit('/').next().unwrap().replace('-', "_");
    format!("bus_{name}")
}

async fn next(subscription: &mut change_bus::Subscription) -> Event {
    tokio::time::timeout(PATIENCE, subscription.recv())
        .await
        .expect("no event in time")
        .expect("the bus closed")
}

fn message(topic: &str, payload: &str) -> Event {
    Event::Message(Message {
        topic: topic.into(),
        payload: payload.into(),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_processes_in_both_directions() {
    let Some(db) = database().await else { return };
    let stop = CancellationToken::new();
    let a = bus(&db, "bus-a", &stop).await;
    let b = bus(&db, "bus-b", &stop).await;
    let mut on_a = a.subscribe("access").unwrap();
    let mut on_b = b.subscribe("access").unwrap();
    let mut other_topic = b.subscribe("runs").unwrap();

    a.publish("access", r#"{"tenant":"t1"}"#).await.unwrap();
    assert_eq!(
        next(&mut on_b).await,
        message("access", r#"{"tenant":"t1"}"#)
    );
    assert_eq!(
        next(&mut on_a).await,
        message("access", r#"{"tenant":"t1"}"#)
    );
    b.publish("access", "from b").await.unwrap();
    assert_eq!(next(&mut on_a).await, message("access", "from b"));
    assert_eq!(next(&mut on_b).await, message("access", "from b"));
    // The other topic saw none of it.
    b.publish("runs", "r").await.unwrap();
    assert_eq!(next(&mut other_topic).await, message("runs", "r"));
    assert!(a.is_connected() && b.is_connected());
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_over_one_notification_travel_by_pointer() {
    let Some(db) = database().await else { return };
    let stop = CancellationToken::new();
    let a = bus(&db, "bus-a", &stop).await;
    let b = bus(&db, "bus-b", &stop).await;
    let mut on_b = b.subscribe("big").unwrap();
    for size in [7_000, 7_990, 8_000, 100_000] {
        let payload: String = (0..size)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        a.publish("big", &payload).await.unwrap();
        assert_eq!(
            next(&mut on_b).await,
            message("big", &payload),
            "{size} bytes"
        );
    }
    let mut connection = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM change_bus_payloads")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert!(stored >= 1, "the largest payloads went through the table");
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminated_listener_reconnects_and_reports_missed_messages() {
    let Some(db) = database().await else { return };
    let stop = CancellationToken::new();
    let a = bus(&db, "bus-a", &stop).await;
    let name = format!("bus-b-{}", uuid::Uuid::now_v7().simple());
    let b = bus(&db, &name, &stop).await;
    let mut on_b = b.subscribe("access").unwrap();

    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    )
    .bind(&name)
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert_eq!(terminated, vec![true], "B's one listening connection");

    assert_eq!(
        next(&mut on_b).await,
        Event::Missed,
        "B says it may have missed messages"
    );
    assert!(b.is_connected());
    // And it listens again.
    a.publish("access", "after").await.unwrap();
    assert_eq!(next(&mut on_b).await, message("access", "after"));
    stop.cancel();
}
