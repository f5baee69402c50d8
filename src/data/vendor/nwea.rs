//! NWEA MAP Growth assessment results (README "From your vendor's export: NWEA MAP Growth").
//!
//! Three layouts, told apart by their header (capitals ignored):
//! - the current Comprehensive Data File `AssessmentResults` (`Subject`, `Course`,
//!   `GrowthMeasureYN`, per growth window the vendor's growth measures);
//! - the older layout, with `MeasurementScale`/`Discipline` instead of `Course`/`Subject`;
//! - the combined student + assessment file (student name, grade and ethnicity columns
//!   first; no `GrowthMeasureYN`, no `TestID`), comma- or tab-separated.
//!
//! Each row becomes one canonical assessments row (student_id, subject, test_date, window,
//! school_year, grade, scale_score, sem, valid), with the reason a test is invalid and the
//! vendor's growth measures as extra columns, or one exception per bad field.

use chrono::NaiveDate;

use super::{HeaderIndex, LayoutMismatch, VendorError};
use crate::data::date::{date_problem, iso, parse_date};
use crate::data::ledger::{Ledger, ReasonCode};
use crate::data::load::{Defect, RawRow, RawTable};
use crate::data::schema::Role;
use crate::data::table::{Column, Table};
use crate::data::validate::row_fault;

const VENDOR: &str = "NWEA MAP Growth";

/// The student ID column of every MAP layout.
pub const STUDENT_ID: &str = "StudentID";

/// The canonical assessments columns of a MAP file converted in memory ([`to_canonical`]).
pub const CANONICAL_HEADERS: [&str; 9] =
    ["student_id", "subject", "test_date", "window", "school_year", "grade", "scale_score", "sem", "valid"];

/// The growth windows of the Comprehensive Data File, in its column order.
pub const GROWTH_WINDOWS: [&str; 6] =
    ["FallToFall", "FallToWinter", "FallToSpring", "WinterToWinter", "WinterToSpring", "SpringToSpring"];

/// A MAP export layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The current Comprehensive Data File `AssessmentResults.csv`.
    Current,
    /// The older file with `MeasurementScale`/`Discipline`.
    Older,
    /// Student columns first, then the assessment's; no `GrowthMeasureYN`.
    Combined,
}

impl Layout {
    pub fn name(self) -> &'static str {
        match self {
            Layout::Current => "current AssessmentResults",
            Layout::Older => "older MeasurementScale/Discipline",
            Layout::Combined => "combined student + assessment",
        }
    }
}

/// Where the canonical subject comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubjectFrom {
    /// The broad subject (math, reading, language_usage, science) from `Subject`
    /// (`Discipline`); where it is ambiguous ("Language Arts"), from `Course`
    /// (`MeasurementScale`).
    #[default]
    Subject,
    /// The course itself in snake_case (`Algebra 2` -> `algebra_2`), so tests of different
    /// courses are never paired as one subject.
    Course,
}

/// Conversion options.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Options {
    pub subject_from: SubjectFrom,
    /// A test whose `RapidGuessingPercentage` is above this (0-100) is written invalid.
    pub max_rapid_guessing: Option<f64>,
}

/// The columns of one MAP file that the conversion reads.
#[derive(Clone, Debug)]
pub struct MapColumns {
    pub layout: Layout,
    pub headers: HeaderIndex,
    term: usize,
    student: usize,
    subject: usize,
    course: usize,
    date: usize,
    score: usize,
    sem: usize,
    growth_flag: Option<usize>,
    rapid: Option<usize>,
    grade: Option<usize>,
}

/// What each layout needs, for messages.
fn expected_summary() -> String {
    let common = "TermName, StudentID, TestStartDate, TestRITScore, TestStandardError";
    format!(
        "current ({common}, Subject, Course, GrowthMeasureYN); older ({common}, MeasurementScale, Discipline, \
         GrowthMeasureYN); combined ({common}, StudentLastName, StudentFirstName, Grade, and Subject/Course or \
         MeasurementScale/Discipline)"
    )
}

/// Detects the layout of a MAP file from its header: a MAP file has `TermName` or
/// `TestRITScore`; student name columns mark the combined file, `Subject`/`Course` the
/// current one, `MeasurementScale`/`Discipline` the older one. Errors: no layout's marking columns
/// ([`VendorError::UnknownLayout`]), or a layout with columns missing
/// ([`VendorError::MismatchedLayout`]), each with the columns expected and found.
pub fn detect(file: &str, headers: &[String]) -> Result<MapColumns, VendorError> {
    let h = HeaderIndex::new(headers);
    let combined = h.has("StudentLastName") || h.has("StudentFirstName");
    let new_names = h.has("Subject") || h.has("Course");
    let old_names = h.has("MeasurementScale") || h.has("Discipline");
    // A MAP file names its terms and RIT scores so (a canonical file's `subject` is not one).
    let map = h.has("TermName") || h.has("TestRITScore");
    let layout = match (map, combined, new_names, old_names) {
        (true, true, _, _) => Layout::Combined,
        (true, false, true, _) => Layout::Current,
        (true, false, false, true) => Layout::Older,
        _ => {
            return Err(VendorError::UnknownLayout {
                file: file.into(),
                vendor: VENDOR.into(),
                expected: expected_summary(),
                found: headers.to_vec(),
            });
        }
    };
    let (subject, course) =
        if new_names || !old_names { ("Subject", "Course") } else { ("Discipline", "MeasurementScale") };
    let mut expected = vec!["TermName", "StudentID", subject, course];
    match layout {
        Layout::Current | Layout::Older => expected.push("GrowthMeasureYN"),
        Layout::Combined => expected.extend(["StudentLastName", "StudentFirstName", "Grade"]),
    }
    expected.extend(["TestStartDate", "TestRITScore", "TestStandardError"]);
    let missing: Vec<String> = expected.iter().filter(|n| !h.has(n)).map(|n| n.to_string()).collect();
    if !missing.is_empty() {
        return Err(VendorError::MismatchedLayout(Box::new(LayoutMismatch {
            file: file.into(),
            vendor: VENDOR.into(),
            layout: layout.name().into(),
            missing,
            expected: expected.iter().map(|n| n.to_string()).collect(),
            found: headers.to_vec(),
        })));
    }
    let at = |n: &str| h.find(n).unwrap_or_else(|| unreachable!("{n} checked above"));
    Ok(MapColumns {
        layout,
        term: at("TermName"),
        student: at("StudentID"),
        subject: at(subject),
        course: at(course),
        date: at("TestStartDate"),
        score: at("TestRITScore"),
        sem: at("TestStandardError"),
        growth_flag: h.find("GrowthMeasureYN"),
        rapid: h.find("RapidGuessingPercentage"),
        grade: h.find("Grade"),
        headers: h,
    })
}

/// `TermName` ("Fall 2025-2026") as window and school year: `("fall", "2025-26")`. The
/// season is Fall, Winter, Spring or Summer (any capitals); the years are consecutive.
pub fn parse_term(text: &str) -> Result<(String, String), String> {
    let bad = || format!("TermName {text:?} is not a season and a school year such as \"Fall 2025-2026\"");
    let mut words = text.split_whitespace();
    let (Some(season), Some(years), None) = (words.next(), words.next(), words.next()) else { return Err(bad()) };
    let season = season.to_lowercase();
    if !["fall", "winter", "spring", "summer"].contains(&season.as_str()) {
        return Err(bad());
    }
    let (a, b) = years.split_once('-').ok_or_else(bad)?;
    let year =
        |y: &str| (y.len() == 4 && y.bytes().all(|c| c.is_ascii_digit())).then(|| y.parse::<u32>().ok()).flatten();
    match (year(a), year(b)) {
        (Some(a), Some(b)) if b == a + 1 => Ok((season, format!("{a}-{:02}", b % 100))),
        _ => Err(bad()),
    }
}

/// The broad subject a MAP subject or course names, or `None` (empty, "Language Arts",
/// anything else).
fn broad_subject(text: &str) -> Option<&'static str> {
    let t = text.trim().to_lowercase();
    let math = ["algebra", "geometry", "calculus", "integrated math"];
    if t.starts_with("math") || math.iter().any(|k| t.contains(k)) {
        Some("math")
    } else if t.starts_with("reading") {
        Some("reading")
    } else if t.starts_with("language usage") {
        Some("language_usage")
    } else if t.contains("science") {
        Some("science")
    } else {
        None
    }
}

/// Lower-case words joined by `_`: `"Math K-12"` -> `"math_k_12"`.
pub fn snake(text: &str) -> String {
    let mut out = String::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// `FallToSpring` -> `fall_to_spring`.
fn camel_to_snake(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_uppercase() && !out.is_empty() {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The canonical subject of a test from its `Subject` (`Discipline`) and `Course`
/// (`MeasurementScale`) ([`SubjectFrom`]); the error is the exception's reason.
pub fn resolve_subject(subject: &str, course: &str, from: SubjectFrom) -> Result<String, String> {
    let (subject, course) = (subject.trim(), course.trim());
    match from {
        SubjectFrom::Course if course.is_empty() => Err("the course is empty (--subject-from course)".into()),
        SubjectFrom::Course => Ok(snake(course)),
        SubjectFrom::Subject => match broad_subject(subject).or_else(|| broad_subject(course)) {
            Some(s) => Ok(s.to_string()),
            None if subject.eq_ignore_ascii_case("language arts") => Err(format!(
                "ambiguous subject: \"Language Arts\" is both Reading and Language Usage, and the course {course:?} \
                 does not say which"
            )),
            None => Err(format!(
                "unknown subject: neither the subject {subject:?} nor the course {course:?} names math, reading, \
                 language usage or science (use --subject-from course to keep the course as the subject)"
            )),
        },
    }
}

/// A MAP grade: `K` and `13` are kindergarten (0), 1-12 themselves; empty is `None`.
pub fn parse_grade(text: &str) -> Result<Option<i64>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    if t.eq_ignore_ascii_case("k") || t.eq_ignore_ascii_case("kg") || t == "13" {
        return Ok(Some(0));
    }
    match t.parse::<i64>() {
        Ok(g) if (0..=12).contains(&g) => Ok(Some(g)),
        _ => Err(format!("grade {t:?} is not K or 0-13 (13 is kindergarten)")),
    }
}

/// A yes/no flag (`TRUE`/`FALSE`, `Y`/`N`, `Yes`/`No`, `1`/`0`); empty is `None`.
pub fn parse_flag(text: &str) -> Result<Option<bool>, String> {
    match text.trim().to_lowercase().as_str() {
        "" => Ok(None),
        "true" | "t" | "y" | "yes" | "1" => Ok(Some(true)),
        "false" | "f" | "n" | "no" | "0" => Ok(Some(false)),
        other => Err(format!("{other:?} is not TRUE/FALSE")),
    }
}

/// `MetProjectedGrowth`: the flag and whether it carried a trailing `*` (NWEA marks a
/// result the observed growth's standard error puts in question); empty is `None`.
pub fn parse_met(text: &str) -> Result<Option<(bool, bool)>, String> {
    let t = text.trim();
    let (flag, asterisk) = match t.strip_suffix('*') {
        Some(rest) => (rest.trim_end(), true),
        None => (t, false),
    };
    match parse_flag(flag) {
        Ok(Some(met)) => Ok(Some((met, asterisk))),
        Ok(None) if !asterisk => Ok(None),
        _ => Err(format!("met projected growth {t:?} is not Yes/No (with or without a trailing *)")),
    }
}

/// A number kept as the export wrote it (trimmed); empty is `None`.
pub(super) fn number(text: &str) -> Result<Option<&str>, String> {
    let t = text.trim();
    match t {
        "" => Ok(None),
        _ if t.parse::<f64>().is_ok_and(f64::is_finite) => Ok(Some(t)),
        _ => Err(format!("{t:?} is not a number")),
    }
}

/// A percentage (`12.5`, also `12.5%`); empty is `None`.
fn percent(text: &str) -> Result<Option<f64>, String> {
    let t = text.trim();
    number(t.strip_suffix('%').unwrap_or(t)).map(|n| n.map(|x| x.parse().unwrap_or_default()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExtraKind {
    Number,
    Text,
    Met,
    Asterisk,
}

/// One vendor growth column of the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extra {
    /// The output column (`fall_to_spring_conditional_growth_percentile`).
    pub name: String,
    /// The MAP column it is read from (`FallToSpringConditionalGrowthPercentile`).
    pub source: String,
    kind: ExtraKind,
}

const SUFFIXES: [(&str, ExtraKind); 7] = [
    ("ProjectedGrowth", ExtraKind::Number),
    ("ObservedGrowth", ExtraKind::Number),
    ("ObservedGrowthSE", ExtraKind::Number),
    ("MetProjectedGrowth", ExtraKind::Met),
    ("ConditionalGrowthIndex", ExtraKind::Number),
    ("ConditionalGrowthPercentile", ExtraKind::Number),
    ("GrowthQuintile", ExtraKind::Text),
];

/// The vendor growth columns of the output: for each growth window any of the files has a
/// column of, all its measures (with `_met_projected_growth_asterisk` after the flag), then
/// each `Typical*Growth` a file has; in the Comprehensive Data File's order.
pub fn extra_columns(files: &[&HeaderIndex]) -> Vec<Extra> {
    let any = |source: &str| files.iter().any(|h| h.has(source));
    let mut out = Vec::new();
    for w in GROWTH_WINDOWS {
        if !SUFFIXES.iter().any(|(s, _)| any(&format!("{w}{s}"))) {
            continue;
        }
        for (suffix, kind) in SUFFIXES {
            let name = format!("{}_{}", camel_to_snake(w), camel_to_snake(suffix).replace("_s_e", "_se"));
            let source = format!("{w}{suffix}");
            out.push(Extra { name: name.clone(), source: source.clone(), kind });
            if kind == ExtraKind::Met {
                out.push(Extra { name: format!("{name}_asterisk"), source, kind: ExtraKind::Asterisk });
            }
        }
    }
    for w in GROWTH_WINDOWS {
        let source = format!("Typical{w}Growth");
        if any(&source) {
            out.push(Extra { name: format!("typical_{}_growth", camel_to_snake(w)), source, kind: ExtraKind::Number });
        }
    }
    out
}

/// One value of a vendor growth column.
#[derive(Clone, Debug, PartialEq)]
pub enum ExtraValue {
    Text(Option<String>),
    Flag(Option<bool>),
}

/// One MAP test as a canonical assessments row.
#[derive(Clone, Debug, PartialEq)]
pub struct MapTest {
    pub student_id: String,
    pub subject: String,
    pub test_date: NaiveDate,
    pub window: String,
    pub school_year: String,
    pub grade: Option<i64>,
    /// As the export wrote it (trimmed).
    pub scale_score: String,
    pub sem: Option<String>,
    /// `None` where the file has no `GrowthMeasureYN` (the contract's retest rule decides).
    pub valid: Option<bool>,
    /// Why the test is invalid (`GrowthMeasureYN` FALSE, rapid guessing), `; `-separated.
    pub invalid_reason: Option<String>,
    /// One value per [`extra_columns`] entry.
    pub extras: Vec<ExtraValue>,
}

/// A bad field: the file's column, the value and the reason.
pub use crate::data::load::Problem;

/// Validity from `GrowthMeasureYN` and the rapid-guessing limit, with the reasons a test
/// is invalid.
fn validity(
    get: &dyn Fn(usize) -> String,
    cols: &MapColumns,
    opts: &Options,
    bad: &mut Vec<Problem>,
) -> (Option<bool>, Option<String>) {
    let mut valid = None;
    let mut reasons = Vec::new();
    if let Some(i) = cols.growth_flag {
        match parse_flag(&get(i)) {
            Ok(Some(false)) => {
                valid = Some(false);
                reasons.push("GrowthMeasureYN is FALSE (not the term's growth measure)".to_string());
            }
            Ok(flag) => valid = flag,
            Err(r) => {
                bad.push((cols.headers.name(i).into(), get(i), ReasonCode::NotAFlag, format!("GrowthMeasureYN {r}")))
            }
        }
    }
    if let (Some(limit), Some(i)) = (opts.max_rapid_guessing, cols.rapid) {
        match percent(&get(i)) {
            Ok(Some(p)) if p > limit => {
                valid = Some(false);
                reasons.push(format!("rapid guessing {p}% is above --max-rapid-guessing {limit}%"));
            }
            Ok(_) => {}
            Err(r) => bad.push((
                cols.headers.name(i).into(),
                get(i),
                ReasonCode::NotANumber,
                format!("rapid guessing percentage {r}"),
            )),
        }
    }
    (valid, (!reasons.is_empty()).then(|| reasons.join("; ")))
}

/// The vendor growth values of a row; a value that is not what its column holds is a
/// problem.
fn extra_values(
    get: &dyn Fn(usize) -> String,
    extras: &[(Extra, Option<usize>)],
    bad: &mut Vec<Problem>,
) -> Vec<ExtraValue> {
    let mut out = Vec::with_capacity(extras.len());
    for (e, at) in extras {
        let Some(i) = *at else {
            out.push(match e.kind {
                ExtraKind::Met | ExtraKind::Asterisk => ExtraValue::Flag(None),
                _ => ExtraValue::Text(None),
            });
            continue;
        };
        let v = get(i);
        let value = match e.kind {
            ExtraKind::Text => Ok(ExtraValue::Text(Some(v.trim().to_string()).filter(|t| !t.is_empty()))),
            ExtraKind::Number => number(&v).map(|n| ExtraValue::Text(n.map(String::from))),
            ExtraKind::Met => parse_met(&v).map(|m| ExtraValue::Flag(m.map(|(met, _)| met))),
            // The flag's problem is reported once, by its Met column.
            ExtraKind::Asterisk => Ok(ExtraValue::Flag(parse_met(&v).ok().flatten().map(|(_, star)| star))),
        };
        match value {
            Ok(x) => out.push(x),
            Err(r) => {
                let code = if matches!(e.kind, ExtraKind::Met) { ReasonCode::NotAFlag } else { ReasonCode::NotANumber };
                bad.push((e.source.clone(), v, code, r));
                out.push(ExtraValue::Text(None));
            }
        }
    }
    out
}

/// Converts one row (its fields) of a file with columns `cols`; `extras` pairs each
/// output growth column with its position in this file. Errors: every bad field.
pub fn convert_row(
    fields: &[String],
    cols: &MapColumns,
    extras: &[(Extra, Option<usize>)],
    opts: &Options,
) -> Result<MapTest, Vec<Problem>> {
    let get = |i: usize| fields.get(i).map_or(String::new(), |f| f.trim().to_string());
    let name = |i: usize| cols.headers.name(i).to_string();
    let mut bad: Vec<Problem> = Vec::new();
    let student_id = get(cols.student);
    if student_id.is_empty() {
        bad.push((name(cols.student), String::new(), ReasonCode::MissingValue, "the student ID is empty".into()));
    }
    let term = parse_term(&get(cols.term))
        .map_err(|r| bad.push((name(cols.term), get(cols.term), ReasonCode::TermNameNotUnderstood, r)))
        .ok();
    let subject = resolve_subject(&get(cols.subject), &get(cols.course), opts.subject_from);
    let subject = subject
        .map_err(|r| {
            let at = if opts.subject_from == SubjectFrom::Course { cols.course } else { cols.subject };
            bad.push((name(at), get(at), ReasonCode::AmbiguousSubject, r))
        })
        .ok();
    let date = parse_date(&get(cols.date));
    if date.is_none() {
        bad.push((name(cols.date), get(cols.date), ReasonCode::NotADate, date_problem(&get(cols.date))));
    }
    let score = match number(&get(cols.score)) {
        Ok(Some(s)) => Some(s.to_string()),
        Ok(None) => {
            bad.push((name(cols.score), String::new(), ReasonCode::MissingValue, "the RIT score is empty".into()));
            None
        }
        Err(r) => {
            bad.push((name(cols.score), get(cols.score), ReasonCode::NotANumber, r));
            None
        }
    };
    let sem = number(&get(cols.sem)).map(|s| s.map(String::from));
    let sem = sem.map_err(|r| bad.push((name(cols.sem), get(cols.sem), ReasonCode::NotANumber, r))).ok().flatten();
    let grade = cols.grade.and_then(|i| {
        parse_grade(&get(i)).map_err(|r| bad.push((name(i), get(i), ReasonCode::NotAGrade, r))).ok().flatten()
    });
    let (valid, invalid_reason) = validity(&get, cols, opts, &mut bad);
    let extras = extra_values(&get, extras, &mut bad);
    match (bad.is_empty(), term, subject, date, score) {
        (true, Some((window, school_year)), Some(subject), Some(test_date), Some(scale_score)) => Ok(MapTest {
            student_id,
            subject,
            test_date,
            window,
            school_year,
            grade,
            scale_score,
            sem,
            valid,
            invalid_reason,
            extras,
        }),
        _ => Err(bad),
    }
}

/// MAP files converted: the canonical assessments table (with the invalid reason and the
/// vendor growth columns) and each file's ledger.
#[derive(Debug)]
pub struct Converted {
    pub table: Table,
    pub ledgers: Vec<Ledger>,
    /// Each file's layout, in the order given.
    pub layouts: Vec<Layout>,
}

/// Converts MAP files (each detected on its own) into one canonical table, file by file in
/// row order. Every row is written or excepted in its file's ledger. Errors: a file of no
/// known layout or a mismatched one, or `--max-rapid-guessing` with a file that has no
/// `RapidGuessingPercentage`.
pub fn convert(tables: &[RawTable], opts: &Options) -> Result<Converted, VendorError> {
    let cols: Vec<MapColumns> = tables.iter().map(|t| detect(&t.file, &t.headers)).collect::<Result<_, _>>()?;
    if opts.max_rapid_guessing.is_some()
        && let Some((t, _)) = tables.iter().zip(&cols).find(|(_, c)| c.rapid.is_none())
    {
        return Err(VendorError::OptionNeedsColumn {
            file: t.file.clone(),
            option: "--max-rapid-guessing".into(),
            column: "RapidGuessingPercentage".into(),
        });
    }
    let extras = extra_columns(&cols.iter().map(|c| &c.headers).collect::<Vec<_>>());
    let mut tests = Vec::new();
    let mut ledgers = Vec::new();
    for (t, c) in tables.iter().zip(&cols) {
        let mut ledger = Ledger::new(Role::Assessments, t);
        let here: Vec<(Extra, Option<usize>)> = extras.iter().map(|e| (e.clone(), c.headers.find(&e.source))).collect();
        for (idx, raw) in t.rows.iter().enumerate() {
            if let Some(faults) = row_fault(t.headers.len(), raw) {
                ledger.note_all(idx, faults);
                continue;
            }
            match convert_row(&raw.fields, c, &here, opts) {
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
    Ok(Converted { table: to_table(&tests, &extras), ledgers, layouts: cols.iter().map(|c| c.layout).collect() })
}

/// A MAP file converted in memory for a contract (`format = "nwea_map"`), row for row: the
/// canonical assessments columns ([`CANONICAL_HEADERS`]) and the vendor growth columns
/// ([`extra_columns`]), each row keeping its number in the
/// MAP file and the file's name and checksum, so exceptions point into the MAP file and the
/// accounting is the MAP file's. A row that cannot be converted carries its problems as a
/// [`Defect`] in the MAP file's own columns; a test whose `RapidGuessingPercentage` is
/// above the limit carries one of code `test_flagged_invalid` with that reason, so it is not
/// used whatever the contract's `require_valid`. `option` names the limit in messages.
/// Errors: as [`detect`], or a limit with a file that has no `RapidGuessingPercentage`.
pub fn to_canonical(table: RawTable, opts: &Options, option: &str) -> Result<RawTable, VendorError> {
    let cols = detect(&table.file, &table.headers)?;
    if opts.max_rapid_guessing.is_some() && cols.rapid.is_none() {
        return Err(VendorError::OptionNeedsColumn {
            file: table.file.clone(),
            option: option.into(),
            column: "RapidGuessingPercentage".into(),
        });
    }
    let width = table.headers.len();
    let extras: Vec<(Extra, Option<usize>)> =
        extra_columns(&[&cols.headers]).into_iter().map(|e| (e.clone(), cols.headers.find(&e.source))).collect();
    let rows = table.rows.iter().map(|raw| canonical_row(raw, width, &cols, &extras, opts, option)).collect();
    let mut headers = CANONICAL_HEADERS.map(String::from).to_vec();
    headers.extend(extras.into_iter().map(|(e, _)| e.name));
    Ok(RawTable { headers, rows, ..table })
}

/// One MAP row as a canonical row, or as a row with its problems as the defect.
fn canonical_row(
    raw: &RawRow,
    width: usize,
    cols: &MapColumns,
    extras: &[(Extra, Option<usize>)],
    opts: &Options,
    option: &str,
) -> RawRow {
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
    let plain = Options { max_rapid_guessing: None, ..*opts };
    let test = match convert_row(&raw.fields, cols, extras, &plain) {
        Ok(t) => t,
        Err(problems) => return failed(problems),
    };
    if let (Some(limit), Some(i)) = (opts.max_rapid_guessing, cols.rapid) {
        let value = raw.fields.get(i).map_or(String::new(), |f| f.trim().to_string());
        let column = cols.headers.name(i).to_string();
        match percent(&value) {
            Ok(Some(p)) if p > limit => {
                let reason = format!("rapid guessing {p}% is above {option} = {limit}%: the test is not used");
                return failed(vec![(column, value, ReasonCode::TestFlaggedInvalid, reason)]);
            }
            Ok(_) => {}
            Err(r) => {
                return failed(vec![(column, value, ReasonCode::NotANumber, format!("rapid guessing percentage {r}"))]);
            }
        }
    }
    let valid = match test.valid {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    };
    let mut fields = vec![
        test.student_id,
        test.subject,
        iso(test.test_date),
        test.window,
        test.school_year,
        test.grade.map(|g| g.to_string()).unwrap_or_default(),
        test.scale_score,
        test.sem.unwrap_or_default(),
        valid.to_string(),
    ];
    fields.extend(test.extras.into_iter().map(|x| match x {
        ExtraValue::Text(v) => v.unwrap_or_default(),
        ExtraValue::Flag(v) => v.map_or(String::new(), |b| b.to_string()),
    }));
    RawRow { row: raw.row, fields, defect: None }
}

/// The canonical assessments columns, then `invalid_reason` and the growth columns.
fn to_table(tests: &[MapTest], extras: &[Extra]) -> Table {
    let text = |f: &dyn Fn(&MapTest) -> Option<String>| Column::Text(tests.iter().map(f).collect());
    let mut t = Table::new();
    t.push("student_id", text(&|x| Some(x.student_id.clone())));
    t.push("subject", text(&|x| Some(x.subject.clone())));
    t.push("test_date", text(&|x| Some(iso(x.test_date))));
    t.push("window", text(&|x| Some(x.window.clone())));
    t.push("school_year", text(&|x| Some(x.school_year.clone())));
    t.push("grade", Column::Int(tests.iter().map(|x| x.grade).collect()));
    t.push("scale_score", text(&|x| Some(x.scale_score.clone())));
    t.push("sem", text(&|x| x.sem.clone()));
    t.push("valid", Column::Bool(tests.iter().map(|x| x.valid).collect()));
    t.push("invalid_reason", text(&|x| x.invalid_reason.clone()));
    for (j, e) in extras.iter().enumerate() {
        let column = match e.kind {
            ExtraKind::Met | ExtraKind::Asterisk => Column::Bool(
                tests.iter().map(|x| if let ExtraValue::Flag(v) = &x.extras[j] { *v } else { None }).collect(),
            ),
            _ => text(&|x| if let ExtraValue::Text(v) = &x.extras[j] { v.clone() } else { None }),
        };
        t.push(&e.name, column);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(names: &str) -> Vec<String> {
        names.split(',').map(String::from).collect()
    }

    #[test]
    fn term_names_give_window_and_school_year() {
        assert_eq!(parse_term("Fall 2025-2026"), Ok(("fall".into(), "2025-26".into())));
        assert_eq!(parse_term("  SPRING  2099-2100 "), Ok(("spring".into(), "2099-00".into())));
        assert_eq!(parse_term("Winter 2021-2022"), Ok(("winter".into(), "2021-22".into())));
        for bad in
            ["Fall 2025", "Fall 2025-2027", "Autumn 2025-2026", "2025-2026", "Fall 25-26", "Fall 2025-2026 x", ""]
        {
            let e = parse_term(bad).unwrap_err();
            assert!(e.contains("\"Fall 2025-2026\""), "{bad:?}: {e}");
        }
    }

    #[test]
    fn language_arts_is_split_by_course_and_otherwise_ambiguous() {
        let s = |a, b| resolve_subject(a, b, SubjectFrom::Subject);
        assert_eq!(s("Language Arts", "Reading"), Ok("reading".into()));
        assert_eq!(s("Language Arts", "Language Usage"), Ok("language_usage".into()));
        assert_eq!(s("Mathematics", "Algebra 2"), Ok("math".into()));
        assert_eq!(s("Science", "Science K-12"), Ok("science".into()));
        assert_eq!(s("", "General Science"), Ok("science".into()));
        assert!(s("Language Arts", "Language Arts").unwrap_err().starts_with("ambiguous subject"));
        assert!(s("Spanish", "Spanish 1").unwrap_err().starts_with("unknown subject"));
        let c = |a, b| resolve_subject(a, b, SubjectFrom::Course);
        assert_eq!(c("Mathematics", "Math K-12"), Ok("math_k_12".into()));
        assert_eq!(c("Mathematics", "Algebra 2"), Ok("algebra_2".into()));
        assert!(c("Mathematics", " ").is_err());
    }

    #[test]
    fn k_and_13_are_kindergarten() {
        assert_eq!(parse_grade("K"), Ok(Some(0)));
        assert_eq!(parse_grade("13"), Ok(Some(0)));
        assert_eq!(parse_grade("7"), Ok(Some(7)));
        assert_eq!(parse_grade(""), Ok(None));
        assert!(parse_grade("14").is_err() && parse_grade("PK").is_err() && parse_grade("-1").is_err());
    }

    #[test]
    fn met_projected_growth_keeps_the_asterisk_apart() {
        assert_eq!(parse_met("Yes"), Ok(Some((true, false))));
        assert_eq!(parse_met("No*"), Ok(Some((false, true))));
        assert_eq!(parse_met("TRUE *"), Ok(Some((true, true))));
        assert_eq!(parse_met(""), Ok(None));
        assert!(parse_met("*").is_err() && parse_met("maybe").is_err());
    }

    #[test]
    fn growth_columns_are_snake_case_per_window_present() {
        let a = HeaderIndex::new(&headers("TermName,FallToSpringObservedGrowthSE,TypicalFallToSpringGrowth"));
        let b = HeaderIndex::new(&headers("TermName,falltowinterprojectedgrowth"));
        let names: Vec<String> = extra_columns(&[&a, &b]).into_iter().map(|e| e.name).collect();
        assert_eq!(names.len(), 2 * 8 + 1, "{names:?}");
        assert_eq!(names[0], "fall_to_winter_projected_growth");
        assert!(names.contains(&"fall_to_spring_observed_growth_se".to_string()), "{names:?}");
        assert!(names.contains(&"fall_to_spring_met_projected_growth_asterisk".to_string()), "{names:?}");
        assert!(names.contains(&"fall_to_spring_conditional_growth_percentile".to_string()), "{names:?}");
        assert_eq!(names.last().unwrap(), "typical_fall_to_spring_growth");
    }

    #[test]
    fn layouts_are_told_apart_and_mismatches_named() {
        let common = "TermName,StudentID,TestStartDate,TestRITScore,TestStandardError";
        let d = |h: &str| detect("f.csv", &headers(h)).map(|c| c.layout);
        assert_eq!(d(&format!("{common},Subject,Course,GrowthMeasureYN")).unwrap(), Layout::Current);
        assert_eq!(d(&format!("{common},MeasurementScale,Discipline,GrowthMeasureYN")).unwrap(), Layout::Older);
        assert_eq!(
            d(&format!("StudentLastName,StudentFirstName,Grade,{common},MeasurementScale,Discipline")).unwrap(),
            Layout::Combined
        );
        match d(&format!("{common},Subject,Course")).unwrap_err() {
            VendorError::MismatchedLayout(m) => assert_eq!(m.missing, vec!["GrowthMeasureYN"]),
            e => panic!("{e}"),
        }
        let e = d("student_id,subject,scale_score").unwrap_err().to_string();
        assert!(e.contains("not a NWEA MAP Growth export") && e.contains("\"scale_score\""), "{e}");
    }

    #[test]
    fn a_row_with_several_bad_fields_lists_each() {
        let h =
            headers("TermName,StudentID,Subject,Course,GrowthMeasureYN,TestStartDate,TestRITScore,TestStandardError");
        let cols = detect("f.csv", &h).unwrap();
        let row: Vec<String> = headers("Fall 2025,0012,Language Arts,,maybe,9/31/2025,abc,3.1");
        let bad = convert_row(&row, &cols, &[], &Options::default()).unwrap_err();
        let columns: Vec<&str> = bad.iter().map(|b| b.0.as_str()).collect();
        assert_eq!(columns, ["TermName", "Subject", "TestStartDate", "TestRITScore", "GrowthMeasureYN"]);
        let ok = convert_row(
            &headers("Fall 2025-2026,0012,Mathematics,Math K-12,FALSE,09/02/2025,201,3.40"),
            &cols,
            &[],
            &Options::default(),
        )
        .unwrap();
        assert_eq!((ok.student_id.as_str(), ok.sem.as_deref(), ok.valid), ("0012", Some("3.40"), Some(false)));
        assert_eq!(ok.test_date, NaiveDate::from_ymd_opt(2025, 9, 2).unwrap());
        assert!(ok.invalid_reason.unwrap().contains("GrowthMeasureYN is FALSE"));
    }
}
