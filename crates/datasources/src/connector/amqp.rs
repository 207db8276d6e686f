//! The RabbitMQ connector (AMQP 0-9-1, `lapin`): test a connection, publish a message.
//!
//! The host is resolved and checked by the network policy and connected to by address. One
//! connection and one channel (in publisher-confirm mode) per datasource, made on first use and
//! made again after they break; a publish returns when the broker has confirmed it. Result:
//! `{published, exchange, routingKey, bytes, durationMs}`. Options stay reusable by the
//! listeners that consume from RabbitMQ.

use std::time::Instant;

use async_trait::async_trait;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::publish::{broker_address, only_publish, payload, published, text};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::{Scrubber, url_encode};

/// A RabbitMQ datasource.
#[derive(Debug)]
pub struct Amqp {
    uri: String,
    live: Mutex<Option<(Connection, Channel)>>,
    limits: RunLimits,
    scrubber: Scrubber,
}

impl Amqp {
    /// The connector for `options`: the host is resolved and checked now.
    pub async fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let address = broker_address(options, env, 5672, "RabbitMQ").await?;
        let user = url_encode(options.text("username").unwrap_or("guest"));
        let password = url_encode(options.text("password").unwrap_or("guest"));
        let vhost = url_encode(options.text("vhost").unwrap_or("/"));
        let ip = match address.ip() {
            std::net::IpAddr::V6(v6) => format!("[{v6}]"),
            v4 => v4.to_string(),
        };
        let limits = env.limits_for(options);
        let heartbeat = 30;
        let uri = format!(
            "amqp://{user}:{password}@{ip}:{}/{vhost}?heartbeat={heartbeat}&connection_timeout={}",
            address.port(),
            limits.connect_timeout.as_millis()
        );
        Ok(Amqp {
            uri,
            live: Mutex::new(None),
            limits,
            scrubber: Scrubber::new(options.secret_strings()),
        })
    }

    fn failure(&self, error: &lapin::Error) -> Error {
        Error::Connection(self.scrubber.scrub(&error.to_string()))
    }

    async fn connect(&self) -> Result<Connection, Error> {
        match tokio::time::timeout(
            self.limits.connect_timeout,
            Connection::connect(&self.uri, ConnectionProperties::default()),
        )
        .await
        {
            Ok(connected) => connected.map_err(|e| self.failure(&e)),
            Err(_) => Err(Error::Timeout(format!(
                "no connection within {} ms",
                self.limits.connect_timeout.as_millis()
            ))),
        }
    }

    async fn channel(&self) -> Result<Channel, Error> {
        let mut live = self.live.lock().await;
        if let Some((connection, channel)) = live.as_ref()
            && connection.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        let connection = self.connect().await?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| self.failure(&e))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| self.failure(&e))?;
        *live = Some((connection, channel.clone()));
        Ok(channel)
    }
}

#[async_trait]
impl Connector for Amqp {
    async fn test(&self) -> Result<(), Error> {
        let connection = self.connect().await?;
        connection
            .close(200, "test done".into())
            .await
            .map_err(|e| self.failure(&e))
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        only_publish(query)?;
        let exchange = text(query, "exchange", inputs)?;
        let routing_key = text(query, "routingKey", inputs)?;
        let body = payload("dataQueryOptions.body", query.get("body"), inputs)?;
        let content_type = match text(query, "contentType", inputs)?.as_str() {
            "" if query.get("body").is_some_and(|b| !b.is_string()) => {
                "application/json".to_string()
            }
            "" => "text/plain".to_string(),
            given => given.to_string(),
        };
        let started = Instant::now();
        let channel = self.channel().await?;
        let publishing = async {
            channel
                .basic_publish(
                    exchange.as_str().into(),
                    routing_key.as_str().into(),
                    BasicPublishOptions::default(),
                    &body,
                    BasicProperties::default().with_content_type(content_type.as_str().into()),
                )
                .await?
                .await
        };
        let confirm = match tokio::time::timeout(self.limits.statement_timeout, publishing).await {
            Ok(Ok(confirm)) => confirm,
            Ok(Err(error)) => {
                *self.live.lock().await = None;
                return Err(Error::Query(self.scrubber.scrub(&error.to_string())));
            }
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "the broker did not confirm within {} ms",
                    self.limits.statement_timeout.as_millis()
                )));
            }
        };
        if confirm.is_nack() {
            return Err(Error::Query("the broker refused the message (nack)".into()));
        }
        Ok(QueryOutput::Document(published(
            json!({"exchange": exchange, "routingKey": routing_key}),
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
