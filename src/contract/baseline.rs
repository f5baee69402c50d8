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

use crate::stats::warning::{Warning, WarningCode};
use std::collections::BTreeMap;

use super::benchmarks;
use super::oc::{self, OcSpec, Recommendation, Statistic};
pub use super::results::{Baseline, Population, Target};
use super::settle::{self, Estimate, NoOutcome, NormScore, Student};
use super::terms::{Contract, DecisionRule, MetricKind};
use crate::stats::normal::qnorm;
use crate::stats::spline::quantile_type7;

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
        MetricKind::ShareMeeting | MetricKind::ShareMeetingVsComparison => Statistic::Share,
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

/// Why targets cannot be set from the history file.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("the history file has no student with a pre- and a post-test")]
    NoStudents,
    #[error("only {0} history students in the target population; need at least 2")]
    TooFew(usize),
    #[error("some shifted scores fall outside the norms (no CGI or SGP); narrow the effects grid")]
    OutsideNorms,
    #[error(transparent)]
    EffectModel(#[from] settle::EffectModelError),
    #[error(transparent)]
    Oc(#[from] oc::OcError),
    #[error(
        "obc baseline cannot yet set targets for metric.kind = \"share_meeting_vs_comparison\" (its OC curves \
         are not implemented); obc check settles it"
    )]
    MetricNotSupported,
}

/// Runs the baseline. `history` holds every history student (provider `None`, analysed,
/// scored); `rescore(student, shifted_post)` re-scores a student against the norms.
pub fn run<F>(contract: &Contract, history: &[Student], rescore: F, weeks: f64) -> Result<Baseline, BaselineError>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    let b = &contract.baseline;
    let stat = statistic(contract.metric.kind);
    if contract.metric.kind == MetricKind::ShareMeetingVsComparison {
        return Err(BaselineError::MetricNotSupported);
    }
    if history.is_empty() {
        return Err(BaselineError::NoStudents);
    }
    let sd_post = post_sd_by_grade(history);
    let cut = pre_cuts(history, b.max_pre_percentile);
    let (target, unscored) = target_population(contract, history, &sd_post, &cut);
    if target.len() < 2 {
        return Err(BaselineError::TooFew(target.len()));
    }
    let effect = if contract.metric.kind == MetricKind::EffectSize {
        let owned: Vec<Student> = target.iter().map(|s| (*s).clone()).collect();
        Some(Residuals::of(settle::effect_model(&owned, &vec![true; owned.len()])?))
    } else {
        None
    };
    let shifted = Shifted { contract, target: &target, sd_post: &sd_post, effect, rescore };
    let values: Vec<Vec<f64>> = b.effects.iter().map(|&d| shifted.values_at(d)).collect();
    if values.iter().flatten().any(|v| !v.is_finite()) {
        return Err(BaselineError::OutsideNorms);
    }
    let bau = business_as_usual(contract, stat, &values[0]);
    let metric_by_effect = metric_by_effect(&shifted, &b.effects, &values, stat);
    let top = summary(stat, values.last().expect("effects not empty"));
    let thresholds = match &b.thresholds {
        Some(t) => t.clone(),
        None => (0..10).map(|i| bau.point + (top - bau.point) * f64::from(i) / 9.0).collect(),
    };
    let k = decision_k(contract.decision.rule, contract.decision.level);
    let spec = OcSpec {
        sizes: b.sizes.clone(),
        thresholds: thresholds.clone(),
        effects: b.effects.clone(),
        reps: b.replicates,
        seed: contract.inference.seed,
        k,
    };
    let cells = oc::oc_curves(&values, stat, &spec)?;
    let recommendation = recommend(contract, &shifted, &values, stat, k)?;
    let grades: Vec<i32> = sd_post.keys().copied().collect();
    let targets = targets(contract, &recommendation, &metric_by_effect, &grades, weeks);
    let warnings = warnings(contract, &targets, &recommendation);
    Ok(Baseline {
        population: Population {
            history_students: history.len(),
            target_students: target.len(),
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

/// The unit of d: the within-grade SD (n − 1) of the post-test over every history student
/// with both tests, for grades with at least two such students.
fn post_sd_by_grade(history: &[Student]) -> BTreeMap<i32, f64> {
    let mut by_grade: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for s in history {
        if let (Some(_), Some(post)) = (s.pre, s.post) {
            by_grade.entry(s.grade).or_default().push(post);
        }
    }
    by_grade
        .iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(g, v)| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (*g, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt())
        })
        .collect()
}

/// The like-performing cut per grade: the `max_pre_percentile`-th percentile (type 7) of the
/// pre-tests of history students with both tests; empty when the contract sets none.
fn pre_cuts(history: &[Student], max_pre_percentile: Option<f64>) -> BTreeMap<i32, f64> {
    let Some(p) = max_pre_percentile else { return BTreeMap::new() };
    let mut pre_by_grade: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for s in history {
        if let (Some(pre), Some(_)) = (s.pre, s.post) {
            pre_by_grade.entry(s.grade).or_default().push(pre);
        }
    }
    pre_by_grade
        .into_iter()
        .map(|(g, mut s)| {
            s.sort_by(f64::total_cmp);
            (g, quantile_type7(&s, p / 100.0))
        })
        .collect()
}

/// The target population: history students with both tests, in a grade with a post-test SD,
/// at or below their grade's pre-test cut, whose outcome can be computed; with the counts of
/// students left out because their outcome cannot be computed, by reason.
fn target_population<'a>(
    contract: &Contract,
    history: &'a [Student],
    sd_post: &BTreeMap<i32, f64>,
    cut: &BTreeMap<i32, f64>,
) -> (Vec<&'a Student>, BTreeMap<String, usize>) {
    let mut unscored: BTreeMap<String, usize> = BTreeMap::new();
    let target = history
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
    (target, unscored)
}

/// For the effect-size metric: each target student's residual in the history regression and
/// the pooled within-grade SD that divides it.
struct Residuals {
    residual: Vec<f64>,
    sd: f64,
}

impl Residuals {
    /// Takes the residuals of a model fitted on every target student.
    fn of(m: settle::EffectModel) -> Self {
        let sd = m.sd_comparison.0;
        Residuals { residual: m.residual.into_iter().map(|r| r.expect("every student in the model")).collect(), sd }
    }
}

/// The target population with what it takes to recompute each student's metric value after
/// a true effect d shifts the post-test by d within-grade SDs (see the module docs).
struct Shifted<'a, F> {
    contract: &'a Contract,
    target: &'a [&'a Student],
    sd_post: &'a BTreeMap<i32, f64>,
    /// `Some` for the effect-size metric.
    effect: Option<Residuals>,
    rescore: F,
}

impl<F> Shifted<'_, F>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    /// Every target student's metric value at effect `d` (NaN when a shifted score has no
    /// CGI or SGP), in the order of the target population.
    fn values_at(&self, d: f64) -> Vec<f64> {
        use rayon::prelude::*;
        self.target.par_iter().enumerate().map(|(i, s)| self.value(i, s, d)).collect()
    }

    /// The metric value of target student `i` (`s`) at effect `d`.
    fn value(&self, i: usize, s: &Student, d: f64) -> f64 {
        let shift = d * self.sd_post[&s.grade];
        if let Some(Residuals { residual, sd }) = &self.effect {
            return (residual[i] + shift) / sd;
        }
        let post = s.post.expect("filtered") + shift;
        let mut shifted = s.clone();
        shifted.post = Some(post);
        if d != 0.0 && self.contract.uses_norms() {
            shifted.score = (self.rescore)(s, post);
        }
        let outcome = &self.contract.outcome;
        let met = settle::outcome_met(outcome.kind, outcome.at_least, &shifted).unwrap_or(false);
        let score = shifted.score.as_ref().ok();
        match self.contract.metric.kind {
            MetricKind::ShareMeeting | MetricKind::ShareMeetingVsComparison => f64::from(u8::from(met)),
            MetricKind::MeanCgi => score.and_then(|x| x.cgi).unwrap_or(f64::NAN),
            MetricKind::MedianSgp => score.and_then(|x| x.sgp).map_or(f64::NAN, f64::from),
            MetricKind::EffectSize => unreachable!("the effect size is computed from the residuals above"),
        }
    }

    /// The values at `d`: those of `values[e]` when `effects[e] == d`, else recomputed.
    fn values_or_computed(&self, effects: &[f64], values: &[Vec<f64>], d: f64) -> Vec<f64> {
        match effects.iter().position(|&e| e == d) {
            Some(e) => values[e].clone(),
            None => self.values_at(d),
        }
    }
}

/// Business as usual: the metric over the target population at d = 0 with a student
/// bootstrap interval (the contract's interval method, level, replicates and seed).
fn business_as_usual(contract: &Contract, stat: Statistic, values: &[f64]) -> Estimate {
    let inf = &contract.inference;
    let level = contract.decision.level;
    let n = values.len();
    let cl: Vec<usize> = (0..n).collect();
    let r = settle::Resampling {
        cluster: &cl,
        clusters: n,
        reps: inf.replicates,
        seed: inf.seed,
        method: inf.interval,
        level,
    };
    match stat {
        Statistic::Median => {
            let v: Vec<u8> = values.iter().map(|&x| x as u8).collect();
            settle::estimate_median_sgp(&v, &r)
        }
        _ => settle::estimate_mean(values, &r),
    }
}

/// The population's metric at each d of the fine grid 0, 0.02, ..., 1.5 (for SD equivalents).
fn metric_by_effect<F>(
    shifted: &Shifted<'_, F>,
    effects: &[f64],
    values: &[Vec<f64>],
    stat: Statistic,
) -> Vec<(f64, f64)>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    (0..=75)
        .map(|i| f64::from(i) * 0.02)
        .map(|d| match effects.iter().position(|&e| e == d) {
            Some(e) => (d, summary(stat, &values[e])),
            None => (d, summary(stat, &shifted.values_at(d))),
        })
        .collect()
}

/// The recommended threshold, its power at `power_effect` and the minimum provider size
/// ([`oc::recommend`]) for the contract's `[baseline]` settings.
fn recommend<F>(
    contract: &Contract,
    shifted: &Shifted<'_, F>,
    values: &[Vec<f64>],
    stat: Statistic,
    k: f64,
) -> Result<Recommendation, oc::OcError>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    let b = &contract.baseline;
    let alt = shifted.values_or_computed(&b.effects, values, b.power_effect);
    oc::recommend(
        &values[0],
        &alt,
        stat,
        b.provider_size,
        b.alpha,
        b.power_effect,
        b.power,
        b.replicates,
        contract.inference.seed,
        k,
    )
}

/// The recommended threshold and each contract tier as a target, with its SD equivalent on
/// `metric_by_effect` and the comparison with published effects.
fn targets(
    contract: &Contract,
    recommendation: &Recommendation,
    metric_by_effect: &[(f64, f64)],
    grades: &[i32],
    weeks: f64,
) -> Vec<Target> {
    let subject = contract.contract.subject.list().first().cloned().unwrap_or_default();
    let target_of = |label: String, t: f64| {
        let d = sd_equivalent(metric_by_effect, t);
        Target {
            label,
            threshold: t,
            sd_equivalent: d,
            comparison: d.map(|d| benchmarks::compare(d, weeks, grades, &subject, contract.baseline.provider_size)),
        }
    };
    let mut targets = vec![target_of("recommended threshold".into(), recommendation.threshold)];
    for (i, t) in contract.thresholds.iter().enumerate() {
        let name = if t.name.is_empty() { format!("tier {}", i + 1) } else { t.name.clone() };
        targets.push(target_of(format!("contract {name}"), t.value));
    }
    targets
}

/// The baseline's warnings: each target's comparison warnings, then a warning when no
/// provider size reaches the power asked for.
fn warnings(contract: &Contract, targets: &[Target], recommendation: &Recommendation) -> Vec<Warning> {
    let b = &contract.baseline;
    let mut warnings = Vec::new();
    for t in targets {
        if let Some(c) = &t.comparison {
            warnings.extend(c.warnings.iter().map(|w| w.prefixed(&format!("{}: ", t.label))));
        }
    }
    if recommendation.min_n.is_none() {
        warnings.push(Warning::new(
            WarningCode::Recommendation,
            format!(
                "no provider size up to {} reaches power {} at d = {} with a false-pass rate of at most {}",
                recommendation.search_cap, b.power, b.power_effect, b.alpha
            ),
        ));
    }
    warnings
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

    fn student(grade: i32, pre: Option<f64>, post: Option<f64>) -> Student {
        Student {
            student_id: String::new(),
            subject: "math".into(),
            school: String::new(),
            grade,
            provider: None,
            tutor: None,
            groups: BTreeMap::new(),
            analysed: true,
            excluded: None,
            served: false,
            pre,
            post,
            pre_sem: None,
            weeks: None,
            sessions: 0,
            minutes: 0.0,
            score: Err(NoOutcome::NoNorms),
        }
    }

    #[test]
    fn post_sds_and_pre_cuts_use_students_with_both_tests_per_grade() {
        let history = vec![
            student(3, Some(10.0), Some(1.0)),
            student(3, Some(20.0), Some(3.0)),
            student(3, Some(30.0), Some(5.0)),
            student(3, None, Some(100.0)),
            student(3, Some(99.0), None),
            student(4, Some(1.0), Some(7.0)),
        ];
        // grade 3: posts 1, 3, 5 (SD 2); grade 4 has a single student and no SD
        let sd = post_sd_by_grade(&history);
        assert_eq!(sd.len(), 1);
        assert!((sd[&3] - 2.0).abs() < 1e-12, "{sd:?}");
        assert!(pre_cuts(&history, None).is_empty());
        // type 7 quantile of 10, 20, 30 at 0.25 is 15
        let cut = pre_cuts(&history, Some(25.0));
        assert_eq!((cut[&3], cut[&4]), (15.0, 1.0));
    }
}
