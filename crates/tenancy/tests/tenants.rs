//! Tenant creation and membership on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Utc;
use rbac::Permission;
use support::{fresh, sign_in};
use tenancy::tenants::{self, NewTenant, Relationship};
use test_support::{Backend, db_test};

fn new(title: &str) -> NewTenant {
    NewTenant {
        title: title.into(),
        logo_url: None,
    }
}

async fn the_creator_is_admin_with_every_permission_and_nobody_else_sees_it(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let alice = sign_in(&db, "alice", true).await;
    let bob = sign_in(&db, "bob", true).await;

    let created = tenants::create(&db, alice, new("  Acme  "), Utc::now())
        .await
        .unwrap();

    assert_eq!(created.tenant.title, "Acme");
    assert_eq!(created.relationship, Relationship::Admin);
    let grants = rbac::store::grants_of_member(&db, created.tenant.id, created.member_id)
        .await
        .unwrap();
    for permission in Permission::all() {
        assert!(grants.holds(permission), "admin lacks {permission}");
    }
    assert!(
        tenants::membership(&db, created.tenant.id, bob)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        tenants::membership(&db, uuid::Uuid::now_v7(), alice)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(tenants::list_for_user(&db, alice).await.unwrap().len(), 1);
    assert!(tenants::list_for_user(&db, bob).await.unwrap().is_empty());
}
db_test!(the_creator_is_admin_with_every_permission_and_nobody_else_sees_it);

async fn titles_are_validated(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let alice = sign_in(&db, "alice", true).await;
    for title in ["", "   ", &"x".repeat(201)] {
        let error = tenants::create(&db, alice, new(title), Utc::now())
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                tenancy::Error::Invalid {
                    field: "tenantTitle",
                    ..
                }
            ),
            "{error}"
        );
    }
    assert!(
        tenants::list_for_user(&db, alice).await.unwrap().is_empty(),
        "nothing half-created"
    );
}
db_test!(titles_are_validated);
