//! Tenant management over HTTP: changing, disabling and deleting a tenant; preferences; members
//! and the last-admin rule; roles and escalation; folders; paging.

use serde_json::{Value, json};
use test_support::{Backend, db_test};

use crate::helpers::{TestApp, code};

struct Tenant {
    app: TestApp,
    id: String,
    alice_token: String,
    alice: String,
    bob: String,
}

/// Alice's tenant with Bob invited as Viewer.
async fn tenant_with_viewer(backend: Backend) -> Option<Tenant> {
    let app = TestApp::spawn(backend).await?;
    let alice_token = app.token_for("alice", "alice@example.com");
    let alice = format!("Bearer {alice_token}");
    let bob = format!("Bearer {}", app.token_for("bob", "bob@example.com"));
    let id = app.create_tenant(&alice_token, "T").await;
    let (status, body) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{id}/users"),
            &alice,
            Some(json!({"email": "bob@example.com"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["data"]["status"], "pending",
        "Bob has not signed in yet"
    );
    Some(Tenant {
        app,
        id,
        alice_token,
        alice,
        bob,
    })
}

impl Tenant {
    async fn call(
        &self,
        method: &str,
        path: &str,
        auth: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let path = format!("/api/v1/tenants/{}{path}", self.id);
        self.app.call(method, &path, auth, body).await
    }
}

async fn disabled_tenants_serve_only_their_admins_reads_and_re_enabling(backend: Backend) {
    let Some(t) = tenant_with_viewer(backend).await else {
        return;
    };
    let (status, body) = t.call("GET", "/roles", &t.bob, None).await;
    assert_eq!(status, 200, "Bob took up the invitation on sign-in: {body}");

    let (status, body) = t
        .call(
            "PATCH",
            "",
            &t.alice,
            Some(json!({"tenantTitle": "Renamed", "isDisabled": true, "disableReason": "billing"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["tenantTitle"], "Renamed");
    assert_eq!(body["data"]["isDisabled"], true);
    assert_eq!(body["data"]["disableReason"], "billing");

    let (status, body) = t.call("GET", "/roles", &t.bob, None).await;
    assert_eq!((status, code(&body)), (403, "TENANT_DISABLED"), "{body}");
    let (status, body) = t.call("GET", "/roles", &t.alice, None).await;
    assert_eq!(status, 200, "admins still read: {body}");
    let (status, body) = t
        .call("POST", "/roles", &t.alice, Some(json!({"roleTitle": "X"})))
        .await;
    assert_eq!((status, code(&body)), (403, "TENANT_DISABLED"), "{body}");
    let (status, body) = t
        .call("PATCH", "", &t.alice, Some(json!({"tenantTitle": "Nope"})))
        .await;
    assert_eq!((status, code(&body)), (403, "TENANT_DISABLED"), "{body}");
    let (status, body) = t
        .call("PATCH", "", &t.bob, Some(json!({"isDisabled": false})))
        .await;
    assert_eq!((status, code(&body)), (403, "TENANT_DISABLED"), "{body}");

    let (status, body) = t
        .call("PATCH", "", &t.alice, Some(json!({"isDisabled": false})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["disableReason"], Value::Null);
    let (status, _) = t.call("GET", "/roles", &t.bob, None).await;
    assert_eq!(status, 200);

    // Bob (Viewer) cannot delete it; Alice can, and then it is gone for everyone.
    let (status, body) = t.call("DELETE", "", &t.bob, None).await;
    assert_eq!(
        (status, body["error"]["required"].as_str()),
        (403, Some("tenant:delete"))
    );
    let (status, _) = t.call("DELETE", "", &t.alice, None).await;
    assert_eq!(status, 200);
    for who in [&t.alice, &t.bob] {
        let (status, _) = t.call("GET", "", who, None).await;
        assert_eq!(status, 404);
    }
    let (_, mine) = t.app.call("GET", "/api/v1/tenants", &t.alice, None).await;
    assert_eq!(mine["total"], 0, "{mine}");
}
db_test!(disabled_tenants_serve_only_their_admins_reads_and_re_enabling);

async fn preferences_are_per_member(backend: Backend) {
    let Some(t) = tenant_with_viewer(backend).await else {
        return;
    };
    let path = format!("/api/v1/auth/config/{}", t.id);
    let (status, body) = t.app.call("GET", &path, &t.alice, None).await;
    assert_eq!((status, &body["data"]["config"]), (200, &json!({})));
    let saved = json!({"config": {"theme": "dark", "sidebar": [1, 2]}});
    let (status, body) = t.app.call("POST", &path, &t.alice, Some(saved)).await;
    assert_eq!(status, 200, "{body}");
    let (_, body) = t.app.call("GET", &path, &t.alice, None).await;
    assert_eq!(body["data"]["config"]["theme"], "dark");
    let (_, body) = t.app.call("GET", &path, &t.bob, None).await;
    assert_eq!(body["data"]["config"], json!({}), "Bob has his own");

    let (status, body) = t
        .app
        .call("POST", &path, &t.alice, Some(json!({"config": [1]})))
        .await;
    assert_eq!((status, code(&body)), (400, "VALIDATION_ERROR"), "{body}");
    let carol = format!("Bearer {}", t.app.token_for("carol", "carol@example.com"));
    let (status, _) = t.app.call("GET", &path, &carol, None).await;
    assert_eq!(status, 404);
    let unknown = format!("/api/v1/auth/config/{}", uuid::Uuid::now_v7());
    let (status, _) = t.app.call("GET", &unknown, &t.alice, None).await;
    assert_eq!(status, 404);
}
db_test!(preferences_are_per_member);

async fn members_roles_and_the_last_admin(backend: Backend) {
    let Some(t) = tenant_with_viewer(backend).await else {
        return;
    };
    let (_, me) = t.app.call("GET", "/api/v1/auth", &t.alice, None).await;
    let alice_id = me["data"]["userID"].as_str().unwrap().to_string();
    let viewer = t.app.role_id(&t.alice_token, &t.id, "Viewer").await;
    let admin = t.app.role_id(&t.alice_token, &t.id, "Admin").await;

    let (status, body) = t
        .call("DELETE", &format!("/users/{alice_id}"), &t.alice, None)
        .await;
    assert_eq!((status, code(&body)), (409, "LAST_ADMIN"), "{body}");
    let (status, body) = t
        .call(
            "PATCH",
            &format!("/users/{alice_id}/roles"),
            &t.alice,
            Some(json!({"roleIDs": [viewer]})),
        )
        .await;
    assert_eq!((status, code(&body)), (409, "LAST_ADMIN"), "{body}");

    // Paging and search over members.
    let (status, page) = t
        .call("GET", "/users?pageSize=1&page=2", &t.alice, None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        (page["total"].as_u64(), page["pageSize"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 1);
    let (_, found) = t.call("GET", "/users?search=BOB", &t.alice, None).await;
    assert_eq!(found["total"], 1, "{found}");
    let bob_member = found["data"][0]["memberID"].as_str().unwrap().to_string();
    let (status, body) = t.call("GET", "/users?pageSize=500", &t.alice, None).await;
    assert_eq!((status, code(&body)), (400, "VALIDATION_ERROR"));

    // Promote Bob: a pending admin does not count, so Alice still cannot step down…
    let (status, body) = t
        .call(
            "PATCH",
            &format!("/users/{bob_member}/roles"),
            &t.alice,
            Some(json!({"roleIDs": [admin]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["relationship"], "ADMIN");
    let demote_alice = json!({"roleIDs": [viewer]});
    let alice_roles = format!("/users/{alice_id}/roles");
    let (status, body) = t
        .call("PATCH", &alice_roles, &t.alice, Some(demote_alice.clone()))
        .await;
    assert_eq!((status, code(&body)), (409, "LAST_ADMIN"), "{body}");
    // … until Bob signs in and takes the invitation up.
    let (status, _) = t.app.call("GET", "/api/v1/auth", &t.bob, None).await;
    assert_eq!(status, 200);
    let (status, body) = t
        .call("PATCH", &alice_roles, &t.alice, Some(demote_alice))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["relationship"], "MEMBER");
    let (status, body) = t
        .call("POST", "/roles", &t.alice, Some(json!({"roleTitle": "X"})))
        .await;
    assert_eq!(
        (status, body["error"]["required"].as_str()),
        (403, Some("role:create")),
        "Alice's own rights changed at once"
    );
}
db_test!(members_roles_and_the_last_admin);

async fn roles_are_managed_without_escalation(backend: Backend) {
    let Some(t) = tenant_with_viewer(backend).await else {
        return;
    };
    let workflow = uuid::Uuid::now_v7();
    let (status, created) = t
        .call(
            "POST",
            "/roles",
            &t.alice,
            Some(json!({
                "roleTitle": "Role manager",
                "roleDescription": "manages roles",
                "permissions": ["role:list", "role:create", "role:read"],
                "assetPermissions": [{"resourceType": "workflow", "resourceID": workflow, "action": "execute"}]
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let role_id = created["data"]["roleID"].as_str().unwrap().to_string();
    assert_eq!(
        created["data"]["assetPermissions"][0]["resourceID"],
        workflow.to_string()
    );
    let (status, body) = t
        .call(
            "POST",
            "/roles",
            &t.alice,
            Some(json!({"roleTitle": "role MANAGER"})),
        )
        .await;
    assert_eq!((status, code(&body)), (409, "CONFLICT"), "{body}");
    let (status, body) = t
        .call(
            "POST",
            "/roles",
            &t.alice,
            Some(json!({"roleTitle": "Bad", "permissions": ["role:fly"]})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("permissions")),
        "{body}"
    );

    // Bob gets the role manager role: he can create roles, but none granting more than he holds.
    let (_, found) = t.call("GET", "/users?search=bob", &t.alice, None).await;
    let bob_member = found["data"][0]["memberID"].as_str().unwrap().to_string();
    let (status, body) = t
        .call(
            "PATCH",
            &format!("/users/{bob_member}/roles"),
            &t.alice,
            Some(json!({"roleIDs": [role_id]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = t
        .call(
            "POST",
            "/roles",
            &t.bob,
            Some(json!({"roleTitle": "Escalate", "permissions": ["user:delete"]})),
        )
        .await;
    assert_eq!((status, code(&body)), (403, "PERMISSION_DENIED"), "{body}");
    let (status, body) = t
        .call(
            "POST",
            "/roles",
            &t.bob,
            Some(json!({"roleTitle": "Subset", "permissions": ["role:list"]})),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Read, change, delete; built-in roles refuse.
    let (status, body) = t
        .call("GET", &format!("/roles/{role_id}"), &t.alice, None)
        .await;
    assert_eq!(
        (status, body["data"]["roleTitle"].as_str()),
        (200, Some("Role manager"))
    );
    let (status, body) = t
        .call(
            "PATCH",
            &format!("/roles/{role_id}"),
            &t.alice,
            Some(json!({"roleDescription": null, "permissions": ["role:list"]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["roleDescription"], Value::Null);
    assert_eq!(body["data"]["permissions"], json!(["role:list"]));
    assert_eq!(
        body["data"]["assetPermissions"].as_array().unwrap().len(),
        1,
        "kept"
    );
    let (status, body) = t
        .call(
            "POST",
            "/roles",
            &t.bob,
            Some(json!({"roleTitle": "Later"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["required"].as_str()),
        (403, Some("role:create")),
        "Bob lost role:create at once: {body}"
    );
    let admin = t.app.role_id(&t.alice_token, &t.id, "Admin").await;
    let admin = admin.as_str().unwrap();
    let (status, body) = t
        .call(
            "PATCH",
            &format!("/roles/{admin}"),
            &t.alice,
            Some(json!({"roleTitle": "Boss"})),
        )
        .await;
    assert_eq!((status, code(&body)), (409, "PROTECTED_ROLE"), "{body}");
    let (status, body) = t
        .call("DELETE", &format!("/roles/{admin}"), &t.alice, None)
        .await;
    assert_eq!((status, code(&body)), (409, "PROTECTED_ROLE"), "{body}");
    let (status, _) = t
        .call("DELETE", &format!("/roles/{role_id}"), &t.alice, None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = t
        .call("GET", &format!("/roles/{role_id}"), &t.alice, None)
        .await;
    assert_eq!(status, 404);
    let (_, body) = t.call("GET", "/users?search=bob", &t.alice, None).await;
    assert_eq!(
        body["data"][0]["roleIDs"],
        json!([]),
        "holders lost the role"
    );
}
db_test!(roles_are_managed_without_escalation);

async fn folders_form_a_tree_without_cycles(backend: Backend) {
    let Some(t) = tenant_with_viewer(backend).await else {
        return;
    };
    let create = async |title: &str, parent: Option<&str>| {
        let (status, body) = t
            .call(
                "POST",
                "/folders",
                &t.alice,
                Some(json!({"folderTitle": title, "entityType": "workflow", "parentFolderID": parent})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["data"]["folderID"].as_str().unwrap().to_string()
    };
    let top = create("Top", None).await;
    let middle = create("Middle", Some(&top)).await;
    let leaf = create("Leaf", Some(&middle)).await;

    let (status, body) = t
        .call(
            "PATCH",
            &format!("/folders/{top}"),
            &t.alice,
            Some(json!({"parentFolderID": leaf})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("parentFolderID")),
        "{body}"
    );
    let (status, body) = t
        .call(
            "POST",
            "/folders",
            &t.alice,
            Some(json!({"folderTitle": "middle", "entityType": "workflow", "parentFolderID": top})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (409, "CONFLICT"),
        "sibling titles are unique: {body}"
    );
    let (status, body) = t
        .call(
            "POST",
            "/folders",
            &t.alice,
            Some(json!({"folderTitle": "Elsewhere", "entityType": "dataQuery", "parentFolderID": top})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (409, Some("parentFolderID")),
        "a parent of another type is no folder of this type: {body}"
    );

    // Deleting the middle folder promotes the leaf.
    let (status, _) = t
        .call("DELETE", &format!("/folders/{middle}"), &t.alice, None)
        .await;
    assert_eq!(status, 200);
    let (status, list) = t
        .call("GET", "/folders?entityType=workflow", &t.alice, None)
        .await;
    assert_eq!((status, list["total"].as_u64()), (200, Some(2)), "{list}");
    let leaf_now = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["folderID"] == leaf.as_str())
        .unwrap();
    assert_eq!(leaf_now["parentFolderID"], top.as_str());
    let (status, body) = t
        .call(
            "PATCH",
            &format!("/folders/{leaf}"),
            &t.alice,
            Some(json!({"parentFolderID": null, "folderTitle": "Root leaf"})),
        )
        .await;
    assert_eq!(
        (status, &body["data"]["parentFolderID"]),
        (200, &Value::Null),
        "{body}"
    );
    let (_, other) = t
        .call("GET", "/folders?entityType=dataQuery", &t.alice, None)
        .await;
    assert_eq!(other["total"], 0);
    let (status, body) = t
        .call("GET", "/folders?entityType=dashboard", &t.alice, None)
        .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("entityType"))
    );

    // Items: the type is validated now; no workflow exists yet, so any id is unknown.
    let (status, body) = t
        .call(
            "POST",
            "/folders/move",
            &t.alice,
            Some(json!({"entityType": "workflow", "entityIDs": [], "folderID": top})),
        )
        .await;
    assert_eq!((status, &body["data"]["moved"]), (200, &json!(0)), "{body}");
    let (status, body) = t
        .call(
            "POST",
            "/folders/move",
            &t.alice,
            Some(json!({"entityType": "workflow", "entityIDs": [uuid::Uuid::now_v7()], "folderID": null})),
        )
        .await;
    assert_eq!(
        (status, code(&body), body["error"]["field"].as_str()),
        (409, "CONFLICT", Some("entityIDs")),
        "{body}"
    );
    let (status, body) = t
        .call(
            "POST",
            "/folders/move",
            &t.alice,
            Some(json!({"entityType": "chart", "entityIDs": []})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    // A Viewer may list folders but not file items.
    let (status, _) = t
        .call("GET", "/folders?entityType=workflow", &t.bob, None)
        .await;
    assert_eq!(status, 200);
    let (status, body) = t
        .call(
            "POST",
            "/folders/move",
            &t.bob,
            Some(json!({"entityType": "workflow", "entityIDs": []})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["required"].as_str()),
        (403, Some("folder:update"))
    );
}
db_test!(folders_form_a_tree_without_cycles);
