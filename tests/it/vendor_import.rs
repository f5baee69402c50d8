//! What the tests of `obc import nwea` and `obc import iready` share: running an import and
//! reading its outputs back, the canonical columns, and the row accounting per file.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{obc_ok, read_csv, s, stderr};

/// One import's outputs: the canonical rows (each as column -> value), the exceptions rows,
/// the manifest and the console.
pub struct Imported {
    pub _dir: tempfile::TempDir,
    pub headers: Vec<String>,
    pub rows: Vec<BTreeMap<String, String>>,
    pub exceptions: Vec<Vec<String>>,
    pub manifest: serde_json::Value,
    pub console: String,
}

/// Runs `obc import VENDOR FILES... --out assessments.csv EXTRA...`, insisting on exit 0.
pub fn import(vendor: &str, files: &[&Path], extra: &[&str]) -> Imported {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("assessments.csv");
    let mut args = vec!["import", vendor];
    args.extend(files.iter().map(|f| s(f)));
    args.extend(["--out", s(&out)]);
    args.extend(extra);
    let o = obc_ok(&args);
    let (headers, raw) = read_csv(&out);
    let rows = raw.into_iter().map(|r| headers.iter().cloned().zip(r).collect()).collect();
    let (eh, exceptions) = read_csv(&dir.path().join("assessments.exceptions.csv"));
    assert_eq!(eh, ["file", "row", "column", "value", "reason_code", "reason", "kind"]);
    let manifest = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("assessments.manifest.json")).expect("manifest beside the output"),
    )
    .unwrap();
    Imported { _dir: dir, headers, rows, exceptions, manifest, console: stderr(&o) }
}

/// The canonical assessments columns an import writes first, in order.
pub const CANONICAL: [&str; 10] = [
    "student_id",
    "subject",
    "test_date",
    "window",
    "school_year",
    "grade",
    "scale_score",
    "sem",
    "valid",
    "invalid_reason",
];

/// The canonical fields of a row, in order.
pub fn canonical(r: &BTreeMap<String, String>) -> Vec<&str> {
    CANONICAL.iter().map(|c| r[*c].as_str()).collect()
}

/// rows read = used + excepted per file, and the counts given.
pub fn assert_counts(m: &serde_json::Value, expected: &[(&str, u64, u64)]) {
    let inputs = m["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), expected.len());
    for (i, (file, used, excepted)) in inputs.iter().zip(expected) {
        assert_eq!(i["file"], *file);
        let (r, u, e) =
            (i["rows_read"].as_u64().unwrap(), i["rows_used"].as_u64().unwrap(), i["rows_excepted"].as_u64().unwrap());
        assert_eq!((u, e), (*used, *excepted), "{file}");
        assert_eq!(r, u + e, "{file}: rows read = used + excepted");
    }
}
