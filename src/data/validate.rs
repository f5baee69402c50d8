//! Typing and checking the three input files. Each bad row becomes one or more
//! [`Exception`](super::ledger::Exception)s naming file, row, column, value and reason; good
//! rows become typed records. Nothing is fixed silently: the one repair, zero-padding of
//! student IDs, happens only when the configuration asks for it (`ids.pad_width`).

use crate::stats::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;

use chrono::NaiveDate;
use serde::Serialize;

use super::assignments::Assignments;
use super::date::{date_problem, parse_date};
use super::ledger::{Ledger, ReasonCode};
use super::load::{ColumnIndex, Fields, RawTable, Record, Source};
use super::records::{CompactSession, CompactTest, Interner, ShortText, compact_index};
use super::roster_rules::{self, GroupRules};
use super::schema::{Columns, IdRules, Role, ScoreRanges};
use super::vendor::measures::{self, VendorColumns, VendorValues};
use crate::error::DataError;

/// A student on the roster.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Student {
    pub idx: usize,
    pub row: u64,
    pub student_id: String,
    pub school_id: String,
    pub grade: i32,
    /// `None` = comparison student (not tutored).
    pub provider_id: Option<String>,
    pub tutor_id: Option<String>,
    pub enroll_date: Option<NaiveDate>,
    pub exit_date: Option<NaiveDate>,
    /// Equity-group values by group name (absent column = not present); shared with the
    /// student's analytic rows.
    pub groups: Groups,
}

/// A student's equity-group values by group name, shared (not copied) by the student's
/// rows: a district's million students would otherwise hold a map per row and subject.
pub type Groups = std::sync::Arc<BTreeMap<String, String>>;

/// Whether a scheduled session took place with the student.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Attended,
    Absent,
    Cancelled,
}

/// One row of the session log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Session {
    pub idx: usize,
    pub row: u64,
    pub student_id: String,
    pub provider_id: String,
    pub tutor_id: Option<String>,
    pub date: NaiveDate,
    pub minutes: f64,
    pub status: Status,
    pub group_size: Option<u32>,
}

/// One test event.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Test {
    pub idx: usize,
    pub row: u64,
    pub student_id: String,
    pub subject: String,
    pub date: NaiveDate,
    /// Lower-cased window label ("" when the file has none).
    pub window: String,
    pub school_year: Option<String>,
    pub grade: Option<i32>,
    pub score: f64,
    pub sem: Option<f64>,
    pub valid: bool,
}

/// What validation needs from the configuration.
#[derive(Clone, Debug, Default)]
pub struct ValidateOptions {
    pub columns: Columns,
    pub ids: IdRules,
    /// The contract's providers; `None` = the providers named on the roster.
    pub providers: Option<Vec<String>>,
    /// Equity-group columns to carry from the roster.
    pub groups: Vec<String>,
    /// Optional assessment fields that the contract's rules need (e.g. `window` when a test
    /// window is chosen by label): a file without them is an error, not an empty match.
    pub required_test_fields: Vec<String>,
    /// Roster `provider_id` values meaning "not tutored" (trimmed; default: empty only).
    pub comparison_values: Vec<String>,
    /// Which reporting groups may be carried (README "Privacy").
    pub group_rules: GroupRules,
    /// Plausible scale scores and SEMs by subject; others are exceptions.
    pub score_ranges: ScoreRanges,
    /// The contract's window pair in snake case (`fall_to_spring`), whose vendor growth
    /// columns are read ([`super::vendor::measures`]); `None` when a window is not a label.
    pub vendor_pair: Option<String>,
    /// The contract's subjects (lower case): an assignments row for another is excluded.
    pub subjects: Vec<String>,
}

/// The three input files, read as text.
#[derive(Clone, Debug)]
pub struct RawInputs {
    pub roster: RawTable,
    pub sessions: RawTable,
    pub assessments: RawTable,
    /// The per-subject providers of `[files] assignments`, when the contract names them.
    pub assignments: Option<RawTable>,
}

/// Typed, checked inputs with their row ledgers. The session log and the assessments are
/// held as compact records (grouped by student, in file order within a student, exact
/// duplicates removed: [`super::records`]); [`Validated::sessions`] and
/// [`Validated::tests`] give them back as typed rows in file order.
#[derive(Clone, Debug)]
pub struct Validated {
    pub students: Vec<Student>,
    pub(crate) compact_sessions: Vec<CompactSession>,
    pub(crate) compact_tests: Vec<CompactTest>,
    /// Tutor IDs of the compact sessions.
    pub(crate) tutors: Interner,
    /// Subjects, windows and school years of the compact tests.
    pub(crate) texts: Interner,
    pub roster_ledger: Ledger,
    pub sessions_ledger: Ledger,
    pub assessments_ledger: Ledger,
    /// Findings that are not row exceptions (e.g. IDs that look like they lost zeros).
    pub warnings: Vec<Warning>,
    /// Equity-group columns present in the roster.
    pub groups: Vec<String>,
    /// Where each field was found (for naming the district's headers in exceptions).
    pub roster_columns: ColumnIndex,
    pub test_columns: ColumnIndex,
    /// Students whose roster rows were all excepted (not exact duplicates): by ID, the
    /// provider their row named (if known). They were assigned but cannot be analysed, so
    /// the flow table counts them as attrition.
    pub roster_rejects: BTreeMap<String, Option<String>>,
    /// The vendor growth measures the assessments file has columns for (README
    /// "Vendor growth measures").
    pub vendor_columns: VendorColumns,
    /// The vendor values of each valid test row that has any, by the row's number.
    pub vendor: HashMap<u64, VendorValues>,
    /// The assignments file checked, when the contract names one.
    pub assignments: Option<Assignments>,
    /// Providers of the compact sessions (the listed one, or the student's only provider).
    pub(crate) session_providers: Interner,
}

impl Validated {
    /// The ledgers of the input files: roster, sessions, assessments, then the assignments
    /// file when there is one.
    pub fn ledgers(&self) -> Vec<&Ledger> {
        let mut out = vec![&self.roster_ledger, &self.sessions_ledger, &self.assessments_ledger];
        out.extend(self.assignments.as_ref().map(|a| &a.ledger));
        out
    }

    /// How many session rows are valid (exact duplicates removed).
    pub fn session_count(&self) -> usize {
        self.compact_sessions.len()
    }

    /// How many test rows are valid (exact duplicates removed).
    pub fn test_count(&self) -> usize {
        self.compact_tests.len()
    }

    /// The valid session rows, typed, in file order. A valid session's provider is the one
    /// it lists, or its student's only provider.
    pub fn sessions(&self) -> Vec<Session> {
        let mut out: Vec<Session> = self
            .compact_sessions
            .iter()
            .map(|c| {
                let student = &self.students[c.student as usize];
                Session {
                    idx: c.idx as usize,
                    row: self.sessions_ledger.row_number(c.idx as usize),
                    student_id: student.student_id.clone(),
                    provider_id: self.session_providers.name(c.provider).unwrap_or_default().to_string(),
                    tutor_id: self.tutors.name(c.tutor).map(str::to_string),
                    date: c.date,
                    minutes: c.minutes,
                    status: c.status,
                    group_size: (c.group_size > 0).then_some(u32::from(c.group_size)),
                }
            })
            .collect();
        out.sort_by_key(|s| s.idx);
        out
    }

    /// The valid test rows, typed, in file order.
    pub fn tests(&self) -> Vec<Test> {
        let text = |id: u32| self.texts.name(id).map(str::to_string);
        let mut out: Vec<Test> = self
            .compact_tests
            .iter()
            .map(|c| Test {
                idx: c.idx as usize,
                row: self.assessments_ledger.row_number(c.idx as usize),
                student_id: self.students[c.student as usize].student_id.clone(),
                subject: text(c.subject).unwrap_or_default(),
                date: c.date,
                window: text(c.window).unwrap_or_default(),
                school_year: text(c.school_year),
                grade: c.grade,
                score: c.score,
                sem: c.sem,
                valid: c.valid,
            })
            .collect();
        out.sort_by_key(|t| t.idx);
        out
    }
}

pub(crate) fn clean(s: Option<&str>) -> Option<String> {
    s.map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
}

/// Parses a grade: integers -1..=13, "K"/"KG" = 0, "PK" = -1, "3.0" = 3.
pub fn parse_grade(text: &str) -> Option<i32> {
    let t = text.trim();
    let is = |words: &[&str]| words.iter().any(|w| t.eq_ignore_ascii_case(w));
    if is(&["K", "KG", "KN"]) {
        return Some(0);
    }
    if is(&["PK", "PREK", "PRE-K"]) {
        return Some(-1);
    }
    let v: f64 = t.parse().ok()?;
    (v.fract() == 0.0 && (-1.0..=13.0).contains(&v)).then_some(v as i32)
}

/// Parses a finite number ("N/A", "45 min", "inf" are not numbers).
pub fn parse_number(text: &str) -> Option<f64> {
    let v: f64 = text.trim().parse().ok()?;
    v.is_finite().then_some(v)
}

/// The value whose words (matched without case) include `text` trimmed.
fn one_of<T: Copy>(text: &str, table: &[(&[&str], T)]) -> Option<T> {
    let t = text.trim();
    table.iter().find(|(words, _)| words.iter().any(|w| t.eq_ignore_ascii_case(w))).map(|&(_, v)| v)
}

fn parse_flag(text: &str) -> Option<bool> {
    one_of(
        text,
        &[(&["", "true", "t", "1", "y", "yes", "valid"], true), (&["false", "f", "0", "n", "no", "invalid"], false)],
    )
}

fn parse_status(text: &str) -> Option<Status> {
    one_of(
        text,
        &[
            (&["", "attended", "present", "p", "completed", "complete", "held"], Status::Attended),
            (&["absent", "a", "no-show", "no show", "noshow", "missed"], Status::Absent),
            (&["cancelled", "canceled", "c", "cancel"], Status::Cancelled),
        ],
    )
}

/// Locates, reads and checks all three files held in memory: the rules and the row
/// accounting of [`validate_streams`] (one validation path), with the valid session and
/// test rows given back as typed records in file order.
pub fn validate(inputs: &RawInputs, opts: &ValidateOptions) -> Result<Validated, DataError> {
    validate_streams(
        Source::from_table(inputs.roster.clone()),
        Source::from_table(inputs.sessions.clone()),
        Source::from_table(inputs.assessments.clone()),
        inputs.assignments.clone(),
        opts,
    )
}

/// A fault of the row as a whole (unreadable text, swallowed lines, wrong number of
/// fields): the row is excepted before its fields are read.
pub(crate) fn row_fault<R: Fields>(headers: usize, raw: &R) -> Option<Vec<super::load::Problem>> {
    if let Some(d) = raw.defect() {
        return Some(d.problems());
    }
    (raw.width() != headers).then(|| {
        let reason = format!("row has {} fields, the header has {}", raw.width(), headers);
        vec![(String::new(), String::new(), ReasonCode::WrongFieldCount, reason)]
    })
}

/// A roster row that was excepted for a reason other than being an exact copy: its ID
/// (normalised) and the provider it names, for [`rejected_students`].
struct ExceptedRow {
    row: u64,
    id: String,
    provider: Option<String>,
}

impl ExceptedRow {
    fn of<R: Fields + ?Sized>(raw: &R, cols: &ColumnIndex, opts: &ValidateOptions) -> ExceptedRow {
        let id = opts.ids.normalize(cols.get(raw, "student_id").unwrap_or("")).into_owned();
        ExceptedRow { row: raw.row(), id, provider: clean(cols.get(raw, "provider_id")) }
    }
}

/// IDs whose every roster row was excepted for a reason other than being an exact copy, by
/// the provider of the first such row; and the first roster row of each (for the reason a
/// session or test of the student is not used). `excepted` is in file order.
fn rejected_students(
    excepted: Vec<ExceptedRow>,
    students: &[Student],
) -> (BTreeMap<String, Option<String>>, HashMap<String, u64>) {
    let mut out = BTreeMap::new();
    let mut first_row = HashMap::new();
    if excepted.is_empty() {
        return (out, first_row);
    }
    let kept: HashSet<&str> = students.iter().map(|s| s.student_id.as_str()).collect();
    for e in excepted {
        if e.id.is_empty() || kept.contains(e.id.as_str()) {
            continue;
        }
        first_row.entry(e.id.clone()).or_insert(e.row);
        out.entry(e.id).or_insert(e.provider);
    }
    (out, first_row)
}

/// The roster-wide rules on reporting groups and provider codes (see [`roster_rules`]).
fn check_roster_codes(
    students: &mut [Student],
    groups: &[String],
    opts: &ValidateOptions,
    file: &str,
) -> Result<Vec<Warning>, DataError> {
    roster_rules::check_provider_codes(students, opts.providers.is_some(), file)?;
    roster_rules::check_group_values(students, groups, &opts.group_rules, file)
}

fn extra_groups(opts: &ValidateOptions) -> Vec<String> {
    opts.groups.iter().filter(|g| !super::schema::STANDARD_GROUPS.contains(&g.as_str())).cloned().collect()
}

/// The enrolment dates and provider of a roster or assignments row, each problem added to
/// `bad`: a date that is not a date, an exit before the enrolment, a provider the contract
/// does not list. A comparison value (`comparison_values`) is no provider.
pub(crate) fn enrolment_fields<R: Fields + ?Sized>(
    raw: &R,
    cols: &ColumnIndex,
    opts: &ValidateOptions,
    bad: &mut Bad,
) -> (Option<NaiveDate>, Option<NaiveDate>, Option<String>) {
    let get = |f: &str| cols.get(raw, f).unwrap_or("");
    let mut date_of = |field: &'static str| -> Option<NaiveDate> {
        let text = get(field);
        if text.trim().is_empty() {
            return None;
        }
        let d = parse_date(text);
        if d.is_none() {
            bad.push((field, text.into(), ReasonCode::NotADate, date_problem(text)));
        }
        d
    };
    let enroll_date = date_of("enroll_date");
    let exit_date = date_of("exit_date");
    if let (Some(e), Some(x)) = (enroll_date, exit_date)
        && x < e
    {
        bad.push((
            "exit_date",
            get("exit_date").into(),
            ReasonCode::ExitBeforeEnroll,
            "exit_date is before enroll_date".into(),
        ));
    }
    let provider_id =
        clean(cols.get(raw, "provider_id")).filter(|p| !opts.comparison_values.iter().any(|c| c.trim() == p.as_str()));
    if let (Some(p), Some(list)) = (&provider_id, &opts.providers)
        && !list.contains(p)
    {
        let reason = format!("unknown provider (the contract lists {list:?})");
        bad.push(("provider_id", p.clone(), ReasonCode::UnknownProvider, reason));
    }
    (enroll_date, exit_date, provider_id)
}

/// One roster row as [`roster_row`] checks it on the worker threads.
enum RosterRow {
    /// A fault of the record itself ([`row_fault`]).
    Faults(Vec<super::load::Problem>, ExceptedRow),
    /// Bad fields: (field, value, code, reason).
    Bad(Vec<(String, String, ReasonCode, String)>, ExceptedRow),
    /// A student, with its group values still to be shared ([`GROUP_SEP`] between them, in
    /// the order of `groups`), and the provider text its row names when that is one of
    /// the comparison values (the student then has no provider).
    Student(Box<(Student, String, Option<String>)>),
}

/// Joins a student's group values in [`RosterRow::Student`]: a control character, which
/// no valid group value holds ([`roster_rules::group_value_fault`]).
const GROUP_SEP: char = '\u{1f}';

/// Checks one roster row. The student's `groups` are left empty: [`validate_roster`] gives
/// each student the one shared map of its values.
fn roster_row(
    raw: &Record<'_>,
    width: usize,
    cols: &ColumnIndex,
    opts: &ValidateOptions,
    groups: &[String],
    no_groups: &Groups,
) -> RosterRow {
    if let Some(faults) = row_fault(width, raw) {
        return RosterRow::Faults(faults, ExceptedRow::of(raw, cols, opts));
    }
    let get = |f: &str| cols.get(raw, f).unwrap_or("");
    let mut bad: Vec<(String, String, ReasonCode, String)> = Vec::new();
    let id = opts.ids.normalize(get("student_id")).into_owned();
    if id.is_empty() {
        bad.push(("student_id".into(), String::new(), ReasonCode::MissingValue, "missing student_id".into()));
    }
    let school = get("school_id").trim().to_string();
    if school.is_empty() {
        bad.push(("school_id".into(), String::new(), ReasonCode::MissingValue, "missing school_id".into()));
    }
    let grade = parse_grade(get("grade"));
    if grade.is_none() {
        bad.push((
            "grade".into(),
            get("grade").into(),
            ReasonCode::NotAGrade,
            "grade is not an integer in -1..=13 (K = 0, PK = -1)".into(),
        ));
    }
    let mut enrolment: Bad = Vec::new();
    let (enroll_date, exit_date, provider_id) = enrolment_fields(raw, cols, opts, &mut enrolment);
    bad.extend(enrolment.into_iter().map(|(field, value, code, reason)| (field.to_string(), value, code, reason)));
    for g in groups {
        if let Some(fault) = roster_rules::group_value_fault(get(g).trim()) {
            let shown: String = get(g).chars().filter(|c| !c.is_control()).take(40).collect();
            bad.push((g.clone(), shown, ReasonCode::BadGroupValue, fault));
        }
    }
    if !bad.is_empty() {
        return RosterRow::Bad(bad, ExceptedRow::of(raw, cols, opts));
    }
    let comparison_label = if provider_id.is_none() { clean(cols.get(raw, "provider_id")) } else { None };
    let student = Student {
        idx: 0,
        row: raw.row(),
        student_id: id,
        school_id: school,
        grade: grade.unwrap_or_default(),
        provider_id,
        tutor_id: clean(cols.get(raw, "tutor_id")),
        enroll_date,
        exit_date,
        groups: no_groups.clone(),
    };
    let mut values = String::new();
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            values.push(GROUP_SEP);
        }
        values.push_str(get(g).trim());
    }
    RosterRow::Student(Box::new((student, values, comparison_label)))
}

/// The roster read and checked: its students and the rows excepted (other than exact copies).
struct Roster {
    students: Vec<Student>,
    excepted: Vec<ExceptedRow>,
}

fn validate_roster(
    mut source: Source,
    cols: &ColumnIndex,
    opts: &ValidateOptions,
    groups: &[String],
    ledger: &mut Ledger,
    warnings: &mut Vec<Warning>,
) -> Result<Roster, DataError> {
    let width = source.headers().len();
    let file = source.file().to_string();
    let no_groups = Groups::default();
    // Students with the same group values share one map (a district has few combinations).
    let mut shared: HashMap<String, Groups, std::hash::BuildHasherDefault<super::load::Fnv>> = HashMap::default();
    let mut candidates: Vec<(Student, Option<String>)> = Vec::with_capacity(source.rows_hint());
    let mut excepted: Vec<(usize, ExceptedRow)> = Vec::new();
    // Rows are checked on the pool and entered in the ledger in file order.
    let check = |raw: &Record<'_>| Ok((raw.row(), roster_row(raw, width, cols, opts, groups, &no_groups)));
    source.scan(check, |(row, checked)| {
        let idx = ledger.push_row(row);
        match checked {
            RosterRow::Faults(faults, who) => {
                ledger.note_all(idx, faults);
                excepted.push((idx, who));
            }
            RosterRow::Bad(bad, who) => {
                for (c, v, code, r) in bad {
                    let header = if c.is_empty() { c } else { cols.header(&c) };
                    ledger.except(idx, &header, &v, code, r);
                }
                excepted.push((idx, who));
            }
            RosterRow::Student(checked) => {
                let (mut student, values, comparison_label) = *checked;
                student.idx = idx;
                student.groups = match shared.get(values.as_str()) {
                    Some(g) => g.clone(),
                    None => {
                        let map = groups.iter().zip(values.split(GROUP_SEP)).map(|(g, v)| (g.clone(), v.to_string()));
                        let map = Groups::new(map.collect());
                        shared.insert(values, map.clone());
                        map
                    }
                };
                candidates.push((student, comparison_label));
            }
        }
        Ok(())
    })?;
    let (sha, blank) = source.finish()?;
    ledger.set_source(sha, blank);
    drop(shared);

    // Duplicate student IDs: exact copies keep the first row; conflicting rows are all
    // excepted, since no rule can say which one is right.
    let mut first: HashMap<&str, usize, std::hash::BuildHasherDefault<super::load::Fnv>> =
        HashMap::with_capacity_and_hasher(candidates.len(), Default::default());
    let mut by_id: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, (s, _)) in candidates.iter().enumerate() {
        match first.entry(s.student_id.as_str()) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i);
            }
            std::collections::hash_map::Entry::Occupied(e) => {
                by_id.entry(s.student_id.clone()).or_insert_with(|| vec![*e.get()]).push(i);
            }
        }
    }
    drop(first);
    let mut drop = vec![false; candidates.len()];
    for (id, members) in &by_id {
        let first = &candidates[members[0]].0;
        let same = |s: &Student| Student { idx: 0, row: 0, ..s.clone() } == Student { idx: 0, row: 0, ..first.clone() };
        if members.iter().all(|&m| same(&candidates[m].0)) {
            for &m in &members[1..] {
                drop[m] = true;
                ledger.except(
                    candidates[m].0.idx,
                    &cols.header("student_id"),
                    id,
                    ReasonCode::ExactDuplicate,
                    format!("exact duplicate of row {}", first.row),
                );
            }
        } else {
            let rows: Vec<String> = members.iter().map(|&m| candidates[m].0.row.to_string()).collect();
            for &m in members {
                drop[m] = true;
                let (s, label) = &candidates[m];
                ledger.except(
                    s.idx,
                    &cols.header("student_id"),
                    id,
                    ReasonCode::DuplicateStudent,
                    format!("student_id appears on rows {} with different values", rows.join(", ")),
                );
                let provider = s.provider_id.clone().or_else(|| label.clone());
                excepted.push((s.idx, ExceptedRow { row: s.row, id: id.clone(), provider }));
            }
        }
    }
    let students: Vec<Student> = candidates.into_iter().zip(drop).filter(|(_, d)| !d).map(|((s, _), _)| s).collect();
    for s in &students {
        ledger.validate(s.idx);
    }

    let digits: Vec<&Student> = students.iter().filter(|s| s.student_id.bytes().all(|b| b.is_ascii_digit())).collect();
    let lengths: BTreeSet<usize> = digits.iter().map(|s| s.student_id.len()).collect();
    if digits.len() == students.len() && lengths.len() > 1 && opts.ids.pad_width.is_none() {
        warnings.push(Warning::new(
            WarningCode::IdLeadingZeros,
            format!(
                "{file}: all-digit student IDs have {} different lengths ({:?}); if IDs should have one width, \
             leading zeros may have been lost before this file was written",
                lengths.len(),
                lengths
            ),
        ));
    }
    excepted.sort_by_key(|(idx, _)| *idx);
    Ok(Roster { students, excepted: excepted.into_iter().map(|(_, e)| e).collect() })
}

/// Roster lookup, with the diagnosis of IDs that are not on it: a roster row that was
/// excepted, or the same ID apart from leading zeros (lost in either file).
pub(crate) struct RosterIndex<'a> {
    pub(crate) students: &'a [Student],
    /// Position in `students` by ID.
    by_id: HashMap<&'a str, usize, std::hash::BuildHasherDefault<super::load::Fnv>>,
    /// Roster IDs by their form without leading zeros, made when first needed (an ID
    /// not on the roster).
    by_stripped: std::sync::OnceLock<HashMap<String, Vec<String>>>,
    /// Rejected IDs with the first excepted roster row.
    rejected: HashMap<String, u64>,
}

impl<'a> RosterIndex<'a> {
    /// The index of `students`; `rejected`: the first roster row of each ID whose every
    /// row was excepted ([`rejected_students`]).
    fn new(students: &'a [Student], rejected: HashMap<String, u64>) -> Self {
        let by_id = students.iter().enumerate().map(|(i, s)| (s.student_id.as_str(), i)).collect();
        RosterIndex { students, by_id, by_stripped: std::sync::OnceLock::new(), rejected }
    }

    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.by_id.get(id).copied()
    }

    /// Reason for an ID that is not on the roster.
    pub(crate) fn missing_reason(&self, id: &str) -> (ReasonCode, String) {
        if let Some(row) = self.rejected.get(id) {
            return (ReasonCode::RosterRowInvalid, format!("the student's roster row {row} was excepted"));
        }
        let by_stripped = self.by_stripped.get_or_init(|| {
            let mut by_stripped: HashMap<String, Vec<String>> = HashMap::new();
            for s in self.students {
                by_stripped
                    .entry(s.student_id.trim_start_matches('0').to_string())
                    .or_default()
                    .push(s.student_id.clone());
            }
            by_stripped
        });
        match by_stripped.get(id.trim_start_matches('0')) {
            Some(ids) => (
                ReasonCode::IdLeadingZeros,
                format!("student_id not on the roster; matches roster ID {} apart from leading zeros", ids[0]),
            ),
            None => (ReasonCode::UnknownStudent, "student_id not on the roster".into()),
        }
    }
}

/// The typed values of a session row that passed every check.
struct SessionValues {
    /// Position of the student in the roster's valid students.
    student: usize,
    tutor: Option<ShortText>,
    /// The provider the row names.
    listed: Option<ShortText>,
    date: NaiveDate,
    minutes: f64,
    status: Status,
    group_size: Option<u32>,
}

/// The roster position of a row's `student_id` (normalised as the contract's `[ids]` say),
/// or the problem with it on `bad`: missing, or not on the roster (with the roster's reason).
pub(crate) fn roster_student(
    raw_id: &str,
    opts: &ValidateOptions,
    roster: &RosterIndex,
    bad: &mut Bad,
) -> Option<usize> {
    let id = opts.ids.normalize(raw_id);
    if id.is_empty() {
        bad.push(("student_id", String::new(), ReasonCode::MissingValue, "missing student_id".into()));
        return None;
    }
    let s = roster.position(&id);
    if s.is_none() {
        let (code, reason) = roster.missing_reason(&id);
        bad.push(("student_id", raw_id.into(), code, reason));
    }
    s
}

/// Checks one session row (whose row-level faults were ruled out).
fn check_session<R: Fields>(
    raw: &R,
    at: &SessionColumns,
    opts: &ValidateOptions,
    roster: &RosterIndex,
    known_providers: &KnownProviders<'_>,
    providers: &StudentProviders,
) -> Result<SessionValues, Bad> {
    let field = |i: Option<usize>| i.and_then(|i| raw.field(i));
    let [student_id, session_date, minutes, status, group_size, provider_id, tutor_id] = at.0.map(field);
    fn get(f: Option<&str>) -> &str {
        f.unwrap_or("")
    }
    let mut bad: Bad = Vec::new();
    let position = roster_student(get(student_id), opts, roster, &mut bad);
    let date = parse_date(get(session_date));
    if date.is_none() {
        let text = get(session_date);
        bad.push(("session_date", text.into(), ReasonCode::NotADate, date_problem(text)));
    }
    let minutes_text = get(minutes);
    let minutes = parse_number(minutes_text);
    match minutes {
        None => bad.push(("minutes", minutes_text.into(), ReasonCode::NotANumber, "minutes is not a number".into())),
        Some(m) if !(0.0..=600.0).contains(&m) => {
            bad.push(("minutes", minutes_text.into(), ReasonCode::OutOfRange, "minutes outside 0..=600".into()))
        }
        _ => {}
    }
    let status_text = get(status);
    let status = parse_status(status_text);
    if status.is_none() {
        bad.push((
            "status",
            status_text.into(),
            ReasonCode::UnknownStatus,
            "status is not attended / absent / cancelled".into(),
        ));
    }
    let group_size = match get(group_size).trim() {
        "" => None,
        t => match parse_number(t) {
            Some(g) if g.fract() == 0.0 && (1.0..=50.0).contains(&g) => Some(g as u32),
            g => {
                let code = if g.is_some() { ReasonCode::OutOfRange } else { ReasonCode::NotANumber };
                bad.push(("group_size", t.into(), code, "group_size is not an integer in 1..=50".into()));
                None
            }
        },
    };
    let listed = provider_id.map(str::trim).filter(|p| !p.is_empty());
    if let Some(p) = listed.filter(|p| !known_providers.contains(p)) {
        bad.push(("provider_id", p.to_string(), ReasonCode::UnknownProvider, "unknown provider".into()));
    } else if let Some(i) = position {
        bad.extend(providers.session_fault(i, listed));
    }
    match position {
        Some(student) if bad.is_empty() => Ok(SessionValues {
            student,
            tutor: tutor_id.map(str::trim).filter(|t| !t.is_empty()).map(ShortText::new),
            listed: listed.map(ShortText::new),
            date: date.unwrap_or_default(),
            minutes: minutes.unwrap_or_default(),
            status: status.unwrap_or(Status::Attended),
            group_size,
        }),
        _ => Err(bad),
    }
}

/// The provider codes a session may name: the contract's, or those of the roster and the
/// assignments file.
type KnownProviders<'a> = HashSet<&'a str, std::hash::BuildHasherDefault<super::load::Fnv>>;

/// Where the session log's fields are (in the order [`check_session`] reads them), looked
/// up once for the file instead of by name on every row.
struct SessionColumns([Option<usize>; 7]);

impl SessionColumns {
    fn new(cols: &ColumnIndex) -> Self {
        let fields = ["student_id", "session_date", "minutes", "status", "group_size", "provider_id", "tutor_id"];
        SessionColumns(fields.map(|f| cols.positions.get(f).copied()))
    }
}

/// The providers each student is tutored by over the contract's subjects: the roster's
/// provider, or for a student named in the assignments file, each subject's provider
/// (README "Per-subject providers"). A session must be delivered by one of them.
pub(crate) struct StudentProviders<'a> {
    students: &'a [Student],
    /// Students named in the assignments file, by position: their providers, each once.
    assigned: HashMap<usize, Vec<String>>,
}

impl<'a> StudentProviders<'a> {
    fn new(students: &'a [Student], assignments: Option<&Assignments>, subjects: &[String]) -> Self {
        let mut assigned = HashMap::new();
        for a in assignments.iter().flat_map(|a| a.by_student.values()) {
            assigned.entry(a.student).or_insert_with(|| {
                let roster = students[a.student].provider_id.as_deref();
                assignments.map(|x| x.providers_of(a.student, roster, subjects)).unwrap_or_default()
            });
        }
        StudentProviders { students, assigned }
    }

    /// The providers of the student at position `i`.
    fn of(&self, i: usize) -> &[String] {
        if self.assigned.is_empty() {
            return self.students[i].provider_id.as_slice();
        }
        self.assigned.get(&i).map_or(self.students[i].provider_id.as_slice(), Vec::as_slice)
    }

    /// The provider a valid session of the student at `i` is credited to: the one it
    /// lists, or the student's only provider.
    fn of_session<'b>(&'b self, i: usize, listed: Option<&'b str>) -> Option<&'b str> {
        listed.or_else(|| self.of(i).first().map(String::as_str))
    }

    /// Why a session of the student at `i` listing provider `listed` cannot be credited to
    /// the student's providers, if it cannot.
    fn session_fault(&self, i: usize, listed: Option<&str>) -> Option<(&'static str, String, ReasonCode, String)> {
        let mine = self.of(i);
        let by_subject = !self.assigned.is_empty() && self.assigned.contains_key(&i);
        if mine.is_empty() {
            let reason = match by_subject {
                true => "session for a student tutored in none of the contract's subjects (roster and assignments)",
                false => "session for a comparison student (no provider on the roster)",
            };
            let value = listed.unwrap_or_default().to_string();
            return Some(("provider_id", value, ReasonCode::SessionForComparisonStudent, reason.into()));
        }
        match listed {
            Some(p) if !mine.iter().any(|m| m == p) => {
                let reason = match by_subject {
                    true => format!(
                        "session delivered by {p} but the student's providers by subject are {} (roster and \
                         assignments)",
                        mine.join(", ")
                    ),
                    false => format!("session delivered by {p} but the roster assigns provider {}", mine[0]),
                };
                Some(("provider_id", p.to_string(), ReasonCode::ProviderMismatch, reason))
            }
            None if mine.len() > 1 => {
                let reason = format!(
                    "missing provider_id: the student has a provider per subject ({}), so a session must name its \
                     provider",
                    mine.join(", ")
                );
                Some(("provider_id", String::new(), ReasonCode::MissingValue, reason))
            }
            _ => None,
        }
    }
}

/// Field problems of one row: (field, value, code, reason).
pub(crate) type Bad = Vec<(&'static str, String, ReasonCode, String)>;

/// Records each bad field of row `idx` as an exception under the file's own header.
pub(crate) fn except_bad(ledger: &mut Ledger, idx: usize, cols: &ColumnIndex, bad: Bad) {
    for (field, value, code, reason) in bad {
        ledger.except(idx, &cols.header(field), &value, code, reason);
    }
}

/// A test row's values as [`test_values`] reads them, apart from the student ID: the labels
/// kept in place, without a copy on the heap (they cross from the reader's threads).
pub(crate) struct TestValues {
    /// Lower-cased.
    pub subject: ShortText,
    /// Lower-cased ("" when the file has none).
    pub window: ShortText,
    pub school_year: Option<ShortText>,
    pub date: NaiveDate,
    pub grade: Option<i32>,
    pub score: f64,
    pub sem: Option<f64>,
    pub valid: bool,
}

impl TestValues {
    /// The test of student `student_id` at ledger index `idx`, row `row`.
    fn into_test(self, student_id: String, idx: usize, row: u64) -> Test {
        Test {
            idx,
            row,
            student_id,
            subject: self.subject.as_str().to_string(),
            date: self.date,
            window: self.window.as_str().to_string(),
            school_year: self.school_year.as_ref().map(|y| y.as_str().to_string()),
            grade: self.grade,
            score: self.score,
            sem: self.sem,
            valid: self.valid,
        }
    }
}

/// Checks the test fields of a row (whose row-level faults were ruled out) and types it as
/// the test at ledger index `idx`. The `Bad` list names every field that failed; a typed
/// test may still have an empty student ID, checked by the caller.
pub(crate) fn test_fields<R: Fields>(
    raw: &R,
    idx: usize,
    cols: &ColumnIndex,
    ids: &IdRules,
    ranges: &ScoreRanges,
) -> (Option<Test>, Bad) {
    let (id, values, bad) = test_values(raw, cols, ids, ranges);
    (values.map(|v| v.into_test(id.into_owned(), idx, raw.row())), bad)
}

/// [`test_fields`] without the copies: the row's student ID (normalised as the contract's
/// `[ids]` say; may be empty, and given even when other fields failed) and its values, or
/// `None` when a field the test needs failed (each failure is in the `Bad` list).
pub(crate) fn test_values<'a, R: Fields>(
    raw: &'a R,
    cols: &ColumnIndex,
    ids: &IdRules,
    ranges: &ScoreRanges,
) -> (std::borrow::Cow<'a, str>, Option<TestValues>, Bad) {
    let get = |f: &str| cols.get(raw, f).unwrap_or("");
    let mut bad: Bad = Vec::new();
    let id = ids.normalize(get("student_id"));
    if id.is_empty() {
        bad.push(("student_id", String::new(), ReasonCode::MissingValue, "missing student_id".into()));
    }
    let subject = ShortText::lowercase(get("subject").trim());
    let subject_text = subject.as_str();
    if subject_text.is_empty() {
        bad.push(("subject", String::new(), ReasonCode::MissingValue, "missing subject".into()));
    }
    let date = parse_date(get("test_date"));
    if date.is_none() {
        bad.push(("test_date", get("test_date").into(), ReasonCode::NotADate, date_problem(get("test_date"))));
    }
    let range = ranges.of(subject_text);
    let score = parse_number(get("scale_score"));
    match score {
        None => bad.push((
            "scale_score",
            get("scale_score").into(),
            ReasonCode::NotANumber,
            "scale_score is not a finite number".into(),
        )),
        Some(v) if !in_range(v, range.score) => bad.push((
            "scale_score",
            get("scale_score").into(),
            ReasonCode::OutOfRange,
            out_of_range("scale score", v, range.score, subject_text, "score"),
        )),
        Some(_) => {}
    }
    let sem = match get("sem").trim() {
        "" => None,
        t => match parse_number(t) {
            Some(v) if v > 0.0 && in_range(v, range.sem) => Some(v),
            Some(v) if v > 0.0 => {
                let reason = out_of_range("SEM", v, range.sem, subject_text, "sem");
                bad.push(("sem", t.into(), ReasonCode::OutOfRange, reason));
                None
            }
            v => {
                let code = if v.is_some() { ReasonCode::OutOfRange } else { ReasonCode::NotANumber };
                bad.push(("sem", t.into(), code, "sem is not a positive number".into()));
                None
            }
        },
    };
    let valid = parse_flag(get("valid"));
    if valid.is_none() {
        bad.push(("valid", get("valid").into(), ReasonCode::NotAFlag, "valid is not true/false".into()));
    }
    let grade = match get("grade").trim() {
        "" => None,
        t => {
            let g = parse_grade(t);
            if g.is_none() {
                bad.push(("grade", t.into(), ReasonCode::NotAGrade, "grade is not an integer in -1..=13".into()));
            }
            g
        }
    };
    let values = match (date, score, valid) {
        (Some(date), Some(score), Some(valid)) => Some(TestValues {
            subject,
            window: ShortText::lowercase(get("window").trim()),
            school_year: cols.get(raw, "school_year").map(str::trim).filter(|y| !y.is_empty()).map(ShortText::new),
            date,
            grade,
            score,
            sem,
            valid,
        }),
        _ => None,
    };
    (id, values, bad)
}

fn in_range(v: f64, [lo, hi]: [f64; 2]) -> bool {
    (lo..=hi).contains(&v)
}

/// The reason of a score or SEM outside the plausible range, with the contract key that
/// sets the range.
fn out_of_range(what: &str, v: f64, [lo, hi]: [f64; 2], subject: &str, key: &str) -> String {
    format!(
        "{what} {v} is outside the plausible range {lo}..={hi}; if the scale really goes there, set \
         [limits.subjects.{subject}] {key} = [min, max] in the contract"
    )
}

/// Checks one assessment row (whose row-level faults were ruled out): the student's
/// position on the roster and the test.
fn check_test<R: Fields>(
    raw: &R,
    cols: &ColumnIndex,
    opts: &ValidateOptions,
    roster: &RosterIndex,
) -> Result<(usize, TestValues), Bad> {
    let (id, values, mut bad) = test_values(raw, cols, &opts.ids, &opts.score_ranges);
    let position = if id.is_empty() { None } else { roster.position(&id) };
    if !id.is_empty() && position.is_none() {
        // the roster problem comes first, right after the ID itself, as for sessions
        let (code, reason) = roster.missing_reason(&id);
        bad.insert(0, ("student_id", cols.get(raw, "student_id").unwrap_or("").into(), code, reason));
    }
    match (position, values) {
        (Some(student), Some(v)) if bad.is_empty() => Ok((student, v)),
        _ => Err(bad),
    }
}

/// [`validate`] for inputs read as streams: the roster, the session log and the assessments
/// are checked row by row as they are read, keeping the students and only compact records
/// of the valid session and test rows. Rows, exceptions and accounting are those of [`validate`].
pub(crate) fn validate_streams(
    roster: Source,
    mut sessions: Source,
    mut tests: Source,
    assignments: Option<RawTable>,
    opts: &ValidateOptions,
) -> Result<Validated, DataError> {
    let roster_cols = ColumnIndex::locate_in(
        roster.file(),
        roster.headers(),
        Role::Roster,
        &opts.columns.roster,
        &extra_groups(opts),
    )?;
    let session_cols =
        ColumnIndex::locate_in(sessions.file(), sessions.headers(), Role::Sessions, &opts.columns.sessions, &[])?;
    let mut test_cols =
        ColumnIndex::locate_in(tests.file(), tests.headers(), Role::Assessments, &opts.columns.assessments, &[])?;
    let vendor_columns = measures::locate(&mut test_cols, tests.headers(), opts.vendor_pair.as_deref());
    for field in &opts.required_test_fields {
        if !test_cols.has(field) {
            return Err(DataError::MissingColumn {
                file: tests.file().to_string(),
                field: field.clone(),
                column: opts.columns.assessments.get(field).cloned().unwrap_or_else(|| field.clone()),
                headers: tests.headers().to_vec(),
            });
        }
    }
    let groups =
        roster_rules::present_groups(&opts.groups, &opts.group_rules, &roster_cols, roster.file(), roster.headers())?;

    let mut warnings = Vec::new();
    let mut roster_ledger = Ledger::streaming(Role::Roster, roster.file());
    let Roster { mut students, excepted } =
        validate_roster(roster, &roster_cols, opts, &groups, &mut roster_ledger, &mut warnings)?;
    warnings.extend(check_roster_codes(&mut students, &groups, opts, &roster_ledger.file)?);
    let (roster_rejects, first_rows) = rejected_students(excepted, &students);
    let index = RosterIndex::new(&students, first_rows);
    let assignments = assignments.map(|t| super::assignments::check(&t, opts, &index)).transpose()?;
    let providers = StudentProviders::new(&students, assignments.as_ref(), &opts.subjects);
    let known_providers: KnownProviders<'_> = match &opts.providers {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => {
            let assigned =
                assignments.iter().flat_map(|a| a.by_student.values().filter_map(|a| a.provider_id.as_deref()));
            students.iter().filter_map(|s| s.provider_id.as_deref()).chain(assigned).collect()
        }
    };
    let mut session_providers = Interner::default();

    let mut sessions_ledger = Ledger::streaming(Role::Sessions, sessions.file());
    let mut tutors = Interner::default();
    let mut compact_sessions = Vec::with_capacity(sessions.rows_hint());
    let at = SessionColumns::new(&session_cols);
    let check = |raw: &Record<'_>| check_session(raw, &at, opts, &index, &known_providers, &providers);
    check_rows(&mut sessions, &mut sessions_ledger, &session_cols, check, |v, idx, file| {
        let provider = session_providers.id(providers.of_session(v.student, v.listed.as_ref().map(ShortText::as_str)));
        compact_sessions.push(CompactSession {
            student: v.student as u32,
            idx: compact_index(idx, file)?,
            date: v.date,
            tutor: tutors.id(v.tutor.as_ref().map(ShortText::as_str)),
            minutes: v.minutes,
            status: v.status,
            group_size: v.group_size.unwrap_or(0) as u8,
            provider,
        });
        Ok(())
    })?;
    let (sha, blank) = sessions.finish()?;
    sessions_ledger.set_source(sha, blank);
    let compact_sessions =
        drop_duplicates(compact_sessions, &mut sessions_ledger, |s| s.student, |s| s.idx, CompactSession::key);

    let mut assessments_ledger = Ledger::streaming(Role::Assessments, tests.file());
    let mut texts = Interner::default();
    let mut compact_tests = Vec::with_capacity(tests.rows_hint());
    let mut vendor = HashMap::new();
    let check = |raw: &Record<'_>| {
        let (student, v) = check_test(raw, &test_cols, opts, &index)?;
        let values = measures::read(raw, &test_cols, &vendor_columns.fields)?.map(Box::new);
        Ok((raw.row(), student, v, values))
    };
    check_rows(&mut tests, &mut assessments_ledger, &test_cols, check, |(row, student, v, values), idx, file| {
        if let Some(values) = values {
            vendor.insert(row, *values);
        }
        compact_tests.push(CompactTest {
            student: student as u32,
            idx: compact_index(idx, file)?,
            date: v.date,
            subject: texts.id(Some(v.subject.as_str())),
            window: texts.id(Some(v.window.as_str())),
            school_year: texts.id(v.school_year.as_ref().map(ShortText::as_str)),
            grade: v.grade,
            score: v.score,
            sem: v.sem,
            valid: v.valid,
        });
        Ok(())
    })?;
    let (sha, blank) = tests.finish()?;
    assessments_ledger.set_source(sha, blank);
    let compact_tests =
        drop_duplicates(compact_tests, &mut assessments_ledger, |t| t.student, |t| t.idx, CompactTest::key);

    for ledger in [&sessions_ledger, &assessments_ledger] {
        let n = ledger.exceptions().iter().filter(|e| e.code == ReasonCode::IdLeadingZeros).count();
        if n > 0 {
            warnings.push(Warning::new(
                WarningCode::IdLeadingZeros,
                format!(
                    "{}: {n} rows carry a student ID that matches a roster ID only apart from leading zeros \
                 (one of the files was probably opened in a spreadsheet); set ids.pad_width to repair",
                    ledger.file
                ),
            ));
        }
    }
    Ok(Validated {
        students,
        compact_sessions,
        compact_tests,
        tutors,
        texts,
        roster_ledger,
        sessions_ledger,
        assessments_ledger,
        warnings,
        groups,
        roster_columns: roster_cols,
        test_columns: test_cols,
        roster_rejects,
        vendor_columns,
        vendor,
        assignments,
        session_providers,
    })
}

/// Reads every row of `source` into `ledger` and checks it: a row-level fault or a field
/// that fails `check` is excepted with its column; `keep` takes (in file order) the values
/// of each row that passed, with its ledger index and the file name. `check` runs on the
/// rayon pool's threads ([`Source::scan`]), so the result is the same for any number of them.
fn check_rows<V: Send>(
    source: &mut Source,
    ledger: &mut Ledger,
    cols: &ColumnIndex,
    check: impl Fn(&Record<'_>) -> Result<V, Bad> + Sync,
    mut keep: impl FnMut(V, usize, &str) -> Result<(), DataError>,
) -> Result<(), DataError> {
    enum Checked<V> {
        Fault(Vec<super::load::Problem>),
        Bad(Bad),
        Passed(V),
    }
    let width = source.headers().len();
    let file = ledger.file.clone();
    let map = |raw: &Record<'_>| {
        let checked = match row_fault(width, raw) {
            Some(faults) => Checked::Fault(faults),
            None => match check(raw) {
                Ok(v) => Checked::Passed(v),
                Err(bad) => Checked::Bad(bad),
            },
        };
        Ok((raw.row, checked))
    };
    source.scan(map, |(row, checked)| {
        let idx = ledger.push_row(row);
        match checked {
            Checked::Fault(faults) => {
                ledger.note_all(idx, faults);
            }
            Checked::Bad(bad) => except_bad(ledger, idx, cols, bad),
            Checked::Passed(v) => keep(v, idx, &file)?,
        }
        Ok(())
    })
}

/// Groups records by student (file order kept within a student) and excepts exact
/// duplicates: a record equal in every value to an earlier kept record of the same student
/// is "exact duplicate of row N" (N = the kept record's row), as [`validate`] does. The
/// other rows are marked valid.
fn drop_duplicates<T: Copy + Send + Sync, K: Hash + Eq>(
    mut records: Vec<T>,
    ledger: &mut Ledger,
    student: impl Fn(&T) -> u32 + Sync,
    idx: impl Fn(&T) -> u32 + Sync,
    key: impl Fn(&T) -> K + Sync,
) -> Vec<T> {
    use rayon::prelude::*;
    records.par_sort_unstable_by_key(|r| (student(r), idx(r)));
    // The records that copy an earlier record of their student: (position, the earlier
    // record's index), found on the pool a run of whole students per task; the ledger is
    // then written in the records' order.
    let copies_in = |(start, end): (usize, usize)| -> Vec<(usize, u32)> {
        let mut first: HashMap<K, u32, std::hash::BuildHasherDefault<super::load::Fnv>> = HashMap::default();
        let mut out = Vec::new();
        for k in start..end {
            let r = &records[k];
            if k == start || student(&records[k - 1]) != student(r) {
                first.clear();
            }
            match first.entry(key(r)) {
                std::collections::hash_map::Entry::Occupied(e) => out.push((k, *e.get())),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(idx(r));
                }
            }
        }
        out
    };
    let copies: Vec<(usize, u32)> =
        student_runs(&records, &student, 1 << 16).into_par_iter().flat_map_iter(copies_in).collect();
    let mut next_copy = copies.iter().peekable();
    for (k, r) in records.iter().enumerate() {
        let i = idx(r) as usize;
        match next_copy.next_if(|(at, _)| *at == k) {
            Some(&(_, of)) => {
                let row = ledger.row_number(of as usize);
                ledger.except(i, "", "", ReasonCode::ExactDuplicate, format!("exact duplicate of row {row}"));
            }
            None => ledger.validate(i),
        }
    }
    let mut copied = copies.iter().map(|&(at, _)| at).peekable();
    let mut k = 0;
    records.retain(|_| {
        k += 1;
        copied.next_if_eq(&(k - 1)).is_none()
    });
    records
}

/// `records` (grouped by student) cut into runs of about `size` records that do not split
/// a student: `(start, end)` each.
fn student_runs<T>(records: &[T], student: impl Fn(&T) -> u32, size: usize) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let mut end = (start + size).min(records.len());
        while end < records.len() && student(&records[end]) == student(&records[end - 1]) {
            end += 1;
        }
        runs.push((start, end));
        start = end;
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::parse_csv;

    fn raw(file: &str, text: &str) -> RawTable {
        let (headers, rows, blank_lines) = parse_csv(text.as_bytes(), file).unwrap();
        RawTable { file: file.into(), path: file.into(), sha256: String::new(), headers, rows, blank_lines }
    }

    fn inputs(roster: &str, sessions: &str, tests: &str) -> RawInputs {
        RawInputs {
            roster: raw("roster.csv", roster),
            sessions: raw("sessions.csv", sessions),
            assessments: raw("assessments.csv", tests),
            assignments: None,
        }
    }

    const ROSTER: &str = "student_id,school_id,grade,provider_id\n00123,S1,4,P1\n123,S1,5,\n00777,S2,K,P2\n";
    const SESSIONS: &str = "student_id,session_date,minutes,status,provider_id\n00123,2025-10-01,30,attended,P1\n";
    const TESTS: &str = "student_id,subject,test_date,scale_score\n00123,Math,2025-09-10,201.5\n";

    #[test]
    fn ids_keep_leading_zeros_and_differ_from_unpadded() {
        let v = validate(&inputs(ROSTER, SESSIONS, TESTS), &ValidateOptions::default()).unwrap();
        let ids: Vec<&str> = v.students.iter().map(|s| s.student_id.as_str()).collect();
        assert_eq!(ids, vec!["00123", "123", "00777"]);
        assert_eq!(v.students[2].grade, 0);
        assert_eq!(v.students[1].provider_id, None);
        assert_eq!(v.tests()[0].subject, "math");
    }

    #[test]
    fn lost_zeros_are_diagnosed_not_repaired() {
        let sessions = "student_id,session_date,minutes\n777,2025-10-01,30\n";
        let v = validate(&inputs(ROSTER, sessions, TESTS), &ValidateOptions::default()).unwrap();
        assert!(v.sessions().is_empty());
        let e = &v.sessions_ledger.exceptions()[0];
        assert!(e.reason.contains("00777"), "{e:?}");
        assert_eq!(e.code, ReasonCode::IdLeadingZeros);
        assert!(v.warnings.iter().any(|w| w.message.contains("leading zeros")), "{:?}", v.warnings);
        let opts = ValidateOptions { ids: IdRules { pad_width: Some(5) }, ..Default::default() };
        let v = validate(&inputs(ROSTER, sessions, TESTS), &opts).unwrap();
        assert_eq!(v.sessions().len(), 1);
        assert_eq!(v.sessions()[0].student_id, "00777");
        assert_eq!(v.sessions()[0].provider_id, "P2", "empty provider inherits the roster's");
    }

    #[test]
    fn duplicates_exact_keep_first_conflicting_drop_all() {
        let roster = "student_id,school_id,grade,provider_id\n1,S1,4,P1\n1,S1,4,P1\n2,S1,4,P1\n2,S2,4,P1\n";
        let v = validate(
            &inputs(roster, "student_id,session_date,minutes\n", "student_id,subject,test_date,scale_score\n"),
            &ValidateOptions::default(),
        )
        .unwrap();
        assert_eq!(v.students.len(), 1);
        assert_eq!(v.students[0].row, 2);
        let reasons: Vec<&str> = v.roster_ledger.exceptions().iter().map(|e| e.reason.as_str()).collect();
        assert!(reasons[0].contains("exact duplicate of row 2"));
        assert!(reasons[1].contains("rows 4, 5"));
        assert_eq!(reasons.len(), 3);
        let codes: Vec<ReasonCode> = v.roster_ledger.exceptions().iter().map(|e| e.code).collect();
        assert_eq!(codes, [ReasonCode::ExactDuplicate, ReasonCode::DuplicateStudent, ReasonCode::DuplicateStudent]);
    }

    #[test]
    fn bad_values_name_their_column_and_value() {
        let sessions = "student_id,session_date,minutes,status,provider_id\n\
                        00123,2025-13-01,45 min,maybe,P1\n00123,2025-10-02,700,attended,P9\n123,2025-10-02,30,attended,\n00777,2025-10-02,30,attended,P1\n";
        let v = validate(&inputs(ROSTER, sessions, TESTS), &ValidateOptions::default()).unwrap();
        assert!(v.sessions().is_empty());
        let ex = v.sessions_ledger.exceptions();
        let find = |col: &str, val: &str| {
            ex.iter().find(|e| e.column == col && e.value == val).unwrap_or_else(|| panic!("no {col}={val} in {ex:?}"))
        };
        assert_eq!(find("session_date", "2025-13-01").row, 2);
        let codes = [
            (("session_date", "2025-13-01"), ReasonCode::NotADate),
            (("minutes", "45 min"), ReasonCode::NotANumber),
            (("status", "maybe"), ReasonCode::UnknownStatus),
            (("minutes", "700"), ReasonCode::OutOfRange),
            (("provider_id", "P9"), ReasonCode::UnknownProvider),
            (("provider_id", ""), ReasonCode::SessionForComparisonStudent),
        ];
        for ((col, val), code) in codes {
            assert_eq!(find(col, val).code, code, "{col}={val}");
        }
        assert!(find("minutes", "45 min").reason.contains("not a number"));
        assert!(find("status", "maybe").reason.contains("attended"));
        assert!(find("minutes", "700").reason.contains("0..=600"));
        assert_eq!(find("provider_id", "P9").reason, "unknown provider");
        assert!(find("provider_id", "").reason.contains("comparison student"));
        assert!(find("provider_id", "P1").reason.contains("roster assigns provider P2"));
        let a = v.sessions_ledger.accounting(crate::data::ledger::Stage::Validated).unwrap();
        assert_eq!((a.rows_read, a.rows_used, a.rows_excepted), (4, 0, 4));
    }

    #[test]
    fn mapped_headers_load_and_missing_required_column_is_named() {
        let roster = "StudentID,School,Gr\n001,S1,3\n";
        let mut opts = ValidateOptions::default();
        opts.columns.roster.insert("student_id".into(), "StudentID".into());
        opts.columns.roster.insert("school_id".into(), "School".into());
        opts.columns.roster.insert("grade".into(), "Gr".into());
        let ok = validate(
            &inputs(roster, "student_id,session_date,minutes\n", "student_id,subject,test_date,scale_score\n"),
            &opts,
        )
        .unwrap();
        assert_eq!(ok.students[0].student_id, "001");
        let err = validate(
            &inputs(roster, "student_id,session_date,minutes\n", "student_id,subject,test_date,scale_score\n"),
            &ValidateOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("roster.csv") && err.contains("student_id"), "{err}");
    }

    #[test]
    fn test_rows_check_scores_sem_and_validity() {
        let tests = "student_id,subject,test_date,scale_score,sem,valid\n00123,math,2025-09-10,N/A,3,true\n00123,math,9/10/2025,201,-1,maybe\n00123,math,9/10/2025,201,3.1,N\n00123,math,2025-09-10,201,3.1,N\n";
        let v = validate(&inputs(ROSTER, SESSIONS, tests), &ValidateOptions::default()).unwrap();
        assert_eq!(v.tests().len(), 1, "a US-dated row and its ISO-dated copy are the same test");
        assert!(!v.tests()[0].valid);
        assert_eq!(v.tests()[0].date, NaiveDate::from_ymd_opt(2025, 9, 10).unwrap());
        let ex = v.assessments_ledger.exceptions();
        assert!(ex.iter().any(|e| e.column == "scale_score" && e.value == "N/A"));
        assert!(ex.iter().any(|e| e.column == "sem" && e.value == "-1"));
        assert!(ex.iter().any(|e| e.column == "valid" && e.value == "maybe"));
        assert!(ex.iter().any(|e| e.row == 5 && e.reason == "exact duplicate of row 4"));
    }
}
