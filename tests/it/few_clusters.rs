//! Few clusters at settlement (issue 18, item 3): the bootstrap over a provider's few
//! schools is flagged, and `[inference] method = "cluster_t"` replaces it
//! (docs/methods.md 9.6, "Few clusters").

use serde_json::Value;

use crate::common::{copy_samples, obc_ok, s};

/// Settles data-samples with `[inference]` set to `inference`; returns results.json.
fn settle_with(inference: &str) -> Value {
    let dir = copy_samples();
    let path = dir.path().join("contract.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("[inference]").unwrap();
    let end = start + text[start..].find("\n\n").unwrap();
    let text = format!("{}[inference]\nreplicates = 2000\nseed = 20251\n{inference}{}", &text[..start], &text[end..]);
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    obc_ok(&["check", s(&path), "--out", s(&out)]);
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

fn few_cluster_warnings(r: &Value) -> Vec<String> {
    r["settlement"]["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["code"] == "few_clusters")
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect()
}

fn estimates(r: &Value) -> Vec<(String, Value)> {
    r["settlement"]["providers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["estimate"].is_null())
        .map(|p| (p["provider"].as_str().unwrap().to_string(), p["estimate"].clone()))
        .collect()
}

#[test]
fn a_school_bootstrap_over_few_schools_is_flagged_and_cluster_t_replaces_it() {
    let boot = settle_with("cluster = \"school\"\ninterval = \"percentile\"\n");
    let warned = few_cluster_warnings(&boot);
    let providers = estimates(&boot);
    assert!(!providers.is_empty());
    // every provider of the sample district works in fewer than 10 schools
    for (p, e) in &providers {
        let units = e["units"].as_u64().unwrap();
        assert!(units < 10, "{p}: {units} schools");
        assert!(warned.iter().any(|m| m.starts_with(&format!("{p}:")) && m.contains("cluster_t")), "{p}: {warned:?}");
    }
    // students as the unit: no warning
    assert!(few_cluster_warnings(&settle_with("cluster = \"student\"\n")).is_empty());

    let ct = settle_with("method = \"cluster_t\"\ncluster = \"school\"\n");
    assert!(few_cluster_warnings(&ct).is_empty(), "cluster_t is the alternative, not flagged");
    for ((p, b), (q, c)) in providers.iter().zip(estimates(&ct)) {
        assert_eq!(p, &q);
        assert_eq!(c["inference"], "cluster_t", "{p}: {c}");
        assert_eq!(b["point"], c["point"], "{p}: the same share, another interval");
        let df = c["robust"]["df"].as_f64().unwrap();
        let g = c["robust"]["treated_clusters"].as_u64().unwrap() as f64;
        assert!(df > 0.0 && df <= g - 1.0 + 1e-9, "{p}: df {df} with {g} schools");
        // the t interval with at most G − 1 df is wider than the bootstrap over G schools
        let width = |e: &Value| e["high"].as_f64().unwrap() - e["low"].as_f64().unwrap();
        assert!(width(&c) > width(b), "{p}: cluster_t {} vs bootstrap {}", width(&c), width(b));
    }
}
