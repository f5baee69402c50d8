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

/// Declares [`ReasonCode`]: each code with its `snake_case` name, its kind and a one-line
/// description (the README's table of codes is checked against these). A new reader adds
/// its codes here.
macro_rules! reason_codes {
    ($($variant:ident => $name:literal, $kind:ident, $text:literal;)+) => {
        /// Why a row is in `exceptions.csv`, as a stable code (the `reason_code` column; the
        /// `reason` text beside it may carry the specifics: values, windows, rows). Every code
        /// belongs to one [`ExceptionKind`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum ReasonCode {
            $(#[doc = $text] $variant,)+
        }

        impl ReasonCode {
            /// Every code, in the order of the README's table.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$variant),+];

            /// The code as written in `exceptions.csv`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $name,)+
                }
            }

            /// Whether rows with this code are bad data or left out by the rules.
            pub fn kind(self) -> ExceptionKind {
                match self {
                    $(ReasonCode::$variant => ExceptionKind::$kind,)+
                }
            }

            /// What the code means, in one line.
            pub fn description(self) -> &'static str {
                match self {
                    $(ReasonCode::$variant => $text,)+
                }
            }
        }
    };
}

reason_codes! {
    UnreadableRow => "unreadable_row", Invalid,
        "The row cannot be read: text that is not UTF-8, a quoted field running over several lines, a stray carriage return.";
    WrongFieldCount => "wrong_field_count", Invalid,
        "The row has a different number of fields than the header.";
    MissingValue => "missing_value", Invalid,
        "A required field is empty (student_id, school_id, subject, an identifying column).";
    NotANumber => "not_a_number", Invalid,
        "A number field (minutes, score, SEM, group size) is not a finite number.";
    NotADate => "not_a_date", Invalid,
        "A date field cannot be read as a date.";
    NotAGrade => "not_a_grade", Invalid,
        "The grade is not an integer in -1..=13 (K = 0, PK = -1).";
    NotAFlag => "not_a_flag", Invalid,
        "A true/false field (valid, or the column of a share) holds something else.";
    UnknownStatus => "unknown_status", Invalid,
        "The session status is not attended, absent or cancelled.";
    OutOfRange => "out_of_range", Invalid,
        "A number outside its allowed or plausible range (minutes, score, SEM, group size, a norms value).";
    ExitBeforeEnroll => "exit_before_enroll", Invalid,
        "The student's exit date is before the enrolment date.";
    BadGroupValue => "bad_group_value", Invalid,
        "A reporting-group value that cannot be a category (control characters, too long).";
    UnknownProvider => "unknown_provider", Invalid,
        "A provider code the contract (or the roster) does not list.";
    ProviderMismatch => "provider_mismatch", Invalid,
        "A session delivered by a provider other than the student's provider on the roster.";
    SessionForComparisonStudent => "session_for_comparison_student", Invalid,
        "A session for a comparison student (no provider on the roster).";
    UnknownStudent => "unknown_student", Invalid,
        "The student_id is not on the roster.";
    IdLeadingZeros => "id_leading_zeros", Invalid,
        "The student_id matches a roster ID only apart from leading zeros (set ids.pad_width to repair).";
    RosterRowInvalid => "roster_row_invalid", Invalid,
        "The student's roster row was excepted, so the student's other rows cannot be used.";
    ExactDuplicate => "exact_duplicate", Invalid,
        "An exact copy of an earlier row (the first row is kept).";
    DuplicateStudent => "duplicate_student", Invalid,
        "A student listed more than once where one row per student is expected.";
    NormsTableConflict => "norms_table_conflict", Invalid,
        "A norms table row that contradicts another (mixed starts, overlapping bands, a repeated or missing cell).";
    TermNameNotUnderstood => "term_name_not_understood", Invalid,
        "An NWEA TermName that does not read as a season and a school year (e.g. \"Fall 2025-2026\").";
    AmbiguousSubject => "ambiguous_subject", Invalid,
        "A vendor export's subject that neither its Subject nor its Course column decides (e.g. Language Arts without a Course).";
    WindowNotUnderstood => "window_not_understood", Invalid,
        "An i-Ready Norming Window that names no season (e.g. \"Winter (November 16 - March 1)\") or an Academic Year that is not a school year (e.g. \"2025-2026\").";
    ExcelErrorCell => "excel_error_cell", Invalid,
        "A workbook cell holding an Excel error (#N/A, #DIV/0!, #REF!, ...).";
    IdStoredAsNumber => "id_stored_as_number", Invalid,
        "An ID that Excel stored as a number and that lost its leading zeros or is not a whole number.";
    DuplicateAssignment => "duplicate_assignment", Invalid,
        "A student listed more than once for the same subject in the assignments file with different values (all those rows are excepted; the roster's provider stands).";
    WindowNotPreOrPost => "window_not_pre_or_post", Excluded,
        "A test in neither the pre- nor the post-test window (e.g. a winter test).";
    RetestNotChosen => "retest_not_chosen", Excluded,
        "Another test of the same window was chosen by the retest rule.";
    PostNotAfterPre => "post_not_after_pre", Excluded,
        "A test of the post window dated on or before the chosen pre-test.";
    OtherSubject => "other_subject", Excluded,
        "A test of a subject the contract (or the command) does not ask for.";
    AssignmentOtherSubject => "assignment_other_subject", Excluded,
        "An assignments row for a subject the contract does not cover.";
    GradeNotInContract => "grade_not_in_contract", Excluded,
        "The student's grade is not among the contract's grades (or the grades asked for), or a history pre-test has no grade; the student's rows are left out.";
    TestFlaggedInvalid => "test_flagged_invalid", Excluded,
        "A test whose valid flag is false.";
    AfterAsOf => "after_as_of", Excluded,
        "A session or test dated after the --as-of date of a midpoint review.";
    NoSchoolYear => "no_school_year", Excluded,
        "A row without a school year in a history file of several school years.";
    NoPreTest => "no_pre_test", Excluded,
        "A history student without a valid pre-test in the pre window; the student's rows are left out.";
    NoPostTest => "no_post_test", Excluded,
        "A history student without a valid post-test after the pre-test; the student's rows are left out.";
    NormGroupNotFitted => "norm_group_not_fitted", Excluded,
        "The student's norm group has no fitted norms (too few students, the fit failed, or the norms lack the group).";
    NotInBaseline => "not_in_baseline", Excluded,
        "A planned student no history student is like, so the baseline cannot represent them.";
    NotSelected => "not_selected", Excluded,
        "A row not selected by the command's --only column.";
    NotAvailable => "not_available", Excluded,
        "A value the analysis needs is missing (empty, NA, N/A, NULL, \".\").";
    NotScorable => "not_scorable", Excluded,
        "The norms cannot score the row (no prior or current score, no weeks, a prior outside the norms).";
}

/// One row that was not used, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Exception {
    pub file: String,
    pub row: u64,
    pub column: String,
    pub value: String,
    /// The kind of reason, stable across versions (`reason` may name values and windows).
    pub code: ReasonCode,
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

/// The spreadsheet row number of each row of a ledger, held as runs of consecutive
/// numbers: a file without multi-line records or blank lines is one run, so a session log
/// of 22 million rows holds a few runs instead of 22 million numbers. Row numbers only
/// grow (they are the file's lines, in order).
#[derive(Clone, Debug, Default)]
struct RowNumbers {
    /// (index of the run's first row, its row number), by index.
    runs: Vec<(usize, u64)>,
    len: usize,
}

impl RowNumbers {
    fn push(&mut self, row: u64) {
        let continues = self.runs.last().is_some_and(|&(start, first)| first + (self.len - start) as u64 == row);
        if !continues {
            self.runs.push((self.len, row));
        }
        self.len += 1;
    }

    /// The row number of row `idx` (< the number of rows).
    fn get(&self, idx: usize) -> u64 {
        assert!(idx < self.len, "row {idx} of a ledger of {} rows (internal invariant)", self.len);
        let run = self.runs.partition_point(|&(start, _)| start <= idx) - 1;
        let (start, first) = self.runs[run];
        first + (idx - start) as u64
    }

    /// The index of the row numbered `row`, if there is one.
    fn position(&self, row: u64) -> Option<usize> {
        let run = self.runs.partition_point(|&(_, first)| first <= row).checked_sub(1)?;
        let (start, first) = self.runs[run];
        let end = self.runs.get(run + 1).map_or(self.len, |&(next, _)| next);
        let idx = start + (row - first) as usize;
        (idx < end).then_some(idx)
    }
}

impl FromIterator<u64> for RowNumbers {
    fn from_iter<I: IntoIterator<Item = u64>>(rows: I) -> Self {
        let mut numbers = RowNumbers::default();
        for row in rows {
            numbers.push(row);
        }
        numbers
    }
}

/// The state of every row of one input file and its exceptions.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub role: Role,
    pub file: String,
    pub sha256: String,
    pub blank_lines: u64,
    rows: RowNumbers,
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
            rows: RowNumbers::default(),
            states: Vec::new(),
            exceptions: Vec::new(),
        }
    }

    /// Adds a row (spreadsheet row number `row`), pending; returns its index.
    pub fn push_row(&mut self, row: u64) -> usize {
        self.rows.push(row);
        self.states.push(RowState::Pending);
        self.states.len() - 1
    }

    /// The file's checksum and blank lines, known once it has been read to the end.
    pub fn set_source(&mut self, sha256: String, blank_lines: u64) {
        self.sha256 = sha256;
        self.blank_lines = blank_lines;
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    pub fn state(&self, idx: usize) -> RowState {
        self.states[idx]
    }

    pub fn row_number(&self, idx: usize) -> u64 {
        self.rows.get(idx)
    }

    /// Records a problem with row `idx`. A row may collect several exceptions (one per
    /// bad field); it is counted once.
    /// `code` must be of kind `invalid`.
    pub fn except(&mut self, idx: usize, column: &str, value: &str, code: ReasonCode, reason: impl Into<String>) {
        debug_assert_eq!(code.kind(), ExceptionKind::Invalid, "{code:?} is not a code of bad data");
        self.record(idx, column, value, code, reason.into());
    }

    /// Records a valid row that the contract's rules leave out; `code` must be of kind
    /// `excluded`.
    pub fn exclude(&mut self, idx: usize, column: &str, value: &str, code: ReasonCode, reason: impl Into<String>) {
        debug_assert_eq!(code.kind(), ExceptionKind::Excluded, "{code:?} is not a code of a rule");
        self.record(idx, column, value, code, reason.into());
    }

    /// Records a problem of either kind, as its code says ([`Ledger::except`] or
    /// [`Ledger::exclude`]).
    pub fn note(&mut self, idx: usize, column: &str, value: &str, code: ReasonCode, reason: impl Into<String>) {
        self.record(idx, column, value, code, reason.into());
    }

    /// Records each problem of row `idx` ([`Ledger::note`]): the faults of a record
    /// itself that `validate::row_fault` finds.
    pub fn note_all(&mut self, idx: usize, problems: Vec<super::load::Problem>) {
        for (column, value, code, reason) in problems {
            self.note(idx, &column, &value, code, reason);
        }
    }

    fn record(&mut self, idx: usize, column: &str, value: &str, code: ReasonCode, reason: String) {
        self.states[idx] = RowState::Excepted;
        self.exceptions.push(Exception {
            file: self.file.clone(),
            row: self.rows.get(idx),
            column: column.to_string(),
            value: value.to_string(),
            code,
            reason,
            kind: code.kind(),
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
            self.rows.get(idx)
        );
        if self.states[idx] == RowState::Valid {
            self.states[idx] = RowState::Used;
        }
    }

    /// Records that a row (by its spreadsheet row number) is not used after all, as an
    /// exclusion; a row number the ledger does not hold is ignored.
    pub fn exclude_row(&mut self, row: u64, column: &str, value: &str, code: ReasonCode, reason: &str) {
        if let Some(idx) = self.rows.position(row)
            && self.states[idx] != RowState::Excepted
        {
            self.exclude(idx, column, value, code, reason);
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
                    return Err(UndecidedRow { file: self.file.clone(), row: self.rows.get(i), state: *s, stage });
                }
            }
        }
        let invalid: std::collections::BTreeSet<u64> =
            self.exceptions.iter().filter(|e| e.kind == ExceptionKind::Invalid).map(|e| e.row).collect();
        Ok(Accounting {
            role: self.role,
            file: self.file.clone(),
            sha256: self.sha256.clone(),
            rows_read: self.states.len() as u64,
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

    #[test]
    fn row_numbers_in_runs_give_each_row_its_number_and_each_number_its_row() {
        // one run, then gaps (blank lines, a multi-line record) and a run of one
        let rows: Vec<u64> = vec![2, 3, 4, 5, 8, 9, 10, 12, 20, 21];
        let numbers: RowNumbers = rows.iter().copied().collect();
        assert_eq!(numbers.runs.len(), 4, "{:?}", numbers.runs);
        assert_eq!(numbers.len, rows.len());
        for (idx, &row) in rows.iter().enumerate() {
            assert_eq!(numbers.get(idx), row, "row {idx}");
            assert_eq!(numbers.position(row), Some(idx), "number {row}");
        }
        for missing in [0, 1, 6, 7, 11, 13, 19, 22, 100] {
            assert_eq!(numbers.position(missing), None, "number {missing}");
        }
        assert_eq!(RowNumbers::default().position(2), None);
        let whole: RowNumbers = (2..1_000_002).collect();
        assert_eq!(whole.runs.len(), 1);
        assert_eq!(whole.get(999_999), 1_000_001);
    }

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
        l.except(0, "a", "x", ReasonCode::NotANumber, "bad");
        l.except(0, "b", "y", ReasonCode::NotADate, "bad too");
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
        l.except(0, "score", "abc", ReasonCode::NotANumber, "not a number");
        l.exclude(1, "window", "winter", ReasonCode::WindowNotPreOrPost, "not in the pre or post window");
        l.exclude(2, "window", "winter", ReasonCode::WindowNotPreOrPost, "not in the pre or post window");
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
        l.exclude(1, "a", "1", ReasonCode::NotSelected, "not selected");
        let a = l.accounting(Stage::Prepared).unwrap();
        assert_eq!((a.rows_used, a.rows_excepted), (1, 1));
        assert_eq!(l.exceptions()[0].kind, ExceptionKind::Excluded);
    }

    #[test]
    fn every_code_has_one_kind_a_unique_snake_case_name_and_a_description() {
        let mut names = std::collections::BTreeSet::new();
        for &c in ReasonCode::ALL {
            let name = c.as_str();
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{name}");
            assert!(names.insert(name), "{name} used twice");
            assert!(!c.description().is_empty() && !c.description().contains('|'), "{name}");
            // the serialized form is the name written in exceptions.csv
            assert_eq!(serde_json::to_string(&c).unwrap(), format!("\"{name}\""));
        }
        let kinds: std::collections::BTreeSet<ExceptionKind> = ReasonCode::ALL.iter().map(|c| c.kind()).collect();
        assert_eq!(kinds.len(), 2, "both kinds have codes");
    }

    #[test]
    fn the_kind_of_an_exception_is_the_kind_of_its_code() {
        let mut l = Ledger::new(Role::Assessments, &table(3));
        l.except(0, "score", "abc", ReasonCode::NotANumber, "scale_score is not a finite number");
        l.exclude(1, "window", "winter", ReasonCode::WindowNotPreOrPost, "not in the pre window");
        l.validate(2);
        l.exclude_row(4, "test_date", "2025-01-01", ReasonCode::RetestNotChosen, "retest not chosen");
        let got: Vec<(u64, ReasonCode, ExceptionKind)> =
            l.exceptions().iter().map(|e| (e.row, e.code, e.kind)).collect();
        assert_eq!(
            got,
            vec![
                (2, ReasonCode::NotANumber, ExceptionKind::Invalid),
                (3, ReasonCode::WindowNotPreOrPost, ExceptionKind::Excluded),
                (4, ReasonCode::RetestNotChosen, ExceptionKind::Excluded),
            ]
        );
    }

    #[test]
    #[should_panic(expected = "is not a code of bad data")]
    fn an_exclusion_code_cannot_mark_bad_data() {
        let mut l = Ledger::new(Role::Roster, &table(1));
        l.except(0, "grade", "3", ReasonCode::GradeNotInContract, "grade 3 is not in the contract's grades");
    }
}
