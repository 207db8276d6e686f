//! One structured `tracing` line per request: method, route pattern, status, duration, tenant,
//! principal and request id.
//!
//! The route *pattern* is logged, not the path, and never the query string or headers: paths and
//! queries can carry tokens, and headers carry credentials.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use crate::http::middleware::request_id::RequestId;

/// Who made the request, set by the authentication extractor for the log and the audit trail.
#[derive(Debug, Clone)]
pub struct PrincipalId(pub String);

/// The middleware function.
pub async fn log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    // Holding a clone of the request across `next.call` would break routing (see request_id).
    let response = match next.call(req).await {
        Ok(response) => response,
        Err(error) => {
            tracing::info!(
                target: "jet_server::access",
                %method,
                status = error.as_response_error().status_code().as_u16(),
                duration_ms = rounded_ms(started.elapsed()),
                "request"
            );
            return Err(error);
        }
    };
    let request = response.request();
    let extensions = request.extensions();
    let route = crate::http::access::route_pattern(request);
    tracing::info!(
        target: "jet_server::access",
        method = %request.method(),
        route = route.unwrap_or("<unmatched>"),
        status = response.status().as_u16(),
        duration_ms = rounded_ms(started.elapsed()),
        tenant = request.match_info().get("tenantID").unwrap_or("-"),
        principal = extensions.get::<PrincipalId>().map(|p| p.0.as_str()).unwrap_or("-"),
        request_id = extensions.get::<RequestId>().map(|r| r.0.as_str()).unwrap_or("-"),
        "request"
    );
    drop(extensions);
    Ok(response)
}

/// Milliseconds to two decimals (`1.23`), not the 17 digits of a raw float.
fn rounded_ms(elapsed: std::time::Duration) -> f64 {
    (elapsed.as_micros() / 10) as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::rounded_ms;
    use std::time::Duration;

    #[test]
    fn durations_print_as_rounded_milliseconds() {
        assert_eq!(rounded_ms(Duration::from_nanos(1_234_567)), 1.23);
        assert_eq!(rounded_ms(Duration::from_micros(5)), 0.0);
        assert_eq!(rounded_ms(Duration::from_secs(2)), 2000.0);
        assert_eq!(
            format!("{}", rounded_ms(Duration::from_nanos(16_789_999))),
            "16.78"
        );
    }
}
