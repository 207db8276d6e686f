//! `users`: people known from the identity provider.

use sea_orm::entity::prelude::*;

/// A user row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The identity provider's subject (`sub`).
    #[sea_orm(unique)]
    pub firebase_id: String,
    /// E-mail address, lower-cased.
    pub email: Option<String>,
    /// Whether the provider verified the address.
    pub email_verified: bool,
    /// Display name.
    pub display_name: Option<String>,
    /// Profile picture URL.
    pub photo_url: Option<String>,
    /// A disabled user is refused everywhere.
    pub is_disabled: bool,
    /// Last authenticated request (refreshed at most once a minute).
    pub last_seen_at: DateTimeUtc,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations are navigated from users yet.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
