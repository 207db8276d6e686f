//! Tenants and the caller's membership in them.
//!
//! Creating a tenant is one transaction: the tenant, its built-in roles (Admin, Editor, Viewer),
//! the creator's `ADMIN` membership holding the Admin role, and the creator's empty preferences.
//! Either all of it exists or none of it (the original left the creator without rights).
//!
//! Lookups are always by tenant *and* member: [`membership`] answers `None` alike for a tenant
//! that does not exist, one that was deleted, and one the user does not belong to, so callers
//! cannot leak which is which.

use chrono::{DateTime, SubsecRound, Utc};
use db_entity::{tenant_member_roles, tenant_members, tenants, user_tenant_configs};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use crate::Error;

/// The primary relationship of a member to a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    /// Administers the tenant.
    Admin,
    /// An ordinary member; rights come from roles.
    Member,
}

impl Relationship {
    /// As stored and shown: `ADMIN` or `MEMBER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Relationship::Admin => "ADMIN",
            Relationship::Member => "MEMBER",
        }
    }

    pub(crate) fn parse(text: &str) -> Self {
        if text == "ADMIN" {
            Relationship::Admin
        } else {
            Relationship::Member
        }
    }
}

/// A tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Id.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Creator.
    pub creator_user_id: Option<Uuid>,
    /// Disabled flag.
    pub is_disabled: bool,
    /// When disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Why disabled.
    pub disable_reason: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<tenants::Model> for Tenant {
    fn from(row: tenants::Model) -> Self {
        Tenant {
            id: row.id,
            title: row.title,
            logo_url: row.logo_url,
            creator_user_id: row.creator_user_id,
            is_disabled: row.is_disabled,
            disabled_at: row.disabled_at,
            disable_reason: row.disable_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A user's active membership in a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The tenant.
    pub tenant: Tenant,
    /// The membership row's id (roles hang off it).
    pub member_id: Uuid,
    /// The primary relationship.
    pub relationship: Relationship,
}

/// What a new tenant needs.
#[derive(Debug, Clone)]
pub struct NewTenant {
    /// Title (1–200 characters after trimming).
    pub title: String,
    /// Logo URL.
    pub logo_url: Option<String>,
}

/// Creates a tenant with `creator` as its `ADMIN` holding the Admin role, atomically.
pub async fn create(
    db: &DatabaseConnection,
    creator: Uuid,
    new: NewTenant,
    now: DateTime<Utc>,
) -> Result<Membership, Error> {
    let title = valid_title(&new.title)?;
    // Stored precision (PostgreSQL keeps microseconds), so this answer matches later reads.
    let now = now.trunc_subsecs(6);
    let tenant = Tenant {
        id: Uuid::now_v7(),
        title,
        logo_url: new.logo_url.filter(|url| !url.trim().is_empty()),
        creator_user_id: Some(creator),
        is_disabled: false,
        disabled_at: None,
        disable_reason: None,
        created_at: now,
        updated_at: now,
    };
    let tenant_id = tenant.id;
    let member_id = Uuid::now_v7();
    let txn = db.begin().await?;
    tenants::Entity::insert(tenants::ActiveModel {
        id: Set(tenant_id),
        title: Set(tenant.title.clone()),
        logo_url: Set(tenant.logo_url.clone()),
        creator_user_id: Set(tenant.creator_user_id),
        created_by_api_key_id: Set(None),
        is_disabled: Set(false),
        disabled_at: Set(None),
        disable_reason: Set(None),
        metadata: Set(serde_json::json!({})),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_without_returning(&txn)
    .await?;
    let roles = rbac::store::create_builtin_roles(&txn, tenant_id, Some(creator), now).await?;
    tenant_members::Entity::insert(tenant_members::ActiveModel {
        id: Set(member_id),
        tenant_id: Set(tenant_id),
        user_id: Set(Some(creator)),
        invited_email: Set(None),
        relationship: Set(Relationship::Admin.as_str().to_string()),
        status: Set("active".to_string()),
        invited_by_user_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    tenant_member_roles::Entity::insert(tenant_member_roles::ActiveModel {
        tenant_id: Set(tenant_id),
        member_id: Set(member_id),
        role_id: Set(roles.admin),
    })
    .exec_without_returning(&txn)
    .await?;
    user_tenant_configs::Entity::insert(user_tenant_configs::ActiveModel {
        tenant_id: Set(tenant_id),
        user_id: Set(creator),
        config: Set(serde_json::json!({})),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    txn.commit().await?;
    Ok(Membership {
        tenant,
        member_id,
        relationship: Relationship::Admin,
    })
}

/// `user_id`'s active membership in `tenant_id`, if the tenant exists, is not deleted, and the
/// user belongs to it.
pub async fn membership(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    user_id: Uuid,
) -> Result<Option<Membership>, Error> {
    let Some(member) = tenant_members::Entity::find()
        .filter(tenant_members::Column::TenantId.eq(tenant_id))
        .filter(tenant_members::Column::UserId.eq(user_id))
        .filter(tenant_members::Column::Status.eq("active"))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let tenant = tenants::Entity::find_by_id(tenant_id)
        .filter(tenants::Column::DeletedAt.is_null())
        .one(db)
        .await?;
    Ok(tenant.map(|tenant| Membership {
        tenant: tenant.into(),
        member_id: member.id,
        relationship: Relationship::parse(&member.relationship),
    }))
}

/// The tenants `user_id` is an active member of, newest first.
pub async fn list_for_user(
    db: &DatabaseConnection,
    user_id: Uuid,
) -> Result<Vec<Membership>, Error> {
    let members = tenant_members::Entity::find()
        .filter(tenant_members::Column::UserId.eq(user_id))
        .filter(tenant_members::Column::Status.eq("active"))
        .all(db)
        .await?;
    let ids: Vec<Uuid> = members.iter().map(|m| m.tenant_id).collect();
    let rows = tenants::Entity::find()
        .filter(tenants::Column::Id.is_in(ids))
        .filter(tenants::Column::DeletedAt.is_null())
        .order_by_desc(tenants::Column::CreatedAt)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|tenant| {
            let member = members.iter().find(|m| m.tenant_id == tenant.id)?;
            Some(Membership {
                member_id: member.id,
                relationship: Relationship::parse(&member.relationship),
                tenant: tenant.into(),
            })
        })
        .collect())
}

/// Adds `user_id` to `tenant_id` as an active member holding no roles yet.
pub async fn add_member(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    user_id: Uuid,
    relationship: Relationship,
    now: DateTime<Utc>,
) -> Result<Membership, Error> {
    tenant_members::Entity::insert(tenant_members::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(tenant_id),
        user_id: Set(Some(user_id)),
        invited_email: Set(None),
        relationship: Set(relationship.as_str().to_string()),
        status: Set("active".to_string()),
        invited_by_user_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    membership(db, tenant_id, user_id).await?.ok_or_else(|| {
        Error::Database(sea_orm::DbErr::RecordNotFound(
            "the tenant of the new member does not exist".into(),
        ))
    })
}

/// The tenant `tenant_id`, unless it does not exist or was deleted.
pub async fn find(db: &DatabaseConnection, tenant_id: Uuid) -> Result<Option<Tenant>, Error> {
    Ok(tenants::Entity::find_by_id(tenant_id)
        .filter(tenants::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .map(Tenant::from))
}

/// A change to a tenant; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct TenantChange {
    /// New title.
    pub title: Option<String>,
    /// New logo URL (`Some(None)` clears it).
    pub logo_url: Option<Option<String>>,
    /// Disable (`true`) or re-enable (`false`).
    pub is_disabled: Option<bool>,
    /// Why it is disabled (kept only while disabled).
    pub disable_reason: Option<String>,
}

fn valid_title(title: &str) -> Result<String, Error> {
    Ok(db_entity::title::valid_title("tenantTitle", title)?)
}

/// Longest disable reason.
pub const MAX_REASON_CHARS: usize = 1_000;

/// Changes the permit's tenant. A disabled tenant accepts only a change that re-enables it.
pub async fn update(
    db: &DatabaseConnection,
    permit: &rbac::Permit,
    change: TenantChange,
    now: DateTime<Utc>,
) -> Result<Tenant, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, rbac::Resource::Tenant, rbac::Action::Update)?;
    let now = now.trunc_subsecs(6);
    let txn = db.begin().await?;
    rbac::tenant_lock::lock_tenant(&txn, tenant_id).await?;
    let row = tenants::Entity::find_by_id(tenant_id)
        .filter(tenants::Column::DeletedAt.is_null())
        .one(&txn)
        .await?
        .ok_or(Error::NotFound)?;
    if row.is_disabled && change.is_disabled != Some(false) {
        return Err(Error::TenantDisabled);
    }
    let mut update: tenants::ActiveModel = row.clone().into();
    if let Some(title) = &change.title {
        update.title = Set(valid_title(title)?);
    }
    if let Some(logo_url) = change.logo_url {
        update.logo_url = Set(logo_url.filter(|url| !url.trim().is_empty()));
    }
    // The limit is on the text as sent, then it is trimmed.
    if change
        .disable_reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON_CHARS)
    {
        return Err(Error::Invalid {
            field: "disableReason",
            message: format!("at most {MAX_REASON_CHARS} characters"),
        });
    }
    let reason = change
        .disable_reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    match change.is_disabled {
        Some(true) if !row.is_disabled => {
            update.is_disabled = Set(true);
            update.disabled_at = Set(Some(now));
            update.disable_reason = Set(reason);
        }
        Some(true) => update.disable_reason = Set(reason.or(row.disable_reason)),
        Some(false) => {
            update.is_disabled = Set(false);
            update.disabled_at = Set(None);
            update.disable_reason = Set(None);
        }
        None => {}
    }
    update.updated_at = Set(now);
    let row = tenants::Entity::update(update).exec(&txn).await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Deletes the permit's tenant softly: it disappears for everyone at once (every route answers
/// 404, its API keys stop working) while its rows stay for recovery by an operator.
pub async fn delete(
    db: &DatabaseConnection,
    permit: &rbac::Permit,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, rbac::Resource::Tenant, rbac::Action::Delete)?;
    let deleted = tenants::Entity::update_many()
        .col_expr(
            tenants::Column::DeletedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .col_expr(
            tenants::Column::UpdatedAt,
            sea_orm::sea_query::Expr::value(now),
        )
        .filter(tenants::Column::Id.eq(tenant_id))
        .filter(tenants::Column::DeletedAt.is_null())
        .exec(db)
        .await?;
    if deleted.rows_affected == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}
