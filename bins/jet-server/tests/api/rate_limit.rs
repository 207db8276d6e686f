//! 429 `RATE_LIMITED` with `Retry-After`, per client IP and per principal.

use test_support::{Backend, db_test};

use crate::helpers::{TestApp, bearer, code, json};

async fn the_per_ip_limit_answers_429_with_retry_after(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |s| s.rate_limits.per_ip_per_minute = 3).await
    else {
        return;
    };
    for _ in 0..3 {
        assert_eq!(app.get("/health").send().await.unwrap().status(), 200);
    }

    let refused = app.get("/health").send().await.unwrap();

    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert!(refused.headers().get("x-request-id").is_some());
    let (_, body) = json(refused).await;
    assert_eq!(code(&body), "RATE_LIMITED");
}
db_test!(the_per_ip_limit_answers_429_with_retry_after);

async fn the_per_principal_limit_counts_each_caller_separately(backend: Backend) {
    let Some(app) =
        TestApp::spawn_with(backend, |s| s.rate_limits.per_principal_per_minute = 2).await
    else {
        return;
    };
    let alice = app.token_for("alice", "alice@example.com");
    let bob = app.token_for("bob", "bob@example.com");
    for _ in 0..2 {
        let (status, _) = app.call("GET", "/api/v1/auth", &bearer(&alice), None).await;
        assert_eq!(status, 200);
    }

    let refused = app
        .get("/api/v1/auth")
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));

    let (status, _) = app.call("GET", "/api/v1/auth", &bearer(&bob), None).await;
    assert_eq!(status, 200, "another principal has its own budget");
}
db_test!(the_per_principal_limit_counts_each_caller_separately);
