//! The NATS connector (`async-nats`): test a connection, publish a message with headers.
//!
//! The host is resolved and checked by the network policy and connected to by address (the
//! servers a cluster announces are ignored: they were not checked). One client per datasource,
//! made on first use; a publish returns when the server has acknowledged a flush. Result:
//! `{published, subject, bytes, durationMs}`. Options stay reusable by the listeners that
//! subscribe to NATS.

use std::time::Instant;

use async_nats::{Client, ConnectOptions, HeaderMap};
use async_trait::async_trait;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use super::publish::{broker_address, only_publish, payload, published, text};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;
use crate::template::render_pairs;

/// A NATS datasource.
#[derive(Debug)]
pub struct Nats {
    address: String,
    user: Option<(String, String)>,
    token: Option<String>,
    client: OnceCell<Client>,
    limits: RunLimits,
    scrubber: Scrubber,
}

impl Nats {
    /// The connector for `options`: the host is resolved and checked now.
    pub async fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let address = broker_address(options, env, 4222, "NATS").await?;
        Ok(Nats {
            address: format!("nats://{address}"),
            user: options.text("username").map(|user| {
                (
                    user.to_string(),
                    options.text("password").unwrap_or_default().to_string(),
                )
            }),
            token: options.text("token").map(str::to_string),
            client: OnceCell::new(),
            limits: env.limits_for(options),
            scrubber: Scrubber::new(options.secret_strings()),
        })
    }

    async fn connect(&self) -> Result<Client, Error> {
        let mut connect = ConnectOptions::new()
            .connection_timeout(self.limits.connect_timeout)
            .request_timeout(Some(self.limits.statement_timeout))
            .ignore_discovered_servers();
        if let Some((user, password)) = &self.user {
            connect = connect.user_and_password(user.clone(), password.clone());
        }
        if let Some(token) = &self.token {
            connect = connect.token(token.clone());
        }
        match tokio::time::timeout(self.limits.connect_timeout, connect.connect(&self.address))
            .await
        {
            Ok(connected) => {
                connected.map_err(|e| Error::Connection(self.scrubber.scrub(&e.to_string())))
            }
            Err(_) => Err(Error::Timeout(format!(
                "no connection within {} ms",
                self.limits.connect_timeout.as_millis()
            ))),
        }
    }

    async fn flush(&self, client: &Client) -> Result<(), Error> {
        match tokio::time::timeout(self.limits.statement_timeout, client.flush()).await {
            Ok(flushed) => {
                flushed.map_err(|e| Error::Connection(self.scrubber.scrub(&e.to_string())))
            }
            Err(_) => Err(Error::Timeout(format!(
                "the server did not answer within {} ms",
                self.limits.statement_timeout.as_millis()
            ))),
        }
    }
}

#[async_trait]
impl Connector for Nats {
    async fn test(&self) -> Result<(), Error> {
        let client = self.connect().await?;
        self.flush(&client).await?;
        let _ = client.drain().await;
        Ok(())
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        only_publish(query)?;
        let subject = text(query, "subject", inputs)?;
        if subject.is_empty() || subject.contains(['*', '>', ' ', '\t', '\r', '\n']) {
            return Err(Error::invalid(
                "dataQueryOptions.subject",
                "a subject to publish to: not empty, no wildcards or spaces",
            ));
        }
        let body = payload("dataQueryOptions.payload", query.get("payload"), inputs)?;
        const FIELD: &str = "dataQueryOptions.headers";
        let mut headers = HeaderMap::new();
        for (key, value) in render_pairs(FIELD, query.get("headers"), inputs)? {
            if key.is_empty()
                || key.contains([':', ' ', '\r', '\n'])
                || value.contains(['\r', '\n'])
            {
                return Err(Error::invalid(
                    FIELD,
                    format!("`{key}` is not a usable header"),
                ));
            }
            headers.insert(key.as_str(), value.as_str());
        }
        let started = Instant::now();
        let client = self.client.get_or_try_init(|| self.connect()).await?;
        client
            .publish_with_headers(subject.clone(), headers, body.clone().into())
            .await
            .map_err(|e| Error::Query(self.scrubber.scrub(&e.to_string())))?;
        self.flush(client).await?;
        Ok(QueryOutput::Document(published(
            json!({"subject": subject}),
            body.len(),
            started,
        )))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            introspect: false,
            rows: false,
        }
    }
}
