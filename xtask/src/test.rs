//! `cargo xtask test`: the whole suite (every feature, so the engine's sandbox wiring is
//! tested too) on SQLite, and on PostgreSQL when it can be reached.
//!
//! PostgreSQL is used when `TEST_DATABASE_URL` is set or 127.0.0.1:5432 answers; `--postgres`
//! makes it mandatory (CI), so a missing server fails the run instead of skipping silently.
//! Whenever PostgreSQL is in use, `JET_TEST_REQUIRE_POSTGRES=1` is passed down so no test can skip
//! its PostgreSQL variant either.

use anyhow::{Result, bail};

use crate::args::Args;
use crate::{postgres, run};

/// Runs the suite.
pub fn run(raw: &[String]) -> Result<()> {
    let args = Args::parse(raw, &["postgres"])?;
    let url = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) => Some(url),
        Err(_) if postgres::local_server_answers() => Some(postgres::LOCAL_URL.to_string()),
        Err(_) => None,
    };
    let Some(url) = url else {
        if args.switch("postgres") {
            bail!(
                "--postgres: no PostgreSQL at 127.0.0.1:5432 and TEST_DATABASE_URL is unset; \
                 start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
            );
        }
        eprintln!("xtask test: PostgreSQL not reachable: running the SQLite variants only");
        return run::cargo(
            &["test", "--workspace", "--all-features"],
            &args.passthrough,
            &[],
        );
    };

    eprintln!("xtask test: SQLite and PostgreSQL");
    postgres::drop_test_databases(&url)?;
    let outcome = run::cargo(
        &["test", "--workspace", "--all-features"],
        &args.passthrough,
        &[
            ("TEST_DATABASE_URL", url.as_str()),
            ("JET_TEST_REQUIRE_POSTGRES", "1"),
        ],
    );
    let dropped = postgres::drop_test_databases(&url)?;
    eprintln!("xtask test: dropped {dropped} test databases");
    outcome
}
