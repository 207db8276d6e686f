//! `cargo xtask db up|down|status|fresh`: the migrations CLI against `DATABASE_URL`, defaulting to
//! the embedded database in the data directory.

use std::path::PathBuf;

use anyhow::{Result, bail};

use crate::run;

/// Runs the migration command.
pub fn run(raw: &[String]) -> Result<()> {
    let Some(command) = raw.first() else {
        bail!("usage: cargo xtask db up|down|status|fresh");
    };
    if !matches!(command.as_str(), "up" | "down" | "status" | "fresh") {
        bail!("unknown db command `{command}`: expected up, down, status or fresh");
    }
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) => url,
        Err(_) => {
            let data_dir = std::env::var_os("JET_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("./data"));
            std::fs::create_dir_all(&data_dir)?;
            format!("sqlite://{}?mode=rwc", data_dir.join("jet.db").display())
        }
    };
    run::cargo(
        &["run", "--quiet", "--package", "migrations", "--"],
        raw,
        &[("DATABASE_URL", url.as_str())],
    )
}
