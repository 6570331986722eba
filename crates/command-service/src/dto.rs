//! Request and response bodies of the HTTP API, and their parsing into domain commands.
//!
//! Bodies are plain strings and numbers with `deny_unknown_fields`; parsing turns them into value types
//! (`DocumentRef`, `Deadline`, `UnitCode`, …) and names the JSON path of the first field that breaks a rule.

use domain::deadline::{parse_date_iso, Deadline};
use domain::document_ref::DocumentRef;
use domain::error::DomainError;
use domain::measure::{Measure, Target};
use domain::plan::Section;
use domain::status::ReportedProgress;
use domain::task::ReportContent;
use domain::text::NonEmptyText;
use domain::unit_code::UnitCode;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

/// The longest title, reason or summary accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// The longest list (basis, evidence, measures, units) accepted.
pub const MAX_LIST_LEN: usize = 100;

/// `201 Created` answer of every command.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CommandAccepted {
    /// The id of what the command created or changed (plan, task, report, extension).
    pub id: String,
    /// The subject stream's version after the command; send it back as `If-Match` to guard the next command.
    pub version: u64,
    /// The global position of the command's last event.
    pub position: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePlanBody {
    /// The agency the plan is for, as a unit code ("SO-KHCN").
    pub agency: String,
    pub year: i32,
    pub title: String,
    /// Legal basis, as document references ("QĐ số 184/QĐ-UBND ngày 24/01/2024").
    #[serde(default)]
    pub basis: Vec<String>,
    pub sections: Vec<SectionBody>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionBody {
    /// A Roman numeral: "I", "II".
    pub code: String,
    pub title: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignTaskBody {
    pub section: String,
    /// "1" for a task, "2.1" for an indicator of task 2 (a JSON number is accepted for a task).
    pub number: NumberOrText,
    /// The task an indicator belongs to.
    pub parent_id: Option<Uuid>,
    /// The content without the "Nhiệm vụ n:" prefix. May be empty only for a task that groups indicators.
    pub title: String,
    pub target: Option<TargetBody>,
    /// `YYYY`, `YYYY-Hn`, `YYYY-Qn`, `YYYY-MM` or `YYYY-MM-DD`; absent for none.
    pub deadline: Option<String>,
    pub lead_unit: String,
    #[serde(default)]
    pub coordinating_units: Vec<String>,
    #[serde(default)]
    pub basis: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum NumberOrText {
    Number(u32),
    Text(String),
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TargetBody {
    pub quantity: Option<f64>,
    pub unit: Option<String>,
    /// The target as written ("03 doanh nghiệp được hỗ trợ").
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportBody {
    /// The cut-off date the report speaks of, `YYYY-MM-DD`.
    pub as_of: String,
    pub summary: String,
    #[serde(default)]
    pub measures: Vec<MeasureBody>,
    /// `not_started` or `in_progress`; completion has its own command.
    #[schema(value_type = Option<String>)]
    pub progress: Option<ReportedProgress>,
    /// Documents that evidence the report.
    #[serde(default)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionBody {
    /// Why the report is corrected.
    pub reason: String,
    /// The corrected report, in full.
    pub as_of: String,
    pub summary: String,
    #[serde(default)]
    pub measures: Vec<MeasureBody>,
    /// `not_started` or `in_progress`; completion has its own command.
    #[schema(value_type = Option<String>)]
    pub progress: Option<ReportedProgress>,
    #[serde(default)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureBody {
    pub label: String,
    pub achieved: f64,
    pub target: Option<f64>,
    pub unit: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRequestBody {
    pub proposed_deadline: String,
    pub reason: String,
    #[serde(default)]
    pub basis: Vec<String>,
    /// The business date of the request, `YYYY-MM-DD`; today (Vietnam time) when absent.
    pub effective_on: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionApprovalBody {
    /// The deadline granted; the proposed one when absent.
    pub new_deadline: Option<String>,
    /// The decision's documents; at least one.
    pub basis: Vec<String>,
    pub note: Option<String>,
    pub effective_on: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompletionBody {
    /// The date the unit completed the task, `YYYY-MM-DD`.
    pub as_of: String,
    pub summary: String,
    #[serde(default)]
    pub evidence: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationBody {
    #[serde(default)]
    pub basis: Vec<String>,
    pub note: Option<String>,
    pub effective_on: Option<String>,
}

/// A decision with a reason: rejection, suspension, cancellation, reopening.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub reason: String,
    #[serde(default)]
    pub basis: Vec<String>,
    pub effective_on: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub to_unit: String,
    pub reason: String,
    #[serde(default)]
    pub basis: Vec<String>,
    pub effective_on: Option<String>,
}

/// A report request: reports as of `cut_off`, expected by `due_on` (the cut-off itself when absent), of `units`
/// (every lead unit of the plan when absent or empty).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequestBody {
    /// The date reports are made as of, `YYYY-MM-DD`: "2024-04-15" for "đến 15/4/2024".
    pub cut_off: String,
    /// The day reports are expected by, `YYYY-MM-DD`, not before `cut_off`; `cut_off` when absent.
    pub due_on: Option<String>,
    /// Unit codes asked; every lead unit of the plan when absent or empty.
    #[serde(default)]
    pub units: Vec<String>,
    /// The documents the request rests on: "Công văn số 1941/UBND-TH ngày 05/04/2024".
    #[serde(default)]
    pub basis: Vec<String>,
    /// A note for the units; may be empty.
    #[serde(default)]
    pub note: String,
}

/// Withdraws a report request.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WithdrawalBody {
    pub reason: String,
}

/// Free text that may be empty (a note): what [`text`] accepts, or nothing but whitespace, which gives "".
pub fn free_text(field: &str, input: &str) -> Result<String, DomainError> {
    if input.trim().is_empty() {
        return Ok(String::new());
    }
    text(field, input).map(NonEmptyText::into_string)
}

pub fn text(field: &str, input: &str) -> Result<NonEmptyText, DomainError> {
    NonEmptyText::parse(input, MAX_TEXT_CHARS).map_err(|error| DomainError::invalid(field, error.to_string()))
}

pub fn optional_text(field: &str, input: Option<&str>) -> Result<Option<NonEmptyText>, DomainError> {
    input.filter(|value| !value.trim().is_empty()).map(|value| text(field, value)).transpose()
}

pub fn unit(field: &str, input: &str) -> Result<UnitCode, DomainError> {
    UnitCode::parse(input).map_err(|error| DomainError::invalid(field, error.to_string()))
}

pub fn units(field: &str, inputs: &[String]) -> Result<Vec<UnitCode>, DomainError> {
    check_len(field, inputs.len())?;
    inputs.iter().enumerate().map(|(index, input)| unit(&format!("{field}[{index}]"), input)).collect()
}

pub fn documents(field: &str, inputs: &[String]) -> Result<Vec<DocumentRef>, DomainError> {
    check_len(field, inputs.len())?;
    inputs
        .iter()
        .enumerate()
        .map(|(index, input)| {
            DocumentRef::parse(input)
                .map_err(|error| DomainError::invalid(format!("{field}[{index}]"), error.to_string()))
        })
        .collect()
}

pub fn deadline(field: &str, input: &str) -> Result<Deadline, DomainError> {
    Deadline::parse_code(input).map_err(|error| DomainError::invalid(field, error.to_string()))
}

pub fn date(field: &str, input: &str) -> Result<Date, DomainError> {
    parse_date_iso(input).map_err(|error| DomainError::invalid(field, error.to_string()))
}

/// A decision's business date: the given one, or `today`.
pub fn effective_on(input: Option<&str>, today: Date) -> Result<Date, DomainError> {
    input.map(|value| date("effective_on", value)).transpose().map(|date| date.unwrap_or(today))
}

pub fn target(body: &TargetBody) -> Result<Target, DomainError> {
    Target::new(body.quantity, body.unit.as_deref(), &body.text)
        .map_err(|error| DomainError::invalid("target", error.to_string()))
}

pub fn measures(field: &str, bodies: &[MeasureBody]) -> Result<Vec<Measure>, DomainError> {
    check_len(field, bodies.len())?;
    bodies
        .iter()
        .enumerate()
        .map(|(index, body)| {
            Measure::new(&body.label, body.achieved, body.target, body.unit.as_deref())
                .map_err(|error| DomainError::invalid(format!("{field}[{index}]"), error.to_string()))
        })
        .collect()
}

pub fn section(index: usize, body: &SectionBody) -> Result<Section, DomainError> {
    Ok(Section {
        code: domain::numbering::parse_section(&format!("sections[{index}].code"), &body.code)?,
        title: text(&format!("sections[{index}].title"), &body.title)?,
    })
}

impl ReportBody {
    pub fn content(&self) -> Result<ReportContent, DomainError> {
        report_content(&self.as_of, &self.summary, &self.measures, self.progress, &self.evidence)
    }
}

impl CorrectionBody {
    pub fn content(&self) -> Result<ReportContent, DomainError> {
        report_content(&self.as_of, &self.summary, &self.measures, self.progress, &self.evidence)
    }
}

impl NumberOrText {
    pub fn as_text(&self) -> String {
        match self {
            NumberOrText::Number(number) => number.to_string(),
            NumberOrText::Text(text) => text.clone(),
        }
    }
}

fn report_content(
    as_of: &str,
    summary: &str,
    measure_bodies: &[MeasureBody],
    progress: Option<ReportedProgress>,
    evidence: &[String],
) -> Result<ReportContent, DomainError> {
    Ok(ReportContent {
        as_of: date("as_of", as_of)?,
        summary: text("summary", summary)?,
        measures: measures("measures", measure_bodies)?,
        progress,
        evidence: documents("evidence", evidence)?,
    })
}

fn check_len(field: &str, len: usize) -> Result<(), DomainError> {
    if len > MAX_LIST_LEN {
        Err(DomainError::invalid(field, format!("at most {MAX_LIST_LEN} items, got {len}")))
    } else {
        Ok(())
    }
}

/// An issued report to record: its number, cut-off, signer and issue date (today in Vietnam when absent).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueReportBody {
    /// As printed: "Số 74/BC-KHCN".
    pub number: String,
    /// The appendix's cut-off, `YYYY-MM-DD`.
    pub cut_off: String,
    /// "Giám đốc Nguyễn Văn Bình".
    pub signer: String,
    /// `YYYY-MM-DD`; today in Vietnam when absent.
    pub issued_on: Option<String>,
}
