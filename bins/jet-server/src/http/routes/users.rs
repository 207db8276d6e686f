//! `/api/v1/tenants/{tenantID}/users`: members and invitations.
//!
//! `{id}` is a user id, or the membership id of a pending invitation (the only id it has).

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rbac::{Action, Resource};
use serde::{Deserialize, Serialize};
use tenancy::members::{Invitation, Member};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::envelope::{created, ok};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::pagination::ListQuery;
use crate::http::route::Route;
use crate::http::tenant_member::{TenantBody, TenantMember, query};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    const ALL: &str = "/api/v1/tenants/{tenantID}/users";
    const ONE: &str = "/api/v1/tenants/{tenantID}/users/{memberID}";
    let reads = |action| Access::Tenant(TenantRule::reads(Resource::User, action));
    let one = |action| {
        Access::Tenant(
            TenantRule::writes(Resource::User, action)
                .on_object("memberID")
                .changes_access(),
        )
    };
    vec![
        Route::get(ALL, reads(Action::List), list)
            .doc(
                "listUsers",
                "Users",
                "The tenant's members and pending invitations",
            )
            .query::<ListQuery>()
            .page::<MemberView>(),
        Route::post(
            ALL,
            Access::Tenant(TenantRule::writes(Resource::User, Action::Create).changes_access()),
            invite,
        )
        .doc(
            "inviteUser",
            "Users",
            "Invites an address (Viewer unless `roleIDs` say otherwise)",
        )
        .describe(
            "The invitation is taken up when a user whose address the identity provider \
             verified signs in. The roles may grant only what the caller holds.",
        )
        .body::<InviteUser>()
        .created::<MemberView>()
        .errors(&[ErrorCode::ValidationError, ErrorCode::Conflict]),
        Route::get(
            ONE,
            Access::Tenant(TenantRule::reads(Resource::User, Action::Read).on_object("memberID")),
            read,
        )
        .doc(
            "getUser",
            "Users",
            "One member (by user id) or pending invitation (by membership id)",
        )
        .ok::<MemberView>(),
        Route::delete(ONE, one(Action::Delete), remove)
            .doc(
                "removeUser",
                "Users",
                "Removes a member or withdraws an invitation",
            )
            .ok::<UserRemoved>()
            .errors(&[ErrorCode::LastAdmin]),
        Route::patch(
            "/api/v1/tenants/{tenantID}/users/{memberID}/roles",
            one(Action::Update),
            set_roles,
        )
        .doc("setUserRoles", "Users", "Replaces a member's roles")
        .body::<SetRoles>()
        .ok::<MemberView>()
        .errors(&[
            ErrorCode::ValidationError,
            ErrorCode::Conflict,
            ErrorCode::LastAdmin,
        ]),
    ]
}

/// A member as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    #[serde(rename = "memberID")]
    member_id: Uuid,
    #[serde(rename = "userID")]
    user_id: Option<Uuid>,
    email: Option<String>,
    display_name: Option<String>,
    #[serde(rename = "photoURL")]
    photo_url: Option<String>,
    /// `ADMIN` or `MEMBER`.
    relationship: &'static str,
    /// `active` or `pending`.
    status: &'static str,
    #[serde(rename = "roleIDs")]
    role_ids: Vec<Uuid>,
    #[serde(rename = "invitedByUserID")]
    invited_by_user_id: Option<Uuid>,
    last_seen: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Member> for MemberView {
    fn from(member: Member) -> Self {
        MemberView {
            member_id: member.member_id,
            user_id: member.user_id,
            email: member.email,
            display_name: member.display_name,
            photo_url: member.photo_url,
            relationship: member.relationship.as_str(),
            status: member.status.as_str(),
            role_ids: member.role_ids,
            invited_by_user_id: member.invited_by_user_id,
            last_seen: member.last_seen_at,
            created_at: member.created_at,
            updated_at: member.updated_at,
        }
    }
}

/// `GET …/users` (`user:list`): paged, `search` in e-mail addresses and names.
pub async fn list(
    member: TenantMember,
    state: Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (paging, search) = query::<ListQuery>(&req)?.paging()?;
    let members = tenancy::members::list(&state.db, member.tenant_id()).await?;
    let views: Vec<MemberView> = members.into_iter().map(MemberView::from).collect();
    Ok(paging.respond_filtered(views, search.as_deref(), |m| {
        format!(
            "{} {}",
            m.email.as_deref().unwrap_or(""),
            m.display_name.as_deref().unwrap_or("")
        )
    }))
}

/// `GET …/users/{id}` (`user:read`).
pub async fn read(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let found = tenancy::members::get(&state.db, member.tenant_id(), member.object_id()?).await?;
    Ok(ok(MemberView::from(found)))
}

/// `POST …/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteUser {
    /// `tenantUserEmail` is the original API's name.
    #[serde(alias = "tenantUserEmail")]
    #[schema(format = Email, max_length = 320)]
    email: String,
    #[serde(rename = "roleIDs", default)]
    role_ids: Option<Vec<Uuid>>,
}

/// `POST …/users` (`user:create`): invites an address (default role: Viewer).
pub async fn invite(
    request: TenantBody<InviteUser>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let invitation = Invitation {
        email: body.email,
        role_ids: body.role_ids,
    };
    let invited = tenancy::members::invite(
        &state.db,
        member.permit()?,
        &member.grants,
        invitation,
        Utc::now(),
    )
    .await?;
    Ok(created(MemberView::from(invited)))
}

/// `PATCH …/users/{id}/roles` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetRoles {
    #[serde(rename = "roleIDs")]
    role_ids: Vec<Uuid>,
}

/// `PATCH …/users/{id}/roles` (`user:update`): replaces the roles; the last admin keeps Admin.
pub async fn set_roles(
    request: TenantBody<SetRoles>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let changed = tenancy::members::set_roles(
        &state.db,
        member.permit()?,
        &member.grants,
        member.object_id()?,
        &body.role_ids,
        Utc::now(),
    )
    .await?;
    Ok(ok(MemberView::from(changed)))
}

/// `DELETE …/users/{id}` (`user:delete`): removes a member or withdraws an invitation.
pub async fn remove(member: TenantMember, state: Data<AppState>) -> Result<HttpResponse, ApiError> {
    let id = member.object_id()?;
    tenancy::members::remove(&state.db, member.permit()?, id).await?;
    Ok(ok(UserRemoved { id, deleted: true }))
}

/// The answer to a removal.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserRemoved {
    id: Uuid,
    deleted: bool,
}
