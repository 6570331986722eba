//! The `taskledger` binary: one executable, one subcommand per role. It parses configuration and wires crates
//! together; the work is done in the library crates (`app` assembles the services of one process).

mod audit;
mod bench;
mod cli;
mod config;
mod notifications;
mod rebuild;
mod serve;
mod token;
mod verify;

use clap::Parser;

/// Every service allocates a great many short-lived strings and JSON values per event; mimalloc serves them with
/// far less time in the allocator than the system's. It is built without transparent huge pages (`no_thp` in the
/// workspace manifest): with them, its arenas start in 2 MiB pages and an idle server holds three times the memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cli::Cli::parse();
    config::init_tracing(&cli.log)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(cli::run(cli))
}
