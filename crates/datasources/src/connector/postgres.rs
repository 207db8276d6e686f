//! PostgreSQL (and the PostgreSQL-wire aliases): a small pool per datasource, SQL templates
//! compiled to `$n` parameters, `statement_timeout` set on every connection, and rows decoded
//! with a documented type mapping:
//!
//! | PostgreSQL | JSON |
//! |---|---|
//! | `bool` | boolean |
//! | `int2`, `int4`, `oid` | number |
//! | `int8`, `numeric` | string (JSON numbers lose precision past 2^53) |
//! | `float4`, `float8` | number (`NaN`, `Infinity` as strings) |
//! | `text`, `varchar`, `char`, `name`, enums | string |
//! | `uuid` | string |
//! | `json`, `jsonb` | the JSON value |
//! | `bytea` | base64 string |
//! | `timestamptz` | RFC 3339 string in UTC; `timestamp`, `date`, `time` ISO 8601 strings |
//! | arrays of the above | arrays |
//! | anything else | `null` (cast it: `col::text`) |
//!
//! A hand-written statement's parameters are typed by their JSON type (`bigint`, `float8`,
//! `text`, `bool`, `jsonb`): compare a text input with a `uuid` column as
//! `id = {{inputs.id}}::uuid`.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use sqlx::postgres::{
    PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow, PgSslMode,
    PgTypeKind,
};
use sqlx::{Row, TypeInfo, ValueRef};

use super::sql_run::{self, RowReader};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;
use crate::sql::Dialect;

/// Connections kept per datasource.
const POOL_SIZE: u32 = 4;
/// A pooled connection idle this long is closed.
const IDLE: Duration = Duration::from_secs(60);

/// A PostgreSQL datasource.
#[derive(Debug)]
pub struct Postgres {
    pool: PgPool,
    /// For the connection test, which connects once, directly: the pool retries a refused
    /// connection until its acquire timeout, a test should say "refused" at once.
    connect: PgConnectOptions,
    /// The checked server address, probed before a run finds the pool empty
    /// ([`sql_run::refuse_closed_port`]).
    address: Option<std::net::SocketAddr>,
    limits: RunLimits,
    scrubber: Scrubber,
}

fn ssl_mode(text: Option<&str>) -> PgSslMode {
    match text {
        Some("disable") => PgSslMode::Disable,
        Some("require") => PgSslMode::Require,
        Some("verify-full") => PgSslMode::VerifyFull,
        _ => PgSslMode::Prefer,
    }
}

impl Postgres {
    /// A lazily connecting pool for `options`; the host is resolved and checked now.
    pub async fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let scrubber = Scrubber::new(options.secret_strings());
        let limits = env.limits_for(options);
        let mut connect = match options.text("connectionString") {
            Some(url) => PgConnectOptions::from_str(url).map_err(|_| {
                Error::invalid(
                    "datasourceOptions.connectionString",
                    "not a postgres:// connection string",
                )
            })?,
            None => {
                let host = options.text("host").ok_or_else(|| {
                    Error::invalid(
                        "datasourceOptions.host",
                        "required without a connectionString",
                    )
                })?;
                let mut connect = PgConnectOptions::new_without_pgpass().host(host);
                if let Some(user) = options.text("user") {
                    connect = connect.username(user);
                }
                if let Some(password) = options.text("password") {
                    connect = connect.password(password);
                }
                if let Some(database) = options.text("database") {
                    connect = connect.database(database);
                }
                connect
            }
        };
        if let Some(port) = options.integer("port").and_then(|p| u16::try_from(p).ok()) {
            connect = connect.port(port);
        }
        if options.text("sslMode").is_some() || options.text("connectionString").is_none() {
            connect = connect.ssl_mode(ssl_mode(options.text("sslMode")));
        }
        // Connect to the checked address, not the name (no DNS rebinding between check and
        // connect). verify-full needs the name for the certificate check, so it keeps it.
        let host = connect.get_host().to_string();
        if host.starts_with('/') {
            return Err(Error::invalid(
                "datasourceOptions.host",
                "a Unix socket path is not a network address",
            ));
        }
        let addresses = env.network.resolve(&host, connect.get_port()).await?;
        let verify_full = matches!(connect.get_ssl_mode(), PgSslMode::VerifyFull);
        if let (false, Some(address)) = (verify_full, addresses.first()) {
            connect = connect.host(&address.ip().to_string());
        }
        let statement_ms = limits.statement_timeout.as_millis().to_string();
        connect = connect
            .options([("statement_timeout", statement_ms.as_str())])
            .application_name("jet-admin");
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(0)
            .acquire_timeout(limits.connect_timeout)
            .idle_timeout(IDLE)
            .connect_lazy_with(connect.clone());
        Ok(Postgres {
            pool,
            connect,
            address: addresses.first().copied(),
            limits,
            scrubber,
        })
    }

    fn failure(&self, error: &sqlx::Error) -> Error {
        sql_run::failure(error, self.limits, &self.scrubber, |db| {
            db.code().as_deref() == Some("57014")
        })
    }
}

#[async_trait]
impl Connector for Postgres {
    async fn test(&self) -> Result<(), Error> {
        sql_run::test_connection::<PgConnection>(&self.connect, self.limits, |e| self.failure(e))
            .await
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let reader = RowReader {
            columns: sql_run::columns_of,
            decode: |row| sql_run::object_of(row, decode),
            affected: |done: &PgQueryResult| done.rows_affected(),
        };
        sql_run::refuse_closed_port(&self.pool, self.address, self.limits).await?;
        sql_run::run_sql(
            &self.pool,
            Dialect::Postgres,
            query,
            inputs,
            self.limits,
            &reader,
            |e| self.failure(e),
        )
        .await
    }

    async fn introspect(&self) -> Result<Value, Error> {
        sql_run::refuse_closed_port(&self.pool, self.address, self.limits).await?;
        sql_run::introspect_with(
            &self.pool,
            "SELECT table_schema::text, table_name::text, column_name::text, data_type::text, \
             is_nullable::text FROM information_schema.columns \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
             ORDER BY table_schema, table_name, ordinal_position",
            |e| self.failure(e),
        )
        .await
    }

    fn capabilities(&self) -> Capabilities {
        sql_run::SQL_CAPABILITIES
    }
}

fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(value.to_string()))
}

fn decode(row: &PgRow, index: usize) -> Value {
    let Ok(raw) = row.try_get_raw(index) else {
        return Value::Null;
    };
    if raw.is_null() {
        return Value::Null;
    }
    let type_info = raw.type_info().into_owned();
    let get_or_null = |value: Result<Value, sqlx::Error>| value.unwrap_or(Value::Null);
    match type_info.name() {
        "BOOL" => get_or_null(row.try_get::<bool, _>(index).map(Value::from)),
        "INT2" => get_or_null(row.try_get::<i16, _>(index).map(Value::from)),
        "INT4" => get_or_null(row.try_get::<i32, _>(index).map(Value::from)),
        "OID" => get_or_null(
            row.try_get::<sqlx::postgres::types::Oid, _>(index)
                .map(|o| Value::from(o.0)),
        ),
        "INT8" => get_or_null(
            row.try_get::<i64, _>(index)
                .map(|n| Value::String(n.to_string())),
        ),
        "FLOAT4" => get_or_null(row.try_get::<f32, _>(index).map(|f| float(f64::from(f)))),
        "FLOAT8" => get_or_null(row.try_get::<f64, _>(index).map(float)),
        "NUMERIC" => raw
            .as_bytes()
            .ok()
            .and_then(super::pg_numeric::to_string)
            .map_or(Value::Null, Value::String),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "CITEXT" | "UNKNOWN" => {
            get_or_null(row.try_get::<String, _>(index).map(Value::String))
        }
        "UUID" => get_or_null(
            row.try_get::<uuid::Uuid, _>(index)
                .map(|u| Value::String(u.to_string())),
        ),
        "JSON" | "JSONB" => get_or_null(
            row.try_get::<sqlx::types::Json<Value>, _>(index)
                .map(|j| j.0),
        ),
        "BYTEA" => get_or_null(
            row.try_get::<Vec<u8>, _>(index)
                .map(|b| Value::String(STANDARD.encode(b))),
        ),
        "TIMESTAMPTZ" => get_or_null(
            row.try_get::<chrono::DateTime<chrono::Utc>, _>(index)
                .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
        ),
        "TIMESTAMP" => get_or_null(
            row.try_get::<chrono::NaiveDateTime, _>(index)
                .map(|t| Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        ),
        "DATE" => get_or_null(
            row.try_get::<chrono::NaiveDate, _>(index)
                .map(|d| Value::String(d.to_string())),
        ),
        "TIME" => get_or_null(
            row.try_get::<chrono::NaiveTime, _>(index)
                .map(|t| Value::String(t.to_string())),
        ),
        "TEXT[]" | "VARCHAR[]" => get_or_null(
            row.try_get::<Vec<Option<String>>, _>(index)
                .map(Value::from),
        ),
        "INT4[]" => get_or_null(row.try_get::<Vec<Option<i32>>, _>(index).map(Value::from)),
        "INT8[]" => get_or_null(row.try_get::<Vec<Option<i64>>, _>(index).map(|v| {
            Value::from(
                v.into_iter()
                    .map(|n| n.map(|n| n.to_string()))
                    .collect::<Vec<_>>(),
            )
        })),
        "BOOL[]" => get_or_null(row.try_get::<Vec<Option<bool>>, _>(index).map(Value::from)),
        "FLOAT8[]" => get_or_null(row.try_get::<Vec<Option<f64>>, _>(index).map(Value::from)),
        "UUID[]" => get_or_null(row.try_get::<Vec<Option<uuid::Uuid>>, _>(index).map(|v| {
            Value::from(
                v.into_iter()
                    .map(|u| u.map(|u| u.to_string()))
                    .collect::<Vec<_>>(),
            )
        })),
        _ => match type_info.kind() {
            // An enum's value is its label, in either format.
            PgTypeKind::Enum(_) => raw
                .as_str()
                .map_or(Value::Null, |label| Value::String(label.to_string())),
            _ => Value::Null,
        },
    }
}
