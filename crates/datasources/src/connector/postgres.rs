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
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::TryStreamExt;
use serde_json::{Map, Value, json};
use sqlx::postgres::{
    PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow, PgSslMode, PgTypeKind,
};
use sqlx::{AssertSqlSafe, Column as _, Connection, Executor, Row, TypeInfo, ValueRef};

use super::bind::bind_all;
use super::sql_result::{Collector, Column};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits, sql_text};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;
use crate::sql::{Dialect, compile};

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
            limits,
            scrubber,
        })
    }

    fn failure(&self, error: &sqlx::Error) -> Error {
        let message = self.scrubber.scrub(&error.to_string());
        match error {
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => {
                Error::Timeout(format!(
                    "the statement ran over {} ms",
                    self.limits.statement_timeout.as_millis()
                ))
            }
            sqlx::Error::Database(_) => Error::Query(message),
            sqlx::Error::PoolTimedOut => Error::Timeout(format!(
                "no connection within {} ms",
                self.limits.connect_timeout.as_millis()
            )),
            _ => Error::Connection(message),
        }
    }
}

#[async_trait]
impl Connector for Postgres {
    async fn test(&self) -> Result<(), Error> {
        let round_trip = async {
            let mut connection = PgConnection::connect_with(&self.connect).await?;
            connection.execute("SELECT 1").await?;
            connection.close().await
        };
        match tokio::time::timeout(self.limits.connect_timeout, round_trip).await {
            Ok(outcome) => outcome.map_err(|error| self.failure(&error)),
            Err(_) => Err(Error::Timeout(format!(
                "no answer within {} ms",
                self.limits.connect_timeout.as_millis()
            ))),
        }
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let statement = compile(Dialect::Postgres, sql_text(query)?)?;
        let started = Instant::now();
        let bound = bind_all(
            sqlx::query(AssertSqlSafe(statement.text)),
            &statement.params,
            inputs,
        )?;
        let mut collector = Collector::new(self.limits);
        let mut affected = 0u64;
        let work = async {
            let mut stream = self.pool.fetch_many(bound);
            while let Some(item) = stream.try_next().await? {
                match item {
                    sqlx::Either::Left(done) => affected += done.rows_affected(),
                    sqlx::Either::Right(row) => {
                        if collector.result.columns.is_empty() {
                            collector.result.columns = columns(&row);
                        }
                        if !collector.push(decode_row(&row)) {
                            break;
                        }
                    }
                }
            }
            Ok::<(), sqlx::Error>(())
        };
        // The server stops the statement at `statement_timeout`; this is the backstop for a
        // server that does not answer at all.
        let backstop = self.limits.statement_timeout + self.limits.connect_timeout;
        match tokio::time::timeout(backstop, work).await {
            Ok(outcome) => outcome.map_err(|error| self.failure(&error))?,
            Err(_) => {
                return Err(Error::Timeout(format!(
                    "no answer within {} ms",
                    backstop.as_millis()
                )));
            }
        }
        let mut result = collector.result;
        if result.rows.is_empty() && result.columns.is_empty() {
            result.row_count = affected;
        }
        result.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        Ok(QueryOutput::Sql(result))
    }

    async fn introspect(&self) -> Result<Value, Error> {
        let rows = sqlx::query(
            "SELECT table_schema, table_name, column_name, data_type, is_nullable \
             FROM information_schema.columns \
             WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
             ORDER BY table_schema, table_name, ordinal_position",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|error| self.failure(&error))?;
        let mut tables: Vec<Value> = Vec::new();
        for row in rows {
            let schema: String = row.try_get(0).unwrap_or_default();
            let table: String = row.try_get(1).unwrap_or_default();
            let column = json!({
                "name": row.try_get::<String, _>(2).unwrap_or_default(),
                "type": row.try_get::<String, _>(3).unwrap_or_default(),
                "nullable": row.try_get::<String, _>(4).is_ok_and(|n| n == "YES"),
            });
            match tables.last_mut() {
                Some(last)
                    if last["schema"] == schema.as_str() && last["name"] == table.as_str() =>
                {
                    if let Some(columns) = last["columns"].as_array_mut() {
                        columns.push(column);
                    }
                }
                _ => tables.push(json!({"schema": schema, "name": table, "columns": [column]})),
            }
        }
        Ok(json!({"tables": tables}))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            introspect: true,
            rows: true,
        }
    }
}

fn columns(row: &PgRow) -> Vec<Column> {
    row.columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            type_name: c.type_info().name().to_string(),
        })
        .collect()
}

fn decode_row(row: &PgRow) -> Map<String, Value> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(index, column)| (column.name().to_string(), decode(row, index)))
        .collect()
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
