//! Decisions per tier from the estimate, its interval and its replicates (`point`,
//! `lower_bound`, `probability`), and the tier reached.

#[allow(unused_imports)]
use super::*;
pub use crate::contract::results::TierDecision;

/// Decision on one tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not met",
            Verdict::Inconclusive => "inconclusive",
        }
    }

    /// The verdict written in words ([`Verdict::as_str`]).
    pub fn from_words(text: &str) -> Option<Verdict> {
        [Verdict::Met, Verdict::NotMet, Verdict::Inconclusive].into_iter().find(|v| v.as_str() == text)
    }
}

/// Decides one tier from the estimate, interval and replicates.
pub fn decide(rule: DecisionRule, level: f64, estimate: f64, low: f64, high: f64, p_at_least: f64, t: f64) -> Verdict {
    match rule {
        DecisionRule::Point => {
            if estimate >= t {
                Verdict::Met
            } else {
                Verdict::NotMet
            }
        }
        DecisionRule::LowerBound => {
            if low >= t {
                Verdict::Met
            } else if high < t {
                Verdict::NotMet
            } else {
                Verdict::Inconclusive
            }
        }
        DecisionRule::Probability => {
            if p_at_least >= level {
                Verdict::Met
            } else if p_at_least <= 1.0 - level {
                Verdict::NotMet
            } else {
                Verdict::Inconclusive
            }
        }
    }
}

/// The tiers and the highest tier reached (every tier up to it met).
pub fn decide_tiers(
    thresholds: &[Threshold],
    rule: DecisionRule,
    level: f64,
    est: &Estimate,
) -> (Vec<TierDecision>, Option<usize>) {
    let mut out = Vec::new();
    let mut reached = None;
    let mut chain = true;
    for (i, t) in thresholds.iter().enumerate() {
        let p = est.p_at_least(t.value);
        let (low, high) = (est.low.unwrap_or(f64::NEG_INFINITY), est.high.unwrap_or(f64::INFINITY));
        let verdict = decide(rule, level, est.point, low, high, p, t.value);
        let name = if t.name.is_empty() { format!("tier {}", i + 1) } else { t.name.clone() };
        chain = chain && verdict == Verdict::Met;
        if chain {
            reached = Some(i);
        }
        out.push(TierDecision {
            name,
            threshold: t.value,
            verdict,
            p_at_least: Some(p),
            straddles: low <= t.value && t.value <= high,
        });
    }
    (out, reached)
}

pub(super) fn tier_name(t: &[Threshold], i: usize) -> String {
    if t[i].name.is_empty() { format!("tier {}", i + 1) } else { t[i].name.clone() }
}

/// Every tier not met: a provider without an estimate earns no tier.
pub(super) fn undecided_tiers(thresholds: &[Threshold]) -> Vec<TierDecision> {
    thresholds
        .iter()
        .enumerate()
        .map(|(i, t)| TierDecision {
            name: tier_name(thresholds, i),
            threshold: t.value,
            verdict: Verdict::NotMet,
            p_at_least: None,
            straddles: false,
        })
        .collect()
}
