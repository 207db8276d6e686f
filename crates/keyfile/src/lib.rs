//! Secret files in the data directory: created once, atomically, readable by the owner only.
//!
//! The embedded default keeps two secrets next to its database: the local-identity signing key and
//! the encryption key for datasource options. Both must be created exactly once even when two
//! processes start at the same moment, must never be observed half-written, and must not be
//! readable by other users of the machine.
//!
//! [`load_or_create`] writes the new secret to a private temporary file (mode `0600` from the
//! first byte), then publishes it with `hard_link`, which fails if the target already exists. The
//! loser of a race therefore reads the winner's complete file instead of overwriting it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;

/// Reads the secret at `path`, or creates it with the bytes `generate` returns.
///
/// The parent directory must exist. On Unix the file is created with mode `0600`; an existing
/// file whose mode lets group or others read it is refused with `PermissionDenied`, because a
/// secret that may already have leaked should not be used silently.
pub fn load_or_create(
    path: &Path,
    generate: impl FnOnce() -> io::Result<Vec<u8>>,
) -> io::Result<Vec<u8>> {
    match read_private(path) {
        Ok(bytes) => return Ok(bytes),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }

    let secret = generate()?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let staging = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
    write_private(&staging, &secret)?;
    let published = fs::hard_link(&staging, path);
    // The staging name is private to this call; removing it cannot race with anyone.
    let _ = fs::remove_file(&staging);
    match published {
        Ok(()) => Ok(secret),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => read_private(path),
        Err(error) => Err(error),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn read_private(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{} is readable by other users (mode {:o}); run `chmod 600` on it",
                    path.display(),
                    mode & 0o777
                ),
            ));
        }
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    #[test]
    fn creates_the_file_once_and_reads_it_back_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");

        let first = load_or_create(&path, || Ok(b"first".to_vec())).unwrap();
        let second = load_or_create(&path, || Ok(b"second".to_vec())).unwrap();

        assert_eq!(first, b"first");
        assert_eq!(second, b"first");
    }

    #[cfg(unix)]
    #[test]
    fn the_created_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");

        load_or_create(&path, || Ok(vec![1, 2, 3])).unwrap();

        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_readable_by_others_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        fs::write(&path, b"leaked").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

        let error = load_or_create(&path, || Ok(vec![])).unwrap_err();

        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
    }

    #[test]
    fn racing_creators_all_end_up_with_the_same_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("secret.key"));
        let barrier = Arc::new(Barrier::new(8));

        let handles: Vec<_> = (0..8u8)
            .map(|i| {
                let path = Arc::clone(&path);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    load_or_create(&path, || Ok(vec![i; 32])).unwrap()
                })
            })
            .collect();
        let results: Vec<Vec<u8>> = handles.into_iter().map(|h| h.join().unwrap()).collect();

        assert!(results.iter().all(|r| r == &results[0]));
        let leftovers = fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no staging file may be left behind");
    }
}
