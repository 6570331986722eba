//! Civil time in Vietnam and the working-day calendar that reminders are counted and delivered by.
//!
//! Reminders speak in working days ("the deadline is 3 working days away") and are delivered within working hours,
//! so the rules (`rules.rs`) and the dispatcher need to know which days state agencies work. [`HolidayCalendar`]
//! answers that: Monday to Friday, minus the public holidays and substitute days off, plus the Saturdays declared
//! working days in exchange for a day off ("làm bù"). Its data is a small line format, shipped with the project for
//! 2020 to 2030 (`calendar/vn-public-holidays.txt`, format documented at its top) and extended by operators' files.
//!
//! Civil time is Asia/Ho_Chi_Minh, which is UTC+07:00 all year. The zone's last change was on 13 June 1975, when
//! the South moved from +08:00 to the North's +07:00; it has observed no daylight saving time since. A fixed offset
//! is therefore exact for every instant this service handles (from 1976 on), so this module reuses the domain's
//! [`VIETNAM_OFFSET`] and `civil_date_at` rather than a time zone database. Reporting periods are in `periods.rs`;
//! deadlines themselves are the domain's `Deadline`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::RangeInclusive;
use std::path::Path;
use std::sync::LazyLock;

use domain::deadline::{format_date_iso, parse_date_iso, MAX_YEAR, MIN_YEAR, VIETNAM_OFFSET};
use domain::text::normalize_single_line;
use time::macros::time;
use time::{Date, OffsetDateTime, Time, Weekday};

/// The calendar shipped with the project, parsed at first use.
static SHIPPED_CALENDAR: LazyLock<HolidayCalendar> = LazyLock::new(|| {
    HolidayCalendar::parse(SHIPPED_CALENDAR_TEXT, SHIPPED_CALENDAR_SOURCE)
        .expect("the shipped holiday calendar parses (a unit test proves it)")
});

/// The text of the shipped calendar.
pub const SHIPPED_CALENDAR_TEXT: &str = include_str!("../calendar/vn-public-holidays.txt");

/// The name the shipped calendar's errors are reported under.
pub const SHIPPED_CALENDAR_SOURCE: &str = "calendar/vn-public-holidays.txt";

/// Which days state agencies in Vietnam work, for the years it covers.
///
/// Invariants (kept by the parser and [`HolidayCalendar::extend`]): a date is never both a day off and a make-up
/// working day; every make-up working day is a Saturday or a Sunday. Outside the years covered the calendar still
/// answers, as Monday to Friday: [`HolidayCalendar::covers_year`] lets a caller warn that it is guessing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    /// Days off other than Saturdays and Sundays, and weekend days inside a listed run, with their names.
    days_off: BTreeMap<Date, String>,
    /// Saturdays and Sundays declared working days, with the reason.
    make_up_working_days: BTreeMap<Date, String>,
    years_covered: BTreeSet<i32>,
}

/// The hours in which non-critical messages are delivered, on working days, in Vietnam's civil time.
///
/// Every value of the fields is accepted, but a window whose `start` is not before its `end` contains no instant:
/// [`WorkingHours::new`] refuses one, and so does the rule file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingHours {
    /// The first instant of the window, included.
    pub start: Time,
    /// The end of the window, excluded.
    pub end: Time,
}

/// Why a calendar file could not be read or parsed. The line errors name the file and the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{path}: cannot read the holiday calendar: {reason}")]
    Read { path: String, reason: String },
    #[error("{source_name}:{line}: {rule}")]
    Line { source_name: String, line: usize, rule: CalendarLineError },
}

/// The rule a line of a calendar file broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarLineError {
    #[error("bad date {text:?}: {reason}")]
    BadDate { text: String, reason: String },
    #[error("bad year {text:?}: expected a year such as 2024")]
    BadYear { text: String },
    #[error("range {first}..{last} ends before it starts")]
    InvertedRange { first: String, last: String },
    #[error("unknown directive {word:?}: expected a date, a range `YYYY-MM-DD..YYYY-MM-DD`, `work DATE` or `years`")]
    UnknownDirective { word: String },
    #[error("{date} is listed twice (first on line {first_line})")]
    Duplicate { date: String, first_line: usize },
    #[error("year {year} is out of range: years must be {MIN_YEAR} to {MAX_YEAR}")]
    YearOutOfRange { year: i32 },
    #[error("{date} is in {year}, which no `years` line before it declares")]
    YearNotDeclared { date: String, year: i32 },
    #[error("{what} needs a name after the date")]
    MissingName { what: &'static str },
    #[error("make-up working day {date} is a {weekday}: only a Saturday or a Sunday can be declared a working day")]
    MakeUpDayNotWeekend { date: String, weekday: Weekday },
    #[error("unexpected text {text:?} after the years")]
    TrailingText { text: String },
}

impl HolidayCalendar {
    /// The calendar shipped with the project: Vietnam's public holidays, substitute days off and make-up working
    /// days for 2020 to 2030.
    pub fn shipped() -> HolidayCalendar {
        SHIPPED_CALENDAR.clone()
    }

    /// Parses a calendar file (format at the top of `calendar/vn-public-holidays.txt`). `source` names the text in
    /// errors, as `source:line`.
    pub fn parse(text: &str, source: &str) -> Result<HolidayCalendar, CalendarError> {
        let mut calendar = HolidayCalendar::default();
        let mut line_of_date: BTreeMap<Date, usize> = BTreeMap::new();
        for (line_index, raw_line) in text.lines().enumerate() {
            let line_number = line_index + 1;
            let line_error = |rule| CalendarError::Line { source_name: source.to_owned(), line: line_number, rule };
            let content = raw_line.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            let entry = parse_entry(content).map_err(line_error)?;
            let dates: Vec<Date> = match &entry {
                Entry::Years(years) => {
                    calendar.years_covered.extend(years.clone());
                    continue;
                }
                Entry::DaysOff { first, last, .. } => days_of(*first, *last).collect(),
                Entry::MakeUpWorkingDay { date, .. } => vec![*date],
            };
            for date in &dates {
                if !calendar.years_covered.contains(&date.year()) {
                    return Err(line_error(CalendarLineError::YearNotDeclared {
                        date: format_date_iso(*date),
                        year: date.year(),
                    }));
                }
                if let Some(first_line) = line_of_date.insert(*date, line_number) {
                    return Err(line_error(CalendarLineError::Duplicate { date: format_date_iso(*date), first_line }));
                }
            }
            match entry {
                Entry::Years(_) => {}
                Entry::DaysOff { name, .. } => {
                    calendar.days_off.extend(dates.into_iter().map(|date| (date, name.clone())));
                }
                Entry::MakeUpWorkingDay { date, reason } => {
                    calendar.make_up_working_days.insert(date, reason);
                }
            }
        }
        Ok(calendar)
    }

    /// Reads and parses a calendar file; errors name the file by its path.
    pub fn load_file(path: &Path) -> Result<HolidayCalendar, CalendarError> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| CalendarError::Read { path: path.display().to_string(), reason: error.to_string() })?;
        HolidayCalendar::parse(&text, &path.display().to_string())
    }

    /// Adds another calendar's days off, make-up working days and years to this one. Where the two disagree about a
    /// date, `other` wins: an operator's file can turn a shipped day off into a working day and the reverse.
    pub fn extend(&mut self, other: HolidayCalendar) {
        for (date, name) in other.days_off {
            self.make_up_working_days.remove(&date);
            self.days_off.insert(date, name);
        }
        for (date, reason) in other.make_up_working_days {
            self.days_off.remove(&date);
            self.make_up_working_days.insert(date, reason);
        }
        self.years_covered.extend(other.years_covered);
    }

    /// Monday to Friday, minus the days off, plus the make-up working days.
    pub fn is_working_day(&self, date: Date) -> bool {
        if self.make_up_working_days.contains_key(&date) {
            return true;
        }
        !self.days_off.contains_key(&date) && !is_weekend(date)
    }

    /// The name of the holiday or substitute day off that `date` is, if it is one.
    pub fn holiday_name(&self, date: Date) -> Option<&str> {
        self.days_off.get(&date).map(String::as_str)
    }

    /// The reason a Saturday or Sunday is a working day, if `date` is one.
    pub fn make_up_reason(&self, date: Date) -> Option<&str> {
        self.make_up_working_days.get(&date).map(String::as_str)
    }

    /// The first working day strictly after `date`.
    pub fn next_working_day(&self, date: Date) -> Date {
        let mut candidate = date;
        loop {
            candidate = candidate.next_day().expect("a working day follows within the dates `time` represents");
            if self.is_working_day(candidate) {
                return candidate;
            }
        }
    }

    /// The last working day strictly before `date`.
    pub fn previous_working_day(&self, date: Date) -> Date {
        let mut candidate = date;
        loop {
            candidate = candidate.previous_day().expect("a working day precedes within the dates `time` represents");
            if self.is_working_day(candidate) {
                return candidate;
            }
        }
    }

    /// Counts back `n_working_days` working days. The count starts from `date` if it is a working day, else from the
    /// working day before it: with 0, that day itself; with 1, the working day before that one. This is when a
    /// reminder "n working days before" a deadline falls due, a deadline on a day off counting from the last
    /// working day before it.
    pub fn working_days_before(&self, date: Date, n_working_days: u32) -> Date {
        let mut result = if self.is_working_day(date) { date } else { self.previous_working_day(date) };
        for _ in 0..n_working_days {
            result = self.previous_working_day(result);
        }
        result
    }

    /// The number of working days in `(from, to]`: 0 when `to` is not after `from`.
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        let Some(first) = from.next_day() else {
            return 0;
        };
        let n_working_days = days_of(first, to).filter(|date| self.is_working_day(*date)).count();
        u32::try_from(n_working_days).expect("fewer than 2^32 days lie between two dates `time` represents")
    }

    /// Whether the calendar's files declared `year`: outside those years, only weekends are days off.
    pub fn covers_year(&self, year: i32) -> bool {
        self.years_covered.contains(&year)
    }

    /// The years covered, in order.
    pub fn years_covered(&self) -> impl Iterator<Item = i32> + '_ {
        self.years_covered.iter().copied()
    }

    /// The days off listed, with their names, in order (weekend days inside a listed run included).
    pub fn days_off(&self) -> impl Iterator<Item = (Date, &str)> + '_ {
        self.days_off.iter().map(|(date, name)| (*date, name.as_str()))
    }

    /// The make-up working days, with their reasons, in order.
    pub fn make_up_working_days(&self) -> impl Iterator<Item = (Date, &str)> + '_ {
        self.make_up_working_days.iter().map(|(date, reason)| (*date, reason.as_str()))
    }
}

impl WorkingHours {
    /// 08:00 to 17:00, the office hours of state agencies.
    pub const DEFAULT: WorkingHours = WorkingHours { start: time!(08:00), end: time!(17:00) };

    /// A window from `start` (included) to `end` (excluded), if `start` is before `end`.
    pub fn new(start: Time, end: Time) -> Option<WorkingHours> {
        (start < end).then_some(WorkingHours { start, end })
    }

    /// The instant itself when it falls within working hours on a working day, else the start of the next working
    /// window. The result is at +07:00 and never before `instant`.
    pub fn next_delivery_instant(&self, calendar: &HolidayCalendar, instant: OffsetDateTime) -> OffsetDateTime {
        let civil_instant = instant.to_offset(VIETNAM_OFFSET);
        if self.contains(calendar, civil_instant) {
            return civil_instant;
        }
        let date = civil_instant.date();
        if calendar.is_working_day(date) && civil_instant.time() < self.start && self.start < self.end {
            return vietnam_instant(date, self.start);
        }
        vietnam_instant(calendar.next_working_day(date), self.start)
    }

    /// Whether `instant` falls within working hours on a working day, in Vietnam's civil time.
    pub fn contains(&self, calendar: &HolidayCalendar, instant: OffsetDateTime) -> bool {
        let civil_instant = instant.to_offset(VIETNAM_OFFSET);
        let time_of_day = civil_instant.time();
        calendar.is_working_day(civil_instant.date()) && self.start <= time_of_day && time_of_day < self.end
    }
}

impl Default for WorkingHours {
    fn default() -> WorkingHours {
        WorkingHours::DEFAULT
    }
}

impl fmt::Display for WorkingHours {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "{:02}:{:02}–{:02}:{:02}",
            self.start.hour(),
            self.start.minute(),
            self.end.hour(),
            self.end.minute()
        )
    }
}

/// That civil date and time in Vietnam, at +07:00.
pub fn vietnam_instant(date: Date, time_of_day: Time) -> OffsetDateTime {
    date.with_time(time_of_day).assume_offset(VIETNAM_OFFSET)
}

/// One meaningful line of a calendar file.
enum Entry {
    Years(RangeInclusive<i32>),
    DaysOff { first: Date, last: Date, name: String },
    MakeUpWorkingDay { date: Date, reason: String },
}

/// Parses a line stripped of its comment and surrounding whitespace, not empty.
fn parse_entry(content: &str) -> Result<Entry, CalendarLineError> {
    let (first_word, rest) = content.split_once(char::is_whitespace).unwrap_or((content, ""));
    let rest = rest.trim();
    match first_word {
        "years" => parse_years(rest).map(Entry::Years),
        "work" => {
            let (date_text, reason) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let date = parse_date(date_text)?;
            if !is_weekend(date) {
                return Err(CalendarLineError::MakeUpDayNotWeekend {
                    date: format_date_iso(date),
                    weekday: date.weekday(),
                });
            }
            let reason = parse_name(reason, "a make-up working day")?;
            Ok(Entry::MakeUpWorkingDay { date, reason })
        }
        word if word.starts_with(|character: char| character.is_ascii_digit()) => {
            let (first, last) = match word.split_once("..") {
                Some((first_text, last_text)) => {
                    let (first, last) = (parse_date(first_text)?, parse_date(last_text)?);
                    if last < first {
                        return Err(CalendarLineError::InvertedRange {
                            first: first_text.to_owned(),
                            last: last_text.to_owned(),
                        });
                    }
                    (first, last)
                }
                None => {
                    let date = parse_date(word)?;
                    (date, date)
                }
            };
            let name = parse_name(rest, "a day off")?;
            Ok(Entry::DaysOff { first, last, name })
        }
        word => Err(CalendarLineError::UnknownDirective { word: word.to_owned() }),
    }
}

/// `2020..2030` or `2031`.
fn parse_years(text: &str) -> Result<RangeInclusive<i32>, CalendarLineError> {
    let (range_text, trailing) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
    if !trailing.trim().is_empty() {
        return Err(CalendarLineError::TrailingText { text: trailing.trim().to_owned() });
    }
    let (first, last) = match range_text.split_once("..") {
        Some((first_text, last_text)) => (parse_year(first_text)?, parse_year(last_text)?),
        None => {
            let year = parse_year(range_text)?;
            (year, year)
        }
    };
    if last < first {
        return Err(CalendarLineError::InvertedRange { first: first.to_string(), last: last.to_string() });
    }
    Ok(first..=last)
}

fn parse_year(text: &str) -> Result<i32, CalendarLineError> {
    if text.is_empty() || text.len() > 6 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(CalendarLineError::BadYear { text: text.to_owned() });
    }
    let year: i32 = text.parse().map_err(|_| CalendarLineError::BadYear { text: text.to_owned() })?;
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(CalendarLineError::YearOutOfRange { year });
    }
    Ok(year)
}

fn parse_date(text: &str) -> Result<Date, CalendarLineError> {
    parse_date_iso(text)
        .map_err(|error| CalendarLineError::BadDate { text: text.to_owned(), reason: error.to_string() })
}

/// A name or reason: the rest of the line in NFC with whitespace collapsed, not empty.
fn parse_name(text: &str, what: &'static str) -> Result<String, CalendarLineError> {
    let name = normalize_single_line(text);
    if name.is_empty() {
        return Err(CalendarLineError::MissingName { what });
    }
    Ok(name)
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// The dates from `first` to `last`, both included; none when `last` is before `first`.
fn days_of(first: Date, last: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(first), |date| date.next_day()).take_while(move |date| *date <= last)
}

#[cfg(test)]
mod tests;
