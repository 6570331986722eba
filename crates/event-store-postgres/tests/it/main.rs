//! Integration tests of the PostgreSQL backend, against a real server: the contract suite of `event-store`, each
//! test on a database of its own (`event_store_postgres::testing::TestDatabase`), and what only PostgreSQL has to show (several
//! processes appending to one log, the one-round-trip append path).

mod database;
mod one_round_trip;
mod postgres_only;

event_store::event_store_contract_suite!(crate::database::create_fixture);
