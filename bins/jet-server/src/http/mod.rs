//! The HTTP edge: routes, extractors, the error envelope and middleware.
//!
//! [`configure`] registers every route. Each path is a `web::resource` whose default service
//! answers 405, and the app's default service answers 404, both in the envelope.

pub mod auth;
pub mod envelope;
pub mod error;
pub mod json;
pub mod middleware;
pub mod routes;

use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpResponse, ResponseError};

use crate::http::error::{ApiError, ErrorCode};

/// Registers the routes and the path/query error handlers.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|error, _| {
        ApiError::new(ErrorCode::ValidationError, format!("path: {error}")).into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|error, _| {
        ApiError::new(ErrorCode::ValidationError, format!("query: {error}")).into()
    }))
    .service(resource("/health").route(web::get().to(routes::health::health)))
    .service(resource("/ready").route(web::get().to(routes::health::ready)))
    .service(resource("/api/v1/auth").route(web::get().to(routes::auth::me)));
}

/// Every route is registered through this: unknown methods answer 405 in the envelope, and a
/// panicking handler answers 500 instead of dropping the connection.
pub fn resource(
    path: &str,
) -> actix_web::Resource<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::resource(path)
        .default_service(web::to(method_not_allowed))
        .wrap(actix_web::middleware::from_fn(
            middleware::catch_panic::catch,
        ))
}

/// The app's default service: 404 in the envelope.
pub async fn not_found() -> HttpResponse {
    ApiError::not_found().error_response()
}

async fn method_not_allowed() -> HttpResponse {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
    .error_response()
}
