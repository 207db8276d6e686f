//! CORS for an exact allow-list of origins.
//!
//! Allowed origins are echoed with credentials allowed; `*` and `null` can never be configured
//! (settings refuse them), so neither can be reflected. Requests from other origins get no CORS
//! headers (the browser blocks them); their preflights get 403 in our envelope. Written here rather
//! than with `actix-cors` so refusals use the same envelope as every other error.

use std::collections::HashSet;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpResponse, ResponseError};

use crate::http::error::{ApiError, ErrorCode};
use crate::state::AppState;

const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOWED_HEADERS: &str = "authorization, content-type, x-request-id";
const EXPOSED_HEADERS: &str = "x-request-id, retry-after";

/// The set of origins allowed to make credentialed cross-origin calls.
#[derive(Debug, Clone, Default)]
pub struct CorsPolicy {
    origins: HashSet<String>,
}

impl CorsPolicy {
    /// A policy for exact, lower-cased origins such as `https://admin.example.com`.
    pub fn new(origins: impl IntoIterator<Item = String>) -> Self {
        CorsPolicy {
            origins: origins
                .into_iter()
                .map(|o| o.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether `origin` is on the list (also the realtime socket's Origin check).
    pub fn allows(&self, origin: &str) -> bool {
        origin != "null" && self.origins.contains(&origin.to_ascii_lowercase())
    }
}

/// The middleware function.
pub async fn apply(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Some(origin) = origin else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let allowed = req
        .app_data::<Data<AppState>>()
        .is_some_and(|state| state.edge.cors.allows(&origin));
    let is_preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

    if is_preflight {
        let response = if allowed {
            let mut response = HttpResponse::NoContent();
            response
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, ALLOWED_METHODS))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOWED_HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
            let mut response = response.finish();
            add_allow_headers(response.headers_mut(), &origin);
            response
        } else {
            ApiError::new(
                ErrorCode::CorsOriginNotAllowed,
                "this origin may not call the API",
            )
            .error_response()
        };
        let mut response = req.into_response(response);
        response
            .headers_mut()
            .append(header::VARY, HeaderValue::from_static("Origin"));
        return Ok(response);
    }

    let mut response = next.call(req).await?.map_into_boxed_body();
    if allowed {
        add_allow_headers(response.headers_mut(), &origin);
        response.headers_mut().insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    response
        .headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    Ok(response)
}

fn add_allow_headers(headers: &mut actix_web::http::header::HeaderMap, origin: &str) {
    if let Ok(value) = HeaderValue::from_str(origin) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::CorsPolicy;

    #[test]
    fn only_listed_origins_are_allowed() {
        let policy = CorsPolicy::new(["https://admin.example.com".to_string()]);
        assert!(policy.allows("https://admin.example.com"));
        assert!(policy.allows("HTTPS://ADMIN.EXAMPLE.COM"));
        assert!(!policy.allows("https://admin.example.com.evil.io"));
        assert!(!policy.allows("http://admin.example.com"));
        assert!(!policy.allows("null"));
        assert!(!CorsPolicy::default().allows("https://admin.example.com"));
    }
}
