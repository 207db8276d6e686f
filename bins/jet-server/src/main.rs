//! `jet-server`: reads settings, starts logging, builds the application and serves until a
//! signal stops it. Exit codes: 0 after a graceful stop, 2 for bad configuration, 1 otherwise.
//!
//! `jet-server openapi` prints the API's OpenAPI document instead (what `cargo xtask openapi`
//! writes to `docs/openapi.json`). `jet-server keys rotate` re-seals every datasource's secrets
//! under the active key (`keys_command`), with the server's own settings.

use std::process::ExitCode;

use jet_server::settings::Settings;
use jet_server::startup::{Application, Overrides};
use jet_server::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        let document = jet_server::http::openapi::serialized(&jet_server::http::routes());
        return match std::io::Write::write_all(&mut std::io::stdout(), &document) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("jet-server: cannot write the document: {error}");
                ExitCode::FAILURE
            }
        };
    }
    let settings = match Settings::from_process_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("jet-server: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => {}
        ["keys", "rotate"] => {
            return match jet_server::keys_command::rotate(&settings).await {
                Ok(report) => {
                    let text = jet_server::keys_command::describe(&report) + "\n";
                    // The report is the command's output (stdout), not a log line.
                    let _ = std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes());
                    if !report.failed() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    }
                }
                Err(error) => {
                    eprintln!("jet-server: keys rotate: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        _ => {
            eprintln!("usage: jet-server [openapi | keys rotate]");
            return ExitCode::from(2);
        }
    }
    telemetry::init(&settings);
    tracing::info!(?settings, "starting");

    let application = match Application::build(settings.clone(), Overrides::default()).await {
        Ok(application) => application,
        Err(error) => {
            tracing::error!(%error, "start-up failed");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(
        "listening on http://{}:{}",
        settings.host,
        application.port()
    );
    match application.run_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "server failed");
            ExitCode::FAILURE
        }
    }
}
