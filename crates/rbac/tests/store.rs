//! rbac's database code on SQLite and PostgreSQL: the catalog table, built-in roles and the
//! grants they give, role management without escalation, API keys that resolve only while
//! enabled, every lookup scoped to its tenant, and a disabled tenant refusing changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use db_entity::{permissions, tenants};
use rbac::api_keys::{self, ApiKeyChange, NewApiKey};
use rbac::roles::{self, NewRole, RoleChange, RoleGrants};
use rbac::store::{self, BuiltinRoleIds};
use rbac::{Action, Error, Grants, Permission, Permit, Resource, Subject, authorize};
use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait, PaginatorTrait};
use test_support::{Backend, TestDatabase, db_test};
use uuid::Uuid;

async fn fresh(backend: Backend) -> Option<(TestDatabase, DatabaseConnection)> {
    let (test_db, db) = test_support::migrated(backend).await?;
    store::sync_catalog(&db).await.unwrap();
    Some((test_db, db))
}

/// A tenant row with its built-in roles, as tenant creation leaves it.
async fn tenant(db: &DatabaseConnection) -> (Uuid, BuiltinRoleIds) {
    let id = Uuid::now_v7();
    let now = Utc::now();
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(id),
        title: Set("Acme".into()),
        logo_url: Set(None),
        creator_user_id: Set(None),
        created_by_api_key_id: Set(None),
        is_disabled: Set(false),
        disabled_at: Set(None),
        disable_reason: Set(None),
        metadata: Set(serde_json::json!({})),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_without_returning(db)
    .await
    .unwrap();
    let roles = store::create_builtin_roles(db, id, None, now)
        .await
        .unwrap();
    (id, roles)
}

async fn set_disabled(db: &DatabaseConnection, tenant_id: Uuid, disabled: bool) {
    tenants::Entity::update(tenants::ActiveModel {
        id: Set(tenant_id),
        is_disabled: Set(disabled),
        ..Default::default()
    })
    .exec(db)
    .await
    .unwrap();
}

/// A permit for `resource:action` in `tenant_id`, as the system subject (the holder's grants
/// are passed separately: they bound what may be granted).
fn permit(tenant_id: Uuid, resource: Resource, action: Action) -> Permit {
    let permission = Permission::new(resource, action).unwrap();
    authorize(tenant_id, Subject::System, &Grants::new(), permission, None).unwrap()
}

fn permission(text: &str) -> Permission {
    text.parse().unwrap()
}

async fn the_catalog_table_holds_exactly_the_catalog(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let catalog = Permission::all().count() as u64;
    assert_eq!(
        permissions::Entity::find().count(&db).await.unwrap(),
        catalog
    );
    permissions::Entity::insert(permissions::ActiveModel {
        id: Set("ghost:read".into()),
        resource: Set("ghost".into()),
        action: Set("read".into()),
        description: Set("no longer in the catalog".into()),
    })
    .exec_without_returning(&db)
    .await
    .unwrap();
    store::sync_catalog(&db).await.unwrap();
    store::sync_catalog(&db).await.unwrap();
    assert_eq!(
        permissions::Entity::find().count(&db).await.unwrap(),
        catalog
    );
    assert!(
        permissions::Entity::find_by_id("ghost:read".to_string())
            .one(&db)
            .await
            .unwrap()
            .is_none()
    );
}
db_test!(the_catalog_table_holds_exactly_the_catalog);

async fn built_in_roles_grant_what_they_promise(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let (t, builtin) = tenant(&db).await;
    let listed = roles::list(&db, t).await.unwrap();
    let titles: Vec<&str> = listed.iter().map(|r| r.title.as_str()).collect();
    assert_eq!(titles, ["Admin", "Editor", "Viewer"]);
    let admin = store::grants_of_roles(&db, t, &[builtin.admin])
        .await
        .unwrap();
    assert!(Permission::all().all(|p| admin.holds(p)));
    let viewer = store::grants_of_roles(&db, t, &[builtin.viewer])
        .await
        .unwrap();
    assert!(viewer.holds(permission("role:list")));
    assert!(!viewer.holds(permission("role:create")));
    assert!(!viewer.holds(permission("workflow:execute")));
    // Another tenant's role grants nothing here.
    let (other, other_roles) = tenant(&db).await;
    let borrowed = store::grants_of_roles(&db, t, &[other_roles.admin])
        .await
        .unwrap();
    assert_eq!(borrowed, Grants::new());
    assert_eq!(
        store::builtin_role_id(&db, other, rbac::BuiltinRole::Admin)
            .await
            .unwrap(),
        other_roles.admin
    );
}
db_test!(built_in_roles_grant_what_they_promise);

async fn roles_grant_no_more_than_their_creator_and_stay_in_their_tenant(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let (t, builtin) = tenant(&db).await;
    let (other, _) = tenant(&db).await;
    let editor = store::grants_of_roles(&db, t, &[builtin.editor])
        .await
        .unwrap();
    let create = permit(t, Resource::Role, Action::Create);
    let new_role = |permissions: &[&str]| NewRole {
        title: "Operators".into(),
        description: None,
        grants: RoleGrants {
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
            asset_grants: Vec::new(),
        },
    };
    assert!(matches!(
        roles::create(
            &db,
            &create,
            &editor,
            new_role(&["role:delete"]),
            Utc::now()
        )
        .await,
        Err(Error::Escalation)
    ));
    let role = roles::create(
        &db,
        &create,
        &editor,
        new_role(&["workflow:execute", "workflow:read"]),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(role.tenant_id, Some(t));
    let granted = store::grants_of_roles(&db, t, &[role.id]).await.unwrap();
    assert!(granted.holds(permission("workflow:execute")));
    assert!(!granted.holds(permission("workflow:delete")));
    assert!(matches!(
        roles::create(&db, &create, &editor, new_role(&[]), Utc::now()).await,
        Err(Error::Conflict(_))
    ));

    // Invisible from the other tenant, and a permit of the other tenant changes nothing here.
    assert!(matches!(
        roles::get(&db, other, role.id).await,
        Err(Error::NotFound)
    ));
    let foreign = permit(other, Resource::Role, Action::Update);
    assert!(matches!(
        roles::update(
            &db,
            &foreign,
            &editor,
            role.id,
            RoleChange::default(),
            Utc::now()
        )
        .await,
        Err(Error::NotFound)
    ));

    let update = permit(t, Resource::Role, Action::Update);
    let changed = roles::update(
        &db,
        &update,
        &editor,
        role.id,
        RoleChange {
            title: Some("Runners".into()),
            permissions: Some(vec!["workflow:read".into()]),
            ..RoleChange::default()
        },
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(changed.title, "Runners");
    assert_eq!(changed.permissions, vec![permission("workflow:read")]);
    assert!(matches!(
        roles::update(
            &db,
            &update,
            &editor,
            builtin.viewer,
            RoleChange::default(),
            Utc::now()
        )
        .await,
        Err(Error::ProtectedRole)
    ));
    let delete = permit(t, Resource::Role, Action::Delete);
    assert!(matches!(
        roles::delete(&db, &delete, builtin.admin).await,
        Err(Error::ProtectedRole)
    ));
    roles::delete(&db, &delete, role.id).await.unwrap();
    assert!(matches!(
        roles::get(&db, t, role.id).await,
        Err(Error::NotFound)
    ));
}
db_test!(roles_grant_no_more_than_their_creator_and_stay_in_their_tenant);

async fn api_keys_resolve_only_while_enabled(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let (t, builtin) = tenant(&db).await;
    let (other, _) = tenant(&db).await;
    let admin = store::grants_of_roles(&db, t, &[builtin.admin])
        .await
        .unwrap();
    let viewer = store::grants_of_roles(&db, t, &[builtin.viewer])
        .await
        .unwrap();
    let create = permit(t, Resource::ApiKey, Action::Create);
    let new_key = |role_ids: Vec<Uuid>| NewApiKey {
        title: "ci".into(),
        role_ids,
    };
    // A viewer cannot issue an Admin key.
    assert!(matches!(
        api_keys::create(
            &db,
            &create,
            t,
            &viewer,
            new_key(vec![builtin.admin]),
            Utc::now()
        )
        .await,
        Err(Error::Escalation)
    ));
    let (key, raw) = api_keys::create(
        &db,
        &create,
        t,
        &admin,
        new_key(vec![builtin.viewer]),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(raw.0.starts_with(&key.prefix));
    let resolved = api_keys::resolve(&db, &raw.0, Utc::now())
        .await
        .unwrap()
        .expect("a fresh key resolves");
    assert_eq!((resolved.id, resolved.tenant_id), (key.id, t));
    assert_eq!(
        api_keys::grants_of_key(&db, t, key.id).await.unwrap(),
        viewer
    );
    // The same prefix with another secret is not the key.
    let forged = format!("{}{}", &raw.0[..12], "0".repeat(raw.0.len() - 12));
    assert_ne!(forged, raw.0);
    assert!(
        api_keys::resolve(&db, &forged, Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        api_keys::get(&db, other, key.id).await,
        Err(Error::NotFound)
    ));
    assert!(api_keys::list(&db, other).await.unwrap().is_empty());

    let update = permit(t, Resource::ApiKey, Action::Update);
    let disable = |disabled: bool| ApiKeyChange {
        is_disabled: Some(disabled),
        ..ApiKeyChange::default()
    };
    api_keys::update(&db, &update, t, &admin, key.id, disable(true), Utc::now())
        .await
        .unwrap();
    assert!(
        api_keys::resolve(&db, &raw.0, Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    api_keys::update(&db, &update, t, &admin, key.id, disable(false), Utc::now())
        .await
        .unwrap();
    assert!(
        api_keys::resolve(&db, &raw.0, Utc::now())
            .await
            .unwrap()
            .is_some()
    );

    let delete = permit(t, Resource::ApiKey, Action::Delete);
    api_keys::delete(&db, &delete, t, key.id, Utc::now())
        .await
        .unwrap();
    assert!(
        api_keys::resolve(&db, &raw.0, Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    assert!(api_keys::list(&db, t).await.unwrap().is_empty());
}
db_test!(api_keys_resolve_only_while_enabled);

async fn a_disabled_tenant_refuses_role_and_key_changes(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    let (t, builtin) = tenant(&db).await;
    let admin = store::grants_of_roles(&db, t, &[builtin.admin])
        .await
        .unwrap();
    set_disabled(&db, t, true).await;
    let role = NewRole {
        title: "Operators".into(),
        description: None,
        grants: RoleGrants::default(),
    };
    assert!(matches!(
        roles::create(
            &db,
            &permit(t, Resource::Role, Action::Create),
            &admin,
            role.clone(),
            Utc::now()
        )
        .await,
        Err(Error::TenantDisabled)
    ));
    let key = NewApiKey {
        title: "ci".into(),
        role_ids: vec![builtin.viewer],
    };
    let create_key = permit(t, Resource::ApiKey, Action::Create);
    assert!(matches!(
        api_keys::create(&db, &create_key, t, &admin, key.clone(), Utc::now()).await,
        Err(Error::TenantDisabled)
    ));
    // Reads still work, and re-enabling makes changes possible again.
    assert_eq!(roles::list(&db, t).await.unwrap().len(), 3);
    set_disabled(&db, t, false).await;
    roles::create(
        &db,
        &permit(t, Resource::Role, Action::Create),
        &admin,
        role,
        Utc::now(),
    )
    .await
    .unwrap();
    api_keys::create(&db, &create_key, t, &admin, key, Utc::now())
        .await
        .unwrap();
}
db_test!(a_disabled_tenant_refuses_role_and_key_changes);
