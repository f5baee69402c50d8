//! The equity table: each provider's (and the comparison group's) metric per reporting
//! group value, with small cells suppressed ([`crate::contract::suppress`]).

#[allow(unused_imports)]
use super::*;
pub use crate::contract::results::GroupCell;

/// Point metric and a normal-approximation interval for a subgroup.
pub(super) fn group_metric(kind: MetricKind, values: &[f64], level: f64) -> (Option<f64>, Option<f64>, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (None, None, None);
    }
    let z = qnorm((1.0 + level) / 2.0);
    match kind {
        MetricKind::MedianSgp => {
            let mut v = values.to_vec();
            v.sort_by(f64::total_cmp);
            let med = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
            // distribution-free interval: order statistics n/2 -+ z sqrt(n)/2
            let half = z * (n as f64).sqrt() / 2.0;
            let lo = ((n as f64 / 2.0 - half).floor() as isize).clamp(0, n as isize - 1) as usize;
            let hi = ((n as f64 / 2.0 + half).ceil() as isize).clamp(0, n as isize - 1) as usize;
            (Some(med), Some(v[lo]), Some(v[hi]))
        }
        _ => {
            let (m, sd) = if n >= 2 { mean_sd(values) } else { (values[0], f64::NAN) };
            let se = if kind == MetricKind::ShareMeeting {
                (m * (1.0 - m) / n as f64).sqrt()
            } else {
                sd / (n as f64).sqrt()
            };
            if se.is_finite() { (Some(m), Some(m - z * se), Some(m + z * se)) } else { (Some(m), None, None) }
        }
    }
}

/// One column's cells of the equity table: by group value, the metric values and the count
/// meeting the outcome.
pub(super) type Cells = BTreeMap<String, (Vec<f64>, u64)>;

/// The equity table: per provider (and `all providers`, and the comparison group) and
/// reporting group value, counted students, students meeting the outcome and the metric with
/// a normal-approximation interval (for `effect_size` and `share_meeting_vs_comparison`,
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
    let comp_mean_by: BTreeMap<(String, String), f64> = match against {
        true => {
            let mut acc: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
            for (i, s) in students.iter().enumerate() {
                if s.provider.is_none()
                    && counted[i]
                    && let Some(r) = comp_value(i)
                {
                    for (g, v) in &s.groups {
                        let e = acc.entry((g.clone(), v.clone())).or_default();
                        e.0 += r;
                        e.1 += 1.0;
                    }
                }
            }
            acc.into_iter().map(|(k, (s, n))| (k, s / n)).collect()
        }
        false => BTreeMap::new(),
    };
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
                let e = cells[c].entry(v.clone()).or_default();
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
                    let (metric, low, high) = group_metric(kind, &vals, level);
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
