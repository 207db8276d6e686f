//! Members and invitations on SQLite and PostgreSQL: taking up invitations only with a verified
//! address, no escalation by inviting, the last-admin rule under concurrency, and a disabled
//! tenant refusing every change in the domain itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::Utc;
use rbac::{Action, BuiltinRole, Permission, Permit, Resource, Subject};
use sea_orm::DatabaseConnection;
use support::{fresh, sign_in, tenant_of};
use tenancy::Error;
use tenancy::members::{self, Invitation, MemberStatus};
use tenancy::tenants::{self, Relationship};
use test_support::{Backend, db_test};
use uuid::Uuid;

/// What `user` may do as `resource:action` in `tenant_id`, as the server would check it.
async fn permit(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    user: Uuid,
    resource: Resource,
    action: Action,
) -> (Permit, rbac::Grants) {
    let membership = tenants::membership(db, tenant_id, user)
        .await
        .unwrap()
        .unwrap();
    let grants = rbac::store::grants_of_member(db, tenant_id, membership.member_id)
        .await
        .unwrap();
    let permission = Permission::new(resource, action).unwrap();
    let permit =
        rbac::authorize(tenant_id, Subject::User(user), &grants, permission, None).unwrap();
    (permit, grants)
}

async fn role(db: &DatabaseConnection, tenant_id: Uuid, role: BuiltinRole) -> Uuid {
    rbac::store::builtin_role_id(db, tenant_id, role)
        .await
        .unwrap()
}

async fn invitations_wait_for_a_verified_address(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let alice = sign_in(&db, "alice", true).await;
    let tenant_id = tenant_of(&db, alice).await;
    let (invite, grants) = permit(&db, tenant_id, alice, Resource::User, Action::Create).await;

    let invited = members::invite(
        &db,
        &invite,
        &grants,
        Invitation {
            email: " Bob@Example.com ".into(),
            role_ids: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(invited.status, MemberStatus::Pending);
    assert_eq!(invited.email.as_deref(), Some("bob@example.com"));
    assert_eq!(
        invited.role_ids,
        vec![role(&db, tenant_id, BuiltinRole::Viewer).await],
        "Viewer by default"
    );
    let again = members::invite(
        &db,
        &invite,
        &grants,
        Invitation {
            email: "bob@example.com".into(),
            role_ids: None,
        },
        Utc::now(),
    )
    .await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");

    // Someone signing in with Bob's address unverified does not get in.
    let impostor = sign_in(&db, "bob", false).await;
    assert!(
        tenants::membership(&db, tenant_id, impostor)
            .await
            .unwrap()
            .is_none()
    );
    // The provider verifies it: the next sign-in (a profile change) takes the invitation up.
    let bob = sign_in(&db, "bob", true).await;
    assert_eq!(bob, impostor, "the same account, now verified");
    let membership = tenants::membership(&db, tenant_id, bob)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(membership.relationship, Relationship::Member);
    let member = members::get(&db, tenant_id, bob).await.unwrap();
    assert_eq!(member.status, MemberStatus::Active);
    assert_eq!(member.member_id, invited.member_id);

    // An existing verified user is bound at once.
    let carol = sign_in(&db, "carol", true).await;
    let admin = role(&db, tenant_id, BuiltinRole::Admin).await;
    let carol_member = members::invite(
        &db,
        &invite,
        &grants,
        Invitation {
            email: "carol@example.com".into(),
            role_ids: Some(vec![admin]),
        },
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(carol_member.user_id, Some(carol));
    assert_eq!(carol_member.relationship, Relationship::Admin);
}
db_test!(invitations_wait_for_a_verified_address);

async fn nobody_hands_out_more_than_they_hold(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let alice = sign_in(&db, "alice", true).await;
    let tenant_id = tenant_of(&db, alice).await;
    let (admin_invite, admin_grants) =
        permit(&db, tenant_id, alice, Resource::User, Action::Create).await;
    // Dave may invite (a custom role: user:create plus the Viewer's rights) but is no admin.
    let holder = rbac::store::grants_of_roles(
        &db,
        tenant_id,
        &[role(&db, tenant_id, BuiltinRole::Viewer).await],
    )
    .await
    .unwrap();
    let mut inviter = holder.clone();
    inviter.grant(Permission::new(Resource::User, Action::Create).unwrap());
    let dave = sign_in(&db, "dave", true).await;
    members::invite(
        &db,
        &admin_invite,
        &admin_grants,
        Invitation {
            email: "dave@example.com".into(),
            role_ids: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let dave_permit = rbac::authorize(
        tenant_id,
        Subject::User(dave),
        &inviter,
        Permission::new(Resource::User, Action::Create).unwrap(),
        None,
    )
    .unwrap();
    let escalation = members::invite(
        &db,
        &dave_permit,
        &inviter,
        Invitation {
            email: "eve@example.com".into(),
            role_ids: Some(vec![role(&db, tenant_id, BuiltinRole::Admin).await]),
        },
        Utc::now(),
    )
    .await;
    assert!(
        matches!(escalation, Err(Error::Rbac(rbac::Error::Escalation))),
        "{escalation:?}"
    );
    // A permit for another action is a bug in the caller, refused loudly.
    let wrong = members::remove(&db, &dave_permit, alice).await;
    assert!(
        matches!(wrong, Err(Error::Rbac(rbac::Error::PermitMismatch(_)))),
        "{wrong:?}"
    );
}
db_test!(nobody_hands_out_more_than_they_hold);

async fn the_last_admin_stays(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let alice = sign_in(&db, "alice", true).await;
    let tenant_id = tenant_of(&db, alice).await;
    let (remove, _) = permit(&db, tenant_id, alice, Resource::User, Action::Delete).await;
    let (update, grants) = permit(&db, tenant_id, alice, Resource::User, Action::Update).await;
    let viewer = role(&db, tenant_id, BuiltinRole::Viewer).await;

    let removed = members::remove(&db, &remove, alice).await;
    assert!(matches!(removed, Err(Error::LastAdmin)), "{removed:?}");
    let demoted = members::set_roles(&db, &update, &grants, alice, &[viewer], Utc::now()).await;
    assert!(matches!(demoted, Err(Error::LastAdmin)), "{demoted:?}");
    assert_eq!(
        members::get(&db, tenant_id, alice)
            .await
            .unwrap()
            .relationship,
        Relationship::Admin
    );
}
db_test!(the_last_admin_stays);

/// Two admins remove each other at the same moment, many times over: exactly one removal wins
/// each time and the tenant always keeps one admin.
async fn concurrent_removals_leave_one_admin(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    for round in 0..10 {
        let alice = sign_in(&db, &format!("alice{round}"), true).await;
        let dave = sign_in(&db, &format!("dave{round}"), true).await;
        let tenant_id = tenant_of(&db, alice).await;
        let admin = role(&db, tenant_id, BuiltinRole::Admin).await;
        let (invite, grants) = permit(&db, tenant_id, alice, Resource::User, Action::Create).await;
        members::invite(
            &db,
            &invite,
            &grants,
            Invitation {
                email: format!("dave{round}@example.com"),
                role_ids: Some(vec![admin]),
            },
            Utc::now(),
        )
        .await
        .unwrap();
        let (alice_removes, _) =
            permit(&db, tenant_id, alice, Resource::User, Action::Delete).await;
        let (dave_removes, _) = permit(&db, tenant_id, dave, Resource::User, Action::Delete).await;
        let (a, b) = tokio::join!(
            members::remove(&db, &alice_removes, dave),
            members::remove(&db, &dave_removes, alice),
        );
        let outcomes = [a.is_ok(), b.is_ok()];
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "round {round}: {a:?} / {b:?}"
        );
        let refused = if a.is_err() { a } else { b };
        assert!(matches!(refused, Err(Error::LastAdmin)), "{refused:?}");
        let admins = members::list(&db, tenant_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.relationship == Relationship::Admin)
            .count();
        assert_eq!(admins, 1, "round {round}");
    }
}
db_test!(concurrent_removals_leave_one_admin);

async fn a_disabled_tenant_refuses_changes_in_the_domain(backend: Backend) {
    // The rule holds for callers without HTTP (cron jobs, listeners, workers) too: every domain
    // change takes the tenant lock that refuses a disabled tenant.
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let alice = sign_in(&db, "alice", true).await;
    let tenant_id = tenant_of(&db, alice).await;
    let (invite, grants) = permit(&db, tenant_id, alice, Resource::User, Action::Create).await;
    let (folder, _) = permit(&db, tenant_id, alice, Resource::Folder, Action::Create).await;
    let (new_role, _) = permit(&db, tenant_id, alice, Resource::Role, Action::Create).await;
    let (new_key, _) = permit(&db, tenant_id, alice, Resource::ApiKey, Action::Create).await;
    let (update, _) = permit(&db, tenant_id, alice, Resource::Tenant, Action::Update).await;
    let status = |disabled: bool| tenants::TenantChange {
        title: None,
        logo_url: None,
        is_disabled: Some(disabled),
        disable_reason: None,
    };
    tenants::update(&db, &update, status(true), Utc::now())
        .await
        .unwrap();

    let invitation = || Invitation {
        email: "bob@example.com".into(),
        role_ids: None,
    };
    let refused = members::invite(&db, &invite, &grants, invitation(), Utc::now()).await;
    assert!(
        matches!(refused, Err(Error::Rbac(rbac::Error::TenantDisabled))),
        "{refused:?}"
    );
    let new_folder = || tenancy::folders::NewFolder {
        entity_type: tenancy::folders::EntityType::Workflow,
        title: "F".into(),
        parent_id: None,
    };
    let refused = tenancy::folders::create(&db, &folder, new_folder(), Utc::now()).await;
    assert!(
        matches!(refused, Err(Error::Rbac(rbac::Error::TenantDisabled))),
        "{refused:?}"
    );
    let role = rbac::roles::NewRole {
        title: "R".into(),
        description: None,
        grants: rbac::roles::RoleGrants {
            permissions: vec![],
            asset_grants: vec![],
        },
    };
    let refused = rbac::roles::create(&db, &new_role, &grants, role, Utc::now()).await;
    assert!(
        matches!(refused, Err(rbac::Error::TenantDisabled)),
        "{refused:?}"
    );
    let key = rbac::api_keys::NewApiKey {
        title: "K".into(),
        role_ids: vec![],
    };
    let refused = rbac::api_keys::create(&db, &new_key, tenant_id, &grants, key, Utc::now()).await;
    assert!(
        matches!(refused, Err(rbac::Error::TenantDisabled)),
        "{:?}",
        refused.map(|(key, _)| key)
    );

    // Re-enabled, the same calls go through.
    tenants::update(&db, &update, status(false), Utc::now())
        .await
        .unwrap();
    members::invite(&db, &invite, &grants, invitation(), Utc::now())
        .await
        .unwrap();
    tenancy::folders::create(&db, &folder, new_folder(), Utc::now())
        .await
        .unwrap();
}
db_test!(a_disabled_tenant_refuses_changes_in_the_domain);
