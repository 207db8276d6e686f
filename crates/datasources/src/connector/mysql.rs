//! MySQL and MariaDB: a small pool per datasource, SQL templates compiled to `?` parameters, a
//! per-session statement time limit (MariaDB `max_statement_time`, MySQL `max_execution_time`,
//! chosen from the server's version), and rows decoded as:
//!
//! | MySQL / MariaDB | JSON |
//! |---|---|
//! | `BOOLEAN` (`TINYINT(1)`) | number (0 or 1, as the server stores it) |
//! | `TINYINT` … `INT`, `YEAR` | number |
//! | `BIGINT`, `BIGINT UNSIGNED`, `DECIMAL` | string (exact) |
//! | `FLOAT`, `DOUBLE` | number |
//! | `CHAR`, `VARCHAR`, `TEXT`s, `ENUM`, `SET` | string |
//! | `JSON` (MySQL) | the JSON value; MariaDB's `JSON` is `LONGTEXT`: a string |
//! | `BINARY`, `VARBINARY`, `BLOB`s | base64 string |
//! | `DATETIME`, `DATE`, `TIME` | ISO 8601 strings; `TIMESTAMP` RFC 3339 in UTC |
//! | anything else | `null` (cast it: `CAST(col AS CHAR)`) |

use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use sqlx::mysql::{
    MySqlConnectOptions, MySqlConnection, MySqlDatabaseError, MySqlPool, MySqlPoolOptions,
    MySqlQueryResult, MySqlRow, MySqlSslMode,
};
use sqlx::{AssertSqlSafe, Executor, Row};

use super::sql_run::{self, RowReader};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;
use crate::sql::Dialect;

const POOL_SIZE: u32 = 4;
const IDLE: Duration = Duration::from_secs(60);
/// MariaDB's "max_statement_time exceeded" and MySQL's "maximum statement execution time
/// exceeded".
const TIMEOUT_CODES: [u16; 2] = [1969, 3024];

/// A MySQL or MariaDB datasource.
#[derive(Debug)]
pub struct Mysql {
    pool: MySqlPool,
    /// For the connection test (one direct connection: the pool would retry a refusal).
    connect: MySqlConnectOptions,
    /// The checked server address, probed before a run finds the pool empty
    /// ([`sql_run::refuse_closed_port`]).
    address: Option<std::net::SocketAddr>,
    limits: RunLimits,
    scrubber: Scrubber,
}

fn ssl_mode(text: Option<&str>) -> MySqlSslMode {
    match text {
        Some("disable") => MySqlSslMode::Disabled,
        Some("require") => MySqlSslMode::Required,
        Some("verify-full") => MySqlSslMode::VerifyIdentity,
        _ => MySqlSslMode::Preferred,
    }
}

/// Sets the session's statement time limit, in the variable this server understands.
async fn limit_statements(
    connection: &mut MySqlConnection,
    limit: Duration,
) -> Result<(), sqlx::Error> {
    let (version,): (String,) = sqlx::query_as("SELECT VERSION()")
        .fetch_one(&mut *connection)
        .await?;
    let statement = if version.contains("MariaDB") {
        format!(
            "SET SESSION max_statement_time = {:.3}",
            limit.as_secs_f64()
        )
    } else {
        format!("SET SESSION max_execution_time = {}", limit.as_millis())
    };
    connection
        .execute(AssertSqlSafe(statement))
        .await
        .map(|_| ())
}

impl Mysql {
    /// A lazily connecting pool for `options`; the host is resolved and checked now.
    pub async fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let scrubber = Scrubber::new(options.secret_strings());
        let limits = env.limits_for(options);
        let host = options
            .text("host")
            .ok_or_else(|| Error::invalid("datasourceOptions.host", "required"))?;
        let port = options
            .integer("port")
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(3306);
        let mode = ssl_mode(options.text("sslMode"));
        let addresses = env.network.resolve(host, port).await?;
        // Connect to the checked address; verify-full needs the name for the certificate.
        let connect_host = match (mode, addresses.first()) {
            (MySqlSslMode::VerifyIdentity, _) | (_, None) => host.to_string(),
            (_, Some(address)) => address.ip().to_string(),
        };
        let mut connect = MySqlConnectOptions::new()
            .host(&connect_host)
            .port(port)
            .ssl_mode(mode);
        if let Some(user) = options.text("user") {
            connect = connect.username(user);
        }
        if let Some(password) = options.text("password") {
            connect = connect.password(password);
        }
        if let Some(database) = options.text("database") {
            connect = connect.database(database);
        }
        let statement_limit = limits.statement_timeout;
        let pool = MySqlPoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(0)
            .acquire_timeout(limits.connect_timeout)
            .idle_timeout(IDLE)
            .after_connect(move |connection, _| {
                Box::pin(async move { limit_statements(connection, statement_limit).await })
            })
            .connect_lazy_with(connect.clone());
        Ok(Mysql {
            pool,
            connect,
            address: addresses.first().copied(),
            limits,
            scrubber,
        })
    }

    fn failure(&self, error: &sqlx::Error) -> Error {
        sql_run::failure(error, self.limits, &self.scrubber, |db| {
            db.try_downcast_ref::<MySqlDatabaseError>()
                .is_some_and(|e| TIMEOUT_CODES.contains(&e.number()))
        })
    }
}

#[async_trait]
impl Connector for Mysql {
    async fn test(&self) -> Result<(), Error> {
        sql_run::test_connection::<MySqlConnection>(&self.connect, self.limits, |e| self.failure(e))
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
            affected: |done: &MySqlQueryResult| done.rows_affected(),
        };
        sql_run::refuse_closed_port(&self.pool, self.address, self.limits).await?;
        sql_run::run_sql(
            &self.pool,
            Dialect::Mysql,
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
            "SELECT CAST(table_schema AS CHAR), CAST(table_name AS CHAR), \
             CAST(column_name AS CHAR), CAST(column_type AS CHAR), CAST(is_nullable AS CHAR) \
             FROM information_schema.columns WHERE table_schema = DATABASE() \
             ORDER BY table_name, ordinal_position",
            |e| self.failure(e),
        )
        .await
    }

    fn capabilities(&self) -> Capabilities {
        sql_run::SQL_CAPABILITIES
    }
}

fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn decode(row: &MySqlRow, index: usize) -> Value {
    let Some(type_name) = sql_run::value_type(row, index) else {
        return Value::Null;
    };
    let or_null = |value: Result<Value, sqlx::Error>| value.unwrap_or(Value::Null);
    match type_name.as_str() {
        "BOOLEAN" | "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "YEAR" => {
            or_null(row.try_get_unchecked::<i64, _>(index).map(Value::from))
        }
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "MEDIUMINT UNSIGNED" | "INT UNSIGNED" => {
            or_null(row.try_get_unchecked::<u64, _>(index).map(Value::from))
        }
        "BIGINT" => or_null(
            row.try_get::<i64, _>(index)
                .map(|n| Value::String(n.to_string())),
        ),
        "BIGINT UNSIGNED" => or_null(
            row.try_get::<u64, _>(index)
                .map(|n| Value::String(n.to_string())),
        ),
        // Sent as text in both protocols.
        "DECIMAL" => or_null(row.try_get_unchecked::<String, _>(index).map(Value::String)),
        "FLOAT" => or_null(row.try_get::<f32, _>(index).map(|f| float(f64::from(f)))),
        "DOUBLE" => or_null(row.try_get::<f64, _>(index).map(float)),
        "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
            or_null(row.try_get_unchecked::<String, _>(index).map(Value::String))
        }
        "JSON" => or_null(
            row.try_get::<sqlx::types::Json<Value>, _>(index)
                .map(|j| j.0),
        ),
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT" => {
            or_null(
                row.try_get_unchecked::<Vec<u8>, _>(index)
                    .map(|bytes| Value::String(STANDARD.encode(bytes))),
            )
        }
        "DATETIME" => or_null(
            row.try_get::<chrono::NaiveDateTime, _>(index)
                .map(|t| Value::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())),
        ),
        "TIMESTAMP" => or_null(
            row.try_get::<chrono::DateTime<chrono::Utc>, _>(index)
                .map(|t| Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))),
        ),
        "DATE" => or_null(
            row.try_get::<chrono::NaiveDate, _>(index)
                .map(|d| Value::String(d.to_string())),
        ),
        "TIME" => or_null(
            row.try_get::<chrono::NaiveTime, _>(index)
                .map(|t| Value::String(t.to_string())),
        ),
        _ => Value::Null,
    }
}
