//! The planned roster of `[baseline.served] roster`: the students a district plans to serve
//! under a contract not yet signed, so that `obc baseline` can reweight its history to them
//! (docs/methods.md 10.1, "like_served").
//!
//! ## What a row is
//! One row per student ([`PLANNED`](super::schema::PLANNED)): `student_id`, `grade` and
//! `pre_score` (the student's latest scale score on the contract's test, such as this
//! fall's screener or last spring's test) are required; `school_id` and the equity-group
//! columns are optional. Headers are mapped through `[columns.planned]`.
//!
//! ## Checks (exceptions of kind `invalid`)
//! A record fault found while reading, a row with the wrong number of fields, a missing
//! student_id, a grade outside -1..=13, a pre_score that is not a finite number or lies
//! outside the plausible range of the contract's subject (`[limits]`), a group value that
//! is free text or holds control characters, and a student listed a second time (the first
//! row is kept). Every other row is used; the baseline may later exclude a student it
//! cannot match to any history student, with the reason.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::ledger::{Accounting, Ledger, ReasonCode, Stage};
use super::load::{ColumnIndex, RawRow, RawTable, ReadSpec, read_table_spec};
use super::roster_rules::group_value_fault;
use super::schema::{IdRules, Role, STANDARD_GROUPS, ScoreRange};
use super::validate::{parse_grade, parse_number};
use crate::error::DataError;
use crate::stats::warning::Warning;

/// What reading a planned roster needs from the contract.
#[derive(Clone, Debug)]
pub struct PlannedOptions {
    /// `[columns.planned]`: field -> district header.
    pub columns: BTreeMap<String, String>,
    pub ids: IdRules,
    /// Group columns to carry (those present in the file are kept).
    pub groups: Vec<String>,
    /// Plausible scale scores of the contract's subject.
    pub range: ScoreRange,
}

/// One student the district plans to serve.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedStudent {
    /// Always text, leading zeros kept.
    pub student_id: String,
    pub grade: i32,
    pub pre_score: f64,
    /// Group values of the columns carried (blank values kept as "").
    pub groups: BTreeMap<String, String>,
    /// Spreadsheet row number (header = 1).
    pub row: u64,
}

/// A planned roster read and checked, with its ledger.
#[derive(Clone, Debug)]
pub struct Planned {
    pub file: String,
    pub students: Vec<PlannedStudent>,
    /// The group columns the file has, among those asked for.
    pub groups: Vec<String>,
    pub ledger: Ledger,
}

impl Planned {
    /// Rows read, used and excepted; errors only on an internal accounting fault.
    pub fn accounting(&self) -> Result<Accounting, super::ledger::UndecidedRow> {
        self.ledger.accounting(Stage::Prepared)
    }

    /// Records that a student is not used after all (`reason`), as an exclusion.
    pub fn exclude(&mut self, student: usize, column: &str, value: &str, code: ReasonCode, reason: &str) {
        let row = self.students[student].row;
        self.ledger.exclude_row(row, column, value, code, reason);
    }
}

/// Reads the planned roster at `path` (CSV, TSV, Parquet or an Excel workbook, read as
/// `spec` says); `file` is its name in messages. Returns it with the warnings of a
/// workbook's ID check.
pub fn load_planned(
    path: &Path,
    file: &str,
    spec: &ReadSpec,
    opts: &PlannedOptions,
) -> Result<(Planned, Vec<Warning>), DataError> {
    let (table, warnings) = read_table_spec(path, file, spec).map_err(|e| e.for_key("baseline.served.roster", file))?;
    Ok((planned_from_table(&table, opts)?, warnings))
}

/// Checks an already-read planned roster (see the module docs).
pub fn planned_from_table(table: &RawTable, opts: &PlannedOptions) -> Result<Planned, DataError> {
    let extra: Vec<String> = opts.groups.iter().filter(|g| !STANDARD_GROUPS.contains(&g.as_str())).cloned().collect();
    let cols = ColumnIndex::locate(table, Role::Planned, &opts.columns, &extra)?;
    let groups: Vec<String> = opts.groups.iter().filter(|g| cols.has(g)).cloned().collect();
    let mut ledger = Ledger::new(Role::Planned, table);
    let mut students = Vec::new();
    let mut first_row: HashMap<String, u64> = HashMap::new();
    for (idx, raw) in table.rows.iter().enumerate() {
        match student(raw, table.headers.len(), &cols, opts, &groups) {
            Err(bad) => {
                for (column, value, code, reason) in bad {
                    ledger.except(idx, &column, &value, code, reason);
                }
            }
            Ok(s) => {
                if let Some(first) = first_row.get(&s.student_id) {
                    let reason = format!("student listed twice (first at row {first}; that row is kept)");
                    let code = ReasonCode::DuplicateStudent;
                    ledger.except(idx, &cols.header("student_id"), &s.student_id, code, reason);
                    continue;
                }
                first_row.insert(s.student_id.clone(), s.row);
                ledger.validate(idx);
                ledger.mark_used(idx);
                students.push(s);
            }
        }
    }
    Ok(Planned { file: table.file.clone(), students, groups, ledger })
}

/// A bad field: the column's header, the value, the code and the reason.
type Bad = Vec<(String, String, ReasonCode, String)>;

/// One row as a planned student, or every fault found in it.
fn student(
    raw: &RawRow,
    width: usize,
    cols: &ColumnIndex,
    opts: &PlannedOptions,
    groups: &[String],
) -> Result<PlannedStudent, Bad> {
    if let Some(d) = &raw.defect {
        return Err(vec![(String::new(), String::new(), d.code, d.text.clone())]);
    }
    if raw.fields.len() != width {
        return Err(vec![(
            String::new(),
            String::new(),
            ReasonCode::WrongFieldCount,
            format!("row has {} fields, the header has {width}", raw.fields.len()),
        )]);
    }
    let get = |f: &str| cols.get(raw, f).unwrap_or("");
    let mut bad: Bad = Vec::new();
    let id = opts.ids.normalize(get("student_id")).into_owned();
    if id.is_empty() {
        bad.push((cols.header("student_id"), String::new(), ReasonCode::MissingValue, "missing student_id".into()));
    }
    let grade = parse_grade(get("grade"));
    if grade.is_none() {
        let reason = "grade is not a grade in -1..=13 (PK, K, 1-12)".into();
        bad.push((cols.header("grade"), get("grade").into(), ReasonCode::NotAGrade, reason));
    }
    let [lo, hi] = opts.range.score;
    let pre = parse_number(get("pre_score"));
    match pre {
        None => bad.push((
            cols.header("pre_score"),
            get("pre_score").into(),
            ReasonCode::NotANumber,
            "pre_score is not a finite number".into(),
        )),
        Some(v) if !(lo..=hi).contains(&v) => bad.push((
            cols.header("pre_score"),
            get("pre_score").into(),
            ReasonCode::OutOfRange,
            format!("pre_score {v} is outside the plausible range {lo}..={hi} ([limits] scale_score)"),
        )),
        Some(_) => {}
    }
    let mut values = BTreeMap::new();
    for g in groups {
        let v = get(g).trim();
        if let Some(fault) = group_value_fault(v) {
            bad.push((cols.header(g), v.into(), ReasonCode::BadGroupValue, fault));
        }
        values.insert(g.clone(), v.to_string());
    }
    match (grade, pre, bad.is_empty()) {
        (Some(grade), Some(pre_score), true) => {
            Ok(PlannedStudent { student_id: id, grade, pre_score, groups: values, row: raw.row })
        }
        _ => Err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::parse_csv;

    fn opts() -> PlannedOptions {
        PlannedOptions {
            columns: BTreeMap::new(),
            ids: IdRules::default(),
            groups: vec!["low_income".into(), "gender".into()],
            range: ScoreRange { score: [100.0, 350.0], sem: [0.0, 20.0] },
        }
    }

    fn table(text: &str) -> RawTable {
        let (headers, rows, blank_lines) = parse_csv(text.as_bytes(), "planned.csv").unwrap();
        RawTable {
            file: "planned.csv".into(),
            path: "planned.csv".into(),
            sha256: String::new(),
            headers,
            rows,
            blank_lines,
        }
    }

    fn read(text: &str) -> Planned {
        planned_from_table(&table(text), &opts()).unwrap()
    }

    #[test]
    fn every_row_is_used_or_excepted_with_its_column() {
        let p = read(
            "student_id,grade,pre_score,low_income\n\
             00123,3,201,Y\n\
             00124,K,188.5,N\n\
             ,4,200,N\n\
             00125,14,200,N\n\
             00126,5,n/a,N\n\
             00127,5,999,Y\n\
             00123,3,205,Y\n\
             00128,6,215\n",
        );
        assert_eq!(p.students.len(), 2);
        assert_eq!(p.students[0].student_id, "00123", "IDs are text");
        assert_eq!((p.students[1].grade, p.students[1].pre_score), (0, 188.5));
        assert_eq!(p.groups, vec!["low_income".to_string()], "gender is not in the file");
        assert_eq!(p.students[0].groups["low_income"], "Y");
        let a = p.accounting().unwrap();
        assert_eq!((a.rows_read, a.rows_used, a.rows_excepted), (8, 2, 6));
        let reasons: Vec<(u64, &str, &str)> =
            p.ledger.exceptions().iter().map(|e| (e.row, e.column.as_str(), e.reason.as_str())).collect();
        assert_eq!(reasons[0], (4, "student_id", "missing student_id"));
        assert_eq!((reasons[1].0, reasons[1].1), (5, "grade"));
        assert_eq!((reasons[2].0, reasons[2].1), (6, "pre_score"));
        assert!(reasons[3].2.contains("plausible range"), "{:?}", reasons[3]);
        assert!(reasons[4].2.contains("listed twice (first at row 2"), "{:?}", reasons[4]);
        assert!(reasons[5].2.contains("fields"), "{:?}", reasons[5]);
        let codes: Vec<ReasonCode> = p.ledger.exceptions().iter().map(|e| e.code).collect();
        use ReasonCode::*;
        assert_eq!(codes, [MissingValue, NotAGrade, NotANumber, OutOfRange, DuplicateStudent, WrongFieldCount]);
    }

    #[test]
    fn a_missing_required_column_is_an_error_naming_it() {
        let e = planned_from_table(&table("student_id,grade\n1,3\n"), &opts()).unwrap_err();
        assert!(e.to_string().contains("pre_score"), "{e}");
    }

    #[test]
    fn an_excluded_student_becomes_an_exception() {
        let mut p = read("student_id,grade,pre_score\n1,3,200\n2,3,210\n");
        p.exclude(1, "grade", "3", ReasonCode::NotInBaseline, "no history student like this one");
        let a = p.accounting().unwrap();
        assert_eq!((a.rows_used, a.rows_excepted), (1, 1));
        assert_eq!(p.ledger.exceptions()[0].row, 3);
    }
}
