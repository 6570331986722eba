//! Reporting periods of Nghị định 09/2019/NĐ-CP, Điều 12: the spans of data that periodic reports cover, and the
//! cut-off dates that report reminders count back from.
//!
//! A period does not follow the calendar month: its data runs from the 15th of one month to the 14th of a later
//! one, so that a report can be compiled and sent before the month ends.
//!
//! | kind | index | data from | cut-off | Vietnamese label |
//! | --- | --- | --- | --- | --- |
//! | month | 1–12 | 15th of the previous month | 14th of the month | "Tháng 3/2024" |
//! | quarter | 1–4 | 15th of the month before the quarter | 14th of its last month | "Quý I/2024" |
//! | half-year | 1 | 15/12 of the previous year | 14/6 | "6 tháng đầu năm 2024" |
//! | half-year | 2 | 15/6 | 14/12 | "6 tháng cuối năm 2024" |
//! | year | 1 | 15/12 of the previous year | 14/12 | "Năm 2024" |
//!
//! The decree names only the first half-year (15/12 to 14/6). The second half is taken as the rest of the
//! reporting year, 15/6 to 14/12, so that the two halves tile the year as the quarters do; its label is the
//! appendix's "6 tháng cuối năm". A period belongs to the year of its cut-off: the January period and the first
//! quarter of 2024 start on 15/12/2023. Ad-hoc report requests set their own cut-off and are not periods.

use serde::{Deserialize, Serialize};
use time::{Date, Month};

/// How long a reporting period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
    HalfYear,
    Year,
}

/// One reporting period: its data runs from `starts_on` to `cut_off`, both included.
///
/// The fields are public for reading and matching; values built by [`periods_of_year`], [`period_containing`] and
/// [`ReportingPeriod::new`] hold the table of the module documentation (`index` is 1 to
/// [`PeriodKind::periods_per_year`], `year` is the year of `cut_off`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReportingPeriod {
    pub kind: PeriodKind,
    /// The year of the cut-off.
    pub year: i32,
    /// The month (1–12), the quarter (1–4), the half (1–2) or 1 for a year.
    pub index: u32,
    /// The first day of data.
    pub starts_on: Date,
    /// The last day of data: reports are "as of" this date.
    pub cut_off: Date,
    /// "Tháng 3/2024", "Quý I/2024", "6 tháng đầu năm 2024", "Năm 2024".
    pub label_vi: String,
    /// "March 2024", "Q1 2024", "First half of 2024", "Year 2024".
    pub label_en: String,
}

/// The periods of `kind` whose cut-off falls in `year`, in order.
pub fn periods_of_year(kind: PeriodKind, year: i32) -> Vec<ReportingPeriod> {
    (1..=kind.periods_per_year())
        .map(|index| ReportingPeriod::new(kind, year, index).expect("the index is within the year's periods"))
        .collect()
}

/// The period of `kind` whose data includes `date`.
pub fn period_containing(kind: PeriodKind, date: Date) -> ReportingPeriod {
    let (year, reporting_month) = reporting_month_of(date);
    let index = match kind {
        PeriodKind::Month => reporting_month,
        PeriodKind::Quarter => reporting_month.div_ceil(3),
        PeriodKind::HalfYear => reporting_month.div_ceil(6),
        PeriodKind::Year => 1,
    };
    ReportingPeriod::new(kind, year, index).expect("the index is computed within the year's periods")
}

impl PeriodKind {
    /// 12, 4, 2 or 1.
    pub fn periods_per_year(self) -> u32 {
        match self {
            PeriodKind::Month => 12,
            PeriodKind::Quarter => 4,
            PeriodKind::HalfYear => 2,
            PeriodKind::Year => 1,
        }
    }

    /// How many months a period of this kind spans.
    pub fn months(self) -> u32 {
        12 / self.periods_per_year()
    }
}

impl ReportingPeriod {
    /// The `index`-th period of `kind` whose cut-off is in `year`; `None` when `index` is 0 or past the year's
    /// periods, or the dates would leave the range `time` represents.
    pub fn new(kind: PeriodKind, year: i32, index: u32) -> Option<ReportingPeriod> {
        if index == 0 || index > kind.periods_per_year() {
            return None;
        }
        let last_month = index * kind.months();
        let first_month = last_month + 1 - kind.months();
        let cut_off = Date::from_calendar_date(year, month_of(last_month), 14).ok()?;
        let starts_on = match first_month {
            1 => Date::from_calendar_date(year - 1, Month::December, 15).ok()?,
            _ => Date::from_calendar_date(year, month_of(first_month - 1), 15).ok()?,
        };
        let (label_vi, label_en) = labels(kind, year, index);
        Some(ReportingPeriod { kind, year, index, starts_on, cut_off, label_vi, label_en })
    }

    /// Whether `date` is within the period's data.
    pub fn contains(&self, date: Date) -> bool {
        self.starts_on <= date && date <= self.cut_off
    }

    /// The period of the same kind that follows this one.
    pub fn next(&self) -> ReportingPeriod {
        let next = if self.index < self.kind.periods_per_year() {
            ReportingPeriod::new(self.kind, self.year, self.index + 1)
        } else {
            ReportingPeriod::new(self.kind, self.year + 1, 1)
        };
        next.expect("the next period is within the range of dates")
    }
}

/// The reporting month a date's data belongs to: from the 15th on, the next month's.
fn reporting_month_of(date: Date) -> (i32, u32) {
    let month = u32::from(u8::from(date.month()));
    match (date.day() >= 15, month) {
        (false, _) => (date.year(), month),
        (true, 12) => (date.year() + 1, 1),
        (true, _) => (date.year(), month + 1),
    }
}

fn month_of(number: u32) -> Month {
    u8::try_from(number).ok().and_then(|number| Month::try_from(number).ok()).expect("callers pass 1 to 12")
}

fn labels(kind: PeriodKind, year: i32, index: u32) -> (String, String) {
    match kind {
        PeriodKind::Month => (format!("Tháng {index}/{year}"), format!("{} {year}", month_of(index))),
        PeriodKind::Quarter => {
            let roman = ["I", "II", "III", "IV"][usize::try_from(index - 1).expect("a quarter is 1 to 4")];
            (format!("Quý {roman}/{year}"), format!("Q{index} {year}"))
        }
        PeriodKind::HalfYear if index == 1 => (format!("6 tháng đầu năm {year}"), format!("First half of {year}")),
        PeriodKind::HalfYear => (format!("6 tháng cuối năm {year}"), format!("Second half of {year}")),
        PeriodKind::Year => (format!("Năm {year}"), format!("Year {year}")),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::date;

    use super::*;

    const ALL_KINDS: [PeriodKind; 4] = [PeriodKind::Month, PeriodKind::Quarter, PeriodKind::HalfYear, PeriodKind::Year];

    fn span(period: &ReportingPeriod) -> (Date, Date, &str) {
        (period.starts_on, period.cut_off, period.label_vi.as_str())
    }

    #[test]
    fn months_run_from_the_15th_to_the_14th() {
        let months = periods_of_year(PeriodKind::Month, 2024);
        assert_eq!(months.len(), 12);
        assert_eq!(span(&months[0]), (date!(2023 - 12 - 15), date!(2024 - 01 - 14), "Tháng 1/2024"));
        assert_eq!(span(&months[2]), (date!(2024 - 02 - 15), date!(2024 - 03 - 14), "Tháng 3/2024"));
        assert_eq!(span(&months[11]), (date!(2024 - 11 - 15), date!(2024 - 12 - 14), "Tháng 12/2024"));
        assert_eq!(months[2].label_en, "March 2024");
    }

    #[test]
    fn quarters_start_on_the_15th_of_the_month_before() {
        let quarters = periods_of_year(PeriodKind::Quarter, 2024);
        assert_eq!(span(&quarters[0]), (date!(2023 - 12 - 15), date!(2024 - 03 - 14), "Quý I/2024"));
        assert_eq!(span(&quarters[1]), (date!(2024 - 03 - 15), date!(2024 - 06 - 14), "Quý II/2024"));
        assert_eq!(span(&quarters[2]), (date!(2024 - 06 - 15), date!(2024 - 09 - 14), "Quý III/2024"));
        assert_eq!(span(&quarters[3]), (date!(2024 - 09 - 15), date!(2024 - 12 - 14), "Quý IV/2024"));
        assert_eq!(quarters[3].label_en, "Q4 2024");
    }

    #[test]
    fn half_years_and_the_year_follow_the_decree() {
        let halves = periods_of_year(PeriodKind::HalfYear, 2024);
        assert_eq!(span(&halves[0]), (date!(2023 - 12 - 15), date!(2024 - 06 - 14), "6 tháng đầu năm 2024"));
        assert_eq!(span(&halves[1]), (date!(2024 - 06 - 15), date!(2024 - 12 - 14), "6 tháng cuối năm 2024"));
        assert_eq!(halves[0].label_en, "First half of 2024");
        let years = periods_of_year(PeriodKind::Year, 2024);
        assert_eq!(years.len(), 1);
        assert_eq!(span(&years[0]), (date!(2023 - 12 - 15), date!(2024 - 12 - 14), "Năm 2024"));
        assert_eq!(years[0].label_en, "Year 2024");
    }

    #[test]
    fn period_containing_switches_on_the_15th() {
        assert_eq!(period_containing(PeriodKind::Month, date!(2024 - 04 - 14)).label_vi, "Tháng 4/2024");
        assert_eq!(period_containing(PeriodKind::Month, date!(2024 - 04 - 15)).label_vi, "Tháng 5/2024");
        assert_eq!(period_containing(PeriodKind::Quarter, date!(2024 - 04 - 15)).label_vi, "Quý II/2024");
        assert_eq!(period_containing(PeriodKind::Quarter, date!(2023 - 12 - 15)).label_vi, "Quý I/2024");
        assert_eq!(period_containing(PeriodKind::Quarter, date!(2023 - 12 - 14)).label_vi, "Quý IV/2023");
        assert_eq!(period_containing(PeriodKind::HalfYear, date!(2024 - 06 - 14)).label_vi, "6 tháng đầu năm 2024");
        assert_eq!(period_containing(PeriodKind::HalfYear, date!(2024 - 06 - 15)).label_vi, "6 tháng cuối năm 2024");
        assert_eq!(period_containing(PeriodKind::Year, date!(2024 - 12 - 31)).label_vi, "Năm 2025");
    }

    #[test]
    fn new_refuses_indexes_outside_the_year() {
        assert_eq!(ReportingPeriod::new(PeriodKind::Quarter, 2024, 0), None);
        assert_eq!(ReportingPeriod::new(PeriodKind::Quarter, 2024, 5), None);
        assert_eq!(ReportingPeriod::new(PeriodKind::Year, 2024, 2), None);
        assert!(ReportingPeriod::new(PeriodKind::Month, 2024, 12).is_some());
    }

    #[test]
    fn kinds_serialise_in_snake_case() {
        assert_eq!(serde_json::to_string(&ALL_KINDS).unwrap(), r#"["month","quarter","half_year","year"]"#);
    }

    fn any_kind() -> impl Strategy<Value = PeriodKind> {
        prop::sample::select(ALL_KINDS.to_vec())
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (date!(1950 - 01 - 01).to_julian_day()..=date!(2150 - 12 - 31).to_julian_day())
            .prop_map(|julian_day| Date::from_julian_day(julian_day).unwrap())
    }

    proptest! {
        #[test]
        fn periods_tile_the_years_without_gap_or_overlap(kind in any_kind(), year in 1950i32..2150) {
            let periods = periods_of_year(kind, year);
            prop_assert_eq!(periods.len(), usize::try_from(kind.periods_per_year()).unwrap());
            let last_of_previous_year = periods_of_year(kind, year - 1).pop().unwrap();
            prop_assert_eq!(periods[0].starts_on, last_of_previous_year.cut_off.next_day().unwrap());
            prop_assert_eq!(periods[0].starts_on, Date::from_calendar_date(year - 1, Month::December, 15).unwrap());
            let last_cut_off = Date::from_calendar_date(year, Month::December, 14).unwrap();
            prop_assert_eq!(periods.last().unwrap().cut_off, last_cut_off);
            for pair in periods.windows(2) {
                prop_assert_eq!(pair[1].starts_on, pair[0].cut_off.next_day().unwrap());
                prop_assert_eq!(&pair[0].next(), &pair[1]);
            }
            for period in &periods {
                prop_assert!(period.starts_on < period.cut_off);
                prop_assert_eq!(period.cut_off.year(), year);
                prop_assert_eq!(period.cut_off.day(), 14);
                prop_assert_eq!(period.starts_on.day(), 15);
            }
        }

        #[test]
        fn period_containing_contains_the_date_and_is_a_period_of_its_year(kind in any_kind(), date in any_date()) {
            let period = period_containing(kind, date);
            prop_assert!(period.contains(date));
            prop_assert!(periods_of_year(kind, period.year).contains(&period));
            prop_assert_eq!(period_containing(kind, period.starts_on), period.clone());
            prop_assert_eq!(period_containing(kind, period.cut_off), period.clone());
        }

        #[test]
        fn longer_periods_are_unions_of_months(kind in any_kind(), date in any_date()) {
            let period = period_containing(kind, date);
            let first_month = period_containing(PeriodKind::Month, period.starts_on);
            let last_month = period_containing(PeriodKind::Month, period.cut_off);
            prop_assert_eq!(first_month.starts_on, period.starts_on);
            prop_assert_eq!(last_month.cut_off, period.cut_off);
            prop_assert_eq!(last_month.index, period.index * kind.months());
        }
    }
}
