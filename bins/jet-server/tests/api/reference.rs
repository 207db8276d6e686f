//! The API description against the running server: the served document is the committed
//! `docs/openapi.json`, every operation reaches a route and every route has an operation, the
//! `/docs` page loads everything it references from the server itself, and every route that
//! takes a body refuses one that is not a JSON object.

use std::collections::BTreeSet;

use jet_server::http::access::Access;
use jet_server::http::openapi::DOCUMENT_PATH;
use serde_json::{Value, json};
use test_support::{Backend, db_test};

use crate::helpers::{TestApp, code, fill_path};

/// `(METHOD, path)` of every operation in a document.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for (path, item) in document["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            found.insert((method.to_ascii_uppercase(), path.clone()));
        }
    }
    found
}

async fn the_served_document_is_the_committed_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app.get(DOCUMENT_PATH).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{DOCUMENT_PATH} is JSON"
    );
    let served = response.text().await.unwrap();
    let committed = include_str!("../../../../docs/openapi.json");
    assert!(
        served == committed,
        "docs/openapi.json differs from the served document: run `cargo xtask openapi` and \
         commit the result"
    );
    let document: Value = serde_json::from_str(&served).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
}
db_test!(the_served_document_is_the_committed_one);

async fn every_operation_reaches_a_route_and_every_route_has_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (_, document) = app.call("GET", DOCUMENT_PATH, "", None).await;
    let documented = operations(&document);
    let registered: BTreeSet<(String, String)> = jet_server::http::routes()
        .iter()
        .map(|route| (route.method.to_string(), route.path.to_string()))
        .collect();
    let undocumented: Vec<_> = registered.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "routes without an operation: {undocumented:?}"
    );
    // An operation whose path or method the server does not serve answers the router's own
    // 404 ("no route has this path") or 405; a served one answers anything else.
    let tenant = uuid::Uuid::now_v7().to_string();
    for (method, template) in &documented {
        let path = fill_path(template, &tenant);
        let (status, body) = app.call(method, &path, "", Some(json!({}))).await;
        let unrouted = status == 405
            || (status == 404 && body["error"]["message"] == "no route has this path");
        assert!(
            !unrouted,
            "the operation {method} {template} reaches no route: {status} {body}"
        );
    }
    let (status, body) = app.call("GET", "/api/v1/nowhere", "", None).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (404, Some("no route has this path")),
        "the check above relies on the router's 404: {body}"
    );
}
db_test!(every_operation_reaches_a_route_and_every_route_has_one);

/// `src="…"` and `href="…"` values of a page.
fn references(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        let mut rest = page;
        while let Some(start) = rest.find(attribute) {
            rest = &rest[start + attribute.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
    }
    found
}

async fn the_reference_page_loads_everything_from_the_server(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app.get("/docs").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let policy = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    let page = response.text().await.unwrap();
    let assets = references(&page);
    assert!(assets.len() >= 4, "the page references {assets:?}");
    for asset in &assets {
        assert!(
            asset.starts_with('/') && !asset.starts_with("//"),
            "{asset} is not served by this server (no CDN: the page must work offline)"
        );
        let response = app.get(asset).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        let bytes = response.bytes().await.unwrap();
        assert!(bytes.len() > 100, "{asset} is {} bytes", bytes.len());
    }
    // The page's script asks for the document it renders, and that document is served.
    let app = &app;
    let text = |path: &'static str| async move {
        app.get(path).send().await.unwrap().text().await.unwrap()
    };
    let init = text("/docs/init.js").await;
    assert!(
        init.contains(DOCUMENT_PATH),
        "init.js must load {DOCUMENT_PATH}"
    );
    let bundle = text("/docs/swagger-ui-bundle.js").await;
    assert!(bundle.contains("SwaggerUIBundle"));
    let (status, body) = app.call("GET", "/docs/nothing.js", "", None).await;
    assert_eq!((status, code(&body)), (404, "NOT_FOUND"));
}
db_test!(the_reference_page_loads_everything_from_the_server);

async fn every_body_must_be_a_json_object(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.token_for("alice", "alice@example.com");
    let admin = format!("Bearer {token}");
    let tenant = app.create_tenant(&token, "T").await;
    let mut walked = 0;
    for route in jet_server::http::routes() {
        let Some(doc) = &route.doc else { continue };
        // A webhook takes what its sender sends (any JSON, a form, text: webhooks.rs tests it).
        if doc.body.is_none() || route.access == Access::Hook {
            continue;
        }
        walked += 1;
        let path = fill_path(route.path, &tenant);
        for body in [
            json!(["Acme", "https://x/logo.png"]),
            json!("Acme"),
            json!(null),
        ] {
            let (status, answer) = app
                .call(route.method.as_str(), &path, &admin, Some(body.clone()))
                .await;
            // The admin passes every check before the body is read (objects are looked up
            // after it), so the body's shape is what answers.
            assert_eq!(
                (status, code(&answer)),
                (400, "VALIDATION_ERROR"),
                "{route:?} with the body {body}: {answer}"
            );
        }
    }
    assert!(walked >= 10, "only {walked} routes take a body");
}
db_test!(every_body_must_be_a_json_object);
