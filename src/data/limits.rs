//! The plausibility gate of a run (README "Limits"): a settlement whose inputs are mostly
//! rejected is not a settlement. For each input file the share of rows excepted as
//! *invalid* (bad data) is compared with the contract's `max_invalid_share`; rows that the
//! contract's own rules leave out (other subjects, windows, retests not chosen) are of kind
//! `excluded` and do not count. Over the limit, the run stops with a summary of the most
//! common reasons, the first example row of each, and what to do.

use crate::stats::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::ledger::{ExceptionKind, Ledger};

/// How many reasons the summary names per file.
const TOP_REASONS: usize = 5;

/// One file's invalid rows against the limit.
#[derive(Clone, Debug, PartialEq)]
pub struct FileShare {
    pub file: String,
    pub rows_read: u64,
    pub invalid_rows: u64,
    /// Invalid rows / rows read (0 for an empty file).
    pub share: f64,
    /// Most common reasons first: (rows, column, reason of the first example, its row, its value).
    pub reasons: Vec<ReasonCount>,
}

/// A reason with its count and first example.
#[derive(Clone, Debug, PartialEq)]
pub struct ReasonCount {
    pub rows: u64,
    pub column: String,
    pub reason: String,
    pub first_row: u64,
    pub value: String,
}

/// The files over the limit (the error of [`check`]).
#[derive(Clone, Debug, PartialEq)]
pub struct InvalidReport {
    pub max_share: f64,
    pub over: Vec<FileShare>,
}

/// Digit runs replaced by `#`, so that reasons differing only in a row number or a count
/// group together ("exact duplicate of row 17" and "... of row 23").
fn reason_key(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut in_digits = false;
    for c in reason.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('#');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

/// Invalid rows of one ledger, with its reasons by count (ties: first seen first).
pub fn file_share(ledger: &Ledger) -> FileShare {
    let invalid: Vec<_> = ledger.exceptions().iter().filter(|e| e.kind == ExceptionKind::Invalid).collect();
    let rows: BTreeSet<u64> = invalid.iter().map(|e| e.row).collect();
    let mut by: BTreeMap<(String, String), (usize, ReasonCount)> = BTreeMap::new();
    let mut counted: BTreeSet<(u64, String, String)> = BTreeSet::new();
    for (order, e) in invalid.iter().enumerate() {
        let key = (e.column.clone(), reason_key(&e.reason));
        if !counted.insert((e.row, key.0.clone(), key.1.clone())) {
            continue;
        }
        let entry = by.entry(key).or_insert_with(|| {
            (
                order,
                ReasonCount {
                    rows: 0,
                    column: e.column.clone(),
                    reason: e.reason.clone(),
                    first_row: e.row,
                    value: e.value.clone(),
                },
            )
        });
        entry.1.rows += 1;
        if e.row < entry.1.first_row {
            entry.1.first_row = e.row;
            entry.1.value = e.value.clone();
            entry.1.reason = e.reason.clone();
        }
    }
    let mut reasons: Vec<(usize, ReasonCount)> = by.into_values().collect();
    reasons.sort_by(|a, b| b.1.rows.cmp(&a.1.rows).then(a.0.cmp(&b.0)));
    let rows_read = ledger.len() as u64;
    let invalid_rows = rows.len() as u64;
    FileShare {
        file: ledger.file.clone(),
        rows_read,
        invalid_rows,
        share: if rows_read == 0 { 0.0 } else { invalid_rows as f64 / rows_read as f64 },
        reasons: reasons.into_iter().map(|(_, r)| r).collect(),
    }
}

/// Checks every ledger against `max_share`. A file with no data rows at all is over any
/// limit: nothing can be settled on it; except the assignments file, which only overrides
/// the roster (without rows it overrides nothing).
pub fn check<'a>(
    ledgers: impl IntoIterator<Item = &'a Ledger>,
    max_share: f64,
) -> Result<Vec<FileShare>, InvalidReport> {
    let (mut shares, mut empty) = (Vec::new(), Vec::new());
    for l in ledgers {
        shares.push(file_share(l));
        empty.push(l.is_empty() && l.role != super::schema::Role::Assignments);
    }
    let over: Vec<FileShare> =
        shares.iter().zip(empty).filter(|(s, empty)| *empty || s.share > max_share).map(|(s, _)| s.clone()).collect();
    if over.is_empty() { Ok(shares) } else { Err(InvalidReport { max_share, over }) }
}

/// The gate as a run applies it: `Ok` with no warnings when every file is within the limit;
/// over it, an error, unless `allow_partial`, when each file over the limit becomes a warning
/// (the run goes on knowingly, and the manifest records it).
pub fn gate<'a>(
    ledgers: impl IntoIterator<Item = &'a Ledger>,
    max_share: f64,
    allow_partial: bool,
) -> Result<Vec<Warning>, crate::error::DataError> {
    match check(ledgers, max_share) {
        Ok(_) => Ok(Vec::new()),
        Err(report) if allow_partial && report.over.iter().all(|s| s.invalid_rows < s.rows_read) => Ok(report
            .over
            .iter()
            .map(|s| {
                Warning::new(
                    WarningCode::Partial,
                    format!(
                        "--allow-partial: {} has {} of {} rows invalid ({:.1}%), over limits.max_invalid_share = {}; \
                     settled on the valid rows",
                        s.file,
                        s.invalid_rows,
                        s.rows_read,
                        100.0 * s.share,
                        max_share
                    ),
                )
            })
            .collect()),
        Err(report) => Err(crate::error::DataError::TooManyInvalid(Box::new(report))),
    }
}

fn shorten(s: &str, n: usize) -> String {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if clean.chars().count() <= n { clean } else { format!("{}...", clean.chars().take(n).collect::<String>()) }
}

impl fmt::Display for InvalidReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "too many input rows are invalid to settle on the rest (limits.max_invalid_share = {}):",
            self.max_share
        )?;
        for s in &self.over {
            if s.rows_read == 0 {
                writeln!(f, "  {}: no data rows (only a header, or an empty file)", s.file)?;
                continue;
            }
            writeln!(
                f,
                "  {}: {} of {} rows invalid ({:.1}%); most common reasons:",
                s.file,
                s.invalid_rows,
                s.rows_read,
                100.0 * s.share
            )?;
            for r in s.reasons.iter().take(TOP_REASONS) {
                let column = if r.column.is_empty() { String::new() } else { format!("column {:?}, ", r.column) };
                writeln!(
                    f,
                    "    {} rows: {} (first: row {}, {column}value {:?})",
                    r.rows,
                    shorten(&r.reason, 200),
                    r.first_row,
                    shorten(&r.value, 40)
                )?;
            }
            if s.reasons.len() > TOP_REASONS {
                writeln!(f, "    ... and {} other reasons", s.reasons.len() - TOP_REASONS)?;
            }
        }
        if self.over.iter().any(|s| s.invalid_rows == s.rows_read) {
            writeln!(f, "a file with no valid rows cannot be settled, even with --allow-partial")?;
        }
        write!(
            f,
            "fix the export (`obc validate CONTRACT --out DIR` lists every row in exceptions.csv), raise \
             [limits] max_invalid_share in the contract, or rerun with --allow-partial to settle on the valid \
             rows knowingly (recorded in the manifest)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::{RawRow, RawTable};
    use crate::data::schema::Role;

    fn ledger(n: usize) -> Ledger {
        let rows = (0..n).map(|i| RawRow { row: i as u64 + 2, fields: vec![], defect: None }).collect();
        let t = RawTable {
            file: "roster.csv".into(),
            path: std::path::PathBuf::new(),
            sha256: String::new(),
            headers: vec![],
            rows,
            blank_lines: 0,
        };
        Ledger::new(Role::Roster, &t)
    }

    #[test]
    fn only_invalid_rows_count_and_each_row_once() {
        let mut l = ledger(100);
        for i in 0..6 {
            l.except(
                i,
                "enroll_date",
                "8/13/25",
                crate::data::ReasonCode::NotADate,
                format!("two-digit year in row {i}"),
            );
            l.except(i, "exit_date", "x", crate::data::ReasonCode::NotADate, "not a date");
        }
        for i in 10..60 {
            l.exclude(i, "window", "winter", crate::data::ReasonCode::WindowNotPreOrPost, "not in the pre window");
        }
        let s = file_share(&l);
        assert_eq!((s.invalid_rows, s.rows_read), (6, 100));
        assert_eq!(s.reasons.len(), 2);
        assert_eq!((s.reasons[0].rows, s.reasons[0].first_row), (6, 2));
        assert!(check([&l], 0.05).is_err());
        assert!(check([&l], 0.06).is_ok());
        let msg = check([&l], 0.05).unwrap_err().to_string();
        assert!(msg.contains("6 of 100 rows invalid (6.0%)") && msg.contains("--allow-partial"), "{msg}");
    }

    #[test]
    fn a_file_without_data_rows_is_over_any_limit() {
        assert!(check([&ledger(0)], 1.0).is_err());
    }
}
