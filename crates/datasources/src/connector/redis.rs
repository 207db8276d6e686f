//! The Redis connector: one command of an allow-list ([`crate::types::REDIS_COMMANDS`]: reads,
//! writes, lists, sets, hashes, streams, `PUBLISH`; no `KEYS`, `EVAL`, `CONFIG`, `FLUSHALL`)
//! with its arguments, each sent as its own bulk string: an input value can never become
//! another argument or another command.
//!
//! The host is resolved and checked by the network policy and connected to by address. One
//! multiplexed connection per datasource, made on first use and made again after it breaks.
//! RESP3 (Redis 6 and later). Result: `{result, truncated, durationMs}`, with the reply mapped to JSON (bulk strings as
//! UTF-8 text, or `{"base64": …}` when they are not; maps as objects; a top-level array cut at
//! the row cap).

use std::time::Instant;

use async_trait::async_trait;
use base64::Engine;
use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo,
};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::publish::broker_address;
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;
use crate::template::{as_text, render_value};
use crate::types::REDIS_COMMANDS;

/// A Redis datasource.
#[derive(Debug)]
pub struct Redis {
    client: Client,
    connection: Mutex<Option<MultiplexedConnection>>,
    limits: RunLimits,
    scrubber: Scrubber,
}

impl Redis {
    /// The connector for `options`: the host is resolved and checked now, connecting waits for
    /// the first test or run.
    pub async fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let address = broker_address(options, env, 6379, "Redis").await?;
        // RESP3: hashes answer as maps (RESP2 flattens them into arrays).
        let mut settings = RedisConnectionInfo::default()
            .set_db(options.integer("database").unwrap_or(0))
            .set_protocol(redis::ProtocolVersion::RESP3);
        if let Some(user) = options.text("username") {
            settings = settings.set_username(user);
        }
        if let Some(password) = options.text("password") {
            settings = settings.set_password(password);
        }
        let info = ConnectionAddr::Tcp(address.ip().to_string(), address.port())
            .into_connection_info()
            .map_err(|e| Error::Connection(e.to_string()))?
            .set_redis_settings(settings);
        let client = Client::open(info).map_err(|e| Error::Connection(e.to_string()))?;
        Ok(Redis {
            client,
            connection: Mutex::new(None),
            limits: env.limits_for(options),
            scrubber: Scrubber::new(options.secret_strings()),
        })
    }

    fn config(&self) -> AsyncConnectionConfig {
        AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.limits.connect_timeout))
            .set_response_timeout(Some(self.limits.statement_timeout))
    }

    fn failure(&self, error: &redis::RedisError) -> Error {
        let message = self.scrubber.scrub(&error.to_string());
        if error.is_timeout() {
            Error::Timeout(message)
        } else if error.is_io_error()
            || error.is_connection_refusal()
            || error.is_connection_dropped()
        {
            Error::Connection(message)
        } else {
            Error::Query(message)
        }
    }

    async fn connection(&self) -> Result<MultiplexedConnection, Error> {
        let mut slot = self.connection.lock().await;
        if let Some(live) = slot.as_ref() {
            return Ok(live.clone());
        }
        let made = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config())
            .await
            .map_err(|e| connect_failure(self.failure(&e)))?;
        *slot = Some(made.clone());
        Ok(made)
    }
}

/// A refusal while connecting (a wrong password) is a connection failure, not a query's.
fn connect_failure(error: Error) -> Error {
    match error {
        Error::Query(message) => Error::Connection(message),
        other => other,
    }
}

/// A reply as JSON.
fn to_json(value: redis::Value) -> Value {
    use redis::Value as R;
    match value {
        R::Nil => Value::Null,
        R::Int(n) => json!(n),
        R::BulkString(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Value::String(text),
            Err(raw) => {
                json!({"base64": base64::engine::general_purpose::STANDARD.encode(raw.into_bytes())})
            }
        },
        R::Array(items) | R::Set(items) => Value::Array(items.into_iter().map(to_json).collect()),
        R::SimpleString(text) => Value::String(text),
        R::Okay => json!("OK"),
        R::Map(pairs) => {
            let object: Map<String, Value> = pairs
                .into_iter()
                .map(|(key, value)| {
                    let key = match to_json(key) {
                        Value::String(text) => text,
                        other => other.to_string(),
                    };
                    (key, to_json(value))
                })
                .collect();
            Value::Object(object)
        }
        R::Double(x) => json!(x),
        R::Boolean(b) => json!(b),
        R::VerbatimString { text, .. } => Value::String(text),
        R::ServerError(error) => json!({"error": error.to_string()}),
        other => Value::String(format!("{other:?}")),
    }
}

#[async_trait]
impl Connector for Redis {
    async fn test(&self) -> Result<(), Error> {
        let mut direct = self
            .client
            .get_multiplexed_async_connection_with_config(&self.config())
            .await
            .map_err(|e| connect_failure(self.failure(&e)))?;
        redis::cmd("PING")
            .query_async::<String>(&mut direct)
            .await
            .map(|_| ())
            .map_err(|e| connect_failure(self.failure(&e)))
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let command = query
            .get("command")
            .and_then(Value::as_str)
            .filter(|c| REDIS_COMMANDS.contains(c))
            .ok_or_else(|| {
                Error::invalid("dataQueryOptions.command", "not an allowed Redis command")
            })?;
        let mut cmd = redis::cmd(command);
        for arg in query
            .get("args")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let value = render_value("dataQueryOptions.args", arg, inputs)?;
            cmd.arg(as_text(Some(&value)));
        }
        let started = Instant::now();
        let mut connection = self.connection().await?;
        let reply = match cmd.query_async::<redis::Value>(&mut connection).await {
            Ok(reply) => reply,
            Err(error) => {
                if error.is_io_error() || error.is_connection_dropped() {
                    *self.connection.lock().await = None;
                }
                return Err(self.failure(&error));
            }
        };
        let mut result = to_json(reply);
        let mut truncated = false;
        if let Value::Array(items) = &mut result
            && items.len() > self.limits.max_rows
        {
            items.truncate(self.limits.max_rows);
            truncated = true;
        }
        Ok(QueryOutput::Document(json!({
            "result": result,
            "truncated": truncated,
            "durationMs": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            introspect: false,
            rows: false,
        }
    }
}
