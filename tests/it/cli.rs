//! The command line on data-samples: accounting, determinism, formats, agreement with the
//! raw files and with the generator's truth, and clear errors for bad contracts.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::common::*;

const ANALYTIC_COLUMNS: &str = "student_id,subject,school_id,grade,provider_id,tutor_id,comparison,\
low_income,race_ethnicity,english_learner,disability,gender,enroll_date,exit_date,\
pre_score,pre_sem,pre_date,pre_window,pre_row,post_score,post_sem,post_date,post_window,post_row,\
weeks_between,growth,growth_se,sessions_scheduled,sessions_attended,sessions_absent,sessions_cancelled,\
minutes_attended,first_session,last_session,weeks_active,sessions_per_week,mean_group_size,\
has_pre,has_post,enrolled_in_time,met_dosage,eligible,analysed,exclusion_reason";

fn contract() -> String {
    samples().join("contract.toml").to_str().unwrap().to_string()
}

fn prepare_samples(out: &Path) {
    obc_ok(&["prepare", &contract(), "--out", s(out)]);
}

#[test]
fn validate_accounts_for_every_row_and_hashes_the_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let o = obc_ok(&["validate", &contract(), "--out", s(dir.path())]);
    let err = stderr(&o);
    assert!(err.contains("rows read") && err.contains("sessions.csv"), "{err}");
    let m = manifest(dir.path());
    assert_eq!(m["command"], "validate");
    assert_eq!(m["schema_version"], 3);
    let inputs = assert_accounting(&m);
    for i in &inputs {
        let bytes = std::fs::read(samples().join(i["file"].as_str().unwrap())).unwrap();
        let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(i["sha256"], hex.as_str(), "{}", i["file"]);
        assert_eq!(i["rows_excepted"], 0, "the clean sample district validates without exceptions");
    }
    let (headers, rows) = read_csv(&dir.path().join("exceptions.csv"));
    assert_eq!(headers, ["file", "row", "column", "value", "reason_code", "reason", "kind"]);
    assert!(rows.is_empty());
}

#[test]
fn prepare_writes_the_analytic_file_flow_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    prepare_samples(dir.path());
    let (headers, rows) = read_csv(&dir.path().join("analytic.csv"));
    assert_eq!(headers.join(","), ANALYTIC_COLUMNS);
    let (_, roster) = read_csv(&samples().join("roster.csv"));
    assert_eq!(rows.len(), roster.len(), "one analytic row per rostered student (one subject)");
    let m = manifest(dir.path());
    let inputs = assert_accounting(&m);
    let used: HashMap<&str, u64> =
        inputs.iter().map(|i| (i["file"].as_str().unwrap(), i["rows_used"].as_u64().unwrap())).collect();
    // Used test rows = pre and post tests in the analytic file.
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let picked = rows
        .iter()
        .map(|r| (!r[col("pre_row")].is_empty()) as u64 + (!r[col("post_row")].is_empty()) as u64)
        .sum::<u64>();
    assert_eq!(used["assessments.csv"], picked);
    let outputs = m["outputs"].as_array().unwrap();
    let restricted: HashMap<&str, bool> =
        outputs.iter().map(|o| (o["file"].as_str().unwrap(), o["restricted"].as_bool().unwrap())).collect();
    assert_eq!(restricted, HashMap::from([("analytic.csv", true), ("flow.csv", false), ("exceptions.csv", true)]));

    let (fh, flow) = read_csv(&dir.path().join("flow.csv"));
    assert_eq!(
        fh[..8],
        ["subject", "group", "rostered", "roster_rejected", "with_pre", "met_dosage", "with_post", "analysed"]
    );
    let steps = ["rostered", "with_pre", "met_dosage", "with_post", "analysed"]
        .map(|c| fh.iter().position(|h| h == c).unwrap());
    for line in &flow {
        let n: Vec<u64> = steps.iter().map(|&i| line[i].parse().unwrap()).collect();
        assert!(n.windows(2).all(|w| w[0] >= w[1]), "flow steps shrink: {line:?}");
        assert_eq!(line[3], "0", "no roster row of the clean sample is rejected");
    }
    let total = |g: &str| flow.iter().find(|l| l[1] == g).unwrap()[2].parse::<usize>().unwrap();
    assert_eq!(total("all tutored") + total("comparison"), roster.len());
}

#[test]
fn analytic_values_agree_with_the_raw_files() {
    let dir = tempfile::tempdir().unwrap();
    prepare_samples(dir.path());
    let (h, rows) = read_csv(&dir.path().join("analytic.csv"));
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let (th, tests) = read_csv(&samples().join("assessments.csv"));
    let tcol = |name: &str| th.iter().position(|x| x == name).unwrap();
    // Every picked test is the raw row it names: same student, window and score.
    let mut checked = 0;
    for r in &rows {
        for which in ["pre", "post"] {
            let row = &r[col(&format!("{which}_row"))];
            if row.is_empty() {
                continue;
            }
            let raw = &tests[row.parse::<usize>().unwrap() - 2];
            assert_eq!(raw[tcol("student_id")], r[col("student_id")]);
            assert_eq!(raw[tcol("window")], if which == "pre" { "fall" } else { "spring" });
            let score: f64 = raw[tcol("scale_score")].parse().unwrap();
            assert_eq!(score, r[col(&format!("{which}_score"))].parse::<f64>().unwrap());
            checked += 1;
        }
        if r[col("analysed")] == "true" {
            let g: f64 = r[col("growth")].parse().unwrap();
            let d = r[col("post_score")].parse::<f64>().unwrap() - r[col("pre_score")].parse::<f64>().unwrap();
            assert_eq!(g, d);
        }
    }
    assert!(checked > 8000, "checked {checked} picked tests");
}

#[test]
fn dosage_totals_match_the_generators_truth() {
    let dir = tempfile::tempdir().unwrap();
    prepare_samples(dir.path());
    let (h, rows) = read_csv(&dir.path().join("analytic.csv"));
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(samples().join("truth.json")).unwrap()).unwrap();
    for p in truth["providers"].as_array().unwrap() {
        let id = p["provider_id"].as_str().unwrap();
        let mine: Vec<&Vec<String>> = rows.iter().filter(|r| r[col("provider_id")] == id).collect();
        assert_eq!(mine.len() as u64, p["n_rostered"].as_u64().unwrap(), "{id} rostered");
        let mean = |c: &str| mine.iter().map(|r| r[col(c)].parse::<f64>().unwrap()).sum::<f64>() / mine.len() as f64;
        // truth.json rounds means to 4 decimals.
        assert!(
            (mean("sessions_attended") - p["mean_attended_sessions"].as_f64().unwrap()).abs() < 1e-4,
            "{id} sessions"
        );
        assert!((mean("minutes_attended") - p["mean_attended_minutes"].as_f64().unwrap()).abs() < 1e-4, "{id} minutes");
        assert!(
            (mean("sessions_scheduled") - p["mean_scheduled_sessions"].as_f64().unwrap()).abs() < 1e-4,
            "{id} scheduled"
        );
    }
}

#[test]
fn outputs_are_byte_identical_across_runs() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    prepare_samples(a.path());
    prepare_samples(b.path());
    for f in ["analytic.csv", "flow.csv", "exceptions.csv", "manifest.json"] {
        assert_same_file(&a.path().join(f), &b.path().join(f));
    }
}

#[test]
fn parquet_output_holds_the_same_table() {
    let dir = tempfile::tempdir().unwrap();
    obc_ok(&["prepare", &contract(), "--out", s(dir.path()), "--format", "parquet"]);
    let pq = obc::data::load::read_table(&dir.path().join("analytic.parquet"), "analytic.parquet").unwrap();
    let csv_dir = tempfile::tempdir().unwrap();
    prepare_samples(csv_dir.path());
    let (h, rows) = read_csv(&csv_dir.path().join("analytic.csv"));
    assert_eq!(pq.headers, h);
    assert_eq!(pq.rows.len(), rows.len());
    let id = h.iter().position(|x| x == "student_id").unwrap();
    let pre = h.iter().position(|x| x == "pre_score").unwrap();
    for (p, c) in pq.rows.iter().zip(&rows) {
        assert_eq!(p.fields[id], c[id]);
        let (a, b) = (p.fields[pre].parse::<f64>().ok(), c[pre].parse::<f64>().ok());
        assert_eq!(a, b);
    }
}

#[test]
fn simulate_is_deterministic_per_seed() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    for (d, seed) in [(&a, "5"), (&b, "5"), (&c, "6")] {
        obc_ok(&["simulate", "--students", "300", "--providers", "3", "--seed", seed, "--out", s(d.path())]);
    }
    for f in ["roster.csv", "sessions.csv", "assessments.csv", "history.csv", "truth.json", "contract.toml"] {
        assert_same_file(&a.path().join(f), &b.path().join(f));
        if f != "contract.toml" {
            assert!(
                std::fs::read(a.path().join(f)).unwrap() != std::fs::read(c.path().join(f)).unwrap(),
                "{f} with another seed"
            );
        }
    }
}

#[test]
fn the_committed_sample_is_what_its_documented_command_writes() {
    let dir = tempfile::tempdir().unwrap();
    obc_ok(&["simulate", "--students", "5000", "--providers", "6", "--seed", "20251", "--out", s(dir.path())]);
    for f in ["roster.csv", "sessions.csv", "assessments.csv", "history.csv", "truth.json", "contract.toml"] {
        // A difference means data-samples/ is stale: regenerate it with the command in its README.
        assert_same_file(&dir.path().join(f), &samples().join(f));
    }
    let readme = std::fs::read_to_string(samples().join("README.md")).unwrap();
    assert!(readme.contains("obc simulate --students 5000 --providers 6 --seed 20251 --out data-samples"));
}

fn bad_contract(edit: impl Fn(String) -> String) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
    // absolute paths to data-samples: outside the temporary contract's folder
    let text = edit(text).replace("[files]\n", "[files]\nallow_outside = true\n");
    let text = text.replace("\"roster.csv\"", &format!("{:?}", s(&samples().join("roster.csv"))));
    let text = text
        .replace("\"sessions.csv\"", &format!("{:?}", s(&samples().join("sessions.csv"))))
        .replace("\"assessments.csv\"", &format!("{:?}", s(&samples().join("assessments.csv"))));
    let path = dir.path().join("contract.toml");
    std::fs::write(&path, text).unwrap();
    let o = obc(&["prepare", s(&path), "--out", s(&dir.path().join("out"))]);
    (o.status.code().unwrap_or(-1), stderr(&o))
}

#[test]
fn bad_contracts_exit_2_and_name_the_problem() {
    let (code, err) = bad_contract(|t| t.replace("min_minutes = 0", "min_minutes = 0\nmin_hours = 3"));
    assert_eq!(code, 2, "{err}");
    // line 29 of data-samples/contract.toml, one down for the added `allow_outside` line
    assert!(err.contains("min_hours") && err.contains("line 30"), "{err}");

    let (code, err) = bad_contract(|t| t.replace("\"sessions.csv\"", "\"no-such-file.csv\""));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no-such-file.csv"), "{err}");

    let (code, err) = bad_contract(|t| t + "\n[columns.assessments]\nscale_score = \"RIT\"\n");
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("RIT") && err.contains("scale_score") && err.contains("assessments.csv"), "{err}");

    let (code, err) = bad_contract(|t| t.replace("min_cell = 10", "min_cell = 0"));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("reporting.min_cell"), "{err}");

    let o = obc(&["prepare", "/no/such/contract.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/no/such/contract.toml"));
}

#[test]
fn mapped_headers_load_a_district_export() {
    // Rename the sample's headers as a district export would, then map them back.
    let dir = tempfile::tempdir().unwrap();
    let tests = std::fs::read_to_string(samples().join("assessments.csv")).unwrap();
    let renamed = tests.replacen(
        "student_id,subject,test_date,window,school_year,grade,scale_score,sem,valid",
        "StudentID,Subject,TestDate,TermName,SchoolYear,Grade,RIT,StandardError,Valid",
        1,
    );
    std::fs::write(dir.path().join("tests.csv"), renamed).unwrap();
    let text = std::fs::read_to_string(samples().join("contract.toml"))
        .unwrap()
        .replace("[files]\n", "[files]\nallow_outside = true\n")
        .replace("\"roster.csv\"", &format!("{:?}", s(&samples().join("roster.csv"))))
        .replace("\"sessions.csv\"", &format!("{:?}", s(&samples().join("sessions.csv"))))
        .replace("\"assessments.csv\"", "\"tests.csv\"")
        + "\n[columns.assessments]\nstudent_id = \"StudentID\"\ntest_date = \"TestDate\"\nwindow = \"TermName\"\nscale_score = \"RIT\"\nsem = \"StandardError\"\n";
    // The contract picks tests by school year: without that column mapped, the run stops
    // and names it, rather than finding no tests.
    std::fs::write(dir.path().join("contract.toml"), &text).unwrap();
    let o = obc(&["prepare", s(&dir.path().join("contract.toml")), "--out", s(&dir.path().join("x"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("school_year") && stderr(&o).contains("SchoolYear"), "{}", stderr(&o));
    std::fs::write(dir.path().join("contract.toml"), text + "school_year = \"SchoolYear\"\n").unwrap();
    let out = dir.path().join("out");
    obc_ok(&["prepare", s(&dir.path().join("contract.toml")), "--out", s(&out)]);
    let reference = tempfile::tempdir().unwrap();
    prepare_samples(reference.path());
    assert_same_file(&out.join("analytic.csv"), &reference.path().join("analytic.csv"));
}

#[test]
fn bom_crlf_quoted_fields_and_blank_lines_load_end_to_end() {
    // The sample roster rewritten as a Windows spreadsheet export: BOM, CRLF, every field
    // quoted, blank lines between rows. The analytic file must not change.
    let dir = tempfile::tempdir().unwrap();
    let roster = std::fs::read_to_string(samples().join("roster.csv")).unwrap();
    let mut text = String::from("\u{feff}");
    for (i, line) in roster.lines().enumerate() {
        let quoted: Vec<String> = line.split(',').map(|f| format!("\"{f}\"")).collect();
        text.push_str(&quoted.join(","));
        text.push_str("\r\n");
        if i % 100 == 7 {
            text.push_str("\r\n");
        }
    }
    std::fs::write(dir.path().join("roster.csv"), text).unwrap();
    let contract = std::fs::read_to_string(samples().join("contract.toml"))
        .unwrap()
        .replace("[files]\n", "[files]\nallow_outside = true\n")
        .replace("\"sessions.csv\"", &format!("{:?}", s(&samples().join("sessions.csv"))))
        .replace("\"assessments.csv\"", &format!("{:?}", s(&samples().join("assessments.csv"))));
    std::fs::write(dir.path().join("contract.toml"), contract).unwrap();
    let out = dir.path().join("out");
    obc_ok(&["prepare", s(&dir.path().join("contract.toml")), "--out", s(&out)]);
    let reference = tempfile::tempdir().unwrap();
    prepare_samples(reference.path());
    assert_same_file(&out.join("analytic.csv"), &reference.path().join("analytic.csv"));
    let m = manifest(&out);
    let roster_in = m["inputs"].as_array().unwrap().iter().find(|i| i["file"] == "roster.csv").unwrap().clone();
    assert_eq!(roster_in["rows_read"], 5000);
    assert_eq!(roster_in["blank_lines"], 50);
}

#[test]
fn report_verify_and_usage_errors_exit_2_by_their_kind_not_by_a_string_wrapper() {
    use obc::cli::exit_code;
    use obc::cli::report::FileError;
    use obc::cli::verify::VerifyError;
    use obc::error::{ConfigError, OutputError};
    let unreadable =
        || OutputError::ReadFolder { path: "gone".into(), source: std::io::Error::other("no such folder") };
    for (e, code) in [
        (anyhow::Error::from(FileError::Incomplete { folder: "out".into(), problems: "a.csv (changed)".into() }), 2),
        (anyhow::Error::from(FileError::Unverifiable { folder: "out".into(), error: unreadable() }), 2),
        (anyhow::Error::from(VerifyError::Unreadable(unreadable())), 2),
        (anyhow::Error::from(VerifyError::Incomplete { dir: "d".into(), ok: 1, listed: 2, problems: "p".into() }), 2),
        (anyhow::Error::from(obc::cli::UsageError("--level 2 must be strictly between 0 and 1".into())), 2),
        (anyhow::Error::from(ConfigError::Read { path: "c.toml".into(), source: std::io::Error::other("gone") }), 2),
        (anyhow::Error::from(unreadable()), 2),
        (anyhow::Error::from(OutputError::NotAFolder { path: "f".into() }), 3),
        (anyhow::anyhow!("an untyped error is a bug"), 1),
    ] {
        assert_eq!(exit_code(&e), code, "{e:#}");
    }
    // the message of a wrapped source is printed once, as the chain "outer: inner"
    let e = anyhow::Error::from(ConfigError::Read { path: "c.toml".into(), source: std::io::Error::other("gone") });
    assert_eq!(format!("{e:#}"), "cannot read contract c.toml: gone");
}
