//! `TenantMember`: the caller acting in the tenant named by the route's `{tenantID}`, already
//! checked against the [`TenantRule`] the route declares.
//!
//! Every route under `/api/v1/tenants/{tenantID}/…` (and every other path with a `{tenantID}`)
//! takes this extractor (or [`TenantBody`], which adds a JSON body). Extraction
//! 1. reads the route's declared rule from its resource (a route declared otherwise is a
//!    programming error: 500, caught by the isolation matrix);
//! 2. authenticates (user or API key);
//! 3. answers the same 404 for a malformed id, an unknown or deleted tenant, a tenant the user
//!    does not belong to, and another tenant than the API key's own;
//! 4. loads the principal's grants (membership roles or key roles), through the `AccessCache`;
//! 5. refuses a disabled tenant with 403 `TENANT_DISABLED`, except, for its admins, routes
//!    declared [`Effect::Reads`] or [`Effect::ReEnables`];
//! 6. authorizes the declared permission, on the declared object when there is one (an asset
//!    grant on that object suffices), or answers 403 `PERMISSION_DENIED` naming it.
//!
//! Because the check happens here, before any body is parsed, a caller without the permission
//! always gets 403, whatever the body or query says.

use actix_web::dev::Payload;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use rbac::{Grants, Permit, Subject, Target};
use serde::de::DeserializeOwned;
use tenancy::tenants::{Membership, Relationship, Tenant};
use uuid::Uuid;

use std::sync::Arc;

use crate::access_cache::Access;
use crate::http::access::{self, Effect, Need, TenantRule};
use crate::http::auth::{Principal, authenticate};
use crate::http::error::{ApiError, ErrorCode};
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
    pub grants: Arc<Grants>,
    /// Proof of the route's declared permission (`None` for membership-only routes).
    permit: Option<Permit>,
    /// The route's object (checked: the permit is for it, or for the workflow of a run the
    /// route names) or source (the domain checks it), when it declares one.
    object_id: Option<Uuid>,
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

    /// Proof of the route's declared permission.
    pub fn permit(&self) -> Result<&Permit, ApiError> {
        self.permit.as_ref().ok_or_else(|| {
            tracing::error!("a membership-only route asked for a permit");
            ApiError::server_error()
        })
    }

    /// The id of the route's declared object or source.
    pub fn object_id(&self) -> Result<Uuid, ApiError> {
        self.object_id.ok_or_else(|| {
            tracing::error!("a route without a declared object asked for its id");
            ApiError::server_error()
        })
    }

    /// The signed-in user's membership; API keys have none.
    pub fn user_membership(&self) -> Result<&Membership, ApiError> {
        self.membership.as_ref().ok_or_else(users_only)
    }
}

fn users_only() -> ApiError {
    ApiError::new(
        ErrorCode::PermissionDenied,
        "this route is for users; API keys cannot call it",
    )
}

fn subject_of(principal: &Principal) -> Subject {
    match principal {
        Principal::User(user) => Subject::User(user.id),
        Principal::ApiKey(key) => Subject::ApiKey(key.id),
    }
}

/// A path parameter as a UUID; a malformed one is the same 404 as an unknown object.
pub fn path_uuid(req: &HttpRequest, param: &str) -> Result<Uuid, ApiError> {
    req.match_info()
        .get(param)
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
                grants: Arc::new(grants),
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
                grants: Arc::new(grants),
            })
        }
    }
}

/// Refuses a disabled tenant with 403 `TENANT_DISABLED`, unless the caller is one of its admins
/// and the route only reads or may re-enable it.
fn ensure_usable(
    tenant: &Tenant,
    membership: Option<&Membership>,
    effect: Effect,
) -> Result<(), ApiError> {
    if !tenant.is_disabled {
        return Ok(());
    }
    let is_admin = membership.is_some_and(|m| m.relationship == Relationship::Admin);
    let admin_may_proceed = matches!(effect, Effect::Reads | Effect::ReEnables);
    if is_admin && admin_may_proceed {
        Ok(())
    } else {
        Err(ApiError::tenant_disabled())
    }
}

fn declared_rule(req: &HttpRequest) -> Result<TenantRule, ApiError> {
    match access::declared(req) {
        Some(access::Access::Tenant(rule)) => Ok(rule),
        other => {
            tracing::error!(route = ?crate::http::access::route_pattern(req), declared = ?other,
                "a tenant extractor on a route not declared as a tenant route");
            Err(ApiError::server_error())
        }
    }
}

async fn extract(req: &HttpRequest) -> Result<TenantMember, ApiError> {
    let rule = declared_rule(req)?;
    let principal = authenticate(req).await?;
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(ApiError::server_error)?;
    let tenant_id = path_uuid(req, "tenantID")?;
    let object_id = rule
        .object
        .or(rule.source)
        .map(|param| path_uuid(req, param))
        .transpose()?;
    admit(state, principal, tenant_id, rule, object_id).await
}

/// Checks `rule` for `principal` in `tenant_id`, on `object_id` (the rule's object or source):
/// what every tenant route does before its handler, and what the realtime socket does for each
/// subscription. 404 when the principal holds nothing in the tenant.
pub async fn admit(
    state: &AppState,
    principal: Principal,
    tenant_id: Uuid,
    rule: TenantRule,
    object_id: Option<Uuid>,
) -> Result<TenantMember, ApiError> {
    let subject = subject_of(&principal);
    let load = async {
        load_access(state, &principal, tenant_id)
            .await
            .map(Arc::new)
    };
    let access = state
        .caches
        .access
        .get_or_load((tenant_id, subject), load, |_| tenant_id)
        .await?;
    let Access {
        tenant,
        membership,
        grants,
    } = Access::clone(&access);

    ensure_usable(&tenant, membership.as_ref(), rule.effect)?;
    let permit = match rule.need {
        Need::Membership => {
            if membership.is_none() {
                return Err(users_only());
            }
            None
        }
        Need::Permission(required) => {
            let object = match (rule.object.and(object_id), rule.object_of) {
                // The type-wide permission covers every run: no need to look the run up here
                // (the handler's own lookup answers 404 for a run of another tenant).
                (Some(_), access::ObjectOf::RunOfWorkflow) if grants.holds(required) => None,
                (Some(run), access::ObjectOf::RunOfWorkflow) => {
                    workflow_of_run(state, tenant.id, run).await?
                }
                (object, _) => object,
            };
            let target = object.map(|id| Target {
                resource: required.resource,
                id,
                creator: None,
            });
            match rbac::authorize(tenant.id, subject, &grants, required, target.as_ref()) {
                Ok(permit) => Some(permit),
                // Not by grants: the object's creator still may (creator rights).
                Err(denied) => {
                    let Some(id) = object else {
                        return Err(denied.into());
                    };
                    let creator =
                        crate::http::creators::creator_of(state, required.resource, tenant.id, id)
                            .await?;
                    if creator != Some(subject) {
                        return Err(denied.into());
                    }
                    let target = Target {
                        resource: required.resource,
                        id,
                        creator,
                    };
                    Some(rbac::authorize(
                        tenant.id,
                        subject,
                        &grants,
                        required,
                        Some(&target),
                    )?)
                }
            }
        }
    };
    Ok(TenantMember {
        principal,
        tenant,
        membership,
        grants,
        permit,
        object_id,
    })
}

/// The workflow run `run` of the tenant executes (`None` for a test run of an unsaved graph);
/// a run of another tenant, or none, is 404.
async fn workflow_of_run(
    state: &AppState,
    tenant_id: Uuid,
    run: Uuid,
) -> Result<Option<Uuid>, ApiError> {
    let instance =
        workflows::instances::find(&state.db, tenant_id, workflow_engine::RunId(run)).await?;
    Ok(instance.workflow_id)
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
        .map_err(|error| ApiError::new(ErrorCode::ValidationError, format!("query: {error}")))
}
