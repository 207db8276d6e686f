//! The isolation matrix: every route the server registers (`jet_server::http::routes()`) is
//! checked against the access policy it declares, so a new route is covered the moment it exists.
//!
//! For every `Access::Tenant` route (every path with a `{tenantID}`):
//! - no credentials → 401;
//! - a user of another tenant → 404, the same body as for a tenant that does not exist;
//! - an API key of another tenant (with every permission there) → 404, the same body;
//! - a member without the declared permission → 403 `PERMISSION_DENIED` naming it;
//! - on a route with a declared object, a real object is created first: the member above holds
//!   an asset grant on *another* object of that type and still gets 403, a member holding the
//!   asset grant on *this* object passes the permission check, and strangers get 404 with the
//!   real object's id in the path;
//! - a route on a workflow run is checked against the run's workflow: the asset grants name the
//!   workflow, the path the run (waiting on a data-collection request, whose id fills
//!   `{requestID}`);
//! - on a route that copies a declared source object, the type-wide permission without `read`
//!   on the source → 403 naming `…:read`; with an asset grant to read it → success;
//! - on a disabled tenant, its admin is refused 403 `TENANT_DISABLED` exactly on the routes not
//!   declared as reads (or re-enabling).
//!
//! For every `Access::User` route: no credentials → 401, an API key → 403. For the webhook
//! delivery route (`Access::Hook`): an unknown hook → 404 with any credentials.

use jet_server::http::access::{Access, Effect, Need, ObjectOf, TenantRule};
use jet_server::http::route::Route;
use serde_json::{Value, json};
use test_support::{Backend, db_test};
use uuid::Uuid;

use crate::helpers::{TestApp, code, fill_path};

/// Creates, as `admin`, a fresh object of `resource` in `tenant`; its id.
async fn create_object(app: &TestApp, admin: &str, tenant: &str, resource: &str) -> String {
    let n = Uuid::now_v7().simple().to_string();
    let (path, body, id) = match resource {
        "role" => ("roles", json!({"roleTitle": format!("r{n}")}), "roleID"),
        "apikey" => (
            "apikeys",
            json!({"apiKeyTitle": format!("k{n}")}),
            "apiKeyID",
        ),
        "folder" => (
            "folders",
            json!({"folderTitle": format!("f{n}"), "entityType": "workflow"}),
            "folderID",
        ),
        "user" => (
            "users",
            json!({"email": format!("u{n}@example.com")}),
            "memberID",
        ),
        "datasource" => ("datasources", unreachable_datasource(&n), "datasourceID"),
        "dataquery" => {
            let (status, source) = app
                .call(
                    "POST",
                    &format!("/api/v1/tenants/{tenant}/datasources"),
                    admin,
                    Some(unreachable_datasource(&n)),
                )
                .await;
            assert_eq!(status, 201, "creating a datasource: {source}");
            (
                "queries",
                json!({"dataQueryTitle": format!("q{n}"), "datasourceID": source["data"]["datasourceID"],
                    "dataQueryOptions": {"query": "SELECT 1"}}),
                "dataQueryID",
            )
        }
        "workflow" => (
            "workflows",
            json!({"workflowTitle": format!("w{n}"), "nodes": form_nodes(), "edges": form_edges()}),
            "workflowID",
        ),
        "cronjob" => {
            let workflow = Box::pin(create_object(app, admin, tenant, "workflow")).await;
            (
                "cronjobs",
                // Disabled: the matrix's jobs never fire.
                json!({"cronJobTitle": format!("c{n}"), "schedule": "0 3 * * *",
                    "workflowID": workflow, "enabled": false}),
                "cronJobID",
            )
        }
        other => panic!("the matrix has no fixture for `{other}` objects: add one"),
    };
    let (status, created) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{tenant}/{path}"),
            admin,
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "creating a {resource}: {created}");
    created["data"][id].as_str().unwrap().to_string()
}

/// A webhook on `workflow`; its id.
async fn create_webhook(app: &TestApp, admin: &str, tenant: &str, workflow: &str) -> String {
    let (status, created) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{tenant}/workflows/{workflow}/webhooks"),
            admin,
            Some(json!({"webhookTitle": "matrix"})),
        )
        .await;
    assert_eq!(status, 201, "creating a webhook: {created}");
    created["data"]["webhookID"].as_str().unwrap().to_string()
}

/// start → a data-collection form → end: a run of it waits for an answer.
fn form_nodes() -> Value {
    json!([{"id": "start", "type": "start"},
        {"id": "ask", "type": "dataCollection", "data": {"title": "Who?"}},
        {"id": "end", "type": "end"}])
}

fn form_edges() -> Value {
    json!([{"source": "start", "target": "ask"}, {"source": "ask", "target": "end"}])
}

/// The object a route with a declared object acts on: the id in its path, the id an asset
/// grant names (the workflow, for a route on one of its runs), and the values of the other
/// path parameters (a run's pending request).
struct Fixture {
    path_id: String,
    grant_id: String,
    others: Vec<(&'static str, String)>,
}

/// A run of a fresh form workflow in `tenant`, waiting on its form.
async fn create_run(app: &TestApp, admin: &str, tenant: &str) -> Fixture {
    let workflow = create_object(app, admin, tenant, "workflow").await;
    let (status, started) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{tenant}/workflows/{workflow}/execute"),
            admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 201, "{started}");
    let run = started["data"]["instanceID"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, read) = app
            .call(
                "GET",
                &format!("/api/v1/tenants/{tenant}/workflows/instances/{run}"),
                admin,
                None,
            )
            .await;
        if let Some(request) = read["data"]["pendingRequests"][0]["requestID"].as_str() {
            return Fixture {
                path_id: run,
                grant_id: workflow,
                others: vec![("requestID", request.to_string())],
            };
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run never waited: {read}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// What copying an object of `resource` needs besides creating one and reading the source: a
/// copied data query is a new query against the same datasource, which needs reading it (or
/// the copy would let its creator run any SQL there).
fn copy_also_needs(resource: &str) -> Vec<String> {
    match resource {
        "dataquery" => vec!["datasource:read".to_string()],
        _ => vec![],
    }
}

/// A PostgreSQL datasource saved without a connection test, on a host that cannot resolve
/// (`.invalid`), so the routes that reach it fail at once with `DATASOURCE_UNREACHABLE`.
fn unreachable_datasource(n: &str) -> Value {
    json!({"datasourceTitle": format!("d{n}"), "datasourceType": "postgresql", "skipTest": true,
        "datasourceOptions": {"host": "db.invalid", "port": 5432, "user": "app", "password": "pw"}})
}

/// Gives `member` (a membership id) exactly one role in `tenant`, holding the asset `grants`.
pub(crate) async fn give_role(
    app: &TestApp,
    admin: &str,
    tenant: &str,
    member: &str,
    grants: Value,
) {
    give_role_with(app, admin, tenant, member, json!([]), grants).await;
}

/// Gives `member` exactly one role holding the type-wide `permissions` and the asset `grants`.
pub(crate) async fn give_role_with(
    app: &TestApp,
    admin: &str,
    tenant: &str,
    member: &str,
    permissions: Value,
    grants: Value,
) {
    let (status, role) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{tenant}/roles"),
            admin,
            Some(json!({"roleTitle": format!("g{}", Uuid::now_v7().simple()),
                "permissions": permissions, "assetPermissions": grants})),
        )
        .await;
    assert_eq!(status, 201, "{role}");
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{tenant}/users/{member}/roles"),
            admin,
            Some(json!({"roleIDs": [role["data"]["roleID"]]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

/// The route's path with `{tenantID}` = `tenant`, its object parameters from `fixture`, and
/// any other parameter a fresh id.
fn path_of(
    route: &Route,
    rule: Option<&TenantRule>,
    tenant: &str,
    fixture: Option<&Fixture>,
) -> String {
    let mut path = route.path.to_string();
    if let (Some(param), Some(fixture)) = (rule.and_then(|r| r.object.or(r.source)), fixture) {
        path = path.replace(&format!("{{{param}}}"), &fixture.path_id);
        for (other, value) in &fixture.others {
            path = path.replace(&format!("{{{other}}}"), value);
        }
    }
    fill_path(&path, tenant)
}

async fn every_route_answers_as_its_declared_policy_says(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let alice = format!("Bearer {}", app.token_for("alice", "alice@example.com"));
    let bob_token = app.token_for("bob", "bob@example.com");
    let bob = format!("Bearer {bob_token}");
    let carol = format!("Bearer {}", app.token_for("carol", "carol@example.com"));
    let dave = format!("Bearer {}", app.token_for("dave", "dave@example.com"));

    let tenant_token = app.token_for("alice", "alice@example.com");
    let t = app.create_tenant(&tenant_token, "T").await;
    let tenant_id: Uuid = t.parse().unwrap();
    let disabled = app.create_tenant(&tenant_token, "D").await;
    // Bob is a real user of another tenant, with an API key holding every permission there.
    let other = app.create_tenant(&bob_token, "U").await;
    let admin_role = app.role_id(&bob_token, &other, "Admin").await;
    let (status, key) = app
        .call(
            "POST",
            &format!("/api/v1/tenants/{other}/apikeys"),
            &bob,
            Some(json!({"apiKeyTitle": "U admin", "roleIDs": [admin_role]})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let foreign_key = format!("api_key {}", key["data"]["apiKey"].as_str().unwrap());
    let carol_id = app.join_without_roles(&carol, tenant_id).await;
    let dave_id = app.join_without_roles(&dave, tenant_id).await;
    let (status, body) = app
        .call(
            "PATCH",
            &format!("/api/v1/tenants/{disabled}"),
            &alice,
            Some(json!({"isDisabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let routes = jet_server::http::routes();
    let unknown_tenant = Uuid::now_v7().to_string();
    let mut tenant_routes = 0;
    for route in &routes {
        let method = route.method.as_str();
        let rule = match route.access {
            Access::Public => continue,
            Access::User => {
                let (status, body) = app.call(method, route.path, "", None).await;
                assert_eq!(status, 401, "{route:?} without credentials: {body}");
                let (status, body) = app.call(method, route.path, &foreign_key, None).await;
                assert_eq!(status, 403, "{route:?} with an API key: {body}");
                continue;
            }
            Access::Principal => {
                // The realtime socket: bad credentials are refused before the upgrade; what
                // it may listen to is the websocket tests' room matrix.
                let (status, body) = app.call(method, route.path, "Bearer forged", None).await;
                assert_eq!(status, 401, "{route:?} with a forged token: {body}");
                continue;
            }
            Access::Hook => {
                // A webhook delivery: no tenant in the path; an unknown hook is 404 whatever
                // credentials come with it. What a hook accepts is the webhook tests' matrix.
                let path = fill_path(route.path, &t);
                for credentials in ["", alice.as_str(), foreign_key.as_str()] {
                    let (status, body) = app.call(method, &path, credentials, None).await;
                    assert_eq!(
                        (status, code(&body)),
                        (404, "NOT_FOUND"),
                        "{route:?} for an unknown hook: {body}"
                    );
                }
                continue;
            }
            Access::Tenant(rule) => rule,
        };
        tenant_routes += 1;
        let permission = rule.permission();
        let fixture = match (rule.object.or(rule.source), permission) {
            (Some(_), Some(_)) if rule.object_of == ObjectOf::RunOfWorkflow => {
                Some(create_run(&app, &alice, &t).await)
            }
            (Some(_), Some(permission)) => {
                let resource = permission.resource.as_str();
                let id = create_object(&app, &alice, &t, resource).await;
                let mut others = Vec::new();
                match rule.part {
                    Some("webhookID") => {
                        others.push(("webhookID", create_webhook(&app, &alice, &t, &id).await));
                    }
                    Some(other) => panic!("the matrix has no fixture for `{other}` parts: add one"),
                    None => {}
                }
                Some(Fixture {
                    path_id: id.clone(),
                    grant_id: id,
                    others,
                })
            }
            _ => None,
        };
        let object = fixture.as_ref().map(|f| f.grant_id.clone());
        let path = path_of(route, Some(&rule), &t, fixture.as_ref());
        let body = Some(json!({}));

        let (status, answer) = app.call(method, &path, "", body.clone()).await;
        assert_eq!(status, 401, "{route:?} without credentials: {answer}");

        let (status, stranger) = app.call(method, &path, &bob, body.clone()).await;
        assert_eq!(
            status, 404,
            "{route:?} for another tenant's user: {stranger}"
        );
        let nowhere = path_of(route, Some(&rule), &unknown_tenant, fixture.as_ref());
        let (_, nothing) = app.call(method, &nowhere, &bob, body.clone()).await;
        assert_eq!(
            stranger, nothing,
            "{route:?}: 404 must not reveal that the tenant exists"
        );
        let (status, answer) = app.call(method, &path, &foreign_key, body.clone()).await;
        assert_eq!(
            status, 404,
            "{route:?} for another tenant's API key: {answer}"
        );
        assert_eq!(answer, nothing, "{route:?}");

        match permission {
            None => {
                assert_eq!(rule.need, Need::Membership);
                let (status, answer) = app.call(method, &path, &carol, body.clone()).await;
                assert!(
                    ![401, 403, 404].contains(&status),
                    "{route:?} is for every member, yet: {status} {answer}"
                );
            }
            Some(permission) => {
                let required = permission.to_string();
                let resource = permission.resource.as_str();
                let action = permission.action.as_str();
                if rule.object.is_some() {
                    // Carol holds the action on another object only.
                    give_role(
                        &app,
                        &alice,
                        &t,
                        &carol_id,
                        json!([{"resourceType": resource, "resourceID": Uuid::now_v7(),
                            "action": action}]),
                    )
                    .await;
                }
                let (status, denied) = app.call(method, &path, &carol, body.clone()).await;
                assert_eq!(
                    (status, code(&denied)),
                    (403, "PERMISSION_DENIED"),
                    "{route:?} for a member without {required}: {denied}"
                );
                assert_eq!(denied["error"]["required"], required.as_str(), "{route:?}");

                if let (Some(object), Some(_)) = (&object, rule.source) {
                    // A copy: the type-wide permission alone is not enough, reading the
                    // source is needed too (and suffices as an asset grant).
                    give_role_with(&app, &alice, &t, &dave_id, json!([required]), json!([])).await;
                    let (status, denied) = app.call(method, &path, &dave, body.clone()).await;
                    let read = format!("{resource}:read");
                    assert_eq!(
                        (status, code(&denied), denied["error"]["required"].as_str()),
                        (403, "PERMISSION_DENIED", Some(read.as_str())),
                        "{route:?} copies its source: {required} without {read}: {denied}"
                    );
                    give_role_with(
                        &app,
                        &alice,
                        &t,
                        &dave_id,
                        json!(
                            [required.clone()]
                                .into_iter()
                                .chain(copy_also_needs(resource))
                                .collect::<Vec<_>>()
                        ),
                        json!([{"resourceType": resource, "resourceID": object,
                            "action": "read"}]),
                    )
                    .await;
                    let (status, answer) = app.call(method, &path, &dave, body.clone()).await;
                    assert!(
                        status < 300,
                        "{route:?} with {required} and read on the source: {status} {answer}"
                    );
                } else if let Some(object) = &object {
                    give_role(
                        &app,
                        &alice,
                        &t,
                        &dave_id,
                        json!([{"resourceType": resource, "resourceID": object,
                            "action": action}]),
                    )
                    .await;
                    let (status, answer) = app.call(method, &path, &dave, body.clone()).await;
                    assert!(
                        !(status == 404
                            || status == 401
                            || (code(&answer) == "PERMISSION_DENIED"
                                && answer["error"]["required"] == required.as_str())),
                        "{route:?} with the asset grant {resource}:{object}:{action}: \
                         {status} {answer}"
                    );
                }
            }
        }

        // The disabled tenant: its admin may only read (and re-enable).
        let disabled_path = path_of(route, Some(&rule), &disabled, None);
        let (status, answer) = app.call(method, &disabled_path, &alice, body).await;
        let refused = status == 403 && code(&answer) == "TENANT_DISABLED";
        // A re-enabling route passes the extractor, and its domain function then refuses
        // everything but re-enabling (`{}` here; re-enabling itself is in `management.rs`).
        assert_eq!(
            refused,
            rule.effect != Effect::Reads,
            "{route:?} ({:?}) on a disabled tenant, for its admin: {status} {answer}",
            rule.effect
        );
    }
    assert!(tenant_routes >= 28, "only {tenant_routes} tenant routes");
}
db_test!(every_route_answers_as_its_declared_policy_says);
