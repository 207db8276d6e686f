//! A migrated database per test with a store on it, and more stores on the same database as
//! other processes would have them (on PostgreSQL each with its own change-bus listener).
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use change_bus::{ChangeBus, PostgresConfig};
use sea_orm::DatabaseConnection;
use test_support::{Backend, TestDatabase};
use tokio_util::sync::CancellationToken;
use workflow_store::SqlStore;

/// A store on a fresh database.
pub struct Stores {
    pub store: Arc<SqlStore>,
    pub db: DatabaseConnection,
    /// The in-process bus (SQLite: one process, so every store shares it).
    bus: ChangeBus,
    database: TestDatabase,
    /// Stops the PostgreSQL listeners with the test.
    stop: CancellationToken,
}

impl Drop for Stores {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// A migrated database on `backend` with a store on it (`None`: PostgreSQL not configured).
pub async fn stores(backend: Backend) -> Option<Stores> {
    let (database, db) = test_support::migrated(backend).await?;
    let stop = CancellationToken::new();
    let bus = bus(&database, &stop).await;
    let store = Arc::new(SqlStore::new(db.clone(), bus.clone()).unwrap());
    Some(Stores {
        store,
        db,
        bus,
        database,
        stop,
    })
}

async fn bus(database: &TestDatabase, stop: &CancellationToken) -> ChangeBus {
    match database.backend {
        Backend::Sqlite => ChangeBus::in_process(),
        Backend::Postgres => {
            let mut config = PostgresConfig::new(&database.url);
            config.listener_name = format!("test-bus-{}", uuid::Uuid::now_v7().simple());
            let (bus, listener) = ChangeBus::postgres(config).await.unwrap();
            tokio::spawn(listener.run(stop.clone()));
            bus
        }
    }
}

impl Stores {
    /// Another store on the same database: on PostgreSQL with its own pool and bus listener,
    /// as another server process has; on SQLite (one process) on the same bus.
    pub async fn another_process(&self) -> SqlStore {
        match self.database.backend {
            Backend::Sqlite => SqlStore::new(self.db.clone(), self.bus.clone()).unwrap(),
            Backend::Postgres => {
                let config = database::DatabaseConfig::new(&self.database.url);
                let db = database::connect(&config).await.unwrap();
                SqlStore::new(db, bus(&self.database, &self.stop).await).unwrap()
            }
        }
    }
}
