//! Per-subject providers (README "Per-subject providers"): the assignments file of
//! tests/fixtures/assignments overrides the roster's provider for a student and subject.
//! Student 001 is on the roster with provider A and is tutored by A in math and by B in
//! reading; student 003 is a comparison student on the roster and tutored by B in reading.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{assert_accounting, assert_same_file, manifest, obc_ok, read_csv, repo, s, samples, stderr};

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/assignments")
}

/// The rows of a CSV file as maps from header to value.
fn records(path: &Path) -> Vec<BTreeMap<String, String>> {
    let (header, rows) = read_csv(path);
    rows.into_iter().map(|r| header.iter().cloned().zip(r).collect()).collect()
}

/// (student, subject) -> the named columns of a CSV file with one row per student x subject.
fn by_student_subject(path: &Path, columns: &[&str]) -> BTreeMap<(String, String), Vec<String>> {
    records(path)
        .into_iter()
        .map(|r| ((r["student_id"].clone(), r["subject"].clone()), columns.iter().map(|c| r[*c].clone()).collect()))
        .collect()
}

fn key(student: &str, subject: &str) -> (String, String) {
    (student.to_string(), subject.to_string())
}

#[test]
fn a_student_tutored_by_one_provider_in_math_and_another_in_reading_counts_for_each() {
    let out = tempfile::tempdir().unwrap();
    let o = obc_ok(&["check", s(&fixture().join("contract.toml")), "--out", s(out.path())]);
    assert!(
        stderr(&o).contains("provider_source: 3 student x subject rows from the assignments file, 5 from the roster"),
        "{}",
        stderr(&o)
    );
    // A: 001 math, 002 math and reading; B: 001 reading, 003 reading
    let providers: BTreeMap<String, String> = records(&out.path().join("providers.csv"))
        .into_iter()
        .map(|r| (r["provider"].clone(), r["rostered"].clone()))
        .collect();
    assert_eq!(providers, BTreeMap::from([("A".into(), "3".into()), ("B".into(), "2".into())]));
    let audit = by_student_subject(
        &out.path().join("audit.csv"),
        &["provider_id", "tutor_id", "sessions_attended", "provider_source"],
    );
    let row = |p: &str, t: &str, n: &str, src: &str| vec![p.to_string(), t.into(), n.into(), src.into()];
    // each subject counts the sessions of its own provider: 3 by A, 2 by B
    assert_eq!(audit[&key("001", "math")], row("A", "T1", "3", "assignments"));
    assert_eq!(audit[&key("001", "reading")], row("B", "T9", "2", "assignments"));
    assert_eq!(audit[&key("002", "math")], row("A", "T1", "3", "roster"));
    assert_eq!(audit[&key("002", "reading")], row("A", "T1", "3", "roster"), "its two assignments conflict");
    assert_eq!(audit[&key("003", "math")], row("", "", "0", "roster"));
    assert_eq!(audit[&key("003", "reading")], row("B", "T9", "2", "assignments"));
    assert_eq!(audit.len(), 8);
    let (header, _) = read_csv(&out.path().join("audit.csv"));
    assert_eq!(header.last().map(String::as_str), Some("provider_source"), "the new column is the last");
    // the assignments file is accounted for like every input
    let inputs = assert_accounting(&manifest(out.path()));
    let a = inputs.iter().find(|i| i["file"] == "assignments.csv").expect("the assignments file is an input");
    assert_eq!((a["rows_read"].as_u64(), a["rows_used"].as_u64()), (Some(13), Some(3)));
    assert_eq!(a["role"], "assignments");
}

/// The exceptions of one file: (row, column, reason_code).
fn exceptions_of(dir: &Path, file: &str) -> Vec<(u64, String, String)> {
    records(&dir.join("exceptions.csv"))
        .into_iter()
        .filter(|r| r["file"] == file)
        .map(|r| (r["row"].parse().unwrap(), r["column"].clone(), r["reason_code"].clone()))
        .collect()
}

fn owned(rows: &[(u64, &str, &str)]) -> Vec<(u64, String, String)> {
    rows.iter().map(|(r, c, k)| (*r, c.to_string(), k.to_string())).collect()
}

#[test]
fn every_bad_assignments_row_is_an_exception_at_its_row_with_its_reason() {
    let out = tempfile::tempdir().unwrap();
    obc_ok(&["check", s(&fixture().join("contract.toml")), "--out", s(out.path())]);
    let expected = owned(&[
        (5, "student_id", "unknown_student"),
        (6, "student_id", "duplicate_assignment"),
        (7, "student_id", "duplicate_assignment"),
        (8, "subject", "assignment_other_subject"),
        (9, "enroll_date", "not_a_date"),
        (10, "exit_date", "exit_before_enroll"),
        (11, "provider_id", "unknown_provider"),
        (12, "student_id", "grade_not_in_contract"),
        (13, "student_id", "exact_duplicate"),
        (14, "student_id", "roster_row_invalid"),
    ]);
    assert_eq!(exceptions_of(out.path(), "assignments.csv"), expected);
    // sessions are checked against each subject's provider
    let sessions = owned(&[
        (7, "provider_id", "missing_value"),
        (13, "provider_id", "provider_mismatch"),
        (14, "provider_id", "session_for_comparison_student"),
    ]);
    assert_eq!(exceptions_of(out.path(), "sessions.csv"), sessions);
    // validation alone (the held path) finds the same rows, except the grade rule of the join
    let checked = tempfile::tempdir().unwrap();
    let o = obc_ok(&["validate", s(&fixture().join("contract.toml")), "--out", s(checked.path())]);
    let mut at_validation = expected.clone();
    at_validation.retain(|e| e.2 != "grade_not_in_contract");
    assert_eq!(exceptions_of(checked.path(), "assignments.csv"), at_validation);
    assert_eq!(exceptions_of(checked.path(), "sessions.csv"), sessions);
    assert!(stderr(&o).contains("decides the provider of 4 student x subject pairs (3 students)"), "{}", stderr(&o));
}

#[test]
fn prepare_shows_which_file_decided_in_the_analytic_file_and_the_flow() {
    let out = tempfile::tempdir().unwrap();
    obc_ok(&["prepare", s(&fixture().join("contract.toml")), "--out", s(out.path())]);
    let analytic = by_student_subject(&out.path().join("analytic.csv"), &["provider_id", "provider_source"]);
    assert_eq!(analytic[&key("001", "reading")], ["B", "assignments"]);
    assert_eq!(analytic[&key("004", "math")], ["", "roster"]);
    let flow: BTreeMap<(String, String), (String, String)> = records(&out.path().join("flow.csv"))
        .into_iter()
        .map(|r| ((r["subject"].clone(), r["group"].clone()), (r["rostered"].clone(), r["from_assignments"].clone())))
        .collect();
    let line = |r: &str, a: &str| (r.to_string(), a.to_string());
    assert_eq!(flow[&key("math", "A")], line("2", "1"));
    assert_eq!(flow[&key("reading", "A")], line("1", "0"));
    assert_eq!(flow[&key("reading", "B")], line("2", "2"));
    assert_eq!(flow[&key("reading", "all tutored")], line("3", "2"));
    assert_eq!(flow[&key("math", "comparison")], line("2", "0"));
}

/// The fixture's files in a folder of their own, with the contract's `assignments` line
/// replaced by `line`.
fn district_with(line: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["roster.csv", "sessions.csv", "assessments.csv"] {
        std::fs::copy(fixture().join(f), dir.path().join(f)).unwrap();
    }
    let contract = std::fs::read_to_string(fixture().join("contract.toml")).unwrap();
    assert!(contract.contains("assignments = \"assignments.csv\"\n"));
    std::fs::write(dir.path().join("contract.toml"), contract.replace("assignments = \"assignments.csv\"\n", line))
        .unwrap();
    std::fs::write(
        dir.path().join("assignments.csv"),
        "student_id,subject,provider_id,tutor_id,enroll_date,exit_date\n",
    )
    .unwrap();
    dir
}

#[test]
fn an_assignments_file_without_rows_changes_nothing_and_without_one_no_column_is_added() {
    let (without, empty) = (district_with(""), district_with("assignments = \"assignments.csv\"\n"));
    let out = tempfile::tempdir().unwrap();
    let (a, b) = (out.path().join("without"), out.path().join("empty"));
    obc_ok(&["check", s(&without.path().join("contract.toml")), "--out", s(&a)]);
    obc_ok(&["check", s(&empty.path().join("contract.toml")), "--out", s(&b)]);
    for f in ["providers.csv", "groups.csv", "audit.csv", "exceptions.csv"] {
        assert_same_file(&a.join(f), &b.join(f));
    }
    // without the file the roster decides every provider: 001's reading sessions by B are
    // now a mismatch, and nobody is B's
    let (_, audit) = read_csv(&a.join("audit.csv"));
    assert!(audit.iter().all(|r| r.last().map(String::as_str) == Some("roster")));
    let rostered: BTreeMap<String, String> =
        records(&a.join("providers.csv")).into_iter().map(|r| (r["provider"].clone(), r["rostered"].clone())).collect();
    assert_eq!(rostered["A"], "4", "001 and 002 in both subjects");
    assert_eq!(rostered.get("B").map_or("0", String::as_str), "0");
    // the prepared files of a contract without the file have no provider_source columns
    let prepared = out.path().join("prepared");
    obc_ok(&["prepare", s(&samples().join("contract.toml")), "--out", s(&prepared)]);
    let (analytic, _) = read_csv(&prepared.join("analytic.csv"));
    let (flow, _) = read_csv(&prepared.join("flow.csv"));
    assert_eq!(analytic.last().map(String::as_str), Some("exclusion_reason"));
    assert_eq!(flow.last().map(String::as_str), Some("wwc_attrition"));
}

#[test]
fn assignments_in_a_workbook_sheet_settle_like_the_csv_file() {
    let out = tempfile::tempdir().unwrap();
    let (csv, xlsx) = (out.path().join("csv"), out.path().join("xlsx"));
    obc_ok(&["check", s(&fixture().join("contract.toml")), "--out", s(&csv)]);
    obc_ok(&["check", s(&fixture().join("contract_xlsx.toml")), "--out", s(&xlsx)]);
    for f in ["providers.csv", "audit.csv"] {
        assert_same_file(&csv.join(f), &xlsx.join(f));
    }
    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    let from_sheet = text(&xlsx.join("exceptions.csv"));
    assert!(from_sheet.contains("[assignments.xlsx]Assignments,9,enroll_date,2025-13-40,not_a_date"), "{from_sheet}");
    assert_eq!(
        from_sheet.replace("[assignments.xlsx]Assignments,", "assignments.csv,"),
        text(&csv.join("exceptions.csv"))
    );
}
