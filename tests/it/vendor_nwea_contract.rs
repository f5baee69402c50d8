//! A contract that reads NWEA MAP Growth exports directly (`format = "nwea_map"`), and
//! `obc simulate --format nwea`: the MAP district settles as the canonical one of the same
//! seed, exceptions point into the MAP file, and bad contracts are refused (exit 2).

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{assert_accounting, assert_same_file, manifest, obc, obc_ok, read_csv, repo, s, stderr};

const STUDENTS: &str = "1000";
const HISTORY_YEARS: &str = "4";
const SEED: &str = "20251";

/// Simulates the sample's MAP district (or its canonical twin) into `dir`.
fn simulate(dir: &Path, nwea: bool) {
    let mut args = vec!["simulate", "--students", STUDENTS, "--history-years", HISTORY_YEARS, "--seed", SEED];
    if nwea {
        args.extend(["--format", "nwea"]);
    }
    args.extend(["--out", s(dir)]);
    obc_ok(&args);
}

fn check(contract: &Path, out: &Path) {
    obc_ok(&["check", s(contract), "--out", s(out)]);
}

/// The rows of a CSV file as column -> value maps.
fn rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let (h, rows) = read_csv(path);
    rows.into_iter().map(|r| h.iter().cloned().zip(r).collect()).collect()
}

#[test]
fn the_map_district_settles_as_the_canonical_one() {
    let (map, canonical) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    simulate(map.path(), true);
    simulate(canonical.path(), false);
    let (map_out, canonical_out) = (map.path().join("out"), canonical.path().join("out"));
    check(&map.path().join("contract.toml"), &map_out);
    check(&canonical.path().join("contract.toml"), &canonical_out);
    assert_same_file(&map_out.join("providers.csv"), &canonical_out.join("providers.csv"));
    assert_same_file(&map_out.join("groups.csv"), &canonical_out.join("groups.csv"));

    // The accounting is the MAP files': every row read, used or excepted.
    let inputs = assert_accounting(&manifest(&map_out));
    let results = inputs.iter().find(|i| i["file"] == "AssessmentResults.csv").expect("the MAP file is an input");
    let (_, map_rows) = read_csv(&map.path().join("AssessmentResults.csv"));
    assert_eq!(results["rows_read"].as_u64().unwrap(), map_rows.len() as u64);
    assert!(inputs.iter().any(|i| i["file"] == "ComboStudentAssessment.csv"));

    // The rapid-guessed tests are the canonical district's invalid ones, each named by its
    // row and column in the MAP file, with the percentage.
    let exceptions = rows(&map_out.join("exceptions.csv"));
    let rapid: Vec<&BTreeMap<String, String>> = exceptions
        .iter()
        .filter(|e| e["file"] == "AssessmentResults.csv" && e["reason_code"] == "test_flagged_invalid")
        .collect();
    let canonical_invalid = rows(&canonical_out.join("exceptions.csv"))
        .into_iter()
        .filter(|e| e["file"] == "assessments.csv" && e["reason_code"] == "test_flagged_invalid")
        .count();
    assert!(canonical_invalid > 0);
    assert_eq!(rapid.len(), canonical_invalid);
    let results_rows = rows(&map.path().join("AssessmentResults.csv"));
    for e in rapid {
        assert_eq!(e["column"], "RapidGuessingPercentage");
        let row: usize = e["row"].parse().unwrap();
        let in_file = &results_rows[row - 2]; // the header is row 1
        assert_eq!(in_file["RapidGuessingPercentage"], e["value"]);
        assert!(e["value"].parse::<f64>().unwrap() > 30.0, "{e:?}");
        assert!(e["reason"].contains("files.assessments.max_rapid_guessing = 30%"), "{e:?}");
    }
}

#[test]
fn the_simulated_export_has_the_map_header_and_plausible_values() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), true);
    let fixture = std::fs::read_to_string(repo().join("tests/fixtures/vendor/nwea/current.csv")).unwrap();
    let written = std::fs::read_to_string(dir.path().join("AssessmentResults.csv")).unwrap();
    let header = |t: &str| t.lines().next().unwrap().to_string();
    assert_eq!(header(&written), header(&fixture), "the Comprehensive Data File's 143 columns, in order");
    assert_eq!(header(&written).split(',').count(), 143);

    let tests = rows(&dir.path().join("AssessmentResults.csv"));
    let date = |d: &str| {
        let p: Vec<&str> = d.split('/').collect();
        p.len() == 3 && p[0].len() == 2 && p[1].len() == 2 && p[2].len() == 4
    };
    let mut by_student: BTreeMap<(&str, &str), BTreeMap<String, f64>> = BTreeMap::new();
    for t in &tests {
        let term = &t["TermName"];
        assert!(["Fall 2025-2026", "Winter 2025-2026", "Spring 2025-2026"].contains(&term.as_str()), "{term}");
        assert!(date(&t["TestStartDate"]), "{t:?}");
        assert_eq!(
            (t["Subject"].as_str(), t["Course"].as_str(), t["GrowthMeasureYN"].as_str()),
            ("Mathematics", "Math K-12", "TRUE")
        );
        let p: i64 = t["TestPercentile"].parse().unwrap();
        assert!((1..=99).contains(&p));
        let se: f64 = t["TestStandardError"].parse().unwrap();
        assert!((2.0..5.0).contains(&se));
        assert!(!t["TestID"].is_empty() && !t["SchoolName"].is_empty() && !t["Goal1RitScore"].is_empty());
        let season = term.split(' ').next().unwrap().to_string();
        by_student.entry((&t["StudentID"], "math")).or_default().insert(season, t["TestRITScore"].parse().unwrap());
    }
    // Growth within the year is on the start term's row: observed = end RIT - start RIT.
    let mut observed = 0;
    for t in tests.iter().filter(|t| t["TermName"].starts_with("Fall")) {
        let scores = &by_student[&(t["StudentID"].as_str(), "math")];
        match scores.get("Spring") {
            Some(spring) => {
                let g: f64 = t["FallToSpringObservedGrowth"].parse().unwrap();
                assert_eq!(g, spring - scores["Fall"]);
                assert!(["Yes", "No"].contains(&t["FallToSpringMetProjectedGrowth"].as_str()));
                observed += 1;
            }
            None => assert_eq!(t["FallToSpringObservedGrowth"], ""),
        }
        assert!(!t["TypicalFallToSpringGrowth"].is_empty());
        assert_eq!(t["FallToFallObservedGrowth"], "", "no growth across school years");
    }
    assert!(observed > 100);

    // The importer reads every value of both files without an exception.
    let out = dir.path().join("imported.csv");
    let files = [dir.path().join("AssessmentResults.csv"), dir.path().join("ComboStudentAssessment.csv")];
    obc_ok(&["import", "nwea", s(&files[0]), s(&files[1]), "--out", s(&out)]);
    let (_, excepted) = read_csv(&dir.path().join("imported.exceptions.csv"));
    assert!(excepted.is_empty(), "{excepted:?}");
}

#[test]
fn the_committed_map_sample_is_what_its_documented_command_writes() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), true);
    let sample = repo().join("data-samples/nwea");
    for f in [
        "roster.csv",
        "sessions.csv",
        "AssessmentResults.csv",
        "ComboStudentAssessment.csv",
        "truth.json",
        "contract.toml",
    ] {
        // A difference means data-samples/nwea/ is stale: regenerate it with the command in its README.
        assert_same_file(&dir.path().join(f), &sample.join(f));
    }
    let readme = std::fs::read_to_string(sample.join("README.md")).unwrap();
    assert!(
        readme
            .contains("simulate --students 1000 --history-years 4 --seed 20251 --format nwea --out data-samples/nwea")
    );
    let top = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(top.contains("obc check data-samples/nwea/contract.toml --out out-nwea"));
}

/// Rewrites the CSV at `path`, changing the rows `edit` touches.
fn edit_csv(path: &Path, edit: impl Fn(usize, &mut BTreeMap<String, String>)) {
    let (headers, raw) = read_csv(path);
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(&headers).unwrap();
    for (i, r) in raw.into_iter().enumerate() {
        let mut m: BTreeMap<String, String> = headers.iter().cloned().zip(r).collect();
        edit(i, &mut m);
        w.write_record(headers.iter().map(|h| m[h].as_str())).unwrap();
    }
    w.flush().unwrap();
}

#[test]
fn rows_the_reader_cannot_convert_are_exceptions_in_the_map_file() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), true);
    let results = dir.path().join("AssessmentResults.csv");
    // Data rows 1 and 2 (file rows 2 and 3): a TermName without a school year, and a
    // subject no column decides, with a date that is not one.
    edit_csv(&results, |i, r| match i {
        0 => *r.get_mut("TermName").unwrap() = "Fall 2025".into(),
        1 => {
            *r.get_mut("Subject").unwrap() = "Language Arts".into();
            *r.get_mut("Course").unwrap() = String::new();
            *r.get_mut("TestStartDate").unwrap() = "9/31/2025".into();
        }
        _ => {}
    });
    let out = dir.path().join("out");
    check(&dir.path().join("contract.toml"), &out);
    assert_accounting(&manifest(&out));
    let exceptions = rows(&out.join("exceptions.csv"));
    let at = |row: &str| -> Vec<(String, String)> {
        exceptions
            .iter()
            .filter(|e| e["file"] == "AssessmentResults.csv" && e["row"] == row)
            .map(|e| (e["column"].clone(), e["reason_code"].clone()))
            .collect()
    };
    assert_eq!(at("2"), [("TermName".to_string(), "term_name_not_understood".to_string())]);
    assert_eq!(
        at("3"),
        [
            ("Subject".to_string(), "ambiguous_subject".to_string()),
            ("TestStartDate".to_string(), "not_a_date".to_string())
        ]
    );
}

/// Runs `obc check` on the MAP sample's contract edited by `edit`; returns the exit code and
/// stderr.
fn bad_contract(edit: impl Fn(String) -> String) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), true);
    let path = dir.path().join("contract.toml");
    let text = edit(std::fs::read_to_string(&path).unwrap());
    std::fs::write(&path, text).unwrap();
    let o = obc(&["check", s(&path), "--out", s(&dir.path().join("out"))]);
    (o.status.code().unwrap_or(-1), stderr(&o))
}

#[test]
fn bad_formats_and_options_are_refused_naming_the_key() {
    let (code, e) = bad_contract(|t| t.replace("format = \"nwea_map\", max", "format = \"nwea\", max"));
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("format = \"nwea\"") && e.contains("\"canonical\", \"nwea_map\""), "{e}");

    let (code, e) = bad_contract(|t| t + "\n[columns.assessments]\nscale_score = \"TestRITScore\"\n");
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("columns.assessments") && e.contains("does not apply"), "{e}");

    // The combined history file has no RapidGuessingPercentage column.
    let (code, e) =
        bad_contract(|t| t.replace("format = \"nwea_map\" }", "format = \"nwea_map\", max_rapid_guessing = 25 }"));
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("files.history.max_rapid_guessing") && e.contains("RapidGuessingPercentage"), "{e}");

    let (code, e) = bad_contract(|t| {
        t.replace("sessions = \"sessions.csv\"", "sessions = { path = \"sessions.csv\", format = \"nwea_map\" }")
    });
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("files.sessions"), "{e}");

    // A canonical file named as a MAP export: the layout error with the columns found.
    let (code, e) = bad_contract(|t| t.replace("path = \"AssessmentResults.csv\"", "path = \"roster.csv\""));
    assert_eq!(code, 2, "{e}");
    assert!(e.contains("not a NWEA MAP Growth export") && e.contains("\"student_id\""), "{e}");
}
