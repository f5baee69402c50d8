//! Excel workbooks as inputs (README "Input files"): the fixtures of
//! tests/fixtures/xlsx/make.py.

use std::path::{Path, PathBuf};

use obc::data::load::{ReadSpec, read_table, read_table_spec};
use obc::data::norms_table::{load_norms_table, load_norms_table_sheet};
use obc::error::DataError;

use crate::common::{assert_accounting, assert_same_file, manifest, obc, obc_ok, read_csv, repo, s, stderr};

fn fixtures() -> PathBuf {
    repo().join("tests/fixtures/xlsx")
}

fn column(path: &Path, sheet: &str, name: &str) -> Vec<String> {
    let (t, _) = read_table_spec(path, "quirks.xlsx", &ReadSpec::sheet(Some(sheet))).unwrap();
    let j = t.headers.iter().position(|h| h == name).unwrap();
    t.rows.iter().map(|r| r.fields[j].clone()).collect()
}

#[test]
fn a_district_of_workbooks_settles_like_its_csv_twin() {
    let out = tempfile::tempdir().unwrap();
    let (csv, xlsx) = (out.path().join("csv"), out.path().join("xlsx"));
    let district = fixtures().join("district");
    obc_ok(&["check", s(&district.join("contract.toml")), "--out", s(&csv)]);
    obc_ok(&["check", s(&district.join("contract_xlsx.toml")), "--out", s(&xlsx)]);
    for f in ["providers.csv", "groups.csv", "audit.csv"] {
        assert_same_file(&csv.join(f), &xlsx.join(f));
    }
    let (_, providers) = read_csv(&csv.join("providers.csv"));
    assert_eq!(providers.len(), 4, "the four simulated providers are settled");
    // the same exceptions, at the same rows, under the workbook's name
    let text = |p: &Path| std::fs::read_to_string(p).unwrap();
    let (e_csv, e_xlsx) = (text(&csv.join("exceptions.csv")), text(&xlsx.join("exceptions.csv")));
    assert!(e_csv.lines().count() > 100, "the twin has exceptions to compare");
    assert_eq!(e_xlsx.replace(".xlsx,", ".csv,"), e_csv);
    // the manifest's SHA-256 is of the workbook's bytes; the accounting holds
    let m = manifest(&xlsx);
    let inputs = assert_accounting(&m);
    for i in &inputs {
        let file = i["file"].as_str().unwrap();
        assert!(file.ends_with(".xlsx"), "{file}");
        let bytes = std::fs::read(district.join(file)).unwrap();
        assert_eq!(i["sha256"].as_str().unwrap(), obc::data::load::sha256_hex(&bytes), "{file}");
    }
    let m_csv = manifest(&csv);
    let rows = |m: &serde_json::Value| -> Vec<u64> {
        m["inputs"].as_array().unwrap().iter().map(|i| i["rows_read"].as_u64().unwrap()).collect()
    };
    assert_eq!(rows(&m), rows(&m_csv));
}

#[test]
fn excel_quirks_become_row_exceptions_at_the_sheets_rows() {
    let out = tempfile::tempdir().unwrap();
    let o = obc_ok(&["validate", s(&fixtures().join("quirks.toml")), "--out", s(out.path())]);
    let (_, rows) = read_csv(&out.path().join("exceptions.csv"));
    let found: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(
        found,
        [("[quirks.xlsx]Roster", "8"), ("[quirks.xlsx]Sessions", "4"), ("[quirks.xlsx]Assessments", "5")]
    );
    let codes: Vec<&str> = rows.iter().map(|r| r[4].as_str()).collect();
    assert_eq!(codes, ["id_stored_as_number", "excel_error_cell", "excel_error_cell"]);
    let reason = |i: usize| rows[i][5].as_str();
    assert!(reason(0).contains("number 107") && reason(0).contains("leading zeros"), "{}", reason(0));
    assert!(reason(0).contains("6 digits"), "{}", reason(0));
    assert!(reason(1).contains("cell E4") && reason(1).contains("minutes") && reason(1).contains("#DIV/0!"));
    assert!(reason(2).contains("cell G5") && reason(2).contains("scale_score") && reason(2).contains("#N/A"));
    // school IDs stored as numbers are used, with one warning naming the file, column and rows
    let m = manifest(out.path());
    let warnings = m["warnings"].to_string();
    assert!(warnings.contains("school_id") && warnings.contains("rows 2, 3, 4"), "{warnings}");
    assert!(stderr(&o).contains("Excel stored as numbers"), "{}", stderr(&o));
    // every row is used or excepted; the empty row of Sessions is a blank line, not a row
    let inputs = assert_accounting(&m);
    let read: Vec<(u64, u64)> =
        inputs.iter().map(|i| (i["rows_read"].as_u64().unwrap(), i["blank_lines"].as_u64().unwrap())).collect();
    assert_eq!(read, [(10, 0), (5, 1), (5, 0)]);
}

#[test]
fn cells_read_as_text_serial_and_text_dates_alike() {
    let book = fixtures().join("quirks.xlsx");
    assert_eq!(
        column(&book, "Assessments", "test_date"),
        ["2025-09-19", "2025-09-19", "9/19/2025", "2025-09-22", "2026-05-01"]
    );
    let dates: Vec<_> =
        column(&book, "Assessments", "test_date").iter().map(|d| obc::data::date::parse_date(d)).collect();
    assert!(dates[..3].iter().all(|d| *d == dates[0] && d.is_some()), "{dates:?}");
    assert_eq!(column(&book, "Assessments", "scale_score"), ["201", "199.5", "205", "#N/A", "214"]);
    assert_eq!(column(&book, "Assessments", "valid"), ["true", "true", "true", "true", "false"]);
    assert_eq!(column(&book, "Assessments", "student_id")[0], "000101");
    assert_eq!(column(&book, "Roster", "tutor_id"), vec![""; 10]);
    assert_eq!(column(&book, "Roster", "enroll_date")[..2], ["2025-08-13", "8/13/2025"]);
    let (t, _) = read_table_spec(&book, "q", &ReadSpec::sheet(Some("Sessions"))).unwrap();
    assert_eq!(t.rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 3, 4, 5, 7]);
    assert_eq!(t.blank_lines, 1);
    // the first sheet by default
    let first = read_table(&book, "q").unwrap();
    assert_eq!(first.headers.len(), 1);
    assert!(first.headers[0].starts_with("This workbook"), "{:?}", first.headers);
}

#[test]
fn a_workbook_in_the_1904_date_system_reads_its_own_dates() {
    let t = read_table(&fixtures().join("dates1904.xlsx"), "dates1904.xlsx").unwrap();
    let dates: Vec<&str> = t.rows.iter().map(|r| r.fields[1].as_str()).collect();
    assert_eq!(dates, ["2025-09-19", "2026-05-01"]);
}

#[test]
fn only_id_columns_are_checked_and_only_when_named() {
    let book = fixtures().join("quirks.xlsx");
    let mut spec = ReadSpec {
        sheet: Some("Roster".into()),
        id_headers: vec!["STUDENT_ID".into(), "school_id".into()],
        pad_width: None,
    };
    let (t, warnings) = read_table_spec(&book, "quirks.xlsx", &spec).unwrap();
    let flagged: Vec<u64> = t.rows.iter().filter(|r| r.defect.is_some()).map(|r| r.row).collect();
    assert_eq!(flagged, [8]);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("\"school_id\""), "{}", warnings[0].message);
    // ids.pad_width = 6 pads 107 back to 000107: used, with the warning naming row 8
    spec.pad_width = Some(6);
    let (t, warnings) = read_table_spec(&book, "quirks.xlsx", &spec).unwrap();
    assert!(t.rows.iter().all(|r| r.defect.is_none()));
    assert!(warnings.iter().any(|w| w.message.contains("\"student_id\"") && w.message.contains("rows 8)")));
    // a pad width below the column's width repairs nothing
    spec.pad_width = Some(5);
    let (t, _) = read_table_spec(&book, "quirks.xlsx", &spec).unwrap();
    assert_eq!(t.rows.iter().filter(|r| r.defect.is_some()).count(), 1);
    // without ID columns (a --data file), the cells are read as they are
    let (t, warnings) = read_table_spec(&book, "quirks.xlsx", &ReadSpec::sheet(Some("Roster"))).unwrap();
    assert!(warnings.is_empty() && t.rows.iter().all(|r| r.defect.is_none()));
    assert_eq!(t.rows[6].fields[0], "107");
}

#[test]
fn a_missing_sheet_is_an_error_naming_the_workbooks_sheets() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixtures().join("quirks.xlsx"), dir.path().join("quirks.xlsx")).unwrap();
    let toml = std::fs::read_to_string(fixtures().join("quirks.toml")).unwrap();
    let contract = dir.path().join("quirks.toml");
    std::fs::write(&contract, toml.replace("sheet = \"Sessions\"", "sheet = \"Session log\"")).unwrap();
    let o = obc(&["validate", s(&contract), "--out", s(&dir.path().join("out"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("\"Session log\"") && e.contains("\"Read me\", \"Roster\", \"Sessions\", \"Assessments\""),
        "{e}"
    );
    // the library error, and a sheet named for a CSV file
    let missing = read_table_spec(&dir.path().join("quirks.xlsx"), "q", &ReadSpec::sheet(Some("Nope")));
    assert!(matches!(missing, Err(DataError::MissingSheet { ref sheets, .. }) if sheets.len() == 4));
    let csv = fixtures().join("district/roster.csv");
    assert!(matches!(
        read_table_spec(&csv, "roster.csv", &ReadSpec::sheet(Some("Roster"))),
        Err(DataError::SheetOfText { .. })
    ));
}

#[test]
fn a_norms_table_reads_from_a_named_sheet() {
    let csv = load_norms_table(&repo().join("tests/fixtures/norms/synthetic_long_points.csv")).unwrap();
    let xlsx = load_norms_table_sheet(&fixtures().join("norms.xlsx"), Some("Norms")).unwrap();
    assert_eq!(xlsx, csv);
    let out = tempfile::tempdir().unwrap();
    let o = obc(&[
        "norms",
        "import",
        "--table",
        s(&fixtures().join("norms.xlsx")),
        "--sheet",
        "Normz",
        "--subject",
        "subject",
        "--grade",
        "grade",
        "--prior",
        "pre",
        "--current",
        "post",
        "--weeks-value",
        "20",
        "--out",
        s(&out.path().join("norms.json")),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("\"Normz\"") && stderr(&o).contains("\"About\", \"Norms\""), "{}", stderr(&o));
}
