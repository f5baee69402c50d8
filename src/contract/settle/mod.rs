//! Settlement: from scored students to each provider's metric, interval, decision per tier,
//! payment with its arithmetic, equity-group tables with suppression, fairness checks, and
//! a per-student audit trail.
//!
//! ## Who counts
//! A tutored student *counts* for a provider when the data layer analysed them (a pre-test,
//! enrolled in time, met the dosage rule, a post-test) and the outcome could be computed
//! (the norms cover the student's group and start score when the outcome needs norms).
//! Everyone else is listed with the first rule they failed: `no pre-test`, `enrolment`,
//! `dosage`, `no post-test`, `no norm`.
//!
//! ## The metric and its interval
//! Per provider, over counted students:
//! - `share_meeting`: the mean of the 0/1 outcome;
//! - `mean_cgi`: the mean CGI;
//! - `median_sgp`: the median SGP (R's `median`: the mean of the two middle values when n
//!   is even);
//! - `effect_size`: the provider coefficient of an OLS of the post-test on, per grade, an
//!   intercept, the standardised pre-test z and z² (z within grade over all analysed
//!   students), and one indicator per provider, fitted on counted tutored students and
//!   analysed comparison students; divided by the WWC pooled SD (`((n_T − 1)s_T² + (n_C −
//!   1)s_C²)/(N − 2)`, each s the within-grade SD of the post-test) and multiplied by ω = 1 −
//!   3/(4N − 9);
//! - `share_meeting_vs_comparison`: the share meeting minus the analysed comparison
//!   students' share, bootstrapped as `effect_size` is (below) at unit scale;
//! - `mean_growth_vs_comparison`: the provider coefficient of the `effect_size` model in
//!   scale-score points (not divided by the SD, no ω), bootstrapped as `effect_size` is.
//!
//! The interval is a bootstrap over the resampling unit of `[inference] cluster` (students,
//! tutors or schools of the provider), with `replicates` replicates seeded from the contract
//! seed and the provider ID (so adding a provider does not change another's replicates).
//! For `effect_size` (and `share_meeting_vs_comparison`) the comparison group is resampled
//! once per replicate (the same comparison replicates serve every provider); for
//! `effect_size` the covariate coefficients and the SD are held at their full-sample
//! values: their sampling variance, O(1/N) over all analysed students, is small against a
//! provider's O(1/n); this is an approximation stated in every report. Interval methods are those of [`crate::stats::bootstrap`] (percentile,
//! BCa with jackknife influence over units, basic, normal), at `[decision] level`.
//!
//! For the effect metrics `[inference] method = "cr2"` or `"wild_cluster"` replace the
//! bootstrap by a cluster-robust test of the provider's coefficient over every student in
//! the model ([`robust`]): a t interval with CR2 and Satterthwaite df, or the wild cluster
//! restricted bootstrap inverted at the level.
//!
//! ## Decisions
//! Per tier t: `point`: met if the estimate ≥ t, else not met. `lower_bound`: met if the
//! interval's lower end ≥ t, not met if its upper end < t, otherwise inconclusive.
//! `probability`: with p = the share of bootstrap replicates ≥ t (the bootstrap
//! distribution read as an approximate posterior under a flat prior; for `cr2`
//! `F_ν((θ̂ − t)/se)`), met if p ≥ level, not
//! met if p ≤ 1 − level, otherwise inconclusive. The tier reached is the highest tier met
//! such that every lower tier is met too. An inconclusive tier earns nothing.
//!
//! ## Cohort drift
//! For a norm-based metric, the comparison group's level against the history cohort's own
//! level, and each provider's decisions with that shift removed (docs/methods.md 9.14).
//!
//! ## Payment
//! base = base_fixed + base_per_student × (students of `base_basis`);
//! outcome = outcome_per_student × (counted students meeting the outcome) (zero when
//! `per_student_requires_tier` and no tier is reached), or pool × pool_share of the tier
//! reached with pool = outcome_pool + outcome_pool_per_student × counted;
//! penalty = penalty_per_regressed × (counted students with growth < regressed_below);
//! payable = min(cap, max(0, base + outcome − penalty)). Each step is written out.

use crate::stats::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::terms::{
    BaseBasis, ClusterLevel, Contract, DecisionRule, InferenceMethod, IntervalMethod, MetricKind, OutcomeKind,
    Threshold,
};
pub use crate::contract::results::{ProviderResult, Settlement};
use crate::stats::bootstrap::{self, ClusterSums, Plan};
use crate::stats::effect::small_sample_correction;
use crate::stats::normal::qnorm;
use crate::stats::wwc;

pub mod agreement;
mod audit;
mod caveat;
pub mod cluster_t;
mod decision;
mod drift;
mod equity;
mod estimate;
mod fairness;
mod outcome;
mod payment;
mod robust;
pub mod test_error;
mod weighted;

pub use audit::*;
pub use decision::*;
pub use drift::*;
pub use equity::*;
pub use estimate::*;
pub use fairness::*;
pub use outcome::*;
pub use payment::*;
pub use robust::*;
pub use weighted::*;

/// Why a provider shows no estimate in `results.json`: the metric could not be computed,
/// or the provider is under `min_cell` ([`crate::contract::suppress`]). Written as its text.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoEstimateReason {
    #[error("{0}")]
    Metric(NoEstimate),
    #[error(
        "suppressed: {counted} counted students, fewer than min_cell = {min_cell} (decision and payment are \
         computed on the full data; see the restricted audit)"
    )]
    Suppressed { counted: u64, min_cell: usize },
    /// A reason written by an older obc that is none of the above.
    #[error("{0}")]
    Other(String),
}

impl NoEstimateReason {
    /// The reason its text names ([`NoEstimateReason::Other`] when none does).
    pub fn from_text(text: &str) -> NoEstimateReason {
        use NoEstimate::*;
        let metric =
            [NoCountedStudents, NoSgp, NoValue, EffectSizeWithComparison, NoEffectModel, NoPooledSd, NoComparisonShare];
        if let Some(e) = metric.into_iter().find(|e| e.to_string() == text) {
            return NoEstimateReason::Metric(e);
        }
        let suppressed = text.strip_prefix("suppressed: ").and_then(|rest| {
            let (counted, rest) = rest.split_once(" counted students, fewer than min_cell = ")?;
            let (min_cell, _) = rest.split_once(' ')?;
            Some(NoEstimateReason::Suppressed { counted: counted.parse().ok()?, min_cell: min_cell.parse().ok()? })
        });
        match suppressed {
            Some(r) if r.to_string() == text => r,
            _ => NoEstimateReason::Other(text.to_string()),
        }
    }
}

impl Serialize for NoEstimateReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for NoEstimateReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(NoEstimateReason::from_text(&String::deserialize(d)?))
    }
}

impl Settlement {
    /// The public part: everything but the audit rows (what `results.json` holds), without
    /// copying the audit.
    pub fn public(&self) -> Settlement {
        Settlement {
            providers: self.providers.clone(),
            comparison: self.comparison.clone(),
            groups: self.groups.clone(),
            fairness: self.fairness.clone(),
            audit: Vec::new(),
            totals: self.totals.clone(),
            warnings: self.warnings.clone(),
            drift: self.drift.clone(),
            vendor_agreement: self.vendor_agreement.clone(),
        }
    }
}

/// What every provider's settlement reads: the students, their outcomes and who counts,
/// the effect-size model, the comparison group and the pre-tests standardised for the
/// fairness checks.
struct Context<'a> {
    contract: &'a Contract,
    students: &'a [Student],
    met: Vec<Option<bool>>,
    reason: Vec<Option<(Rule, String)>>,
    counted: Vec<bool>,
    effect: Option<EffectModel>,
    comparison: Comparison,
    zpre: Vec<Option<f64>>,
    comp_rostered: u64,
    /// The cohort drift's shift point, when it is reported.
    shift: Option<f64>,
    /// The lines providers are paid by ([`crate::contract::rates::card`]).
    card: Vec<crate::contract::rates::CardLine>,
}

/// Settles a contract over scored students (module docs). `history` is the history cohort's
/// level of the metric ([`history_level`]) for the drift section, or why there is none.
pub fn settle(contract: &Contract, students: &[Student], history: Result<&HistoryLevel, NoDrift>) -> Settlement {
    let mut warnings = Vec::new();
    let (met, reason) = outcomes(contract, students);
    let counted: Vec<bool> = met.iter().map(Option::is_some).collect();
    let effect = match contract.metric.kind {
        kind if kind.is_effect() => effect_model(students, &counted)
            .map_err(|e| warnings.push(Warning::new(WarningCode::EffectModel, e.to_string())))
            .ok(),
        _ => None,
    };
    let comparison = comparison_group(contract, students, &counted, &met, effect.as_ref());
    let zpre = within_grade_z(students, &counted);
    let comp_rostered = students.iter().filter(|s| s.provider.is_none()).count() as u64;
    let shift = drift_shift(contract, comparison.estimate.as_ref(), history);
    let shift_point = shift.as_ref().ok().map(|r| r.shift);
    let cx = Context {
        contract,
        students,
        met,
        reason,
        counted,
        effect,
        comparison,
        zpre,
        comp_rostered,
        shift: shift_point,
        card: crate::contract::rates::card(contract),
    };

    let providers = provider_list(contract, students);
    let mut results = Vec::new();
    let mut audit: Vec<AuditRow> = Vec::with_capacity(students.len());
    let mut totals = PaymentResultTotals::default();
    let mut fairness = Fairness::default();
    let mut drifted = Vec::new();
    // each provider's rows, from one pass over the students
    let mut by_provider: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, s) in students.iter().enumerate() {
        if let Some(p) = s.provider.as_deref() {
            by_provider.entry(p).or_default().push(i);
        }
    }
    for prov in &providers {
        let rows = by_provider.remove(prov.as_str()).unwrap_or_default();
        let (result, rows, drift) = settle_provider(&cx, prov, rows, &mut fairness, &mut warnings);
        drifted.extend(drift);
        totals.add(&result.payment);
        audit.extend(rows);
        results.push(result);
    }
    audit.extend(comparison_audit(&cx));
    audit.sort_by_key(|a| a.index);
    let groups = group_table(contract, students, &cx.counted, &cx.met, cx.effect.as_ref(), &providers);
    fairness.warnings = fairness_warnings(&fairness);
    warnings.extend(caveat::effect_caveat(contract.metric.kind, students, &fairness.equivalence, cx.effect.as_ref()));
    let drift = Some(drift_section(shift, drifted, &mut warnings));
    let vendor_agreement = agreement::vendor_agreement(contract, students, &providers);
    Settlement {
        providers: results,
        comparison: cx.comparison.estimate,
        groups,
        fairness,
        audit,
        totals,
        warnings,
        drift,
        vendor_agreement,
    }
}

/// Every provider on the roster, and every provider the contract lists.
fn provider_list(contract: &Contract, students: &[Student]) -> Vec<String> {
    let mut set: BTreeSet<String> = students.iter().filter_map(|s| s.provider.clone()).collect();
    if let Some(list) = &contract.contract.providers {
        set.extend(list.iter().cloned());
    }
    set.into_iter().collect()
}

/// One provider's settlement: counts, metric, decisions, payment (suppressed as public
/// outputs need, [`crate::contract::suppress`]), its students' audit rows, its rows of
/// the fairness checks, and its decisions without the cohort drift's shift (when there is
/// a shift and an estimate). `rows` are its students (positions in `cx.students`).
fn settle_provider(
    cx: &Context<'_>,
    prov: &str,
    rows: Vec<usize>,
    fairness: &mut Fairness,
    warnings: &mut Vec<Warning>,
) -> (ProviderResult, Vec<AuditRow>, Option<DriftProvider>) {
    let (contract, students) = (cx.contract, cx.students);
    let idx: Vec<usize> = rows.iter().copied().filter(|&i| cx.counted[i]).collect();
    let counts = payment_counts(contract, students, &rows, &idx, &cx.met);
    let excluded = excluded_by_rule(&rows, &cx.reason);
    fairness.exclusions.extend(exclusion_rows(prov, counts.rostered, &excluded));
    let est = provider_metric(cx, prov, &idx);
    warnings.extend(est.as_ref().ok().and_then(|e| bootstrap_cluster_warning(contract, prov, e.units)));
    let (tiers, reached) = match &est {
        Ok(e) => decide_tiers(&contract.thresholds, contract.decision.rule, contract.decision.level, e),
        Err(_) => (undecided_tiers(&contract.thresholds), None),
    };
    let payees = Payees { students, rows: &rows, counted: &cx.counted };
    let (pay, pays) = provider_payment(contract, &cx.card, &payees, &counts, reached);
    let (pay, pays) = with_expected(contract, &cx.card, &payees, pay, pays);
    let audit = provider_audit(cx, pays, cx.card.iter().all(|l| l.legacy));
    let suppressed = counts.counted < contract.reporting.min_cell as u64;
    let drift =
        est.as_ref().ok().zip(cx.shift).map(|(e, shift)| provider_drift(contract, prov, e, &tiers, shift, suppressed));
    provider_fairness(cx, prov, &idx, &counts, suppressed, fairness);
    if counts.counted < contract.limits.min_counted {
        warnings.push(Warning::new(
            WarningCode::FewCounted,
            format!(
                "{prov}: only {} counted students, fewer than limits.min_counted = {}: its metric and decisions \
             rest on very few students",
                counts.counted, contract.limits.min_counted
            ),
        ));
    }
    let (estimate, no_estimate) = match est {
        Ok(e) => (Some(e), None),
        Err(e) => (None, Some(NoEstimateReason::Metric(e))),
    };
    let mut result = ProviderResult {
        provider: prov.to_string(),
        counts: counts.into(),
        excluded,
        estimate,
        no_estimate,
        suppressed,
        tiers,
        tier_reached: reached.map(|i| tier_name(&contract.thresholds, i)),
        payment: pay,
    };
    super::suppress::provider(&mut result, contract.reporting.min_cell);
    (result, audit, drift)
}

/// The `few_clusters` warning when the bootstrap resamples fewer than 10 tutors or schools
/// of a provider ([`cluster_t::few_clusters_warning`]).
fn bootstrap_cluster_warning(contract: &Contract, prov: &str, clusters: usize) -> Option<Warning> {
    let inf = &contract.inference;
    let unit = match inf.cluster {
        _ if inf.method != InferenceMethod::Bootstrap => return None,
        ClusterLevel::Student => return None,
        ClusterLevel::Tutor => "tutor",
        ClusterLevel::School => "school",
    };
    cluster_t::few_clusters_warning(prov, clusters, unit, contract.metric.kind)
}

/// A provider's metric with its interval, or why there is none.
fn provider_metric(cx: &Context<'_>, prov: &str, idx: &[usize]) -> Result<Estimate, NoEstimate> {
    let (contract, inf) = (cx.contract, &cx.contract.inference);
    let seed = stream_seed(inf.seed, prov);
    if idx.is_empty() {
        return Err(NoEstimate::NoCountedStudents);
    }
    let kind = contract.metric.kind;
    match kind {
        MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison => {}
        MetricKind::ShareMeetingVsComparison => return share_vs_comparison(cx, idx, seed),
        _ => return provider_estimate(contract, cx.students, idx, &cx.met, seed),
    }
    let m = cx.effect.as_ref().ok_or(NoEstimate::NoEffectModel)?;
    // effect_size: ω / pooled SD; mean_growth_vs_comparison: scale-score points
    let scale = match kind {
        MetricKind::EffectSize => m.scale(prov).ok_or(NoEstimate::NoPooledSd)?,
        _ => (1.0, 1.0),
    };
    if matches!(inf.method, InferenceMethod::Cr2 | InferenceMethod::WildCluster) {
        let spec = RobustSpec {
            method: inf.method,
            cluster: inf.cluster,
            level: contract.decision.level,
            reps: inf.replicates,
            weights: inf.weights,
            seed,
            interval: inf.interval,
        };
        return estimate_robust(m, cx.students, prov, scale.1 / scale.0, &spec);
    }
    let r: Vec<f64> = idx.iter().map(|&i| m.residual[i].expect("in model")).collect();
    let (cl, k) = clusters_of(inf.cluster, cx.students, idx);
    let c = &cx.comparison;
    Ok(estimate_effect(
        &r,
        &cl,
        k,
        (&c.resid, &c.cluster, c.k),
        &c.reps,
        scale,
        seed,
        inf.interval,
        contract.decision.level,
    ))
}

/// A provider's share meeting minus the comparison group's, bootstrapped against the
/// comparison replicates every provider shares.
fn share_vs_comparison(cx: &Context<'_>, idx: &[usize], seed: u64) -> Result<Estimate, NoEstimate> {
    let inf = &cx.contract.inference;
    let c = &cx.comparison;
    if c.idx.is_empty() {
        return Err(NoEstimate::NoComparisonShare);
    }
    let v: Vec<f64> = idx.iter().map(|&i| if cx.met[i] == Some(true) { 1.0 } else { 0.0 }).collect();
    if inf.method == InferenceMethod::ClusterT {
        // provider and comparison students clustered together (a school holds both)
        let both: Vec<usize> = idx.iter().chain(&c.idx).copied().collect();
        let (cl, k) = clusters_of(inf.cluster, cx.students, &both);
        let (pc, cc) = cl.split_at(idx.len());
        return Ok(cluster_t::difference_estimate(
            (&v, pc),
            (&c.resid, cc),
            k,
            inf.interval,
            cx.contract.decision.level,
        ));
    }
    let (cl, k) = clusters_of(inf.cluster, cx.students, idx);
    Ok(estimate_share_difference(
        &v,
        &cl,
        k,
        (&c.resid, &c.cluster, c.k),
        &c.reps,
        seed,
        inf.interval,
        cx.contract.decision.level,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_from_counts_matches_r_median() {
        let mut c = [0u64; 100];
        for v in [10u8, 50, 60, 70] {
            c[v as usize] += 1;
        }
        assert_eq!(median_from_counts(&c), 55.0);
        c[99] += 1;
        assert_eq!(median_from_counts(&c), 60.0);
    }

    #[test]
    fn decisions_follow_each_rule() {
        use DecisionRule::*;
        // estimate 0.50, interval 0.42..0.58, 70% of replicates >= 0.48
        assert_eq!(decide(Point, 0.9, 0.50, 0.42, 0.58, 0.7, 0.48), Verdict::Met);
        assert_eq!(decide(Point, 0.9, 0.50, 0.42, 0.58, 0.3, 0.52), Verdict::NotMet);
        assert_eq!(decide(LowerBound, 0.9, 0.50, 0.42, 0.58, 0.7, 0.48), Verdict::Inconclusive);
        assert_eq!(decide(LowerBound, 0.9, 0.50, 0.42, 0.58, 1.0, 0.40), Verdict::Met);
        assert_eq!(decide(LowerBound, 0.9, 0.50, 0.42, 0.58, 0.0, 0.60), Verdict::NotMet);
        assert_eq!(decide(Probability, 0.8, 0.50, 0.42, 0.58, 0.7, 0.48), Verdict::Inconclusive);
        assert_eq!(decide(Probability, 0.8, 0.50, 0.42, 0.58, 0.85, 0.48), Verdict::Met);
        assert_eq!(decide(Probability, 0.8, 0.50, 0.42, 0.58, 0.15, 0.48), Verdict::NotMet);
    }

    #[test]
    fn no_estimate_reasons_read_back_from_their_text() {
        use NoEstimate::*;
        let reasons = [
            NoEstimateReason::Metric(NoCountedStudents),
            NoEstimateReason::Metric(NoSgp),
            NoEstimateReason::Metric(NoValue),
            NoEstimateReason::Metric(EffectSizeWithComparison),
            NoEstimateReason::Metric(NoEffectModel),
            NoEstimateReason::Metric(NoPooledSd),
            NoEstimateReason::Metric(NoComparisonShare),
            NoEstimateReason::Suppressed { counted: 6, min_cell: 10 },
            NoEstimateReason::Other("an older reason".into()),
        ];
        for r in reasons {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<NoEstimateReason>(&text).unwrap(), r, "{text}");
        }
        assert!(NoEstimateReason::Suppressed { counted: 6, min_cell: 10 }.to_string().starts_with(
            "suppressed: 6 counted students, fewer than min_cell = 10 (decision and payment are computed on the full data"
        ));
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(0.0), "0.00");
        assert_eq!(money(-1200.0), "-1,200.00");
    }

    #[test]
    fn mean_bootstrap_interval_covers_and_is_seeded() {
        let v: Vec<f64> = (0..200).map(|i| if i % 3 == 0 { 1.0 } else { 0.0 }).collect();
        let cl: Vec<usize> = (0..200).collect();
        let r = Resampling {
            cluster: &cl,
            clusters: 200,
            reps: 500,
            seed: 7,
            method: IntervalMethod::Percentile,
            level: 0.9,
        };
        let a = estimate_mean(&v, &r);
        let b = estimate_mean(&v, &r);
        assert_eq!(a, b);
        let (lo, hi) = (a.low.unwrap(), a.high.unwrap());
        assert!(lo < a.point && a.point < hi);
        // binomial SE sqrt(p(1-p)/n) = 0.0333; a 90% interval is about +-0.055
        assert!((hi - lo - 2.0 * 1.645 * 0.0333).abs() < 0.02, "{lo} {hi}");
        let bca = estimate_mean(&v, &Resampling { method: IntervalMethod::Bca, ..r });
        assert!(bca.low.unwrap() < bca.point && bca.point < bca.high.unwrap());
    }
}
