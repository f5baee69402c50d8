//! `obc import iready`: each quirk of the i-Ready Diagnostic exports (fixtures written by
//! tests/fixtures/vendor/iready/make.py) becomes the canonical rows worked out here, every
//! input row is written or excepted, and a layout it does not know is refused (exit 2).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{copy_samples, obc, obc_ok, read_csv, repo, s, samples, stderr};
use crate::vendor_import::{CANONICAL, Imported, assert_counts, canonical};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/vendor/iready").join(name)
}

const MATH: &str = "diagnostic_results_math_CONFIDENTIAL.csv";
const ELA: &str = "diagnostic_results_ela_CONFIDENTIAL.csv";

fn import(files: &[&Path], extra: &[&str]) -> Imported {
    crate::vendor_import::import("iready", files, extra)
}

const VENDOR: [&str; 7] = [
    "baseline_diagnostic",
    "most_recent_diagnostic_ytd",
    "diagnostic_gain",
    "annual_typical_growth_measure",
    "annual_stretch_growth_measure",
    "percent_progress_to_annual_typical_growth",
    "percent_progress_to_annual_stretch_growth",
];

fn vendor(r: &BTreeMap<String, String>) -> Vec<&str> {
    VENDOR.iter().map(|c| r[*c].as_str()).collect()
}

#[test]
fn canonical_rows_with_an_empty_sem_and_the_vendor_growth_measures() {
    let i = import(&[&fixture(MATH)], &[]);
    assert_eq!(&i.headers[..10], CANONICAL);
    assert_eq!(&i.headers[10..], VENDOR);
    assert_eq!(i.rows.len(), 5);
    assert_eq!(canonical(&i.rows[0]), ["000140", "math", "2025-09-15", "fall", "2025-26", "4", "440", "", "true", ""]);
    assert_eq!(vendor(&i.rows[0]), ["true", "false", "0", "21", "34", "0", "0"]);
    assert_eq!(
        canonical(&i.rows[1])[..9],
        ["000140", "math", "2026-01-16", "winter", "2025-26", "4", "452", "", "true"]
    );
    let spring = &i.rows[2];
    assert_eq!(canonical(spring)[..9], ["000140", "math", "2026-05-12", "spring", "2025-26", "4", "463", "", "true"]);
    assert_eq!(vendor(spring), ["false", "true", "23", "21", "34", "110", "68"]);
    assert!(i.rows.iter().all(|r| r["sem"].is_empty()), "i-Ready has no SEM: never a zero");
    assert!(i.exceptions.is_empty(), "{:?}", i.exceptions);
    assert_counts(&i.manifest, &[(MATH, 5, 0)]);
    assert_eq!(i.manifest["command"], "import iready");
    assert_eq!(i.manifest["spec"]["file_subjects"], serde_json::json!(["math"]));
    assert_eq!(i.manifest["outputs"][0]["restricted"], true);
    assert!(i.console.contains("subject math (from the file name)"), "{}", i.console);
    assert!(
        i.console.contains("warning: i-Ready reports no standard error of measurement")
            && i.console.contains("growth_se")
            && i.console.contains("--reliability"),
        "{}",
        i.console
    );
}

#[test]
fn grade_k_is_kindergarten() {
    let i = import(&[&fixture(MATH)], &[]);
    assert_eq!((i.rows[3]["student_id"].as_str(), i.rows[3]["grade"].as_str()), ("000141", "0"));
}

#[test]
fn a_rush_flag_makes_the_test_invalid_with_the_reason() {
    let i = import(&[&fixture(MATH)], &[]);
    let rushed = &i.rows[4];
    assert_eq!(canonical(rushed)[..9], ["000142", "math", "2025-09-16", "fall", "2025-26", "3", "390", "", "false"]);
    assert_eq!(rushed["invalid_reason"], "Rush Flag \"Red Rush Flag\": the student rushed the diagnostic");
    let valid: Vec<&str> = i.rows.iter().map(|r| r["valid"].as_str()).collect();
    assert_eq!(valid, ["true", "true", "true", "true", "false"], "only the flagged test is invalid");
}

#[test]
fn the_newer_assessment_naming_and_the_subject_from_the_file_name() {
    let i = import(&[&fixture(ELA), &fixture(MATH)], &[]);
    assert_eq!(i.rows.len(), 1 + 5);
    let r = &i.rows[0];
    assert_eq!(canonical(r), ["000150", "reading", "2026-01-20", "winter", "2025-26", "1", "402", "", "true", ""]);
    assert_eq!(vendor(r), ["false", "true", "14", "49", "67", "29", ""], "\"29%\" is written 29");
    assert_eq!(i.rows[1]["subject"], "math");
    assert_counts(&i.manifest, &[(ELA, 1, 0), (MATH, 5, 0)]);
    // --subject may not contradict the name; a name that says nothing needs it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.csv");
    let o = obc(&["import", "iready", s(&fixture(ELA)), "--subject", "math", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--subject math contradicts the file's name, which says reading"), "{}", stderr(&o));
    let o = obc(&["import", "iready", s(&fixture("bad_window.csv")), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("give --subject math or --subject reading"), "{}", stderr(&o));
    assert!(!out.exists(), "nothing written");
}

#[test]
fn a_bad_window_year_grade_or_rush_flag_is_a_row_exception() {
    let i = import(&[&fixture("bad_window.csv")], &["--subject", "math"]);
    assert_eq!(i.rows.len(), 1);
    assert_eq!(canonical(&i.rows[0])[..5], ["000602", "math", "2026-01-16", "winter", "2025-26"]);
    let ex: Vec<(&str, &str, &str, &str)> =
        i.exceptions.iter().map(|e| (e[1].as_str(), e[2].as_str(), e[3].as_str(), e[4].as_str())).collect();
    assert_eq!(
        ex,
        [
            ("2", "Norming Window", "Summer (June 1 - July 31)", "window_not_understood"),
            ("4", "Norming Window", "", "missing_value"),
            ("5", "Academic Year", "2025", "window_not_understood"),
            ("6", "Student Grade", "14", "not_a_grade"),
            ("6", "Rush Flag", "maybe", "not_a_flag"),
        ]
    );
    assert!(i.exceptions[0][5].contains("names no season"), "{:?}", i.exceptions[0]);
    assert!(i.exceptions[2][5].contains("\"2025-2026\""), "{:?}", i.exceptions[2]);
    assert!(i.exceptions.iter().all(|e| e[6] == "invalid"));
    assert_counts(&i.manifest, &[("bad_window.csv", 1, 4)]);
}

#[test]
fn an_unknown_or_mismatched_layout_is_refused_naming_expected_and_found_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.csv");
    let o = obc(&["import", "iready", s(&fixture("unknown.csv")), "--subject", "math", "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("i-Ready Diagnostic export") && e.contains("Norming Window") && e.contains("Rush Flag"), "{e}");
    assert!(e.contains("found [\"student_id\", \"subject\", \"test_date\", \"scale_score\"]"), "{e}");
    assert!(!out.exists(), "nothing written");
    // The math export without its Rush Flag: the missing column is named.
    let text = std::fs::read_to_string(fixture(MATH)).unwrap();
    let cut = dir.path().join("math.csv");
    std::fs::write(&cut, text.lines().next().unwrap().replace(",Rush Flag,", ",Rush,") + "\n").unwrap();
    let o = obc(&["import", "iready", s(&cut), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("Diagnostic Results layout") && e.contains("lacks [\"Rush Flag\"]"), "{e}");
    assert!(e.contains("expected columns [\"Student ID\", \"Student Grade\""), "{e}");
}

#[test]
fn every_row_is_written_or_excepted_across_files() {
    let i = import(&[&fixture(MATH), &fixture("bad_window.csv")], &["--subject", "math"]);
    assert_eq!(i.rows.len(), 5 + 1);
    assert_counts(&i.manifest, &[(MATH, 5, 0), ("bad_window.csv", 1, 4)]);
    let excepted_rows: std::collections::BTreeSet<(&str, &str)> =
        i.exceptions.iter().map(|e| (e[0].as_str(), e[1].as_str())).collect();
    assert_eq!(excepted_rows.len(), 4, "one row with two bad fields counts once");
    assert!(i.console.contains("bad_window.csv"), "{}", i.console);
}

/// data-samples/assessments.csv written as an i-Ready math export: grade 0 as K, an invalid
/// test as a rushed one; no SEM.
pub(crate) fn as_iready_export(path: &Path) {
    let (h, rows) = read_csv(&samples().join("assessments.csv"));
    let at = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record([
        "Student ID",
        "Student Grade",
        "Academic Year",
        "School",
        "Start Date",
        "Completion Date",
        "Norming Window",
        "Baseline Diagnostic (Y/N)",
        "Most Recent Diagnostic YTD (Y/N)",
        "Duration (min)",
        "Rush Flag",
        "Overall Scale Score",
        "Overall Placement",
        "Percentile",
    ])
    .unwrap();
    for r in rows {
        assert_eq!(r[at("subject")], "math");
        let start: u32 = r[at("school_year")][..4].parse().unwrap();
        let year = format!("{start}-{}", start + 1);
        let window = match r[at("window")].as_str() {
            "fall" => "Fall (Beginning of Year - November 15)",
            "winter" => "Winter (November 16 - March 1)",
            "spring" => "Spring (March 2 - End of Year)",
            w => panic!("window {w}"),
        };
        let d = chrono::NaiveDate::parse_from_str(&r[at("test_date")], "%Y-%m-%d").unwrap();
        let date = d.format("%-m/%-d/%Y").to_string();
        let grade = if r[at("grade")] == "0" { "K".to_string() } else { r[at("grade")].clone() };
        let rush = if r[at("valid")] == "true" { "" } else { "Red Rush Flag" };
        let baseline = if r[at("window")] == "fall" { "Y" } else { "N" };
        w.write_record([
            &r[at("student_id")],
            &grade,
            &year,
            "School 1",
            &date,
            &date,
            window,
            baseline,
            "N",
            "40",
            rush,
            &r[at("scale_score")],
            "Level 3",
            "50",
        ])
        .unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn the_sample_district_round_trips_through_an_iready_export() {
    let (h, original) = read_csv(&samples().join("assessments.csv"));
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("diagnostic_results_math.csv");
    as_iready_export(&export);
    let i = import(&[&export], &[]);
    assert_eq!(i.rows.len(), original.len());
    assert!(i.exceptions.is_empty());
    for (got, want) in i.rows.iter().zip(&original) {
        for (field, value) in h.iter().zip(want) {
            let expected = if field == "sem" { "" } else { value.as_str() };
            assert_eq!(got[field], expected, "{field} of {want:?}");
        }
        assert_eq!(got["invalid_reason"].is_empty(), got["valid"] == "true", "{got:?}");
        assert_eq!(got["baseline_diagnostic"], if got["window"] == "fall" { "true" } else { "false" });
    }
    assert_counts(&i.manifest, &[("diagnostic_results_math.csv", original.len() as u64, 0)]);
}

/// A contract settled on the imported i-Ready export gives the providers.csv of the
/// canonical file it came from (the sample has one test per student and window, so the
/// missing SEM changes no retest choice).
#[test]
fn a_contract_settles_the_same_on_the_imported_iready_export() {
    let canonical = copy_samples();
    let imported = copy_samples();
    let export = imported.path().join("diagnostic_results_math.csv");
    as_iready_export(&export);
    obc_ok(&["import", "iready", s(&export), "--out", s(&imported.path().join("assessments.csv"))]);
    for d in [&canonical, &imported] {
        obc_ok(&["check", s(&d.path().join("contract.toml")), "--out", s(&d.path().join("out"))]);
    }
    // the same settlement; only the expected payment under test error differs: i-Ready has
    // no SEM, so it is not computed, and the table says why
    let (h1, r1) = read_csv(&canonical.path().join("out/providers.csv"));
    let (h2, r2) = read_csv(&imported.path().join("out/providers.csv"));
    assert_eq!(h1, h2);
    let keep: Vec<usize> = (0..h1.len()).filter(|&i| !h1[i].starts_with("expected_")).collect();
    let pick = |r: &[Vec<String>]| -> Vec<Vec<String>> {
        r.iter().map(|row| keep.iter().map(|&i| row[i].clone()).collect()).collect()
    };
    assert_eq!(pick(&r1), pick(&r2));
    let note = h2.iter().position(|x| x == "expected_note").unwrap();
    assert!(r2.iter().all(|r| r[note].contains("lack a standard error of growth")), "{r2:?}");
    assert!(r1.iter().all(|r| r[note].is_empty()));
}

/// Without SEMs nothing is computed as if the tests were exact: the analytic file's SEMs and
/// growth_se stay empty, and `norms score --sem-prior/--sem-current` leaves growth_se and
/// prob_met empty with a warning, while CGI and CGP (which need no SEM) are computed.
#[test]
fn without_an_sem_growth_se_and_prob_met_are_left_empty_and_said_so() {
    let d = copy_samples();
    let export = d.path().join("diagnostic_results_math.csv");
    as_iready_export(&export);
    obc_ok(&["import", "iready", s(&export), "--out", s(&d.path().join("assessments.csv"))]);
    let prep = d.path().join("prep");
    obc_ok(&["prepare", s(&d.path().join("contract.toml")), "--out", s(&prep)]);
    let analytic = prep.join("analytic.csv");
    let (h, rows) = read_csv(&analytic);
    assert!(!rows.is_empty());
    for c in ["pre_sem", "post_sem", "growth_se"] {
        let at = h.iter().position(|x| x == c).unwrap_or_else(|| panic!("{c} in {h:?}"));
        assert!(rows.iter().all(|r| r[at].is_empty()), "{c} must stay empty, never 0");
    }
    let norms = d.path().join("cond.json");
    obc_ok(&[
        "norms",
        "fit",
        "--data",
        s(&analytic),
        "--prior",
        "pre_score",
        "--current",
        "post_score",
        "--by",
        "grade",
        "--method",
        "conditional",
        "--min-n",
        "300",
        "--out",
        s(&norms),
    ]);
    let scores = d.path().join("cond.csv");
    let o = obc(&[
        "norms",
        "score",
        "--norms",
        s(&norms),
        "--data",
        s(&analytic),
        "--id",
        "student_id",
        "--sem-prior",
        "pre_sem",
        "--sem-current",
        "post_sem",
        "--out",
        s(&scores),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (h, rows) = read_csv(&scores);
    let at = |n: &str| h.iter().position(|x| x == n).unwrap();
    assert!(rows.iter().all(|r| r[at("growth_se")].is_empty() && r[at("prob_met")].is_empty()));
    assert!(rows.iter().all(|r| r[at("cgp")].parse::<f64>().is_ok()), "CGP needs no SEM");
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "warning: {} of {} scored students lack a pre_sem or post_sem value",
            rows.len(),
            rows.len()
        )),
        "{e}"
    );
    // The errors-in-variables correction of obc vam: refused on a column without SEMs, and
    // computed from a reliability given instead.
    let vam = |extra: &[&str]| {
        let mut args = vec![
            "vam",
            "--data",
            s(&analytic),
            "--only",
            "analysed",
            "--outcome",
            "post_score",
            "--pre",
            "pre_score",
            "--group",
            "provider_id",
            "--out",
        ];
        let out = d.path().join(format!("vam{}", extra.len() + extra.first().map_or(0, |x| x.len())));
        args.push(s(&out));
        args.extend(extra);
        obc(&args)
    };
    let o = vam(&["--sem-col", "pre_sem"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--sem-col pre_sem: no row has a standard error") && stderr(&o).contains("--reliability")
    );
    let o = vam(&["--reliability", "0.9"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}
