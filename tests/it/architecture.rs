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
        let mut parameters = Vec::new();
        for cell in nb["cells"].as_array().unwrap() {
            if cell["cell_type"] == "code" {
                assert!(cell["execution_count"].is_null(), "{}: an execution count is committed", path.display());
                assert_eq!(cell["outputs"], serde_json::json!([]), "{}: outputs are committed", path.display());
                let tags = cell["metadata"]["tags"].as_array().cloned().unwrap_or_default();
                if tags.iter().any(|t| t == "parameters") {
                    parameters.push(
                        cell["source"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect::<String>(),
                    );
                }
            }
        }
        // a template: one parameters cell, whose defaults run the sample district
        assert_eq!(parameters.len(), 1, "{}: one code cell tagged `parameters`", path.display());
        for name in ["CONTRACT", "OUT", "OBC_BIN"] {
            let line = format!("\n{name} = None");
            assert!(
                format!("\n{}", parameters[0]).contains(&line),
                "{}: the parameters cell sets {name} = None",
                path.display()
            );
        }
    }
    assert_eq!(seen, 3, "the three workflow notebooks");
}

/// Which top-level modules each part of `src/` may name with `crate::` (docs/architecture.md):
/// the layers `cli -> report -> contract -> data -> stats` import downwards only, `simulate`
/// sits beside them on `data` and `stats`, and the shared modules (`error`, `manifest`,
/// `profile`) sit on `data` (so `contract::results` may embed the manifest). Warnings
/// (`stats::warning`) are in the lowest layer, importable from every part.
const ALLOWED: [(&str, &[&str]); 9] = [
    ("stats", &["stats", "error"]),
    ("data", &["data", "stats", "error"]),
    ("contract", &["contract", "data", "stats", "error", "profile", "manifest"]),
    ("report", &["report", "contract", "data", "stats", "error", "manifest"]),
    ("cli", &["cli", "report", "contract", "data", "stats", "error", "manifest", "profile", "simulate"]),
    ("simulate", &["simulate", "data", "stats", "error"]),
    ("error.rs", &["data", "stats", "error"]),
    ("manifest.rs", &["data", "stats", "error", "manifest"]),
    ("profile.rs", &[]),
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

/// The comment text of a Rust source: the part of each line after its first `//`, lines
/// joined by a space, and a line without a comment breaking the run (so a citation written
/// over two comment lines is read as one).
fn comment_text(source: &str) -> String {
    let mut out = String::new();
    for line in source.lines() {
        match line.find("//") {
            Some(at) => {
                let text = line[at + 2..].trim_start_matches(['/', '!']);
                out.push_str(text.trim());
                out.push(' ');
            }
            None => out.push('\n'),
        }
    }
    out
}

/// A section number cited after a document name: `N` or `N.M`.
fn section_number(text: &str) -> Option<(String, usize)> {
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major = digits(text);
    if major == 0 {
        return None;
    }
    let rest = &text[major..];
    let minor = rest.strip_prefix('.').map_or(0, digits);
    let len = if minor > 0 { major + 1 + minor } else { major };
    Some((text[..len].to_string(), len))
}

/// Every document cited in `comments` (`docs/NAME.md`, `NAME.md`, or a longer path ending
/// in `.md`) with the section numbers that follow it: `1.3`, ranges `1.3-1.7` (every section
/// in between, same major number), lists `1.5, 5.3 and 7`, after an optional `section`.
fn citations(comments: &str) -> Vec<(String, Vec<String>)> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.');
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = comments[from..].find(".md") {
        let end = from + found + 3;
        from = end;
        if comments[end..].chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let start = comments[..end - 3].rfind(|c: char| !is_path(c)).map_or(0, |i| i + 1);
        let name = comments[start..end].trim_start_matches(['.', '/']).to_string();
        let mut rest = comments[end..].trim_start();
        for word in ["sections ", "section ", "§"] {
            rest = rest.strip_prefix(word).unwrap_or(rest).trim_start();
        }
        let mut sections = Vec::new();
        while let Some((first, len)) = section_number(rest) {
            rest = &rest[len..];
            let dash = ['-', '–'].into_iter().find(|&d| rest.starts_with(d));
            let range_end =
                dash.and_then(|d| section_number(&rest[d.len_utf8()..]).map(|(s, len)| (s, d.len_utf8() + len)));
            match range_end {
                Some((last, len)) => {
                    rest = &rest[len..];
                    let split = |s: &str| s.split_once('.').map(|(a, b)| (a.to_string(), b.parse::<u32>().ok()));
                    match (split(&first), split(&last)) {
                        (Some((a, Some(lo))), Some((b, Some(hi)))) if a == b => {
                            sections.extend((lo..=hi).map(|m| format!("{a}.{m}")));
                        }
                        _ => {
                            let (lo, hi) = (first.parse::<u32>(), last.parse::<u32>());
                            match (lo, hi) {
                                (Ok(lo), Ok(hi)) => sections.extend((lo..=hi).map(|m| m.to_string())),
                                _ => sections.extend([first, last]),
                            }
                        }
                    }
                }
                None => sections.push(first),
            }
            let next = rest.trim_start();
            let next = next.strip_prefix(',').or_else(|| next.strip_prefix("and ")).map(str::trim_start);
            match next {
                Some(n) if section_number(n).is_some() => rest = n,
                _ => break,
            }
        }
        out.push((name, sections));
    }
    out
}

/// Section numbers of a Markdown document's headings: `## 3. Title` gives `3`,
/// `### 3.3 Title` gives `3.3`.
fn heading_numbers(markdown: &str) -> Vec<String> {
    markdown
        .lines()
        .filter(|l| l.starts_with('#'))
        .filter_map(|l| section_number(l.trim_start_matches('#').trim_start()).map(|(n, _)| n))
        .collect()
}

#[test]
fn the_citation_reader_finds_documents_and_sections() {
    let text = comment_text(
        "//! see docs/methods.md 1.3-1.5 and the\n//! README.md. Also (docs/contracts.md 2, 4.1 and\n\
         //! 5) and methods.md\n//! section 6.3), domain.md 7.1–7.2.\nlet x = \"a.md 9\";\n// tests/fixtures/r/README.md\n",
    );
    let found = citations(&text);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        found,
        vec![
            ("docs/methods.md".to_string(), s(&["1.3", "1.4", "1.5"])),
            ("README.md".to_string(), vec![]),
            ("docs/contracts.md".to_string(), s(&["2", "4.1", "5"])),
            ("methods.md".to_string(), s(&["6.3"])),
            ("domain.md".to_string(), s(&["7.1", "7.2"])),
            ("tests/fixtures/r/README.md".to_string(), vec![]),
        ]
    );
    assert_eq!(heading_numbers("# Title\n## 3. Value\n### 3.3 EB\ntext 4.1\n#### Note\n"), s(&["3", "3.3"]));
}

/// Code comments cite the project's own documents: every cited `.md` file exists in the
/// repository (a bare `NAME.md` at its root), and every section number cited in
/// docs/methods.md or docs/contracts.md is a heading of that document.
#[test]
fn documents_and_sections_cited_in_src_exist() {
    let repo = super::common::repo();
    let mut files = Vec::new();
    rust_files(&repo.join("src"), &mut files);
    let mut problems = Vec::new();
    let mut cited_sections = 0;
    for f in &files {
        let comments = comment_text(&std::fs::read_to_string(f).unwrap());
        for (name, sections) in citations(&comments) {
            let doc = repo.join(&name);
            let where_ = f.strip_prefix(&repo).unwrap_or(f).display().to_string();
            let Ok(markdown) = std::fs::read_to_string(&doc) else {
                problems.push(format!("{where_}: cites {name}, which is not in the repository"));
                continue;
            };
            if name == "docs/methods.md" || name == "docs/contracts.md" {
                let headings = heading_numbers(&markdown);
                for s in sections {
                    cited_sections += 1;
                    if !headings.contains(&s) {
                        problems.push(format!("{where_}: cites {name} {s}, which has no such section heading"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} bad citation(s):\n{}", problems.len(), problems.join("\n"));
    assert!(cited_sections >= 30, "expected the code to cite docs/methods.md sections, found {cited_sections}");
}
