//! `GET /api/v1/auth`: the caller's user, created on first call; `GET|POST
//! /api/v1/auth/config/{tenantID}`: the caller's preferences in one of their tenants.

use actix_web::HttpResponse;
use actix_web::web::Data;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::http::access::{Access, TenantRule};
use crate::http::auth::{Caller, Principal};
use crate::http::envelope::ok;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::route::Route;
use crate::http::tenant_member::{TenantBody, TenantMember};
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/api/v1/auth", Access::User, me)
            .doc(
                "getCurrentUser",
                "Auth",
                "The caller's user, created on first call",
            )
            .ok::<UserView>(),
        Route::get(
            "/api/v1/auth/config/{tenantID}",
            Access::Tenant(TenantRule::member_reads()),
            config_read,
        )
        .doc(
            "getUserTenantConfig",
            "Auth",
            "The caller's preferences in one of their tenants (`{}` until saved)",
        )
        .ok::<Preferences>(),
        Route::post(
            "/api/v1/auth/config/{tenantID}",
            Access::Tenant(TenantRule::member_writes()),
            config_write,
        )
        .doc(
            "setUserTenantConfig",
            "Auth",
            "Replaces the caller's preferences in the tenant (a JSON object of at most 64 KiB)",
        )
        .body::<Preferences>()
        .ok::<Preferences>()
        .errors(&[ErrorCode::ValidationError]),
    ]
}

/// The user as the API shows it (field names as in the original API).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    #[serde(rename = "userID")]
    user_id: Uuid,
    #[serde(rename = "firebaseID")]
    firebase_id: String,
    email: Option<String>,
    email_verified: bool,
    display_name: Option<String>,
    #[serde(rename = "photoURL")]
    photo_url: Option<String>,
    last_seen: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

impl From<tenancy::users::User> for UserView {
    fn from(user: tenancy::users::User) -> Self {
        UserView {
            user_id: user.id,
            firebase_id: user.firebase_id,
            email: user.email,
            email_verified: user.email_verified,
            display_name: user.display_name,
            photo_url: user.photo_url,
            last_seen: user.last_seen_at,
            created_at: user.created_at,
        }
    }
}

/// The handler.
pub async fn me(caller: Caller) -> HttpResponse {
    ok(UserView::from(caller.user))
}

/// A user's preferences in a tenant: any JSON object the client keeps there.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// The preferences (a JSON object of at most 64 KiB).
    #[schema(value_type = Object)]
    config: Value,
}

fn user_id(member: &TenantMember) -> Result<Uuid, ApiError> {
    match &member.principal {
        Principal::User(user) => Ok(user.id),
        Principal::ApiKey(_) => Err(ApiError::server_error()),
    }
}

/// `GET /api/v1/auth/config/{tenantID}`: the caller's preferences (`{}` until saved).
pub async fn config_read(
    member: TenantMember,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let membership = member.user_membership()?;
    let config = tenancy::preferences::get(&state.db, membership, user_id(&member)?).await?;
    Ok(ok(Preferences { config }))
}

/// `POST /api/v1/auth/config/{tenantID}`: replaces the caller's preferences.
pub async fn config_write(
    request: TenantBody<Preferences>,
    state: Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let TenantBody { member, body } = request;
    let membership = member.user_membership()?;
    let config = tenancy::preferences::set(
        &state.db,
        membership,
        user_id(&member)?,
        body.config,
        Utc::now(),
    )
    .await?;
    Ok(ok(Preferences { config }))
}
