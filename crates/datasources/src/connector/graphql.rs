//! The GraphQL connector: an endpoint, the datasource's authentication and headers; a query is
//! the GraphQL text, its variables and an operation name.
//!
//! Input values reach the server only as GraphQL `variables` (templates in `variables` keep each
//! input's type): the query text is sent as saved, never with values spliced in. Result:
//! `{data, errors, statusCode, durationMs}`; an answer with errors and no data, or an HTTP
//! status of 400 or more without a GraphQL body, is a query failure.

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use super::http::{HttpSource, query_headers};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput};
use crate::Error;
use crate::options::OpenOptions;
use crate::template::render_value;

/// A GraphQL datasource.
#[derive(Debug)]
pub struct Graphql {
    endpoint: String,
    http: HttpSource,
}

impl Graphql {
    /// The connector for `options`; nothing is sent until a test or a run.
    pub fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let endpoint = options
            .text("endpoint")
            .ok_or_else(|| Error::invalid("datasourceOptions.endpoint", "required"))?
            .to_string();
        Ok(Graphql {
            endpoint,
            http: HttpSource::new(options, &env.network, env.limits_for(options))?,
        })
    }

    async fn post(&self, body: Value, headers: HeaderMap) -> Result<Value, Error> {
        let request = self
            .http
            .request(Method::POST, &self.endpoint, headers, &[])?
            .json(&body);
        let answer = self.http.send(request).await?;
        let messages = answer
            .body
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("error")
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            });
        let data = answer.body.get("data").cloned().unwrap_or(Value::Null);
        match (data.is_null(), messages) {
            (true, Some(messages)) => {
                Err(Error::Query(self.http.scrubber.scrub(&format!(
                    "the GraphQL server answered errors: {messages}"
                ))))
            }
            (true, None) => {
                answer.clone().error_for_status(&self.http.scrubber)?;
                Err(Error::Query(format!(
                    "the answer ({}) is not a GraphQL response",
                    answer.status
                )))
            }
            (false, _) => Ok(json!({
                "data": data,
                "errors": answer.body.get("errors").cloned().unwrap_or(Value::Null),
                "statusCode": answer.status,
                "durationMs": answer.duration_ms,
            })),
        }
    }
}

#[async_trait]
impl Connector for Graphql {
    async fn test(&self) -> Result<(), Error> {
        self.post(json!({"query": "{ __typename }"}), HeaderMap::new())
            .await
            .map(|_| ())
            .map_err(|error| match error {
                Error::Query(message) => Error::Connection(message),
                other => other,
            })
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let text = query.get("query").and_then(Value::as_str).ok_or_else(|| {
            Error::invalid("dataQueryOptions.query", "the GraphQL text is required")
        })?;
        let variables = match query.get("variables") {
            Some(variables) => render_value("dataQueryOptions.variables", variables, inputs)?,
            None => json!({}),
        };
        let mut body = json!({"query": text, "variables": variables});
        if let Some(name) = query.get("operationName").and_then(Value::as_str) {
            body["operationName"] = json!(name);
        }
        let headers = query_headers(query, inputs)?;
        Ok(QueryOutput::Document(self.post(body, headers).await?))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            introspect: false,
            rows: false,
        }
    }
}
