//! `GET /api/v1/auth` and the token rules over real HTTP.

use std::time::Duration;

use identity::LocalSigningKey;
use jet_server::settings::IdentitySettings;
use serde_json::{Value, json};
use test_support::tokens::{self, PRIMARY_KID, TestKey, firebase_claims, sign_hs256, unsigned};
use test_support::{Backend, db_test};

use crate::helpers::{TestApp, bearer, code, json};

async fn auth_returns_the_caller_and_creates_the_user_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app.token_for("firebase-uid-alice", "Alice@Example.com");

    let (status, first) = app.call("GET", "/api/v1/auth", &bearer(&token), None).await;
    let (_, second) = app.call("GET", "/api/v1/auth", &bearer(&token), None).await;

    assert_eq!(status, 200, "{first}");
    let user = &first["data"];
    assert_eq!(user["firebaseID"], "firebase-uid-alice");
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["displayName"], "Test User");
    assert!(user["userID"].as_str().is_some());
    assert!(user["lastSeen"].as_str().is_some());
    assert_eq!(second["data"]["userID"], user["userID"]);
}
db_test!(auth_returns_the_caller_and_creates_the_user_once);

async fn no_credentials_is_401_user_auth_token_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for request in [
        app.get("/api/v1/auth"),
        app.get("/api/v1/auth").header("authorization", ""),
    ] {
        let (status, body) = json(request.send().await.unwrap()).await;
        assert_eq!(status, 401);
        assert_eq!(code(&body), "USER_AUTH_TOKEN_NOT_FOUND");
    }
}
db_test!(no_credentials_is_401_user_auth_token_not_found);

async fn every_bad_token_is_401_with_the_same_envelope(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let now = tokens::now();
    let key = TestKey::primary();
    let claims = |patch: Value| {
        let mut c = firebase_claims("user-1", "a@example.com", now);
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let sign = |patch: Value| key.sign(&key.header(), &claims(patch));
    let cases: Vec<(&str, String)> = vec![
        (
            "signed by another key",
            TestKey::other().sign(&key.header(), &claims(json!({}))),
        ),
        ("alg none", unsigned(&claims(json!({})))),
        (
            "HS256 with the public key as secret",
            sign_hs256(
                &key.public_key_der(),
                &json!({"alg": "HS256", "kid": PRIMARY_KID}),
                &claims(json!({})),
            ),
        ),
        ("iat in the future", sign(json!({"iat": now + 3600}))),
        ("wrong aud", sign(json!({"aud": "someone-else"}))),
        (
            "wrong iss",
            sign(json!({"iss": "https://securetoken.google.com/someone-else"})),
        ),
        ("empty sub", sign(json!({"sub": ""}))),
        ("129-char sub", sign(json!({"sub": "s".repeat(129)}))),
        (
            "exp as a string",
            sign(json!({"exp": (now + 3600).to_string()})),
        ),
        (
            "unknown kid",
            key.sign(
                &json!({"alg": "RS256", "kid": "unknown"}),
                &claims(json!({})),
            ),
        ),
        ("garbage", "garbage".into()),
        ("not a bearer scheme", String::new()),
    ];

    let mut bodies = Vec::new();
    for (name, token) in cases {
        let request = if name == "not a bearer scheme" {
            app.get("/api/v1/auth")
                .header("authorization", "Basic dXNlcjpwYXNz")
        } else {
            app.get("/api/v1/auth").bearer_auth(&token)
        };
        let (status, body) = json(request.send().await.unwrap()).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_eq!(code(&body), "INVALID_TOKEN", "{name}");
        bodies.push((name, body));
    }
    let invalid_token_bodies: Vec<_> = bodies
        .iter()
        .filter(|(n, _)| *n != "not a bearer scheme")
        .collect();
    for (name, body) in &invalid_token_bodies {
        assert_eq!(
            body, &invalid_token_bodies[0].1,
            "{name} must be indistinguishable"
        );
    }

    let (status, body) = json(
        app.get("/api/v1/auth")
            .bearer_auth(sign(json!({"exp": now - 10})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "USER_AUTH_TOKEN_EXPIRED");
}
db_test!(every_bad_token_is_401_with_the_same_envelope);

async fn an_unknown_api_key_is_401_invalid_api_key(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let fake_key = format!("jet_{}", "0".repeat(64));
    for header in [format!("api_key {fake_key}"), format!("Bearer {fake_key}")] {
        let (status, body) = app.call("GET", "/api/v1/auth", &header, None).await;
        assert_eq!(status, 401);
        assert_eq!(code(&body), "INVALID_API_KEY");
    }
}
db_test!(an_unknown_api_key_is_401_invalid_api_key);

async fn local_identity_mode_trusts_the_data_directory_key(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.identity = IdentitySettings::Local).await
    else {
        return;
    };
    let key = LocalSigningKey::load_or_create(&app.database.dir.path().join("data")).unwrap();
    let token = key.mint(
        "bob@example.com",
        Some("Bob"),
        Duration::from_secs(300),
        tokens::now(),
    );

    let (status, body) = app.call("GET", "/api/v1/auth", &bearer(&token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["email"], "bob@example.com");
    assert_eq!(body["data"]["displayName"], "Bob");

    let firebase = app.token_for("u", "a@example.com");
    let (status, _) = app
        .call("GET", "/api/v1/auth", &bearer(&firebase), None)
        .await;
    assert_eq!(status, 401, "a Firebase token means nothing in local mode");
}
db_test!(local_identity_mode_trusts_the_data_directory_key);
