//! The notification service assembled: the rule file and the holiday calendar loaded (a bad line stops start-up,
//! naming it), the channels built from their settings, the consumer (a `projection::runtime::Projector` over
//! [`crate::model::NotificationModel`]) and the [`crate::dispatcher::Dispatcher`], run until a cancellation token
//! fires, and the HTTP routes (the feed, endpoints' health, dead letters).
//!
//! `app` runs it in a process of its own (`taskledger notification-service`, against PostgreSQL and NATS, as many
//! replicas as wanted) or beside the other services (`taskledger serve`: the SQLite read database and the
//! in-process bus). The in-app feed is always a channel; email, webhooks and NATS are when configured.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use auth::TokenKey;
use axum::Router;
use bus::EventBus;
use event_store::EventStore;
use http_api::Clock;
use projection::db::ReadDb;
use projection::runtime::{ProjectionError, Projector, ProjectorConfig};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::calendar::{CalendarError, HolidayCalendar};
use crate::channel::Channel;
use crate::channels::email::{EmailChannel, EmailConfig, EmailConfigError, SmtpCredentials, SmtpTls};
use crate::channels::nats::{NatsChannel, NatsChannelConfig, NatsChannelError};
use crate::channels::webhook::{WebhookChannel, WebhookConfig, WebhookConfigError, WebhookEndpoint, WebhookSecret};
use crate::channels::SecretText;
use crate::dispatcher::{Dispatcher, DispatcherConfig};
use crate::feed::{FeedChannel, FeedState};
use crate::model::NotificationModel;
use crate::rules::{ConfigError, NotificationConfig};
use crate::schedule::Scheduler;
use crate::store::{NotifyStore, StoreError};

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("invalid email settings")]
    Email(#[from] EmailConfigError),
    #[error("invalid webhook settings")]
    Webhook(#[from] WebhookConfigError),
    #[error("cannot set up the NATS notification stream")]
    Nats(#[from] NatsChannelError),
    #[error("NATS is configured in the rule file but this process has no NATS connection (give --nats-url)")]
    NatsUnavailable,
    #[error("cannot open the notification tables")]
    Store(#[from] StoreError),
    #[error("cannot start the notification consumer")]
    Projection(#[from] ProjectionError),
}

/// The rule file (or the defaults, without one) and the calendar it names.
pub fn load_configuration(path: Option<&Path>) -> Result<(NotificationConfig, HolidayCalendar), ServiceError> {
    let config = match path {
        Some(path) => NotificationConfig::load_file(path)?,
        None => NotificationConfig::default(),
    };
    let calendar = config.calendar()?;
    Ok((config, calendar))
}

/// A running-ready notification service: call [`NotificationService::spawn`] to run it.
#[derive(Clone)]
pub struct NotificationService {
    pub store: NotifyStore,
    pub projector: Arc<Projector>,
    pub dispatcher: Arc<Dispatcher>,
    pub scheduler: Arc<Scheduler>,
    clock: Arc<dyn Clock>,
}

/// What the service is built from.
pub struct ServiceParts {
    pub read_db: ReadDb,
    pub events: Arc<dyn EventStore>,
    pub config: NotificationConfig,
    pub calendar: HolidayCalendar,
    pub clock: Arc<dyn Clock>,
    /// For the NATS channel, when the process has a connection.
    pub nats: Option<async_nats::Client>,
    /// This replica's name in leases.
    pub owner: String,
    pub projector: ProjectorConfig,
}

impl NotificationService {
    pub async fn new(parts: ServiceParts) -> Result<NotificationService, ServiceError> {
        let store = NotifyStore::open(parts.read_db.clone()).await?;
        let mut channels: Vec<Arc<dyn Channel>> = vec![Arc::new(FeedChannel::new(store.clone(), parts.clock.clone()))];
        if let Some(smtp) = &parts.config.smtp {
            let tls = match smtp.tls {
                crate::rules::SmtpTls::None => SmtpTls::None,
                crate::rules::SmtpTls::Starttls => SmtpTls::StartTls,
                crate::rules::SmtpTls::Tls => SmtpTls::Implicit,
            };
            let credentials = match (&smtp.username, &smtp.password) {
                (Some(username), password) => Some(SmtpCredentials {
                    username: username.clone(),
                    password: SecretText::new(password.as_ref().map(|secret| secret.expose()).unwrap_or_default()),
                }),
                (None, _) => None,
            };
            channels.push(Arc::new(EmailChannel::new(EmailConfig {
                host: smtp.host.clone(),
                port: smtp.port,
                tls,
                credentials,
                from: smtp.from.clone(),
                timeout: smtp.timeout,
            })?));
        }
        if !parts.config.webhooks.is_empty() {
            let mut webhook_config = WebhookConfig::default();
            for endpoint in &parts.config.webhooks {
                let secret = WebhookSecret::parse(endpoint.secret.expose())?;
                webhook_config
                    .endpoints
                    .insert(endpoint.name.clone(), WebhookEndpoint { url: endpoint.url.clone(), secret });
                webhook_config.timeout = webhook_config.timeout.min(endpoint.timeout).max(Duration::from_secs(1));
            }
            channels.push(Arc::new(WebhookChannel::new(webhook_config)?));
        }
        if let Some(nats_settings) = &parts.config.nats {
            let client = parts.nats.clone().ok_or(ServiceError::NatsUnavailable)?;
            let nats_config = NatsChannelConfig {
                subject_prefix: nats_settings.subject_prefix.clone(),
                ..NatsChannelConfig::default()
            };
            channels.push(Arc::new(NatsChannel::connect(client, nats_config).await?));
        }
        let dispatcher_config = DispatcherConfig::from_rules(&parts.config.rules, parts.owner);
        let scheduler = Arc::new(Scheduler::new(parts.config, parts.calendar));
        let model = Arc::new(NotificationModel::new(scheduler.clone(), parts.clock.clone()));
        let projector = Arc::new(Projector::new(model, parts.read_db, parts.events.clone(), parts.projector).await?);
        let dispatcher = Arc::new(Dispatcher::new(
            store.clone(),
            parts.events,
            scheduler.clone(),
            parts.clock.clone(),
            channels,
            dispatcher_config,
        ));
        Ok(NotificationService { store, projector, dispatcher, scheduler, clock: parts.clock })
    }

    /// Derives occurrences from every event the store has beyond the checkpoint.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        self.projector.catch_up().await
    }

    /// Runs the consumer on the bus and the dispatcher until `cancel` fires.
    pub fn spawn(&self, bus: Arc<dyn EventBus>, cancel: CancellationToken, tasks: &mut JoinSet<()>) {
        tasks.spawn(self.projector.clone().run(bus, cancel.clone()));
        tasks.spawn(self.dispatcher.clone().run(cancel));
    }

    /// Deliveries due now (the business clock's) and not finished.
    pub async fn n_due(&self) -> Result<u64, StoreError> {
        self.store.n_due(self.clock.now()).await
    }

    /// The `/readyz` detail: the due backlog, and the events the occurrence derivation could not apply (parked,
    /// by position, like the read models'), which leave the service ready (the other events keep flowing) but need
    /// an operator.
    pub async fn readiness(&self) -> Result<String, String> {
        let n_due = self.n_due().await.map_err(|error| error.to_string())?;
        let parked = self.projector.parked().await.map_err(|error| error.to_string())?;
        if parked.is_empty() {
            return Ok(format!("ok; {n_due} delivery(ies) due"));
        }
        let positions: Vec<String> = parked.iter().take(10).map(|event| event.global_position.to_string()).collect();
        let more = if parked.len() > positions.len() { ", …" } else { "" };
        Ok(format!(
            "ok; {n_due} delivery(ies) due; {} parked event(s) at position(s) {}{more}, see rm_parked (model {})",
            parked.len(),
            positions.join(", "),
            parked[0].model
        ))
    }

    /// The feed and the operators' routes.
    pub fn routes(&self, token_key: Arc<TokenKey>) -> Router {
        crate::feed::router(FeedState {
            store: self.store.clone(),
            token_key,
            clock: self.clock.clone(),
            token_clock: Arc::new(http_api::SystemClock),
        })
    }
}
