mod lunar;

use proptest::prelude::*;
use time::macros::{date, datetime, time};
use time::{Duration, Month};

use super::*;

fn parse(text: &str) -> Result<HolidayCalendar, CalendarError> {
    HolidayCalendar::parse(text, "holidays.txt")
}

fn line_error(text: &str) -> (usize, CalendarLineError) {
    match parse(text) {
        Err(CalendarError::Line { source_name, line, rule }) => {
            assert_eq!(source_name, "holidays.txt");
            (line, rule)
        }
        other => panic!("expected a line error, got {other:?}"),
    }
}

// ---- the shipped file ----

#[test]
fn the_shipped_calendar_parses_and_covers_2020_to_2030() {
    let calendar = HolidayCalendar::parse(SHIPPED_CALENDAR_TEXT, SHIPPED_CALENDAR_SOURCE).unwrap();
    assert_eq!(calendar, HolidayCalendar::shipped());
    for year in 2020..=2030 {
        assert!(calendar.covers_year(year), "{year}");
    }
    assert!(!calendar.covers_year(2019));
    assert!(!calendar.covers_year(2031));
}

#[test]
fn the_shipped_file_is_nfc() {
    assert!(unicode_normalization::is_nfc(SHIPPED_CALENDAR_TEXT));
}

#[test]
fn every_year_of_the_shipped_calendar_has_the_holidays_of_the_labour_code() {
    let calendar = HolidayCalendar::shipped();
    for year in 2020..=2030 {
        let day = |month: Month, day: u8| Date::from_calendar_date(year, month, day).unwrap();
        assert_eq!(calendar.holiday_name(day(Month::January, 1)), Some("Tết Dương lịch"), "{year}");
        assert_eq!(calendar.holiday_name(day(Month::April, 30)), Some("Ngày Chiến thắng"), "{year}");
        assert_eq!(calendar.holiday_name(day(Month::May, 1)), Some("Ngày Quốc tế Lao động"), "{year}");
        assert_eq!(calendar.holiday_name(day(Month::September, 2)), Some("Quốc khánh"), "{year}");
        let national_day_adjacent = [day(Month::September, 1), day(Month::September, 3)]
            .into_iter()
            .filter(|date| calendar.holiday_name(*date) == Some("Quốc khánh"))
            .count();
        // Bộ luật Lao động 2012, in force until the end of 2020, gave Quốc khánh one day.
        let expected_adjacent = if year == 2020 { 0 } else { 1 };
        assert_eq!(national_day_adjacent, expected_adjacent, "{year}");
    }
}

#[test]
fn lunar_holidays_of_the_shipped_calendar_match_the_vietnamese_lunar_calendar() {
    let calendar = HolidayCalendar::shipped();
    for year in 2020..=2030 {
        let new_year = lunar::lunar_new_year(year);
        let new_year_eve = new_year.previous_day().unwrap();
        let tet_name = calendar.holiday_name(new_year).unwrap_or_else(|| panic!("{new_year} is not a day off"));
        assert!(tet_name.starts_with("Tết Nguyên đán"), "{new_year}: {tet_name}");
        assert_eq!(calendar.holiday_name(new_year_eve), Some(tet_name), "{year}: the last day of the lunar year");
        assert!(tet_name.ends_with(&can_chi(year)), "{year}: {tet_name}");
        // Tết is five days off (plus the weekends inside), never more than a week away from lunar New Year.
        let tet_days: Vec<Date> =
            calendar.days_off().filter(|(_, name)| *name == tet_name).map(|(date, _)| date).collect();
        let n_working_days_off = tet_days.iter().filter(|date| !is_weekend(**date)).count();
        assert_eq!(n_working_days_off, 5, "{year}: {tet_days:?}");
        assert!(tet_days.iter().all(|date| (*date - new_year).whole_days().abs() <= 7), "{year}: {tet_days:?}");

        let hung_kings = lunar::hung_kings_day(year);
        let hung_kings_days: Vec<Date> = calendar
            .days_off()
            .filter(|(_, name)| *name == "Giỗ Tổ Hùng Vương")
            .map(|(date, _)| date)
            .filter(|date| date.year() == year)
            .collect();
        assert_eq!(hung_kings_days, [hung_kings], "{year}");
        assert_eq!(lunar::solar_to_lunar(hung_kings).month, 3);
    }
}

#[test]
fn the_lunar_algorithm_gives_the_known_dates() {
    assert_eq!(lunar::lunar_new_year(2024), date!(2024 - 02 - 10));
    assert_eq!(lunar::lunar_new_year(2025), date!(2025 - 01 - 29));
    assert_eq!(lunar::lunar_new_year(2026), date!(2026 - 02 - 17));
    assert_eq!(lunar::hung_kings_day(2024), date!(2024 - 04 - 18));
    assert_eq!(lunar::hung_kings_day(2025), date!(2025 - 04 - 07));
    assert_eq!(lunar::hung_kings_day(2026), date!(2026 - 04 - 26));
    // 2023 has a leap second month, so the third month starts two lunations after the first.
    assert_eq!(lunar::hung_kings_day(2023), date!(2023 - 04 - 29));
    // The new moon of 2 February 2030 is at 23:07 at +07:00 and 00:07 at +08:00: Tết is a day earlier in Vietnam
    // than in China.
    assert_eq!(lunar::lunar_new_year(2030), date!(2030 - 02 - 02));
    // Vietnam's Tết of 1985 was 21 January, China's 20 February: the classic case of the two calendars diverging.
    assert_eq!(lunar::lunar_new_year(1985), date!(1985 - 01 - 21));
}

#[test]
fn the_lunar_algorithm_round_trips_over_the_covered_years() {
    let mut date = date!(2019 - 01 - 01);
    while date <= date!(2031 - 12 - 31) {
        let lunar_date = lunar::solar_to_lunar(date);
        assert_eq!(lunar::lunar_to_solar(lunar_date), Some(date), "{date} {lunar_date:?}");
        date = date.next_day().unwrap();
    }
}

/// The sexagenary name of a lunar year: "Giáp Thìn" for 2024.
fn can_chi(year: i32) -> String {
    const STEMS: [&str; 10] = ["Canh", "Tân", "Nhâm", "Quý", "Giáp", "Ất", "Bính", "Đinh", "Mậu", "Kỷ"];
    const BRANCHES: [&str; 12] = ["Thân", "Dậu", "Tuất", "Hợi", "Tý", "Sửu", "Dần", "Mão", "Thìn", "Tỵ", "Ngọ", "Mùi"];
    let index = |modulus: i32| usize::try_from(year.rem_euclid(modulus)).unwrap();
    format!("{} {}", STEMS[index(10)], BRANCHES[index(12)])
}

#[test]
fn the_shipped_calendar_knows_the_2024_days_off_and_swaps() {
    let calendar = HolidayCalendar::shipped();
    assert!(!calendar.is_working_day(date!(2024 - 02 - 08)));
    assert!(!calendar.is_working_day(date!(2024 - 02 - 14)));
    assert!(calendar.is_working_day(date!(2024 - 02 - 15)));
    assert_eq!(calendar.holiday_name(date!(2024 - 04 - 18)), Some("Giỗ Tổ Hùng Vương"));
    // Monday 29/04/2024 was swapped for Saturday 04/05/2024.
    assert!(!calendar.is_working_day(date!(2024 - 04 - 29)));
    assert!(calendar.is_working_day(date!(2024 - 05 - 04)));
    assert_eq!(calendar.make_up_reason(date!(2024 - 05 - 04)), Some("Làm bù thứ Hai 29/04/2024"));
    assert!(!calendar.is_working_day(date!(2024 - 05 - 05)));
    assert_eq!(calendar.next_working_day(date!(2024 - 04 - 26)), date!(2024 - 05 - 02));
}

// ---- parsing ----

#[test]
fn parses_days_ranges_make_up_days_comments_and_years() {
    let calendar = parse(
        "# a comment\n\nyears 2024\n2024-04-18  Giỗ Tổ   Hùng Vương  # trailing comment\n\
         2024-02-08..2024-02-14\tTết Nguyên đán\nwork 2024-05-04  Làm bù\n",
    )
    .unwrap();
    assert_eq!(calendar.holiday_name(date!(2024 - 04 - 18)), Some("Giỗ Tổ Hùng Vương"));
    assert_eq!(calendar.holiday_name(date!(2024 - 02 - 11)), Some("Tết Nguyên đán"));
    assert_eq!(calendar.days_off().count(), 8);
    assert_eq!(calendar.make_up_working_days().collect::<Vec<_>>(), [(date!(2024 - 05 - 04), "Làm bù")]);
    assert_eq!(calendar.years_covered().collect::<Vec<_>>(), [2024]);
}

#[test]
fn names_are_normalised_to_nfc() {
    let decomposed = "Gio\u{0302}\u{0303} To\u{0302}\u{0309}";
    let calendar = parse(&format!("years 2024\n2024-04-18 {decomposed}\n")).unwrap();
    assert_eq!(calendar.holiday_name(date!(2024 - 04 - 18)), Some("Giỗ Tổ"));
}

#[test]
fn a_bad_date_names_its_line() {
    let (line, rule) = line_error("years 2024\n\n2024-02-30  Ngày không có\n");
    assert_eq!(line, 3);
    assert!(matches!(rule, CalendarLineError::BadDate { ref text, .. } if text == "2024-02-30"));
    let message = parse("years 2024\n\n2024-02-30  Ngày không có\n").unwrap_err().to_string();
    assert!(message.starts_with("holidays.txt:3: bad date \"2024-02-30\""), "{message}");
    assert!(matches!(line_error("years 2024\n24-02-01 x\n"), (2, CalendarLineError::BadDate { .. })));
}

#[test]
fn an_inverted_range_names_its_line() {
    let (line, rule) = line_error("years 2024\n2024-02-14..2024-02-08  Tết\n");
    assert_eq!(line, 2);
    assert_eq!(rule, CalendarLineError::InvertedRange { first: "2024-02-14".into(), last: "2024-02-08".into() });
    assert_eq!(
        parse("years 2024\n2024-02-14..2024-02-08  Tết\n").unwrap_err().to_string(),
        "holidays.txt:2: range 2024-02-14..2024-02-08 ends before it starts"
    );
    assert!(matches!(line_error("years 2030..2020\n"), (1, CalendarLineError::InvertedRange { .. })));
}

#[test]
fn an_unknown_directive_names_its_line() {
    let (line, rule) = line_error("years 2024\nholiday 2024-01-01 Tết\n");
    assert_eq!((line, rule), (2, CalendarLineError::UnknownDirective { word: "holiday".into() }));
}

#[test]
fn a_duplicate_names_both_lines() {
    let text = "years 2024\n2024-02-08..2024-02-14  Tết\n2024-02-10  Mùng 1\n";
    let (line, rule) = line_error(text);
    assert_eq!((line, rule), (3, CalendarLineError::Duplicate { date: "2024-02-10".into(), first_line: 2 }));
    assert_eq!(parse(text).unwrap_err().to_string(), "holidays.txt:3: 2024-02-10 is listed twice (first on line 2)");
    let (line, rule) = line_error("years 2024\n2024-05-04  Nghỉ\nwork 2024-05-04  Làm bù\n");
    assert_eq!((line, rule), (3, CalendarLineError::Duplicate { date: "2024-05-04".into(), first_line: 2 }));
}

#[test]
fn years_out_of_range_or_not_declared_name_their_line() {
    assert_eq!(line_error("years 1800..2024\n"), (1, CalendarLineError::YearOutOfRange { year: 1800 }));
    assert_eq!(line_error("years 20x4\n"), (1, CalendarLineError::BadYear { text: "20x4".into() }));
    assert_eq!(line_error("years 2024 2025\n"), (1, CalendarLineError::TrailingText { text: "2025".into() }));
    assert_eq!(
        line_error("years 2024\n2025-01-01  Tết Dương lịch\n"),
        (2, CalendarLineError::YearNotDeclared { date: "2025-01-01".into(), year: 2025 })
    );
    assert_eq!(
        line_error("2024-01-01  Tết Dương lịch\n"),
        (1, CalendarLineError::YearNotDeclared { date: "2024-01-01".into(), year: 2024 })
    );
}

#[test]
fn a_missing_name_or_a_weekday_make_up_day_names_its_line() {
    assert_eq!(line_error("years 2024\n2024-01-01\n"), (2, CalendarLineError::MissingName { what: "a day off" }));
    assert_eq!(
        line_error("years 2024\nwork 2024-05-04\n"),
        (2, CalendarLineError::MissingName { what: "a make-up working day" })
    );
    assert_eq!(
        line_error("years 2024\nwork 2024-05-03  Làm bù\n"),
        (2, CalendarLineError::MakeUpDayNotWeekend { date: "2024-05-03".into(), weekday: Weekday::Friday })
    );
}

#[test]
fn load_file_names_the_path() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("extra.txt");
    std::fs::write(&path, "years 2031\n2031-01-01  Tết Dương lịch\n2031-13-01  x\n").unwrap();
    let message = HolidayCalendar::load_file(&path).unwrap_err().to_string();
    assert!(message.starts_with(&format!("{}:3: bad date", path.display())), "{message}");
    let missing = directory.path().join("missing.txt");
    assert!(matches!(HolidayCalendar::load_file(&missing), Err(CalendarError::Read { .. })));
}

#[test]
fn extend_adds_years_and_lets_the_operator_file_win() {
    let mut calendar = HolidayCalendar::shipped();
    let operator = parse(
        "years 2026\nyears 2031\n2031-01-01  Tết Dương lịch\nwork 2026-01-10  Làm bù thứ Sáu 02/01/2026\n\
         2026-01-02  Nghỉ hoán đổi\n",
    )
    .unwrap();
    calendar.extend(operator);
    assert!(calendar.covers_year(2031));
    assert!(!calendar.is_working_day(date!(2031 - 01 - 01)));
    assert!(!calendar.is_working_day(date!(2026 - 01 - 02)));
    assert!(calendar.is_working_day(date!(2026 - 01 - 10)));
    // Of two files that disagree about a date, the one added last wins.
    let mut calendar = HolidayCalendar::shipped();
    let correction = parse("years 2030\nwork 2030-05-04  Làm bù\n").unwrap();
    calendar.extend(correction);
    assert!(calendar.is_working_day(date!(2030 - 05 - 04)));
    let swap = parse("years 2030\n2030-05-04  Nghỉ\n").unwrap();
    calendar.extend(swap);
    assert!(!calendar.is_working_day(date!(2030 - 05 - 04)));
    assert_eq!(calendar.make_up_reason(date!(2030 - 05 - 04)), None);
}

// ---- working days ----

#[test]
fn working_days_count_around_tet_2024() {
    let calendar = HolidayCalendar::shipped();
    // Thursday 15/02/2024 is the first working day after Tết; 14 working days before it is 25/01/2024.
    assert_eq!(calendar.working_days_before(date!(2024 - 02 - 15), 0), date!(2024 - 02 - 15));
    assert_eq!(calendar.working_days_before(date!(2024 - 02 - 15), 1), date!(2024 - 02 - 07));
    assert_eq!(calendar.working_days_before(date!(2024 - 02 - 15), 3), date!(2024 - 02 - 05));
    // A deadline on a day off counts from the last working day before it.
    assert_eq!(calendar.working_days_before(date!(2024 - 02 - 11), 0), date!(2024 - 02 - 07));
    assert_eq!(calendar.working_days_before(date!(2024 - 02 - 11), 1), date!(2024 - 02 - 06));
    assert_eq!(calendar.previous_working_day(date!(2024 - 02 - 15)), date!(2024 - 02 - 07));
    assert_eq!(calendar.next_working_day(date!(2024 - 02 - 07)), date!(2024 - 02 - 15));
    assert_eq!(calendar.working_days_between(date!(2024 - 02 - 07), date!(2024 - 02 - 15)), 1);
    assert_eq!(calendar.working_days_between(date!(2024 - 02 - 15), date!(2024 - 02 - 07)), 0);
    assert_eq!(calendar.working_days_between(date!(2024 - 02 - 15), date!(2024 - 02 - 15)), 0);
}

#[test]
fn outside_the_covered_years_only_weekends_are_days_off() {
    let calendar = HolidayCalendar::shipped();
    assert!(calendar.is_working_day(date!(2031 - 01 - 01)));
    assert!(!calendar.is_working_day(date!(2031 - 01 - 04)));
}

// ---- working hours ----

#[test]
fn next_delivery_instant_waits_for_the_next_working_window() {
    let calendar = HolidayCalendar::shipped();
    let hours = WorkingHours::default();
    assert_eq!(hours, WorkingHours { start: time!(08:00), end: time!(17:00) });
    let inside = datetime!(2024 - 04 - 17 09:30 +7);
    assert_eq!(hours.next_delivery_instant(&calendar, inside), inside);
    assert_eq!(
        hours.next_delivery_instant(&calendar, datetime!(2024 - 04 - 17 06:00 +7)),
        datetime!(2024 - 04 - 17 08:00 +7)
    );
    // 17:00 is outside; the next day is Giỗ Tổ Hùng Vương, then Friday.
    assert_eq!(
        hours.next_delivery_instant(&calendar, datetime!(2024 - 04 - 17 17:00 +7)),
        datetime!(2024 - 04 - 19 08:00 +7)
    );
    // 23:30 UTC on Friday is 06:30 on Saturday in Vietnam: the make-up Saturday 04/05/2024 is a working day.
    assert_eq!(
        hours.next_delivery_instant(&calendar, datetime!(2024 - 05 - 03 23:30 UTC)),
        datetime!(2024 - 05 - 04 08:00 +7)
    );
    assert_eq!(hours.next_delivery_instant(&calendar, inside).offset(), VIETNAM_OFFSET);
}

#[test]
fn contains_uses_vietnam_civil_time() {
    let calendar = HolidayCalendar::shipped();
    let hours = WorkingHours::default();
    assert!(hours.contains(&calendar, datetime!(2024 - 04 - 17 01:00 UTC)));
    assert!(!hours.contains(&calendar, datetime!(2024 - 04 - 17 00:59 UTC)));
    assert!(!hours.contains(&calendar, datetime!(2024 - 04 - 17 10:00 UTC)));
    assert!(!hours.contains(&calendar, datetime!(2024 - 04 - 18 10:00 +7)));
    assert_eq!(WorkingHours::new(time!(17:00), time!(08:00)), None);
    assert_eq!(hours.to_string(), "08:00–17:00");
}

#[test]
fn vietnam_instant_is_at_plus_seven() {
    let instant = vietnam_instant(date!(2024 - 04 - 15), time!(23:59:59));
    assert_eq!(instant, datetime!(2024 - 04 - 15 16:59:59 UTC));
    assert_eq!(domain::deadline::civil_date_at(instant), date!(2024 - 04 - 15));
}

// ---- properties ----

fn any_date() -> impl Strategy<Value = Date> {
    (date!(2019 - 06 - 01).to_julian_day()..=date!(2031 - 06 - 30).to_julian_day())
        .prop_map(|julian_day| Date::from_julian_day(julian_day).unwrap())
}

fn any_instant() -> impl Strategy<Value = OffsetDateTime> {
    (any_date(), 0..86_400i64, -12..=14i8).prop_map(|(date, seconds, offset_hours)| {
        (date.midnight().assume_utc() + Duration::seconds(seconds))
            .to_offset(time::UtcOffset::from_hms(offset_hours, 0, 0).unwrap())
    })
}

fn any_working_hours() -> impl Strategy<Value = WorkingHours> {
    (0u8..23, 1u8..=23).prop_map(|(start_hour, length)| {
        let end_hour = (start_hour + length).min(23);
        WorkingHours::new(Time::from_hms(start_hour, 0, 0).unwrap(), Time::from_hms(end_hour, 0, 0).unwrap()).unwrap()
    })
}

proptest! {
    #[test]
    fn next_and_previous_working_days_are_the_nearest_working_days(date in any_date()) {
        let calendar = HolidayCalendar::shipped();
        let next = calendar.next_working_day(date);
        let previous = calendar.previous_working_day(date);
        prop_assert!(next > date && calendar.is_working_day(next));
        prop_assert!(previous < date && calendar.is_working_day(previous));
        prop_assert_eq!(calendar.working_days_between(date, next), 1);
        prop_assert_eq!(calendar.working_days_between(previous, date), u32::from(calendar.is_working_day(date)));
        prop_assert_eq!(calendar.previous_working_day(next), calendar.working_days_before(date, 0));
        prop_assert_eq!(calendar.next_working_day(previous) <= date, calendar.is_working_day(date));
    }

    #[test]
    fn working_days_before_and_between_agree(date in any_date(), n_working_days in 0u32..40) {
        let calendar = HolidayCalendar::shipped();
        let earlier = calendar.working_days_before(date, n_working_days);
        prop_assert!(earlier <= date);
        prop_assert!(calendar.is_working_day(earlier));
        let anchor = calendar.working_days_before(date, 0);
        prop_assert_eq!(calendar.working_days_between(earlier, anchor), n_working_days);
        prop_assert_eq!(calendar.working_days_between(earlier, date), n_working_days);
        if n_working_days > 0 {
            prop_assert_eq!(
                calendar.previous_working_day(calendar.working_days_before(date, n_working_days - 1)),
                earlier
            );
        }
    }

    #[test]
    fn next_delivery_instant_is_within_working_hours_and_never_earlier(
        instant in any_instant(),
        hours in any_working_hours(),
    ) {
        let calendar = HolidayCalendar::shipped();
        let delivery = hours.next_delivery_instant(&calendar, instant);
        prop_assert!(delivery >= instant);
        prop_assert!(hours.contains(&calendar, delivery));
        prop_assert_eq!(delivery == instant, hours.contains(&calendar, instant));
        // Nothing in between was deliverable: the result is the input or the start of a window.
        if delivery != instant {
            prop_assert_eq!(delivery.time(), hours.start);
            prop_assert_eq!(hours.next_delivery_instant(&calendar, delivery), delivery);
        }
    }

    #[test]
    fn parsing_never_panics(text in "[ -~\n]{0,200}") {
        let _ = HolidayCalendar::parse(&text, "fuzz.txt");
    }

    #[test]
    fn a_listed_day_off_parses_back(
        date in any_date().prop_filter("a covered year", |date| (2019..=2031).contains(&date.year())),
        name in "[A-Za-zĐđĂăÂâÊêÔôƠơƯưẠạẢảỐốỚớ][A-Za-zĐđĂăÂâÊêÔôƠơƯưẠạẢảỐốỚớ ]{0,30}[A-Za-zĐđƠơƯư]",
    ) {
        let text = format!("years 2019..2031\n{}  {}\n", format_date_iso(date), name);
        let calendar = HolidayCalendar::parse(&text, "generated.txt").unwrap();
        let expected = normalize_single_line(&name);
        prop_assert_eq!(calendar.holiday_name(date), Some(expected.as_str()));
        prop_assert!(!calendar.is_working_day(date));
    }
}
