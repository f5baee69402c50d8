//! Weighted estimates with a bootstrap interval, for a history reweighted to the students a
//! district plans to serve (`obc baseline` with `population = "like_served"`,
//! docs/methods.md 10.1). Every student is a resampling unit with a fixed weight: a
//! replicate draws students with replacement and recomputes the weighted statistic, so the
//! interval carries the sampling error of the history (not of the weights, which are held
//! at their full-sample values).

use super::estimate::{Resampling, finish, interval, no_interval};
use crate::contract::results::Estimate;
use crate::stats::bootstrap::{self, ClusterSums, Plan};

/// `Σ w v / Σ w` with a student bootstrap (`r.cluster` and `r.clusters` are ignored: every
/// student is a unit). Weights must be finite, non-negative and not all zero.
pub fn estimate_weighted_mean(values: &[f64], weights: &[f64], r: &Resampling) -> Estimate {
    let n = values.len();
    let (sum, count): (Vec<f64>, Vec<f64>) = values.iter().zip(weights).map(|(v, w)| (v * w, *w)).unzip();
    let (st, ct) = (sum.iter().sum::<f64>(), count.iter().sum::<f64>());
    let point = st / ct;
    if n < 2 {
        return no_interval(point, n, r.level, r.method, "fewer than 2 resampling units: no interval");
    }
    let influence = || {
        let m = n as f64;
        (0..n).map(|j| (m - 1.0) * (point - (st - sum[j]) / (ct - count[j]))).collect()
    };
    let sums = ClusterSums::from_totals(sum.clone(), count.clone());
    let plan = Plan { units: n, strata: None, reps: r.reps, seed: r.seed };
    let t = match sums.replicates(&plan) {
        Ok(t) => t,
        Err(e) => return no_interval(point, n, r.level, r.method, &e.to_string()),
    };
    let iv = interval(r.method, &t, point, influence, r.level);
    finish(point, t, iv, r.method, r.level, n)
}

/// The weighted median of SGPs (1..=99): the smallest value whose cumulative weight reaches
/// half the total, averaged with the next value present when it reaches exactly half (so
/// equal weights give R's `median`), with a student bootstrap as for the mean.
pub fn estimate_weighted_median_sgp(sgp: &[u8], weights: &[f64], r: &Resampling) -> Estimate {
    let n = sgp.len();
    let median = |drawn: &mut dyn Iterator<Item = usize>| {
        let mut w = [0.0f64; 100];
        for i in drawn {
            w[usize::from(sgp[i])] += weights[i];
        }
        weighted_median_of_bins(&w)
    };
    let point = median(&mut (0..n));
    if n < 2 {
        return no_interval(point, n, r.level, r.method, "fewer than 2 resampling units: no interval");
    }
    let plan = Plan { units: n, strata: None, reps: r.reps, seed: r.seed };
    let t = match bootstrap::replicates(&plan, |d| median(&mut d.iter().copied())) {
        Ok(t) => t,
        Err(e) => return no_interval(point, n, r.level, r.method, &e.to_string()),
    };
    let influence = || {
        let m = n as f64;
        (0..n).map(|j| (m - 1.0) * (point - median(&mut (0..n).filter(|&k| k != j)))).collect()
    };
    let iv = interval(r.method, &t, point, influence, r.level);
    finish(point, t, iv, r.method, r.level, n)
}

/// The weighted median of values `0..w.len()` with weight `w[v]` (see
/// [`estimate_weighted_median_sgp`]); NaN when every weight is 0.
fn weighted_median_of_bins(w: &[f64]) -> f64 {
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return f64::NAN;
    }
    let half = total / 2.0;
    let mut acc = 0.0;
    for (v, &x) in w.iter().enumerate() {
        acc += x;
        if x > 0.0 && acc >= half {
            if acc == half
                && let Some(next) = (v + 1..w.len()).find(|&u| w[u] > 0.0)
            {
                return (v + next) as f64 / 2.0;
            }
            return v as f64;
        }
    }
    f64::NAN
}

/// The weighted median of `values` (same rule as [`estimate_weighted_median_sgp`], for any
/// finite values); NaN when empty or every weight is 0.
pub fn weighted_median(values: &[f64], weights: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..values.len()).filter(|&i| weights[i] > 0.0).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let total: f64 = order.iter().map(|&i| weights[i]).sum();
    let half = total / 2.0;
    let mut acc = 0.0;
    for (k, &i) in order.iter().enumerate() {
        acc += weights[i];
        if acc >= half {
            if acc == half
                && let Some(&next) = order.get(k + 1)
            {
                return (values[i] + values[next]) / 2.0;
            }
            return values[i];
        }
    }
    f64::NAN
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::settle::{estimate_mean, estimate_median_sgp};
    use crate::contract::terms::IntervalMethod;

    fn resampling(cluster: &[usize]) -> Resampling<'_> {
        Resampling {
            cluster,
            clusters: cluster.len(),
            reps: 500,
            seed: 3,
            method: IntervalMethod::Percentile,
            level: 0.9,
        }
    }

    #[test]
    fn equal_weights_give_the_unweighted_estimates() {
        let v: Vec<f64> = (0..40).map(|i| f64::from(i % 7) * 1.5).collect();
        let sgp: Vec<u8> = (0..40).map(|i| (i * 37 % 99 + 1) as u8).collect();
        let cl: Vec<usize> = (0..40).collect();
        let w = vec![2.5; 40];
        let a = estimate_weighted_mean(&v, &w, &resampling(&cl));
        let b = estimate_mean(&v, &resampling(&cl));
        assert!((a.point - b.point).abs() < 1e-12);
        // the same draws: the replicates agree to rounding
        assert!(a.replicates.iter().zip(&b.replicates).all(|(x, y)| (x - y).abs() < 1e-12));
        let a = estimate_weighted_median_sgp(&sgp, &w, &resampling(&cl));
        let b = estimate_median_sgp(&sgp, &resampling(&cl));
        assert_eq!((a.point, a.low, a.high), (b.point, b.low, b.high));
        let f: Vec<f64> = sgp.iter().map(|&x| f64::from(x)).collect();
        assert_eq!(weighted_median(&f, &w), b.point);
    }

    #[test]
    fn weights_count_as_repeated_students() {
        // weight 3 on a value is the value written three times
        let v = [1.0, 2.0, 10.0];
        let w = [1.0, 1.0, 3.0];
        let cl: Vec<usize> = (0..3).collect();
        assert!((estimate_weighted_mean(&v, &w, &resampling(&cl)).point - 33.0 / 5.0).abs() < 1e-12);
        assert_eq!(weighted_median(&v, &w), 10.0);
        assert_eq!(weighted_median(&[1.0, 2.0, 3.0, 4.0], &[1.0, 1.0, 1.0, 1.0]), 2.5);
        assert!(weighted_median(&[1.0, 2.0], &[0.0, 0.0]).is_nan());
        let sgp = [10u8, 20, 90];
        assert_eq!(estimate_weighted_median_sgp(&sgp, &w, &resampling(&cl)).point, 90.0);
    }
}
