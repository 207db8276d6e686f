//! `tenant_members`: who belongs to a tenant (or is invited to), with the primary relationship.

use sea_orm::entity::prelude::*;

/// A membership or a pending invitation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenant_members")]
pub struct Model {
    /// UUID v7.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member; `None` while the invitation is pending.
    pub user_id: Option<Uuid>,
    /// The invited address, for pending invitations.
    pub invited_email: Option<String>,
    /// `ADMIN` or `MEMBER`.
    pub relationship: String,
    /// `active` or `pending`.
    pub status: String,
    /// Who invited.
    pub invited_by_user_id: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// Not navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
