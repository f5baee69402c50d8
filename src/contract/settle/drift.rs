//! Cohort drift at settlement (docs/methods.md 9): the history cohort's own level of a
//! norm-based metric, the comparison group's level, the shift between them, and each
//! provider's decisions with the shift removed from its estimate.
//!
//! - History level: the metric over the history students scored against the norms fitted
//!   on them (in sample, as `obc baseline` computes business as usual). Its SE: for a share
//!   `sqrt(p(1 − p)/n)`, for a mean `sd/sqrt(n)`, for a median half the distance between the
//!   order statistics of ranks `n/2 ∓ sqrt(n)/2` (one binomial SE of the median's rank either
//!   side, distribution-free).
//! - Shift: comparison − history, with the comparison's interval moved by the history level
//!   and each half widened in quadrature by `z × SE(history)`, `z` the normal quantile of the
//!   contract's level: `low = s − sqrt((c − c_low)² + (z se)²)`, `high = s + sqrt((c_high −
//!   c)² + (z se)²)`.
//! - Without the shift: a provider's point, interval and replicates minus the shift point,
//!   decided by the contract's rule (every interval method moves with a constant shift).

pub use crate::contract::results::{Drift, DriftProvider, DriftReport, DriftTier, HistoryLevel, NoDrift};

use super::*;

/// The history cohort's level of the contract's metric over the history students (built as
/// `obc baseline` builds them: analysed, no provider, scored against the norms).
pub fn history_level(contract: &Contract, students: &[Student]) -> Result<HistoryLevel, NoDrift> {
    let kind = contract.metric.kind;
    if !norm_based(kind) {
        return Err(NoDrift::RelativeMetric);
    }
    let (met, _) = outcomes(contract, students);
    let mut v: Vec<f64> = students
        .iter()
        .zip(&met)
        .filter_map(|(s, m)| m.and_then(|m| metric_value(kind, m, s)))
        .filter(|x| x.is_finite())
        .collect();
    let n = v.len();
    if n == 0 {
        return Err(NoDrift::NoHistoryLevel);
    }
    let (point, se) = match kind {
        MetricKind::MedianSgp => median_level(&mut v),
        _ => {
            let mean = v.iter().sum::<f64>() / n as f64;
            let se = if kind == MetricKind::ShareMeeting {
                (mean * (1.0 - mean) / n as f64).sqrt()
            } else {
                let ss = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
                (ss / (n as f64 - 1.0).max(1.0)).sqrt() / (n as f64).sqrt()
            };
            (mean, se)
        }
    };
    Ok(HistoryLevel { point, se, n: n as u64 })
}

/// Whether the metric is read against the history's norms (so a drift of the cohort moves it).
fn norm_based(kind: MetricKind) -> bool {
    matches!(kind, MetricKind::ShareMeeting | MetricKind::MeanCgi | MetricKind::MedianSgp)
}

/// The median (R's `median`) and its order-statistic SE (module docs).
fn median_level(v: &mut [f64]) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let med = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
    let half = (n as f64).sqrt() / 2.0;
    let lo = ((n as f64 / 2.0 - half).floor().max(0.0) as usize).min(n - 1);
    let hi = ((n as f64 / 2.0 + half).ceil() as usize).min(n - 1);
    (med, (v[hi] - v[lo]) / 2.0)
}

/// The drift report without its providers: the shift of the comparison group's level from
/// the history level, or why there is none.
pub(super) fn drift_shift(
    contract: &Contract,
    comparison: Option<&Estimate>,
    history: Result<&HistoryLevel, NoDrift>,
) -> Result<DriftReport, NoDrift> {
    if !norm_based(contract.metric.kind) {
        return Err(NoDrift::RelativeMetric);
    }
    let h = history?;
    let c = comparison.ok_or(NoDrift::NoComparison)?;
    let level = contract.decision.level;
    let shift = c.point - h.point;
    let zse = qnorm((1.0 + level) / 2.0) * h.se;
    let widen = |half: f64| (half * half + zse * zse).sqrt();
    Ok(DriftReport {
        history: h.clone(),
        comparison: c.point,
        comparison_low: c.low,
        comparison_high: c.high,
        shift,
        shift_low: c.low.map(|lo| shift - widen(c.point - lo)),
        shift_high: c.high.map(|hi| shift + widen(hi - c.point)),
        level,
        providers: Vec::new(),
    })
}

/// The estimate with `shift` removed from its point, interval and replicates.
pub fn without_shift(est: &Estimate, shift: f64) -> Estimate {
    Estimate {
        point: est.point - shift,
        low: est.low.map(|v| v - shift),
        high: est.high.map(|v| v - shift),
        replicates: est.replicates.iter().map(|v| v - shift).collect(),
        ..est.clone()
    }
}

/// One provider's verdicts as settled (`tiers`) and with the shift removed from `est` (its
/// full-data estimate, before suppression).
pub(super) fn provider_drift(
    contract: &Contract,
    provider: &str,
    est: &Estimate,
    tiers: &[TierDecision],
    shift: f64,
    suppressed: bool,
) -> DriftProvider {
    let moved = without_shift(est, shift);
    let (after, _) = decide_tiers(&contract.thresholds, contract.decision.rule, contract.decision.level, &moved);
    let tiers: Vec<DriftTier> = tiers
        .iter()
        .zip(after)
        .map(|(t, a)| DriftTier {
            name: t.name.clone(),
            threshold: t.threshold,
            settled: t.verdict,
            without_shift: a.verdict,
            changed: t.verdict != a.verdict,
            p_at_least_without_shift: if suppressed { None } else { a.p_at_least },
        })
        .collect();
    DriftProvider { provider: provider.to_string(), suppressed, changed: tiers.iter().any(|t| t.changed), tiers }
}

/// The `cohort_drift` warning: the shift's interval excludes 0 and some decision moves with it.
pub(super) fn drift_warning(r: &DriftReport) -> Option<Warning> {
    let excludes_zero = r.shift_low.is_some_and(|v| v > 0.0) || r.shift_high.is_some_and(|v| v < 0.0);
    let changed: Vec<&str> = r.providers.iter().filter(|p| p.changed).map(|p| p.provider.as_str()).collect();
    (excludes_zero && !changed.is_empty()).then(|| {
        Warning::new(
            WarningCode::CohortDrift,
            format!(
                "cohort drift: the comparison group's level {:.3} differs from the history cohort's {:.3} by {:+.3} \
                 [{:+.3}, {:+.3}]; without that shift the decisions of {} would differ (the norms and the targets \
                 assume the history's level; docs/methods.md 9)",
                r.comparison,
                r.history.point,
                r.shift,
                r.shift_low.unwrap_or(f64::NAN),
                r.shift_high.unwrap_or(f64::NAN),
                changed.join(", ")
            ),
        )
    })
}

/// The drift section from the shift (or why there is none) and the providers' rows, with
/// its warning pushed to `warnings`.
pub(super) fn drift_section(
    shift: Result<DriftReport, NoDrift>,
    providers: Vec<DriftProvider>,
    warnings: &mut Vec<Warning>,
) -> Drift {
    match shift {
        Ok(mut r) => {
            r.providers = providers;
            warnings.extend(drift_warning(&r));
            Drift::Reported(r)
        }
        Err(reason) => Drift::NotReported { reason },
    }
}
