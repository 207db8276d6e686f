//! Reading the trail of one tenant, filtered and paginated, newest first.

use chrono::{DateTime, Utc};
use db_entity::audit_logs;
use sea_orm::{
    ColumnTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::{AuditKind, AuditRecord};

/// Filters for [`list`]; every field narrows the result.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only entries of this kind.
    pub kind: Option<AuditKind>,
    /// Only this user's requests.
    pub user_id: Option<Uuid>,
    /// Only this API key's requests.
    pub api_key_id: Option<Uuid>,
    /// Only this method.
    pub method: Option<String>,
    /// Only paths starting with this.
    pub path_prefix: Option<String>,
    /// Only successes (or failures).
    pub success: Option<bool>,
    /// From this time on.
    pub from: Option<DateTime<Utc>>,
    /// Before this time.
    pub to: Option<DateTime<Utc>>,
}

/// One page of the tenant's trail and the total matching.
pub async fn list(
    db: &DatabaseConnection,
    tenant_id: Uuid,
    filter: &AuditFilter,
    page: u64,
    page_size: u64,
) -> Result<(Vec<AuditRecord>, u64), DbErr> {
    let mut query = audit_logs::Entity::find().filter(audit_logs::Column::TenantId.eq(tenant_id));
    if let Some(kind) = filter.kind {
        query = query.filter(audit_logs::Column::Kind.eq(kind.as_str()));
    }
    if let Some(user) = filter.user_id {
        query = query.filter(audit_logs::Column::UserId.eq(user));
    }
    if let Some(key) = filter.api_key_id {
        query = query.filter(audit_logs::Column::ApiKeyId.eq(key));
    }
    if let Some(method) = &filter.method {
        query = query.filter(audit_logs::Column::Method.eq(method.to_ascii_uppercase()));
    }
    if let Some(prefix) = &filter.path_prefix {
        query = query.filter(audit_logs::Column::Path.starts_with(prefix.as_str()));
    }
    if let Some(success) = filter.success {
        query = query.filter(audit_logs::Column::Success.eq(success));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_logs::Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_logs::Column::CreatedAt.lt(to));
    }
    let paginator = query
        .order_by_desc(audit_logs::Column::CreatedAt)
        .order_by_desc(audit_logs::Column::Id)
        .paginate(db, page_size.max(1));
    let total = paginator.num_items().await?;
    let rows = paginator.fetch_page(page.saturating_sub(1)).await?;
    Ok((rows.into_iter().map(AuditRecord::from).collect(), total))
}
