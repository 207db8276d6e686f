//! The MQTT connector (`rumqttc`): test a connection, publish a message with QoS 0, 1 or 2.
//!
//! The host is resolved and checked by the network policy and connected to by address. A
//! publish opens a session of its own (MQTT clients need their event loop driven; a session
//! per run keeps nothing running between runs), waits for the broker's acknowledgement the QoS
//! asks for (`PUBACK` for 1, `PUBCOMP` for 2; for 0 the packet's departure) and disconnects.
//! Result: `{published, topic, qos, bytes, durationMs}`. Options stay reusable by the listeners
//! that subscribe to MQTT.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions, Outgoing, QoS};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::publish::{broker_address, only_publish, payload, published, text};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;

/// An MQTT datasource.
#[derive(Debug)]
pub struct Mqtt {
    options: MqttOptions,
    limits: RunLimits,
    scrubber: Scrubber,
}

impl Mqtt {
    /// The connector for `options`: the host is resolved and checked now.
    pub async fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let address = broker_address(options, env, 1883, "MQTT brokers").await?;
        let client_id = options
            .text("clientId")
            .map(str::to_string)
            .unwrap_or_else(|| format!("jet-{}", Uuid::now_v7().simple()));
        let mut mqtt = MqttOptions::new(client_id, address.ip().to_string(), address.port());
        mqtt.set_keep_alive(Duration::from_secs(30));
        if let Some(user) = options.text("username") {
            mqtt.set_credentials(user, options.text("password").unwrap_or_default());
        }
        Ok(Mqtt {
            options: mqtt,
            limits: env.limits_for(options),
            scrubber: Scrubber::new(options.secret_strings()),
        })
    }

    fn session(&self) -> (AsyncClient, EventLoop) {
        AsyncClient::new(self.options.clone(), 10)
    }

    /// Drives `events` until `done` says an event finished the exchange, within `limit`.
    async fn drive(
        &self,
        events: &mut EventLoop,
        limit: Duration,
        done: impl Fn(&Event) -> bool,
    ) -> Result<(), Error> {
        let exchange = async {
            loop {
                match events.poll().await {
                    Ok(Event::Incoming(Incoming::ConnAck(ack)))
                        if ack.code != rumqttc::ConnectReturnCode::Success =>
                    {
                        return Err(Error::Connection(format!(
                            "the broker refused the connection: {:?}",
                            ack.code
                        )));
                    }
                    Ok(event) if done(&event) => return Ok(()),
                    Ok(_) => {}
                    Err(error) => {
                        return Err(Error::Connection(self.scrubber.scrub(&error.to_string())));
                    }
                }
            }
        };
        match tokio::time::timeout(limit, exchange).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Timeout(format!(
                "the broker did not answer within {} ms",
                limit.as_millis()
            ))),
        }
    }
}

#[async_trait]
impl Connector for Mqtt {
    async fn test(&self) -> Result<(), Error> {
        let (client, mut events) = self.session();
        self.drive(&mut events, self.limits.connect_timeout, |event| {
            matches!(event, Event::Incoming(Incoming::ConnAck(_)))
        })
        .await?;
        let _ = client.disconnect().await;
        Ok(())
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        only_publish(query)?;
        let topic = text(query, "topic", inputs)?;
        if topic.is_empty() || topic.contains(['+', '#']) {
            return Err(Error::invalid(
                "dataQueryOptions.topic",
                "a topic to publish to: not empty, no wildcards",
            ));
        }
        let qos = match query.get("qos").and_then(Value::as_i64).unwrap_or(0) {
            1 => QoS::AtLeastOnce,
            2 => QoS::ExactlyOnce,
            _ => QoS::AtMostOnce,
        };
        let retain = query
            .get("retain")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let body = payload("dataQueryOptions.payload", query.get("payload"), inputs)?;
        let started = Instant::now();
        let (client, mut events) = self.session();
        client
            .publish(topic.clone(), qos, retain, body.clone())
            .await
            .map_err(|e| Error::Query(e.to_string()))?;
        let limit = self.limits.connect_timeout + self.limits.statement_timeout;
        self.drive(&mut events, limit, |event| match qos {
            QoS::AtMostOnce => matches!(event, Event::Outgoing(Outgoing::Publish(_))),
            QoS::AtLeastOnce => matches!(event, Event::Incoming(Incoming::PubAck(_))),
            QoS::ExactlyOnce => matches!(event, Event::Incoming(Incoming::PubComp(_))),
        })
        .await?;
        if client.disconnect().await.is_ok() {
            // Sends the DISCONNECT (and, for QoS 0, flushes the publish before it).
            let _ = tokio::time::timeout(Duration::from_millis(500), events.poll()).await;
        }
        Ok(QueryOutput::Document(published(
            json!({"topic": topic, "qos": qos as u8}),
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
