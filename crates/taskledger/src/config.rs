//! Configuration glue: logging, and turning flags into the `app` crate's node configuration.

use anyhow::Context;
use tracing_subscriber::EnvFilter;

use crate::cli::{LogArgs, ServeArgs, StoreArgs};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

impl ServeArgs {
    pub fn node_config(&self) -> anyhow::Result<app::NodeConfig> {
        let clock = notification::clock::ClockSetting::parse(&self.clock)?;
        Ok(app::NodeConfig {
            database_url: self.store.database_url.clone(),
            read_database_url: self.read_database_url.clone(),
            nats_url: self.nats_url.clone(),
            nats_replicas: self.nats_replicas,
            nats_stream: self.nats_stream.clone(),
            nats_subject_prefix: self.nats_subject_prefix.clone(),
            body_limit_bytes: self.body_limit,
            demo: self.demo,
            audit: audit::service::AuditConfig {
                origin: self.log_key.log_origin.clone(),
                policy: audit::checkpointer::CheckpointPolicy {
                    every_events: self.checkpoint_every_events.max(1),
                    every: std::time::Duration::from_secs(self.checkpoint_interval_secs.max(1)),
                    ..audit::checkpointer::CheckpointPolicy::default()
                },
            },
            notification_config: self.notification_config.clone(),
            clock,
            ..app::NodeConfig::embedded(self.listen, self.store.data_dir.clone())
        })
    }
}

impl StoreArgs {
    /// A node configuration for commands that only open stores (verify, rebuild).
    pub fn node_config(&self, read_database_url: Option<String>) -> app::NodeConfig {
        app::NodeConfig {
            database_url: self.database_url.clone(),
            read_database_url,
            ..app::NodeConfig::embedded(([127, 0, 0, 1], 0).into(), self.data_dir.clone())
        }
    }
}

pub fn init_tracing(args: &LogArgs) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_filter).context("invalid --log-filter")?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}
