//! Minting and verifying bearer tokens: JWTs signed with HS256 under a [`TokenKey`](crate::key::TokenKey).
//!
//! [`verify`] is the gate between the network and the domain: it returns an [`Actor`] only when the signature,
//! the algorithm (exactly HS256), the issuer, the expiry and every identity claim check out. The time of
//! verification is passed in, like every clock reading in taskledger, so that tests and replays are exact;
//! jsonwebtoken's own `exp` check, which reads the system clock, is therefore switched off.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use domain::actor::{Actor, Role};
use domain::unit_code::UnitCode;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::key::TokenKey;
use crate::AuthError;

/// The `iss` of every token this system mints and the only one it accepts.
pub const ISSUER: &str = "taskledger";

/// How far a token may be past its `exp` (or its `iat` ahead of the verifier's clock) and still be accepted,
/// to absorb clock skew between the machine that minted it and the one that verifies it.
pub const LEEWAY: Duration = Duration::seconds(30);

/// The claims of a taskledger token, as they travel in its payload.
///
/// Identity claims are kept as the strings on the wire so that a token with an unknown role or a malformed unit
/// is rejected by [`verify`] with an error that names the claim, instead of a generic decoding error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The user id ([`Actor::id`]).
    pub sub: String,
    /// The display name ([`Actor::name`]).
    pub name: String,
    /// The unit code ([`Actor::unit`]), e.g. `SO-KHCN`.
    pub unit: String,
    /// The role ([`Role::as_str`]), e.g. `reporter`.
    pub role: String,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Expires at, in seconds since the Unix epoch.
    pub exp: i64,
    /// Always [`ISSUER`].
    pub iss: String,
    /// A unique token id (UUID v4), for logs and a future revocation list.
    pub jti: String,
}

/// Signs a token for `actor`, valid from `issued_at` for `ttl`. Refused for a role no token may carry
/// ([`Role::System`]: taskledger's own services are never a client).
pub fn mint(key: &TokenKey, actor: &Actor, issued_at: OffsetDateTime, ttl: Duration) -> Result<String, AuthError> {
    check_grantable(actor.role)?;
    if !ttl.is_positive() {
        return Err(invalid_claim("exp", format!("the time to live must be positive, got {ttl}")));
    }
    check_non_empty("sub", &actor.id)?;
    check_non_empty("name", &actor.name)?;
    let expires_at = issued_at
        .checked_add(ttl)
        .ok_or_else(|| invalid_claim("exp", format!("{issued_at} plus {ttl} is out of range")))?;
    let claims = TokenClaims {
        sub: actor.id.clone(),
        name: actor.name.clone(),
        unit: actor.unit.as_str().to_owned(),
        role: actor.role.as_str().to_owned(),
        iat: issued_at.unix_timestamp(),
        exp: expires_at.unix_timestamp(),
        iss: ISSUER.to_owned(),
        jti: uuid::Uuid::new_v4().to_string(),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key.secret()))
        .map_err(|error| AuthError::Key(format!("cannot sign the token ({error})")))
}

/// Checks `token` at time `now` and returns the actor it names.
///
/// Order of checks: shape and algorithm (from the header, before any cryptography), signature, issuer, expiry
/// and issue time (both with [`LEEWAY`]), then the identity claims. A token that passed them all is remembered by
/// its key (its whole text, with the actor it names), so that the same token sent again has only its expiry and
/// issue time checked again.
pub fn verify(key: &TokenKey, token: &str, now: OffsetDateTime) -> Result<Actor, AuthError> {
    if let Some(actor) = key.verified().recall(token, now) {
        return actor;
    }
    let (actor, claims) = verify_whole(key, token, now)?;
    key.verified().remember(token, &actor, claims);
    Ok(actor)
}

/// Every check of [`verify`], with the time claims of the token.
fn verify_whole(key: &TokenKey, token: &str, now: OffsetDateTime) -> Result<(Actor, TimeClaims), AuthError> {
    check_algorithm(token)?;
    let claims = jsonwebtoken::decode::<TokenClaims>(token, &DecodingKey::from_secret(key.secret()), &validation())
        .map_err(|error| match error.kind() {
            ErrorKind::InvalidSignature => AuthError::BadSignature,
            ErrorKind::InvalidAlgorithm => invalid_claim("alg", "only HS256 is accepted".to_owned()),
            _ => AuthError::Malformed,
        })?
        .claims;

    if claims.iss != ISSUER {
        return Err(invalid_claim("iss", format!("expected \"{ISSUER}\", got {:?}", claims.iss)));
    }
    let time_claims = TimeClaims { iat: claims.iat, exp: claims.exp };
    time_claims.check(now)?;
    if claims.exp < claims.iat {
        return Err(invalid_claim("exp", "the token expires before it is issued".to_owned()));
    }

    let role = Role::parse(&claims.role).ok_or_else(|| {
        let known: Vec<&str> = Role::GRANTABLE.iter().map(|role| role.as_str()).collect();
        invalid_claim("role", format!("unknown role {:?}, expected one of {}", claims.role, known.join(", ")))
    })?;
    check_grantable(role)?;
    let unit = UnitCode::parse(&claims.unit).map_err(|error| invalid_claim("unit", error.to_string()))?;
    check_non_empty("sub", &claims.sub)?;
    check_non_empty("name", &claims.name)?;

    Ok((Actor { id: claims.sub, name: claims.name, unit, role }, time_claims))
}

/// The claims of a token whose verdict depends on the time it is used at.
#[derive(Debug, Clone, Copy)]
struct TimeClaims {
    iat: i64,
    exp: i64,
}

impl TimeClaims {
    /// Not expired at `now`, not issued after it (both with [`LEEWAY`]).
    fn check(self, now: OffsetDateTime) -> Result<(), AuthError> {
        let now_seconds = now.unix_timestamp();
        let leeway_seconds = LEEWAY.whole_seconds();
        if now_seconds > self.exp.saturating_add(leeway_seconds) {
            return Err(AuthError::Expired);
        }
        if self.iat > now_seconds.saturating_add(leeway_seconds) {
            return Err(invalid_claim("iat", "the token is issued in the future".to_owned()));
        }
        Ok(())
    }
}

/// Tokens verified lately under one key, with the actor each names: a client sends the same token with every
/// request, and its signature and claims are checked in full once. A token is found only by its whole text,
/// signature included, so a token that differs by one character is verified in full; its time claims are checked
/// again at every use, so a remembered token still expires. Only tokens that passed every check are remembered.
#[derive(Default)]
pub(crate) struct VerifiedTokens {
    entries: Mutex<HashMap<String, (Actor, TimeClaims)>>,
}

/// At most this many tokens are remembered; past it the memory starts over.
const TOKENS_REMEMBERED: usize = 4096;

impl VerifiedTokens {
    /// The verdict on a remembered token at `now`, or `None` when `token` was not verified lately.
    fn recall(&self, token: &str, now: OffsetDateTime) -> Option<Result<Actor, AuthError>> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (actor, time_claims) = entries.get(token)?;
        Some(time_claims.check(now).map(|()| actor.clone()))
    }

    fn remember(&self, token: &str, actor: &Actor, time_claims: TimeClaims) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= TOKENS_REMEMBERED {
            entries.clear();
        }
        entries.insert(token.to_owned(), (actor.clone(), time_claims));
    }
}

/// The part of a JOSE header that decides whether we even try to verify.
#[derive(Deserialize)]
struct AlgorithmHeader {
    alg: String,
}

/// Rejects any `alg` but HS256 with an error naming it. jsonwebtoken would reject `none` too, but as an
/// undecodable header, which hides from the operator that someone tried an unsigned token.
fn check_algorithm(token: &str) -> Result<(), AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let header_json = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::Malformed)?;
    let header: AlgorithmHeader = serde_json::from_slice(&header_json).map_err(|_| AuthError::Malformed)?;
    if header.alg != "HS256" {
        return Err(invalid_claim("alg", format!("algorithm {:?} is not accepted, only HS256", header.alg)));
    }
    Ok(())
}

fn validation() -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    // `exp` and `iss` are checked by `verify` against the `now` it is given, with errors of its own.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims = HashSet::new();
    validation
}

/// Refuses [`Role::System`]: the role of the events taskledger's services record themselves, which no client may
/// act in, even with a correctly signed token.
fn check_grantable(role: Role) -> Result<(), AuthError> {
    if role.is_grantable() {
        return Ok(());
    }
    let grantable: Vec<&str> = Role::GRANTABLE.iter().map(|role| role.as_str()).collect();
    Err(invalid_claim(
        "role",
        format!(
            "role {role} is taskledger's own and is never granted to a token (grantable: {})",
            grantable.join(", ")
        ),
    ))
}

fn check_non_empty(claim: &'static str, value: &str) -> Result<(), AuthError> {
    if value.trim().is_empty() {
        return Err(invalid_claim(claim, "must not be empty".to_owned()));
    }
    Ok(())
}

fn invalid_claim(claim: &'static str, reason: String) -> AuthError {
    AuthError::InvalidClaim { claim, reason }
}
