//! Typed settings, read once at start-up from the environment and an optional TOML file.
//!
//! Every setting has one name, used both as the environment variable and as the key in the file
//! named by `JET_CONFIG_FILE`; the environment wins. [`Settings::load`] takes the lookup as a
//! function, so tests build settings without touching the process environment. The table of names
//! and defaults is in the README.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use database::Backend;
use datasources::network::{Cidr, NetworkPolicy};
use datasources::secrets::{Key, KeyParseError};

/// Default request body limit: 5 MB.
pub const DEFAULT_BODY_LIMIT: usize = 5 * 1024 * 1024;

/// `development` or `production`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local use: local identity allowed, human-readable logs by default.
    Development,
    /// Production: Firebase and an explicit encryption key required.
    Production,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable.
    Text,
    /// One JSON object per line.
    Json,
}

/// Who signs the tokens the server trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySettings {
    /// Firebase ID tokens for a project.
    Firebase {
        /// The Firebase project id (`aud`).
        project_id: String,
        /// Where the signing keys are published.
        jwks_url: String,
    },
    /// Tokens signed by the data directory's local key (`cargo xtask token`).
    Local,
}

/// Request rate limits; `0` turns a limit off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Requests per minute from one client IP.
    pub per_ip_per_minute: u32,
    /// Requests per minute by one authenticated principal.
    pub per_principal_per_minute: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_forwarded_for: bool,
}

/// A key that seals datasource secrets: 32 bytes of standard base64, optionally prefixed by an
/// explicit key id (`2026-12:BASE64`); without one, the id is derived from the key. Never
/// printed.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey(String);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(..)")
    }
}

impl EncryptionKey {
    /// Checks `BASE64` or `id:BASE64`.
    pub fn parse(text: &str) -> Option<Self> {
        Key::parse(text)
            .ok()
            .map(|_| EncryptionKey(text.trim().to_string()))
    }

    /// A fresh key's text (no explicit id), as written to the data directory's key file.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        EncryptionKey(STANDARD.encode(bytes))
    }

    /// The key itself.
    pub fn key(&self) -> Result<Key, KeyParseError> {
        Key::parse(&self.0)
    }

    /// The text, as stored in the key file.
    pub fn as_text(&self) -> &str {
        &self.0
    }
}

/// What the datasource connectors obey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasourceSettings {
    /// Where `sqlite` datasources' files live.
    pub sqlite_dir: PathBuf,
    /// Ranges refused on top of the built-in ones (`JET_NETWORK_DENY`).
    pub network_deny: Vec<Cidr>,
    /// Ranges allowed even when denied (`JET_NETWORK_ALLOW`).
    pub network_allow: Vec<Cidr>,
    /// Queries one tenant may run at once in a process.
    pub runs_per_tenant: usize,
    /// Connecting, unless a datasource sets its own.
    pub connect_timeout: Duration,
    /// One statement or request, unless a datasource sets its own.
    pub statement_timeout: Duration,
    /// Rows a result keeps.
    pub max_rows: usize,
}

/// How the server runs workflows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowSettings {
    /// Node attempts this process runs at once (`JET_WORKFLOW_CONCURRENCY`); 0 makes it a
    /// front-end process that executes no nodes (HTTP and realtime only).
    pub concurrency: usize,
    /// How long a claimed node attempt is reserved for this process; after a crash another
    /// process resumes it once this lapses (`JET_WORKFLOW_LEASE_SECS`).
    pub lease: Duration,
    /// How often an idle process looks for work other processes queued, when no wake-up came
    /// over the change bus (`JET_WORKFLOW_POLL_MS`).
    pub poll_interval: Duration,
    /// Finished runs are deleted this many days after they ended; 0 keeps them
    /// (`JET_RUN_RETENTION_DAYS`).
    pub retention_days: u32,
    /// Nodes per workflow (`JET_WORKFLOW_MAX_NODES`).
    pub max_nodes: usize,
    /// A run's context as JSON, in bytes (`JET_RUN_MAX_CONTEXT_BYTES`, sizes like `16MB`).
    pub max_context_bytes: usize,
    /// Events in a run's log (`JET_RUN_MAX_EVENTS`).
    pub max_events: u64,
    /// Scripts the sandbox runs at once (`JET_SCRIPTS_IN_FLIGHT`).
    pub scripts_in_flight: usize,
}

/// The realtime socket's limits.
#[derive(Debug, Clone)]
pub struct RealtimeSettings {
    /// Open sockets per user or API key, in this process (`JET_WS_MAX_SOCKETS_PER_PRINCIPAL`).
    pub max_sockets_per_principal: usize,
    /// Rooms one socket may subscribe to (`JET_WS_MAX_SUBSCRIPTIONS`).
    pub max_subscriptions: usize,
    /// Largest message a client may send, in bytes (`JET_WS_MAX_MESSAGE_BYTES`).
    pub max_message_bytes: usize,
    /// Events queued for one socket; a run subscription waits for room beyond that, a live
    /// feed loses events and closes the socket (`JET_WS_QUEUE_EVENTS`).
    pub queue_events: usize,
    /// How long a write to a socket may wait for the client to read before the socket is
    /// closed as too slow (`JET_WS_STALL_SECS`).
    pub stall_timeout: Duration,
    /// How often the server pings; a socket silent for three intervals is closed
    /// (`JET_WS_HEARTBEAT_SECS`).
    pub heartbeat: Duration,
    /// How long a socket opened without credentials has to send its `auth` message
    /// (`JET_WS_AUTH_TIMEOUT_SECS`).
    pub auth_timeout: Duration,
}

/// Everything the server is configured with.
#[derive(Clone)]
pub struct Settings {
    /// Listen address.
    pub host: String,
    /// Listen port; 0 picks a free one.
    pub port: u16,
    /// Where the embedded database and generated keys live.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`. May carry a password: never logged.
    pub database_url: String,
    /// Connection pool size.
    pub database_max_connections: u32,
    /// From `JET_ENCRYPTION_KEY`; when absent the embedded default generates one in the data dir.
    pub encryption_key: Option<EncryptionKey>,
    /// From `JET_ENCRYPTION_PREVIOUS_KEYS` (comma-separated): still accepted for opening, until
    /// `jet-server keys rotate` has re-sealed every row under the active key.
    pub previous_encryption_keys: Vec<EncryptionKey>,
    /// Connector limits and policy.
    pub datasources: DatasourceSettings,
    /// The workflow engine's workers and retention.
    pub workflows: WorkflowSettings,
    /// The realtime socket's limits.
    pub realtime: RealtimeSettings,
    /// A cron fire time older than this when the ticker comes to it is missed (the job's
    /// misfire policy decides); `JET_CRON_MISFIRE_GRACE_SECS`.
    pub cron_misfire_grace: Duration,
    /// Which tokens are trusted.
    pub identity: IdentitySettings,
    /// Allowed clock difference for token `iat` and `auth_time`.
    pub clock_skew: Duration,
    /// Exact origins allowed to call with credentials.
    pub cors_allowed_origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Development or production.
    pub environment: Environment,
    /// Request rate limits.
    pub rate_limits: RateLimitSettings,
    /// How long a graceful stop waits for in-flight requests.
    pub shutdown_timeout: Duration,
    /// How long loaded grants may be reused (0: never); the staleness bound across processes.
    pub access_cache_ttl: Duration,
    /// How long after it is queued an audit entry is written (with everything queued by then).
    pub audit_flush_interval: Duration,
    /// Log filter (`RUST_LOG` syntax).
    pub log_filter: String,
    /// Log line format.
    pub log_format: LogFormat,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("data_dir", &self.data_dir)
            .field("database", &self.backend())
            .field("identity", &self.identity)
            .field("environment", &self.environment)
            .field("cors_allowed_origins", &self.cors_allowed_origins)
            .field("body_limit", &self.body_limit)
            .field("rate_limits", &self.rate_limits)
            .finish_non_exhaustive()
    }
}

/// A setting that cannot be used. The message names the variable, never a secret value.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value does not parse.
    #[error("{name}: {problem}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A required value is missing.
    #[error("{name} is required {reason}")]
    Missing {
        /// The variable.
        name: &'static str,
        /// When it is required.
        reason: &'static str,
    },
    /// Local identity was refused.
    #[error(
        "FIREBASE_PROJECT_ID is required {reason}: local identity mode lets anyone holding the \
         data directory's key act as any user. Set JET_ALLOW_LOCAL_IDENTITY=1 to accept that."
    )]
    LocalIdentityRefused {
        /// Why the refusal applies.
        reason: &'static str,
    },
    /// The config file cannot be read.
    #[error("JET_CONFIG_FILE {path}: {problem}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}

const KEY_FORMAT: &str = "expected 32 bytes in standard base64, optionally prefixed by `id:`";

fn invalid(name: &'static str, problem: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        name,
        problem: problem.into(),
    }
}

/// Environment first, then the config file.
struct Lookup<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: HashMap<String, String>,
}

impl Lookup<'_> {
    fn get(&self, name: &str) -> Option<String> {
        (self.env)(name)
            .or_else(|| self.file.get(name).cloned())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    fn parse<T: std::str::FromStr>(
        &self,
        name: &'static str,
        default: T,
    ) -> Result<T, SettingsError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e: T::Err| invalid(name, e.to_string())),
        }
    }

    /// A count or duration that must not be zero.
    fn at_least_one<T>(&self, name: &'static str, default: T) -> Result<T, SettingsError>
    where
        T: std::str::FromStr + PartialEq + From<u8>,
        T::Err: std::fmt::Display,
    {
        let value = self.parse(name, default)?;
        if value == T::from(0) {
            return Err(invalid(name, "must be at least 1"));
        }
        Ok(value)
    }

    fn flag(&self, name: &'static str) -> Result<bool, SettingsError> {
        match self
            .get(name)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("0" | "false" | "no") => Ok(false),
            Some("1" | "true" | "yes") => Ok(true),
            Some(_) => Err(invalid(name, "expected 1/0, true/false or yes/no")),
        }
    }
}

impl Settings {
    /// Loads from the process environment.
    pub fn from_process_env() -> Result<Self, SettingsError> {
        Self::load(&|name| std::env::var(name).ok())
    }

    /// Loads from `env` (and the file it may name), applying defaults and cross-checks.
    pub fn load(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let file = match env("JET_CONFIG_FILE") {
            Some(path) if !path.trim().is_empty() => read_config_file(Path::new(path.trim()))?,
            _ => HashMap::new(),
        };
        let vars = Lookup { env, file };

        let environment = match vars.get("JET_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(_) => return Err(invalid("JET_ENV", "expected development or production")),
        };
        let data_dir = PathBuf::from(vars.get("JET_DATA_DIR").unwrap_or_else(|| "./data".into()));
        let database_url = vars
            .get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", data_dir.join("jet.db").display()));
        let backend = Backend::of_url(&database_url)
            .map_err(|_| invalid("DATABASE_URL", "expected sqlite:… or postgres://…"))?;

        let encryption_key = match vars.get("JET_ENCRYPTION_KEY") {
            Some(text) => Some(
                EncryptionKey::parse(&text)
                    .ok_or_else(|| invalid("JET_ENCRYPTION_KEY", KEY_FORMAT))?,
            ),
            None => None,
        };
        let previous_encryption_keys = vars
            .get("JET_ENCRYPTION_PREVIOUS_KEYS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(|text| {
                EncryptionKey::parse(text)
                    .ok_or_else(|| invalid("JET_ENCRYPTION_PREVIOUS_KEYS", KEY_FORMAT))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cidrs = |name: &'static str| {
            NetworkPolicy::parse_list(&vars.get(name).unwrap_or_default())
                .map_err(|problem| invalid(name, problem))
        };
        let millis = |name: &'static str, default: u64| {
            vars.at_least_one(name, default).map(Duration::from_millis)
        };
        let datasources = DatasourceSettings {
            sqlite_dir: vars
                .get("JET_SQLITE_DATASOURCE_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("datasources")),
            network_deny: cidrs("JET_NETWORK_DENY")?,
            network_allow: cidrs("JET_NETWORK_ALLOW")?,
            runs_per_tenant: vars.at_least_one("JET_QUERY_RUNS_PER_TENANT", 16)?,
            connect_timeout: millis("JET_QUERY_CONNECT_TIMEOUT_MS", 5_000)?,
            statement_timeout: millis("JET_QUERY_TIMEOUT_MS", 30_000)?,
            max_rows: vars.at_least_one("JET_QUERY_MAX_ROWS", 10_000)?,
        };
        let strict_reason = if environment == Environment::Production {
            Some("when JET_ENV=production")
        } else if backend == Backend::Postgres {
            Some("when DATABASE_URL is PostgreSQL")
        } else {
            None
        };
        if let (None, Some(reason)) = (&encryption_key, strict_reason) {
            return Err(SettingsError::Missing {
                name: "JET_ENCRYPTION_KEY",
                reason,
            });
        }

        let identity = match vars.get("FIREBASE_PROJECT_ID") {
            Some(project_id) => IdentitySettings::Firebase {
                project_id,
                jwks_url: vars
                    .get("FIREBASE_JWKS_URL")
                    .unwrap_or_else(|| identity::GOOGLE_SECURETOKEN_JWKS_URL.into()),
            },
            None => {
                if let Some(reason) = strict_reason
                    && !vars.flag("JET_ALLOW_LOCAL_IDENTITY")?
                {
                    return Err(SettingsError::LocalIdentityRefused { reason });
                }
                IdentitySettings::Local
            }
        };

        let cors_allowed_origins = parse_origins(vars.get("CORS_ALLOWED_ORIGINS"))?;
        let body_limit = match vars.get("JET_BODY_LIMIT") {
            None => DEFAULT_BODY_LIMIT,
            Some(raw) => parse_size(&raw).ok_or_else(|| {
                invalid(
                    "JET_BODY_LIMIT",
                    "expected a byte count such as 5MB, 512KB or 1048576",
                )
            })?,
        };
        let log_format = match vars.get("JET_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(_) => return Err(invalid("JET_LOG_FORMAT", "expected text or json")),
        };

        Ok(Settings {
            host: vars.get("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port: vars.parse("PORT", 8090)?,
            data_dir,
            database_url,
            database_max_connections: vars.parse("DATABASE_MAX_CONNECTIONS", 10)?,
            encryption_key,
            previous_encryption_keys,
            datasources,
            workflows: WorkflowSettings {
                concurrency: vars.parse("JET_WORKFLOW_CONCURRENCY", 10)?,
                lease: Duration::from_secs(vars.at_least_one("JET_WORKFLOW_LEASE_SECS", 60)?),
                poll_interval: Duration::from_millis(
                    vars.at_least_one("JET_WORKFLOW_POLL_MS", 1_000)?,
                ),
                retention_days: vars.parse("JET_RUN_RETENTION_DAYS", 30)?,
                max_nodes: vars.at_least_one("JET_WORKFLOW_MAX_NODES", 500)?,
                max_context_bytes: match vars.get("JET_RUN_MAX_CONTEXT_BYTES") {
                    None => 16 * 1024 * 1024,
                    Some(raw) => parse_size(&raw).filter(|n| *n > 0).ok_or_else(|| {
                        invalid("JET_RUN_MAX_CONTEXT_BYTES", "expected a size such as 16MB")
                    })?,
                },
                max_events: vars.at_least_one("JET_RUN_MAX_EVENTS", 1_000_000)?,
                scripts_in_flight: vars.at_least_one("JET_SCRIPTS_IN_FLIGHT", 4)?,
            },
            cron_misfire_grace: Duration::from_secs(
                vars.at_least_one("JET_CRON_MISFIRE_GRACE_SECS", 60)?,
            ),
            realtime: RealtimeSettings {
                max_sockets_per_principal: vars
                    .at_least_one("JET_WS_MAX_SOCKETS_PER_PRINCIPAL", 32)?,
                max_subscriptions: vars.at_least_one("JET_WS_MAX_SUBSCRIPTIONS", 100)?,
                max_message_bytes: match vars.get("JET_WS_MAX_MESSAGE_BYTES") {
                    None => 64 * 1024,
                    Some(raw) => parse_size(&raw).filter(|n| *n > 0).ok_or_else(|| {
                        invalid("JET_WS_MAX_MESSAGE_BYTES", "expected a size such as 64KB")
                    })?,
                },
                queue_events: vars.at_least_one("JET_WS_QUEUE_EVENTS", 1_024)?,
                stall_timeout: Duration::from_secs(vars.at_least_one("JET_WS_STALL_SECS", 10)?),
                heartbeat: Duration::from_secs(vars.at_least_one("JET_WS_HEARTBEAT_SECS", 20)?),
                auth_timeout: Duration::from_secs(
                    vars.at_least_one("JET_WS_AUTH_TIMEOUT_SECS", 5)?,
                ),
            },
            identity,
            clock_skew: Duration::from_secs(vars.parse("JET_CLOCK_SKEW_SECS", 300)?),
            cors_allowed_origins,
            body_limit,
            environment,
            rate_limits: RateLimitSettings {
                per_ip_per_minute: vars.parse("JET_RATE_LIMIT_PER_IP", 1200)?,
                per_principal_per_minute: vars.parse("JET_RATE_LIMIT_PER_PRINCIPAL", 600)?,
                trust_forwarded_for: vars.flag("JET_TRUST_FORWARDED_FOR")?,
            },
            shutdown_timeout: Duration::from_secs(vars.parse("JET_SHUTDOWN_TIMEOUT_SECS", 20)?),
            access_cache_ttl: Duration::from_secs(vars.parse("JET_ACCESS_CACHE_SECS", 2)?),
            audit_flush_interval: Duration::from_millis(vars.parse("JET_AUDIT_FLUSH_MS", 250)?),
            log_filter: vars.get("RUST_LOG").unwrap_or_else(|| "info".into()),
            log_format,
        })
    }

    /// The database backend `database_url` selects.
    pub fn backend(&self) -> Backend {
        Backend::of_url(&self.database_url).unwrap_or(Backend::Sqlite)
    }
}

fn read_config_file(path: &Path) -> Result<HashMap<String, String>, SettingsError> {
    let file_error = |problem: String| SettingsError::ConfigFile {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| file_error(e.to_string()))?;
    table
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| item.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => return Err(file_error(format!("{key}: unsupported value {other}"))),
            };
            Ok((key.to_ascii_uppercase(), value))
        })
        .collect()
}

fn parse_origins(raw: Option<String>) -> Result<Vec<String>, SettingsError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let lowered = origin.to_ascii_lowercase();
            if lowered == "*" || lowered == "null" {
                return Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{origin} is never allowed: list exact origins"),
                ));
            }
            if !(lowered.starts_with("http://") || lowered.starts_with("https://"))
                || origin.ends_with('/')
            {
                return Err(invalid(
                    "CORS_ALLOWED_ORIGINS",
                    format!("{origin} is not an origin like https://admin.example.com"),
                ));
            }
            Ok(lowered)
        })
        .collect()
}

/// `5MB`, `512KB`, `1GB`, `1048576` (decimal units are 1024-based, as is usual for limits).
fn parse_size(raw: &str) -> Option<usize> {
    let raw = raw.trim().to_ascii_uppercase();
    let (digits, unit) = raw
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| raw.split_at(i))
        .unwrap_or((&raw, ""));
    let multiplier: usize = match unit.trim() {
        "" | "B" => 1,
        "KB" | "K" | "KIB" => 1024,
        "MB" | "M" | "MIB" => 1024 * 1024,
        "GB" | "G" | "GIB" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits
        .parse::<usize>()
        .ok()?
        .checked_mul(multiplier)
        .filter(|n| *n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::load(&move |name| map.get(name).cloned())
    }

    const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    #[test]
    fn defaults_describe_the_embedded_server() {
        let settings = load(&[]).unwrap();
        assert_eq!(settings.host, "127.0.0.1");
        assert_eq!(settings.port, 8090);
        assert_eq!(settings.data_dir, PathBuf::from("./data"));
        assert_eq!(settings.database_url, "sqlite://./data/jet.db?mode=rwc");
        assert_eq!(settings.identity, IdentitySettings::Local);
        assert_eq!(settings.body_limit, 5 * 1024 * 1024);
        assert_eq!(settings.environment, Environment::Development);
        assert!(settings.encryption_key.is_none());
        assert!(settings.cors_allowed_origins.is_empty());
    }

    #[test]
    fn postgres_or_production_demand_a_key_and_firebase() {
        let pg = ("DATABASE_URL", "postgres://postgres@127.0.0.1/jet");
        type Vars<'a> = Vec<(&'a str, &'a str)>;
        let cases: Vec<(Vars<'_>, Option<&str>)> = vec![
            (vec![pg], Some("JET_ENCRYPTION_KEY is required")),
            (
                vec![pg, ("JET_ENCRYPTION_KEY", KEY)],
                Some("FIREBASE_PROJECT_ID is required"),
            ),
            (
                vec![
                    pg,
                    ("JET_ENCRYPTION_KEY", KEY),
                    ("JET_ALLOW_LOCAL_IDENTITY", "1"),
                ],
                None,
            ),
            (
                vec![
                    pg,
                    ("JET_ENCRYPTION_KEY", KEY),
                    ("FIREBASE_PROJECT_ID", "p"),
                ],
                None,
            ),
            (
                vec![("JET_ENV", "production")],
                Some("JET_ENCRYPTION_KEY is required"),
            ),
            (
                vec![("JET_ENV", "production"), ("JET_ENCRYPTION_KEY", KEY)],
                Some("FIREBASE_PROJECT_ID is required"),
            ),
            (
                vec![("JET_ENCRYPTION_KEY", "c2hvcnQ=")],
                Some("JET_ENCRYPTION_KEY: expected 32 bytes"),
            ),
        ];
        for (vars, expected) in cases {
            let outcome = load(&vars).err().map(|e| e.to_string());
            match expected {
                None => assert!(outcome.is_none(), "{vars:?}: {outcome:?}"),
                Some(text) => {
                    let message = outcome.unwrap_or_default();
                    assert!(message.contains(text), "{vars:?}: {message}");
                }
            }
        }
    }

    #[test]
    fn bad_values_name_their_variable_and_never_echo_secrets() {
        let cases = [
            ("PORT", "eighty", "PORT"),
            ("JET_ENV", "staging", "JET_ENV"),
            (
                "DATABASE_URL",
                "mysql://root:hunter2@db/jet",
                "DATABASE_URL",
            ),
            ("JET_BODY_LIMIT", "lots", "JET_BODY_LIMIT"),
            ("CORS_ALLOWED_ORIGINS", "*", "CORS_ALLOWED_ORIGINS"),
            (
                "CORS_ALLOWED_ORIGINS",
                "https://a.example.com,null",
                "CORS_ALLOWED_ORIGINS",
            ),
            (
                "CORS_ALLOWED_ORIGINS",
                "admin.example.com",
                "CORS_ALLOWED_ORIGINS",
            ),
            (
                "JET_TRUST_FORWARDED_FOR",
                "maybe",
                "JET_TRUST_FORWARDED_FOR",
            ),
        ];
        for (name, value, expected) in cases {
            let message = load(&[(name, value)]).unwrap_err().to_string();
            assert!(message.starts_with(expected), "{name}={value}: {message}");
            assert!(!message.contains("hunter2"));
        }
    }

    #[test]
    fn sizes_parse_with_units() {
        let cases = [
            ("1048576", Some(1_048_576)),
            ("5MB", Some(5 * 1024 * 1024)),
            ("512kb", Some(512 * 1024)),
            ("1 GB", Some(1024 * 1024 * 1024)),
            ("0", None),
            ("MB", None),
            ("5 parsecs", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(parse_size(raw), expected, "{raw}");
        }
    }

    #[test]
    fn the_config_file_fills_in_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jet.toml");
        std::fs::write(&path, "port = 9000\nhost = \"0.0.0.0\"\ncors_allowed_origins = [\"https://a.example.com\", \"https://b.example.com\"]\n").unwrap();
        let path = path.display().to_string();
        let settings = load(&[("JET_CONFIG_FILE", &path), ("HOST", "127.0.0.2")]).unwrap();
        assert_eq!(settings.port, 9000);
        assert_eq!(settings.host, "127.0.0.2");
        assert_eq!(
            settings.cors_allowed_origins,
            vec!["https://a.example.com", "https://b.example.com"]
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let settings = load(&[
            ("DATABASE_URL", "postgres://u:hunter2@db/jet"),
            ("JET_ENCRYPTION_KEY", KEY),
            ("FIREBASE_PROJECT_ID", "p"),
        ])
        .unwrap();
        let printed = format!("{settings:?}");
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains(KEY));
    }
}
