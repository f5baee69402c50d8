//! Messy exports: every injected fault is caught, counted and explained.

use std::collections::HashMap;
use std::path::Path;

use super::common::*;

fn messy(dir: &Path) -> serde_json::Value {
    obc_ok(&["simulate", "--students", "800", "--providers", "3", "--seed", "7", "--messy", "--out", s(dir)]);
    // 800 students: a gender value with fewer than min_cell students is reported combined
    let c = dir.join("contract.toml");
    let text =
        std::fs::read_to_string(&c).unwrap().replacen("[reporting]\n", "[reporting]\nrare_values = \"combine\"\n", 1);
    std::fs::write(&c, text).unwrap();
    serde_json::from_str(&std::fs::read_to_string(dir.join("truth.json")).unwrap()).unwrap()
}

/// Exceptions per (file, reason with numbers removed).
fn reasons(path: &Path) -> HashMap<(String, String), u64> {
    let (h, rows) = read_csv(path);
    let at = h.iter().position(|c| c == "reason").unwrap();
    let mut out = HashMap::new();
    for r in rows {
        let reason: String = r[at].chars().filter(|c| !c.is_ascii_digit()).collect();
        *out.entry((r[0].clone(), reason)).or_default() += 1;
    }
    out
}

#[test]
fn every_injected_fault_is_an_exception_with_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let truth = messy(dir.path());
    let m = &truth["messy"];
    let out = dir.path().join("v");
    let o = obc_ok(&["validate", s(&dir.path().join("contract.toml")), "--out", s(&out)]);
    assert!(stderr(&o).contains("leading zeros"), "the lost zeros are reported: {}", stderr(&o));
    assert_accounting(&manifest(&out));
    let r = reasons(&out.join("exceptions.csv"));
    let n = |file: &str, reason: &str| r.get(&(file.to_string(), reason.to_string())).copied().unwrap_or(0);
    let count = |k: &str| m[k].as_u64().unwrap();
    let lost = "student_id not on the roster; matches roster ID  apart from leading zeros";
    assert_eq!(n("sessions.csv", lost), count("sessions_lost_leading_zeros"));
    assert_eq!(n("assessments.csv", lost), count("assessments_lost_leading_zeros"));
    assert_eq!(n("sessions.csv", "student_id not on the roster"), count("sessions_unknown_students"));
    assert_eq!(n("assessments.csv", "student_id not on the roster"), count("assessments_unknown_students"));
    assert_eq!(n("roster.csv", "exact duplicate of row "), count("roster_duplicate_rows"));
    assert_eq!(n("sessions.csv", "exact duplicate of row "), count("sessions_duplicate_rows"));
    assert_eq!(n("sessions.csv", "unknown provider"), count("sessions_unknown_providers"));
    let text = &m["sessions_minutes_text"];
    assert_eq!(
        n("sessions.csv", "minutes is not a number"),
        text["na"].as_u64().unwrap() + text["with_unit"].as_u64().unwrap() + text["empty"].as_u64().unwrap()
    );
    let score = &m["assessments_scale_score_text"];
    assert_eq!(
        n("assessments.csv", "scale_score is not a finite number"),
        score["na"].as_u64().unwrap() + score["empty"].as_u64().unwrap()
    );
    // An empty SEM is a missing SEM (allowed); "N/A" is not a number.
    assert_eq!(n("assessments.csv", "sem is not a positive number"), m["assessments_sem_text"]["na"].as_u64().unwrap());
    // US-format dates parse: no date exceptions at all.
    assert!(m["sessions_us_dates"].as_u64().unwrap() > 0);
    assert!(!r.keys().any(|(_, reason)| reason.contains("not a date")), "{r:?}");
}

#[test]
fn prepare_explains_retests_and_out_of_window_tests() {
    let dir = tempfile::tempdir().unwrap();
    let truth = messy(dir.path());
    let out = dir.path().join("p");
    obc_ok(&["prepare", s(&dir.path().join("contract.toml")), "--out", s(&out)]);
    assert_accounting(&manifest(&out));
    let (h, rows) = read_csv(&out.join("exceptions.csv"));
    let at = h.iter().position(|c| c == "reason").unwrap();
    let with = |t: &str| rows.iter().filter(|r| r[at].contains(t)).count();
    assert!(with("retest not chosen: rule min_sem_then_latest chose row") > 0);
    assert!(with("outside 2025-08-01..2025-10-31") + with("outside 2026-04-01..2026-06-30") > 0);
    assert!(truth["messy"]["retests"].as_u64().unwrap() >= with("retest not chosen") as u64);
}

#[test]
fn pad_width_repairs_lost_zeros_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let truth = messy(dir.path());
    let contract = dir.path().join("contract.toml");
    let before = dir.path().join("before");
    obc_ok(&["validate", s(&contract), "--out", s(&before)]);
    let text = std::fs::read_to_string(&contract).unwrap() + "\n[ids]\npad_width = 6\n";
    std::fs::write(&contract, text).unwrap();
    let after = dir.path().join("after");
    let o = obc_ok(&["validate", s(&contract), "--out", s(&after)]);
    assert!(!stderr(&o).contains("leading zeros"));
    let used = |d: &Path, f: &str| {
        manifest(d)["inputs"].as_array().unwrap().iter().find(|i| i["file"] == f).unwrap()["rows_used"]
            .as_u64()
            .unwrap()
    };
    let lost = truth["messy"]["sessions_lost_leading_zeros"].as_u64().unwrap();
    // Repaired rows are used unless they carry another injected fault as well.
    let gained = used(&after, "sessions.csv") - used(&before, "sessions.csv");
    assert!(gained <= lost && gained as f64 >= 0.9 * lost as f64, "gained {gained} of {lost}");
}
