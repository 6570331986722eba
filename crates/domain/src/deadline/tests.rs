use proptest::prelude::*;
use time::macros::{date, datetime};

use super::*;

#[test]
fn parse_code_accepts_every_granularity() {
    assert_eq!(Deadline::parse_code("2024"), Ok(Deadline::Year(2024)));
    assert_eq!(Deadline::parse_code("2024-H1"), Ok(Deadline::HalfYear { year: 2024, half: 1 }));
    assert_eq!(Deadline::parse_code("2024-H2"), Ok(Deadline::HalfYear { year: 2024, half: 2 }));
    assert_eq!(Deadline::parse_code("2024-Q4"), Ok(Deadline::Quarter { year: 2024, quarter: 4 }));
    assert_eq!(Deadline::parse_code("2024-06"), Ok(Deadline::Month { year: 2024, month: 6 }));
    assert_eq!(Deadline::parse_code("2024-11-30"), Ok(Deadline::Day(date!(2024 - 11 - 30))));
    assert_eq!(Deadline::parse_code("2024-02-29"), Ok(Deadline::Day(date!(2024 - 02 - 29))));
}

#[test]
fn parse_code_is_strict_about_the_shape() {
    for input in [
        "",
        "24",
        "02024",
        "2024-6",
        "2024-006",
        "2024-q4",
        "2024-h1",
        "2024-Q",
        "2024-Q10",
        "2024-11-3",
        " 2024",
        "2024 ",
        "2024-11-30T00:00",
        "2024/11",
        "Năm 2024",
        "2024-11-30-1",
        "-2024",
        "+2024",
    ] {
        assert_eq!(
            Deadline::parse_code(input),
            Err(DeadlineError::InvalidCode { input: input.to_owned() }),
            "{input:?}"
        );
    }
}

#[test]
fn parse_code_names_the_broken_rule() {
    assert_eq!(Deadline::parse_code("1899"), Err(DeadlineError::YearOutOfRange { year: 1899 }));
    assert_eq!(Deadline::parse_code("2201-Q1"), Err(DeadlineError::YearOutOfRange { year: 2201 }));
    assert_eq!(Deadline::parse_code("2024-Q5"), Err(DeadlineError::QuarterOutOfRange { quarter: 5 }));
    assert_eq!(Deadline::parse_code("2024-Q0"), Err(DeadlineError::QuarterOutOfRange { quarter: 0 }));
    assert_eq!(Deadline::parse_code("2024-H3"), Err(DeadlineError::HalfOutOfRange { half: 3 }));
    assert_eq!(Deadline::parse_code("2024-13"), Err(DeadlineError::MonthOutOfRange { month: 13 }));
    assert_eq!(Deadline::parse_code("2024-00"), Err(DeadlineError::MonthOutOfRange { month: 0 }));
    assert_eq!(Deadline::parse_code("2023-02-29"), Err(DeadlineError::DayOutOfRange { year: 2023, month: 2, day: 29 }));
    assert_eq!(Deadline::parse_code("2024-04-31"), Err(DeadlineError::DayOutOfRange { year: 2024, month: 4, day: 31 }));
}

#[test]
fn error_messages_name_the_rule() {
    assert_eq!(Deadline::parse_code("2024-Q5").unwrap_err().to_string(), "quarter must be 1 to 4, got 5");
    assert_eq!(
        Deadline::parse_code("soon").unwrap_err().to_string(),
        "expected YYYY, YYYY-Hn, YYYY-Qn, YYYY-MM or YYYY-MM-DD, got \"soon\""
    );
    assert_eq!(Deadline::parse_code("2024-02-30").unwrap_err().to_string(), "day 30 does not exist in 02/2024");
    assert_eq!(Deadline::parse_code("1800").unwrap_err().to_string(), "year must be 1900 to 2200, got 1800");
}

#[test]
fn parse_vietnamese_reads_the_seed_and_common_forms() {
    let month_11 = Deadline::Month { year: 2024, month: 11 };
    let month_6 = Deadline::Month { year: 2024, month: 6 };
    let quarter_4 = Deadline::Quarter { year: 2024, quarter: 4 };
    let day = Deadline::Day(date!(2024 - 11 - 30));
    let cases = [
        ("Tháng 11/2024", month_11),
        ("Tháng 12/2024", Deadline::Month { year: 2024, month: 12 }),
        ("Tháng 06/2024", month_6),
        ("11/2024", month_11),
        ("tháng 6 năm 2024", month_6),
        ("THÁNG 6/2024", month_6),
        ("thang 6/2024", month_6),
        ("Trong tháng 11/2024", month_11),
        ("Hết tháng 11 / 2024", month_11),
        ("Quý IV/2024", quarter_4),
        ("Quý 4/2024", quarter_4),
        ("Quý IV năm 2024", quarter_4),
        ("quý iv/2024", quarter_4),
        ("Quý I/2025", Deadline::Quarter { year: 2025, quarter: 1 }),
        ("Quý II/2025", Deadline::Quarter { year: 2025, quarter: 2 }),
        ("Quý III/2025", Deadline::Quarter { year: 2025, quarter: 3 }),
        ("6 tháng đầu năm 2024", Deadline::HalfYear { year: 2024, half: 1 }),
        ("06 tháng đầu năm 2024", Deadline::HalfYear { year: 2024, half: 1 }),
        ("6 tháng cuối năm 2024", Deadline::HalfYear { year: 2024, half: 2 }),
        ("Sáu tháng cuối năm 2024", Deadline::HalfYear { year: 2024, half: 2 }),
        ("nửa đầu năm 2024", Deadline::HalfYear { year: 2024, half: 1 }),
        ("Năm 2024", Deadline::Year(2024)),
        ("năm 2024", Deadline::Year(2024)),
        ("Trong năm 2024", Deadline::Year(2024)),
        ("30/11/2024", day),
        ("ngày 30/11/2024", day),
        ("Ngày 30 tháng 11 năm 2024", day),
        ("30-11-2024", day),
        ("30.11.2024", day),
        ("5/4/2024", Deadline::Day(date!(2024 - 04 - 05))),
        ("  Tháng   11/2024  ", month_11),
        ("2024-Q4", quarter_4),
        ("2024-11-30", day),
    ];
    for (input, expected) in cases {
        assert_eq!(Deadline::parse_vietnamese(input), Ok(expected), "{input:?}");
    }
}

#[test]
fn parse_vietnamese_rejects_with_the_broken_rule() {
    assert_eq!(Deadline::parse_vietnamese("Tháng 13/2024"), Err(DeadlineError::MonthOutOfRange { month: 13 }));
    assert_eq!(Deadline::parse_vietnamese("Quý 5/2024"), Err(DeadlineError::QuarterOutOfRange { quarter: 5 }));
    assert_eq!(
        Deadline::parse_vietnamese("31/02/2024"),
        Err(DeadlineError::DayOutOfRange { year: 2024, month: 2, day: 31 })
    );
    assert_eq!(Deadline::parse_vietnamese("Năm 1800"), Err(DeadlineError::YearOutOfRange { year: 1800 }));
    for input in ["Thường xuyên", "", "Quý V/2024", "tháng 11", "2024/11", "25/25 doanh nghiệp", "6 tháng năm 2024"]
    {
        assert_eq!(
            Deadline::parse_vietnamese(input),
            Err(DeadlineError::InvalidVietnamese { input: input.to_owned() }),
            "{input:?}"
        );
    }
}

#[test]
fn parse_vietnamese_optional_knows_the_words_for_no_deadline() {
    assert_eq!(Deadline::parse_vietnamese_optional("Thường xuyên"), Ok(None));
    assert_eq!(Deadline::parse_vietnamese_optional("thuong xuyen."), Ok(None));
    assert_eq!(Deadline::parse_vietnamese_optional("Không thời hạn"), Ok(None));
    assert_eq!(Deadline::parse_vietnamese_optional("   "), Ok(None));
    assert_eq!(Deadline::parse_vietnamese_optional("Năm 2024"), Ok(Some(Deadline::Year(2024))));
    assert!(Deadline::parse_vietnamese_optional("sớm").is_err());
}

#[test]
fn code_and_vietnamese_render_as_in_the_seed() {
    let cases = [
        (Deadline::Day(date!(2024 - 11 - 30)), "2024-11-30", "30/11/2024"),
        (Deadline::Day(date!(2023 - 03 - 06)), "2023-03-06", "06/03/2023"),
        (Deadline::Month { year: 2024, month: 11 }, "2024-11", "Tháng 11/2024"),
        (Deadline::Month { year: 2024, month: 6 }, "2024-06", "Tháng 06/2024"),
        (Deadline::Quarter { year: 2024, quarter: 4 }, "2024-Q4", "Quý IV/2024"),
        (Deadline::Quarter { year: 2024, quarter: 1 }, "2024-Q1", "Quý I/2024"),
        (Deadline::HalfYear { year: 2024, half: 1 }, "2024-H1", "6 tháng đầu năm 2024"),
        (Deadline::HalfYear { year: 2024, half: 2 }, "2024-H2", "6 tháng cuối năm 2024"),
        (Deadline::Year(2024), "2024", "Năm 2024"),
    ];
    for (deadline, code, vietnamese) in cases {
        assert_eq!(deadline.code(), code);
        assert_eq!(deadline.vietnamese(), vietnamese);
        assert_eq!(deadline.to_string(), vietnamese);
        assert_eq!(crate::text::normalize(vietnamese), vietnamese, "rendered text is NFC");
    }
}

#[test]
fn due_date_is_the_last_day_of_the_period() {
    assert_eq!(Deadline::Day(date!(2024 - 11 - 30)).due_date(), date!(2024 - 11 - 30));
    assert_eq!(Deadline::Month { year: 2024, month: 2 }.due_date(), date!(2024 - 02 - 29));
    assert_eq!(Deadline::Month { year: 2023, month: 2 }.due_date(), date!(2023 - 02 - 28));
    assert_eq!(Deadline::Month { year: 2024, month: 11 }.due_date(), date!(2024 - 11 - 30));
    assert_eq!(Deadline::Quarter { year: 2024, quarter: 1 }.due_date(), date!(2024 - 03 - 31));
    assert_eq!(Deadline::Quarter { year: 2024, quarter: 2 }.due_date(), date!(2024 - 06 - 30));
    assert_eq!(Deadline::Quarter { year: 2024, quarter: 3 }.due_date(), date!(2024 - 09 - 30));
    assert_eq!(Deadline::Quarter { year: 2024, quarter: 4 }.due_date(), date!(2024 - 12 - 31));
    assert_eq!(Deadline::HalfYear { year: 2024, half: 1 }.due_date(), date!(2024 - 06 - 30));
    assert_eq!(Deadline::HalfYear { year: 2024, half: 2 }.due_date(), date!(2024 - 12 - 31));
    assert_eq!(Deadline::Year(2024).due_date(), date!(2024 - 12 - 31));
}

#[test]
fn starts_on_is_the_first_day_of_the_period() {
    assert_eq!(Deadline::Month { year: 2024, month: 11 }.starts_on(), date!(2024 - 11 - 01));
    assert_eq!(Deadline::Quarter { year: 2024, quarter: 4 }.starts_on(), date!(2024 - 10 - 01));
    assert_eq!(Deadline::HalfYear { year: 2024, half: 2 }.starts_on(), date!(2024 - 07 - 01));
    assert_eq!(Deadline::Year(2024).starts_on(), date!(2024 - 01 - 01));
    assert_eq!(Deadline::Day(date!(2024 - 11 - 30)).starts_on(), date!(2024 - 11 - 30));
}

#[test]
fn due_at_is_one_second_before_midnight_in_vietnam() {
    let due_at = Deadline::Month { year: 2024, month: 11 }.due_at();
    assert_eq!(due_at, datetime!(2024-11-30 23:59:59 +07:00));
    assert_eq!(due_at, datetime!(2024-11-30 16:59:59 UTC));
    assert_eq!(due_at.offset(), VIETNAM_OFFSET);
}

#[test]
fn hand_built_invalid_values_are_caught_or_clamped() {
    let bad_quarter = Deadline::Quarter { year: 2024, quarter: 7 };
    assert_eq!(bad_quarter.check(), Err(DeadlineError::QuarterOutOfRange { quarter: 7 }));
    assert_eq!(bad_quarter.due_date(), date!(2024 - 12 - 31));
    assert!(serde_json::to_string(&bad_quarter).is_err());
    assert_eq!(Deadline::Month { year: 2024, month: 0 }.due_date(), date!(2024 - 01 - 31));
    assert_eq!(Deadline::Year(3000).check(), Err(DeadlineError::YearOutOfRange { year: 3000 }));
    assert_eq!(Deadline::Year(3000).due_date(), date!(2200 - 12 - 31));
    assert_eq!(Deadline::Year(2024).check(), Ok(()));
}

#[test]
fn try_constructors_check_ranges() {
    assert_eq!(Deadline::try_month(2024, 12), Ok(Deadline::Month { year: 2024, month: 12 }));
    assert_eq!(Deadline::try_month(2024, 300), Err(DeadlineError::MonthOutOfRange { month: 300 }));
    assert_eq!(Deadline::try_half_year(2024, 0), Err(DeadlineError::HalfOutOfRange { half: 0 }));
    assert_eq!(Deadline::try_day(date!(1899 - 12 - 31)), Err(DeadlineError::YearOutOfRange { year: 1899 }));
    assert_eq!(Deadline::try_year(1900), Ok(Deadline::Year(1900)));
}

#[test]
fn granularity_and_year() {
    assert_eq!(Deadline::Quarter { year: 2024, quarter: 4 }.granularity(), Granularity::Quarter);
    assert_eq!(Deadline::Day(date!(2025 - 01 - 02)).year(), 2025);
}

#[test]
fn serde_uses_the_code() {
    let deadline = Deadline::Quarter { year: 2024, quarter: 4 };
    assert_eq!(serde_json::to_string(&deadline).unwrap(), "\"2024-Q4\"");
    assert_eq!(serde_json::from_str::<Deadline>("\"2024-Q4\"").unwrap(), deadline);
    assert_eq!(serde_json::from_str::<Deadline>("\"2024-11-30\"").unwrap(), Deadline::Day(date!(2024 - 11 - 30)));
    let error = serde_json::from_str::<Deadline>("\"Quý IV/2024\"").unwrap_err();
    assert!(error.to_string().contains("expected YYYY, YYYY-Hn"), "{error}");
    let error = serde_json::from_str::<Deadline>("\"2024-Q9\"").unwrap_err();
    assert!(error.to_string().contains("quarter must be 1 to 4"), "{error}");
    assert!(serde_json::from_str::<Deadline>("2024").is_err());
    let optional: Option<Deadline> = serde_json::from_str("null").unwrap();
    assert_eq!(optional, None);
}

#[test]
fn civil_date_at_uses_the_vietnam_offset() {
    assert_eq!(civil_date_at(datetime!(2024-04-14 16:59:59 UTC)), date!(2024 - 04 - 14));
    assert_eq!(civil_date_at(datetime!(2024-04-14 17:00:00 UTC)), date!(2024 - 04 - 15));
    assert_eq!(civil_date_at(datetime!(2024-04-15 00:30:00 +07:00)), date!(2024 - 04 - 15));
}

#[test]
fn dates_format_and_parse() {
    assert_eq!(format_date_vn(date!(2023 - 03 - 06)), "06/03/2023");
    assert_eq!(format_date_iso(date!(2023 - 03 - 06)), "2023-03-06");
    assert_eq!(parse_date_iso("2024-04-15"), Ok(date!(2024 - 04 - 15)));
    assert_eq!(parse_date_iso("2024-4-15"), Err(DeadlineError::InvalidIsoDate { input: "2024-4-15".to_owned() }));
    assert_eq!(parse_date_iso("15/04/2024"), Err(DeadlineError::InvalidIsoDate { input: "15/04/2024".to_owned() }));
    assert_eq!(parse_date_iso("2024-02-31"), Err(DeadlineError::DayOutOfRange { year: 2024, month: 2, day: 31 }));
    assert_eq!(parse_date_iso("2024-13-01"), Err(DeadlineError::MonthOutOfRange { month: 13 }));
    assert_eq!(parse_date_iso("0999-01-01"), Err(DeadlineError::YearOutOfRange { year: 999 }));
}

fn any_valid_year() -> impl Strategy<Value = i32> {
    MIN_YEAR..=MAX_YEAR
}

fn any_date() -> impl Strategy<Value = Date> {
    (any_valid_year(), 1u8..=12, 1u8..=31).prop_filter_map("day exists in month", |(year, month, day)| {
        Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
    })
}

fn any_deadline() -> impl Strategy<Value = Deadline> {
    prop_oneof![
        any_date().prop_map(Deadline::Day),
        (any_valid_year(), 1u8..=12).prop_map(|(year, month)| Deadline::Month { year, month }),
        (any_valid_year(), 1u8..=4).prop_map(|(year, quarter)| Deadline::Quarter { year, quarter }),
        (any_valid_year(), 1u8..=2).prop_map(|(year, half)| Deadline::HalfYear { year, half }),
        any_valid_year().prop_map(Deadline::Year),
    ]
}

proptest! {
    #[test]
    fn parse_code_inverts_code(deadline in any_deadline()) {
        prop_assert_eq!(Deadline::parse_code(&deadline.code()), Ok(deadline));
    }

    #[test]
    fn parse_vietnamese_inverts_vietnamese(deadline in any_deadline()) {
        prop_assert_eq!(Deadline::parse_vietnamese(&deadline.vietnamese()), Ok(deadline));
    }

    #[test]
    fn parse_vietnamese_tolerates_case_and_missing_diacritics(deadline in any_deadline()) {
        let plain = crate::text::fold_for_search(&deadline.vietnamese()).to_uppercase();
        prop_assert_eq!(Deadline::parse_vietnamese(&plain), Ok(deadline));
    }

    #[test]
    fn serde_round_trips(deadline in any_deadline()) {
        let json = serde_json::to_string(&deadline).unwrap();
        prop_assert_eq!(serde_json::from_str::<Deadline>(&json).unwrap(), deadline);
    }

    #[test]
    fn due_date_is_inside_the_period_and_at_its_end(deadline in any_deadline()) {
        let due_date = deadline.due_date();
        prop_assert!(deadline.starts_on() <= due_date);
        prop_assert_eq!(due_date.year(), deadline.year());
        let next_day = due_date.next_day().unwrap();
        prop_assert!(next_day.day() == 1 || matches!(deadline, Deadline::Day(_)));
        prop_assert_eq!(civil_date_at(deadline.due_at()), due_date);
    }

    #[test]
    fn parse_date_iso_inverts_format_date_iso(date in any_date()) {
        prop_assert_eq!(parse_date_iso(&format_date_iso(date)), Ok(date));
    }

    #[test]
    fn parsers_never_panic(input in any::<String>()) {
        let _ = Deadline::parse_code(&input);
        let _ = Deadline::parse_vietnamese(&input);
        let _ = parse_date_iso(&input);
    }
}
