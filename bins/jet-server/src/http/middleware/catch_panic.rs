//! Turns a panic inside a handler into a plain 500 `SERVER_ERROR` and keeps the worker serving.
//!
//! actix does not catch panics: the connection would be dropped without a response and the worker
//! thread restarted. A panic is still a bug — it is logged at error level — but one bad request
//! must not cost other clients their connections.
//!
//! This middleware wraps each *resource* (through `http::resource`), not the app: building the
//! 500 needs the request, and an app-level layer cannot keep a clone of it across the router,
//! which needs sole ownership to record path parameters. Inside a resource routing is done.

use std::panic::AssertUnwindSafe;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};
use futures_util::FutureExt;

use crate::http::error::ApiError;

/// The middleware function.
pub async fn catch(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let http_request = req.request().clone();
    match AssertUnwindSafe(next.call(req)).catch_unwind().await {
        Ok(result) => result.map(ServiceResponse::map_into_boxed_body),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "<non-string panic>".into());
            tracing::error!(
                panic = %message,
                route = crate::http::access::route_pattern(&http_request).unwrap_or("<unmatched>"),
                "handler panicked"
            );
            let response = ApiError::server_error().error_response();
            Ok(ServiceResponse::new(http_request, response))
        }
    }
}
