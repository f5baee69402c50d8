//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn samples() -> PathBuf {
    repo().join("data-samples")
}

/// A copy of data-samples in a fresh temporary folder.
pub fn copy_samples() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(samples()).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    dir
}

/// Runs the obc binary with `args`.
pub fn obc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obc")).args(args).output().expect("run obc")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Runs obc and insists on success, showing stderr otherwise.
pub fn obc_ok(args: &[&str]) -> Output {
    let o = obc(args);
    assert!(o.status.success(), "obc {args:?} failed: {}", stderr(&o));
    o
}

pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r.records().map(|x| x.unwrap().iter().map(String::from).collect()).collect();
    (headers, rows)
}

pub fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Asserts rows read = used + excepted for every input of a manifest; returns the inputs.
pub fn assert_accounting(m: &serde_json::Value) -> Vec<serde_json::Value> {
    let inputs = m["inputs"].as_array().expect("manifest inputs").clone();
    assert!(!inputs.is_empty());
    for i in &inputs {
        let (r, u, e) =
            (i["rows_read"].as_u64().unwrap(), i["rows_used"].as_u64().unwrap(), i["rows_excepted"].as_u64().unwrap());
        assert_eq!(r, u + e, "accounting of {}", i["file"]);
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64);
    }
    inputs
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Asserts two files are byte-identical, naming the first differing line (no byte dumps).
pub fn assert_same_file(a: &Path, b: &Path) {
    let x = std::fs::read(a).unwrap_or_else(|e| panic!("{}: {e}", a.display()));
    let y = std::fs::read(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
    if x != y {
        let (xs, ys) = (String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
        let line = xs.lines().zip(ys.lines()).position(|(l, r)| l != r);
        let show = |s: &str, i: Option<usize>| i.and_then(|i| s.lines().nth(i)).unwrap_or("<end of file>").to_string();
        panic!(
            "{} and {} differ ({} vs {} bytes); first different line {:?}:\n  {}\n  {}",
            a.display(),
            b.display(),
            x.len(),
            y.len(),
            line.map(|i| i + 1),
            show(&xs, line),
            show(&ys, line)
        );
    }
}
