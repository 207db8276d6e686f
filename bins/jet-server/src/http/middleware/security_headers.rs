//! Headers every response carries: no MIME sniffing, no framing, no referrer, and a content
//! security policy that forbids everything (this server serves JSON, never pages).

use actix_web::middleware::DefaultHeaders;

/// The middleware.
pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
        .add((
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ))
        .add(("Cross-Origin-Resource-Policy", "same-site"))
}
