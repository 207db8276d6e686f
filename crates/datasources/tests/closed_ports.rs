//! A closed port fails at once with a connection error, for every network type, on the
//! connection test and on a run (where pools and reconnecting clients would otherwise retry a
//! refused connection until their time limit).
//!
//! The connect time limit is set to a minute, so a connector that waited for it would answer
//! `Timeout` (after a minute), not `Connection`: the error kind shows the refusal was taken at
//! once, with no timed assertion. The elapsed times are printed (stderr, `--nocapture`) for the reader.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use datasources::Error;
use datasources::connector::{self, ConnectorEnv, RunLimits};
use datasources::options;
use datasources::types::DatasourceType;
use serde_json::{Value, json};
use support::object;

/// A port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn patient_env() -> ConnectorEnv {
    ConnectorEnv {
        limits: RunLimits {
            connect_timeout: Duration::from_secs(60),
            ..RunLimits::default()
        },
        ..ConnectorEnv::default()
    }
}

/// Each network type: its options against `port`, and a query it accepts.
fn cases(port: u16) -> Vec<(DatasourceType, Value, Value)> {
    let url = format!("http://127.0.0.1:{port}");
    vec![
        (
            DatasourceType::Postgresql,
            json!({"host": "127.0.0.1", "port": port, "password": "canary-closed", "sslMode": "disable"}),
            json!({"query": "SELECT 1"}),
        ),
        (
            DatasourceType::Mariadb,
            json!({"host": "127.0.0.1", "port": port, "password": "canary-closed", "sslMode": "disable"}),
            json!({"query": "SELECT 1"}),
        ),
        (
            DatasourceType::Restapi,
            json!({"baseUrl": url}),
            json!({"method": "GET", "path": "/"}),
        ),
        (
            DatasourceType::Graphql,
            json!({"endpoint": format!("{url}/graphql")}),
            json!({"query": "{ __typename }"}),
        ),
        (
            DatasourceType::Redis,
            json!({"host": "127.0.0.1", "port": port, "password": "canary-closed"}),
            json!({"command": "GET", "args": ["k"]}),
        ),
        (
            DatasourceType::Rabbitmq,
            json!({"host": "127.0.0.1", "port": port, "username": "u", "password": "canary-closed"}),
            json!({"exchange": "amq.topic", "routingKey": "k", "body": "x"}),
        ),
        (
            DatasourceType::Mqtt,
            json!({"host": "127.0.0.1", "port": port, "username": "u", "password": "canary-closed"}),
            json!({"topic": "t", "payload": "x"}),
        ),
        (
            DatasourceType::Nats,
            json!({"host": "127.0.0.1", "port": port, "password": "canary-closed", "username": "u"}),
            json!({"subject": "s", "payload": "x"}),
        ),
    ]
}

fn assert_refused(what: &str, outcome: Result<(), Error>, started: Instant) {
    let elapsed = started.elapsed();
    eprintln!("{what}: refused after {elapsed:?}");
    let error = outcome.expect_err(what);
    assert!(
        matches!(error, Error::Connection(_)),
        "{what}: {error:?} (a Timeout means it waited for the connect time limit)"
    );
    assert!(!error.to_string().contains("canary-closed"), "{what}");
}

#[tokio::test]
async fn closed_ports_are_refused_at_once_on_tests_and_runs() {
    let port = closed_port();
    let env = patient_env();
    for (datasource_type, sent, query) in cases(port) {
        let opened = options::prepare(datasource_type, &sent, None).unwrap();
        let checked = datasources::query::check_options(datasource_type, &query).unwrap();
        let live = connector::connect(&opened, &env).await.unwrap();

        let started = Instant::now();
        let tested = live.test().await;
        assert_refused(&format!("{datasource_type:?} test"), tested, started);

        // Twice: the first run finds no pooled connection, the second finds the pool (or the
        // reconnecting client) after a failure.
        for attempt in 1..=2 {
            let started = Instant::now();
            let ran = live
                .run(&checked.options, &object(json!({})))
                .await
                .map(drop);
            assert_refused(&format!("{datasource_type:?} run {attempt}"), ran, started);
        }
    }
}
