//! Tamper evidence for the event log, as a pure library: no I/O, no async, no clock (times are passed in).
//!
//! The event store (`event-store`) chains every event to the one before with a SHA-256 hash; this crate builds the
//! transparency log on top of that chain:
//!
//! - [`merkle`]: the RFC 9162 Merkle tree whose leaf *i* is the chain hash of the event at global position *i* + 1,
//!   with inclusion and consistency proofs and their verifiers;
//! - [`checkpoint`]: signed tree heads, C2SP `tlog-checkpoint` bodies in C2SP `signed-note`s with Ed25519 keys.
//!
//! The services that serve checkpoints and proofs keep a [`merkle::Tree`] fed with committed events. The format is
//! specified for independent verifiers in `docs/transparency-log.md`.

pub mod checkpoint;
pub mod merkle;
