//! The worked examples of docs/contracts.md section 16 (`data-samples/contracts/`), each
//! settled on the data-samples district, and each student's amounts recomputed here from
//! the audit's own columns (growth, expected growth, CGP) by the contract's words.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{obc_ok, read_csv, s, samples};

/// A CSV file's rows, each as header -> value.
type Rows = Vec<BTreeMap<String, String>>;

/// Settles one example; returns providers.csv and audit.csv.
fn settle(name: &str, out: &Path) -> (Rows, Rows) {
    let c = samples().join("contracts").join(format!("{name}.toml"));
    obc_ok(&["check", s(&c), "--out", s(out)]);
    let rows = |f: &str| {
        let (h, rows) = read_csv(&out.join(f));
        rows.into_iter().map(|r| h.iter().cloned().zip(r).collect()).collect::<Rows>()
    };
    (rows("providers.csv"), rows("audit.csv"))
}

fn f(m: &BTreeMap<String, String>, k: &str) -> f64 {
    m[k].parse().unwrap_or_else(|_| panic!("{k} = {:?}", m.get(k)))
}

/// Counted tutored students of the audit.
fn counted(audit: &[BTreeMap<String, String>]) -> impl Iterator<Item = &BTreeMap<String, String>> {
    audit.iter().filter(|r| r["counted"] == "true" && !r["provider_id"].is_empty())
}

/// Each provider's lines add up from the audit, and its payable is its arithmetic's.
fn assert_adds_up(providers: &[BTreeMap<String, String>], audit: &[BTreeMap<String, String>], lines: usize) {
    for p in providers {
        let mine: Vec<_> = audit.iter().filter(|r| r["provider_id"] == p["provider"]).collect();
        for k in 1..=lines {
            let sum: f64 = mine.iter().map(|r| f(r, &format!("rate_{k}"))).sum();
            assert!((sum - f(p, &format!("rate_{k}_amount"))).abs() < 0.005, "{} rate {k}", p["provider"]);
        }
        let contribution: f64 = mine.iter().map(|r| f(r, "contribution")).sum();
        assert!((contribution - f(p, "before_cap")).abs() < 0.005, "{}", p["provider"]);
        assert!(f(p, "payable") <= f(p, "before_cap") + 1e-9);
    }
}

#[test]
fn duval_graduated_pays_the_ramp_on_percent_of_typical_growth() {
    let dir = tempfile::tempdir().unwrap();
    let (providers, audit) = settle("duval_graduated", dir.path());
    assert_adds_up(&providers, &audit, 1);
    let mut n = 0;
    for r in counted(&audit) {
        let pct = 100.0 * f(r, "growth") / f(r, "expected_growth");
        let want = 750.0 * ((pct - 50.0) / 100.0).clamp(0.0, 1.0);
        assert!((f(r, "rate_1") - want).abs() < 1e-6, "{}: {pct}% -> {want}, paid {}", r["student_id"], r["rate_1"]);
        n += 1;
    }
    assert!(n > 1000, "{n} counted students");
    // the base: 670 per served student
    for p in &providers {
        assert_eq!(f(p, "base"), 670.0 * f(p, "served"));
    }
}

#[test]
fn denver_multi_measure_pays_each_measure_and_caps_each_student() {
    let dir = tempfile::tempdir().unwrap();
    let (providers, audit) = settle("denver_multi_measure", dir.path());
    assert_adds_up(&providers, &audit, 3);
    let mut capped = 0;
    for r in counted(&audit) {
        let norm = if f(r, "growth") >= f(r, "expected_growth") { 250.0 } else { 0.0 };
        let cgp = if f(r, "cgp") >= 60.0 { 250.0 } else { 0.0 };
        let pct = 100.0 * f(r, "growth") / f(r, "expected_growth");
        let steps = if pct >= 150.0 {
            200.0
        } else if pct >= 100.0 {
            100.0
        } else {
            0.0
        };
        assert_eq!((f(r, "rate_1"), f(r, "rate_2"), f(r, "rate_3")), (norm, cgp, steps), "{}", r["student_id"]);
        let over = (norm + cgp + steps - 600.0).max(0.0);
        assert_eq!(f(r, "student_cap_cut"), over);
        capped += usize::from(over > 0.0);
        assert!(f(r, "outcome_payment") <= 600.0);
    }
    assert!(capped > 0, "the student cap binds for some students");
    for p in &providers {
        assert!(f(p, "payable") <= 1_200_000.0);
        assert_eq!(f(p, "base"), 900.0 * f(p, "served"));
    }
}

#[test]
fn ector_pays_each_successful_student_and_deducts_each_regressed_one() {
    let dir = tempfile::tempdir().unwrap();
    let (providers, audit) = settle("ector_per_student_penalty", dir.path());
    assert_adds_up(&providers, &audit, 2);
    for r in counted(&audit) {
        let success = if f(r, "growth") >= f(r, "expected_growth") { 500.0 } else { 0.0 };
        let regressed = if f(r, "growth") < 0.0 { 250.0 } else { 0.0 };
        assert_eq!((f(r, "rate_1"), f(r, "rate_2")), (success, regressed), "{}", r["student_id"]);
        assert_eq!(f(r, "penalty"), regressed);
    }
    let penalised: f64 = providers.iter().map(|p| f(p, "penalty")).sum();
    assert!(penalised > 0.0, "some students regressed");
}

#[test]
fn the_cgp_60_guarantee_pays_only_for_students_at_cgp_60_or_more() {
    let dir = tempfile::tempdir().unwrap();
    let (providers, audit) = settle("cgp60_guarantee", dir.path());
    assert_adds_up(&providers, &audit, 1);
    for r in audit.iter().filter(|r| !r["provider_id"].is_empty()) {
        let want = if r["counted"] == "true" && f(r, "cgp") >= 60.0 { 1420.0 } else { 0.0 };
        assert_eq!(f(r, "rate_1"), want, "{}", r["student_id"]);
        assert_eq!(f(r, "base"), 0.0);
    }
    for p in &providers {
        assert_eq!(f(p, "payable"), 1420.0 * f(p, "rate_1_students"));
    }
}
