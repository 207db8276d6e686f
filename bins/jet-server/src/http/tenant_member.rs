//! `TenantMember`: the caller acting in the tenant named by the route's `{tenantID}`, already
//! checked against the permission the route declares in `http::ROUTES`.
//!
//! Every route under `/api/v1/tenants/{tenantID}/…` takes this extractor (or [`TenantBody`],
//! which adds a JSON body). Extraction
//! 1. authenticates (user or API key);
//! 2. answers the same 404 for a malformed id, an unknown or deleted tenant, a tenant the user
//!    does not belong to, and another tenant than the API key's own;
//! 3. loads the principal's grants (membership roles or key roles), through the short-lived
//!    `AccessCache`;
//! 4. refuses a disabled tenant with 403 `TENANT_DISABLED`, except reads and re-enabling
//!    (`PATCH /api/v1/tenants/{tenantID}`) by its admins;
//! 5. authorizes the route's declared permission, or answers 403 `PERMISSION_DENIED` naming it.
//!
//! Because the check happens here, before any body is parsed, a caller without the permission
//! always gets 403, and a route cannot forget it: a tenant route missing from `ROUTES` is not
//! served, and one without a declared permission answers 500 and fails the isolation matrix.

use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use rbac::{Grants, Permit, Subject};
use serde::de::DeserializeOwned;
use tenancy::tenants::{Membership, Relationship, Tenant};
use uuid::Uuid;

use std::sync::Arc;

use crate::access_cache::Access;
use crate::http::ROUTES;
use crate::http::auth::{Principal, authenticate};
use crate::http::error::ApiError;
use crate::http::json::ValidJson;
use crate::state::AppState;

/// The principal, acting in the route's tenant, with the route's permission.
#[derive(Debug, Clone)]
pub struct TenantMember {
    /// Who is calling.
    pub principal: Principal,
    /// The tenant.
    pub tenant: Tenant,
    /// The user's membership (`None` for an API key).
    pub membership: Option<Membership>,
    /// What the principal holds here.
    pub grants: Grants,
    /// Proof of the route's declared permission.
    pub route_permit: Permit,
}

impl TenantMember {
    /// The tenant's id.
    pub fn tenant_id(&self) -> Uuid {
        self.tenant.id
    }

    /// The acting subject.
    pub fn subject(&self) -> Subject {
        subject_of(&self.principal)
    }
}

fn subject_of(principal: &Principal) -> Subject {
    match principal {
        Principal::User(user) => Subject::User(user.id),
        Principal::ApiKey(key) => Subject::ApiKey(key.id),
    }
}

/// The object id in the route's `{id}`; a malformed one is the same 404 as an unknown one.
pub fn path_id(req: &HttpRequest) -> Result<Uuid, ApiError> {
    req.match_info()
        .get("id")
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .ok_or_else(ApiError::not_found)
}

/// Loads what `principal` holds in `tenant_id`; 404 when it holds nothing there.
async fn load_access(
    state: &AppState,
    principal: &Principal,
    tenant_id: Uuid,
) -> Result<Access, ApiError> {
    match principal {
        Principal::User(user) => {
            let membership = tenancy::tenants::membership(&state.db, tenant_id, user.id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let grants =
                rbac::store::grants_of_member(&state.db, tenant_id, membership.member_id).await?;
            Ok(Access {
                tenant: membership.tenant.clone(),
                membership: Some(membership),
                grants,
            })
        }
        Principal::ApiKey(key) => {
            if key.tenant_id != tenant_id {
                return Err(ApiError::not_found());
            }
            let tenant = tenancy::tenants::find(&state.db, tenant_id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let grants = rbac::api_keys::grants_of_key(&state.db, tenant_id, key.id).await?;
            Ok(Access {
                tenant,
                membership: None,
                grants,
            })
        }
    }
}

/// Refuses a disabled tenant with 403 `TENANT_DISABLED`, unless the caller is one of its admins
/// and `admin_may_proceed` (a read, or the request that may re-enable it).
pub fn ensure_usable(
    tenant: &Tenant,
    membership: Option<&Membership>,
    admin_may_proceed: bool,
) -> Result<(), ApiError> {
    if !tenant.is_disabled {
        return Ok(());
    }
    let is_admin = membership.is_some_and(|m| m.relationship == Relationship::Admin);
    if is_admin && admin_may_proceed {
        Ok(())
    } else {
        Err(ApiError::tenant_disabled())
    }
}

async fn extract(req: &HttpRequest) -> Result<TenantMember, ApiError> {
    let principal = authenticate(req).await?;
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(ApiError::server_error)?;
    let tenant_id = req
        .match_info()
        .get("tenantID")
        .and_then(|raw| Uuid::parse_str(raw).ok())
        .ok_or_else(ApiError::not_found)?;

    let subject = subject_of(&principal);
    let access = match state.access.get(tenant_id, subject) {
        Some(access) => access,
        None => {
            let access = Arc::new(load_access(state, &principal, tenant_id).await?);
            state.access.put(tenant_id, subject, Arc::clone(&access));
            access
        }
    };
    let Access {
        tenant,
        membership,
        grants,
    } = Access::clone(&access);

    let pattern = req.match_pattern();
    let declared = ROUTES
        .iter()
        .find(|route| route.method == *req.method() && Some(route.path) == pattern.as_deref())
        .and_then(|route| route.required);
    let Some(required) = declared else {
        tracing::error!(route = ?pattern, "tenant route without a declared permission");
        return Err(ApiError::server_error());
    };
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    let may_re_enable =
        req.method() == Method::PATCH && pattern.as_deref() == Some("/api/v1/tenants/{tenantID}");
    ensure_usable(&tenant, membership.as_ref(), is_read || may_re_enable)?;
    let route_permit = rbac::authorize(tenant.id, subject_of(&principal), &grants, required, None)?;
    Ok(TenantMember {
        principal,
        tenant,
        membership,
        grants,
        route_permit,
    })
}

impl FromRequest for TenantMember {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { extract(&req).await })
    }
}

/// A [`TenantMember`] and a JSON body, extracted in that order: the body is read only after
/// the permission check passed.
#[derive(Debug)]
pub struct TenantBody<B> {
    /// The checked member.
    pub member: TenantMember,
    /// The body.
    pub body: B,
}

impl<B: DeserializeOwned + 'static> FromRequest for TenantBody<B> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let member = extract(&req).await?;
            let ValidJson(body) = ValidJson::<B>::from_request(&req, &mut payload).await?;
            Ok(TenantBody { member, body })
        })
    }
}

/// The route's query string as `Q`, parsed in the handler, i.e. after the extractor's checks: a
/// stranger gets 404 and a member without the permission 403 whatever the query says.
pub fn query<Q: DeserializeOwned>(req: &HttpRequest) -> Result<Q, ApiError> {
    actix_web::web::Query::<Q>::from_query(req.query_string())
        .map(actix_web::web::Query::into_inner)
        .map_err(|error| {
            ApiError::new(
                crate::http::error::ErrorCode::ValidationError,
                format!("query: {error}"),
            )
        })
}
