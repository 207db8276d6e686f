//! The tenant row lock every change in a tenant takes first, and the disabled-tenant rule.
//!
//! [`lock_writable_tenant`] is the first statement of every domain change inside a tenant
//! (members, roles, keys, folders, and every later resource): it takes the tenant's row lock
//! (PostgreSQL: a row lock; SQLite: the database write lock), so concurrent changes see a stable
//! tenant (the admin count, sibling titles), and it refuses a disabled tenant. The rule therefore
//! holds for every caller, HTTP or not (cron jobs, listeners, workflow workers). Only re-enabling
//! the tenant itself uses the plain [`lock_tenant`].

use db_entity::tenants;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::error::Error;

/// Locks the tenant's row inside `txn`, whatever its status. `NotFound` for an unknown or
/// deleted tenant.
pub async fn lock_tenant(txn: &impl ConnectionTrait, tenant_id: Uuid) -> Result<(), Error> {
    let locked = tenants::Entity::update_many()
        .col_expr(
            tenants::Column::UpdatedAt,
            Expr::col(tenants::Column::UpdatedAt),
        )
        .filter(tenants::Column::Id.eq(tenant_id))
        .filter(tenants::Column::DeletedAt.is_null())
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Locks the tenant's row inside `txn` and refuses a disabled tenant (`TenantDisabled`).
pub async fn lock_writable_tenant(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
) -> Result<(), Error> {
    lock_tenant(txn, tenant_id).await?;
    let disabled: Option<bool> = tenants::Entity::find_by_id(tenant_id)
        .select_only()
        .column(tenants::Column::IsDisabled)
        .into_tuple()
        .one(txn)
        .await?;
    match disabled {
        Some(false) => Ok(()),
        Some(true) => Err(Error::TenantDisabled),
        None => Err(Error::NotFound),
    }
}
