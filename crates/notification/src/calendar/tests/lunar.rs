//! The Vietnamese lunar calendar, to check the lunar holidays of the shipped calendar (lunar New Year, 10/3).
//!
//! Hồ Ngọc Đức's algorithm ("Thuật toán tính âm lịch"): new moons and the sun's longitude from the astronomical
//! series of Jean Meeus's "Astronomical Algorithms", evaluated at UTC+07:00, the offset that the Vietnamese
//! calendar has used since 1968. Month 11 is the month that contains the winter solstice; a lunar year with 13
//! months repeats the first month after month 11 that contains no major solar term. Test code only: the service
//! reads holidays from the calendar file and never computes them.

use std::f64::consts::PI;

use time::{Date, Month};

/// The time zone of the Vietnamese lunar calendar, in hours east of UTC.
const TIME_ZONE_HOURS: f64 = 7.0;

/// The Julian day number of the new moon of 1 January 1900, the origin of the lunation count `k`.
const LUNATION_ORIGIN_JULIAN_DAY: f64 = 2_415_021.076_998_695;

/// The mean length of a lunation, in days.
const MEAN_LUNATION_DAYS: f64 = 29.530_588_853;

/// A date of the lunar calendar. `is_leap_month` marks the repeated month of a 13-month year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LunarDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub is_leap_month: bool,
}

/// The solar date of a lunar date, or `None` for a leap month that the year does not have.
pub fn lunar_to_solar(lunar: LunarDate) -> Option<Date> {
    let (month_11_before, month_11_after) = if lunar.month < 11 {
        (lunar_month_11(lunar.year - 1), lunar_month_11(lunar.year))
    } else {
        (lunar_month_11(lunar.year), lunar_month_11(lunar.year + 1))
    };
    let mut months_after_month_11 = (i64::from(lunar.month) + 12 - 11) % 12;
    if month_11_after - month_11_before > 365 {
        let leap_month_offset = leap_month_offset(month_11_before);
        let leap_month = (leap_month_offset - 2).rem_euclid(12);
        if lunar.is_leap_month && i64::from(lunar.month) != leap_month {
            return None;
        }
        if lunar.is_leap_month || months_after_month_11 >= leap_month_offset {
            months_after_month_11 += 1;
        }
    } else if lunar.is_leap_month {
        return None;
    }
    let lunation = floor(0.5 + (month_11_before as f64 - LUNATION_ORIGIN_JULIAN_DAY) / MEAN_LUNATION_DAYS);
    let month_start = new_moon_day(lunation + months_after_month_11);
    Some(date_from_julian_day(month_start + i64::from(lunar.day) - 1))
}

/// The lunar date of a solar date.
pub fn solar_to_lunar(date: Date) -> LunarDate {
    let day_number = julian_day(date);
    let lunation = floor((day_number as f64 - LUNATION_ORIGIN_JULIAN_DAY) / MEAN_LUNATION_DAYS);
    let mut month_start = new_moon_day(lunation + 1);
    if month_start > day_number {
        month_start = new_moon_day(lunation);
    }
    let mut month_11_before = lunar_month_11(date.year());
    let mut month_11_after = month_11_before;
    let mut lunar_year;
    if month_11_before >= month_start {
        lunar_year = date.year();
        month_11_before = lunar_month_11(date.year() - 1);
    } else {
        lunar_year = date.year() + 1;
        month_11_after = lunar_month_11(date.year() + 1);
    }
    let day = day_number - month_start + 1;
    let months_since_month_11 = (month_start - month_11_before) / 29;
    let mut is_leap_month = false;
    let mut month = months_since_month_11 + 11;
    if month_11_after - month_11_before > 365 {
        let leap_month_offset = leap_month_offset(month_11_before);
        if months_since_month_11 >= leap_month_offset {
            month = months_since_month_11 + 10;
            is_leap_month = months_since_month_11 == leap_month_offset;
        }
    }
    if month > 12 {
        month -= 12;
    }
    if month >= 11 && months_since_month_11 < 4 {
        lunar_year -= 1;
    }
    LunarDate {
        year: lunar_year,
        month: u32::try_from(month).expect("a lunar month is 1 to 12"),
        day: u32::try_from(day).expect("a lunar day is 1 to 30"),
        is_leap_month,
    }
}

/// Lunar New Year's Day (mùng 1 Tết) of the lunar year that starts in `year`.
pub fn lunar_new_year(year: i32) -> Date {
    lunar_to_solar(LunarDate { year, month: 1, day: 1, is_leap_month: false }).expect("month 1 is never a leap month")
}

/// Giỗ Tổ Hùng Vương, the 10th day of the 3rd lunar month, of `year`.
pub fn hung_kings_day(year: i32) -> Date {
    lunar_to_solar(LunarDate { year, month: 3, day: 10, is_leap_month: false }).expect("a plain month 3 exists")
}

/// The first day of lunar month 11 of `year`, the month that contains the winter solstice, as a Julian day number.
fn lunar_month_11(year: i32) -> i64 {
    let last_day_of_year = Date::from_calendar_date(year, Month::December, 31).expect("31 December exists");
    let days_since_origin = julian_day(last_day_of_year) - 2_415_021;
    let lunation = floor(days_since_origin as f64 / MEAN_LUNATION_DAYS);
    let new_moon = new_moon_day(lunation);
    if sun_longitude_sector(new_moon) >= 9 {
        new_moon_day(lunation - 1)
    } else {
        new_moon
    }
}

/// How many months after month 11 the leap month comes, in a 13-month year starting at `month_11_start`.
fn leap_month_offset(month_11_start: i64) -> i64 {
    let lunation = floor((month_11_start as f64 - LUNATION_ORIGIN_JULIAN_DAY) / MEAN_LUNATION_DAYS + 0.5);
    let mut offset = 1;
    let mut sector = sun_longitude_sector(new_moon_day(lunation + offset));
    loop {
        let previous_sector = sector;
        offset += 1;
        sector = sun_longitude_sector(new_moon_day(lunation + offset));
        if sector == previous_sector || offset >= 14 {
            break;
        }
    }
    offset - 1
}

/// The civil day (Julian day number at UTC+07:00) of the `lunation`-th new moon after 1 January 1900.
fn new_moon_day(lunation: i64) -> i64 {
    floor(new_moon_julian_day(lunation as f64) + 0.5 + TIME_ZONE_HOURS / 24.0)
}

/// Which 30° sector (0 to 11) of the ecliptic the sun is in at the start of a civil day at UTC+07:00.
fn sun_longitude_sector(day_number: i64) -> i64 {
    floor(sun_longitude(day_number as f64 - 0.5 - TIME_ZONE_HOURS / 24.0) / PI * 6.0)
}

/// The Julian day (UTC) of the `k`-th new moon after 1 January 1900 (Meeus, chapter 49, shortened series).
fn new_moon_julian_day(k: f64) -> f64 {
    let t = k / 1236.85;
    let t2 = t * t;
    let t3 = t2 * t;
    let degree = PI / 180.0;
    let mut julian_day = 2_415_020.759_33 + 29.530_588_68 * k + 0.000_117_8 * t2 - 0.000_000_155 * t3;
    julian_day += 0.000_33 * ((166.56 + 132.87 * t - 0.009_173 * t2) * degree).sin();
    let sun_anomaly = 359.2242 + 29.105_356_08 * k - 0.000_033_3 * t2 - 0.000_003_47 * t3;
    let moon_anomaly = 306.0253 + 385.816_918_06 * k + 0.010_730_6 * t2 + 0.000_012_36 * t3;
    let moon_latitude = 21.2964 + 390.670_506_46 * k - 0.001_652_8 * t2 - 0.000_002_39 * t3;
    let sin = |angle_in_degrees: f64| (angle_in_degrees * degree).sin();
    let mut correction = (0.1734 - 0.000_393 * t) * sin(sun_anomaly) + 0.0021 * sin(2.0 * sun_anomaly);
    correction = correction - 0.4068 * sin(moon_anomaly) + 0.0161 * sin(2.0 * moon_anomaly);
    correction -= 0.0004 * sin(3.0 * moon_anomaly);
    correction = correction + 0.0104 * sin(2.0 * moon_latitude) - 0.0051 * sin(sun_anomaly + moon_anomaly);
    correction =
        correction - 0.0074 * sin(sun_anomaly - moon_anomaly) + 0.0004 * sin(2.0 * moon_latitude + sun_anomaly);
    correction =
        correction - 0.0004 * sin(2.0 * moon_latitude - sun_anomaly) - 0.0006 * sin(2.0 * moon_latitude + moon_anomaly);
    correction =
        correction + 0.0010 * sin(2.0 * moon_latitude - moon_anomaly) + 0.0005 * sin(2.0 * moon_anomaly + sun_anomaly);
    let delta_t = if t < -11.0 {
        0.001 + 0.000_839 * t + 0.000_226_1 * t2 - 0.000_008_45 * t3 - 0.000_000_081 * t * t3
    } else {
        -0.000_278 + 0.000_265 * t + 0.000_262 * t2
    };
    julian_day + correction - delta_t
}

/// The sun's apparent longitude in radians, 0 to 2π, at a Julian day (Meeus, chapter 25, low accuracy).
fn sun_longitude(julian_day: f64) -> f64 {
    let t = (julian_day - 2_451_545.0) / 36_525.0;
    let t2 = t * t;
    let degree = PI / 180.0;
    let mean_anomaly = 357.529_10 + 35_999.050_30 * t - 0.000_155_9 * t2 - 0.000_000_48 * t * t2;
    let mean_longitude = 280.466_45 + 36_000.769_83 * t + 0.000_303_2 * t2;
    let equation_of_centre = (1.914_600 - 0.004_817 * t - 0.000_014 * t2) * (degree * mean_anomaly).sin()
        + (0.019_993 - 0.000_101 * t) * (degree * 2.0 * mean_anomaly).sin()
        + 0.000_290 * (degree * 3.0 * mean_anomaly).sin();
    let longitude = (mean_longitude + equation_of_centre) * degree;
    longitude - 2.0 * PI * (longitude / (2.0 * PI)).floor()
}

fn julian_day(date: Date) -> i64 {
    i64::from(date.to_julian_day())
}

fn date_from_julian_day(day_number: i64) -> Date {
    let day_number = i32::try_from(day_number).expect("the lunar dates checked are near the present");
    Date::from_julian_day(day_number).expect("the lunar dates checked are near the present")
}

fn floor(value: f64) -> i64 {
    value.floor() as i64
}
