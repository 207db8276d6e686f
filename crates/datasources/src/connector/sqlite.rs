//! SQLite: a database file under the operator's directory (`JET_SQLITE_DATASOURCE_DIR`).
//!
//! The path is relative to that directory; absolute paths, `..`, a file that resolves (through
//! symlinks) outside it, a missing file, and the platform's own database file are refused. Each
//! run takes one pooled connection and installs a progress handler that interrupts the statement
//! at the time limit (SQLite has no server-side statement timeout). Values map by their storage
//! class: `INTEGER` as a number (as a string beyond ±2^53, where JSON loses precision), `REAL`
//! as a number, `TEXT` as a string, `BLOB` as base64, `NULL` as null.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteRow,
};

use super::sql_run::{self, RowReader};
use super::{Capabilities, Connector, ConnectorEnv, QueryOutput, RunLimits};
use crate::Error;
use crate::options::OpenOptions;
use crate::scrub::Scrubber;
use crate::sql::Dialect;

const POOL_SIZE: u32 = 2;
const IDLE: Duration = Duration::from_secs(60);
/// JSON numbers are exact up to here.
const EXACT_INTEGER: i64 = 1 << 53;
/// SQLite's "interrupted" result code.
const SQLITE_INTERRUPT: &str = "9";

/// A SQLite datasource.
#[derive(Debug)]
pub struct Sqlite {
    pool: SqlitePool,
    connect: SqliteConnectOptions,
    limits: RunLimits,
    scrubber: Scrubber,
}

const PATH_FIELD: &str = "datasourceOptions.path";

/// The file `relative` names under `dir`, checked: no absolute path, no `..`, inside `dir`
/// after resolving symlinks, existing, and not the platform's database.
pub fn resolve_file(dir: &Path, relative: &str, platform: Option<&Path>) -> Result<PathBuf, Error> {
    if dir.as_os_str().is_empty() {
        return Err(Error::Unsupported(
            "SQLite datasources are not enabled on this server (JET_SQLITE_DATASOURCE_DIR)".into(),
        ));
    }
    let path = Path::new(relative);
    if path.is_absolute()
        || path
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(Error::invalid(
            PATH_FIELD,
            "a path relative to the server's SQLite directory, without `..`",
        ));
    }
    let root = dir
        .canonicalize()
        .map_err(|_| Error::Unsupported("the server's SQLite directory does not exist".into()))?;
    let file = root
        .join(path)
        .canonicalize()
        .map_err(|_| Error::invalid(PATH_FIELD, "no such file in the server's SQLite directory"))?;
    if !file.starts_with(&root) || !file.is_file() {
        return Err(Error::invalid(
            PATH_FIELD,
            "the file is outside the server's SQLite directory",
        ));
    }
    if platform
        .and_then(|p| p.canonicalize().ok())
        .is_some_and(|p| p == file)
    {
        return Err(Error::invalid(
            PATH_FIELD,
            "the platform's own database cannot be a datasource",
        ));
    }
    Ok(file)
}

impl Sqlite {
    /// A lazily connecting pool on the checked file.
    pub fn new(options: &OpenOptions, env: &ConnectorEnv) -> Result<Self, Error> {
        let relative = options
            .text("path")
            .ok_or_else(|| Error::invalid(PATH_FIELD, "required"))?;
        let file = resolve_file(&env.sqlite_dir, relative, env.platform_database.as_deref())?;
        let limits = env.limits_for(options);
        let connect = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(false)
            .read_only(options.flag("readOnly").unwrap_or(false))
            .busy_timeout(limits.statement_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_SIZE)
            .min_connections(0)
            .acquire_timeout(limits.connect_timeout)
            .idle_timeout(IDLE)
            .connect_lazy_with(connect.clone());
        Ok(Sqlite {
            pool,
            connect,
            limits,
            scrubber: Scrubber::new(options.secret_strings()),
        })
    }

    fn failure(&self, error: &sqlx::Error) -> Error {
        sql_run::failure(error, self.limits, &self.scrubber, |db| {
            db.code().as_deref() == Some(SQLITE_INTERRUPT)
        })
    }
}

#[async_trait]
impl Connector for Sqlite {
    async fn test(&self) -> Result<(), Error> {
        sql_run::test_connection::<SqliteConnection>(&self.connect, self.limits, |e| {
            self.failure(e)
        })
        .await
    }

    async fn run(
        &self,
        query: &Map<String, Value>,
        inputs: &Map<String, Value>,
    ) -> Result<QueryOutput, Error> {
        let mut connection = self.pool.acquire().await.map_err(|e| self.failure(&e))?;
        let deadline = Instant::now() + self.limits.statement_timeout;
        connection
            .lock_handle()
            .await
            .map_err(|e| self.failure(&e))?
            .set_progress_handler(10_000, move || Instant::now() < deadline);
        let reader = RowReader {
            columns: sql_run::columns_of,
            decode: |row| sql_run::object_of(row, decode),
            affected: |done: &SqliteQueryResult| done.rows_affected(),
        };
        let outcome = sql_run::run_sql(
            &mut *connection,
            Dialect::Sqlite,
            query,
            inputs,
            self.limits,
            &reader,
            |e| self.failure(e),
        )
        .await;
        if let Ok(mut handle) = connection.lock_handle().await {
            handle.remove_progress_handler();
        }
        outcome
    }

    async fn introspect(&self) -> Result<Value, Error> {
        sql_run::introspect_with(
            &self.pool,
            "SELECT 'main', m.name, p.name, p.type, CASE WHEN p.\"notnull\" = 0 THEN 'YES' ELSE 'NO' END \
             FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%' \
             ORDER BY m.name, p.cid",
            |e| self.failure(e),
        )
        .await
    }

    fn capabilities(&self) -> Capabilities {
        sql_run::SQL_CAPABILITIES
    }
}

fn decode(row: &SqliteRow, index: usize) -> Value {
    let Some(storage) = sql_run::value_type(row, index) else {
        return Value::Null;
    };
    let or_null = |value: Result<Value, sqlx::Error>| value.unwrap_or(Value::Null);
    match storage.as_str() {
        "INTEGER" => or_null(row.try_get_unchecked::<i64, _>(index).map(|n| {
            if (-EXACT_INTEGER..=EXACT_INTEGER).contains(&n) {
                Value::from(n)
            } else {
                Value::String(n.to_string())
            }
        })),
        "REAL" => or_null(
            row.try_get_unchecked::<f64, _>(index)
                .map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ),
        "BLOB" => or_null(
            row.try_get_unchecked::<Vec<u8>, _>(index)
                .map(|b| Value::String(STANDARD.encode(b))),
        ),
        _ => or_null(row.try_get_unchecked::<String, _>(index).map(Value::String)),
    }
}
