//! `taskledger serve` and `taskledger command-service`: opens the store, loads the token key, optionally loads
//! the demo, and serves the HTTP API until SIGINT or SIGTERM, finishing the requests in flight.

use anyhow::Context;
use command_service::{AppState, ServiceConfig};

use crate::cli::ServeArgs;
use crate::config::{self, StoreConfig};

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let store_config = StoreConfig::from(&args.store);
    std::fs::create_dir_all(&store_config.data_dir)
        .with_context(|| format!("could not create data dir {}", store_config.data_dir.display()))?;
    if args.nats_url.is_some() {
        tracing::warn!("--nats-url is accepted but events are not published to NATS by this build");
    }
    let token_key = config::token_key(&store_config.data_dir)?;
    let store = store_config.open().await?;
    let service_config = ServiceConfig { body_limit_bytes: args.body_limit, ..ServiceConfig::default() };
    let state = AppState::new(store, token_key, service_config);
    if args.demo {
        let demo = command_service::demo::load(&state).await.context("could not load the demo plan")?;
        let verb = if demo.created { "loaded" } else { "already present" };
        println!("demo plan {verb}: {}", demo.plan_id);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("could not listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, store = %store_config.describe(), "taskledger listening");
    println!("taskledger listening on http://{address} (store: {})", store_config.describe());
    println!(
        "get a token: taskledger token --user u1 --name \"Nguyễn Văn A\" --unit VP-UBND --role planner --data-dir {}",
        store_config.data_dir.display()
    );
    axum::serve(listener, command_service::router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("taskledger stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
