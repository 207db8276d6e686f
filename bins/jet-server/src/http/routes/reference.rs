//! The API's own description: `GET /api/v1/openapi.json` and the reference page at `/docs`,
//! whose Swagger UI assets are embedded in the binary (no CDN, works offline).

use actix_web::web::{Data, Path};
use actix_web::{HttpResponse, http::header};
use serde_json::Value;
use utoipa::ToSchema;

use crate::http::access::Access;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::openapi::DOCUMENT_PATH;
use crate::http::route::Route;
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get(DOCUMENT_PATH, Access::Public, document)
            .doc(
                "getOpenApiDocument",
                "Reference",
                "This API's OpenAPI 3.1 description",
            )
            .bare::<OpenApiDocument>(),
        Route::get("/docs", Access::Public, page)
            .doc("getApiReference", "Reference", "The API reference page")
            .file("text/html"),
        Route::get("/docs/{asset}", Access::Public, asset)
            .doc(
                "getApiReferenceAsset",
                "Reference",
                "A script, stylesheet or icon of the reference page",
            )
            .file("application/octet-stream")
            .errors(&[ErrorCode::NotFound]),
    ]
}

/// An OpenAPI 3.1 document.
#[derive(Debug, ToSchema)]
#[schema(value_type = Object)]
pub struct OpenApiDocument(#[allow(dead_code)] Value);

/// The page's files: name, media type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../../assets/swagger-ui/swagger-ui.css"),
    ),
    (
        "favicon-32x32.png",
        "image/png",
        include_bytes!("../../../assets/swagger-ui/favicon-32x32.png"),
    ),
    (
        "init.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../../assets/docs/init.js"),
    ),
];

const PAGE: &str = include_str!("../../../assets/docs/index.html");

/// The page may load only its own scripts and styles and call only this server.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'";

async fn document(state: Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.api_description.clone())
}

async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, PAGE_POLICY))
        .body(PAGE)
}

async fn asset(name: Path<String>) -> Result<HttpResponse, ApiError> {
    let (_, media_type, bytes) = ASSETS
        .iter()
        .find(|(file, _, _)| *file == name.as_str())
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok()
        .content_type(*media_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(*bytes))
}
