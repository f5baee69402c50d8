//! Cohort drift: how much the business-as-usual level moves from one school year to the
//! next (docs/methods.md 10.6). Pure arithmetic; no files.
//!
//! Given, per history year, the level of a metric (for example the share of the year's
//! students meeting the norms) and its sampling variance (for a share, `p(1 − p)/n`),
//! [`CohortSpec::fit`] estimates the between-year variance τ² of the level by the
//! DerSimonian–Laird method of moments (DerSimonian and Laird 1986, Controlled Clinical
//! Trials 7:177-188):
//!
//! ```text
//! wᵢ = 1/vᵢ,   ȳ = Σ wᵢ yᵢ / Σ wᵢ,   Q = Σ wᵢ (yᵢ − ȳ)²,   df = k − 1
//! τ² = max(0, (Q − df) / (Σ wᵢ − Σ wᵢ² / Σ wᵢ))
//! ```
//!
//! and the random-effects mean level `μ = Σ wᵢ* yᵢ / Σ wᵢ*` with `wᵢ* = 1/(vᵢ + τ²)`, its
//! standard error `√(1/Σ wᵢ*)`, and `I² = max(0, (Q − df)/Q)`. These are the numbers R's
//! `metafor::rma(yi, vi, method = "DL")` reports as `tau2`, `b`, `se`, `QE` and `I2`
//! (tests/fixtures/r/drift.R).

use serde::Serialize;

/// The level of the metric in one history year and its sampling variance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct YearLevel {
    /// The school year, e.g. `"2023-24"` (a label only).
    pub school_year: String,
    /// The metric over the year's students (e.g. the share meeting the norms).
    pub level: f64,
    /// The sampling variance of `level` (e.g. `p(1 − p)/n`); finite and positive.
    pub variance: f64,
    /// Students the level is computed over (for reporting; not used by the fit).
    pub n: usize,
}

impl YearLevel {
    /// The share `met / n` of a year with its binomial variance `p(1 − p)/n`.
    pub fn share(school_year: &str, met: usize, n: usize) -> YearLevel {
        let p = if n == 0 { f64::NAN } else { met as f64 / n as f64 };
        YearLevel { school_year: school_year.to_string(), level: p, variance: p * (1.0 - p) / n as f64, n }
    }
}

/// The years whose business-as-usual levels are compared.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CohortSpec {
    pub years: Vec<YearLevel>,
}

/// The DerSimonian–Laird fit (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CohortFit {
    /// Years used (`k`).
    pub years: usize,
    /// τ²: between-year variance of the level, truncated at 0.
    pub tau2: f64,
    /// Random-effects mean level `Σ wᵢ* yᵢ / Σ wᵢ*`.
    pub mean: f64,
    /// Its standard error `√(1/Σ wᵢ*)`.
    pub mean_se: f64,
    /// Inverse-variance (fixed-effect) mean level `ȳ`.
    pub fixed_mean: f64,
    /// Cochran's Q.
    pub q: f64,
    /// Its degrees of freedom, `k − 1`.
    pub df: usize,
    /// `max(0, (Q − df)/Q)`: the share of the spread between years beyond sampling error
    /// (0 when Q = 0).
    pub i2: f64,
}

/// Why the drift cannot be estimated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DriftError {
    /// Fewer than two years.
    #[error("the between-year variance needs at least 2 history years, got {0}")]
    TooFewYears(usize),
    /// A level that is not a finite number.
    #[error("history year {year}: the level {level} is not a finite number")]
    Level { year: String, level: f64 },
    /// A sampling variance that is not finite and positive (for a share: 0 when every or
    /// no student met it).
    #[error("history year {year}: the sampling variance {variance} is not a finite positive number")]
    Variance { year: String, variance: f64 },
}

impl CohortSpec {
    /// The DerSimonian–Laird estimate over the years (module docs); an error with fewer
    /// than two years or a level or variance that cannot be weighted.
    pub fn fit(&self) -> Result<CohortFit, DriftError> {
        let k = self.years.len();
        if k < 2 {
            return Err(DriftError::TooFewYears(k));
        }
        for y in &self.years {
            if !y.level.is_finite() {
                return Err(DriftError::Level { year: y.school_year.clone(), level: y.level });
            }
            if !(y.variance.is_finite() && y.variance > 0.0) {
                return Err(DriftError::Variance { year: y.school_year.clone(), variance: y.variance });
            }
        }
        let w: Vec<f64> = self.years.iter().map(|y| 1.0 / y.variance).collect();
        let sum_w: f64 = w.iter().sum();
        let fixed_mean = weighted_mean(&w, &self.years);
        let q: f64 = w.iter().zip(&self.years).map(|(w, y)| w * (y.level - fixed_mean).powi(2)).sum();
        let df = k - 1;
        let c = sum_w - w.iter().map(|w| w * w).sum::<f64>() / sum_w;
        let tau2 = ((q - df as f64) / c).max(0.0);
        let w_re: Vec<f64> = self.years.iter().map(|y| 1.0 / (y.variance + tau2)).collect();
        let mean = weighted_mean(&w_re, &self.years);
        let mean_se = (1.0 / w_re.iter().sum::<f64>()).sqrt();
        let i2 = if q > 0.0 { ((q - df as f64) / q).max(0.0) } else { 0.0 };
        Ok(CohortFit { years: k, tau2, mean, mean_se, fixed_mean, q, df, i2 })
    }
}

/// `Σ wᵢ yᵢ / Σ wᵢ`.
fn weighted_mean(w: &[f64], years: &[YearLevel]) -> f64 {
    let num: f64 = w.iter().zip(years).map(|(w, y)| w * y.level).sum();
    num / w.iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(levels: &[(f64, f64)]) -> CohortSpec {
        CohortSpec {
            years: levels
                .iter()
                .enumerate()
                .map(|(i, &(level, variance))| YearLevel { school_year: format!("y{i}"), level, variance, n: 0 })
                .collect(),
        }
    }

    #[test]
    fn a_hand_worked_example() {
        // w = 1000, 1000, 500; Σw = 2500; ȳ = (400 + 500 + 300)/2500 = 0.48;
        // Q = 1000·0.08² + 1000·0.02² + 500·0.12² = 6.4 + 0.4 + 7.2 = 14;
        // C = 2500 − (10⁶ + 10⁶ + 250,000)/2500 = 1600; τ² = (14 − 2)/1600 = 0.0075;
        // w* = 1/0.0085, 1/0.0085, 1/0.0095.
        let f = spec(&[(0.40, 0.001), (0.50, 0.001), (0.60, 0.002)]).fit().unwrap();
        assert_eq!((f.years, f.df), (3, 2));
        assert!((f.fixed_mean - 0.48).abs() < 1e-12, "{f:?}");
        assert!((f.q - 14.0).abs() < 1e-12, "{f:?}");
        assert!((f.tau2 - 0.0075).abs() < 1e-12, "{f:?}");
        assert!((f.i2 - 12.0 / 14.0).abs() < 1e-12, "{f:?}");
        let (a, b) = (1.0 / 0.0085, 1.0 / 0.0095);
        let mean = (a * 0.4 + a * 0.5 + b * 0.6) / (2.0 * a + b);
        assert!((f.mean - mean).abs() < 1e-12, "{f:?}");
        assert!((f.mean_se - (1.0 / (2.0 * a + b)).sqrt()).abs() < 1e-12, "{f:?}");
    }

    #[test]
    fn tau2_is_truncated_at_zero_and_the_mean_is_then_the_fixed_one() {
        // Levels closer than their sampling error: Q = 400·(0.01² + 0 + 0.01²) = 0.08 < df.
        let f = spec(&[(0.49, 0.0025), (0.50, 0.0025), (0.51, 0.0025)]).fit().unwrap();
        assert!((f.q - 0.08).abs() < 1e-12, "{f:?}");
        assert_eq!((f.tau2, f.i2), (0.0, 0.0));
        assert!((f.mean - f.fixed_mean).abs() < 1e-15 && (f.mean - 0.5).abs() < 1e-12, "{f:?}");
        assert!((f.mean_se - (0.0025f64 / 3.0).sqrt()).abs() < 1e-12, "{f:?}");
        // Identical levels: Q = 0.
        let f = spec(&[(0.5, 0.001), (0.5, 0.002)]).fit().unwrap();
        assert_eq!((f.q, f.tau2, f.i2), (0.0, 0.0, 0.0));
    }

    #[test]
    fn fewer_than_two_years_or_unweightable_levels_are_refused() {
        assert_eq!(CohortSpec::default().fit(), Err(DriftError::TooFewYears(0)));
        assert_eq!(spec(&[(0.5, 0.001)]).fit(), Err(DriftError::TooFewYears(1)));
        let all_met = CohortSpec { years: vec![YearLevel::share("a", 10, 10), YearLevel::share("b", 5, 10)] };
        assert!(matches!(all_met.fit(), Err(DriftError::Variance { year, .. }) if year == "a"));
        let none = CohortSpec { years: vec![YearLevel::share("a", 5, 10), YearLevel::share("b", 0, 0)] };
        assert!(matches!(none.fit(), Err(DriftError::Level { year, .. }) if year == "b"));
        assert!(matches!(spec(&[(0.5, 0.001), (f64::INFINITY, 0.1)]).fit(), Err(DriftError::Level { .. })));
    }

    #[test]
    fn shares_carry_their_binomial_variance() {
        let y = YearLevel::share("2023-24", 30, 120);
        assert_eq!((y.level, y.n), (0.25, 120));
        assert!((y.variance - 0.25 * 0.75 / 120.0).abs() < 1e-18);
    }

    /// One data set of tests/fixtures/r/drift.json.
    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        yi: Vec<f64>,
        vi: Vec<f64>,
        tau2: f64,
        mean: f64,
        mean_se: f64,
        fixed_mean: f64,
        q: f64,
        df: usize,
        i2: f64,
    }

    #[test]
    fn matches_r() {
        let json: serde_json::Value = serde_json::from_str(include_str!("../../tests/fixtures/r/drift.json")).unwrap();
        let cases: Vec<Case> = serde_json::from_value(json["cases"].clone()).unwrap();
        assert!(cases.len() >= 4);
        for c in cases {
            let f = spec(&c.yi.iter().copied().zip(c.vi.iter().copied()).collect::<Vec<_>>()).fit().unwrap();
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * (1.0 + b.abs());
            assert_eq!(f.df, c.df, "{}", c.name);
            for (what, got, want) in [
                ("tau2", f.tau2, c.tau2),
                ("mean", f.mean, c.mean),
                ("mean_se", f.mean_se, c.mean_se),
                ("fixed_mean", f.fixed_mean, c.fixed_mean),
                ("q", f.q, c.q),
                ("i2", f.i2, c.i2),
            ] {
                assert!(close(got, want), "{} {what}: {got} vs R {want}", c.name);
            }
        }
    }
}
