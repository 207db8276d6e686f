//! The per-user, per-tenant preferences blob (`GET|POST /api/v1/auth/config/{tenantID}`).
//!
//! Opaque to the server: any JSON object up to [`MAX_BYTES`], replaced whole on write. Only the
//! member's own row is ever read or written; callers pass the membership they checked.

use chrono::{DateTime, Utc};
use db_entity::user_tenant_configs;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::Value;
use uuid::Uuid;

use crate::Error;
use crate::tenants::Membership;

/// Largest preferences blob, serialized.
pub const MAX_BYTES: usize = 64 * 1024;

/// The preferences of `user_id` in the membership's tenant (`{}` when none were saved).
pub async fn get(
    db: &impl ConnectionTrait,
    membership: &Membership,
    user_id: Uuid,
) -> Result<Value, Error> {
    let row = user_tenant_configs::Entity::find()
        .filter(user_tenant_configs::Column::TenantId.eq(membership.tenant.id))
        .filter(user_tenant_configs::Column::UserId.eq(user_id))
        .one(db)
        .await?;
    Ok(row.map_or_else(|| Value::Object(Default::default()), |row| row.config))
}

/// Replaces the preferences of `user_id` in the membership's tenant.
pub async fn set(
    db: &impl ConnectionTrait,
    membership: &Membership,
    user_id: Uuid,
    config: Value,
    now: DateTime<Utc>,
) -> Result<Value, Error> {
    if !config.is_object() {
        return Err(Error::Invalid {
            field: "config",
            message: "must be a JSON object".into(),
        });
    }
    if config.to_string().len() > MAX_BYTES {
        return Err(Error::Invalid {
            field: "config",
            message: format!("at most {MAX_BYTES} bytes"),
        });
    }
    user_tenant_configs::Entity::insert(user_tenant_configs::ActiveModel {
        tenant_id: Set(membership.tenant.id),
        user_id: Set(user_id),
        config: Set(config.clone()),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            user_tenant_configs::Column::TenantId,
            user_tenant_configs::Column::UserId,
        ])
        .update_columns([
            user_tenant_configs::Column::Config,
            user_tenant_configs::Column::UpdatedAt,
        ])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(config)
}
