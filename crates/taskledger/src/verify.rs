//! `taskledger verify`: walks the whole hash chain of the store and names the first position that fails.

use event_store::verify::{verify_store, VerifyStoreError};

use crate::cli::StoreArgs;

pub async fn run(args: &StoreArgs) -> anyhow::Result<()> {
    let store = args.node_config(None).open_store().await?;
    match verify_store(store.as_ref(), 10_000).await {
        Ok(report) => {
            println!(
                "ok: {} events in {} streams verify; head at position {} with hash {}",
                report.n_events, report.n_streams, report.head.position, report.head.hash
            );
            Ok(())
        }
        Err(VerifyStoreError::Chain(error)) => {
            println!("FAILED at position {}: {error}", error.position);
            std::process::exit(1);
        }
        Err(VerifyStoreError::Store(error)) => Err(anyhow::anyhow!(error).context("could not read the event store")),
    }
}
