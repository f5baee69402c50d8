//! The vendor's own growth measures as outcomes (README "Vendor growth measures"): the MAP
//! district of data-samples/nwea settled on the vendor's CGP, the agreement of obc's CGP/CGI
//! with the vendor's checked against values computed here from the MAP file, and contracts
//! on an unknown or absent measure refused (exit 2, naming `outcome.measure`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::{manifest, obc, obc_ok, read_csv, repo, s, stderr};

/// A copy of data-samples/nwea with `[outcome]` replaced by `outcome` (TOML lines) and
/// `min_cell` set (rare group values combined, so that a larger one is accepted).
fn nwea_district(outcome: &str, min_cell: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(repo().join("data-samples/nwea")).unwrap() {
        let p = e.unwrap().path();
        if p.is_file() {
            std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    let path = dir.path().join("contract.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let old = "[outcome]\nkind = \"growth_vs_norm\"\n";
    assert!(text.contains(old) && text.contains("min_cell = 10"));
    let text = text
        .replace(old, &format!("[outcome]\n{outcome}\n"))
        .replace("min_cell = 10", &format!("min_cell = {min_cell}\nrare_values = \"combine\""));
    std::fs::write(&path, text).unwrap();
    dir
}

fn rows_of(path: &Path) -> Vec<BTreeMap<String, String>> {
    let (h, rows) = read_csv(path);
    rows.into_iter().map(|r| h.iter().cloned().zip(r).collect()).collect()
}

/// The vendor's fall-to-spring measure `column` (e.g. `ConditionalGrowthPercentile`) of
/// each student, computed from the MAP file: of the spring row the settlement used, or
/// when that row has none, of the fall row it used (the rows not in exceptions.csv are
/// the ones used).
fn vendor_values(dir: &Path, out: &Path, column: &str) -> BTreeMap<String, f64> {
    let excepted: BTreeSet<u64> = rows_of(&out.join("exceptions.csv"))
        .into_iter()
        .filter(|e| e["file"] == "AssessmentResults.csv")
        .map(|e| e["row"].parse().unwrap())
        .collect();
    let mut by_student: BTreeMap<String, (Option<String>, Option<String>)> = BTreeMap::new();
    for (i, r) in rows_of(&dir.join("AssessmentResults.csv")).into_iter().enumerate() {
        if excepted.contains(&(i as u64 + 2)) {
            continue;
        }
        let v = r[&format!("FallToSpring{column}")].clone();
        let e = by_student.entry(r["StudentID"].clone()).or_default();
        if r["TermName"].starts_with("Spring") {
            assert!(e.1.is_none(), "one used spring row per student");
            e.1 = Some(v);
        } else if r["TermName"].starts_with("Fall") {
            assert!(e.0.is_none(), "one used fall row per student");
            e.0 = Some(v);
        }
    }
    let number = |v: &Option<String>| match v.as_deref() {
        Some("Yes") => Some(1.0),
        Some("No") => Some(0.0),
        Some(t) => t.parse::<f64>().ok(),
        None => None,
    };
    by_student
        .into_iter()
        .filter(|(_, (_, post))| post.is_some())
        .filter_map(|(id, (pre, post))| Some((id, number(&post).or_else(|| number(&pre))?)))
        .collect()
}

#[test]
fn the_map_district_settles_on_the_vendors_cgp() {
    let dir = nwea_district("kind = \"vendor\"\nmeasure = \"conditional_growth_percentile\"\nat_least = 60", 10);
    let out = dir.path().join("out");
    obc_ok(&["check", s(&dir.path().join("contract.toml")), "--out", s(&out)]);
    let cgp = vendor_values(dir.path(), &out, "ConditionalGrowthPercentile");
    let audit = rows_of(&out.join("audit.csv"));
    // by provider: (counted, met, not counted for want of the vendor's value), by hand
    let mut expect: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for a in audit.iter().filter(|a| !a["provider_id"].is_empty()) {
        let analysed = a["counted"] == "true" || a["reason_not_counted"].starts_with("no vendor value");
        if !analysed {
            continue;
        }
        let e = expect.entry(a["provider_id"].clone()).or_default();
        match cgp.get(&a["student_id"]) {
            Some(&v) => {
                e.0 += 1;
                e.1 += u64::from(v >= 60.0);
                assert_eq!(a["met_outcome"], (v >= 60.0).to_string(), "{a:?}");
            }
            None => {
                e.2 += 1;
                assert_eq!(a["counted"], "false", "{a:?}");
            }
        }
    }
    let providers = rows_of(&out.join("providers.csv"));
    assert_eq!(providers.len(), expect.len());
    for p in &providers {
        let (counted, met, none) = expect[&p["provider"]];
        assert!(counted >= 10, "every provider has enough students for its numbers to show");
        assert_eq!(p["counted"], counted.to_string(), "{p:?}");
        assert_eq!(p["met_outcome"], met.to_string(), "{p:?}");
        assert_eq!(p["excluded_no_norm"], none.to_string(), "{p:?}");
    }
    assert!(expect.values().any(|e| e.1 > 0 && e.1 < e.0), "some meet the outcome and some do not");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["outcome"], "the vendor's conditional growth percentile (CGP) at least 60");
}

#[test]
fn obc_and_vendor_cgp_agreement_matches_an_independent_computation() {
    let dir = nwea_district("kind = \"growth_vs_norm\"", 30);
    let out = dir.path().join("out");
    obc_ok(&["check", s(&dir.path().join("contract.toml")), "--out", s(&out)]);
    let vendor_cgp = vendor_values(dir.path(), &out, "ConditionalGrowthPercentile");
    let vendor_cgi = vendor_values(dir.path(), &out, "ConditionalGrowthIndex");
    let vendor_met = vendor_values(dir.path(), &out, "MetProjectedGrowth");
    // (provider, measure) -> pairs (obc, vendor) of the counted students with both values
    let mut pairs: BTreeMap<(String, &str), Vec<(f64, f64)>> = BTreeMap::new();
    for a in rows_of(&out.join("audit.csv")).iter().filter(|a| a["counted"] == "true") {
        let provider = if a["provider_id"].is_empty() { "comparison".to_string() } else { a["provider_id"].clone() };
        let own_met = a["growth"].parse::<f64>().unwrap() >= a["expected_growth"].parse::<f64>().unwrap();
        for (measure, own, vendor) in [
            ("conditional_growth_percentile", a["cgp"].parse::<f64>().ok(), vendor_cgp.get(&a["student_id"])),
            ("conditional_growth_index", a["cgi"].parse::<f64>().ok(), vendor_cgi.get(&a["student_id"])),
            ("met_projected_growth", Some(f64::from(u8::from(own_met))), vendor_met.get(&a["student_id"])),
        ] {
            if let (Some(o), Some(&v)) = (own, vendor) {
                pairs.entry((provider.clone(), measure)).or_default().push((o, v));
                pairs.entry(("all".to_string(), measure)).or_default().push((o, v));
            }
        }
    }
    let table = rows_of(&out.join("vendor_agreement.csv"));
    assert_eq!(table.len(), pairs.len(), "one row per provider, comparison and all, per measure");
    let mut suppressed = 0;
    for r in &table {
        let p = &pairs[&(r["provider"].clone(), r["measure"].as_str())];
        let n = p.len() as f64;
        if p.len() < 30 {
            suppressed += 1;
            for c in ["n", "correlation", "mean_difference_obc_minus_vendor", "disagree_share"] {
                assert_eq!(r[c], "", "{c} of a cell under min_cell: {r:?}");
            }
            continue;
        }
        assert_eq!(r["n"], p.len().to_string());
        let (mx, my) = (p.iter().map(|x| x.0).sum::<f64>() / n, p.iter().map(|x| x.1).sum::<f64>() / n);
        let cov: f64 = p.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
        let (vx, vy): (f64, f64) =
            (p.iter().map(|(x, _)| (x - mx).powi(2)).sum(), p.iter().map(|(_, y)| (y - my).powi(2)).sum());
        let close = |col: &str, want: f64| {
            let got: f64 = r[col].parse().unwrap();
            assert!((got - want).abs() < 1e-9, "{col} {got} against {want}: {r:?}");
        };
        close("correlation", cov / (vx * vy).sqrt());
        close("mean_difference_obc_minus_vendor", mx - my);
        // the contract's outcome is growth_vs_norm: CGP at 50, CGI at 0, the flags as they are
        let at = match r["measure"].as_str() {
            "conditional_growth_percentile" => 50.0,
            "conditional_growth_index" => 0.0,
            _ => 1.0,
        };
        let differ = p.iter().filter(|(x, y)| (*x >= at) != (*y >= at)).count() as f64;
        close("disagree_share", differ / n);
    }
    assert!(suppressed > 0 && suppressed < table.len(), "min_cell = 30 withholds some providers and not all");
    // a public output, registered in the manifest and free of student IDs
    let m = manifest(&out);
    let entry = m["outputs"].as_array().unwrap().iter().find(|o| o["file"] == "vendor_agreement.csv");
    assert!(entry.is_some_and(|e| e["restricted"] == false), "{m}");
    let text = std::fs::read_to_string(out.join("vendor_agreement.csv")).unwrap();
    for id in vendor_cgp.keys() {
        assert!(!text.contains(&format!(",{id},")) && !text.starts_with(id.as_str()), "student {id} in the table");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Vendor measures against local norms"));
}

#[test]
fn a_vendor_outcome_on_an_unknown_or_absent_measure_is_refused() {
    let refused = |dir: &Path, contract: &str| {
        let o = obc(&["check", s(&dir.join(contract)), "--out", s(&dir.join("out"))]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("outcome.measure"), "{e}");
        e
    };
    let dir = nwea_district("kind = \"vendor\"\nmeasure = \"lexile\"\nat_least = 60", 10);
    let e = refused(dir.path(), "contract.toml");
    assert!(e.contains("\"lexile\"") && e.contains("conditional_growth_percentile"), "{e}");
    let dir = nwea_district("kind = \"vendor\"\nat_least = 60", 10);
    refused(dir.path(), "contract.toml");
    // MAP gives no i-Ready measure: refused, not settled as nobody meeting it
    let dir = nwea_district("kind = \"vendor\"\nmeasure = \"stretch_growth\"\nat_least = 10", 10);
    let e = refused(dir.path(), "contract.toml");
    assert!(e.contains("annual_stretch_growth_measure"), "{e}");
    assert!(!dir.path().join("out/results.json").exists());
    // the canonical district has no vendor columns at all
    let canonical = crate::common::copy_samples();
    let path = canonical.path().join("contract.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[outcome]\nkind = \"growth_vs_norm\"\n",
        "[outcome]\nkind = \"vendor\"\nmeasure = \"conditional_growth_percentile\"\nat_least = 60\n",
    );
    std::fs::write(&path, text).unwrap();
    let e = refused(canonical.path(), "contract.toml");
    assert!(e.contains("fall_to_spring_conditional_growth_percentile"), "{e}");
    // met projected growth takes no threshold
    let dir = nwea_district("kind = \"vendor\"\nmeasure = \"met_projected_growth\"\nat_least = 1", 10);
    let o = obc(&["check", s(&dir.path().join("contract.toml")), "--out", s(&dir.path().join("out"))]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("outcome.at_least"), "{}", stderr(&o));
}

/// The percent progress the test below writes for a student (`None`: left empty).
fn progress(id: &str) -> Option<u64> {
    let n: u64 = id.parse().unwrap();
    (!n.is_multiple_of(9)).then_some(n % 150)
}

#[test]
fn a_canonical_file_with_i_readys_columns_settles_on_percent_progress() {
    let dir = crate::common::copy_samples();
    let d = dir.path();
    // i-Ready's annual measure on every spring test (any capitals), and on fall tests a
    // value that must not be read: on the pre-test's row it is the progress as of fall
    let (mut h, mut rows) = read_csv(&d.join("assessments.csv"));
    let (id, window) =
        (h.iter().position(|c| c == "student_id").unwrap(), h.iter().position(|c| c == "window").unwrap());
    h.push("Percent_Progress_To_Annual_Typical_Growth".into());
    for r in &mut rows {
        let v = match r[window].as_str() {
            "spring" => progress(&r[id]).map_or(String::new(), |p| p.to_string()),
            "fall" => "999".into(),
            _ => String::new(),
        };
        r.push(v);
    }
    let mut w = csv::Writer::from_path(d.join("assessments.csv")).unwrap();
    w.write_record(&h).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
    let path = d.join("contract.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "[outcome]\nkind = \"growth_vs_norm\"\n",
        "[outcome]\nkind = \"vendor\"\nmeasure = \"percent_progress_typical\"\nat_least = 100\n",
    );
    std::fs::write(&path, text).unwrap();
    let out = d.join("out");
    obc_ok(&["check", s(&path), "--out", s(&out)]);
    let (mut counted, mut met, mut without) = (0, 0, 0);
    for a in rows_of(&out.join("audit.csv")) {
        let analysed = a["counted"] == "true" || a["reason_not_counted"].starts_with("no vendor value");
        if !analysed {
            continue;
        }
        match progress(&a["student_id"]) {
            Some(p) => {
                counted += 1;
                met += u64::from(p >= 100);
                assert_eq!(a["met_outcome"], (p >= 100).to_string(), "{a:?}");
            }
            None => {
                without += 1;
                assert_eq!(a["counted"], "false", "{a:?}");
            }
        }
    }
    assert!(counted > 100 && met > 0 && met < counted && without > 0, "{counted} {met} {without}");
    let providers = rows_of(&out.join("providers.csv"));
    let sum = |c: &str| providers.iter().map(|p| p[c].parse::<u64>().unwrap_or(0)).sum::<u64>();
    let comparison_met: u64 = rows_of(&out.join("audit.csv"))
        .iter()
        .filter(|a| a["provider_id"].is_empty() && a["met_outcome"] == "true")
        .count() as u64;
    assert_eq!(sum("met_outcome") + comparison_met, met, "the providers' met counts and the comparison's");
    assert!(!out.join("vendor_agreement.csv").exists(), "obc computes no percent progress to compare with");
    // the analytic file carries the measure at its end
    let prepared = d.join("prepared");
    obc_ok(&["prepare", s(&path), "--out", s(&prepared)]);
    let analytic = rows_of(&prepared.join("analytic.csv"));
    assert!(analytic.iter().any(|r| !r["vendor_percent_progress_typical"].is_empty()));
    for r in analytic.iter().filter(|r| !r["post_score"].is_empty()) {
        let want = progress(&r["student_id"]).map_or(String::new(), |p| format!("{p}.0"));
        assert_eq!(r["vendor_percent_progress_typical"], want, "{r:?}");
    }
}
