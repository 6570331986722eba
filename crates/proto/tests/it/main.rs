//! Integration tests of the `proto` crate: domain events and stored events through their protobuf messages and
//! bytes and back, unchanged; the errors that name the field at fault; the NATS subjects.
//!
//! - `fixtures`: one event of every variant, with optional fields filled and empty, and their stored form;
//! - `events`: domain events ↔ payload messages;
//! - `envelope`: `RecordedEvent` ↔ `EventEnvelope`, the hash chain from the envelope alone;
//! - `errors`: what decoding refuses, by field;
//! - `properties`: round trips of generated events with arbitrary Unicode text;
//! - `subject`: the subjects events go on.

mod envelope;
mod errors;
mod events;
mod fixtures;
mod properties;
mod subject;
