//! `obc check --as-of` (README "Midpoint review"): the console, `providers.csv` and the
//! report say the review is a projection and nothing is payable; before the interim test
//! the review reports dosage only.

use std::path::Path;

use crate::common::{obc_ok, read_csv, s, samples, stderr};
use crate::report::{section, snapshot, visible_text};

/// Runs `obc check` on data-samples (with `--as-of` when given) into `out`; returns the
/// console output with the output folder written as `OUT`.
fn check(out: &Path, as_of: Option<&str>) -> String {
    let c = samples().join("contract.toml");
    let mut args = vec!["check", s(&c), "--out", s(out)];
    if let Some(d) = as_of {
        args.extend(["--as-of", d]);
    }
    stderr(&obc_ok(&args)).replace(s(out), "OUT")
}

/// The console's lines before the warnings, which come last (they are covered elsewhere).
fn summary_lines(console: &str) -> String {
    console.lines().take_while(|l| !l.contains(" warning(s) in ")).map(|l| format!("{l}\n")).collect()
}

fn results(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_midpoint_review_says_projected_and_nothing_is_payable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mid");
    let console = check(&out, Some("2026-02-15"));
    let lines = summary_lines(&console);
    assert!(lines.starts_with("Midpoint review as of 2026-02-15: projections, nothing is payable\n"), "{lines}");
    // no settlement wording: "payable 295820.00" per provider or "total payable"
    assert!(!lines.contains("; payable ") && !lines.contains("total payable"), "{lines}");
    let providers: Vec<&str> = lines.lines().filter(|l| l.starts_with('P')).collect();
    assert_eq!(providers.len(), 6, "{lines}");
    for l in &providers {
        assert!(l.contains("projected metric ") && l.contains("projected decision tier 1 "), "{l}");
        assert!(l.contains(", not payable") && l.contains("contracted to date"), "{l}");
        // every tier's decision carries its projected chance beside it
        assert_eq!(l.matches("(projected chance of meeting ").count(), 2, "{l}");
    }
    // P4 is inconclusive on tier 1 with a chance below the 90% level: said together
    assert!(providers[3].contains("tier 1 inconclusive (projected chance of meeting 81.0%)"), "{}", providers[3]);
    assert!(lines.contains("projected total 1740100.00 if settled on these projections; nothing is payable"));
    snapshot("midpoint_console", &lines);

    // providers.csv marks the projection: a `review` column and projected_ columns
    let (h, rows) = read_csv(&out.join("providers.csv"));
    assert_eq!(h[0], "review");
    assert!(rows.iter().all(|r| r[0] == "midpoint review as of 2026-02-15: projection, nothing is payable"));
    for name in [
        "projected_metric",
        "projected_payable",
        "projected_decision_tier_1",
        "projected_chance_of_meeting_tier_2",
        "tier_2_name",
        "tier_2_value",
    ] {
        assert!(h.iter().any(|x| x == name), "{name} missing from {h:?}");
    }
    assert!(!h.iter().any(|x| x == "payable" || x == "metric" || x.starts_with("decision_")), "{h:?}");
    // groups.csv is marked the same way: the review column and projected_ metric and interval
    let (g, rows) = read_csv(&out.join("groups.csv"));
    assert_eq!(g[..2], ["review".to_string(), "provider".to_string()]);
    assert!(rows.iter().all(|r| r[0] == "midpoint review as of 2026-02-15: projection, nothing is payable"));
    for name in ["projected_metric", "projected_ci_low", "projected_ci_high"] {
        assert!(g.iter().any(|x| x == name), "{name} missing from {g:?}");
    }
    assert!(!g.iter().any(|x| x == "metric"), "{g:?}");

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let title = "Midpoint review as of 2026-02-15: projections, nothing is payable";
    assert!(html.contains(&format!("<title>Simulated district 2025-26 math tutoring: {title}</title>")));
    let summary = visible_text(section(&html, "summary"));
    assert!(!summary.contains("Total payable") && !summary.contains("settles the contract"), "{summary}");
    let head = summary.lines().find(|l| l.starts_with("provider |")).unwrap();
    assert!(head.contains("projected metric") && head.contains("projected decision tier 1 (0.5)"), "{head}");
    assert!(head.contains("projected payment (not payable)") && !head.contains("| payable |"), "{head}");
    assert!(
        summary.contains("P4 | 418 | 364 | 0.522 [0.478, 0.566] | inconclusive (81.0% chance) | not met (0.3% chance)")
    );
    snapshot("midpoint_summary", &summary);
    let mid = visible_text(section(&html, "midpoint"));
    assert!(mid.contains("P4 | tier 1 | 0.500 | inconclusive | 81.0%"), "{mid}");
    snapshot("midpoint_section", &mid);
}

#[test]
fn before_the_interim_test_the_review_reports_dosage_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("early");
    let console = check(&out, Some("2025-11-01"));
    // no outcome can be judged: no attrition, no decisions, no payment
    for word in ["attrition", "not met", "inconclusive", "counted students", "payable 1"] {
        assert!(!console.contains(word), "{word:?} in\n{console}");
    }
    let lines = summary_lines(&console);
    let providers: Vec<&str> = lines.lines().filter(|l| l.starts_with('P')).collect();
    assert_eq!(providers.len(), 6, "{lines}");
    for l in &providers {
        assert!(l.ends_with("; outcome projection not yet possible") && l.contains("contracted to date"), "{l}");
    }
    assert!(lines.contains(
        "no student has an interim test (winter 2025-26) dated on or before 2025-11-01, so outcomes cannot be projected yet"
    ));
    assert!(lines.contains("nothing is payable"));
    snapshot("midpoint_early_console", &lines);

    let r = results(&out);
    let m = &r["midpoint"];
    assert!(m["projection"].as_array().unwrap().is_empty());
    assert!(m["projection_not_possible"].as_str().unwrap().contains("(winter 2025-26)"));
    // dosage so far: P3's 158 rostered students all meet the prorated 4-session rule
    let p3 = m["dosage"].as_array().unwrap().iter().find(|d| d["provider"] == "P3").unwrap();
    assert_eq!((p3["rostered"].as_u64(), p3["meeting_dosage_rule"].as_u64()), (Some(158), Some(158)));
    let codes: Vec<&str> =
        r["manifest"]["warnings"].as_array().unwrap().iter().filter_map(|w| w["code"].as_str()).collect();
    assert!(!codes.iter().any(|c| *c == "high_attrition" || *c == "few_counted"), "{codes:?}");

    let (h, rows) = read_csv(&out.join("providers.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    for r in &rows {
        assert!(r[at("review")].contains("outcome projection not yet possible"));
        assert!(r[at("projected_payable")].is_empty() && r[at("projected_decision_tier_1")].is_empty(), "{r:?}");
    }

    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("<title>Simulated district 2025-26 math tutoring: Midpoint review as of 2025-11-01: dosage only")
    );
    for gone in ["fairness", "flow", "equity"] {
        assert!(!html.contains(&format!("<section id=\"{gone}\">")), "section {gone} in the early review");
    }
    // outside the methods appendix (which describes the contract's rules), no outcome words
    let methods = html.find("<section id=\"methods\">").unwrap();
    let page = visible_text(&html[..methods]);
    assert!(!page.contains("attrition") && !page.contains("not met"), "outcome words in the early review:\n{page}");
    // the dosage of rostered students is shown, not suppressed for want of counted students
    let dosage = visible_text(section(&html, "dosage"));
    assert!(dosage.contains("P3 | 158 | 13.0 / 15.0 / 17.0 | 15.0"), "{dosage}");
    let summary = visible_text(section(&html, "summary"));
    snapshot("midpoint_early_summary", &summary);
    snapshot("midpoint_early_section", &visible_text(section(&html, "midpoint")));
}

#[test]
fn a_settlement_says_payable_and_has_no_projected_columns() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("settle");
    let lines = summary_lines(&check(&out, None));
    assert!(!lines.contains("projected") && !lines.contains("Midpoint"), "{lines}");
    assert!(lines.contains("P1: ") && lines.contains("; payable ") && lines.contains("total payable "), "{lines}");
    let (h, _) = read_csv(&out.join("providers.csv"));
    assert_eq!(h[0], "provider");
    assert!(!h.iter().any(|x| x.contains("projected")), "{h:?}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // (the glossary appendix defines the midpoint review, "nothing is payable")
    let body = &html[..html.find("<section id=\"glossary\">").unwrap()];
    assert!(html.contains(": settlement report</title>") && !body.contains("nothing is payable"));
    assert!(!html.contains("<section id=\"midpoint\">"));
}
