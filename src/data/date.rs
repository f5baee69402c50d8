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
    iso_date(text.trim().as_bytes()).unwrap_or_else(|| any_date(text))
}

/// The common case of [`parse_date`] read straight from the bytes: `YYYY-MM-DD`, alone or
/// before a time (`T` or a space). `None`: another form, for [`any_date`] to read;
/// `Some(None)`: this form, but no such day.
fn iso_date(t: &[u8]) -> Option<Option<NaiveDate>> {
    let date = t.get(..10)?;
    if t.len() > 10 && !matches!(t[10], b'T' | b' ') {
        return None;
    }
    let digit = |i: usize| date[i].is_ascii_digit().then(|| u32::from(date[i] - b'0'));
    let number = |from: usize, to: usize| (from..to).try_fold(0, |n, i| Some(n * 10 + digit(i)?));
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let (y, m, d) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    Some(NaiveDate::from_ymd_opt(y as i32, m, d))
}

/// [`parse_date`] for every form it takes.
fn any_date(text: &str) -> Option<NaiveDate> {
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

    /// The `YYYY-MM-DD` shortcut reads every text as the general reader does: dates near
    /// the form with one character changed, moved or cut, each day of four years (leap days
    /// and impossible days included), and a time after the date.
    #[test]
    fn the_iso_shortcut_agrees_with_the_general_reader() {
        use rand::{RngExt, SeedableRng};
        let mut texts: Vec<String> = Vec::new();
        for y in [1999, 2000, 2024, 2025] {
            for m in 0..=13 {
                for d in 0..=32 {
                    texts.push(format!("{y:04}-{m:02}-{d:02}"));
                    texts.push(format!("{y:04}-{m:02}-{d:02}T08:30"));
                    texts.push(format!("{y:04}-{m:02}-{d:02} 00:00:00"));
                }
            }
        }
        let alphabet = b"0123456789-/T :x";
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for _ in 0..200_000 {
            let mut t = b"2025-09-14 00:00".to_vec();
            t.truncate(rng.random_range(0..=t.len()));
            for _ in 0..rng.random_range(0..3) {
                if !t.is_empty() {
                    let i = rng.random_range(0..t.len());
                    t[i] = alphabet[rng.random_range(0..alphabet.len())];
                }
            }
            texts.push(String::from_utf8(t).unwrap());
        }
        for t in &texts {
            assert_eq!(parse_date(t), any_date(t), "{t:?}");
        }
        assert!(texts.iter().filter(|t| parse_date(t).is_some()).count() > 10_000);
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
