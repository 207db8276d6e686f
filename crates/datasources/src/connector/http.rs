//! What the REST and GraphQL connectors share: the HTTP client that obeys the network policy,
//! the datasource's authentication and default headers, and reading a bounded response.
//!
//! Every name is resolved by [`PolicyResolver`], which answers only checked addresses, so the
//! connection goes to an address the policy allowed (no DNS-rebinding gap: the client never
//! resolves on its own). An IP-literal URL is checked before the request, and each redirect
//! (at most [`MAX_REDIRECTS`]) is checked again: a literal against the policy, a name by the
//! resolver when it is connected to. TLS is rustls on `ring` with the webpki roots, configured
//! on the client (no process-wide provider).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, RequestBuilder, Url};
use serde_json::{Map, Value, json};

use super::RunLimits;
use crate::Error;
use crate::network::NetworkPolicy;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;
use crate::template::render_pairs;

/// Most redirects followed.
pub const MAX_REDIRECTS: usize = 5;

/// The policy refused an address; found again in a client error's source chain.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct PolicyRefusal(String);

/// Resolves names for the client, answering only addresses the policy allows.
#[derive(Debug, Clone)]
struct PolicyResolver {
    policy: NetworkPolicy,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            match policy.resolve(name.as_str(), 0).await {
                Ok(addresses) => Ok(Box::new(addresses.into_iter()) as Addrs),
                Err(Error::NetworkDenied(message)) => {
                    Err(Box::new(PolicyRefusal(message))
                        as Box<dyn std::error::Error + Send + Sync>)
                }
                Err(other) => Err(other.to_string().into()),
            }
        })
    }
}

/// Whether `url` is http(s) and, when its host is an address, one the policy allows.
fn check_url(policy: &NetworkPolicy, url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{}` URLs are not allowed", url.scheme()));
    }
    let literal: Option<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
        None => return Err("the URL has no host".into()),
    };
    match literal {
        Some(ip) if !policy.permits(ip) => {
            Err(format!("{ip} is refused by the server's network policy"))
        }
        _ => Ok(()),
    }
}

/// An HTTP datasource's client, its base request settings and its limits.
#[derive(Debug)]
pub(crate) struct HttpSource {
    client: Client,
    policy: NetworkPolicy,
    headers: HeaderMap,
    query_auth: Option<(String, String)>,
    basic: Option<(String, Option<String>)>,
    pub(crate) limits: RunLimits,
    pub(crate) scrubber: Scrubber,
}

/// Adds header `key: value` to `headers`; `field` names where it came from in errors.
fn insert_header(
    field: &str,
    key: &str,
    value: &str,
    headers: &mut HeaderMap,
) -> Result<(), Error> {
    let name = HeaderName::from_bytes(key.as_bytes())
        .map_err(|_| Error::invalid(field, format!("`{key}` is not a header name")))?;
    let value = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid(field, format!("the value of `{key}` is not a header value"))
    })?;
    headers.insert(name, value);
    Ok(())
}

/// Adds a datasource's stored `[{key, value}]` list to `headers` (no templates there).
fn add_stored_headers(
    field: &str,
    list: Option<&Value>,
    headers: &mut HeaderMap,
) -> Result<(), Error> {
    for pair in list.and_then(Value::as_array).into_iter().flatten() {
        let side = |name| pair.get(name).and_then(Value::as_str).unwrap_or_default();
        insert_header(field, side("key"), side("value"), headers)?;
    }
    Ok(())
}

/// A query's `headers` with their templates rendered.
pub(crate) fn query_headers(
    query: &Map<String, Value>,
    inputs: &Map<String, Value>,
) -> Result<HeaderMap, Error> {
    const FIELD: &str = "dataQueryOptions.headers";
    let mut headers = HeaderMap::new();
    for (key, value) in render_pairs(FIELD, query.get("headers"), inputs)? {
        insert_header(FIELD, &key, &value, &mut headers)?;
    }
    Ok(headers)
}

impl HttpSource {
    /// The client for `options` (authentication from `authType`, default headers).
    pub(crate) fn new(
        options: &OpenOptions,
        policy: &NetworkPolicy,
        limits: RunLimits,
    ) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Connection(format!("TLS configuration: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let redirect_policy = policy.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(PolicyRefusal(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            match check_url(&redirect_policy, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(reason) => attempt.error(PolicyRefusal(format!("redirect refused: {reason}"))),
            }
        });
        let client = Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(Arc::new(PolicyResolver {
                policy: policy.clone(),
            }))
            .redirect(redirects)
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.statement_timeout)
            .user_agent("jet-admin")
            .build()
            .map_err(|e| Error::Connection(format!("HTTP client: {e}")))?;

        let mut headers = HeaderMap::new();
        add_stored_headers(
            "datasourceOptions.headers",
            options.values.get("headers"),
            &mut headers,
        )?;
        add_stored_headers(
            "datasourceOptions.secretHeaders",
            options.values.get("secretHeaders"),
            &mut headers,
        )?;
        let mut query_auth = None;
        let mut basic = None;
        let needs = |name: &str| {
            options.text(name).map(str::to_string).ok_or_else(|| {
                Error::invalid(
                    format!("datasourceOptions.{name}"),
                    "required by this authType",
                )
            })
        };
        match options.text("authType").unwrap_or("none") {
            "basic" => {
                basic = Some((
                    needs("username")?,
                    options.text("password").map(str::to_string),
                ))
            }
            "bearer" => {
                let value = HeaderValue::from_str(&format!("Bearer {}", needs("token")?))
                    .map_err(|_| Error::invalid("datasourceOptions.token", "not a header value"))?;
                headers.insert(reqwest::header::AUTHORIZATION, value);
            }
            "apiKeyHeader" => insert_header(
                "datasourceOptions.apiKeyName",
                &needs("apiKeyName")?,
                &needs("apiKeyValue")?,
                &mut headers,
            )?,
            "apiKeyQuery" => query_auth = Some((needs("apiKeyName")?, needs("apiKeyValue")?)),
            _ => {}
        }
        Ok(HttpSource {
            client,
            policy: policy.clone(),
            headers,
            query_auth,
            basic,
            limits,
            scrubber: Scrubber::new(options.secret_strings()),
        })
    }

    /// A request to `url` with the datasource's authentication and headers and `query` appended
    /// (encoded); `extra` headers (the query's) win over the datasource's.
    pub(crate) fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        extra: HeaderMap,
        query: &[(String, String)],
    ) -> Result<RequestBuilder, Error> {
        let mut parsed = Url::parse(url).map_err(|_| {
            Error::invalid(
                "url",
                format!("`{}` is not a URL", self.scrubber.scrub(url)),
            )
        })?;
        check_url(&self.policy, &parsed).map_err(Error::NetworkDenied)?;
        if !query.is_empty() || self.query_auth.is_some() {
            let mut pairs = parsed.query_pairs_mut();
            for (name, value) in query {
                pairs.append_pair(name, value);
            }
            if let Some((name, value)) = &self.query_auth {
                pairs.append_pair(name, value);
            }
        }
        let mut headers = self.headers.clone();
        headers.extend(extra);
        let mut request = self.client.request(method, parsed).headers(headers);
        if let Some((user, password)) = &self.basic {
            request = request.basic_auth(user, password.as_ref());
        }
        Ok(request)
    }

    /// Sends `request`; the answer read up to the byte cap.
    pub(crate) async fn send(&self, request: RequestBuilder) -> Result<HttpAnswer, Error> {
        let started = Instant::now();
        let mut response = request.send().await.map_err(|e| self.failure(&e))?;
        let status = response.status();
        let mut headers = Map::new();
        for (name, value) in response.headers() {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match headers.get_mut(name.as_str()) {
                Some(Value::String(existing)) => {
                    existing.push_str(", ");
                    existing.push_str(&text);
                }
                _ => {
                    headers.insert(name.as_str().to_string(), Value::String(text));
                }
            }
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        let mut body = Vec::new();
        let mut truncated = false;
        while let Some(chunk) = response.chunk().await.map_err(|e| self.failure(&e))? {
            let room = self.limits.max_bytes.saturating_sub(body.len());
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                truncated = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }
        let text = String::from_utf8_lossy(&body).into_owned();
        let parsed = if is_json && !truncated {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        } else {
            Value::String(text)
        };
        Ok(HttpAnswer {
            status: status.as_u16(),
            headers,
            body: parsed,
            truncated,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    /// A client error as the crate's: the policy's refusals, timeouts, connection failures;
    /// always scrubbed.
    fn failure(&self, error: &reqwest::Error) -> Error {
        let mut source: Option<&dyn std::error::Error> = Some(error);
        while let Some(current) = source {
            if let Some(refusal) = current.downcast_ref::<PolicyRefusal>() {
                return Error::NetworkDenied(refusal.0.clone());
            }
            source = current.source();
        }
        if error.is_timeout() {
            return Error::Timeout(format!(
                "no answer within {} ms",
                self.limits.statement_timeout.as_millis()
            ));
        }
        // The chain's innermost message says what failed (refused, unknown host, TLS).
        let mut message = error.to_string();
        let mut source = std::error::Error::source(error);
        while let Some(current) = source {
            message = format!("{message}: {current}");
            source = current.source();
        }
        Error::Connection(self.scrubber.scrub(&message))
    }
}

/// An HTTP answer, read.
#[derive(Debug, Clone)]
pub(crate) struct HttpAnswer {
    pub(crate) status: u16,
    pub(crate) headers: Map<String, Value>,
    pub(crate) body: Value,
    pub(crate) truncated: bool,
    pub(crate) duration_ms: u64,
}

impl HttpAnswer {
    /// As a query result: `{statusCode, headers, body, truncated, durationMs}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "statusCode": self.status,
            "headers": self.headers,
            "body": self.body,
            "truncated": self.truncated,
            "durationMs": self.duration_ms,
        })
    }

    /// An answer of 400 or more as a query failure quoting the start of its body.
    pub(crate) fn error_for_status(self, scrubber: &Scrubber) -> Result<Self, Error> {
        if self.status < 400 {
            return Ok(self);
        }
        let body = match &self.body {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let start: String = body.chars().take(500).collect();
        Err(Error::Query(scrubber.scrub(&format!(
            "the server answered {}: {start}",
            self.status
        ))))
    }
}
