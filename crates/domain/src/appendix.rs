//! The appendix (Phụ lục) of a plan as of a cut-off date: the table the seed report attaches, one row per section,
//! task and indicator, in numbering order, with the results reported up to the cut-off.
//!
//! The caller hands in the plan and its tasks already folded as of the cut-off (events whose business date is after
//! it left out, and, for a bitemporal query, events recorded after `known_at` left out too).

use serde::{Deserialize, Serialize};
use time::Date;

use crate::deadline::Deadline;
use crate::ids::TaskId;
use crate::numbering::TaskNumber;
use crate::plan::{Plan, Section};
use crate::status::{Progress, Timeliness};
use crate::task::Task;

/// One row of the appendix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendixRow {
    /// "I", "1", "2.1".
    pub tt: String,
    pub kind: RowKind,
    pub task_id: Option<TaskId>,
    /// "Nhiệm vụ 1: …", "Chỉ tiêu 1: …", or the section title.
    pub content: String,
    pub target_text: String,
    pub deadline_text: String,
    pub result_text: String,
    pub progress: Option<Progress>,
    pub timeliness: Option<Timeliness>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    Section,
    Task,
    Indicator,
}

/// What the deadline column shows for a node without a deadline: nothing for a task whose indicators carry the
/// deadlines (as in the seed), "Thường xuyên" (ongoing) otherwise.
pub const ONGOING_TEXT: &str = "Thường xuyên";

/// Builds the rows: each section in plan order, then its tasks by number, each task followed by its indicators.
pub fn build(plan: &Plan, tasks: &[Task], cut_off: Date, due_soon_days: i64) -> Vec<AppendixRow> {
    let mut ordered: Vec<&Task> = tasks.iter().filter(|task| task.plan_id == plan.plan_id).collect();
    ordered.sort_by(|a, b| a.number.cmp(&b.number));
    let mut rows = Vec::with_capacity(ordered.len() + plan.sections.len());
    for section in &plan.sections {
        rows.push(section_row(section));
        for task in ordered.iter().filter(|task| task.section == section.code) {
            let has_indicators = ordered.iter().any(|other| other.parent_id == Some(task.task_id));
            rows.push(task_row(task, has_indicators, cut_off, due_soon_days));
        }
    }
    rows
}

/// The row that opens a section: its numeral and title, nothing else.
pub fn section_row(section: &Section) -> AppendixRow {
    AppendixRow {
        tt: section.code.to_string(),
        kind: RowKind::Section,
        task_id: None,
        content: section.title.as_str().to_owned(),
        target_text: String::new(),
        deadline_text: String::new(),
        result_text: String::new(),
        progress: None,
        timeliness: None,
    }
}

fn task_row(task: &Task, has_indicators: bool, cut_off: Date, due_soon_days: i64) -> AppendixRow {
    AppendixRow {
        tt: task.number.to_string(),
        kind: if task.number.is_indicator() { RowKind::Indicator } else { RowKind::Task },
        task_id: Some(task.task_id),
        content: task.content(),
        target_text: task.target.as_ref().map(|target| target.text().to_owned()).unwrap_or_default(),
        deadline_text: deadline_text(task.deadline.as_ref(), has_indicators),
        result_text: task
            .latest_report_as_of(cut_off)
            .map(|report| report.current.summary.as_str().to_owned())
            .unwrap_or_default(),
        progress: Some(task.progress()),
        timeliness: Some(task.timeliness(cut_off, due_soon_days)),
    }
}

/// "Nhiệm vụ 2: …" for a task, "Chỉ tiêu 1: …" for an indicator; "Nhiệm vụ 2:" when the title is empty.
pub fn node_content(number: &TaskNumber, title: &str) -> String {
    let label = if number.is_indicator() { "Chỉ tiêu" } else { "Nhiệm vụ" };
    let head = format!("{label} {}:", number.last());
    if title.is_empty() {
        head
    } else {
        format!("{head} {title}")
    }
}

/// The deadline column: the Vietnamese deadline, or [`ONGOING_TEXT`] / nothing for a node without one.
pub fn deadline_text(deadline: Option<&Deadline>, has_indicators: bool) -> String {
    match deadline {
        Some(deadline) => deadline.vietnamese(),
        None if has_indicators => String::new(),
        None => ONGOING_TEXT.to_owned(),
    }
}
