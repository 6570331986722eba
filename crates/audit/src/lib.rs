//! The transparency log as a service: taskledger's signed checkpoints and Merkle proofs over the event log, and
//! the export bundle that an auditor verifies offline.
//!
//! The pure parts live elsewhere: the tree, the proofs and the signed-note checkpoints in `transparency`; the chain
//! and checkpoint verifier in `event_store::verify`. This crate adds what needs I/O and a clock:
//!
//! - [`key`]: the log's Ed25519 signing key, from `TASKLEDGER_CHECKPOINT_KEY` or `<data dir>/checkpoint.key`;
//! - [`log`]: [`log::AuditLog`], the Merkle tree of the store's log kept in memory (rebuilt at start from the
//!   stored chain hashes, then fed as the log grows), which signs checkpoints into the store and answers proofs;
//! - [`checkpointer`]: the task that signs a checkpoint every N events or T seconds;
//! - [`routes`] and [`openapi`]: `/v1/audit/checkpoints…`, `/v1/audit/public-key`, `/v1/audit/proofs/…`;
//! - [`bundle`]: `taskledger export --bundle` and the offline `taskledger verify --bundle`;
//! - [`service`]: what a process runs to serve all of this.
//!
//! The formats are specified for independent verifiers in `docs/transparency-log.md`.

pub mod bundle;
pub mod checkpointer;
pub mod key;
pub mod log;
pub mod openapi;
pub mod routes;
pub mod service;
