//! The PostgreSQL connector against this machine's PostgreSQL: bound inputs, injection probes,
//! the type mapping, the caps, the statement timeout and refused addresses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use datasources::Error;
mod support;

use datasources::connector::{self, ConnectorEnv, RunLimits};
use datasources::options::{self, OpenOptions};
use datasources::types::DatasourceType;
use serde_json::{Value, json};
use support::run;
use test_support::TestDatabase;

fn options(sent: Value) -> OpenOptions {
    options::prepare(DatasourceType::Postgresql, &sent, None).unwrap()
}

async fn target() -> Option<(TestDatabase, OpenOptions)> {
    let db = TestDatabase::postgres().await?;
    let opened = options(json!({"connectionString": db.url, "sslMode": "disable"}));
    Some((db, opened))
}

#[tokio::test]
async fn bound_inputs_stay_values_whatever_they_hold() {
    let Some((_db, opened)) = target().await else {
        return;
    };
    let env = ConnectorEnv::default();
    connector::connect(&opened, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    run(
        &opened,
        &env,
        "CREATE TABLE t (id serial PRIMARY KEY, name text)",
        json!({}),
    )
    .await
    .unwrap();
    let probes = support::insert_probes(&opened, &env).await;
    // NUL cannot be stored in PostgreSQL text: a clear query error, nothing changed.
    let nul = run(
        &opened,
        &env,
        "INSERT INTO t (name) VALUES ({{inputs.v}})",
        json!({"v": "a\u{0}b"}),
    )
    .await;
    assert!(matches!(nul, Err(Error::Query(_))), "{nul:?}");
    let count = run(&opened, &env, "SELECT count(*) AS n FROM t", json!({}))
        .await
        .unwrap();
    assert_eq!(count["rows"][0]["n"], json!(probes.len().to_string()));
    let matched = run(
        &opened,
        &env,
        "SELECT id FROM t WHERE name = {{inputs.v}}",
        json!({"v": "1 OR 1=1"}),
    )
    .await
    .unwrap();
    assert_eq!(matched["rowCount"], 1);
    let written = run(
        &opened,
        &env,
        "UPDATE t SET name = name WHERE id > {{inputs.n}}",
        json!({"n": 2}),
    )
    .await
    .unwrap();
    assert_eq!(written["rowCount"], json!(probes.len() - 2));
}

#[tokio::test]
async fn types_map_to_documented_json() {
    let Some((_db, opened)) = target().await else {
        return;
    };
    let sql = "SELECT true AS b, 7::int4 AS i, 9007199254740993::int8 AS big, \
        12345678901234567890.123456789::numeric AS num, 1.5::float8 AS f, 'x'::text AS s, \
        '7d3f1a4e-0b8e-4c1b-9a0e-2d6c7b5e9f10'::uuid AS u, '{\"a\": [1, 2]}'::jsonb AS j, \
        '\\x0102'::bytea AS bin, '2026-12-04 10:00:00+02'::timestamptz AS ts, \
        '2026-12-04'::date AS d, ARRAY['a', NULL] AS arr, NULL::int AS nothing, \
        {{inputs.k}}::uuid AS bound";
    let out = run(
        &opened,
        &ConnectorEnv::default(),
        sql,
        json!({"k": "7d3f1a4e-0b8e-4c1b-9a0e-2d6c7b5e9f10"}),
    )
    .await
    .unwrap();
    let row = &out["rows"][0];
    assert_eq!(row["b"], true);
    assert_eq!(row["i"], 7);
    assert_eq!(row["big"], "9007199254740993");
    assert_eq!(row["num"], "12345678901234567890.123456789");
    assert_eq!(row["f"], 1.5);
    assert_eq!(row["s"], "x");
    assert_eq!(row["u"], "7d3f1a4e-0b8e-4c1b-9a0e-2d6c7b5e9f10");
    assert_eq!(row["j"], json!({"a": [1, 2]}));
    assert_eq!(row["bin"], "AQI=");
    assert_eq!(row["ts"], "2026-12-04T08:00:00Z");
    assert_eq!(row["d"], "2026-12-04");
    assert_eq!(row["arr"], json!(["a", null]));
    assert_eq!(row["nothing"], Value::Null);
    assert_eq!(row["bound"], row["u"]);
    assert_eq!(out["columns"][2], json!({"name": "big", "type": "INT8"}));
}

#[tokio::test]
async fn caps_and_timeouts_hold() {
    let Some((_db, opened)) = target().await else {
        return;
    };
    let env = ConnectorEnv {
        limits: RunLimits {
            max_rows: 100,
            statement_timeout: Duration::from_millis(300),
            ..RunLimits::default()
        },
        ..ConnectorEnv::default()
    };
    let capped = run(
        &opened,
        &env,
        "SELECT generate_series(1, 1000) AS n",
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(capped["rows"].as_array().unwrap().len(), 100);
    assert_eq!(capped["truncated"], true);
    let slow = run(&opened, &env, "SELECT pg_sleep(5)", json!({})).await;
    assert!(matches!(slow, Err(Error::Timeout(_))), "{slow:?}");
}

/// Closed ports of every network type: `closed_ports.rs`.
#[tokio::test]
async fn metadata_addresses_are_refused() {
    let env = ConnectorEnv::default();
    for host in ["169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254"] {
        let metadata = options(json!({"host": host}));
        let refused = connector::connect(&metadata, &env).await.unwrap_err();
        assert!(
            matches!(refused, Error::NetworkDenied(_)),
            "{host}: {refused:?}"
        );
    }
    let url = options(json!({"connectionString": "postgres://u:canary-url@169.254.169.254/db"}));
    let refused = connector::connect(&url, &env).await.unwrap_err();
    assert!(matches!(refused, Error::NetworkDenied(_)));
    assert!(!refused.to_string().contains("canary-url"));
}
