//! The option fields of each connector family, as data: the schema, the validation and the
//! secret/plain split all read these tables.

use serde_json::{Value, json};

use super::Family;

/// One option field.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// Its name in `datasourceOptions`.
    pub name: &'static str,
    /// What it holds.
    pub kind: FieldKind,
    /// Whether options without it are refused.
    pub required: bool,
    /// Sealed at rest and masked in every response.
    pub secret: bool,
    /// What it means.
    pub description: &'static str,
}

/// What a field holds.
#[derive(Debug, Clone, Copy)]
pub enum FieldKind {
    /// A string of at most this many characters.
    Text(usize),
    /// An integer in `min..=max`.
    Integer(i64, i64),
    /// `true` or `false`.
    Boolean,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// HTTP headers: `[{key, value}]`.
    Headers,
}

/// Longest header list.
const MAX_HEADERS: usize = 64;
/// Longest header name or value.
const MAX_HEADER_TEXT: usize = 8_192;

impl Field {
    /// Its JSON Schema.
    pub fn schema(&self) -> Value {
        let mut schema = match self.kind {
            FieldKind::Text(max) => json!({"type": "string", "maxLength": max}),
            FieldKind::Integer(min, max) => {
                json!({"type": "integer", "minimum": min, "maximum": max})
            }
            FieldKind::Boolean => json!({"type": "boolean"}),
            FieldKind::Choice(values) => json!({"type": "string", "enum": values}),
            FieldKind::Headers => json!({
                "type": "array",
                "maxItems": MAX_HEADERS,
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["key", "value"],
                    "properties": {
                        "key": {"type": "string", "minLength": 1, "maxLength": 256},
                        "value": {"type": "string", "maxLength": MAX_HEADER_TEXT},
                    },
                },
            }),
        };
        if let Value::Object(map) = &mut schema {
            map.insert("description".into(), self.description.into());
            if self.secret {
                map.insert("x-secret".into(), true.into());
                map.insert("writeOnly".into(), true.into());
            }
        }
        schema
    }

    /// Checks `value` against the field; the message does not quote the value (it may be a
    /// secret).
    pub fn check(&self, value: &Value) -> Result<(), String> {
        match (self.kind, value) {
            (FieldKind::Text(max), Value::String(text)) => {
                if text.chars().count() > max {
                    Err(format!("at most {max} characters"))
                } else if text.contains('\0') {
                    Err("must not contain NUL".into())
                } else {
                    Ok(())
                }
            }
            (FieldKind::Integer(min, max), Value::Number(number)) => match number.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("an integer from {min} to {max}")),
            },
            (FieldKind::Boolean, Value::Bool(_)) => Ok(()),
            (FieldKind::Choice(values), Value::String(text)) if values.contains(&text.as_str()) => {
                Ok(())
            }
            (FieldKind::Choice(values), _) => Err(format!("one of {}", values.join(", "))),
            (FieldKind::Headers, Value::Array(items)) => check_headers(items),
            (FieldKind::Text(_), _) => Err("a string".into()),
            (FieldKind::Integer(min, max), _) => Err(format!("an integer from {min} to {max}")),
            (FieldKind::Boolean, _) => Err("true or false".into()),
            (FieldKind::Headers, _) => Err("an array of {key, value}".into()),
        }
    }
}

fn check_headers(items: &[Value]) -> Result<(), String> {
    if items.len() > MAX_HEADERS {
        return Err(format!("at most {MAX_HEADERS} headers"));
    }
    for item in items {
        let Some(map) = item.as_object() else {
            return Err("an array of {key, value}".into());
        };
        let key = map.get("key").and_then(Value::as_str);
        let value = map.get("value").and_then(Value::as_str);
        match (key, value) {
            (Some(key), Some(value))
                if map.len() == 2 && valid_header_name(key) && valid_header_value(value) => {}
            _ => {
                return Err(
                    "each header is {key, value}: a token name and a value without line breaks"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

/// An HTTP header name: a non-empty RFC 9110 token.
pub(crate) fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An HTTP header value: visible characters, spaces and tabs (no CR, LF or NUL).
pub(crate) fn valid_header_value(value: &str) -> bool {
    value.len() <= MAX_HEADER_TEXT && !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

const fn field(name: &'static str, kind: FieldKind, description: &'static str) -> Field {
    Field {
        name,
        kind,
        required: false,
        secret: false,
        description,
    }
}

const fn required(mut f: Field) -> Field {
    f.required = true;
    f
}

const fn secret(mut f: Field) -> Field {
    f.secret = true;
    f
}

const HOST: Field = field("host", FieldKind::Text(255), "Host name or IP address");
const PORT: Field = field("port", FieldKind::Integer(1, 65_535), "TCP port");
const USER: Field = field("user", FieldKind::Text(255), "User name");
const USERNAME: Field = field("username", FieldKind::Text(255), "User name");
const PASSWORD: Field = secret(field("password", FieldKind::Text(1_024), "Password"));
const DATABASE: Field = field("database", FieldKind::Text(255), "Database name");
const CONNECT_TIMEOUT: Field = field(
    "connectTimeoutMs",
    FieldKind::Integer(100, 60_000),
    "Connect timeout in milliseconds (default 5,000)",
);
const STATEMENT_TIMEOUT: Field = field(
    "statementTimeoutMs",
    FieldKind::Integer(100, 600_000),
    "A statement running longer is stopped (default 30,000)",
);
const SSL_MODE: Field = field(
    "sslMode",
    FieldKind::Choice(&["disable", "prefer", "require", "verify-full"]),
    "TLS: disable, prefer (default), require (encrypted, any certificate), verify-full",
);
const TLS: Field = field(
    "tls",
    FieldKind::Boolean,
    "Connect with TLS (default false)",
);
const REQUEST_TIMEOUT: Field = field(
    "timeoutMs",
    FieldKind::Integer(100, 600_000),
    "Request timeout in milliseconds (default 30,000)",
);
const AUTH_TYPE: Field = field(
    "authType",
    FieldKind::Choice(&["none", "basic", "bearer", "apiKeyHeader", "apiKeyQuery"]),
    "How requests authenticate (default none)",
);
const TOKEN: Field = secret(field("token", FieldKind::Text(8_192), "Bearer token"));
const API_KEY_NAME: Field = field(
    "apiKeyName",
    FieldKind::Text(256),
    "The header or query parameter carrying the API key",
);
const API_KEY_VALUE: Field = secret(field("apiKeyValue", FieldKind::Text(8_192), "The API key"));
const HEADERS: Field = field(
    "headers",
    FieldKind::Headers,
    "Headers sent with every request (not secret: shown in responses)",
);
const SECRET_HEADERS: Field = secret(field(
    "secretHeaders",
    FieldKind::Headers,
    "Headers sent with every request, sealed and masked like passwords",
));

const POSTGRES: &[Field] = &[
    HOST,
    PORT,
    DATABASE,
    USER,
    PASSWORD,
    SSL_MODE,
    secret(field(
        "connectionString",
        FieldKind::Text(4_096),
        "postgres://user:password@host:port/database instead of the separate fields",
    )),
    CONNECT_TIMEOUT,
    STATEMENT_TIMEOUT,
];

const MYSQL: &[Field] = &[
    HOST,
    PORT,
    DATABASE,
    USER,
    PASSWORD,
    SSL_MODE,
    CONNECT_TIMEOUT,
    STATEMENT_TIMEOUT,
];

const SQLITE: &[Field] = &[
    required(field(
        "path",
        FieldKind::Text(1_024),
        "The database file, relative to the server's SQLite datasource directory",
    )),
    field(
        "readOnly",
        FieldKind::Boolean,
        "Open the file read-only (default false)",
    ),
    STATEMENT_TIMEOUT,
];

/// The options of an HTTP family: its URL field, then authentication, headers and timeout.
macro_rules! http_fields {
    ($url:expr) => {
        &[
            $url,
            AUTH_TYPE,
            USERNAME,
            PASSWORD,
            TOKEN,
            API_KEY_NAME,
            API_KEY_VALUE,
            HEADERS,
            SECRET_HEADERS,
            REQUEST_TIMEOUT,
        ]
    };
}

const REST: &[Field] = http_fields!(required(field(
    "baseUrl",
    FieldKind::Text(2_048),
    "http(s) URL that query paths are appended to",
)));

const GRAPHQL: &[Field] = http_fields!(required(field(
    "endpoint",
    FieldKind::Text(2_048),
    "The GraphQL endpoint's http(s) URL",
)));

const REDIS: &[Field] = &[
    required(HOST),
    PORT,
    USERNAME,
    PASSWORD,
    field(
        "database",
        FieldKind::Integer(0, 15),
        "Database number (default 0)",
    ),
    TLS,
    CONNECT_TIMEOUT,
];

const AMQP: &[Field] = &[
    required(HOST),
    PORT,
    field("vhost", FieldKind::Text(255), "Virtual host (default /)"),
    USERNAME,
    PASSWORD,
    TLS,
    CONNECT_TIMEOUT,
];

const MQTT: &[Field] = &[
    required(HOST),
    PORT,
    field(
        "clientId",
        FieldKind::Text(128),
        "Client id (default: generated per connection)",
    ),
    USERNAME,
    PASSWORD,
    TLS,
    CONNECT_TIMEOUT,
];

const NATS: &[Field] = &[
    required(HOST),
    PORT,
    USERNAME,
    PASSWORD,
    TOKEN,
    TLS,
    CONNECT_TIMEOUT,
];

/// The fields of a family's options.
pub(super) fn of(family: Family) -> &'static [Field] {
    match family {
        Family::Postgres => POSTGRES,
        Family::Mysql => MYSQL,
        Family::Sqlite => SQLITE,
        Family::Rest => REST,
        Family::Graphql => GRAPHQL,
        Family::Redis => REDIS,
        Family::Amqp => AMQP,
        Family::Mqtt => MQTT,
        Family::Nats => NATS,
    }
}
