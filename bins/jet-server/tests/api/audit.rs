//! The audit trail over HTTP: calls recorded with their principals, secrets never in it, and a
//! graceful stop loses nothing.

use std::time::{Duration, Instant};

use jet_server::startup::Application;
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use test_support::{Backend, TestDatabase, db_test};

use crate::helpers::{TestApp, bearer, json, test_overrides, test_settings};

/// Polls the trail until `count` entries match or the writer's 5-second interval has surely
/// passed (the writer flushes at 10 entries or every 5 seconds).
pub async fn trail(
    app: &TestApp,
    token: &str,
    tenant: &str,
    query: &str,
    count: usize,
) -> Vec<Value> {
    trail_until(app, token, tenant, query, |entries| entries.len() >= count).await
}

/// Polls the trail until `done` holds for its entries or the writer's interval has surely passed.
pub async fn trail_until(
    app: &TestApp,
    token: &str,
    tenant: &str,
    query: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(12);
    loop {
        let (status, body) = app
            .call(
                "GET",
                &format!("/api/v1/tenants/{tenant}/audit?pageSize=200{query}"),
                &bearer(token),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let entries = body["data"].as_array().unwrap().clone();
        if done(&entries) || Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn calls_are_recorded_with_principals_and_without_secrets(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.token_for("alice", "alice@example.com");
    let t = app.create_tenant(&alice, "T").await;
    let editor = app.role_id(&alice, &t, "Editor").await;
    let (_, issued) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{t}/apikeys"),
            &bearer(&alice),
            Some(json!({"apiKeyTitle": "ci", "roleIDs": [editor]})),
        )
        .await;
    let raw = issued["data"]["apiKey"].as_str().unwrap().to_string();
    let key_id = issued["data"]["apiKeyID"].as_str().unwrap().to_string();
    let (status, _) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{t}/roles"),
            &format!("api_key {raw}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    // A body with secrets in it (refused, but still audited).
    let (status, _) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{t}/apikeys"),
            &bearer(&alice),
            Some(json!({"apiKeyTitle": "x", "password": "hunter2", "copyOf": raw})),
        )
        .await;
    assert_eq!(status, 400);

    let entries = trail(&app, &alice, &t, "", 5).await;
    assert!(entries.len() >= 4, "{entries:#?}");
    let everything = serde_json::to_string(&entries).unwrap();
    assert!(
        !everything.contains(&raw[4..]),
        "the raw key is in the trail"
    );
    assert!(!everything.contains("hunter2"));
    assert!(!everything.contains("Bearer"));
    let by_key: Vec<&Value> = entries
        .iter()
        .filter(|e| e["apiKeyID"] == key_id.as_str())
        .collect();
    assert_eq!(by_key.len(), 1, "{entries:#?}");
    assert_eq!(by_key[0]["route"], "/api/v1/tenants/{tenantID}/roles");
    assert_eq!(by_key[0]["success"], true);
    let refused = entries.iter().find(|e| e["statusCode"] == 400).unwrap();
    assert!(
        refused["requestBody"]
            .as_str()
            .unwrap()
            .contains("[REDACTED]")
    );
    assert_eq!(refused["success"], false);
    assert!(entries.iter().all(|e| e["tenantID"] == t.as_str()));

    let filtered = trail(&app, &alice, &t, &format!("&apiKeyID={key_id}"), 1).await;
    assert_eq!(filtered.len(), 1);
    let failures = trail(&app, &alice, &t, "&success=false", 1).await;
    assert!(!failures.is_empty(), "the refused call is not in the trail");
    assert!(failures.iter().all(|e| e["success"] == false));
    let (status, _) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{t}/audit?pageSize=lots"),
            &bearer(&alice),
            None,
        )
        .await;
    assert_eq!(status, 400);
}
db_test!(calls_are_recorded_with_principals_and_without_secrets);

async fn a_graceful_stop_writes_every_queued_entry(backend: Backend) {
    let Some(database) = TestDatabase::new(backend).await else {
        return;
    };
    let app = Application::build(test_settings(&database), test_overrides())
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let running = tokio::spawn(app.run_until_stopped());
    let client = test_support::http::client();
    let token = test_support::tokens::TestKey::primary().firebase_token(
        "alice",
        "alice@example.com",
        test_support::tokens::now(),
    );

    // Four audited calls: fewer than a batch, well within the 5-second interval.
    let (_, t) = json(
        client
            .post(format!("{base}/api/v1/tenants"))
            .bearer_auth(&token)
            .json(&json!({"tenantTitle": "T"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let t = t["data"]["tenantID"].as_str().unwrap().to_string();
    for path in [
        format!("/api/v1/tenants/{t}"),
        format!("/api/v1/tenants/{t}/roles"),
        "/api/v1/auth".to_string(),
    ] {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    }
    handle.stop(true).await;
    running.await.unwrap().unwrap();

    let db = sea_orm::Database::connect(&database.url).await.unwrap();
    let stored = db_entity::audit_logs::Entity::find()
        .count(&db)
        .await
        .unwrap();
    assert_eq!(stored, 4);
}
db_test!(a_graceful_stop_writes_every_queued_entry);
