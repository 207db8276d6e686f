//! The JSON Schemas of each family's query options. Every shape carries `inputDefinitions`
//! ([`crate::inputs`]); string fields may hold `{{inputs.<key>}}` templates ([`crate::template`]).

use serde_json::{Value, json};

use super::Family;
use crate::inputs::MAX_DEFINITIONS;

fn input_definitions() -> Value {
    json!({
        "type": "array",
        "maxItems": MAX_DEFINITIONS,
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["key"],
            "properties": {
                "key": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
                "type": {"type": "string", "enum": ["string", "number", "integer", "boolean", "object", "array"]},
                "default": {},
                "required": {"type": "boolean"},
            },
        },
    })
}

fn key_values(description: &str) -> Value {
    json!({
        "type": "array",
        "maxItems": 64,
        "description": description,
        "items": {
            "type": "object",
            "additionalProperties": false,
            "required": ["key", "value"],
            "properties": {"key": {"type": "string"}, "value": {"type": "string"}},
        },
    })
}

fn object(required: &[&str], mut properties: serde_json::Map<String, Value>) -> Value {
    properties.insert("inputDefinitions".into(), input_definitions());
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

fn props(pairs: Value) -> serde_json::Map<String, Value> {
    match pairs {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// The query schema of `family`.
pub(super) fn schema(family: Family) -> Value {
    match family {
        Family::Postgres | Family::Mysql | Family::Sqlite => object(
            &["query"],
            props(json!({
                "query": {
                    "type": "string",
                    "maxLength": 100_000,
                    "description": "SQL; {{inputs.x}} becomes a bound parameter (not allowed inside string literals or as an identifier)",
                },
            })),
        ),
        Family::Rest => object(
            &["method"],
            props(json!({
                "method": {"type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]},
                "path": {"type": "string", "maxLength": 2_048, "description": "Appended to the base URL; templated segments are URL-encoded"},
                "queryParams": key_values("Query parameters (values URL-encoded)"),
                "headers": key_values("Headers, over the datasource's"),
                "bodyType": {"type": "string", "enum": ["json", "text", "none"]},
                "body": {"description": "A JSON value (templates keep the input's type when a string is only a template) or text"},
            })),
        ),
        Family::Graphql => object(
            &["query"],
            props(json!({
                "query": {"type": "string", "maxLength": 100_000},
                "variables": {"type": "object", "description": "Sent as GraphQL variables, never spliced into the query"},
                "operationName": {"type": "string", "maxLength": 255},
                "headers": key_values("Headers, over the datasource's"),
            })),
        ),
        Family::Redis => object(
            &["command"],
            props(json!({
                "command": {"type": "string", "enum": crate::types::REDIS_COMMANDS},
                "args": {"type": "array", "maxItems": 1_000, "items": {}, "description": "Each argument is sent as its own bulk string"},
            })),
        ),
        Family::Amqp => object(
            &["exchange"],
            props(json!({
                "operation": {"type": "string", "enum": ["publish"]},
                "exchange": {"type": "string", "maxLength": 255, "description": "Exchange ('' for the default exchange)"},
                "routingKey": {"type": "string", "maxLength": 255},
                "body": {},
                "contentType": {"type": "string", "maxLength": 255},
            })),
        ),
        Family::Mqtt => object(
            &["topic"],
            props(json!({
                "operation": {"type": "string", "enum": ["publish"]},
                "topic": {"type": "string", "minLength": 1, "maxLength": 65_535},
                "payload": {},
                "qos": {"type": "integer", "enum": [0, 1, 2]},
                "retain": {"type": "boolean"},
            })),
        ),
        Family::Nats => object(
            &["subject"],
            props(json!({
                "operation": {"type": "string", "enum": ["publish"]},
                "subject": {"type": "string", "minLength": 1, "maxLength": 255},
                "payload": {},
                "headers": key_values("Message headers"),
            })),
        ),
    }
}
