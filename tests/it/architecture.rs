//! House rule: `stats` and `contract` never use polars or touch files.

use std::path::{Path, PathBuf};

const FORBIDDEN: [&str; 5] = [
    "polars",
    "std::fs",
    "File::open",
    "File::create",
    "read_to_string",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// Lines (1-based) of code, comments excluded, that use a forbidden word.
fn violations(text: &str) -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for word in FORBIDDEN {
            if code.contains(word) {
                out.push((n + 1, word));
            }
        }
    }
    out
}

#[test]
fn stats_and_contract_do_not_use_polars_or_files() {
    let mut checked = 0;
    for module in ["src/stats", "src/contract"] {
        let mut files = Vec::new();
        rust_files(&super::common::repo().join(module), &mut files);
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            let bad = violations(&text);
            assert!(
                bad.is_empty(),
                "{}: {bad:?} not allowed in {module}",
                f.display()
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 3,
        "expected to scan the stats and contract sources, found {checked} files"
    );
}

#[test]
fn the_scanner_finds_code_but_not_comments() {
    let text = "//! no polars here\nuse polars::prelude::*;\nlet x = 1; // std::fs in a comment\nstd::fs::read(p);\n";
    assert_eq!(violations(text), vec![(2, "polars"), (4, "std::fs")]);
}
