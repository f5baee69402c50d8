//! The compact record format of the streamed inputs: the session log and the assessments
//! of a large district are validated row by row and kept as fixed-size records (numbers
//! instead of strings, text interned), so that a million students' 22 million session rows
//! fit in memory. [`super::validate`] holds the rules; this module only the format.

use crate::stats::warning::Warning;
use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::ledger::Ledger;
use super::load::ColumnIndex;
use super::validate::{Status, Student};
use crate::error::DataError;

/// Text values numbered in order of first appearance (0 = none), so that compact records
/// hold a number instead of a string.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    ids: HashMap<String, u32, std::hash::BuildHasherDefault<super::load::Fnv>>,
    names: Vec<String>,
}

impl Interner {
    pub(crate) fn id(&mut self, text: Option<&str>) -> u32 {
        let Some(t) = text else { return 0 };
        if let Some(&i) = self.ids.get(t) {
            return i;
        }
        self.names.push(t.to_string());
        let i = self.names.len() as u32;
        self.ids.insert(t.to_string(), i);
        i
    }

    pub(crate) fn name(&self, id: u32) -> Option<&str> {
        id.checked_sub(1).map(|i| self.names[i as usize].as_str())
    }
}

/// A valid session row in 32 bytes. Its provider is not kept: a valid session's provider is
/// always its student's provider on the roster.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompactSession {
    /// Position of the student in [`Streamed::students`].
    pub student: u32,
    /// Row index in the sessions ledger.
    pub idx: u32,
    pub date: NaiveDate,
    /// Interned tutor ID (0 = none).
    pub tutor: u32,
    pub minutes: f64,
    pub status: Status,
    /// 1..=50, 0 = none.
    pub group_size: u8,
}

impl CompactSession {
    /// Everything that makes two sessions of a student the same session.
    pub(crate) fn key(&self) -> (u32, NaiveDate, u64, u8, u8) {
        (self.tutor, self.date, self.minutes.to_bits(), self.status as u8, self.group_size)
    }
}

/// A valid test row without strings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompactTest {
    pub student: u32,
    pub idx: u32,
    pub date: NaiveDate,
    /// Interned subject, window and school year (0 = none).
    pub subject: u32,
    pub window: u32,
    pub school_year: u32,
    pub grade: Option<i32>,
    pub score: f64,
    pub sem: Option<f64>,
    pub valid: bool,
}

impl CompactTest {
    pub(crate) fn key(&self) -> (NaiveDate, u32, u32, u32, Option<i32>, u64, Option<u64>, bool) {
        (
            self.date,
            self.subject,
            self.window,
            self.school_year,
            self.grade,
            self.score.to_bits(),
            self.sem.map(f64::to_bits),
            self.valid,
        )
    }
}

/// Validated inputs with the session log and the assessments held as compact records
/// (grouped by student, in file order within a student, exact duplicates removed).
#[derive(Clone, Debug)]
pub(crate) struct Streamed {
    pub students: Vec<Student>,
    pub sessions: Vec<CompactSession>,
    pub tests: Vec<CompactTest>,
    /// Subjects, windows and school years.
    pub texts: Interner,
    pub roster_ledger: Ledger,
    pub sessions_ledger: Ledger,
    pub assessments_ledger: Ledger,
    pub warnings: Vec<Warning>,
    pub groups: Vec<String>,
    pub roster_columns: ColumnIndex,
    pub test_columns: ColumnIndex,
    pub roster_rejects: BTreeMap<String, Option<String>>,
}

pub(crate) fn compact_index(idx: usize, file: &str) -> Result<u32, DataError> {
    u32::try_from(idx).map_err(|_| DataError::Csv {
        file: file.into(),
        line: 0,
        message: format!("more than {} rows; split the file", u32::MAX),
    })
}

impl Streamed {
    /// The compact form of inputs validated whole ([`super::validate::validate`]): sessions
    /// and tests grouped by student (the roster's order), file order kept within a student,
    /// so that one join pipeline serves both ways of reading.
    pub(crate) fn from_validated(v: super::validate::Validated) -> Result<Streamed, DataError> {
        let position: HashMap<&str, u32> =
            v.students.iter().enumerate().map(|(i, s)| (s.student_id.as_str(), i as u32)).collect();
        let of = |id: &str| position.get(id).copied();
        let mut tutors = Interner::default();
        let mut sessions = Vec::with_capacity(v.sessions.len());
        for s in &v.sessions {
            let Some(student) = of(&s.student_id) else { continue };
            sessions.push(CompactSession {
                student,
                idx: compact_index(s.idx, &v.sessions_ledger.file)?,
                date: s.date,
                tutor: tutors.id(s.tutor_id.as_deref()),
                minutes: s.minutes,
                status: s.status,
                group_size: s.group_size.unwrap_or(0) as u8,
            });
        }
        let mut texts = Interner::default();
        let mut tests = Vec::with_capacity(v.tests.len());
        for t in &v.tests {
            let Some(student) = of(&t.student_id) else { continue };
            tests.push(CompactTest {
                student,
                idx: compact_index(t.idx, &v.assessments_ledger.file)?,
                date: t.date,
                subject: texts.id(Some(&t.subject)),
                window: texts.id(Some(&t.window)),
                school_year: texts.id(t.school_year.as_deref()),
                grade: t.grade,
                score: t.score,
                sem: t.sem,
                valid: t.valid,
            });
        }
        sessions.sort_by_key(|s| (s.student, s.idx));
        tests.sort_by_key(|t| (t.student, t.idx));
        let _ = tutors; // tutor IDs are compared, not named, in the join
        Ok(Streamed {
            students: v.students,
            sessions,
            tests,
            texts,
            roster_ledger: v.roster_ledger,
            sessions_ledger: v.sessions_ledger,
            assessments_ledger: v.assessments_ledger,
            warnings: v.warnings,
            groups: v.groups,
            roster_columns: v.roster_columns,
            test_columns: v.test_columns,
            roster_rejects: v.roster_rejects,
        })
    }
}
