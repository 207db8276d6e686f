//! `cargo xtask token`: prints a local-identity token signed by the data directory's key.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use identity::LocalSigningKey;

use crate::args::Args;

/// Prints the token on stdout.
pub fn run(raw: &[String]) -> Result<()> {
    let args = Args::parse(raw, &[])?;
    let Some(email) = args.value("email") else {
        bail!(
            "usage: cargo xtask token --email alice@example.com [--name Alice] [--data-dir DIR] [--ttl-hours 24]"
        );
    };
    if !email.contains('@') {
        bail!("--email must be an e-mail address");
    }
    let data_dir = args
        .value("data-dir")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("JET_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("./data"));
    let ttl_hours: u64 = args
        .value("ttl-hours")
        .map(str::parse)
        .transpose()
        .context("--ttl-hours must be a whole number")?
        .unwrap_or(24);
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let key = LocalSigningKey::load_or_create(&data_dir)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let token = key.mint(
        email,
        args.value("name"),
        Duration::from_secs(ttl_hours * 3600),
        i64::try_from(now)?,
    );
    println!("{token}");
    Ok(())
}
