//! Finding the test PostgreSQL server and cleaning up the databases tests leave behind.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, Result};
use sea_orm::{ConnectionTrait, Database, Statement};

/// The local server every machine of this project runs.
pub const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Whether something listens on 127.0.0.1:5432.
pub fn local_server_answers() -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], 5432));
    TcpStream::connect_timeout(&address, Duration::from_secs(1)).is_ok()
}

/// Drops every `jet_test_*` database on the server of `url`.
pub fn drop_test_databases(url: &str) -> Result<usize> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let db = Database::connect(url)
            .await
            .context("cannot connect to the test PostgreSQL server")?;
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT datname FROM pg_database WHERE datname LIKE 'jet\\_test\\_%'",
            ))
            .await?;
        let mut dropped = 0;
        for row in rows {
            let name: String = row.try_get("", "datname")?;
            // Names come from pg_database and match jet_test_<hex>: safe to interpolate.
            if name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                dropped += 1;
            }
        }
        db.close().await?;
        Ok(dropped)
    })
}

/// Drops and creates the database `name` on the server of `url`.
pub fn recreate_database(url: &str, name: &str) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let db = Database::connect(url).await?;
        db.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        db.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        db.close().await?;
        Ok(())
    })
}
