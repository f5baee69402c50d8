//! Fairness checks: baseline equivalence, WWC attrition, exclusions by rule, and the
//! regression to the mean expected of raw growth outcomes of low scorers.

use super::*;
pub use crate::contract::results::{AttritionRow, Equivalence, ExclusionRow, Fairness};
#[allow(unused_imports)]
use crate::stats::warning::{Warning, WarningCode};

pub(super) fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, sd)
}

/// Pre-test z within grade over the students in `among`.
pub(super) fn within_grade_z(students: &[Student], among: &[bool]) -> Vec<Option<f64>> {
    let mut by: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for (s, &a) in students.iter().zip(among) {
        if a && let Some(p) = s.pre {
            by.entry(s.grade).or_default().push(p);
        }
    }
    let ms: BTreeMap<i32, (f64, f64)> = by.iter().map(|(g, v)| (*g, mean_sd(v))).collect();
    students
        .iter()
        .zip(among)
        .map(|(s, &a)| {
            let (m, sd) = ms.get(&s.grade)?;
            if a && *sd > 0.0 { Some((s.pre? - m) / sd) } else { None }
        })
        .collect()
}

/// The regression-to-the-mean warning for raw-growth outcomes: with reliability ρ = 1 −
/// mean(SEM²)/var(pre) per grade (all analysed students), the expected spurious gain of a
/// student at x is (1 − ρ)(μ − x); averaged over the provider's counted students. Without
/// any SEM the size cannot be estimated, and the warning says so rather than staying silent.
pub(super) fn regression_to_mean(students: &[Student], idx: &[usize], provider: &str) -> Option<String> {
    let mut by: BTreeMap<i32, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in students.iter().filter(|s| s.analysed) {
        if let (Some(p), Some(sem)) = (s.pre, s.pre_sem) {
            let e = by.entry(s.grade).or_default();
            e.0.push(p);
            e.1.push(sem * sem);
        }
    }
    if by.is_empty() && idx.iter().any(|&i| students[i].pre.is_some()) {
        // no SEM anywhere (an i-Ready export has none): the bias cannot be sized, and
        // "no warning" must not read as "no bias"
        return Some(format!(
            "{provider}: the outcome is raw scale-score growth, and the tests carry no SEM, so how much growth \
             regression to the mean alone adds cannot be estimated (it needs the tests' reliability); students \
             picked for low scores gain from it without tutoring. Outcomes conditional on the start score (CGI, CGP, growth \
             against norms) do not have this bias."
        ));
    }
    let stats: BTreeMap<i32, (f64, f64, f64)> = by
        .iter()
        .filter(|(_, (p, _))| p.len() >= 2)
        .map(|(g, (p, s2))| {
            let (m, sd) = mean_sd(p);
            let rho = 1.0 - (s2.iter().sum::<f64>() / s2.len() as f64) / (sd * sd);
            (*g, (m, sd, rho))
        })
        .collect();
    let mut gain = 0.0;
    let mut z = 0.0;
    let mut n = 0.0;
    for &i in idx {
        let s = &students[i];
        if let (Some(&(m, sd, rho)), Some(p)) = (stats.get(&s.grade), s.pre) {
            gain += (1.0 - rho) * (m - p);
            z += (p - m) / sd;
            n += 1.0;
        }
    }
    if n == 0.0 {
        return None;
    }
    let (gain, z) = (gain / n, z / n);
    (z < -0.1).then(|| {
        format!(
            "{provider}: the outcome is raw scale-score growth and counted students started {:.2} SD below their grade's mean; from the tests' reliability regression to the mean alone is expected to add {gain:.2} points of growth per student (classical test theory, (1 - reliability)(mean - score)). Outcomes conditional on the start score (CGI, CGP, growth against norms) do not have this bias.",
            -z
        )
    })
}

/// A provider's share of rostered students excluded by each rule.
pub(super) fn exclusion_rows(prov: &str, rostered: u64, excluded: &BTreeMap<Rule, u64>) -> Vec<ExclusionRow> {
    Rule::ALL
        .iter()
        .map(|rule| {
            let n = excluded.get(rule).copied().unwrap_or(0);
            ExclusionRow {
                provider: prov.to_string(),
                rostered,
                rule: *rule,
                excluded: n,
                share: if rostered > 0 { n as f64 / rostered as f64 } else { 0.0 },
            }
        })
        .collect()
}

/// A provider's baseline equivalence, attrition and regression-to-the-mean rows; a provider
/// under `min_cell` (`suppressed`) gets no statistics of its counted students.
pub(super) fn provider_fairness(
    cx: &Context<'_>,
    prov: &str,
    idx: &[usize],
    counts: &PaymentCounts,
    suppressed: bool,
    f: &mut Fairness,
) {
    let zt: Vec<f64> = if suppressed { Vec::new() } else { idx.iter().filter_map(|&i| cx.zpre[i]).collect() };
    let zc: Vec<f64> = cx.comparison.idx.iter().filter_map(|&i| cx.zpre[i]).collect();
    if zt.len() >= 2 && zc.len() >= 2 {
        let (mt, st) = mean_sd(&zt);
        let (mc, sc) = mean_sd(&zc);
        if let Ok(h) = crate::stats::effect::hedges_g(mt, mc, st, sc, zt.len() as u64, zc.len() as u64) {
            let a = h.g.abs();
            let rating = if a <= 0.05 {
                "satisfied"
            } else if a <= 0.25 {
                "requires adjustment"
            } else {
                "not satisfied"
            };
            f.equivalence.push(Equivalence {
                provider: prov.to_string(),
                g: h.g,
                n_t: zt.len() as u64,
                n_c: zc.len() as u64,
                rating: rating.into(),
            });
        }
    }
    let comp_analysed = cx.comparison.idx.len() as u64;
    if let Some(a) = wwc::attrition(counts.rostered, counts.counted, cx.comp_rostered, comp_analysed) {
        let (boundary, rating) = match cx.contract.reporting.attrition_boundary {
            wwc::Boundary::Cautious => ("cautious", a.cautious),
            wwc::Boundary::Optimistic => ("optimistic", a.optimistic),
        };
        f.attrition.push(AttritionRow {
            provider: prov.to_string(),
            assigned: counts.rostered,
            analysed: counts.counted,
            overall: a.overall,
            differential: a.differential,
            boundary: boundary.into(),
            rating: rating.into(),
            tutored: Some(a.treatment),
            comparison: Some(a.comparison),
            comparison_rostered: Some(cx.comp_rostered),
            comparison_counted: Some(comp_analysed),
        });
    }
    if cx.contract.outcome.kind == OutcomeKind::ScaleGrowth
        && !zt.is_empty()
        && let Some(line) = regression_to_mean(cx.students, idx, prov)
    {
        f.regression_to_mean.push(Warning::new(WarningCode::RegressionToMean, line));
    }
}

/// Warnings of the fairness checks: equivalence not satisfied, high attrition.
pub(super) fn fairness_warnings(f: &Fairness) -> Vec<Warning> {
    let mut out = Vec::new();
    for e in f.equivalence.iter().filter(|e| e.rating == "not satisfied") {
        out.push(
            Warning::new(
                WarningCode::BaselineEquivalence,
                format!(
                    "{}: counted students' pre-tests differ from the comparison group's by g = {:.2} (WWC: > 0.25 SD, \
                 baseline equivalence not satisfied); comparisons with that group need care",
                    e.provider, e.g
                ),
            )
            .about(&e.provider, format!("g = {:.2}", e.g)),
        );
    }
    for a in f.attrition.iter().filter(|a| a.rating == "high") {
        out.push(
            Warning::new(WarningCode::HighAttrition, format!("{}: {}", a.provider, attrition_sentence(a)))
                .about(&a.provider, attrition_detail(a)),
        );
    }
    out
}

/// The provider's own attrition with its counts, e.g. "own 24.3% (54 of 222)".
fn own_rate(a: &AttritionRow) -> String {
    match a.tutored {
        Some(t) => format!("own {:.1}% ({} of {})", 100.0 * t, a.assigned - a.analysed, a.assigned),
        None => format!("own rate not recorded ({} of {})", a.assigned - a.analysed, a.assigned),
    }
}

/// The comparison group's attrition with its counts.
fn comparison_rate(a: &AttritionRow) -> String {
    match (a.comparison, a.comparison_rostered, a.comparison_counted) {
        (Some(c), Some(r), Some(n)) => format!("comparison group {:.1}% ({} of {})", 100.0 * c, r - n, r),
        _ => "comparison group's rate not recorded".into(),
    }
}

/// A high-attrition warning's sentence: each rate with its definition.
pub fn attrition_sentence(a: &AttritionRow) -> String {
    format!(
        "attrition is high under the {} WWC boundary: {}, {}, overall {:.1}%, differential {:.1} points (own: rostered \
         students not counted / rostered; comparison group: the same for untutored students; overall: both groups \
         pooled; differential: own minus comparison group's, in absolute value)",
        a.boundary,
        own_rate(a),
        comparison_rate(a),
        100.0 * a.overall,
        100.0 * a.differential
    )
}

/// A high-attrition warning's summary when listed with others.
fn attrition_detail(a: &AttritionRow) -> String {
    format!("{}, differential {:.1} points, overall {:.1}%", own_rate(a), 100.0 * a.differential, 100.0 * a.overall)
}
