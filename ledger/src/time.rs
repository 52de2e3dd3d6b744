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

impl Timestamp {
    /// Append the text form (`YYYY-MM-DDTHH:MM:SS.sssZ`, [`fmt::Display`]'s) to `out`: the one
    /// writer of every timestamp in canonical bytes (each record's `created`, each entry's `time`).
    pub(crate) fn write_text(self, out: &mut Vec<u8>) {
        match self.text_in_common_years() {
            Some(text) => out.extend_from_slice(&text),
            None => out.extend_from_slice(self.to_string().as_bytes()),
        }
    }

    /// The text form without the formatting machinery, for years 1000–9998 (every timestamp a
    /// ledger writes; the years the one-pass line reader reads, `record/envelope.rs`); `None` for
    /// other years, which [`fmt::Display`] spells through `jiff` (whose range ends within 9999).
    /// Each append formats two timestamps three times over (signing, chaining, the stored
    /// line), so this is on every write path.
    fn text_in_common_years(self) -> Option<[u8; 24]> {
        const DAY_MILLIS: i64 = 86_400_000;
        let days = self.0.div_euclid(DAY_MILLIS);
        let of_day = self.0.rem_euclid(DAY_MILLIS);
        let (year, month, day) = civil_from_days(days);
        if !(1000..=9998).contains(&year) {
            return None;
        }
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut number: i64| {
            for place in (at..at + width).rev() {
                text[place] = b'0' + (number % 10) as u8;
                number /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, of_day / 3_600_000);
        put(14, 2, of_day / 60_000 % 60);
        put(17, 2, of_day / 1000 % 60);
        put(20, 3, of_day % 1000);
        Some(text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.text_in_common_years() {
            // The text is ASCII digits and separators.
            return f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?);
        }
        let zoned = self.to_jiff().to_zoned_datetime(jiff::tz::TimeZone::UTC);
        write!(f, "{}", zoned.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"))
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date (year, month, day) `days` days after 1970-01-01 (H. Hinnant's
/// `civil_from_days`, the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
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

    /// The text form without `jiff` is `jiff`'s, at the edges of days, months, years and the
    /// years it covers, and at every step of a long walk through them.
    #[test]
    fn timestamps_are_written_as_jiff_spells_them() {
        let reference = |t: Timestamp| {
            let zoned = t.to_jiff().to_zoned_datetime(jiff::tz::TimeZone::UTC);
            zoned.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        };
        let mut instants = vec![0, -1, 1, 86_399_999, 86_400_000, -86_400_000, 951_782_400_000, 4_107_542_399_999];
        // 1000-01-01 and 9998-12-31 (the fast years' edges), one millisecond outside them, and
        // the end of 9999 (past jiff's range: spelled as before).
        instants.extend([-30_610_224_000_000, -30_610_224_000_001, 253_370_764_799_999, 253_370_764_800_000]);
        instants.push(253_402_300_799_999);
        let mut millis = -30_610_224_000_000i64;
        while millis < 253_402_300_799_999 {
            instants.push(millis);
            millis += 3_999_999_937; // about 46 days: every month and day of month, over the years
        }
        for millis in instants {
            let t = Timestamp::from_millis(millis);
            let mut written = Vec::new();
            t.write_text(&mut written);
            assert_eq!(String::from_utf8(written).unwrap(), reference(t), "{millis}");
            assert_eq!(t.to_string(), reference(t), "{millis}");
        }
        for year in [1000, 1600, 1900, 1970, 2000, 2024, 2100, 9998] {
            for month in 1..=12 {
                for day in [1, 28, 29, 30, 31] {
                    let text = format!("{year:04}-{month:02}-{day:02}T23:59:59.999Z");
                    if let Some(t) = Timestamp::parse(&text) {
                        assert_eq!(t.to_string(), text);
                        assert_eq!(days_from_civil(year, month, day), t.as_millis().div_euclid(86_400_000), "{text}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_day_in_china_ends_at_16_utc() {
        let end = Date::parse("2025-12-31").unwrap().end_of_day_china();
        assert_eq!(end.to_string(), "2025-12-31T15:59:59.999Z");
    }
}
