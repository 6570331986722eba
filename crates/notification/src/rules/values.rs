//! The small value syntaxes of the rule file and their serde adapters: durations ("30s", "5m", "2h", "3d"), times
//! of day ("08:00"), email addresses and mailboxes, webhook URLs and secrets, NATS subjects, and the checks on
//! lists (not empty, no repeats).
//!
//! Each adapter parses while deserialising, so that an error carries the span of the value and `rules.rs` can name
//! its line; the parsers themselves are plain functions with property tests in `tests.rs`.

use std::fmt::Display;
use std::time::Duration;

use base64::Engine;
use domain::unit_code::UnitCode;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use time::Time;

use crate::channel::ChannelKind;

use super::{CatchUp, Secret};

const SECONDS_PER_MINUTE: u64 = 60;
const SECONDS_PER_HOUR: u64 = 60 * SECONDS_PER_MINUTE;
const SECONDS_PER_DAY: u64 = 24 * SECONDS_PER_HOUR;

/// The longest duration accepted: ten years, far beyond any sensible lease, timeout or catch-up window.
const MAX_DURATION_SECONDS: u64 = 3650 * SECONDS_PER_DAY;

/// The prefix of a webhook secret, as in the Standard Webhooks specification.
pub const WEBHOOK_SECRET_PREFIX: &str = "whsec_";

/// The sizes of webhook signing key that Standard Webhooks allows, in bytes.
const WEBHOOK_KEY_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// Parses a positive duration: a whole number followed by one unit, `ms`, `s`, `m`, `h` or `d` ("200ms", "30s",
/// "5m", "2h", "3d"), up to ten years.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || format!("expected a duration such as \"30s\", \"5m\", \"2h\" or \"3d\", got {text:?}");
    if let Some(digits) = text.strip_suffix("ms") {
        if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(expected());
        }
        let millis: u64 = digits.parse().map_err(|_| expected())?;
        if millis == 0 {
            return Err(format!("a duration must be positive, got {text:?}"));
        }
        if millis / 1000 > MAX_DURATION_SECONDS {
            return Err(format!("a duration must be at most 3650d, got {text:?}"));
        }
        return Ok(Duration::from_millis(millis));
    }
    let Some(unit) = text.chars().last() else {
        return Err(expected());
    };
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(expected());
    }
    let count: u64 = digits.parse().map_err(|_| expected())?;
    let seconds_per_unit = match unit {
        's' => 1,
        'm' => SECONDS_PER_MINUTE,
        'h' => SECONDS_PER_HOUR,
        'd' => SECONDS_PER_DAY,
        _ => return Err(expected()),
    };
    let seconds = count.saturating_mul(seconds_per_unit);
    if seconds == 0 {
        return Err(format!("a duration must be positive, got {text:?}"));
    }
    if seconds > MAX_DURATION_SECONDS {
        return Err(format!("a duration must be at most 3650d, got {text:?}"));
    }
    Ok(Duration::from_secs(seconds))
}

/// Formats a duration in the largest unit that divides it (milliseconds when seconds do not): the inverse of
/// [`parse_duration`].
pub fn format_duration(duration: Duration) -> String {
    if duration.subsec_millis() != 0 {
        return format!("{}ms", duration.as_millis());
    }
    let seconds = duration.as_secs();
    match seconds {
        0 => "0s".to_owned(),
        _ if seconds.is_multiple_of(SECONDS_PER_DAY) => format!("{}d", seconds / SECONDS_PER_DAY),
        _ if seconds.is_multiple_of(SECONDS_PER_HOUR) => format!("{}h", seconds / SECONDS_PER_HOUR),
        _ if seconds.is_multiple_of(SECONDS_PER_MINUTE) => format!("{}m", seconds / SECONDS_PER_MINUTE),
        _ => format!("{seconds}s"),
    }
}

/// Parses a time of day as "HH:MM", 00:00 to 23:59, in Vietnam's civil time.
pub fn parse_time_of_day(text: &str) -> Result<Time, String> {
    let expected = || format!("expected a time of day as HH:MM, such as \"08:00\", got {text:?}");
    let (hours, minutes) = text.split_once(':').ok_or_else(expected)?;
    let is_two_digits = |part: &str| part.len() == 2 && part.bytes().all(|byte| byte.is_ascii_digit());
    if !is_two_digits(hours) || !is_two_digits(minutes) {
        return Err(expected());
    }
    let hour: u8 = hours.parse().map_err(|_| expected())?;
    let minute: u8 = minutes.parse().map_err(|_| expected())?;
    Time::from_hms(hour, minute, 0).map_err(|_| format!("{text:?} is not a time of day: hours 00-23, minutes 00-59"))
}

/// Formats a time of day as "HH:MM", the inverse of [`parse_time_of_day`] for whole minutes.
pub fn format_time_of_day(time_of_day: Time) -> String {
    format!("{:02}:{:02}", time_of_day.hour(), time_of_day.minute())
}

/// Checks the structure of an email address, `local@domain.tld`: one `@`, no whitespace or angle brackets, a
/// local part of at most 64 characters, a domain with a dot, no empty label. Whether the mailbox exists is the
/// mail server's business.
pub fn check_email_address(text: &str) -> Result<(), String> {
    let invalid = |reason: &str| Err(format!("{text:?} is not an email address: {reason}"));
    if text.chars().any(|character| character.is_whitespace() || matches!(character, '<' | '>' | ',' | ';')) {
        return invalid("it contains a space or one of < > , ;");
    }
    let Some((local_part, domain)) = text.split_once('@') else {
        return invalid("it has no @");
    };
    if domain.contains('@') {
        return invalid("it has more than one @");
    }
    if local_part.is_empty() || local_part.chars().count() > 64 {
        return invalid("the part before @ must be 1 to 64 characters");
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return invalid("the domain after @ must be a name with a dot, such as example.gov.vn");
    }
    Ok(())
}

/// Checks a mailbox for the `From` header: an address, or a display name and an address in angle brackets
/// ("taskledger <noreply@example.gov.vn>").
pub fn check_mailbox(text: &str) -> Result<(), String> {
    match text.trim_end().strip_suffix('>').and_then(|rest| rest.rsplit_once('<')) {
        Some((_display_name, address)) => check_email_address(address),
        None => check_email_address(text),
    }
}

/// Checks a webhook URL: `http://` or `https://`, a host, no whitespace.
pub fn check_webhook_url(text: &str) -> Result<(), String> {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(format!("expected an http:// or https:// URL, got {text:?}"));
    };
    if text.chars().any(char::is_whitespace) {
        return Err(format!("a URL may not contain whitespace, got {text:?}"));
    }
    if rest.split(['/', '?', '#']).next().is_none_or(str::is_empty) {
        return Err(format!("the URL has no host: {text:?}"));
    }
    Ok(())
}

/// Decodes a webhook secret, `whsec_` followed by the standard base64 of a 24- to 64-byte key, into the key.
pub fn decode_webhook_secret(text: &str) -> Result<Vec<u8>, String> {
    let Some(encoded) = text.strip_prefix(WEBHOOK_SECRET_PREFIX) else {
        return Err(format!("a webhook secret must start with {WEBHOOK_SECRET_PREFIX:?}"));
    };
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|error| format!("the webhook secret after {WEBHOOK_SECRET_PREFIX:?} is not base64: {error}"))?;
    if !WEBHOOK_KEY_BYTES.contains(&key.len()) {
        return Err(format!(
            "the webhook secret must encode {} to {} bytes, got {}",
            WEBHOOK_KEY_BYTES.start(),
            WEBHOOK_KEY_BYTES.end(),
            key.len()
        ));
    }
    Ok(key)
}

/// Checks a NATS subject prefix: dot-separated tokens, none empty, without whitespace or the wildcards `*` and `>`.
pub fn check_subject_prefix(text: &str) -> Result<(), String> {
    let has_bad_token = text.split('.').any(|token| {
        token.is_empty() || token.chars().any(|character| character.is_whitespace() || matches!(character, '*' | '>'))
    });
    if has_bad_token {
        return Err(format!(
            "expected a NATS subject such as \"taskledger.notifications\": dot-separated tokens, none empty, \
             without spaces, * or >, got {text:?}"
        ));
    }
    Ok(())
}

// ---- serde adapters, used by `#[serde(deserialize_with = "…")]` in rules.rs ----

pub(super) fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text).map_err(D::Error::custom)
}

pub(super) fn optional_duration_list<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Duration>>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    if texts.is_empty() {
        return Err(D::Error::custom("the list must not be empty: leave the key out to use the default"));
    }
    let durations = texts.iter().map(|text| parse_duration(text)).collect::<Result<Vec<_>, _>>();
    durations.map(Some).map_err(D::Error::custom)
}

pub(super) fn time_of_day<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_time_of_day(&text).map_err(D::Error::custom)
}

pub(super) fn channels<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<ChannelKind>, D::Error> {
    let channels = Vec::<ChannelKind>::deserialize(deserializer)?;
    if channels.is_empty() {
        return Err(D::Error::custom("at least one channel is needed: to send nothing, set enabled = false"));
    }
    refuse_repeats(&channels, |channel| format!("{channel:?}").to_lowercase()).map_err(D::Error::custom)?;
    Ok(channels)
}

pub(super) fn working_day_counts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u32>, D::Error> {
    let mut counts = Vec::<u32>::deserialize(deserializer)?;
    refuse_repeats(&counts, u32::to_string).map_err(D::Error::custom)?;
    counts.sort_unstable_by(|left, right| right.cmp(left));
    Ok(counts)
}

pub(super) fn working_day_counts_before_the_day<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<u32>, D::Error> {
    let counts = working_day_counts(deserializer)?;
    if counts.contains(&0) {
        return Err(D::Error::custom("0 working days before is the day itself: use on_the_day = true"));
    }
    Ok(counts)
}

pub(super) fn distinct<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + PartialEq + std::fmt::Debug,
{
    let values = Vec::<T>::deserialize(deserializer)?;
    refuse_repeats(&values, |value| format!("{value:?}")).map_err(D::Error::custom)?;
    Ok(values)
}

pub(super) fn positive_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = u32::deserialize(deserializer)?;
    if value == 0 {
        return Err(D::Error::custom("must be at least 1"));
    }
    Ok(value)
}

pub(super) fn optional_positive_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    positive_u32(deserializer).map(Some)
}

pub(super) fn non_empty_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = domain::text::normalize_single_line(&String::deserialize(deserializer)?);
    if text.is_empty() {
        return Err(D::Error::custom("must not be empty"));
    }
    Ok(text)
}

pub(super) fn optional_non_empty_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    non_empty_text(deserializer).map(Some)
}

pub(super) fn email_addresses<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let addresses = Vec::<String>::deserialize(deserializer)?;
    for address in &addresses {
        check_email_address(address).map_err(D::Error::custom)?;
    }
    refuse_repeats(&addresses, String::clone).map_err(D::Error::custom)?;
    Ok(addresses)
}

pub(super) fn optional_email_address<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let address = String::deserialize(deserializer)?;
    check_email_address(&address).map_err(D::Error::custom)?;
    Ok(Some(address))
}

pub(super) fn mailbox<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    check_mailbox(&text).map_err(D::Error::custom)?;
    Ok(text)
}

pub(super) fn webhook_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    check_webhook_url(&text).map_err(D::Error::custom)?;
    Ok(text)
}

pub(super) fn webhook_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Secret, D::Error> {
    let text = String::deserialize(deserializer)?;
    decode_webhook_secret(&text).map_err(D::Error::custom)?;
    Ok(Secret::new(text))
}

pub(super) fn optional_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Err(D::Error::custom("must not be empty: leave the key out instead"));
    }
    Ok(Some(Secret::new(text)))
}

pub(super) fn subject_prefix<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    check_subject_prefix(&text).map_err(D::Error::custom)?;
    Ok(text)
}

/// Unit codes, normalised as the domain's `UnitCode` does (trimmed, uppercase).
pub(super) fn unit_codes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let texts = Vec::<String>::deserialize(deserializer)?;
    let codes = texts
        .iter()
        .map(|text| UnitCode::parse(text).map(UnitCode::into_string))
        .collect::<Result<Vec<_>, _>>()
        .map_err(D::Error::custom)?;
    refuse_repeats(&codes, String::clone).map_err(D::Error::custom)?;
    Ok(codes)
}

impl<'de> Deserialize<'de> for CatchUp {
    /// `"send_late"`, `"digest"` or `{ skip_older_than = "3d" }`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<CatchUp, D::Error> {
        deserializer.deserialize_any(CatchUpVisitor)
    }
}

struct CatchUpVisitor;

impl<'de> serde::de::Visitor<'de> for CatchUpVisitor {
    type Value = CatchUp;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(r#""send_late", "digest" or { skip_older_than = "3d" }"#)
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<CatchUp, E> {
        match text {
            "send_late" => Ok(CatchUp::SendLate),
            "digest" => Ok(CatchUp::Digest),
            _ => Err(E::custom(format!(
                r#"expected "send_late", "digest" or {{ skip_older_than = "3d" }}, got {text:?}"#
            ))),
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<CatchUp, A::Error> {
        let mut skip_older_than = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "skip_older_than" if skip_older_than.is_none() => {
                    let text: String = map.next_value()?;
                    skip_older_than = Some(parse_duration(&text).map_err(A::Error::custom)?);
                }
                _ => return Err(A::Error::custom(format!("unknown key `{key}`, expected `skip_older_than`"))),
            }
        }
        skip_older_than.map(CatchUp::SkipOlderThan).ok_or_else(|| A::Error::custom("missing `skip_older_than`"))
    }
}

/// Refuses a list in which a value appears twice, naming it as `describe` writes it. The lists of a rule file are
/// short, so a quadratic scan is the simplest check.
fn refuse_repeats<T: PartialEq, S: Display>(values: &[T], describe: impl Fn(&T) -> S) -> Result<(), String> {
    for (index, value) in values.iter().enumerate() {
        if values[..index].contains(value) {
            return Err(format!("{} is listed twice", describe(value)));
        }
    }
    Ok(())
}
