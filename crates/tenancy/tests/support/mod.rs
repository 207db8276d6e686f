//! What the tenancy tests share: a migrated database with the permission catalog in it, as the
//! server has it after startup, and signed-in users and their tenants.
#![allow(dead_code)] // each test file uses its own subset

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tenancy::tenants::{self, NewTenant};
use tenancy::users::{SignedInUser, sync_signed_in_user};
use test_support::{Backend, TestDatabase};
use uuid::Uuid;

pub async fn fresh(backend: Backend) -> Option<(TestDatabase, DatabaseConnection)> {
    let (test_db, db) = test_support::migrated(backend).await?;
    rbac::store::sync_catalog(&db).await.unwrap();
    Some((test_db, db))
}

/// The user row of `subject@example.com` after a sign-in.
pub async fn sign_in(db: &DatabaseConnection, subject: &str, verified: bool) -> Uuid {
    let signed_in = SignedInUser {
        subject: subject.into(),
        email: Some(format!("{subject}@example.com")),
        email_verified: verified,
        name: None,
        picture: None,
    };
    sync_signed_in_user(db, &signed_in, Utc::now())
        .await
        .unwrap()
        .id
}

/// A new tenant `T` with `admin` as its admin.
pub async fn tenant_of(db: &DatabaseConnection, admin: Uuid) -> Uuid {
    let new = NewTenant {
        title: "T".into(),
        logo_url: None,
    };
    tenants::create(db, admin, new, Utc::now())
        .await
        .unwrap()
        .tenant
        .id
}
