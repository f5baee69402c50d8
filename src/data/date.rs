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
    // Three runs of digits separated by one '-' or '/' each; no allocation (this runs once
    // per row of every input file).
    let mut parts = [(0u32, 0usize); 3];
    let mut n = 0;
    for piece in t.split(['-', '/']) {
        if n == 3 || piece.is_empty() || piece.len() > 4 || !piece.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parts[n] = (piece.parse().ok()?, piece.len());
        n += 1;
    }
    let slash = t.contains('/');
    if n != 3 {
        return None;
    }
    let (y, m, d) = if parts[0].1 == 4 {
        (parts[0].0, parts[1].0, parts[2].0)
    } else if parts[2].1 == 4 && slash {
        (parts[2].0, parts[0].0, parts[1].0)
    } else {
        return None;
    };
    NaiveDate::from_ymd_opt(y as i32, m, d)
}

/// Why `text` is not a date, for an exception: a two-digit year (Excel's default display
/// of dates, `8/13/25`) gets the fix spelled out; anything else the accepted forms.
///
/// ```
/// use obc::data::date::date_problem;
/// assert!(date_problem("8/13/25").starts_with("two-digit year in 8/13/25: write the year in full (8/13/2025)"));
/// ```
pub fn date_problem(text: &str) -> String {
    let t = text.trim();
    let day = t.split(['T', ' ']).next().unwrap_or(t);
    let parts: Vec<&str> = day.split(['-', '/']).collect();
    let digits = |p: &str| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() == 3 && parts.iter().all(|p| digits(p)) {
        let full = format!("{}/{}/20{}", parts[0], parts[1], parts[2]);
        return format!(
            "two-digit year in {t}: write the year in full ({full}), e.g. format the column as yyyy-mm-dd in Excel \
             before saving"
        );
    }
    "not a date (YYYY-MM-DD or M/D/YYYY)".to_string()
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
    fn two_digit_years_say_how_to_fix_them() {
        let r = date_problem("8/13/25");
        assert!(
            r.contains("two-digit year in 8/13/25") && r.contains("(8/13/2025)") && r.contains("yyyy-mm-dd"),
            "{r}"
        );
        assert!(date_problem("12/1/07 00:00").contains("(12/1/2007)"));
        for other in ["N/A", "2025-13-40x", "14.09.2025", ""] {
            assert_eq!(date_problem(other), "not a date (YYYY-MM-DD or M/D/YYYY)", "{other:?}");
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
