//! Benchmarks of taskledger that print every figure beside the physical limit of the same machine, measured in
//! the same run, so that a figure can be judged without knowing the machine.
//!
//! `taskledger bench append` calls [`append::run`]; the binary only parses flags.
//!
//! Map of the crate:
//! - [`audit`]: the audit benchmark: a task's history, the appendix as known at a past instant, and `verify`
//!   over a million events, each beside a raw read of the same rows;
//! - [`notify`]: the notification benchmark: 100,000 occurrences scheduled, 10,000 fired at once to a local
//!   webhook receiver, the delay of a reminder when the service is idle, beside the receiver's own request rate;
//! - [`append`]: the append benchmark: commands per second end-to-end over HTTP against single-row `INSERT`
//!   transactions of the same row shape, on PostgreSQL and SQLite, and the idle server's memory;
//! - `scratch`: a throw-away database per backend (a PostgreSQL database dropped at the end, a SQLite temp file);
//! - `http_load`: the command service served in-process and the HTTP clients that load it;
//! - `store_append`: the store's own `append` without HTTP, to tell which layer the time goes to;
//! - `raw_insert`: the raw limit, single-row `INSERT` transactions into a copy of the `events` table;
//! - `idle_rss`: the real binary started as `taskledger serve`, its resident memory once idle;
//! - `measure`: the timed loop, latency histograms and the figures derived from them;
//! - `machine`: facts about the machine printed before the figures;
//! - `table`: the printed report.

pub mod append;
pub mod audit;
mod http_load;
mod idle_rss;
mod machine;
mod measure;
pub mod notify;
pub mod projections;
mod raw_insert;
mod scratch;
mod store_append;
mod table;
