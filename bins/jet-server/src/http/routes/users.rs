//! `/api/v1/tenants/{tenantID}/users`: members and invitations.
//!
//! `{id}` is a user id, or the membership id of a pending invitation (the only id it has).

use actix_web::web::Data;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenancy::members::{Invitation, Member};
use uuid::Uuid;

use crate::http::envelope::ok;
use crate::http::error::ApiError;
use crate::http::pagination::ListQuery;
use crate::http::tenant_member::{TenantBody, TenantMember, path_id, query};
use crate::state::AppState;

/// A member as the API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct MemberView {
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
pub async fn read(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let found = tenancy::members::get(&state.db, member.tenant_id(), path_id(&req)?).await?;
    Ok(ok(MemberView::from(found)))
}

/// `POST …/users` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteUser {
    /// `tenantUserEmail` is the original API's name.
    #[serde(alias = "tenantUserEmail")]
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
        &member.route_permit,
        &member.grants,
        invitation,
        Utc::now(),
    )
    .await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(HttpResponse::Created().json(json!({ "data": MemberView::from(invited) })))
}

/// `PATCH …/users/{id}/roles` body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetRoles {
    #[serde(rename = "roleIDs")]
    role_ids: Vec<Uuid>,
}

/// `PATCH …/users/{id}/roles` (`user:update`): replaces the roles; the last admin keeps Admin.
pub async fn set_roles(
    request: TenantBody<SetRoles>,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let changed = tenancy::members::set_roles(
        &state.db,
        &member.route_permit,
        &member.grants,
        path_id(&req)?,
        &body.role_ids,
        Utc::now(),
    )
    .await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(ok(MemberView::from(changed)))
}

/// `DELETE …/users/{id}` (`user:delete`): removes a member or withdraws an invitation.
pub async fn remove(
    member: TenantMember,
    req: HttpRequest,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&req)?;
    tenancy::members::remove(&state.db, &member.route_permit, id).await?;
    state.access.invalidate_tenant(member.tenant_id());
    Ok(ok(json!({"id": id, "deleted": true})))
}
