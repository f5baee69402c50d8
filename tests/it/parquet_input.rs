//! A Parquet input with typed columns loads to the same records as its CSV twin.

use obc::data::load::read_table;
use obc::data::table::{Column, Format, Table};
use obc::data::{RawInputs, ValidateOptions, validate};

fn text(v: &[&str]) -> Column {
    Column::Text(v.iter().map(|s| Some(s.to_string())).collect())
}

#[test]
fn parquet_and_csv_inputs_give_identical_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut roster = Table::new();
    roster.push("student_id", text(&["000123", "45"]));
    roster.push("school_id", text(&["S1", "S2"]));
    roster.push("grade", Column::Int(vec![Some(4), Some(7)]));
    roster.push("provider_id", Column::Text(vec![Some("P1".into()), None]));
    let mut sessions = Table::new();
    sessions.push("student_id", text(&["000123"]));
    sessions.push("session_date", text(&["2025-10-01"]));
    sessions.push("minutes", Column::Float(vec![Some(30.0)]));
    let mut tests = Table::new();
    tests.push("student_id", text(&["000123", "45"]));
    tests.push("subject", text(&["math", "math"]));
    tests.push("test_date", text(&["2025-09-10", "9/12/2025"]));
    tests.push("scale_score", Column::Float(vec![Some(201.5), Some(230.0)]));
    tests.push("sem", Column::Float(vec![Some(3.1), None]));
    tests.push("valid", Column::Bool(vec![Some(true), Some(false)]));

    let mut loaded = Vec::new();
    for format in [Format::Csv, Format::Parquet] {
        let path = |n: &str| dir.path().join(format!("{n}.{}", format.extension()));
        roster.write(&path("roster"), format).unwrap();
        sessions.write(&path("sessions"), format).unwrap();
        tests.write(&path("tests"), format).unwrap();
        let inputs = RawInputs {
            roster: read_table(&path("roster"), "roster").unwrap(),
            sessions: read_table(&path("sessions"), "sessions").unwrap(),
            assessments: read_table(&path("tests"), "tests").unwrap(),
            assignments: None,
        };
        let v = validate(&inputs, &ValidateOptions::default()).unwrap();
        let exceptions: Vec<_> = v.ledgers().iter().flat_map(|l| l.exceptions().to_vec()).collect();
        assert!(exceptions.is_empty(), "{format:?}: {exceptions:?}");
        loaded.push((v.students.clone(), v.sessions(), v.tests()));
    }
    assert_eq!(loaded[0], loaded[1]);
    let (students, _, tests) = &loaded[1];
    assert_eq!(students[0].student_id, "000123", "leading zeros survive Parquet");
    assert_eq!(students[1].provider_id, None, "null provider = comparison");
    assert_eq!(tests[0].score, 201.5);
    assert!(!tests[1].valid);
    assert_eq!(tests[1].sem, None);
}
