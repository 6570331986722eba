//! The text of a reminder: a [`Reminder`] rendered for its [`Recipient`] into a [`Message`] (a subject and a
//! plain-text body), in Vietnamese unless the recipient reads English, and several reminders folded into one daily
//! digest.
//!
//! The dispatcher renders before it hands a [`crate::channel::Delivery`] to a channel, so that every channel
//! (email, webhook, NATS, the in-app feed) carries the same words. A message names each task as the appendix shows
//! it (its "TT" number, its content, its deadline text), says what is expected of the reader, and notes when it is
//! sent late. Dates read dd/mm/yyyy and times carry their offset, +07:00. Every text is NFC, whatever the inputs.
//!
//! Rendering is pure: no clock, no I/O; the same reminder always gives the same message.

use domain::deadline::{format_date_vn, VIETNAM_OFFSET};
use time::OffsetDateTime;
use unicode_normalization::UnicodeNormalization;

use crate::channel::{Language, Message, Recipient, Reminder, ReminderKind, TaskRef};

/// The longest task content quoted in a subject, in characters; a longer one is cut and ends with "…".
pub const MAX_SUBJECT_CONTENT_CHARS: usize = 80;

/// Renders one reminder for its recipient, in the recipient's language.
pub fn render(reminder: &Reminder, recipient: &Recipient) -> Message {
    let language = recipient.language;
    let mut body = String::new();
    push_line(&mut body, &greeting(recipient, language));
    body.push('\n');
    push_reminder_section(&mut body, reminder, language);
    body.push('\n');
    push_line(&mut body, footer(language));
    message(language, &subject(reminder, language), &body)
}

/// Folds several reminders for one recipient into one daily digest, the most urgent first: overdue tasks, then
/// those due today, those approaching their deadline, and reports due. Reminders of the same urgency keep the
/// order they were given in. The digest is dated by the latest of the reminders' due instants.
pub fn render_digest(reminders: &[Reminder], recipient: &Recipient) -> Message {
    let language = recipient.language;
    let mut ordered: Vec<&Reminder> = reminders.iter().collect();
    ordered.sort_by_key(|reminder| urgency_rank(&reminder.kind));
    let digest_date = reminders.iter().map(|reminder| reminder.due_at).max().map(vietnam_date_text);

    let subject = match (language, &digest_date) {
        (Language::Vi, Some(date)) => format!("[Tổng hợp nhắc việc] {} nội dung cần xử lý — {date}", reminders.len()),
        (Language::Vi, None) => "[Tổng hợp nhắc việc] Không có nội dung cần xử lý".to_owned(),
        (Language::En, Some(date)) => {
            format!("[Daily digest] {} — {date}", count_noun(reminders.len(), "reminder", "reminders"))
        }
        (Language::En, None) => "[Daily digest] Nothing to do".to_owned(),
    };

    let mut body = String::new();
    push_line(&mut body, &greeting(recipient, language));
    body.push('\n');
    match (language, ordered.is_empty()) {
        (Language::Vi, true) => push_line(&mut body, "Hôm nay không có nhắc việc nào."),
        (Language::En, true) => push_line(&mut body, "There are no reminders today."),
        (Language::Vi, false) => push_line(&mut body, "Tổng hợp các nhắc việc trong ngày:"),
        (Language::En, false) => push_line(&mut body, "Today's reminders:"),
    }
    for (index, reminder) in ordered.iter().enumerate() {
        body.push('\n');
        push_line(&mut body, &format!("{}. {}", index + 1, headline(reminder, language)));
        push_reminder_section(&mut body, reminder, language);
    }
    body.push('\n');
    push_line(&mut body, footer(language));
    message(language, &subject, &body)
}

/// "30/11/2024" and "23:59:59+07:00": an instant as its Vietnam civil date and its time of day with the offset.
pub fn vietnam_date_and_time_text(instant: OffsetDateTime) -> (String, String) {
    let local = instant.to_offset(VIETNAM_OFFSET);
    let time_text = format!("{:02}:{:02}:{:02}+07:00", local.hour(), local.minute(), local.second());
    (format_date_vn(local.date()), time_text)
}

fn vietnam_date_text(instant: OffsetDateTime) -> String {
    vietnam_date_and_time_text(instant).0
}

fn message(language: Language, subject: &str, body: &str) -> Message {
    Message { language, subject: subject.nfc().collect(), body: body.nfc().collect() }
}

fn push_line(text: &mut String, line: &str) {
    text.push_str(line);
    text.push('\n');
}

/// Overdue first, then due today, approaching, and reports due.
fn urgency_rank(kind: &ReminderKind) -> u8 {
    match kind {
        ReminderKind::Overdue { .. } => 0,
        ReminderKind::DeadlineApproaching { working_days_left: 0 } => 1,
        ReminderKind::DeadlineApproaching { .. } => 2,
        ReminderKind::ReportDue { .. } => 3,
    }
}

fn greeting(recipient: &Recipient, language: Language) -> String {
    match language {
        Language::Vi => format!("Kính gửi: {}", recipient.name),
        Language::En => format!("Dear {},", recipient.name),
    }
}

fn footer(language: Language) -> &'static str {
    match language {
        Language::Vi => "Đây là thông báo tự động của hệ thống taskledger, vui lòng không trả lời thư này.",
        Language::En => "This is an automated reminder from taskledger; please do not reply.",
    }
}

/// The subject of a single reminder: its kind in brackets, then what it is about.
fn subject(reminder: &Reminder, language: Language) -> String {
    let topic = subject_topic(&reminder.tasks, language);
    let late_mark = match (reminder.late, language) {
        (false, _) => "",
        (true, Language::Vi) => " (gửi muộn)",
        (true, Language::En) => " (sent late)",
    };
    let subject = match (&reminder.kind, language) {
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::Vi) => {
            format!("[Đến hạn hôm nay] {topic}")
        }
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::En) => format!("[Due today] {topic}"),
        (ReminderKind::DeadlineApproaching { working_days_left }, Language::Vi) => {
            format!("[Nhắc hạn] {topic} — còn {working_days_left} ngày làm việc")
        }
        (ReminderKind::DeadlineApproaching { working_days_left }, Language::En) => format!(
            "[Deadline reminder] {topic} — {} left",
            count_noun(*working_days_left as usize, "working day", "working days")
        ),
        (ReminderKind::Overdue { days_overdue, escalated: false }, Language::Vi) => {
            format!("[Quá hạn] {topic} — quá hạn {days_overdue} ngày")
        }
        (ReminderKind::Overdue { days_overdue, escalated: false }, Language::En) => {
            format!("[Overdue] {topic} — {} overdue", count_noun(*days_overdue as usize, "day", "days"))
        }
        (ReminderKind::Overdue { days_overdue, escalated: true }, Language::Vi) => {
            format!("[Báo cáo lãnh đạo] Nhiệm vụ quá hạn {days_overdue} ngày: {topic}")
        }
        (ReminderKind::Overdue { days_overdue, escalated: true }, Language::En) => {
            format!("[Escalation] Overdue by {}: {topic}", count_noun(*days_overdue as usize, "day", "days"))
        }
        (ReminderKind::ReportDue { cut_off, period }, Language::Vi) => {
            let period = parenthesised_period(period);
            format!("[Yêu cầu báo cáo] Kết quả thực hiện nhiệm vụ đến ngày {}{period}", format_date_vn(*cut_off))
        }
        (ReminderKind::ReportDue { cut_off, period }, Language::En) => {
            let period = parenthesised_period(period);
            format!("[Report request] Progress as of {}{period}", format_date_vn(*cut_off))
        }
    };
    format!("{subject}{late_mark}")
}

/// One task's content without its final period, cut to [`MAX_SUBJECT_CONTENT_CHARS`], or the number of tasks.
fn subject_topic(tasks: &[TaskRef], language: Language) -> String {
    match (tasks, language) {
        ([task], _) => shortened(task.content.trim_end().trim_end_matches('.'), MAX_SUBJECT_CONTENT_CHARS),
        ([], Language::Vi) => "nhiệm vụ".to_owned(),
        ([], Language::En) => "task".to_owned(),
        (tasks, Language::Vi) => format!("{} nhiệm vụ", tasks.len()),
        (tasks, Language::En) => format!("{} tasks", tasks.len()),
    }
}

fn shortened(text: &str, max_chars: usize) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max_chars {
        return one_line;
    }
    let kept: String = one_line.chars().take(max_chars.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

fn parenthesised_period(period: &str) -> String {
    let period = period.trim();
    if period.is_empty() {
        String::new()
    } else {
        format!(" ({period})")
    }
}

/// One line saying what a reminder is, for a digest's numbered list.
fn headline(reminder: &Reminder, language: Language) -> String {
    match (&reminder.kind, language) {
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::Vi) => "Đến hạn hôm nay".to_owned(),
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::En) => "Due today".to_owned(),
        (ReminderKind::DeadlineApproaching { working_days_left }, Language::Vi) => {
            format!("Sắp đến hạn, còn {working_days_left} ngày làm việc")
        }
        (ReminderKind::DeadlineApproaching { working_days_left }, Language::En) => format!(
            "Deadline approaching, {} left",
            count_noun(*working_days_left as usize, "working day", "working days")
        ),
        (ReminderKind::Overdue { days_overdue, escalated: false }, Language::Vi) => {
            format!("Quá hạn {days_overdue} ngày")
        }
        (ReminderKind::Overdue { days_overdue, escalated: false }, Language::En) => {
            format!("Overdue by {}", count_noun(*days_overdue as usize, "day", "days"))
        }
        (ReminderKind::Overdue { days_overdue, escalated: true }, Language::Vi) => {
            format!("Nhiệm vụ quá hạn {days_overdue} ngày, báo cáo để chỉ đạo")
        }
        (ReminderKind::Overdue { days_overdue, escalated: true }, Language::En) => {
            format!("Overdue by {}, for your direction", count_noun(*days_overdue as usize, "day", "days"))
        }
        (ReminderKind::ReportDue { cut_off, period }, Language::Vi) => {
            format!("Báo cáo kết quả thực hiện đến ngày {}{}", format_date_vn(*cut_off), parenthesised_period(period))
        }
        (ReminderKind::ReportDue { cut_off, period }, Language::En) => {
            format!("Progress report as of {}{}", format_date_vn(*cut_off), parenthesised_period(period))
        }
    }
}

/// What a reminder says between the greeting and the footer: what is happening, the tasks, what is expected, and
/// a note when it is late.
fn push_reminder_section(body: &mut String, reminder: &Reminder, language: Language) {
    push_line(body, &introduction(reminder, language));
    for task in &reminder.tasks {
        body.push('\n');
        push_task(body, task, language);
    }
    body.push('\n');
    push_line(body, &expectation(&reminder.kind, language));
    if reminder.late {
        push_line(body, &late_note(reminder.due_at, language));
    }
}

fn introduction(reminder: &Reminder, language: Language) -> String {
    let n_tasks = reminder.tasks.len();
    let lead_units = lead_units(&reminder.tasks);
    match (&reminder.kind, language) {
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::Vi) => {
            format!("{} đến hạn hôm nay, ngày {}:", tasks_vi(n_tasks), vietnam_date_text(reminder.due_at))
        }
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::En) => {
            format!("{} due today, {}:", tasks_en(n_tasks), vietnam_date_text(reminder.due_at))
        }
        (ReminderKind::DeadlineApproaching { working_days_left }, Language::Vi) => {
            format!("{} sắp đến hạn, còn {working_days_left} ngày làm việc:", tasks_vi(n_tasks))
        }
        (ReminderKind::DeadlineApproaching { working_days_left }, Language::En) => format!(
            "{} due in {}:",
            tasks_en(n_tasks),
            count_noun(*working_days_left as usize, "working day", "working days")
        ),
        (ReminderKind::Overdue { days_overdue, escalated: false }, Language::Vi) => {
            format!("{} đã quá hạn {days_overdue} ngày:", tasks_vi(n_tasks))
        }
        (ReminderKind::Overdue { days_overdue, escalated: false }, Language::En) => {
            format!("{} overdue by {}:", tasks_en(n_tasks), count_noun(*days_overdue as usize, "day", "days"))
        }
        (ReminderKind::Overdue { days_overdue, escalated: true }, Language::Vi) => format!(
            "{} do {lead_units} chủ trì đã quá hạn {days_overdue} ngày và chưa được báo cáo hoàn thành:",
            tasks_vi(n_tasks)
        ),
        (ReminderKind::Overdue { days_overdue, escalated: true }, Language::En) => {
            let days = count_noun(*days_overdue as usize, "day", "days");
            if n_tasks == 1 {
                format!(
                    "The following task, led by {lead_units}, is overdue by {days} and has not been reported complete:"
                )
            } else {
                format!("The following tasks, led by {lead_units}, are overdue by {days} and have not been reported complete:")
            }
        }
        (ReminderKind::ReportDue { cut_off, period }, Language::Vi) => format!(
            "Kỳ báo cáo kết quả thực hiện đến ngày {}{}. Các nhiệm vụ chưa có báo cáo trong kỳ ({n_tasks}):",
            format_date_vn(*cut_off),
            parenthesised_period(period)
        ),
        (ReminderKind::ReportDue { cut_off, period }, Language::En) => format!(
            "Progress is to be reported as of {}{}. Tasks without a report for the period ({n_tasks}):",
            format_date_vn(*cut_off),
            parenthesised_period(period)
        ),
    }
}

/// "Nhiệm vụ sau" / "Các nhiệm vụ sau": the subject of an introduction.
fn tasks_vi(n_tasks: usize) -> &'static str {
    if n_tasks == 1 {
        "Nhiệm vụ sau"
    } else {
        "Các nhiệm vụ sau"
    }
}

/// "The following task is" / "The following tasks are": the subject and verb of an introduction.
fn tasks_en(n_tasks: usize) -> &'static str {
    if n_tasks == 1 {
        "The following task is"
    } else {
        "The following tasks are"
    }
}

/// The lead units of the tasks, each once, in order of first appearance.
fn lead_units(tasks: &[TaskRef]) -> String {
    let mut units: Vec<&str> = Vec::new();
    for task in tasks {
        if !units.contains(&task.lead_unit.as_str()) {
            units.push(&task.lead_unit);
        }
    }
    units.join(", ")
}

fn push_task(body: &mut String, task: &TaskRef, language: Language) {
    let (deadline_label, due_label, unit_label, plan_label) = match language {
        Language::Vi => ("Thời hạn", "đến hạn lúc", "Đơn vị chủ trì", "Danh mục"),
        Language::En => ("Deadline", "due at", "Lead unit", "Plan"),
    };
    push_line(body, &format!("TT {}. {}", task.number, task.content));
    let deadline_text = task.deadline_text.trim();
    match (deadline_text.is_empty(), task.due_at) {
        (false, Some(due_at)) => {
            let (date, time) = vietnam_date_and_time_text(due_at);
            let on = match language {
                Language::Vi => "ngày",
                Language::En => "on",
            };
            push_line(body, &format!("   {deadline_label}: {deadline_text} ({due_label} {time} {on} {date})"));
        }
        (false, None) => push_line(body, &format!("   {deadline_label}: {deadline_text}")),
        (true, _) => {}
    }
    push_line(body, &format!("   {unit_label}: {}", task.lead_unit));
    push_line(body, &format!("   {plan_label}: {}", task.plan_title));
}

fn expectation(kind: &ReminderKind, language: Language) -> String {
    match (kind, language) {
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::Vi) => {
            "Đề nghị đơn vị hoàn thành và báo cáo kết quả thực hiện trong ngày hôm nay; nếu không thể hoàn thành \
             đúng hạn, đề nghị gửi đề xuất gia hạn kèm lý do."
                .to_owned()
        }
        (ReminderKind::DeadlineApproaching { working_days_left: 0 }, Language::En) => {
            "Please complete the task and report its results today; if it cannot be completed on time, please \
             request an extension with the reason."
                .to_owned()
        }
        (ReminderKind::DeadlineApproaching { .. }, Language::Vi) => {
            "Đề nghị đơn vị hoàn thành và báo cáo kết quả thực hiện trước thời hạn; nếu không thể hoàn thành \
             đúng hạn, đề nghị gửi đề xuất gia hạn kèm lý do."
                .to_owned()
        }
        (ReminderKind::DeadlineApproaching { .. }, Language::En) => {
            "Please complete the task and report its results before the deadline; if it cannot be completed on \
             time, please request an extension with the reason."
                .to_owned()
        }
        (ReminderKind::Overdue { escalated: false, .. }, Language::Vi) => {
            "Đề nghị đơn vị khẩn trương hoàn thành và báo cáo kết quả thực hiện, hoặc gửi đề xuất gia hạn kèm \
             lý do."
                .to_owned()
        }
        (ReminderKind::Overdue { escalated: false, .. }, Language::En) => {
            "Please complete the task and report its results without delay, or request an extension with the \
             reason."
                .to_owned()
        }
        (ReminderKind::Overdue { escalated: true, .. }, Language::Vi) => {
            "Kính báo cáo đồng chí để chỉ đạo đơn vị chủ trì khẩn trương hoàn thành nhiệm vụ, hoặc xem xét đề \
             xuất gia hạn của đơn vị."
                .to_owned()
        }
        (ReminderKind::Overdue { escalated: true, .. }, Language::En) => {
            "This is brought to your attention so that you can direct the lead unit to complete the task without \
             delay, or consider its request for an extension."
                .to_owned()
        }
        (ReminderKind::ReportDue { cut_off, .. }, Language::Vi) => format!(
            "Đề nghị đơn vị cập nhật kết quả thực hiện từng nhiệm vụ (nội dung, số liệu đạt được, tài liệu kèm \
             theo) đến ngày {}.",
            format_date_vn(*cut_off)
        ),
        (ReminderKind::ReportDue { cut_off, .. }, Language::En) => format!(
            "Please file each task's progress (what was done, figures achieved, supporting documents) as of {}.",
            format_date_vn(*cut_off)
        ),
    }
}

fn late_note(due_at: OffsetDateTime, language: Language) -> String {
    let (date, time) = vietnam_date_and_time_text(due_at);
    match language {
        Language::Vi => {
            format!("Lưu ý: nhắc việc này được gửi muộn; theo lịch, nhắc việc phải được gửi lúc {time} ngày {date}.")
        }
        Language::En => format!("Note: this reminder is sent late; it was due at {time} on {date}."),
    }
}

/// "1 day", "3 days".
fn count_noun(count: usize, singular: &str, plural: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {plural}")
    }
}

#[cfg(test)]
mod tests;
