//! The calibration evidence `obc baseline` quotes in its report (issue 20 item 4): how well
//! the OC curves' predicted pass rates matched the decisions `obc check` made in simulated
//! districts, per baseline population. The numbers are those of the calibration study
//! (`tests/it/calibration.rs`, docs/methods.md 10.5), which writes them to
//! `src/contract/calibration.json` when run with `OBC_CALIB_WRITE=1`; the file is compiled
//! in, so a report quotes exactly the study committed with the code.

use serde::{Deserialize, Serialize};

use super::terms::{Contract, DecisionRule, MetricKind, PopulationKind};

/// The calibration study's summary.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Simulated districts per population, their students and providers.
    pub districts: usize,
    pub students: usize,
    pub providers: usize,
    /// The study contract's metric, decision rule and level.
    pub metric: MetricKind,
    pub rule: DecisionRule,
    pub level: f64,
    pub populations: Vec<Calibrated>,
}

/// How one baseline population fared in the study.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibrated {
    pub population: PopulationKind,
    /// The simulated districts (`"default"`, or the `SimSpec` setting that differs).
    pub scenario: String,
    /// Provider-tier decisions set against predictions.
    pub decisions: usize,
    /// Mean observed pass rate minus mean predicted, over all decisions.
    pub mean_gap: f64,
    /// The largest |observed − mean predicted| over the bins of predicted P(met).
    pub max_bin_gap: f64,
    /// The largest |z| over the bins (gap over its binomial SE).
    pub max_abs_z: f64,
    /// Observed minus predicted for providers with a realised effect under 0.1 SD.
    pub near_null_gap: f64,
    /// Every bin within 2.5 SEs and the near-null gap within 0.04.
    pub calibrated: bool,
}

/// The committed study.
pub fn evidence() -> Evidence {
    serde_json::from_str(include_str!("calibration.json")).expect("src/contract/calibration.json is valid")
}

impl Evidence {
    /// One sentence with the study's numbers for the contract's population, or `None` when
    /// the study did not run that population. Says so when the contract's metric or rule
    /// differs from the study's.
    pub fn sentence(&self, contract: &Contract) -> Option<String> {
        let kind = contract.baseline.population_kind();
        self.sentence_for(kind, contract.metric.kind, contract.decision.rule)
    }

    /// [`Evidence::sentence`] for a population, metric and decision rule.
    pub fn sentence_for(&self, kind: PopulationKind, metric: MetricKind, rule: DecisionRule) -> Option<String> {
        let c = self.populations.iter().find(|c| c.population == kind && c.scenario == "default")?;
        let mut s = format!(
            "In {} simulated districts ({} students, {} providers each; docs/methods.md 10.5), with the {} population the pass rates these OC curves predict matched the decisions made at settlement: observed minus predicted was {} percentage points on average over {} provider-tier decisions, at most {:.1} points ({:.1} binomial SEs) in any band of predicted probability, and {} points for providers with no real effect.",
            self.districts,
            self.students,
            self.providers,
            population_name(kind),
            points(c.mean_gap),
            c.decisions,
            100.0 * c.max_bin_gap,
            c.max_abs_z,
            points(c.near_null_gap),
        );
        if metric != self.metric || rule != self.rule {
            s.push_str(" The study's contract used the share of students meeting the growth norm with a lower-bound rule; this contract's metric or rule differs, so the evidence is indirect.");
        }
        Some(s)
    }
}

/// A difference of shares in signed percentage points, one decimal, never "-0.0".
fn points(x: f64) -> String {
    let p = (1000.0 * x).round() / 10.0;
    if p == 0.0 { "0.0".into() } else { format!("{p:+.1}") }
}

/// A population as the contract writes it.
pub fn population_name(kind: PopulationKind) -> &'static str {
    match kind {
        PopulationKind::All => "all",
        PopulationKind::LikePre => "like_pre",
        PopulationKind::LikeServed => "like_served",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_study_parses_and_quotes_its_numbers() {
        let e = evidence();
        assert!(e.districts >= 100, "the issue asks for at least 100 districts");
        let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/contract.toml"));
        let contract = Contract::from_toml(text, "contract.toml").unwrap();
        let c = e.populations.iter().find(|c| c.population == PopulationKind::All && c.scenario == "default").unwrap();
        let s = e.sentence(&contract).unwrap();
        assert!(s.contains(&format!("{:.1} points", 100.0 * c.max_bin_gap)), "{s}");
        assert!(s.contains(&format!("In {} simulated districts", e.districts)), "{s}");
        assert!(!s.contains("indirect"), "the sample contract is the study's");
        let other = Contract::from_toml(&text.replace("rule = \"lower_bound\"", "rule = \"point\""), "c.toml").unwrap();
        assert!(e.sentence(&other).unwrap().contains("indirect"));
    }
}
