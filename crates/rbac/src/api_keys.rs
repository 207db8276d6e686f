//! API keys: issued once, stored as a hash, resolved in constant time, scoped to one tenant.
//!
//! A key is `jet_` followed by 64 hex characters (32 bytes from the system's secure random
//! source). The database keeps the first 8 hex characters as a lookup prefix (not enough to use
//! the key) and the SHA-256 of the whole key; the raw key exists only in the create (or clone)
//! response. Resolution finds candidates by prefix and compares hashes in constant time.
//!
//! A key acts only in its own tenant and only with its own roles; a creator cannot give a key
//! roles that grant more than the creator holds.

use chrono::{DateTime, Duration, Utc};
use db_entity::{api_key_roles, api_keys};
use ring::rand::{SecureRandom, SystemRandom};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::catalog::{Action, Permission, Resource};
use crate::error::Error;
use crate::policy::{Grants, Permit, Subject, Target, authorize};
use crate::store::{checked_roles, grants_of_roles};
use crate::tenant_lock::lock_writable_tenant;

/// Prefix of every key.
pub const KEY_PREFIX: &str = "jet_";
/// Hex characters of the secret kept for lookup.
const LOOKUP_CHARS: usize = 8;
/// `last_used_at` is written at most this often.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

/// An API key as shown after creation (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Id.
    pub id: Uuid,
    /// Tenant.
    pub tenant_id: Uuid,
    /// Title.
    pub title: String,
    /// Lookup prefix (`jet_` + 8 hex), safe to show.
    pub prefix: String,
    /// Disabled flag.
    pub is_disabled: bool,
    /// Roles.
    pub role_ids: Vec<Uuid>,
    /// Creator (user).
    pub creator_user_id: Option<Uuid>,
    /// Creator (API key).
    pub created_by_api_key_id: Option<Uuid>,
    /// Last use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A key that authenticated a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedKey {
    /// Id.
    pub id: Uuid,
    /// The only tenant it acts in.
    pub tenant_id: Uuid,
    /// Title.
    pub title: String,
}

/// A new key's secret: shown once.
#[derive(Clone, PartialEq, Eq)]
pub struct RawKey(pub String);

impl std::fmt::Debug for RawKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RawKey(..)")
    }
}

fn generate() -> Result<RawKey, Error> {
    let mut secret = [0u8; 32];
    SystemRandom::new()
        .fill(&mut secret)
        .map_err(|_| Error::Random)?;
    Ok(RawKey(format!("{KEY_PREFIX}{}", hex::encode(secret))))
}

fn hash(raw: &str) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, raw.as_bytes()))
}

fn lookup_prefix(raw: &str) -> Option<&str> {
    let secret = raw.strip_prefix(KEY_PREFIX)?;
    let well_formed = secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then(|| &secret[..LOOKUP_CHARS])
}

fn valid_title(title: &str) -> Result<String, Error> {
    Ok(db_entity::title::valid_title("apiKeyTitle", title)?)
}

/// What a new key needs.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Title.
    pub title: String,
    /// Roles it acts with.
    pub role_ids: Vec<Uuid>,
}

/// Issues a key in `tenant_id`. `holder` is what the creator holds (the key gets no more).
pub async fn create(
    db: &DatabaseConnection,
    permit: &Permit,
    tenant_id: Uuid,
    holder: &Grants,
    new: NewApiKey,
    now: DateTime<Utc>,
) -> Result<(ApiKey, RawKey), Error> {
    permit.require(tenant_id, Resource::ApiKey, Action::Create)?;
    let title = valid_title(&new.title)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let role_ids = checked_roles(&txn, tenant_id, &new.role_ids, holder).await?;
    let (id, raw) = insert(&txn, permit, tenant_id, title, &role_ids, false, now).await?;
    txn.commit().await?;
    Ok((get(db, tenant_id, id).await?, raw))
}

async fn insert(
    db: &impl ConnectionTrait,
    permit: &Permit,
    tenant_id: Uuid,
    title: String,
    role_ids: &[Uuid],
    disabled: bool,
    now: DateTime<Utc>,
) -> Result<(Uuid, RawKey), Error> {
    let raw = generate()?;
    let prefix = lookup_prefix(&raw.0).ok_or(Error::Random)?.to_string();
    let id = Uuid::now_v7();
    let (creator_user_id, created_by_api_key_id) = permit.subject().creator_columns();
    api_keys::Entity::insert(api_keys::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        title: Set(title),
        key_prefix: Set(prefix),
        key_hash: Set(hash(&raw.0)),
        is_disabled: Set(disabled),
        creator_user_id: Set(creator_user_id),
        created_by_api_key_id: Set(created_by_api_key_id),
        last_used_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_without_returning(db)
    .await?;
    set_roles(db, id, role_ids).await?;
    Ok((id, raw))
}

async fn set_roles(
    db: &impl ConnectionTrait,
    key_id: Uuid,
    role_ids: &[Uuid],
) -> Result<(), Error> {
    api_key_roles::Entity::delete_many()
        .filter(api_key_roles::Column::ApiKeyId.eq(key_id))
        .exec(db)
        .await?;
    if role_ids.is_empty() {
        return Ok(());
    }
    let rows = role_ids.iter().map(|role_id| api_key_roles::ActiveModel {
        api_key_id: Set(key_id),
        role_id: Set(*role_id),
    });
    api_key_roles::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

fn view(row: api_keys::Model, role_ids: Vec<Uuid>) -> ApiKey {
    ApiKey {
        id: row.id,
        tenant_id: row.tenant_id,
        title: row.title,
        prefix: format!("{KEY_PREFIX}{}", row.key_prefix),
        is_disabled: row.is_disabled,
        role_ids,
        creator_user_id: row.creator_user_id,
        created_by_api_key_id: row.created_by_api_key_id,
        last_used_at: row.last_used_at,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

async fn roles_of(db: &impl ConnectionTrait, key_id: Uuid) -> Result<Vec<Uuid>, Error> {
    Ok(api_key_roles::Entity::find()
        .select_only()
        .column(api_key_roles::Column::RoleId)
        .filter(api_key_roles::Column::ApiKeyId.eq(key_id))
        .into_tuple()
        .all(db)
        .await?)
}

async fn find_row(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<api_keys::Model, Error> {
    api_keys::Entity::find_by_id(id)
        .filter(api_keys::Column::TenantId.eq(tenant_id))
        .filter(api_keys::Column::DeletedAt.is_null())
        .one(db)
        .await?
        .ok_or(Error::NotFound)
}

/// One key of `tenant_id` (no permit: reading is checked by the caller's route).
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<ApiKey, Error> {
    let row = find_row(db, tenant_id, id).await?;
    let roles = roles_of(db, id).await?;
    Ok(view(row, roles))
}

/// The keys of `tenant_id`, newest first.
pub async fn list(db: &DatabaseConnection, tenant_id: Uuid) -> Result<Vec<ApiKey>, Error> {
    let rows = api_keys::Entity::find()
        .filter(api_keys::Column::TenantId.eq(tenant_id))
        .filter(api_keys::Column::DeletedAt.is_null())
        .order_by_desc(api_keys::Column::CreatedAt)
        .all(db)
        .await?;
    let mut keys = Vec::with_capacity(rows.len());
    for row in rows {
        let roles = roles_of(db, row.id).await?;
        keys.push(view(row, roles));
    }
    Ok(keys)
}

/// A change to a key.
#[derive(Debug, Clone, Default)]
pub struct ApiKeyChange {
    /// New title.
    pub title: Option<String>,
    /// Disable or enable.
    pub is_disabled: Option<bool>,
    /// Replace the roles.
    pub role_ids: Option<Vec<Uuid>>,
}

/// Changes a key's title, disabled flag or roles.
pub async fn update(
    db: &DatabaseConnection,
    permit: &Permit,
    tenant_id: Uuid,
    holder: &Grants,
    id: Uuid,
    change: ApiKeyChange,
    now: DateTime<Utc>,
) -> Result<ApiKey, Error> {
    permit.require_on(tenant_id, Resource::ApiKey, Action::Update, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let row = find_row(&txn, tenant_id, id).await?;
    let mut update: api_keys::ActiveModel = row.into();
    if let Some(title) = change.title {
        update.title = Set(valid_title(&title)?);
    }
    if let Some(disabled) = change.is_disabled {
        update.is_disabled = Set(disabled);
    }
    update.updated_at = Set(now);
    api_keys::Entity::update(update).exec(&txn).await?;
    if let Some(role_ids) = change.role_ids {
        let role_ids = checked_roles(&txn, tenant_id, &role_ids, holder).await?;
        set_roles(&txn, id, &role_ids).await?;
    }
    txn.commit().await?;
    get(db, tenant_id, id).await
}

/// Deletes a key (softly: it stops working at once and disappears from lists).
pub async fn delete(
    db: &DatabaseConnection,
    permit: &Permit,
    tenant_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    permit.require_on(tenant_id, Resource::ApiKey, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let row = find_row(&txn, tenant_id, id).await?;
    let mut update: api_keys::ActiveModel = row.into();
    update.deleted_at = Set(Some(now));
    update.updated_at = Set(now);
    api_keys::Entity::update(update).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Copies a key's title and roles into a new, disabled key with a new secret.
pub async fn clone_key(
    db: &DatabaseConnection,
    permit: &Permit,
    tenant_id: Uuid,
    holder: &Grants,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(ApiKey, RawKey), Error> {
    permit.require(tenant_id, Resource::ApiKey, Action::Create)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let source = find_row(&txn, tenant_id, id).await?;
    // Cloning reads the source: `apikey:read` on it (type-wide, an asset grant or its creator).
    let target = Target {
        resource: Resource::ApiKey,
        id,
        creator: Subject::from_creator_columns(
            source.creator_user_id,
            source.created_by_api_key_id,
        ),
    };
    authorize(
        tenant_id,
        permit.subject(),
        holder,
        Permission {
            resource: Resource::ApiKey,
            action: Action::Read,
        },
        Some(&target),
    )?;
    let role_ids = checked_roles(&txn, tenant_id, &roles_of(&txn, id).await?, holder).await?;
    let title =
        valid_title(&format!("{} (copy)", source.title)).or_else(|_| valid_title(&source.title))?;
    let (new_id, raw) = insert(&txn, permit, tenant_id, title, &role_ids, true, now).await?;
    txn.commit().await?;
    Ok((get(db, tenant_id, new_id).await?, raw))
}

/// The key `raw` names, if it exists, is enabled and not deleted. Records its use (at most once
/// a minute).
pub async fn resolve(
    db: &DatabaseConnection,
    raw: &str,
    now: DateTime<Utc>,
) -> Result<Option<ResolvedKey>, Error> {
    let Some(prefix) = lookup_prefix(raw) else {
        return Ok(None);
    };
    let presented = hash(raw);
    let candidates = api_keys::Entity::find()
        .filter(api_keys::Column::KeyPrefix.eq(prefix))
        .all(db)
        .await?;
    let Some(row) = candidates
        .into_iter()
        .find(|row| bool::from(row.key_hash.as_bytes().ct_eq(presented.as_bytes())))
    else {
        return Ok(None);
    };
    if row.is_disabled || row.deleted_at.is_some() {
        return Ok(None);
    }
    let stale = row
        .last_used_at
        .is_none_or(|at| now - at >= LAST_USED_RESOLUTION);
    if stale {
        api_keys::Entity::update_many()
            .col_expr(
                api_keys::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_keys::Column::Id.eq(row.id))
            .exec(db)
            .await?;
    }
    Ok(Some(ResolvedKey {
        id: row.id,
        tenant_id: row.tenant_id,
        title: row.title,
    }))
}

/// What key `id` holds in `tenant_id`.
pub async fn grants_of_key(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Grants, Error> {
    let roles = roles_of(db, id).await?;
    grants_of_roles(db, tenant_id, &roles).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_well_formed_and_unique() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.0.len(), 4 + 64);
        assert!(lookup_prefix(&a.0).is_some());
        assert_eq!(hash(&a.0).len(), 64);
        assert!(!format!("{a:?}").contains(&a.0[4..]));
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        for raw in [
            "",
            "jet_",
            "jet_xyz",
            &format!("jet_{}", "g".repeat(64)),
            &format!("key_{}", "0".repeat(64)),
            &format!("jet_{}", "0".repeat(65)),
        ] {
            assert!(lookup_prefix(raw).is_none(), "{raw}");
        }
    }
}
