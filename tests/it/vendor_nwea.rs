//! `obc import nwea`: each quirk of the MAP exports (fixtures written by
//! tests/fixtures/vendor/nwea/make.py) becomes the canonical rows worked out here, every
//! input row is written or excepted, and a layout it does not know is refused (exit 2).

use std::path::{Path, PathBuf};

use crate::common::{assert_same_file, copy_samples, obc, obc_ok, read_csv, repo, s, samples, stderr};
use crate::vendor_import::{CANONICAL, Imported, assert_counts, canonical};

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/vendor/nwea").join(name)
}

fn import(files: &[&Path], extra: &[&str]) -> Imported {
    crate::vendor_import::import("nwea", files, extra)
}

#[test]
fn current_layout_gives_canonical_rows_and_the_vendor_growth_measures() {
    let i = import(&[&fixture("current.csv")], &[]);
    assert_eq!(&i.headers[..10], CANONICAL);
    assert_eq!(i.headers.len(), 10 + 6 * 8 + 6, "every window's measures and each typical growth: {:?}", i.headers);
    assert_eq!(i.rows.len(), 3);
    assert_eq!(
        canonical(&i.rows[0]),
        ["000140", "math", "2025-09-16", "fall", "2025-26", "", "208", "3.40", "true", ""]
    );
    assert_eq!(
        canonical(&i.rows[1])[..9],
        ["000140", "reading", "2026-01-20", "winter", "2025-26", "", "199", "3.10", "true"]
    );
    let spring = &i.rows[2];
    assert_eq!(
        canonical(spring)[..9],
        ["000140", "math", "2026-05-12", "spring", "2025-26", "", "220", "3.00", "false"]
    );
    assert!(spring["invalid_reason"].contains("GrowthMeasureYN is FALSE"), "{spring:?}");
    let growth: Vec<&str> = [
        "fall_to_spring_projected_growth",
        "fall_to_spring_observed_growth",
        "fall_to_spring_observed_growth_se",
        "fall_to_spring_met_projected_growth",
        "fall_to_spring_met_projected_growth_asterisk",
        "fall_to_spring_conditional_growth_index",
        "fall_to_spring_conditional_growth_percentile",
        "fall_to_spring_growth_quintile",
        "typical_fall_to_spring_growth",
    ]
    .iter()
    .map(|c| spring[*c].as_str())
    .collect();
    assert_eq!(growth, ["9", "12", "4.2", "true", "false", "0.45", "67", "HiAvg", "10"]);
    assert_eq!(i.rows[0]["fall_to_spring_conditional_growth_percentile"], "", "no growth measure in the fall row");
    assert!(i.exceptions.is_empty());
    assert_counts(&i.manifest, &[("current.csv", 3, 0)]);
    assert_eq!(i.manifest["command"], "import nwea");
    assert_eq!(i.manifest["outputs"][0]["restricted"], true);
}

#[test]
fn older_layout_reads_measurement_scale_and_discipline() {
    let i = import(&[&fixture("older.csv")], &[]);
    assert_eq!(canonical(&i.rows[0])[..9], ["0077", "math", "2013-09-04", "fall", "2013-14", "", "190", "3.2", "true"]);
    assert_eq!(
        canonical(&i.rows[1])[..9],
        ["0077", "language_usage", "2014-05-20", "spring", "2013-14", "", "201", "3.3", "false"]
    );
    // No growth-window columns, only the four typical growths, in the file format's order.
    assert_eq!(
        &i.headers[10..],
        [
            "typical_fall_to_fall_growth",
            "typical_fall_to_winter_growth",
            "typical_fall_to_spring_growth",
            "typical_spring_to_spring_growth"
        ]
    );
    assert_eq!(i.rows[1]["typical_fall_to_spring_growth"], "8.5");
    assert_counts(&i.manifest, &[("older.csv", 2, 0)]);
}

#[test]
fn header_capitals_that_drift_are_matched() {
    let i = import(&[&fixture("capitals.csv")], &[]);
    assert_eq!(canonical(&i.rows[0])[..9], ["01", "math", "2026-05-01", "spring", "2025-26", "", "215", "2.9", "true"]);
    assert_eq!(i.rows[0]["fall_to_spring_conditional_growth_percentile"], "67");
    assert_eq!(i.rows[0]["fall_to_spring_met_projected_growth"], "true");
    assert_eq!(i.rows[0]["typical_fall_to_spring_growth"], "10");
}

#[test]
fn combined_tab_separated_file_has_grades_and_leaves_validity_to_the_retest_rule() {
    let i = import(&[&fixture("combined.tsv")], &[]);
    assert_eq!(canonical(&i.rows[0]), ["000201", "math", "2025-09-10", "fall", "2025-26", "3", "191", "3.0", "", ""]);
    assert_eq!(
        canonical(&i.rows[1]),
        ["000202", "reading", "2025-09-11", "fall", "2025-26", "4", "198", "3.2", "", ""]
    );
    assert_counts(&i.manifest, &[("combined.tsv", 2, 0)]);
}

#[test]
fn grades_k_and_13_are_kindergarten() {
    let i = import(&[&fixture("grades.csv")], &[]);
    let grades: Vec<(&str, &str)> = i.rows.iter().map(|r| (r["student_id"].as_str(), r["grade"].as_str())).collect();
    assert_eq!(grades, [("000301", "0"), ("000302", "0"), ("000303", "12")]);
    assert_eq!(i.exceptions.len(), 1);
    assert_eq!(i.exceptions[0][..5], ["grades.csv", "5", "Grade", "14", "not_a_grade"]);
    assert_counts(&i.manifest, &[("grades.csv", 3, 1)]);
}

#[test]
fn a_trailing_asterisk_keeps_the_flag_and_is_recorded_apart() {
    let i = import(&[&fixture("asterisk.csv")], &[]);
    let met: Vec<(&str, &str, &str)> = i
        .rows
        .iter()
        .map(|r| {
            (
                r["student_id"].as_str(),
                r["fall_to_spring_met_projected_growth"].as_str(),
                r["fall_to_spring_met_projected_growth_asterisk"].as_str(),
            )
        })
        .collect();
    assert_eq!(met, [("000401", "true", "true"), ("000402", "false", "false")]);
    assert_eq!(i.exceptions[0][..5], ["asterisk.csv", "4", "FallToSpringMetProjectedGrowth", "Maybe", "not_a_flag"]);
    assert_counts(&i.manifest, &[("asterisk.csv", 2, 1)]);
}

#[test]
fn rapid_guessing_above_the_limit_makes_the_test_invalid_with_the_reason() {
    let i = import(&[&fixture("rapid.csv")], &["--max-rapid-guessing", "30"]);
    let v: Vec<(&str, &str, &str)> =
        i.rows.iter().map(|r| (r["student_id"].as_str(), r["valid"].as_str(), r["invalid_reason"].as_str())).collect();
    assert_eq!(
        v,
        [
            ("000501", "true", ""),
            ("000502", "false", "rapid guessing 35.5% is above --max-rapid-guessing 30%"),
            ("000503", "true", ""),
        ],
        "30% is not above the limit of 30%"
    );
    assert_counts(&i.manifest, &[("rapid.csv", 3, 0)]);
    assert_eq!(i.manifest["spec"]["max_rapid_guessing"], 30.0);
    let without = import(&[&fixture("rapid.csv")], &[]);
    assert!(without.rows.iter().all(|r| r["valid"] == "true"), "no limit given, no test made invalid");
    // A file without the column cannot apply the limit: refused, not ignored.
    let dir = tempfile::tempdir().unwrap();
    let o = obc(&[
        "import",
        "nwea",
        s(&fixture("older.csv")),
        "--out",
        s(&dir.path().join("a.csv")),
        "--max-rapid-guessing",
        "30",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("RapidGuessingPercentage"), "{}", stderr(&o));
}

#[test]
fn a_term_name_that_does_not_parse_is_a_row_exception() {
    let i = import(&[&fixture("bad_term.csv")], &[]);
    assert_eq!(i.rows.len(), 1);
    assert_eq!(i.rows[0]["student_id"], "000602");
    let ex: Vec<(&str, &str, &str)> =
        i.exceptions.iter().map(|e| (e[1].as_str(), e[2].as_str(), e[3].as_str())).collect();
    assert_eq!(ex, [("2", "TermName", "Fall 2025"), ("4", "TermName", "2025-2026 Fall")]);
    assert!(
        i.exceptions
            .iter()
            .all(|e| e[4] == "term_name_not_understood" && e[5].contains("\"Fall 2025-2026\"") && e[6] == "invalid"),
        "{:?}",
        i.exceptions
    );
    assert_counts(&i.manifest, &[("bad_term.csv", 1, 2)]);
}

#[test]
fn an_ambiguous_subject_is_a_row_exception() {
    let i = import(&[&fixture("ambiguous.csv")], &[]);
    assert_eq!(canonical(&i.rows[0])[..2], ["000701", "language_usage"]);
    assert_eq!(i.exceptions.len(), 2);
    for (e, row) in i.exceptions.iter().zip(["3", "4"]) {
        assert_eq!((e[1].as_str(), e[2].as_str(), e[3].as_str()), (row, "Subject", "Language Arts"));
        assert!(e[4] == "ambiguous_subject" && e[5].starts_with("ambiguous subject"), "{e:?}");
    }
    assert_counts(&i.manifest, &[("ambiguous.csv", 1, 2)]);
    // --subject-from course keeps the course itself.
    let c = import(&[&fixture("current.csv")], &["--subject-from", "course"]);
    let subjects: Vec<&str> = c.rows.iter().map(|r| r["subject"].as_str()).collect();
    assert_eq!(subjects, ["math_k_12", "reading", "math_k_12"]);
}

#[test]
fn an_unknown_or_mismatched_layout_is_refused_naming_expected_and_found_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.csv");
    let o = obc(&["import", "nwea", s(&fixture("unknown.csv")), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("not a NWEA MAP Growth export") && e.contains("TermName") && e.contains("GrowthMeasureYN"),
        "{e}"
    );
    assert!(e.contains("found [\"student_id\", \"subject\", \"test_date\", \"scale_score\"]"), "{e}");
    assert!(!out.exists(), "nothing written");
    // The current layout without GrowthMeasureYN: the missing column is named.
    let text = std::fs::read_to_string(fixture("current.csv")).unwrap();
    let cut = text.replacen("GrowthMeasureYN,", "", 1).replacen("\"TRUE\",", "", 1);
    let lines: Vec<&str> = cut.lines().take(2).collect();
    let bad = dir.path().join("cut.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let o = obc(&["import", "nwea", s(&bad), "--out", s(&out)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("current AssessmentResults layout") && e.contains("lacks [\"GrowthMeasureYN\"]"), "{e}");
    assert!(e.contains("expected columns [\"TermName\", \"StudentID\", \"Subject\", \"Course\""), "{e}");
}

#[test]
fn several_files_are_written_in_order_with_one_accounting_each() {
    let i = import(&[&fixture("current.csv"), &fixture("grades.csv"), &fixture("bad_term.csv")], &[]);
    assert_eq!(i.rows.len(), 3 + 3 + 1);
    assert_eq!(i.rows[3]["student_id"], "000301");
    // Growth columns of any file; the grades file has only a typical growth.
    assert_eq!(i.rows[3]["fall_to_spring_observed_growth"], "");
    assert_counts(&i.manifest, &[("current.csv", 3, 0), ("grades.csv", 3, 1), ("bad_term.csv", 1, 2)]);
    let files: Vec<&str> = i.exceptions.iter().map(|e| e[0].as_str()).collect();
    assert_eq!(files, ["grades.csv", "bad_term.csv", "bad_term.csv"]);
}

/// data-samples/assessments.csv written as a MAP export: `layout` "current" (no grade
/// column) or "combined" (no GrowthMeasureYN).
fn as_map_export(path: &Path, combined: bool) {
    let (h, rows) = read_csv(&samples().join("assessments.csv"));
    let at = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut w = csv::Writer::from_path(path).unwrap();
    let header: Vec<&str> = if combined {
        vec![
            "TermName",
            "StudentLastName",
            "StudentFirstName",
            "StudentID",
            "Grade",
            "MeasurementScale",
            "Discipline",
            "TestStartDate",
            "TestRITScore",
            "TestStandardError",
        ]
    } else {
        vec![
            "TermName",
            "StudentID",
            "Subject",
            "Course",
            "GrowthMeasureYN",
            "TestStartDate",
            "TestRITScore",
            "TestStandardError",
            "RapidGuessingPercentage",
        ]
    };
    w.write_record(&header).unwrap();
    for r in rows {
        let (season, year) = (&r[at("window")], &r[at("school_year")]);
        let start: u32 = year[..4].parse().unwrap();
        let term = format!("{}{} {start}-{}", season[..1].to_uppercase(), &season[1..], start + 1);
        assert_eq!(r[at("subject")], "math");
        let d = chrono::NaiveDate::parse_from_str(&r[at("test_date")], "%Y-%m-%d").unwrap();
        let date = d.format("%m/%d/%Y").to_string();
        let (id, score, sem) = (&r[at("student_id")], &r[at("scale_score")], &r[at("sem")]);
        let rec: Vec<String> = if combined {
            [&term, "Doe", "Sam", id, &r[at("grade")], "Mathematics", "Mathematics", &date, score, sem]
                .map(String::from)
                .to_vec()
        } else {
            let flag = if r[at("valid")] == "true" { "TRUE" } else { "FALSE" };
            [&term, id, "Mathematics", "Math K-12", flag, &date, score, sem, "0.0000"].map(String::from).to_vec()
        };
        w.write_record(&rec).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn the_sample_district_round_trips_through_a_map_export() {
    let (h, original) = read_csv(&samples().join("assessments.csv"));
    for combined in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let export = dir.path().join(if combined { "Combo.csv" } else { "AssessmentResults.csv" });
        as_map_export(&export, combined);
        let i = import(&[&export], &["--max-rapid-guessing", "100"][..if combined { 0 } else { 2 }]);
        assert_eq!(i.rows.len(), original.len());
        assert!(i.exceptions.is_empty());
        for (got, want) in i.rows.iter().zip(&original) {
            for (field, value) in h.iter().zip(want) {
                let expected = match field.as_str() {
                    "grade" if !combined => "", // the current layout has no grade column
                    "valid" if combined => "",  // nor the combined one a GrowthMeasureYN
                    _ => value.as_str(),
                };
                assert_eq!(got[field], expected, "{field} of {want:?} (combined: {combined})");
            }
        }
        assert_counts(&i.manifest, &[(s(Path::new(export.file_name().unwrap())), original.len() as u64, 0)]);
    }
}

/// A contract settled on the imported MAP export gives the providers.csv of the canonical
/// file it came from.
#[test]
fn a_contract_settles_the_same_on_the_imported_map_export() {
    let canonical = copy_samples();
    let imported = copy_samples();
    let export = imported.path().join("AssessmentResults.csv");
    as_map_export(&export, false);
    obc_ok(&["import", "nwea", s(&export), "--out", s(&imported.path().join("assessments.csv"))]);
    for d in [&canonical, &imported] {
        obc_ok(&["check", s(&d.path().join("contract.toml")), "--out", s(&d.path().join("out"))]);
    }
    assert_same_file(&canonical.path().join("out/providers.csv"), &imported.path().join("out/providers.csv"));
}
