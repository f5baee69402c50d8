//! Calendar dates as districts export them: ISO `YYYY-MM-DD` (also `YYYY/MM/DD`) and the US
//! form `M/D/YYYY` (one or two digit month and day). A trailing time (`2025-09-14 00:00:00`,
//! `2025-09-14T08:30`) is ignored. Two-digit years are refused: `9/14/25` is ambiguous.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Parses a date in ISO or US form; `None` if the text is not a valid date.
///
/// ```
/// use obc::data::date::parse_date;
/// assert_eq!(parse_date("9/14/2025"), parse_date("2025-09-14"));
/// assert!(parse_date("2025-09-14").is_some());
/// assert_eq!(parse_date("9/14/25"), None); // two-digit years are ambiguous
/// ```
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    // Drop a time part: "2025-09-14 00:00:00" or "2025-09-14T08:30:00".
    let t = t.split(['T', ' ']).next().unwrap_or(t);
    if t.is_empty() {
        return None;
    }
    let parts: Vec<&str> = t.split(['-', '/']).collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let nums: Vec<u32> = parts.iter().map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let (y, m, d) = if parts[0].len() == 4 {
        (nums[0], nums[1], nums[2])
    } else if parts[2].len() == 4 && t.contains('/') {
        (nums[2], nums[0], nums[1])
    } else {
        return None;
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// ISO text of a date.
pub fn iso(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

/// A date in a configuration file, written as a quoted string in ISO or US form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&iso(self.0))
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_date(&text).map(Date).ok_or_else(|| {
            serde::de::Error::custom(format!("{text:?} is not a date (write \"YYYY-MM-DD\" or \"M/D/YYYY\")"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    #[test]
    fn iso_and_us_forms_parse_to_the_same_day() {
        assert_eq!(parse_date("2025-09-14"), ymd(2025, 9, 14));
        assert_eq!(parse_date("2025/09/14"), ymd(2025, 9, 14));
        assert_eq!(parse_date("9/14/2025"), ymd(2025, 9, 14));
        assert_eq!(parse_date("09/04/2025"), ymd(2025, 9, 4));
        assert_eq!(parse_date(" 2025-09-14 00:00:00 "), ymd(2025, 9, 14));
        assert_eq!(parse_date("2025-09-14T08:30:00"), ymd(2025, 9, 14));
    }

    #[test]
    fn impossible_or_ambiguous_dates_are_refused() {
        for bad in ["", "N/A", "2025-02-30", "13/01/2025", "9/14/25", "2025-9", "14.09.2025", "2025-09-14x"] {
            assert_eq!(parse_date(bad), None, "{bad:?} should not parse");
        }
    }

    #[test]
    fn config_dates_deserialize_and_name_the_bad_value() {
        #[derive(Deserialize)]
        struct T {
            d: Date,
        }
        let t: T = toml::from_str("d = \"10/1/2025\"").unwrap();
        assert_eq!(Some(t.d.0), ymd(2025, 10, 1));
        let err = toml::from_str::<T>("d = \"someday\"").err().unwrap().to_string();
        assert!(err.contains("someday"), "{err}");
    }
}
