//! What `obc check` on data-samples tells a reader about its warnings, attrition and caps,
//! and the shape of every CSV it writes (issue 19 items 5 and 7; README "Warnings",
//! "Settling a contract").

use std::path::Path;

use crate::common::{obc_ok, read_csv, s, samples, stderr};
use crate::report::{section, visible_text};

/// Runs `obc check` on data-samples into `out` (with `--as-of` when given); the console.
fn check(out: &Path, as_of: Option<&str>) -> String {
    let contract = samples().join("contract.toml");
    let mut args = vec!["check", s(&contract), "--out", s(out)];
    if let Some(d) = as_of {
        args.extend(["--as-of", d]);
    }
    stderr(&obc_ok(&args))
}

fn results(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

#[test]
fn warnings_come_last_grouped_by_code_with_their_consequence() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let console = check(&out, None);
    let lines: Vec<&str> = console.lines().collect();
    let at =
        |needle: &str| lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle}: {console}"));
    // results, then the accounting table, then the warnings
    let total = at("total payable ");
    let accounting = at("rows read");
    let warnings = at(" warning(s) in ");
    assert!(total < accounting && accounting < warnings, "{console}");
    assert!(lines[..warnings].iter().all(|l| !l.starts_with("warning")), "{console}");
    // one group per code: baseline equivalence for the six providers is one entry listing
    // each with its g from results.json
    let r = results(&out);
    let eq = r["settlement"]["fairness"]["equivalence"].as_array().unwrap();
    let expected: Vec<String> = eq
        .iter()
        .filter(|e| e["rating"] == "not satisfied")
        .map(|e| format!("{} (g = {:.2})", e["provider"].as_str().unwrap(), e["g"].as_f64().unwrap()))
        .collect();
    assert_eq!(expected.len(), 6);
    let heads: Vec<&&str> = lines.iter().filter(|l| l.starts_with("warning baseline_equivalence")).collect();
    assert_eq!(heads.len(), 1, "{console}");
    assert!(heads[0].starts_with("warning baseline_equivalence (6): does not affect any payment."), "{}", heads[0]);
    assert!(lines.contains(&format!("  - {}", expected.join(", ")).as_str()), "{console}");
    assert!(lines.iter().any(|l| l.starts_with("warning high_attrition (3): ")), "{console}");
    assert_eq!(lines.iter().filter(|l| l.starts_with("  what to do: ")).count(), 2, "{console}");
    // results.json keeps every warning, now with its subject
    let ws = r["manifest"]["warnings"].as_array().unwrap();
    assert_eq!(ws.len(), 9);
    assert!(ws.iter().all(|w| w["subject"].is_string() && w["message"].is_string()), "{ws:?}");
    // the report's section says the same
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let text = visible_text(section(&html, "warnings"));
    assert!(text.contains("9 warning(s) in 2 group(s); 0 group(s) may affect a payment"), "{text}");
    assert!(text.contains(&expected.join(", ")), "{text}");
    assert_eq!(text.matches("Does not affect any payment.").count(), 2, "{text}");
}

#[test]
fn attrition_of_a_provider_matches_a_count_by_hand_from_the_audit_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    check(&out, None);
    let (h, rows) = read_csv(&out.join("audit.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    let not_counted = |provider: &str| {
        let of: Vec<&Vec<String>> = rows.iter().filter(|r| r[at("provider_id")] == provider).collect();
        (of.iter().filter(|r| r[at("counted")] != "true").count(), of.len())
    };
    let (p1_out, p1_n) = not_counted("P1");
    let (c_out, c_n) = not_counted("");
    assert_eq!((p1_out, p1_n), (54, 222), "the issue's count for P1");
    let own = p1_out as f64 / p1_n as f64;
    let comparison = c_out as f64 / c_n as f64;
    let overall = (p1_out + c_out) as f64 / (p1_n + c_n) as f64;
    let r = results(&out);
    let a = &r["settlement"]["fairness"]["attrition"][0];
    assert_eq!(a["provider"], "P1");
    let close = |k: &str, v: f64| assert!((a[k].as_f64().unwrap() - v).abs() < 1e-12, "{k}: {} vs {v}", a[k]);
    close("tutored", own);
    close("comparison", comparison);
    close("overall", overall);
    close("differential", (own - comparison).abs());
    assert_eq!(
        (a["comparison_rostered"].as_u64(), a["comparison_counted"].as_u64()),
        (Some(c_n as u64), Some((c_n - c_out) as u64))
    );
    // the report shows the provider's own rate with its counts next to the pooled rate,
    // each defined
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let text = visible_text(section(&html, "fairness"));
    let row = format!(
        "P1 | 222 | 54 | 24.3% | {:.1}% ({c_out} of {c_n}) | {:.1}% | {:.1}",
        100.0 * comparison,
        100.0 * overall,
        100.0 * (own - comparison).abs()
    );
    assert!(text.contains(&row), "{row} not in {text}");
    for term in ["Provider's own rate:", "Comparison group's rate:", "Overall (pooled) rate:", "Differential:"] {
        assert!(text.contains(term), "{term}");
    }
    // and so does the warning
    let console = std::fs::read_to_string(out.join("results.json")).unwrap();
    assert!(console.contains("own 24.3% (54 of 222)"), "the warning names P1's own rate");
}

#[test]
fn a_binding_cap_is_flagged_in_the_console_csv_and_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let console = check(&out, None);
    let (h, rows) = read_csv(&out.join("providers.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap();
    for r in &rows {
        let before: f64 = r[at("before_cap")].parse().unwrap();
        let payable: f64 = r[at("payable")].parse().unwrap();
        let cut: f64 = r[at("cap_cut")].parse().unwrap();
        assert!((before - payable - cut).abs() < 1e-6, "{r:?}");
        assert_eq!(r[at("cap_binding")] == "true", r[0] == "P5", "{r:?}");
    }
    let p5 = rows.iter().find(|r| r[0] == "P5").unwrap();
    assert_eq!((p5[at("before_cap")].as_str(), p5[at("cap_cut")].as_str()), ("580420.0", "180420.0"));
    let line = console.lines().find(|l| l.starts_with("P5: ")).unwrap();
    assert!(line.ends_with("payable 400000.00 (cap binding: 580,420.00 cut to 400,000.00)"), "{line}");
    assert!(!console.lines().any(|l| l.starts_with("P1: ") && l.contains("cap binding")));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let text = visible_text(section(&html, "summary"));
    assert!(text.contains("| 400,000.00 (cap binding: 580,420.00 cut to 400,000.00)"), "{text}");
}

/// A snake_case identifier: lower-case letters, digits and single underscores.
fn snake_case(h: &str) -> bool {
    h.starts_with(|c: char| c.is_ascii_lowercase())
        && h.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !h.ends_with('_')
        && !h.contains("__")
}

#[test]
fn every_csv_check_writes_has_snake_case_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (settle, mid) = (dir.path().join("settle"), dir.path().join("mid"));
    check(&settle, None);
    check(&mid, Some("2026-02-15"));
    let mut seen = 0;
    for out in [&settle, &mid] {
        for e in std::fs::read_dir(out).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "csv") {
                let (h, _) = read_csv(&path);
                let bad: Vec<&String> = h.iter().filter(|x| !snake_case(x)).collect();
                assert!(bad.is_empty(), "{}: {bad:?}", path.display());
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 4 + 5, "providers, groups, audit, exceptions (+ dosage at the midpoint)");
    // each tier by position, with its name and value in their own columns
    let (h, rows) = read_csv(&settle.join("providers.csv"));
    let at = |k: &str| h.iter().position(|x| x == k).unwrap_or_else(|| panic!("{k} missing from {h:?}"));
    assert_eq!((rows[0][at("tier_1_name")].as_str(), rows[0][at("tier_1_value")].as_str()), ("tier 1", "0.5"));
    assert_eq!((rows[0][at("tier_2_name")].as_str(), rows[0][at("tier_2_value")].as_str()), ("tier 2", "0.6"));
    assert_eq!(rows[0][at("decision_tier_2")], "met");
    let (h, _) = read_csv(&mid.join("providers.csv"));
    assert!(
        h.iter().any(|x| x == "projected_decision_tier_1")
            && h.iter().any(|x| x == "projected_chance_of_meeting_tier_2")
    );
}

#[test]
fn the_report_ends_with_the_readme_glossary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    check(&out, None);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let glossary = section(&html, "glossary");
    assert!(
        html.rfind("<section id=").unwrap() == html.find("<section id=\"glossary\">").unwrap(),
        "the glossary is last"
    );
    for (term, _) in obc::report::glossary::GLOSSARY {
        assert!(glossary.contains(&format!("<dt><strong>{}</strong></dt>", obc::report::html::esc(term))), "{term}");
    }
}
