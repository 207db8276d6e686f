//! Running cargo as a child process, inheriting the terminal.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs `cargo <args> <extra>` with extra environment variables; fails on a non-zero exit.
pub fn cargo(args: &[&str], extra: &[String], env: &[(&str, &str)]) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.args(args).args(extra);
    for (name, value) in env {
        command.env(name, value);
    }
    let status = command
        .status()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}
