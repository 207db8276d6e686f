//! `jet-server`: reads settings, starts logging, builds the application and serves until a
//! signal stops it. Exit codes: 0 after a graceful stop, 2 for bad configuration, 1 otherwise.

use std::process::ExitCode;

use jet_server::settings::Settings;
use jet_server::startup::{Application, Overrides};
use jet_server::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_process_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("jet-server: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
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
