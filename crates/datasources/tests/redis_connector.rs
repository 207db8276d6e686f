//! The Redis connector against this machine's Redis: allow-listed commands with bound
//! arguments, reply mapping, the cap, and connection failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use datasources::Error;
use datasources::connector::{self, ConnectorEnv, QueryOutput, RunLimits};
use datasources::options::{self, OpenOptions};
use datasources::types::DatasourceType;
use serde_json::{Value, json};
use support::object;
use uuid::Uuid;

fn redis(extra: Value) -> OpenOptions {
    let mut sent = json!({"host": "127.0.0.1", "port": 6379});
    for (k, v) in extra.as_object().unwrap() {
        sent[k] = v.clone();
    }
    options::prepare(DatasourceType::Redis, &sent, None).unwrap()
}

async fn run(
    options: &OpenOptions,
    env: &ConnectorEnv,
    query: Value,
    inputs: Value,
) -> Result<Value, Error> {
    let checked = datasources::query::check_options(DatasourceType::Redis, &query)?;
    let resolved = datasources::inputs::resolve(&checked.inputs, &object(inputs))?;
    match connector::connect(options, env)
        .await?
        .run(&checked.options, &resolved)
        .await?
    {
        QueryOutput::Document(document) => Ok(document["result"].clone()),
        QueryOutput::Sql(rows) => panic!("{rows:?}"),
    }
}

#[tokio::test]
async fn commands_run_with_bound_arguments() {
    if test_support::services::service("Redis", "127.0.0.1:6379").is_none() {
        return;
    }
    let env = ConnectorEnv::default();
    let options = redis(json!({}));
    connector::connect(&options, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    let key = format!("jet-test:{}", Uuid::now_v7().simple());
    let inputs = json!([{"key": "k"}, {"key": "v"}]);
    let probe = "x\r\nFLUSHALL\r\n*1\r\n$8\r\nFLUSHALL\r\n";
    let set = run(
        &options,
        &env,
        json!({"command": "SET", "args": ["{{inputs.k}}", "{{inputs.v}}", "EX", 60], "inputDefinitions": inputs}),
        json!({"k": key, "v": probe}),
    )
    .await
    .unwrap();
    assert_eq!(set, "OK");
    let got = run(
        &options,
        &env,
        json!({"command": "GET", "args": ["{{inputs.k}}"], "inputDefinitions": [{"key": "k"}]}),
        json!({"k": key}),
    )
    .await
    .unwrap();
    assert_eq!(got, probe, "the value came back literally, as one argument");
    let ttl = run(
        &options,
        &env,
        json!({"command": "TTL", "args": [key]}),
        json!({}),
    )
    .await
    .unwrap();
    assert!(ttl.as_i64().unwrap() > 0);

    let hash = format!("{key}:h");
    run(
        &options,
        &env,
        json!({"command": "HSET", "args": [hash, "a", 1, "b", "two"]}),
        json!({}),
    )
    .await
    .unwrap();
    let all = run(
        &options,
        &env,
        json!({"command": "HGETALL", "args": [hash]}),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(all, json!({"a": "1", "b": "two"}));

    let list = format!("{key}:l");
    let values: Vec<i64> = (0..20).collect();
    let mut args = vec![json!(list)];
    args.extend(values.iter().map(|v| json!(v)));
    run(
        &options,
        &env,
        json!({"command": "RPUSH", "args": args}),
        json!({}),
    )
    .await
    .unwrap();
    let capped = ConnectorEnv {
        limits: RunLimits {
            max_rows: 5,
            ..RunLimits::default()
        },
        ..ConnectorEnv::default()
    };
    let checked = datasources::query::check_options(
        DatasourceType::Redis,
        &json!({"command": "LRANGE", "args": [list, 0, -1]}),
    )
    .unwrap();
    let QueryOutput::Document(doc) = connector::connect(&options, &capped)
        .await
        .unwrap()
        .run(&checked.options, &serde_json::Map::new())
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(doc["truncated"], true);
    assert_eq!(doc["result"], json!(["0", "1", "2", "3", "4"]));

    let stream = format!("{key}:s");
    run(
        &options,
        &env,
        json!({"command": "XADD", "args": [stream, "*", "f", "v"]}),
        json!({}),
    )
    .await
    .unwrap();
    let entries = run(
        &options,
        &env,
        json!({"command": "XRANGE", "args": [stream, "-", "+"]}),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(entries[0][1], json!(["f", "v"]));
    let published = run(
        &options,
        &env,
        json!({"command": "PUBLISH", "args": ["jet-test", "hi"]}),
        json!({}),
    )
    .await
    .unwrap();
    assert!(published.is_i64());
    run(
        &options,
        &env,
        json!({"command": "DEL", "args": [key, hash, list, stream]}),
        json!({}),
    )
    .await
    .unwrap();

    for refused in ["FLUSHALL", "KEYS", "EVAL", "CONFIG", "get"] {
        let error =
            datasources::query::check_options(DatasourceType::Redis, &json!({"command": refused}))
                .unwrap_err();
        assert!(
            matches!(error, Error::Invalid { .. }),
            "{refused}: {error:?}"
        );
    }
    let wrong_type = run(
        &options,
        &env,
        json!({"command": "INCR", "args": ["{{inputs.k}}"],
        "inputDefinitions": [{"key": "k"}]}),
        json!({"k": format!("{key}:missing-then-text")}),
    )
    .await
    .unwrap();
    assert_eq!(wrong_type, 1);
    run(
        &options,
        &env,
        json!({"command": "DEL", "args": [format!("{key}:missing-then-text")]}),
        json!({}),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn connection_failures_are_clear_and_scrubbed() {
    if test_support::services::service("Redis", "127.0.0.1:6379").is_none() {
        return;
    }
    let env = ConnectorEnv::default();
    let closed = redis(json!({"port": 1}));
    let refused = connector::connect(&closed, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Connection(_)), "{refused:?}");
    let canary = "canary-redis-Pa55";
    // This Redis lets the default user in with any password: an unknown user is refused.
    let wrong = redis(json!({"username": "nobody", "password": canary}));
    let refused = connector::connect(&wrong, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Connection(_)), "{refused:?}");
    assert!(!refused.to_string().contains(canary), "{refused}");
    let metadata = redis(json!({"host": "169.254.169.254"}));
    let denied = connector::connect(&metadata, &env).await.unwrap_err();
    assert!(matches!(denied, Error::NetworkDenied(_)), "{denied:?}");
}
