//! Round trips of generated events with arbitrary Unicode text (Vietnamese and anything else that the domain
//! accepts), through the payload messages and through the stored JSON and the envelope.

use domain::deadline::Deadline;
use domain::document_ref::DocumentRef;
use domain::ids::{PlanId, ReportId, TaskId};
use domain::measure::{Measure, Target};
use domain::numbering::{SectionCode, TaskNumber};
use domain::status::ReportedProgress;
use domain::task::{ProgressReported, ReportContent, TaskAssigned, TaskEvent};
use domain::text::NonEmptyText;
use domain::unit_code::UnitCode;
use proptest::prelude::*;
use proto::{envelope_from_recorded, recorded_from_envelope, DomainEvent};
use time::Date;
use uuid::Uuid;

use crate::envelope::through_bytes as envelope_through_bytes;
use crate::events::task_round_trip;
use crate::fixtures::recorded_chain;

/// Any text the domain accepts as a `NonEmptyText`: arbitrary printable Unicode, Vietnamese words, newlines.
fn non_empty_text() -> impl Strategy<Value = NonEmptyText> {
    prop_oneof![
        "\\PC{1,60}",
        "[a-zA-Z0-9 àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđĐ,.;:%/()\n-]{1,80}",
        // Decomposed (NFD) input, which the domain composes.
        "(e\u{0302}\u{0301}|o\u{031b}\u{0300}|a\u{0306}|\u{0110}| |x){1,20}",
    ]
    .prop_filter_map("not a non-empty text", |text| NonEmptyText::parse(&text, 20_000).ok())
}

fn optional_unit() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof!["\\PC{0,20}", "(doanh nghiệp|cuộc|điểm|%|nhiệm vụ)"])
}

/// Quantities with at most two decimals, as reports write them ("46,51"), up to ten million.
fn quantity() -> impl Strategy<Value = f64> {
    (0u64..1_000_000_000).prop_map(|cents| cents as f64 / 100.0)
}

fn measure() -> impl Strategy<Value = Measure> {
    (non_empty_text(), quantity(), prop::option::of(quantity()), optional_unit())
        .prop_filter_map("not a measure", |(label, achieved, target, unit)| {
            Measure::new(label.as_str(), achieved, target, unit.as_deref()).ok()
        })
}

fn date() -> impl Strategy<Value = Date> {
    (1900i32..=2200, 1u8..=12, 1u8..=28)
        .prop_map(|(year, month, day)| Date::from_calendar_date(year, month.try_into().unwrap(), day).unwrap())
}

fn document_ref() -> impl Strategy<Value = DocumentRef> {
    let code = prop::sample::select(vec!["KH", "QĐ", "QyĐ", "CTr", "HĐ", "HD", "ĐA", "DA", "TTr", "BC"]);
    (1u32..10_000, code, "[A-Z]{2,6}", prop::option::of(date()), any::<bool>()).prop_map(
        |(number, code, issuer, issued_on, loose)| {
            let date = issued_on
                .map(|date| format!(" ngày {}/{}/{}", date.day(), u8::from(date.month()), date.year()))
                .unwrap_or_default();
            let text = if loose {
                format!("số{number} / {code} – {issuer}{date}")
            } else {
                format!("Văn bản số {number}/{code}-{issuer}{date}")
            };
            DocumentRef::parse(&text).unwrap_or_else(|error| panic!("{text}: {error}"))
        },
    )
}

fn deadline() -> impl Strategy<Value = Deadline> {
    prop_oneof![
        date().prop_map(|date| Deadline::try_day(date).unwrap()),
        (1900i32..=2200, 1u32..=12).prop_map(|(year, month)| Deadline::try_month(year, month).unwrap()),
        (1900i32..=2200, 1u32..=4).prop_map(|(year, quarter)| Deadline::try_quarter(year, quarter).unwrap()),
        (1900i32..=2200, 1u32..=2).prop_map(|(year, half)| Deadline::try_half_year(year, half).unwrap()),
        (1900i32..=2200).prop_map(|year| Deadline::try_year(year).unwrap()),
    ]
}

fn unit_code() -> impl Strategy<Value = UnitCode> {
    "[A-Za-z0-9][A-Za-z0-9._-]{0,39}".prop_map(|code| UnitCode::parse(&code).unwrap())
}

fn target() -> impl Strategy<Value = Target> {
    (prop::option::of(quantity()), optional_unit(), non_empty_text())
        .prop_filter_map("not a target", |(quantity, unit, text)| {
            Target::new(quantity, unit.as_deref(), text.as_str()).ok()
        })
}

fn report_content() -> impl Strategy<Value = ReportContent> {
    (
        date(),
        non_empty_text(),
        prop::collection::vec(measure(), 0..4),
        prop::option::of(prop_oneof![Just(ReportedProgress::NotStarted), Just(ReportedProgress::InProgress)]),
        prop::collection::vec(document_ref(), 0..3),
    )
        .prop_map(|(as_of, summary, measures, progress, evidence)| ReportContent {
            as_of,
            summary,
            measures,
            progress,
            evidence,
        })
}

fn task_assigned() -> impl Strategy<Value = TaskAssigned> {
    (
        (any::<u128>(), any::<u128>(), 1u16..=30, 1u16..=999, prop::option::of((1u16..=999, any::<u128>()))),
        any::<String>(),
        prop::option::of(target()),
        prop::option::of(deadline()),
        unit_code(),
        prop::collection::vec(unit_code(), 0..4),
        prop::collection::vec(document_ref(), 0..3),
    )
        .prop_map(
            |(
                (task_id, plan_id, section, number, indicator),
                title,
                target,
                deadline,
                lead_unit,
                coordinating_units,
                basis,
            )| {
                let (number, parent_id) = match indicator {
                    Some((index, parent_id)) => (format!("{number}.{index}"), Some(TaskId(Uuid::from_u128(parent_id)))),
                    None => (number.to_string(), None),
                };
                TaskAssigned {
                    task_id: TaskId(Uuid::from_u128(task_id)),
                    plan_id: PlanId(Uuid::from_u128(plan_id)),
                    section: SectionCode::parse(&domain::numbering::to_roman(section)).unwrap(),
                    number: TaskNumber::parse(&number).unwrap(),
                    parent_id,
                    title,
                    target,
                    deadline,
                    lead_unit,
                    coordinating_units,
                    basis,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_report_round_trips_through_its_message(report_id in any::<u128>(), content in report_content()) {
        let event = TaskEvent::ProgressReported(ProgressReported { report_id: ReportId(Uuid::from_u128(report_id)), content });
        prop_assert_eq!(task_round_trip(&event), event);
    }

    #[test]
    fn any_assignment_round_trips_through_its_message(assigned in task_assigned()) {
        let event = TaskEvent::TaskAssigned(assigned);
        prop_assert_eq!(task_round_trip(&event), event);
    }

    #[test]
    fn any_stored_report_round_trips_through_its_envelope(content in report_content(), assigned in task_assigned()) {
        let events = [
            DomainEvent::Task(TaskEvent::TaskAssigned(assigned)),
            DomainEvent::Task(TaskEvent::ProgressReported(ProgressReported { report_id: ReportId(Uuid::nil()), content })),
        ];
        for recorded in recorded_chain(&events) {
            let envelope = envelope_through_bytes(&envelope_from_recorded(&recorded).unwrap());
            prop_assert_eq!(recorded_from_envelope(&envelope).unwrap(), recorded);
        }
    }
}
