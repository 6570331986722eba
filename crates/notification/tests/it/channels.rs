//! One module per channel; each test starts its own servers, so tests run in parallel.

mod email;
pub mod nats;
mod webhook;
