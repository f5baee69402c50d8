//! The analyst's path (README "The analyst's path, on your own district"): a district's own exports,
//! with their own headers and M/D/YYYY dates, taken from `obc init` through the baseline, a
//! midpoint review, the settlement and norms fitted on the history file. Each step exits 0
//! and prints no warning a person would not expect.

use std::path::{Path, PathBuf};

use crate::common::{obc_ok, s, samples, stderr};

/// The district's headers for each data-samples field, per file, as a vendor export might
/// name them (the same field is named the same way in every file, as a student information
/// system exports it).
const HEADERS: [(&str, &str); 19] = [
    ("student_id", "StudentID"),
    ("school_id", "SchoolID"),
    ("grade", "Grade"),
    ("provider_id", "Vendor"),
    ("tutor_id", "TutorID"),
    ("enroll_date", "EnrollDate"),
    ("exit_date", "WithdrawDate"),
    ("low_income", "FRL"),
    ("race_ethnicity", "Ethnicity"),
    ("english_learner", "ELL"),
    ("disability", "SPED"),
    ("gender", "Gender"),
    ("session_date", "SessionDate"),
    ("minutes", "Duration"),
    ("subject", "Discipline"),
    ("test_date", "TestDate"),
    ("window", "TermName"),
    ("scale_score", "RIT"),
    ("school_year", "SchoolYear"),
];

/// `2025-09-19` -> `9/19/2025`; anything else unchanged.
fn us_date(v: &str) -> String {
    let p: Vec<&str> = v.split('-').collect();
    if p.len() == 3 && p[0].len() == 4 && p.iter().all(|x| x.chars().all(|c| c.is_ascii_digit())) {
        let (m, d) = (p[1].trim_start_matches('0'), p[2].trim_start_matches('0'));
        format!("{m}/{d}/{}", p[0])
    } else {
        v.to_string()
    }
}

/// data-samples' four files in `dir`, headers renamed by [`HEADERS`] and dates as M/D/YYYY.
fn district_exports(dir: &Path) -> Vec<PathBuf> {
    let mut written = Vec::new();
    for name in ["roster", "sessions", "assessments", "history"] {
        let mut r = csv::Reader::from_path(samples().join(format!("{name}.csv"))).unwrap();
        let headers: Vec<String> = r
            .headers()
            .unwrap()
            .iter()
            .map(|h| HEADERS.iter().find(|(f, _)| *f == h).map_or(h.to_string(), |(_, d)| d.to_string()))
            .collect();
        let path = dir.join(format!("{name}_export.csv"));
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(&headers).unwrap();
        for rec in r.records() {
            w.write_record(rec.unwrap().iter().map(us_date)).unwrap();
        }
        w.flush().unwrap();
        written.push(path);
    }
    written
}

#[test]
fn us_dates_are_written_as_a_district_export_writes_them() {
    assert_eq!(us_date("2025-09-09"), "9/9/2025");
    assert_eq!(us_date("2026-12-31"), "12/31/2026");
    assert_eq!(us_date("2025-26"), "2025-26");
    assert_eq!(us_date(""), "");
}

/// The values an analyst writes over the template's TODOs, and the optional keys they switch
/// on, to say what data-samples/contract.toml says.
const FILLED: [(&str, &str); 10] = [
    ("name = TODO", "name = \"Simulated district 2025-26 math tutoring\""),
    (
        "pre = TODO",
        "pre = { window = \"fall\", school_year = \"2025-26\", from = \"2025-08-01\", to = \"2025-10-31\" }",
    ),
    (
        "post = TODO",
        "post = { window = \"spring\", school_year = \"2025-26\", from = \"2026-04-01\", to = \"2026-06-30\" }",
    ),
    ("breaks = TODO", "breaks = [{ from = \"2025-12-22\", to = \"2026-01-02\" }]"),
    ("enrolled_by = TODO", "enrolled_by = \"2025-11-15\""),
    ("min_sessions = TODO", "min_sessions = 20"),
    ("value = TODO", "value = 0.50"),
    ("pool_share = TODO", "pool_share = 0.5"),
    ("base_per_student = TODO", "base_per_student = 670.0"),
    ("outcome_pool_per_student = TODO", "outcome_pool_per_student = 750.0"),
];

/// Sections of data-samples' contract that the template leaves commented out, appended.
const ADDED: &str = r#"
[[thresholds]]
name = "tier 2"
value = 0.60
pool_share = 1.0

[history]
breaks = [{ from = "2024-12-22", to = "2025-01-02" }]

[inference]
replicates = 2000
seed = 20251
cluster = "student"
interval = "percentile"

[midpoint]
interim = { window = "winter", school_year = "2025-26" }
service_start = "2025-09-15"
service_end = "2026-04-30"
contracted_sessions = 55
"#;

/// The template of `obc init` with every TODO filled as data-samples' contract has it.
fn fill(template: &str) -> String {
    let mut out = String::new();
    for line in template.lines() {
        let filled = FILLED.iter().find(|(todo, _)| line.starts_with(todo)).map(|(_, v)| v.to_string());
        let line = match filled {
            Some(v) => v,
            None if line.starts_with("# min_n = ") => "min_n = 500".to_string(),
            None if line.starts_with("# cap = ") => "cap = 400000.0".to_string(),
            None => line.to_string(),
        };
        assert!(!line.contains("= TODO"), "a TODO left unfilled: {line}");
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str(ADDED);
    out
}

/// Runs obc, insisting on exit 0; returns everything it printed (stdout then stderr).
fn step(args: &[&str]) -> String {
    let o = obc_ok(args);
    format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o))
}

#[test]
fn the_analysts_path_from_district_exports_to_a_settlement() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    std::fs::create_dir(&exports).unwrap();
    let files = district_exports(&exports);
    let contract_dir = dir.path().join("contract");

    // 1. obc init guesses every mapping from the headers
    let mut args = vec!["init", s(&contract_dir)];
    for (flag, f) in ["--roster", "--sessions", "--assessments", "--history"].iter().zip(&files) {
        args.extend([*flag, s(f)]);
    }
    args.extend(["--subject", "math"]);
    let init = step(&args);
    assert!(!init.contains("still need"), "every required field is guessed:\n{init}");
    let contract = contract_dir.join("contract.toml");
    let template = std::fs::read_to_string(&contract).unwrap();
    // a header that is the field's own name in another case needs no mapping line
    for (field, header) in HEADERS.iter().filter(|(f, h)| !f.eq_ignore_ascii_case(h)) {
        assert!(template.contains(&format!("{field} = \"{header}\"")), "{field} -> {header} not guessed:\n{template}");
    }
    std::fs::write(&contract, fill(&template)).unwrap();
    let c = s(&contract);

    // 2. the baseline, 3. a midpoint review, 4. the settlement, 5. norms from the history file
    let out = |name: &str| dir.path().join(name);
    let consoles = [
        ("baseline", step(&["baseline", c, "--out", s(&out("baseline"))])),
        ("midpoint", step(&["check", c, "--as-of", "2026-02-15", "--out", s(&out("midpoint"))])),
        ("settlement", step(&["check", c, "--out", s(&out("settlement"))])),
        ("norms", step(&["norms", "fit", c, "--out", s(&out("norms.json"))])),
    ];
    for (name, console) in &consoles {
        for line in console.lines().filter(|l| l.to_lowercase().contains("warning")) {
            assert!(expected_warning(line), "{name}: a warning an analyst would not expect:\n{line}\n\n{console}");
        }
    }

    // the warnings data-samples is built to raise are there, grouped, with their consequence
    for group in ["warning baseline_equivalence (6): does not affect any payment", "warning high_attrition (3)"] {
        assert!(consoles[2].1.contains(group), "{group}:\n{}", consoles[2].1);
    }
    assert!(consoles[1].1.starts_with("Midpoint review as of 2026-02-15: projections, nothing is payable\n"));

    // the settlement is data-samples' own, to the byte
    let reference = out("reference");
    obc_ok(&["check", s(&samples().join("contract.toml")), "--out", s(&reference)]);
    crate::common::assert_same_file(&out("settlement").join("providers.csv"), &reference.join("providers.csv"));
    assert!(consoles[2].1.contains("total payable 1673225.00"), "{}", consoles[2].1);
}

/// The warnings data-samples is built to raise, which an analyst expects from its design: the
/// comparison group starts far below the tutored students (baseline equivalence) and some
/// providers lose many rostered students (attrition). Anything else, a date, column or
/// mapping problem above all, is unexpected.
fn expected_warning(line: &str) -> bool {
    let summary = line.contains(" warning(s) in ") && line.contains(" group(s)");
    let group = ["warning baseline_equivalence (", "warning high_attrition ("].iter().any(|w| line.starts_with(w));
    summary || group
}

/// Snapshots of the console of `obc baseline` and `obc check` (the settlement) on data-samples
/// (the midpoint review's is `midpoint_console`): what a program officer reads first.
#[test]
fn console_snapshots_of_the_baseline_and_the_settlement() {
    let dir = tempfile::tempdir().unwrap();
    let c = samples().join("contract.toml");
    for (name, command) in [("baseline_console", "baseline"), ("settlement_console", "check")] {
        let out = dir.path().join(command);
        let console = stderr(&obc_ok(&[command, s(&c), "--out", s(&out)])).replace(s(&out), "OUT");
        crate::report::snapshot(name, &console);
    }
}

/// README "Growth norms": a contract whose `[norms] min_n` no history group reaches is
/// refused with the key, its value and every group's size, so the analyst knows what to change.
#[test]
fn a_min_n_no_group_reaches_names_the_contract_key_and_the_group_sizes() {
    let dir = crate::common::copy_samples();
    let contract = dir.path().join("contract.toml");
    let text = std::fs::read_to_string(&contract).unwrap().replace("min_n = 500", "min_n = 5000");
    std::fs::write(&contract, text).unwrap();
    let o = crate::common::obc(&["baseline", s(&contract), "--out", s(&dir.path().join("out"))]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("[norms] min_n = 5000") && e.contains("lower it in the contract"), "{e}");
    for (grade, n) in [(3, 685), (8, 712)] {
        assert!(
            e.contains(&format!("math / {grade}: too few observations in the norm group: need at least 5000, got {n}")),
            "{e}"
        );
    }
}
