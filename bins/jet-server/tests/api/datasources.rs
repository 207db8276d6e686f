//! Datasources and data queries over HTTP, against this machine's PostgreSQL (and MariaDB) as
//! the datasource, on SQLite and PostgreSQL as the platform database: masking, bound inputs,
//! the limits, the network policy, deletion in use, delegated execution and creator rights.

use serde_json::{Value, json};
use test_support::{Backend, db_test};
use uuid::Uuid;

use crate::helpers::{TestApp, code};

const CANARY: &str = "canary-Pa55-w0rd-7f3e";

/// The local PostgreSQL as a datasource (trust auth: any password connects).
fn local_postgres(password: &str) -> Value {
    json!({"host": "127.0.0.1", "port": 5432, "database": "postgres", "user": "postgres",
        "password": password, "sslMode": "disable"})
}

struct Setup {
    app: TestApp,
    alice: String,
    tenant: String,
}

async fn setup(backend: Backend) -> Option<Setup> {
    test_support::services::service("PostgreSQL (datasource)", "127.0.0.1:5432")?;
    let app = TestApp::spawn(backend).await?;
    let token = app.token_for("alice", "alice@example.com");
    let tenant = app.create_tenant(&token, "T").await;
    Some(Setup {
        app,
        alice: format!("Bearer {token}"),
        tenant,
    })
}

impl Setup {
    async fn call(&self, method: &str, rest: &str, body: Option<Value>) -> (u16, Value) {
        let path = format!("/api/v1/tenants/{}/{rest}", self.tenant);
        self.app.call(method, &path, &self.alice, body).await
    }

    async fn datasource(&self, options: Value) -> String {
        let (status, made) = self
            .call(
                "POST",
                "datasources",
                Some(
                    json!({"datasourceTitle": format!("d{}", Uuid::now_v7().simple()),
                    "datasourceType": "postgresql", "datasourceOptions": options}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        made["data"]["datasourceID"].as_str().unwrap().to_string()
    }

    async fn query(&self, datasource: &str, options: Value) -> String {
        let (status, made) = self
            .call(
                "POST",
                "queries",
                Some(
                    json!({"dataQueryTitle": format!("q{}", Uuid::now_v7().simple()),
                    "datasourceID": datasource, "dataQueryOptions": options}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        made["data"]["dataQueryID"].as_str().unwrap().to_string()
    }

    async fn sql(&self, datasource: &str, sql: &str) -> (u16, Value) {
        self.call(
            "POST",
            "queries/test",
            Some(json!({"datasourceID": datasource, "dataQueryOptions": {"query": sql}})),
        )
        .await
    }
}

async fn secrets_are_masked_and_kept(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let id = s.datasource(local_postgres(CANARY)).await;
    let mut seen = String::new();
    for (method, rest, body) in [
        ("GET", "datasources".to_string(), None),
        ("GET", format!("datasources/{id}"), None),
        ("GET", "datasources/types".to_string(), None),
        (
            "PATCH",
            format!("datasources/{id}"),
            Some(json!({"datasourceOptions": local_postgres("********"), "datasourceTags": ["a"]})),
        ),
        (
            "POST",
            "datasources/test".to_string(),
            Some(json!({"datasourceType": "postgresql", "datasourceID": id,
                "datasourceOptions": local_postgres("********")})),
        ),
        ("POST", format!("datasources/{id}/clone"), None),
        (
            "POST",
            format!("datasources/{id}/proxy"),
            Some(json!({"action": "testConnection"})),
        ),
        (
            "POST",
            format!("datasources/{id}/proxy"),
            Some(json!({"action": "getSchema"})),
        ),
    ] {
        let (status, answer) = s.call(method, &rest, body).await;
        assert!(status < 300, "{method} {rest}: {status} {answer}");
        seen.push_str(&answer.to_string());
    }
    assert!(!seen.contains(CANARY), "a secret was answered: {seen}");
    let (_, read) = s.call("GET", &format!("datasources/{id}"), None).await;
    assert_eq!(read["data"]["datasourceOptions"]["password"], "********");
    assert_eq!(read["data"]["connectionStatus"], "ok");
    assert_eq!(read["data"]["datasourceTags"], json!(["a"]));

    // A wrong password (MariaDB checks them) and a connection string carrying the secret to a
    // closed port: the errors say what failed, never the secret.
    let mut errors = String::new();
    if test_support::services::service("MariaDB", "127.0.0.1:3306").is_some() {
        let (status, refused) = s
            .call(
                "POST",
                "datasources/test",
                Some(json!({"datasourceType": "mariadb", "datasourceOptions":
                    {"host": "127.0.0.1", "port": 3306, "user": "root", "password": CANARY,
                     "sslMode": "disable"}})),
            )
            .await;
        assert_eq!(
            (status, code(&refused)),
            (422, "DATASOURCE_UNREACHABLE"),
            "{refused}"
        );
        errors.push_str(&refused.to_string());
    }
    let (status, refused) = s
        .call(
            "POST",
            "datasources/test",
            Some(json!({"datasourceType": "postgresql", "datasourceOptions":
                {"connectionString": format!("postgres://postgres:{CANARY}@127.0.0.1:1/postgres"),
                 "sslMode": "disable"}})),
        )
        .await;
    // Refused at once, not waiting out the connect timeout.
    assert_eq!(
        (status, code(&refused)),
        (422, "DATASOURCE_UNREACHABLE"),
        "{refused}"
    );
    errors.push_str(&refused.to_string());
    assert!(!errors.contains(CANARY), "{errors}");

    // The audit trail kept the request bodies with the secret cut out.
    let mut trail = String::new();
    for _ in 0..50 {
        let (_, audit) = s.call("GET", "audit?pageSize=200", None).await;
        trail = audit.to_string();
        if trail.contains("datasources/test") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(trail.contains("datasources"), "{trail}");
    assert!(!trail.contains(CANARY), "{trail}");
}
db_test!(secrets_are_masked_and_kept);

async fn inputs_are_bound_and_limits_apply(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let id = s.datasource(local_postgres("x")).await;
    let table = format!("probe_{}", Uuid::now_v7().simple());
    let (status, made) = s
        .sql(&id, &format!("CREATE TABLE {table} (name text)"))
        .await;
    assert_eq!(status, 200, "{made}");
    let insert = s
        .query(
            &id,
            json!({"query": format!("INSERT INTO {table} (name) VALUES ({{{{inputs.v}}}}) RETURNING name"),
                "inputDefinitions": [{"key": "v", "type": "string", "required": true}]}),
        )
        .await;
    let probes = [
        "'; DROP TABLE t; --".to_string(),
        "1 OR 1=1".into(),
        "$1".into(),
        "?".into(),
        "\u{2019}; DROP TABLE t; \u{2018}".into(),
        "x".repeat(1 << 20),
    ];
    for probe in &probes {
        let (status, ran) = s
            .call(
                "POST",
                &format!("queries/{insert}/run"),
                Some(json!({"inputValues": {"v": probe}})),
            )
            .await;
        assert_eq!(
            status,
            200,
            "{}",
            &ran.to_string()[..200.min(ran.to_string().len())]
        );
        assert_eq!(ran["data"]["rows"][0]["name"], probe.as_str());
    }
    let (_, count) = s
        .sql(&id, &format!("SELECT count(*) AS n FROM {table}"))
        .await;
    assert_eq!(
        count["data"]["rows"][0]["n"],
        json!(probes.len().to_string())
    );

    // An unsaved query naming a datasource this tenant lacks: 409 naming the field.
    let (status, unknown) = s.sql(&Uuid::now_v7().to_string(), "SELECT 1").await;
    assert_eq!((status, code(&unknown)), (409, "CONFLICT"), "{unknown}");
    assert_eq!(unknown["error"]["field"], "datasourceID");

    // A template inside a string literal is refused when saved.
    let (status, refused) = s
        .call(
            "POST",
            "queries",
            Some(json!({"dataQueryTitle": "bad", "datasourceID": id,
                "dataQueryOptions": {"query": "SELECT '{{inputs.v}}'", "inputDefinitions": [{"key": "v"}]}})),
        )
        .await;
    assert_eq!(
        (status, code(&refused)),
        (400, "VALIDATION_ERROR"),
        "{refused}"
    );

    // The row cap (10,000 by default) truncates with the flag.
    let (status, many) = s.sql(&id, "SELECT generate_series(1, 10005) AS n").await;
    assert_eq!(status, 200);
    assert_eq!(many["data"]["truncated"], true);
    assert_eq!(many["data"]["rows"].as_array().unwrap().len(), 10_000);

    // A statement over the datasource's time limit is stopped.
    let mut slow = local_postgres("x");
    slow["statementTimeoutMs"] = json!(200);
    let slow = s.datasource(slow).await;
    let (status, stopped) = s.sql(&slow, "SELECT pg_sleep(5)").await;
    assert_eq!(
        (status, code(&stopped)),
        (422, "DATASOURCE_TIMEOUT"),
        "{stopped}"
    );

    // Metadata addresses are refused, in their IPv4-mapped IPv6 form too.
    for host in [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "100.100.100.200",
    ] {
        let mut options = local_postgres("x");
        options["host"] = json!(host);
        let (status, refused) = s
            .call(
                "POST",
                "datasources/test",
                Some(json!({"datasourceType": "postgresql", "datasourceOptions": options})),
            )
            .await;
        assert_eq!(
            (status, code(&refused)),
            (422, "NETWORK_POLICY_DENIED"),
            "{host}: {refused}"
        );
    }

    // Deleting a datasource in use lists its queries, unless forced.
    let (status, in_use) = s.call("DELETE", &format!("datasources/{id}"), None).await;
    assert_eq!((status, code(&in_use)), (409, "DATASOURCE_IN_USE"));
    assert_eq!(
        in_use["error"]["dataQueries"][0]["dataQueryID"],
        insert.as_str()
    );
    let (status, _) = s.sql(&id, &format!("DROP TABLE {table}")).await;
    assert_eq!(status, 200);
    let (status, deleted) = s
        .call("DELETE", &format!("datasources/{id}?force=true"), None)
        .await;
    assert_eq!(status, 200, "{deleted}");
    let (status, _) = s.call("GET", &format!("queries/{insert}"), None).await;
    assert_eq!(status, 404, "the query went with it");
}
db_test!(inputs_are_bound_and_limits_apply);

async fn running_needs_execute_on_the_query_not_the_datasource(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let id = s.datasource(local_postgres("x")).await;
    let saved = s.query(&id, json!({"query": "SELECT 41 + 1 AS n"})).await;
    let bob_token = s.app.token_for("bob", "bob@example.com");
    let bob = format!("Bearer {bob_token}");
    let tenant_id: Uuid = s.tenant.parse().unwrap();
    let member = s.app.join_without_roles(&bob, tenant_id).await;
    let give = |permissions: Value, grants: Value| {
        let s = &s;
        let member = member.clone();
        async move {
            let (status, role) = s
                .call(
                    "POST",
                    "roles",
                    Some(json!({"roleTitle": format!("r{}", Uuid::now_v7().simple()),
                        "permissions": permissions, "assetPermissions": grants})),
                )
                .await;
            assert_eq!(status, 201, "{role}");
            let (status, body) = s
                .call(
                    "PATCH",
                    &format!("users/{member}/roles"),
                    Some(json!({"roleIDs": [role["data"]["roleID"]]})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    };
    let run_as = |auth: String| {
        let s = &s;
        let saved = saved.clone();
        async move {
            s.app
                .call(
                    "POST",
                    &format!("/api/v1/tenants/{}/queries/{saved}/run", s.tenant),
                    &auth,
                    Some(json!({})),
                )
                .await
        }
    };
    // Reading the datasource is not running the query.
    give(json!(["datasource:read", "dataquery:read"]), json!([])).await;
    let (status, denied) = run_as(bob.clone()).await;
    assert_eq!(
        (status, code(&denied)),
        (403, "PERMISSION_DENIED"),
        "{denied}"
    );
    // Execute on this one query, and nothing on its datasource, runs it.
    give(
        json!([]),
        json!([{"resourceType": "dataquery", "resourceID": saved, "action": "execute"}]),
    )
    .await;
    let (status, ran) = run_as(bob.clone()).await;
    assert_eq!(status, 200, "{ran}");
    assert_eq!(ran["data"]["rows"][0]["n"], 42);

    // Creator rights: a query Bob saves himself he may run, change and delete without grants.
    give(json!(["dataquery:create", "datasource:read"]), json!([])).await;
    let (status, own) = s
        .app
        .call(
            "POST",
            &format!("/api/v1/tenants/{}/queries", s.tenant),
            &bob,
            Some(json!({"dataQueryTitle": "mine", "datasourceID": id,
                "dataQueryOptions": {"query": "SELECT 1 AS n"}})),
        )
        .await;
    assert_eq!(status, 201, "{own}");
    let own = own["data"]["dataQueryID"].as_str().unwrap().to_string();
    for (method, rest, body) in [
        ("POST", format!("queries/{own}/run"), Some(json!({}))),
        (
            "PATCH",
            format!("queries/{own}"),
            Some(json!({"dataQueryTitle": "renamed"})),
        ),
        ("GET", format!("queries/{own}/export"), None),
        ("DELETE", format!("queries/{own}"), None),
    ] {
        let (status, answer) = s
            .app
            .call(
                method,
                &format!("/api/v1/tenants/{}/{rest}", s.tenant),
                &bob,
                body,
            )
            .await;
        assert_eq!(status, 200, "{method} {rest} as its creator: {answer}");
    }
}
db_test!(running_needs_execute_on_the_query_not_the_datasource);

/// The real binary with every log line on (`RUST_LOG=debug`): a canary password sent to every
/// datasource route, through a working connection, a refused login and a failing connection
/// string, shows in no response, no audit row and no log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_canary_password_reaches_no_response_log_or_audit_row() {
    use crate::startup::stop;

    if test_support::services::service("PostgreSQL (datasource)", "127.0.0.1:5432").is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let (child, base) = spawn_binary(
        &data_dir,
        &[("RUST_LOG", "debug"), ("JET_AUDIT_FLUSH_MS", "50")],
    )
    .await;
    let client = test_support::http::client();
    let key = identity::LocalSigningKey::load_or_create(&data_dir).unwrap();
    let token = key.mint(
        "dana@example.com",
        None,
        std::time::Duration::from_secs(300),
        test_support::tokens::now(),
    );
    let mut answers = String::new();
    let call = |method: &str, path: String, body: Option<Value>| {
        let mut request = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let (status, tenant) = call(
        "POST",
        "/api/v1/tenants".into(),
        Some(json!({"tenantTitle": "Canary"})),
    )
    .await;
    assert_eq!(status, 201, "{tenant}");
    let tenant: Value = serde_json::from_str(&tenant).unwrap();
    let t = format!(
        "/api/v1/tenants/{}",
        tenant["data"]["tenantID"].as_str().unwrap()
    );

    let (status, made) = call(
        "POST",
        format!("{t}/datasources"),
        Some(
            json!({"datasourceTitle": "pg", "datasourceType": "postgresql",
            "datasourceOptions": local_postgres(CANARY)}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    answers.push_str(&made);
    let made: Value = serde_json::from_str(&made).unwrap();
    let id = made["data"]["datasourceID"].as_str().unwrap().to_string();
    let (status, query) = call(
        "POST",
        format!("{t}/queries"),
        Some(json!({"dataQueryTitle": "q", "datasourceID": id,
            "dataQueryOptions": {"query": "SELECT current_user AS who"}})),
    )
    .await;
    assert_eq!(status, 201, "{query}");
    answers.push_str(&query);
    let query: Value = serde_json::from_str(&query).unwrap();
    let q = query["data"]["dataQueryID"].as_str().unwrap().to_string();
    let refused_login = json!({"datasourceType": "mariadb", "datasourceOptions":
        {"host": "127.0.0.1", "port": 3306, "user": "root", "password": CANARY, "sslMode": "disable"}});
    let closed_port = json!({"datasourceType": "postgresql", "datasourceOptions":
        {"connectionString": format!("postgres://postgres:{CANARY}@127.0.0.1:1/postgres"),
         "sslMode": "disable"}});
    for (method, path, body) in [
        ("GET", format!("{t}/datasources"), None),
        ("GET", format!("{t}/datasources/{id}"), None),
        (
            "PATCH",
            format!("{t}/datasources/{id}"),
            Some(json!({"datasourceOptions": local_postgres("********")})),
        ),
        (
            "POST",
            format!("{t}/datasources/test"),
            Some(json!({"datasourceType": "postgresql", "datasourceID": id,
                "datasourceOptions": local_postgres("********")})),
        ),
        ("POST", format!("{t}/datasources/test"), Some(refused_login)),
        ("POST", format!("{t}/datasources/test"), Some(closed_port)),
        ("POST", format!("{t}/datasources/{id}/clone"), None),
        (
            "POST",
            format!("{t}/datasources/{id}/proxy"),
            Some(json!({"action": "getSchema"})),
        ),
        ("GET", format!("{t}/queries/{q}"), None),
        ("GET", format!("{t}/queries/{q}/export"), None),
        ("POST", format!("{t}/queries/{q}/run"), Some(json!({}))),
        ("POST", format!("{t}/queries/{q}/test"), Some(json!({}))),
    ] {
        let (_, answer) = call(method, path, body).await;
        answers.push_str(&answer);
    }
    assert!(answers.contains("postgres"), "the runs answered: {answers}");
    let mut trail = String::new();
    for _ in 0..50 {
        trail = call("GET", format!("{t}/audit?pageSize=200"), None).await.1;
        if trail.contains("/test") && trail.contains("/run") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(trail.contains("datasourceOptions"), "{trail}");

    let (_, logs) = stop(child).await;
    assert!(
        logs.contains("datasources"),
        "debug logs were written: {logs}"
    );
    for (place, text) in [
        ("a response", &answers),
        ("the audit trail", &trail),
        ("the log", &logs),
    ] {
        assert!(!text.contains(CANARY), "the canary is in {place}: {text}");
    }
}

/// A GraphQL endpoint on this machine that answers with the variables it was sent; its URL.
async fn graphql_responder() -> String {
    use actix_web::{App, HttpResponse, HttpServer, web};
    let server = HttpServer::new(|| {
        App::new().route(
            "/graphql",
            web::post().to(|body: web::Json<Value>| async move {
                HttpResponse::Ok().json(json!({"data": {"echo": body["variables"].clone()}}))
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    format!("http://127.0.0.1:{port}/graphql")
}

/// Every type other than PostgreSQL through the routes: created with a connection test, then a
/// saved query run over `POST …/run` with an input (its default) where the type takes one:
/// MariaDB and the brokers of this machine, a SQLite file in the server's datasource directory,
/// REST against this server's own `/health`, GraphQL against a local responder.
async fn every_other_type_connects_and_runs_over_http(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    for (name, address) in [
        ("MariaDB", "127.0.0.1:3306"),
        ("Redis", "127.0.0.1:6379"),
        ("RabbitMQ", "127.0.0.1:5672"),
        ("Mosquitto", "127.0.0.1:1883"),
        ("NATS", "127.0.0.1:4222"),
    ] {
        if test_support::services::service(name, address).is_none() {
            return;
        }
    }
    // The server created its datasource directory; an empty file is an empty SQLite database.
    let sqlite_dir = s.app.database.dir.path().join("data").join("datasources");
    std::fs::File::create(sqlite_dir.join("app.db")).unwrap();
    let word = json!([{"key": "word", "default": "it's 'quoted'; --"}]);
    let key = format!("jet-api:{}", Uuid::now_v7().simple());
    let cases = [
        (
            "mariadb",
            json!({"host": "127.0.0.1", "port": 3306, "user": "root", "sslMode": "disable"}),
            json!({"query": "SELECT {{inputs.word}} AS answer", "inputDefinitions": word}),
            "/rows/0/answer",
            json!("it's 'quoted'; --"),
        ),
        (
            "sqlite",
            json!({"path": "app.db"}),
            json!({"query": "SELECT {{inputs.word}} AS answer", "inputDefinitions": word}),
            "/rows/0/answer",
            json!("it's 'quoted'; --"),
        ),
        (
            "restapi",
            json!({"baseUrl": s.app.address.clone()}),
            json!({"method": "GET", "path": "/health"}),
            "/body/status",
            json!("ok"),
        ),
        (
            "graphql",
            json!({"endpoint": graphql_responder().await}),
            json!({"query": "query Q($word: String) { echo(word: $word) }",
                "variables": {"word": "{{inputs.word}}"}, "inputDefinitions": word}),
            "/data/echo/word",
            json!("it's 'quoted'; --"),
        ),
        (
            "redis",
            json!({"host": "127.0.0.1", "port": 6379}),
            json!({"command": "SET", "args": [key, "v", "EX", 30]}),
            "/result",
            json!("OK"),
        ),
        (
            "rabbitmq",
            json!({"host": "127.0.0.1", "port": 5672, "username": "guest", "password": "guest"}),
            json!({"exchange": "amq.topic", "routingKey": "jet.api", "body": {"a": 1}}),
            "/published",
            json!(true),
        ),
        (
            "mqtt",
            json!({"host": "127.0.0.1", "port": 1883}),
            json!({"topic": "jet/api", "payload": "hi", "qos": 1}),
            "/published",
            json!(true),
        ),
        (
            "nats",
            json!({"host": "127.0.0.1", "port": 4222}),
            json!({"subject": "jet.api", "payload": "hi"}),
            "/published",
            json!(true),
        ),
    ];
    for (datasource_type, options, query, pointer, expected) in cases {
        let (status, made) = s
            .call(
                "POST",
                "datasources",
                Some(
                    json!({"datasourceTitle": datasource_type, "datasourceType": datasource_type,
                    "datasourceOptions": options}),
                ),
            )
            .await;
        assert_eq!(status, 201, "{datasource_type}: {made}");
        assert_eq!(made["data"]["connectionStatus"], "ok");
        let id = made["data"]["datasourceID"].as_str().unwrap().to_string();
        let saved = s.query(&id, query).await;
        let (status, ran) = s
            .call("POST", &format!("queries/{saved}/run"), Some(json!({})))
            .await;
        assert_eq!(status, 200, "{datasource_type}: {ran}");
        assert_eq!(
            ran["data"].pointer(pointer),
            Some(&expected),
            "{datasource_type}: {ran}"
        );
    }
}
db_test!(every_other_type_connects_and_runs_over_http);

/// The real binary on the embedded default in `data_dir` with `env`; the child and its URL.
async fn spawn_binary(
    data_dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Child, String) {
    use std::process::{Command, Stdio};
    let port = crate::startup::free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_jet-server"));
    command
        .env_clear()
        .env("PORT", port.to_string())
        .env("JET_DATA_DIR", data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    crate::startup::wait_until_healthy(&test_support::http::client(), &base, &mut child).await;
    (child, base)
}

/// `jet-server keys rotate`: a datasource sealed under key 1 opens under key 2 alone after the
/// rotation, and no longer under key 1 alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_reseals_under_the_new_key() {
    if test_support::services::service("PostgreSQL (datasource)", "127.0.0.1:5432").is_none() {
        return;
    }
    const KEY_1: &str = "one:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
    const KEY_2: &str = "two:AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let client = test_support::http::client();
    let (child, base) = spawn_binary(&data_dir, &[("JET_ENCRYPTION_KEY", KEY_1)]).await;
    let token = identity::LocalSigningKey::load_or_create(&data_dir)
        .unwrap()
        .mint(
            "rita@example.com",
            None,
            std::time::Duration::from_secs(600),
            test_support::tokens::now(),
        );
    let send = |base: String, method: &str, path: String, body: Value| {
        let request = client
            .request(method.parse().unwrap(), format!("{base}{path}"))
            .bearer_auth(&token)
            .json(&body);
        async move { crate::helpers::json(request.send().await.unwrap()).await }
    };
    let (_, tenant) = send(
        base.clone(),
        "POST",
        "/api/v1/tenants".into(),
        json!({"tenantTitle": "K"}),
    )
    .await;
    let t = format!(
        "/api/v1/tenants/{}",
        tenant["data"]["tenantID"].as_str().unwrap()
    );
    let (status, made) = send(
        base.clone(),
        "POST",
        format!("{t}/datasources"),
        json!({"datasourceTitle": "pg", "datasourceType": "postgresql",
            "datasourceOptions": local_postgres("sealed-under-one")}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let proxy = format!(
        "{t}/datasources/{}/proxy",
        made["data"]["datasourceID"].as_str().unwrap()
    );
    let test_connection = json!({"action": "testConnection"});
    // A webhook's secret is sealed under the same keys.
    let (status, flow) = send(
        base.clone(),
        "POST",
        format!("{t}/workflows"),
        json!({"workflowTitle": "hooked", "nodes": [{"id": "start", "type": "start"},
            {"id": "end", "type": "end"}], "edges": [{"source": "start", "target": "end"}]}),
    )
    .await;
    assert_eq!(status, 201, "{flow}");
    let (status, hook) = send(
        base.clone(),
        "POST",
        format!(
            "{t}/workflows/{}/webhooks",
            flow["data"]["workflowID"].as_str().unwrap()
        ),
        json!({"webhookTitle": "h", "authMode": "bearer"}),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let hook_path = hook["data"]["path"].as_str().unwrap().to_string();
    let hook_token = hook["data"]["secret"].as_str().unwrap().to_string();
    let deliver = |base: String| {
        let request = client
            .post(format!("{base}{hook_path}"))
            .bearer_auth(&hook_token)
            .json(&json!({}));
        async move { crate::helpers::json(request.send().await.unwrap()).await }
    };
    crate::startup::stop(child).await;

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_jet-server"))
        .args(["keys", "rotate"])
        .env_clear()
        .env("JET_DATA_DIR", &data_dir)
        .env("JET_ENCRYPTION_KEY", KEY_2)
        .env("JET_ENCRYPTION_PREVIOUS_KEYS", KEY_1)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{printed} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("re-sealed 1 datasource"), "{printed}");
    assert!(printed.contains("re-sealed 1 webhook secret"), "{printed}");

    let (child, base) = spawn_binary(&data_dir, &[("JET_ENCRYPTION_KEY", KEY_2)]).await;
    let (status, opened) = send(base.clone(), "POST", proxy.clone(), test_connection.clone()).await;
    assert_eq!(status, 200, "opens under key 2 alone: {opened}");
    let (status, delivered) = deliver(base.clone()).await;
    assert_eq!(
        status, 202,
        "the hook's secret opens under key 2 alone: {delivered}"
    );
    crate::startup::stop(child).await;
    let (child, base) = spawn_binary(&data_dir, &[("JET_ENCRYPTION_KEY", KEY_1)]).await;
    let (status, refused) = send(base.clone(), "POST", proxy, test_connection).await;
    assert_eq!(
        (status, code(&refused)),
        (503, "SECRETS_UNREADABLE"),
        "{refused}"
    );
    let (status, refused) = deliver(base).await;
    assert_eq!(
        (status, code(&refused)),
        (503, "SECRETS_UNREADABLE"),
        "{refused}"
    );
    crate::startup::stop(child).await;
}
