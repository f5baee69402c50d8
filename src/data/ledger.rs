//! Row accounting: every input row ends as used or excepted, never silently dropped.
//!
//! A [`Ledger`] follows each row of one input file through validation (`Valid` or
//! `Excepted`) and then preparation (`Used` or `Excepted`). The counts are taken from the
//! row states, and [`Ledger::accounting`] refuses to report while any row is undecided.

use serde::Serialize;

use super::load::RawTable;
use super::schema::Role;

/// Why a row was not used: bad data, or good data the contract's rules leave out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExceptionKind {
    /// The row is wrong or unreadable (fix the export).
    Invalid,
    /// The row is fine but not used (another window, a retest not chosen, out of scope).
    Excluded,
}

impl ExceptionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExceptionKind::Invalid => "invalid",
            ExceptionKind::Excluded => "excluded",
        }
    }
}

/// One row that was not used, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Exception {
    pub file: String,
    pub row: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
    pub kind: ExceptionKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowState {
    Pending,
    Valid,
    Used,
    Excepted,
}

/// The processing stage whose accounting is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// After validation: a row is used if it passed every check.
    Validated,
    /// After the join: a row is used if it is in the analytic file.
    Prepared,
}

/// Rows read, used and excepted for one input file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Accounting {
    pub role: Role,
    pub file: String,
    pub sha256: String,
    pub rows_read: u64,
    pub rows_used: u64,
    pub rows_excepted: u64,
    /// Of the excepted rows, those with bad data (an `invalid` exception); the others are
    /// left out by the contract's rules (`excluded`: another window, a retest not chosen,
    /// another subject). 0 in manifests written before it was counted.
    #[serde(default)]
    pub rows_invalid: u64,
    #[serde(default)]
    pub blank_lines: u64,
}

/// An internal fault: a row neither used nor excepted when the accounting was asked for
/// (every row must be decided; a bug, exit 1).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file} row {row} was neither used nor excepted ({state:?} at {stage:?})")]
pub struct UndecidedRow {
    pub file: String,
    pub row: u64,
    pub state: RowState,
    pub stage: Stage,
}

/// The state of every row of one input file and its exceptions.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub role: Role,
    pub file: String,
    pub sha256: String,
    pub blank_lines: u64,
    rows: Vec<u64>,
    states: Vec<RowState>,
    exceptions: Vec<Exception>,
}

impl Ledger {
    pub fn new(role: Role, table: &RawTable) -> Self {
        Ledger {
            role,
            file: table.file.clone(),
            sha256: table.sha256.clone(),
            blank_lines: table.blank_lines,
            rows: table.rows.iter().map(|r| r.row).collect(),
            states: vec![RowState::Pending; table.rows.len()],
            exceptions: Vec::new(),
        }
    }

    /// A ledger for a file read as a stream: rows are added with [`Ledger::push_row`] as
    /// they are read, the checksum and blank lines with [`Ledger::set_source`] at the end.
    pub fn streaming(role: Role, file: &str) -> Self {
        Ledger {
            role,
            file: file.into(),
            sha256: String::new(),
            blank_lines: 0,
            rows: Vec::new(),
            states: Vec::new(),
            exceptions: Vec::new(),
        }
    }

    /// Adds a row (spreadsheet row number `row`), pending; returns its index.
    pub fn push_row(&mut self, row: u64) -> usize {
        self.rows.push(row);
        self.states.push(RowState::Pending);
        self.rows.len() - 1
    }

    /// The file's checksum and blank lines, known once it has been read to the end.
    pub fn set_source(&mut self, sha256: String, blank_lines: u64) {
        self.sha256 = sha256;
        self.blank_lines = blank_lines;
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn state(&self, idx: usize) -> RowState {
        self.states[idx]
    }

    pub fn row_number(&self, idx: usize) -> u64 {
        self.rows[idx]
    }

    /// Records a problem with row `idx`. A row may collect several exceptions (one per
    /// bad field); it is counted once.
    pub fn except(&mut self, idx: usize, column: &str, value: &str, reason: impl Into<String>) {
        self.record(idx, column, value, reason.into(), ExceptionKind::Invalid);
    }

    /// Records a valid row that the contract's rules leave out.
    pub fn exclude(&mut self, idx: usize, column: &str, value: &str, reason: impl Into<String>) {
        self.record(idx, column, value, reason.into(), ExceptionKind::Excluded);
    }

    fn record(&mut self, idx: usize, column: &str, value: &str, reason: String, kind: ExceptionKind) {
        self.states[idx] = RowState::Excepted;
        self.exceptions.push(Exception {
            file: self.file.clone(),
            row: self.rows[idx],
            column: column.to_string(),
            value: value.to_string(),
            reason,
            kind,
        });
    }

    /// Marks a row as having passed validation (unless it was already excepted).
    pub fn validate(&mut self, idx: usize) {
        if self.states[idx] == RowState::Pending {
            self.states[idx] = RowState::Valid;
        }
    }

    /// Marks a valid row as used in the analytic file.
    pub fn mark_used(&mut self, idx: usize) {
        debug_assert_eq!(
            self.states[idx],
            RowState::Valid,
            "{} row {} used twice or after exception",
            self.file,
            self.rows[idx]
        );
        if self.states[idx] == RowState::Valid {
            self.states[idx] = RowState::Used;
        }
    }

    /// Records that a row (by its spreadsheet row number) is not used after all, as an
    /// exclusion; a row number the ledger does not hold is ignored.
    pub fn exclude_row(&mut self, row: u64, column: &str, value: &str, reason: &str) {
        if let Ok(idx) = self.rows.binary_search(&row)
            && self.states[idx] != RowState::Excepted
        {
            self.record(idx, column, value, reason.to_string(), ExceptionKind::Excluded);
        }
    }

    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    /// Counts at `stage`. Errors (an internal fault, not a data problem) when a row has not
    /// been decided at that stage.
    pub fn accounting(&self, stage: Stage) -> Result<Accounting, UndecidedRow> {
        let mut used = 0u64;
        let mut excepted = 0u64;
        for (i, s) in self.states.iter().enumerate() {
            match (s, stage) {
                (RowState::Excepted, _) => excepted += 1,
                (RowState::Valid, Stage::Validated) | (RowState::Used, Stage::Prepared) => used += 1,
                _ => {
                    return Err(UndecidedRow { file: self.file.clone(), row: self.rows[i], state: *s, stage });
                }
            }
        }
        let invalid: std::collections::BTreeSet<u64> =
            self.exceptions.iter().filter(|e| e.kind == ExceptionKind::Invalid).map(|e| e.row).collect();
        Ok(Accounting {
            role: self.role,
            file: self.file.clone(),
            sha256: self.sha256.clone(),
            rows_read: self.rows.len() as u64,
            rows_used: used,
            rows_excepted: excepted,
            rows_invalid: invalid.len() as u64,
            blank_lines: self.blank_lines,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::{RawRow, RawTable};

    fn table(n: usize) -> RawTable {
        RawTable {
            file: "x.csv".into(),
            path: "x.csv".into(),
            sha256: String::new(),
            headers: vec!["a".into()],
            rows: (0..n).map(|i| RawRow { row: i as u64 + 2, fields: vec![i.to_string()], defect: None }).collect(),
            blank_lines: 0,
        }
    }

    #[test]
    fn a_row_with_two_bad_fields_counts_once() {
        let mut l = Ledger::new(Role::Roster, &table(3));
        l.except(0, "a", "x", "bad");
        l.except(0, "b", "y", "bad too");
        l.validate(0);
        l.validate(1);
        l.validate(2);
        let a = l.accounting(Stage::Validated).unwrap();
        assert_eq!((a.rows_read, a.rows_used, a.rows_excepted, a.rows_invalid), (3, 2, 1, 1));
        assert_eq!(l.exceptions().len(), 2);
        assert_eq!(l.exceptions()[0].row, 2);
    }

    #[test]
    fn excepted_rows_split_into_invalid_data_and_rows_the_rules_leave_out() {
        let mut l = Ledger::new(Role::Assessments, &table(4));
        l.except(0, "score", "abc", "not a number");
        l.exclude(1, "window", "winter", "not in the pre or post window");
        l.exclude(2, "window", "winter", "not in the pre or post window");
        l.validate(3);
        let a = l.accounting(Stage::Validated).unwrap();
        assert_eq!((a.rows_excepted, a.rows_invalid), (3, 1), "two rows left out by the rules, one bad");
    }

    #[test]
    fn undecided_rows_are_refused() {
        let mut l = Ledger::new(Role::Sessions, &table(2));
        l.validate(0);
        assert!(l.accounting(Stage::Validated).unwrap_err().to_string().contains("row 3"));
        l.validate(1);
        l.mark_used(0);
        // row 1 valid but not used: not decided for the prepared stage
        assert!(l.accounting(Stage::Prepared).is_err());
        l.exclude(1, "a", "1", "not selected");
        let a = l.accounting(Stage::Prepared).unwrap();
        assert_eq!((a.rows_used, a.rows_excepted), (1, 1));
        assert_eq!(l.exceptions()[0].kind, ExceptionKind::Excluded);
    }
}
