//! `GET /api/v1/auth`: the caller's user, created on first call; `GET|POST
//! /api/v1/auth/config/{tenantID}`: the caller's preferences in one of their tenants.

use actix_web::HttpResponse;
use actix_web::web::{Data, Path};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tenancy::tenants::Membership;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::envelope::ok;
use crate::http::error::ApiError;
use crate::http::json::ValidJson;
use crate::http::tenant_member::ensure_usable;
use crate::state::AppState;

/// The user as the API shows it (field names as in the original API).
#[derive(Debug, Serialize)]
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

/// The caller's membership in the path's tenant: the same 404 for a malformed id, an unknown or
/// deleted tenant and a tenant the caller does not belong to.
async fn membership_in(
    caller: &Caller,
    state: &AppState,
    tenant_id: &str,
) -> Result<Membership, ApiError> {
    let tenant_id = Uuid::parse_str(tenant_id).map_err(|_| ApiError::not_found())?;
    tenancy::tenants::membership(&state.db, tenant_id, caller.user.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

/// `GET /api/v1/auth/config/{tenantID}`: the caller's preferences (`{}` until saved).
pub async fn config_read(
    caller: Caller,
    state: Data<AppState>,
    tenant_id: Path<String>,
) -> Result<HttpResponse, ApiError> {
    let membership = membership_in(&caller, &state, &tenant_id).await?;
    ensure_usable(&membership.tenant, Some(&membership), true)?;
    let config = tenancy::preferences::get(&state.db, &membership, caller.user.id).await?;
    Ok(ok(serde_json::json!({ "config": config })))
}

/// `POST /api/v1/auth/config/{tenantID}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigBody {
    config: Value,
}

/// `POST /api/v1/auth/config/{tenantID}`: replaces the caller's preferences (a JSON object of at
/// most 64 KiB).
pub async fn config_write(
    caller: Caller,
    state: Data<AppState>,
    tenant_id: Path<String>,
    body: ValidJson<ConfigBody>,
) -> Result<HttpResponse, ApiError> {
    let membership = membership_in(&caller, &state, &tenant_id).await?;
    ensure_usable(&membership.tenant, Some(&membership), false)?;
    let config = tenancy::preferences::set(
        &state.db,
        &membership,
        caller.user.id,
        body.0.config,
        Utc::now(),
    )
    .await?;
    Ok(ok(serde_json::json!({ "config": config })))
}
