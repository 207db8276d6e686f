//! The HTTP error envelope and the one table of public error codes.
//!
//! Every error a client sees is `{"error": {"code", "message", …}}` with the status the code
//! maps to in [`ErrorCode::status`]. Domain errors are converted with exhaustive `match`es, so a
//! new domain variant fails to compile until it is given a code here. Internal failures are
//! logged with their cause and answered with a generic `SERVER_ERROR`: internal text never
//! reaches the client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde_json::{Map, Value, json};

/// Every public error code. `docs/errors.md` lists them for API users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400: a field failed validation.
    ValidationError,
    /// 400: the request is malformed in another way.
    InvalidRequest,
    /// 401: no credentials were sent.
    UserAuthTokenNotFound,
    /// 401: the ID token has expired.
    UserAuthTokenExpired,
    /// 401: the ID token (or the Authorization header) is invalid.
    InvalidToken,
    /// 401: the API key is unknown, disabled or deleted.
    InvalidApiKey,
    /// 403: the caller lacks a permission.
    PermissionDenied,
    /// 403: the user has been disabled.
    UserDisabled,
    /// 403: a cross-origin request from an origin not on the allow-list.
    CorsOriginNotAllowed,
    /// 404: no such route or object (or not visible to the caller).
    NotFound,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 409: the change conflicts with the current state.
    Conflict,
    /// 413: the request body is over the limit.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 429: too many requests; see `Retry-After`.
    RateLimited,
    /// 500: something broke inside; details are in the server log only.
    ServerError,
    /// 503: the identity provider's keys cannot be fetched.
    IdentityProviderUnavailable,
    /// 503: a dependency (the database) is down.
    ServiceUnavailable,
}

impl ErrorCode {
    /// The HTTP status of the code.
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            ValidationError | InvalidRequest => StatusCode::BAD_REQUEST,
            UserAuthTokenNotFound | UserAuthTokenExpired | InvalidToken | InvalidApiKey => {
                StatusCode::UNAUTHORIZED
            }
            PermissionDenied | UserDisabled | CorsOriginNotAllowed => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict => StatusCode::CONFLICT,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            IdentityProviderUnavailable | ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The code as sent on the wire.
    pub fn as_str(self) -> &'static str {
        use ErrorCode::*;
        match self {
            ValidationError => "VALIDATION_ERROR",
            InvalidRequest => "INVALID_REQUEST",
            UserAuthTokenNotFound => "USER_AUTH_TOKEN_NOT_FOUND",
            UserAuthTokenExpired => "USER_AUTH_TOKEN_EXPIRED",
            InvalidToken => "INVALID_TOKEN",
            InvalidApiKey => "INVALID_API_KEY",
            PermissionDenied => "PERMISSION_DENIED",
            UserDisabled => "USER_DISABLED",
            CorsOriginNotAllowed => "CORS_ORIGIN_NOT_ALLOWED",
            NotFound => "NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Conflict => "CONFLICT",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            RateLimited => "RATE_LIMITED",
            ServerError => "SERVER_ERROR",
            IdentityProviderUnavailable => "IDENTITY_PROVIDER_UNAVAILABLE",
            ServiceUnavailable => "SERVICE_UNAVAILABLE",
        }
    }
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    details: Map<String, Value>,
    retry_after_secs: Option<u64>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl ApiError {
    /// An error with a client-safe message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Map::new(),
            retry_after_secs: None,
        }
    }

    /// An internal failure: `cause` goes to the log, the client gets a generic message.
    pub fn internal(cause: &dyn std::error::Error) -> Self {
        tracing::error!(error = %cause, source = ?cause.source(), "internal error");
        Self::server_error()
    }

    /// The generic 500.
    pub fn server_error() -> Self {
        Self::new(ErrorCode::ServerError, "an internal error occurred")
    }

    /// 404 for a route or object.
    pub fn not_found() -> Self {
        Self::new(ErrorCode::NotFound, "not found")
    }

    /// Adds a field to the error object (`field`, `required`, …).
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key.to_string(), value.into());
        self
    }

    /// Sets `Retry-After` (seconds).
    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after_secs = Some(seconds);
        self
    }

    /// The public code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code.as_str()));
        error.insert("message".into(), json!(self.message));
        error.extend(self.details.clone());
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after_secs {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
        }
        response.json(json!({ "error": error }))
    }
}

impl From<identity::Error> for ApiError {
    fn from(error: identity::Error) -> Self {
        match error {
            identity::Error::MalformedAuthorization => ApiError::new(
                ErrorCode::InvalidToken,
                "the Authorization header must be `Bearer <token>` or `api_key <key>`",
            ),
            identity::Error::Expired => {
                ApiError::new(ErrorCode::UserAuthTokenExpired, "the token has expired")
            }
            identity::Error::Rejected(reason) => {
                // The reason helps an operator, and would help an attacker: log only.
                tracing::debug!(?reason, "token rejected");
                ApiError::new(ErrorCode::InvalidToken, "the token is invalid")
            }
            identity::Error::KeysUnavailable(reason) => {
                tracing::warn!(%reason, "identity provider keys unavailable");
                ApiError::new(
                    ErrorCode::IdentityProviderUnavailable,
                    "the identity provider cannot be reached; try again shortly",
                )
                .with_retry_after(30)
            }
            error @ identity::Error::LocalKey { .. } => ApiError::internal(&error),
        }
    }
}

impl From<tenancy::Error> for ApiError {
    fn from(error: tenancy::Error) -> Self {
        match error {
            tenancy::Error::UserDisabled => {
                ApiError::new(ErrorCode::UserDisabled, "this user has been disabled")
            }
            tenancy::Error::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            error @ (tenancy::Error::Database(_) | tenancy::Error::Rbac(_)) => {
                ApiError::internal(&error)
            }
        }
    }
}

impl From<rbac::Denied> for ApiError {
    fn from(denied: rbac::Denied) -> Self {
        let required = denied.required.to_string();
        ApiError::new(
            ErrorCode::PermissionDenied,
            format!("this requires the permission {required}"),
        )
        .with_detail("required", required)
    }
}

impl From<rbac::api_keys::ApiKeyError> for ApiError {
    fn from(error: rbac::api_keys::ApiKeyError) -> Self {
        use rbac::api_keys::ApiKeyError;
        match error {
            ApiKeyError::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            ApiKeyError::Escalation => ApiError::new(
                ErrorCode::PermissionDenied,
                "a key cannot be given more rights than its creator holds",
            ),
            ApiKeyError::NotFound => ApiError::not_found(),
            error @ (ApiKeyError::PermitMismatch(_)
            | ApiKeyError::Random
            | ApiKeyError::Store(_)) => ApiError::internal(&error),
        }
    }
}

impl From<rbac::store::StoreError> for ApiError {
    fn from(error: rbac::store::StoreError) -> Self {
        match error {
            error @ rbac::store::StoreError::Database(_) => ApiError::internal(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn the_envelope_carries_code_message_and_details() {
        let error =
            ApiError::new(ErrorCode::PermissionDenied, "no").with_detail("required", "role:create");
        let response = error.error_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body = to_bytes(response.into_body()).await.unwrap();
        let value: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            value,
            json!({"error": {"code": "PERMISSION_DENIED", "message": "no", "required": "role:create"}})
        );
    }

    #[test]
    fn internal_errors_never_carry_their_text() {
        let cause = std::io::Error::other("password=hunter2 at /etc/secret");
        let error = ApiError::internal(&cause);
        assert_eq!(error.code(), ErrorCode::ServerError);
        assert!(!error.to_string().contains("hunter2"));
    }
}
