//! Every token rule, table-driven, through the public verifier API with offline test keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use identity::{
    Error, JwksHttpSource, KeySet, KeySource, LocalSigningKey, Provider, StaticKeySource,
    TokenVerifier, VerifierConfig,
};
use serde_json::{Value, json};
use test_support::tokens::{
    self, PRIMARY_KID, PROJECT_ID, TestKey, firebase_claims, sign_hs256, unsigned,
};

const NOW: i64 = 1_800_000_000;

fn firebase_verifier() -> TokenVerifier {
    let jwks = TestKey::primary().jwks().to_string();
    let set = KeySet::from_jwks(jwks.as_bytes(), Duration::from_secs(3600)).unwrap();
    TokenVerifier::firebase(
        PROJECT_ID,
        Arc::new(StaticKeySource(set)),
        &VerifierConfig::default(),
    )
}

fn with(patch: Value) -> Value {
    let mut claims = firebase_claims("user-1", "a@example.com", NOW);
    for (key, value) in patch.as_object().unwrap() {
        claims[key] = value.clone();
    }
    claims
}

fn outcome(result: Result<identity::VerifiedIdentity, Error>) -> Result<(), String> {
    result.map(|_| ()).map_err(|e| match e {
        Error::Rejected(reason) => format!("{reason:?}"),
        Error::Expired => "Expired".into(),
        other => other.to_string(),
    })
}

#[tokio::test]
async fn firebase_tokens_are_checked_against_every_rule() {
    let key = TestKey::primary();
    let header = key.header();
    let sign = |claims: Value| key.sign(&header, &claims);
    let local_dir = tempfile::tempdir().unwrap();
    let local_token = LocalSigningKey::load_or_create(local_dir.path())
        .unwrap()
        .mint("a@example.com", None, Duration::from_secs(60), NOW);

    let valid = sign(with(json!({})));
    let (valid_head, _) = valid.rsplit_once('.').unwrap();
    let other_payload = sign(with(json!({"sub": "someone-else"})));
    let tampered = format!(
        "{}.{}",
        other_payload.rsplit_once('.').unwrap().0,
        valid.rsplit_once('.').unwrap().1
    );

    let cases: Vec<(&str, String, Result<(), &str>)> = vec![
        ("valid", valid.clone(), Ok(())),
        (
            "signed by another key",
            TestKey::other().sign(&header, &with(json!({}))),
            Err("BadSignature"),
        ),
        (
            "payload swapped under a valid signature",
            tampered,
            Err("BadSignature"),
        ),
        (
            "signature stripped",
            format!("{valid_head}."),
            Err("BadSignature"),
        ),
        (
            "alg none",
            unsigned(&with(json!({}))),
            Err("UnsupportedAlgorithm"),
        ),
        (
            "HS256 with the public key as secret",
            sign_hs256(
                &key.public_key_der(),
                &json!({"alg": "HS256", "kid": PRIMARY_KID}),
                &with(json!({})),
            ),
            Err("UnsupportedAlgorithm"),
        ),
        (
            "EdDSA token from local identity",
            local_token,
            Err("UnsupportedAlgorithm"),
        ),
        (
            "expired",
            sign(with(json!({"exp": NOW - 1}))),
            Err("Expired"),
        ),
        (
            "iat in the future",
            sign(with(json!({"iat": NOW + 600}))),
            Err("IssuedInFuture"),
        ),
        (
            "auth_time in the future",
            sign(with(json!({"auth_time": NOW + 600}))),
            Err("AuthTimeInFuture"),
        ),
        (
            "wrong aud",
            sign(with(json!({"aud": "another-project"}))),
            Err("WrongAudience"),
        ),
        (
            "wrong iss",
            sign(with(
                json!({"iss": "https://securetoken.google.com/another-project"}),
            )),
            Err("WrongIssuer"),
        ),
        (
            "empty sub",
            sign(with(json!({"sub": ""}))),
            Err("InvalidSubject"),
        ),
        (
            "129-char sub",
            sign(with(json!({"sub": "x".repeat(129)}))),
            Err("InvalidSubject"),
        ),
        (
            "exp as a string",
            sign(with(json!({"exp": (NOW + 3600).to_string()}))),
            Err("InvalidClaims"),
        ),
        (
            "unknown kid",
            key.sign(&json!({"alg": "RS256", "kid": "nobody"}), &with(json!({}))),
            Err("UnknownKeyId"),
        ),
        (
            "no kid",
            key.sign(&json!({"alg": "RS256"}), &with(json!({}))),
            Err("UnknownKeyId"),
        ),
        ("garbage", "definitely-not-a-token".into(), Err("Malformed")),
        ("empty", String::new(), Err("Malformed")),
    ];

    let verifier = firebase_verifier();
    for (name, token, expected) in cases {
        let expected = expected.map_err(str::to_string);
        assert_eq!(
            outcome(verifier.verify(&token, NOW).await),
            expected,
            "case: {name}"
        );
    }
}

#[tokio::test]
async fn a_valid_firebase_token_yields_the_identity() {
    let token = TestKey::primary().firebase_token("user-42", "bob@example.com", NOW);
    let identity = firebase_verifier().verify(&token, NOW).await.unwrap();
    assert_eq!(identity.subject, "user-42");
    assert_eq!(identity.email.as_deref(), Some("bob@example.com"));
    assert!(identity.email_verified);
    assert_eq!(identity.provider, Provider::Firebase);
}

#[tokio::test]
async fn local_mode_accepts_its_own_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let key = LocalSigningKey::load_or_create(dir.path()).unwrap();
    let verifier = TokenVerifier::local(&key, &VerifierConfig::default());
    let foreign_dir = tempfile::tempdir().unwrap();
    let foreign = LocalSigningKey::load_or_create(foreign_dir.path()).unwrap();

    let identity = verifier
        .verify(
            &key.mint(
                "Alice@Example.com",
                Some("Alice"),
                Duration::from_secs(60),
                NOW,
            ),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(identity.email.as_deref(), Some("alice@example.com"));
    assert_eq!(identity.name.as_deref(), Some("Alice"));
    assert_eq!(identity.provider, Provider::Local);

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "another data dir's key",
            foreign.mint("a@b.c", None, Duration::from_secs(60), NOW),
            "UnknownKeyId",
        ),
        (
            "an RS256 Firebase token",
            TestKey::primary().firebase_token("u", "a@b.c", NOW),
            "UnsupportedAlgorithm",
        ),
        (
            "expired",
            key.mint("a@b.c", None, Duration::from_secs(60), NOW - 120),
            "Expired",
        ),
    ];
    for (name, token, expected) in cases {
        assert_eq!(
            outcome(verifier.verify(&token, NOW).await),
            Err(expected.to_string()),
            "{name}"
        );
    }
}

#[tokio::test]
async fn real_time_tokens_pass_with_the_real_clock() {
    let now = tokens::now();
    let token = TestKey::primary().firebase_token("user-1", "a@example.com", now);
    firebase_verifier().verify(&token, now).await.unwrap();
}

/// Serves one HTTP response per connection, as Google's key endpoint would.
async fn serve_once(body: String, cache_control: &'static str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: {cache_control}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.unwrap();
    });
    format!("http://{address}/jwks")
}

#[tokio::test]
async fn the_http_source_reads_keys_and_max_age() {
    let url = serve_once(
        TestKey::primary().jwks().to_string(),
        "public, max-age=19770, must-revalidate",
    )
    .await;
    let set = JwksHttpSource::new(url).unwrap().fetch().await.unwrap();
    assert!(set.keys.contains_key(PRIMARY_KID));
    assert_eq!(set.max_age, Duration::from_secs(19770));
}

#[tokio::test]
async fn the_http_source_reports_an_unreachable_endpoint() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let error = JwksHttpSource::new(format!("http://{address}/jwks"))
        .unwrap()
        .fetch()
        .await
        .unwrap_err();
    assert!(error.contains("GET"), "{error}");
}
