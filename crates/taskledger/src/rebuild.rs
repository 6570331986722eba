//! `taskledger projections rebuild [NAME]`: replays the store into fresh tables of a read model and switches to
//! them atomically; a running projection service keeps answering from the old tables until the switch.

use anyhow::Context;

use crate::cli::RebuildArgs;

pub async fn run(args: RebuildArgs) -> anyhow::Result<()> {
    let config = args.store.node_config(args.read_database_url.clone());
    let store = config.open_store().await?;
    let db = config.open_read_db().await?;
    let models = projection::read_models();
    let chosen: Vec<_> = match &args.name {
        Some(name) => {
            let model = models.into_iter().find(|model| model.name() == name.as_str());
            vec![model.with_context(|| format!("no read model named {name} (there are plans, tasks)"))?]
        }
        None => models,
    };
    for model in chosen {
        let report = projection::rebuild::rebuild(&db, store.as_ref(), model, 5_000).await?;
        println!(
            "rebuilt {}: {} events into generation {} in {:.2} s ({:.0} events/s), {} parked, checkpoint {}",
            report.model,
            report.n_events,
            report.generation,
            report.seconds,
            report.n_events as f64 / report.seconds.max(1e-9),
            report.n_parked,
            report.checkpoint
        );
    }
    Ok(())
}
