//! The two time axes of every read, parsed from query parameters: the business date (`as_of`, `YYYY-MM-DD`) and
//! what the ledger knew (`known_at`): an RFC 3339 instant, or a plain integer, which is a global position
//! ("everything up to and including the event at position N"). `queries`, `history`, `diff` and `appendix` read
//! their parameters through here, so that every endpoint answers the same input the same way.

use http_api::extract::KnownAtParam;
use time::{Date, OffsetDateTime};

use crate::ledger::ViewFilter;
use http_api::error::ApiError;

/// What the ledger knew: at an instant, or up to a global position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownAt {
    Instant(OffsetDateTime),
    Position(u64),
}

/// A point on one axis, for diffs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// A business date: events dated later are left out.
    AsOf(Date),
    /// What the ledger knew: events recorded later are left out.
    Known(KnownAt),
}

/// Which axis a diff moves along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    AsOf,
    Known,
}

/// A `known_at` value: digits only is a global position; anything else must be an RFC 3339 instant.
pub fn parse_known_at(field: &str, value: &str) -> Result<KnownAt, ApiError> {
    Ok(match http_api::extract::known_at_or_position_param(field, value)? {
        KnownAtParam::Instant(instant) => KnownAt::Instant(instant),
        KnownAtParam::Position(position) => KnownAt::Position(position),
    })
}

/// A business date, `YYYY-MM-DD`, within the years plans may cover (2000 to 2100).
pub fn parse_as_of(field: &str, value: &str) -> Result<Date, ApiError> {
    http_api::extract::as_of_param(field, value)
}

/// The filter of a read from its optional `as_of` and `known_at` parameters.
pub fn view_filter(as_of: Option<&str>, known_at: Option<&str>) -> Result<ViewFilter, ApiError> {
    let as_of = as_of.map(|value| parse_as_of("as_of", value)).transpose()?;
    let known_at = known_at.map(|value| parse_known_at("known_at", value)).transpose()?;
    Ok(with_known(ViewFilter { as_of, ..ViewFilter::default() }, known_at))
}

/// The filter narrowed to what was known at a point of the knowledge axis.
pub fn with_known(mut filter: ViewFilter, known_at: Option<KnownAt>) -> ViewFilter {
    match known_at {
        Some(KnownAt::Instant(instant)) => filter.known_at = Some(instant),
        Some(KnownAt::Position(position)) => filter.known_at_position = Some(position),
        None => {}
    }
    filter
}

/// A diff's `from` or `to`: a plain `YYYY-MM-DD` is a business date; an integer or an RFC 3339 instant is a point
/// of knowledge. With `axis` given, the value must be of that axis.
pub fn parse_point(field: &str, value: &str, axis: Option<Axis>) -> Result<Point, ApiError> {
    let looks_like_date = value.len() == 10 && value.as_bytes().get(4) == Some(&b'-') && !value.contains('T');
    match axis {
        Some(Axis::AsOf) => parse_as_of(field, value).map(Point::AsOf),
        Some(Axis::Known) => parse_known_at(field, value).map(Point::Known),
        None if looks_like_date => parse_as_of(field, value).map(Point::AsOf),
        None => parse_known_at(field, value).map(Point::Known).map_err(|_| {
            ApiError::invalid(
                field,
                format!(
                    "\"{value}\" is not a business date (2024-04-15), an RFC 3339 instant \
                     (2024-04-20T17:00:00+07:00) or a global position (1234)"
                ),
            )
        }),
    }
}

/// `axis=as_of` or `axis=known`.
pub fn parse_axis(value: Option<&str>) -> Result<Option<Axis>, ApiError> {
    match value {
        None => Ok(None),
        Some("as_of") => Ok(Some(Axis::AsOf)),
        Some("known" | "known_at") => Ok(Some(Axis::Known)),
        Some(other) => Err(ApiError::invalid("axis", format!("\"{other}\" is not one of as_of, known"))),
    }
}

impl Point {
    pub fn axis(self) -> Axis {
        match self {
            Point::AsOf(_) => Axis::AsOf,
            Point::Known(_) => Axis::Known,
        }
    }

    /// Whether this point comes after `other` on the same axis (instants and positions compare only with their
    /// own kind).
    pub fn is_after(self, other: Point) -> Option<bool> {
        match (self, other) {
            (Point::AsOf(a), Point::AsOf(b)) => Some(a > b),
            (Point::Known(KnownAt::Instant(a)), Point::Known(KnownAt::Instant(b))) => Some(a > b),
            (Point::Known(KnownAt::Position(a)), Point::Known(KnownAt::Position(b))) => Some(a > b),
            _ => None,
        }
    }

    /// The filter of a read at this point, the other axis fixed by `base`.
    pub fn filter(self, base: ViewFilter) -> ViewFilter {
        match self {
            Point::AsOf(date) => ViewFilter { as_of: Some(date), ..base },
            Point::Known(known_at) => {
                with_known(ViewFilter { known_at: None, known_at_position: None, ..base }, Some(known_at))
            }
        }
    }
}

/// Refuses a position beyond the end of the log, which nobody can have known.
pub fn check_position(field: &str, filter: ViewFilter, head_position: u64) -> Result<(), ApiError> {
    match filter.known_at_position {
        Some(position) if position > head_position => Err(ApiError::invalid(
            field,
            format!("position {position} is beyond the end of the log (position {head_position})"),
        )),
        _ => Ok(()),
    }
}
