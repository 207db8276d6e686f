//! API keys over HTTP: issued once, act in their tenant with their roles, refused when disabled
//! or deleted, never shown again, never able to exceed their creator.

use serde_json::{Value, json};
use test_support::{Backend, db_test};

use crate::helpers::{TestApp, code, json};

async fn role_id(app: &TestApp, token: &str, tenant: &str, title: &str) -> Value {
    let (_, roles) = json(
        app.get(&format!("/api/v1/tenants/{tenant}/roles"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    roles["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["roleTitle"] == title)
        .unwrap()["roleID"]
        .clone()
}

async fn an_api_key_acts_in_its_tenant_with_its_roles_until_disabled(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.token_for("alice", "alice@example.com");
    let create = |title: &str| {
        app.post("/api/v1/tenants")
            .bearer_auth(&alice)
            .json(&json!({"tenantTitle": title}))
            .send()
    };
    let (_, t) = json(create("T").await.unwrap()).await;
    let (_, u) = json(create("U").await.unwrap()).await;
    let t = t["data"]["tenantID"].as_str().unwrap().to_string();
    let u = u["data"]["tenantID"].as_str().unwrap().to_string();
    let editor = role_id(&app, &alice, &t, "Editor").await;

    let (status, issued) = json(
        app.post(&format!("/api/v1/tenants/{t}/apikeys"))
            .bearer_auth(&alice)
            .json(&json!({"apiKeyTitle": "CI", "roleIDs": [editor]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let raw = issued["data"]["apiKey"].as_str().unwrap().to_string();
    let key_id = issued["data"]["apiKeyID"].as_str().unwrap().to_string();
    assert!(raw.starts_with("jet_") && raw.len() == 68);
    assert!(raw.starts_with(issued["data"]["apiKeyPrefix"].as_str().unwrap()));
    let with_key = |path: String| {
        app.get(&path)
            .header("authorization", format!("api_key {raw}"))
    };

    // Works on its tenant, with Editor's rights (roles: list yes, apikeys: create no).
    let (status, _) = json(
        with_key(format!("/api/v1/tenants/{t}/roles"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, denied) = json(
        app.post(&format!("/api/v1/tenants/{t}/apikeys"))
            .header("authorization", format!("Bearer {raw}"))
            .json(&json!({"apiKeyTitle": "x"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(denied["error"]["required"], "apikey:create");
    // Another tenant of the same owner: 404.
    let (status, _) = json(
        with_key(format!("/api/v1/tenants/{u}/roles"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    // User-only routes refuse keys.
    let (status, _) = json(with_key("/api/v1/auth".into()).send().await.unwrap()).await;
    assert_eq!(status, 403);

    // The raw key never appears again.
    for path in [
        format!("/api/v1/tenants/{t}/apikeys"),
        format!("/api/v1/tenants/{t}/apikeys/{key_id}"),
    ] {
        let text = app
            .get(&path)
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!text.contains(&raw[4..]), "{path} leaks the key");
        assert!(text.contains(&key_id));
    }
    let (_, listed) = json(
        app.get(&format!("/api/v1/tenants/{t}/apikeys"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert!(
        listed["data"][0]["lastUsedAt"].is_string(),
        "use is recorded"
    );

    // Disabled → 401 INVALID_API_KEY; enabled again → works; deleted → 401.
    let patch = |body: Value| {
        app.client
            .patch(app.url(&format!("/api/v1/tenants/{t}/apikeys/{key_id}")))
            .bearer_auth(&alice)
            .json(&body)
            .send()
    };
    let (status, changed) = json(
        patch(json!({"isDisabled": true, "apiKeyTitle": "CI (off)"}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["data"]["apiKeyTitle"], "CI (off)");
    let (status, body) = json(
        with_key(format!("/api/v1/tenants/{t}/roles"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "INVALID_API_KEY"));
    json(patch(json!({"isDisabled": false})).await.unwrap()).await;
    let (status, _) = json(
        with_key(format!("/api/v1/tenants/{t}/roles"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);

    let (status, clone) = json(
        app.post(&format!("/api/v1/tenants/{t}/apikeys/{key_id}/clone"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{clone}");
    assert_eq!(clone["data"]["isDisabled"], true, "a clone starts disabled");
    assert_ne!(
        clone["data"]["apiKey"].as_str().unwrap(),
        raw,
        "with a new secret"
    );
    assert_eq!(clone["data"]["roleIDs"], issued["data"]["roleIDs"]);

    let (status, _) = json(
        app.client
            .delete(app.url(&format!("/api/v1/tenants/{t}/apikeys/{key_id}")))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let (status, body) = json(
        with_key(format!("/api/v1/tenants/{t}/roles"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code(&body)), (401, "INVALID_API_KEY"));
    let (status, _) = json(
        app.get(&format!("/api/v1/tenants/{t}/apikeys/{key_id}"))
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
}
db_test!(an_api_key_acts_in_its_tenant_with_its_roles_until_disabled);

async fn keys_are_validated_and_cannot_exceed_their_creator(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.token_for("alice", "alice@example.com");
    let (_, t) = json(
        app.post("/api/v1/tenants")
            .bearer_auth(&alice)
            .json(&json!({"tenantTitle": "T"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let t = t["data"]["tenantID"].as_str().unwrap().to_string();
    let (_, u) = json(
        app.post("/api/v1/tenants")
            .bearer_auth(&alice)
            .json(&json!({"tenantTitle": "U"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let u = u["data"]["tenantID"].as_str().unwrap().to_string();
    let foreign_role = role_id(&app, &alice, &u, "Admin").await;

    let cases = [
        (json!({"apiKeyTitle": ""}), "apiKeyTitle"),
        (
            json!({"apiKeyTitle": "x", "roleIDs": [foreign_role]}),
            "roleIDs",
        ),
        (
            json!({"apiKeyTitle": "x", "roleIDs": ["not-a-uuid"]}),
            "roleIDs[0]",
        ),
        (json!({"roleIDs": []}), "apiKeyTitle"),
    ];
    for (body, field) in cases {
        let (status, answer) = json(
            app.post(&format!("/api/v1/tenants/{t}/apikeys"))
                .bearer_auth(&alice)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }

    // A Viewer-keyed key cannot mint an Admin key: it lacks apikey:create anyway; an Editor user
    // cannot either. Escalation is checked for a holder of apikey:create with fewer rights than
    // the roles asked for, which needs custom roles (next step); here: the route check holds.
    let viewer = role_id(&app, &alice, &t, "Viewer").await;
    let (_, issued) = json(
        app.post(&format!("/api/v1/tenants/{t}/apikeys"))
            .bearer_auth(&alice)
            .json(&json!({"apiKeyTitle": "v", "roleIDs": [viewer]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let raw = issued["data"]["apiKey"].as_str().unwrap();
    let admin = role_id(&app, &alice, &t, "Admin").await;
    let (status, body) = json(
        app.post(&format!("/api/v1/tenants/{t}/apikeys"))
            .header("authorization", format!("api_key {raw}"))
            .json(&json!({"apiKeyTitle": "escalate", "roleIDs": [admin]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, code(&body)), (403, "PERMISSION_DENIED"));
}
db_test!(keys_are_validated_and_cannot_exceed_their_creator);
