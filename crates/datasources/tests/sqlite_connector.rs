//! The SQLite connector on files under a directory of the test's: the path rules, bound inputs,
//! storage-class mapping, the caps and the time limit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use datasources::Error;
use datasources::connector::{self, ConnectorEnv, RunLimits};
use datasources::options::{self, OpenOptions};
use datasources::types::DatasourceType;
use serde_json::{Value, json};
use support::run;

fn options(path: &str) -> OpenOptions {
    options::prepare(DatasourceType::Sqlite, &json!({"path": path}), None).unwrap()
}

struct Dir {
    root: tempfile::TempDir,
    env: ConnectorEnv,
}

fn dir() -> Dir {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("datasources");
    std::fs::create_dir(&data).unwrap();
    std::fs::File::create(data.join("app.db")).unwrap();
    let platform = data.join("jet.db");
    std::fs::File::create(&platform).unwrap();
    let env = ConnectorEnv {
        sqlite_dir: data,
        platform_database: Some(platform),
        ..ConnectorEnv::default()
    };
    Dir { root, env }
}

#[tokio::test]
async fn paths_outside_the_directory_are_refused() {
    let dir = dir();
    std::fs::File::create(dir.root.path().join("outside.db")).unwrap();
    std::os::unix::fs::symlink(
        dir.root.path().join("outside.db"),
        dir.env.sqlite_dir.join("link.db"),
    )
    .unwrap();
    for path in [
        "../outside.db",
        "/etc/passwd",
        "link.db",
        "missing.db",
        "jet.db",
        "./../outside.db",
    ] {
        let refused = connector::connect(&options(path), &dir.env)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::Invalid { .. }),
            "{path}: {refused:?}"
        );
    }
    let unconfigured = connector::connect(&options("app.db"), &ConnectorEnv::default())
        .await
        .unwrap_err();
    assert!(matches!(unconfigured, Error::Unsupported(_)));
    connector::connect(&options("./app.db"), &dir.env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
}

#[tokio::test]
async fn bound_inputs_types_caps_and_time_limit() {
    let mut dir = dir();
    dir.env.limits = RunLimits {
        max_rows: 20,
        statement_timeout: Duration::from_millis(300),
        ..RunLimits::default()
    };
    let (opened, env) = (options("app.db"), &dir.env);
    run(
        &opened,
        env,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)",
        json!({}),
    )
    .await
    .unwrap();
    let probes = support::insert_probes(&opened, env).await;
    let count = run(&opened, env, "SELECT count(*) AS n FROM t", json!({}))
        .await
        .unwrap();
    assert_eq!(count["rows"][0]["n"], json!(probes.len()));

    let types = run(&opened, env, "SELECT 1 AS i, 9007199254740993 AS big, 1.5 AS f, 'x' AS s, x'0102' AS b, NULL AS n, {{inputs.v}} AS bound", json!({"v": true}))
        .await
        .unwrap();
    assert_eq!(
        types["rows"][0],
        json!({"i": 1, "big": "9007199254740993", "f": 1.5, "s": "x", "b": "AQI=", "n": Value::Null, "bound": 1})
    );
    let capped = run(&opened, env, "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT x FROM c", json!({}))
        .await
        .unwrap();
    assert_eq!(
        (
            capped["rows"].as_array().unwrap().len(),
            &capped["truncated"]
        ),
        (20, &json!(true))
    );
    let endless = run(
        &opened,
        env,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        json!({}),
    )
    .await;
    assert!(matches!(endless, Err(Error::Timeout(_))), "{endless:?}");
    // The connection is usable again after the interrupt.
    let after = run(&opened, env, "SELECT count(*) AS n FROM t", json!({}))
        .await
        .unwrap();
    assert_eq!(after["rows"][0]["n"], json!(probes.len()));
}
