//! The baseline for the contract as written (issue 19): the OC grid holds exactly the
//! contract's tier values, each tier's chances are the grid's entries, and the reason for a
//! threshold at or below business as usual is given exactly when it is.

use crate::common::{copy_samples, obc_ok, read_csv, samples, stderr};
use serde_json::Value;

fn run_baseline(contract: &std::path::Path) -> (tempfile::TempDir, Value, String) {
    let out = tempfile::tempdir().unwrap();
    let o = obc_ok(&["baseline", contract.to_str().unwrap(), "--out", out.path().to_str().unwrap()]);
    let rec: Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("recommendation.json")).unwrap()).unwrap();
    (out, rec, stderr(&o))
}

#[test]
fn the_oc_grid_holds_the_tiers_and_the_lead_table_reads_from_it() {
    let (out, rec, console) = run_baseline(&samples().join("contract.toml"));
    let b = &rec["baseline"];
    let thresholds: Vec<f64> = b["thresholds"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    for tier in [0.5, 0.6] {
        assert_eq!(thresholds.iter().filter(|&&t| t == tier).count(), 1, "{thresholds:?}");
    }
    let tiers = b["tiers"].as_array().unwrap();
    assert_eq!(tiers.len(), 2);
    let cells = b["cells"].as_array().unwrap();
    let (head, rows) = read_csv(&out.path().join("oc.csv"));
    assert_eq!(head, ["effect_sd", "provider_size", "threshold", "tier", "tier_name", "p_met", "mc_se"]);
    for (i, t) in tiers.iter().enumerate() {
        assert_eq!(t["tier"], i + 1);
        let value = t["threshold"].as_f64().unwrap();
        let chances = t["chances"].as_array().unwrap();
        // 5 effects x 5 sizes, each equal to the OC cell at the tier's value
        assert_eq!(chances.len(), 25);
        for c in chances {
            let cell = cells
                .iter()
                .find(|x| x["threshold"] == value && x["effect"] == c["effect"] && x["n"] == c["provider_size"])
                .expect("a cell for every chance");
            assert_eq!(cell["p_met"], c["p_earn"]);
        }
        let csv_rows: Vec<&Vec<String>> = rows.iter().filter(|r| r[3] == (i + 1).to_string()).collect();
        assert_eq!(csv_rows.len(), 25);
        assert!(csv_rows.iter().all(|r| r[4] == format!("tier {}", i + 1) && r[2].parse::<f64>().unwrap() == value));
        // the console's lead sentence quotes the grid at 100 students, no effect and 0.2 SD
        let at = |d: f64| {
            let c = chances.iter().find(|c| c["effect"] == d && c["provider_size"] == 100).unwrap();
            format!("{:.1}%", 100.0 * c["p_earn"].as_f64().unwrap())
        };
        let sentence = format!(
            "A provider of 100 students with no effect earns tier {} ({value:.2}) {} of the time; with a typical tutoring effect at scale (0.2 SD), {}.",
            i + 1,
            at(0.0),
            at(0.2)
        );
        assert!(console.contains(&sentence), "{sentence}\n{console}");
    }
    assert!(rows.iter().filter(|r| r[3].is_empty()).all(|r| r[4].is_empty()));
    let report = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(report.contains("Chance of earning tier 1 (threshold 0.50)"), "no lead table in the report");
    assert!(
        report.find("Chance of earning each tier").unwrap() < report.find("Summary: recommended threshold").unwrap()
    );
    assert!(!console.contains(" 0.0 times"), "{console}");
}

#[test]
fn a_threshold_at_or_below_business_as_usual_is_explained_and_only_then() {
    let (out, rec, console) = run_baseline(&samples().join("contract.toml"));
    let b = &rec["baseline"];
    let bau = b["business_as_usual"]["point"].as_f64().unwrap();
    let t = b["recommendation"]["threshold"].as_f64().unwrap();
    assert!(t <= bau, "data-samples recommends {t} at or below {bau}");
    let note = b["threshold_note"].as_str().expect("a note");
    assert!(note.contains("lower end of the 90% interval") && note.contains("1.64 standard errors"), "{note}");
    assert!(console.contains(note));
    let report = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(report.contains("is at or below business as usual"));

    // with the point rule (k = 0) the recommended threshold sits above business as usual
    let dir = copy_samples();
    let path = dir.path().join("contract.toml");
    let text = std::fs::read_to_string(&path).unwrap().replace("rule = \"lower_bound\"", "rule = \"point\"");
    std::fs::write(&path, text).unwrap();
    let (out, rec, console) = run_baseline(&path);
    let b = &rec["baseline"];
    assert!(b["recommendation"]["threshold"].as_f64().unwrap() > b["business_as_usual"]["point"].as_f64().unwrap());
    assert!(b.get("threshold_note").is_none(), "{b}");
    assert!(!console.contains("at or below business as usual"));
    let report = std::fs::read_to_string(out.path().join("report.html")).unwrap();
    assert!(!report.contains("is at or below business as usual"));
}
