//! The migration command line: `up`, `down`, `status`, `fresh`, … against `DATABASE_URL`.
//!
//! Usually reached through `cargo xtask db <command>`, which fills in the embedded default URL.

#[tokio::main]
async fn main() {
    sea_orm_migration::cli::run_cli(migrations::Migrator).await;
}
