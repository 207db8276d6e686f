//! The MySQL connector against this machine's MariaDB (127.0.0.1:3306, root without a
//! password): bound inputs, injection probes, the type mapping, the caps, the statement time
//! limit and a wrong password whose text appears in no error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use datasources::Error;
mod support;

use datasources::connector::{self, ConnectorEnv, RunLimits};
use datasources::options::{self, OpenOptions};
use datasources::types::DatasourceType;
use serde_json::{Value, json};
use support::run;

fn options(sent: Value) -> OpenOptions {
    options::prepare(DatasourceType::Mariadb, &sent, None).unwrap()
}

/// A fresh database on the local MariaDB, dropped when the guard goes.
struct Scratch {
    name: String,
    options: OpenOptions,
}

impl Scratch {
    async fn new() -> Option<Self> {
        test_support::services::service("MariaDB", "127.0.0.1:3306")?;
        let name = format!("jet_ds_{}", uuid::Uuid::new_v4().simple());
        let server = options(
            json!({"host": "127.0.0.1", "port": 3306, "user": "root", "sslMode": "disable"}),
        );
        run(
            &server,
            &ConnectorEnv::default(),
            &format!("CREATE DATABASE {name}"),
            json!({}),
        )
        .await
        .expect("the local MariaDB at 127.0.0.1:3306 (root, no password) must answer");
        let options = options(
            json!({"host": "127.0.0.1", "port": 3306, "user": "root", "database": name, "sslMode": "disable"}),
        );
        Some(Scratch { name, options })
    }

    async fn drop_database(self) {
        run(
            &self.options,
            &ConnectorEnv::default(),
            &format!("DROP DATABASE {}", self.name),
            json!({}),
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn bound_inputs_stay_values_whatever_they_hold() {
    let Some(scratch) = Scratch::new().await else {
        return;
    };
    let (opened, env) = (&scratch.options, ConnectorEnv::default());
    connector::connect(opened, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    run(
        opened,
        &env,
        "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, name LONGTEXT)",
        json!({}),
    )
    .await
    .unwrap();
    let mut probes = support::injection_probes();
    // MariaDB keeps NUL in text (PostgreSQL refuses it: its own test).
    probes.push("a\u{0}b".into());
    for probe in &probes {
        run(
            opened,
            &env,
            "INSERT INTO t (name) VALUES ({{inputs.v}})",
            json!({"v": probe}),
        )
        .await
        .unwrap();
        let back = run(
            opened,
            &env,
            "SELECT name FROM t WHERE name = {{inputs.v}}",
            json!({"v": probe}),
        )
        .await
        .unwrap();
        assert_eq!(back["rows"][0]["name"], probe.as_str());
    }
    let count = run(opened, &env, "SELECT COUNT(*) AS n FROM t", json!({}))
        .await
        .unwrap();
    assert_eq!(count["rows"][0]["n"], json!(probes.len().to_string()));
    let updated = run(
        opened,
        &env,
        "UPDATE t SET name = 'z' WHERE id > {{inputs.n}}",
        json!({"n": 2}),
    )
    .await
    .unwrap();
    assert_eq!(updated["rowCount"], json!(probes.len() - 2));
    scratch.drop_database().await;
}

#[tokio::test]
async fn types_caps_and_time_limits() {
    let Some(scratch) = Scratch::new().await else {
        return;
    };
    let env = ConnectorEnv {
        limits: RunLimits {
            max_rows: 50,
            statement_timeout: Duration::from_millis(500),
            ..RunLimits::default()
        },
        ..ConnectorEnv::default()
    };
    let opened = &scratch.options;
    let sql = "SELECT CAST(7 AS SIGNED) + 0 AS i, 9007199254740993 AS big, CAST(12345678901234567890.1234 AS DECIMAL(30,4)) AS num, \
        1.5e0 AS f, 'x' AS s, CAST('2026-12-04 10:00:00' AS DATETIME) AS dt, CAST('2026-12-04' AS DATE) AS d, \
        X'0102' AS bin, NULL AS nothing, {{inputs.v}} AS bound";
    let out = run(opened, &env, sql, json!({"v": "kept"})).await.unwrap();
    let row = &out["rows"][0];
    assert_eq!(row["big"], "9007199254740993");
    assert_eq!(row["num"], "12345678901234567890.1234");
    assert_eq!(row["f"], 1.5);
    assert_eq!(row["s"], "x");
    assert_eq!(row["dt"], "2026-12-04T10:00:00");
    assert_eq!(row["d"], "2026-12-04");
    assert_eq!(row["bin"], "AQI=");
    assert_eq!(row["nothing"], Value::Null);
    assert_eq!(row["bound"], "kept");
    assert!(row["i"].is_string() || row["i"].is_number(), "{row}");

    let capped = run(opened, &env, "SELECT seq FROM seq_1_to_1000", json!({}))
        .await
        .unwrap();
    assert_eq!(capped["rows"].as_array().unwrap().len(), 50);
    assert_eq!(capped["truncated"], true);
    let slow = run(
        opened,
        &env,
        "SELECT SUM(a.seq) AS s FROM seq_1_to_100000 a, seq_1_to_100000 b",
        json!({}),
    )
    .await;
    assert!(matches!(slow, Err(Error::Timeout(_))), "{slow:?}");
    scratch.drop_database().await;
}

#[tokio::test]
async fn a_wrong_password_fails_without_showing_it() {
    if test_support::services::service("MariaDB", "127.0.0.1:3306").is_none() {
        return;
    }
    let env = ConnectorEnv::default();
    let wrong = options(
        json!({"host": "127.0.0.1", "port": 3306, "user": "root", "password": "canary-Wr0ng-pw", "sslMode": "disable"}),
    );
    let error = connector::connect(&wrong, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Connection(_) | Error::Query(_)),
        "{error:?}"
    );
    assert!(!format!("{error} {error:?}").contains("canary-Wr0ng-pw"));
    let refused = connector::connect(&options(json!({"host": "::ffff:169.254.169.254"})), &env)
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::NetworkDenied(_)));
}
