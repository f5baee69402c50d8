//! `obc init` (README "Starting a new contract: obc init") and the shared `[columns]` table:
//! guesses from renamed headers, the TODO of an unguessable field, no overwrite without
//! `--force`, a filled template that loads, and a guessed mapping that settles data-samples
//! to the same total as data-samples itself.

use std::path::Path;

use obc::contract::terms::Contract;

use super::common::*;

/// data-samples' headers as a district might export them.
const RENAMES: [(&str, &str); 4] = [
    ("roster.csv", "StudentID,School,Gr,Provider,Tutor,EnrollDate,ExitDate,FRL,Race,ELL,SWD,Gender"),
    ("sessions.csv", "StudentID,Provider,TutorID,Date,Duration,Status,GroupSize"),
    ("assessments.csv", "StudentID,Discipline,TestDate,TermName,SchoolYear,Grade,RIT,TestStandardError,Valid"),
    (
        "history.csv",
        "StudentID,School,Discipline,TestDate,TermName,SchoolYear,Grade,RIT,TestStandardError,Valid,FRL,Race,ELL,\
         SWD,Gender",
    ),
];

/// Rewrites `file` with the header `header` and, when `us_dates` names a column, that
/// column's ISO dates written M/D/YYYY.
fn rewrite(file: &Path, header: &str, us_dates: Option<usize>) {
    let (old, rows) = read_csv(file);
    let header: Vec<&str> = header.split(',').collect();
    assert_eq!(header.len(), old.len(), "{}", file.display());
    let mut w = csv::Writer::from_path(file).unwrap();
    w.write_record(&header).unwrap();
    for mut row in rows {
        if let Some(i) = us_dates {
            let p: Vec<u32> = row[i].split('-').map(|x| x.parse().unwrap()).collect();
            row[i] = format!("{}/{}/{}", p[1], p[2], p[0]);
        }
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

/// A copy of data-samples with district headers and M/D/YYYY test dates in assessments.csv.
fn renamed_samples() -> tempfile::TempDir {
    let dir = copy_samples();
    for (file, header) in RENAMES {
        let us = (file == "assessments.csv").then_some(2);
        rewrite(&dir.path().join(file), header, us);
    }
    dir
}

fn init_args<'a>(dir: &'a Path, out: &'a str) -> Vec<String> {
    let f = |n: &str| dir.join(n).to_str().unwrap().to_string();
    vec![
        "init".into(),
        out.into(),
        "--roster".into(),
        f("roster.csv"),
        "--sessions".into(),
        f("sessions.csv"),
        "--assessments".into(),
        f("assessments.csv"),
        "--history".into(),
        f("history.csv"),
        "--subject".into(),
        "math".into(),
    ]
}

fn run_init(args: &[String]) -> std::process::Output {
    obc(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The `[columns...]` sections of a contract text.
fn columns_block(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with('[') {
            inside = line.starts_with("[columns");
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn init_guesses_renamed_headers_and_the_mapping_settles_like_the_samples() {
    let dir = renamed_samples();
    let out = dir.path().join("init");
    let o = run_init(&init_args(dir.path(), s(&out)));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("grade            <- Gr"), "{err}");
    assert!(err.contains("scale_score      <- RIT"), "{err}");
    assert!(err.contains("test_date: dates look M/D/YYYY"), "{err}");
    assert!(!err.contains("still needs a header"), "{err}");
    let text = std::fs::read_to_string(out.join("contract.toml")).unwrap();
    let columns = columns_block(&text);
    assert!(columns.contains("[columns]\n"), "{columns}");
    assert!(columns.contains("\nstudent_id = \"StudentID\"\n"), "{columns}");
    // roster's Gr differs from the other files' Grade (which needs no mapping).
    assert!(columns.contains("[columns.roster]\ngrade = \"Gr\"\n"), "{columns}");
    assert!(!columns.contains("grade = \"Grade\""), "{columns}");
    assert!(columns.contains("tutor_id = \"TutorID\""), "{columns}");
    assert!(text.contains("roster = \"../roster.csv\"") && text.contains("allow_outside = true"), "{text}");
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("contract.manifest.json")).unwrap()).unwrap();
    assert_eq!(m["command"], "init");
    assert_eq!(m["outputs"][0]["file"], "contract.toml");
    obc_ok(&["verify", s(&out)]);

    // The samples' contract with the guessed mapping settles the renamed copy as the samples.
    let samples_contract = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
    assert!(!samples_contract.contains("[columns"));
    let contract = dir.path().join("contract.toml");
    std::fs::write(&contract, format!("{samples_contract}\n{columns}")).unwrap();
    let results = dir.path().join("out");
    let o = obc_ok(&["check", s(&contract), "--out", s(&results)]);
    assert!(stderr(&o).contains("total payable 1673225.00"), "{}", stderr(&o));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["settlement"]["totals"]["payable"], 1673225.0);
    let base = dir.path().join("base");
    obc_ok(&["check", s(&samples().join("contract.toml")), "--out", s(&base)]);
    assert_same_file(&base.join("providers.csv"), &results.join("providers.csv"));
}

/// Values for each `key = TODO` line of the template, as in data-samples' contract.
const FILL: [(&str, &str); 10] = [
    ("name", "\"renamed samples\""),
    ("pre", "{ window = \"fall\", school_year = \"2025-26\" }"),
    ("post", "{ window = \"spring\", school_year = \"2025-26\" }"),
    ("breaks", "[{ from = \"2025-12-22\", to = \"2026-01-02\" }]"),
    ("enrolled_by", "\"2025-11-15\""),
    ("min_sessions", "20"),
    ("value", "0.50"),
    ("pool_share", "0.5"),
    ("base_per_student", "670.0"),
    ("outcome_pool_per_student", "750.0"),
];

#[test]
fn init_writes_a_todo_for_an_unguessable_field_and_the_filled_template_loads() {
    let dir = renamed_samples();
    rewrite(
        &dir.path().join("roster.csv"),
        "StudentID,Campus,Gr,Provider,Tutor,EnrollDate,ExitDate,FRL,Race,ELL,SWD,Gender",
        None,
    );
    std::fs::remove_file(dir.path().join("contract.toml")).unwrap();
    let args: Vec<String> = init_args(dir.path(), s(dir.path()));
    let o = run_init(&args);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("still needs a header (TODO in [columns.roster]): school_id"), "{err}");
    assert!(err.contains("the file's headers: StudentID, Campus, Gr"), "{err}");
    let path = dir.path().join("contract.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let todo = "# school_id = \"TODO\"  # TODO: required; which header holds it? The file's headers: \"StudentID\", \
                \"Campus\"";
    assert!(text.contains(todo), "{text}");
    assert!(text.contains("roster = \"roster.csv\""), "paths relative to the contract's folder: {text}");
    // As written, the template does not load: a TODO is not a value.
    let e = Contract::from_toml(&text, "contract.toml").unwrap_err().to_string();
    assert!(e.contains("TODO"), "{e}");
    let mut filled = String::new();
    for line in text.lines() {
        let key = line.split(" = TODO").next().filter(|_| line.contains(" = TODO"));
        match key.and_then(|k| FILL.iter().find(|(f, _)| *f == k)) {
            Some((k, v)) => filled.push_str(&format!("{k} = {v}\n")),
            None if line.starts_with("# school_id = \"TODO\"") => filled.push_str("school_id = \"Campus\"\n"),
            None => {
                filled.push_str(line);
                filled.push('\n');
            }
        }
    }
    assert!(!filled.lines().any(|l| l.contains("= TODO")), "{filled}");
    let c = Contract::from_toml(&filled, "contract.toml").unwrap();
    assert_eq!(c.columns.roster["school_id"], "Campus");
    assert_eq!(c.columns.sessions["student_id"], "StudentID");
    std::fs::write(&path, &filled).unwrap();
    let o = obc_ok(&["validate", s(&path), "--out", s(&dir.path().join("v"))]);
    assert!(stderr(&o).contains("roster.csv"), "{}", stderr(&o));
}

#[test]
fn init_refuses_to_overwrite_a_contract_without_force() {
    let dir = renamed_samples();
    let out = dir.path().join("init");
    let mut args = init_args(dir.path(), s(&out));
    assert!(run_init(&args).status.success());
    let target = out.join("contract.toml");
    std::fs::write(&target, "# my edits\n").unwrap();
    let o = run_init(&args);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("pass --force"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "# my edits\n");
    args.push("--force".into());
    let o = run_init(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&target).unwrap().contains("[columns]"));
}

#[test]
fn init_refuses_to_write_over_an_input() {
    let dir = renamed_samples();
    let fake = dir.path().join("contract.toml");
    std::fs::copy(dir.path().join("roster.csv"), &fake).unwrap();
    let before = std::fs::read(&fake).unwrap();
    let o = obc(&["init", s(dir.path()), "--roster", s(&fake), "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(std::fs::read(&fake).unwrap(), before);
}

const MINIMAL: &str = r#"
[contract]
name = "demo"
subject = "math"
[files]
roster = "roster.csv"
sessions = "sessions.csv"
assessments = "assessments.csv"
[tests]
pre = { window = "fall" }
post = { window = "spring" }
"#;

#[test]
fn shared_columns_apply_to_every_file_and_per_file_tables_override() {
    let text = format!(
        "{MINIMAL}[columns]\nstudent_id = \"StudentID\"\nscale_score = \"RIT\"\n[columns.assessments]\nstudent_id = \
         \"SID\"\n"
    );
    let c = Contract::from_toml(&text, "c.toml").unwrap();
    let cols = &c.columns;
    for map in [&cols.roster, &cols.sessions, &cols.history, &cols.planned] {
        assert_eq!(map["student_id"], "StudentID");
    }
    assert_eq!(cols.assessments["student_id"], "SID");
    assert_eq!(cols.assessments["scale_score"], "RIT");
    assert_eq!(cols.history["scale_score"], "RIT");
    assert!(!cols.roster.contains_key("scale_score") && !cols.sessions.contains_key("scale_score"));
    // The results echo the effective per-file maps.
    let echo = serde_json::to_value(cols).unwrap();
    assert_eq!(echo["sessions"]["student_id"], "StudentID");
    assert_eq!(echo["assessments"]["student_id"], "SID");
    assert!(echo.get("shared").is_none() && echo.get("student_id").is_none(), "{echo}");
    // Per-file tables alone behave as before.
    let per_file = format!("{MINIMAL}[columns.roster]\nstudent_id = \"ID\"\n");
    let c = Contract::from_toml(&per_file, "c.toml").unwrap();
    assert_eq!(c.columns.roster["student_id"], "ID");
    assert!(c.columns.sessions.is_empty() && c.columns.planned.is_empty());
    // An extra reporting group maps in the files that carry groups.
    let groups = format!("{MINIMAL}[reporting]\ngroups = [\"gender\", \"homeroom\"]\n[columns]\nhomeroom = \"HR\"\n");
    let c = Contract::from_toml(&groups, "c.toml").unwrap();
    assert_eq!(c.columns.roster["homeroom"], "HR");
    assert_eq!(c.columns.history["homeroom"], "HR");
    assert!(!c.columns.sessions.contains_key("homeroom"));
}

#[test]
fn unknown_column_keys_and_tables_are_named() {
    let e =
        Contract::from_toml(&format!("{MINIMAL}[columns]\nstudnet_id = \"ID\"\n"), "c.toml").unwrap_err().to_string();
    assert!(e.contains("columns.studnet_id") && e.contains("\"student_id\""), "{e}");
    let e = Contract::from_toml(&format!("{MINIMAL}[columns.rooster]\nstudent_id = \"ID\"\n"), "c.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("columns.rooster") && e.contains("\"roster\""), "{e}");
    let e = Contract::from_toml(&format!("{MINIMAL}[columns.sessions]\nminutez = \"Mins\"\n"), "c.toml")
        .unwrap_err()
        .to_string();
    assert!(e.contains("columns.sessions.minutez"), "{e}");
    let e = Contract::from_toml(&format!("{MINIMAL}[columns]\nroster = \"R\"\n"), "c.toml").unwrap_err().to_string();
    assert!(e.contains("columns.roster") && e.contains("must be a table"), "{e}");
}

#[test]
fn init_with_a_missing_file_fails_before_creating_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("new");
    let o = obc(&["init", s(&out), "--roster", s(&dir.path().join("nope.csv"))]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("nope.csv"), "{}", stderr(&o));
    assert!(!out.exists());
}
