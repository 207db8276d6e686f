//! Refuses a request whose `Content-Length` is over the limit with 413, before reading a byte.
//!
//! Chunked bodies carry no length; `ValidJson` enforces the same limit while streaming them.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, ResponseError};

use crate::http::json::payload_too_large;
use crate::state::AppState;

/// The middleware function.
pub async fn check(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let limit = req
        .app_data::<Data<AppState>>()
        .map(|state| state.edge.body_limit);
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let (Some(limit), Some(length)) = (limit, declared)
        && length > limit
    {
        let response = payload_too_large(limit).error_response();
        return Ok(req.into_response(response));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}
