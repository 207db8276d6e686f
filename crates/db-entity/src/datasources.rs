//! `datasources`: a tenant's connections to databases, APIs and brokers.

use sea_orm::entity::prelude::*;

/// A datasource.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "datasources")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// Title.
    pub title: String,
    /// Free text.
    pub description: Option<String>,
    /// The type's API name (`postgresql`, `restapi`, …).
    pub datasource_type: String,
    /// The plain (non-secret) option fields, a JSON object.
    pub options: Json,
    /// The secret option fields, each a sealed envelope: `{field: {v, kid, nonce, ct}}`.
    pub secrets: Json,
    /// The key every envelope of `secrets` is sealed with (`None`: no secrets).
    pub secrets_key_id: Option<String>,
    /// A JSON array of tag strings.
    pub tags: Json,
    /// `unknown`, `ok` or `failed`: the last connection test's outcome.
    pub connection_status: String,
    /// Creator (user).
    pub creator_user_id: Option<Uuid>,
    /// Creator (API key).
    pub created_by_api_key_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
