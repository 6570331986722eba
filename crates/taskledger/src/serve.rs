//! `taskledger serve`, `command-service`, `projection-service` and `notification-service`: start the node's services and serve until
//! SIGINT or SIGTERM, then finish the requests in flight and stop the relay and the projectors cleanly.

use app::Services;

use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs, services: Services) -> anyhow::Result<()> {
    let config = args.node_config()?;
    let node = app::start(&config, services).await?;
    println!("taskledger listening on http://{} (store: {})", node.address, config.describe_store());
    println!(
        "get a token: taskledger token --user u1 --name \"Nguyễn Văn A\" --unit VP-UBND --role planner --data-dir {}",
        config.data_dir.display()
    );
    shutdown_signal().await;
    tracing::info!("stopping");
    node.shutdown().await;
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
