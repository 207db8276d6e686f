//! The error envelope for 404, 405, 400 (field named), 415, 413 and 500 after a panic.

use serde_json::json;
use test_support::{Backend, db_test};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, code, json};

async fn unknown_routes_and_methods_answer_in_the_envelope(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let (status, body) = app.call("GET", "/api/v1/nothing-here", "", None).await;
    assert_eq!(status, 404);
    assert_eq!(code(&body), "NOT_FOUND");
    assert!(body["error"]["message"].is_string());

    let response = app.post("/health").send().await.unwrap();
    assert_eq!(
        response.headers()["allow"],
        "GET",
        "RFC 9110: a 405 lists the methods"
    );
    let (status, body) = json(response).await;
    assert_eq!(status, 405);
    assert_eq!(code(&body), "METHOD_NOT_ALLOWED");

    let response = app
        .request(reqwest::Method::TRACE, "/api/v1/tenants/x/roles/y")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, PATCH, DELETE");
}
db_test!(unknown_routes_and_methods_answer_in_the_envelope);

async fn bad_json_is_400_and_names_the_field(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let valid = json!({"name": "a", "age": 3, "profile": {"nickname": "b"}});
    let (status, body) = app
        .call("POST", "/__test/echo", "", Some(valid.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, valid);

    let cases = [
        (
            json!({"name": "a", "age": "three", "profile": {"nickname": "b"}}),
            Some("age"),
        ),
        (
            json!({"name": "a", "age": -1, "profile": {"nickname": "b"}}),
            Some("age"),
        ),
        (
            json!({"name": "a", "age": 3, "profile": {}}),
            Some("profile.nickname"),
        ),
        (
            json!({"age": 3, "profile": {"nickname": "b"}}),
            Some("name"),
        ),
        (
            json!({"name": "a", "age": 3, "profile": {"nickname": 7}}),
            Some("profile.nickname"),
        ),
    ];
    for (payload, field) in cases {
        let (status, body) = app
            .call("POST", "/__test/echo", "", Some(payload.clone()))
            .await;
        assert_eq!(status, 400, "{payload}: {body}");
        assert_eq!(code(&body), "VALIDATION_ERROR");
        assert_eq!(body["error"]["field"].as_str(), field, "{payload}: {body}");
    }

    // Only an object is a body: serde would read an array as a positional struct.
    for payload in [
        json!("just a string"),
        json!([1, 2]),
        json!(["a", 3, {"nickname": "b"}]),
        json!(null),
        json!(7),
    ] {
        let (status, body) = app
            .call("POST", "/__test/echo", "", Some(payload.clone()))
            .await;
        assert_eq!(
            (status, code(&body)),
            (400, "VALIDATION_ERROR"),
            "{payload}: {body}"
        );
        assert_eq!(body["error"]["message"], "the body must be a JSON object");
    }

    for raw in ["{\"name\": ", "not json", "{} trailing"] {
        let (status, body) = json(
            app.post("/__test/echo")
                .header("content-type", "application/json")
                .body(raw)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{raw}");
        assert_eq!(code(&body), "VALIDATION_ERROR", "{raw}");
    }

    let (status, body) = json(
        app.post("/__test/echo")
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 415);
    assert_eq!(code(&body), "UNSUPPORTED_MEDIA_TYPE");
}
db_test!(bad_json_is_400_and_names_the_field);

async fn bodies_over_the_limit_are_413(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.body_limit = 1024).await else {
        return;
    };
    let big = format!(
        "{{\"name\": \"{}\", \"age\": 1, \"profile\": {{\"nickname\": \"x\"}}}}",
        "x".repeat(2048)
    );

    // With Content-Length: refused before the body is read, on any route.
    for path in ["/__test/echo", "/api/v1/auth", "/nothing"] {
        let (status, body) = json(
            app.post(path)
                .header("content-type", "application/json")
                .body(big.clone())
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 413, "{path}");
        assert_eq!(code(&body), "PAYLOAD_TOO_LARGE");
    }

    // Chunked, without Content-Length: refused while streaming.
    let address = app.address.trim_start_matches("http://").to_string();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut request = format!(
        "POST /__test/echo HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    for chunk in big.as_bytes().chunks(512) {
        request.push_str(&format!(
            "{:x}\r\n{}\r\n",
            chunk.len(),
            std::str::from_utf8(chunk).unwrap()
        ));
    }
    request.push_str("0\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("PAYLOAD_TOO_LARGE"));
}
db_test!(bodies_over_the_limit_are_413);

async fn a_panicking_handler_is_a_plain_500_and_the_server_keeps_serving(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    for _ in 0..3 {
        let response = app.get("/__test/panic").send().await.unwrap();
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let text = response.text().await.unwrap();
        let body: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(code(&body), "SERVER_ERROR");
        assert!(
            !text.contains("hunter2") && !text.contains("panic"),
            "{text}"
        );
    }
    // One HTTP worker in tests: it survived the panics.
    let (status, _) = app.call("GET", "/health", "", None).await;
    assert_eq!(status, 200);
}
db_test!(a_panicking_handler_is_a_plain_500_and_the_server_keeps_serving);
