//! The contract's `history` file: one or more prior school years' test rows of students
//! who were not tutored, used to fit growth norms and to set contract targets.
//!
//! ## What a row is
//! One row per test, with the student's fields repeated on every row (see
//! [`HISTORY`](super::schema::HISTORY)): student_id, subject, test_date and scale_score are
//! required; school_id, window, school_year, grade, sem, valid and the equity-group columns
//! are optional. Headers are mapped through `[columns.history]` as for the other files.
//! `window` (`school_year`) must be present when a test window is chosen by label (school
//! year), and `grade` when grades are asked for: without them every row would silently miss.
//!
//! ## Checks (exceptions of kind `invalid`)
//! Each bad value is one exception naming its column and value, with the same wording as the
//! assessments file: a missing student_id or subject, a date that is not a date, a score that
//! is not a finite number, an SEM that is not positive, a validity flag that is not
//! true/false, a grade outside -1..=13, a row with the wrong number of fields. A row equal
//! to an earlier one in every value is an exact duplicate. Student IDs are text (leading
//! zeros kept); `ids.pad_width` pads them as it does in the other files.
//!
//! ## Selection (exceptions of kind `excluded`)
//! Rows of other subjects are left out. Tests flagged invalid never count when
//! `require_valid`. For each student and subject the pre-test and the post-test are chosen
//! exactly as for the current year (see [`join`](super::join)): a row is a candidate when it
//! matches the window spec, the retest rule picks one candidate, and the post-test must be
//! dated after the chosen pre-test. When grades are asked for, the grade on the chosen
//! pre-test decides whether the student is in scope. A student is kept only with both a
//! pre-test and a post-test; otherwise every row of the student is left out with the reason
//! (no pre-test, no post-test, grade). Rows not chosen say why: a retest the rule did not
//! choose, a post-test not after the pre-test, or a row in neither window.
//!
//! ## Several school years
//! When the window specs name no school year and the rows of the subjects asked for hold
//! more than one `school_year`, the rows are grouped by school year as well: a student
//! tested in 2022-23 and 2023-24 gives one record per year, each pre-test paired with a
//! post-test of its own year (a spring test never pairs with the previous year's fall
//! test). Rows without a school year in such a file are excluded with the reason, and the
//! reasons for a missing pre- or post-test name the year. A file of one school year (or
//! without the column, or with windows naming a year) is read as a single year, exactly as
//! before. Student IDs may repeat across years: everything downstream (norm fitting,
//! `obc baseline`) works on the records, not on the IDs.
//!
//! ## What is kept
//! Per student and subject (and school year): the school year, school and group values of the pre-test row, the two tests,
//! weeks_between = (days from pre to post - days of the history year's breaks in between) / 7,
//! growth = post - pre, and growth_se = sqrt(sem_pre^2 + sem_post^2) when both SEMs are
//! known. Every row ends used (a chosen pre or post of a kept student) or excepted, so
//! [`History::accounting`] balances.

use crate::stats::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet};
use std::hash::BuildHasher;
use std::path::Path;

use serde::Serialize;

use super::date::iso;
use super::join::{PickedTest, PrePost, break_days, in_window};
use super::ledger::{Accounting, Ledger, ReasonCode, Stage};
use super::load::{ColumnIndex, RawTable, ReadSpec, Record, Source};
use super::schema::{IdRules, Role, STANDARD_GROUPS, ScoreRanges, Tests, WindowSpec};
use super::validate::{Test, test_fields};
use crate::error::DataError;
use crate::stats::norms::model::Rows;

/// What loading the history file needs from the contract.
#[derive(Clone, Debug)]
pub struct HistoryOptions {
    /// Lower-case subject names; rows of other subjects are excluded.
    pub subjects: Vec<String>,
    /// Grades (of the pre-test) to keep; `None` = all.
    pub grades: Option<Vec<i32>>,
    /// Pre/post windows, retest rule, require_valid and breaks of the history year.
    pub tests: Tests,
    /// `[columns.history]`: field -> district header.
    pub columns: BTreeMap<String, String>,
    pub ids: IdRules,
    /// Equity-group columns to carry (those present in the file are kept).
    pub groups: Vec<String>,
    /// Plausible scale scores and SEMs by subject; others are exceptions.
    pub score_ranges: ScoreRanges,
}

/// One student and subject of the history year with both tests.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoryStudent {
    /// Always text, leading zeros kept.
    pub student_id: String,
    pub subject: String,
    /// School year of the pre-test row (`None` when the file has no school_year or the row
    /// is blank). With several school years in the file, pre- and post-test share it.
    pub school_year: Option<String>,
    pub school_id: Option<String>,
    /// Grade on the pre-test row (`None` when the file has no grade or the row is blank).
    pub grade: Option<i32>,
    pub groups: BTreeMap<String, String>,
    pub pre: PickedTest,
    pub post: PickedTest,
    /// (days from pre to post - break days in between) / 7.
    pub weeks_between: f64,
    /// post - pre.
    pub growth: f64,
    /// sqrt(sem_pre^2 + sem_post^2) when both SEMs are known.
    pub growth_se: Option<f64>,
}

/// The loaded history file.
#[derive(Clone, Debug)]
pub struct History {
    pub file: String,
    /// Sorted by (subject, student_id, school_year): with several school years a student
    /// has one record per year.
    pub students: Vec<HistoryStudent>,
    /// Every row: used (a chosen pre or post of a kept student) or excepted with the reason.
    pub ledger: Ledger,
    /// Equity-group columns found in the file (of those asked for).
    pub groups: Vec<String>,
    pub warnings: Vec<Warning>,
    /// Students (x subject, in scope) without a valid pre-test in the pre window.
    pub students_without_pre: usize,
    /// Students (x subject, in scope) with a pre-test but no valid post-test after it.
    pub students_without_post: usize,
}

impl History {
    /// Why the file yields no student to fit norms on (`None` when it has some): the
    /// subjects and grades asked for, the rows read and excepted, and the commonest reasons.
    pub fn why_no_students(&self, opts: &HistoryOptions) -> Option<String> {
        if !self.students.is_empty() {
            return None;
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for e in self.ledger.exceptions() {
            *counts.entry(e.reason.as_str()).or_default() += 1;
        }
        let mut top: Vec<(&str, usize)> = counts.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let reasons: Vec<String> = top.iter().take(3).map(|(r, n)| format!("{n} rows: {r}")).collect();
        let grades = match &opts.grades {
            Some(g) => format!(" in grades {g:?}"),
            None => String::new(),
        };
        let mut why = format!(
            "{} has no student with a pre- and a post-test for the subject(s) {}{grades}; {} rows read, {} excepted",
            self.file,
            opts.subjects.join(", "),
            self.ledger.len(),
            self.ledger.exceptions().iter().map(|e| e.row).collect::<BTreeSet<u64>>().len(),
        );
        if !reasons.is_empty() {
            why.push_str(&format!(" (commonest reasons: {})", reasons.join("; ")));
        }
        if self.ledger.is_empty() {
            why.push_str(" (the file has a header but no rows)");
        }
        Some(why)
    }

    /// The students as the rows of a norms fit (README "obc norms"): keyed by subject and
    /// grade ([`norm_key`]), the pre-test as the prior, the post-test as the current score
    /// and, when `weeks`, the instructional weeks between them. Row `i` is `students[i]`.
    pub fn norms_rows(&self, weeks: bool) -> Rows {
        Rows {
            keys: self.students.iter().map(|s| norm_key(&s.subject, s.grade)).collect(),
            priors: vec![self.students.iter().map(|s| Some(s.pre.score)).collect()],
            current: self.students.iter().map(|s| Some(s.post.score)).collect(),
            weeks: weeks.then(|| self.students.iter().map(|s| Some(s.weeks_between)).collect()),
        }
    }

    /// Rows read, used and excepted; errors only on an internal accounting fault.
    pub fn accounting(&self) -> Result<Accounting, super::ledger::UndecidedRow> {
        self.ledger.accounting(Stage::Prepared)
    }
}

/// The norm-group key of a student: subject and grade (empty when unknown).
pub fn norm_key(subject: &str, grade: Option<i32>) -> Vec<String> {
    vec![subject.to_string(), grade.map(|g| g.to_string()).unwrap_or_default()]
}

/// Reads the history file at `path` (CSV, TSV, Parquet or an Excel workbook, read as `spec`
/// says); `file` is its name in messages. The warnings of a workbook's ID check come first.
pub fn load_history(path: &Path, file: &str, spec: &ReadSpec, opts: &HistoryOptions) -> Result<History, DataError> {
    let (source, read_warnings) = Source::open_spec(path, file, spec).map_err(|e| e.for_key("files.history", file))?;
    let mut history = history_from_source(source, opts).map_err(|e| e.for_key("files.history", file))?;
    history.warnings.splice(0..0, read_warnings);
    Ok(history)
}

/// Reads the history file `file` (converted first when the contract names a vendor format),
/// as [`load_history`] does.
pub fn load_history_input(file: &super::InputFile, opts: &HistoryOptions) -> Result<History, DataError> {
    let (source, read_warnings) = file.open()?;
    let mut history = history_from_source(source, opts).map_err(|e| e.for_key(&file.key, &file.name))?;
    history.warnings.splice(0..0, read_warnings);
    Ok(history)
}

/// Student fields of a row that are not part of the test.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct RowInfo {
    school_id: Option<String>,
    groups: BTreeMap<String, String>,
}

/// Validates and selects an already-read history table (see the module docs).
pub fn history_from_table(table: &RawTable, opts: &HistoryOptions) -> Result<History, DataError> {
    history_from_source(Source::from_table(table.clone()), opts)
}

/// Validates and selects the rows of a history file as they are read (see the module docs):
/// only the typed tests of valid rows are kept, never the file's text.
fn history_from_source(mut source: Source, opts: &HistoryOptions) -> Result<History, DataError> {
    let extra: Vec<String> = opts.groups.iter().filter(|g| !STANDARD_GROUPS.contains(&g.as_str())).cloned().collect();
    let (file, headers) = (source.file().to_string(), source.headers().to_vec());
    let cols = ColumnIndex::locate_in(&file, &headers, Role::History, &opts.columns, &extra)?;
    require_needed_fields(&file, &headers, &cols, opts)?;
    let groups: Vec<String> = opts.groups.iter().filter(|g| cols.has(g)).cloned().collect();
    let mut ledger = Ledger::streaming(Role::History, &file);
    let (tests, infos) = type_rows(&mut source, &cols, opts, &groups, &mut ledger)?;
    let (sha256, blank_lines) = source.finish()?;
    ledger.set_source(sha256, blank_lines);

    let subjects: Vec<String> = opts.subjects.iter().map(|s| s.trim().to_ascii_lowercase()).collect();
    let by_year = several_school_years(opts, &cols, &tests, &subjects);
    let by_key = rows_by_student(&tests, &subjects, &cols, by_year, &mut ledger);
    let selector = Selector { opts, cols: &cols, tests: &tests, infos: &infos };
    let mut tally = Tally::default();
    let mut students = Vec::new();
    for (&(subject, student_id, year), members) in &by_key {
        let key = StudentKey { subject, student_id, year };
        students.extend(selector.student(key, members, &mut ledger, &mut tally));
    }
    let mut warnings = window_warnings(&file, opts, &subjects, &by_key, &tally);
    warnings.extend(differing_values_warning(&file, &tally.differing).map(|m| Warning::new(WarningCode::History, m)));
    warnings.extend(id_lengths_warning(&file, &tests, opts).map(|m| Warning::new(WarningCode::IdLeadingZeros, m)));
    students
        .sort_by(|x, y| (&x.subject, &x.student_id, &x.school_year).cmp(&(&y.subject, &y.student_id, &y.school_year)));
    Ok(History {
        file,
        students,
        ledger,
        groups,
        warnings,
        students_without_pre: tally.without_pre,
        students_without_post: tally.without_post,
    })
}

/// Refuses a file without a column the selection rules need ([`needed_fields`]).
fn require_needed_fields(
    file: &str,
    headers: &[String],
    cols: &ColumnIndex,
    opts: &HistoryOptions,
) -> Result<(), DataError> {
    match needed_fields(opts).into_iter().find(|field| !cols.has(field)) {
        None => Ok(()),
        Some(field) => Err(DataError::MissingColumn {
            file: file.to_string(),
            field: field.to_string(),
            column: opts.columns.get(field).cloned().unwrap_or_else(|| field.to_string()),
            headers: headers.to_vec(),
        }),
    }
}

/// Whether pre- and post-tests are paired within each school year: the window specs name
/// no school year, the file has a school_year column, and the rows of the subjects asked for
/// hold more than one school year. A file of one school year is read as one year, exactly
/// as before several years were supported.
fn several_school_years(opts: &HistoryOptions, cols: &ColumnIndex, tests: &[Test], subjects: &[String]) -> bool {
    let named = opts.tests.pre.school_year.is_some() || opts.tests.post.school_year.is_some();
    if named || !cols.has("school_year") {
        return false;
    }
    let years: BTreeSet<&str> =
        tests.iter().filter(|t| subjects.contains(&t.subject)).filter_map(|t| t.school_year.as_deref()).collect();
    years.len() > 1
}

/// (subject, student_id, school year) of a group of rows; the school year is `None` unless
/// the file holds several school years.
type RowKey<'a> = (&'a str, &'a str, Option<&'a str>);

/// Positions in `tests` of the rows of each (subject, student, school year when `by_year`)
/// among `subjects`; rows of other subjects, and with `by_year` rows without a school year,
/// are excluded with the reason.
fn rows_by_student<'a>(
    tests: &'a [Test],
    subjects: &[String],
    cols: &ColumnIndex,
    by_year: bool,
    ledger: &mut Ledger,
) -> BTreeMap<RowKey<'a>, Vec<usize>> {
    let mut by_key: BTreeMap<RowKey, Vec<usize>> = BTreeMap::new();
    for (i, t) in tests.iter().enumerate() {
        if !subjects.contains(&t.subject) {
            let reason = format!("subject is not among the subjects asked for ({})", subjects.join(", "));
            ledger.exclude(t.idx, &cols.header("subject"), &t.subject, ReasonCode::OtherSubject, reason);
        } else if by_year && t.school_year.is_none() {
            let reason = "no school_year on a row of a history file of several school years (pre- and post-tests \
                          are paired within a school year)";
            ledger.exclude(t.idx, &cols.header("school_year"), "", ReasonCode::NoSchoolYear, reason);
        } else {
            let year = if by_year { t.school_year.as_deref() } else { None };
            by_key.entry((t.subject.as_str(), t.student_id.as_str(), year)).or_default().push(i);
        }
    }
    by_key
}

/// The rows' group being selected: subject, student and (with several school years) the
/// school year.
#[derive(Clone, Copy)]
struct StudentKey<'a> {
    subject: &'a str,
    student_id: &'a str,
    year: Option<&'a str>,
}

impl StudentKey<'_> {
    /// `subject` or, with several school years, `subject in school year Y` (for reasons).
    fn subject_year(&self) -> String {
        match self.year {
            Some(y) => format!("{} in school year {y}", self.subject),
            None => self.subject.to_string(),
        }
    }
}

/// What the selection counts across students, for the warnings and the totals.
#[derive(Default)]
struct Tally<'a> {
    /// Students (x subject, in scope) without a pre-test.
    without_pre: usize,
    /// Students (x subject, in scope) with a pre-test but no post-test after it.
    without_post: usize,
    /// Candidate rows in the pre window, by subject.
    pre_rows: BTreeMap<&'a str, usize>,
    /// Candidate rows in the post window, by subject.
    post_rows: BTreeMap<&'a str, usize>,
    /// `student (subject)` of students whose school or group values differ between rows.
    differing: Vec<String>,
}

/// Why a whole student is left out: the column and value shown, and the reason.
#[derive(Clone)]
struct LeftOut {
    column: String,
    value: String,
    code: ReasonCode,
    reason: String,
}

/// Chooses each student's pre- and post-test among the typed rows (see the module docs).
struct Selector<'a> {
    opts: &'a HistoryOptions,
    cols: &'a ColumnIndex,
    tests: &'a [Test],
    /// Student fields of each row of `tests` (same positions).
    infos: &'a [RowInfo],
}

impl<'a> Selector<'a> {
    /// One student and subject (and school year; `members`: positions of its rows in
    /// `tests`): accounts for every row in `ledger` and returns the student when kept with
    /// both tests.
    fn student(
        &self,
        key: StudentKey<'a>,
        members: &[usize],
        ledger: &mut Ledger,
        tally: &mut Tally<'a>,
    ) -> Option<HistoryStudent> {
        let (subject, student_id) = (key.subject, key.student_id);
        let first = &self.infos[members[0]];
        if members.iter().any(|&i| &self.infos[i] != first) {
            tally.differing.push(format!("{student_id} ({})", key.subject_year()));
        }
        let mut cands: Vec<&Test> = Vec::new();
        for &i in members {
            let t = &self.tests[i];
            if self.opts.tests.require_valid && !t.valid {
                let code = ReasonCode::TestFlaggedInvalid;
                ledger.exclude(t.idx, &self.cols.header("valid"), "false", code, "test flagged invalid");
            } else {
                cands.push(t);
            }
        }
        let picked = PrePost::pick(&self.opts.tests, &cands);
        *tally.pre_rows.entry(subject).or_default() += picked.pre_c.len();
        *tally.post_rows.entry(subject).or_default() +=
            cands.iter().filter(|t| in_window(&self.opts.tests.post, t)).count();
        let out_of_grade = self.out_of_grade(picked.pre);
        let left_out = match &out_of_grade {
            Some(why) => Some(why.clone()),
            None => self.incomplete(key, &picked, tally),
        };
        self.account(&cands, &picked, out_of_grade.as_ref(), left_out.as_ref(), ledger);
        let (Some(pre), Some(post), None) = (picked.pre, picked.post, &left_out) else { return None };
        Some(self.kept(subject, student_id, members, pre, post))
    }

    /// Why the student is out of scope when grades are asked for and the grade on the chosen
    /// pre-test is not among them (or missing).
    fn out_of_grade(&self, pre: Option<&Test>) -> Option<LeftOut> {
        let (Some(grades), Some(p)) = (&self.opts.grades, pre) else { return None };
        if p.grade.is_some_and(|g| grades.contains(&g)) {
            return None;
        }
        let list: Vec<String> = grades.iter().map(|g| g.to_string()).collect();
        let reason = match p.grade {
            Some(g) => format!(
                "grade {g} on the pre-test (row {}) is not among the grades asked for ({})",
                p.row,
                list.join(", ")
            ),
            None => format!(
                "the pre-test (row {}) has no grade, so the student cannot be placed in the grades \
                 asked for ({})",
                p.row,
                list.join(", ")
            ),
        };
        Some(LeftOut {
            column: self.cols.header("grade"),
            value: p.grade.map(|g| g.to_string()).unwrap_or_default(),
            code: ReasonCode::GradeNotInContract,
            reason,
        })
    }

    /// Why the student is left out for lack of a pre-test or of a post-test after it, counted
    /// in `tally`; `None` when both were chosen.
    fn incomplete(&self, key: StudentKey, picked: &PrePost, tally: &mut Tally) -> Option<LeftOut> {
        let subject = key.subject_year();
        let (code, reason) = if picked.pre.is_none() {
            tally.without_pre += 1;
            let code = ReasonCode::NoPreTest;
            (
                code,
                format!(
                    "student has no valid pre-test in the pre window ({}) for {subject}",
                    describe(&self.opts.tests.pre)
                ),
            )
        } else if picked.post.is_none() {
            tally.without_post += 1;
            let p = picked.pre.map(|p| format!("{} (row {})", iso(p.date), p.row)).unwrap_or_default();
            let reason = format!(
                "student has no valid post-test in the post window ({}) after the pre-test of {p}",
                describe(&self.opts.tests.post)
            );
            (ReasonCode::NoPostTest, reason)
        } else {
            return None;
        };
        Some(LeftOut { column: self.cols.header("student_id"), value: key.student_id.to_string(), code, reason })
    }

    /// Marks each candidate row used (a chosen test of a kept student) or excluded: all rows
    /// of a student out of grade scope, the chosen rows of a student left out, and rows not
    /// chosen with the reason.
    fn account(
        &self,
        cands: &[&Test],
        picked: &PrePost,
        out_of_grade: Option<&LeftOut>,
        left_out: Option<&LeftOut>,
        ledger: &mut Ledger,
    ) {
        for t in cands {
            if let Some(why) = out_of_grade {
                ledger.exclude(t.idx, &why.column, &why.value, why.code, why.reason.clone());
            } else if picked.chosen(t) {
                match left_out {
                    None => ledger.mark_used(t.idx),
                    Some(why) => ledger.exclude(t.idx, &why.column, &why.value, why.code, why.reason.clone()),
                }
            } else {
                let (code, reason) = picked.not_chosen(&self.opts.tests, t);
                ledger.exclude(t.idx, &self.cols.header("test_date"), &iso(t.date), code, reason);
            }
        }
    }

    /// The kept student: school and groups of the pre-test row, both tests, weeks between
    /// them net of breaks, growth and its standard error.
    fn kept(&self, subject: &str, student_id: &str, members: &[usize], a: &Test, b: &Test) -> HistoryStudent {
        let info = &self.infos[members.iter().copied().find(|&i| self.tests[i].idx == a.idx).unwrap_or(members[0])];
        let as_picked =
            |t: &Test| PickedTest { score: t.score, sem: t.sem, date: t.date, window: t.window.clone(), row: t.row };
        HistoryStudent {
            student_id: student_id.to_string(),
            subject: subject.to_string(),
            school_year: a.school_year.clone(),
            school_id: info.school_id.clone(),
            grade: a.grade,
            groups: info.groups.clone(),
            pre: as_picked(a),
            post: as_picked(b),
            weeks_between: ((b.date - a.date).num_days() - break_days(&self.opts.tests, a.date, b.date)) as f64 / 7.0,
            growth: b.score - a.score,
            growth_se: match (a.sem, b.sem) {
                (Some(x), Some(y)) => Some((x * x + y * y).sqrt()),
                _ => None,
            },
        }
    }
}

/// Per subject asked for: a warning when the file has no usable row of it, else one for each
/// window (pre, post) that no valid row of it falls in.
fn window_warnings(
    file: &str,
    opts: &HistoryOptions,
    subjects: &[String],
    by_key: &BTreeMap<RowKey, Vec<usize>>,
    tally: &Tally,
) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for subject in subjects {
        if !by_key.keys().any(|(s, _, _)| s == subject) {
            warnings.push(Warning::new(WarningCode::History, format!("{file}: no usable {subject} row")));
            continue;
        }
        for (name, spec, rows) in
            [("pre", &opts.tests.pre, &tally.pre_rows), ("post", &opts.tests.post, &tally.post_rows)]
        {
            if rows.get(subject.as_str()).copied().unwrap_or(0) == 0 {
                warnings.push(Warning::new(
                    WarningCode::History,
                    format!(
                        "{file}: no valid {subject} test is in the {name} window ({}); check the history year's \
                     [tests] {name} against the file",
                        describe(spec)
                    ),
                ));
            }
        }
    }
    warnings
}

/// A warning naming (up to five of) the students whose school or group values differ
/// between rows; `None` when there are none.
fn differing_values_warning(file: &str, differing: &[String]) -> Option<String> {
    if differing.is_empty() {
        return None;
    }
    let shown: Vec<&str> = differing.iter().take(5).map(String::as_str).collect();
    Some(format!(
        "{file}: {} students have different school_id or group values on different rows (e.g. {}); \
         the values of the pre-test row are used",
        differing.len(),
        shown.join(", ")
    ))
}

/// A warning when all-digit student IDs come in several lengths and no `pad_width` is set
/// (leading zeros may have been lost).
fn id_lengths_warning(file: &str, tests: &[Test], opts: &HistoryOptions) -> Option<String> {
    let ids: BTreeSet<&str> = tests.iter().map(|t| t.student_id.as_str()).collect();
    let lengths: BTreeSet<usize> = ids.iter().map(|id| id.len()).collect();
    let lost_zeros = !ids.is_empty()
        && ids.iter().all(|id| id.bytes().all(|b| b.is_ascii_digit()))
        && lengths.len() > 1
        && opts.ids.pad_width.is_none();
    lost_zeros.then(|| {
        format!(
            "{file}: all-digit student IDs have {} different lengths ({lengths:?}); if IDs should have one width, \
             leading zeros may have been lost before this file was written",
            lengths.len()
        )
    })
}

/// Optional fields the selection rules need: a window chosen by label needs `window`, by
/// school year `school_year`, and a grade filter `grade`.
fn needed_fields(opts: &HistoryOptions) -> Vec<&'static str> {
    let specs = [&opts.tests.pre, &opts.tests.post];
    let mut out = Vec::new();
    if specs.iter().any(|w| w.window.is_some()) {
        out.push("window");
    }
    if specs.iter().any(|w| w.school_year.is_some()) {
        out.push("school_year");
    }
    if opts.grades.is_some() {
        out.push("grade");
    }
    out
}

/// A window spec in words: `window "fall", 2024-08-01..2024-10-31, school_year "2024-25"`.
fn describe(spec: &WindowSpec) -> String {
    let mut parts = Vec::new();
    if let Some(w) = &spec.window {
        parts.push(format!("window {w:?}"));
    }
    if spec.from.is_some() || spec.to.is_some() {
        parts.push(format!(
            "{}..{}",
            spec.from.map(|d| iso(d.0)).unwrap_or_default(),
            spec.to.map(|d| iso(d.0)).unwrap_or_default()
        ));
    }
    if let Some(y) = &spec.school_year {
        parts.push(format!("school_year {y:?}"));
    }
    parts.join(", ")
}

/// Types every row as it is read (on the reader's threads); bad rows and exact duplicates
/// are excepted, good rows marked valid (in file order). Returns the tests with the student
/// fields of each row (same positions).
fn type_rows(
    source: &mut Source,
    cols: &ColumnIndex,
    opts: &HistoryOptions,
    groups: &[String],
    ledger: &mut Ledger,
) -> Result<(Vec<Test>, Vec<RowInfo>), DataError> {
    /// A row's test and student fields, or its problems.
    enum Typed {
        Faults(Vec<super::load::Problem>),
        Bad(super::validate::Bad),
        /// With the hash of its [`RowValues`], computed here on the reader's threads.
        Row(Box<(Test, RowInfo)>, u64),
    }
    let hasher = std::hash::BuildHasherDefault::<super::load::Fnv>::default();
    let width = source.headers().len();
    let map = |raw: &Record<'_>| {
        if let Some(faults) = super::validate::row_fault(width, raw) {
            return Ok((raw.row, Typed::Faults(faults)));
        }
        let get = |f: &str| cols.get(raw, f).unwrap_or("");
        let (fields, bad) = test_fields(raw, 0, cols, &opts.ids, &opts.score_ranges);
        let (Some(test), true) = (fields, bad.is_empty()) else {
            return Ok((raw.row, Typed::Bad(bad)));
        };
        let school = get("school_id").trim();
        let info = RowInfo {
            school_id: (!school.is_empty()).then(|| school.to_string()),
            groups: groups.iter().map(|g| (g.clone(), get(g).trim().to_string())).collect(),
        };
        let hash = hasher.hash_one(RowValues(&test, &info));
        Ok((raw.row, Typed::Row(Box::new((test, info)), hash)))
    };
    let mut tests: Vec<Test> = Vec::new();
    let mut infos: Vec<RowInfo> = Vec::new();
    // Kept rows by their values (hash and position in `tests`), to find exact duplicates;
    // the hash is kept so that growing the table does not hash every row again.
    let mut seen: hashbrown::HashTable<(u64, u32)> = hashbrown::HashTable::new();
    source.scan(map, |(row, typed)| {
        let idx = ledger.push_row(row);
        match typed {
            Typed::Faults(problems) => {
                ledger.note_all(idx, problems);
            }
            Typed::Bad(bad) => super::validate::except_bad(ledger, idx, cols, bad),
            Typed::Row(typed, hash) => {
                let (mut test, info) = *typed;
                test.idx = idx;
                let same = |&(h, j): &(u64, u32)| {
                    h == hash && RowValues(&tests[j as usize], &infos[j as usize]) == RowValues(&test, &info)
                };
                if let Some(&(_, first)) = seen.find(hash, same) {
                    let first = tests[first as usize].row;
                    ledger.except(idx, "", "", ReasonCode::ExactDuplicate, format!("exact duplicate of row {first}"));
                    return Ok(());
                }
                let at = super::records::compact_index(tests.len(), &ledger.file)?;
                seen.insert_unique(hash, (hash, at), |&(h, _)| h);
                ledger.validate(idx);
                tests.push(test);
                infos.push(info);
            }
        }
        Ok(())
    })?;
    Ok((tests, infos))
}

/// What makes two history rows the same row: every value of the test (not its place in
/// the file) and the student fields.
struct RowValues<'a>(&'a Test, &'a RowInfo);

impl RowValues<'_> {
    #[allow(clippy::type_complexity)]
    fn key(
        &self,
    ) -> (&str, &str, chrono::NaiveDate, &str, Option<&str>, Option<i32>, u64, Option<u64>, bool, &RowInfo) {
        let t = self.0;
        (
            &t.student_id,
            &t.subject,
            t.date,
            &t.window,
            t.school_year.as_deref(),
            t.grade,
            t.score.to_bits(),
            t.sem.map(f64::to_bits),
            t.valid,
            self.1,
        )
    }
}

impl PartialEq for RowValues<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl std::hash::Hash for RowValues<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::date::Date;
    use crate::data::ledger::ExceptionKind;
    use crate::data::load::parse_csv;
    use crate::data::schema::{Break, RetestRule};

    fn raw(text: &str) -> RawTable {
        let (headers, rows, blank_lines) = parse_csv(text.as_bytes(), "history.csv").unwrap();
        RawTable {
            file: "history.csv".into(),
            path: "history.csv".into(),
            sha256: String::new(),
            headers,
            rows,
            blank_lines,
        }
    }

    fn d(s: &str) -> Date {
        Date(crate::data::date::parse_date(s).unwrap())
    }

    fn opts() -> HistoryOptions {
        HistoryOptions {
            subjects: vec!["math".into()],
            grades: None,
            tests: Tests {
                pre: WindowSpec { window: Some("fall".into()), ..Default::default() },
                post: WindowSpec { window: Some("spring".into()), ..Default::default() },
                retest: RetestRule::MinSemThenLatest,
                require_valid: true,
                breaks: vec![],
            },
            columns: BTreeMap::new(),
            ids: IdRules::default(),
            groups: STANDARD_GROUPS.iter().map(|g| g.to_string()).collect(),
            score_ranges: Default::default(),
        }
    }

    const HEADER: &str =
        "student_id,school_id,subject,test_date,window,school_year,grade,scale_score,sem,valid,gender\n";

    fn run(body: &str, o: &HistoryOptions) -> History {
        history_from_table(&raw(&format!("{HEADER}{body}")), o).unwrap()
    }

    /// "row: reason" of every exception.
    fn reasons(h: &History) -> Vec<String> {
        h.ledger.exceptions().iter().map(|e| format!("{}: {}", e.row, e.reason)).collect()
    }

    fn balanced(h: &History) -> Accounting {
        let a = h.accounting().unwrap();
        assert_eq!(a.rows_read, a.rows_used + a.rows_excepted);
        a
    }

    #[test]
    fn sample_history_loads_with_every_row_accounted_for() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples/history.csv");
        let h = load_history(&path, "history.csv", &Default::default(), &opts()).unwrap();
        // 4,766 students: 87 have no valid fall test, 609 no valid spring test after it.
        assert_eq!(h.students.len(), 4070);
        assert_eq!((h.students_without_pre, h.students_without_post), (87, 609));
        let a = balanced(&h);
        assert_eq!((a.rows_read, a.rows_used, a.rows_excepted), (9009, 8140, 869));
        assert!(h.ledger.exceptions().iter().all(|e| e.kind == ExceptionKind::Excluded && !e.reason.is_empty()));
        assert!(h.students.windows(2).all(|w| (&w[0].subject, &w[0].student_id) < (&w[1].subject, &w[1].student_id)));
        assert!(h.students.iter().all(|s| s.student_id.len() == 6 && s.pre.date < s.post.date));
        assert_eq!(h.groups.len(), 5);
        let s = h.students.iter().find(|s| s.student_id == "000174").unwrap();
        assert_eq!((s.pre.score, s.post.score, s.growth, s.grade), (210.0, 210.0, 0.0, Some(3)));
        assert_eq!(s.school_id.as_deref(), Some("S20"));
        assert_eq!(s.groups.get("race_ethnicity").map(String::as_str), Some("Hispanic"));
        assert!((s.growth_se.unwrap() - (2.7f64 * 2.7 + 2.6 * 2.6).sqrt()).abs() < 1e-12);
        assert!(h.warnings.is_empty(), "{:?}", h.warnings);
        // One school year: one record per student, each with the file's year.
        assert!(h.students.iter().all(|s| s.school_year.as_deref() == Some("2024-25")));

        // Grades 3-5 only: the rest are excluded by the grade on their pre-test.
        let o = HistoryOptions { grades: Some(vec![3, 4, 5]), ..opts() };
        let g = load_history(&path, "history.csv", &Default::default(), &o).unwrap();
        balanced(&g);
        assert_eq!(g.students.len(), 1998);
        assert!(g.students.iter().all(|s| matches!(s.grade, Some(3..=5))));
        assert!(g.ledger.exceptions().iter().any(|e| e.column == "grade" && e.reason.contains("not among the grades")));
    }

    #[test]
    fn retest_rule_picks_the_smallest_sem_and_weeks_skip_breaks() {
        let body = "01,S1,math,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    01,S1,math,2024-09-20,fall,2024-25,4,204,3.0,true,F\n\
                    01,S1,math,2025-05-12,spring,2024-25,4,212,3.2,true,F\n\
                    01,S1,math,2025-05-20,spring,2024-25,4,215,3.9,true,F\n";
        let mut o = opts();
        o.tests.breaks = vec![Break { from: d("2024-12-21"), to: d("2025-01-01") }];
        let h = run(body, &o);
        let s = &h.students[0];
        assert_eq!((s.pre.score, s.pre.row, s.post.score, s.post.row), (204.0, 3, 212.0, 4));
        assert_eq!(s.growth, 8.0);
        // 2024-09-20 -> 2025-05-12 is 234 days, 12 of them in the break.
        assert!((s.weeks_between - 222.0 / 7.0).abs() < 1e-12);
        let r = reasons(&h);
        assert!(r.iter().any(|x| x.starts_with("2: pre-test retest not chosen") && x.contains("row 3")), "{r:?}");
        assert!(r.iter().any(|x| x.starts_with("5: post-test retest not chosen") && x.contains("row 4")), "{r:?}");
        assert_eq!(balanced(&h).rows_used, 2);

        o.tests.retest = RetestRule::Latest;
        let h = run(body, &o);
        assert_eq!((h.students[0].pre.score, h.students[0].post.score), (204.0, 215.0));
        o.tests.retest = RetestRule::Earliest;
        assert_eq!(run(body, &o).students[0].pre.score, 200.0);
    }

    #[test]
    fn a_student_with_only_a_fall_row_is_excluded_with_the_reason() {
        let body = "01,S1,math,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    02,S1,math,2024-09-10,fall,2024-25,4,190,3.0,true,M\n\
                    02,S1,math,2025-05-10,spring,2024-25,4,199,3.0,true,M\n\
                    03,S1,math,2025-05-10,spring,2024-25,4,199,3.0,true,M\n\
                    04,S1,math,2024-09-10,fall,2024-25,4,190,3.0,true,M\n\
                    04,S1,math,2025-01-10,winter,2024-25,4,195,3.0,true,M\n\
                    04,S1,math,2025-05-10,spring,2024-25,4,199,3.0,false,M\n";
        let h = run(body, &opts());
        assert_eq!(h.students.iter().map(|s| s.student_id.as_str()).collect::<Vec<_>>(), vec!["02"]);
        assert_eq!((h.students_without_pre, h.students_without_post), (1, 2));
        let r = reasons(&h);
        let has = |row: u64, text: &str| r.iter().any(|x| x.starts_with(&format!("{row}: ")) && x.contains(text));
        assert!(has(2, "no valid post-test in the post window (window \"spring\") after the pre-test of 2024-09-10"));
        assert!(has(5, "no valid pre-test in the pre window (window \"fall\")"), "{r:?}");
        assert!(has(6, "no valid post-test"), "{r:?}");
        assert!(has(7, "not in the pre window") && has(7, "nor the post window"), "{r:?}");
        assert!(has(8, "test flagged invalid"), "{r:?}");
        let code = |row: u64| h.ledger.exceptions().iter().find(|e| e.row == row).unwrap().code;
        use ReasonCode::*;
        assert_eq!(
            [2, 5, 6, 7, 8].map(code),
            [NoPostTest, NoPreTest, NoPostTest, WindowNotPreOrPost, TestFlaggedInvalid]
        );
        let e = h.ledger.exceptions().iter().find(|e| e.row == 2).unwrap();
        assert_eq!((e.column.as_str(), e.value.as_str(), e.kind), ("student_id", "01", ExceptionKind::Excluded));
        let a = balanced(&h);
        assert_eq!((a.rows_used, a.rows_excepted), (2, 5));
    }

    #[test]
    fn a_post_test_must_be_after_the_pre_test() {
        // Windows by date only: the row in the post window is dated before the chosen pre-test.
        let mut o = opts();
        o.tests.pre = WindowSpec { from: Some(d("2024-09-05")), to: Some(d("2024-09-30")), ..Default::default() };
        o.tests.post = WindowSpec { from: Some(d("2024-08-01")), to: Some(d("2024-09-15")), ..Default::default() };
        let body = "01,S1,math,2024-09-01,fall,2024-25,4,200,3.0,true,F\n01,S1,math,2024-09-20,fall,2024-25,4,204,2.0,true,F\n";
        let h = run(body, &o);
        assert!(h.students.is_empty());
        assert_eq!(h.students_without_post, 1);
        assert!(reasons(&h).iter().any(|x| x.starts_with("2: post-test not after the pre-test of 2024-09-20")));
        assert_eq!(h.ledger.exceptions().iter().find(|e| e.row == 2).unwrap().code, ReasonCode::PostNotAfterPre);
        balanced(&h);
    }

    #[test]
    fn bad_rows_name_their_column_and_value() {
        let body = "01,S1,math,2024-13-01,fall,2024-25,4,200,3.5,true,F\n\
                    ,S1,math,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    02,S1,math,2024-09-10,fall,2024-25,fourth,N/A,-1,maybe,F\n\
                    03,S1,math,2024-09-10,fall,2024-25,4,200\n\
                    04,S1,math,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    04,S1,math,9/10/2024,fall,2024-25,4,200,3.5,true,F\n";
        let h = run(body, &opts());
        let ex = h.ledger.exceptions();
        let find = |col: &str, val: &str| {
            ex.iter().find(|e| e.column == col && e.value == val).unwrap_or_else(|| panic!("no {col}={val} in {ex:?}"))
        };
        assert_eq!(find("test_date", "2024-13-01").row, 2);
        assert_eq!(find("student_id", "").reason, "missing student_id");
        assert!(find("grade", "fourth").reason.contains("-1..=13"));
        assert!(find("scale_score", "N/A").reason.contains("not a finite number"));
        assert!(find("sem", "-1").reason.contains("positive"));
        assert!(find("valid", "maybe").reason.contains("true/false"));
        assert!(ex.iter().any(|e| e.row == 5 && e.reason.contains("row has 8 fields")));
        assert!(ex.iter().any(|e| e.row == 7 && e.reason == "exact duplicate of row 6"), "{ex:?}");
        assert!(ex.iter().filter(|e| e.row <= 5 || e.row == 7).all(|e| e.kind == ExceptionKind::Invalid));
        use ReasonCode::*;
        for ((col, val), code) in [
            (("test_date", "2024-13-01"), NotADate),
            (("student_id", ""), MissingValue),
            (("grade", "fourth"), NotAGrade),
            (("scale_score", "N/A"), NotANumber),
            (("sem", "-1"), OutOfRange),
            (("valid", "maybe"), NotAFlag),
        ] {
            assert_eq!(find(col, val).code, code, "{col}={val}");
        }
        let code = |row: u64| ex.iter().find(|e| e.row == row).unwrap().code;
        assert_eq!((code(5), code(7)), (WrongFieldCount, ExactDuplicate));
        balanced(&h);
    }

    #[test]
    fn an_unknown_subject_is_excluded() {
        let body = "01,S1,Science,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    01,S1,MATH,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    01,S1,math,2025-05-10,spring,2024-25,4,210,3.5,true,F\n";
        let h = run(body, &opts());
        let e = &h.ledger.exceptions()[0];
        assert_eq!((e.row, e.column.as_str(), e.value.as_str()), (2, "subject", "science"));
        assert!(e.reason.contains("not among the subjects asked for (math)"), "{e:?}");
        assert_eq!(e.code, ReasonCode::OtherSubject);
        assert_eq!(h.students.len(), 1, "subjects are matched case-insensitively");
        let o = HistoryOptions { subjects: vec!["reading".into()], ..opts() };
        let h = run(body, &o);
        assert!(h.students.is_empty());
        assert!(h.warnings.iter().any(|w| w.message.contains("no usable reading row")), "{:?}", h.warnings);
        assert_eq!(balanced(&h).rows_excepted, 3);
    }

    #[test]
    fn ids_keep_leading_zeros_and_pad_on_request() {
        let body = "00123,S1,math,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    00123,S1,math,2025-05-10,spring,2024-25,4,210,3.5,true,F\n\
                    123,S1,math,2024-09-10,fall,2024-25,4,190,3.5,true,F\n\
                    123,S1,math,2025-05-10,spring,2024-25,4,200,3.5,true,F\n";
        let h = run(body, &opts());
        let ids: Vec<&str> = h.students.iter().map(|s| s.student_id.as_str()).collect();
        assert_eq!(ids, vec!["00123", "123"]);
        assert!(h.warnings.iter().any(|w| w.message.contains("leading zeros")), "{:?}", h.warnings);
        // Padded, both IDs are one student with two fall and two spring tests: the retest rule
        // (equal SEMs, equal dates -> the later row) decides.
        let o = HistoryOptions { ids: IdRules { pad_width: Some(5) }, ..opts() };
        let h = run(body, &o);
        assert_eq!(h.students.len(), 1);
        assert_eq!((h.students[0].student_id.as_str(), h.students[0].pre.row), ("00123", 4));
        balanced(&h);
    }

    #[test]
    fn missing_columns_and_mapped_headers() {
        let text = "ID,Subj,Date,window,RIT\n0042,math,2024-09-10,fall,200\n0042,math,2025-05-10,spring,210\n";
        let err = history_from_table(&raw(text), &opts()).unwrap_err().to_string();
        assert!(err.contains("student_id") && err.contains("\"RIT\""), "{err}");
        let mut o = opts();
        for (f, h) in [("student_id", "ID"), ("subject", "Subj"), ("test_date", "Date"), ("scale_score", "RIT")] {
            o.columns.insert(f.into(), h.into());
        }
        let h = history_from_table(&raw(text), &o).unwrap();
        assert_eq!(h.students[0].student_id, "0042");
        assert_eq!((h.students[0].grade, h.students[0].school_id.clone(), h.students[0].growth_se), (None, None, None));
        assert!(h.groups.is_empty());
        // A grade filter needs the grade column.
        o.grades = Some(vec![4]);
        let err = history_from_table(&raw(text), &o).unwrap_err().to_string();
        assert!(err.contains("`grade`"), "{err}");
    }

    #[test]
    fn windows_matching_nothing_and_differing_student_values_are_warned() {
        let body = "01,S1,math,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                    01,S2,math,2025-05-10,spring,2024-25,4,210,3.5,true,F\n";
        let h = run(body, &opts());
        assert_eq!(h.students[0].school_id.as_deref(), Some("S1"), "the pre-test row's school");
        assert!(
            h.warnings.iter().any(|w| w.message.contains("1 students have different school_id")),
            "{:?}",
            h.warnings
        );
        let mut o = opts();
        o.tests.post.window = Some("sprng".into());
        let h = run(body, &o);
        assert!(h.warnings.iter().any(|w| w.message.contains("post window (window \"sprng\")")), "{:?}", h.warnings);
        assert!(!h.warnings.iter().any(|w| w.message.contains("pre window")), "{:?}", h.warnings);
        balanced(&h);
    }

    #[test]
    fn parquet_files_load_with_ids_as_text() {
        use crate::data::table::{Column, Format, Table};
        let text = |v: &[&str]| Column::Text(v.iter().map(|s| Some(s.to_string())).collect());
        let mut t = Table::new();
        t.push("student_id", text(&["0007", "0007"]));
        t.push("subject", text(&["math", "math"]));
        t.push("test_date", text(&["2024-09-10", "2025-05-10"]));
        t.push("window", text(&["fall", "spring"]));
        t.push("scale_score", Column::Float(vec![Some(200.0), Some(211.5)]));
        t.push("sem", Column::Float(vec![Some(3.0), None]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.parquet");
        t.write(&path, Format::Parquet).unwrap();
        let h = load_history(&path, "history.parquet", &Default::default(), &opts()).unwrap();
        assert_eq!(h.students.len(), 1);
        let s = &h.students[0];
        assert_eq!((s.student_id.as_str(), s.growth, s.growth_se, s.post.row), ("0007", 11.5, None, 3));
        assert_eq!(balanced(&h).rows_used, 2);
    }

    #[test]
    fn warnings_name_at_most_five_students_and_each_subject_without_rows() {
        let body: String = (1..=7)
            .map(|i| {
                format!(
                    "{i:02},S1,math,2024-09-10,fall,2024-25,4,200,3.5,true,F\n\
                     {i:02},S2,math,2025-05-10,spring,2024-25,4,210,3.5,true,F\n"
                )
            })
            .collect();
        let o = HistoryOptions { subjects: vec!["math".into(), "Reading".into()], ..opts() };
        let h = run(&body, &o);
        assert_eq!(h.students.len(), 7);
        let differing: Vec<&Warning> =
            h.warnings.iter().filter(|w| w.message.contains("different school_id")).collect();
        assert_eq!(differing.len(), 1, "{:?}", h.warnings);
        assert!(
            differing[0].message.contains("7 students")
                && differing[0].message.contains("e.g. 01 (math), 02 (math), 03 (math), 04 (math), 05 (math))")
        );
        assert!(!differing[0].message.contains("06 (math)"), "{}", differing[0]);
        assert!(h.warnings.iter().any(|w| w.message == "history.csv: no usable reading row"), "{:?}", h.warnings);
        assert!(!h.warnings.iter().any(|w| w.message.contains("leading zeros")), "all IDs have one length");
        balanced(&h);
    }

    #[test]
    fn several_school_years_give_one_record_per_student_and_year() {
        // 01 is tested in two years; 02 has a fall test in one year and a spring test in the
        // next, which must not pair; 03's fall row has no school year.
        let body = "01,S1,math,2022-09-10,fall,2022-23,3,190,3.0,true,F\n\
                    01,S1,math,2023-05-10,spring,2022-23,3,199,3.0,true,F\n\
                    01,S2,math,2023-09-12,fall,2023-24,4,201,3.0,true,F\n\
                    01,S2,math,2024-05-14,spring,2023-24,4,208,3.0,true,F\n\
                    02,S1,math,2022-09-10,fall,2022-23,3,190,3.0,true,M\n\
                    02,S1,math,2024-05-14,spring,2023-24,4,215,3.0,true,M\n\
                    03,S1,math,2023-09-12,fall,,4,200,3.0,true,M\n\
                    03,S1,math,2024-05-14,spring,2023-24,4,205,3.0,true,M\n";
        let h = run(body, &opts());
        let kept: Vec<(&str, Option<&str>, u64, u64)> = h
            .students
            .iter()
            .map(|s| (s.student_id.as_str(), s.school_year.as_deref(), s.pre.row, s.post.row))
            .collect();
        assert_eq!(kept, vec![("01", Some("2022-23"), 2, 3), ("01", Some("2023-24"), 4, 5)]);
        let (a, b) = (&h.students[0], &h.students[1]);
        assert_eq!((a.growth, a.grade, b.growth, b.grade), (9.0, Some(3), 7.0, Some(4)));
        assert_eq!((a.school_id.as_deref(), b.school_id.as_deref()), (Some("S1"), Some("S2")));
        assert!(h.warnings.is_empty(), "a student's school may change between years: {:?}", h.warnings);
        // 02 (twice: one year without a spring test, one without a fall test) and 03.
        assert_eq!((h.students_without_pre, h.students_without_post), (2, 1));
        let r = reasons(&h);
        let has = |row: u64, text: &str| r.iter().any(|x| x.starts_with(&format!("{row}: ")) && x.contains(text));
        assert!(has(6, "no valid post-test in the post window"), "{r:?}");
        assert!(
            has(7, "no valid pre-test in the pre window (window \"fall\") for math in school year 2023-24"),
            "{r:?}"
        );
        assert!(has(8, "no school_year on a row of a history file of several school years"), "{r:?}");
        assert!(has(9, "no valid pre-test") && has(9, "2023-24"), "{r:?}");
        let e = h.ledger.exceptions().iter().find(|e| e.row == 8).unwrap();
        assert_eq!((e.column.as_str(), e.value.as_str(), e.kind), ("school_year", "", ExceptionKind::Excluded));
        let a = balanced(&h);
        assert_eq!((a.rows_read, a.rows_used, a.rows_excepted), (8, 4, 4));
    }

    #[test]
    fn a_school_year_named_in_the_windows_or_a_single_year_reads_as_before() {
        let body = "01,S1,math,2022-09-10,fall,2022-23,3,190,3.0,true,F\n\
                    01,S1,math,2023-05-10,spring,2022-23,3,199,3.0,true,F\n\
                    01,S1,math,2023-09-12,fall,2023-24,4,201,3.0,true,F\n\
                    01,S1,math,2024-05-14,spring,2023-24,4,208,3.0,true,F\n";
        // Windows naming the school year: one year is chosen, the other's rows are not in it.
        let mut o = opts();
        o.tests.pre.school_year = Some("2023-24".into());
        o.tests.post.school_year = Some("2023-24".into());
        let h = run(body, &o);
        assert_eq!(h.students.len(), 1);
        assert_eq!((h.students[0].pre.row, h.students[0].post.row), (4, 5));
        assert_eq!(h.students[0].school_year.as_deref(), Some("2023-24"));
        assert!(reasons(&h).iter().filter(|x| x.contains("not in the pre window")).count() == 2, "{:?}", reasons(&h));
        assert_eq!(balanced(&h).rows_used, 2);
        // Without a school_year column the rows are one group: the retest rule picks among
        // both falls and both springs, as it always did.
        let text = "student_id,subject,test_date,window,scale_score\n\
                    01,math,2022-09-10,fall,190\n01,math,2023-05-10,spring,199\n\
                    01,math,2023-09-12,fall,201\n01,math,2024-05-14,spring,208\n";
        let h = history_from_table(&raw(text), &opts()).unwrap();
        assert_eq!(h.students.len(), 1);
        assert_eq!((h.students[0].pre.row, h.students[0].post.row, h.students[0].school_year.clone()), (4, 5, None));
        assert_eq!(balanced(&h).rows_excepted, 2);
    }
}
