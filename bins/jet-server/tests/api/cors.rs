//! CORS: an allowed origin, another origin, and the `null` origin.

use test_support::{Backend, db_test};

use crate::helpers::{TestApp, code, json};

const ALLOWED: &str = "https://admin.example.com";

async fn only_allow_listed_origins_get_cors_headers(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| {
        s.cors_allowed_origins = vec![ALLOWED.to_string()];
    })
    .await
    else {
        return;
    };
    let preflight = |origin: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/api/v1/auth"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
    };

    let allowed = preflight(ALLOWED).send().await.unwrap();
    assert_eq!(allowed.status(), 204);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], ALLOWED);
    assert_eq!(headers["access-control-allow-credentials"], "true");
    assert!(
        headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("authorization")
    );

    let simple = app
        .get("/health")
        .header("origin", ALLOWED)
        .send()
        .await
        .unwrap();
    assert_eq!(simple.headers()["access-control-allow-origin"], ALLOWED);
    assert!(
        simple.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("Origin")
    );

    for origin in [
        "https://evil.example.com",
        "null",
        "https://admin.example.com.evil.io",
    ] {
        let (status, body) = json(preflight(origin).send().await.unwrap()).await;
        assert_eq!(status, 403, "{origin}");
        assert_eq!(code(&body), "CORS_ORIGIN_NOT_ALLOWED");

        let response = app
            .get("/health")
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
        assert!(
            response
                .headers()
                .get("access-control-allow-credentials")
                .is_none()
        );
    }
}
db_test!(only_allow_listed_origins_get_cors_headers);
