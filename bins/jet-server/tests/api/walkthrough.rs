//! The tenancy walk-through of the acceptance list, over real HTTP on SQLite and PostgreSQL:
//! Alice's tenant, Bob a stranger then an invited Viewer, an Editor API key scoped to its tenant,
//! disabled keys, and an audit trail that names principals and holds no secret.

use jet_server::http::access::Access;
use serde_json::json;
use test_support::{Backend, db_test};

use crate::audit::trail_until;
use crate::helpers::{TestApp, code, fill_path};

async fn alice_bob_and_an_editor_key(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice_token = app.token_for("alice", "alice@example.com");
    let bob_token = app.token_for("bob", "bob@example.com");
    let alice = format!("Bearer {alice_token}");
    let bob = format!("Bearer {bob_token}");

    // Alice creates T and is its admin.
    let t = app.create_tenant(&alice_token, "T").await;
    let u = app.create_tenant(&alice_token, "U").await;
    let (status, tenant) = app
        .call("GET", &format!("/api/v1/tenants/{t}"), &alice, None)
        .await;
    assert_eq!(
        (status, tenant["data"]["role"].as_str()),
        (200, Some("ADMIN"))
    );

    // Bob gets 404 on every route of T.
    let routes = jet_server::http::routes();
    for route in routes
        .iter()
        .filter(|r| matches!(r.access, Access::Tenant(_)))
    {
        let path = fill_path(route.path, &t);
        let (status, body) = app
            .call(route.method.as_str(), &path, &bob, Some(json!({})))
            .await;
        assert_eq!(status, 404, "{route:?}: {body}");
    }

    // Alice invites bob@ as Viewer; Bob, signed in, can list roles but not create one.
    let viewer = app.role_id(&alice_token, &t, "Viewer").await;
    let (status, invited) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{t}/users"),
            &alice,
            Some(json!({"email": "bob@example.com", "roleIDs": [viewer]})),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    let (status, roles) = app
        .call("GET", &format!("/api/v1/tenants/{t}/roles"), &bob, None)
        .await;
    assert_eq!(status, 200, "{roles}");
    assert_eq!(roles["total"], 3, "{roles}");
    let (status, denied) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{t}/roles"),
            &bob,
            Some(json!({"roleTitle": "Mine", "permissions": ["role:create"]})),
        )
        .await;
    assert_eq!(status, 403, "{denied}");
    assert_eq!(code(&denied), "PERMISSION_DENIED");
    assert_eq!(denied["error"]["required"], "role:create");

    // Alice creates an Editor key: it works on T, is a stranger on U.
    let editor = app.role_id(&alice_token, &t, "Editor").await;
    let (status, issued) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{t}/apikeys"),
            &alice,
            Some(json!({"apiKeyTitle": "ci", "roleIDs": [editor]})),
        )
        .await;
    assert_eq!(status, 201, "{issued}");
    let raw = issued["data"]["apiKey"].as_str().unwrap().to_string();
    let key_id = issued["data"]["apiKeyID"].as_str().unwrap().to_string();
    let key = format!("api_key {raw}");
    let (status, body) = app
        .call("GET", &format!("/api/v1/tenants/{t}/roles"), &key, None)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call("GET", &format!("/api/v1/tenants/{u}/roles"), &key, None)
        .await;
    assert_eq!(status, 404, "{body}");

    // Disabled: 401 INVALID_API_KEY.
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{t}/apikeys/{key_id}"),
            &alice,
            Some(json!({"isDisabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app
        .call("GET", &format!("/api/v1/tenants/{t}/roles"), &key, None)
        .await;
    assert_eq!((status, code(&body)), (401, "INVALID_API_KEY"), "{body}");

    // The raw key appears in no later response …
    let secret = &raw[4..];
    for path in [
        format!("/api/v1/tenants/{t}/apikeys"),
        format!("/api/v1/tenants/{t}/apikeys/{key_id}"),
        format!("/api/v1/tenants/{t}/users"),
    ] {
        let (status, body) = app.call("GET", &path, &alice, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(!body.to_string().contains(secret), "{path} leaks the key");
    }
    // … and in no audit row; the trail names the principals of those calls.
    let by = |entries: &[serde_json::Value], principal: &str, route: &str| {
        entries.iter().any(|e| {
            e["route"] == route
                && match principal {
                    "key" => e["apiKeyID"] == key_id.as_str(),
                    _ => e["userID"].is_string() && e["apiKeyID"].is_null(),
                }
        })
    };
    let expected = [
        ("user", "/api/v1/tenants/{tenantID}/users"),
        ("user", "/api/v1/tenants/{tenantID}/apikeys"),
        ("key", "/api/v1/tenants/{tenantID}/roles"),
    ];
    // The writer flushes in batches: wait until the last calls have landed.
    let entries = trail_until(&app, &alice_token, &t, "", |entries| {
        expected.iter().all(|(who, route)| by(entries, who, route))
    })
    .await;
    let text = serde_json::to_string(&entries).unwrap();
    assert!(!text.contains(secret), "the audit trail leaks the key");
    assert!(!text.contains(&alice_token) && !text.contains(&bob_token));
    for (who, route) in expected {
        assert!(by(&entries, who, route), "{who} {route}: {text}");
    }
    let bob_denied = entries.iter().any(|e| {
        e["method"] == "POST"
            && e["route"] == "/api/v1/tenants/{tenantID}/roles"
            && e["statusCode"] == 403
    });
    assert!(bob_denied, "Bob's refused POST /roles is recorded: {text}");
}
db_test!(alice_bob_and_an_editor_key);
