//! What every HTTP service of taskledger shares: the problem+json error type (`error`), the extractors that
//! verify the bearer token and parse bodies and queries strictly (`extract`), and request metrics (`observability`).
//!
//! A service's state implements [`ApiState`]; the command service and the projection service both do, so that a
//! token, a malformed body or a bad query parameter is answered the same way everywhere.

pub mod error;
pub mod extract;
pub mod observability;
pub mod ops;

use auth::TokenKey;
use time::OffsetDateTime;

/// What the shared extractors need from a service's state.
pub trait ApiState: Clone + Send + Sync + 'static {
    /// The key bearer tokens are verified with.
    fn token_key(&self) -> &TokenKey;
    /// The current instant (injected so that tests control time).
    fn now(&self) -> OffsetDateTime;
    /// Largest accepted request body.
    fn body_limit_bytes(&self) -> usize;
}

/// The clock, injected so that tests control time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}
