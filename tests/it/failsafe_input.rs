//! Issue 13 (fail safe and loud), the input-reading items: each test edits a copy of
//! data-samples the way a district export goes wrong and drives the `obc` binary.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::{assert_accounting, manifest, obc, read_csv, s, samples, stderr};

/// A copy of data-samples in a fresh temporary folder (removed when dropped).
fn samples_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["contract.toml", "roster.csv", "sessions.csv", "assessments.csv", "history.csv"] {
        std::fs::copy(samples().join(f), dir.path().join(f)).unwrap();
    }
    let base = dir.path().to_path_buf();
    (dir, base)
}

/// Replaces line `line` (1-based) of `file` with `edit(old line)`.
fn edit_line(file: &Path, line: usize, edit: impl Fn(&str) -> String) {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[line - 1] = edit(&lines[line - 1]);
    std::fs::write(file, lines.join("\n") + "\n").unwrap();
}

fn run(command: &str, base: &Path) -> Output {
    let out = base.join("out");
    obc(&[command, s(&base.join("contract.toml")), "--out", s(&out)])
}

/// The exceptions of one input file: (row, reason).
fn exceptions_of(base: &Path, file: &str) -> Vec<(u64, String)> {
    let (h, rows) = read_csv(&base.join("out/exceptions.csv"));
    let (f, r, why) = (0, 1, h.iter().position(|c| c == "reason").unwrap());
    rows.iter().filter(|x| x[f] == file).map(|x| (x[r].parse().unwrap(), x[why].clone())).collect()
}

fn input<'a>(inputs: &'a [serde_json::Value], file: &str) -> &'a serde_json::Value {
    inputs.iter().find(|i| i["file"] == file).unwrap_or_else(|| panic!("no {file} in {inputs:?}"))
}

#[test]
fn item_07_unclosed_quote_is_an_error_naming_its_row() {
    let (_dir, base) = samples_copy();
    let roster = base.join("roster.csv");
    edit_line(&roster, 51, |l| l.replacen(",S", ",\"S", 1));
    let o = run("validate", &base);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("roster.csv") && err.contains("opens in line 51"), "{err}");
    assert!(err.contains("close the quote in line 51 or remove it"), "{err}");

    // A quoted field over three lines (a comment typed with Enter) is read: its row and the
    // two lines it takes in are excepted, and rows read still counts every line.
    let (_dir, base) = samples_copy();
    let roster = base.join("roster.csv");
    edit_line(&roster, 51, |l| l.replacen(",S", ",\"S\nsecond line\nthird\",S", 1));
    let o = run("validate", &base);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = std::fs::read_to_string(&roster).unwrap().lines().count() as u64;
    let inputs = assert_accounting(&manifest(&base.join("out")));
    assert_eq!(input(&inputs, "roster.csv")["rows_read"].as_u64(), Some(lines - 1));
    let ex = exceptions_of(&base, "roster.csv");
    let rows: Vec<u64> = ex.iter().map(|e| e.0).filter(|&r| (51..=53).contains(&r)).collect();
    assert_eq!(rows, vec![51, 52, 53], "{ex:?}");
    assert!(ex.iter().any(|(r, why)| *r == 53 && why.contains("opened on row 51")), "{ex:?}");
}

#[test]
fn item_13_non_csv_file_is_not_echoed() {
    for (bytes, looks_like) in [
        (b"PK\x03\x04\x14\x00secret_student_0001,zz\n".to_vec(), "Excel workbook"),
        (b"%PDF-1.7\nsecret_student_0001\n".to_vec(), "PDF"),
        ([&[0u8, 1, 2, 3, 4, 5, 6, 7, 8][..], b"secret_student_0001\n"].concat(), "binary data"),
    ] {
        let (_dir, base) = samples_copy();
        std::fs::write(base.join("roster.csv"), &bytes).unwrap();
        let o = run("validate", &base);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("roster.csv") && err.contains(looks_like), "{err}");
        assert!(!err.contains("secret_student"), "the file's content is echoed: {err}");
    }
}

#[test]
fn item_14_unfittable_norms_say_why() {
    let (_dir, base) = samples_copy();
    let header = std::fs::read_to_string(base.join("history.csv")).unwrap().lines().next().unwrap().to_string();
    std::fs::write(base.join("history.csv"), header + "\n").unwrap();
    let err = stderr(&run("check", &base));
    assert!(err.contains("no norm group could be fitted: history.csv has no student"), "{err}");
    assert!(err.contains("subject(s) math") && err.contains("header but no rows"), "{err}");

    let (_dir, base) = samples_copy();
    let contract = std::fs::read_to_string(base.join("contract.toml")).unwrap();
    std::fs::write(base.join("contract.toml"), contract.replace("subject = \"math\"", "subject = \"science\""))
        .unwrap();
    let o = run("check", &base);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    let rows = std::fs::read_to_string(base.join("history.csv")).unwrap().lines().count() - 1;
    assert!(err.contains("subject(s) science") && err.contains(&format!("{rows} rows read")), "{err}");
    assert!(err.contains("subject is not among the subjects asked for"), "{err}");
}

#[test]
fn item_15_utf16_and_semicolon_files_get_a_hint() {
    let text = std::fs::read_to_string(samples().join("roster.csv")).unwrap();
    let le: Vec<u8> = text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    for bytes in [[b"\xFF\xFE".to_vec(), le.clone()].concat(), le] {
        let (_dir, base) = samples_copy();
        std::fs::write(base.join("roster.csv"), bytes).unwrap();
        let o = run("validate", &base);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("roster.csv") && err.contains("UTF-16") && err.contains("CSV UTF-8"), "{err}");
        assert!(!err.contains('\0') && !err.contains("\\0"), "{err}");
    }
    let (_dir, base) = samples_copy();
    std::fs::write(base.join("roster.csv"), text.replace(',', ";")).unwrap();
    let o = run("validate", &base);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("semicolon-separated: save the file as comma-separated"), "{err}");
    assert!(err.len() < 400, "the header list is not cut short: {err}");
}

#[test]
fn item_16_missing_file_names_the_key_once() {
    let (_dir, base) = samples_copy();
    let contract = std::fs::read_to_string(base.join("contract.toml")).unwrap();
    std::fs::write(base.join("contract.toml"), contract.replace("roster = \"roster.csv\"", "roster = \"x.csv\""))
        .unwrap();
    for command in ["validate", "check"] {
        let o = run(command, &base);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("files.roster = \"x.csv\": cannot open "), "{command}: {err}");
        assert_eq!(err.matches("No such file or directory").count(), 1, "{command}: {err}");
    }
}

#[test]
fn item_17_stray_cr_gives_one_exception_per_row() {
    let (_dir, base) = samples_copy();
    let roster = base.join("roster.csv");
    edit_line(&roster, 10, |l| l.replacen(",S", ",\rS", 1));
    let o = run("validate", &base);
    assert!(o.status.success(), "{}", stderr(&o));
    let ex = exceptions_of(&base, "roster.csv");
    let at_10: Vec<&String> = ex.iter().filter(|e| e.0 == 10).map(|e| &e.1).collect();
    assert_eq!(at_10.len(), 1, "{ex:?}");
    assert!(at_10[0].contains("stray carriage return (CR) inside line 10"), "{ex:?}");
    let inputs = assert_accounting(&manifest(&base.join("out")));
    assert_eq!(input(&inputs, "roster.csv")["rows_read"].as_u64(), Some(5000));
}

#[test]
fn item_19_same_date_duplicate_tests_are_explained() {
    let (_dir, base) = samples_copy();
    let tests = base.join("assessments.csv");
    let text = std::fs::read_to_string(&tests).unwrap();
    // the first fall test again, same date, another score
    let first = text.lines().nth(1).unwrap().to_string();
    let mut fields: Vec<String> = first.split(',').map(String::from).collect();
    let score: f64 = fields[6].parse().unwrap();
    fields[6] = (score + 7.0).to_string();
    let lines = text.lines().count();
    std::fs::write(&tests, format!("{text}{}\n", fields.join(","))).unwrap();
    let o = run("prepare", &base);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("1 students have two tests on the same date with different scores"), "{err}");
    let ex = exceptions_of(&base, "assessments.csv");
    let (_, why) = ex.iter().find(|e| e.0 == 2).expect("row 2 not chosen");
    let expected = format!(
        "pre-test retest not chosen: same date as the chosen test in row {} but a different score ({score} here vs {} chosen); chosen by rule min_sem_then_latest: the same SEM",
        lines + 1,
        score + 7.0
    );
    assert!(why.starts_with(&expected), "{why}");
}

#[test]
fn two_digit_years_say_how_to_fix() {
    let (_dir, base) = samples_copy();
    let roster = base.join("roster.csv");
    edit_line(&roster, 2, |l| l.replacen("2025-08-13", "8/13/25", 1));
    let o = run("validate", &base);
    assert!(o.status.success(), "{}", stderr(&o));
    let ex = exceptions_of(&base, "roster.csv");
    let (_, why) = ex.iter().find(|e| e.0 == 2).expect("row 2 excepted");
    assert_eq!(
        why,
        "two-digit year in 8/13/25: write the year in full (8/13/2025), e.g. format the column as yyyy-mm-dd in Excel before saving"
    );
}
