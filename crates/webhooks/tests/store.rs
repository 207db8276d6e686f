//! Webhooks on a real platform database (SQLite and PostgreSQL): a hook's secret is shown once
//! and opens only as that hook's; rotation replaces it; a creator who cannot run the workflow
//! cannot attach a hook to it; another tenant's hooks are not found; the rate window and the
//! replay memory hold when many deliveries race.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use db_entity::workflows;
use rbac::{Action, Grants, Permission, Resource, Subject};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};
use sealed_secrets::{Key, KeyRing};
use serde_json::json;
use tenancy::tenants::{self, NewTenant};
use tenancy::users::{SignedInUser, sync_signed_in_user};
use test_support::{Backend, db_test};
use uuid::Uuid;
use webhooks::deliveries::{self, Admission};
use webhooks::hooks::{self, AuthMode, HookSpec};
use webhooks::{Error, HookAuth, Presented};

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

async fn workflow(db: &DatabaseConnection, tenant_id: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    workflows::Entity::insert(workflows::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        folder_id: Set(None),
        title: Set("orders".into()),
        description: Set(None),
        options: Set(json!({})),
        is_disabled: Set(false),
        version: Set(1),
        creator_user_id: Set(None),
        created_by_api_key_id: Set(None),
        created_at: Set(Utc::now()),
        updated_at: Set(Utc::now()),
        deleted_at: Set(None),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    id
}

fn update_permit(tenant_id: Uuid, subject: Subject, grants: &Grants) -> rbac::Permit {
    let permission = Permission {
        resource: Resource::Workflow,
        action: Action::Update,
    };
    rbac::authorize(tenant_id, subject, grants, permission, None).unwrap()
}

fn spec(mode: AuthMode, name: Option<&str>) -> HookSpec {
    HookSpec {
        title: "Shop orders".into(),
        auth_mode: mode,
        auth_name: name.map(str::to_string),
        max_body_bytes: hooks::DEFAULT_MAX_BODY_BYTES,
        rate_per_minute: 5,
        enabled: true,
    }
}

fn ring() -> KeyRing {
    KeyRing::new(Key::from_bytes([3; 32]), vec![]).unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

async fn a_secret_is_shown_once_sealed_at_rest_and_replaced_by_rotation(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    rbac::store::sync_catalog(&db).await.unwrap();
    let a = tenant(&db, "alice").await;
    let b = tenant(&db, "bob").await;
    let flow = workflow(&db, a).await;
    let grants = Grants::new();
    let permit = update_permit(a, Subject::System, &grants);
    let ring = ring();
    let now = Utc::now();

    let (hook, secret) = hooks::create(
        &db,
        &ring,
        &permit,
        &grants,
        flow,
        spec(AuthMode::Hmac, None),
        now,
    )
    .await
    .unwrap();
    let secret = secret.unwrap();
    assert!(secret.expose().starts_with(hooks::SECRET_PREFIX));
    assert_eq!(
        hook.secret_hint.as_deref(),
        Some(&secret.expose()[secret.expose().len() - 4..])
    );
    // At rest the secret is an envelope, not the secret.
    let row = db_entity::webhooks::Entity::find_by_id(hook.id)
        .one(&db)
        .await
        .unwrap()
        .unwrap();
    let stored = row.secret.clone().unwrap();
    assert!(!stored.contains(secret.expose()), "{stored}");

    // The delivery side opens it and checks a signature made with it.
    let endpoint = hooks::endpoint(&db, &ring, hook.id).await.unwrap();
    let body = br#"{"order": 7}"#;
    let ts = now.timestamp();
    let signature = webhooks::sign(secret.expose().as_bytes(), ts, body);
    let presented = Presented {
        signature: Some(&signature),
        timestamp: Some(&ts.to_string()),
        delivery_id: Some("d-1"),
        body,
        ..Presented::default()
    };
    assert!(endpoint.auth.check(&presented, ts).is_ok());
    // Another server key cannot open it; the envelope copied onto another hook does not open.
    let other_ring = KeyRing::new(Key::from_bytes([4; 32]), vec![]).unwrap();
    assert!(matches!(
        hooks::endpoint(&db, &other_ring, hook.id).await,
        Err(Error::Secret(_))
    ));
    let (twin, _) = hooks::create(
        &db,
        &ring,
        &permit,
        &grants,
        flow,
        spec(AuthMode::Bearer, None),
        now,
    )
    .await
    .unwrap();
    db_entity::webhooks::Entity::update(db_entity::webhooks::ActiveModel {
        id: Set(twin.id),
        secret: Set(Some(stored)),
        ..Default::default()
    })
    .exec(&db)
    .await
    .unwrap();
    assert!(matches!(
        hooks::endpoint(&db, &ring, twin.id).await,
        Err(Error::Secret(_))
    ));

    // Rotation: the old signature fails, the new secret works.
    let (rotated, fresh) = hooks::rotate(&db, &ring, &permit, flow, hook.id, now)
        .await
        .unwrap();
    assert_ne!(fresh.expose(), secret.expose());
    assert!(rotated.secret_rotated_at.is_some());
    let endpoint = hooks::endpoint(&db, &ring, hook.id).await.unwrap();
    assert_eq!(
        endpoint.auth.check(&presented, ts),
        Err(webhooks::Refused::BadSignature)
    );
    let resigned = webhooks::sign(fresh.expose().as_bytes(), ts, body);
    let presented = Presented {
        signature: Some(&resigned),
        ..presented
    };
    assert!(endpoint.auth.check(&presented, ts).is_ok());

    // Modes without a secret have none to rotate; a header hook checks its header.
    let (open, none) = hooks::create(
        &db,
        &ring,
        &permit,
        &grants,
        flow,
        spec(AuthMode::None, None),
        now,
    )
    .await
    .unwrap();
    assert!(none.is_none());
    assert!(matches!(
        hooks::rotate(&db, &ring, &permit, flow, open.id, now).await,
        Err(Error::Invalid { .. })
    ));
    let (header, header_secret) = hooks::create(
        &db,
        &ring,
        &permit,
        &grants,
        flow,
        spec(AuthMode::Header, Some("X-Shop-Token")),
        now,
    )
    .await
    .unwrap();
    let endpoint = hooks::endpoint(&db, &ring, header.id).await.unwrap();
    assert!(matches!(endpoint.auth, HookAuth::Header { ref name, .. } if name == "X-Shop-Token"));
    let token = header_secret.unwrap();
    let presented = Presented {
        named_header: Some(token.expose()),
        ..Presented::default()
    };
    assert!(endpoint.auth.check(&presented, ts).is_ok());

    // Listed on its workflow; another tenant finds neither the hooks nor the workflow.
    assert_eq!(hooks::list(&db, a, flow).await.unwrap().len(), 4);
    assert!(matches!(
        hooks::list(&db, b, flow).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        hooks::get(&db, b, flow, hook.id).await,
        Err(Error::NotFound)
    ));
    let foreign = update_permit(b, Subject::System, &grants);
    assert!(matches!(
        hooks::set_enabled(&db, &foreign, flow, hook.id, false, now).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        hooks::delete(&db, &foreign, flow, hook.id).await,
        Err(Error::NotFound)
    ));
    let disabled = hooks::set_enabled(&db, &permit, flow, hook.id, false, now)
        .await
        .unwrap();
    assert!(!disabled.spec.enabled);
    hooks::delete(&db, &permit, flow, hook.id).await.unwrap();
    assert!(matches!(
        hooks::endpoint(&db, &ring, hook.id).await,
        Err(Error::NotFound)
    ));
}
db_test!(a_secret_is_shown_once_sealed_at_rest_and_replaced_by_rotation);

async fn a_creator_who_cannot_run_the_workflow_cannot_hook_it(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    rbac::store::sync_catalog(&db).await.unwrap();
    let a = tenant(&db, "alice").await;
    let b = tenant(&db, "bob").await;
    let flow = workflow(&db, a).await;
    let ring = ring();
    let user = Subject::User(Uuid::now_v7());
    let mut may_update = Grants::new();
    may_update.grant(Permission {
        resource: Resource::Workflow,
        action: Action::Update,
    });
    let permit = update_permit(a, user, &may_update);
    let error = hooks::create(
        &db,
        &ring,
        &permit,
        &may_update,
        flow,
        spec(AuthMode::Hmac, None),
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, Error::Denied(_)), "{error}");
    may_update.grant_asset(Resource::Workflow, flow, Action::Execute);
    hooks::create(
        &db,
        &ring,
        &permit,
        &may_update,
        flow,
        spec(AuthMode::Hmac, None),
        Utc::now(),
    )
    .await
    .unwrap();
    // Another tenant's workflow is not found, like a missing one.
    let foreign = update_permit(b, Subject::System, &Grants::new());
    let error = hooks::create(
        &db,
        &ring,
        &foreign,
        &Grants::new(),
        flow,
        spec(AuthMode::Hmac, None),
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(error, Error::NotFound), "{error}");
}
db_test!(a_creator_who_cannot_run_the_workflow_cannot_hook_it);

async fn the_rate_window_and_the_replay_memory_hold_under_racing_deliveries(backend: Backend) {
    let Some((_guard, db)) = test_support::migrated(backend).await else {
        return;
    };
    rbac::store::sync_catalog(&db).await.unwrap();
    let a = tenant(&db, "alice").await;
    let flow = workflow(&db, a).await;
    let grants = Grants::new();
    let permit = update_permit(a, Subject::System, &grants);
    let (hook, _) = hooks::create(
        &db,
        &ring(),
        &permit,
        &grants,
        flow,
        spec(AuthMode::Hmac, None),
        Utc::now(),
    )
    .await
    .unwrap();

    // Twenty deliveries at once against five a minute: five admitted, in one window.
    let minute = at("2026-12-07T10:00:10Z");
    let racers = (0..20).map(|_| deliveries::admit(&db, hook.id, 5, minute));
    let admissions = futures_util::future::join_all(racers).await;
    let admitted = admissions
        .iter()
        .filter(|a| matches!(a, Ok(Admission::Admitted)))
        .count();
    assert_eq!(admitted, 5, "{admissions:?}");
    assert_eq!(
        deliveries::admit(&db, hook.id, 5, minute).await.unwrap(),
        Admission::Refused {
            retry_after_secs: 50
        }
    );
    // The next minute opens a new window.
    let next = at("2026-12-07T10:01:00Z");
    assert_eq!(
        deliveries::admit(&db, hook.id, 5, next).await.unwrap(),
        Admission::Admitted
    );

    // Eight receivers of one delivery id: one remembers it, seven see a replay.
    let racers = (0..8).map(|_| deliveries::remember(&db, hook.id, "evt_1", next));
    let firsts = futures_util::future::join_all(racers)
        .await
        .into_iter()
        .map(Result::unwrap)
        .filter(|first| *first)
        .count();
    assert_eq!(firsts, 1);
    // Forgotten (its run could not start), the sender's retry goes through.
    deliveries::forget(&db, hook.id, "evt_1").await.unwrap();
    assert!(
        deliveries::remember(&db, hook.id, "evt_1", next)
            .await
            .unwrap()
    );
    assert!(matches!(
        deliveries::remember(&db, hook.id, &"x".repeat(201), next).await,
        Err(Error::Invalid { .. })
    ));
    // Pruned after twice the window; a fresh id stays.
    assert!(
        deliveries::remember(&db, hook.id, "evt_2", next + chrono::Duration::minutes(9))
            .await
            .unwrap()
    );
    let pruned = deliveries::prune(&db, next + chrono::Duration::minutes(11))
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert!(
        !deliveries::remember(&db, hook.id, "evt_2", next)
            .await
            .unwrap()
    );
    assert!(
        deliveries::remember(&db, hook.id, "evt_1", next)
            .await
            .unwrap()
    );
}
db_test!(the_rate_window_and_the_replay_memory_hold_under_racing_deliveries);
