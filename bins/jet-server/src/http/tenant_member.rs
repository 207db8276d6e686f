//! `TenantMember`: the caller as a member of the tenant named by the route's `{tenantID}`.
//!
//! Every route under `/api/v1/tenants/{tenantID}/…` takes this extractor. It answers the same
//! 404 for a malformed id, an unknown tenant, a deleted one, and one the caller does not belong
//! to, so nobody learns whether another tenant exists. It loads the member's grants once per
//! request; [`TenantMember::permit`] turns a required permission into an `rbac::Permit` or a 403
//! naming what was required.

use actix_web::web::Data;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use rbac::{Grants, Permission, Permit, Subject, Target};
use tenancy::tenants::Membership;
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::error::ApiError;
use crate::state::AppState;

/// The authenticated caller, a member of the route's tenant.
#[derive(Debug, Clone)]
pub struct TenantMember {
    /// Who is calling.
    pub caller: Caller,
    /// The membership (with the tenant).
    pub membership: Membership,
    /// What the membership holds.
    pub grants: Grants,
}

impl TenantMember {
    /// The tenant's id.
    pub fn tenant_id(&self) -> Uuid {
        self.membership.tenant.id
    }

    /// The acting subject.
    pub fn subject(&self) -> Subject {
        Subject::User(self.caller.user.id)
    }

    /// A permit for `permission`, or 403 `PERMISSION_DENIED` with `required`.
    pub fn permit(&self, permission: Permission) -> Result<Permit, ApiError> {
        Ok(rbac::authorize(
            self.tenant_id(),
            self.subject(),
            &self.grants,
            permission,
            None,
        )?)
    }

    /// A permit for `permission` on one object.
    pub fn permit_on(&self, permission: Permission, target: &Target) -> Result<Permit, ApiError> {
        Ok(rbac::authorize(
            self.tenant_id(),
            self.subject(),
            &self.grants,
            permission,
            Some(target),
        )?)
    }
}

impl FromRequest for TenantMember {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let caller = caller.await?;
            let state = req
                .app_data::<Data<AppState>>()
                .ok_or_else(ApiError::server_error)?;
            let tenant_id = req
                .match_info()
                .get("tenantID")
                .and_then(|raw| Uuid::parse_str(raw).ok())
                .ok_or_else(ApiError::not_found)?;
            let membership = tenancy::tenants::membership(&state.db, tenant_id, caller.user.id)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let grants =
                rbac::store::grants_of_member(&state.db, tenant_id, membership.member_id).await?;
            Ok(TenantMember {
                caller,
                membership,
                grants,
            })
        })
    }
}
