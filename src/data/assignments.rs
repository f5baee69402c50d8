//! The assignments file of `[files] assignments`: which provider tutors a student in which
//! subject, when a student has one provider in math and another in reading (README
//! "Per-subject providers").
//!
//! ## What a row is
//! One row per student and subject ([`ASSIGNMENTS`](super::schema::ASSIGNMENTS)):
//! `student_id`, `subject` and `provider_id` are required columns; `tutor_id`,
//! `enroll_date` and `exit_date` are optional. Headers are mapped through
//! `[columns.assignments]` (or the shared keys of `[columns]`). An empty `provider_id` (or
//! one of `[contract] comparison_values`) means the student is not tutored in that subject.
//!
//! ## What a row decides
//! For the student and subject it names, the row replaces the roster's provider, tutor,
//! enrolment and exit dates (an empty cell replaces too: the date is then unknown). Other
//! subjects keep the roster's values. The analytic row records which file decided
//! ([`ProviderSource`]).
//!
//! ## Checks
//! A row fault, a missing student_id or subject, a student not on the roster (or whose
//! roster row was excepted, or who matches only apart from leading zeros), a date that is
//! not a date, an exit before the enrolment, a provider the contract does not list (when it
//! lists them) are `invalid`; a subject the contract does not cover is `excluded`
//! (`assignment_other_subject`). Exact copies keep the first row; rows of the same student
//! and subject that differ are all excepted (`duplicate_assignment`), and the roster's
//! values stand for that subject. A valid row is used when the student's analytic row is
//! built; a student outside the contract's grades has its rows excluded as the roster's is.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::ledger::{Ledger, ReasonCode};
use super::load::{ColumnIndex, RawRow, RawTable};
use super::schema::Role;
use super::validate::{Bad, RosterIndex, ValidateOptions, clean, row_fault};
use crate::error::DataError;

/// Which file decided a student's provider in a subject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderSource {
    /// The roster's single provider (no assignments row for the student and subject).
    #[default]
    Roster,
    /// A row of the assignments file.
    Assignments,
}

impl ProviderSource {
    /// The value written in `audit.csv` and the analytic file.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderSource::Roster => "roster",
            ProviderSource::Assignments => "assignments",
        }
    }
}

/// One valid assignments row.
#[derive(Clone, Debug, PartialEq)]
pub struct Assignment {
    /// Row index in the assignments ledger.
    pub idx: usize,
    /// Spreadsheet row number (header = 1).
    pub row: u64,
    /// Position of the student among the roster's valid students.
    pub student: usize,
    /// Lower-cased, as the contract's subjects are.
    pub subject: String,
    /// `None`: not tutored in this subject (comparison).
    pub provider_id: Option<String>,
    pub tutor_id: Option<String>,
    pub enroll_date: Option<NaiveDate>,
    pub exit_date: Option<NaiveDate>,
}

impl Assignment {
    /// The values that decide the assignment (two rows with the same are exact copies).
    fn values(&self) -> (&str, &Option<String>, &Option<String>, Option<NaiveDate>, Option<NaiveDate>) {
        (&self.subject, &self.provider_id, &self.tutor_id, self.enroll_date, self.exit_date)
    }
}

/// The assignments file checked, with its ledger.
#[derive(Clone, Debug)]
pub struct Assignments {
    /// Valid rows by (student position, subject): at most one each.
    pub by_student: BTreeMap<(usize, String), Assignment>,
    pub ledger: Ledger,
    /// Where each field was found (for naming the district's headers in exceptions).
    pub columns: ColumnIndex,
}

impl Assignments {
    /// The assignment of the student at `student` in `subject`, if a valid row gives one.
    pub fn get(&self, student: usize, subject: &str) -> Option<&Assignment> {
        self.by_student.get(&(student, subject.to_string()))
    }

    /// Whether any valid row names the student at `student`.
    pub fn has_student(&self, student: usize) -> bool {
        self.by_student.range((student, String::new())..).next().is_some_and(|((s, _), _)| *s == student)
    }

    /// The providers tutoring the student at `student` across `subjects`: the assignment's
    /// where a row gives one, the roster's (`roster`) elsewhere; each once, comparison
    /// subjects left out. A student without assignments has the roster's provider only.
    pub fn providers_of(&self, student: usize, roster: Option<&str>, subjects: &[String]) -> Vec<String> {
        if !self.has_student(student) {
            return roster.map(str::to_string).into_iter().collect();
        }
        let mut out: Vec<String> = Vec::new();
        for subject in subjects {
            let p = match self.get(student, subject) {
                Some(a) => a.provider_id.as_deref(),
                None => roster,
            };
            if let Some(p) = p.filter(|p| !out.iter().any(|o| o == p)) {
                out.push(p.to_string());
            }
        }
        out
    }
}

/// Checks the assignments file against the roster (see the module docs).
pub(crate) fn check(table: &RawTable, opts: &ValidateOptions, roster: &RosterIndex) -> Result<Assignments, DataError> {
    let cols = ColumnIndex::locate(table, Role::Assignments, &opts.columns.assignments, &[])?;
    let mut ledger = Ledger::new(Role::Assignments, table);
    let mut candidates: Vec<Assignment> = Vec::new();
    for (idx, raw) in table.rows.iter().enumerate() {
        if let Some(faults) = row_fault(table.headers.len(), raw) {
            ledger.note_all(idx, faults);
            continue;
        }
        match assignment(raw, idx, &cols, opts, roster) {
            Ok(a) => candidates.push(a),
            Err(bad) => {
                for (field, value, code, reason) in bad {
                    ledger.note(idx, &cols.header(field), &value, code, reason);
                }
            }
        }
    }
    let by_student = drop_duplicates(candidates, &mut ledger, &cols, roster);
    for a in by_student.values() {
        ledger.validate(a.idx);
    }
    Ok(Assignments { by_student, ledger, columns: cols })
}

/// One row as an assignment, or every fault found in it.
fn assignment(
    raw: &RawRow,
    idx: usize,
    cols: &ColumnIndex,
    opts: &ValidateOptions,
    roster: &RosterIndex,
) -> Result<Assignment, Bad> {
    let get = |f: &str| cols.get(raw, f).unwrap_or("");
    let mut bad: Bad = Vec::new();
    let student = super::validate::roster_student(get("student_id"), opts, roster, &mut bad);
    let subject = get("subject").trim().to_ascii_lowercase();
    if subject.is_empty() {
        bad.push(("subject", String::new(), ReasonCode::MissingValue, "missing subject".into()));
    } else if !opts.subjects.contains(&subject) {
        let reason = format!("subject is not in the contract ({})", opts.subjects.join(", "));
        bad.push(("subject", get("subject").trim().into(), ReasonCode::AssignmentOtherSubject, reason));
    }
    let (enroll_date, exit_date, provider_id) = super::validate::enrolment_fields(raw, cols, opts, &mut bad);
    match student {
        Some(student) if bad.is_empty() => Ok(Assignment {
            idx,
            row: raw.row,
            student,
            subject,
            provider_id,
            tutor_id: clean(cols.get(raw, "tutor_id")),
            enroll_date,
            exit_date,
        }),
        _ => Err(bad),
    }
}

/// One assignment per student and subject: exact copies keep the first row; rows that
/// differ are all excepted, since no rule can say which one is right.
fn drop_duplicates(
    candidates: Vec<Assignment>,
    ledger: &mut Ledger,
    cols: &ColumnIndex,
    roster: &RosterIndex,
) -> BTreeMap<(usize, String), Assignment> {
    let mut groups: BTreeMap<(usize, String), Vec<Assignment>> = BTreeMap::new();
    for a in candidates {
        groups.entry((a.student, a.subject.clone())).or_default().push(a);
    }
    let mut out = BTreeMap::new();
    for (key, mut rows) in groups {
        let id = roster.students[key.0].student_id.clone();
        let first = rows.remove(0);
        if rows.iter().all(|r| r.values() == first.values()) {
            for r in &rows {
                let reason = format!("exact duplicate of row {}", first.row);
                ledger.except(r.idx, &cols.header("student_id"), &id, ReasonCode::ExactDuplicate, reason);
            }
            out.insert(key, first);
        } else {
            rows.insert(0, first);
            let numbers: Vec<String> = rows.iter().map(|r| r.row.to_string()).collect();
            for r in &rows {
                let reason = format!(
                    "student_id and subject {} appear on rows {} with different values; the roster's provider is used",
                    key.1,
                    numbers.join(", ")
                );
                ledger.except(r.idx, &cols.header("student_id"), &id, ReasonCode::DuplicateAssignment, reason);
            }
        }
    }
    out
}
