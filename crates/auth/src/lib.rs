//! Bearer tokens for taskledger: the only way an [`Actor`](domain::actor::Actor) enters the system.
//!
//! A token is a JWT signed with HMAC-SHA256 (HS256) under a [`TokenKey`] that the server holds (from
//! `TASKLEDGER_TOKEN_KEY` or `<data dir>/token.key`). The `taskledger token` subcommand calls [`mint`]; the HTTP
//! layer of the services calls [`verify`] on every `/v1` request and records the returned actor on the events it
//! appends. A missing `Authorization` header is the HTTP layer's concern, not this crate's.
//!
//! - [`key`]: the secret key, how it is loaded, created and kept from being printed.
//! - [`token`]: the claims, minting and verification.

pub mod key;
pub mod token;

use std::path::PathBuf;

pub use key::{TokenKey, TOKEN_KEY_ENV, TOKEN_KEY_FILE_NAME};
pub use token::{mint, verify, TokenClaims, ISSUER, LEEWAY};

/// Why a token could not be minted or verified, or a key could not be had.
///
/// Every variant except [`AuthError::Key`] and [`AuthError::Io`] means "this bearer token is not accepted"
/// (HTTP 401); those two are configuration or disk problems of the server.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Not three base64url parts of JSON, or the claims lack a field.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match the header and claims under this server's key.
    #[error("bad token signature")]
    BadSignature,
    /// The token's `exp` lies more than [`LEEWAY`] before the time of verification.
    #[error("token expired")]
    Expired,
    /// A header field or claim has a value this server does not accept.
    #[error("invalid token claim `{claim}`: {reason}")]
    InvalidClaim { claim: &'static str, reason: String },
    /// The key could not be used: not base64, or too short.
    #[error("invalid token key: {0}")]
    Key(String),
    /// The key file could not be read or written.
    #[error("cannot {operation} {}", path.display())]
    Io {
        operation: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
