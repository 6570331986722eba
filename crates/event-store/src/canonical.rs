//! The canonical form of a stored event and the hash chain over the log.
//!
//! This is the one definition that the backends (when they append, through [`crate::batch`]), [`crate::verify`]
//! (when it checks) and third parties (reading `docs/event-hash-chain.md`) share. Everything here is a
//! compatibility contract: changing a member name, a format or the order of the hashed bytes changes every hash
//! of every existing log.
//!
//! In short: `hash_n = SHA-256(raw 32 bytes of hash_(n-1) || JCS(envelope_n))`, lowercase hex, with 32 zero bytes
//! before position 1. The envelope is a JSON object of the event's provenance and payload, canonicalised with
//! RFC 8785 (JSON Canonicalization Scheme), so that any language with a JCS library (or, for payloads of strings,
//! integers, booleans and nulls, a plain sorted-keys compact JSON writer) can recompute it.

use serde_json::Value;
use sha2::{Digest, Sha256};
use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::RecordedEvent;

mod writer;

/// The `prev_hash` of the event at position 1, and the head hash of an empty log: 32 zero bytes in hex.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The RFC 8785 bytes of the event's envelope: an object with exactly the members `global_position`, `event_id`,
/// `stream_id`, `stream_version`, `event_type`, `schema_version`, `effective_date`, `recorded_at`, `actor`
/// (`id`, `name`, `unit`, `role`), `command_id`, `correlation_id`, `causation_id` and `payload`.
///
/// `prev_hash` and `hash` are not part of the envelope; the chain adds them in [`chain_hash`].
pub fn canonical_bytes(event: &RecordedEvent) -> Vec<u8> {
    canonical_envelope(event, &canonical_json(&event.payload)).into_bytes()
}

/// [`canonical_bytes`] as text, for an event whose payload's canonical text (`canonical_json(&event.payload)`) is
/// already at hand, so that appending canonicalises each payload once for both the hash and the stored text, and
/// verification hashes the stored text as it is (whatever `P` the event carries, it is not read here).
///
/// The envelope is written directly, members in JCS order (their names are ASCII, so byte order is UTF-16 order).
pub fn canonical_envelope<P>(event: &RecordedEvent<P>, canonical_payload: &str) -> String {
    let mut out = String::with_capacity(canonical_payload.len() + 512);
    out.push_str("{\"actor\":{\"id\":");
    writer::write_str(&mut out, &event.actor.id);
    out.push_str(",\"name\":");
    writer::write_str(&mut out, &event.actor.name);
    out.push_str(",\"role\":");
    writer::write_str(&mut out, &event.actor.role);
    out.push_str(",\"unit\":");
    writer::write_str(&mut out, &event.actor.unit);
    out.push_str("},\"causation_id\":");
    match event.causation_id {
        Some(causation_id) => write_uuid(&mut out, causation_id),
        None => out.push_str("null"),
    }
    out.push_str(",\"command_id\":");
    write_uuid(&mut out, event.command_id);
    out.push_str(",\"correlation_id\":");
    write_uuid(&mut out, event.correlation_id);
    out.push_str(",\"effective_date\":");
    match event.effective_date {
        Some(date) => writer::write_str(&mut out, &format_effective_date(date)),
        None => out.push_str("null"),
    }
    out.push_str(",\"event_id\":");
    write_uuid(&mut out, event.event_id);
    out.push_str(",\"event_type\":");
    writer::write_str(&mut out, &event.event_type);
    out.push_str(",\"global_position\":");
    writer::write_u64(&mut out, event.global_position);
    out.push_str(",\"payload\":");
    out.push_str(canonical_payload);
    out.push_str(",\"recorded_at\":");
    writer::write_str(&mut out, &format_recorded_at(event.recorded_at));
    out.push_str(",\"schema_version\":");
    writer::write_u64(&mut out, u64::from(event.schema_version));
    out.push_str(",\"stream_id\":");
    writer::write_str(&mut out, event.stream_id.as_str());
    out.push_str(",\"stream_version\":");
    writer::write_u64(&mut out, event.stream_version);
    out.push('}');
    out
}

/// The RFC 8785 text of any JSON value. Backends store each payload in this form, so that the stored text is
/// byte for byte what the hash covers.
///
/// JCS writes every number as an IEEE 754 double would print in ECMAScript: integers beyond ±2^53 lose precision.
/// Payloads should keep to I-JSON (RFC 7493) numbers.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    writer::write_value(&mut out, value);
    out
}

/// `SHA-256(prev_hash as 32 raw bytes || canonical)`, in lowercase hex.
///
/// # Panics
///
/// If `prev_hash_hex` is not 64 hex digits. Check untrusted input with [`is_hash`] first.
pub fn chain_hash(prev_hash_hex: &str, canonical: &[u8]) -> String {
    let mut prev_hash = [0u8; 32];
    hex::decode_to_slice(prev_hash_hex, &mut prev_hash).expect("prev_hash must be 64 hex digits");
    hex::encode(chain_digest(&prev_hash, canonical))
}

/// [`chain_hash`] on raw bytes: `SHA-256(prev_hash || canonical)`, for a verifier that keeps the head's hash as
/// bytes instead of decoding its hex again for every event.
pub fn chain_digest(prev_hash: &[u8; 32], canonical: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash);
    hasher.update(canonical);
    hasher.finalize().into()
}

/// Whether `text` has the form of a chain hash: exactly 64 lowercase hex digits.
pub fn is_hash(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `recorded_at` as the envelope writes it: UTC, microseconds, `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
/// Finer digits are truncated, not rounded.
pub fn format_recorded_at(recorded_at: OffsetDateTime) -> String {
    let utc = truncate_to_micros(recorded_at.to_offset(UtcOffset::UTC));
    // Formatting a date-time with a four-digit year into this description cannot fail.
    utc.format(RECORDED_AT_FORMAT).expect("recorded_at is formattable")
}

/// Reads what [`format_recorded_at`] wrote (exactly six fractional digits and a `Z`).
pub fn parse_recorded_at(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
    Ok(PrimitiveDateTime::parse(text, RECORDED_AT_FORMAT)?.assume_utc())
}

/// Drops the nanoseconds below the microsecond: the precision at which the store records time.
pub fn truncate_to_micros(instant: OffsetDateTime) -> OffsetDateTime {
    let nanosecond = instant.nanosecond();
    // `nanosecond - nanosecond % 1000` is below one second, so it is always a valid nanosecond.
    instant.replace_nanosecond(nanosecond - nanosecond % 1_000).unwrap_or(instant)
}

/// `effective_date` as the envelope writes it: `YYYY-MM-DD`.
pub fn format_effective_date(date: Date) -> String {
    date.format(EFFECTIVE_DATE_FORMAT).expect("a date with a four-digit year is formattable")
}

/// Reads what [`format_effective_date`] wrote.
pub fn parse_effective_date(text: &str) -> Result<Date, time::error::Parse> {
    Date::parse(text, EFFECTIVE_DATE_FORMAT)
}

const RECORDED_AT_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

const EFFECTIVE_DATE_FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// A UUID as a JCS string: lowercase hyphenated digits need no escaping.
fn write_uuid(out: &mut String, id: uuid::Uuid) {
    out.push('"');
    out.push_str(id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
    out.push('"');
}

#[cfg(test)]
mod tests;
