//! Integration tests of the audit crate on a real SQLite store: the HTTP endpoints (router called directly), the
//! export bundle and its offline verification against tampering, and the log key file. The tamper tests of the
//! stores themselves, on both backends, are in the event store's contract suite (`event_store::testing::tamper`).

mod bundle;
mod key;
mod routes;
mod support;
