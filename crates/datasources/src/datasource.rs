//! Datasource records: list, read, create, update, clone, delete, and opening the stored
//! options for a connector.
//!
//! Every function is scoped by tenant (another tenant's id is [`Error::NotFound`]); changes take
//! a [`Permit`] for exactly what they do and the tenant's row lock first (a disabled tenant
//! refuses them). Options reach the caller masked ([`Datasource::options`]) unless it asks to
//! [`open`] them, which needs the key ring. Testing the connection before a create or an update
//! is the caller's step (the connector), not this module's.

use chrono::{DateTime, Utc};
use db_entity::title::valid_title;
use db_entity::{data_queries, datasources};
use rbac::tenant_lock::lock_writable_tenant;
use rbac::{Action, Grants, Permit, Resource, Subject, Target};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde_json::Value;
use uuid::Uuid;

use crate::Error;
use crate::description::valid_description;
use crate::options::{self, OpenOptions};
use crate::secrets::KeyRing;
use crate::types::DatasourceType;

/// Most tags on one datasource.
pub const MAX_TAGS: usize = 32;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 64;

/// The last connection test's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Never tested (created with `skipTest`).
    Unknown,
    /// The last test connected.
    Ok,
    /// The last test failed.
    Failed,
}

impl ConnectionStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Unknown => "unknown",
            ConnectionStatus::Ok => "ok",
            ConnectionStatus::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Self {
        match text {
            "ok" => ConnectionStatus::Ok,
            "failed" => ConnectionStatus::Failed,
            _ => ConnectionStatus::Unknown,
        }
    }
}

/// A datasource, its options masked.
#[derive(Debug, Clone, PartialEq)]
pub struct Datasource {
    /// Its id.
    pub id: Uuid,
    /// Its tenant.
    pub tenant_id: Uuid,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// Its type.
    pub datasource_type: DatasourceType,
    /// The options, each set secret field shown as [`options::MASK`].
    pub options: Value,
    /// Tags.
    pub tags: Vec<String>,
    /// The last connection test's outcome.
    pub connection_status: ConnectionStatus,
    /// Who created it.
    pub creator: Option<Subject>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Datasource {
    fn from_row(row: datasources::Model) -> Result<Self, Error> {
        let datasource_type = DatasourceType::parse(&row.datasource_type)?;
        let tags = row
            .tags
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Datasource {
            id: row.id,
            tenant_id: row.tenant_id,
            title: row.title,
            description: row.description,
            datasource_type,
            options: options::masked_from_storage(datasource_type, &row.options, &row.secrets),
            tags,
            connection_status: ConnectionStatus::parse(&row.connection_status),
            creator: Subject::from_creator_columns(row.creator_user_id, row.created_by_api_key_id),
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    /// The datasource as a policy target (creator rights).
    pub fn target(&self) -> Target {
        Target {
            resource: Resource::Datasource,
            id: self.id,
            creator: self.creator,
        }
    }
}

/// The tenant's datasources, by title; `search` (lower case) filters titles, descriptions,
/// types and tags.
pub async fn list(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    search: Option<&str>,
) -> Result<Vec<Datasource>, Error> {
    let rows = datasources::Entity::find()
        .filter(datasources::Column::TenantId.eq(tenant_id))
        .order_by_asc(datasources::Column::Title)
        .order_by_asc(datasources::Column::Id)
        .all(db)
        .await?;
    let all = rows
        .into_iter()
        .map(Datasource::from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match search {
        None => all,
        Some(needle) => all
            .into_iter()
            .filter(|d| {
                d.title.to_lowercase().contains(needle)
                    || d.description
                        .as_deref()
                        .is_some_and(|text| text.to_lowercase().contains(needle))
                    || d.datasource_type.as_str().contains(needle)
                    || d.tags.iter().any(|tag| tag.to_lowercase().contains(needle))
            })
            .collect(),
    })
}

async fn row(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<datasources::Model, Error> {
    datasources::Entity::find_by_id(id)
        .filter(datasources::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?
        .ok_or(Error::NotFound)
}

/// One datasource of the tenant.
pub async fn get(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Datasource, Error> {
    Datasource::from_row(row(db, tenant_id, id).await?)
}

/// One datasource and its options in the clear, for a connector (a test, a run, an update
/// that restores masks). A row that cannot be opened is [`Error::Unopenable`], naming it.
pub async fn open(
    db: &impl ConnectionTrait,
    ring: &KeyRing,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<(Datasource, OpenOptions), Error> {
    let row = row(db, tenant_id, id).await?;
    let datasource_type = DatasourceType::parse(&row.datasource_type)?;
    let opened = options::open(
        ring,
        datasource_type,
        tenant_id,
        id,
        &row.options,
        &row.secrets,
    )?;
    Ok((Datasource::from_row(row)?, opened))
}

/// What a create stores.
#[derive(Debug, Clone)]
pub struct NewDatasource {
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The options, prepared for the type ([`options::prepare`]).
    pub options: OpenOptions,
    /// Tags.
    pub tags: Vec<String>,
    /// The outcome of the caller's connection test.
    pub connection_status: ConnectionStatus,
}

fn valid_tags(tags: Vec<String>) -> Result<Vec<String>, Error> {
    if tags.len() > MAX_TAGS {
        return Err(Error::invalid(
            "datasourceTags",
            format!("at most {MAX_TAGS} tags"),
        ));
    }
    let mut kept: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags {
        let tag = tag.trim().to_string();
        if tag.is_empty()
            || tag.chars().count() > MAX_TAG_CHARS
            || tag.chars().any(char::is_control)
        {
            return Err(Error::invalid(
                "datasourceTags",
                format!("each tag is 1 to {MAX_TAG_CHARS} printable characters"),
            ));
        }
        if !kept.contains(&tag) {
            kept.push(tag);
        }
    }
    Ok(kept)
}

/// Creates a datasource in the permit's tenant, its secrets sealed under the ring's active key.
pub async fn create(
    db: &DatabaseConnection,
    ring: &KeyRing,
    permit: &Permit,
    new: NewDatasource,
    now: DateTime<Utc>,
) -> Result<Datasource, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::Datasource, Action::Create)?;
    let id = Uuid::now_v7();
    insert(db, ring, tenant_id, permit.subject(), id, new, now).await
}

async fn insert(
    db: &DatabaseConnection,
    ring: &KeyRing,
    tenant_id: Uuid,
    creator: Subject,
    id: Uuid,
    new: NewDatasource,
    now: DateTime<Utc>,
) -> Result<Datasource, Error> {
    let title = valid_title("datasourceTitle", &new.title)?;
    let description = valid_description("datasourceDescription", new.description)?;
    let tags = valid_tags(new.tags)?;
    let sealed = new.options.seal(ring, tenant_id, id)?;
    let (creator_user_id, created_by_api_key_id) = creator.creator_columns();
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    datasources::Entity::insert(datasources::ActiveModel {
        id: Set(id),
        tenant_id: Set(tenant_id),
        title: Set(title),
        description: Set(description),
        datasource_type: Set(new.options.datasource_type.as_str().to_string()),
        options: Set(sealed.plain),
        secrets: Set(sealed.secrets),
        secrets_key_id: Set(sealed.key_id),
        tags: Set(Value::from(tags)),
        connection_status: Set(new.connection_status.as_str().to_string()),
        creator_user_id: Set(creator_user_id),
        created_by_api_key_id: Set(created_by_api_key_id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let datasource = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(datasource)
}

/// Options a client sent to replace datasource `id`'s, checked against its type (which cannot
/// change), with masked fields restored from the stored values.
pub async fn changed_options(
    db: &impl ConnectionTrait,
    ring: &KeyRing,
    tenant_id: Uuid,
    id: Uuid,
    sent: &Value,
) -> Result<OpenOptions, Error> {
    let (saved, stored) = open(db, ring, tenant_id, id).await?;
    options::prepare(saved.datasource_type, sent, Some(&stored))
}

/// A change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct DatasourceChange {
    /// New title.
    pub title: Option<String>,
    /// New description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// New options for the same type, prepared against the stored ones (masks restored).
    pub options: Option<OpenOptions>,
    /// New tags.
    pub tags: Option<Vec<String>>,
    /// The outcome of the caller's connection test of the new options.
    pub connection_status: Option<ConnectionStatus>,
}

/// Changes a datasource. New options are sealed afresh under the active key.
pub async fn update(
    db: &DatabaseConnection,
    ring: &KeyRing,
    permit: &Permit,
    id: Uuid,
    change: DatasourceChange,
    now: DateTime<Utc>,
) -> Result<Datasource, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Datasource, Action::Update, id)?;
    let title = change
        .title
        .as_deref()
        .map(|t| valid_title("datasourceTitle", t))
        .transpose()?;
    let description = change
        .description
        .map(|d| valid_description("datasourceDescription", d))
        .transpose()?;
    let tags = change.tags.map(valid_tags).transpose()?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let current = row(&txn, tenant_id, id).await?;
    let mut active = datasources::ActiveModel {
        id: Set(id),
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(options) = change.options {
        if options.datasource_type.as_str() != current.datasource_type {
            return Err(Error::invalid(
                "datasourceType",
                "a datasource's type cannot change: create another datasource",
            ));
        }
        let sealed = options.seal(ring, tenant_id, id)?;
        active.options = Set(sealed.plain);
        active.secrets = Set(sealed.secrets);
        active.secrets_key_id = Set(sealed.key_id);
    }
    if let Some(title) = title {
        active.title = Set(title);
    }
    if let Some(description) = description {
        active.description = Set(description);
    }
    if let Some(tags) = tags {
        active.tags = Set(Value::from(tags));
    }
    if let Some(status) = change.connection_status {
        active.connection_status = Set(status.as_str().to_string());
    }
    datasources::Entity::update(active).exec(&txn).await?;
    let datasource = get(&txn, tenant_id, id).await?;
    txn.commit().await?;
    Ok(datasource)
}

/// Copies a datasource (its secrets sealed again for the copy: an envelope opens only in its
/// own row). Needs `datasource:create`, and `read` on the source (`grants` decide, or creator
/// rights).
pub async fn clone_datasource(
    db: &DatabaseConnection,
    ring: &KeyRing,
    permit: &Permit,
    grants: &Grants,
    source_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Datasource, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::Datasource, Action::Create)?;
    let (source, opened) = open(db, ring, tenant_id, source_id).await?;
    // Cloning reads the source: `datasource:read` on it (type-wide, an asset grant or its
    // creator).
    rbac::authorize_read(tenant_id, permit.subject(), grants, &source.target())?;
    let title =
        valid_title("datasourceTitle", &format!("{} (copy)", source.title)).unwrap_or(source.title);
    let new = NewDatasource {
        title,
        description: source.description,
        options: opened,
        tags: source.tags,
        connection_status: source.connection_status,
    };
    insert(
        db,
        ring,
        tenant_id,
        permit.subject(),
        Uuid::now_v7(),
        new,
        now,
    )
    .await
}

/// The data queries using datasource `id`: id and title, by title.
pub async fn queries_using(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<Vec<(Uuid, String)>, Error> {
    Ok(data_queries::Entity::find()
        .select_only()
        .column(data_queries::Column::Id)
        .column(data_queries::Column::Title)
        .filter(data_queries::Column::TenantId.eq(tenant_id))
        .filter(data_queries::Column::DatasourceId.eq(id))
        .order_by_asc(data_queries::Column::Title)
        .into_tuple()
        .all(db)
        .await?)
}

/// Deletes a datasource. Refused with [`Error::InUse`] while data queries use it, unless
/// `force`, which deletes them with it.
pub async fn delete(
    db: &DatabaseConnection,
    permit: &Permit,
    id: Uuid,
    force: bool,
) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::Datasource, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    row(&txn, tenant_id, id).await?;
    let queries = queries_using(&txn, tenant_id, id).await?;
    if !queries.is_empty() && !force {
        return Err(Error::InUse { queries });
    }
    data_queries::Entity::delete_many()
        .filter(data_queries::Column::TenantId.eq(tenant_id))
        .filter(data_queries::Column::DatasourceId.eq(id))
        .exec(&txn)
        .await?;
    datasources::Entity::delete_many()
        .filter(datasources::Column::TenantId.eq(tenant_id))
        .filter(datasources::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok(())
}

/// Records the outcome of a connection test of the stored options.
pub async fn record_connection_status(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
    status: ConnectionStatus,
) -> Result<(), Error> {
    datasources::Entity::update_many()
        .col_expr(
            datasources::Column::ConnectionStatus,
            sea_orm::sea_query::Expr::value(status.as_str()),
        )
        .filter(datasources::Column::TenantId.eq(tenant_id))
        .filter(datasources::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}
