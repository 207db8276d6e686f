//! The server processes under chaos: each slot runs `target/debug/jet-server` with its own log
//! file, can be killed with SIGKILL (`kill -9`: no drain, no cleanup) and started again on a
//! fresh port. All slots share one data directory (the local signing key) and one database.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// One server process (killed and restarted over the run).
pub struct Slot {
    /// `A`, `B`, …
    pub name: char,
    program: PathBuf,
    env: Vec<(String, String)>,
    /// Its log (every incarnation appends to it).
    pub log: PathBuf,
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` of the current incarnation.
    pub base: String,
    /// Incarnations started.
    pub starts: u32,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A plain-HTTP client for the slots (reqwest is built without a default TLS provider).
pub fn http_client() -> Result<reqwest::Client> {
    let tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(rustls::RootCertStore::empty())
    .with_no_client_auth();
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(Duration::from_secs(30))
        .build()?)
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Slot {
    /// A slot named `name` whose processes get `env`, logging into `dir`.
    pub fn new(name: char, env: Vec<(String, String)>, dir: &Path) -> Self {
        Self::running(PathBuf::from("target/debug/jet-server"), name, env, dir)
    }

    /// A slot whose processes run `program` (the release build, for a benchmark).
    pub fn running(program: PathBuf, name: char, env: Vec<(String, String)>, dir: &Path) -> Self {
        Slot {
            name,
            program,
            env,
            log: dir.join(format!("server-{name}.log")),
            child: None,
            base: String::new(),
            starts: 0,
        }
    }

    /// Starts a process on a fresh port (a killed one's port may linger) and waits for
    /// `/health`.
    pub async fn start(&mut self, client: &reqwest::Client) -> Result<()> {
        let port = free_port()?;
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("open {}", self.log.display()))?;
        let mut command = Command::new(&self.program);
        command
            .env_clear()
            .env("PORT", port.to_string())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log));
        for (name, value) in &self.env {
            command.env(name, value);
        }
        self.child = Some(
            command
                .spawn()
                .with_context(|| format!("start {}", self.program.display()))?,
        );
        self.base = format!("http://127.0.0.1:{port}");
        self.starts += 1;
        let deadline = Instant::now() + Duration::from_secs(60);
        while client
            .get(format!("{}/health", self.base))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!(
                    "server {} did not start within 60 s (see {})",
                    self.name,
                    self.log.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// `kill -9`: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Node attempts this slot's processes started (their `node attempt started` log lines).
    pub fn attempts_started(&self) -> Result<usize> {
        let text = std::fs::read_to_string(&self.log)
            .with_context(|| format!("read {}", self.log.display()))?;
        Ok(text.matches("node attempt started").count())
    }
}
