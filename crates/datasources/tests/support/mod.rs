//! What the connector tests share: running a query through a connector, and the injection
//! probes every SQL connector must return as literal values.
#![allow(dead_code, clippy::unwrap_used)]

use datasources::Error;
use datasources::connector::{self, ConnectorEnv, QueryOutput};
use datasources::options::OpenOptions;
use serde_json::{Map, Value, json};

/// A JSON object literal as a map.
pub fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap()
}

/// Runs `sql` with `inputs` on a fresh connector for `options`; the SQL result as JSON.
pub async fn run(
    options: &OpenOptions,
    env: &ConnectorEnv,
    sql: &str,
    inputs: Value,
) -> Result<Value, Error> {
    let connector = connector::connect(options, env).await?;
    match connector
        .run(&object(json!({"query": sql})), &object(inputs))
        .await?
    {
        QueryOutput::Sql(result) => Ok(result.to_json()),
        QueryOutput::Document(other) => panic!("rows expected, got {other}"),
    }
}

/// Values that would change data if they were ever statement text: quotes, comments,
/// placeholders, Unicode quotes, and a 1 MB string.
pub fn injection_probes() -> Vec<String> {
    vec![
        "'; DROP TABLE t; --".to_string(),
        "1 OR 1=1".into(),
        "\\'; DROP TABLE t; #".into(),
        "$1".into(),
        "?".into(),
        "\u{2019}; DROP TABLE t; \u{2018}".into(),
        "x".repeat(1 << 20),
    ]
}

/// Inserts every probe into `t (name)` with `INSERT … RETURNING` and checks each comes back as
/// the literal value; the probes inserted.
pub async fn insert_probes(options: &OpenOptions, env: &ConnectorEnv) -> Vec<String> {
    let probes = injection_probes();
    for probe in &probes {
        let out = run(
            options,
            env,
            "INSERT INTO t (name) VALUES ({{inputs.v}}) RETURNING name",
            json!({"v": probe}),
        )
        .await
        .unwrap();
        assert_eq!(out["rows"][0]["name"], probe.as_str());
    }
    probes
}
