//! Whole nodes in-process: the command service, the relay, the bus and the projection service together, over
//! HTTP, on SQLite with the in-process bus and on PostgreSQL with NATS JetStream.

mod support;

mod access_log;
mod appendix;
mod board;
mod delivery;
