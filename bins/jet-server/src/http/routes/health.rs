//! `GET /health` (the process is alive) and `GET /ready` (it can serve: the database answers).

use std::time::Duration;

use actix_web::web::Data;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::access::Access;
use crate::http::error::{ApiError, ErrorCode};
use crate::http::route::Route;
use crate::state::AppState;

/// The routes of this module.
pub fn routes() -> Vec<Route> {
    vec![
        Route::get("/health", Access::Public, health)
            .doc(
                "health",
                "Operations",
                "Liveness: 200 while the process serves HTTP",
            )
            .bare::<Health>(),
        Route::get("/ready", Access::Public, ready)
            .doc(
                "ready",
                "Operations",
                "Readiness: 200 when the database answers within 3 s, else 503",
            )
            .bare::<Health>()
            .errors(&[ErrorCode::ServiceUnavailable]),
    ]
}

/// The answer of the health checks.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (liveness) or `ready` (readiness).
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(3);

/// Liveness: always 200 while the process serves HTTP.
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: 200 when the database answers within three seconds, else 503.
pub async fn ready(state: Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(READY_TIMEOUT, database::ping(&state.db)).await {
        Ok(Ok(())) => HttpResponse::Ok().json(Health { status: "ready" }),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness: database ping failed");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("readiness: database ping timed out");
            unavailable()
        }
    }
}

fn unavailable() -> HttpResponse {
    ApiError::new(
        ErrorCode::ServiceUnavailable,
        "the database is not reachable",
    )
    .error_response()
}
