//! Quantities in plans and reports: `Target`, what a task or an indicator must reach ("03 doanh nghiệp được hỗ
//! trợ"), and `Measure`, a figure a progress report states ("25/25 doanh nghiệp", "02 cuộc", "46,51 điểm").
//! Numbers are written the Vietnamese way, with a decimal comma and dots between thousands; [`format_quantity`]
//! writes them back. Texts are normalised with `text.rs`; tasks and reports (`task.rs`) hold these values.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::{normalize_single_line, NonEmptyText, TextError};

/// The longest label of a measure, in characters.
pub const MAX_LABEL_CHARS: usize = 500;

/// The longest unit, in characters.
pub const MAX_UNIT_CHARS: usize = 200;

/// The longest original text of a target, in characters.
pub const MAX_TARGET_TEXT_CHARS: usize = 2_000;

/// A figure stated in a progress report: what was achieved, out of which target, in which unit.
///
/// Invariant: `achieved` and `target` are finite and not negative; the label is a normalised, non-empty text; the
/// unit, when present, is a normalised, non-empty single line. `achieved` may exceed `target`.
/// Serialised as `{label, achieved, target?, unit?}`; deserialisation checks the invariant and refuses unknown
/// fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MeasureFields", into = "MeasureFields")]
pub struct Measure {
    label: NonEmptyText,
    achieved: f64,
    target: Option<f64>,
    unit: Option<NonEmptyText>,
}

/// The target of a task or an indicator: the original text of the plan, and the quantity and unit read from it
/// when there is one ("03 doanh nghiệp được hỗ trợ" is 3 "doanh nghiệp được hỗ trợ").
///
/// Invariant: `text` is a normalised, non-empty text; `quantity` is finite and not negative; the unit, when
/// present, is a normalised, non-empty single line. Serialised as `{quantity?, unit?, text}`; deserialisation
/// checks the invariant and refuses unknown fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TargetFields", into = "TargetFields")]
pub struct Target {
    quantity: Option<f64>,
    unit: Option<NonEmptyText>,
    text: NonEmptyText,
}

/// Why a measure or a target was rejected. Each variant names the field at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MeasureError {
    #[error("label: {0}")]
    Label(TextError),
    #[error("unit: {0}")]
    Unit(TextError),
    #[error("text: {0}")]
    Text(TextError),
    #[error("{field} must be a finite number, got {value}")]
    NotFinite { field: &'static str, value: f64 },
    #[error("{field} must not be negative, got {value}")]
    Negative { field: &'static str, value: f64 },
    #[error("expected a quantity such as \"25/25 doanh nghiệp\", \"02 cuộc\" or \"46,51 điểm\", got {text:?}")]
    NoQuantity { text: String },
}

/// Writes a quantity the Vietnamese way: whole numbers without decimals ("3", "25"), others with a decimal comma
/// ("46,51"). No thousands separator, so that the text reads back unambiguously.
pub fn format_quantity(quantity: f64) -> String {
    if quantity.is_finite() && quantity.fract() == 0.0 && quantity.abs() < 1e15 {
        // Whole numbers this small are exact in both f64 and i64; `+ 0.0` turns -0 into 0.
        format!("{}", (quantity + 0.0) as i64)
    } else {
        format!("{quantity}").replace('.', ",")
    }
}

/// Reads a number written the Vietnamese way at the start of `text`: "25", "03", "46,51", "1.234", "1.234,5";
/// also "46.51" (a single dot not followed by exactly three digits is taken as a decimal point). Returns the
/// number and the rest of the text, or `None` when the text does not start with a number.
pub fn parse_leading_quantity(text: &str) -> Option<(f64, &str)> {
    let number_end = leading_number_length(text);
    if number_end == 0 {
        return None;
    }
    let written = &text[..number_end];
    let rest = &text[number_end..];
    let groups_by_comma: Vec<&str> = written.split(',').collect();
    let plain = match groups_by_comma.as_slice() {
        [whole] => match whole.split('.').collect::<Vec<_>>().as_slice() {
            [digits] => (*digits).to_owned(),
            groups if are_thousands_groups(groups) => groups.concat(),
            [whole, fraction] => format!("{whole}.{fraction}"),
            _ => return None,
        },
        [whole, fraction] => {
            let groups: Vec<&str> = whole.split('.').collect();
            if groups.len() > 1 && !are_thousands_groups(&groups) {
                return None;
            }
            format!("{}.{fraction}", groups.concat())
        }
        _ => return None,
    };
    plain.parse::<f64>().ok().map(|value| (value, rest))
}

impl Measure {
    /// Builds a measure, normalising the label and the unit. An empty or blank unit counts as no unit.
    pub fn new(label: &str, achieved: f64, target: Option<f64>, unit: Option<&str>) -> Result<Measure, MeasureError> {
        let label = NonEmptyText::parse(label, MAX_LABEL_CHARS).map_err(MeasureError::Label)?;
        let achieved = checked_quantity("achieved", achieved)?;
        let target = target.map(|target| checked_quantity("target", target)).transpose()?;
        let unit = parse_optional_unit(unit)?;
        Ok(Measure { label, achieved, target, unit })
    }

    /// Reads a figure as reports write it: "25/25 doanh nghiệp" (achieved 25 of target 25, unit "doanh
    /// nghiệp"), "12/14 nhiệm vụ", "02 cuộc" (achieved 2, no target), "46,51 điểm" (46.51), "85%".
    pub fn parse_fraction(label: &str, text: &str) -> Result<Measure, MeasureError> {
        let written = normalize_single_line(text);
        let no_quantity = || MeasureError::NoQuantity { text: written.clone() };
        let (achieved, rest) = parse_leading_quantity(&written).ok_or_else(no_quantity)?;
        let rest = rest.trim_start();
        let (target, rest) = match rest.strip_prefix('/') {
            Some(after_slash) => {
                let (target, rest) = parse_leading_quantity(after_slash.trim_start()).ok_or_else(no_quantity)?;
                (Some(target), rest)
            }
            None => (None, rest),
        };
        Measure::new(label, achieved, target, Some(rest))
    }

    pub fn label(&self) -> &str {
        self.label.as_str()
    }

    pub fn achieved(&self) -> f64 {
        self.achieved
    }

    pub fn target(&self) -> Option<f64> {
        self.target
    }

    pub fn unit(&self) -> Option<&str> {
        self.unit.as_ref().map(NonEmptyText::as_str)
    }
}

impl fmt::Display for Measure {
    /// The figure without its label, as reports write it: "25/25 doanh nghiệp", "2 cuộc", "46,51 điểm".
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&format_quantity(self.achieved))?;
        if let Some(target) = self.target {
            write!(formatter, "/{}", format_quantity(target))?;
        }
        if let Some(unit) = &self.unit {
            write!(formatter, " {unit}")?;
        }
        Ok(())
    }
}

impl Target {
    /// Builds a target from its parts, normalising the text and the unit. An empty or blank unit counts as no
    /// unit.
    pub fn new(quantity: Option<f64>, unit: Option<&str>, text: &str) -> Result<Target, MeasureError> {
        let text = NonEmptyText::parse(text, MAX_TARGET_TEXT_CHARS).map_err(MeasureError::Text)?;
        let quantity = quantity.map(|quantity| checked_quantity("quantity", quantity)).transpose()?;
        let unit = parse_optional_unit(unit)?;
        Ok(Target { quantity, unit, text })
    }

    /// Reads a target as plans write it, keeping the text: a leading number is the quantity and the rest the
    /// unit ("03 doanh nghiệp được hỗ trợ" is 3 "doanh nghiệp được hỗ trợ"); a text that does not start with a
    /// number, or starts with a fraction, has neither quantity nor unit.
    pub fn from_text(text: &str) -> Result<Target, MeasureError> {
        let text = NonEmptyText::parse(text, MAX_TARGET_TEXT_CHARS).map_err(MeasureError::Text)?;
        let (quantity, unit) = match parse_leading_quantity(text.as_str()) {
            Some((_, rest)) if rest.trim_start().starts_with('/') => (None, None),
            Some((quantity, rest)) => (Some(quantity), Some(rest)),
            None => (None, None),
        };
        Target::new(quantity, unit, text.as_str())
    }

    pub fn quantity(&self) -> Option<f64> {
        self.quantity
    }

    pub fn unit(&self) -> Option<&str> {
        self.unit.as_ref().map(NonEmptyText::as_str)
    }

    /// The original text of the plan, normalised.
    pub fn text(&self) -> &str {
        self.text.as_str()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.text.as_str())
    }
}

/// The serialised form of a [`Measure`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MeasureFields {
    label: String,
    achieved: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
}

/// The serialised form of a [`Target`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    quantity: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    text: String,
}

impl TryFrom<MeasureFields> for Measure {
    type Error = MeasureError;

    fn try_from(fields: MeasureFields) -> Result<Measure, MeasureError> {
        Measure::new(&fields.label, fields.achieved, fields.target, fields.unit.as_deref())
    }
}

impl From<Measure> for MeasureFields {
    fn from(measure: Measure) -> MeasureFields {
        MeasureFields {
            label: measure.label.into_string(),
            achieved: measure.achieved,
            target: measure.target,
            unit: measure.unit.map(NonEmptyText::into_string),
        }
    }
}

impl TryFrom<TargetFields> for Target {
    type Error = MeasureError;

    fn try_from(fields: TargetFields) -> Result<Target, MeasureError> {
        Target::new(fields.quantity, fields.unit.as_deref(), &fields.text)
    }
}

impl From<Target> for TargetFields {
    fn from(target: Target) -> TargetFields {
        TargetFields {
            quantity: target.quantity,
            unit: target.unit.map(NonEmptyText::into_string),
            text: target.text.into_string(),
        }
    }
}

fn checked_quantity(field: &'static str, value: f64) -> Result<f64, MeasureError> {
    if !value.is_finite() {
        return Err(MeasureError::NotFinite { field, value });
    }
    if value < 0.0 {
        return Err(MeasureError::Negative { field, value });
    }
    // -0.0 is not negative but would serialise as "-0".
    Ok(value + 0.0)
}

/// A unit is one line; a blank one is no unit.
fn parse_optional_unit(unit: Option<&str>) -> Result<Option<NonEmptyText>, MeasureError> {
    let Some(unit) = unit.map(normalize_single_line).filter(|unit| !unit.is_empty()) else {
        return Ok(None);
    };
    NonEmptyText::parse(&unit, MAX_UNIT_CHARS).map(Some).map_err(MeasureError::Unit)
}

/// The length in bytes of the leading run "digits ([.,] digits)*".
fn leading_number_length(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut end = 0;
    while end < bytes.len() && bytes[end].is_ascii_digit() {
        end += 1;
    }
    if end == 0 {
        return 0;
    }
    loop {
        let separator_followed_by_digit =
            end + 1 < bytes.len() && matches!(bytes[end], b'.' | b',') && bytes[end + 1].is_ascii_digit();
        if !separator_followed_by_digit {
            return end;
        }
        end += 1;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
    }
}

/// Whether "1.234.567" style groups: a first group of one to three digits not starting with 0, then groups of
/// exactly three.
fn are_thousands_groups(groups: &[&str]) -> bool {
    match groups {
        [first, rest @ ..] => {
            !rest.is_empty()
                && (1..=3).contains(&first.len())
                && !first.starts_with('0')
                && rest.iter().all(|group| group.len() == 3)
        }
        [] => false,
    }
}

#[cfg(test)]
mod tests;
