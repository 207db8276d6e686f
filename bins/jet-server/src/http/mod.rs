//! The HTTP edge: routes, extractors, the error envelope and middleware.
//!
//! [`routes`] gathers every routes module's [`Route`]s; [`configure`] registers them. Each path is
//! one `web::resource` carrying the policies of its methods (read by the extractors), whose
//! default service answers 405; the app's default service answers 404, both in the envelope.
//! Paths under `/api/v1/tenants/{tenantID}` are registered inside one scope of that prefix: the
//! router tries resources in order, matching each parameterised one with a regular expression,
//! so without the scope a request for a late tenant route paid for every earlier pattern
//! (profiling showed the router as a quarter of an authorized read); inside it, most remaining
//! patterns are plain strings.

pub mod access;
pub mod auth;
pub mod catalog_schema;
pub mod creators;
pub mod envelope;
pub mod error;
pub mod json;
pub mod middleware;
pub mod openapi;
pub mod pagination;
pub mod route;
pub mod routes;
pub mod tenant_member;

use actix_web::middleware::{Condition, from_fn};
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpResponse, ResponseError};

use crate::http::access::{Access, PathPolicies};
use crate::http::error::{ApiError, ErrorCode};
use crate::http::route::Route;

/// Every route of the server. [`configure`] registers literal paths before parameterised ones,
/// so `/roles/permissions` wins over `/roles/{roleID}` whatever the order here.
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
        routes::datasources::routes(),
        routes::queries::routes(),
        routes::workflows::routes(),
        routes::workflow_runs::routes(),
        routes::cron_jobs::routes(),
        routes::webhooks::routes(),
        routes::realtime::routes(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The prefix of every tenant route, registered as one scope.
pub const TENANT_SCOPE: &str = "/api/v1/tenants/{tenantID}";

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
    let mut tenant_scope = web::scope(TENANT_SCOPE);
    let mut after_scope = Vec::new();
    for path in registration_order(&routes) {
        match in_tenant_scope(path) {
            Some(rest) => tenant_scope = tenant_scope.service(path_resource(&routes, path, rest)),
            None if path.contains('{') => after_scope.push(path),
            None => {
                cfg.service(path_resource(&routes, path, path));
            }
        }
    }
    cfg.service(tenant_scope);
    for path in after_scope {
        cfg.service(path_resource(&routes, path, path));
    }
}

/// The resource serving `path` (registered as `registered_as`, relative inside the scope): its
/// routes, its policies as app data, and cache invalidation when one of them changes access.
fn path_resource(
    routes: &[Route],
    path: &'static str,
    registered_as: &'static str,
) -> impl actix_web::dev::HttpServiceFactory + 'static {
    let on_path: Vec<&Route> = routes.iter().filter(|r| r.path == path).collect();
    let policies = PathPolicies {
        pattern: path,
        methods: on_path
            .iter()
            .map(|route| (route.method.clone(), route.access))
            .collect(),
    };
    let changes_access = on_path
        .iter()
        .any(|route| matches!(route.access, Access::Tenant(rule) if rule.changes_access));
    on_path
        .iter()
        .fold(
            resource(registered_as).app_data(policies),
            |resource, route| resource.route(route.build()),
        )
        .wrap(Condition::new(
            changes_access,
            from_fn(middleware::access_changes::invalidate),
        ))
}

/// The rest of `path` after [`TENANT_SCOPE`] ("" for the prefix itself), if it is a tenant path.
fn in_tenant_scope(path: &'static str) -> Option<&'static str> {
    path.strip_prefix(TENANT_SCOPE)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The distinct paths of `routes` in the order the router tries them: top-level literal paths,
/// then the tenant scope (its literal paths, then its parameterised ones), then the other
/// parameterised paths. Literals are string comparisons and always win over a parameter that
/// would also match them; parameterised patterns are regular expressions (about a microsecond
/// each), tried only after every literal failed.
pub fn registration_order(routes: &[Route]) -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = Vec::new();
    for route in routes {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    // A stable sort: within a group, the declared order.
    paths.sort_by_key(|path| match in_tenant_scope(path) {
        Some(rest) => (1, rest.contains('{')),
        None => (if path.contains('{') { 2 } else { 0 }, false),
    });
    paths
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
            .methods
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
