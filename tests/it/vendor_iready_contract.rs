//! A contract that reads i-Ready Diagnostic exports directly (`format =
//! "iready_diagnostic"`), and `obc simulate --format iready`: the contract settles as on the
//! imported canonical file and as the canonical district of the same seed, every row of the
//! export is used or excepted in its own column, and bad contracts are refused (exit 2).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::common::{assert_accounting, assert_same_file, copy_samples, manifest, obc, obc_ok, read_csv, s, stderr};
use crate::vendor_iready::as_iready_export;

const STUDENTS: &str = "1000";
const HISTORY_YEARS: &str = "4";
const SEED: &str = "20251";

/// The columns of an i-Ready Diagnostic results file (issue 16, item 2), in order.
const HEADER: [&str; 19] = [
    "Student ID",
    "Student Grade",
    "Academic Year",
    "School",
    "Start Date",
    "Completion Date",
    "Norming Window",
    "Baseline Diagnostic (Y/N)",
    "Most Recent Diagnostic YTD (Y/N)",
    "Rush Flag",
    "Duration (min)",
    "Overall Scale Score",
    "Overall Placement",
    "Percentile",
    "Diagnostic Gain",
    "Annual Typical Growth Measure",
    "Annual Stretch Growth Measure",
    "Percent Progress to Annual Typical Growth (%)",
    "Percent Progress to Annual Stretch Growth (%)",
];

fn check(contract: &Path, out: &Path) {
    obc_ok(&["check", s(contract), "--out", s(out)]);
}

/// The rows of a CSV file as column -> value maps.
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let (h, rows) = read_csv(path);
    rows.into_iter().map(|r| h.iter().cloned().zip(r).collect()).collect()
}

/// Replaces the contract's assessments line with `line`.
fn set_assessments(contract: &Path, line: &str) {
    let text = std::fs::read_to_string(contract).unwrap();
    assert!(text.contains("assessments = \"assessments.csv\"\n"));
    std::fs::write(contract, text.replace("assessments = \"assessments.csv\"\n", &format!("{line}\n"))).unwrap();
}

/// The rows of providers.csv without the `expected_*` columns (the expected payment under
/// test error needs SEMs, which i-Ready does not report).
fn settled(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let (h, r) = read_csv(path);
    let keep: Vec<usize> = (0..h.len()).filter(|&i| !h[i].starts_with("expected_")).collect();
    let pick = |row: &[String]| keep.iter().map(|&i| row[i].clone()).collect::<Vec<_>>();
    (pick(&h), r.iter().map(|row| pick(row)).collect())
}

#[test]
fn a_contract_reading_the_iready_export_settles_as_on_the_imported_file() {
    let (imported, direct) = (copy_samples(), copy_samples());
    for d in [&imported, &direct] {
        as_iready_export(&d.path().join("diagnostic_results_math.csv"));
    }
    let export = imported.path().join("diagnostic_results_math.csv");
    obc_ok(&["import", "iready", s(&export), "--out", s(&imported.path().join("assessments.csv"))]);
    set_assessments(
        &direct.path().join("contract.toml"),
        "assessments = { path = \"diagnostic_results_math.csv\", format = \"iready_diagnostic\" }",
    );
    let (imported_out, direct_out) = (imported.path().join("out"), direct.path().join("out"));
    check(&imported.path().join("contract.toml"), &imported_out);
    check(&direct.path().join("contract.toml"), &direct_out);
    // neither has an SEM: the whole table is the same, the expected payment's note included
    assert_same_file(&direct_out.join("providers.csv"), &imported_out.join("providers.csv"));
    assert_same_file(&direct_out.join("groups.csv"), &imported_out.join("groups.csv"));

    // The accounting is the export's: every row read, used or excepted.
    let inputs = assert_accounting(&manifest(&direct_out));
    let results = inputs.iter().find(|i| i["file"] == "diagnostic_results_math.csv").expect("the export is an input");
    let export_rows = rows(&direct.path().join("diagnostic_results_math.csv"));
    assert_eq!(results["rows_read"].as_u64().unwrap(), export_rows.len() as u64);

    // The rushed tests are the imported file's invalid ones, each named by its row, column
    // and value in the export.
    let rushed: Vec<BTreeMap<String, String>> = rows(&direct_out.join("exceptions.csv"))
        .into_iter()
        .filter(|e| e["file"] == "diagnostic_results_math.csv" && e["reason_code"] == "test_flagged_invalid")
        .collect();
    let invalid = rows(&imported_out.join("exceptions.csv"))
        .into_iter()
        .filter(|e| e["file"] == "assessments.csv" && e["reason_code"] == "test_flagged_invalid")
        .count();
    assert!(invalid > 0);
    assert_eq!(rushed.len(), invalid);
    for e in &rushed {
        let row: usize = e["row"].parse().unwrap();
        assert_eq!((e["column"].as_str(), e["value"].as_str()), ("Rush Flag", "Red Rush Flag"), "{e:?}");
        assert_eq!(export_rows[row - 2]["Rush Flag"], "Red Rush Flag"); // the header is row 1
        assert!(e["reason"].contains("rushed the diagnostic"), "{e:?}");
    }
}

#[test]
fn a_bad_row_of_the_export_is_an_exception_in_its_own_column() {
    let d = copy_samples();
    let export = d.path().join("results.csv");
    as_iready_export(&export);
    let mut text = std::fs::read_to_string(&export).unwrap();
    let lines = text.lines().count();
    text.push_str("000140,3,2025-2026,School 1,9/19/2025,9/19/2025,Summer (June 1 - July 31),Y,N,40,,208,Level 3,50\n");
    std::fs::write(&export, text).unwrap();
    // the file's name says no subject: it is the file of the contract's subject (math)
    set_assessments(
        &d.path().join("contract.toml"),
        "assessments = { path = \"results.csv\", format = \"iready_diagnostic\" }",
    );
    let out = d.path().join("out");
    check(&d.path().join("contract.toml"), &out);
    assert_accounting(&manifest(&out));
    let bad: Vec<BTreeMap<String, String>> = rows(&out.join("exceptions.csv"))
        .into_iter()
        .filter(|e| e["file"] == "results.csv" && e["row"] == (lines + 1).to_string())
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0]["column"], "Norming Window");
    assert_eq!(bad[0]["value"], "Summer (June 1 - July 31)");
    assert!(bad[0]["reason"].contains("names no season"), "{bad:?}");
}

#[test]
fn a_contract_whose_iready_subject_cannot_be_told_or_contradicts_is_refused() {
    let d = copy_samples();
    as_iready_export(&d.path().join("diagnostic_results_math.csv"));
    let contract = d.path().join("contract.toml");
    let original = std::fs::read_to_string(&contract).unwrap();
    let refused = |line: &str, words: &[&str]| {
        std::fs::write(&contract, &original).unwrap();
        set_assessments(&contract, line);
        let o = obc(&["check", s(&contract), "--out", s(&d.path().join("out"))]);
        assert_eq!(o.status.code(), Some(2), "{line}: {}", stderr(&o));
        let e = stderr(&o);
        for w in words {
            assert!(e.contains(w), "{line}: {w:?} not in {e}");
        }
    };
    refused(
        "assessments = { path = \"diagnostic_results_math.csv\", format = \"iready_diagnostic\", subject = \"reading\" }",
        &["files.assessments.subject = \"reading\" contradicts the file's name, which says math"],
    );
    refused(
        "assessments = { path = \"assessments.csv\", format = \"iready_diagnostic\" }",
        &["not a i-Ready Diagnostic export", "Norming Window", "\"student_id\""],
    );
    refused(
        "assessments = { path = \"diagnostic_results_math.csv\", format = \"iready_diagnostic\", subject = \"science\" }",
        &["use \"math\" or \"reading\""],
    );
    // a contract of two subjects cannot tell the subject of a file whose name says none
    std::fs::copy(d.path().join("diagnostic_results_math.csv"), d.path().join("results.csv")).unwrap();
    std::fs::write(&contract, original.replacen("subject = \"math\"", "subject = [\"math\", \"reading\"]", 1)).unwrap();
    let two = std::fs::read_to_string(&contract).unwrap();
    assert_ne!(two, original, "the sample contract names its subject");
    std::fs::write(
        &contract,
        two.replace(
            "assessments = \"assessments.csv\"\n",
            "assessments = { path = \"results.csv\", format = \"iready_diagnostic\" }\n",
        ),
    )
    .unwrap();
    let o = obc(&["check", s(&contract), "--out", s(&d.path().join("out"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("set files.assessments.subject = \"math\" or \"reading\""), "{}", stderr(&o));
}

/// Simulates the sample's district as i-Ready exports (or its canonical twin) into `dir`.
fn simulate(dir: &Path, iready: bool) {
    let mut args = vec!["simulate", "--students", STUDENTS, "--history-years", HISTORY_YEARS, "--seed", SEED];
    if iready {
        args.extend(["--format", "iready"]);
    }
    args.extend(["--out", s(dir)]);
    obc_ok(&args);
}

#[test]
fn the_simulated_iready_district_settles_as_the_canonical_one() {
    let (iready, canonical) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    simulate(iready.path(), true);
    simulate(canonical.path(), false);
    let (iready_out, canonical_out) = (iready.path().join("out"), canonical.path().join("out"));
    check(&iready.path().join("contract.toml"), &iready_out);
    check(&canonical.path().join("contract.toml"), &canonical_out);
    let (h, settled_iready) = settled(&iready_out.join("providers.csv"));
    assert_eq!((h, settled_iready), settled(&canonical_out.join("providers.csv")));
    let (h, r) = read_csv(&iready_out.join("providers.csv"));
    let note = h.iter().position(|x| x == "expected_note").unwrap();
    assert!(r.iter().all(|row| row[note].contains("i-Ready gives none")), "no SEM is said so, never taken as 0");

    // Every row of both exports read, used or excepted; the rushed tests are the canonical
    // district's invalid ones.
    let inputs = assert_accounting(&manifest(&iready_out));
    for (file, canonical_file) in
        [("diagnostic_results_math.csv", "assessments.csv"), ("diagnostic_results_math_history.csv", "history.csv")]
    {
        let input = inputs.iter().find(|i| i["file"] == file).unwrap_or_else(|| panic!("{file} is an input"));
        let (_, canonical_rows) = read_csv(&canonical.path().join(canonical_file));
        assert_eq!(input["rows_read"].as_u64().unwrap(), canonical_rows.len() as u64, "{file}");
        let count = |out: &Path, f: &str| {
            rows(&out.join("exceptions.csv"))
                .iter()
                .filter(|e| e["file"] == f && e["reason_code"] == "test_flagged_invalid")
                .count()
        };
        let invalid = count(&canonical_out, canonical_file);
        assert!(invalid > 0, "{canonical_file}");
        assert_eq!(count(&iready_out, file), invalid, "{file}");
    }
}

#[test]
fn the_simulated_export_has_the_iready_header_and_plausible_values() {
    let (dir, canonical) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    simulate(dir.path(), true);
    simulate(canonical.path(), false);
    let path = dir.path().join("diagnostic_results_math.csv");
    let (h, _) = read_csv(&path);
    assert_eq!(h, HEADER, "the export's columns, in order; no SEM");
    let tests = rows(&path);
    let original = rows(&canonical.path().join("assessments.csv"));
    assert_eq!(tests.len(), original.len());
    let mut baselines: HashMap<&str, (i64, usize)> = HashMap::new();
    let (mut rushed, mut valid_minutes, mut rushed_minutes) = (0, Vec::new(), Vec::new());
    for (t, o) in tests.iter().zip(&original) {
        assert_eq!(
            (&t["Student ID"], &t["Student Grade"], &t["Overall Scale Score"]),
            (&o["student_id"], &o["grade"], &o["scale_score"])
        );
        let completed = chrono::NaiveDate::parse_from_str(&t["Completion Date"], "%m/%d/%Y").unwrap();
        let started = chrono::NaiveDate::parse_from_str(&t["Start Date"], "%m/%d/%Y").unwrap();
        assert_eq!(completed.to_string(), o["test_date"]);
        assert!(started <= completed && (completed - started).num_days() <= 3, "{t:?}");
        assert_eq!(t["Academic Year"], "2025-2026");
        let season = t["Norming Window"].split(' ').next().unwrap().to_lowercase();
        assert_eq!(season, o["window"]);
        assert!(t["School"].ends_with("Elementary School"));
        let p: i64 = t["Percentile"].parse().unwrap();
        assert!((1..=99).contains(&p));
        assert!(["Level", "Early", "Mid", "Late", "Emerging"].iter().any(|w| t["Overall Placement"].starts_with(w)));
        let minutes: i64 = t["Duration (min)"].parse().unwrap();
        match t["Rush Flag"].as_str() {
            "" => {
                assert_eq!(o["valid"], "true");
                valid_minutes.push(minutes);
            }
            "Red Rush Flag" => {
                assert_eq!(o["valid"], "false");
                rushed += 1;
                rushed_minutes.push(minutes);
            }
            other => panic!("rush flag {other:?}"),
        }
        // growth from the baseline (the first diagnostic of the year), towards both targets
        let score: i64 = t["Overall Scale Score"].parse().unwrap();
        let typical: f64 = t["Annual Typical Growth Measure"].parse().unwrap();
        let stretch: f64 = t["Annual Stretch Growth Measure"].parse().unwrap();
        assert!(stretch > typical && typical > 0.0, "{t:?}");
        if t["Baseline Diagnostic (Y/N)"] == "Y" {
            assert_eq!(t["Diagnostic Gain"], "0");
            let b = baselines.entry(&t["Student ID"]).or_insert((score, 0));
            b.1 += 1;
        }
        let gain: f64 = t["Diagnostic Gain"].parse().unwrap();
        let progress: f64 = t["Percent Progress to Annual Typical Growth (%)"].parse().unwrap();
        assert_eq!(progress, (100.0 * gain / typical).round().max(0.0), "{t:?}");
        let stretch_progress: f64 = t["Percent Progress to Annual Stretch Growth (%)"].parse().unwrap();
        assert!(stretch_progress <= progress);
    }
    assert!(baselines.values().all(|b| b.1 == 1), "one baseline per student and year");
    for t in &tests {
        let (base, _) = baselines[t["Student ID"].as_str()];
        let score: i64 = t["Overall Scale Score"].parse().unwrap();
        assert_eq!(t["Diagnostic Gain"], (score - base).to_string(), "{t:?}");
    }
    assert!(rushed > 0 && rushed * 10 < tests.len(), "a few rushed tests: {rushed}");
    assert!(rushed_minutes.iter().max() < valid_minutes.iter().min(), "rushed tests are short");
    let recent = tests.iter().filter(|t| t["Most Recent Diagnostic YTD (Y/N)"] == "Y").count();
    assert_eq!(recent, baselines.len(), "one most recent diagnostic per student");

    let history = rows(&dir.path().join("diagnostic_results_math_history.csv"));
    let (_, canonical_history) = read_csv(&canonical.path().join("history.csv"));
    assert_eq!(history.len(), canonical_history.len());
    assert!(history.iter().any(|t| t["Rush Flag"] == "Red Rush Flag"));
    assert!(history.iter().all(|t| t["Academic Year"] != "2025-2026"), "the history is of prior years");
}
