//! Integration tests of the projection service against real stores: SQLite files and fresh PostgreSQL databases
//! (`event_store_postgres::testing`, which says how to start the server when it does not answer). Events are made
//! by the domain's own decisions and appended as the command service appends them (`support`).
//!
//! Map: `poison` (an event a model cannot apply is parked, the rest applied, a rebuild agrees), `delivery`
//! (deliveries out of order, duplicated, with gaps), `replicas` (two services on one PostgreSQL read database,
//! never applying an event twice), `random_history` (random valid command sequences: incremental model against a
//! rebuild, and the appendix against the domain's own fold), `latest_report` (a task's latest report as corrections
//! move cut-offs, however events are batched), `other_aggregates` (report requests and reminder logs, which the
//! models skip), `copy_rebuild` (a PostgreSQL rebuild writes through `COPY`, awkward texts included, and starts a
//! half-done rebuild over).

mod support;

mod copy_rebuild;
mod delivery;
mod latest_report;
mod other_aggregates;
mod poison;
mod random_history;
mod replicas;
