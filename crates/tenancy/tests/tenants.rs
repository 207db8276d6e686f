//! Tenant creation and membership on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use database::{DatabaseConfig, connect, migrate};
use rbac::Permission;
use tenancy::tenants::{self, NewTenant, Relationship};
use tenancy::users::{SignedInUser, sync_signed_in_user};
use test_support::{Backend, TestDatabase, db_test};

async fn fresh(backend: Backend) -> Option<(TestDatabase, sea_orm::DatabaseConnection)> {
    let test_db = TestDatabase::new(backend).await?;
    let config = DatabaseConfig::new(&test_db.url);
    migrate(&config).await.unwrap();
    let db = connect(&config).await.unwrap();
    rbac::store::sync_catalog(&db).await.unwrap();
    Some((test_db, db))
}

async fn user(db: &sea_orm::DatabaseConnection, subject: &str) -> uuid::Uuid {
    let signed_in = SignedInUser {
        subject: subject.into(),
        email: Some(format!("{subject}@example.com")),
        email_verified: true,
        name: None,
        picture: None,
    };
    sync_signed_in_user(db, &signed_in, Utc::now())
        .await
        .unwrap()
        .id
}

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
    let alice = user(&db, "alice").await;
    let bob = user(&db, "bob").await;

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
    let alice = user(&db, "alice").await;
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
