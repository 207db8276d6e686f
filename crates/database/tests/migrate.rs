//! Migrations on a real database: applied once, idempotent, safe to start concurrently.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use database::{DatabaseConfig, connect, migrate, ping};
use sea_orm::{ConnectionTrait, Statement};
use test_support::{Backend, TestDatabase, db_test};

async fn table_count(config: &DatabaseConfig, backend: Backend) -> i64 {
    let db = connect(config).await.unwrap();
    let sql = match backend {
        Backend::Sqlite => {
            "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public'"
        }
    };
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn concurrent_migrations_all_succeed_and_apply_once(backend: Backend) {
    let Some(test_db) = TestDatabase::new(backend).await else {
        return;
    };
    let config = DatabaseConfig::new(&test_db.url);

    let runs = (0..4).map(|_| migrate(&config));
    let results = futures_util::future::join_all(runs).await;

    for result in results {
        result.unwrap();
    }
    // 26 platform tables (12 in the first migration, folders in the second, the change bus's
    // overflow in the third, datasources and data queries in the fourth, the engine's runs,
    // events and tasks in the fifth, workflows with their nodes and edges in the sixth, cron
    // jobs and their fires in the seventh, webhooks and their delivery ids in the eighth) plus
    // seaql_migrations.
    assert_eq!(table_count(&config, backend).await, 27);
    migrate(&config).await.unwrap();
    assert_eq!(table_count(&config, backend).await, 27);
    ping(&connect(&config).await.unwrap()).await.unwrap();
}
db_test!(concurrent_migrations_all_succeed_and_apply_once);
