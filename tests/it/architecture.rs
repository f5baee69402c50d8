//! House rules: `stats` and `contract` never use polars or touch files; polars is used in
//! `src/data` only.

use std::path::{Path, PathBuf};

const NO_FILES: [&str; 7] = ["polars", "std::fs", "fs::", "std::{", "File::open", "File::create", "read_to_string"];
const NO_POLARS: [&str; 1] = ["polars"];

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

/// Lines (1-based) of code, comments excluded, that use a forbidden word. `std::{` is
/// refused in the pure modules because a grouped import can hide `fs`.
fn violations(text: &str, forbidden: &[&'static str]) -> Vec<(usize, &'static str)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for &word in forbidden {
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
            let bad = violations(&std::fs::read_to_string(&f).unwrap(), &NO_FILES);
            assert!(bad.is_empty(), "{}: {bad:?} not allowed in {module}", f.display());
            checked += 1;
        }
    }
    assert!(checked >= 3, "expected to scan the stats and contract sources, found {checked} files");
}

#[test]
fn polars_stays_in_src_data() {
    let mut files = Vec::new();
    rust_files(&super::common::repo().join("src"), &mut files);
    let data = super::common::repo().join("src/data");
    let mut checked = 0;
    for f in files.iter().filter(|f| !f.starts_with(&data)) {
        let bad = violations(&std::fs::read_to_string(f).unwrap(), &NO_POLARS);
        assert!(bad.is_empty(), "{}: polars outside src/data at lines {bad:?}", f.display());
        checked += 1;
    }
    assert!(checked >= 10, "scanned {checked} files");
}

#[test]
fn the_scanner_finds_code_but_not_comments() {
    let text = "//! no polars here\nuse polars::prelude::*;\nlet x = 1; // std::fs in a comment\nstd::fs::read(p);\nuse std::{fs, io};\nfs::write(p, b)?;\n";
    assert_eq!(
        violations(text, &NO_FILES),
        vec![(2, "polars"), (4, "std::fs"), (4, "fs::"), (5, "std::{"), (6, "fs::")]
    );
}

#[test]
fn notebooks_are_committed_with_outputs_cleared() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("notebooks");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("ipynb") {
            continue;
        }
        seen += 1;
        let nb: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for cell in nb["cells"].as_array().unwrap() {
            if cell["cell_type"] == "code" {
                assert!(cell["execution_count"].is_null(), "{}: an execution count is committed", path.display());
                assert_eq!(cell["outputs"], serde_json::json!([]), "{}: outputs are committed", path.display());
            }
        }
    }
    assert_eq!(seen, 3, "the three workflow notebooks");
}

/// Which top-level modules each part of `src/` may name with `crate::` (docs/architecture.md):
/// the layers `cli -> report -> contract -> data -> stats` import downwards only, `simulate`
/// sits beside them on `data` and `stats`, and the shared modules (`error`, `manifest`,
/// `profile`) sit on `data`.
const ALLOWED: [(&str, &[&str]); 10] = [
    ("stats", &["stats", "error"]),
    ("data", &["data", "stats", "error"]),
    ("contract", &["contract", "data", "stats", "error", "profile"]),
    ("report", &["report", "contract", "data", "stats", "error", "manifest"]),
    ("cli", &["cli", "report", "contract", "data", "stats", "error", "manifest", "profile", "simulate", "panel"]),
    ("simulate", &["simulate", "data", "stats", "error"]),
    ("error.rs", &["data", "stats", "error"]),
    ("manifest.rs", &["data", "stats", "error", "manifest"]),
    ("profile.rs", &[]),
    ("panel.rs", &["data", "stats", "error"]),
];

/// The top-level modules a source text names through `crate::` in code (comments excluded),
/// including grouped imports (`use crate::{data, stats::x}`), with their line numbers.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() {
                        out.push((n + 1, name));
                    }
                }
            } else {
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                out.push((n + 1, name));
            }
        }
    }
    out
}

/// Upward imports in `src/`: (file, line, the module named).
fn upward_imports(src: &Path) -> Vec<(PathBuf, usize, String)> {
    let mut bad = Vec::new();
    for (part, allowed) in ALLOWED {
        let path = src.join(part);
        let mut files = Vec::new();
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
        for f in files {
            for (line, name) in crate_paths(&std::fs::read_to_string(&f).unwrap()) {
                if !allowed.contains(&name.as_str()) {
                    bad.push((f.clone(), line, name));
                }
            }
        }
    }
    bad
}

#[test]
fn imports_go_down_the_layers_only() {
    let src = super::common::repo().join("src");
    let bad = upward_imports(&src);
    assert!(bad.is_empty(), "upward imports (docs/architecture.md): {bad:#?}");
    // every part of src/ is covered by a rule
    for entry in std::fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let covered = ALLOWED.iter().any(|(p, _)| *p == name) || matches!(name.as_str(), "lib.rs" | "main.rs");
        assert!(covered, "src/{name} has no layer rule in ALLOWED");
    }
}

#[test]
fn the_import_scanner_sees_grouped_and_qualified_paths_but_not_comments() {
    let text = "use crate::contract::terms::Contract;\n// crate::cli in a comment\nuse crate::{data, report::x};\nlet c = crate::cli::main();\n";
    let names: Vec<(usize, String)> = crate_paths(text);
    let names: Vec<(usize, &str)> = names.iter().map(|(n, s)| (*n, s.as_str())).collect();
    assert_eq!(names, vec![(1, "contract"), (3, "data"), (3, "report"), (4, "cli")]);
}
