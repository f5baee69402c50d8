//! Closed-form intervals for a subgroup's share, mean, median and difference of shares, as
//! the equity table shows them (docs/methods.md 9.9):
//!
//! - [`wilson`]: the Wilson score interval of a proportion (Wilson 1927), R's
//!   `prop.test(x, n, correct = FALSE)$conf.int`;
//! - [`newcombe`]: the hybrid score interval of a difference of two independent proportions
//!   (Newcombe 1998, method 10), built from the two Wilson intervals;
//! - [`t_mean`]: the t interval of a mean with `n − 1` degrees of freedom, R's
//!   `t.test(x)$conf.int`;
//! - [`median_ranks`]: the distribution-free interval of a median from order statistics,
//!   with ranks from the Binomial(n, 1/2) distribution.
//!
//! Checked against base R on tests/fixtures/r/interval.json (interval.R).
//!
//! # References
//!
//! - Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
//!   inference. *JASA* 22, 209-212.
//! - Newcombe, R. G. (1998). Interval estimation for the difference between independent
//!   proportions: comparison of eleven methods. *Statistics in Medicine* 17, 873-890.

use super::dist::qt;
use super::normal::qnorm;

/// The Wilson score interval of `successes` out of `n` at `level`; `None` when `n = 0`.
///
/// With `p = x/n` and `z = Φ⁻¹((1 + level)/2)`:
/// `(p + z²/2n ± z √(p(1 − p)/n + z²/4n²)) / (1 + z²/n)`.
pub fn wilson(successes: u64, n: u64, level: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n {
        return None;
    }
    let (x, nf) = (successes as f64, n as f64);
    let p = x / nf;
    let z = qnorm((1.0 + level) / 2.0);
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    // at x = 0 (x = n) the lower (upper) end is exactly 0 (1); rounding can leave ±1e-17
    let low = if successes == 0 { 0.0 } else { (center - half).max(0.0) };
    let high = if successes == n { 1.0 } else { (center + half).min(1.0) };
    Some((low, high))
}

/// Newcombe's hybrid score interval of `x1/n1 − x2/n2` at `level` (both groups
/// independent): with the Wilson intervals `(l1, u1)` and `(l2, u2)`,
/// `d − √((p1 − l1)² + (u2 − p2)²)` to `d + √((u1 − p1)² + (p2 − l2)²)`. `None` when a group
/// is empty.
pub fn newcombe(x1: u64, n1: u64, x2: u64, n2: u64, level: f64) -> Option<(f64, f64)> {
    let (l1, u1) = wilson(x1, n1, level)?;
    let (l2, u2) = wilson(x2, n2, level)?;
    let (p1, p2) = (x1 as f64 / n1 as f64, x2 as f64 / n2 as f64);
    let d = p1 - p2;
    let low = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((low, high))
}

/// The mean of `values` and its t interval `m ± t_{n−1} s/√n` at `level`; `None` with
/// fewer than 2 values or a non-finite result.
pub fn t_mean(values: &[f64], level: f64) -> Option<(f64, f64, f64)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let m = values.iter().sum::<f64>() / nf;
    let sd = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (nf - 1.0)).sqrt();
    let half = qt((1.0 + level) / 2.0, nf - 1.0) * sd / nf.sqrt();
    (m.is_finite() && half.is_finite()).then_some((m, m - half, m + half))
}

/// The 0-based ranks `(r − 1, n − r)` of the order statistics `x₍ᵣ₎ ≤ median ≤ x₍ₙ₋ᵣ₊₁₎`
/// that cover the median of a continuous distribution with probability `1 − 2 P(B ≤ r − 1)`
/// ≥ `level`, `B ~ Binomial(n, 1/2)`, for the largest such `r`; the extreme ranks `(0, n − 1)`
/// when even they cover less than `level` (n ≤ 5 at 95%). `None` when `n = 0`.
pub fn median_ranks(n: usize, level: f64) -> Option<(usize, usize)> {
    if n == 0 {
        return None;
    }
    let tail = (1.0 - level) / 2.0;
    // P(B ≤ j) accumulated in log space from P(B = 0) = 2⁻ⁿ
    let ln_half = -(n as f64) * std::f64::consts::LN_2;
    let mut log_choose = 0.0f64;
    let mut cdf = 0.0;
    let mut r = 0;
    for j in 0..=n / 2 {
        if j > 0 {
            log_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
        }
        cdf += (log_choose + ln_half).exp();
        // P(B ≤ j) ≤ tail: rank r = j + 1 still covers; 1e-12 absorbs rounding at equality
        if cdf <= tail * (1.0 + 1e-12) {
            r = j + 1;
        } else {
            break;
        }
    }
    let r = r.max(1);
    Some((r - 1, n - r))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/r/interval.json");

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).unwrap()
    }

    fn close(got: f64, want: f64, tol: f64, what: &str) {
        assert!((got - want).abs() <= tol, "{what}: {got} vs R {want}");
    }

    #[test]
    fn wilson_matches_prop_test_without_continuity_correction() {
        let f = fixture();
        let cases = f["wilson"].as_array().unwrap();
        assert!(cases.len() >= 8);
        for c in cases {
            let (x, n, level) = (c["x"].as_u64().unwrap(), c["n"].as_u64().unwrap(), c["level"].as_f64().unwrap());
            let (lo, hi) = wilson(x, n, level).unwrap();
            close(lo, c["low"].as_f64().unwrap(), 1e-12, &format!("wilson low {x}/{n}"));
            close(hi, c["high"].as_f64().unwrap(), 1e-12, &format!("wilson high {x}/{n}"));
        }
        assert_eq!(wilson(0, 0, 0.95), None);
        assert_eq!(wilson(3, 2, 0.95), None);
    }

    #[test]
    fn newcombe_matches_its_formula_on_r_wilson_limits() {
        let f = fixture();
        for c in f["newcombe"].as_array().unwrap() {
            let u = |k: &str| c[k].as_u64().unwrap();
            let (lo, hi) = newcombe(u("x1"), u("n1"), u("x2"), u("n2"), c["level"].as_f64().unwrap()).unwrap();
            close(lo, c["low"].as_f64().unwrap(), 1e-12, "newcombe low");
            close(hi, c["high"].as_f64().unwrap(), 1e-12, "newcombe high");
        }
    }

    #[test]
    fn t_interval_matches_t_test() {
        let f = fixture();
        for c in f["t"].as_array().unwrap() {
            let v: Vec<f64> = c["x"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            let (m, lo, hi) = t_mean(&v, c["level"].as_f64().unwrap()).unwrap();
            close(m, c["mean"].as_f64().unwrap(), 1e-12, "mean");
            close(lo, c["low"].as_f64().unwrap(), 1e-10, "t low");
            close(hi, c["high"].as_f64().unwrap(), 1e-10, "t high");
        }
        assert_eq!(t_mean(&[1.0], 0.9), None);
    }

    #[test]
    fn median_ranks_match_qbinom_and_cover_at_least_the_level() {
        let f = fixture();
        for c in f["median"].as_array().unwrap() {
            let (n, level) = (c["n"].as_u64().unwrap() as usize, c["level"].as_f64().unwrap());
            let (lo, hi) = median_ranks(n, level).unwrap();
            assert_eq!(
                (lo + 1, hi + 1),
                (c["low_rank"].as_u64().unwrap() as usize, c["high_rank"].as_u64().unwrap() as usize),
                "n {n} level {level}"
            );
            let cover = c["coverage"].as_f64().unwrap();
            if lo > 0 {
                assert!(cover >= level - 1e-12, "n {n}: coverage {cover} under {level}");
            }
        }
        assert_eq!(median_ranks(0, 0.9), None);
        assert_eq!(median_ranks(3, 0.95), Some((0, 2)));
    }
}
