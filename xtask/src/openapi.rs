//! `cargo xtask openapi`: rewrites `docs/openapi.json` from the server's route table (the API
//! tests fail while the committed file differs from the served document).

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The committed document, relative to the workspace root.
pub const DOCUMENT: &str = "docs/openapi.json";

/// Writes the document.
pub fn run(root: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["run", "--quiet", "--package", "jet-server", "--", "openapi"])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run the server to print its document")?;
    if !output.status.success() {
        bail!("`jet-server openapi` failed ({})", output.status);
    }
    let path = root.join(DOCUMENT);
    std::fs::write(&path, &output.stdout)
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("wrote {} ({} bytes)", path.display(), output.stdout.len());
    Ok(())
}
