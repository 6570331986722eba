//! `taskledger token`: mints a bearer token with the key a server on the same data dir uses.

use anyhow::Context;
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;

use crate::cli::TokenArgs;

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let role = Role::parse(&args.role).filter(|role| role.is_grantable()).with_context(|| {
        let grantable: Vec<&str> = Role::GRANTABLE.iter().map(|role| role.as_str()).collect();
        format!("--role must be one of {} (got {})", grantable.join(", "), args.role)
    })?;
    let unit = UnitCode::parse(&args.unit).map_err(|error| anyhow::anyhow!("--unit: {error}"))?;
    anyhow::ensure!(!args.user.trim().is_empty(), "--user must not be empty");
    anyhow::ensure!(!args.name.trim().is_empty(), "--name must not be empty");
    anyhow::ensure!((1..=24 * 366).contains(&args.hours), "--hours must be from 1 to 8784");
    let key = app::token_key(&args.data_dir)?;
    let actor = Actor { id: args.user.trim().to_owned(), name: domain::text::normalize(&args.name), unit, role };
    let token = auth::mint(&key, &actor, time::OffsetDateTime::now_utc(), time::Duration::hours(args.hours))
        .context("could not mint the token")?;
    println!("{token}");
    Ok(())
}
