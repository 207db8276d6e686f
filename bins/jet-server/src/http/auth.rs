//! `Caller`: the authenticated principal of a request, as an extractor.
//!
//! A handler that takes `Caller` cannot run unauthenticated. The extractor parses the
//! `Authorization` header, verifies the ID token, creates or refreshes the user row, records the
//! principal for the access log, and applies the per-principal rate limit.
//! API keys are recognised here and resolved by the RBAC module; until then they are refused.

use actix_web::http::header;
use actix_web::web::Data;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use identity::Credentials;
use tenancy::users::{SignedInUser, User, sync_signed_in_user};

use crate::http::error::{ApiError, ErrorCode};
use crate::http::middleware::access_log::PrincipalId;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The signed-in user.
    pub user: User,
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}

async fn authenticate(req: &HttpRequest) -> Result<Caller, ApiError> {
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

    match Credentials::parse(header)? {
        Credentials::ApiKey(_) => Err(ApiError::new(
            ErrorCode::InvalidApiKey,
            "the API key is invalid",
        )),
        Credentials::IdToken(token) => {
            let identity = state.verifier.verify(&token, unix_now()).await?;
            let signed_in = SignedInUser {
                subject: identity.subject,
                email: identity.email,
                email_verified: identity.email_verified,
                name: identity.name,
                picture: identity.picture,
            };
            let user = sync_signed_in_user(&state.db, &signed_in, chrono::Utc::now()).await?;
            let principal = format!("user:{}", user.id);
            req.extensions_mut().insert(PrincipalId(principal.clone()));
            state.limits.check_principal(&principal)?;
            Ok(Caller { user })
        }
    }
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}
