//! Roles and grants in the database: the catalog table, the built-in roles of a tenant, and the
//! [`Grants`] a membership holds.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use db_entity::{permissions, role_asset_grants, role_permissions, roles, tenant_member_roles};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QuerySelect,
};
use uuid::Uuid;

use crate::builtin::BuiltinRole;
use crate::catalog::{Action, Permission, Resource};
use crate::error::Error;
use crate::policy::Grants;

/// Makes the `permissions` table hold exactly the catalog's entries (adds new ones; entries no
/// longer in the catalog are removed, and with them any grant of them).
pub async fn sync_catalog(db: &impl ConnectionTrait) -> Result<(), Error> {
    let rows: Vec<permissions::ActiveModel> = Permission::all()
        .map(|permission| permissions::ActiveModel {
            id: Set(permission.to_string()),
            resource: Set(permission.resource.as_str().to_string()),
            action: Set(permission.action.as_str().to_string()),
            description: Set(format!(
                "{} {}",
                permission.action.as_str(),
                permission.resource.as_str()
            )),
        })
        .collect();
    permissions::Entity::insert_many(rows)
        .on_conflict(
            OnConflict::column(permissions::Column::Id)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let known: Vec<String> = Permission::all().map(|p| p.to_string()).collect();
    permissions::Entity::delete_many()
        .filter(permissions::Column::Id.is_not_in(known))
        .exec(db)
        .await?;
    Ok(())
}

/// The ids of a tenant's built-in roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinRoleIds {
    /// Admin.
    pub admin: Uuid,
    /// Editor.
    pub editor: Uuid,
    /// Viewer.
    pub viewer: Uuid,
}

/// Creates Admin, Editor and Viewer in `tenant_id`, with their permissions. Run it inside the
/// transaction that creates the tenant.
pub async fn create_builtin_roles(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    created_by_user_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<BuiltinRoleIds, Error> {
    let mut ids = Vec::with_capacity(3);
    for role in BuiltinRole::ALL {
        let id = Uuid::now_v7();
        roles::Entity::insert(roles::ActiveModel {
            id: Set(id),
            tenant_id: Set(Some(tenant_id)),
            title: Set(role.title().to_string()),
            description: Set(Some(role.description().to_string())),
            builtin: Set(Some(role.key().to_string())),
            created_by_user_id: Set(created_by_user_id),
            created_by_api_key_id: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
        let grants: Vec<role_permissions::ActiveModel> = role
            .permissions()
            .into_iter()
            .map(|permission| role_permissions::ActiveModel {
                role_id: Set(id),
                permission_id: Set(permission.to_string()),
            })
            .collect();
        role_permissions::Entity::insert_many(grants)
            .exec_without_returning(db)
            .await?;
        ids.push(id);
    }
    Ok(BuiltinRoleIds {
        admin: ids[0],
        editor: ids[1],
        viewer: ids[2],
    })
}

/// What membership `member_id` holds in `tenant_id`: the union of its roles (the tenant's own
/// and global ones) and their asset grants in this tenant.
pub async fn grants_of_member(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    member_id: Uuid,
) -> Result<Grants, Error> {
    let assigned: Vec<Uuid> = tenant_member_roles::Entity::find()
        .select_only()
        .column(tenant_member_roles::Column::RoleId)
        .filter(tenant_member_roles::Column::TenantId.eq(tenant_id))
        .filter(tenant_member_roles::Column::MemberId.eq(member_id))
        .into_tuple()
        .all(db)
        .await?;
    grants_of_roles(db, tenant_id, &assigned).await
}

/// Those of `role_ids` that may be used in `tenant_id`: its own roles and global ones.
pub async fn usable_role_ids(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    role_ids: &[Uuid],
) -> Result<Vec<Uuid>, Error> {
    Ok(roles::Entity::find()
        .select_only()
        .column(roles::Column::Id)
        .filter(roles::Column::Id.is_in(role_ids.to_vec()))
        .filter(
            Condition::any()
                .add(roles::Column::TenantId.eq(tenant_id))
                .add(roles::Column::TenantId.is_null()),
        )
        .into_tuple()
        .all(db)
        .await?)
}

/// The union of `role_ids`' grants in `tenant_id`, ignoring roles of other tenants.
pub async fn grants_of_roles(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    role_ids: &[Uuid],
) -> Result<Grants, Error> {
    let mut grants = Grants::new();
    if role_ids.is_empty() {
        return Ok(grants);
    }
    // A role assigned here must belong to this tenant or be global: never trust the mapping alone.
    let valid = usable_role_ids(db, tenant_id, role_ids).await?;
    if valid.is_empty() {
        return Ok(grants);
    }
    let held: HashSet<String> = role_permissions::Entity::find()
        .select_only()
        .column(role_permissions::Column::PermissionId)
        .filter(role_permissions::Column::RoleId.is_in(valid.clone()))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    for text in held {
        // Rows outside the catalog cannot exist (foreign key); skip rather than fail if one does.
        if let Ok(permission) = text.parse::<Permission>() {
            grants.grant(permission);
        }
    }
    let assets: Vec<(String, Uuid, String)> = role_asset_grants::Entity::find()
        .select_only()
        .column(role_asset_grants::Column::ResourceType)
        .column(role_asset_grants::Column::ResourceId)
        .column(role_asset_grants::Column::Action)
        .filter(role_asset_grants::Column::TenantId.eq(tenant_id))
        .filter(role_asset_grants::Column::RoleId.is_in(valid))
        .into_tuple()
        .all(db)
        .await?;
    for (resource, id, action) in assets {
        if let (Ok(resource), Ok(action)) = (resource.parse::<Resource>(), action.parse::<Action>())
        {
            grants.grant_asset(resource, id, action);
        }
    }
    Ok(grants)
}

/// Checks that every role exists in `tenant_id` (or is global) and grants no more than `holder`;
/// answers the roles without duplicates. Used wherever roles are handed out (members, keys).
pub async fn checked_roles(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    role_ids: &[Uuid],
    holder: &Grants,
) -> Result<Vec<Uuid>, Error> {
    let mut unique = role_ids.to_vec();
    unique.sort();
    unique.dedup();
    let found = usable_role_ids(db, tenant_id, &unique).await?;
    if found.len() != unique.len() {
        return Err(Error::UnknownReference {
            field: "roleIDs",
            message: "no such role in this tenant".into(),
        });
    }
    let granted = grants_of_roles(db, tenant_id, &unique).await?;
    if !holder.covers(&granted) {
        return Err(Error::Escalation);
    }
    Ok(unique)
}

/// The id of `tenant_id`'s built-in `role`.
pub async fn builtin_role_id(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    role: BuiltinRole,
) -> Result<Uuid, Error> {
    roles::Entity::find()
        .select_only()
        .column(roles::Column::Id)
        .filter(roles::Column::TenantId.eq(tenant_id))
        .filter(roles::Column::Builtin.eq(role.key()))
        .into_tuple()
        .one(db)
        .await?
        .ok_or(Error::NotFound)
}
