//! Integration tests of the SQLite backend, on real files: the contract suite of `event-store`, each test on a
//! file of its own in a temporary directory ([`file::SqliteFixture`]), and what only SQLite has to show.

mod file;
mod sqlite_only;

event_store::event_store_contract_suite!(crate::file::create_fixture);
