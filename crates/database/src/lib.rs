//! Opening the platform database and bringing its schema up to date.
//!
//! One URL picks the backend: `sqlite://…` for the embedded default, `postgres://…` for the
//! production store. [`connect`] opens a pool with the settings each backend needs (WAL, foreign
//! keys and a busy timeout on SQLite). [`migrate`] runs the `migrations` crate under a lock that
//! spans processes, so several servers started at once against one fresh database never race to
//! create the same tables:
//! - PostgreSQL: a session-level advisory lock, on a dedicated one-connection pool so the lock,
//!   the migrations and the unlock all travel over the same server session;
//! - SQLite: an exclusive OS file lock on `<database file>.migrate.lock`.
//!
//! Whoever gets the lock second finds nothing left to do.

use std::path::PathBuf;
use std::time::Duration;

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};

/// Arbitrary but fixed: the advisory lock key every Jet process uses for migrations.
const MIGRATION_LOCK_KEY: i64 = 0x4a45_545f_4d49_4752; // "JET_MIGR"

/// Which database server a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The production store.
    Postgres,
}

impl Backend {
    /// The backend a URL selects, by its scheme.
    pub fn of_url(url: &str) -> Result<Self, Error> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::UnsupportedUrl)
        }
    }
}

/// How to reach the database.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc` or `postgres://user@host:port/db`.
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
    /// How long a request waits for a pooled connection.
    pub acquire_timeout: Duration,
}

impl std::fmt::Debug for DatabaseConfig {
    // The URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("backend", &Backend::of_url(&self.url).ok())
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

impl DatabaseConfig {
    /// A configuration with a pool of 10 and a 10-second acquire timeout.
    pub fn new(url: impl Into<String>) -> Self {
        DatabaseConfig {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

/// Errors of the database crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The URL's scheme is neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL: expected sqlite:… or postgres://…")]
    UnsupportedUrl,
    /// The database could not be reached.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] DbErr),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[source] DbErr),
    /// The migration lock could not be taken.
    #[error("cannot take the migration lock: {0}")]
    Lock(String),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] DbErr),
}

/// Opens a connection pool.
pub async fn connect(config: &DatabaseConfig) -> Result<DatabaseConnection, Error> {
    connect_with_pool_size(config, config.max_connections).await
}

async fn connect_with_pool_size(
    config: &DatabaseConfig,
    max_connections: u32,
) -> Result<DatabaseConnection, Error> {
    Backend::of_url(&config.url)?;
    let mut options = ConnectOptions::new(config.url.clone());
    options
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(config.acquire_timeout)
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|opts| {
            opts.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    Database::connect(options).await.map_err(Error::Connect)
}

/// Runs every pending migration, holding the cross-process migration lock.
pub async fn migrate(config: &DatabaseConfig) -> Result<(), Error> {
    match Backend::of_url(&config.url)? {
        Backend::Postgres => migrate_postgres(config).await,
        Backend::Sqlite => migrate_sqlite(config).await,
    }
}

async fn migrate_postgres(config: &DatabaseConfig) -> Result<(), Error> {
    // One connection: the advisory lock belongs to a server session, so the lock, the
    // migrations and the unlock must all run on the same one.
    let db = connect_with_pool_size(config, 1).await?;
    db.execute_unprepared(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
        .await
        .map_err(|e| Error::Lock(e.to_string()))?;
    let outcome = Migrator::up(&db, None).await.map_err(Error::Migrate);
    let unlocked = db
        .execute_unprepared(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))
        .await;
    // Closing the session releases the lock too, so a failed unlock is only worth a warning.
    if let Err(error) = unlocked {
        tracing::warn!(%error, "releasing the migration lock failed; closing the session releases it");
    }
    let _ = db.close().await;
    outcome
}

async fn migrate_sqlite(config: &DatabaseConfig) -> Result<(), Error> {
    let _lock = match sqlite_file(&config.url) {
        Some(path) => Some(lock_file(path.with_extension("migrate.lock")).await?),
        None => None,
    };
    let db = connect_with_pool_size(config, 1).await?;
    let outcome = Migrator::up(&db, None).await.map_err(Error::Migrate);
    let _ = db.close().await;
    outcome
}

/// Blocks (off the async executor) until the exclusive lock on `path` is held.
async fn lock_file(path: PathBuf) -> Result<std::fs::File, Error> {
    tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Lock(format!("{}: {e}", path.display())))?;
        file.lock()
            .map_err(|e| Error::Lock(format!("{}: {e}", path.display())))?;
        Ok(file)
    })
    .await
    .map_err(|e| Error::Lock(e.to_string()))?
}

/// The file behind a SQLite URL, or `None` for an in-memory database (or another backend).
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(PathBuf::from(path))
    }
}

/// Answers whether the database responds to a trivial query.
pub async fn ping(db: &DatabaseConnection) -> Result<(), Error> {
    db.ping().await.map_err(Error::Query)
}

/// The backend of an open connection.
pub fn backend_of(db: &DatabaseConnection) -> Backend {
    match db.get_database_backend() {
        DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_their_backend() {
        assert_eq!(
            Backend::of_url("sqlite://x.db?mode=rwc").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::of_url("mysql://u:secret@h/db").is_err());
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite:///tmp/a/jet.db?mode=rwc"),
            Some(PathBuf::from("/tmp/a/jet.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://data/jet.db"),
            Some(PathBuf::from("data/jet.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }

    #[test]
    fn debug_output_hides_the_url() {
        let config = DatabaseConfig::new("postgres://user:hunter2@db/jet");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
