//! Start-up: concurrent servers on one fresh database, and the real binary on the embedded
//! default (SIGTERM → exit 0).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use identity::LocalSigningKey;
use test_support::tokens;
use test_support::{Backend, TestDatabase, db_test};

use crate::helpers::{json, test_overrides, test_settings};

async fn two_servers_started_at_once_on_one_fresh_database_both_come_up(backend: Backend) {
    let Some(database) = TestDatabase::new(backend).await else {
        return;
    };
    let first = test_settings(&database);
    let mut second = test_settings(&database);
    second.data_dir = database.dir.path().join("data-2");

    let (a, b) = tokio::join!(
        jet_server::startup::Application::build(first, test_overrides()),
        jet_server::startup::Application::build(second, test_overrides()),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    let client = test_support::http::client();
    let ports = [a.port(), b.port()];
    tokio::spawn(a.run_until_stopped());
    tokio::spawn(b.run_until_stopped());
    for port in ports {
        let response = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}
db_test!(two_servers_started_at_once_on_one_fresh_database_both_come_up);

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) async fn wait_until_healthy(
    client: &reqwest::Client,
    base: &str,
    child: &mut std::process::Child,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/health")).send().await
            && response.status() == 200
        {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the server did not become healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends SIGTERM to the server `child` and waits for it: its exit code and everything it logged
/// (stdout and stderr).
pub(crate) async fn stop(child: std::process::Child) -> (Option<i32>, String) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let logs = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), logs)
}

/// The same binary `cargo xtask dev` runs, with nothing but a data directory and a port.
async fn the_binary_serves_and_stops_cleanly_on_sigterm(backend: Backend) {
    let Some(database) = TestDatabase::new(backend).await else {
        return;
    };
    let data_dir = database.dir.path().join("data");
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_jet-server"));
    command
        .env_clear()
        .env("PORT", port.to_string())
        .env("JET_DATA_DIR", &data_dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if backend == Backend::Postgres {
        command
            .env("DATABASE_URL", &database.url)
            .env(
                "JET_ENCRYPTION_KEY",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            )
            .env("JET_ALLOW_LOCAL_IDENTITY", "1");
    }
    let mut child = command.spawn().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = test_support::http::client();
    wait_until_healthy(&client, &base, &mut child).await;

    let key = LocalSigningKey::load_or_create(&data_dir).unwrap();
    let token = key.mint(
        "carol@example.com",
        None,
        Duration::from_secs(300),
        tokens::now(),
    );
    let (status, body) = json(
        client
            .get(format!("{base}/api/v1/auth"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    if backend == Backend::Sqlite {
        assert!(data_dir.join("jet.db").exists());
        assert!(data_dir.join("encryption.key").exists());
    }

    let (code, logs) = stop(child).await;
    assert_eq!(code, Some(0), "{logs}");
    assert!(
        logs.contains("local identity mode: not for production"),
        "{logs}"
    );
    assert!(!logs.contains(&token), "tokens never reach the log");
}
db_test!(the_binary_serves_and_stops_cleanly_on_sigterm);

#[test]
fn bad_configuration_exits_2_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_jet-server"))
        .env_clear()
        .env("PORT", "eighty")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("PORT"));

    let output = Command::new(env!("CARGO_BIN_EXE_jet-server"))
        .env_clear()
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("JET_ENCRYPTION_KEY"));
}
