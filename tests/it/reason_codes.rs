//! Exclusion reasons are codes plus text: every row of `exceptions.csv` carries a
//! `reason_code` from `obc::data::ReasonCode`, of the code's one kind, and the README's table
//! of codes is the enum's.

use std::collections::{BTreeMap, BTreeSet};

use obc::data::{ExceptionKind, ReasonCode};

use crate::common::{obc_ok, read_csv, repo, s, samples};

/// The rows of the README's table of reason codes: (code, kind, meaning).
fn readme_table() -> Vec<(String, String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("### Reason codes").expect("README has a \"### Reason codes\" section");
    readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with("| `reason_code`"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            assert_eq!(cells.len(), 3, "{l}");
            (cells[0].trim_matches('`').to_string(), cells[1].to_string(), cells[2].to_string())
        })
        .collect()
}

#[test]
fn the_readme_lists_every_reason_code_with_its_kind_and_meaning_and_no_other() {
    let table = readme_table();
    let from_enum: Vec<(String, String, String)> = ReasonCode::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.kind().as_str().to_string(), c.description().to_string()))
        .collect();
    let listed: BTreeSet<&str> = table.iter().map(|r| r.0.as_str()).collect();
    for c in ReasonCode::ALL {
        assert!(listed.contains(c.as_str()), "{} is missing from the README's table", c.as_str());
    }
    for (code, _, _) in &table {
        assert!(ReasonCode::ALL.iter().any(|c| c.as_str() == code), "the README lists {code}, which is no code");
    }
    assert_eq!(table, from_enum, "the README's table is the enum's codes, kinds and descriptions, in order");
}

fn code_of(name: &str) -> ReasonCode {
    *ReasonCode::ALL.iter().find(|c| c.as_str() == name).unwrap_or_else(|| panic!("{name:?} is not a reason code"))
}

/// `exceptions.csv` of `dir` as maps by header, after checking the column order and that
/// every row's kind is its code's.
fn exceptions(dir: &std::path::Path) -> Vec<BTreeMap<String, String>> {
    let (h, rows) = read_csv(&dir.join("exceptions.csv"));
    assert_eq!(h, ["file", "row", "column", "value", "reason_code", "reason", "kind"]);
    let rows: Vec<BTreeMap<String, String>> = rows.into_iter().map(|r| h.iter().cloned().zip(r).collect()).collect();
    for r in &rows {
        let kind = match r["kind"].as_str() {
            "invalid" => ExceptionKind::Invalid,
            "excluded" => ExceptionKind::Excluded,
            k => panic!("kind {k:?}"),
        };
        assert_eq!(code_of(&r["reason_code"]).kind(), kind, "{r:?}");
        assert!(!r["reason"].is_empty(), "{r:?}");
    }
    rows
}

/// Spreadsheet rows (header = 1) of the sample file `file` whose column `col` is `value`.
fn sample_rows(file: &str, col: &str, value: &str) -> BTreeSet<String> {
    let (h, rows) = read_csv(&samples().join(file));
    let at = h.iter().position(|x| x == col).unwrap();
    rows.iter().enumerate().filter(|(_, r)| r[at] == value).map(|(i, _)| (i + 2).to_string()).collect()
}

#[test]
fn the_sample_settlement_codes_winter_tests_invalid_flags_and_incomplete_history_students() {
    let dir = tempfile::tempdir().unwrap();
    obc_ok(&["check", s(&samples().join("contract.toml")), "--out", s(dir.path())]);
    let ex = exceptions(dir.path());
    let rows_with = |file: &str, code: &str| -> BTreeSet<String> {
        ex.iter().filter(|r| r["file"] == file && r["reason_code"] == code).map(|r| r["row"].clone()).collect()
    };
    // every test flagged invalid is left out with that code (the flag is checked first, so
    // a winter test flagged invalid has this code), and nothing else has it
    let invalid_flag = sample_rows("assessments.csv", "valid", "false");
    assert!(!invalid_flag.is_empty());
    assert!(rows_with("assessments.csv", "test_flagged_invalid") == invalid_flag, "flagged rows differ");
    // every other winter test, and nothing else, is outside the pre and post windows
    let winter = sample_rows("assessments.csv", "window", "winter");
    let other_winter: BTreeSet<String> = winter.difference(&invalid_flag).cloned().collect();
    assert!(!other_winter.is_empty() && other_winter.len() < winter.len());
    let window = rows_with("assessments.csv", "window_not_pre_or_post");
    assert!(
        window == other_winter,
        "{} rows coded window_not_pre_or_post, {} winter tests",
        window.len(),
        other_winter.len()
    );
    // history students without a spring test after the fall test: every row of the student
    let no_post: Vec<_> =
        ex.iter().filter(|r| r["file"] == "history.csv" && r["reason_code"] == "no_post_test").collect();
    assert!(!no_post.is_empty());
    assert!(no_post.iter().all(|r| r["column"] == "student_id" && r["reason"].contains("no valid post-test")));
    assert!(ex.iter().any(|r| r["file"] == "history.csv" && r["reason_code"] == "no_pre_test"));
    // the clean sample has no bad data: every exception is left out by the rules
    assert!(ex.iter().all(|r| r["kind"] == "excluded"), "{:?}", ex.iter().find(|r| r["kind"] != "excluded"));
    let codes: BTreeSet<&str> = ex.iter().map(|r| r["reason_code"].as_str()).collect();
    assert_eq!(
        codes,
        BTreeSet::from(["no_post_test", "no_pre_test", "test_flagged_invalid", "window_not_pre_or_post"]),
        "the sample's exceptions are of these codes only"
    );
}

#[test]
fn a_midpoint_review_codes_rows_after_the_as_of_date() {
    let dir = tempfile::tempdir().unwrap();
    obc_ok(&["check", s(&samples().join("contract.toml")), "--as-of", "2026-02-15", "--out", s(dir.path())]);
    let ex = exceptions(dir.path());
    let late: Vec<_> = ex.iter().filter(|r| r["reason"].contains("after the --as-of date 2026-02-15")).collect();
    assert!(late.iter().any(|r| r["file"] == "sessions.csv"));
    assert!(late.iter().all(|r| r["reason_code"] == "after_as_of"), "{:?}", late.first());
    let coded = ex.iter().filter(|r| r["reason_code"] == "after_as_of").count();
    assert_eq!(coded, late.len(), "the code and the text name the same rows");
}

#[test]
fn messy_inputs_get_codes_of_bad_data_beside_the_text() {
    let dir = crate::common::copy_samples();
    let path = dir.path().join("sessions.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let (h, _) = read_csv(&path);
    let at = |c: &str| h.iter().position(|x| x == c).unwrap();
    let mut bad = |line: usize, col: &str, value: &str| {
        let mut f: Vec<String> = lines[line].split(',').map(str::to_string).collect();
        f[at(col)] = value.to_string();
        lines[line] = f.join(",");
    };
    bad(1, "minutes", "forty");
    bad(2, "minutes", "900");
    bad(3, "session_date", "2025-02-30");
    bad(4, "student_id", "NOBODY");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out");
    obc_ok(&["validate", s(&dir.path().join("contract.toml")), "--out", s(&out)]);
    let ex = exceptions(&out);
    let code = |row: &str, col: &str| {
        ex.iter()
            .find(|r| r["file"] == "sessions.csv" && r["row"] == row && r["column"] == h[at(col)])
            .unwrap_or_else(|| panic!("no exception for sessions.csv row {row} {col}: {ex:?}"))["reason_code"]
            .clone()
    };
    assert_eq!(code("2", "minutes"), "not_a_number");
    assert_eq!(code("3", "minutes"), "out_of_range");
    assert_eq!(code("4", "session_date"), "not_a_date");
    assert_eq!(code("5", "student_id"), "unknown_student");
    assert!(ex.iter().filter(|r| r["file"] == "sessions.csv").all(|r| r["kind"] == "invalid"));
}

#[test]
fn a_bootstrap_share_codes_a_missing_flag_as_not_available_and_a_bad_one_as_invalid_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("d.csv");
    let mut text = String::from("id,met,g\n");
    for i in 0..40 {
        text.push_str(&format!("{i},{},A\n", if i % 3 == 0 { "true" } else { "false" }));
    }
    text.push_str("40,,A\n41,maybe,A\n");
    std::fs::write(&data, text).unwrap();
    let out = dir.path().join("share.csv");
    obc_ok(&[
        "bootstrap",
        "--data",
        s(&data),
        "--statistic",
        "share",
        "--column",
        "met",
        "--reps",
        "200",
        "--out",
        s(&out),
    ]);
    let (h, rows) = read_csv(&dir.path().join("share.exceptions.csv"));
    assert_eq!(h, ["file", "row", "column", "value", "reason_code", "reason", "kind"]);
    let got: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1].as_str(), r[4].as_str(), r[6].as_str())).collect();
    assert_eq!(got, [("42", "not_available", "excluded"), ("43", "not_a_flag", "invalid")]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("share.manifest.json")).unwrap()).unwrap();
    let inputs = crate::common::assert_accounting(&m);
    assert_eq!((inputs[0]["rows_excepted"].as_u64(), inputs[0]["rows_invalid"].as_u64()), (Some(2), Some(1)));
}
