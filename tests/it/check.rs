//! `obc check`: a small hand-checked contract (every payment mode and decision rule), the
//! data-samples contract end to end, and bad contract files.

use std::path::Path;

use crate::common::{assert_same_file, obc, obc_ok, read_csv, s, samples, stderr};

const ROSTER: &str = "student_id,school_id,grade,provider_id,tutor_id,enroll_date,exit_date,low_income,race_ethnicity,english_learner,disability,gender
A1,S1,5,PA,TA,2025-09-01,,Y,Black,N,N,F
A2,S1,5,PA,TA,2025-09-01,,Y,Black,N,N,M
A3,S1,5,PA,TA,2025-09-01,,N,White,N,N,F
A4,S1,5,PA,TA,2025-09-01,,N,White,N,N,M
A5,S1,5,PA,TA,2025-09-01,,Y,Black,N,N,F
A6,S1,5,PA,TA,2025-09-01,,Y,Black,N,N,M
B1,S2,5,PB,TB,2025-09-01,,Y,Hispanic,N,N,F
B2,S2,5,PB,TB,2025-09-01,,Y,Hispanic,N,N,M
B3,S2,5,PB,TB,2025-09-01,,N,Hispanic,N,N,F
B4,S2,5,PB,TB,2025-09-01,,N,Hispanic,N,N,M
C1,S1,5,,,2025-09-01,,N,White,N,N,F
C2,S1,5,,,2025-09-01,,N,White,N,N,M
C3,S2,5,,,2025-09-01,,Y,Black,N,N,F
C4,S2,5,,,2025-09-01,,Y,Black,N,N,M
";

/// Pre (fall) and post (spring) scores; A5 attends one session, A6 has no post-test.
const SCORES: [(&str, f64, Option<f64>); 14] = [
    ("A1", 200.0, Some(210.0)),
    ("A2", 200.0, Some(206.0)),
    ("A3", 200.0, Some(203.0)),
    ("A4", 200.0, Some(198.0)),
    ("A5", 200.0, Some(220.0)),
    ("A6", 200.0, None),
    ("B1", 210.0, Some(220.0)),
    ("B2", 200.0, Some(207.0)),
    ("B3", 205.0, Some(212.0)),
    ("B4", 200.0, Some(201.0)),
    ("C1", 210.0, Some(214.0)),
    ("C2", 205.0, Some(212.0)),
    ("C3", 200.0, Some(201.0)),
    ("C4", 195.0, Some(203.0)),
];

pub(crate) fn write_district(dir: &Path) {
    std::fs::write(dir.join("roster.csv"), ROSTER).unwrap();
    let mut sessions = String::from("student_id,provider_id,tutor_id,session_date,minutes,status,group_size\n");
    for (id, p, t) in
        [("A1", "PA", "TA"), ("A2", "PA", "TA"), ("A3", "PA", "TA"), ("A4", "PA", "TA"), ("A6", "PA", "TA")]
            .into_iter()
            .chain([("B1", "PB", "TB"), ("B2", "PB", "TB"), ("B3", "PB", "TB"), ("B4", "PB", "TB")])
    {
        for day in ["2025-10-06", "2025-10-08", "2025-10-10"] {
            sessions.push_str(&format!("{id},{p},{t},{day},30,attended,2\n"));
        }
    }
    sessions.push_str("A5,PA,TA,2025-10-06,30,attended,2\n");
    std::fs::write(dir.join("sessions.csv"), sessions).unwrap();
    let mut tests = String::from("student_id,subject,test_date,window,school_year,grade,scale_score,sem,valid\n");
    for (id, pre, post) in SCORES {
        tests.push_str(&format!("{id},math,2025-09-15,fall,2025-26,5,{pre},3.0,true\n"));
        if let Some(p) = post {
            tests.push_str(&format!("{id},math,2026-05-01,spring,2025-26,5,{p},3.0,true\n"));
        }
    }
    std::fs::write(dir.join("assessments.csv"), tests).unwrap();
}

pub(crate) const TERMS: &str = r#"[contract]
name = "hand-checked"
subject = "math"
[files]
roster = "roster.csv"
sessions = "sessions.csv"
assessments = "assessments.csv"
[tests]
pre = { window = "fall" }
post = { window = "spring" }
[eligibility]
min_sessions = 2
[outcome]
kind = "scale_growth"
at_least = 5
[metric]
kind = "share_meeting"
[reporting]
min_cell = 3
rare_values = "combine"
[inference]
replicates = 2000
seed = 11
"#;

/// Writes the district and a contract of TERMS + `extra`; runs check; returns providers.csv
/// rows by provider (header -> value).
pub(crate) fn settle(
    dir: &Path,
    extra: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    settle_with(dir, extra, "min_cell = 3")
}

/// [`settle`] with `min_cell = 3` of TERMS replaced by `min_cell`.
fn settle_with(
    dir: &Path,
    extra: &str,
    min_cell: &str,
) -> std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>> {
    write_district(dir);
    let c = dir.join("contract.toml");
    std::fs::write(&c, format!("{}{extra}", TERMS.replace("min_cell = 3", min_cell))).unwrap();
    let out = dir.join("out");
    obc_ok(&["check", s(&c), "--out", s(&out)]);
    let (h, rows) = read_csv(&out.join("providers.csv"));
    rows.into_iter()
        .map(|r| (r[0].clone(), h.iter().cloned().zip(r).collect::<std::collections::BTreeMap<_, _>>()))
        .collect()
}

pub(crate) fn num(m: &std::collections::BTreeMap<String, String>, k: &str) -> f64 {
    m[k].parse().unwrap_or_else(|_| panic!("{k} = {:?}", m[k]))
}

#[test]
fn pool_by_tier_with_penalty_and_cap_is_paid_as_computed_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let p = settle(
        dir.path(),
        r#"[decision]
rule = "point"
[[thresholds]]
value = 0.5
pool_share = 0.5
[[thresholds]]
value = 0.7
pool_share = 1.0
[payment]
base_fixed = 1000
base_per_student = 100
outcome_pool_per_student = 200
penalty_per_regressed = 50
cap = 2000
"#,
    );
    // PA: rostered 6; A5 attended 1 session (< 2: not served); A6 has no post-test.
    // Served A1-A4, A6 = 5; counted A1-A4 = 4; growth 10, 6, 3, -2 -> met (>= 5) 2, regressed 1.
    // Share 2/4 = 0.5: tier 1 (0.5) met, tier 2 (0.7) not met.
    // base 1000 + 100 x 5 = 1500; pool 200 x 4 = 800; outcome 800 x 0.5 = 400; penalty 50 x 1.
    // 1500 + 400 - 50 = 1850 < cap 2000.
    let a = &p["PA"];
    assert_eq!((num(a, "rostered"), num(a, "served"), num(a, "counted")), (6.0, 5.0, 4.0));
    assert_eq!((num(a, "excluded_dosage"), num(a, "excluded_no_post_test")), (1.0, 1.0));
    assert_eq!((num(a, "met_outcome"), num(a, "regressed"), num(a, "metric")), (2.0, 1.0, 0.5));
    assert_eq!(a["tier_reached"], "tier 1");
    assert_eq!((num(a, "base"), num(a, "outcome_payment"), num(a, "penalty")), (1500.0, 400.0, 50.0));
    assert_eq!(num(a, "payable"), 1850.0);
    assert!(a["arithmetic"].contains("outcome = 800.00 x 0.5 (tier 1 reached) = 400.00"), "{}", a["arithmetic"]);
    // PB: 4 served and counted; growth 10, 7, 7, 1 -> 3 met, none regressed; share 0.75 reaches tier 2.
    // base 1000 + 400 = 1400; outcome 800 x 1 = 800; 2200 capped at 2000.
    let b = &p["PB"];
    assert_eq!((num(b, "counted"), num(b, "met_outcome"), num(b, "metric")), (4.0, 3.0, 0.75));
    assert_eq!(b["tier_reached"], "tier 2");
    assert_eq!((num(b, "before_cap"), num(b, "payable")), (2200.0, 2000.0));
    assert!(b["arithmetic"].contains("cap 2,000.00 applies"));
    assert_eq!((b["cap_binding"].as_str(), num(b, "cap_cut")), ("true", 200.0));
    assert_eq!((a["cap_binding"].as_str(), num(a, "cap_cut")), ("false", 0.0));
}

#[test]
fn per_student_payment_with_and_without_the_tier_gate() {
    let dir = tempfile::tempdir().unwrap();
    let terms = r#"[decision]
rule = "point"
[[thresholds]]
value = 0.6
[payment]
base_fixed = 1000
base_per_student = 100
outcome_per_student = 300
penalty_per_regressed = 50
"#;
    let p = settle(dir.path(), terms);
    // PA: 1000 + 100 x 5 + 300 x 2 - 50 x 1 = 2050; PB: 1000 + 100 x 4 + 300 x 3 = 2300.
    assert_eq!(num(&p["PA"], "payable"), 2050.0);
    assert_eq!(num(&p["PB"], "payable"), 2300.0);
    let gated = settle(dir.path(), &format!("{terms}per_student_requires_tier = true\n"));
    // PA's share 0.5 misses the 0.6 tier: no outcome payment, 1000 + 500 - 50 = 1450.
    assert_eq!(num(&gated["PA"], "outcome_payment"), 0.0);
    assert_eq!(num(&gated["PA"], "payable"), 1450.0);
    assert_eq!(num(&gated["PB"], "payable"), 2300.0);
    // base on rostered students instead: PA 1000 + 600 + 600 - 50
    let rostered = settle(dir.path(), &format!("{terms}base_basis = \"rostered\"\n"));
    assert_eq!(num(&rostered["PA"], "payable"), 2150.0);
    // a penalty larger than what is earned floors at zero
    let harsh = settle(dir.path(), &terms.replace("base_fixed = 1000", "base_fixed = 0").replace("= 50", "= 5000"));
    assert_eq!(num(&harsh["PA"], "payable"), 0.0);
    assert!(harsh["PA"]["arithmetic"].contains("floored at 0.00"));
}

#[test]
fn each_decision_rule_decides_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let tiers = "[[thresholds]]\nvalue = 0.25\n[[thresholds]]\nvalue = 0.5\n[[thresholds]]\nvalue = 1.0\n";
    let col = |t: f64| format!("decision_tier_{}", [0.25, 0.5, 1.0].iter().position(|&x| x == t).unwrap() + 1);
    // PA: 2 of 4 met. Point estimate 0.5.
    let point = settle(dir.path(), &format!("[decision]\nrule = \"point\"\n{tiers}"));
    let a = &point["PA"];
    assert_eq!((a[&col(0.25)].as_str(), a[&col(0.5)].as_str(), a[&col(1.0)].as_str()), ("met", "met", "not met"));
    // Bootstrap of 4 students: P(share* >= t) is binomial(4, 0.5): 15/16 at 0.25, 11/16 at 0.5,
    // 1/16 at 1.0. Probability rule at q = 0.9: met, inconclusive, not met (2000 replicates:
    // Monte Carlo SE about 0.006 against margins of 0.04 or more).
    let prob = settle(dir.path(), &format!("[decision]\nrule = \"probability\"\nlevel = 0.9\n{tiers}"));
    let a = &prob["PA"];
    assert_eq!(
        (a[&col(0.25)].as_str(), a[&col(0.5)].as_str(), a[&col(1.0)].as_str()),
        ("met", "inconclusive", "not met")
    );
    // Lower bound of a 90% percentile interval: with 4 students the 5% and 95% points of
    // binomial(4, 0.5)/4 are 0 and 1 (P(X = 0) = P(X = 4) = 1/16 > 5%), so the interval
    // covers every tier: all inconclusive, where the point rule said met, met, not met.
    let lb = settle(dir.path(), &format!("[decision]\nrule = \"lower_bound\"\nlevel = 0.9\n{tiers}"));
    let a = &lb["PA"];
    assert_eq!(
        (a[&col(0.25)].as_str(), a[&col(0.5)].as_str(), a[&col(1.0)].as_str()),
        ("inconclusive", "inconclusive", "inconclusive")
    );
    assert!(num(a, "ci_low") <= 0.25 && num(a, "ci_high") >= 1.0, "{a:?}");
    // an inconclusive first tier earns no tier
    assert_eq!(a["tier_reached"], "");
}

#[test]
fn small_providers_are_suppressed_in_public_tables_but_settled() {
    let dir = tempfile::tempdir().unwrap();
    let p = settle_with(dir.path(), "[decision]\nrule = \"point\"\n[[thresholds]]\nvalue = 0.5\n", "min_cell = 5");
    // min_cell 5 > 4 counted students: no metric in providers.csv, decision still made
    assert_eq!(p["PA"]["metric"], "");
    assert_eq!(p["PA"]["decision_tier_1"], "met");
    let (h, rows) = read_csv(&dir.path().join("out/groups.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    for r in &rows {
        if !r[at("counted")].is_empty() {
            assert!(r[at("counted")].parse::<u64>().unwrap() >= 5, "{r:?}");
        } else {
            assert!(!r[at("suppressed")].is_empty() && r[at("metric")].is_empty(), "{r:?}");
        }
    }
}

#[test]
fn contract_errors_exit_2_and_name_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_district(dir.path());
    let ok = "[decision]\nrule = \"point\"\n[[thresholds]]\nvalue = 0.5\npool_share = 0.5\n[[thresholds]]\nvalue = 0.7\npool_share = 1\n[payment]\noutcome_pool = 1000\n";
    let cases: Vec<(String, &str)> = vec![
        (format!("{TERMS}{ok}").replace("[metric]", "[metric]\nkind_of = 1"), "kind_of"),
        (format!("{TERMS}{ok}").replace("roster.csv", "missing.csv"), "missing.csv"),
        (format!("{TERMS}{ok}").replace("outcome_pool = 1000", "outcome_pool = -1000"), "payment.outcome_pool"),
        (format!("{TERMS}{ok}").replace("value = 0.7", "value = 0.4"), "thresholds[1].value"),
        (format!("{TERMS}{ok}").replace("pool_share = 1\n", ""), "thresholds[1].pool_share"),
        (format!("{TERMS}{ok}").replace("value = 0.5", "value = 50"), "thresholds[0].value"),
        (TERMS.to_string(), "thresholds"),
        (format!("{TERMS}{ok}").replace("at_least = 5", ""), "outcome.at_least"),
        (
            format!("{TERMS}{ok}").replace("scale_growth", "cgp").replace("at_least = 5", "at_least = 60"),
            "files.history",
        ),
    ];
    for (text, needle) in cases {
        let c = dir.path().join("bad.toml");
        std::fs::write(&c, text).unwrap();
        let o = obc(&["check", s(&c), "--out", s(&dir.path().join("o"))]);
        assert_eq!(o.status.code(), Some(2), "{needle}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "expected {needle:?} in {}", stderr(&o));
    }
}

#[test]
fn data_samples_settle_reproducibly_with_every_row_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let c = samples().join("contract.toml");
    obc_ok(&["check", s(&c), "--out", s(&a)]);
    obc_ok(&["check", s(&c), "--out", s(&b)]);
    for f in ["results.json", "providers.csv", "groups.csv", "audit.csv", "exceptions.csv"] {
        assert_same_file(&a.join(f), &b.join(f));
    }
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(a.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["schema_version"], 3);
    let m = &r["manifest"];
    assert_eq!(m["seed"], 20251);
    let inputs = crate::common::assert_accounting(m);
    assert_eq!(inputs.len(), 4, "roster, sessions, assessments, history");
    let restricted: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["restricted"] == true)
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    assert_eq!(restricted, ["audit.csv", "exceptions.csv"]);
    // every roster student is in the audit once
    let (h, audit) = read_csv(&a.join("audit.csv"));
    assert_eq!(audit.len(), 5000);
    // the comparison group meets growth norms fitted on the prior cohort about half the time
    let comp = r["settlement"]["comparison"]["point"].as_f64().unwrap();
    assert!((comp - 0.5).abs() < 0.05, "comparison share {comp}");
    // each provider's per-student contributions add up to its payment before the cap
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let (ph, prov) = read_csv(&a.join("providers.csv"));
    let pat = |k: &str| ph.iter().position(|x| x == k).unwrap();
    for p in &prov {
        let sum: f64 = audit
            .iter()
            .filter(|r| r[at("provider_id")] == p[0])
            .map(|r| r[at("contribution")].parse::<f64>().unwrap())
            .sum();
        let before: f64 = p[pat("before_cap")].parse().unwrap();
        assert!((sum - before).abs() < 1e-6, "{}: audit {sum} vs {before}", p[0]);
        let counted: usize = p[pat("counted")].parse().unwrap();
        let n = audit.iter().filter(|r| r[at("provider_id")] == p[0] && r[at("counted")] == "true").count();
        assert_eq!(n, counted);
    }
    // the fairness checks are present: selection of low scorers shows in baseline equivalence
    let eq = r["settlement"]["fairness"]["equivalence"].as_array().unwrap();
    assert_eq!(eq.len(), 6);
    assert!(eq.iter().all(|e| e["g"].as_f64().unwrap() < -0.25 && e["rating"] == "not satisfied"));
    assert_eq!(r["settlement"]["fairness"]["exclusions"].as_array().unwrap().len(), 6 * 5);
}

/// data-samples settled with a raw scale-growth outcome (no norms), its assessments' SEMs
/// removed when `without_sem`; returns the regression-to-the-mean warnings of results.json.
fn raw_growth_regression_warnings(without_sem: bool) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(samples().join("contract.toml"))
        .unwrap()
        .replace("kind = \"growth_vs_norm\"", "kind = \"scale_growth\"\nat_least = 5")
        .replace("[norms]\nmethod = \"conditional\"\nmin_n = 500\n", "");
    for f in ["roster.csv", "sessions.csv", "assessments.csv", "history.csv"] {
        std::fs::copy(samples().join(f), dir.path().join(f)).unwrap();
    }
    if without_sem {
        let (h, rows) = read_csv(&samples().join("assessments.csv"));
        let sem = h.iter().position(|c| c == "sem").unwrap();
        let mut w = csv::Writer::from_path(dir.path().join("assessments.csv")).unwrap();
        w.write_record(&h).unwrap();
        for mut r in rows {
            r[sem].clear();
            w.write_record(&r).unwrap();
        }
        w.flush().unwrap();
    }
    let c = dir.path().join("contract.toml");
    std::fs::write(&c, text).unwrap();
    let out = dir.path().join("out");
    obc_ok(&["check", s(&c), "--out", s(&out)]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    r["settlement"]["fairness"]["regression_to_mean"].as_array().unwrap().clone()
}

/// Tests without an SEM (an i-Ready export): the raw-growth check cannot size the bias and
/// says so for every provider, instead of staying silent.
#[test]
fn without_sems_the_regression_to_the_mean_check_says_it_cannot_be_sized() {
    let rtm = raw_growth_regression_warnings(true);
    assert_eq!(rtm.len(), 6, "{rtm:?}");
    for w in &rtm {
        assert!(w["message"].as_str().unwrap().contains("carry no SEM") && w["code"] == "regression_to_mean", "{w}");
    }
}

#[test]
fn raw_growth_outcomes_of_low_scorers_warn_of_regression_to_the_mean() {
    let rtm = raw_growth_regression_warnings(false);
    assert_eq!(rtm.len(), 6, "{rtm:?}");
    assert!(
        rtm[0]["code"] == "regression_to_mean"
            && rtm[0]["message"].as_str().unwrap().contains("regression to the mean")
    );
}

#[test]
fn midpoint_review_uses_only_data_up_to_the_date_and_projects_each_tier() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mid");
    let c = samples().join("contract.toml");
    obc_ok(&["check", s(&c), "--out", s(&out), "--as-of", "2026-02-15"]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let m = &r["midpoint"];
    // service 2025-09-15 .. 2026-04-30 is 227 days; 2026-02-15 is day 153: 153/227 elapsed,
    // so the 20-session rule becomes floor(20 x 0.674) = 13 sessions
    assert!((m["fraction_of_service_elapsed"].as_f64().unwrap() - 153.0 / 227.0).abs() < 1e-12);
    assert_eq!(m["prorated_min_sessions"], 13);
    // the planned post-test date is the middle of the spring window 2026-04-01 .. 2026-06-30
    assert_eq!(m["projected_post_date"], "2026-05-16");
    let proj = m["projection"].as_array().unwrap();
    assert_eq!(proj.len(), 6 * 2);
    for p in proj {
        let x = p["projected_chance_of_meeting"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&x), "{p}");
    }
    // every session and test row after the date is an exception saying so, none is used
    let (h, ex) = read_csv(&out.join("exceptions.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let after: Vec<&Vec<String>> =
        ex.iter().filter(|e| e[at("reason")].contains("after the --as-of date 2026-02-15")).collect();
    let (_, sessions) = read_csv(&samples().join("sessions.csv"));
    let late_sessions = sessions.iter().filter(|r| r[3].as_str() > "2026-02-15").count();
    assert_eq!(after.iter().filter(|e| e[at("file")] == "sessions.csv").count(), late_sessions);
    assert!(after.iter().all(|e| e[at("kind")] == "excluded"));
    // dosage delivered against contracted (55 sessions over the period), per provider
    let (dh, dosage) = read_csv(&out.join("dosage.csv"));
    assert_eq!(dosage.len(), 6);
    let c2d: f64 = dosage[0][dh.iter().position(|x| x == "contracted_to_date_per_student").unwrap()].parse().unwrap();
    assert!((c2d - 55.0 * 153.0 / 227.0).abs() < 1e-9);
}

/// Linear interpolation of y(x) on increasing x.
fn interp(xy: &[(f64, f64)], x: f64) -> f64 {
    let i = xy.windows(2).position(|w| w[0].0 <= x && x <= w[1].0).unwrap_or_else(|| panic!("{x} outside the grid"));
    let ((x0, y0), (x1, y1)) = (xy[i], xy[i + 1]);
    y0 + (x - x0) / (x1 - x0) * (y1 - y0)
}

#[test]
fn baseline_oc_curves_agree_with_settling_the_simulated_providers() {
    // data-samples was made by `obc simulate` with known provider effects (truth.json). The
    // baseline, from the history cohort alone, predicts each provider's share meeting the
    // norm and P(tier met) at the provider's realised effect and counted size; settlement
    // of the current year gives what happened.
    let dir = tempfile::tempdir().unwrap();
    for f in ["roster.csv", "sessions.csv", "assessments.csv", "history.csv"] {
        std::fs::copy(samples().join(f), dir.path().join(f)).unwrap();
    }
    let base = std::fs::read_to_string(samples().join("contract.toml"))
        .unwrap()
        .replace("rule = \"lower_bound\"", "rule = \"point\"");
    let c = dir.path().join("contract.toml");
    std::fs::write(&c, &base).unwrap();
    let out = dir.path().join("check");
    obc_ok(&["check", s(&c), "--out", s(&out)]);
    let (h, prov) = read_csv(&out.join("providers.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let sizes: Vec<usize> = prov.iter().map(|p| p[at("counted")].parse().unwrap()).collect();
    let grid = format!(
        "\n[baseline]\nsizes = {sizes:?}\neffects = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4]\nthresholds = [0.5, 0.6]\nreplicates = 2000\n"
    );
    std::fs::write(&c, format!("{base}{grid}")).unwrap();
    let bout = dir.path().join("baseline");
    obc_ok(&["baseline", s(&c), "--out", s(&bout)]);
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(bout.join("recommendation.json")).unwrap()).unwrap();
    let b = &rec["baseline"];
    let sds: Vec<f64> =
        b["population"]["sd_post_by_grade"].as_object().unwrap().values().map(|v| v.as_f64().unwrap()).collect();
    let sd = sds.iter().sum::<f64>() / sds.len() as f64;
    let curve: Vec<(f64, f64)> = b["metric_by_effect"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let (oh, oc) = read_csv(&bout.join("oc.csv"));
    let oat = |k: &str| oh.iter().position(|x| x == k).unwrap();
    let truth: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(samples().join("truth.json")).unwrap()).unwrap();
    // With the history year's break named (docs/methods.md 10.5) the current comparison
    // group meets the history norms as often as the history itself: no anchoring on it. The
    // cohort difference is within 2.5 binomial SEs of the comparison share.
    let res: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let comparison = &res["settlement"]["comparison"];
    let (share, units) = (comparison["point"].as_f64().unwrap(), comparison["units"].as_f64().unwrap());
    let year_shift = share - curve[0].1;
    let se_shift = (share * (1.0 - share) / units).sqrt();
    eprintln!("comparison {share:.4} (n {units}) against business as usual {:.4}", curve[0].1);
    assert!(year_shift.abs() < 2.5 * se_shift, "cohort difference {year_shift} (SE {se_shift})");
    let mut z_all = Vec::new();
    for (p, &n) in prov.iter().zip(&sizes) {
        let t = truth["providers"].as_array().unwrap().iter().find(|t| t["provider_id"] == p[0].as_str()).unwrap();
        // realised effect on the post-test, in SDs of the history's post-test
        let d = t["realised_mean_points_posttest"].as_f64().unwrap() / sd;
        let predicted = interp(&curve, d);
        let observed: f64 = p[at("metric")].parse().unwrap();
        let se = (predicted * (1.0 - predicted) / n as f64).sqrt();
        let z = (observed - predicted) / se;
        z_all.push(z);
        for (tier, column, threshold) in [("tier 1", "decision_tier_1", 0.5), ("tier 2", "decision_tier_2", 0.6)] {
            let curve_t: Vec<(f64, f64)> = oc
                .iter()
                .filter(|r| {
                    r[oat("provider_size")] == n.to_string() && r[oat("threshold")].parse::<f64>().unwrap() == threshold
                })
                .map(|r| (r[oat("effect_sd")].parse().unwrap(), r[oat("p_met")].parse().unwrap()))
                .collect();
            let p_met = interp(&curve_t, d);
            let met = p[at(column)] == "met";
            let p_observed = if met { p_met } else { 1.0 - p_met };
            eprintln!(
                "{} n {n} d {d:.3}: share {observed:.3} predicted {predicted:.3} (z {z:.2}); {tier} met {met}, P(met) {p_met:.3}",
                p[0]
            );
            // no settled decision is one the baseline called very unlikely
            assert!(p_observed >= 0.01, "{} {tier}: observed {met} had predicted probability {p_observed}", p[0]);
        }
    }
    // Shares agree with the curve within 3 binomial SEs per provider, and the mean
    // of the six z-scores within 3/sqrt(6) of 0 (3 standard errors of a mean of six).
    assert!(z_all.iter().all(|z| z.abs() < 3.0), "{z_all:?}");
    let mean_z = z_all.iter().sum::<f64>() / z_all.len() as f64;
    assert!(mean_z.abs() < 3.0 / 6f64.sqrt(), "{z_all:?}");
}

#[test]
fn report_figures_agree_with_the_audit_and_publish_no_small_cells() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a");
    obc_ok(&["check", s(&samples().join("contract.toml")), "--out", s(&out)]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let f = &r["figures"];
    let (h, audit) = read_csv(&out.join("audit.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let num = |row: &Vec<String>, k: &str| row[at(k)].parse::<f64>().ok();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    // dosage: each provider's histogram holds every rostered student; the mean is the audit's
    let edges: Vec<f64> = f["dosage"]["bin_edges"].as_array().unwrap().iter().map(|e| e.as_f64().unwrap()).collect();
    for p in f["dosage"]["providers"].as_array().unwrap() {
        let id = p["provider"].as_str().unwrap();
        let mine: Vec<&Vec<String>> = audit.iter().filter(|row| row[at("provider_id")] == id).collect();
        assert_eq!(p["rostered"].as_u64().unwrap() as usize, mine.len());
        let hist: Vec<u64> = p["histogram"].as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
        assert_eq!(hist.len() + 1, edges.len());
        assert_eq!(hist.iter().sum::<u64>() as usize, mine.len(), "{id}");
        let sessions: Vec<f64> = mine.iter().map(|row| num(row, "sessions_attended").unwrap()).collect();
        let below = sessions.iter().filter(|x| **x < edges[1]).count() as u64;
        assert_eq!(hist[0], below, "{id}: first bin");
        assert!((p["sessions"]["mean"].as_f64().unwrap() - mean(&sessions)).abs() < 1e-9, "{id}");
    }
    // growth against the norms: per provider, the counted students' mean growth and expectation
    let g = &f["growth_vs_norm"];
    for p in g["providers"].as_array().unwrap() {
        let id = p["provider"].as_str().unwrap();
        let counted: Vec<&Vec<String>> =
            audit.iter().filter(|row| row[at("provider_id")] == id && row[at("counted")] == "true").collect();
        assert_eq!(p["n"].as_u64().unwrap() as usize, counted.len());
        let obs: Vec<f64> = counted.iter().map(|row| num(row, "growth").unwrap()).collect();
        let exp: Vec<f64> = counted.iter().map(|row| num(row, "expected_growth").unwrap()).collect();
        assert!((p["observed"].as_f64().unwrap() - mean(&obs)).abs() < 1e-9, "{id}");
        assert!((p["expected"].as_f64().unwrap() - mean(&exp)).abs() < 1e-9, "{id}");
    }
    let binned: u64 = g["series"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["points"].as_array().unwrap())
        .map(|p| p["n"].as_u64().unwrap())
        .sum();
    let all_counted = audit.iter().filter(|row| row[at("counted")] == "true").count() as u64;
    assert_eq!(binned, all_counted, "no bin is small on data-samples, so every counted student is binned");
    // dose-response: contiguous bins with an edge at the dosage rule; shares recomputed from the audit
    let bins = f["dose_response"]["bins"].as_array().unwrap();
    let min_sessions = f["dosage"]["min_sessions"].as_u64().unwrap();
    assert!(bins.iter().any(|b| b["lo"].as_u64() == Some(min_sessions)), "an edge at min_sessions");
    assert_eq!(bins[0]["lo"], 0);
    for w in bins.windows(2) {
        assert_eq!(w[0]["hi"].as_u64().unwrap() + 1, w[1]["lo"].as_u64().unwrap());
    }
    for b in bins {
        let (lo, hi) = (b["lo"].as_f64().unwrap(), b["hi"].as_f64().unwrap_or(f64::INFINITY));
        let pop: Vec<bool> = audit
            .iter()
            .filter(|row| !row[at("provider_id")].is_empty())
            .filter_map(|row| {
                let x = num(row, "sessions_attended")?;
                ((lo..=hi).contains(&x)).then_some(())?;
                Some(num(row, "growth")? >= num(row, "expected_growth")?)
            })
            .collect();
        assert_eq!(b["n"].as_u64().unwrap() as usize, pop.len(), "{b}");
        let share = pop.iter().filter(|m| **m).count() as f64 / pop.len() as f64;
        assert!((b["value"].as_f64().unwrap() - share).abs() < 1e-12, "{b}");
        assert!(b["low"].as_f64().unwrap() <= share && share <= b["high"].as_f64().unwrap());
    }
}

#[test]
fn report_figures_suppress_small_providers() {
    let dir = tempfile::tempdir().unwrap();
    settle_with(dir.path(), "[decision]\nrule = \"point\"\n[[thresholds]]\nvalue = 0.5\n", "min_cell = 5");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/results.json")).unwrap()).unwrap();
    let f = &r["figures"];
    let mut suppressed = 0;
    let counted: std::collections::BTreeMap<String, u64> = r["settlement"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["provider"].as_str().unwrap().to_string(), p["counts"]["counted"].as_u64().unwrap()))
        .collect();
    for p in f["dosage"]["providers"].as_array().unwrap() {
        // a provider with fewer than min_cell rostered or counted students gets no figures
        let small = p["rostered"].as_u64().unwrap() < 5 || counted[p["provider"].as_str().unwrap()] < 5;
        assert_eq!(p["suppressed"], small, "{p}");
        if small {
            suppressed += 1;
            assert!(p["histogram"].is_null() && p["sessions"].is_null() && p["per_week"].is_null(), "{p}");
        }
    }
    for b in f["dose_response"]["bins"].as_array().unwrap() {
        assert!(b["n"].as_u64().is_none_or(|n| n >= 5), "{b}");
        assert_eq!(b["n"].is_null(), b["value"].is_null(), "{b}");
    }
    if let Some(g) = f["growth_vs_norm"].as_object() {
        for p in g["providers"].as_array().unwrap() {
            assert_eq!(p["observed"].is_null(), p["n"].as_u64().unwrap() < 5, "{p}");
        }
    }
    assert_eq!(suppressed, 2, "PB has 4 rostered students, PA 6 of whom 4 are counted");
}
