//! User sync on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use tenancy::users::{SignedInUser, sync_signed_in_user};
use test_support::{Backend, db_test};

fn alice() -> SignedInUser {
    SignedInUser {
        subject: "sub-alice".into(),
        email: Some("Alice@Example.com".into()),
        email_verified: true,
        name: Some("Alice".into()),
        picture: None,
    }
}

async fn first_sight_creates_and_later_sights_refresh(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let t0 = Utc::now();

    let created = sync_signed_in_user(&db, &alice(), t0).await.unwrap();
    assert_eq!(created.email.as_deref(), Some("alice@example.com"));
    assert_eq!(created.display_name.as_deref(), Some("Alice"));

    let soon = sync_signed_in_user(&db, &alice(), t0 + Duration::seconds(10))
        .await
        .unwrap();
    assert_eq!(soon.id, created.id);
    assert_eq!(
        soon.last_seen_at, created.last_seen_at,
        "no write within the resolution"
    );

    let renamed = SignedInUser {
        name: Some("Alice B".into()),
        ..alice()
    };
    let later = sync_signed_in_user(&db, &renamed, t0 + Duration::seconds(20))
        .await
        .unwrap();
    assert_eq!(later.id, created.id);
    assert_eq!(later.display_name.as_deref(), Some("Alice B"));
    assert!(later.last_seen_at > created.last_seen_at);
}
db_test!(first_sight_creates_and_later_sights_refresh);

async fn racing_first_requests_create_one_user(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    let now = Utc::now();
    let user = alice();

    let runs = (0..8).map(|_| sync_signed_in_user(&db, &user, now));
    let users = futures_util::future::join_all(runs).await;

    let ids: Vec<_> = users.into_iter().map(|u| u.unwrap().id).collect();
    assert!(ids.iter().all(|id| *id == ids[0]));
}
db_test!(racing_first_requests_create_one_user);
