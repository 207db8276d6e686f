//! The hosts the engine calls, on a real platform database (SQLite and PostgreSQL): a
//! `subWorkflow` node finds a workflow of its own tenant and fails as not found for another
//! tenant's, exactly as for one that does not exist; a deleted workflow is not found either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::Utc;
use rbac::{Action, Grants, Permission, Resource, Subject};
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use tenancy::tenants::{self, NewTenant};
use tenancy::users::{SignedInUser, sync_signed_in_user};
use test_support::{Backend, db_test};
use uuid::Uuid;
use workflow_engine::{Engine, MemoryStore, RunStatus, WorkflowDefinition};
use workflows::definitions::{self, NewWorkflow};
use workflows::graph::{Graph, GraphLimits};
use workflows::hosts::PlatformWorkflows;

async fn tenant(db: &DatabaseConnection, subject: &str) -> Uuid {
    let user = sync_signed_in_user(
        db,
        &SignedInUser {
            subject: subject.into(),
            email: Some(format!("{subject}@example.com")),
            email_verified: true,
            name: None,
            picture: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let new = NewTenant {
        title: "T".into(),
        logo_url: None,
    };
    tenants::create(db, user.id, new, Utc::now())
        .await
        .unwrap()
        .tenant
        .id
}

fn permit(tenant_id: Uuid, action: Action) -> rbac::Permit {
    rbac::authorize(
        tenant_id,
        Subject::System,
        &Grants::new(),
        Permission {
            resource: Resource::Workflow,
            action,
        },
        None,
    )
    .unwrap()
}

/// start → child (a sub-workflow of `child`) → end, as an unsaved definition.
fn calling(child: &str) -> WorkflowDefinition {
    serde_json::from_value(json!({
        "nodes": [{"id": "start", "type": "start"},
                  {"id": "child", "type": "subWorkflow", "config": {"childWorkflowID": child}},
                  {"id": "end", "type": "end"}],
        "edges": [{"source": "start", "target": "child"},
                  {"source": "child", "target": "end", "sourceHandle": "success"}]
    }))
    .unwrap()
}

async fn sub_workflows_resolve_only_inside_their_tenant(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    rbac::store::sync_catalog(&db).await.unwrap();
    let a = tenant(&db, "alice").await;
    let b = tenant(&db, "bob").await;
    let engine = Engine::builder(Arc::new(MemoryStore::new()))
        .workflows(Arc::new(PlatformWorkflows::new(db.clone())))
        .build()
        .unwrap();
    let graph = Graph::parse(
        vec![
            json!({"id": "start", "type": "start"}),
            json!({"id": "end", "type": "end"}),
        ],
        vec![json!({"source": "start", "target": "end"})],
        None,
        GraphLimits::default(),
    )
    .unwrap();
    let saved = definitions::create(
        &db,
        &engine,
        &permit(a, Action::Create),
        &Grants::new(),
        NewWorkflow {
            title: "child".into(),
            description: None,
            folder_id: None,
            graph,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let child = saved.summary.id.to_string();

    let run = |namespace: Uuid| {
        let engine = &engine;
        let child = child.clone();
        async move {
            let id = engine
                .start(&namespace.to_string(), calling(&child), Value::Null)
                .await
                .unwrap();
            engine.wait(&namespace.to_string(), id).await.unwrap()
        }
    };
    let own = run(a).await;
    assert_eq!(own.status, RunStatus::Completed, "{own:?}");

    let foreign = run(b).await;
    assert_eq!(foreign.status, RunStatus::Failed, "{foreign:?}");
    let error = foreign.error.unwrap_or_default();
    assert!(
        error.contains(&format!("workflow `{child}` not found")),
        "{error}"
    );

    definitions::delete(
        &db,
        &permit(a, Action::Delete),
        saved.summary.id,
        Utc::now(),
    )
    .await
    .unwrap();
    let deleted = run(a).await;
    assert_eq!(deleted.status, RunStatus::Failed, "{deleted:?}");
    assert!(
        deleted.error.unwrap_or_default().contains("not found"),
        "a deleted workflow is not found"
    );
}
db_test!(sub_workflows_resolve_only_inside_their_tenant);
