//! One process of taskledger: opens the event store, the read database and the bus, and runs the services it is
//! asked to run — the command service, the projection service, the notification service, any set of them, or all of them (embedded
//! mode) — behind one HTTP listener, until it is told to stop. The `taskledger` binary only parses flags and calls [`start`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use bus::relay::{RelayConfig, RelayHandle};
use bus::EventBus;
use command_service::{AppState, ServiceConfig, StoreReadiness};
use event_store::EventStore;
use http_api::ops::{ops_router, ReadinessCheck};
use http_api::SystemClock;
use notification::service::{NotificationService, ServiceParts};
use projection::db::ReadDb;
use projection::routes::{ProjectionState, QueryConfig};
use projection::runtime::ProjectorConfig;
use projection::ProjectionService;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use utoipa::OpenApi;

/// One service a process may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// The command service, its relay to the bus and the transparency log (`taskledger command-service`).
    Command,
    /// The projection service (`taskledger projection-service`).
    Projection,
    /// The notification service (`taskledger notification-service`): reminders and the in-app feed.
    Notification,
}

/// The services a process runs: any set of them. `taskledger serve` runs [`Services::ALL`]; each
/// `taskledger <name>-service` runs one ([`Services::only`]); a benchmark may run a few.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Services {
    command: bool,
    projection: bool,
    notification: bool,
}

impl Service {
    pub const EVERY: [Service; 3] = [Service::Command, Service::Projection, Service::Notification];

    pub fn name(self) -> &'static str {
        match self {
            Service::Command => "command",
            Service::Projection => "projection",
            Service::Notification => "notification",
        }
    }
}

impl Services {
    /// Every service in one process: embedded mode.
    pub const ALL: Services = Services { command: true, projection: true, notification: true };
    pub const NONE: Services = Services { command: false, projection: false, notification: false };

    pub const fn only(service: Service) -> Services {
        Services::NONE.with(service)
    }

    /// These services and `service`.
    pub const fn with(self, service: Service) -> Services {
        match service {
            Service::Command => Services { command: true, ..self },
            Service::Projection => Services { projection: true, ..self },
            Service::Notification => Services { notification: true, ..self },
        }
    }

    pub const fn contains(self, service: Service) -> bool {
        match service {
            Service::Command => self.command,
            Service::Projection => self.projection,
            Service::Notification => self.notification,
        }
    }

    /// The names of the services, `+`-separated: `command+projection`.
    pub fn names(self) -> String {
        let names: Vec<&str> =
            Service::EVERY.into_iter().filter(|service| self.contains(*service)).map(Service::name).collect();
        if names.is_empty() {
            "none".to_owned()
        } else {
            names.join("+")
        }
    }
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.names())
    }
}

/// Where things are and how to reach them. The URLs may hold passwords: `Debug` hides them.
#[derive(Clone)]
pub struct NodeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// PostgreSQL for events; SQLite in the data dir when absent.
    pub database_url: Option<String>,
    /// Where read models live; the event database (PostgreSQL) or `projections.db` in the data dir when absent.
    pub read_database_url: Option<String>,
    /// NATS with JetStream; the in-process bus when absent.
    pub nats_url: Option<String>,
    pub nats_replicas: usize,
    /// The JetStream stream and the first tokens of its subjects; changed only to run two installations side by
    /// side on one NATS (and by tests).
    pub nats_stream: String,
    pub nats_subject_prefix: String,
    pub body_limit_bytes: usize,
    pub demo: bool,
    /// The transparency log's origin and checkpoint policy (the log key is in the data dir or the environment).
    pub audit: audit::service::AuditConfig,
    /// The notification service's rule file; its defaults when absent.
    pub notification_config: Option<PathBuf>,
    /// The notification service's business clock (`TASKLEDGER_CLOCK`, for tests and drills): the system's unless
    /// told.
    pub clock: notification::clock::ClockSetting,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |url: &Option<String>| url.as_ref().map(|_| "<redacted>");
        f.debug_struct("NodeConfig")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redacted(&self.database_url))
            .field("read_database_url", &redacted(&self.read_database_url))
            .field("nats_url", &redacted(&self.nats_url))
            .field("body_limit_bytes", &self.body_limit_bytes)
            .finish()
    }
}

/// A running process: its address, and how to stop it.
pub struct Node {
    pub address: SocketAddr,
    pub command: Option<AppState>,
    pub projection: Option<ProjectionService>,
    pub notification: Option<NotificationService>,
    cancel: CancellationToken,
    tasks: JoinSet<()>,
}

impl Node {
    /// Stops accepting requests, finishes those in flight, stops the relay and the projectors.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Resolves when the process was asked to stop (its cancellation token).
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl NodeConfig {
    /// Defaults for everything but where the data lives: SQLite in `data_dir`, the in-process bus.
    pub fn embedded(listen: SocketAddr, data_dir: PathBuf) -> NodeConfig {
        let nats = bus_nats::NatsBusConfig::default();
        NodeConfig {
            listen,
            data_dir,
            database_url: None,
            read_database_url: None,
            nats_url: None,
            nats_replicas: 1,
            nats_stream: nats.stream_name,
            nats_subject_prefix: nats.subject_prefix,
            body_limit_bytes: 64 * 1024,
            demo: false,
            audit: audit::service::AuditConfig::default(),
            notification_config: None,
            clock: notification::clock::ClockSetting::System,
        }
    }

    pub fn describe_store(&self) -> String {
        match &self.database_url {
            Some(url) => format!("postgresql ({})", url.split('@').next_back().unwrap_or("")),
            None => format!("sqlite ({})", self.sqlite_path().display()),
        }
    }

    pub fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("taskledger.db")
    }

    /// Opens the event store and runs its migrations.
    pub async fn open_store(&self) -> anyhow::Result<Arc<dyn EventStore>> {
        match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                let store = event_store_postgres::PostgresEventStore::connect(url)
                    .await
                    .context("could not open the PostgreSQL event store")?;
                Ok(Arc::new(store))
            }
            Some(_) => anyhow::bail!("--database-url must start with postgres:// or postgresql://"),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("could not create data dir {}", self.data_dir.display()))?;
                let store = event_store_sqlite::SqliteEventStore::open(&self.sqlite_path())
                    .await
                    .context("could not open the SQLite event store")?;
                Ok(Arc::new(store))
            }
        }
    }

    /// Opens the read database: the given URL, else the event database (PostgreSQL), else `projections.db`.
    pub async fn open_read_db(&self) -> anyhow::Result<ReadDb> {
        let db = match self.read_database_url.as_ref().or(self.database_url.as_ref()) {
            Some(url) => ReadDb::connect(url).await,
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .with_context(|| format!("could not create data dir {}", self.data_dir.display()))?;
                ReadDb::open_sqlite(&self.data_dir.join("projections.db")).await
            }
        };
        db.context("could not open the read database")
    }

    /// Connects to NATS, or makes the in-process bus.
    pub async fn open_bus(&self) -> anyhow::Result<Arc<dyn EventBus>> {
        match &self.nats_url {
            Some(url) => {
                let config = bus_nats::NatsBusConfig {
                    num_replicas: self.nats_replicas,
                    stream_name: self.nats_stream.clone(),
                    subject_prefix: self.nats_subject_prefix.clone(),
                    ..bus_nats::NatsBusConfig::default()
                };
                let bus = bus_nats::NatsBus::connect(url, config).await.context("could not connect to NATS")?;
                Ok(Arc::new(bus))
            }
            None => Ok(Arc::new(bus::in_process::InProcessBus::default())),
        }
    }

    /// The token key: `TASKLEDGER_TOKEN_KEY` (base64) if set, else `<data dir>/token.key`, created on first use.
    pub fn token_key(&self) -> anyhow::Result<auth::TokenKey> {
        token_key(&self.data_dir)
    }
}

pub fn token_key(data_dir: &std::path::Path) -> anyhow::Result<auth::TokenKey> {
    let from_env = std::env::var("TASKLEDGER_TOKEN_KEY").ok();
    auth::TokenKey::resolve(from_env.as_deref(), data_dir).context("could not load the token key")
}

/// Starts the services and the HTTP listener.
pub async fn start(config: &NodeConfig, services: Services) -> anyhow::Result<Node> {
    let run_notification = services.contains(Service::Notification);
    // A bad rule file or holiday calendar stops start-up before anything is opened, naming the line.
    let notification_setup = if run_notification {
        let (rules, calendar) = notification::service::load_configuration(config.notification_config.as_deref())
            .context("could not load the notification rules")?;
        let clock = config.clock.build().context("could not set up the notification clock")?;
        Some((rules, calendar, clock))
    } else {
        None
    };
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("could not create data dir {}", config.data_dir.display()))?;
    let token_key = config.token_key()?;
    let store = config.open_store().await?;
    let bus = config.open_bus().await?;
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut router = Router::new();
    let mut openapi = utoipa::openapi::OpenApi::default();
    let mut checks: Vec<Arc<dyn ReadinessCheck>> =
        vec![Arc::new(StoreReadiness(store.clone())), Arc::new(BusReadiness(bus.clone()))];

    let run_command = services.contains(Service::Command);
    let run_projection = services.contains(Service::Projection);

    let mut command = None;
    if run_command {
        let relay = RelayHandle::default();
        tasks.spawn(bus::relay::run(store.clone(), bus.clone(), relay.clone(), RelayConfig::default(), cancel.clone()));
        let service_config = ServiceConfig { body_limit_bytes: config.body_limit_bytes, ..ServiceConfig::default() };
        let state = AppState::new(store.clone(), token_key.clone(), service_config).with_relay(relay);
        router = router.merge(command_service::api_routes(state.clone()));
        openapi = command_service::openapi::ApiDoc::openapi();
        let (data_dir, body_limit) = (&config.data_dir, config.body_limit_bytes);
        let audit = audit::service::start(
            store.clone(),
            data_dir,
            &config.audit,
            token_key.clone(),
            body_limit,
            cancel.clone(),
            &mut tasks,
        );
        router = router.merge(audit.await.context("could not start the transparency log")?);
        openapi = openapi.merge_from(audit::openapi::AuditApiDoc::openapi());
        command = Some(state);
    }

    let read_db = if run_projection || run_notification { Some(config.open_read_db().await?) } else { None };
    let mut projection = None;
    if run_projection {
        let read_db = read_db.clone().context("the read database is open")?;
        let service = ProjectionService::new(read_db.clone(), store.clone(), ProjectorConfig::default())
            .await
            .context("could not prepare the read models")?;
        service.catch_up().await.context("could not bring the read models up to date")?;
        service.spawn(bus.clone(), cancel.clone(), &mut tasks);
        let state = ProjectionState {
            db: read_db,
            projectors: service.projectors.clone(),
            token_key: Arc::new(token_key.clone()),
            clock: Arc::new(SystemClock),
            config: QueryConfig::default(),
        };
        router = router.merge(projection::routes::router(state));
        openapi = openapi.merge_from(projection::openapi::ProjectionApiDoc::openapi());
        checks.push(Arc::new(ProjectionReadiness(service.clone())));
        projection = Some(service);
    }

    let mut notification = None;
    if let Some((rules, calendar, clock)) = notification_setup {
        let read_db = read_db.clone().context("the read database is open")?;
        let nats = match (&rules.nats, &config.nats_url) {
            (Some(_), Some(url)) => {
                Some(async_nats::connect(url.as_str()).await.context("could not connect to NATS for notifications")?)
            }
            _ => None,
        };
        let service = NotificationService::new(ServiceParts {
            read_db,
            events: store.clone(),
            config: rules,
            calendar,
            clock,
            nats,
            owner: notification::dispatcher::replica_name(),
            projector: ProjectorConfig::default(),
        })
        .await
        .context("could not start the notification service")?;
        service.catch_up().await.context("could not derive reminders from the store")?;
        service.spawn(bus.clone(), cancel.clone(), &mut tasks);
        router = router.merge(service.routes(Arc::new(token_key.clone())));
        openapi = openapi.merge_from(notification::feed::FeedApiDoc::openapi());
        checks.push(Arc::new(NotificationReadiness(service.clone())));
        notification = Some(service);
    }

    if config.demo {
        let state = command.as_ref().context("--demo needs the command service in this process")?;
        let demo = command_service::demo::load(state).await.context("could not load the demo plan")?;
        let verb = if demo.created { "loaded" } else { "already present" };
        tracing::info!(plan_id = %demo.plan_id, "demo plan {verb}");
        println!("demo plan {verb}: {}", demo.plan_id);
    }

    let router = http_api::ops::finish(
        router.merge(ops_router(openapi, checks, Duration::from_secs(2))),
        config.body_limit_bytes,
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("could not listen on {}", config.listen))?;
    let address = listener.local_addr()?;
    let shutdown = cancel.clone();
    tasks.spawn(async move {
        let served = axum::serve(listener, router).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        if let Err(error) = served {
            tracing::error!(%error, "HTTP server failed");
        }
    });
    tracing::info!(%address, store = %config.describe_store(), ?services, "taskledger listening");
    Ok(Node { address, command, projection, notification, cancel, tasks })
}

struct BusReadiness(Arc<dyn EventBus>);

#[async_trait::async_trait]
impl ReadinessCheck for BusReadiness {
    fn name(&self) -> &'static str {
        "bus"
    }

    async fn check(&self) -> Result<String, String> {
        self.0.ping().await.map(|()| "ok".to_owned()).map_err(|error| error.to_string())
    }
}

/// Ready while the read database answers; parked events are reported (they do not make the node unready, since the
/// other events keep flowing, but an operator must look at them).
struct ProjectionReadiness(ProjectionService);

#[async_trait::async_trait]
impl ReadinessCheck for ProjectionReadiness {
    fn name(&self) -> &'static str {
        "projections"
    }

    async fn check(&self) -> Result<String, String> {
        match self.0.n_parked().await {
            Ok(0) => Ok("ok".to_owned()),
            Ok(n_parked) => Ok(format!("ok; {n_parked} parked event(s), see GET /v1/projections")),
            Err(error) => Err(error.to_string()),
        }
    }
}

/// Ready while the notification tables answer; reports the due backlog and parked events.
struct NotificationReadiness(NotificationService);

#[async_trait::async_trait]
impl ReadinessCheck for NotificationReadiness {
    fn name(&self) -> &'static str {
        "notifications"
    }

    async fn check(&self) -> Result<String, String> {
        self.0.readiness().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_are_a_set() {
        let benchmark_node = Services::only(Service::Command).with(Service::Projection);
        assert!(benchmark_node.contains(Service::Command));
        assert!(benchmark_node.contains(Service::Projection));
        assert!(!benchmark_node.contains(Service::Notification));
        assert_eq!(benchmark_node.names(), "command+projection");
        assert_eq!(format!("{benchmark_node:?}"), "command+projection");
        assert_eq!(Services::ALL.names(), "command+projection+notification");
        assert_eq!(Services::NONE.names(), "none");
        let all = Service::EVERY.into_iter().fold(Services::NONE, Services::with);
        assert_eq!(all, Services::ALL);
        for service in Service::EVERY {
            let only = Services::only(service);
            assert!(Service::EVERY.into_iter().all(|other| only.contains(other) == (other == service)));
        }
    }
}
