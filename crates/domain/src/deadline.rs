//! `Deadline`: when a task or an indicator is due, at the granularity its assigner wrote it (a day, a month, a
//! quarter, a half-year or a year), plus the Vietnam calendar helpers that go with it (the +07:00 offset, the
//! civil date of an instant, dd/mm/yyyy formatting, ISO dates of `as_of` parameters).
//!
//! A deadline is due at the end of its period, 23:59:59 in Asia/Ho_Chi_Minh, which has had no daylight saving time
//! since 1975 and so is the fixed offset [`VIETNAM_OFFSET`]. The absence of a deadline ("Thường xuyên") is an
//! `Option<Deadline>` that is `None`; timeliness is computed from [`Deadline::due_at`] elsewhere in the crate.
//!
//! Two textual forms, each the inverse of its parser: the API code (`YYYY`, `YYYY-Hn`, `YYYY-Qn`, `YYYY-MM`,
//! `YYYY-MM-DD`, also the serde form) and the Vietnamese text of the appendix ("Tháng 11/2024", "Quý IV/2024").

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::macros::{offset, time};
use time::{Date, Month, OffsetDateTime, Time, UtcOffset};

use crate::text::fold_for_search;

/// The offset of Asia/Ho_Chi_Minh: +07:00 all year round.
pub const VIETNAM_OFFSET: UtcOffset = offset!(+7);

/// The last second of a day, when a deadline falls due.
pub const END_OF_DAY: Time = time!(23:59:59);

/// The earliest year a deadline may fall in.
pub const MIN_YEAR: i32 = 1900;

/// The latest year a deadline may fall in.
pub const MAX_YEAR: i32 = 2200;

/// When something is due, at the granularity it was assigned with.
///
/// The fields are public so that code can match on them, but not every value of them is valid: the year must be
/// [`MIN_YEAR`] to [`MAX_YEAR`], the month 1 to 12, the quarter 1 to 4 and the half 1 or 2. Values from
/// [`Deadline::parse_code`], [`Deadline::parse_vietnamese`], the `try_*` constructors and deserialisation always
/// are; a value built by hand can be checked with [`Deadline::check`], is refused by serialisation if invalid, and
/// has its fields clamped into range by [`Deadline::due_date`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Deadline {
    /// Due at the end of that day: "30/11/2024".
    Day(Date),
    /// Due at the end of the month: "Tháng 11/2024".
    Month { year: i32, month: u8 },
    /// Due at the end of the quarter's last month: "Quý IV/2024".
    Quarter { year: i32, quarter: u8 },
    /// Due on 30 June (half 1, "6 tháng đầu năm 2024") or 31 December (half 2, "6 tháng cuối năm 2024").
    HalfYear { year: i32, half: u8 },
    /// Due on 31 December: "Năm 2024".
    Year(i32),
}

/// The granularity of a [`Deadline`], without its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    Day,
    Month,
    Quarter,
    HalfYear,
    Year,
}

/// Why a text is not a deadline or a date. Each message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeadlineError {
    #[error("expected YYYY, YYYY-Hn, YYYY-Qn, YYYY-MM or YYYY-MM-DD, got {input:?}")]
    InvalidCode { input: String },
    #[error(
        "expected a deadline such as 30/11/2024, Tháng 11/2024, Quý IV/2024, 6 tháng đầu năm 2024 or Năm 2024, \
         got {input:?}"
    )]
    InvalidVietnamese { input: String },
    #[error("expected a date as YYYY-MM-DD, got {input:?}")]
    InvalidIsoDate { input: String },
    #[error("year must be 1900 to 2200, got {year}")]
    YearOutOfRange { year: i64 },
    #[error("month must be 1 to 12, got {month}")]
    MonthOutOfRange { month: u32 },
    #[error("quarter must be 1 to 4, got {quarter}")]
    QuarterOutOfRange { quarter: u32 },
    #[error("half-year must be 1 or 2, got {half}")]
    HalfOutOfRange { half: u32 },
    #[error("day {day} does not exist in {month:02}/{year}")]
    DayOutOfRange { year: i32, month: u8, day: u32 },
}

/// The Vietnam calendar date of an instant: the date at +07:00.
pub fn civil_date_at(instant: OffsetDateTime) -> Date {
    instant.to_offset(VIETNAM_OFFSET).date()
}

/// Formats a date the Vietnamese way, "dd/mm/yyyy": 6 March 2023 is "06/03/2023".
pub fn format_date_vn(date: Date) -> String {
    format!("{:02}/{:02}/{:04}", date.day(), u8::from(date.month()), date.year())
}

/// Formats a date as "YYYY-MM-DD", the inverse of [`parse_date_iso`].
pub fn format_date_iso(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

/// Parses a strict "YYYY-MM-DD" date, such as an `as_of` query parameter. The year must be [`MIN_YEAR`] to
/// [`MAX_YEAR`].
pub fn parse_date_iso(input: &str) -> Result<Date, DeadlineError> {
    let invalid = || DeadlineError::InvalidIsoDate { input: input.to_owned() };
    let parts: Vec<&str> = input.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(invalid());
    };
    if !is_digits_of_length(year, 4) || !is_digits_of_length(month, 2) || !is_digits_of_length(day, 2) {
        return Err(invalid());
    }
    checked_date(checked_year(number(year))?, number(month), number(day))
}

impl Deadline {
    /// Parses an API code: `YYYY`, `YYYY-Hn`, `YYYY-Qn`, `YYYY-MM` or `YYYY-MM-DD`, strictly (four-digit year,
    /// two-digit month and day, uppercase H and Q, no spaces).
    pub fn parse_code(input: &str) -> Result<Deadline, DeadlineError> {
        let invalid = || DeadlineError::InvalidCode { input: input.to_owned() };
        let parts: Vec<&str> = input.split('-').collect();
        let Some(year_text) = parts.first().filter(|year| is_digits_of_length(year, 4)) else {
            return Err(invalid());
        };
        let year = checked_year(number(year_text))?;
        match parts.as_slice() {
            [_] => Ok(Deadline::Year(year)),
            [_, period] if period.len() == 2 && period.starts_with('H') && is_digits_of_length(&period[1..], 1) => {
                Deadline::try_half_year(year, number(&period[1..]))
            }
            [_, period] if period.len() == 2 && period.starts_with('Q') && is_digits_of_length(&period[1..], 1) => {
                Deadline::try_quarter(year, number(&period[1..]))
            }
            [_, month] if is_digits_of_length(month, 2) => Deadline::try_month(year, number(month)),
            [_, month, day] if is_digits_of_length(month, 2) && is_digits_of_length(day, 2) => {
                checked_date(year, number(month), number(day)).map(Deadline::Day)
            }
            _ => Err(invalid()),
        }
    }

    /// Parses the Vietnamese text of a deadline, ignoring case and diacritics: "30/11/2024", "ngày 30/11/2024",
    /// "ngày 30 tháng 11 năm 2024", "Tháng 11/2024", "tháng 6 năm 2024", "11/2024", "Quý IV/2024", "Quý 4/2024",
    /// "Quý IV năm 2024", "6 tháng đầu năm 2024", "6 tháng cuối năm 2024", "nửa đầu năm 2024", "Năm 2024".
    /// A leading "trong", "hết", "đến" or "hạn" is ignored ("Trong tháng 11/2024"), and an API code is accepted
    /// too. "Thường xuyên" is not a deadline: see [`Deadline::parse_vietnamese_optional`].
    pub fn parse_vietnamese(input: &str) -> Result<Deadline, DeadlineError> {
        let folded = fold_for_search(input);
        let mut tokens: Vec<&str> =
            folded.split(|character: char| !character.is_alphanumeric()).filter(|token| !token.is_empty()).collect();
        while let Some(&first) = tokens.first() {
            if !matches!(first, "trong" | "het" | "den" | "han") {
                break;
            }
            tokens.remove(0);
        }
        if let Some(result) = parse_vietnamese_tokens(&tokens) {
            return result;
        }
        match Deadline::parse_code(input.trim()) {
            Err(DeadlineError::InvalidCode { .. }) => Err(DeadlineError::InvalidVietnamese { input: input.to_owned() }),
            other => other,
        }
    }

    /// Like [`Deadline::parse_vietnamese`], but an empty text and the words that say there is no deadline
    /// ("Thường xuyên", "Không thời hạn") give `None`.
    pub fn parse_vietnamese_optional(input: &str) -> Result<Option<Deadline>, DeadlineError> {
        let folded = fold_for_search(input);
        let words = folded.trim_matches(|character: char| !character.is_alphanumeric());
        if matches!(words, "" | "thuong xuyen" | "khong thoi han" | "khong co thoi han" | "khong han") {
            return Ok(None);
        }
        Deadline::parse_vietnamese(input).map(Some)
    }

    /// A deadline at the end of `date`, if its year is in range.
    pub fn try_day(date: Date) -> Result<Deadline, DeadlineError> {
        checked_year(i64::from(date.year()))?;
        Ok(Deadline::Day(date))
    }

    pub fn try_month(year: i32, month: u32) -> Result<Deadline, DeadlineError> {
        let year = checked_year(i64::from(year))?;
        match u8::try_from(month) {
            Ok(month @ 1..=12) => Ok(Deadline::Month { year, month }),
            _ => Err(DeadlineError::MonthOutOfRange { month }),
        }
    }

    pub fn try_quarter(year: i32, quarter: u32) -> Result<Deadline, DeadlineError> {
        let year = checked_year(i64::from(year))?;
        match u8::try_from(quarter) {
            Ok(quarter @ 1..=4) => Ok(Deadline::Quarter { year, quarter }),
            _ => Err(DeadlineError::QuarterOutOfRange { quarter }),
        }
    }

    pub fn try_half_year(year: i32, half: u32) -> Result<Deadline, DeadlineError> {
        let year = checked_year(i64::from(year))?;
        match u8::try_from(half) {
            Ok(half @ 1..=2) => Ok(Deadline::HalfYear { year, half }),
            _ => Err(DeadlineError::HalfOutOfRange { half }),
        }
    }

    pub fn try_year(year: i32) -> Result<Deadline, DeadlineError> {
        Ok(Deadline::Year(checked_year(i64::from(year))?))
    }

    /// Checks the invariant of the type (see [`Deadline`]), for values built by hand.
    pub fn check(&self) -> Result<(), DeadlineError> {
        let rebuilt = match *self {
            Deadline::Day(date) => Deadline::try_day(date),
            Deadline::Month { year, month } => Deadline::try_month(year, u32::from(month)),
            Deadline::Quarter { year, quarter } => Deadline::try_quarter(year, u32::from(quarter)),
            Deadline::HalfYear { year, half } => Deadline::try_half_year(year, u32::from(half)),
            Deadline::Year(year) => Deadline::try_year(year),
        };
        rebuilt.map(|_| ())
    }

    pub fn granularity(&self) -> Granularity {
        match self {
            Deadline::Day(_) => Granularity::Day,
            Deadline::Month { .. } => Granularity::Month,
            Deadline::Quarter { .. } => Granularity::Quarter,
            Deadline::HalfYear { .. } => Granularity::HalfYear,
            Deadline::Year(_) => Granularity::Year,
        }
    }

    /// The year the deadline falls in.
    pub fn year(&self) -> i32 {
        match *self {
            Deadline::Day(date) => date.year(),
            Deadline::Month { year, .. }
            | Deadline::Quarter { year, .. }
            | Deadline::HalfYear { year, .. }
            | Deadline::Year(year) => year,
        }
    }

    /// The API code, the inverse of [`Deadline::parse_code`]: "2024", "2024-H1", "2024-Q4", "2024-06",
    /// "2024-11-30".
    pub fn code(&self) -> String {
        match *self {
            Deadline::Day(date) => format_date_iso(date),
            Deadline::Month { year, month } => format!("{year:04}-{month:02}"),
            Deadline::Quarter { year, quarter } => format!("{year:04}-Q{quarter}"),
            Deadline::HalfYear { year, half } => format!("{year:04}-H{half}"),
            Deadline::Year(year) => format!("{year:04}"),
        }
    }

    /// The text of the appendix, the inverse of [`Deadline::parse_vietnamese`]: "30/11/2024", "Tháng 06/2024"
    /// (the month always has two digits, as in the seed), "Quý IV/2024", "6 tháng đầu năm 2024",
    /// "6 tháng cuối năm 2024", "Năm 2024".
    pub fn vietnamese(&self) -> String {
        match *self {
            Deadline::Day(date) => format_date_vn(date),
            Deadline::Month { year, month } => format!("Tháng {month:02}/{year}"),
            Deadline::Quarter { year, quarter } => format!("Quý {}/{year}", roman_quarter(quarter)),
            Deadline::HalfYear { year, half: 1 } => format!("6 tháng đầu năm {year}"),
            Deadline::HalfYear { year, .. } => format!("6 tháng cuối năm {year}"),
            Deadline::Year(year) => format!("Năm {year}"),
        }
    }

    /// The first day of the period.
    pub fn starts_on(&self) -> Date {
        let (year, first_month, _) = self.clamped_month_span();
        match *self {
            Deadline::Day(date) => date,
            _ => first_day_of_month(year, first_month),
        }
    }

    /// The last day of the period: the day the deadline is due.
    pub fn due_date(&self) -> Date {
        let (year, _, last_month) = self.clamped_month_span();
        match *self {
            Deadline::Day(date) => date,
            _ => last_day_of_month(year, last_month),
        }
    }

    /// The instant the deadline is due: 23:59:59 of [`Deadline::due_date`] at +07:00.
    pub fn due_at(&self) -> OffsetDateTime {
        self.due_date().with_time(END_OF_DAY).assume_offset(VIETNAM_OFFSET)
    }

    /// The year and the first and last months of the period, with out-of-range fields clamped into range.
    fn clamped_month_span(&self) -> (i32, u8, u8) {
        let clamp_year = |year: i32| year.clamp(MIN_YEAR, MAX_YEAR);
        match *self {
            Deadline::Day(date) => (date.year(), u8::from(date.month()), u8::from(date.month())),
            Deadline::Month { year, month } => {
                let month = month.clamp(1, 12);
                (clamp_year(year), month, month)
            }
            Deadline::Quarter { year, quarter } => {
                let quarter = quarter.clamp(1, 4);
                (clamp_year(year), quarter * 3 - 2, quarter * 3)
            }
            Deadline::HalfYear { year, half } => {
                let half = half.clamp(1, 2);
                (clamp_year(year), half * 6 - 5, half * 6)
            }
            Deadline::Year(year) => (clamp_year(year), 1, 12),
        }
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.vietnamese())
    }
}

impl std::str::FromStr for Deadline {
    type Err = DeadlineError;

    /// Parses the API code, like [`Deadline::parse_code`].
    fn from_str(input: &str) -> Result<Deadline, DeadlineError> {
        Deadline::parse_code(input)
    }
}

impl Serialize for Deadline {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.check().map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&self.code())
    }
}

impl<'de> Deserialize<'de> for Deadline {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Deadline, D::Error> {
        let code = String::deserialize(deserializer)?;
        Deadline::parse_code(&code).map_err(serde::de::Error::custom)
    }
}

/// Matches the folded, tokenised Vietnamese text against the known shapes; `None` when no shape fits.
fn parse_vietnamese_tokens(tokens: &[&str]) -> Option<Result<Deadline, DeadlineError>> {
    let tokens = match tokens {
        ["ngay", rest @ ..] => rest,
        _ => tokens,
    };
    let result = match tokens {
        [day, month, year] | [day, "thang", month, "nam", year]
            if is_small_number(day) && is_small_number(month) && is_year(year) =>
        {
            checked_year(number(year))
                .and_then(|year| checked_date(year, number(month), number(day)).map(Deadline::Day))
        }
        ["thang", month, year] | ["thang", month, "nam", year] | [month, year]
            if is_small_number(month) && is_year(year) =>
        {
            checked_year(number(year)).and_then(|year| Deadline::try_month(year, number(month)))
        }
        ["quy", quarter, year] | ["quy", quarter, "nam", year] if is_year(year) => {
            let quarter = quarter_number(quarter)?;
            checked_year(number(year)).and_then(|year| Deadline::try_quarter(year, quarter))
        }
        ["6" | "06" | "sau", "thang", which, "nam", year] | ["nua", which, "nam", year] if is_year(year) => {
            let half = match *which {
                "dau" => 1,
                "cuoi" => 2,
                _ => return None,
            };
            checked_year(number(year)).and_then(|year| Deadline::try_half_year(year, half))
        }
        ["nam", year] if is_year(year) => checked_year(number(year)).and_then(Deadline::try_year),
        _ => return None,
    };
    Some(result)
}

/// A quarter written in Roman numerals (I to IV, folded to lowercase) or in digits.
fn quarter_number(token: &str) -> Option<u32> {
    match token {
        "i" => Some(1),
        "ii" => Some(2),
        "iii" => Some(3),
        "iv" => Some(4),
        digits if is_small_number(digits) => Some(number(digits)),
        _ => None,
    }
}

fn roman_quarter(quarter: u8) -> &'static str {
    match quarter {
        1 => "I",
        2 => "II",
        3 => "III",
        _ => "IV",
    }
}

fn is_digits_of_length(text: &str, length: usize) -> bool {
    text.len() == length && text.bytes().all(|byte| byte.is_ascii_digit())
}

/// One or two digits: a day, a month or a quarter.
fn is_small_number(text: &str) -> bool {
    is_digits_of_length(text, 1) || is_digits_of_length(text, 2)
}

fn is_year(text: &str) -> bool {
    is_digits_of_length(text, 4)
}

/// The value of a run of at most four ASCII digits, which the callers have checked.
fn number<T: From<u16>>(digits: &str) -> T {
    T::from(digits.parse::<u16>().expect("callers pass at most four ASCII digits"))
}

fn checked_year(year: i64) -> Result<i32, DeadlineError> {
    match i32::try_from(year) {
        Ok(year) if (MIN_YEAR..=MAX_YEAR).contains(&year) => Ok(year),
        _ => Err(DeadlineError::YearOutOfRange { year }),
    }
}

fn checked_date(year: i32, month: u32, day: u32) -> Result<Date, DeadlineError> {
    let calendar_month = u8::try_from(month)
        .ok()
        .and_then(|month| Month::try_from(month).ok())
        .ok_or(DeadlineError::MonthOutOfRange { month })?;
    let month = u8::from(calendar_month);
    let day_of_month = u8::try_from(day).map_err(|_| DeadlineError::DayOutOfRange { year, month, day })?;
    Date::from_calendar_date(year, calendar_month, day_of_month).map_err(|_| DeadlineError::DayOutOfRange {
        year,
        month,
        day,
    })
}

fn first_day_of_month(year: i32, month: u8) -> Date {
    let month = Month::try_from(month).expect("callers clamp the month to 1..=12");
    Date::from_calendar_date(year, month, 1).expect("the first of a month in 1900..=2200 exists")
}

fn last_day_of_month(year: i32, month: u8) -> Date {
    let month = Month::try_from(month).expect("callers clamp the month to 1..=12");
    Date::from_calendar_date(year, month, month.length(year)).expect("the last day of a month exists")
}

#[cfg(test)]
mod tests;
