//! The release server under test: started on a fresh embedded database or a fresh PostgreSQL
//! database, pinned to its own CPU when the machine has two, stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Named like test databases, so `cargo xtask test` cleans it up too.
pub const BENCH_DATABASE: &str = "jet_test_bench";

/// Which store the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The embedded default.
    Sqlite,
    /// The production store, on this machine's server.
    Postgres,
}

impl Backend {
    /// For the report.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// Where the server and the load generator run.
#[derive(Debug, Clone)]
pub enum Pinning {
    /// The server on `server`, the load generator on `load`.
    Cores { server: usize, load: usize },
    /// `taskset` is missing or there are fewer than two CPUs: nothing is pinned.
    None(&'static str),
}

impl Pinning {
    /// Two cores and `taskset`: pin; else say why not.
    pub fn detect() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        if cores < 2 {
            return Pinning::None("fewer than two CPUs");
        }
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !taskset.is_ok_and(|status| status.success()) {
            return Pinning::None("taskset is not installed");
        }
        Pinning::Cores { server: 0, load: 1 }
    }

    /// For the report.
    pub fn describe(&self) -> String {
        match self {
            Pinning::Cores { server, load } => {
                format!("server pinned to CPU {server}, load generator to CPU {load}")
            }
            Pinning::None(why) => format!("NOT pinned ({why}): figures are noisier"),
        }
    }

    /// Pins every thread of this process (the built-in load client) to the load CPU.
    pub fn pin_this_process(&self) -> Result<()> {
        if let Pinning::Cores { load, .. } = self {
            let status = Command::new("taskset")
                .args(["--all-tasks", "--pid", "--cpu-list"])
                .arg(load.to_string())
                .arg(std::process::id().to_string())
                .stdout(Stdio::null())
                .status()
                .context("run taskset")?;
            if !status.success() {
                bail!("taskset could not pin the load generator ({status})");
            }
        }
        Ok(())
    }

    /// The server's CPU, when pinning.
    pub fn server_cpu(&self) -> Option<usize> {
        match self {
            Pinning::Cores { server, .. } => Some(*server),
            Pinning::None(_) => None,
        }
    }

    /// The load generator's CPU, when pinning.
    pub fn load_cpu(&self) -> Option<usize> {
        match self {
            Pinning::Cores { load, .. } => Some(*load),
            Pinning::None(_) => None,
        }
    }
}

/// `program` as a command, on `cpu` when one is given.
pub fn pinned_command(program: &str, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.args(["--cpu-list", &cpu.to_string(), program]);
            command
        }
        None => Command::new(program),
    }
}

/// A running `target/release/jet-server`.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its data directory (the local signing key lives there).
    pub data_dir: tempfile::TempDir,
    /// The HTTP client the seeding uses.
    pub client: reqwest::Client,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's process id (`taskset` execs it, so it is the child's).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts the server and waits until `/health` answers.
    pub async fn start(backend: Backend, pinning: &Pinning) -> Result<Self> {
        Server::start_with(backend, pinning, &[]).await
    }

    /// [`Server::start`] with more environment variables.
    pub async fn start_with(
        backend: Backend,
        pinning: &Pinning,
        env: &[(&str, &str)],
    ) -> Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut command = pinned_command("target/release/jet-server", pinning.server_cpu());
        command
            .env_clear()
            .env("PORT", port.to_string())
            .env("JET_DATA_DIR", data_dir.path())
            .env("JET_RATE_LIMIT_PER_IP", "0")
            .env("JET_RATE_LIMIT_PER_PRINCIPAL", "0")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if backend == Backend::Postgres {
            command
                .env(
                    "DATABASE_URL",
                    format!("postgres://postgres@127.0.0.1:5432/{BENCH_DATABASE}"),
                )
                .env(
                    "JET_ENCRYPTION_KEY",
                    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                )
                .env("JET_ALLOW_LOCAL_IDENTITY", "1");
        }
        let child = command.spawn().context("start target/release/jet-server")?;
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            client: crate::bench_api::load::client()?,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while server
            .client
            .get(format!("{}/health", server.base))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("the server did not start within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }
}
