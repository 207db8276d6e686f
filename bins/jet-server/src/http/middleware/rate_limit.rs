//! Request rate limits per client IP (this middleware) and per authenticated principal (checked
//! by the authentication extractor once the principal is known).
//!
//! GCRA buckets from `governor` (MIT; `actix-governor` is GPL-3.0 and cannot be used). A limit of
//! `n` per minute allows bursts of `n` and refills evenly. Refusals are `429 RATE_LIMITED` with
//! `Retry-After`. Idle buckets are dropped by a background worker so memory stays bounded.

use std::net::IpAddr;
use std::num::NonZeroU32;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::web::Data;
use actix_web::{Error, HttpRequest, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::http::error::{ApiError, ErrorCode};
use crate::settings::RateLimitSettings;
use crate::state::AppState;

/// The two limiters; `None` where the limit is off.
#[derive(Debug)]
pub struct RateLimits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_principal: Option<DefaultKeyedRateLimiter<String>>,
}

impl RateLimits {
    /// Limiters for the configured per-minute rates.
    pub fn new(settings: &RateLimitSettings) -> Self {
        RateLimits {
            per_ip: NonZeroU32::new(settings.per_ip_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
            per_principal: NonZeroU32::new(settings.per_principal_per_minute)
                .map(|n| RateLimiter::keyed(Quota::per_minute(n))),
        }
    }

    /// Counts one request from `ip`.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), ApiError> {
        match &self.per_ip {
            Some(limiter) => limiter.check_key(&ip).map_err(|wait| refusal(&wait)),
            None => Ok(()),
        }
    }

    /// Counts one request by `principal`.
    pub fn check_principal(&self, principal: &str) -> Result<(), ApiError> {
        match &self.per_principal {
            Some(limiter) => limiter
                .check_key(&principal.to_string())
                .map_err(|wait| refusal(&wait)),
            None => Ok(()),
        }
    }

    /// Forgets buckets that have refilled completely (they carry no information).
    pub fn forget_idle(&self) {
        if let Some(limiter) = &self.per_ip {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.per_principal {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

fn refusal(wait: &governor::NotUntil<<DefaultClock as Clock>::Instant>) -> ApiError {
    let seconds = wait.wait_time_from(DefaultClock::default().now()).as_secs() + 1;
    ApiError::new(ErrorCode::RateLimited, "too many requests; slow down").with_retry_after(seconds)
}

/// The client's address: the TCP peer, or the first `X-Forwarded-For` hop when trusted.
pub fn client_ip(req: &HttpRequest, trust_forwarded_for: bool) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = req
            .connection_info()
            .realip_remote_addr()
            .and_then(|addr| addr.parse::<IpAddr>().ok())
    {
        return Some(ip);
    }
    req.peer_addr().map(|addr| addr.ip())
}

/// The per-IP middleware function.
pub async fn per_ip(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(state) = req.app_data::<Data<AppState>>()
        && let Some(ip) = client_ip(req.request(), state.edge.trust_forwarded_for)
        && let Err(refusal) = state.limits.check_ip(ip)
    {
        let response = refusal.error_response();
        return Ok(req.into_response(response));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}
