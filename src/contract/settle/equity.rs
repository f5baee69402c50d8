//! The equity table: each provider's (and the comparison group's) metric per reporting
//! group value, with small cells suppressed ([`crate::contract::suppress`]).

#[allow(unused_imports)]
use super::*;
pub use crate::contract::results::GroupCell;
use crate::stats::interval;

/// Point metric and its interval for a subgroup at `level` (docs/methods.md 9.9): Wilson for
/// a share (`met` of the `values`), the t interval for a mean (mean CGI, effect size), order
/// statistics with binomial ranks for a median SGP, and for a share against the comparison
/// group's share (`against` = the comparison students meeting and counted in the same group
/// value) Newcombe's hybrid score interval of the difference. For the comparison group's own
/// column of `share_meeting_vs_comparison` (its difference with itself) `against` is `None`:
/// the metric (0) without an interval.
pub(super) fn group_metric(
    kind: MetricKind,
    values: &[f64],
    met: u64,
    against: Option<(u64, u64)>,
    level: f64,
) -> (Option<f64>, Option<f64>, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (None, None, None);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let (low, high) = match kind {
        MetricKind::MedianSgp => {
            let mut v = values.to_vec();
            v.sort_by(f64::total_cmp);
            let med = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
            let (lo, hi) = interval::median_ranks(n, level).expect("n > 0");
            return (Some(med), Some(v[lo]), Some(v[hi]));
        }
        MetricKind::ShareMeeting => interval::wilson(met, n as u64, level).unzip(),
        MetricKind::ShareMeetingVsComparison => {
            against.and_then(|(x2, n2)| interval::newcombe(met, n as u64, x2, n2, level)).unzip()
        }
        MetricKind::MeanCgi | MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison => {
            interval::t_mean(values, level).map(|(_, lo, hi)| (lo, hi)).unzip()
        }
    };
    (Some(mean), low, high)
}

/// One column's cells of the equity table: by group value, the metric values and the count
/// meeting the outcome.
pub(super) type Cells = BTreeMap<String, (Vec<f64>, u64)>;

/// The equity table: per provider (and `all providers`, and the comparison group) and
/// reporting group value, counted students, students meeting the outcome and the metric with
/// its interval ([`group_metric`]) (for `effect_size` and `share_meeting_vs_comparison`,
/// against the comparison group's mean in the same group value); cells under `min_cell` suppressed, and, where a group
/// has exactly one suppressed cell, the next smallest cell too (so the total cannot reveal it).
pub(super) fn group_table(
    contract: &Contract,
    students: &[Student],
    counted: &[bool],
    met: &[Option<bool>],
    effect: Option<&EffectModel>,
    providers: &[String],
) -> Vec<GroupCell> {
    let kind = contract.metric.kind;
    let level = contract.decision.level;
    // columns of the table: each provider, all providers, the comparison group
    let mut labels: Vec<String> = providers.to_vec();
    labels.push("all providers".into());
    labels.push("comparison".into());
    let (all, comparison) = (providers.len(), providers.len() + 1);
    let position: BTreeMap<&str, usize> = providers.iter().enumerate().map(|(k, p)| (p.as_str(), k)).collect();
    // per group value, the comparison group's mean residual (effect size) or share meeting
    // (share meeting vs comparison): what a cell's metric is measured against
    let comp_value = |i: usize| match (kind, effect) {
        (MetricKind::ShareMeetingVsComparison, _) => met[i].map(|m| if m { 1.0 } else { 0.0 }),
        (_, Some(m)) => m.residual[i],
        _ => None,
    };
    let against = effect.is_some() || kind == MetricKind::ShareMeetingVsComparison;
    // (sum, count) per group value; for a share the sum is the count meeting
    let comp_by: BTreeMap<(String, String), (f64, f64)> = match against {
        true => {
            let mut acc: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
            for (i, s) in students.iter().enumerate() {
                if s.provider.is_none()
                    && counted[i]
                    && let Some(r) = comp_value(i)
                {
                    for (g, v) in s.groups.iter() {
                        let e = acc.entry((g.clone(), v.clone())).or_default();
                        e.0 += r;
                        e.1 += 1.0;
                    }
                }
            }
            acc
        }
        false => BTreeMap::new(),
    };
    let comp_mean_by: BTreeMap<(String, String), f64> = comp_by.iter().map(|(k, (s, n))| (k.clone(), s / n)).collect();
    // one pass per reporting group: every counted student's value into its columns' cells
    let mut per_group: Vec<Vec<Cells>> = Vec::new();
    for g in &contract.reporting.groups {
        let mut cells: Vec<Cells> = vec![BTreeMap::new(); labels.len()];
        for (i, s) in students.iter().enumerate() {
            if !counted[i] {
                continue;
            }
            let Some(v) = s.groups.get(g) else { continue };
            let value = match (kind, effect) {
                (MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison, Some(m)) => {
                    let sd = match kind {
                        MetricKind::MeanGrowthVsComparison => 1.0,
                        _ => s.provider.as_deref().and_then(|p| m.scale(p)).map(|x| x.0).unwrap_or(m.sd_comparison.0),
                    };
                    m.residual[i].map(|r| (r - comp_mean_by.get(&(g.clone(), v.clone())).copied().unwrap_or(0.0)) / sd)
                }
                // no metric in a group value without comparison students
                (MetricKind::ShareMeetingVsComparison, _) => {
                    comp_value(i).zip(comp_mean_by.get(&(g.clone(), v.clone()))).map(|(x, c)| x - c)
                }
                _ => metric_value(kind, met[i] == Some(true), s),
            };
            let columns: [Option<usize>; 2] = match s.provider.as_deref() {
                Some(p) => [position.get(p).copied(), Some(all)],
                None => [Some(comparison), None],
            };
            for c in columns.into_iter().flatten() {
                // the value's text is copied once per cell, not once per student
                let e = match cells[c].get_mut(v.as_str()) {
                    Some(e) => e,
                    None => cells[c].entry(v.clone()).or_default(),
                };
                if met[i] == Some(true) {
                    e.1 += 1;
                }
                if let Some(x) = value {
                    e.0.push(x);
                }
            }
        }
        per_group.push(cells);
    }
    let mut out = Vec::new();
    for (li, label) in labels.iter().enumerate() {
        for (gi, g) in contract.reporting.groups.iter().enumerate() {
            let cells = std::mem::take(&mut per_group[gi][li]);
            let mut rows: Vec<GroupCell> = cells
                .into_iter()
                .map(|(value, (vals, m))| {
                    // the comparison share in this group value, for a provider's difference
                    let against = (kind == MetricKind::ShareMeetingVsComparison && li != comparison)
                        .then(|| comp_by.get(&(g.clone(), value.clone())))
                        .flatten()
                        .map(|&(x, n)| (x.round() as u64, n as u64));
                    let (metric, low, high) = group_metric(kind, &vals, m, against, level);
                    GroupCell {
                        provider: label.clone(),
                        group: g.clone(),
                        value,
                        counted: Some(vals.len() as u64),
                        met: Some(m),
                        metric,
                        low,
                        high,
                        suppressed: None,
                    }
                })
                .collect();
            crate::contract::suppress::group_cells(&mut rows, contract.reporting.min_cell);
            out.extend(rows);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Coverage of a cell's interval for a share of `p` over `n` students, in `reps` samples.
    fn share_coverage(p: f64, n: usize, reps: usize, cell: impl Fn(&[f64], u64) -> (f64, f64)) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut covered = 0;
        for _ in 0..reps {
            let v: Vec<f64> = (0..n).map(|_| f64::from(u8::from(rng.random_bool(p)))).collect();
            let met = v.iter().sum::<f64>() as u64;
            let (lo, hi) = cell(&v, met);
            covered += usize::from(lo <= p && p <= hi);
        }
        covered as f64 / reps as f64
    }

    #[test]
    fn small_share_cells_cover_at_the_level_where_the_normal_approximation_did_not() {
        // a rare outcome in a cell just above min_cell: the Wald interval p ± z √(p(1−p)/n)
        // covers far below 90% (and collapses to a point when no one meets it)
        let (p, n, reps, level) = (0.08, 15, 4000, 0.90);
        let wilson = share_coverage(p, n, reps, |v, met| {
            let (_, lo, hi) = group_metric(MetricKind::ShareMeeting, v, met, None, level);
            (lo.unwrap(), hi.unwrap())
        });
        let z = qnorm(0.95);
        let wald = share_coverage(p, n, reps, |_, met| {
            let q = met as f64 / n as f64;
            let half = z * (q * (1.0 - q) / n as f64).sqrt();
            (q - half, q + half)
        });
        // MC SE of a coverage near 0.9 over 4000 samples: 0.005
        assert!(wilson >= level - 0.03, "Wilson coverage {wilson}");
        assert!(wald < level - 0.10, "Wald coverage {wald}: the old interval was not this bad?");
    }

    #[test]
    fn each_metric_gets_its_own_kind_of_interval() {
        let v = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0];
        let met = 5;
        let (m, lo, hi) = group_metric(MetricKind::ShareMeeting, &v, met, None, 0.95);
        assert_eq!((m, (lo, hi)), (Some(5.0 / 12.0), crate::stats::interval::wilson(5, 12, 0.95).unzip()));
        // a mean gets t with n − 1 df: wider than the same data's Wilson interval here
        let (_, tlo, thi) = group_metric(MetricKind::MeanCgi, &v, met, None, 0.95);
        assert!(thi.unwrap() - tlo.unwrap() > 0.0);
        assert_eq!((tlo, thi), crate::stats::interval::t_mean(&v, 0.95).map(|(_, a, b)| (a, b)).unzip());
        // a difference of shares with the comparison's 30 of 60: Newcombe, around 5/12 − 1/2
        let diff: Vec<f64> = v.iter().map(|x| x - 0.5).collect();
        let (d, dlo, dhi) = group_metric(MetricKind::ShareMeetingVsComparison, &diff, met, Some((30, 60)), 0.95);
        assert!((d.unwrap() - (5.0 / 12.0 - 0.5)).abs() < 1e-15);
        assert!(dlo.unwrap() < d.unwrap() && d.unwrap() < dhi.unwrap());
        assert_eq!((dlo, dhi), crate::stats::interval::newcombe(5, 12, 30, 60, 0.95).unzip());
        // the comparison column against itself: the metric without an interval
        assert_eq!(group_metric(MetricKind::ShareMeetingVsComparison, &diff, met, None, 0.95).1, None);
        // a median SGP between order statistics
        let sgp: Vec<f64> = (1..=25).map(f64::from).collect();
        let (med, mlo, mhi) = group_metric(MetricKind::MedianSgp, &sgp, 0, None, 0.95);
        assert_eq!((med, mlo, mhi), (Some(13.0), Some(8.0), Some(18.0)));
    }
}
