//! Authentication: who is calling, as extractors.
//!
//! [`authenticate`] turns the `Authorization` header into a [`Principal`]: a user (ID token,
//! created or refreshed on sight) or an API key (resolved by hash, enabled, not deleted). It
//! records the principal for the access log and applies the per-principal rate limit.
//! [`Caller`] is the extractor for routes declared [`Access::User`] (`/api/v1/auth`, the tenant
//! list); tenant routes use `TenantMember`, which accepts both.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use identity::Credentials;
use rbac::api_keys::ResolvedKey;
use serde::de::DeserializeOwned;
use tenancy::users::{SignedInUser, User, sync_signed_in_user};

use crate::http::access::{self, Access};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::json::ValidJson;
use crate::http::middleware::access_log::PrincipalId;
use crate::state::AppState;

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A signed-in user.
    User(User),
    /// An API key, acting in its own tenant with its own roles.
    ApiKey(ResolvedKey),
}

/// The authenticated user (routes that API keys may not call).
#[derive(Debug, Clone)]
pub struct Caller {
    /// The signed-in user.
    pub user: User,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { Caller::extract(&req).await })
    }
}

impl Caller {
    async fn extract(req: &HttpRequest) -> Result<Caller, ApiError> {
        if access::declared(req) != Some(Access::User) {
            tracing::error!(route = ?crate::http::access::route_pattern(req), "Caller on a route not declared Access::User");
            return Err(ApiError::server_error());
        }
        match authenticate(req).await? {
            Principal::User(user) => Ok(Caller { user }),
            Principal::ApiKey(_) => Err(ApiError::new(
                ErrorCode::PermissionDenied,
                "this route is for users; API keys act only on their tenant's routes",
            )),
        }
    }
}

/// A [`Caller`] and a JSON body, extracted in that order: an unauthenticated request gets 401
/// (an API key 403) whatever its body. Actix polls a handler's extractors together, so a
/// separate body extractor could answer 415 or 400 first.
#[derive(Debug)]
pub struct CallerBody<B> {
    /// The authenticated user.
    pub caller: Caller,
    /// The body.
    pub body: B,
}

impl<B: DeserializeOwned + 'static> FromRequest for CallerBody<B> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let caller = Caller::extract(&req).await?;
            let ValidJson(body) = ValidJson::<B>::from_request(&req, &mut payload).await?;
            Ok(CallerBody { caller, body })
        })
    }
}

/// Authenticates the request.
pub async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    let state = req
        .app_data::<Data<AppState>>()
        .ok_or_else(ApiError::server_error)?;
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| value.to_str().map(str::trim))
        .transpose()
        .map_err(|_| identity::Error::MalformedAuthorization)?
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::UserAuthTokenNotFound,
                "no credentials: send `Authorization: Bearer <ID token>`",
            )
        })?;
    let authenticated = authenticate_credentials(state, header).await?;
    req.extensions_mut()
        .insert(PrincipalId(authenticated.principal_id.clone()));
    state.limits.check_principal(&authenticated.principal_id)?;
    Ok(authenticated.principal)
}

/// A principal and how long its credentials hold.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// Who.
    pub principal: Principal,
    /// `user:<id>` or `apikey:<id>`, as the access log and the rate limits name it.
    pub principal_id: String,
    /// When the ID token expires (API keys: `None`; a revoked key is noticed by the cache).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Authenticates an `Authorization` header value (`Bearer <ID token>` or `api_key <key>`),
/// from a request or from the realtime socket's `auth` message.
pub async fn authenticate_credentials(
    state: &AppState,
    header: &str,
) -> Result<Authenticated, ApiError> {
    Ok(match Credentials::parse(header)? {
        Credentials::ApiKey(raw) => {
            let digest = crate::key_cache::digest(&raw);
            let resolve = async {
                rbac::api_keys::resolve(&state.db, &raw, chrono::Utc::now())
                    .await?
                    .ok_or_else(|| {
                        ApiError::new(ErrorCode::InvalidApiKey, "the API key is invalid")
                    })
            };
            let key = state
                .caches
                .keys
                .get_or_load(digest, resolve, |key| key.tenant_id)
                .await?;
            Authenticated {
                principal_id: format!("apikey:{}", key.id),
                principal: Principal::ApiKey(key),
                expires_at: None,
            }
        }
        Credentials::IdToken(token) => {
            let now = chrono::Utc::now();
            let identity = state.verifier.verify(&token, now.timestamp()).await?;
            let expires_at = chrono::DateTime::from_timestamp(identity.expires_at, 0);
            let signed_in = SignedInUser {
                subject: identity.subject,
                email: identity.email,
                email_verified: identity.email_verified,
                name: identity.name,
                picture: identity.picture,
            };
            let user = sync_signed_in_user(&state.db, &signed_in, now).await?;
            Authenticated {
                principal_id: format!("user:{}", user.id),
                principal: Principal::User(user),
                expires_at,
            }
        }
    })
}
