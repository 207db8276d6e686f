//! The HTTP edge: routes, extractors, the error envelope and middleware.
//!
//! [`configure`] registers every route. Each path is a `web::resource` whose default service
//! answers 405, and the app's default service answers 404, both in the envelope.

pub mod auth;
pub mod envelope;
pub mod error;
pub mod json;
pub mod middleware;
pub mod pagination;
pub mod routes;
pub mod tenant_member;

use actix_web::http::Method;
use actix_web::web::{self, ServiceConfig};
use actix_web::{HttpResponse, ResponseError};
use rbac::{Action, Permission, Resource};

use crate::http::error::{ApiError, ErrorCode};

/// One route: method, path, the permission its handler requires (for tenant routes), and how to
/// build it. [`ROUTES`] is the single list the server registers and the isolation matrix test
/// walks, so a new tenant route cannot escape the matrix.
#[derive(Clone)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: Method,
    /// Path pattern.
    pub path: &'static str,
    /// For routes under `/api/v1/tenants/{tenantID}/`: the permission the caller must hold,
    /// enforced by the `TenantMember` extractor before anything else.
    pub required: Option<Permission>,
    /// Builds the actix route.
    pub route: fn() -> actix_web::Route,
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Prefix of every tenant-scoped route.
pub const TENANT_SCOPE: &str = "/api/v1/tenants/{tenantID}";

const fn needs(resource: Resource, action: Action) -> Option<Permission> {
    Some(Permission { resource, action })
}

/// Every route of the server.
pub const ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: Method::GET,
        path: "/health",
        required: None,
        route: || web::get().to(routes::health::health),
    },
    RouteSpec {
        method: Method::GET,
        path: "/ready",
        required: None,
        route: || web::get().to(routes::health::ready),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/auth",
        required: None,
        route: || web::get().to(routes::auth::me),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/auth/config/{tenantID}",
        required: None,
        route: || web::get().to(routes::auth::config_read),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/auth/config/{tenantID}",
        required: None,
        route: || web::post().to(routes::auth::config_write),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants",
        required: None,
        route: || web::get().to(routes::tenants::list),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tenants",
        required: None,
        route: || web::post().to(routes::tenants::create),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}",
        required: needs(Resource::Tenant, Action::Read),
        route: || web::get().to(routes::tenants::read),
    },
    RouteSpec {
        method: Method::PATCH,
        path: "/api/v1/tenants/{tenantID}",
        required: needs(Resource::Tenant, Action::Update),
        route: || web::patch().to(routes::tenants::update),
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/api/v1/tenants/{tenantID}",
        required: needs(Resource::Tenant, Action::Delete),
        route: || web::delete().to(routes::tenants::delete),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/users",
        required: needs(Resource::User, Action::List),
        route: || web::get().to(routes::users::list),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tenants/{tenantID}/users",
        required: needs(Resource::User, Action::Create),
        route: || web::post().to(routes::users::invite),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/users/{id}",
        required: needs(Resource::User, Action::Read),
        route: || web::get().to(routes::users::read),
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/api/v1/tenants/{tenantID}/users/{id}",
        required: needs(Resource::User, Action::Delete),
        route: || web::delete().to(routes::users::remove),
    },
    RouteSpec {
        method: Method::PATCH,
        path: "/api/v1/tenants/{tenantID}/users/{id}/roles",
        required: needs(Resource::User, Action::Update),
        route: || web::patch().to(routes::users::set_roles),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/roles",
        required: needs(Resource::Role, Action::List),
        route: || web::get().to(routes::roles::list),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/roles/permissions",
        required: needs(Resource::Permission, Action::List),
        route: || web::get().to(routes::roles::permissions),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tenants/{tenantID}/roles",
        required: needs(Resource::Role, Action::Create),
        route: || web::post().to(routes::roles::create),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/roles/{id}",
        required: needs(Resource::Role, Action::Read),
        route: || web::get().to(routes::roles::read),
    },
    RouteSpec {
        method: Method::PATCH,
        path: "/api/v1/tenants/{tenantID}/roles/{id}",
        required: needs(Resource::Role, Action::Update),
        route: || web::patch().to(routes::roles::update),
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/api/v1/tenants/{tenantID}/roles/{id}",
        required: needs(Resource::Role, Action::Delete),
        route: || web::delete().to(routes::roles::delete),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/folders",
        required: needs(Resource::Folder, Action::List),
        route: || web::get().to(routes::folders::list),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tenants/{tenantID}/folders",
        required: needs(Resource::Folder, Action::Create),
        route: || web::post().to(routes::folders::create),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tenants/{tenantID}/folders/move",
        required: needs(Resource::Folder, Action::Update),
        route: || web::post().to(routes::folders::move_items),
    },
    RouteSpec {
        method: Method::PATCH,
        path: "/api/v1/tenants/{tenantID}/folders/{id}",
        required: needs(Resource::Folder, Action::Update),
        route: || web::patch().to(routes::folders::update),
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/api/v1/tenants/{tenantID}/folders/{id}",
        required: needs(Resource::Folder, Action::Delete),
        route: || web::delete().to(routes::folders::delete),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/audit",
        required: needs(Resource::Audit, Action::List),
        route: || web::get().to(routes::audit::list),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/apikeys",
        required: needs(Resource::ApiKey, Action::List),
        route: || web::get().to(routes::apikeys::list),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tenants/{tenantID}/apikeys",
        required: needs(Resource::ApiKey, Action::Create),
        route: || web::post().to(routes::apikeys::create),
    },
    RouteSpec {
        method: Method::GET,
        path: "/api/v1/tenants/{tenantID}/apikeys/{id}",
        required: needs(Resource::ApiKey, Action::Read),
        route: || web::get().to(routes::apikeys::read),
    },
    RouteSpec {
        method: Method::PATCH,
        path: "/api/v1/tenants/{tenantID}/apikeys/{id}",
        required: needs(Resource::ApiKey, Action::Update),
        route: || web::patch().to(routes::apikeys::update),
    },
    RouteSpec {
        method: Method::DELETE,
        path: "/api/v1/tenants/{tenantID}/apikeys/{id}",
        required: needs(Resource::ApiKey, Action::Delete),
        route: || web::delete().to(routes::apikeys::delete),
    },
    RouteSpec {
        method: Method::POST,
        path: "/api/v1/tenants/{tenantID}/apikeys/{id}/clone",
        required: needs(Resource::ApiKey, Action::Create),
        route: || web::post().to(routes::apikeys::clone),
    },
];

/// Registers [`ROUTES`] (grouped into one resource per path) and the path/query error handlers.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.app_data(web::PathConfig::default().error_handler(|error, _| {
        ApiError::new(ErrorCode::ValidationError, format!("path: {error}")).into()
    }))
    .app_data(web::QueryConfig::default().error_handler(|error, _| {
        ApiError::new(ErrorCode::ValidationError, format!("query: {error}")).into()
    }));
    let mut paths: Vec<&'static str> = Vec::new();
    for spec in ROUTES {
        if !paths.contains(&spec.path) {
            paths.push(spec.path);
        }
    }
    for path in paths {
        let resource = ROUTES
            .iter()
            .filter(|spec| spec.path == path)
            .fold(resource(path), |resource, spec| {
                resource.route((spec.route)())
            });
        cfg.service(resource);
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
