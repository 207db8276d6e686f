//! The isolation matrix: every route under `/api/v1/tenants/{tenantID}/…` in the server's route
//! table (`jet_server::http::ROUTES`) is checked for
//! - no credentials → 401;
//! - a user of another tenant → 404, the same body as for a tenant that does not exist;
//! - an API key of another tenant (with every permission there) → 404;
//! - a member lacking the route's permission → 403 `PERMISSION_DENIED` naming it in `required`.
//!
//! Routes are read from the table the server registers, so a new route is covered the moment it
//! exists; one that declares no permission fails here.

use chrono::Utc;
use jet_server::http::{ROUTES, TENANT_SCOPE};
use serde_json::json;
use test_support::{Backend, db_test};

use crate::helpers::{TestApp, code, json};

async fn every_tenant_route_refuses_strangers_and_members_without_the_permission(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.token_for("alice", "alice@example.com");
    let bob = app.token_for("bob", "bob@example.com");
    let carol = app.token_for("carol", "carol@example.com");

    let tenant_id: uuid::Uuid = app.create_tenant(&alice, "T").await.parse().unwrap();
    // Bob is a real user of another tenant, with an API key holding every permission there.
    let other_id = app.create_tenant(&bob, "U").await;
    let admin_role = app.role_id(&bob, &other_id, "Admin").await;
    let (status, key) = json(
        app.post(&format!("/api/v1/tenants/{other_id}/apikeys"))
            .bearer_auth(&bob)
            .json(&json!({"apiKeyTitle": "U admin", "roleIDs": [admin_role]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let foreign_key = key["data"]["apiKey"].as_str().unwrap().to_string();
    // Carol signs in, then joins T with no roles.
    let (_, me) = json(
        app.get("/api/v1/auth")
            .bearer_auth(&carol)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let carol_id: uuid::Uuid = me["data"]["userID"].as_str().unwrap().parse().unwrap();
    let db = sea_orm::Database::connect(&app.database.url).await.unwrap();
    tenancy::tenants::add_member(
        &db,
        tenant_id,
        carol_id,
        tenancy::tenants::Relationship::Member,
        Utc::now(),
    )
    .await
    .unwrap();

    let tenant_routes: Vec<_> = ROUTES
        .iter()
        .filter(|r| r.path.starts_with(TENANT_SCOPE))
        .collect();
    assert!(!tenant_routes.is_empty());
    let unknown_tenant = uuid::Uuid::now_v7();
    for route in tenant_routes {
        let required = route
            .required
            .unwrap_or_else(|| panic!("{route:?} declares no permission"))
            .to_string();
        let path_in = |tenant: uuid::Uuid| {
            route
                .path
                .replace("{tenantID}", &tenant.to_string())
                .replace("{id}", &uuid::Uuid::now_v7().to_string())
        };
        let request = |path: String, token: Option<&str>| {
            let builder = app
                .client
                .request(route.method.as_str().parse().unwrap(), app.url(&path));
            let builder = builder
                .header("content-type", "application/json")
                .body("{}");
            match token {
                Some(token) => builder.bearer_auth(token),
                None => builder,
            }
        };

        let (status, body) = json(request(path_in(tenant_id), None).send().await.unwrap()).await;
        assert_eq!(status, 401, "{route:?} without credentials: {body}");

        let (status, stranger) = json(
            request(path_in(tenant_id), Some(&bob))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            status, 404,
            "{route:?} for another tenant's user: {stranger}"
        );
        let (_, nothing) = json(
            request(path_in(unknown_tenant), Some(&bob))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            stranger, nothing,
            "{route:?}: 404 must not reveal that the tenant exists"
        );

        let (status, body) = json(
            request(path_in(tenant_id), None)
                .header("authorization", format!("api_key {foreign_key}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            status, 404,
            "{route:?} for another tenant's API key: {body}"
        );
        assert_eq!(body, nothing, "{route:?}");

        let (status, denied) = json(
            request(path_in(tenant_id), Some(&carol))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            status, 403,
            "{route:?} for a member without {required}: {denied}"
        );
        assert_eq!(code(&denied), "PERMISSION_DENIED");
        assert_eq!(denied["error"]["required"], required.as_str(), "{route:?}");
    }
}
db_test!(every_tenant_route_refuses_strangers_and_members_without_the_permission);
