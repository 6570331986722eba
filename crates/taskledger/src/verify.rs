//! `taskledger verify`: walks the whole hash chain, the Merkle tree and the signed checkpoints, in the store or
//! offline in an export bundle, and names the first position that fails.

use std::path::Path;

use anyhow::Context;
use audit::bundle::{self, BundleError};
use audit::key::{existing_log_key, CHECKPOINT_KEY_ENV};
use event_store::verify::{
    verify_store, verify_store_with_checkpoints, CheckpointRejected, CheckpointedReport, VerifyError, VerifyStoreError,
};
use transparency::checkpoint::VerifierKey;

use crate::cli::VerifyArgs;

const BATCH: usize = 10_000;

pub async fn run(args: &VerifyArgs) -> anyhow::Result<()> {
    let trusted_key = args.public_key.as_deref().map(bundle::read_verifier_key).transpose()?;
    if let Some(dir) = &args.bundle {
        return verify_bundle(dir, trusted_key);
    }
    let key = match trusted_key {
        Some(key) => Some(key),
        None => {
            let env_key = std::env::var(CHECKPOINT_KEY_ENV).ok();
            let key =
                existing_log_key(env_key.as_deref(), &args.store.data_dir).context("could not load the log key")?;
            key.map(|key| key.verifier_key())
        }
    };
    let store = args.store.node_config(None).open_store().await?;
    let outcome = match &key {
        Some(key) => verify_store_with_checkpoints(store.as_ref(), BATCH, key).await,
        None => {
            eprintln!("no log key in the data dir and no --public-key: signed checkpoints are not checked");
            verify_store(store.as_ref(), BATCH).await.map(|chain| CheckpointedReport {
                chain,
                root: [0; 32],
                n_checkpoints: 0,
                latest_checkpoint_size: None,
            })
        }
    };
    match outcome {
        Ok(report) => print_ok(&report),
        Err(VerifyStoreError::Chain(error)) => fail_at(&error),
        Err(VerifyStoreError::Checkpoint(error)) => fail_checkpoint(&error),
        Err(VerifyStoreError::Store(error)) => Err(anyhow::anyhow!(error).context("could not read the event store")),
    }
}

fn verify_bundle(dir: &Path, trusted_key: Option<VerifierKey>) -> anyhow::Result<()> {
    let key = match trusted_key {
        Some(key) => key,
        None => {
            eprintln!(
                "warning: checking the checkpoints with the bundle's own {}; pass --public-key with the key you \
                 trust, or anyone who can write a bundle can sign it",
                bundle::PUBLIC_KEY_FILE
            );
            bundle::read_verifier_key(&dir.join(bundle::PUBLIC_KEY_FILE))?
        }
    };
    match bundle::verify(dir, &key) {
        Ok(report) => print_ok(&report),
        Err(BundleError::Chain(error)) => fail_at(&error),
        Err(BundleError::Checkpoint(error)) => fail_checkpoint(&error),
        Err(BundleError::MalformedEvent { file, line_number, reason }) => {
            println!("FAILED at position {line_number}: {file} line {line_number} is not an event: {reason}");
            std::process::exit(1);
        }
        Err(other) => Err(anyhow::anyhow!(other).context(format!("could not read the bundle {}", dir.display()))),
    }
}

fn print_ok(report: &CheckpointedReport) -> anyhow::Result<()> {
    let chain = &report.chain;
    println!(
        "ok: {} events in {} streams verify; head at position {} with hash {}",
        chain.n_events, chain.n_streams, chain.head.position, chain.head.hash
    );
    if report.n_checkpoints > 0 || report.latest_checkpoint_size.is_some() {
        println!(
            "ok: {} signed checkpoints verify (largest: {} events); Merkle root of the whole log {}",
            report.n_checkpoints,
            report.latest_checkpoint_size.unwrap_or(0),
            hex_root(&report.root)
        );
    }
    Ok(())
}

fn hex_root(root: &[u8; 32]) -> String {
    root.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn fail_at(error: &VerifyError) -> anyhow::Result<()> {
    println!("FAILED at position {}: {error}", error.position);
    std::process::exit(1);
}

fn fail_checkpoint(error: &CheckpointRejected) -> anyhow::Result<()> {
    println!("FAILED: {error}");
    std::process::exit(1);
}
