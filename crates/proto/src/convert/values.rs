//! Ids, dates, texts and the value messages (`DocumentRef`, `Deadline`, `Target`, `Measure`, `ReportedProgress`)
//! to and from the domain's value types, for the event conversions in `plan.rs` and `task.rs`.
//!
//! Every `*_from_proto` function takes the path of the field it reads (`field`) and names it, or one of its
//! sub-fields, in its errors. A required field that is absent or empty is `Missing`; a value the domain's parser
//! refuses is `Invalid`, with the parser's message as the reason.

use domain::deadline::{Deadline, Granularity};
use domain::document_ref::{DocumentRef, ReferenceForm};
use domain::measure::{Measure, MeasureError, Target};
use domain::numbering::{SectionCode, TaskNumber};
use domain::status::ReportedProgress;
use domain::text::{NonEmptyText, DEFAULT_MAX_CHARS};
use domain::unit_code::UnitCode;
use event_store::canonical::{format_effective_date, parse_effective_date};
use time::Date;
use uuid::Uuid;

use super::ConvertError;
use crate::pb;

/// A calendar date as the contract writes it, "YYYY-MM-DD": the same text as the stored JSON and the envelope's
/// `effective_date`.
pub(super) fn date_to_proto(date: Date) -> String {
    format_effective_date(date)
}

pub(super) fn date_from_proto(value: &str, field: &str) -> Result<Date, ConvertError> {
    parse_date(required(value, field)?, field)
}

/// Absent is `None`; present but empty is invalid.
pub(super) fn optional_date_from_proto(value: Option<&str>, field: &str) -> Result<Option<Date>, ConvertError> {
    value.map(|value| parse_date(value, field)).transpose()
}

pub(super) fn uuid_to_proto(id: Uuid) -> String {
    id.hyphenated().to_string()
}

pub(super) fn uuid_from_proto(value: &str, field: &str) -> Result<Uuid, ConvertError> {
    parse_uuid(required(value, field)?, field)
}

/// Absent is `None`; present but empty is invalid.
pub(super) fn optional_uuid_from_proto(value: Option<&str>, field: &str) -> Result<Option<Uuid>, ConvertError> {
    value.map(|value| parse_uuid(value, field)).transpose()
}

/// A required text: absent (empty) is `Missing`; otherwise parsed as deserialisation does, with the default
/// maximum length.
pub(super) fn text_from_proto(value: &str, field: &str) -> Result<NonEmptyText, ConvertError> {
    let value = required(value, field)?;
    NonEmptyText::parse(value, DEFAULT_MAX_CHARS).map_err(|error| ConvertError::invalid(field, error))
}

/// An optional text: absent is `None`; present but empty is invalid, since the domain has no empty texts.
pub(super) fn optional_text_from_proto(value: Option<&str>, field: &str) -> Result<Option<NonEmptyText>, ConvertError> {
    value
        .map(|value| NonEmptyText::parse(value, DEFAULT_MAX_CHARS).map_err(|error| ConvertError::invalid(field, error)))
        .transpose()
}

pub(super) fn optional_text_to_proto(text: Option<&NonEmptyText>) -> Option<String> {
    text.map(|text| text.as_str().to_owned())
}

pub(super) fn unit_code_from_proto(value: &str, field: &str) -> Result<UnitCode, ConvertError> {
    let value = required(value, field)?;
    UnitCode::parse(value).map_err(|error| ConvertError::invalid(field, error))
}

pub(super) fn unit_codes_from_proto(values: &[String], field: &str) -> Result<Vec<UnitCode>, ConvertError> {
    values.iter().enumerate().map(|(index, value)| unit_code_from_proto(value, &format!("{field}[{index}]"))).collect()
}

pub(super) fn unit_codes_to_proto(units: &[UnitCode]) -> Vec<String> {
    units.iter().map(|unit| unit.as_str().to_owned()).collect()
}

pub(super) fn section_from_proto(value: &str, field: &str) -> Result<SectionCode, ConvertError> {
    let value = required(value, field)?;
    SectionCode::parse(value).map_err(|rule| ConvertError::invalid(field, rule))
}

pub(super) fn task_number_from_proto(value: &str, field: &str) -> Result<TaskNumber, ConvertError> {
    let value = required(value, field)?;
    TaskNumber::parse(value).map_err(|rule| ConvertError::invalid(field, rule))
}

/// A required message field: prost holds message fields as `Option`.
pub(super) fn required_message<'a, T>(value: Option<&'a T>, field: &str) -> Result<&'a T, ConvertError> {
    value.ok_or_else(|| ConvertError::missing(field))
}

/// Every part of the reference, the parsed parts being informative.
pub(super) fn document_ref_to_proto(document: &DocumentRef) -> pb::DocumentRef {
    pb::DocumentRef {
        text: document.original().to_owned(),
        type_code: document.type_code().map(|type_code| type_code.code().to_owned()),
        type_name: document.type_name().map(str::to_owned),
        number: document.number().to_owned(),
        year: document.year(),
        issuer: document.issuer().to_owned(),
        symbol: document.symbol(),
        issued_on: document.issued_on().map(date_to_proto),
        form: document_ref_form_to_proto(document.form()) as i32,
    }
}

pub(super) fn document_refs_to_proto(documents: &[DocumentRef]) -> Vec<pb::DocumentRef> {
    documents.iter().map(document_ref_to_proto).collect()
}

/// Re-parses `text`, the only authoritative field; the parsed parts of the message are ignored.
pub(super) fn document_ref_from_proto(message: &pb::DocumentRef, field: &str) -> Result<DocumentRef, ConvertError> {
    let field = format!("{field}.text");
    let text = required(&message.text, &field)?;
    DocumentRef::parse(text).map_err(|error| ConvertError::invalid(field, error))
}

pub(super) fn document_refs_from_proto(
    messages: &[pb::DocumentRef],
    field: &str,
) -> Result<Vec<DocumentRef>, ConvertError> {
    messages
        .iter()
        .enumerate()
        .map(|(index, message)| document_ref_from_proto(message, &format!("{field}[{index}]")))
        .collect()
}

/// The code, with the granularity, due date and Vietnamese text as informative fields.
pub(super) fn deadline_to_proto(deadline: &Deadline) -> pb::Deadline {
    pb::Deadline {
        code: deadline.code(),
        granularity: granularity_to_proto(deadline.granularity()) as i32,
        due_date: date_to_proto(deadline.due_date()),
        vietnamese: deadline.vietnamese(),
    }
}

/// Parses `code`, the only authoritative field.
pub(super) fn deadline_from_proto(message: &pb::Deadline, field: &str) -> Result<Deadline, ConvertError> {
    let field = format!("{field}.code");
    let code = required(&message.code, &field)?;
    Deadline::parse_code(code).map_err(|error| ConvertError::invalid(field, error))
}

pub(super) fn required_deadline_from_proto(
    message: Option<&pb::Deadline>,
    field: &str,
) -> Result<Deadline, ConvertError> {
    deadline_from_proto(required_message(message, field)?, field)
}

pub(super) fn target_to_proto(target: &Target) -> pb::Target {
    pb::Target { quantity: target.quantity(), unit: target.unit().map(str::to_owned), text: target.text().to_owned() }
}

pub(super) fn target_from_proto(message: &pb::Target, field: &str) -> Result<Target, ConvertError> {
    required(&message.text, &format!("{field}.text"))?;
    Target::new(message.quantity, message.unit.as_deref(), &message.text).map_err(|error| measure_error(field, error))
}

pub(super) fn measure_to_proto(measure: &Measure) -> pb::Measure {
    pb::Measure {
        label: measure.label().to_owned(),
        achieved: measure.achieved(),
        target: measure.target(),
        unit: measure.unit().map(str::to_owned),
    }
}

pub(super) fn measures_from_proto(messages: &[pb::Measure], field: &str) -> Result<Vec<Measure>, ConvertError> {
    messages
        .iter()
        .enumerate()
        .map(|(index, message)| {
            let field = format!("{field}[{index}]");
            required(&message.label, &format!("{field}.label"))?;
            Measure::new(&message.label, message.achieved, message.target, message.unit.as_deref())
                .map_err(|error| measure_error(&field, error))
        })
        .collect()
}

pub(super) fn progress_to_proto(progress: Option<ReportedProgress>) -> i32 {
    let progress = match progress {
        None => pb::ReportedProgress::Unspecified,
        Some(ReportedProgress::NotStarted) => pb::ReportedProgress::NotStarted,
        Some(ReportedProgress::InProgress) => pb::ReportedProgress::InProgress,
    };
    progress as i32
}

/// `REPORTED_PROGRESS_UNSPECIFIED` is `None`; a number this contract does not define is invalid.
pub(super) fn progress_from_proto(value: i32, field: &str) -> Result<Option<ReportedProgress>, ConvertError> {
    match pb::ReportedProgress::try_from(value) {
        Ok(pb::ReportedProgress::Unspecified) => Ok(None),
        Ok(pb::ReportedProgress::NotStarted) => Ok(Some(ReportedProgress::NotStarted)),
        Ok(pb::ReportedProgress::InProgress) => Ok(Some(ReportedProgress::InProgress)),
        Err(_) => Err(ConvertError::invalid(field, format!("{value} is not a ReportedProgress value"))),
    }
}

/// `value` itself, or `Missing` when it is empty (proto3's absent string).
pub(super) fn required<'a>(value: &'a str, field: &str) -> Result<&'a str, ConvertError> {
    if value.is_empty() {
        Err(ConvertError::missing(field))
    } else {
        Ok(value)
    }
}

fn parse_date(value: &str, field: &str) -> Result<Date, ConvertError> {
    parse_effective_date(value)
        .map_err(|error| ConvertError::invalid(field, format!("expected a date as YYYY-MM-DD, got {value:?}: {error}")))
}

fn parse_uuid(value: &str, field: &str) -> Result<Uuid, ConvertError> {
    Uuid::try_parse(value)
        .map_err(|error| ConvertError::invalid(field, format!("expected a UUID, got {value:?}: {error}")))
}

fn document_ref_form_to_proto(form: ReferenceForm) -> pb::DocumentRefForm {
    match form {
        ReferenceForm::Administrative => pb::DocumentRefForm::Administrative,
        ReferenceForm::Party => pb::DocumentRefForm::Party,
        ReferenceForm::LegalNormative => pb::DocumentRefForm::LegalNormative,
    }
}

fn granularity_to_proto(granularity: Granularity) -> pb::DeadlineGranularity {
    match granularity {
        Granularity::Day => pb::DeadlineGranularity::Day,
        Granularity::Month => pb::DeadlineGranularity::Month,
        Granularity::Quarter => pb::DeadlineGranularity::Quarter,
        Granularity::HalfYear => pb::DeadlineGranularity::HalfYear,
        Granularity::Year => pb::DeadlineGranularity::Year,
    }
}

/// Names the sub-field of a target or a measure that the domain refused.
fn measure_error(field: &str, error: MeasureError) -> ConvertError {
    let sub_field = match &error {
        MeasureError::Label(_) => "label",
        MeasureError::Unit(_) => "unit",
        MeasureError::Text(_) | MeasureError::NoQuantity { .. } => "text",
        MeasureError::NotFinite { field, .. } | MeasureError::Negative { field, .. } => field,
    };
    let reason = match error {
        MeasureError::Label(error) | MeasureError::Unit(error) | MeasureError::Text(error) => error.to_string(),
        other => other.to_string(),
    };
    ConvertError::invalid(format!("{field}.{sub_field}"), reason)
}
