//! The limits every run obeys and what the operator configures for connectors.

use std::path::PathBuf;
use std::time::Duration;

use crate::network::NetworkPolicy;

/// Limits of one run; a datasource's own `connectTimeoutMs` / `statementTimeoutMs` override the
/// timeouts within their schema bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunLimits {
    /// Connecting (and acquiring a pooled connection).
    pub connect_timeout: Duration,
    /// One statement or request.
    pub statement_timeout: Duration,
    /// Rows kept; more set `truncated`.
    pub max_rows: usize,
    /// Bytes of result (as JSON, approximately) kept; more set `truncated`.
    pub max_bytes: usize,
}

impl Default for RunLimits {
    fn default() -> Self {
        RunLimits {
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            max_rows: 10_000,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// What the operator configures for every connector.
#[derive(Debug, Clone, Default)]
pub struct ConnectorEnv {
    /// Default limits.
    pub limits: RunLimits,
    /// Which addresses may be reached.
    pub network: NetworkPolicy,
    /// Where `sqlite` datasources' files live (`JET_SQLITE_DATASOURCE_DIR`).
    pub sqlite_dir: PathBuf,
    /// The platform's own database file, which a `sqlite` datasource may never open.
    pub platform_database: Option<PathBuf>,
}

impl ConnectorEnv {
    /// The limits for a datasource with these options.
    pub fn limits_for(&self, options: &crate::options::OpenOptions) -> RunLimits {
        let millis = |name| {
            options
                .integer(name)
                .and_then(|ms| u64::try_from(ms).ok())
                .map(Duration::from_millis)
        };
        RunLimits {
            connect_timeout: millis("connectTimeoutMs").unwrap_or(self.limits.connect_timeout),
            statement_timeout: millis("statementTimeoutMs")
                .or_else(|| millis("timeoutMs"))
                .unwrap_or(self.limits.statement_timeout),
            ..self.limits
        }
    }
}
