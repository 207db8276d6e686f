//! Filing items into folders on SQLite and PostgreSQL, through an item type registered the way
//! an owning crate registers its own (here a scratch table standing in for widgets): all or
//! nothing, scoped to the tenant, checked per item, unfiled when their folder goes, refused in a
//! disabled tenant.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use chrono::Utc;
use db_entity::tenants as tenant_rows;
use rbac::{Action, Grants, Permission, Permit, Resource, Subject};
use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, Table};
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, EntityTrait, QueryResult};
use support::{fresh, sign_in, tenant_of};
use tenancy::Error;
use tenancy::folder_items::{FolderItemRegistry, ItemTable};
use tenancy::folders::{self, EntityType, MoveItems, NewFolder};
use test_support::{Backend, db_test};
use uuid::Uuid;

const TABLE: &str = "scratch_widgets";

async fn scratch_table(db: &DatabaseConnection) {
    let create = Table::create()
        .table(Alias::new(TABLE))
        .col(
            ColumnDef::new(Alias::new("id"))
                .uuid()
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Alias::new("tenant_id")).uuid().not_null())
        .col(ColumnDef::new(Alias::new("folder_id")).uuid().null())
        .col(
            ColumnDef::new(Alias::new("updated_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
        .to_owned();
    db.execute(&create).await.unwrap();
}

async fn item(db: &DatabaseConnection, tenant_id: Uuid) -> Uuid {
    let id = Uuid::now_v7();
    let insert = Query::insert()
        .into_table(Alias::new(TABLE))
        .columns([
            Alias::new("id"),
            Alias::new("tenant_id"),
            Alias::new("updated_at"),
        ])
        .values_panic([id.into(), tenant_id.into(), Utc::now().into()])
        .to_owned();
    db.execute(&insert).await.unwrap();
    id
}

async fn folder_of(db: &DatabaseConnection, id: Uuid) -> Option<Uuid> {
    let select = Query::select()
        .column(Alias::new("folder_id"))
        .from(Alias::new(TABLE))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    let row: QueryResult = db.query_one(&select).await.unwrap().unwrap();
    row.try_get("", "folder_id").unwrap()
}

fn permit(tenant_id: Uuid, subject: Subject, grants: &Grants, action: Action) -> Permit {
    let permission = Permission::new(Resource::Folder, action).unwrap();
    rbac::authorize(tenant_id, subject, grants, permission, None).unwrap()
}

fn widgets() -> FolderItemRegistry {
    let mut registry = FolderItemRegistry::new();
    registry.register(Arc::new(ItemTable {
        entity_type: EntityType::Widget,
        table: TABLE,
    }));
    registry
}

fn moving(ids: &[Uuid], folder_id: Option<Uuid>) -> MoveItems {
    MoveItems {
        entity_type: EntityType::Widget,
        entity_ids: ids.to_vec(),
        folder_id,
    }
}

async fn items_are_filed_all_or_nothing_within_their_tenant(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    scratch_table(&db).await;
    let registry = widgets();
    let t = tenant_of(&db, sign_in(&db, "alice", true).await).await;
    let other = tenant_of(&db, sign_in(&db, "bob", true).await).await;
    let system = Grants::new();
    let create = permit(t, Subject::System, &system, Action::Create);
    let folder = folders::create(
        &db,
        &create,
        NewFolder {
            entity_type: EntityType::Widget,
            title: "Dashboards".into(),
            parent_id: None,
        },
        Utc::now(),
    )
    .await
    .unwrap();
    let (a, b) = (item(&db, t).await, item(&db, t).await);
    let foreign = item(&db, other).await;
    let update = permit(t, Subject::System, &system, Action::Update);

    let moved = folders::move_items(
        &db,
        &registry,
        &update,
        &system,
        moving(&[a, b, a], Some(folder.id)),
        Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(moved, 2, "duplicates count once");
    assert_eq!(folder_of(&db, a).await, Some(folder.id));

    // One id of another tenant (or none at all): nothing moves.
    for stranger in [foreign, Uuid::now_v7()] {
        let refused = folders::move_items(
            &db,
            &registry,
            &update,
            &system,
            moving(&[a, stranger], None),
            Utc::now(),
        )
        .await;
        assert!(
            matches!(
                refused,
                Err(Error::UnknownReference {
                    field: "entityIDs",
                    ..
                })
            ),
            "{refused:?}"
        );
        assert_eq!(folder_of(&db, a).await, Some(folder.id), "rolled back");
    }
    assert_eq!(folder_of(&db, foreign).await, None);

    // A type nobody registered has no items.
    let workflows = MoveItems {
        entity_type: EntityType::Workflow,
        ..moving(&[a], None)
    };
    assert!(matches!(
        folders::move_items(&db, &registry, &update, &system, workflows, Utc::now()).await,
        Err(Error::UnknownReference { .. })
    ));

    // Deleting the folder unfiles its items.
    let delete = permit(t, Subject::System, &system, Action::Delete);
    folders::delete(&db, &registry, &delete, folder.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(folder_of(&db, a).await, None);
    assert_eq!(folder_of(&db, b).await, None);
}
db_test!(items_are_filed_all_or_nothing_within_their_tenant);

async fn each_item_needs_its_own_update_right(backend: Backend) {
    let Some((_guard, db)) = fresh(backend).await else {
        return;
    };
    scratch_table(&db).await;
    let registry = widgets();
    let t = tenant_of(&db, sign_in(&db, "alice", true).await).await;
    let (a, b) = (item(&db, t).await, item(&db, t).await);
    // May file folders, and update `a` only (an asset grant).
    let mut grants = Grants::new();
    grants.grant(Permission::new(Resource::Folder, Action::Update).unwrap());
    grants.grant_asset(Resource::Widget, a, Action::Update);
    let carol = Subject::User(Uuid::now_v7());
    let update = permit(t, carol, &grants, Action::Update);
    let refused = folders::move_items(
        &db,
        &registry,
        &update,
        &grants,
        moving(&[a, b], None),
        Utc::now(),
    )
    .await;
    assert!(matches!(refused, Err(Error::Denied(_))), "{refused:?}");
    folders::move_items(
        &db,
        &registry,
        &update,
        &grants,
        moving(&[a], None),
        Utc::now(),
    )
    .await
    .unwrap();

    // A disabled tenant refuses the move in the domain, whoever calls.
    tenant_rows::Entity::update(tenant_rows::ActiveModel {
        id: Set(t),
        is_disabled: Set(true),
        ..Default::default()
    })
    .exec(&db)
    .await
    .unwrap();
    let refused = folders::move_items(
        &db,
        &registry,
        &update,
        &grants,
        moving(&[a], None),
        Utc::now(),
    )
    .await;
    assert!(
        matches!(refused, Err(Error::Rbac(rbac::Error::TenantDisabled))),
        "{refused:?}"
    );
}
db_test!(each_item_needs_its_own_update_right);
