//! School calendar used by the simulator: instructional days, holidays and
//! the arithmetic on them (next school day, adding school days, counting
//! instructional weeks between two dates).
//!
//! A school year starting in calendar year `Y` runs from the first Wednesday
//! on or after 11 August `Y` to the first Friday on or after 29 May `Y+1`.
//! School days are Monday–Friday inside that span, minus these holidays:
//! Labor Day (first Monday of September), Thanksgiving week (Monday–Friday of
//! the week with the fourth Thursday of November), winter break (22 December
//! – 2 January), Martin Luther King Jr. Day (third Monday of January),
//! Presidents' Day (third Monday of February), spring break (Monday–Friday
//! starting the third Monday of March) and Memorial Day (last Monday of May).

use chrono::{Datelike, Days, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// A named closure of the schools (inclusive range of dates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// Human-readable name, e.g. "Thanksgiving break".
    pub name: String,
    /// First day of the closure (ISO date).
    pub from: String,
    /// Last day of the closure (ISO date).
    pub to: String,
}

/// Instructional calendar of one school year (shared by all schools of the
/// simulated district).
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    /// Calendar year in which the school year starts (2025 for "2025-26").
    pub start_year: i32,
    /// 1 July of `start_year`; index 0 of the day tables.
    origin: NaiveDate,
    /// `school[i]`: is `origin + i` a school day?
    school: Vec<bool>,
    /// `prefix[i]`: number of school days in `[origin, origin + i)`.
    prefix: Vec<u32>,
    /// First day of school.
    pub first_day: NaiveDate,
    /// Last day of school.
    pub last_day: NaiveDate,
    /// Holidays / breaks with their inclusive date ranges.
    pub holidays: Vec<(String, NaiveDate, NaiveDate)>,
}

pub(crate) fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid calendar date")
}

pub(crate) fn add_days(d: NaiveDate, n: u64) -> NaiveDate {
    d + Days::new(n)
}

fn sub_days(d: NaiveDate, n: u64) -> NaiveDate {
    d - Days::new(n)
}

fn nth_weekday(y: i32, m: u32, wd: Weekday, n: u8) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(y, m, wd, n).expect("nth weekday exists")
}

fn last_weekday(y: i32, m: u32, wd: Weekday) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(y, m, wd, 5).unwrap_or_else(|| nth_weekday(y, m, wd, 4))
}

fn on_or_after(mut d: NaiveDate, wd: Weekday) -> NaiveDate {
    while d.weekday() != wd {
        d = add_days(d, 1);
    }
    d
}

/// Monday = 0 … Sunday = 6.
pub(crate) fn weekday_index(d: NaiveDate) -> usize {
    d.weekday().num_days_from_monday() as usize
}

impl Calendar {
    /// Builds the calendar of the school year starting in `start_year`.
    pub fn new(start_year: i32) -> Calendar {
        let y = start_year;
        let origin = ymd(y, 7, 1);
        let end = ymd(y + 1, 8, 31);
        let n = (end.signed_duration_since(origin).num_days() + 1) as usize;
        let first_day = on_or_after(ymd(y, 8, 11), Weekday::Wed);
        let last_day = on_or_after(ymd(y + 1, 5, 29), Weekday::Fri);
        let thanksgiving = nth_weekday(y, 11, Weekday::Thu, 4);
        let spring_break = nth_weekday(y + 1, 3, Weekday::Mon, 3);
        let labor = nth_weekday(y, 9, Weekday::Mon, 1);
        let mlk = nth_weekday(y + 1, 1, Weekday::Mon, 3);
        let presidents = nth_weekday(y + 1, 2, Weekday::Mon, 3);
        let memorial = last_weekday(y + 1, 5, Weekday::Mon);
        let holidays = vec![
            ("Labor Day".to_string(), labor, labor),
            ("Thanksgiving break".to_string(), sub_days(thanksgiving, 3), add_days(thanksgiving, 1)),
            ("Winter break".to_string(), ymd(y, 12, 22), ymd(y + 1, 1, 2)),
            ("Martin Luther King Jr. Day".to_string(), mlk, mlk),
            ("Presidents' Day".to_string(), presidents, presidents),
            ("Spring break".to_string(), spring_break, add_days(spring_break, 4)),
            ("Memorial Day".to_string(), memorial, memorial),
        ];
        let mut school = vec![false; n];
        let mut prefix = vec![0u32; n + 1];
        for i in 0..n {
            let d = add_days(origin, i as u64);
            let weekday = weekday_index(d) < 5;
            let in_year = d >= first_day && d <= last_day;
            let holiday = holidays.iter().any(|(_, a, b)| d >= *a && d <= *b);
            school[i] = weekday && in_year && !holiday;
            prefix[i + 1] = prefix[i] + u32::from(school[i]);
        }
        Calendar { start_year, origin, school, prefix, first_day, last_day, holidays }
    }

    /// Index of `d` in the day tables, clamped to the table range.
    fn idx(&self, d: NaiveDate) -> usize {
        let i = d.signed_duration_since(self.origin).num_days();
        i.clamp(0, self.school.len() as i64) as usize
    }

    /// Is `d` an instructional day?
    pub fn is_school_day(&self, d: NaiveDate) -> bool {
        let i = d.signed_duration_since(self.origin).num_days();
        i >= 0 && (i as usize) < self.school.len() && self.school[i as usize]
    }

    /// First school day on or after `d` (the last day of school if none).
    pub fn next_school_day(&self, d: NaiveDate) -> NaiveDate {
        let mut i = self.idx(d);
        while i < self.school.len() && !self.school[i] {
            i += 1;
        }
        if i >= self.school.len() {
            return self.last_day;
        }
        add_days(self.origin, i as u64)
    }

    /// The `k`-th school day after `next_school_day(d)` (k = 0 gives that day).
    pub fn add_school_days(&self, d: NaiveDate, k: usize) -> NaiveDate {
        let mut d = self.next_school_day(d);
        for _ in 0..k {
            let nd = self.next_school_day(add_days(d, 1));
            if nd <= d {
                break;
            }
            d = nd;
        }
        d
    }

    /// Number of school days in `[a, b)`.
    pub fn school_days_between(&self, a: NaiveDate, b: NaiveDate) -> u32 {
        let (ia, ib) = (self.idx(a), self.idx(b));
        if ib <= ia { 0 } else { self.prefix[ib] - self.prefix[ia] }
    }

    /// Instructional weeks between `a` and `b`: school days in `[a, b)` / 5.
    pub fn weeks_between(&self, a: NaiveDate, b: NaiveDate) -> f64 {
        f64::from(self.school_days_between(a, b)) / 5.0
    }

    /// Holidays in serialisable form.
    pub fn holiday_list(&self) -> Vec<Holiday> {
        self.holidays
            .iter()
            .map(|(n, a, b)| Holiday { name: n.clone(), from: a.to_string(), to: b.to_string() })
            .collect()
    }
}

/// Accepted date range of a testing window in the school year starting in
/// `start_year`: fall 1 Aug–31 Oct, winter 1 Dec–end of Feb, spring 1 Apr–30
/// Jun. Clean simulated tests always fall inside; messy out-of-window tests
/// never do. `None` for an unknown window name.
pub fn window_bounds(window: &str, start_year: i32) -> Option<(NaiveDate, NaiveDate)> {
    let y = start_year;
    match window {
        "fall" => Some((ymd(y, 8, 1), ymd(y, 10, 31))),
        "winter" => Some((ymd(y, 12, 1), ymd(y + 1, 3, 1).pred_opt()?)),
        "spring" => Some((ymd(y + 1, 4, 1), ymd(y + 1, 6, 30))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_2025_26() {
        let c = Calendar::new(2025);
        assert_eq!(c.first_day, ymd(2025, 8, 13));
        assert_eq!(c.last_day, ymd(2026, 5, 29));
        assert!(!c.is_school_day(ymd(2025, 9, 1))); // Labor Day
        assert!(c.is_school_day(ymd(2025, 9, 2)));
        assert!(!c.is_school_day(ymd(2025, 11, 26))); // Thanksgiving week
        assert!(!c.is_school_day(ymd(2025, 12, 31)));
        assert!(!c.is_school_day(ymd(2025, 9, 6))); // Saturday
        assert_eq!(c.next_school_day(ymd(2025, 9, 6)), ymd(2025, 9, 8));
        assert_eq!(c.add_school_days(ymd(2025, 9, 5), 1), ymd(2025, 9, 8));
        // one ordinary week = 5 school days
        assert_eq!(c.school_days_between(ymd(2025, 9, 8), ymd(2025, 9, 15)), 5);
        let total = c.school_days_between(c.first_day, add_days(c.last_day, 1));
        assert!((170..=185).contains(&total), "{total} school days");
    }
}
