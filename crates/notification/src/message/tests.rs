//! Snapshots of every kind of message in both languages, and of a digest, made from tasks of the seed's appendix
//! (the Department of Science and Technology of Bắc Giang, 2024). A change of wording shows up in review.

use insta::assert_snapshot;
use time::macros::{date, datetime};
use unicode_normalization::{is_nfc, UnicodeNormalization};
use uuid::Uuid;

use super::*;

fn transfer_indicator() -> TaskRef {
    TaskRef {
        task_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0021),
        plan_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        plan_title: "Nhiệm vụ trọng tâm của Giám đốc Sở KH&CN năm 2024".to_owned(),
        number: "2.1".to_owned(),
        content: "Chỉ tiêu 1: Tổ chức chuyển giao sản phẩm của các nhiệm vụ KH&CN để ứng dụng, nhân rộng.".to_owned(),
        deadline_text: "Tháng 12/2024".to_owned(),
        due_at: Some(datetime!(2024-12-31 23:59:59 +07:00)),
        lead_unit: "PQLKH".to_owned(),
    }
}

fn initiative_task() -> TaskRef {
    TaskRef {
        task_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0003),
        plan_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        plan_title: "Nhiệm vụ trọng tâm của Giám đốc Sở KH&CN năm 2024".to_owned(),
        number: "3".to_owned(),
        content: "Nhiệm vụ 3: Nâng cao chất lượng xét đánh giá, công nhận sáng kiến cơ sở.".to_owned(),
        deadline_text: "Tháng 06/2024".to_owned(),
        due_at: Some(datetime!(2024-06-30 23:59:59 +07:00)),
        lead_unit: "PQLKH".to_owned(),
    }
}

fn standing_task() -> TaskRef {
    TaskRef {
        task_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0101),
        plan_id: Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001),
        plan_title: "Nhiệm vụ trọng tâm của Giám đốc Sở KH&CN năm 2024".to_owned(),
        number: "1".to_owned(),
        content: "Nhiệm vụ 1: Xây dựng thí điểm áp dụng công cụ 5S tại một số cơ quan, đơn vị thường xuyên tiếp xúc \
                  với công dân."
            .to_owned(),
        deadline_text: "Thường xuyên".to_owned(),
        due_at: None,
        lead_unit: "VP".to_owned(),
    }
}

fn reminder(kind: ReminderKind, tasks: Vec<TaskRef>, due_at: OffsetDateTime) -> Reminder {
    Reminder {
        occurrence_key: "deadline-3-days/task-0190/2024-12-31".to_owned(),
        rule: "deadline-3-days".to_owned(),
        kind,
        tasks,
        due_at,
        late: false,
        critical: false,
    }
}

fn approaching() -> Reminder {
    reminder(
        ReminderKind::DeadlineApproaching { working_days_left: 3 },
        vec![transfer_indicator()],
        datetime!(2024-12-26 08:00 +07:00),
    )
}

fn due_today() -> Reminder {
    reminder(
        ReminderKind::DeadlineApproaching { working_days_left: 0 },
        vec![transfer_indicator()],
        datetime!(2024-12-31 08:00 +07:00),
    )
}

fn overdue() -> Reminder {
    reminder(
        ReminderKind::Overdue { days_overdue: 5, escalated: false },
        vec![initiative_task()],
        datetime!(2024-07-05 08:00 +07:00),
    )
}

fn escalated() -> Reminder {
    reminder(
        ReminderKind::Overdue { days_overdue: 10, escalated: true },
        vec![initiative_task()],
        datetime!(2024-07-10 08:00 +07:00),
    )
}

fn report_due() -> Reminder {
    reminder(
        ReminderKind::ReportDue { cut_off: date!(2024 - 04 - 15), period: "Tháng 4/2024".to_owned() },
        vec![initiative_task(), transfer_indicator(), standing_task()],
        datetime!(2024-04-12 08:00 +07:00),
    )
}

fn late(mut reminder: Reminder) -> Reminder {
    reminder.late = true;
    reminder
}

fn staff(language: Language) -> Recipient {
    Recipient { id: "u-nguyen-van-an".to_owned(), name: "Nguyễn Văn An".to_owned(), language }
}

fn director(language: Language) -> Recipient {
    Recipient { id: "u-tran-thi-binh".to_owned(), name: "Trần Thị Bình".to_owned(), language }
}

fn text_of(message: &Message) -> String {
    format!("Subject: {}\n\n{}", message.subject, message.body)
}

#[test]
fn deadline_approaching_vi() {
    assert_snapshot!(text_of(&render(&approaching(), &staff(Language::Vi))));
}

#[test]
fn deadline_approaching_en() {
    assert_snapshot!(text_of(&render(&approaching(), &staff(Language::En))));
}

#[test]
fn due_today_vi() {
    assert_snapshot!(text_of(&render(&due_today(), &staff(Language::Vi))));
}

#[test]
fn due_today_en() {
    assert_snapshot!(text_of(&render(&due_today(), &staff(Language::En))));
}

#[test]
fn overdue_vi() {
    assert_snapshot!(text_of(&render(&overdue(), &staff(Language::Vi))));
}

#[test]
fn overdue_en() {
    assert_snapshot!(text_of(&render(&overdue(), &staff(Language::En))));
}

#[test]
fn overdue_escalated_to_the_approver_vi() {
    assert_snapshot!(text_of(&render(&escalated(), &director(Language::Vi))));
}

#[test]
fn overdue_escalated_to_the_approver_en() {
    assert_snapshot!(text_of(&render(&escalated(), &director(Language::En))));
}

#[test]
fn report_due_vi() {
    assert_snapshot!(text_of(&render(&report_due(), &staff(Language::Vi))));
}

#[test]
fn report_due_en() {
    assert_snapshot!(text_of(&render(&report_due(), &staff(Language::En))));
}

#[test]
fn late_reminder_vi() {
    assert_snapshot!(text_of(&render(&late(approaching()), &staff(Language::Vi))));
}

#[test]
fn late_reminder_en() {
    assert_snapshot!(text_of(&render(&late(approaching()), &staff(Language::En))));
}

#[test]
fn digest_vi() {
    let reminders = [report_due(), approaching(), late(overdue()), due_today()];
    assert_snapshot!(text_of(&render_digest(&reminders, &staff(Language::Vi))));
}

#[test]
fn digest_en() {
    let reminders = [report_due(), approaching(), late(overdue()), due_today()];
    assert_snapshot!(text_of(&render_digest(&reminders, &staff(Language::En))));
}

#[test]
fn an_empty_digest_says_there_is_nothing() {
    let message = render_digest(&[], &staff(Language::Vi));
    assert_eq!(message.subject, "[Tổng hợp nhắc việc] Không có nội dung cần xử lý");
    assert!(message.body.contains("Hôm nay không có nhắc việc nào."), "{}", message.body);
}

#[test]
fn the_digest_puts_the_most_urgent_first_and_keeps_the_given_order_within_an_urgency() {
    let first_overdue = overdue();
    let mut second_overdue = escalated();
    second_overdue.kind = ReminderKind::Overdue { days_overdue: 2, escalated: false };
    let reminders = [report_due(), first_overdue, approaching(), second_overdue, due_today()];
    let body = render_digest(&reminders, &staff(Language::En)).body;
    let positions: Vec<usize> =
        ["1. Overdue by 5 days", "2. Overdue by 2 days", "3. Due today", "4. Deadline", "5. Progress"]
            .iter()
            .map(|headline| body.find(headline).unwrap_or_else(|| panic!("{headline:?} missing from\n{body}")))
            .collect();
    assert!(positions.windows(2).all(|pair| pair[0] < pair[1]), "{body}");
}

#[test]
fn decomposed_input_comes_out_composed() {
    let mut task = initiative_task();
    task.content = "Nhiệm vụ 3: Nâng cao chất lượng xét đánh giá".nfd().collect();
    let mut recipient = staff(Language::Vi);
    recipient.name = recipient.name.nfd().collect();
    assert!(!is_nfc(&task.content));

    let message = render(
        &reminder(
            ReminderKind::Overdue { days_overdue: 1, escalated: false },
            vec![task],
            datetime!(2024-07-01 08:00 +07:00),
        ),
        &recipient,
    );

    assert!(is_nfc(&message.subject), "{:?}", message.subject);
    assert!(is_nfc(&message.body), "{:?}", message.body);
    assert!(message.subject.contains("Nhiệm vụ 3: Nâng cao chất lượng xét đánh giá"), "{}", message.subject);
    assert!(message.body.contains("Kính gửi: Nguyễn Văn An"), "{}", message.body);
}

#[test]
fn a_long_content_is_cut_in_the_subject_but_whole_in_the_body() {
    let mut task = standing_task();
    task.content = format!("Nhiệm vụ 1: {}", "Xây dựng thí điểm áp dụng công cụ 5S ".repeat(6));
    let message = render(
        &reminder(
            ReminderKind::Overdue { days_overdue: 1, escalated: false },
            vec![task.clone()],
            datetime!(2024-07-01 08:00 +07:00),
        ),
        &staff(Language::Vi),
    );
    let topic = message.subject.trim_start_matches("[Quá hạn] ").split(" — ").next().unwrap_or_default();
    assert_eq!(topic.chars().count(), MAX_SUBJECT_CONTENT_CHARS, "{topic:?}");
    assert!(topic.ends_with('…'));
    assert!(message.body.contains(task.content.trim_end()), "{}", message.body);
}

#[test]
fn instants_are_shown_in_vietnam_time_whatever_their_offset() {
    let (date, time) = vietnam_date_and_time_text(datetime!(2024-12-31 17:30:05 UTC));
    assert_eq!((date.as_str(), time.as_str()), ("01/01/2025", "00:30:05+07:00"));
}
