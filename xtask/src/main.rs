//! `cargo xtask`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! ```text
//! cargo xtask dev [-- server args]        run the server on the embedded default
//! cargo xtask test [--postgres] [-- …]    the whole suite: SQLite always, PostgreSQL when reachable
//! cargo xtask token --email E [--name N] [--data-dir D] [--ttl-hours H]
//! cargo xtask db up|down|status|fresh     migrations against DATABASE_URL (default: embedded)
//! cargo xtask openapi                     rewrite docs/openapi.json from the route table
//! cargo xtask public-api                  rewrite workflow-engine's public-api.txt from its source
//! cargo xtask keys rotate                 re-seal datasource and webhook secrets under JET_ENCRYPTION_KEY
//! cargo xtask tidy                        fmt check, clippy -D warnings, architecture tests
//! cargo xtask bench sandbox               sandbox cold run vs. isolated-vm, same run
//! cargo xtask bench engine                workflow engine overhead per node, vs. spawn-per-node
//! cargo xtask bench engine --persisted    the engine on the SQL store vs. the raw writes, both stores
//! cargo xtask bench api [--sqlite|--postgres]  authorized reads vs. /health, pinned, both stores
//! cargo xtask bench queries               POST …/run vs. the same SQL through sqlx, PostgreSQL
//! cargo xtask bench ws [--sqlite|--postgres]  live run events to 1,000 websocket subscribers
//! cargo xtask bench cron                 200 jobs every second on two processes (PostgreSQL): each fire once, lateness
//! cargo xtask chaos [--runs N] [--nodes N] [--seconds N] [--sqlite]  runs survive kill -9
//! ```
#![allow(clippy::print_stdout)] // printing is this program's job

mod args;
mod bench;
mod bench_api;
mod bench_cron;
mod bench_queries;
mod bench_ws;
mod chaos;
mod db;
mod openapi;
mod postgres;
mod run;
mod test;
mod token;
mod ws_client;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(command) = args.next() else {
        print_usage();
        return ExitCode::from(2);
    };
    let rest: Vec<String> = args.collect();
    let outcome = match command.as_str() {
        "dev" => run::cargo(&["run", "--package", "jet-server", "--"], &rest, &[]),
        "test" => test::run(&rest),
        "token" => token::run(&rest),
        "db" => db::run(&rest),
        "tidy" => tidy(),
        "openapi" => openapi::run(&workspace_root()),
        // The renderer is the test that checks the snapshot; blessed, it writes it.
        "public-api" => run::cargo(
            &["test", "--package", "xtask", "--test", "public_api"],
            &rest,
            &[("JET_BLESS_PUBLIC_API", "1")],
        ),
        "keys" => run::cargo(
            &["run", "--quiet", "--package", "jet-server", "--", "keys"],
            &rest,
            &[],
        ),
        "bench" => bench::run(&rest),
        "chaos" => chaos::run(&rest),
        "help" | "--help" | "-h" => {
            print_usage();
            Ok(())
        }
        other => Err(anyhow::anyhow!(
            "unknown command `{other}`; try `cargo xtask help`"
        )),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn tidy() -> anyhow::Result<()> {
    run::cargo(&["fmt", "--all", "--", "--check"], &[], &[])?;
    run::cargo(
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
        &[],
    )?;
    run::cargo(&["test", "--package", "xtask", "--test", "tidy"], &[], &[])
}

fn print_usage() {
    println!(
        "usage: cargo xtask <command>\n\n\
         dev [-- args]                 run the server on the embedded default (SQLite in ./data)\n\
         test [--postgres] [-- args]   run every test; PostgreSQL too when reachable (mandatory with --postgres)\n\
         token --email E [--name N] [--data-dir D] [--ttl-hours H]\n\
         \x20                             print a local-identity token for E\n\
         db up|down|status|fresh       run migrations against DATABASE_URL (default: the embedded database)\n\
         openapi                       rewrite docs/openapi.json from the route table\n\
         public-api                    rewrite crates/workflow-engine/public-api.txt from the crate's source\n\
         keys rotate                   re-seal every datasource's and webhook's secrets under JET_ENCRYPTION_KEY\n\
         tidy                          fmt check, clippy -D warnings, architecture tests\n\
         bench sandbox                 sandbox cold run vs. the original's isolated-vm, same run\n\
         bench engine                  workflow engine overhead per node (no-op nodes, in memory)\n\
         bench engine --persisted      the engine on the SQL store vs. the same writes issued directly, SQLite and PostgreSQL\n\
         bench api [--sqlite|--postgres]  authorized reads vs. /health, pinned, same run (both stores by default)\n\
         bench queries                 POST .../run vs. the same SQL through sqlx, same PostgreSQL, same run\n\
         bench ws [--sqlite|--postgres]  run events to 1,000 websocket subscribers: latency vs. 1 subscriber, memory per idle socket\n\
         bench cron                    200 jobs every second for 60 s on two processes (PostgreSQL): 12,000 fires once each, lateness vs. 1 job\n\
         chaos [--runs N] [--nodes N] [--seconds N] [--sqlite]\n\
         \x20                             runs of a workflow while kill -9 hits the servers: all complete, effects once per attempt"
    );
}
