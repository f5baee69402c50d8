//! The contract's decision for a provider with no effect, by `[inference] method` (issue:
//! honest intervals when clusters are few, item 4). Slow, so ignored by default; run with
//!
//! ```sh
//! OBC_DECISION_REPS=80 cargo test --test it coverage_decision -- --ignored --nocapture
//! ```
//!
//! Each replication simulates a district (`obc simulate` model, 3,000 students, 6 providers
//! with no effect, seed 20,000 + r; 12 schools, each served by one or two providers, so a
//! provider works in a few schools), settles it once with metric `effect_size`, then
//! settles the same students again with one tier at threshold 0, rule `lower_bound` at level
//! 0.90, clusters = schools, for each metric (`effect_size`, `mean_growth_vs_comparison`)
//! and method: the school bootstrap, CR2 with Satterthwaite df, and the wild cluster
//! restricted bootstrap with Rademacher and with Webb weights. A no-effect provider that
//! meets the tier is a false pass; a 90% two-sided interval passes one with probability 5%
//! when it covers as it says. The table (pass rate with its Monte Carlo SE, the mean
//! estimate, the mean Satterthwaite df) is printed and written to docs/methods.md 9.6 by hand
//! (80 districts: about 20 minutes in debug). The assertion is the issue's target for the
//! cluster-robust methods: a pass rate of at most 5% plus 2 Monte Carlo SEs of a 5% rate.

use std::collections::{BTreeMap, BTreeSet};

use obc::contract::settle::{self, NoDrift, Verdict};
use obc::contract::terms::{ClusterLevel, Contract, InferenceMethod, MetricKind, Threshold};
use obc::simulate::{self, SimSpec};
use obc::stats::wild::Weights;

use crate::common::{obc_ok, read_csv, s};

/// One row of the study: a metric and an inference method.
#[derive(Clone, Copy)]
struct Arm {
    metric: MetricKind,
    method: InferenceMethod,
    weights: Weights,
}

impl Arm {
    fn label(&self) -> String {
        let w = match (self.method, self.weights) {
            (InferenceMethod::WildCluster, Weights::Webb) => " webb",
            (InferenceMethod::WildCluster, _) => " rademacher",
            _ => "",
        };
        format!("{} | {}{w}", self.metric.as_str(), self.method.as_str())
    }

    fn contract(&self, base: &Contract) -> Contract {
        let mut c = base.clone();
        c.metric.kind = self.metric;
        c.thresholds = vec![Threshold { name: "no effect".into(), value: 0.0, pool_share: Some(1.0) }];
        c.inference.method = self.method;
        c.inference.weights = self.weights;
        c.inference.cluster = ClusterLevel::School;
        c
    }
}

/// Passes, estimates and df of one arm over the replications.
#[derive(Default)]
struct Tally {
    passes: usize,
    decided: usize,
    estimates: Vec<f64>,
    df: Vec<f64>,
    no_interval: usize,
}

#[test]
#[ignore = "simulation study: about 20 minutes in debug at 80 districts; run explicitly"]
fn coverage_decision() {
    let reps: u64 = std::env::var("OBC_DECISION_REPS").ok().and_then(|v| v.parse().ok()).unwrap_or(80);
    let mut arms = Vec::new();
    for metric in [MetricKind::EffectSize, MetricKind::MeanGrowthVsComparison] {
        for (method, weights) in [
            (InferenceMethod::Bootstrap, Weights::Rademacher),
            (InferenceMethod::Cr2, Weights::Rademacher),
            (InferenceMethod::WildCluster, Weights::Rademacher),
            (InferenceMethod::WildCluster, Weights::Webb),
        ] {
            arms.push(Arm { metric, method, weights });
        }
    }
    let mut tallies: Vec<Tally> = arms.iter().map(|_| Tally::default()).collect();
    let mut schools_per_provider: BTreeMap<usize, usize> = BTreeMap::new();
    for r in 0..reps {
        let dir = tempfile::tempdir().unwrap();
        let spec = SimSpec {
            students: 3000,
            providers: 6,
            seed: 20_000 + r,
            provider_effects: Some(vec![0.0; 6]),
            ..SimSpec::default()
        };
        let district = simulate::generate(&spec).unwrap();
        simulate::write(&district, dir.path()).unwrap();
        simulate::write_contract(&spec, dir.path()).unwrap();
        let (mut base, folder) = obc::cli::read_contract(&dir.path().join("contract.toml")).unwrap();
        base.metric.kind = MetricKind::EffectSize;
        // the outcome only decides who counts; one history year has ~400 students a grade
        base.norms.min_n = Some(300);
        let settled = obc::settle(&base, &folder, &Default::default()).unwrap();
        let students = &settled.students;
        let mut schools: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for s in students.iter().filter(|s| s.analysed) {
            if let Some(p) = &s.provider {
                schools.entry(p).or_default().insert(&s.school);
            }
        }
        for set in schools.values() {
            *schools_per_provider.entry(set.len()).or_default() += 1;
        }
        for (arm, tally) in arms.iter().zip(&mut tallies) {
            let contract = arm.contract(&base);
            let s = settle::settle(&contract, students, Err(NoDrift::RelativeMetric));
            for p in &s.providers {
                let Some(e) = &p.estimate else { continue };
                tally.decided += 1;
                tally.passes += usize::from(p.tiers[0].verdict == Verdict::Met);
                tally.estimates.push(e.point);
                tally.df.extend(e.robust.as_ref().and_then(|t| t.df));
                tally.no_interval += usize::from(e.low.is_none());
            }
        }
        eprintln!("district {r} done");
    }
    println!("\nschools per provider (provider-districts): {schools_per_provider:?}");
    println!("\n| metric | method | providers | pass rate | MC SE | mean estimate | mean df | no lower end |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut failed = Vec::new();
    for (arm, t) in arms.iter().zip(&tallies) {
        let n = t.decided as f64;
        let rate = t.passes as f64 / n;
        let mc = (rate * (1.0 - rate) / n).sqrt();
        let mean = t.estimates.iter().sum::<f64>() / n;
        let df =
            if t.df.is_empty() { "".into() } else { format!("{:.1}", t.df.iter().sum::<f64>() / t.df.len() as f64) };
        println!(
            "| {} | {} | {:.3} | {:.3} | {:.4} | {df} | {} |",
            arm.label(),
            t.decided,
            rate,
            mc,
            mean,
            t.no_interval
        );
        // the target's MC error is that of a 5% rate (a rate of 0 has no spread of its own)
        if arm.method != InferenceMethod::Bootstrap && rate > 0.05 + 2.0 * (0.05 * 0.95 / n).sqrt() {
            failed.push(arm.label());
        }
    }
    assert!(failed.is_empty(), "pass rate above 5% + 2 MC SE: {failed:?}");
}

/// `obc check` on a simulated district with metric `effect_size` and `[inference] method =
/// "cr2"` (tutor clusters): every provider's estimate records the method, its CR2 test
/// (df, clusters) and a t interval around the estimate; `providers.csv` and the report name
/// the method; the lower-bound decision reads that interval.
#[test]
fn check_settles_the_effect_size_with_cr2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    obc_ok(&["simulate", "--students", "1200", "--history-years", "3", "--seed", "5", "--out", s(d)]);
    let path = d.join("contract.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace("kind = \"share_meeting\"", "kind = \"effect_size\"")
        .replace("value = 0.50", "value = 0.0")
        .replace("cluster = \"student\"", "cluster = \"tutor\"\nmethod = \"cr2\"");
    assert!(text.contains("method = \"cr2\"") && text.contains("\"effect_size\""));
    std::fs::write(&path, text).unwrap();
    let out = d.join("out");
    obc_ok(&["check", s(&path), "--out", s(&out)]);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let providers = results["settlement"]["providers"].as_array().or_else(|| results["providers"].as_array()).unwrap();
    let mut seen = 0;
    for p in providers {
        let e = &p["estimate"];
        if e.is_null() {
            continue;
        }
        seen += 1;
        assert_eq!(e["inference"], "cr2", "{e}");
        let t = &e["robust"];
        let (df, se) = (t["df"].as_f64().unwrap(), t["se"].as_f64().unwrap());
        let (clusters, treated) = (t["clusters"].as_u64().unwrap(), t["treated_clusters"].as_u64().unwrap());
        assert!(df > 0.0 && se > 0.0 && treated >= 1 && treated < clusters, "{t}");
        let (point, low, high) =
            (e["point"].as_f64().unwrap(), e["low"].as_f64().unwrap(), e["high"].as_f64().unwrap());
        assert!(low < point && point < high, "{e}");
        // a t interval: symmetric about the estimate, wider than the normal one
        assert!(((high - point) - (point - low)).abs() < 1e-9 * (high - low), "{e}");
        assert!((high - low) / 2.0 > 1.6448 * se, "{e}");
        let tier = &p["tiers"][0];
        let met = tier["verdict"] == "met";
        assert_eq!(met, low >= 0.0, "{tier} {e}");
    }
    assert!(seen >= 2, "{results}");
    let (head, rows) = read_csv(&out.join("providers.csv"));
    let k = head.iter().position(|h| h == "interval").unwrap();
    let m = head.iter().position(|h| h == "metric").unwrap();
    assert!(rows.iter().filter(|r| !r[m].is_empty()).all(|r| r[k] == "cr2"), "{rows:?}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("CR2") && html.contains("Satterthwaite"));
}
