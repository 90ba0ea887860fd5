//! Time (language §11): instants with the offset they were written in, exact durations, and the
//! calendar keys (`week`, `month`, `fiscal_year`, …) of a date.

use std::fmt;

use jiff::civil::Date;

/// Nanoseconds in a second, a minute, an hour and a day.
const SECOND: i128 = 1_000_000_000;
const MINUTE: i128 = 60 * SECOND;
const HOUR: i128 = 60 * MINUTE;
const DAY: i128 = 24 * HOUR;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z, and the UTC offset it was written in,
/// which decides its calendar date "as written". Aligned to 8 bytes, not the 16 of an `i128`, so
/// that the values the evaluator moves are a third smaller (fields are read by copy).
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(8))]
pub struct Instant {
    /// Nanoseconds since the Unix epoch, in UTC.
    pub nanos: i128,
    /// The offset from UTC it was written with, in seconds (0 for `Z` or no offset).
    pub offset_seconds: i32,
}

impl PartialEq for Instant {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}

impl Eq for Instant {}

impl std::hash::Hash for Instant {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // As equality: the instant, whatever the offset it was written in.
        { self.nanos }.hash(state);
    }
}

impl PartialOrd for Instant {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Instant {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        { self.nanos }.cmp(&{ other.nanos })
    }
}

/// An exact length of time, in nanoseconds (negative when the end comes first); aligned to 8
/// bytes, as [`Instant`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(C, packed(8))]
pub struct Duration(pub i128);

impl Duration {
    /// One day.
    pub const DAY: i128 = DAY;

    /// `count` of a unit written in a policy (`days`, `week`, `hours`, …).
    pub fn of(count: i128, unit: &str) -> Option<Duration> {
        let per = match unit.trim_end_matches('s') {
            "day" => DAY,
            "week" => 7 * DAY,
            "hour" => HOUR,
            "minute" => MINUTE,
            "second" => SECOND,
            _ => return None,
        };
        count.checked_mul(per).map(Duration)
    }

    /// Whole days, truncated toward zero (`days(DURATION)`).
    pub fn whole_days(self) -> i128 {
        self.0 / DAY
    }

    /// Whether it is a whole number of days.
    pub fn is_whole_days(self) -> bool {
        self.0 % DAY == 0
    }

    /// The sum, if it fits.
    pub fn checked_add(self, other: Duration) -> Option<Duration> {
        self.0.checked_add(other.0).map(Duration)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        // The largest whole unit, singular for one (`1 hour`, `-1 day`).
        let whole = [
            (DAY, "day"),
            (HOUR, "hour"),
            (MINUTE, "minute"),
            (SECOND, "second"),
        ]
        .into_iter()
        .find(|(unit, _)| n % unit == 0);
        if let Some((unit, name)) = whole {
            let count = n / unit;
            let plural = if count.abs() == 1 { "" } else { "s" };
            write!(f, "{count} {name}{plural}")
        } else {
            write!(
                f,
                "{} seconds",
                rust_decimal::Decimal::from_i128_with_scale(n, 9).normalize()
            )
        }
    }
}

/// Days since 1970-01-01 of a civil date (the proleptic Gregorian calendar).
pub fn days_from_date(date: Date) -> i64 {
    let (y, m, d) = (
        i64::from(date.year()),
        i64::from(date.month()),
        i64::from(date.day()),
    );
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let month_index = (m + 9) % 12; // March is 0
    let day_of_year = (153 * month_index + 2) / 5 + d - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date `days` after 1970-01-01, if it falls in the years 0000 to 9999.
pub fn date_from_days(days: i64) -> Option<Date> {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // The calendar of the language: four-digit years, 0000 to 9999 (as dates are read).
    if !(0..=9999).contains(&year) {
        return None;
    }
    Date::new(
        i16::try_from(year).ok()?,
        i8::try_from(month).ok()?,
        i8::try_from(day).ok()?,
    )
    .ok()
}

impl Instant {
    /// Midnight UTC at the start of `date`: how a date meets a date-time.
    pub fn at_midnight(date: Date) -> Instant {
        Instant {
            nanos: i128::from(days_from_date(date)) * DAY,
            offset_seconds: 0,
        }
    }

    /// Its calendar date in the offset it was written with.
    pub fn date(self) -> Option<Date> {
        let local = self.nanos + i128::from(self.offset_seconds) * SECOND;
        date_from_days(i64::try_from(local.div_euclid(DAY)).ok()?)
    }

    /// The instant `by` later (or earlier, for a negative duration), written in the same offset;
    /// `None` past the calendar's range (no date to write it with), as date arithmetic is.
    pub fn checked_add(self, by: Duration) -> Option<Instant> {
        let moved = Instant {
            nanos: self.nanos.checked_add(by.0)?,
            offset_seconds: self.offset_seconds,
        };
        moved.date().map(|_| moved)
    }

    /// The exact duration from `earlier` to `self`.
    pub fn since(self, earlier: Instant) -> Duration {
        Duration(self.nanos - earlier.nanos)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.nanos + i128::from(self.offset_seconds) * SECOND;
        let date = i64::try_from(local.div_euclid(DAY))
            .ok()
            .and_then(date_from_days);
        let of_day = local.rem_euclid(DAY);
        let (h, m, s, frac) = (
            of_day / HOUR,
            of_day % HOUR / MINUTE,
            of_day % MINUTE / SECOND,
            of_day % SECOND,
        );
        match date {
            Some(date) => write!(f, "{date}T{h:02}:{m:02}:{s:02}")?,
            None => write!(f, "(a date out of range)")?,
        }
        if frac != 0 {
            let digits = format!("{frac:09}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        match self.offset_seconds {
            0 => f.write_str("Z"),
            o => {
                let sign = if o < 0 { '-' } else { '+' };
                let o = o.abs();
                write!(f, "{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
            }
        }
    }
}

/// A date-time in a data string or a policy: `YYYY-MM-DD`, then `T` or a space (only `T` in a
/// policy), `HH:MM[:SS[.f…]]` and an optional `Z` or `±HH:MM`; without an offset it is UTC.
/// `None` when `text` is not one (a date alone is not a date-time).
pub fn parse_instant(text: &str) -> Option<Instant> {
    let date = crate::value::parse_data_date(text.get(..10)?)?;
    let rest = text.as_bytes().get(10..)?;
    let (sep, rest) = rest.split_first()?;
    if *sep != b'T' && *sep != b' ' {
        return None;
    }
    let two = |s: &[u8], at: usize| -> Option<i128> {
        let (a, b) = (s.get(at)?, s.get(at + 1)?);
        (a.is_ascii_digit() && b.is_ascii_digit()).then(|| i128::from((a - b'0') * 10 + (b - b'0')))
    };
    let hour = two(rest, 0)?;
    let minute = two(rest, 3).filter(|_| rest.get(2) == Some(&b':'))?;
    let mut at = 5;
    let mut second = 0;
    let mut frac = 0;
    if rest.get(at) == Some(&b':') {
        second = two(rest, at + 1)?;
        at += 3;
        if rest.get(at) == Some(&b'.') {
            let digits: Vec<u8> = rest
                .get(at + 1..)?
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .copied()
                .collect();
            if digits.is_empty() {
                return None;
            }
            for i in 0..9 {
                frac = frac * 10 + digits.get(i).map_or(0, |d| i128::from(d - b'0'));
            }
            at += 1 + digits.len();
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    // A leap second (`23:59:60`) is the last instant of its minute, not the next day's first:
    // its calendar date stays the one written.
    if second == 60 {
        second = 59;
        frac = 999_999_999;
    }
    let offset_seconds = match rest.get(at..)? {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), tail @ ..] if tail.len() == 5 && tail.get(2) == Some(&b':') => {
            let (h, m) = (two(tail, 0)?, two(tail, 3)?);
            if h > 23 || m > 59 {
                return None;
            }
            let seconds = i32::try_from(h * 3600 + m * 60).ok()?;
            if *sign == b'-' { -seconds } else { seconds }
        }
        _ => return None,
    };
    let local = i128::from(days_from_date(date)) * DAY
        + hour * HOUR
        + minute * MINUTE
        + second * SECOND
        + frac;
    Some(Instant {
        nanos: local - i128::from(offset_seconds) * SECOND,
        offset_seconds,
    })
}

/// `fiscal_year(D)`: the U.S. federal fiscal year, which starts on October 1 of the year before.
pub fn fiscal_year(date: Date) -> i16 {
    if date.month() >= 10 {
        date.year() + 1
    } else {
        date.year()
    }
}

/// `month(D)`: `"2018-11"`.
pub fn month_key(date: Date) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

/// `quarter(D)`: `"2018-Q4"`.
pub fn quarter_key(date: Date) -> String {
    format!("{:04}-Q{}", date.year(), (date.month() - 1) / 3 + 1)
}

/// `week(D)`: the ISO week, `"2018-W46"`.
pub fn week_key(date: Date) -> String {
    let week = date.iso_week_date();
    format!("{:04}-W{:02}", week.year(), week.week())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i16, m: i8, d: i8) -> Date {
        Date::new(y, m, d).unwrap()
    }

    #[test]
    fn days_since_the_epoch_round_trip() {
        for (d, days) in [
            (date(1970, 1, 1), 0),
            (date(2000, 3, 1), 11_017),
            (date(1969, 12, 31), -1),
            (date(2020, 2, 29), 18_321),
        ] {
            assert_eq!(days_from_date(d), days);
            assert_eq!(date_from_days(days), Some(d));
        }
    }

    /// Adding past the calendar's last day, in the offset the instant is written with, fails
    /// as date arithmetic does (it gave an instant shown as "(a date out of range)").
    #[test]
    fn adding_past_the_calendar_fails() {
        let last = parse_instant("9999-12-31T23:59:59-14:00").unwrap();
        assert!(last.checked_add(Duration(DAY)).is_none());
        assert!(last.checked_add(Duration(SECOND)).is_none());
        let earlier = last.checked_add(Duration(-DAY)).unwrap();
        assert_eq!(earlier.to_string(), "9999-12-30T23:59:59-14:00");
    }

    #[test]
    fn instants_keep_their_offset_and_compare_in_utc() {
        let late = parse_instant("2020-07-14T20:00:00Z").unwrap();
        let midnight = parse_instant("2020-07-14T00:00:00Z").unwrap();
        assert!(late > midnight);
        let east = parse_instant("2020-07-15T01:00:00+02:00").unwrap();
        assert_eq!(east.date(), Some(date(2020, 7, 15)));
        assert!(east > late, "23:00 UTC is after 20:00 UTC");
        assert_eq!(
            parse_instant("2020-07-14 17:00").unwrap().to_string(),
            "2020-07-14T17:00:00Z"
        );
        assert_eq!(parse_instant("2020-07-14"), None);
        assert_eq!(parse_instant("2020-07-14T25:00"), None);
        assert_eq!(
            parse_instant("2020-07-14T10:00:00.5-05:00")
                .unwrap()
                .to_string(),
            "2020-07-14T10:00:00.5-05:00"
        );
    }

    #[test]
    fn calendar_keys() {
        let d = date(2018, 11, 14);
        assert_eq!(fiscal_year(d), 2019);
        assert_eq!(fiscal_year(date(2018, 9, 30)), 2018);
        assert_eq!(month_key(d), "2018-11");
        assert_eq!(quarter_key(d), "2018-Q4");
        assert_eq!(week_key(d), "2018-W46");
        assert_eq!(week_key(date(2021, 1, 3)), "2020-W53");
    }

    #[test]
    fn durations() {
        assert_eq!(Duration::of(15, "days").unwrap().whole_days(), 15);
        assert_eq!(Duration::of(1, "week").unwrap().whole_days(), 7);
        assert_eq!(Duration::of(36, "hours").unwrap().whole_days(), 1);
        assert_eq!(Duration(-36 * HOUR).whole_days(), -1);
        assert_eq!(Duration::of(2, "days").unwrap().to_string(), "2 days");
    }
}
