//! Tenant roles: list, read, create, change, delete.
//!
//! A role is a title, a description, type-wide permissions from the catalog and asset grants
//! (`workflow:<id>:execute`). Rules:
//! - built-in roles (Admin, Editor, Viewer) and global roles (no tenant) are read-only here;
//! - titles are unique within a tenant, ignoring case;
//! - a principal can only create or change a role into something it holds itself
//!   ([`Grants::covers`]): otherwise anyone with `role:create` and `user:update` could grant
//!   themselves everything;
//! - deleting a role removes it from every member and key (foreign keys cascade).

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use db_entity::{role_asset_grants, role_permissions, roles};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::builtin::BuiltinRole;
use crate::catalog::{Action, Permission, Resource};
use crate::error::Error;
use crate::policy::{Grants, Permit};
use crate::tenant_lock::lock_writable_tenant;

/// Longest role description.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Most asset grants on one role.
pub const MAX_ASSET_GRANTS: usize = 1_000;

/// One asset grant: `action` on the object `resource_id` of type `resource`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AssetGrant {
    /// The object's type.
    pub resource: Resource,
    /// The object.
    pub resource_id: Uuid,
    /// What may be done to it.
    pub action: Action,
}

/// A role with its permissions and asset grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// Id.
    pub id: Uuid,
    /// `None` for a global role.
    pub tenant_id: Option<Uuid>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// The built-in role it is, if any.
    pub builtin: Option<BuiltinRole>,
    /// Type-wide permissions, sorted.
    pub permissions: Vec<Permission>,
    /// Asset grants, sorted.
    pub asset_grants: Vec<AssetGrant>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl RoleInfo {
    /// Built-in and global roles cannot be changed through a tenant.
    pub fn is_protected(&self) -> bool {
        self.builtin.is_some() || self.tenant_id.is_none()
    }
}

fn usable_in(tenant_id: Uuid) -> Condition {
    Condition::any()
        .add(roles::Column::TenantId.eq(tenant_id))
        .add(roles::Column::TenantId.is_null())
}

async fn with_grants(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    rows: Vec<roles::Model>,
) -> Result<Vec<RoleInfo>, Error> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let pairs: Vec<(Uuid, String)> = role_permissions::Entity::find()
        .select_only()
        .column(role_permissions::Column::RoleId)
        .column(role_permissions::Column::PermissionId)
        .filter(role_permissions::Column::RoleId.is_in(ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let assets: Vec<(Uuid, String, Uuid, String)> = role_asset_grants::Entity::find()
        .select_only()
        .column(role_asset_grants::Column::RoleId)
        .column(role_asset_grants::Column::ResourceType)
        .column(role_asset_grants::Column::ResourceId)
        .column(role_asset_grants::Column::Action)
        .filter(role_asset_grants::Column::TenantId.eq(tenant_id))
        .filter(role_asset_grants::Column::RoleId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut permissions: Vec<Permission> = pairs
                .iter()
                .filter(|(role, _)| *role == row.id)
                .filter_map(|(_, text)| text.parse().ok())
                .collect();
            permissions.sort();
            let mut asset_grants: Vec<AssetGrant> = assets
                .iter()
                .filter(|(role, ..)| *role == row.id)
                .filter_map(|(_, resource, resource_id, action)| {
                    Some(AssetGrant {
                        resource: resource.parse().ok()?,
                        resource_id: *resource_id,
                        action: action.parse().ok()?,
                    })
                })
                .collect();
            asset_grants.sort();
            RoleInfo {
                id: row.id,
                tenant_id: row.tenant_id,
                title: row.title,
                description: row.description,
                builtin: row.builtin.as_deref().and_then(BuiltinRole::from_key),
                permissions,
                asset_grants,
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

/// The roles usable in `tenant_id` (its own and the global ones), by title.
pub async fn list(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Vec<RoleInfo>, Error> {
    let rows = roles::Entity::find()
        .filter(usable_in(tenant_id))
        .order_by_asc(roles::Column::Title)
        .all(db)
        .await?;
    with_grants(db, tenant_id, rows).await
}

/// One role usable in `tenant_id`.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<RoleInfo, Error> {
    let row = roles::Entity::find_by_id(id)
        .filter(usable_in(tenant_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound)?;
    with_grants(db, tenant_id, vec![row])
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// What a role should grant, as submitted.
#[derive(Debug, Clone, Default)]
pub struct RoleGrants {
    /// Catalog permissions (`workflow:execute`).
    pub permissions: Vec<String>,
    /// Asset grants.
    pub asset_grants: Vec<AssetGrantInput>,
}

/// One submitted asset grant (names as in the API).
#[derive(Debug, Clone)]
pub struct AssetGrantInput {
    /// `workflow`, `dataquery`, …
    pub resource_type: String,
    /// The object.
    pub resource_id: Uuid,
    /// `execute`, `read`, …
    pub action: String,
}

/// The submitted catalog permissions, each known.
fn parse_permissions(input: &[String]) -> Result<BTreeSet<Permission>, Error> {
    input
        .iter()
        .map(|text| {
            text.parse().map_err(|_| Error::Invalid {
                field: "permissions",
                message: format!("unknown permission `{text}`; see GET /roles/permissions"),
            })
        })
        .collect()
}

/// The submitted asset grants, each a known `resourceType:action`.
fn parse_assets(input: &[AssetGrantInput]) -> Result<BTreeSet<AssetGrant>, Error> {
    if input.len() > MAX_ASSET_GRANTS {
        return Err(Error::Invalid {
            field: "assetPermissions",
            message: format!("at most {MAX_ASSET_GRANTS} entries"),
        });
    }
    input
        .iter()
        .map(|grant| {
            let text = format!("{}:{}", grant.resource_type, grant.action);
            let permission: Permission = text.parse().map_err(|_| Error::Invalid {
                field: "assetPermissions",
                message: format!("unknown resourceType/action `{text}`"),
            })?;
            Ok(AssetGrant {
                resource: permission.resource,
                resource_id: grant.resource_id,
                action: permission.action,
            })
        })
        .collect()
}

/// Parsed, validated grants: the permission set and the asset set.
fn parse_grants(input: &RoleGrants) -> Result<(BTreeSet<Permission>, BTreeSet<AssetGrant>), Error> {
    Ok((
        parse_permissions(&input.permissions)?,
        parse_assets(&input.asset_grants)?,
    ))
}

fn as_grants(permissions: &BTreeSet<Permission>, assets: &BTreeSet<AssetGrant>) -> Grants {
    let mut grants = Grants::new();
    for permission in permissions {
        grants.grant(*permission);
    }
    for asset in assets {
        grants.grant_asset(asset.resource, asset.resource_id, asset.action);
    }
    grants
}

fn valid_title(title: &str) -> Result<String, Error> {
    Ok(db_entity::title::valid_title("roleTitle", title)?)
}

fn valid_description(description: Option<String>) -> Result<Option<String>, Error> {
    // The limit applies to the text as sent (as the API description states it), then it is
    // trimmed.
    if description
        .as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(Error::Invalid {
            field: "roleDescription",
            message: format!("at most {MAX_DESCRIPTION_CHARS} characters"),
        });
    }
    Ok(description
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty()))
}

/// Refuses a title another role of the tenant (or a global role) already has, ignoring case.
async fn ensure_title_free(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    title: &str,
    except: Option<Uuid>,
) -> Result<(), Error> {
    let titles: Vec<(Uuid, String)> = roles::Entity::find()
        .select_only()
        .column(roles::Column::Id)
        .column(roles::Column::Title)
        .filter(usable_in(tenant_id))
        .into_tuple()
        .all(db)
        .await?;
    let wanted = title.to_lowercase();
    if titles
        .iter()
        .any(|(id, t)| Some(*id) != except && t.to_lowercase() == wanted)
    {
        return Err(Error::Conflict(format!("a role titled `{title}` exists")));
    }
    Ok(())
}

async fn write_grants(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    role_id: Uuid,
    permissions: &BTreeSet<Permission>,
    assets: &BTreeSet<AssetGrant>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    role_permissions::Entity::delete_many()
        .filter(role_permissions::Column::RoleId.eq(role_id))
        .exec(db)
        .await?;
    role_asset_grants::Entity::delete_many()
        .filter(role_asset_grants::Column::RoleId.eq(role_id))
        .exec(db)
        .await?;
    if !permissions.is_empty() {
        role_permissions::Entity::insert_many(permissions.iter().map(|permission| {
            role_permissions::ActiveModel {
                role_id: Set(role_id),
                permission_id: Set(permission.to_string()),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    if !assets.is_empty() {
        role_asset_grants::Entity::insert_many(assets.iter().map(|asset| {
            role_asset_grants::ActiveModel {
                id: Set(Uuid::now_v7()),
                tenant_id: Set(tenant_id),
                role_id: Set(role_id),
                resource_type: Set(asset.resource.as_str().to_string()),
                resource_id: Set(asset.resource_id),
                action: Set(asset.action.as_str().to_string()),
                created_at: Set(now),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// What a new role needs.
#[derive(Debug, Clone)]
pub struct NewRole {
    /// Title (1–200 characters).
    pub title: String,
    /// Description.
    pub description: Option<String>,
    /// Its grants.
    pub grants: RoleGrants,
}

/// Creates a role in `tenant_id` granting no more than `holder` (what the creator holds).
pub async fn create(
    db: &DatabaseConnection,
    permit: &Permit,
    holder: &Grants,
    new: NewRole,
    now: DateTime<Utc>,
) -> Result<RoleInfo, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::Role, Action::Create)?;
    let title = valid_title(&new.title)?;
    let description = valid_description(new.description)?;
    let (permissions, assets) = parse_grants(&new.grants)?;
    if !holder.covers(&as_grants(&permissions, &assets)) {
        return Err(Error::Escalation);
    }
    let (creator_user_id, created_by_api_key_id) = permit.subject().creator_columns();
    let id = Uuid::now_v7();
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    ensure_title_free(&txn, tenant_id, &title, None).await?;
    roles::Entity::insert(roles::ActiveModel {
        id: Set(id),
        tenant_id: Set(Some(tenant_id)),
        title: Set(title),
        description: Set(description),
        builtin: Set(None),
        created_by_user_id: Set(creator_user_id),
        created_by_api_key_id: Set(created_by_api_key_id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    write_grants(&txn, tenant_id, id, &permissions, &assets, now).await?;
    let role = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(role)
}

/// A change to a role; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct RoleChange {
    /// New title.
    pub title: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New permissions (replace the old ones).
    pub permissions: Option<Vec<String>>,
    /// New asset grants (replace the old ones).
    pub asset_grants: Option<Vec<AssetGrantInput>>,
}

/// Changes a tenant role. The role after the change must grant no more than `holder`.
pub async fn update(
    db: &DatabaseConnection,
    permit: &Permit,
    holder: &Grants,
    id: Uuid,
    change: RoleChange,
    now: DateTime<Utc>,
) -> Result<RoleInfo, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Role, Action::Update, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let current = get(&txn, tenant_id, id).await?;
    if current.is_protected() {
        return Err(Error::ProtectedRole);
    }
    let title = change.title.as_deref().map(valid_title).transpose()?;
    let description = change.description.map(valid_description).transpose()?;
    let grants_changed = change.permissions.is_some() || change.asset_grants.is_some();
    // Unchanged halves keep the role's current grants; only submitted text is parsed.
    let permissions = match &change.permissions {
        Some(submitted) => parse_permissions(submitted)?,
        None => current.permissions.iter().copied().collect(),
    };
    let assets = match &change.asset_grants {
        Some(submitted) => parse_assets(submitted)?,
        None => current.asset_grants.iter().copied().collect(),
    };
    if grants_changed && !holder.covers(&as_grants(&permissions, &assets)) {
        return Err(Error::Escalation);
    }
    if let Some(title) = &title {
        ensure_title_free(&txn, tenant_id, title, Some(id)).await?;
    }
    let mut row = roles::ActiveModel {
        id: Set(id),
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(title) = title {
        row.title = Set(title);
    }
    if let Some(description) = description {
        row.description = Set(description);
    }
    roles::Entity::update(row).exec(&txn).await?;
    if grants_changed {
        write_grants(&txn, tenant_id, id, &permissions, &assets, now).await?;
    }
    let role = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(role)
}

/// Deletes a tenant role; members and keys holding it lose it.
pub async fn delete(db: &DatabaseConnection, permit: &Permit, id: Uuid) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Role, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let current = get(&txn, tenant_id, id).await?;
    if current.is_protected() {
        return Err(Error::ProtectedRole);
    }
    roles::Entity::delete_many()
        .filter(roles::Column::Id.eq(id))
        .filter(roles::Column::TenantId.eq(tenant_id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_with_field_named_errors() {
        let id = Uuid::now_v7();
        let (permissions, assets) = parse_grants(&RoleGrants {
            permissions: vec!["role:list".into(), "role:list".into()],
            asset_grants: vec![AssetGrantInput {
                resource_type: "workflow".into(),
                resource_id: id,
                action: "execute".into(),
            }],
        })
        .unwrap();
        assert_eq!(permissions.len(), 1);
        assert!(as_grants(&permissions, &assets).holds_on(
            Permission::new(Resource::Workflow, Action::Execute).unwrap(),
            id
        ));

        let bad = parse_grants(&RoleGrants {
            permissions: vec!["role:fly".into()],
            asset_grants: vec![],
        });
        assert!(matches!(
            bad,
            Err(Error::Invalid {
                field: "permissions",
                ..
            })
        ));
        let bad_asset = parse_grants(&RoleGrants {
            permissions: vec![],
            asset_grants: vec![AssetGrantInput {
                resource_type: "folder".into(),
                resource_id: id,
                action: "execute".into(),
            }],
        });
        assert!(matches!(
            bad_asset,
            Err(Error::Invalid {
                field: "assetPermissions",
                ..
            })
        ));
    }
}
