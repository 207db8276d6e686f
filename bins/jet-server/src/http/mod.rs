//! The HTTP edge: routes, extractors, the error envelope and middleware.
//!
//! [`routes`] gathers every routes module's [`Route`]s; [`configure`] registers them. Each path is
//! one `web::resource` carrying the policies of its methods (read by the extractors), whose
//! default service answers 405; the app's default service answers 404, both in the envelope.

pub mod access;
pub mod auth;
pub mod catalog_schema;
pub mod envelope;
pub mod error;
pub mod json;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod route;
pub mod routes;
pub mod tenant_member;

use actix_web::middleware::from_fn;
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpResponse, ResponseError};

use crate::http::access::{Access, PathPolicies};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::route::Route;

/// Every route of the server, in registration order (a literal path before a parameter that
/// would also match it: `/roles/permissions` before `/roles/{roleID}`).
pub fn routes() -> Vec<Route> {
    [
        routes::health::routes(),
        routes::reference::routes(),
        routes::auth::routes(),
        routes::tenants::routes(),
        routes::users::routes(),
        routes::roles::routes(),
        routes::folders::routes(),
        routes::audit::routes(),
        routes::apikeys::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Registers [`routes`] (one resource per path, with its policies) and the path/query error
/// handlers.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|error, _| {
        ApiError::new(ErrorCode::ValidationError, format!("path: {error}")).into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|error, _| {
        ApiError::new(ErrorCode::ValidationError, format!("query: {error}")).into()
    }));
    let routes = routes();
    let mut paths: Vec<&'static str> = Vec::new();
    for route in &routes {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    for path in paths {
        let on_path: Vec<&Route> = routes.iter().filter(|r| r.path == path).collect();
        let policies = PathPolicies(
            on_path
                .iter()
                .map(|route| (route.method.clone(), route.access))
                .collect(),
        );
        let changes_access = on_path
            .iter()
            .any(|route| matches!(route.access, Access::Tenant(rule) if rule.changes_access));
        let resource = on_path
            .iter()
            .fold(resource(path).app_data(policies), |resource, route| {
                resource.route(route.build())
            });
        if changes_access {
            cfg.service(resource.wrap(from_fn(middleware::access_changes::invalidate)));
        } else {
            cfg.service(resource);
        }
    }
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

/// The app's default service: 404 in the envelope, saying that no route has this path (which is
/// public knowledge: the API description lists every route).
pub async fn not_found() -> HttpResponse {
    ApiError::new(ErrorCode::NotFound, "no route has this path").error_response()
}

/// 405 with the `Allow` header RFC 9110 requires, listing the path's declared methods.
async fn method_not_allowed(req: actix_web::HttpRequest) -> HttpResponse {
    let mut response = ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that method",
    )
    .error_response();
    if let Some(policies) = req.app_data::<PathPolicies>() {
        let allowed: Vec<&str> = policies
            .0
            .iter()
            .map(|(method, _)| method.as_str())
            .collect();
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allowed.join(", ")) {
            response
                .headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
    }
    response
}
