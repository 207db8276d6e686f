//! The REST and GraphQL connectors against a local HTTP server (actix-web on a free port):
//! authentication, headers, encoded inputs, typed JSON bodies, GraphQL variables, the byte cap,
//! the time limit, and the network policy on addresses and redirects.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use datasources::Error;
use datasources::connector::{self, ConnectorEnv, QueryOutput, RunLimits};
use datasources::options::{self, OpenOptions};
use datasources::types::DatasourceType;
use serde_json::{Value, json};
use support::object;

async fn echo(req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or("?"))))
        .collect();
    HttpResponse::Ok().json(json!({
        "method": req.method().as_str(),
        "path": req.uri().path(),
        "query": req.uri().query(),
        "headers": headers,
        "body": String::from_utf8_lossy(&body),
    }))
}

async fn redirect(req: HttpRequest) -> HttpResponse {
    let to = req
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("to="))
        .unwrap_or("/echo/")
        .replace("%3A", ":")
        .replace("%2F", "/")
        .replace("%3F", "?")
        .replace("%3D", "=");
    HttpResponse::Found()
        .insert_header(("location", to))
        .finish()
}

async fn status(path: web::Path<u16>) -> HttpResponse {
    let code = actix_web::http::StatusCode::from_u16(path.into_inner()).unwrap();
    HttpResponse::build(code).body("not here")
}

async fn big() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body("x".repeat(2 << 20))
}

async fn slow() -> HttpResponse {
    tokio::time::sleep(Duration::from_secs(5)).await;
    HttpResponse::Ok().finish()
}

async fn graphql(body: web::Json<Value>) -> HttpResponse {
    let query = body["query"].as_str().unwrap_or_default();
    if query.contains("__typename") {
        return HttpResponse::Ok().json(json!({"data": {"__typename": "Query"}}));
    }
    if query.contains("fail") {
        return HttpResponse::Ok().json(json!({"errors": [{"message": "boom"}]}));
    }
    HttpResponse::Ok().json(
        json!({"data": {"query": query, "variables": body["variables"],
        "operationName": body["operationName"]}}),
    )
}

/// Starts the server; its base URL.
async fn server() -> String {
    let server = HttpServer::new(|| {
        App::new()
            .route("/echo/{tail:.*}", web::to(echo))
            .route("/redirect", web::get().to(redirect))
            .route("/status/{code}", web::get().to(status))
            .route("/big", web::get().to(big))
            .route("/slow", web::get().to(slow))
            .route("/graphql", web::post().to(graphql))
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}")
}

fn rest(options: Value) -> OpenOptions {
    options::prepare(DatasourceType::Restapi, &options, None).unwrap()
}

async fn run(
    options: &OpenOptions,
    env: &ConnectorEnv,
    query: Value,
    inputs: Value,
) -> Result<Value, Error> {
    let connector = connector::connect(options, env).await?;
    let checked = datasources::query::check_options(options.datasource_type, &query)?;
    let resolved = datasources::inputs::resolve(&checked.inputs, &object(inputs))?;
    match connector.run(&checked.options, &resolved).await? {
        QueryOutput::Document(document) => Ok(document),
        QueryOutput::Sql(rows) => panic!("a document expected, got {rows:?}"),
    }
}

#[tokio::test]
async fn rest_queries_authenticate_encode_and_keep_types() {
    let base = server().await;
    let env = ConnectorEnv::default();
    let options = rest(
        json!({"baseUrl": format!("{base}/echo/api"), "authType": "bearer",
        "token": "t0ken", "headers": [{"key": "x-default", "value": "d"}, {"key": "x-over", "value": "datasource"}],
        "secretHeaders": [{"key": "x-secret", "value": "s3cret"}]}),
    );
    connector::connect(&options, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    let answer = run(
        &options,
        &env,
        json!({"method": "POST", "path": "/users/{{inputs.name}}",
            "queryParams": [{"key": "q", "value": "{{inputs.name}}"}],
            "headers": [{"key": "x-over", "value": "query {{inputs.id}}"}],
            "body": {"id": "{{inputs.id}}", "label": "n{{inputs.id}}"},
            "inputDefinitions": [{"key": "name"}, {"key": "id", "type": "integer"}]}),
        json!({"name": "a/b?c=1&d", "id": "5"}),
    )
    .await
    .unwrap();
    assert_eq!(answer["statusCode"], 200);
    let echoed = &answer["body"];
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["path"], "/echo/api/users/a%2Fb%3Fc%3D1%26d");
    assert_eq!(echoed["query"], "q=a%2Fb%3Fc%3D1%26d");
    assert_eq!(echoed["headers"]["authorization"], "Bearer t0ken");
    assert_eq!(echoed["headers"]["x-default"], "d");
    assert_eq!(echoed["headers"]["x-secret"], "s3cret");
    assert_eq!(echoed["headers"]["x-over"], "query 5");
    let body: Value = serde_json::from_str(echoed["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"id": 5, "label": "n5"}),
        "a sole template keeps the type"
    );

    let escape = run(
        &options,
        &env,
        json!({"method": "GET", "path": "/{{inputs.p}}/admin", "inputDefinitions": [{"key": "p"}]}),
        json!({"p": ".."}),
    )
    .await
    .unwrap_err();
    assert!(matches!(escape, Error::Invalid { .. }), "{escape:?}");
}

#[tokio::test]
async fn every_auth_type_is_sent_as_documented() {
    let base = server().await;
    let env = ConnectorEnv::default();
    let get = json!({"method": "GET", "path": "/x"});
    let basic = rest(
        json!({"baseUrl": format!("{base}/echo"), "authType": "basic",
        "username": "ann", "password": "pw"}),
    );
    let answer = run(&basic, &env, get.clone(), json!({})).await.unwrap();
    assert_eq!(answer["body"]["headers"]["authorization"], "Basic YW5uOnB3");
    let header = rest(
        json!({"baseUrl": format!("{base}/echo"), "authType": "apiKeyHeader",
        "apiKeyName": "x-api-key", "apiKeyValue": "k1"}),
    );
    let answer = run(&header, &env, get.clone(), json!({})).await.unwrap();
    assert_eq!(answer["body"]["headers"]["x-api-key"], "k1");
    let query = rest(
        json!({"baseUrl": format!("{base}/echo"), "authType": "apiKeyQuery",
        "apiKeyName": "key", "apiKeyValue": "k 2"}),
    );
    let answer = run(&query, &env, get, json!({})).await.unwrap();
    assert_eq!(answer["body"]["query"], "key=k+2");
}

#[tokio::test]
async fn failures_caps_and_limits() {
    let base = server().await;
    let options = rest(json!({"baseUrl": base, "timeoutMs": 300}));
    let env = ConnectorEnv {
        limits: RunLimits {
            max_bytes: 1_000,
            ..RunLimits::default()
        },
        ..ConnectorEnv::default()
    };
    let missing = run(
        &options,
        &env,
        json!({"method": "GET", "path": "/status/404"}),
        json!({}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&missing, Error::Query(m) if m.contains("404") && m.contains("not here")),
        "{missing:?}"
    );
    let big = run(
        &options,
        &env,
        json!({"method": "GET", "path": "/big"}),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(big["truncated"], true);
    assert_eq!(big["body"].as_str().unwrap().len(), 1_000);
    let slow = run(
        &options,
        &env,
        json!({"method": "GET", "path": "/slow"}),
        json!({}),
    )
    .await
    .unwrap_err();
    assert!(matches!(slow, Error::Timeout(_)), "{slow:?}");

    let closed = rest(json!({"baseUrl": "http://127.0.0.1:1/"}));
    let refused = connector::connect(&closed, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Connection(_)), "{refused:?}");
}

#[tokio::test]
async fn metadata_addresses_are_refused_directly_and_through_redirects() {
    let base = server().await;
    let env = ConnectorEnv::default();
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://100.100.100.200/",
    ] {
        let refused = connector::connect(&rest(json!({"baseUrl": url})), &env)
            .await
            .unwrap()
            .test()
            .await
            .unwrap_err();
        assert!(
            matches!(refused, Error::NetworkDenied(_)),
            "{url}: {refused:?}"
        );
    }
    let options = rest(json!({"baseUrl": base.clone()}));
    let via = |to: String| json!({"method": "GET", "path": format!("/redirect?to={to}")});
    let refused = run(
        &options,
        &env,
        via("http://169.254.169.254/".into()),
        json!({}),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&refused, Error::NetworkDenied(m) if m.contains("redirect")),
        "{refused:?}"
    );
    let refused = run(
        &options,
        &env,
        via("http://[::ffff:169.254.169.254]/".into()),
        json!({}),
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, Error::NetworkDenied(_)), "{refused:?}");

    // Two hops are followed; a chain of six is not.
    let followed = run(
        &options,
        &env,
        via(format!("{base}/redirect?to={base}/echo/done")),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(followed["body"]["path"], "/echo/done");
    let mut chain = format!("{base}/echo/end");
    for _ in 0..6 {
        chain = format!("{base}/redirect?to={chain}");
    }
    let long = run(&options, &env, via(chain), json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(&long, Error::NetworkDenied(m) if m.contains("redirects")),
        "{long:?}"
    );
}

#[tokio::test]
async fn graphql_values_travel_as_variables() {
    let base = server().await;
    let env = ConnectorEnv::default();
    let options = options::prepare(
        DatasourceType::Graphql,
        &json!({"endpoint": format!("{base}/graphql"), "authType": "none"}),
        None,
    )
    .unwrap();
    connector::connect(&options, &env)
        .await
        .unwrap()
        .test()
        .await
        .unwrap();
    let answer = run(
        &options,
        &env,
        json!({"query": "query Q($id: Int!, $name: String) { user(id: $id, name: $name) { id } }",
            "variables": {"id": "{{inputs.id}}", "name": "{{inputs.name}}"}, "operationName": "Q",
            "inputDefinitions": [{"key": "id", "type": "integer"}, {"key": "name"}]}),
        json!({"id": 7, "name": "\"} } mutation { drop }"}),
    )
    .await
    .unwrap();
    assert_eq!(
        answer["data"]["variables"],
        json!({"id": 7, "name": "\"} } mutation { drop }"})
    );
    assert_eq!(
        answer["data"]["query"],
        "query Q($id: Int!, $name: String) { user(id: $id, name: $name) { id } }"
    );
    assert_eq!(answer["data"]["operationName"], "Q");
    let failed = run(&options, &env, json!({"query": "{ fail }"}), json!({}))
        .await
        .unwrap_err();
    assert!(
        matches!(&failed, Error::Query(m) if m.contains("boom")),
        "{failed:?}"
    );
    let spliced = datasources::query::check_options(
        DatasourceType::Graphql,
        &json!({"query": "{ user(id: {{inputs.id}}) { id } }", "inputDefinitions": [{"key": "id"}]}),
    )
    .unwrap_err();
    assert!(matches!(spliced, Error::Invalid { .. }), "{spliced:?}");
}
