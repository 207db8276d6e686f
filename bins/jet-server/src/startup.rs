//! Building and running the server, in the order the product requires:
//! settings → (tracing, in `main`) → data directory and keys → database migrate and connect →
//! permission catalog sync → identity → background workers (with the change bus, then the
//! workflow engine on it) → HTTP.
//!
//! On SIGINT or SIGTERM the realtime sockets are closed (1001, so clients reconnect to another
//! process), actix stops accepting connections and gives in-flight requests up to
//! `JET_SHUTDOWN_TIMEOUT_SECS` to finish; then the workers are stopped (the workflow engine
//! stops claiming and gives its node attempts in flight up to that long again) and [`Application::run_until_stopped`]
//! returns, so the process exits 0.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::from_fn;
use actix_web::web::{self, Data, ServiceConfig};
use actix_web::{App, HttpServer};
use database::DatabaseConfig;
use identity::{JwksHttpSource, KeySource, LocalSigningKey, TokenVerifier, VerifierConfig};
use ring::rand::SecureRandom;
use tokio_util::sync::CancellationToken;

use crate::http::middleware::{
    access_log, audit, body_limit, cors, rate_limit, request_id, security_headers,
};
use crate::settings::{EncryptionKey, IdentitySettings, Settings};
use crate::state::{AppState, EdgeConfig};
use crate::workers::Workers;

/// The encryption key file in the data directory (embedded default only).
pub const ENCRYPTION_KEY_FILE: &str = "encryption.key";

/// Extra routes registered by an embedder or a test.
pub type RouteHook = Arc<dyn Fn(&mut ServiceConfig) + Send + Sync>;

/// What a test or an embedder may replace. `Default` is what `main` uses.
#[derive(Clone)]
pub struct Overrides {
    /// Where Firebase signing keys come from (tests sign their own).
    pub key_source: Option<Arc<dyn KeySource>>,
    /// Additional routes.
    pub extra_routes: Option<RouteHook>,
    /// Let actix handle SIGINT/SIGTERM (off in tests, which run many servers per process).
    pub handle_signals: bool,
    /// HTTP worker threads; `None` uses one per core.
    pub http_workers: Option<usize>,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            key_source: None,
            extra_routes: None,
            handle_signals: true,
            http_workers: None,
        }
    }
}

impl std::fmt::Debug for Overrides {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Overrides")
            .field("key_source", &self.key_source)
            .field("extra_routes", &self.extra_routes.is_some())
            .field("handle_signals", &self.handle_signals)
            .finish()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data directory cannot be created.
    #[error("data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The encryption key file cannot be read or created, or is invalid.
    #[error("encryption key: {0}")]
    EncryptionKey(String),
    /// The database cannot be reached or migrated.
    #[error(transparent)]
    Database(#[from] database::Error),
    /// The permission catalog cannot be written.
    #[error("permission catalog: {0}")]
    Catalog(String),
    /// The change bus cannot connect.
    #[error("change bus: {0}")]
    ChangeBus(String),
    /// The workflow engine cannot start.
    #[error("{0}")]
    Engine(String),
    /// The identity provider cannot be set up.
    #[error("identity: {0}")]
    Identity(String),
    /// The listen address cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// host:port
        address: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A built server, bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    workers: Workers,
    /// Cancelled first on a stop: closes realtime sockets and event streams.
    closing: CancellationToken,
    handle_signals: bool,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Prepares everything and binds the listener.
    pub async fn build(settings: Settings, overrides: Overrides) -> Result<Self, StartupError> {
        std::fs::create_dir_all(&settings.data_dir).map_err(|source| StartupError::DataDir {
            path: settings.data_dir.clone(),
            source,
        })?;
        let keys = Arc::new(settings_key_ring(&settings)?);
        let runner = Arc::new(datasources::run::Runner::new(
            Arc::clone(&keys),
            runner_config(&settings)?,
        ));

        let database = DatabaseConfig {
            max_connections: settings.database_max_connections,
            ..DatabaseConfig::new(&settings.database_url)
        };
        database::migrate(&database).await?;
        let db = database::connect(&database).await?;
        rbac::store::sync_catalog(&db)
            .await
            .map_err(|e| StartupError::Catalog(e.to_string()))?;

        let verifier = Arc::new(build_verifier(&settings, &overrides)?);

        let limits = Arc::new(rate_limit::RateLimits::new(&settings.rate_limits));
        let mut workers = Workers::new();
        let gc_limits = Arc::clone(&limits);
        workers.spawn_periodic("rate-limit-gc", Duration::from_secs(60), move || {
            gc_limits.forget_idle()
        });

        let caches = crate::access_sync::Caches::new(settings.access_cache_ttl);
        let expiring = caches.clone();
        workers.spawn_periodic("access-cache-gc", Duration::from_secs(30), move || {
            expiring.forget_expired()
        });

        // The change bus: in-process on SQLite (one process), LISTEN/NOTIFY on PostgreSQL.
        let bus = match database::backend_of(&db) {
            database::Backend::Postgres => {
                let mut config = change_bus::PostgresConfig::new(&settings.database_url);
                config.listener_name = format!("jet-change-bus-{}", uuid::Uuid::now_v7().simple());
                let (bus, listener) = change_bus::ChangeBus::postgres(config)
                    .await
                    .map_err(|e| StartupError::ChangeBus(e.to_string()))?;
                workers.spawn("change-bus", move |stop| listener.run(stop));
                bus
            }
            database::Backend::Sqlite => change_bus::ChangeBus::in_process(),
        };
        let following = caches.clone();
        let announcements = bus
            .subscribe(crate::access_sync::TOPIC)
            .map_err(|e| StartupError::ChangeBus(e.to_string()))?;
        workers.spawn("access-sync", move |stop| {
            crate::access_sync::follow(announcements, following, stop)
        });

        // The workflow engine, with a pool of its own on PostgreSQL for the same reason as the
        // audit writer's below: it commits during the drain, after HTTP has stopped.
        let engine_db = match database::backend_of(&db) {
            database::Backend::Postgres => database::connect(&database).await?,
            database::Backend::Sqlite => db.clone(),
        };
        let workflows = crate::workflow_runtime::WorkflowRuntime::start(
            &settings.workflows,
            settings.shutdown_timeout,
            engine_db.clone(),
            bus.clone(),
            Arc::clone(&runner),
            &mut workers,
        )
        .map_err(|e| StartupError::Engine(e.to_string()))?;
        // The hub lives on this runtime with the engine's pool, like the engine itself.
        let hub = crate::realtime::hub::Hub::start(
            workflows.store(),
            engine_db.clone(),
            workers.stop_token(),
        );
        // On PostgreSQL the writer gets a pool of its own. Connections of the shared pool are
        // opened on actix's worker runtimes, which are shut down before the writer's final
        // flush; such a connection then fails ("Tokio context … being shutdown") and the last
        // entries were lost. This pool's connections are opened on the runtime that outlives
        // HTTP. SQLite connections run on their own threads (and an in-memory database must
        // keep one pool), so SQLite shares the pool.
        let audit_db = match database::backend_of(&db) {
            database::Backend::Postgres => {
                database::connect(&DatabaseConfig {
                    max_connections: 2,
                    ..database.clone()
                })
                .await?
            }
            database::Backend::Sqlite => db.clone(),
        };
        let (audit_sink, audit_writer) = ::audit::channel(
            audit_db,
            ::audit::WriterConfig {
                flush_interval: settings.audit_flush_interval,
            },
        );
        // Stopped after HTTP has drained (run_until_stopped), so it writes every last entry.
        workers.spawn("audit-writer", move |stop| audit_writer.run(stop));

        let cron = crate::cron::start(
            engine_db.clone(),
            workflows.clone(),
            Arc::clone(&runner),
            bus.clone(),
            audit_sink.clone(),
            chrono::Duration::from_std(settings.cron_misfire_grace)
                .unwrap_or(chrono::Duration::seconds(60)),
            &mut workers,
        )
        .map_err(|e| StartupError::ChangeBus(e.to_string()))?;
        // Delivery ids older than the signature window cannot be replayed (the timestamp
        // check refuses them): dropped once a minute by every process (idempotent).
        let pruning = engine_db.clone();
        workers.spawn("webhook-prune", move |stop: CancellationToken| async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    _ = every.tick() => {
                        if let Err(error) =
                            webhooks::deliveries::prune(&pruning, chrono::Utc::now()).await
                        {
                            tracing::warn!(%error, "could not prune webhook delivery ids");
                        }
                    }
                }
            }
        });
        let closing = CancellationToken::new();
        let realtime =
            crate::realtime::Realtime::new(hub, settings.realtime.clone(), closing.clone());

        let state = Data::new(AppState {
            db,
            verifier,
            edge: EdgeConfig {
                body_limit: settings.body_limit,
                cors: cors::CorsPolicy::new(settings.cors_allowed_origins.clone()),
                trust_forwarded_for: settings.rate_limits.trust_forwarded_for,
            },
            limits,
            keys,
            runner,
            audit: audit_sink,
            caches,
            bus,
            workflows,
            realtime,
            cron,
            folder_items: folder_items(),
            api_description: crate::http::openapi::serialized(&crate::http::routes()),
        });

        let address = format!("{}:{}", settings.host, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind {
                address: address.clone(),
                source,
            })?
            .port();

        let extra_routes = overrides.extra_routes.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .wrap(from_fn(audit::record))
                .wrap(from_fn(body_limit::check))
                .wrap(from_fn(rate_limit::per_ip))
                .wrap(from_fn(cors::apply))
                .wrap(security_headers::headers())
                .wrap(from_fn(access_log::log))
                .wrap(from_fn(request_id::assign))
                .configure(crate::http::configure)
                .configure(|cfg| {
                    if let Some(extra) = &extra_routes {
                        extra(cfg);
                    }
                })
                .default_service(web::to(crate::http::not_found))
        })
        .shutdown_timeout(settings.shutdown_timeout.as_secs())
        .on_connect(disable_nagle)
        .listen(listener)
        .map_err(|source| StartupError::Bind { address, source })?;
        if let Some(count) = overrides.http_workers {
            server = server.workers(count);
        }
        // Signals are handled in `run_until_stopped`, which closes the sockets first.
        server = server.disable_signals();

        Ok(Application {
            port,
            server: server.run(),
            workers,
            closing,
            handle_signals: overrides.handle_signals,
        })
    }

    /// The bound port (useful with `PORT=0`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Closes the realtime sockets and event streams (as a signal does before stopping).
    pub fn close_realtime(&self) {
        self.closing.cancel();
    }

    /// Serves until stopped (signal or handle), then stops the workers.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if self.handle_signals {
            let handle = self.server.handle();
            let closing = self.closing.clone();
            tokio::spawn(async move {
                if stop_signal().await {
                    tracing::info!("stop signal: closing realtime connections, then HTTP");
                    closing.cancel();
                    handle.stop(true).await;
                }
            });
        }
        let outcome = self.server.await;
        self.closing.cancel();
        self.workers.stop().await;
        tracing::info!("server stopped");
        outcome
    }
}

/// Sends each write at once. With Nagle's algorithm a small write waits for the client's
/// acknowledgement of the previous one, which the client delays (up to 40 ms on Linux): a
/// websocket event written just after another would wait that long.
fn disable_nagle(connection: &dyn std::any::Any, _: &mut actix_web::dev::Extensions) {
    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>()
        && let Err(error) = tcp.set_nodelay(true)
    {
        tracing::debug!(%error, "could not set TCP_NODELAY");
    }
}

/// Waits for SIGINT or SIGTERM; false when they cannot be listened to.
async fn stop_signal() -> bool {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::error!("cannot listen to stop signals");
            return false;
        };
        tokio::select! {
            _ = interrupt.recv() => true,
            _ = terminate.recv() => true,
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.is_ok()
    }
}

fn build_verifier(
    settings: &Settings,
    overrides: &Overrides,
) -> Result<TokenVerifier, StartupError> {
    let config = VerifierConfig {
        clock_skew: settings.clock_skew,
        ..VerifierConfig::default()
    };
    match &settings.identity {
        IdentitySettings::Firebase {
            project_id,
            jwks_url,
        } => {
            let source: Arc<dyn KeySource> = match &overrides.key_source {
                Some(source) => Arc::clone(source),
                None => {
                    Arc::new(JwksHttpSource::new(jwks_url.clone()).map_err(StartupError::Identity)?)
                }
            };
            tracing::info!(project_id, "identity: Firebase ID tokens");
            Ok(TokenVerifier::firebase(project_id, source, &config))
        }
        IdentitySettings::Local => {
            let key = LocalSigningKey::load_or_create(&settings.data_dir)
                .map_err(|e| StartupError::Identity(e.to_string()))?;
            tracing::warn!(
                key_file = %LocalSigningKey::path_in(&settings.data_dir).display(),
                "local identity mode: not for production. Tokens signed by the data directory's key \
                 are trusted; mint one with `cargo xtask token --email you@example.com`"
            );
            Ok(TokenVerifier::local(&key, &config))
        }
    }
}

/// The item types folders file, each in its owner's table.
fn folder_items() -> tenancy::folder_items::FolderItemRegistry {
    use tenancy::folder_items::ItemTable;
    use tenancy::folders::EntityType;
    let mut items = tenancy::folder_items::FolderItemRegistry::new();
    items.register(Arc::new(ItemTable {
        entity_type: EntityType::DataQuery,
        table: "data_queries",
    }));
    items.register(Arc::new(ItemTable {
        entity_type: EntityType::Workflow,
        table: "workflows",
    }));
    items.register(Arc::new(ItemTable {
        entity_type: EntityType::CronJob,
        table: "cron_jobs",
    }));
    items
}

/// The key ring the settings describe: `JET_ENCRYPTION_KEY` (or, on the embedded default, the
/// data directory's generated key) as the active key, `JET_ENCRYPTION_PREVIOUS_KEYS` as the
/// previous ones. The server and `jet-server keys rotate` use the same one.
pub fn settings_key_ring(
    settings: &Settings,
) -> Result<datasources::secrets::KeyRing, StartupError> {
    let active = match &settings.encryption_key {
        Some(key) => key.clone(),
        None => load_or_create_encryption_key(&settings.data_dir)?,
    };
    key_ring(&active, &settings.previous_encryption_keys)
}

/// The active key and the previous ones, as a ring; keys that share an id are refused.
fn key_ring(
    active: &EncryptionKey,
    previous: &[EncryptionKey],
) -> Result<datasources::secrets::KeyRing, StartupError> {
    let invalid = |e: &dyn std::fmt::Display| StartupError::EncryptionKey(e.to_string());
    let active = active.key().map_err(|e| invalid(&e))?;
    let previous = previous
        .iter()
        .map(|key| key.key().map_err(|e| invalid(&e)))
        .collect::<Result<Vec<_>, _>>()?;
    datasources::secrets::KeyRing::new(active, previous).map_err(|e| invalid(&e))
}

/// The connectors' limits and policy, and the directory `sqlite` datasources live in (created
/// if missing, so the embedded default has one).
fn runner_config(settings: &Settings) -> Result<datasources::run::RunnerConfig, StartupError> {
    let config = &settings.datasources;
    std::fs::create_dir_all(&config.sqlite_dir).map_err(|source| StartupError::DataDir {
        path: config.sqlite_dir.clone(),
        source,
    })?;
    let platform_database = database::sqlite_file(&settings.database_url);
    Ok(datasources::run::RunnerConfig {
        per_tenant: config.runs_per_tenant,
        env: datasources::connector::ConnectorEnv {
            limits: datasources::connector::RunLimits {
                connect_timeout: config.connect_timeout,
                statement_timeout: config.statement_timeout,
                max_rows: config.max_rows,
                ..datasources::connector::RunLimits::default()
            },
            network: datasources::network::NetworkPolicy::new(
                &config.network_deny,
                &config.network_allow,
            ),
            sqlite_dir: config.sqlite_dir.clone(),
            platform_database,
        },
    })
}

fn load_or_create_encryption_key(data_dir: &Path) -> Result<EncryptionKey, StartupError> {
    let path = data_dir.join(ENCRYPTION_KEY_FILE);
    let text = keyfile::load_or_create(&path, || {
        let mut key = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut key)
            .map_err(|_| std::io::Error::other("the system random source failed"))?;
        Ok(EncryptionKey::from_bytes(key).as_text().as_bytes().to_vec())
    })
    .map_err(|e| StartupError::EncryptionKey(format!("{}: {e}", path.display())))?;
    std::str::from_utf8(&text)
        .ok()
        .and_then(EncryptionKey::parse)
        .ok_or_else(|| {
            StartupError::EncryptionKey(format!(
                "{} does not hold 32 bytes of base64",
                path.display()
            ))
        })
}
