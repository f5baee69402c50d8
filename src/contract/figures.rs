//! Aggregates for the report's figures: dosage delivered per provider, growth against the
//! norms, and dose-response. Only aggregates leave this module (no student rows), and
//! every cell with fewer than `min_cell` students is suppressed.
//!
//! | figure | population | what is published |
//! |---|---|---|
//! | dosage | every rostered (tutored) student, per provider | a histogram of sessions attended on common bins, quantiles (type 7) and mean of sessions and of sessions per week; providers with fewer than `min_cell` rostered students: nothing |
//! | growth vs norm | counted students whose norms give an expected growth (conditional norms, norms tables) | ten bins of equal size by expected growth (pooled tutored and comparison); per series and bin: n, mean expected and mean observed growth; bins under `min_cell` left out; the same per provider |
//! | dose-response | tutored students with a pre- and post-test whose outcome can be scored, whatever their enrolment date or dosage | share meeting the outcome by sessions bin (edges at the quintiles of sessions and at the contract's `min_sessions`), with a Wilson score interval at the contract's level; bins under `min_cell` suppressed |
//!
//! Sessions per week: sessions attended divided by the service period in weeks when
//! `[midpoint]` names it (to the `--as-of` date at a midpoint review), else by the
//! student's instructional weeks between pre- and post-test (students without a post-test
//! are then left out of that measure).

use chrono::NaiveDate;
use serde::Serialize;

use super::settle::{Settlement, Student, outcome_met};
use super::terms::Contract;
use crate::stats::normal::qnorm;
use crate::stats::spline::quantile_type7 as quantile7;

/// All figure data of one settlement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    pub dosage: Dosage,
    /// `None`: the norms give no expected growth (SGP norms) or no norms are used.
    pub growth_vs_norm: Option<GrowthVsNorm>,
    pub dose_response: DoseResponse,
}

/// Quantiles and mean of a measure.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub p10: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p90: f64,
    pub mean: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DosageProvider {
    pub provider: String,
    pub rostered: u64,
    pub suppressed: bool,
    pub histogram: Option<Vec<u64>>,
    pub sessions: Option<Summary>,
    pub per_week: Option<Summary>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dosage {
    pub measure: &'static str,
    pub min_sessions: u32,
    pub per_week_basis: String,
    /// Histogram edges; bin i is `[e_i, e_{i+1})`, the last bin closed.
    pub bin_edges: Vec<f64>,
    pub providers: Vec<DosageProvider>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowthPoint {
    pub n: u64,
    pub expected: f64,
    pub observed: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowthSeries {
    pub label: &'static str,
    pub points: Vec<GrowthPoint>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowthProvider {
    pub provider: String,
    pub n: u64,
    pub expected: Option<f64>,
    pub observed: Option<f64>,
    pub suppressed: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GrowthVsNorm {
    pub unit: &'static str,
    pub series: Vec<GrowthSeries>,
    pub providers: Vec<GrowthProvider>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DoseBin {
    pub label: String,
    pub lo: u32,
    /// `None`: open-ended top bin.
    pub hi: Option<u32>,
    pub n: Option<u64>,
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub suppressed: Option<&'static str>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DoseResponse {
    pub measure: &'static str,
    pub population: &'static str,
    pub level: f64,
    pub bins: Vec<DoseBin>,
}

fn summary(mut v: Vec<f64>) -> Option<Summary> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    Some(Summary {
        p10: quantile7(&v, 0.10),
        p25: quantile7(&v, 0.25),
        p50: quantile7(&v, 0.50),
        p75: quantile7(&v, 0.75),
        p90: quantile7(&v, 0.90),
        mean,
    })
}

/// A step of 1, 2 or 5 times a power of ten giving at most `bins` bins up to `max`.
fn nice_step(max: f64, bins: usize) -> f64 {
    let raw = (max / bins as f64).max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag)
}

/// Wilson score interval for `k` of `n` at `level`.
pub fn wilson(k: u64, n: u64, level: f64) -> (f64, f64) {
    let n = n as f64;
    let p = k as f64 / n;
    let z = qnorm(0.5 + level / 2.0);
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Computes the figure data. `as_of`: the midpoint review date, if any.
pub fn figures(contract: &Contract, students: &[Student], s: &Settlement, as_of: Option<NaiveDate>) -> Figures {
    let min_cell = contract.reporting.min_cell as u64;
    let mut counted = vec![false; students.len()];
    for a in &s.audit {
        counted[a.index] = a.counted;
    }
    let providers: Vec<&str> = s.providers.iter().map(|p| p.provider.as_str()).collect();
    let mut members: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, st) in students.iter().enumerate() {
        if let Some(p) = st.provider.as_deref() {
            members.entry(p).or_default().push(i);
        }
    }
    let no_one: Vec<usize> = Vec::new();
    let by_provider = |p: &str| members.get(p).unwrap_or(&no_one);

    // dosage
    let service_weeks = match (contract.midpoint.service_start, contract.midpoint.service_end) {
        (Some(a), Some(b)) => {
            let end = as_of.map_or(b.0, |d| d.min(b.0));
            let weeks = (end - a.0).num_days() as f64 / 7.0;
            (weeks > 0.0).then(|| (weeks, format!("service period {} to {} ({weeks:.1} weeks)", a.0, end)))
        }
        _ => None,
    };
    let per_week_basis = service_weeks.as_ref().map_or_else(
        || "each student's instructional weeks between pre- and post-test".to_string(),
        |(_, text)| text.clone(),
    );
    let max_sessions = students.iter().filter(|st| st.provider.is_some()).map(|st| st.sessions).max().unwrap_or(0);
    let step = nice_step(f64::from(max_sessions) + 1.0, 15);
    let nbins = ((f64::from(max_sessions) / step).floor() as usize + 1).max(1);
    let bin_edges: Vec<f64> = (0..=nbins).map(|i| i as f64 * step).collect();
    let dosage_providers = providers
        .iter()
        .map(|&p| {
            let rows: Vec<&Student> = by_provider(p).iter().map(|&i| &students[i]).collect();
            let rostered = rows.len() as u64;
            let small_provider = s.providers.iter().any(|r| r.provider == p && r.suppressed);
            let suppressed = rostered < min_cell || small_provider;
            if suppressed {
                return DosageProvider {
                    provider: p.to_string(),
                    rostered,
                    suppressed,
                    histogram: None,
                    sessions: None,
                    per_week: None,
                };
            }
            let mut histogram = vec![0u64; nbins];
            for st in &rows {
                let b = ((f64::from(st.sessions) / step).floor() as usize).min(nbins - 1);
                histogram[b] += 1;
            }
            let per_week: Vec<f64> = rows
                .iter()
                .filter_map(|st| match &service_weeks {
                    Some((w, _)) => Some(f64::from(st.sessions) / w),
                    None => st.weeks.filter(|w| *w > 0.0).map(|w| f64::from(st.sessions) / w),
                })
                .collect();
            DosageProvider {
                provider: p.to_string(),
                rostered,
                suppressed,
                histogram: Some(histogram),
                sessions: summary(rows.iter().map(|st| f64::from(st.sessions)).collect()),
                per_week: summary(per_week),
            }
        })
        .collect();
    let dosage = Dosage {
        measure: "sessions attended",
        min_sessions: contract.eligibility.min_sessions,
        per_week_basis,
        bin_edges,
        providers: dosage_providers,
    };

    // growth against the norms
    let scored: Vec<(usize, f64, f64)> = students
        .iter()
        .enumerate()
        .filter(|(i, _)| counted[*i])
        .filter_map(|(i, st)| {
            let e = st.score.as_ref().ok()?.expected_growth?;
            Some((i, e, st.growth()?))
        })
        .collect();
    let growth_vs_norm = (!scored.is_empty()).then(|| {
        let mut order: Vec<usize> = (0..scored.len()).collect();
        order.sort_by(|&a, &b| scored[a].1.total_cmp(&scored[b].1).then(scored[a].0.cmp(&scored[b].0)));
        let mut bin = vec![0usize; scored.len()];
        for (rank, &j) in order.iter().enumerate() {
            bin[j] = rank * 10 / scored.len();
        }
        let series = [("tutored (counted)", true), ("comparison (counted)", false)]
            .into_iter()
            .map(|(label, tutored)| {
                let mut acc = [(0u64, 0.0f64, 0.0f64); 10];
                for (j, &(i, e, g)) in scored.iter().enumerate() {
                    if students[i].provider.is_some() == tutored {
                        let a = &mut acc[bin[j]];
                        a.0 += 1;
                        a.1 += e;
                        a.2 += g;
                    }
                }
                let points = acc
                    .iter()
                    .filter(|a| a.0 >= min_cell.max(1))
                    .map(|&(n, e, g)| GrowthPoint { n, expected: e / n as f64, observed: g / n as f64 })
                    .collect();
                GrowthSeries { label, points }
            })
            .collect();
        let mut sums: std::collections::BTreeMap<&str, (u64, f64, f64)> = std::collections::BTreeMap::new();
        for &(i, e, g) in &scored {
            if let Some(p) = students[i].provider.as_deref() {
                let a = sums.entry(p).or_default();
                a.0 += 1;
                a.1 += e;
                a.2 += g;
            }
        }
        let providers = providers
            .iter()
            .map(|&p| {
                let (n, e, g) = sums.get(p).copied().unwrap_or_default();
                let suppressed = n < min_cell.max(1);
                GrowthProvider {
                    provider: p.to_string(),
                    n,
                    expected: (!suppressed).then(|| e / n as f64),
                    observed: (!suppressed).then(|| g / n as f64),
                    suppressed,
                }
            })
            .collect();
        GrowthVsNorm { unit: "scale-score points", series, providers }
    });

    // dose-response
    let population: Vec<(u32, bool)> = students
        .iter()
        .filter(|st| st.provider.is_some() && st.pre.is_some() && st.post.is_some())
        .filter_map(|st| {
            let met = outcome_met(contract.outcome.kind, contract.outcome.at_least, st).ok()?;
            Some((st.sessions, met))
        })
        .collect();
    let level = contract.decision.level;
    let bins = if population.is_empty() {
        Vec::new()
    } else {
        let mut sessions: Vec<u32> = population.iter().map(|x| x.0).collect();
        sessions.sort_unstable();
        let mut edges: Vec<u32> = (1..5).map(|k| sessions[k * sessions.len() / 5]).collect();
        if contract.eligibility.min_sessions > 0 {
            edges.push(contract.eligibility.min_sessions);
        }
        edges.push(0);
        edges.sort_unstable();
        edges.dedup();
        edges
            .iter()
            .enumerate()
            .map(|(k, &lo)| {
                let hi = edges.get(k + 1).map(|next| next - 1);
                let inside: Vec<bool> =
                    population.iter().filter(|(x, _)| *x >= lo && hi.is_none_or(|h| *x <= h)).map(|x| x.1).collect();
                let n = inside.len() as u64;
                let met = inside.iter().filter(|m| **m).count() as u64;
                let label = match hi {
                    Some(h) if h == lo => format!("{lo} sessions"),
                    Some(h) => format!("{lo}-{h} sessions"),
                    None => format!("{lo}+ sessions"),
                };
                if n < min_cell.max(1) {
                    return DoseBin {
                        label,
                        lo,
                        hi,
                        n: None,
                        value: None,
                        low: None,
                        high: None,
                        suppressed: Some("small cell"),
                    };
                }
                let (low, high) = wilson(met, n, level);
                DoseBin {
                    label,
                    lo,
                    hi,
                    n: Some(n),
                    value: Some(met as f64 / n as f64),
                    low: Some(low),
                    high: Some(high),
                    suppressed: None,
                }
            })
            .collect()
    };
    let dose_response = DoseResponse {
        measure: "share meeting the outcome",
        population: "tutored students with a pre- and post-test and a scored outcome, whatever their enrolment date or dosage",
        level,
        bins,
    };
    Figures { dosage, growth_vs_norm, dose_response }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_prop_test_without_correction() {
        // R 4.2: prop.test(7, 20, conf.level = 0.9, correct = FALSE)$conf.int = 0.2022600401 0.5334873112
        let (lo, hi) = wilson(7, 20, 0.9);
        assert!((lo - 0.202_260_040_1).abs() < 1e-9, "{lo}");
        assert!((hi - 0.533_487_311_2).abs() < 1e-9, "{hi}");
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(73.0, 15), 5.0);
        assert_eq!(nice_step(10.0, 15), 1.0);
        assert_eq!(nice_step(160.0, 15), 20.0);
    }
}
