//! `obc norms import --nwea-window` on a hand-made table in NWEA's 2015 wide layout: subject
//! codes 1-4, grade 13 = kindergarten, and the end grade of the year-over-year windows 11 and
//! 22, each checked through `obc norms score` against values worked out here.

use std::collections::HashMap;
use std::path::Path;

use crate::common::{obc_ok, read_csv, s};

/// The hand-made table's typical growth (T) and SD (S) for subject code `code`, the file's
/// grade `file_grade` (13 as written, so a K row and a grade-13 reading would differ) and
/// start RIT `start`: window 22 = 20 + code + file_grade - 0.1 (start - 200), SD 5 + code +
/// file_grade / 4; window 42 is 8 lower, SD 1 lower.
fn t22(code: u32, file_grade: u32, start: f64) -> (f64, f64) {
    (
        20.0 + f64::from(code) + f64::from(file_grade) - 0.1 * (start - 200.0),
        5.0 + f64::from(code) + f64::from(file_grade) / 4.0,
    )
}

fn t42(code: u32, file_grade: u32, start: f64) -> (f64, f64) {
    let (m, sd) = t22(code, file_grade, start);
    (m - 8.0, sd - 1.0)
}

/// Writes the table: subjects 1 (Mathematics) and 2 (Reading), file grades 13, 1, 2, 3,
/// StartRIT 140, 160, ..., 240; the rounded R columns hold nonsense that must not be read.
fn write_table(path: &Path) {
    let mut text = String::from("Subject,Grade,StartRIT,T42,T22,R42,R22,S42,S22\n");
    for code in [1, 2] {
        for grade in [13, 1, 2, 3] {
            for start in (140..=240).step_by(20) {
                let start = f64::from(start);
                let ((m42, s42), (m22, s22)) = (t42(code, grade, start), t22(code, grade, start));
                text.push_str(&format!("{code},{grade},{start},{m42},{m22},999,999,{s42},{s22}\n"));
            }
        }
    }
    std::fs::write(path, text).unwrap();
}

/// The file's grade a student starting in grade `start_grade` is looked up in: the same
/// grade (K written as 13) within a year; the grade after it in a year-over-year window;
/// `None` before K (the table has no PK rows).
fn file_grade(start_grade: i32, year_over_year: bool) -> Option<u32> {
    let g = if year_over_year { start_grade + 1 } else { start_grade };
    if g == 0 { Some(13) } else { u32::try_from(g).ok() }
}

/// (expected_growth, growth_sd, cgi) by student id, and the exceptions as (row, reason).
type Scores = (HashMap<String, (f64, f64, f64)>, Vec<(String, String)>);

/// Imports `window`, scores the students, returns (expected_growth, growth_sd, cgi) by id and
/// the exceptions as (row, reason).
fn import_and_score(dir: &Path, window: &str, weeks: &str) -> Scores {
    let table = dir.join("STU_NORMS2015_GROWTH.csv");
    write_table(&table);
    let norms = dir.join(format!("norms_{window}.json"));
    obc_ok(&[
        "norms",
        "import",
        "--table",
        s(&table),
        "--nwea-window",
        window,
        "--nwea-weeks",
        weeks,
        "--subject",
        "subject",
        "--grade",
        "grade",
        "--prior",
        "start",
        "--current",
        "end",
        "--weeks-value",
        weeks,
        "--out",
        s(&norms),
    ]);
    let provenance: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&norms).unwrap()).unwrap();
    assert_eq!(provenance["provenance"]["nwea"]["window"], window);
    let scores = dir.join(format!("scores_{window}.csv"));
    obc_ok(&[
        "norms",
        "score",
        "--norms",
        s(&norms),
        "--data",
        s(&dir.join("students.csv")),
        "--id",
        "id",
        "--out",
        s(&scores),
    ]);
    let (h, rows) = read_csv(&scores);
    let col = |name: &str| h.iter().position(|c| c == name).unwrap_or_else(|| panic!("{name} not in {h:?}"));
    let (id, e, sd, cgi) = (col("id"), col("expected_growth"), col("growth_sd"), col("cgi"));
    let num = |r: &[String], i: usize| r[i].parse::<f64>().unwrap_or(f64::NAN);
    let scored = rows
        .iter()
        .filter(|r| !r[e].is_empty())
        .map(|r| (r[id].clone(), (num(r, e), num(r, sd), num(r, cgi))))
        .collect();
    let (_, ex) = read_csv(&dir.join(format!("scores_{window}.exceptions.csv")));
    (scored, ex.into_iter().map(|r| (r[1].clone(), r[5].clone())).collect())
}

/// (id, subject as the data writes it, subject code, start grade, start RIT, end RIT)
const STUDENTS: [(&str, &str, u32, i32, f64, f64); 5] = [
    ("s1", "Math", 1, 0, 175.0, 200.0),
    ("s2", "reading", 2, 2, 201.0, 226.0),
    ("s3", "MATHEMATICS", 1, 1, 232.5, 250.0),
    ("s4", "Mathematics", 1, -1, 160.0, 190.0),
    ("s5", "Mathematics", 1, 3, 200.0, 210.0),
];

fn write_students(dir: &Path) {
    let mut text = String::from("id,subject,grade,start,end\n");
    for (id, subject, _, grade, start, end) in STUDENTS {
        let grade = match grade {
            -1 => "PK".to_string(),
            0 => "K".to_string(),
            g => g.to_string(),
        };
        text.push_str(&format!("{id},{subject},{grade},{start},{end}\n"));
    }
    text.push_str("s6,Language Arts,2,200,210\n");
    std::fs::write(dir.join("students.csv"), text).unwrap();
}

fn check_window(window: &str, weeks: &str, year_over_year: bool) {
    let dir = tempfile::tempdir().unwrap();
    write_students(dir.path());
    let (scored, exceptions) = import_and_score(dir.path(), window, weeks);
    let mut missing = Vec::new();
    for (id, _, code, grade, start, end) in STUDENTS {
        let Some(g) = file_grade(grade, year_over_year).filter(|g| *g == 13 || (1..=3).contains(g)) else {
            missing.push(id);
            continue;
        };
        let (mean, sd) = if year_over_year { t22(code, g, start) } else { t42(code, g, start) };
        let (got_mean, got_sd, got_cgi) = scored[id];
        assert!((got_mean - mean).abs() < 1e-9, "{window} {id}: expected growth {got_mean}, want {mean}");
        assert!((got_sd - sd).abs() < 1e-9, "{window} {id}: sd {got_sd}, want {sd}");
        let cgi = (end - start - mean) / sd;
        assert!((got_cgi - cgi).abs() < 1e-9, "{window} {id}: cgi {got_cgi}, want {cgi}");
    }
    // the student in a grade the window's table lacks and the Language Arts student (which
    // NWEA uses for both reading and language usage: no alias) are exceptions
    assert_eq!(missing.len(), 1, "{window}: {missing:?}");
    assert_eq!(scored.len(), STUDENTS.len() - 1, "{window}: {scored:?}");
    let rows: Vec<&str> = exceptions.iter().map(|(row, _)| row.as_str()).collect();
    let missing_row = (STUDENTS.iter().position(|s| s.0 == missing[0]).unwrap() + 2).to_string();
    assert_eq!(rows, [missing_row.as_str(), "7"], "{window}: {exceptions:?}");
    assert!(exceptions[0].1.contains("grade"), "{}", exceptions[0].1);
    assert!(exceptions[1].1.contains("Language Arts"), "{}", exceptions[1].1);
}

#[test]
fn nwea_fall_to_spring_reads_codes_and_grade_13_as_kindergarten() {
    // within a year: a K student uses the rows of grade 13, the grade-3 student grade 3,
    // and the PK student has no row
    check_window("42", "32", false);
}

#[test]
fn nwea_spring_to_spring_looks_up_the_end_grade() {
    // year over year: a K student uses the file's grade-1 rows, the PK student grade 13 (K),
    // and the grade-3 student (file grade 4) has no row
    check_window("22", "36", true);
}
