//! What the SQL connectors share: the run loop (rows collected under the caps, rows affected
//! counted, a client-side backstop over the server's own statement timeout) and the shape of an
//! introspected schema.

use std::net::SocketAddr;
use std::time::Instant;

use futures_util::TryStreamExt;
use serde_json::{Map, Value, json};
use sqlx::error::DatabaseError;
use sqlx::{
    AssertSqlSafe, Column as _, Connection, Database, Encode, Executor, Pool, Row, Type, TypeInfo,
    ValueRef,
};

use super::bind::bind_all;
use super::sql_result::{Collector, Column, SqlResult};
use super::{Capabilities, QueryOutput, RunLimits, sql_text};
use crate::Error;
use crate::scrub::Scrubber;
use crate::sql::{Dialect, compile};

/// A driver error as the crate's: a server-side statement timeout (`is_timeout`), a query
/// error, a pool that gave no connection in time, or a connection failure; always scrubbed.
pub(crate) fn failure(
    error: &sqlx::Error,
    limits: RunLimits,
    scrubber: &Scrubber,
    is_timeout: fn(&dyn DatabaseError) -> bool,
) -> Error {
    let message = scrubber.scrub(&error.to_string());
    match error {
        sqlx::Error::Database(db) if is_timeout(db.as_ref()) => Error::Timeout(format!(
            "the statement ran over {} ms",
            limits.statement_timeout.as_millis()
        )),
        sqlx::Error::Database(_) => Error::Query(message),
        sqlx::Error::PoolTimedOut => Error::Timeout(format!(
            "no connection within {} ms",
            limits.connect_timeout.as_millis()
        )),
        _ => Error::Connection(message),
    }
}

/// Connects once, directly (a pool retries a refused connection until its acquire timeout; a
/// test should say "refused" at once), pings (a round trip) and closes.
pub(crate) async fn test_connection<C>(
    options: &<C as Connection>::Options,
    limits: RunLimits,
    fail: impl Fn(&sqlx::Error) -> Error,
) -> Result<(), Error>
where
    C: Connection,
{
    let round_trip = async {
        let mut connection = C::connect_with(options).await?;
        connection.ping().await?;
        connection.close().await
    };
    match tokio::time::timeout(limits.connect_timeout, round_trip).await {
        // The server's own refusals while connecting (a wrong password, an unknown database)
        // are connection failures, not query errors: no query was sent.
        Ok(outcome) => outcome.map_err(|error| match fail(&error) {
            Error::Query(message) => Error::Connection(message),
            other => other,
        }),
        Err(_) => Err(Error::Timeout(format!(
            "no answer within {} ms",
            limits.connect_timeout.as_millis()
        ))),
    }
}

/// Fails at once when the server's port is closed and the pool holds no connection.
///
/// sqlx's pool takes a refused connection for a server still starting and retries it until its
/// acquire timeout (the connect time limit), so a run against a closed port would wait that long
/// to say "timeout". With no connection in the pool, one TCP connect to the checked `address`
/// first answers "refused" at once; a pool that holds connections skips it.
pub(crate) async fn refuse_closed_port<DB: Database>(
    pool: &Pool<DB>,
    address: Option<SocketAddr>,
    limits: RunLimits,
) -> Result<(), Error> {
    let Some(address) = address.filter(|_| pool.size() == 0) else {
        return Ok(());
    };
    match tokio::time::timeout(
        limits.connect_timeout,
        tokio::net::TcpStream::connect(address),
    )
    .await
    {
        Ok(Ok(_probe)) => Ok(()),
        Ok(Err(error)) => Err(Error::Connection(format!(
            "cannot connect to {address}: {error}"
        ))),
        Err(_) => Err(Error::Timeout(format!(
            "no connection within {} ms",
            limits.connect_timeout.as_millis()
        ))),
    }
}

/// Compiles the query's SQL for `dialect`, binds `inputs` and collects the rows, on `executor`
/// (a pool, or one connection).
pub(crate) async fn run_sql<'e, DB, E>(
    executor: E,
    dialect: Dialect,
    query: &Map<String, Value>,
    inputs: &Map<String, Value>,
    limits: RunLimits,
    reader: &RowReader<DB>,
    fail: impl Fn(&sqlx::Error) -> Error,
) -> Result<QueryOutput, Error>
where
    DB: Database,
    <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
    E: Executor<'e, Database = DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> sqlx::types::Json<Value>: Encode<'q, DB> + Type<DB>,
{
    let statement = compile(dialect, sql_text(query)?)?;
    let bound = bind_all(
        sqlx::query(AssertSqlSafe(statement.text)),
        &statement.params,
        inputs,
    )?;
    Ok(QueryOutput::Sql(
        collect(executor, bound, limits, reader, fail).await?,
    ))
}

/// What every SQL connector can do.
pub(crate) const SQL_CAPABILITIES: Capabilities = Capabilities {
    introspect: true,
    rows: true,
};

/// The type name of the value at `index` (`None` for SQL NULL or an unreadable value).
pub(crate) fn value_type<R>(row: &R, index: usize) -> Option<String>
where
    R: Row,
    usize: sqlx::ColumnIndex<R>,
{
    let raw = row.try_get_raw(index).ok()?;
    if ValueRef::is_null(&raw) {
        return None;
    }
    Some(ValueRef::type_info(&raw).name().to_string())
}

/// The columns of a row, with the database's type names.
pub(crate) fn columns_of<R: Row>(row: &R) -> Vec<Column> {
    row.columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_string(),
            type_name: c.type_info().name().to_string(),
        })
        .collect()
}

/// A row as an object, each value decoded by `decode(row, index)`.
pub(crate) fn object_of<R: Row>(row: &R, decode: fn(&R, usize) -> Value) -> Map<String, Value> {
    row.columns()
        .iter()
        .enumerate()
        .map(|(index, column)| (column.name().to_string(), decode(row, index)))
        .collect()
}

/// Reads `(schema, table, column, type, is_nullable)` rows of `sql` as a schema document.
pub(crate) async fn introspect_with<DB>(
    pool: &Pool<DB>,
    sql: &'static str,
    fail: impl Fn(&sqlx::Error) -> Error,
) -> Result<Value, Error>
where
    DB: Database,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    (String, String, String, String, String): for<'r> sqlx::FromRow<'r, DB::Row>,
    <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
{
    let columns: Vec<(String, String, String, String, String)> = sqlx::query_as(sql)
        .fetch_all(pool)
        .await
        .map_err(|error| fail(&error))?;
    Ok(schema_document(
        columns
            .into_iter()
            .map(|(s, t, c, ty, n)| (s, t, c, ty, n == "YES"))
            .collect(),
    ))
}

/// How a driver's rows and results are read.
pub(crate) struct RowReader<DB: Database> {
    /// The columns of a row.
    pub columns: fn(&DB::Row) -> Vec<Column>,
    /// A row as JSON.
    pub decode: fn(&DB::Row) -> Map<String, Value>,
    /// Rows a statement changed.
    pub affected: fn(&DB::QueryResult) -> u64,
}

/// Runs `query` on `executor` and collects its rows; `fail` maps driver errors (scrubbed).
async fn collect<'e, 'q, DB, E>(
    executor: E,
    query: sqlx::query::Query<'q, DB, <DB as Database>::Arguments>,
    limits: RunLimits,
    reader: &RowReader<DB>,
    fail: impl Fn(&sqlx::Error) -> Error,
) -> Result<SqlResult, Error>
where
    DB: Database,
    <DB as Database>::Arguments: sqlx::IntoArguments<DB>,
    E: Executor<'e, Database = DB>,
    'q: 'e,
{
    let started = Instant::now();
    let mut collector = Collector::new(limits);
    let mut affected = 0u64;
    let work = async {
        let mut stream = executor.fetch_many(query);
        while let Some(item) = stream.try_next().await? {
            match item {
                sqlx::Either::Left(done) => affected += (reader.affected)(&done),
                sqlx::Either::Right(row) => {
                    if collector.result.columns.is_empty() {
                        collector.result.columns = (reader.columns)(&row);
                    }
                    if !collector.push((reader.decode)(&row)) {
                        break;
                    }
                }
            }
        }
        Ok::<(), sqlx::Error>(())
    };
    // The server stops the statement at its own timeout; this is the backstop for a server
    // that does not answer at all.
    let backstop = limits.statement_timeout + limits.connect_timeout;
    match tokio::time::timeout(backstop, work).await {
        Ok(outcome) => outcome.map_err(|error| fail(&error))?,
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
    Ok(result)
}

/// One column of an introspected schema: schema, table, column, type, nullable.
type SchemaColumn = (String, String, String, String, bool);

/// `{tables: [{schema, name, columns: [{name, type, nullable}]}]}` from columns ordered by
/// schema and table.
fn schema_document(columns: Vec<SchemaColumn>) -> Value {
    let mut tables: Vec<Value> = Vec::new();
    for (schema, table, name, type_name, nullable) in columns {
        let column = json!({"name": name, "type": type_name, "nullable": nullable});
        match tables.last_mut() {
            Some(last) if last["schema"] == schema.as_str() && last["name"] == table.as_str() => {
                if let Some(list) = last["columns"].as_array_mut() {
                    list.push(column);
                }
            }
            _ => tables.push(json!({"schema": schema, "name": table, "columns": [column]})),
        }
    }
    json!({"tables": tables})
}
