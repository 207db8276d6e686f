//! Logging set-up: `tracing` with an `EnvFilter` from `RUST_LOG`, as text or JSON lines.

use tracing_subscriber::EnvFilter;

use crate::settings::{LogFormat, Settings};

/// Installs the global subscriber (once per process; later calls are ignored).
pub fn init(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|error| {
        eprintln!("RUST_LOG is invalid ({error}); using `info`");
        EnvFilter::new("info")
    });
    // Colour only on a terminal: escape codes in a log file or a collector are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let _ = match settings.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
