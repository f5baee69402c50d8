//! Loading conditional growth norms tables (vendor norms) into a [`NormsTable`].
//!
//! Two layouts, read with [`read_table`] (CSV/TSV or Parquet, all
//! fields as text):
//!
//! - **Long** ([`load_norms_table`]): one row per subject × grade × start × weeks, with a
//!   header naming the columns `subject, grade, start_score, weeks, mean_growth, sd`, or
//!   `start_min, start_max` (an inclusive band) in place of `start_score`. Header names are
//!   matched ignoring case and surrounding spaces; other columns are ignored.
//! - **NWEA 2015 wide** ([`load_nwea_wide`]): `Subject, Grade, StartRIT` and, for a window
//!   code such as `42` (fall to spring), `T42` (typical growth, unrounded) and `S42` (its SD);
//!   the caller names the window and the weeks of instruction it stands for (docs/methods.md 2.1:
//!   fall 4, winter 20, spring 32, next year 36). The rounded `R..` columns are not used.
//!   The window code's digits are the start and end terms (4 fall, 1 winter, 2 spring). NWEA's
//!   own conventions are read as such ([`NWEA_SUBJECT_CODES`], [`nwea_window_end_grade`]):
//!   subject codes 1-4 become Mathematics, Reading, Language Usage and General Science (a
//!   subject written as a name is kept); grade 13 is kindergarten (grade 0); and for the
//!   year-over-year windows `11` (winter to winter) and `22` (spring to spring) the file's
//!   grade is the *end* grade, so each row is stored under the start grade, one lower (the
//!   file's grade 5 in window 22 is spring of grade 4 to spring of grade 5: grade 4 here).
//!   Tables are keyed by the grade at the pre-test, as `obc norms fit` pairs tests.
//!
//! Grades are integers -1..=13, `K` = 0 (also `KG`), `PK` = -1, as in the roster. Every
//! problem is reported at once as [`TableLoadError::Rows`]: first each row's own problems
//! (unreadable row, missing or non-numeric values, bad grade, `sd ≤ 0`, `weeks ≤ 0`, a band
//! whose minimum exceeds its maximum); when there are none, the problems of the grid
//! (mixed points and bands, overlapping bands, duplicate (start, weeks), a missing cell).
//! Each names the file, the spreadsheet row (header = 1), the column as headed in the file,
//! the value as written and the reason.

use std::fmt::Write as _;
use std::path::Path;

use thiserror::Error;

use super::ledger::{Exception, ReasonCode};
use super::load::{RawRow, RawTable, ReadSpec, read_table_spec};
use super::validate::{parse_grade, parse_number};
use crate::error::DataError;
use crate::stats::norms::table::{NormsRow, NormsTable, Start, TableError};

/// Why a norms table file cannot be loaded.
#[derive(Debug, Error)]
pub enum TableLoadError {
    #[error(transparent)]
    Read(#[from] DataError),
    #[error("{file}: required column {column:?} not found; headers are {headers:?}")]
    MissingColumn { file: String, column: String, headers: Vec<String> },
    #[error("{file}: column {column:?} appears {count} times in the header")]
    DuplicateColumn { file: String, column: String, count: usize },
    #[error(
        "{file}: start scores must be given either as `start_score` or as `start_min` and `start_max`, not both; headers are {headers:?}"
    )]
    AmbiguousStart { file: String, headers: Vec<String> },
    #[error(
        "{file}: NWEA window {window:?} not found (no columns T{window} and S{window}); windows in the file: {available:?}"
    )]
    UnknownWindow { file: String, window: String, available: Vec<String> },
    #[error("invalid argument {name} = {value:?}: {reason}")]
    InvalidArgument { name: &'static str, value: String, reason: String },
    #[error("{file}: the norms table has no data rows")]
    Empty { file: String },
    #[error("{}", list_problems(file, problems))]
    Rows { file: String, problems: Vec<Exception> },
}

fn list_problems(file: &str, problems: &[Exception]) -> String {
    let mut s = format!("{file}: {} problem(s) in the norms table:", problems.len());
    for p in problems {
        let _ = write!(s, "\n  row {}, column {:?}, value {:?}: {}", p.row, p.column, p.value, p.reason);
    }
    s
}

/// Where a row's start score is.
#[derive(Clone, Copy, Debug)]
enum StartColumns {
    Point(usize),
    Band { min: usize, max: usize },
}

/// Where a row's weeks come from.
#[derive(Clone, Copy, Debug)]
enum WeeksColumn {
    Column(usize),
    /// One value for the whole file (the NWEA wide layout).
    Fixed(f64),
}

/// Column positions of the fields of [`NormsRow`] in one file.
#[derive(Clone, Copy, Debug)]
struct Layout {
    subject: usize,
    grade: usize,
    start: StartColumns,
    weeks: WeeksColumn,
    mean_growth: usize,
    sd: usize,
    /// NWEA's conventions for subjects and grades (the wide layout only).
    nwea: Option<NweaConventions>,
}

/// How the NWEA 2015 wide file codes subjects and grades.
#[derive(Clone, Copy, Debug)]
struct NweaConventions {
    /// The file's grade is the end grade of the window (windows 11 and 22).
    end_grade: bool,
}

/// NWEA's subject codes in the 2015 norms files, with the subject names they stand for.
pub const NWEA_SUBJECT_CODES: [(&str, &str); 4] =
    [("1", "Mathematics"), ("2", "Reading"), ("3", "Language Usage"), ("4", "General Science")];

/// Whether the file's Grade of NWEA window `window` is the end grade of the window: the
/// year-over-year windows `11` (winter to winter) and `22` (spring to spring). The other
/// windows (`41`, `42`, `12` within a year; `44` fall to fall) are keyed by the start grade.
pub fn nwea_window_end_grade(window: &str) -> bool {
    matches!(window, "11" | "22")
}

/// The subject named by an NWEA subject cell: a code 1-4 as its name, other text as written;
/// `Err` for a number that is not one of the codes.
fn nwea_subject(text: &str) -> Result<String, String> {
    if let Some((_, name)) = NWEA_SUBJECT_CODES.iter().find(|(code, _)| *code == text) {
        return Ok((*name).to_string());
    }
    if parse_number(text).is_some() {
        return Err(format!(
            "NWEA subject code {text} is not one of 1 = Mathematics, 2 = Reading, 3 = Language Usage, 4 = General Science"
        ));
    }
    Ok(text.to_string())
}

/// The start grade of an NWEA norms row: the file's grade (13 = K = 0, also `K`), one lower
/// when the file's grade is the window's end grade.
fn nwea_grade(text: &str, end_grade: bool) -> Result<i32, String> {
    let grade = match text {
        "13" => 0,
        _ => parse_grade(text)
            .ok_or_else(|| "grade is not an NWEA grade (K or 13 = kindergarten, 1-12, PK = -1)".to_string())?,
    };
    if !end_grade {
        return Ok(grade);
    }
    if grade <= -1 {
        return Err("the file's grade is the end grade of this window, and PK has no start grade".into());
    }
    Ok(grade - 1)
}

/// Position of the column headed `name` (ignoring case and surrounding spaces), if any.
fn find(raw: &RawTable, name: &str) -> Result<Option<usize>, TableLoadError> {
    let hits: Vec<usize> =
        raw.headers.iter().enumerate().filter(|(_, h)| h.trim().eq_ignore_ascii_case(name)).map(|(i, _)| i).collect();
    match hits.as_slice() {
        [] => Ok(None),
        [i] => Ok(Some(*i)),
        _ => Err(TableLoadError::DuplicateColumn {
            file: raw.file.clone(),
            column: raw.headers[hits[0]].trim().to_string(),
            count: hits.len(),
        }),
    }
}

fn require(raw: &RawTable, name: &str) -> Result<usize, TableLoadError> {
    find(raw, name)?.ok_or_else(|| TableLoadError::MissingColumn {
        file: raw.file.clone(),
        column: name.to_string(),
        headers: raw.headers.clone(),
    })
}

/// Reads a long-format norms table (see the module docs).
pub fn load_norms_table(path: &Path) -> Result<NormsTable, TableLoadError> {
    load_norms_table_sheet(path, None)
}

/// [`load_norms_table`] on the sheet `sheet` of an Excel workbook (`None`: the first sheet;
/// a sheet named for a text file is an error).
pub fn load_norms_table_sheet(path: &Path, sheet: Option<&str>) -> Result<NormsTable, TableLoadError> {
    norms_table_from_raw(&read_table_spec(path, &path.display().to_string(), &ReadSpec::sheet(sheet))?.0)
}

/// Reads one window of an NWEA 2015 wide norms file (see the module docs): `window` is the
/// code in the column names (`"42"` reads `T42` and `S42`), `weeks` the instructional weeks
/// the window's growth is attached to.
pub fn load_nwea_wide(path: &Path, window: &str, weeks: f64) -> Result<NormsTable, TableLoadError> {
    load_nwea_wide_sheet(path, None, window, weeks)
}

/// [`load_nwea_wide`] on the sheet `sheet` of an Excel workbook (`None`: the first sheet).
pub fn load_nwea_wide_sheet(
    path: &Path,
    sheet: Option<&str>,
    window: &str,
    weeks: f64,
) -> Result<NormsTable, TableLoadError> {
    check_window(window, weeks)?;
    nwea_wide_from_raw(&read_table_spec(path, &path.display().to_string(), &ReadSpec::sheet(sheet))?.0, window, weeks)
}

/// [`load_norms_table`] on a file already read.
pub fn norms_table_from_raw(raw: &RawTable) -> Result<NormsTable, TableLoadError> {
    let start_score = find(raw, "start_score")?;
    let start_min = find(raw, "start_min")?;
    let start_max = find(raw, "start_max")?;
    let start = match (start_score, start_min, start_max) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(TableLoadError::AmbiguousStart { file: raw.file.clone(), headers: raw.headers.clone() });
        }
        (Some(i), None, None) => StartColumns::Point(i),
        (None, Some(min), Some(max)) => StartColumns::Band { min, max },
        (None, Some(_), None) => StartColumns::Point(require(raw, "start_max")?),
        (None, None, _) => StartColumns::Point(require(raw, "start_score")?),
    };
    let layout = Layout {
        subject: require(raw, "subject")?,
        grade: require(raw, "grade")?,
        start,
        weeks: WeeksColumn::Column(require(raw, "weeks")?),
        mean_growth: require(raw, "mean_growth")?,
        sd: require(raw, "sd")?,
        nwea: None,
    };
    build(raw, layout)
}

fn check_window(window: &str, weeks: f64) -> Result<(), TableLoadError> {
    if window.is_empty() || !window.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(TableLoadError::InvalidArgument {
            name: "window",
            value: window.to_string(),
            reason: "a window code is letters and digits, e.g. 42 (fall to spring)".into(),
        });
    }
    if !(weeks.is_finite() && weeks > 0.0) {
        return Err(TableLoadError::InvalidArgument {
            name: "weeks",
            value: weeks.to_string(),
            reason: "weeks of instruction must be a finite number > 0".into(),
        });
    }
    Ok(())
}

/// [`load_nwea_wide`] on a file already read.
pub fn nwea_wide_from_raw(raw: &RawTable, window: &str, weeks: f64) -> Result<NormsTable, TableLoadError> {
    check_window(window, weeks)?;
    let (typical, sd) = (find(raw, &format!("T{window}"))?, find(raw, &format!("S{window}"))?);
    let (Some(mean_growth), Some(sd)) = (typical, sd) else {
        let mut available: Vec<String> = raw
            .headers
            .iter()
            .map(|h| h.trim())
            .filter(|h| h.len() > 1 && (h.starts_with('T') || h.starts_with('t')))
            .map(|h| h[1..].to_string())
            .filter(|w| {
                w.chars().all(|c| c.is_ascii_alphanumeric()) && find(raw, &format!("S{w}")).ok().flatten().is_some()
            })
            .collect();
        available.sort();
        return Err(TableLoadError::UnknownWindow { file: raw.file.clone(), window: window.to_string(), available });
    };
    let layout = Layout {
        subject: require(raw, "Subject")?,
        grade: require(raw, "Grade")?,
        start: StartColumns::Point(require(raw, "StartRIT")?),
        weeks: WeeksColumn::Fixed(weeks),
        mean_growth,
        sd,
        nwea: Some(NweaConventions { end_grade: nwea_window_end_grade(window) }),
    };
    build(raw, layout)
}

/// Text of column `i` in `row` ("" if the row is short).
fn text(row: &RawRow, i: usize) -> &str {
    row.fields.get(i).map_or("", |s| s.as_str())
}

/// One problem of `row` as an exception.
fn exception(
    raw: &RawTable,
    row: &RawRow,
    column: String,
    value: &str,
    (code, reason): (ReasonCode, String),
) -> Exception {
    Exception {
        file: raw.file.clone(),
        row: row.row,
        column,
        value: value.to_string(),
        code,
        reason,
        kind: code.kind(),
    }
}

/// Parses one row. Fields that do not parse are listed as (column, value, code, reason) and
/// replaced by placeholders that pass [`NormsRow::problems`], so the fields that did parse
/// can still be checked.
fn parse_row(raw: &RawTable, layout: Layout, row: &RawRow) -> (NormsRow, Vec<(String, String, ReasonCode, String)>) {
    let header = |i: usize| raw.headers[i].trim().to_string();
    let mut bad: Vec<(String, String, ReasonCode, String)> = Vec::new();
    let mut number = |i: usize, what: &str| -> Option<f64> {
        let t = text(row, i).trim();
        let v = parse_number(t);
        if v.is_none() {
            let (code, reason) = if t.is_empty() {
                (ReasonCode::MissingValue, format!("{what} is missing"))
            } else {
                (ReasonCode::NotANumber, format!("{what} is not a finite number"))
            };
            bad.push((header(i), t.to_string(), code, reason));
        }
        v
    };
    let start = match layout.start {
        StartColumns::Point(i) => Start::Point(number(i, "start score").unwrap_or(0.0)),
        StartColumns::Band { min, max } => {
            let (lo, hi) = (number(min, "band minimum"), number(max, "band maximum"));
            let (lo, hi) = (lo.or(hi).unwrap_or(0.0), hi.or(lo).unwrap_or(0.0));
            Start::Band { lo, hi }
        }
    };
    let weeks = match layout.weeks {
        WeeksColumn::Column(i) => number(i, "weeks").unwrap_or(1.0),
        WeeksColumn::Fixed(w) => w,
    };
    let mean_growth = number(layout.mean_growth, "mean growth").unwrap_or(0.0);
    let sd = number(layout.sd, "sd").unwrap_or(1.0);
    let subject_text = text(row, layout.subject).trim();
    let subject = if subject_text.is_empty() {
        bad.push((header(layout.subject), String::new(), ReasonCode::MissingValue, "subject is missing".into()));
        "?".to_string()
    } else if layout.nwea.is_some() {
        nwea_subject(subject_text).unwrap_or_else(|reason| {
            bad.push((header(layout.subject), subject_text.to_string(), ReasonCode::OutOfRange, reason));
            "?".to_string()
        })
    } else {
        subject_text.to_string()
    };
    let grade_text = text(row, layout.grade).trim();
    let grade = match layout.nwea {
        Some(nwea) => nwea_grade(grade_text, nwea.end_grade),
        None => parse_grade(grade_text).ok_or_else(|| "grade is not an integer in -1..=13 (K = 0, PK = -1)".into()),
    };
    let grade = grade.unwrap_or_else(|reason| {
        bad.push((header(layout.grade), grade_text.to_string(), ReasonCode::NotAGrade, reason));
        0
    });
    (NormsRow { subject, grade, start, weeks, mean_growth, sd }, bad)
}

/// Parses the rows, then validates them as a table, collecting every problem.
fn build(raw: &RawTable, layout: Layout) -> Result<NormsTable, TableLoadError> {
    if raw.rows.is_empty() {
        return Err(TableLoadError::Empty { file: raw.file.clone() });
    }
    let mut problems: Vec<Exception> = Vec::new();
    // parsed rows and the index of their raw row
    let mut rows: Vec<NormsRow> = Vec::with_capacity(raw.rows.len());
    let mut source: Vec<usize> = Vec::with_capacity(raw.rows.len());
    for (r, row) in raw.rows.iter().enumerate() {
        if let Some(defect) = &row.defect {
            problems.push(exception(raw, row, String::new(), "", (defect.code, defect.text.clone())));
            continue;
        }
        let (parsed, bad) = parse_row(raw, layout, row);
        let own = parsed.problems(rows.len());
        let clean = bad.is_empty() && own.is_empty();
        problems.extend(
            bad.into_iter().map(|(column, value, code, reason)| exception(raw, row, column, &value, (code, reason))),
        );
        for e in own {
            let (column, value) = locate(raw, layout, r, &e);
            problems.push(exception(raw, row, column, &value, reason(&e, raw, &source)));
        }
        if clean {
            rows.push(parsed);
            source.push(r);
        }
    }
    if problems.is_empty() {
        for e in NormsTable::problems(&rows) {
            let Some(i) = e.row() else {
                return Err(TableLoadError::Empty { file: raw.file.clone() });
            };
            let (column, value) = locate(raw, layout, source[i], &e);
            problems.push(exception(raw, &raw.rows[source[i]], column, &value, reason(&e, raw, &source)));
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.row);
        return Err(TableLoadError::Rows { file: raw.file.clone(), problems });
    }
    NormsTable::new(rows).map_err(|e| TableLoadError::Rows {
        file: raw.file.clone(),
        problems: vec![Exception {
            file: raw.file.clone(),
            row: e.row().map_or(0, |i| raw.rows[source[i]].row),
            column: String::new(),
            value: String::new(),
            code: ReasonCode::NormsTableConflict,
            reason: e.to_string(),
            kind: ReasonCode::NormsTableConflict.kind(),
        }],
    })
}

/// The column (as headed in the file) and the text a table problem is about.
fn locate(raw: &RawTable, layout: Layout, r: usize, e: &TableError) -> (String, String) {
    let row = &raw.rows[r];
    let one = |i: usize| (raw.headers[i].trim().to_string(), text(row, i).trim().to_string());
    match e.column() {
        Some("subject") => one(layout.subject),
        Some("grade") => one(layout.grade),
        Some("mean_growth") => one(layout.mean_growth),
        Some("sd") => one(layout.sd),
        Some("weeks") => match layout.weeks {
            WeeksColumn::Column(i) => one(i),
            WeeksColumn::Fixed(w) => ("(weeks given for the window)".to_string(), w.to_string()),
        },
        Some("start") => match layout.start {
            StartColumns::Point(i) => one(i),
            StartColumns::Band { min, max } => (
                format!("{},{}", raw.headers[min].trim(), raw.headers[max].trim()),
                format!("{},{}", text(row, min).trim(), text(row, max).trim()),
            ),
        },
        _ => (String::new(), String::new()),
    }
}

/// The code and reason of a table problem, with rows as spreadsheet rows of the file: a
/// value out of its range, or a row in conflict with another.
fn reason(e: &TableError, raw: &RawTable, source: &[usize]) -> (ReasonCode, String) {
    match e {
        TableError::InvalidValue { reason, .. } => (ReasonCode::OutOfRange, reason.clone()),
        other => (ReasonCode::NormsTableConflict, conflict(other, raw, source)),
    }
}

/// The text of a table problem other than an invalid value.
fn conflict(e: &TableError, raw: &RawTable, source: &[usize]) -> String {
    let sheet = |i: usize| raw.rows[source[i]].row;
    match e {
        TableError::MixedStarts { subject, grade, kind, first_row, first_kind, .. } => format!(
            "{subject} grade {grade} mixes start points and start bands: this row is a {kind}, row {} a {first_kind}",
            sheet(*first_row)
        ),
        TableError::OverlappingBands { subject, grade, band, other_row, other, .. } => format!(
            "{subject} grade {grade}: start band {band} overlaps band {other} of row {} (band limits are inclusive)",
            sheet(*other_row)
        ),
        TableError::DuplicateKey { subject, grade, start, weeks, first_row, .. } => {
            format!("{subject} grade {grade}: start {start} at {weeks} weeks repeats row {}", sheet(*first_row))
        }
        TableError::MissingCell { subject, grade, start, weeks, other_weeks, .. } => format!(
            "{subject} grade {grade}: start {start} is here at {other_weeks} weeks but has no row at {weeks} weeks (every weeks value needs the same starts)"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::{parse_csv, sha256_hex};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/norms");

    fn raw(text: &str) -> RawTable {
        let (headers, rows, blank_lines) = parse_csv(text.as_bytes(), "norms.csv").unwrap();
        RawTable {
            file: "norms.csv".into(),
            path: "norms.csv".into(),
            sha256: sha256_hex(text.as_bytes()),
            headers,
            rows,
            blank_lines,
        }
    }

    fn problems(result: Result<NormsTable, TableLoadError>) -> Vec<Exception> {
        match result {
            Err(TableLoadError::Rows { problems, .. }) => problems,
            other => panic!("expected row problems, got {other:?}"),
        }
    }

    /// (row, column, value) of each problem, and the reasons.
    fn summary(p: &[Exception]) -> Vec<(u64, &str, &str)> {
        p.iter().map(|e| (e.row, e.column.as_str(), e.value.as_str())).collect()
    }

    #[test]
    fn long_points_fixture_loads_and_reproduces_its_formula() {
        let t = load_norms_table(&Path::new(FIXTURES).join("synthetic_long_points.csv")).unwrap();
        assert_eq!(t.rows().len(), 14);
        assert_eq!(t.grades("Reading"), vec![0, 3]);
        // README: mean = a + 0.3 w − 0.08 (s − c), sd = 6 + 0.02 w; (a, c) = (10, 150) for K
        for (grade, a, c, s, w) in [(0, 10.0, 150.0, 143.5, 25.0), (3, 4.0, 195.0, 207.25, 31.0)] {
            let hit = t.expect("reading", grade, s, w).unwrap();
            let want = a + 0.3 * w - 0.08 * (s - c);
            // the file's values are printed to 10 significant digits (exact for these)
            assert!((hit.expectation.growth - want).abs() < 1e-9, "grade {grade}: {hit:?} vs {want}");
            assert!((hit.expectation.sd - (6.0 + 0.02 * w)).abs() < 1e-9, "grade {grade}: {hit:?}");
            assert!(!hit.start_clamped && !hit.weeks_clamped);
        }
    }

    #[test]
    fn band_fixture_loads_as_steps() {
        let t = load_norms_table(&Path::new(FIXTURES).join("synthetic_long_bands.csv")).unwrap();
        assert_eq!(t.expect("Math", 2, 169.0, 32.0).unwrap().expectation.growth, 12.0);
        assert_eq!(t.expect("Math", 2, 170.0, 32.0).unwrap().expectation.growth, 10.0);
        let mid = t.expect("Math", 2, 175.0, 26.0).unwrap();
        assert!((mid.expectation.growth - 8.5).abs() < 1e-12 && (mid.expectation.sd - 6.5).abs() < 1e-12, "{mid:?}");
    }

    #[test]
    fn nwea_wide_fixture_reads_one_window() {
        let path = Path::new(FIXTURES).join("synthetic_nwea_wide.csv");
        let t = load_nwea_wide(&path, "42", 32.0).unwrap();
        let hit = t.expect("Mathematics", 4, 205.0, 32.0).unwrap();
        assert!((hit.expectation.growth - 10.5).abs() < 1e-12 && hit.expectation.sd == 6.5, "{hit:?}");
        assert!(!hit.weeks_clamped);
        // K is grade 0; weeks other than the window's are flagged
        let k = t.expect("Reading", 0, 135.0, 36.0).unwrap();
        assert!((k.expectation.growth - 15.5).abs() < 1e-12 && k.weeks_clamped, "{k:?}");
        let fall_winter = load_nwea_wide(&path, "41", 20.0).unwrap();
        assert_eq!(fall_winter.expect("Mathematics", 4, 190.0, 20.0).unwrap().expectation.growth, 7.5);
        match load_nwea_wide(&path, "44", 36.0) {
            Err(TableLoadError::UnknownWindow { window, available, .. }) => {
                assert_eq!(window, "44");
                assert_eq!(available, vec!["41", "42"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(load_nwea_wide(&path, "42", 0.0), Err(TableLoadError::InvalidArgument { name: "weeks", .. })));
        assert!(matches!(load_nwea_wide(&path, "T42", 32.0), Err(TableLoadError::UnknownWindow { .. })));
    }

    /// A hand-made NWEA 2015 wide table: subject codes, grade 13, and windows 42 (fall to
    /// spring, start grade) and 22 (spring to spring, end grade).
    const NWEA_CODED: &str = "Subject,Grade,StartRIT,T42,S42,T22,S22\n\
                              1,13,140,16,7,30,9\n\
                              1,13,160,14,7,28,9\n\
                              1,1,150,15,7,21,8\n\
                              1,1,170,13,7,19,8\n\
                              2,2,170,12,6.5,14,7.5\n\
                              2,2,190,10,6.5,12,7.5\n";

    #[test]
    fn nwea_codes_grade_13_and_end_grade_windows() {
        let fall_spring = nwea_wide_from_raw(&raw(NWEA_CODED), "42", 32.0).unwrap();
        assert_eq!(fall_spring.subjects(), vec!["Mathematics", "Reading"]);
        // 13 is kindergarten; within-year window: the file's grade is the start grade
        assert_eq!(fall_spring.grades("Mathematics"), vec![0, 1]);
        assert_eq!(fall_spring.grades("Reading"), vec![2]);
        // K at start 150: halfway between 16 (140) and 14 (160)
        assert_eq!(fall_spring.expect("Mathematics", 0, 150.0, 32.0).unwrap().expectation.growth, 15.0);
        let spring_spring = nwea_wide_from_raw(&raw(NWEA_CODED), "22", 36.0).unwrap();
        // year over year: the file's grade is the end grade, so each row moves one grade down
        // (13 = K ends kindergarten, so it starts in PK)
        assert_eq!(spring_spring.grades("Mathematics"), vec![-1, 0]);
        assert_eq!(spring_spring.grades("Reading"), vec![1]);
        // a student starting in K at 160 uses the file's grade-1 row: 21 + (160-150)/20 (19-21)
        let k = spring_spring.expect("Mathematics", 0, 160.0, 36.0).unwrap();
        assert_eq!((k.expectation.growth, k.expectation.sd), (20.0, 8.0));
        assert!(nwea_window_end_grade("11") && nwea_window_end_grade("22"));
        assert!(!["41", "42", "44", "12"].iter().any(|w| nwea_window_end_grade(w)));
    }

    #[test]
    fn nwea_bad_codes_and_grades_are_row_problems() {
        let text = "Subject,Grade,StartRIT,T22,S22\n\
                    5,3,190,10,6\n\
                    Mathematics,PK,190,10,6\n\
                    Mathematics,14,190,10,6\n\
                    1,K,190,10,6\n";
        let p = problems(nwea_wide_from_raw(&raw(text), "22", 36.0));
        assert_eq!(summary(&p), vec![(2, "Subject", "5"), (3, "Grade", "PK"), (4, "Grade", "14")], "{p:?}");
        assert_eq!(
            p.iter().map(|e| e.code).collect::<Vec<_>>(),
            [ReasonCode::OutOfRange, ReasonCode::NotAGrade, ReasonCode::NotAGrade]
        );
        assert!(p[0].reason.contains("not one of 1 = Mathematics"), "{}", p[0].reason);
        assert!(p[1].reason.contains("end grade"), "{}", p[1].reason);
        // within a year PK is a start grade like any other, and a subject name is kept
        let t = nwea_wide_from_raw(
            &raw(&text.replace("T22,S22", "T42,S42").replace("5,3,", "Reading,3,").replace(",14,", ",12,")),
            "42",
            32.0,
        )
        .unwrap();
        assert_eq!(t.grades("Mathematics"), vec![-1, 0, 12]);
        assert_eq!(t.grades("reading"), vec![3]);
        // the long layout keeps grade 13 and numeric subjects as written
        let long =
            norms_table_from_raw(&raw("subject,grade,start_score,weeks,mean_growth,sd\n1,13,190,32,5,6\n")).unwrap();
        assert_eq!((long.subjects(), long.grades("1")), (vec!["1"], vec![13]));
    }

    #[test]
    fn every_bad_row_is_reported_with_row_column_value_and_reason() {
        let text = "subject,grade,start_score,weeks,mean_growth,sd,comment\n\
                    Reading,4,190,20,6,6,ok\n\
                    Reading,4.5,200,20,5,6,bad grade\n\
                    Reading,4,N/A,20,,6,two bad fields\n\
                    ,4,210,20,4,-1,no subject and sd <= 0\n\
                    Reading,4,220,0,3,6,weeks <= 0\n\
                    Reading,4,230,20,2\n";
        let p = problems(norms_table_from_raw(&raw(text)));
        assert_eq!(
            summary(&p),
            vec![
                (3, "grade", "4.5"),
                (4, "start_score", "N/A"),
                (4, "mean_growth", ""),
                (5, "subject", ""),
                (5, "sd", "-1"),
                (6, "weeks", "0"),
                (7, "sd", ""),
            ]
        );
        assert!(p.iter().all(|e| e.file == "norms.csv" && e.kind == crate::data::ExceptionKind::Invalid));
        assert!(p[0].reason.contains("grade is not an integer"), "{}", p[0].reason);
        assert!(p[2].reason.contains("missing"), "{}", p[2].reason);
        assert!(p[4].reason.contains("> 0"), "{}", p[4].reason);
        let codes: Vec<ReasonCode> = p.iter().map(|e| e.code).collect();
        use ReasonCode::*;
        assert_eq!(codes, [NotAGrade, NotANumber, MissingValue, MissingValue, OutOfRange, OutOfRange, MissingValue]);
        let message = TableLoadError::Rows { file: "norms.csv".into(), problems: p }.to_string();
        assert!(message.starts_with("norms.csv: 7 problem(s)"), "{message}");
        assert!(message.contains("row 4, column \"start_score\", value \"N/A\""), "{message}");
    }

    #[test]
    fn grid_problems_name_spreadsheet_rows() {
        // header mixed case and spaced; row 4 repeats row 2; start 210 has no 32-week row
        let text = " Subject , GRADE ,Start_Score,weeks,mean_growth,sd\n\
                    Reading,K,190,20,6,6\n\
                    Reading,K,210,20,4,6\n\
                    \n\
                    Reading,K,190,20,6.5,6\n\
                    Reading,K,190,32,9,6\n";
        let p = problems(norms_table_from_raw(&raw(text)));
        assert_eq!(summary(&p), vec![(3, "weeks", "20"), (5, "Start_Score", "190")], "{p:?}");
        assert!(p[0].reason.contains("start 210") && p[0].reason.contains("no row at 32 weeks"), "{}", p[0].reason);
        assert!(p[1].reason.contains("repeats row 2"), "{}", p[1].reason);
        assert!(p.iter().all(|e| e.code == ReasonCode::NormsTableConflict), "{p:?}");

        let bands = "subject,grade,start_min,start_max,weeks,mean_growth,sd\n\
                     Math,2,150,159,20,9,5\n\
                     Math,2,159,169,20,8,5\n\
                     Math,2,180,170,20,8,5\n";
        let p = problems(norms_table_from_raw(&raw(bands)));
        // the reversed band is a row problem, so the overlap (a grid problem) waits for it
        assert_eq!(summary(&p), vec![(4, "start_min,start_max", "180,170")], "{p:?}");
        let p = problems(norms_table_from_raw(&raw(&bands.replace("180,170", "170,180"))));
        assert_eq!(summary(&p), vec![(3, "start_min,start_max", "159,169")], "{p:?}");
        assert!(p[0].reason.contains("overlaps band [150, 159] of row 2"), "{}", p[0].reason);
    }

    #[test]
    fn header_problems() {
        let both = "subject,grade,start_score,start_min,start_max,weeks,mean_growth,sd\nR,4,1,1,2,20,1,1\n";
        assert!(matches!(norms_table_from_raw(&raw(both)), Err(TableLoadError::AmbiguousStart { .. })));
        let half_band = "subject,grade,start_min,weeks,mean_growth,sd\nR,4,1,20,1,1\n";
        match norms_table_from_raw(&raw(half_band)) {
            Err(TableLoadError::MissingColumn { column, .. }) => assert_eq!(column, "start_max"),
            other => panic!("{other:?}"),
        }
        let no_sd = "subject,grade,start_score,weeks,mean_growth\nR,4,1,20,1\n";
        let e = norms_table_from_raw(&raw(no_sd)).unwrap_err().to_string();
        assert!(e.contains("\"sd\" not found") && e.contains("mean_growth"), "{e}");
        let twice = "subject,grade,start_score,weeks,mean_growth,sd,SD\nR,4,1,20,1,1,1\n";
        assert!(matches!(norms_table_from_raw(&raw(twice)), Err(TableLoadError::DuplicateColumn { count: 2, .. })));
        let empty = "subject,grade,start_score,weeks,mean_growth,sd\n";
        assert!(matches!(norms_table_from_raw(&raw(empty)), Err(TableLoadError::Empty { .. })));
        let e = load_norms_table(Path::new("/nonexistent/norms.csv")).unwrap_err();
        assert!(matches!(e, TableLoadError::Read(DataError::Io { .. })), "{e:?}");
    }

    #[test]
    fn an_unreadable_row_is_reported_and_the_rest_still_checked() {
        let text = "Subject,Grade,StartRIT,T42,S42\nReading,3,\"190,10,6\nReading,3,200,9,-6\n";
        let p = problems(nwea_wide_from_raw(&raw(text), "42", 32.0));
        // the record and the line its open quote took in
        assert_eq!(p.iter().map(|x| x.row).collect::<Vec<_>>(), vec![2, 3], "{p:?}");
        assert!(p[0].reason.contains("quoted field"), "{}", p[0].reason);
        assert!(p[1].reason.contains("opened on row 2"), "{}", p[1].reason);
        let text = "Subject,Grade,StartRIT,T42,S42\nReading,3,190,10,6\nReading,3,200,9,-6\nReading,3,190,8,6\n";
        let p = problems(nwea_wide_from_raw(&raw(text), "42", 32.0));
        assert_eq!(summary(&p), vec![(3, "S42", "-6")]);
        let text = "Subject,Grade,StartRIT,T42,S42\nReading,3,190,10,6\nReading,3,190,8,6\n";
        let p = problems(nwea_wide_from_raw(&raw(text), "42", 32.0));
        assert_eq!(summary(&p), vec![(3, "StartRIT", "190")]);
        assert!(p[0].reason.contains("at 32 weeks repeats row 2"), "{}", p[0].reason);
    }
}
