//! Tenants over HTTP: the creator is admin, strangers get the same 404 as for nothing at all.

use serde_json::json;
use test_support::{Backend, db_test};

use crate::helpers::{TestApp, bearer, code};

async fn a_created_tenant_is_the_creators_and_invisible_to_others(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.token_for("alice", "alice@example.com");
    let bob = app.token_for("bob", "bob@example.com");

    let (status, created) = app
        .call(
            "POST",
            "/api/v1/tenants",
            &bearer(&alice),
            Some(json!({"tenantTitle": "Acme", "tenantLogoURL": "https://example.com/logo.png"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let tenant = &created["data"];
    assert_eq!(tenant["tenantTitle"], "Acme");
    assert_eq!(tenant["tenantLogoURL"], "https://example.com/logo.png");
    assert_eq!(tenant["role"], "ADMIN");
    let id = tenant["tenantID"].as_str().unwrap().to_string();

    let (status, mine) = app
        .call("GET", "/api/v1/tenants", &bearer(&alice), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(mine["data"].as_array().unwrap().len(), 1);
    let (status, read) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{id}"),
            &bearer(&alice),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(read["data"]["tenantID"], id.as_str());
    let (status, catalog) = app
        .call(
            "GET",
            &format!("/api/v1/tenants/{id}/roles/permissions"),
            &bearer(&alice),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(catalog["data"].as_array().unwrap().len(), 73);

    let (_, theirs) = app
        .call("GET", "/api/v1/tenants", &bearer(&bob), None)
        .await;
    assert_eq!(theirs["data"], json!([]));
    let unknown = uuid::Uuid::now_v7().to_string();
    let mut bodies = Vec::new();
    for path in [
        format!("/api/v1/tenants/{id}"),
        format!("/api/v1/tenants/{id}/roles/permissions"),
        format!("/api/v1/tenants/{unknown}"),
        format!("/api/v1/tenants/{unknown}/roles/permissions"),
        "/api/v1/tenants/not-a-uuid".to_string(),
    ] {
        let (status, body) = app.call("GET", &path, &bearer(&bob), None).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(code(&body), "NOT_FOUND");
        bodies.push(body);
    }
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "a stranger cannot tell which tenants exist"
    );

    let (status, _) = app
        .call("GET", &format!("/api/v1/tenants/{id}"), "", None)
        .await;
    assert_eq!(status, 401, "no credentials come before the tenant check");
}
db_test!(a_created_tenant_is_the_creators_and_invisible_to_others);

async fn creating_a_tenant_validates_its_body(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = app.token_for("alice", "alice@example.com");
    let cases = [
        (json!({"tenantTitle": ""}), "tenantTitle"),
        (json!({"tenantTitle": "   "}), "tenantTitle"),
        (json!({"tenantTitle": 7}), "tenantTitle"),
        (json!({}), "tenantTitle"),
        (json!({"tenantTitle": "ok", "surprise": true}), "surprise"),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .call(
                "POST",
                "/api/v1/tenants",
                &bearer(&alice),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(code(&answer), "VALIDATION_ERROR");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    let (_, mine) = app
        .call("GET", "/api/v1/tenants", &bearer(&alice), None)
        .await;
    assert_eq!(mine["data"], json!([]));
}
db_test!(creating_a_tenant_validates_its_body);
