//! The REST connector: a base URL, the datasource's authentication and headers; a query is a
//! method, a path, query parameters, headers and a JSON or text body.
//!
//! Templates: an input in the path is URL-encoded (it cannot add a segment or a query string,
//! and a path that leads out of the base URL, as `..` would, is refused);
//! query parameter values are encoded by the client; a JSON body keeps each input's type where
//! a string is exactly one template. Result: `{statusCode, headers, body, truncated,
//! durationMs}`, `body` parsed when the answer is JSON; an answer of 400 or more is a query
//! failure quoting its start.

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::http::{HttpSource, query_headers};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::url_encode;
use crate::template::{render_pairs, render_text, render_value};

/// A REST datasource.
#[derive(Debug)]
pub struct Rest {
    base: String,
    http: HttpSource,
}

impl Rest {
    /// The connector for `options`; nothing is sent until a test or a run.
    pub fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let written = options
            .text("baseUrl")
            .ok_or_else(|| Error::invalid("datasourceOptions.baseUrl", "required"))?;
        let base = reqwest::Url::parse(written)
            .map_err(|_| Error::invalid("datasourceOptions.baseUrl", "not a URL"))?
            .as_str()
            .trim_end_matches('/')
            .to_string();
        Ok(Rest {
            base,
            http: HttpSource::new(options, &env.network, env.limits_for(options))?,
        })
    }

    fn url(&self, path: &str) -> String {
        match path.trim_start_matches('/') {
            "" => self.base.clone(),
            rest => format!("{}/{rest}", self.base),
        }
    }
}

#[async_trait]
impl Connector for Rest {
    async fn test(&self) -> Result<(), Error> {
        let answer = self
            .http
            .send(
                self.http
                    .request(Method::GET, &self.base, HeaderMap::new(), &[])?,
            )
            .await?;
        // Reached: any answer but a refusal of the credentials or a server error will do (the
        // base URL itself need not be a resource).
        match answer.status {
            401 | 403 => Err(Error::Connection(format!(
                "the server refused the credentials ({})",
                answer.status
            ))),
            500.. => Err(Error::Connection(format!(
                "the server answered {}",
                answer.status
            ))),
            _ => Ok(()),
        }
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let method_text = query.get("method").and_then(Value::as_str).unwrap_or("GET");
        let method = Method::from_bytes(method_text.as_bytes())
            .map_err(|_| Error::invalid("dataQueryOptions.method", "not an HTTP method"))?;
        let path = query
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let path = render_text("dataQueryOptions.path", path, inputs, url_encode)?;
        let headers = query_headers(query, inputs)?;
        let url = self.url(&path);
        // An input of `.` or `..` is a dot segment even encoded (`%2e`): the URL as parsed
        // must still lie under the base.
        let resolved = reqwest::Url::parse(&url)
            .map_err(|_| Error::invalid("dataQueryOptions.path", "does not make a URL"))?;
        if !resolved.as_str().starts_with(&self.base) {
            return Err(Error::invalid(
                "dataQueryOptions.path",
                "the path leads out of the datasource's base URL",
            ));
        }
        let params = render_pairs(
            "dataQueryOptions.queryParams",
            query.get("queryParams"),
            inputs,
        )?;
        let mut request = self.http.request(method, &url, headers, &params)?;
        let body_type = query.get("bodyType").and_then(Value::as_str).unwrap_or(
            if query.get("body").is_some() {
                "json"
            } else {
                "none"
            },
        );
        match (body_type, query.get("body")) {
            ("json", Some(body)) => {
                request = request.json(&render_value("dataQueryOptions.body", body, inputs)?);
            }
            ("text", Some(body)) => {
                let text = match body {
                    Value::String(text) => {
                        render_text("dataQueryOptions.body", text, inputs, str::to_string)?
                    }
                    other => other.to_string(),
                };
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                    .body(text);
            }
            _ => {}
        }
        let answer = self.http.send(request).await?;
        let answer = answer.error_for_status(&self.http.scrubber)?;
        Ok(QueryOutput::Document(answer.to_json()))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            introspect: false,
            rows: false,
        }
    }
}
