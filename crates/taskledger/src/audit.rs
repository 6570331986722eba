//! `taskledger audit …` and `taskledger export --bundle`: the transparency log from the command line, on the
//! store directly (no server needed). The work is in the `audit` crate.

use anyhow::Context;
use audit::key::{resolve_log_key, CHECKPOINT_KEY_ENV};
use audit::log::AuditLog;
use audit::routes::{consistency_view, inclusion_view};
use time::OffsetDateTime;
use transparency::checkpoint::SigningKey;

use crate::cli::{AuditAction, AuditStoreArgs, ExportArgs};

pub async fn run(action: AuditAction) -> anyhow::Result<()> {
    match action {
        AuditAction::Checkpoint(args) => {
            let log = open_log(&args).await?;
            let (signed, created) = log.make_checkpoint(OffsetDateTime::now_utc()).await?;
            let verb = if created { "signed" } else { "already signed" };
            eprintln!("checkpoint of {} events {verb}", signed.checkpoint.size());
            print!("{}", signed.note);
        }
        AuditAction::Prove(args) => {
            let log = open_log(&args.audit).await?;
            let proof = log.inclusion_proof(args.event_id, args.tree_size, OffsetDateTime::now_utc()).await?;
            println!("{}", serde_json::to_string_pretty(&inclusion_view(&proof))?);
        }
        AuditAction::Consistency(args) => {
            let log = open_log(&args.audit).await?;
            let proof = log.consistency_proof(args.from, args.to).await?;
            println!("{}", serde_json::to_string_pretty(&consistency_view(&proof))?);
        }
        AuditAction::PublicKey(args) => println!("{}", log_key(&args)?.verifier_key().to_text()),
    }
    Ok(())
}

pub async fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let key = log_key(&args.audit)?;
    let store = args.audit.store.node_config(None).open_store().await?;
    let manifest = audit::bundle::export(store.as_ref(), &key.verifier_key(), &args.bundle)
        .await
        .with_context(|| format!("could not export to {}", args.bundle.display()))?;
    println!(
        "exported {} events and {} checkpoints of log {} to {}",
        manifest.n_events,
        manifest.n_checkpoints,
        manifest.origin,
        args.bundle.display()
    );
    Ok(())
}

/// The log key of the data dir or the environment, created on first use like the server does.
pub fn log_key(args: &AuditStoreArgs) -> anyhow::Result<SigningKey> {
    let env_key = std::env::var(CHECKPOINT_KEY_ENV).ok();
    resolve_log_key(env_key.as_deref(), &args.store.data_dir, &args.log_key.log_origin)
        .context("could not load the checkpoint key")
}

async fn open_log(args: &AuditStoreArgs) -> anyhow::Result<AuditLog> {
    let key = log_key(args)?;
    let store = args.store.node_config(None).open_store().await?;
    AuditLog::open(store, key).await.context("could not build the Merkle tree of the log")
}
