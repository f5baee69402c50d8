//! Target setting before signing (`obc baseline`): from the history cohort (students like
//! the target group, before tutoring), the business-as-usual level of the contract metric,
//! operating-characteristic (OC) curves, a recommended threshold, the minimum provider size,
//! and a comparison of targets with published effects.
//!
//! ## Model
//! - **Population.** History students with a pre- and post-test who can be scored against the
//!   norms; with `baseline.max_pre_percentile = p`, only those whose pre-test is at or below
//!   the p-th percentile (type 7) of their grade's history pre-tests (the like-performing
//!   group).
//! - **Effect d.** A provider with true effect d raises each student's post-test by d times
//!   the within-grade SD of the post-test over *all* history students of the grade (the
//!   test's population SD, so d is on the scale of published effect sizes). Each student's
//!   outcome and metric value are recomputed from the shifted post-test (norms held fixed):
//!   the 0/1 outcome for `share_meeting`, the CGI for `mean_cgi`, the SGP for `median_sgp`,
//!   and for `effect_size` the residual of the history regression (post on a per-grade
//!   quadratic in the standardised pre-test, as in settlement) plus the shift, divided by
//!   the pooled within-grade SD.
//! - **OC curves** ([`super::oc`]): P(metric meets t | d, n) by resampling n students with
//!   replacement, with the decision rule as S = estimate − k·SE ≥ t: k = 0 for `point`,
//!   z at (1 + level)/2 for `lower_bound` (the lower end of the two-sided interval at the
//!   contract's level) and z at level for `probability` (a normal approximation of the
//!   bootstrap rule used at settlement).
//! - **Business as usual**: the metric over the whole population at d = 0, with a student
//!   bootstrap interval (the contract's interval method, level, replicates and seed).
//! - **SD equivalent of a threshold**: the d at which the population's metric equals the
//!   threshold (linear interpolation on a grid of d in steps of 0.02 up to 1.5), compared
//!   with published effects and annual growth ([`super::benchmarks`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::benchmarks::{self, Comparison};
use super::oc::{self, OcCell, OcSpec, Recommendation, Statistic};
use super::settle::{self, Estimate, NoOutcome, NormScore, Student};
use super::terms::{Contract, DecisionRule, MetricKind};
use crate::stats::normal::qnorm;
use crate::stats::spline::quantile_type7;

/// Who the baseline is computed on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Population {
    pub history_students: usize,
    pub target_students: usize,
    /// Target students whose outcome could not be computed (listed reasons, counts).
    pub unscored: BTreeMap<String, usize>,
    pub max_pre_percentile: Option<f64>,
    /// Within-grade SD of the post-test (all history students): the unit of d.
    pub sd_post_by_grade: BTreeMap<i32, f64>,
}

/// A threshold in SD units with its comparison to published effects.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Target {
    pub label: String,
    pub threshold: f64,
    /// The effect d at which the population's metric reaches the threshold (`None` when it
    /// is not reached by d = 1.5, or the threshold is at or below business as usual).
    pub sd_equivalent: Option<f64>,
    pub comparison: Option<Comparison>,
}

/// Everything `obc baseline` reports.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Baseline {
    pub population: Population,
    pub statistic: Statistic,
    pub k: f64,
    pub business_as_usual: Estimate,
    /// The population's metric at each d of the fine grid (d, metric).
    pub metric_by_effect: Vec<(f64, f64)>,
    pub thresholds: Vec<f64>,
    pub cells: Vec<OcCell>,
    pub recommendation: Recommendation,
    pub targets: Vec<Target>,
    pub warnings: Vec<String>,
}

/// The decision statistic's multiplier k for the contract's rule.
pub fn decision_k(rule: DecisionRule, level: f64) -> f64 {
    match rule {
        DecisionRule::Point => 0.0,
        DecisionRule::LowerBound => qnorm((1.0 + level) / 2.0),
        DecisionRule::Probability => qnorm(level),
    }
}

fn statistic(kind: MetricKind) -> Statistic {
    match kind {
        MetricKind::ShareMeeting => Statistic::Share,
        MetricKind::MeanCgi | MetricKind::EffectSize => Statistic::Mean,
        MetricKind::MedianSgp => Statistic::Median,
    }
}

fn summary(stat: Statistic, v: &[f64]) -> f64 {
    match stat {
        Statistic::Median => {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            let n = s.len();
            if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
        }
        _ => v.iter().sum::<f64>() / v.len() as f64,
    }
}

/// Runs the baseline. `history` holds every history student (provider `None`, analysed,
/// scored); `rescore(student, shifted_post)` re-scores a student against the norms.
pub fn run<F>(contract: &Contract, history: &[Student], rescore: F, weeks: f64) -> Result<Baseline, String>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    let b = &contract.baseline;
    let kind = contract.metric.kind;
    let stat = statistic(kind);
    let mut warnings = Vec::new();
    if history.is_empty() {
        return Err("the history file has no student with a pre- and a post-test".into());
    }
    // unit of d: within-grade SD of the post-test over all history students
    let mut by_grade: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    let mut pre_by_grade: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for s in history {
        if let (Some(pre), Some(post)) = (s.pre, s.post) {
            by_grade.entry(s.grade).or_default().push(post);
            pre_by_grade.entry(s.grade).or_default().push(pre);
        }
    }
    let sd_post: BTreeMap<i32, f64> = by_grade
        .iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(g, v)| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (*g, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt())
        })
        .collect();
    let cut: BTreeMap<i32, f64> = match b.max_pre_percentile {
        None => BTreeMap::new(),
        Some(p) => pre_by_grade
            .iter()
            .map(|(g, v)| {
                let mut s = v.clone();
                s.sort_by(f64::total_cmp);
                (*g, quantile_type7(&s, p / 100.0))
            })
            .collect(),
    };
    let mut unscored: BTreeMap<String, usize> = BTreeMap::new();
    let target: Vec<&Student> = history
        .iter()
        .filter(|s| s.pre.is_some() && s.post.is_some() && sd_post.contains_key(&s.grade))
        .filter(|s| cut.get(&s.grade).is_none_or(|c| s.pre.is_some_and(|p| p <= *c)))
        .filter(|s| match settle::outcome_met(contract.outcome.kind, contract.outcome.at_least, s) {
            Ok(_) => true,
            Err(e) => {
                *unscored.entry(e.to_string()).or_default() += 1;
                false
            }
        })
        .collect();
    if target.len() < 2 {
        return Err(format!("only {} history students in the target population; need at least 2", target.len()));
    }
    // effect-size metric: residuals of the history regression
    let effect = if kind == MetricKind::EffectSize {
        let owned: Vec<Student> = target.iter().map(|s| (*s).clone()).collect();
        let m = settle::effect_model(&owned, &vec![true; owned.len()])?;
        let sd = m.sd_comparison.0;
        Some((m.residual.into_iter().map(|r| r.expect("every student in the model")).collect::<Vec<f64>>(), sd))
    } else {
        None
    };
    let values_at = |d: f64| -> Vec<f64> {
        use rayon::prelude::*;
        target
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                let shift = d * sd_post[&s.grade];
                if let Some((res, sd)) = &effect {
                    return (res[i] + shift) / sd;
                }
                let post = s.post.expect("filtered") + shift;
                let mut shifted = (*s).clone();
                shifted.post = Some(post);
                if d != 0.0 && contract.uses_norms() {
                    shifted.score = rescore(s, post);
                }
                let met =
                    settle::outcome_met(contract.outcome.kind, contract.outcome.at_least, &shifted).unwrap_or(false);
                let score = shifted.score.as_ref().ok();
                match kind {
                    MetricKind::ShareMeeting => f64::from(u8::from(met)),
                    MetricKind::MeanCgi => score.and_then(|x| x.cgi).unwrap_or(f64::NAN),
                    MetricKind::MedianSgp => score.and_then(|x| x.sgp).map_or(f64::NAN, f64::from),
                    MetricKind::EffectSize => unreachable!("handled above"),
                }
            })
            .collect()
    };
    let values: Vec<Vec<f64>> = b.effects.iter().map(|&d| values_at(d)).collect();
    if values.iter().flatten().any(|v| !v.is_finite()) {
        return Err("some shifted scores fall outside the norms (no CGI or SGP); narrow the effects grid".into());
    }
    // business as usual with a student bootstrap
    let inf = &contract.inference;
    let level = contract.decision.level;
    let n = target.len();
    let cl: Vec<usize> = (0..n).collect();
    let bau = match stat {
        Statistic::Median => {
            let v: Vec<u8> = values[0].iter().map(|&x| x as u8).collect();
            settle::estimate_median_sgp(&v, &cl, n, inf.replicates, inf.seed, inf.interval, level)
        }
        _ => settle::estimate_mean(&values[0], &cl, n, inf.replicates, inf.seed, inf.interval, level),
    };
    // metric by effect on a fine grid, for SD equivalents
    let fine: Vec<f64> = (0..=75).map(|i| f64::from(i) * 0.02).collect();
    let metric_by_effect: Vec<(f64, f64)> = fine
        .iter()
        .map(|&d| match b.effects.iter().position(|&e| e == d) {
            Some(e) => (d, summary(stat, &values[e])),
            None => (d, summary(stat, &values_at(d))),
        })
        .collect();
    let top = summary(stat, values.last().expect("effects not empty"));
    let thresholds = match &b.thresholds {
        Some(t) => t.clone(),
        None => (0..10).map(|i| bau.point + (top - bau.point) * f64::from(i) / 9.0).collect(),
    };
    let k = decision_k(contract.decision.rule, level);
    let spec = OcSpec {
        sizes: b.sizes.clone(),
        thresholds: thresholds.clone(),
        effects: b.effects.clone(),
        reps: b.replicates,
        seed: inf.seed,
        k,
    };
    let cells = oc::oc_curves(&values, stat, &spec).map_err(|e| e.to_string())?;
    let alt = match b.effects.iter().position(|&e| e == b.power_effect) {
        Some(e) => values[e].clone(),
        None => values_at(b.power_effect),
    };
    let recommendation = oc::recommend(
        &values[0],
        &alt,
        stat,
        b.provider_size,
        b.alpha,
        b.power_effect,
        b.power,
        b.replicates,
        inf.seed,
        k,
    )
    .map_err(|e| e.to_string())?;
    let grades: Vec<i32> = sd_post.keys().copied().collect();
    let subject = contract.contract.subject.list().first().cloned().unwrap_or_default();
    let target_of = |label: String, t: f64| {
        let d = sd_equivalent(&metric_by_effect, t);
        Target {
            label,
            threshold: t,
            sd_equivalent: d,
            comparison: d.map(|d| benchmarks::compare(d, weeks, &grades, &subject, b.provider_size)),
        }
    };
    let mut targets = vec![target_of("recommended threshold".into(), recommendation.threshold)];
    for (i, t) in contract.thresholds.iter().enumerate() {
        let name = if t.name.is_empty() { format!("tier {}", i + 1) } else { t.name.clone() };
        targets.push(target_of(format!("contract {name}"), t.value));
    }
    for t in &targets {
        if let Some(c) = &t.comparison {
            warnings.extend(c.warnings.iter().map(|w| format!("{}: {w}", t.label)));
        }
    }
    if recommendation.min_n.is_none() {
        warnings.push(format!(
            "no provider size up to {} reaches power {} at d = {} with a false-pass rate of at most {}",
            recommendation.search_cap, b.power, b.power_effect, b.alpha
        ));
    }
    Ok(Baseline {
        population: Population {
            history_students: history.len(),
            target_students: n,
            unscored,
            max_pre_percentile: b.max_pre_percentile,
            sd_post_by_grade: sd_post,
        },
        statistic: stat,
        k,
        business_as_usual: bau,
        metric_by_effect,
        thresholds,
        cells,
        recommendation,
        targets,
        warnings,
    })
}

/// The d at which the (increasing) metric curve reaches `t`, by linear interpolation.
pub fn sd_equivalent(curve: &[(f64, f64)], t: f64) -> Option<f64> {
    let first = curve.first()?;
    if t <= first.1 {
        return (t == first.1).then_some(first.0);
    }
    for w in curve.windows(2) {
        let ((d0, m0), (d1, m1)) = (w[0], w[1]);
        if m0 < t && t <= m1 {
            return Some(d0 + (t - m0) / (m1 - m0) * (d1 - d0));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_equivalent_interpolates_and_refuses_out_of_range() {
        let curve = [(0.0, 0.5), (0.1, 0.54), (0.2, 0.58)];
        assert!((sd_equivalent(&curve, 0.56).unwrap() - 0.15).abs() < 1e-12);
        assert_eq!(sd_equivalent(&curve, 0.5), Some(0.0));
        assert_eq!(sd_equivalent(&curve, 0.45), None);
        assert_eq!(sd_equivalent(&curve, 0.6), None);
    }

    #[test]
    fn k_follows_the_rule() {
        assert_eq!(decision_k(DecisionRule::Point, 0.9), 0.0);
        assert!((decision_k(DecisionRule::LowerBound, 0.9) - 1.6448536).abs() < 1e-6);
        assert!((decision_k(DecisionRule::Probability, 0.9) - 1.2815516).abs() < 1e-6);
    }
}
