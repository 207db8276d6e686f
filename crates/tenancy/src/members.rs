//! A tenant's members and invitations: list, read, invite, remove, change roles.
//!
//! An invitation is a `pending` membership bound to an e-mail address, holding the roles it was
//! given. It becomes `active` when a user with that address, **verified** by the identity
//! provider, signs in ([`take_up_invitations`]); an unverified address never takes one up (anyone
//! can create an unverified account with someone else's address). When such a user already
//! exists, the invitation binds to them at once.
//!
//! A member is `ADMIN` exactly when it holds the tenant's built-in Admin role. **The last active
//! admin can be neither removed nor demoted.** Concurrent changes cannot race past that rule:
//! every change first locks the tenant row (`rbac::tenant_lock::lock_writable_tenant`), so the admin count it reads is the
//! one it commits against (on SQLite the same statement takes the database write lock).
//!
//! Members are addressed by user id, or by membership id (the only id a pending invitation has).

use chrono::{DateTime, Utc};
use db_entity::{tenant_member_roles, tenant_members, user_tenant_configs, users};
use rbac::{Action, BuiltinRole, Grants, Permit, Resource};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::Error;
use crate::tenants::Relationship;
use rbac::tenant_lock::lock_writable_tenant;

/// Longest e-mail address (RFC 5321).
pub const MAX_EMAIL_CHARS: usize = 320;

/// Whether a membership is in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberStatus {
    /// The user belongs to the tenant.
    Active,
    /// Invited; waiting for the address's owner to sign in.
    Pending,
}

impl MemberStatus {
    /// As stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Active => "active",
            MemberStatus::Pending => "pending",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "active" {
            MemberStatus::Active
        } else {
            MemberStatus::Pending
        }
    }
}

/// A member or invitation, with the user's profile when there is a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The membership's id.
    pub member_id: Uuid,
    /// The user (`None` while pending).
    pub user_id: Option<Uuid>,
    /// The user's address, or the invited one.
    pub email: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// Picture.
    pub photo_url: Option<String>,
    /// `ADMIN` or `MEMBER`.
    pub relationship: Relationship,
    /// Active or pending.
    pub status: MemberStatus,
    /// Roles held here.
    pub role_ids: Vec<Uuid>,
    /// Who invited.
    pub invited_by_user_id: Option<Uuid>,
    /// The user's last request.
    pub last_seen_at: Option<DateTime<Utc>>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

async fn assemble(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    rows: Vec<tenant_members::Model>,
) -> Result<Vec<Member>, Error> {
    let member_ids: Vec<Uuid> = rows.iter().map(|m| m.id).collect();
    let user_ids: Vec<Uuid> = rows.iter().filter_map(|m| m.user_id).collect();
    let role_pairs: Vec<(Uuid, Uuid)> = tenant_member_roles::Entity::find()
        .select_only()
        .column(tenant_member_roles::Column::MemberId)
        .column(tenant_member_roles::Column::RoleId)
        .filter(tenant_member_roles::Column::TenantId.eq(tenant_id))
        .filter(tenant_member_roles::Column::MemberId.is_in(member_ids))
        .into_tuple()
        .all(db)
        .await?;
    let profiles = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let profile = row
                .user_id
                .and_then(|id| profiles.iter().find(|p| p.id == id));
            let mut role_ids: Vec<Uuid> = role_pairs
                .iter()
                .filter(|(member, _)| *member == row.id)
                .map(|(_, role)| *role)
                .collect();
            role_ids.sort();
            Member {
                member_id: row.id,
                user_id: row.user_id,
                email: profile.and_then(|p| p.email.clone()).or(row.invited_email),
                display_name: profile.and_then(|p| p.display_name.clone()),
                photo_url: profile.and_then(|p| p.photo_url.clone()),
                relationship: Relationship::parse(&row.relationship),
                status: MemberStatus::parse(&row.status),
                role_ids,
                invited_by_user_id: row.invited_by_user_id,
                last_seen_at: profile.map(|p| p.last_seen_at),
                created_at: row.created_at,
                updated_at: row.updated_at,
            }
        })
        .collect())
}

/// The members and invitations of `tenant_id`, oldest first.
pub async fn list(db: &impl ConnectionTrait, tenant_id: Uuid) -> Result<Vec<Member>, Error> {
    let rows = tenant_members::Entity::find()
        .filter(tenant_members::Column::TenantId.eq(tenant_id))
        .order_by_asc(tenant_members::Column::CreatedAt)
        .order_by_asc(tenant_members::Column::Id)
        .all(db)
        .await?;
    assemble(db, tenant_id, rows).await
}

async fn find_row(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    id: Uuid,
) -> Result<tenant_members::Model, Error> {
    tenant_members::Entity::find()
        .filter(tenant_members::Column::TenantId.eq(tenant_id))
        .filter(
            Condition::any()
                .add(tenant_members::Column::UserId.eq(id))
                .add(tenant_members::Column::Id.eq(id)),
        )
        .one(db)
        .await?
        .ok_or(Error::NotFound)
}

/// One member or invitation of `tenant_id`, by user id or membership id.
pub async fn get(db: &impl ConnectionTrait, tenant_id: Uuid, id: Uuid) -> Result<Member, Error> {
    let row = find_row(db, tenant_id, id).await?;
    assemble(db, tenant_id, vec![row])
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

fn valid_email(email: &str) -> Result<String, Error> {
    let sent_chars = email.chars().count();
    let email = email.trim().to_lowercase();
    let well_formed = sent_chars <= MAX_EMAIL_CHARS
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'));
    if !well_formed {
        return Err(Error::Invalid {
            field: "email",
            message: "must be an e-mail address".into(),
        });
    }
    Ok(email)
}

/// The relationship implied by a role set: `ADMIN` exactly when it holds the Admin role.
async fn relationship_of(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    role_ids: &[Uuid],
) -> Result<Relationship, Error> {
    let admin = rbac::store::builtin_role_id(db, tenant_id, BuiltinRole::Admin).await?;
    Ok(if role_ids.contains(&admin) {
        Relationship::Admin
    } else {
        Relationship::Member
    })
}

async fn set_member_roles(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    member_id: Uuid,
    role_ids: &[Uuid],
) -> Result<(), Error> {
    tenant_member_roles::Entity::delete_many()
        .filter(tenant_member_roles::Column::TenantId.eq(tenant_id))
        .filter(tenant_member_roles::Column::MemberId.eq(member_id))
        .exec(db)
        .await?;
    if !role_ids.is_empty() {
        tenant_member_roles::Entity::insert_many(role_ids.iter().map(|role_id| {
            tenant_member_roles::ActiveModel {
                tenant_id: Set(tenant_id),
                member_id: Set(member_id),
                role_id: Set(*role_id),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// An invitation.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The invited address.
    pub email: String,
    /// Roles to hold; `None` means the tenant's Viewer role.
    pub role_ids: Option<Vec<Uuid>>,
}

/// Invites `invitation.email` into the permit's tenant with roles `holder` may hand out.
pub async fn invite(
    db: &DatabaseConnection,
    permit: &Permit,
    holder: &Grants,
    invitation: Invitation,
    now: DateTime<Utc>,
) -> Result<Member, Error> {
    let tenant_id = permit.tenant_id();
    permit.require(tenant_id, Resource::User, Action::Create)?;
    let email = valid_email(&invitation.email)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let role_ids = match invitation.role_ids {
        Some(ids) => ids,
        None => vec![rbac::store::builtin_role_id(&txn, tenant_id, BuiltinRole::Viewer).await?],
    };
    let role_ids = rbac::store::checked_roles(&txn, tenant_id, &role_ids, holder).await?;
    let relationship = relationship_of(&txn, tenant_id, &role_ids).await?;

    let verified_user: Option<Uuid> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Email.eq(email.as_str()))
        .filter(users::Column::EmailVerified.eq(true))
        .filter(users::Column::IsDisabled.eq(false))
        .order_by_asc(users::Column::CreatedAt)
        .into_tuple()
        .one(&txn)
        .await?;
    let mut clash = Condition::any().add(tenant_members::Column::InvitedEmail.eq(email.as_str()));
    if let Some(user_id) = verified_user {
        clash = clash.add(tenant_members::Column::UserId.eq(user_id));
    }
    let taken = tenant_members::Entity::find()
        .filter(tenant_members::Column::TenantId.eq(tenant_id))
        .filter(clash);
    if taken.count(&txn).await? > 0 {
        return Err(Error::Conflict(format!(
            "{email} is already a member or invited"
        )));
    }
    let (user_id, status) = match verified_user {
        Some(user_id) => (Some(user_id), MemberStatus::Active),
        None => (None, MemberStatus::Pending),
    };
    let invited_by_user_id = match permit.subject() {
        rbac::Subject::User(user) => Some(user),
        _ => None,
    };
    let member_id = Uuid::now_v7();
    tenant_members::Entity::insert(tenant_members::ActiveModel {
        id: Set(member_id),
        tenant_id: Set(tenant_id),
        user_id: Set(user_id),
        invited_email: Set(Some(email)),
        relationship: Set(relationship.as_str().to_string()),
        status: Set(status.as_str().to_string()),
        invited_by_user_id: Set(invited_by_user_id),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    set_member_roles(&txn, tenant_id, member_id, &role_ids).await?;
    let member = get(&txn, tenant_id, member_id).await?;
    txn.commit().await?;
    Ok(member)
}

/// Refuses a change that would leave the tenant without an active admin. Call it after
/// `lock_writable_tenant` in the same transaction.
async fn ensure_another_admin(
    txn: &impl ConnectionTrait,
    tenant_id: Uuid,
    member: &tenant_members::Model,
) -> Result<(), Error> {
    let is_active_admin = member.status == MemberStatus::Active.as_str()
        && member.relationship == Relationship::Admin.as_str();
    if !is_active_admin {
        return Ok(());
    }
    let others = tenant_members::Entity::find()
        .filter(tenant_members::Column::TenantId.eq(tenant_id))
        .filter(tenant_members::Column::Status.eq(MemberStatus::Active.as_str()))
        .filter(tenant_members::Column::Relationship.eq(Relationship::Admin.as_str()))
        .filter(tenant_members::Column::Id.ne(member.id))
        .count(txn)
        .await?;
    if others == 0 {
        return Err(Error::LastAdmin);
    }
    Ok(())
}

/// Replaces a member's roles (and with them its relationship). The last admin keeps Admin.
pub async fn set_roles(
    db: &DatabaseConnection,
    permit: &Permit,
    holder: &Grants,
    id: Uuid,
    role_ids: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Member, Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::User, Action::Update, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let row = find_row(&txn, tenant_id, id).await?;
    let role_ids = rbac::store::checked_roles(&txn, tenant_id, role_ids, holder).await?;
    let relationship = relationship_of(&txn, tenant_id, &role_ids).await?;
    if relationship != Relationship::Admin {
        ensure_another_admin(&txn, tenant_id, &row).await?;
    }
    set_member_roles(&txn, tenant_id, row.id, &role_ids).await?;
    tenant_members::Entity::update_many()
        .col_expr(
            tenant_members::Column::Relationship,
            Expr::value(relationship.as_str()),
        )
        .col_expr(tenant_members::Column::UpdatedAt, Expr::value(now))
        .filter(tenant_members::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    let member = get(&txn, tenant_id, row.id).await?;
    txn.commit().await?;
    Ok(member)
}

/// Removes a member (or withdraws an invitation), with its roles and preferences. The last
/// admin stays.
pub async fn remove(db: &DatabaseConnection, permit: &Permit, id: Uuid) -> Result<(), Error> {
    let tenant_id = permit.tenant_id();
    permit.require_on(tenant_id, Resource::User, Action::Delete, id)?;
    let txn = db.begin().await?;
    lock_writable_tenant(&txn, tenant_id).await?;
    let row = find_row(&txn, tenant_id, id).await?;
    ensure_another_admin(&txn, tenant_id, &row).await?;
    tenant_members::Entity::delete_many()
        .filter(tenant_members::Column::Id.eq(row.id))
        .exec(&txn)
        .await?;
    if let Some(user_id) = row.user_id {
        user_tenant_configs::Entity::delete_many()
            .filter(user_tenant_configs::Column::TenantId.eq(tenant_id))
            .filter(user_tenant_configs::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Binds every pending invitation to `email` (verified, lower-cased) to `user_id`. Invitations
/// to tenants the user already belongs to are left pending. Answers how many were taken up.
pub async fn take_up_invitations(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    let already: Vec<Uuid> = tenant_members::Entity::find()
        .select_only()
        .column(tenant_members::Column::TenantId)
        .filter(tenant_members::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await?;
    let taken = tenant_members::Entity::update_many()
        .col_expr(tenant_members::Column::UserId, Expr::value(user_id))
        .col_expr(
            tenant_members::Column::Status,
            Expr::value(MemberStatus::Active.as_str()),
        )
        .col_expr(tenant_members::Column::UpdatedAt, Expr::value(now))
        .filter(tenant_members::Column::InvitedEmail.eq(email))
        .filter(tenant_members::Column::Status.eq(MemberStatus::Pending.as_str()))
        .filter(tenant_members::Column::UserId.is_null())
        .filter(tenant_members::Column::TenantId.is_not_in(already))
        .exec(db)
        .await?;
    Ok(taken.rows_affected)
}
