//! Key rotation: every datasource whose secrets are sealed under another key than the ring's
//! active one is opened and sealed again under the active key.
//!
//! Operators run it (`jet-server keys rotate`, `cargo xtask keys rotate`) after making a new key
//! active and listing the old one in `JET_ENCRYPTION_PREVIOUS_KEYS`. It works in batches ordered
//! by id and selects only rows not yet under the active key, so it is idempotent and a run that
//! was killed resumes where it stopped. It is safe while servers run: each row is rewritten only
//! if it is still as it was read (its key id and `updated_at`), so a concurrent edit (which seals
//! under the active key itself) is never overwritten. A row that cannot be opened is reported by
//! id and left as it is; the run goes on with the others.
//!
//! The one cross-tenant query of the crate: rotation is an operator's maintenance over the whole
//! database, never reachable from a tenant's request.

use db_entity::datasources;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    sea_query::Expr,
};
use uuid::Uuid;

use crate::Error;
use crate::options;
use crate::secrets::KeyRing;
use crate::types::DatasourceType;

/// What a rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Rows sealed again under the active key.
    pub rotated: u64,
    /// Rows changed by someone else between read and write (already under a current key).
    pub skipped: u64,
    /// Rows that could not be opened: the datasource and why.
    pub failed: Vec<(Uuid, String)>,
    /// Whether rows under other keys remain after this call (see `max_batches`).
    pub more: bool,
}

/// Rotates up to `max_batches` batches of `batch_size` rows (`None`: until done).
pub async fn rotate(
    db: &impl ConnectionTrait,
    ring: &KeyRing,
    batch_size: u64,
    max_batches: Option<u64>,
) -> Result<RotationReport, Error> {
    let active = ring.active().id().0.clone();
    let mut report = RotationReport::default();
    let mut after: Option<Uuid> = None;
    let mut batches = 0u64;
    loop {
        if max_batches.is_some_and(|max| batches >= max) {
            report.more = !stale_rows(db, &active, after, 1).await?.is_empty();
            return Ok(report);
        }
        let rows = stale_rows(db, &active, after, batch_size.max(1)).await?;
        let Some(last) = rows.last() else {
            return Ok(report);
        };
        after = Some(last.id);
        batches += 1;
        for row in rows {
            match reseal(ring, &row) {
                Ok(sealed) => {
                    let written = datasources::Entity::update_many()
                        .col_expr(datasources::Column::Secrets, Expr::value(sealed.secrets))
                        .col_expr(
                            datasources::Column::SecretsKeyId,
                            Expr::value(sealed.key_id),
                        )
                        .filter(datasources::Column::Id.eq(row.id))
                        .filter(datasources::Column::SecretsKeyId.eq(row.secrets_key_id.clone()))
                        .filter(datasources::Column::UpdatedAt.eq(row.updated_at))
                        .exec(db)
                        .await?;
                    if written.rows_affected == 1 {
                        report.rotated += 1;
                    } else {
                        report.skipped += 1;
                    }
                }
                Err(error) => report.failed.push((row.id, error.to_string())),
            }
        }
    }
}

async fn stale_rows(
    db: &impl ConnectionTrait,
    active: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<datasources::Model>, Error> {
    let mut query = datasources::Entity::find()
        .filter(datasources::Column::SecretsKeyId.is_not_null())
        .filter(datasources::Column::SecretsKeyId.ne(active));
    if let Some(after) = after {
        query = query.filter(datasources::Column::Id.gt(after));
    }
    Ok(query
        .order_by_asc(datasources::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

fn reseal(ring: &KeyRing, row: &datasources::Model) -> Result<options::SealedOptions, Error> {
    let datasource_type = DatasourceType::parse(&row.datasource_type)?;
    let opened = options::open(
        ring,
        datasource_type,
        row.tenant_id,
        row.id,
        &row.options,
        &row.secrets,
    )?;
    opened.seal(ring, row.tenant_id, row.id)
}
