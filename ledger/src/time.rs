//! Timestamps of format v1: RFC 3339 in UTC with exactly three fraction digits
//! (`YYYY-MM-DDTHH:MM:SS.sssZ`), and calendar dates `YYYY-MM-DD`.
//!
//! A [`Timestamp`] is milliseconds since the Unix epoch; its text form is unique, so parsing
//! refuses every other spelling (offsets, missing or extra fraction digits, lowercase `z`).

use std::fmt;

/// An instant, to the millisecond (milliseconds since the Unix epoch, UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The timestamp `millis` milliseconds after the Unix epoch.
    pub fn from_millis(millis: i64) -> Timestamp {
        Timestamp(millis)
    }

    /// Milliseconds after the Unix epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// The current time, truncated to milliseconds.
    pub fn now() -> Timestamp {
        Timestamp(jiff::Timestamp::now().as_millisecond())
    }

    /// Parse the one allowed spelling; `None` for anything else.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        // 2026-01-05T01:00:00.000Z
        if bytes.len() != 24
            || bytes[4] != b'-'
            || bytes[7] != b'-'
            || bytes[10] != b'T'
            || bytes[13] != b':'
            || bytes[16] != b':'
            || bytes[19] != b'.'
            || bytes[23] != b'Z'
        {
            return None;
        }
        let timestamp: jiff::Timestamp = text.parse().ok()?;
        let parsed = Timestamp(timestamp.as_millisecond());
        // Refuses leap seconds, which jiff may fold, and anything not in the one spelling.
        (parsed.to_string() == text).then_some(parsed)
    }

    /// The calendar date (UTC) of this instant.
    pub fn date(self) -> Date {
        let timestamp = jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        Date(timestamp.to_zoned_datetime(jiff::tz::TimeZone::UTC).date())
    }

    /// The calendar date in China (UTC+8) of this instant: the calendar of the commission's
    /// records (event dates, statistics, due dates, `--as-of` days).
    pub fn date_in_china(self) -> Date {
        Timestamp(self.0.saturating_add(8 * 3600 * 1000)).date()
    }

    /// The same instant as a `jiff` timestamp.
    pub fn to_jiff(self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.0).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let zoned = self.to_jiff().to_zoned_datetime(jiff::tz::TimeZone::UTC);
        write!(f, "{}", zoned.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

/// A real calendar date, spelled `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(jiff::civil::Date);

impl Date {
    /// Parse a `YYYY-MM-DD` date, refusing any other form.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        if !bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit()) {
            return None;
        }
        let date: jiff::civil::Date = text.parse().ok()?;
        (date.to_string() == text).then_some(Date(date))
    }

    /// The year.
    pub fn year(self) -> i16 {
        self.0.year()
    }

    /// The month (1-12).
    pub fn month(self) -> i8 {
        self.0.month()
    }

    /// This date `months` months later, the day clamped to the end of a shorter month
    /// (`2026-01-31` + 1 → `2026-02-28`); `None` past year 9999.
    pub fn plus_months(self, months: u32) -> Option<Date> {
        let span = jiff::Span::new().try_months(i64::from(months)).ok()?;
        let date = self.0.checked_add(span).ok()?;
        (date.year() <= 9999).then_some(Date(date))
    }

    /// The last millisecond of this day in China (UTC+8): 23:59:59.999 +08:00.
    pub(crate) fn end_of_day_china(self) -> Timestamp {
        // Every date `parse` accepts (years 0000-9999) has a midnight in the timestamp range.
        let midnight_utc = Timestamp::parse(&format!("{self}T00:00:00.000Z")).map(Timestamp::as_millis).unwrap_or(0);
        Timestamp(midnight_utc + 16 * 3600 * 1000 - 1)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_one_spelling() {
        let t = Timestamp::parse("2026-01-05T01:00:00.000Z").unwrap();
        assert_eq!(t.to_string(), "2026-01-05T01:00:00.000Z");
        assert_eq!(t.as_millis(), 1_767_574_800_000);
        for bad in [
            "2026-01-05T01:00:00Z",
            "2026-01-05T01:00:00.0000Z",
            "2026-01-05T01:00:00.000+00:00",
            "2026-01-05t01:00:00.000Z",
            "2026-02-30T01:00:00.000Z",
            "2026-01-05T01:00:60.000Z",
        ] {
            assert!(Timestamp::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn dates_must_be_real() {
        assert_eq!(Date::parse("2024-02-29").unwrap().to_string(), "2024-02-29");
        for bad in ["2026-02-29", "2026-13-01", "2026-1-01", "26-01-01", "2026-01-01T"] {
            assert!(Date::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Timestamp::parse("2026-01-05T23:59:59.999Z").unwrap().date().to_string(), "2026-01-05");
    }

    #[test]
    fn a_day_in_china_ends_at_16_utc() {
        let end = Date::parse("2025-12-31").unwrap().end_of_day_china();
        assert_eq!(end.to_string(), "2025-12-31T15:59:59.999Z");
    }
}
