//! `taskledger notifications …`: what an operator does to the notification service from the command line — enable
//! a webhook endpoint the service disabled after it failed repeatedly, read the dead letters and endpoints' health.
//! The same is served to admins under `/v1/notifications/…`.

use anyhow::Context;
use notification::store::NotifyStore;

use crate::cli::{NotificationsAction, NotificationsStoreArgs};

pub async fn run(action: NotificationsAction) -> anyhow::Result<()> {
    match action {
        NotificationsAction::EnableEndpoint(args) => {
            let store = open(&args.database).await?;
            if store.enable_endpoint(&args.name).await.context("could not enable the endpoint")? {
                println!("webhook endpoint {} enabled", args.name);
                Ok(())
            } else {
                anyhow::bail!("no disabled webhook endpoint is named {}", args.name)
            }
        }
        NotificationsAction::DeadLetters(args) => {
            for letter in open(&args).await?.dead_letters().await.context("could not read the dead letters")? {
                println!("{}", serde_json::to_string(&letter)?);
            }
            Ok(())
        }
        NotificationsAction::Endpoints(args) => {
            for endpoint in open(&args).await?.endpoints().await.context("could not read the endpoints")? {
                println!("{}", serde_json::to_string(&endpoint)?);
            }
            Ok(())
        }
    }
}

async fn open(args: &NotificationsStoreArgs) -> anyhow::Result<NotifyStore> {
    let read_db = args.store.node_config(args.read_database_url.clone()).open_read_db().await?;
    NotifyStore::open(read_db).await.context("could not open the notification tables")
}
