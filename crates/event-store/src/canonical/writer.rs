//! A direct RFC 8785 (JCS) writer for `serde_json::Value`s and for the envelope of a stored event.
//!
//! It writes the same bytes as `serde_json_canonicalizer` (a property test in `tests.rs` holds it to that) without
//! its detours: that crate serialises every object member into a buffer of its own and parses each key back to
//! sort it. Here objects are written in the order of their names' UTF-16 code units, strings with JCS escaping
//! (`\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other controls as `\u00xx`, everything else literal) and integers
//! of at most 2^53 in magnitude as plain digits; every other number (fractions, larger integers) is handed to
//! `serde_json_canonicalizer`, which prints it as ECMAScript prints a double.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// The largest magnitude of an integer that a double holds exactly, and that ECMAScript therefore prints as the
/// same plain digits.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Appends the JCS text of `value`.
pub(super) fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_str(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(members) => write_object(out, members),
    }
}

/// Appends `text` as a JCS string, quotes included.
pub(super) fn write_str(out: &mut String, text: &str) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    let mut unescaped_from = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x0c => "\\f",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `index` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&text[unescaped_from..index]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        } else {
            out.push_str(escape);
        }
        unescaped_from = index + 1;
    }
    out.push_str(&text[unescaped_from..]);
    out.push('"');
}

/// Appends an unsigned integer as JCS writes a number.
pub(super) fn write_u64(out: &mut String, value: u64) {
    if value <= MAX_EXACT_INTEGER {
        let _ = write!(out, "{value}");
    } else {
        write_number_as_double(out, &Number::from(value));
    }
}

fn write_number(out: &mut String, number: &Number) {
    if let Some(value) = number.as_u64() {
        write_u64(out, value);
    } else if let Some(value) = number.as_i64().filter(|value| value.unsigned_abs() <= MAX_EXACT_INTEGER) {
        let _ = write!(out, "{value}");
    } else {
        write_number_as_double(out, number);
    }
}

fn write_number_as_double(out: &mut String, number: &Number) {
    // A `Number` is always finite, the only condition under which the canonicaliser fails.
    out.push_str(&serde_json_canonicalizer::to_string(number).expect("a serde_json::Number has a canonical form"));
}

fn write_object(out: &mut String, members: &Map<String, Value>) {
    out.push('{');
    if is_in_utf16_order(members.keys()) {
        write_members(out, members.iter());
    } else {
        // Only names beyond the Basic Multilingual Plane sort differently in UTF-16 than in UTF-8 (or a map that
        // keeps insertion order).
        let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
        sorted.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        write_members(out, sorted.into_iter());
    }
    out.push('}');
}

fn write_members<'a>(out: &mut String, members: impl Iterator<Item = (&'a String, &'a Value)>) {
    for (index, (name, value)) in members.enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_str(out, name);
        out.push(':');
        write_value(out, value);
    }
}

fn is_in_utf16_order<'a>(mut names: impl Iterator<Item = &'a String>) -> bool {
    let Some(mut previous) = names.next() else { return true };
    for name in names {
        let in_order = if previous.is_ascii() && name.is_ascii() {
            previous.as_bytes() < name.as_bytes()
        } else {
            previous.encode_utf16().lt(name.encode_utf16())
        };
        if !in_order {
            return false;
        }
        previous = name;
    }
    true
}
