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
    /// 401: a webhook delivery without the hook's credentials, or with wrong ones.
    WebhookUnauthorized,
    /// 401: a webhook delivery's signature does not match its body and timestamp.
    WebhookSignatureInvalid,
    /// 401: a signed webhook delivery's timestamp is outside the window.
    WebhookTimestampStale,
    /// 403: the caller lacks a permission.
    PermissionDenied,
    /// 403: the user has been disabled.
    UserDisabled,
    /// 403: the tenant is disabled (its admins may still read and re-enable it).
    TenantDisabled,
    /// 403: a cross-origin request from an origin not on the allow-list.
    CorsOriginNotAllowed,
    /// 403: the webhook is disabled.
    WebhookDisabled,
    /// 404: no such route or object (or not visible to the caller).
    NotFound,
    /// 405: the route exists but not for this method.
    MethodNotAllowed,
    /// 409: the change conflicts with the current state.
    Conflict,
    /// 409: the change would leave the tenant without an admin.
    LastAdmin,
    /// 409: built-in and global roles cannot be changed or deleted.
    ProtectedRole,
    /// 409: data queries use the datasource; deleting it needs `force`.
    DatasourceInUse,
    /// 409: this webhook delivery id was accepted before (a replay).
    WebhookReplayed,
    /// 413: the request body is over the limit.
    PayloadTooLarge,
    /// 415: the body is not JSON.
    UnsupportedMediaType,
    /// 422: the datasource cannot be reached (closed port, refused login, TLS).
    DatasourceUnreachable,
    /// 422: connecting, a statement or a request ran over its time limit.
    DatasourceTimeout,
    /// 422: the datasource refused or failed the query.
    QueryFailed,
    /// 422: the network policy refuses the datasource's address.
    NetworkPolicyDenied,
    /// 429: too many requests; see `Retry-After`.
    RateLimited,
    /// 429: too many queries of this tenant are running; see `Retry-After`.
    TooManyRuns,
    /// 500: something broke inside; details are in the server log only.
    ServerError,
    /// 503: the identity provider's keys cannot be fetched.
    IdentityProviderUnavailable,
    /// 503: a dependency (the database) is down.
    ServiceUnavailable,
    /// 503: a datasource's secrets cannot be opened with this server's keys.
    SecretsUnreadable,
}

impl ErrorCode {
    /// Every code, in the order of `docs/errors.md` (a tidy test keeps the two equal).
    pub const ALL: [ErrorCode; 33] = {
        use ErrorCode::*;
        [
            ValidationError,
            InvalidRequest,
            UserAuthTokenNotFound,
            UserAuthTokenExpired,
            InvalidToken,
            InvalidApiKey,
            WebhookUnauthorized,
            WebhookSignatureInvalid,
            WebhookTimestampStale,
            PermissionDenied,
            UserDisabled,
            TenantDisabled,
            CorsOriginNotAllowed,
            WebhookDisabled,
            NotFound,
            MethodNotAllowed,
            Conflict,
            LastAdmin,
            ProtectedRole,
            DatasourceInUse,
            WebhookReplayed,
            PayloadTooLarge,
            UnsupportedMediaType,
            DatasourceUnreachable,
            DatasourceTimeout,
            QueryFailed,
            NetworkPolicyDenied,
            RateLimited,
            TooManyRuns,
            ServerError,
            IdentityProviderUnavailable,
            ServiceUnavailable,
            SecretsUnreadable,
        ]
    };

    /// The HTTP status of the code.
    pub fn status(self) -> StatusCode {
        use ErrorCode::*;
        match self {
            ValidationError | InvalidRequest => StatusCode::BAD_REQUEST,
            UserAuthTokenNotFound
            | UserAuthTokenExpired
            | InvalidToken
            | InvalidApiKey
            | WebhookUnauthorized
            | WebhookSignatureInvalid
            | WebhookTimestampStale => StatusCode::UNAUTHORIZED,
            PermissionDenied | UserDisabled | TenantDisabled | CorsOriginNotAllowed
            | WebhookDisabled => StatusCode::FORBIDDEN,
            NotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Conflict | LastAdmin | ProtectedRole | DatasourceInUse | WebhookReplayed => {
                StatusCode::CONFLICT
            }
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DatasourceUnreachable | DatasourceTimeout | QueryFailed | NetworkPolicyDenied => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RateLimited | TooManyRuns => StatusCode::TOO_MANY_REQUESTS,
            ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            IdentityProviderUnavailable | ServiceUnavailable | SecretsUnreadable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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
            WebhookUnauthorized => "WEBHOOK_UNAUTHORIZED",
            WebhookSignatureInvalid => "WEBHOOK_SIGNATURE_INVALID",
            WebhookTimestampStale => "WEBHOOK_TIMESTAMP_STALE",
            PermissionDenied => "PERMISSION_DENIED",
            UserDisabled => "USER_DISABLED",
            TenantDisabled => "TENANT_DISABLED",
            CorsOriginNotAllowed => "CORS_ORIGIN_NOT_ALLOWED",
            WebhookDisabled => "WEBHOOK_DISABLED",
            NotFound => "NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Conflict => "CONFLICT",
            LastAdmin => "LAST_ADMIN",
            ProtectedRole => "PROTECTED_ROLE",
            DatasourceInUse => "DATASOURCE_IN_USE",
            WebhookReplayed => "WEBHOOK_REPLAYED",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            DatasourceUnreachable => "DATASOURCE_UNREACHABLE",
            DatasourceTimeout => "DATASOURCE_TIMEOUT",
            QueryFailed => "QUERY_FAILED",
            NetworkPolicyDenied => "NETWORK_POLICY_DENIED",
            RateLimited => "RATE_LIMITED",
            TooManyRuns => "TOO_MANY_RUNS",
            ServerError => "SERVER_ERROR",
            IdentityProviderUnavailable => "IDENTITY_PROVIDER_UNAVAILABLE",
            ServiceUnavailable => "SERVICE_UNAVAILABLE",
            SecretsUnreadable => "SECRETS_UNREADABLE",
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

    /// 403 `TENANT_DISABLED`.
    pub fn tenant_disabled() -> Self {
        Self::new(
            ErrorCode::TenantDisabled,
            "this tenant is disabled; its admins can still read it and re-enable it",
        )
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

    /// The envelope's `error` object: `{code, message, …details}` (also the realtime
    /// protocol's error frames).
    pub fn body(&self) -> Map<String, Value> {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code.as_str()));
        error.insert("message".into(), json!(self.message));
        error.extend(self.details.clone());
        error
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let error = self.body();
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
            tenancy::Error::UnknownReference { field, message } => {
                ApiError::new(ErrorCode::Conflict, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            tenancy::Error::NotFound => ApiError::not_found(),
            tenancy::Error::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            tenancy::Error::TenantDisabled => ApiError::tenant_disabled(),
            tenancy::Error::LastAdmin => ApiError::new(
                ErrorCode::LastAdmin,
                "the last admin of a tenant cannot be removed or demoted",
            ),
            tenancy::Error::Denied(denied) => denied.into(),
            tenancy::Error::Rbac(error) => error.into(),
            error @ tenancy::Error::Database(_) => ApiError::internal(&error),
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

impl From<rbac::Error> for ApiError {
    fn from(error: rbac::Error) -> Self {
        match error {
            rbac::Error::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            rbac::Error::UnknownReference { field, message } => {
                ApiError::new(ErrorCode::Conflict, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            rbac::Error::Escalation => ApiError::new(
                ErrorCode::PermissionDenied,
                "cannot grant more rights than you hold",
            ),
            rbac::Error::ProtectedRole => ApiError::new(
                ErrorCode::ProtectedRole,
                "built-in and global roles cannot be changed or deleted",
            ),
            rbac::Error::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            rbac::Error::NotFound => ApiError::not_found(),
            rbac::Error::TenantDisabled => ApiError::tenant_disabled(),
            rbac::Error::Denied(denied) => denied.into(),
            error @ (rbac::Error::PermitMismatch(_)
            | rbac::Error::Random
            | rbac::Error::Database(_)) => ApiError::internal(&error),
        }
    }
}

impl From<datasources::Error> for ApiError {
    fn from(error: datasources::Error) -> Self {
        use datasources::Error as E;
        // Connector messages are scrubbed of secrets by the crate; they help the user fix the
        // datasource or the query, so they are passed on.
        match error {
            E::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            E::UnknownReference { field, message } => {
                ApiError::new(ErrorCode::Conflict, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            E::NotFound => ApiError::not_found(),
            E::InUse { queries } => {
                let listed: Vec<Value> = queries
                    .iter()
                    .map(|(id, title)| json!({"dataQueryID": id, "dataQueryTitle": title}))
                    .collect();
                ApiError::new(
                    ErrorCode::DatasourceInUse,
                    format!(
                        "{} data queries use this datasource: delete them first, or delete with \
                         `force=true` to delete them with it",
                        queries.len()
                    ),
                )
                .with_detail("dataQueries", listed)
            }
            E::Connection(message) => ApiError::new(ErrorCode::DatasourceUnreachable, message),
            E::Timeout(message) => ApiError::new(ErrorCode::DatasourceTimeout, message),
            E::Query(message) => ApiError::new(ErrorCode::QueryFailed, message),
            E::NetworkDenied(message) => ApiError::new(ErrorCode::NetworkPolicyDenied, message),
            E::Unsupported(message) => ApiError::new(ErrorCode::InvalidRequest, message),
            E::Busy => ApiError::new(
                ErrorCode::TooManyRuns,
                "too many queries of this tenant are running; try again shortly",
            )
            .with_retry_after(1),
            error @ E::Unopenable { datasource_id, .. } => {
                // Names the datasource and the reason (unknown key, tampered ciphertext); the
                // operator fixes it with the right key in JET_ENCRYPTION_PREVIOUS_KEYS.
                tracing::error!(%error, "datasource secrets cannot be opened");
                ApiError::new(
                    ErrorCode::SecretsUnreadable,
                    "this datasource's secrets cannot be opened with the server's keys; an \
                     operator must configure the key that sealed them",
                )
                .with_detail("datasourceID", datasource_id.to_string())
            }
            E::Denied(denied) => denied.into(),
            E::Rbac(error) => error.into(),
            error @ (E::Seal(_) | E::Database(_)) => ApiError::internal(&error),
        }
    }
}

impl From<workflows::Error> for ApiError {
    fn from(error: workflows::Error) -> Self {
        use workflows::Error as E;
        match error {
            E::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            E::InvalidGraph(issues) => {
                let listed: Vec<Value> = issues
                    .iter()
                    .map(|issue| {
                        json!({"nodeID": issue.node_id, "edge": issue.edge,
                            "field": issue.field, "message": issue.message})
                    })
                    .collect();
                let summary = match issues.as_slice() {
                    [one] => format!("the workflow has a problem: {one}"),
                    many => format!("the workflow has {} problems; see `issues`", many.len()),
                };
                ApiError::new(ErrorCode::ValidationError, summary).with_detail("issues", listed)
            }
            E::NotFound => ApiError::not_found(),
            E::UnknownReference { field, message } => {
                ApiError::new(ErrorCode::Conflict, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            E::Disabled => ApiError::new(
                ErrorCode::Conflict,
                "the workflow is disabled; enable it to start runs",
            ),
            E::RunState { status } => ApiError::new(
                ErrorCode::Conflict,
                format!("the run is {}", status.as_str()),
            )
            .with_detail("status", status.as_str()),
            E::ShuttingDown => ApiError::new(
                ErrorCode::ServiceUnavailable,
                "this server is stopping; try again",
            )
            .with_retry_after(1),
            E::Denied(denied) => denied.into(),
            E::Rbac(error) => error.into(),
            error @ (E::Database(_) | E::Engine(_)) => ApiError::internal(&error),
        }
    }
}

impl From<cron_jobs::Error> for ApiError {
    fn from(error: cron_jobs::Error) -> Self {
        use cron_jobs::Error as E;
        match error {
            E::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            E::InvalidSchedule(why) => {
                ApiError::new(ErrorCode::ValidationError, format!("schedule: {why}"))
                    .with_detail("field", "schedule")
            }
            E::UnknownTimeZone(zone) => ApiError::new(
                ErrorCode::ValidationError,
                format!("timeZone: `{zone}` is not an IANA time zone"),
            )
            .with_detail("field", "timeZone"),
            E::UnknownReference { field, message } => {
                ApiError::new(ErrorCode::Conflict, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            E::NotFound => ApiError::not_found(),
            E::Denied(denied) => denied.into(),
            E::Rbac(error) => error.into(),
            error @ (E::Database(_) | E::Target(_) | E::Corrupt(_)) => ApiError::internal(&error),
        }
    }
}

impl From<webhooks::Error> for ApiError {
    fn from(error: webhooks::Error) -> Self {
        use webhooks::Error as E;
        match error {
            E::Invalid { field, message } => {
                ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
                    .with_detail("field", field)
            }
            E::NotFound => ApiError::not_found(),
            E::Denied(denied) => denied.into(),
            E::Rbac(error) => error.into(),
            E::Secret(error) => {
                tracing::error!(%error, "a webhook's secret cannot be opened");
                ApiError::new(
                    ErrorCode::SecretsUnreadable,
                    "the hook's secret cannot be opened with this server's keys",
                )
            }
            error @ (E::Database(_) | E::Corrupt(_)) => ApiError::internal(&error),
        }
    }
}

impl From<webhooks::Refused> for ApiError {
    fn from(refused: webhooks::Refused) -> Self {
        use webhooks::Refused as R;
        let code = match &refused {
            R::MissingCredentials(_) | R::BadCredentials => ErrorCode::WebhookUnauthorized,
            R::MalformedSignature(_) => ErrorCode::InvalidRequest,
            R::BadSignature => ErrorCode::WebhookSignatureInvalid,
            R::StaleTimestamp(_) => ErrorCode::WebhookTimestampStale,
        };
        ApiError::new(code, refused.to_string())
    }
}
