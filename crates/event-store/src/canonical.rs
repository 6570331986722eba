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
    write_canonical_envelope(&mut out, event, canonical_payload);
    out
}

/// [`canonical_envelope`] appended to `out`, for a caller that writes many envelopes into one reused buffer.
pub fn write_canonical_envelope<P>(out: &mut String, event: &RecordedEvent<P>, canonical_payload: &str) {
    out.reserve(canonical_payload.len() + 512);
    out.push_str("{\"actor\":{\"id\":");
    writer::write_str(out, &event.actor.id);
    out.push_str(",\"name\":");
    writer::write_str(out, &event.actor.name);
    out.push_str(",\"role\":");
    writer::write_str(out, &event.actor.role);
    out.push_str(",\"unit\":");
    writer::write_str(out, &event.actor.unit);
    out.push_str("},\"causation_id\":");
    match event.causation_id {
        Some(causation_id) => write_uuid(out, causation_id),
        None => out.push_str("null"),
    }
    out.push_str(",\"command_id\":");
    write_uuid(out, event.command_id);
    out.push_str(",\"correlation_id\":");
    write_uuid(out, event.correlation_id);
    out.push_str(",\"effective_date\":");
    match event.effective_date {
        // The date's digits and hyphens need no escaping.
        Some(date) => {
            out.push('"');
            write_effective_date(out, date);
            out.push('"');
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"event_id\":");
    write_uuid(out, event.event_id);
    out.push_str(",\"event_type\":");
    writer::write_str(out, &event.event_type);
    out.push_str(",\"global_position\":");
    writer::write_u64(out, event.global_position);
    out.push_str(",\"payload\":");
    out.push_str(canonical_payload);
    out.push_str(",\"recorded_at\":\"");
    write_recorded_at(out, event.recorded_at);
    out.push_str("\",\"schema_version\":");
    writer::write_u64(out, u64::from(event.schema_version));
    out.push_str(",\"stream_id\":");
    writer::write_str(out, event.stream_id.as_str());
    out.push_str(",\"stream_version\":");
    writer::write_u64(out, event.stream_version);
    out.push('}');
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
    let mut out = String::with_capacity(RECORDED_AT_LEN);
    write_recorded_at(&mut out, recorded_at);
    out
}

/// [`format_recorded_at`] appended to `out`.
///
/// The digits are written by hand, not through [`RECORDED_AT_FORMAT`]: verification formats the instant of every
/// event, and `time`'s interpreted format descriptions cost more than the rest of the envelope's provenance. A
/// property test holds the two to the same text.
pub fn write_recorded_at(out: &mut String, recorded_at: OffsetDateTime) {
    let utc = recorded_at.to_offset(UtcOffset::UTC);
    let (year, month, day) = utc.to_calendar_date();
    let Ok(year) = u32::try_from(year) else {
        // Years before 1 BC have a sign; `time` knows how to write it.
        out.push_str(&truncate_to_micros(utc).format(RECORDED_AT_FORMAT).expect("recorded_at is formattable"));
        return;
    };
    let (hour, minute, second, microsecond) = utc.to_hms_micro();
    let mut text = [0u8; RECORDED_AT_LEN];
    write_date_digits(&mut text[..10], year, u8::from(month), day);
    text[10] = b'T';
    write_digits(&mut text[11..13], u32::from(hour));
    text[13] = b':';
    write_digits(&mut text[14..16], u32::from(minute));
    text[16] = b':';
    write_digits(&mut text[17..19], u32::from(second));
    text[19] = b'.';
    write_digits(&mut text[20..26], microsecond);
    text[26] = b'Z';
    out.push_str(std::str::from_utf8(&text).expect("digits and separators are ASCII"));
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
    let mut out = String::with_capacity(EFFECTIVE_DATE_LEN);
    write_effective_date(&mut out, date);
    out
}

/// [`format_effective_date`] appended to `out`, by hand like [`write_recorded_at`].
fn write_effective_date(out: &mut String, date: Date) {
    let (year, month, day) = date.to_calendar_date();
    let Ok(year) = u32::try_from(year) else {
        out.push_str(&date.format(EFFECTIVE_DATE_FORMAT).expect("a date is formattable"));
        return;
    };
    let mut text = [0u8; EFFECTIVE_DATE_LEN];
    write_date_digits(&mut text, year, u8::from(month), day);
    out.push_str(std::str::from_utf8(&text).expect("digits and hyphens are ASCII"));
}

/// Reads what [`format_effective_date`] wrote.
pub fn parse_effective_date(text: &str) -> Result<Date, time::error::Parse> {
    Date::parse(text, EFFECTIVE_DATE_FORMAT)
}

const RECORDED_AT_FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

const EFFECTIVE_DATE_FORMAT: &[FormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// The length of `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
const RECORDED_AT_LEN: usize = 27;

/// The length of `YYYY-MM-DD`.
const EFFECTIVE_DATE_LEN: usize = 10;

/// `YYYY-MM-DD` into the 10 bytes of `text`, for a year of at most four digits (the most `time` holds).
fn write_date_digits(text: &mut [u8], year: u32, month: u8, day: u8) {
    write_digits(&mut text[..4], year);
    text[4] = b'-';
    write_digits(&mut text[5..7], u32::from(month));
    text[7] = b'-';
    write_digits(&mut text[8..10], u32::from(day));
}

/// `value` in decimal, zero-padded to fill `text` (higher digits than fit are dropped).
fn write_digits(text: &mut [u8], mut value: u32) {
    for digit in text.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// A UUID as a JCS string: lowercase hyphenated digits need no escaping.
fn write_uuid(out: &mut String, id: uuid::Uuid) {
    out.push('"');
    out.push_str(id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()));
    out.push('"');
}

#[cfg(test)]
mod tests;
