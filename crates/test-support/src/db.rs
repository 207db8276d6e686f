//! A fresh, migrated-on-demand database per test, on SQLite or PostgreSQL.
//!
//! PostgreSQL databases are named `jet_test_<uuid>` on the server of `TEST_DATABASE_URL`;
//! `cargo xtask test` drops leftovers before and after a run.

use sea_orm::{ConnectionTrait, Database};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A new database on the `TEST_DATABASE_URL` server.
    Postgres,
}

/// A fresh, empty database. Keep it alive for the test's duration.
#[derive(Debug)]
pub struct TestDatabase {
    /// The connection URL.
    pub url: String,
    /// Its backend.
    pub backend: Backend,
    /// A scratch directory that lives as long as the database (the SQLite file lives here; a
    /// test may use it as its data directory too).
    pub dir: tempfile::TempDir,
}

impl TestDatabase {
    /// A fresh database on `backend`, or `None` when PostgreSQL is not configured (and not
    /// required).
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres().await,
        }
    }

    /// A SQLite file in a new temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("jet.db").display());
        TestDatabase {
            url,
            backend: Backend::Sqlite,
            dir,
        }
    }

    /// A new database on the `TEST_DATABASE_URL` server.
    ///
    /// Returns `None` when the variable is unset, unless `JET_TEST_REQUIRE_POSTGRES=1`, in which
    /// case the test fails: CI must never skip PostgreSQL silently.
    pub async fn postgres() -> Option<Self> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            if std::env::var("JET_TEST_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("JET_TEST_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set");
            }
            eprintln!("PostgreSQL variant skipped: TEST_DATABASE_URL is not set");
            return None;
        };
        let name = format!("jet_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach TEST_DATABASE_URL: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        admin.close().await.unwrap();
        Some(TestDatabase {
            url: with_database_name(&admin_url, &name),
            backend: Backend::Postgres,
            dir: tempfile::tempdir().unwrap(),
        })
    }
}

/// A fresh database on `backend`, migrated, and a connection to it configured as the server
/// configures its own (`None` as [`TestDatabase::new`]). Keep the `TestDatabase` alive.
pub async fn migrated(backend: Backend) -> Option<(TestDatabase, sea_orm::DatabaseConnection)> {
    let test_db = TestDatabase::new(backend).await?;
    let config = database::DatabaseConfig::new(&test_db.url);
    database::migrate(&config)
        .await
        .unwrap_or_else(|e| panic!("migrating the test database failed: {e}"));
    let db = database::connect(&config)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test database failed: {e}"));
    Some((test_db, db))
}

/// `postgres://u@h:5432/old?x=y` with the database name replaced.
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Runs an `async fn(Backend)` test body once on SQLite and once on PostgreSQL, as two tests
/// named `<name>::sqlite` and `<name>::postgres`.
#[macro_export]
macro_rules! db_test {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::Backend::Postgres).await
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::with_database_name;

    #[test]
    fn the_database_name_is_replaced() {
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database_name("postgres://postgres@127.0.0.1:5432", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database_name("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
    }
}
