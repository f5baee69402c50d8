//! Issue 20 item 3 in `obc baseline`: several history years carry their between-year
//! variance into the OC curves, and the drift-robust metric `share_meeting_vs_comparison`
//! gets OC curves of its own.

use obc::contract::oc::{Statistic, binomial_pmf, share_exact_p_met};
use obc::contract::run;
use obc::contract::terms::Contract;
use obc::simulate::{self, SimSpec};

use super::common::samples;

/// The sample contract's text with `[baseline]` lines appended.
fn contract(text: &str, baseline: &str) -> Contract {
    Contract::from_toml(&format!("{text}\n[baseline]\nsizes = [100, 400]\n{baseline}"), "contract.toml").unwrap()
}

#[test]
fn several_history_years_fold_their_between_year_variance_into_the_oc_curves() {
    // three history years whose growth shifts by nu_y ~ N(0, 4²) points a year
    let spec = SimSpec { history_years: 3, cohort_sd: 4.0, seed: 2, ..SimSpec::default() };
    let district = simulate::generate(&spec).unwrap();
    let dir = tempfile::tempdir().unwrap();
    simulate::write(&district, dir.path()).unwrap();
    let path = simulate::write_contract(&spec, dir.path()).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let b =
        run::baseline(&contract(&text, "thresholds = [0.45, 0.5, 0.55, 0.6]\n"), dir.path(), false).unwrap().baseline;
    let c = b.cohort.as_ref().expect("three history years give a between-year variance");
    assert_eq!(c.years.len(), 3, "{c:?}");
    assert!(c.tau > 0.02, "tau {}", c.tau);
    assert_eq!(c.df, 2);
    // the levels are each year's share meeting the pooled norms; their spread is beyond
    // sampling error
    let spread = c.years.iter().map(|y| y.level).fold(f64::NAN, f64::max)
        - c.years.iter().map(|y| y.level).fold(f64::NAN, f64::min);
    assert!(spread > 2.0 * c.years[0].se, "{c:?}");
    // a provider of 400 with no effect: without drift its pass rate at 0.55 is the
    // binomial one (about 0 here); with the cohort shift it is at least P(τZ ≥ margin)
    let bau = b.business_as_usual.point;
    for cell in b.cells.iter().filter(|x| x.effect == 0.0 && x.n == 400 && x.threshold > bau + 0.04) {
        let binomial = share_exact_p_met(bau, 400, cell.threshold, b.k);
        assert!(cell.p_met > binomial + 0.02, "t {}: {} vs binomial {binomial}", cell.threshold, cell.p_met);
    }
    // a single-year history has none (data-samples)
    let sample = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
    let one = run::baseline(&contract(&sample, "replicates = 100\n"), &samples(), false).unwrap().baseline;
    assert!(one.cohort.is_none());
}

#[test]
fn the_drift_robust_metric_has_oc_curves_against_a_comparison_group() {
    let sample = std::fs::read_to_string(samples().join("contract.toml")).unwrap();
    let text = sample
        .replace("kind = \"share_meeting\"", "kind = \"share_meeting_vs_comparison\"")
        .replace("value = 0.50", "value = 0.0")
        .replace("value = 0.60", "value = 0.05");
    let b = run::baseline(&contract(&text, "thresholds = [0.0, 0.05]\n"), &samples(), false).unwrap().baseline;
    assert_eq!(b.statistic, Statistic::ShareDifference);
    let c = b.comparison.as_ref().unwrap();
    assert_eq!((c.size, c.history_students), (4070, 4070));
    // with population all, the population is its own comparison group
    assert_eq!(b.business_as_usual.point, 0.0);
    assert!(b.cohort.is_none());
    // P(S >= t) at no effect against the two binomials (n = 100 provider, m = 4070
    // comparison): tolerance 3 Monte Carlo SEs, floor 1 / reps
    let (q, m, n) = (c.share, c.size, 100usize);
    let (pn, pm) = (binomial_pmf(n, q), binomial_pmf(m, q));
    for cell in b.cells.iter().filter(|x| x.effect == 0.0 && x.n == n) {
        let mut exact = 0.0;
        for (j, a) in pn.iter().enumerate().filter(|(_, a)| **a > 1e-15) {
            for (i, w) in pm.iter().enumerate().filter(|(_, w)| **w > 1e-15) {
                let (p, r) = (j as f64 / n as f64, i as f64 / m as f64);
                let s = (p - r) - b.k * (p * (1.0 - p) / n as f64 + r * (1.0 - r) / m as f64).sqrt();
                if s >= cell.threshold {
                    exact += a * w;
                }
            }
        }
        let reps = b.recommendation.reps as f64;
        let tol = 3.0 * (exact * (1.0 - exact) / reps).sqrt().max(1.0 / reps);
        assert!((cell.p_met - exact).abs() <= tol, "t {}: {} vs {exact}", cell.threshold, cell.p_met);
    }
    // a provider with a real effect passes more often
    let at = |d: f64| b.cells.iter().find(|x| x.effect == d && x.n == 400 && x.threshold == 0.0).unwrap().p_met;
    assert!(at(0.2) > at(0.0) + 0.5, "{} vs {}", at(0.2), at(0.0));
}
