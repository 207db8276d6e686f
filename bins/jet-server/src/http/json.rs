//! `ValidJson<T>`: the JSON body extractor every route uses.
//!
//! Compared with actix's `web::Json` it answers in our envelope, names the offending field
//! (`serde_path_to_error`), enforces the configured body limit while streaming (chunked bodies
//! have no `Content-Length` for the edge middleware to check), tells 413 from 400 from 415, and
//! accepts only a JSON **object** at the top level: serde would otherwise read an array as a
//! positional struct (`["Acme", "https://x/logo.png"]` as a tenant).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{BytesMut, Data};
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::http::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// A deserialized JSON body.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req
            .app_data::<Data<AppState>>()
            .map(|state| state.edge.body_limit)
            .unwrap_or(crate::settings::DEFAULT_BODY_LIMIT);
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || mime.ends_with("+json")
            })
            .unwrap_or(false);
        let mut payload = payload.take();

        Box::pin(async move {
            if !is_json {
                return Err(ApiError::new(
                    ErrorCode::UnsupportedMediaType,
                    "the body must be JSON (Content-Type: application/json)",
                ));
            }
            let body = read_bounded(&mut payload, limit).await?;
            if body.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
                return Err(ApiError::new(
                    ErrorCode::ValidationError,
                    "the body must be a JSON object",
                ));
            }
            let mut deserializer = serde_json::Deserializer::from_slice(&body);
            let value =
                serde_path_to_error::deserialize(&mut deserializer).map_err(validation_error)?;
            deserializer.end().map_err(|e| {
                ApiError::new(ErrorCode::ValidationError, format!("malformed JSON: {e}"))
            })?;
            Ok(ValidJson(value))
        })
    }
}

/// Reads a request body of at most `limit` bytes (413 past it, while streaming: a chunked body
/// declares no length).
pub async fn read_bounded<S>(payload: &mut S, limit: usize) -> Result<BytesMut, ApiError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, actix_web::error::PayloadError>>
        + Unpin,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidRequest,
                "the request body could not be read",
            )
        })?;
        if body.len() + chunk.len() > limit {
            return Err(payload_too_large(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// 413 with the limit in the message.
pub fn payload_too_large(limit: usize) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is larger than {limit} bytes"),
    )
    .with_detail("limit", limit)
}

fn validation_error(error: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = error.path().to_string();
    let inner = error.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::new(
            ErrorCode::ValidationError,
            format!("malformed JSON: {inner}"),
        );
    }
    // A missing field is reported by serde at the parent's path; name the field itself.
    let message = inner.to_string();
    let field = match missing_field_name(&message) {
        Some(missing) if path == "." => missing.to_string(),
        Some(missing) => format!("{path}.{missing}"),
        None => path,
    };
    ApiError::new(ErrorCode::ValidationError, format!("{field}: {message}"))
        .with_detail("field", field)
}

fn missing_field_name(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

/// For `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>` field:
/// absent → `None` (leave as is), `null` → `Some(None)` (clear), a value → `Some(Some(v))`.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Ok(Some(Option::deserialize(deserializer)?))
}
