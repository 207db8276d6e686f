//! `cargo xtask token`: prints a local-identity token signed by the data directory's key.
//!
//! The data directory is found as the server finds it: `--data-dir`, else `JET_DATA_DIR`, else
//! `./data`. Creating a key (no server has run there yet) is said on stderr.

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use identity::LocalSigningKey;
use identity::local::LOCAL_KEY_FILE;

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
    let key_path = data_dir.join(LOCAL_KEY_FILE);
    let existed = key_path.exists();
    let key = LocalSigningKey::load_or_create(&data_dir)?;
    if !existed {
        // A new key signs tokens no running server trusts until it restarts on this directory:
        // say so, instead of handing out a token that fails with 401.
        eprintln!(
            "xtask token: created a new signing key at {}; a server already running on another \
             data directory (or started before this key existed) will refuse this token. The \
             server's data directory is JET_DATA_DIR (default ./data); pass --data-dir to match it.",
            key_path.display()
        );
    }
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
