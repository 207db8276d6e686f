//! What the broker connectors (AMQP, MQTT, NATS) share: a `publish` query's payload and the
//! answer to it.

use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::Error;
use crate::template::{render_text, render_value};

/// The payload `value` (`body` or `payload` of the query) with its templates resolved: a string
/// as its UTF-8 bytes, anything else as its JSON text; none is empty.
pub(crate) fn payload(
    field: &str,
    value: Option<&Value>,
    inputs: &Map<String, Value>,
) -> Result<Vec<u8>, Error> {
    Ok(match value {
        None | Some(Value::Null) => Vec::new(),
        Some(value) => match render_value(field, value, inputs)? {
            Value::String(text) => text.into_bytes(),
            other => other.to_string().into_bytes(),
        },
    })
}

/// The query's text field `name` with its templates resolved (`""` when absent).
pub(crate) fn text(
    query: &Map<String, Value>,
    name: &str,
    inputs: &Map<String, Value>,
) -> Result<String, Error> {
    let written = query.get(name).and_then(Value::as_str).unwrap_or_default();
    render_text(
        &format!("dataQueryOptions.{name}"),
        written,
        inputs,
        str::to_string,
    )
}

/// Refuses an operation other than `publish` (the only one a query runs; subscribing is what
/// listeners do).
pub(crate) fn only_publish(query: &Map<String, Value>) -> Result<(), Error> {
    match query.get("operation").and_then(Value::as_str) {
        None | Some("publish") => Ok(()),
        Some(_) => Err(Error::invalid(
            "dataQueryOptions.operation",
            "a query can only publish",
        )),
    }
}

/// The answer to a publish: `{published: true, bytes, durationMs}` and `extra`.
pub(crate) fn published(extra: Value, bytes: usize, started: Instant) -> Value {
    let mut answer = json!({
        "published": true,
        "bytes": bytes,
        "durationMs": u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    });
    if let (Value::Object(answer), Value::Object(extra)) = (&mut answer, extra) {
        answer.extend(extra);
    }
    answer
}

/// The first checked address of `host:port`, for a broker client that takes one address.
async fn checked_address(
    env: &super::ConnectorEnv,
    host: &str,
    port: u16,
) -> Result<std::net::SocketAddr, Error> {
    env.network
        .resolve(host, port)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Connection(format!("host `{host}` has no address")))
}

/// The checked address of a broker's `host` and `port` (`default_port` when unset), after
/// refusing `tls: true` (`what` names the broker kind in that refusal).
pub(crate) async fn broker_address(
    options: &crate::options::OpenOptions,
    env: &super::ConnectorEnv,
    default_port: u16,
    what: &str,
) -> Result<std::net::SocketAddr, Error> {
    refuse_tls(options, what)?;
    let host = options
        .text("host")
        .ok_or_else(|| Error::invalid("datasourceOptions.host", "required"))?;
    let port = options
        .integer("port")
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(default_port);
    checked_address(env, host, port).await
}

/// Refuses `tls: true` for a client built without TLS.
fn refuse_tls(options: &crate::options::OpenOptions, what: &str) -> Result<(), Error> {
    if options.flag("tls") == Some(true) {
        return Err(Error::Unsupported(format!(
            "TLS to {what} is not supported yet; connect without `tls`"
        )));
    }
    Ok(())
}
