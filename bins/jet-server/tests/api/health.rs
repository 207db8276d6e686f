//! Liveness, readiness, request ids and security headers.

use test_support::{Backend, db_test};

use crate::helpers::{TestApp, code, json};

async fn health_is_ok_and_carries_security_headers_and_a_request_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let response = app.get("/health").send().await.unwrap();

    let headers = response.headers().clone();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["x-request-id"].to_str().unwrap().len() >= 32);
    let (status, body) = json(response).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::json!({"status": "ok"}));
}
db_test!(health_is_ok_and_carries_security_headers_and_a_request_id);

async fn ready_is_ok_when_the_database_answers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, body) = app.call("GET", "/ready", "", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ready");
}
db_test!(ready_is_ok_when_the_database_answers);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_is_503_when_the_database_is_gone() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let name = app.database.url.rsplit('/').next().unwrap().to_string();
    let admin = sea_orm::Database::connect(std::env::var("TEST_DATABASE_URL").unwrap())
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(
        &admin,
        &format!("DROP DATABASE {name} WITH (FORCE)"),
    )
    .await
    .unwrap();

    let (status, body) = app.call("GET", "/ready", "", None).await;

    assert_eq!(status, 503);
    assert_eq!(code(&body), "SERVICE_UNAVAILABLE");
    let (status, _) = app.call("GET", "/health", "", None).await;
    assert_eq!(status, 200, "liveness does not depend on the database");
}

async fn a_sane_request_id_is_echoed_and_an_unsafe_one_replaced(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let kept = app
        .get("/health")
        .header("x-request-id", "trace-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-abc.123");

    let replaced = app
        .get("/health")
        .header("x-request-id", "evil\"; drop")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "evil\"; drop");
}
db_test!(a_sane_request_id_is_echoed_and_an_unsafe_one_replaced);
