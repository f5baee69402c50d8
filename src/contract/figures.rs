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

use std::collections::BTreeMap;

use chrono::NaiveDate;

pub use super::results::{
    Dosage, DosageProvider, DoseBin, DoseResponse, Figures, GrowthPoint, GrowthProvider, GrowthSeries, GrowthVsNorm,
    Summary,
};
use super::settle::{Settlement, Student, outcome_met};
use super::terms::Contract;
use crate::stats::normal::qnorm;
use crate::stats::spline::quantile_type7 as quantile7;

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
    let providers: Vec<&str> = s.providers.iter().map(|p| p.provider.as_str()).collect();
    Figures {
        dosage: dosage(contract, students, s, &providers, as_of),
        growth_vs_norm: growth_vs_norm(students, &counted_flags(students, s), &providers, min_cell),
        dose_response: dose_response(contract, students, min_cell),
    }
}

/// Whether each student (by index into `students`) is counted, as the settlement's audit says.
fn counted_flags(students: &[Student], s: &Settlement) -> Vec<bool> {
    let mut counted = vec![false; students.len()];
    for a in &s.audit {
        counted[a.index] = a.counted;
    }
    counted
}

/// Indices of each provider's rostered students, by provider.
fn members_by_provider(students: &[Student]) -> BTreeMap<&str, Vec<usize>> {
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, st) in students.iter().enumerate() {
        if let Some(p) = st.provider.as_deref() {
            members.entry(p).or_default().push(i);
        }
    }
    members
}

/// The service period in weeks (to `as_of` when that is earlier than its end) with its
/// description, when `[midpoint]` names both ends and the period is not empty.
fn service_weeks(contract: &Contract, as_of: Option<NaiveDate>) -> Option<(f64, String)> {
    let (Some(a), Some(b)) = (contract.midpoint.service_start, contract.midpoint.service_end) else {
        return None;
    };
    let end = as_of.map_or(b.0, |d| d.min(b.0));
    let weeks = (end - a.0).num_days() as f64 / 7.0;
    (weeks > 0.0).then(|| (weeks, format!("service period {} to {} ({weeks:.1} weeks)", a.0, end)))
}

/// Equal bins of sessions attended shared by every provider's histogram: the step (1, 2 or 5
/// times a power of ten, at most 15 bins) and the number of bins from 0 to the most sessions
/// any tutored student attended.
fn session_bins(students: &[Student]) -> (f64, usize) {
    let max_sessions = students.iter().filter(|st| st.provider.is_some()).map(|st| st.sessions).max().unwrap_or(0);
    let step = nice_step(f64::from(max_sessions) + 1.0, 15);
    let nbins = ((f64::from(max_sessions) / step).floor() as usize + 1).max(1);
    (step, nbins)
}

/// The dosage figure: per provider, a histogram and summaries of sessions attended and of
/// sessions per week over its rostered students; small providers are suppressed.
fn dosage(
    contract: &Contract,
    students: &[Student],
    s: &Settlement,
    providers: &[&str],
    as_of: Option<NaiveDate>,
) -> Dosage {
    let min_cell = contract.reporting.min_cell as u64;
    let service_weeks = service_weeks(contract, as_of);
    let per_week_basis = service_weeks.as_ref().map_or_else(
        || "each student's instructional weeks between pre- and post-test".to_string(),
        |(_, text)| text.clone(),
    );
    let (step, nbins) = session_bins(students);
    let members = members_by_provider(students);
    // A provider's metric is suppressed when it has few counted students. Before any
    // post-test (a midpoint review ahead of the interim test) nobody is counted, and the
    // dosage of the rostered students is all there is to review: only `min_cell` applies.
    let outcomes = students.iter().any(|st| st.post.is_some());
    let dosage_providers = providers
        .iter()
        .map(|&p| {
            let rows: Vec<&Student> = members.get(p).into_iter().flatten().map(|&i| &students[i]).collect();
            let small_provider = outcomes && s.providers.iter().any(|r| r.provider == p && r.suppressed);
            let suppressed = (rows.len() as u64) < min_cell || small_provider;
            let service = service_weeks.as_ref().map(|(w, _)| *w);
            dosage_provider(p, &rows, suppressed, (step, nbins), service)
        })
        .collect();
    Dosage {
        measure: "sessions attended".into(),
        min_sessions: contract.eligibility.min_sessions,
        per_week_basis,
        bin_edges: (0..=nbins).map(|i| i as f64 * step).collect(),
        providers: dosage_providers,
    }
}

/// One provider's dosage: nothing but the count when `suppressed`, else the histogram on
/// `bins` (step, count) and the summaries. Sessions per week divide by `service_weeks` when
/// the contract names a service period, else by each student's instructional weeks.
fn dosage_provider(
    provider: &str,
    rows: &[&Student],
    suppressed: bool,
    (step, nbins): (f64, usize),
    service_weeks: Option<f64>,
) -> DosageProvider {
    let rostered = rows.len() as u64;
    if suppressed {
        return DosageProvider {
            provider: provider.to_string(),
            rostered,
            suppressed,
            histogram: None,
            sessions: None,
            per_week: None,
        };
    }
    let mut histogram = vec![0u64; nbins];
    for st in rows {
        let b = ((f64::from(st.sessions) / step).floor() as usize).min(nbins - 1);
        histogram[b] += 1;
    }
    let per_week: Vec<f64> = rows
        .iter()
        .filter_map(|st| match service_weeks {
            Some(w) => Some(f64::from(st.sessions) / w),
            None => st.weeks.filter(|w| *w > 0.0).map(|w| f64::from(st.sessions) / w),
        })
        .collect();
    DosageProvider {
        provider: provider.to_string(),
        rostered,
        suppressed,
        histogram: Some(histogram),
        sessions: summary(rows.iter().map(|st| f64::from(st.sessions)).collect()),
        per_week: summary(per_week),
    }
}

/// Counts and sums of (expected growth, observed growth) in one cell.
type GrowthSums = (u64, f64, f64);

/// The growth-vs-norm figure over counted students whose norms give an expected growth;
/// `None` when there are none (SGP norms, or no norms).
fn growth_vs_norm(students: &[Student], counted: &[bool], providers: &[&str], min_cell: u64) -> Option<GrowthVsNorm> {
    // (student index, expected growth, observed growth)
    let scored: Vec<(usize, f64, f64)> = students
        .iter()
        .enumerate()
        .filter(|(i, _)| counted[*i])
        .filter_map(|(i, st)| {
            let e = st.score.as_ref().ok()?.expected_growth?;
            Some((i, e, st.growth()?))
        })
        .collect();
    if scored.is_empty() {
        return None;
    }
    let bin = expected_growth_deciles(&scored);
    let series = [("tutored (counted)", true), ("comparison (counted)", false)]
        .into_iter()
        .map(|(label, tutored)| growth_series(students, &scored, &bin, label, tutored, min_cell))
        .collect();
    Some(GrowthVsNorm {
        unit: "scale-score points".into(),
        series,
        providers: growth_providers(students, &scored, providers, min_cell),
    })
}

/// Ten bins of equal size (0..=9) by expected growth, ties broken by student index: the bin
/// of each entry of `scored`.
fn expected_growth_deciles(scored: &[(usize, f64, f64)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scored.len()).collect();
    order.sort_by(|&a, &b| scored[a].1.total_cmp(&scored[b].1).then(scored[a].0.cmp(&scored[b].0)));
    let mut bin = vec![0usize; scored.len()];
    for (rank, &j) in order.iter().enumerate() {
        bin[j] = rank * 10 / scored.len();
    }
    bin
}

/// One series (tutored or comparison) of the growth-vs-norm figure: mean expected and
/// observed growth per decile bin, leaving out bins under `min_cell`.
fn growth_series(
    students: &[Student],
    scored: &[(usize, f64, f64)],
    bin: &[usize],
    label: &'static str,
    tutored: bool,
    min_cell: u64,
) -> GrowthSeries {
    let mut acc: [GrowthSums; 10] = [(0, 0.0, 0.0); 10];
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
    GrowthSeries { label: label.into(), points }
}

/// Mean expected and observed growth of each provider's scored students; providers under
/// `min_cell` are suppressed.
fn growth_providers(
    students: &[Student],
    scored: &[(usize, f64, f64)],
    providers: &[&str],
    min_cell: u64,
) -> Vec<GrowthProvider> {
    let mut sums: BTreeMap<&str, GrowthSums> = BTreeMap::new();
    for &(i, e, g) in scored {
        if let Some(p) = students[i].provider.as_deref() {
            let a = sums.entry(p).or_default();
            a.0 += 1;
            a.1 += e;
            a.2 += g;
        }
    }
    providers
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
        .collect()
}

/// The dose-response figure: the share meeting the outcome by sessions bin, over tutored
/// students with both tests whose outcome can be scored.
fn dose_response(contract: &Contract, students: &[Student], min_cell: u64) -> DoseResponse {
    // (sessions attended, outcome met)
    let population: Vec<(u32, bool)> = students
        .iter()
        .filter(|st| st.provider.is_some() && st.pre.is_some() && st.post.is_some())
        .filter_map(|st| {
            let met = outcome_met(&contract.outcome, st).ok()?;
            Some((st.sessions, met))
        })
        .collect();
    let level = contract.decision.level;
    let edges =
        if population.is_empty() { Vec::new() } else { dose_edges(&population, contract.eligibility.min_sessions) };
    let bins = edges
        .iter()
        .enumerate()
        .map(|(k, &lo)| dose_bin(&population, lo, edges.get(k + 1).map(|next| next - 1), level, min_cell))
        .collect();
    DoseResponse {
        measure: "share meeting the outcome".into(),
        population:
            "tutored students with a pre- and post-test and a scored outcome, whatever their enrolment date or dosage"
                .into(),
        level,
        bins,
    }
}

/// Lower edges of the sessions bins: 0, the quintiles of sessions attended and the
/// contract's `min_sessions` (when above 0), sorted without repeats. `population` is not empty.
fn dose_edges(population: &[(u32, bool)], min_sessions: u32) -> Vec<u32> {
    let mut sessions: Vec<u32> = population.iter().map(|x| x.0).collect();
    sessions.sort_unstable();
    let mut edges: Vec<u32> = (1..5).map(|k| sessions[k * sessions.len() / 5]).collect();
    if min_sessions > 0 {
        edges.push(min_sessions);
    }
    edges.push(0);
    edges.sort_unstable();
    edges.dedup();
    edges
}

/// One sessions bin `lo..=hi` (`hi` `None`: open-ended) with the share meeting the outcome
/// and its Wilson interval at `level`; suppressed under `min_cell`.
fn dose_bin(population: &[(u32, bool)], lo: u32, hi: Option<u32>, level: f64, min_cell: u64) -> DoseBin {
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
            suppressed: Some(super::suppress::Suppression::SmallCell),
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

    #[test]
    fn dose_edges_start_at_zero_and_add_the_quintiles_and_min_sessions_once() {
        // sessions 0..=49: quintiles at positions 10, 20, 30, 40
        let population: Vec<(u32, bool)> = (0..50).map(|x| (x, x % 2 == 0)).collect();
        assert_eq!(dose_edges(&population, 20), vec![0, 10, 20, 30, 40]);
        assert_eq!(dose_edges(&population, 25), vec![0, 10, 20, 25, 30, 40]);
        assert_eq!(dose_edges(&population, 0), vec![0, 10, 20, 30, 40]);
        // every student attended the same number of sessions: one edge besides 0
        assert_eq!(dose_edges(&[(12, true); 30], 0), vec![0, 12]);
    }

    #[test]
    fn dose_bins_are_labelled_and_suppressed_under_min_cell() {
        let population: Vec<(u32, bool)> = (0..40).map(|x| (x, x < 7)).collect();
        let b = dose_bin(&population, 0, Some(19), 0.9, 10);
        assert_eq!((b.label.as_str(), b.n, b.value), ("0-19 sessions", Some(20), Some(7.0 / 20.0)));
        assert_eq!((b.low, b.high), (Some(wilson(7, 20, 0.9).0), Some(wilson(7, 20, 0.9).1)));
        let top = dose_bin(&population, 35, None, 0.9, 10);
        assert_eq!(
            (top.label.as_str(), top.n, top.value, top.suppressed),
            ("35+ sessions", None, None, Some(crate::contract::suppress::Suppression::SmallCell))
        );
        assert_eq!(dose_bin(&population, 5, Some(5), 0.9, 1).label, "5 sessions");
    }

    #[test]
    fn expected_growth_deciles_have_equal_sizes_and_follow_expected_growth() {
        // 25 students, expected growth decreasing with the index; ties broken by index
        let scored: Vec<(usize, f64, f64)> = (0..25).map(|i| (i, f64::from(24 - i as i32 / 2), 0.0)).collect();
        let bin = expected_growth_deciles(&scored);
        let mut sizes = [0usize; 10];
        for &b in &bin {
            sizes[b] += 1;
        }
        assert!(sizes.iter().all(|&n| n == 2 || n == 3), "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 25);
        for (a, b) in (0..25).flat_map(|a| (0..25).map(move |b| (a, b))) {
            let (ka, kb) = ((scored[a].1, scored[a].0), (scored[b].1, scored[b].0));
            if ka < kb {
                assert!(bin[a] <= bin[b], "{a} {b}");
            }
        }
        assert_eq!((bin[24], bin[0]), (0, 9));
    }
}
