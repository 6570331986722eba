//! The business clock of the notification service: what "now" is when deciding whether a reminder is due.
//!
//! The service never reads the system time directly for that decision: it asks a [`Clock`]
//! (`http_api::Clock`, the one every service shares), so that tests move time at will. [`TestClock`] is moved by
//! code in the same process; [`ClockSetting`] lets an operator or a test choose the clock of a separate process
//! (`TASKLEDGER_CLOCK`), for tests and drills only: `system` (the default), `fixed:<RFC 3339>` (time stands
//! still), `offset:<RFC 3339>` (starts at that instant and runs at the real pace), or `file:<path>` (the instant
//! written in the file, re-read on every call, so that a test moves a child process's time by rewriting it).
//!
//! Leases are not business time: they use the database's clock (see `store`), so that a test clock standing
//! still never keeps a crashed replica's claim alive.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use http_api::{Clock, SystemClock};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A clock that tests set and move; shared by cloning.
#[derive(Debug, Clone)]
pub struct TestClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl TestClock {
    pub fn at(instant: OffsetDateTime) -> TestClock {
        TestClock { now: Arc::new(Mutex::new(instant)) }
    }

    pub fn set(&self, instant: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = instant;
    }

    pub fn advance(&self, by: time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Which clock a process runs on, as `TASKLEDGER_CLOCK` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockSetting {
    System,
    Fixed(OffsetDateTime),
    /// Starts at this instant when the process starts and runs at the real pace.
    Offset(OffsetDateTime),
    /// The RFC 3339 instant written in this file, read on every call.
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockSettingError {
    #[error(
        "TASKLEDGER_CLOCK must be system, fixed:<RFC 3339 instant>, offset:<RFC 3339 instant> or file:<path>, \
         got {0:?}"
    )]
    Unknown(String),
    #[error("TASKLEDGER_CLOCK: {0:?} is not an RFC 3339 instant such as 2024-11-25T08:00:00+07:00")]
    Instant(String),
    #[error("TASKLEDGER_CLOCK: cannot read the clock file {path}: {reason}")]
    File { path: String, reason: String },
}

impl ClockSetting {
    pub fn parse(input: &str) -> Result<ClockSetting, ClockSettingError> {
        let input = input.trim();
        let instant = |text: &str| {
            OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| ClockSettingError::Instant(text.to_owned()))
        };
        match input.split_once(':') {
            _ if input.is_empty() || input == "system" => Ok(ClockSetting::System),
            Some(("fixed", rest)) => instant(rest).map(ClockSetting::Fixed),
            Some(("offset", rest)) => instant(rest).map(ClockSetting::Offset),
            Some(("file", rest)) if !rest.trim().is_empty() => Ok(ClockSetting::File(PathBuf::from(rest.trim()))),
            _ => Err(ClockSettingError::Unknown(input.to_owned())),
        }
    }

    /// The clock; a file clock's file must be readable now (later read failures keep the last instant read).
    pub fn build(&self) -> Result<Arc<dyn Clock>, ClockSettingError> {
        Ok(match self {
            ClockSetting::System => Arc::new(SystemClock),
            ClockSetting::Fixed(instant) => Arc::new(TestClock::at(*instant)),
            ClockSetting::Offset(start) => Arc::new(OffsetClock { shift: *start - OffsetDateTime::now_utc() }),
            ClockSetting::File(path) => {
                let first = read_clock_file(path)?;
                Arc::new(FileClock { path: path.clone(), last: Mutex::new(first) })
            }
        })
    }
}

/// The system clock shifted by a constant.
#[derive(Debug)]
struct OffsetClock {
    shift: time::Duration,
}

impl Clock for OffsetClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.shift
    }
}

/// The instant written in a file; the last one read when the file is being rewritten or missing.
#[derive(Debug)]
struct FileClock {
    path: PathBuf,
    last: Mutex<OffsetDateTime>,
}

impl Clock for FileClock {
    fn now(&self) -> OffsetDateTime {
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Ok(instant) = read_clock_file(&self.path) {
            *last = instant;
        }
        *last
    }
}

fn read_clock_file(path: &std::path::Path) -> Result<OffsetDateTime, ClockSettingError> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| ClockSettingError::File { path: path.display().to_string(), reason: error.to_string() })?;
    OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| ClockSettingError::Instant(text.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn settings_parse_and_name_what_is_wrong() {
        assert_eq!(ClockSetting::parse("system").unwrap(), ClockSetting::System);
        assert_eq!(
            ClockSetting::parse("fixed:2024-11-25T08:00:00+07:00").unwrap(),
            ClockSetting::Fixed(datetime!(2024-11-25 08:00 +7))
        );
        assert!(matches!(ClockSetting::parse("fixed:tomorrow"), Err(ClockSettingError::Instant(_))));
        assert!(matches!(ClockSetting::parse("sundial"), Err(ClockSettingError::Unknown(_))));
    }

    #[test]
    fn a_file_clock_follows_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clock");
        std::fs::write(&path, "2024-01-02T08:00:00+07:00\n").unwrap();
        let clock = ClockSetting::File(path.clone()).build().unwrap();
        assert_eq!(clock.now(), datetime!(2024-01-02 08:00 +7));
        std::fs::write(&path, "2024-03-04T09:00:00+07:00").unwrap();
        assert_eq!(clock.now(), datetime!(2024-03-04 09:00 +7));
    }

    #[test]
    fn a_test_clock_moves_when_told() {
        let clock = TestClock::at(datetime!(2024-01-01 00:00 UTC));
        clock.advance(time::Duration::days(2));
        assert_eq!(clock.now(), datetime!(2024-01-03 00:00 UTC));
    }
}
