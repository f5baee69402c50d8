//! i-Ready Diagnostic results (README "From your vendor's export: i-Ready Diagnostic").
//!
//! One file per subject, as Curriculum Associates exports them (`diagnostic_results_math...`,
//! `..._ela...`): the file has no subject column, so the subject is given (`--subject`) or read
//! from the file name. Each row becomes one canonical assessments row (student_id, subject,
//! test_date, window, school_year, grade, scale_score, valid; `sem` stays empty: i-Ready
//! reports no standard error of measurement), with the reason a test is invalid (the rush
//! flag) and the vendor's growth measures as extra columns, or one exception per bad field.
//! The newer exports say "Assessment" where the older say "Diagnostic" (`Baseline Assessment
//! (Y/N)`, `Assessment Gain`); both are read.

use chrono::NaiveDate;

use super::nwea::{number, parse_flag};
use super::{HeaderIndex, LayoutMismatch, VendorError};
use crate::data::date::{date_problem, iso, parse_date};
use crate::data::ledger::{Ledger, ReasonCode};
use crate::data::load::{Defect, RawRow, RawTable};
use crate::data::schema::Role;
use crate::data::table::{Column, Table};
use crate::data::validate::row_fault;

const VENDOR: &str = "i-Ready Diagnostic";

/// The student ID column of an i-Ready file.
pub const STUDENT_ID: &str = "Student ID";
const LAYOUT: &str = "Diagnostic Results";

/// The columns every i-Ready results file must have.
pub const REQUIRED: [&str; 7] = [
    "Student ID",
    "Student Grade",
    "Academic Year",
    "Completion Date",
    "Norming Window",
    "Rush Flag",
    "Overall Scale Score",
];

/// The subject of an i-Ready file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Math,
    /// Reading (i-Ready's "ELA" diagnostic).
    Reading,
}

impl Subject {
    /// The subject a name says: `math`, or `reading`/`ela`.
    pub fn parse(text: &str) -> Option<Subject> {
        match text.trim().to_ascii_lowercase().as_str() {
            "math" => Some(Subject::Math),
            "reading" | "ela" => Some(Subject::Reading),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Subject::Math => "math",
            Subject::Reading => "reading",
        }
    }
}

/// Conversion options (for a contract's file, `subject = "math"` in its `[files]` table).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// The subject of every file; `None`: each file's name must say it.
    pub subject: Option<Subject>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExtraKind {
    Number,
    Flag,
}

/// The vendor columns carried into the output: (output column, the file's names of it, kind).
const EXTRAS: [(&str, &[&str], ExtraKind); 7] = [
    ("baseline_diagnostic", &["Baseline Diagnostic (Y/N)", "Baseline Assessment (Y/N)"], ExtraKind::Flag),
    (
        "most_recent_diagnostic_ytd",
        &["Most Recent Diagnostic YTD (Y/N)", "Most Recent Assessment YTD (Y/N)"],
        ExtraKind::Flag,
    ),
    ("diagnostic_gain", &["Diagnostic Gain", "Assessment Gain"], ExtraKind::Number),
    ("annual_typical_growth_measure", &["Annual Typical Growth Measure"], ExtraKind::Number),
    ("annual_stretch_growth_measure", &["Annual Stretch Growth Measure"], ExtraKind::Number),
    (
        "percent_progress_to_annual_typical_growth",
        &["Percent Progress to Annual Typical Growth (%)"],
        ExtraKind::Number,
    ),
    (
        "percent_progress_to_annual_stretch_growth",
        &["Percent Progress to Annual Stretch Growth (%)"],
        ExtraKind::Number,
    ),
];

/// The columns of one i-Ready file that the conversion reads.
#[derive(Clone, Debug)]
pub struct IreadyColumns {
    pub headers: HeaderIndex,
    student: usize,
    grade: usize,
    year: usize,
    date: usize,
    window: usize,
    rush: usize,
    score: usize,
    /// One position (if the file has the column) per [`EXTRAS`] entry.
    extras: Vec<Option<usize>>,
}

/// Detects an i-Ready Diagnostic results file from its header: it has `Overall Scale Score`
/// or `Norming Window`. Errors: neither ([`VendorError::UnknownLayout`]), or a required column
/// missing ([`VendorError::MismatchedLayout`]), each with the columns expected and found.
pub fn detect(file: &str, headers: &[String]) -> Result<IreadyColumns, VendorError> {
    let h = HeaderIndex::new(headers);
    if !(h.has("Overall Scale Score") || h.has("Norming Window")) {
        return Err(VendorError::UnknownLayout {
            file: file.into(),
            vendor: VENDOR.into(),
            expected: format!("{LAYOUT} ({})", REQUIRED.join(", ")),
            found: headers.to_vec(),
        });
    }
    let missing: Vec<String> = REQUIRED.iter().filter(|n| !h.has(n)).map(|n| n.to_string()).collect();
    if !missing.is_empty() {
        return Err(VendorError::MismatchedLayout(Box::new(LayoutMismatch {
            file: file.into(),
            vendor: VENDOR.into(),
            layout: LAYOUT.into(),
            missing,
            expected: REQUIRED.iter().map(|n| n.to_string()).collect(),
            found: headers.to_vec(),
        })));
    }
    let at = |n: &str| h.find(n).unwrap_or_else(|| unreachable!("{n} checked above"));
    Ok(IreadyColumns {
        student: at("Student ID"),
        grade: at("Student Grade"),
        year: at("Academic Year"),
        date: at("Completion Date"),
        window: at("Norming Window"),
        rush: at("Rush Flag"),
        score: at("Overall Scale Score"),
        extras: EXTRAS.iter().map(|(_, names, _)| names.iter().find_map(|n| h.find(n))).collect(),
        headers: h,
    })
}

/// The subject a file name says: a word `math`, or `ela` or `reading`
/// (`diagnostic_results_math_CONFIDENTIAL.csv`); `None` when it says neither or both.
pub fn subject_from_name(file: &str) -> Option<Subject> {
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s).to_lowercase();
    let words: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    let math = words.contains(&"math");
    let reading = words.contains(&"ela") || words.contains(&"reading");
    match (math, reading) {
        (true, false) => Some(Subject::Math),
        (false, true) => Some(Subject::Reading),
        _ => None,
    }
}

/// The subject of `file`: `given` (`--subject`), which must not contradict the file's name,
/// or the one its name says. Errors: neither, or a contradiction.
pub fn file_subject(file: &str, given: Option<Subject>) -> Result<Subject, VendorError> {
    match (given, subject_from_name(file)) {
        (Some(g), Some(n)) if g != n => Err(VendorError::SubjectContradicted {
            file: file.into(),
            given: g.as_str().into(),
            named: n.as_str().into(),
        }),
        (Some(g), _) => Ok(g),
        (None, Some(n)) => Ok(n),
        (None, None) => Err(VendorError::SubjectNotGiven { file: file.into() }),
    }
}

/// `Norming Window` ("Winter (November 16 - March 1)") as the window: `winter`. The season
/// is Fall, Winter or Spring (any capitals), before the parenthesis.
pub fn parse_norming_window(text: &str) -> Result<String, String> {
    let t = text.trim();
    let season = t.split(|c: char| c == '(' || c.is_whitespace()).next().unwrap_or("").to_lowercase();
    match season.as_str() {
        "fall" | "winter" | "spring" => Ok(season),
        _ => Err(format!(
            "Norming Window {t:?} names no season (Fall, Winter or Spring) such as \"Winter (November 16 - March 1)\""
        )),
    }
}

/// `Academic Year` ("2025-2026", also "2025-26") as the school year: `2025-26`. The years
/// are consecutive.
pub fn parse_academic_year(text: &str) -> Result<String, String> {
    let t = text.trim();
    let bad = || format!("Academic Year {t:?} is not a school year such as \"2025-2026\"");
    let (a, b) = t.split_once('-').ok_or_else(bad)?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if a.len() != 4 || !all_digits(a) || !all_digits(b) {
        return Err(bad());
    }
    let start: u32 = a.parse().map_err(|_| bad())?;
    let end: u32 = b.parse().map_err(|_| bad())?;
    let consecutive = match b.len() {
        4 => end == start + 1,
        2 => end == (start + 1) % 100,
        _ => false,
    };
    if !consecutive {
        return Err(bad());
    }
    Ok(format!("{start}-{:02}", (start + 1) % 100))
}

/// `Student Grade`: `K` (`KG`, `Kindergarten`) is 0, 1-12 themselves; empty or "no grade"
/// (ungraded) is `None`, so the contract takes the roster's grade.
pub fn parse_grade(text: &str) -> Result<Option<i64>, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("no grade") {
        return Ok(None);
    }
    if ["k", "kg", "kindergarten"].iter().any(|k| t.eq_ignore_ascii_case(k)) {
        return Ok(Some(0));
    }
    match t.parse::<i64>() {
        Ok(g) if (1..=12).contains(&g) => Ok(Some(g)),
        _ => Err(format!("grade {t:?} is not K or 1-12")),
    }
}

/// `Rush Flag`: `Some(text)` when the test is flagged (i-Ready writes "Red Rush Flag"; also
/// Y/Yes/TRUE), `None` when empty or N/No/FALSE.
pub fn parse_rush(text: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.to_lowercase().contains("rush") {
        return Ok(Some(t.to_string()));
    }
    match parse_flag(t) {
        Ok(Some(true)) => Ok(Some(t.to_string())),
        Ok(_) => Ok(None),
        Err(_) => Err(format!("Rush Flag {t:?} is neither empty, a rush flag (\"Red Rush Flag\") nor Y/N")),
    }
}

/// One value of a vendor column.
#[derive(Clone, Debug, PartialEq)]
pub enum ExtraValue {
    Text(Option<String>),
    Flag(Option<bool>),
}

/// One i-Ready diagnostic as a canonical assessments row.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub student_id: String,
    pub subject: Subject,
    pub test_date: NaiveDate,
    pub window: String,
    pub school_year: String,
    pub grade: Option<i64>,
    /// As the export wrote it (trimmed).
    pub scale_score: String,
    /// `false` when the rush flag is set.
    pub valid: bool,
    pub invalid_reason: Option<String>,
    /// One value per [`EXTRAS`] entry.
    pub extras: Vec<ExtraValue>,
}

/// A bad field: the file's column, the value, the code and the reason.
pub type Problem = (String, String, ReasonCode, String);

/// The vendor columns of a row; a value that is not what its column holds is a problem.
fn extra_values(get: &dyn Fn(usize) -> String, cols: &IreadyColumns, bad: &mut Vec<Problem>) -> Vec<ExtraValue> {
    let mut out = Vec::with_capacity(EXTRAS.len());
    for ((_, _, kind), at) in EXTRAS.iter().zip(&cols.extras) {
        let Some(i) = *at else {
            out.push(if *kind == ExtraKind::Flag { ExtraValue::Flag(None) } else { ExtraValue::Text(None) });
            continue;
        };
        let v = get(i);
        let name = cols.headers.name(i).to_string();
        match kind {
            ExtraKind::Flag => match parse_flag(&v) {
                Ok(f) => out.push(ExtraValue::Flag(f)),
                Err(r) => {
                    bad.push((name, v.clone(), ReasonCode::NotAFlag, format!("{r} (Y/N)")));
                    out.push(ExtraValue::Flag(None));
                }
            },
            ExtraKind::Number => {
                let t = v.strip_suffix('%').unwrap_or(&v).trim();
                match number(t) {
                    Ok(n) => out.push(ExtraValue::Text(n.map(String::from))),
                    Err(r) => {
                        bad.push((name, v.clone(), ReasonCode::NotANumber, r));
                        out.push(ExtraValue::Text(None));
                    }
                }
            }
        }
    }
    out
}

/// Converts one row (its fields) of a file of `subject` with columns `cols`. Errors: every
/// bad field.
pub fn convert_row(fields: &[String], cols: &IreadyColumns, subject: Subject) -> Result<Diagnostic, Vec<Problem>> {
    let get = |i: usize| fields.get(i).map_or(String::new(), |f| f.trim().to_string());
    let name = |i: usize| cols.headers.name(i).to_string();
    let mut bad: Vec<Problem> = Vec::new();
    let student_id = get(cols.student);
    if student_id.is_empty() {
        bad.push((name(cols.student), String::new(), ReasonCode::MissingValue, "the student ID is empty".into()));
    }
    let window = match get(cols.window) {
        w if w.is_empty() => {
            let r = "the Norming Window is empty, so the test's window is not known";
            bad.push((name(cols.window), w, ReasonCode::MissingValue, r.into()));
            None
        }
        w => parse_norming_window(&w)
            .map_err(|r| bad.push((name(cols.window), w, ReasonCode::WindowNotUnderstood, r)))
            .ok(),
    };
    let year = get(cols.year);
    let school_year = parse_academic_year(&year)
        .map_err(|r| bad.push((name(cols.year), year, ReasonCode::WindowNotUnderstood, r)))
        .ok();
    let date = parse_date(&get(cols.date));
    if date.is_none() {
        bad.push((name(cols.date), get(cols.date), ReasonCode::NotADate, date_problem(&get(cols.date))));
    }
    let score = match number(&get(cols.score)) {
        Ok(Some(s)) => Some(s.to_string()),
        Ok(None) => {
            bad.push((name(cols.score), String::new(), ReasonCode::MissingValue, "the scale score is empty".into()));
            None
        }
        Err(r) => {
            bad.push((name(cols.score), get(cols.score), ReasonCode::NotANumber, r));
            None
        }
    };
    let grade = parse_grade(&get(cols.grade))
        .map_err(|r| bad.push((name(cols.grade), get(cols.grade), ReasonCode::NotAGrade, r)))
        .ok()
        .flatten();
    let rush = parse_rush(&get(cols.rush))
        .map_err(|r| bad.push((name(cols.rush), get(cols.rush), ReasonCode::NotAFlag, r)))
        .ok()
        .flatten();
    let extras = extra_values(&get, cols, &mut bad);
    match (bad.is_empty(), window, school_year, date, score) {
        (true, Some(window), Some(school_year), Some(test_date), Some(scale_score)) => Ok(Diagnostic {
            student_id,
            subject,
            test_date,
            window,
            school_year,
            grade,
            scale_score,
            valid: rush.is_none(),
            invalid_reason: rush.map(|r| format!("Rush Flag {r:?}: the student rushed the diagnostic")),
            extras,
        }),
        _ => Err(bad),
    }
}

/// i-Ready files converted: the canonical assessments table (with the invalid reason and
/// the vendor columns), each file's ledger and subject.
#[derive(Debug)]
pub struct Converted {
    pub table: Table,
    pub ledgers: Vec<Ledger>,
    /// Each file's subject, in the order given.
    pub subjects: Vec<Subject>,
}

/// Converts i-Ready files (each detected on its own) into one canonical table, file by file
/// in row order. Every row is written or excepted in its file's ledger. Errors: a file of no
/// known layout or a mismatched one, or a file whose subject is neither given nor named.
pub fn convert(tables: &[RawTable], opts: &Options) -> Result<Converted, VendorError> {
    let cols: Vec<IreadyColumns> = tables.iter().map(|t| detect(&t.file, &t.headers)).collect::<Result<_, _>>()?;
    let subjects: Vec<Subject> =
        tables.iter().map(|t| file_subject(&t.file, opts.subject)).collect::<Result<_, _>>()?;
    let mut tests = Vec::new();
    let mut ledgers = Vec::new();
    for ((t, c), &subject) in tables.iter().zip(&cols).zip(&subjects) {
        let mut ledger = Ledger::new(Role::Assessments, t);
        for (idx, raw) in t.rows.iter().enumerate() {
            if let Some(faults) = row_fault(t.headers.len(), raw) {
                ledger.note_all(idx, faults);
                continue;
            }
            match convert_row(&raw.fields, c, subject) {
                Ok(test) => {
                    ledger.validate(idx);
                    ledger.mark_used(idx);
                    tests.push(test);
                }
                Err(problems) => {
                    for (column, value, code, reason) in problems {
                        ledger.except(idx, &column, &value, code, reason);
                    }
                }
            }
        }
        ledgers.push(ledger);
    }
    Ok(Converted { table: to_table(&tests), ledgers, subjects })
}

/// The subject of a contract's file `file`: `given` (the option `option`, or the contract's
/// own subject), which must not contradict the file's name, or the one its name says.
fn contract_subject(file: &str, given: Option<Subject>, option: &str) -> Result<Subject, VendorError> {
    let problem = |problem: String| VendorError::SubjectOption { file: file.into(), problem };
    match file_subject(file, given) {
        Err(VendorError::SubjectNotGiven { .. }) => Err(problem(format!(
            "an i-Ready file has no subject column and its name says neither math nor ela/reading; set {option} = \
             \"math\" or \"reading\""
        ))),
        Err(VendorError::SubjectContradicted { given, named, .. }) => {
            Err(problem(format!("{option} = {given:?} contradicts the file's name, which says {named}")))
        }
        other => other,
    }
}

/// Converts the i-Ready file `table` in memory into the canonical assessments table, row for
/// row (each row keeps its number in the file): the columns [`CANONICAL_HEADERS`] (`sem`
/// empty: i-Ready reports none), then the vendor columns. A row with a bad field, or a rushed
/// test (never used: its score does not measure the student), is an exception in the file's
/// own column. `opts.subject` is the file's subject (checked against its name); `None`: the
/// name says it. `option` names the subject option in messages (`files.assessments.subject`).
pub fn to_canonical(table: RawTable, opts: &Options, option: &str) -> Result<RawTable, VendorError> {
    let cols = detect(&table.file, &table.headers)?;
    let subject = contract_subject(&table.file, opts.subject, option)?;
    let width = table.headers.len();
    let rows = table.rows.iter().map(|raw| canonical_row(raw, width, &cols, subject)).collect();
    let mut headers = CANONICAL_HEADERS.map(String::from).to_vec();
    headers.extend(EXTRAS.iter().map(|(name, _, _)| name.to_string()));
    Ok(RawTable { headers, rows, ..table })
}

/// The canonical assessments columns of a file converted in memory ([`to_canonical`]).
pub const CANONICAL_HEADERS: [&str; 9] = super::nwea::CANONICAL_HEADERS;

/// One i-Ready row as a canonical row, or as a row with its problems as the defect.
fn canonical_row(raw: &RawRow, width: usize, cols: &IreadyColumns, subject: Subject) -> RawRow {
    let failed = |problems: Vec<Problem>| {
        let mut defects =
            problems.into_iter().map(|(column, value, code, text)| Defect { column, value, ..Defect::new(code, text) });
        let mut first = defects.next().expect("a failed row has a problem");
        first.more = defects.collect();
        RawRow { row: raw.row, fields: Vec::new(), defect: Some(first) }
    };
    if let Some(faults) = row_fault(width, raw) {
        return failed(faults);
    }
    let test = match convert_row(&raw.fields, cols, subject) {
        Ok(t) => t,
        Err(problems) => return failed(problems),
    };
    if let Some(reason) = test.invalid_reason {
        let value = raw.fields.get(cols.rush).map_or(String::new(), |f| f.trim().to_string());
        let column = cols.headers.name(cols.rush).to_string();
        return failed(vec![(
            column,
            value,
            ReasonCode::TestFlaggedInvalid,
            format!("{reason}; the test is not used"),
        )]);
    }
    let mut fields = vec![
        test.student_id,
        test.subject.as_str().to_string(),
        iso(test.test_date),
        test.window,
        test.school_year,
        test.grade.map(|g| g.to_string()).unwrap_or_default(),
        test.scale_score,
        String::new(),
        "true".to_string(),
    ];
    fields.extend(test.extras.into_iter().map(|x| match x {
        ExtraValue::Text(v) => v.unwrap_or_default(),
        ExtraValue::Flag(v) => v.map_or(String::new(), |b| b.to_string()),
    }));
    RawRow { row: raw.row, fields, defect: None }
}

/// The canonical assessments columns (`sem` empty), then `invalid_reason` and the vendor
/// columns.
fn to_table(tests: &[Diagnostic]) -> Table {
    let text = |f: &dyn Fn(&Diagnostic) -> Option<String>| Column::Text(tests.iter().map(f).collect());
    let mut t = Table::new();
    t.push("student_id", text(&|x| Some(x.student_id.clone())));
    t.push("subject", text(&|x| Some(x.subject.as_str().to_string())));
    t.push("test_date", text(&|x| Some(iso(x.test_date))));
    t.push("window", text(&|x| Some(x.window.clone())));
    t.push("school_year", text(&|x| Some(x.school_year.clone())));
    t.push("grade", Column::Int(tests.iter().map(|x| x.grade).collect()));
    t.push("scale_score", text(&|x| Some(x.scale_score.clone())));
    t.push("sem", text(&|_| None));
    t.push("valid", Column::Bool(tests.iter().map(|x| Some(x.valid)).collect()));
    t.push("invalid_reason", text(&|x| x.invalid_reason.clone()));
    for (j, (name, _, kind)) in EXTRAS.iter().enumerate() {
        let column = match kind {
            ExtraKind::Flag => Column::Bool(
                tests.iter().map(|x| if let ExtraValue::Flag(v) = &x.extras[j] { *v } else { None }).collect(),
            ),
            ExtraKind::Number => text(&|x| if let ExtraValue::Text(v) = &x.extras[j] { v.clone() } else { None }),
        };
        t.push(name, column);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(names: &str) -> Vec<String> {
        names.split(',').map(String::from).collect()
    }

    #[test]
    fn norming_windows_and_academic_years_read() {
        assert_eq!(parse_norming_window("Winter (November 16 - March 1)"), Ok("winter".into()));
        assert_eq!(parse_norming_window("Fall (Beginning of Year - November 15)"), Ok("fall".into()));
        assert_eq!(parse_norming_window(" SPRING(March 2 - End of Year)"), Ok("spring".into()));
        for bad in ["Summer (June 1 - July 31)", "(November 16 - March 1)", "Autumn", "W"] {
            assert!(parse_norming_window(bad).unwrap_err().contains("names no season"), "{bad:?}");
        }
        assert_eq!(parse_academic_year("2025-2026"), Ok("2025-26".into()));
        assert_eq!(parse_academic_year("2099-2100"), Ok("2099-00".into()));
        assert_eq!(parse_academic_year(" 2025-26 "), Ok("2025-26".into()));
        for bad in ["2025", "2025-2027", "2025-27", "25-26", "2025-2026x", "", "2025/2026"] {
            assert!(parse_academic_year(bad).unwrap_err().contains("\"2025-2026\""), "{bad:?}");
        }
    }

    #[test]
    fn grades_rush_flags_and_subjects_from_file_names() {
        assert_eq!(parse_grade("K"), Ok(Some(0)));
        assert_eq!(parse_grade("kindergarten"), Ok(Some(0)));
        assert_eq!(parse_grade("12"), Ok(Some(12)));
        assert_eq!(parse_grade("no grade"), Ok(None));
        assert!(parse_grade("13").is_err() && parse_grade("0").is_err() && parse_grade("PK").is_err());
        assert_eq!(parse_rush("Red Rush Flag"), Ok(Some("Red Rush Flag".into())));
        assert_eq!(parse_rush("Y"), Ok(Some("Y".into())));
        assert_eq!((parse_rush(""), parse_rush("N")), (Ok(None), Ok(None)));
        assert!(parse_rush("maybe").is_err());
        assert_eq!(subject_from_name("diagnostic_results_math_CONFIDENTIAL.csv"), Some(Subject::Math));
        assert_eq!(subject_from_name("diagnostic_results_ela_CONFIDENTIAL.csv"), Some(Subject::Reading));
        assert_eq!(subject_from_name("Reading Fall.csv"), Some(Subject::Reading));
        assert_eq!(subject_from_name("mathematics.csv"), None, "whole words only");
        assert_eq!(subject_from_name("math_and_ela.csv"), None, "both: not decided");
        assert!(matches!(file_subject("x.csv", None), Err(VendorError::SubjectNotGiven { .. })));
        assert!(matches!(file_subject("ela.csv", Some(Subject::Math)), Err(VendorError::SubjectContradicted { .. })));
        assert_eq!(file_subject("x.csv", Some(Subject::Reading)).unwrap(), Subject::Reading);
    }

    #[test]
    fn a_row_with_several_bad_fields_lists_each_and_a_good_one_converts() {
        let h = split(
            "Student ID,Student Grade,Academic Year,Completion Date,Norming Window,Rush Flag,Overall Scale Score,\
             Assessment Gain",
        );
        let cols = detect("f.csv", &h).unwrap();
        let row = split("0012,14,2025,9/31/2025,Summer (x),maybe,abc,1x");
        let bad = convert_row(&row, &cols, Subject::Math).unwrap_err();
        let columns: Vec<&str> = bad.iter().map(|b| b.0.as_str()).collect();
        assert_eq!(
            columns,
            [
                "Norming Window",
                "Academic Year",
                "Completion Date",
                "Overall Scale Score",
                "Student Grade",
                "Rush Flag",
                "Assessment Gain"
            ]
        );
        let ok = convert_row(
            &split("0012,K,2025-2026,1/16/2026,Winter (November 16 - March 1),Red Rush Flag,463,12"),
            &cols,
            Subject::Math,
        )
        .unwrap();
        assert_eq!((ok.student_id.as_str(), ok.grade, ok.valid), ("0012", Some(0), false));
        assert_eq!((ok.window.as_str(), ok.school_year.as_str()), ("winter", "2025-26"));
        assert_eq!(ok.extras[2], ExtraValue::Text(Some("12".into())), "Assessment Gain is the diagnostic gain");
        assert!(ok.invalid_reason.unwrap().contains("Red Rush Flag"));
    }

    #[test]
    fn layouts_are_recognised_or_refused_with_the_columns() {
        let e = detect("f.csv", &split("student_id,subject,scale_score")).unwrap_err().to_string();
        assert!(e.contains("i-Ready Diagnostic export"), "{e}");
        assert!(e.contains("Norming Window") && e.contains("\"scale_score\""), "{e}");
        match detect("f.csv", &split("Student ID,Academic Year,Overall Scale Score")).unwrap_err() {
            VendorError::MismatchedLayout(m) => {
                assert_eq!(m.missing, ["Student Grade", "Completion Date", "Norming Window", "Rush Flag"])
            }
            e => panic!("{e}"),
        }
        let c = detect("f.csv", &split("STUDENT ID,student grade,Academic Year,Completion Date,Norming Window,Rush Flag,Overall Scale Score,Diagnostic Gain")).unwrap();
        assert_eq!(c.extras[2], Some(7), "capitals ignored");
    }
}
