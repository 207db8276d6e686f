//! The success envelope: `{"data": …}`.

use actix_web::HttpResponse;
use serde::Serialize;

/// Answers 200 with `{"data": value}`.
pub fn ok<T: Serialize>(value: T) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "data": value }))
}

/// Answers 201 with `{"data": value}`.
pub fn created<T: Serialize>(value: T) -> HttpResponse {
    HttpResponse::Created().json(serde_json::json!({ "data": value }))
}
