//! The two status dimensions of a task, never mixed: the progress its unit reported, and its timeliness
//! computed for a given date against its deadline.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::deadline::Deadline;

/// Reported progress (tình trạng thực hiện), as the lead unit's reports and the assigner's decisions leave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Progress {
    /// chưa thực hiện
    NotStarted,
    /// đang thực hiện
    InProgress,
    /// chờ xác nhận: the unit reported completion, the assigner has not confirmed it yet
    AwaitingConfirmation,
    /// hoàn thành
    Done,
    /// tạm hoãn
    Suspended,
    /// huỷ
    Cancelled,
    /// điều chuyển
    Transferred,
}

/// What a progress report may say of progress. Completion goes through its own command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportedProgress {
    NotStarted,
    InProgress,
}

/// Timeliness (tình trạng thời hạn) of a task on a given date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Timeliness {
    /// trong hạn
    OnTime { days_left: i64 },
    /// sắp quá hạn: due within the warning window
    DueSoon { days_left: i64 },
    /// quá hạn
    Overdue { days_overdue: i64 },
    /// hoàn thành đúng hạn
    DoneOnTime,
    /// hoàn thành quá hạn
    DoneLate { days_late: i64 },
    /// không hạn
    NoDeadline,
    /// không áp dụng: cancelled or transferred
    NotApplicable,
}

impl Progress {
    pub fn as_str(self) -> &'static str {
        match self {
            Progress::NotStarted => "not_started",
            Progress::InProgress => "in_progress",
            Progress::AwaitingConfirmation => "awaiting_confirmation",
            Progress::Done => "done",
            Progress::Suspended => "suspended",
            Progress::Cancelled => "cancelled",
            Progress::Transferred => "transferred",
        }
    }

    pub fn vietnamese(self) -> &'static str {
        match self {
            Progress::NotStarted => "Chưa thực hiện",
            Progress::InProgress => "Đang thực hiện",
            Progress::AwaitingConfirmation => "Chờ xác nhận",
            Progress::Done => "Hoàn thành",
            Progress::Suspended => "Tạm hoãn",
            Progress::Cancelled => "Huỷ",
            Progress::Transferred => "Điều chuyển",
        }
    }

    /// A closed task takes no reports until it is reopened.
    pub fn is_closed(self) -> bool {
        matches!(self, Progress::Done | Progress::Cancelled | Progress::Transferred)
    }
}

impl From<ReportedProgress> for Progress {
    fn from(value: ReportedProgress) -> Self {
        match value {
            ReportedProgress::NotStarted => Progress::NotStarted,
            ReportedProgress::InProgress => Progress::InProgress,
        }
    }
}

impl Timeliness {
    /// Timeliness on `on` of a task with this deadline, progress and completion date (the cut-off date of the
    /// completion report, when done). `due_soon_days` is the warning window in calendar days.
    pub fn compute(
        deadline: Option<&Deadline>,
        progress: Progress,
        completed_on: Option<Date>,
        on: Date,
        due_soon_days: i64,
    ) -> Timeliness {
        if matches!(progress, Progress::Cancelled | Progress::Transferred) {
            return Timeliness::NotApplicable;
        }
        let Some(deadline) = deadline else {
            return Timeliness::NoDeadline;
        };
        let due = deadline.due_date();
        if progress == Progress::Done {
            let completed_on = completed_on.unwrap_or(on);
            let days_late = (completed_on - due).whole_days();
            return if days_late > 0 { Timeliness::DoneLate { days_late } } else { Timeliness::DoneOnTime };
        }
        let days_left = (due - on).whole_days();
        if days_left < 0 {
            Timeliness::Overdue { days_overdue: -days_left }
        } else if days_left <= due_soon_days {
            Timeliness::DueSoon { days_left }
        } else {
            Timeliness::OnTime { days_left }
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Timeliness::OnTime { .. } => "on_time",
            Timeliness::DueSoon { .. } => "due_soon",
            Timeliness::Overdue { .. } => "overdue",
            Timeliness::DoneOnTime => "done_on_time",
            Timeliness::DoneLate { .. } => "done_late",
            Timeliness::NoDeadline => "no_deadline",
            Timeliness::NotApplicable => "not_applicable",
        }
    }

    pub fn vietnamese(self) -> String {
        match self {
            Timeliness::OnTime { .. } => "Trong hạn".to_owned(),
            Timeliness::DueSoon { days_left } => format!("Sắp quá hạn (còn {days_left} ngày)"),
            Timeliness::Overdue { days_overdue } => format!("Quá hạn {days_overdue} ngày"),
            Timeliness::DoneOnTime => "Hoàn thành đúng hạn".to_owned(),
            Timeliness::DoneLate { days_late } => format!("Hoàn thành quá hạn {days_late} ngày"),
            Timeliness::NoDeadline => "Không hạn".to_owned(),
            Timeliness::NotApplicable => "Không áp dụng".to_owned(),
        }
    }
}

/// The default warning window for "due soon", in calendar days.
pub const DEFAULT_DUE_SOON_DAYS: i64 = 7;
