//! The wild cluster restricted (WCR) bootstrap for one linear contrast of a least-squares
//! fit with cluster-robust (CR1) standard errors: p-values and a confidence interval by test
//! inversion (docs/methods.md 3.6).
//!
//! # Method
//!
//! With `B = (X'X)⁻¹`, the hypothesis `H0: c'β = r`, `q = Bc` and the CR1 factor
//! `f = G/(G − 1) · (n − 1)/(n − k)`:
//!
//! ```text
//! t   = (c'β̂ − r) / sqrt(f Σ_g (q's_g)²),        s_g = X_g'û_g
//! β̃   = β̂ − q d,   d = (c'β̂ − r)/(c'q)           (least squares under H0)
//! y*  = Xβ̃ + w_g ũ_g,   ũ = y − Xβ̃                 (one weight w_g per cluster)
//! t*  = (c'β̂* − r) / se_CR1(β̂*)                    (refitted on y*, same CR1 formula)
//! ```
//!
//! No replicate touches the `n` rows. Since `X_g'ũ_g = s_g + d m_g` with `m_g = X_g'X_g q`,
//! a replicate with weights `w` needs only `u = Σ_g w_g s_g`, `v = Σ_g w_g m_g` (`O(G·k)`),
//! `Bu`, `Bv` (`O(k²)`), and per cluster `e_g = w_g q's_g − m_g'Bu` and
//! `h_g = w_g q'm_g − m_g'Bv`:
//!
//! ```text
//! t*(r) = (q'u + d q'v) / sqrt(f (Σ e_g² + 2d Σ e_g h_g + d² Σ h_g²))
//! ```
//!
//! so each replicate is kept as five numbers, and the p-value at any other null value `r`
//! (needed by the interval) costs `O(1)` per replicate with the same weights.
//!
//! # Weights
//!
//! - Rademacher: ±1 with probability 1/2 each. When `2^G ≤ reps`, all `2^G` sign vectors are
//!   enumerated instead (vector `j` gives cluster `g` the weight +1 when bit `g` of `j` is
//!   set): the p-value is exact and uses no random numbers.
//! - Webb's six points: ±√(1/2), ±1, ±√(3/2), each with probability 1/6 (for very few
//!   clusters, where Rademacher has only `2^G` distinct outcomes).
//! - Mammen's two points: −(√5 − 1)/2 with probability (√5 + 1)/(2√5), otherwise (√5 + 1)/2.
//!
//! Random replicate `b` draws its `G` weights from ChaCha8 seeded with the seed and set to
//! stream `b`, as [`crate::stats::bootstrap`] does: results are identical for any number
//! of rayon threads.
//!
//! # p-values and interval
//!
//! The all-ones weight vector reproduces the sample (`t* = t` exactly in exact arithmetic),
//! and its negation gives `−t`. Comparisons therefore use a relative tolerance of `1e-10`:
//! `|t*| ≥ |t|(1 − 1e-10)` counts. Symmetric: `p = #{|t*| ≥ |t|}/R`; equal-tailed:
//! `p = min(1, 2 min(#{t* ≤ t}, #{t* ≥ t})/R)`. The interval at `level` is the set of `r`
//! whose symmetric p-value is at least `1 − level`. Each end is bracketed by stepping out
//! from `c'β̂` in multiples of the CR1 standard error and then bisected down to adjacent
//! doubles; it is infinite when the p-value never falls below `1 − level` (e.g. `2/2^G`
//! already exceeds it when `G ≤ 5`), which is read off the p-value's limit as `r → ±∞`:
//! only replicates whose `h_g` all vanish (the all-ones weights and their negation) keep
//! `|t*| ≥ |t|` there, so the limit is their share (`2/2^G` when enumerated).
//!
//! # Absorbed fixed effects
//!
//! `x` and `y` may be within-transformed (fixed effects absorbed, see
//! [`crate::stats::vam::fixed`]); pass the number of absorbed parameters in
//! [`WildSpec::absorbed`] so the CR1 factor counts them. This is the same bootstrap as with
//! the dummies written out when the fixed effects are nested within the clusters (then the
//! restricted residuals stay orthogonal to the dummies after weighting).
//!
//! Checked against `tests/fixtures/r/wild.json` (`wild.R`: the same bootstrap in base R,
//! every replicate refitted from its rows): enumerated p-values agree exactly.
//!
//! # References
//!
//! - Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008). Bootstrap-based improvements
//!   for inference with clustered errors. *Review of Economics and Statistics* 90, 414-427.
//! - MacKinnon, J. G. and Webb, M. D. (2017). Wild bootstrap inference for wildly different
//!   cluster sizes. *Journal of Applied Econometrics* 32, 233-254.
//! - Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered errors.
//!   *Canadian Journal of Economics* 56, 839-858.

use ndarray::{ArrayView1, ArrayView2};
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::design::{column_major, contiguous};
use super::linalg::{Cholesky, LinalgError, gram};

/// Relative tolerance under which `|t*|` and `|t|` count as equal.
pub const TIE_TOLERANCE: f64 = 1e-10;

/// Why the wild bootstrap cannot run.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum WildError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error("the wild cluster bootstrap needs at least 2 clusters, got {0}")]
    TooFewClusters(usize),
    #[error("cluster {0} has no rows (cluster codes must be 0..G with every code used)")]
    EmptyCluster(usize),
    #[error("level must be in (0, 1), got {0}")]
    Level(f64),
    #[error("the contrast is zero")]
    ZeroContrast,
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}

/// The distribution of the cluster weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    Rademacher,
    Webb,
    Mammen,
}

impl Weights {
    /// One weight from `rng`.
    fn draw(self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Weights::Rademacher => {
                if rng.random_bool(0.5) {
                    1.0
                } else {
                    -1.0
                }
            }
            Weights::Webb => WEBB[rng.random_range(0..6)],
            Weights::Mammen => {
                let s5 = 5f64.sqrt();
                if rng.random_bool((s5 + 1.0) / (2.0 * s5)) { -(s5 - 1.0) / 2.0 } else { (s5 + 1.0) / 2.0 }
            }
        }
    }
}

/// Webb's six points, each with probability 1/6.
const WEBB: [f64; 6] = [
    -1.224_744_871_391_589,
    -1.0,
    -std::f64::consts::FRAC_1_SQRT_2,
    std::f64::consts::FRAC_1_SQRT_2,
    1.0,
    1.224_744_871_391_589,
];

/// Settings of the bootstrap.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WildSpec {
    pub weights: Weights,
    /// Replicates `R`. With Rademacher weights and `2^G ≤ reps`, all `2^G` are enumerated.
    pub reps: usize,
    pub seed: u64,
    /// Confidence level of the interval (e.g. 0.95).
    pub level: f64,
    /// Parameters absorbed from `x` and `y` before the call (0 when the design is complete).
    pub absorbed: usize,
}

/// The result for one contrast and null value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WildTest {
    /// `c'β̂`.
    pub estimate: f64,
    /// The null value `r`.
    pub null: f64,
    /// CR1 standard error of `c'β̂`.
    pub se: f64,
    /// `(c'β̂ − r)/se`.
    pub t: f64,
    pub clusters: usize,
    /// Replicates used (`2^G` when enumerated).
    pub reps: usize,
    pub enumerated: bool,
    pub weights: Weights,
    pub count_abs_ge: usize,
    pub count_le: usize,
    pub count_ge: usize,
    pub p_symmetric: f64,
    pub p_equal_tailed: f64,
    pub level: f64,
    pub conf_low: f64,
    pub conf_high: f64,
}

/// Per-cluster pieces shared by every replicate and every null value.
struct Problem {
    k: usize,
    g: usize,
    /// CR1 factor.
    f: f64,
    b: Vec<f64>,
    q: Vec<f64>,
    cq: f64,
    estimate: f64,
    se: f64,
    /// `s_g` and `m_g`, `k` each, cluster after cluster.
    s: Vec<f64>,
    m: Vec<f64>,
    /// `q's_g` and `q'm_g`.
    qs: Vec<f64>,
    qm: Vec<f64>,
}

/// One replicate as five numbers: `t*(d) = (n0 + d n1)/sqrt(f (s00 + 2d s01 + d² s11))`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Replicate {
    n0: f64,
    n1: f64,
    s00: f64,
    s01: f64,
    s11: f64,
}

impl Replicate {
    fn t(&self, d: f64, f: f64) -> f64 {
        (self.n0 + d * self.n1) / (f * (self.s00 + 2.0 * d * self.s01 + d * d * self.s11)).sqrt()
    }
}

/// The counts behind the p-values at one null value.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Counts {
    abs_ge: usize,
    le: usize,
    ge: usize,
}

fn check_inputs(
    n: usize,
    k: usize,
    y: &[f64],
    x: &[f64],
    cluster: &[usize],
    contrast: &[f64],
) -> Result<usize, WildError> {
    if k == 0 || n <= k {
        return Err(WildError::Input(format!("need more rows than columns, got {n} rows and {k} columns")));
    }
    if y.len() != n || cluster.len() != n {
        return Err(WildError::Input(format!("x has {n} rows but y has {} and cluster {}", y.len(), cluster.len())));
    }
    if contrast.len() != k {
        return Err(WildError::Input(format!("the contrast has {} entries for {k} columns", contrast.len())));
    }
    if x.iter().chain(y).chain(contrast).any(|v| !v.is_finite()) {
        return Err(WildError::Input("non-finite value in x, y or the contrast".into()));
    }
    let g = cluster.iter().max().map_or(0, |&c| c + 1);
    if g < 2 {
        return Err(WildError::TooFewClusters(g));
    }
    let mut used = vec![false; g];
    for &c in cluster {
        used[c] = true;
    }
    if let Some(empty) = used.iter().position(|u| !u) {
        return Err(WildError::EmptyCluster(empty));
    }
    Ok(g)
}

impl Problem {
    fn new(
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        cluster: &[usize],
        contrast: &[f64],
        absorbed: usize,
    ) -> Result<Problem, WildError> {
        let (n, k) = x.dim();
        let xs = column_major(x);
        let ys = contiguous(y);
        let g = check_inputs(n, k, &ys, &xs, cluster, contrast)?;
        let (xtx, xty) = gram(&xs, n, k, &ys)?;
        let chol = Cholesky::new(&xtx, k)?;
        let beta = chol.solve(&xty);
        let b = chol.inverse();
        let q: Vec<f64> = (0..k).map(|i| (0..k).map(|j| b[i * k + j] * contrast[j]).sum()).collect();
        let cq: f64 = q.iter().zip(contrast).map(|(a, c)| a * c).sum();
        if cq <= 0.0 {
            return Err(WildError::ZeroContrast);
        }
        let mut s = vec![0.0; g * k];
        let mut m = vec![0.0; g * k];
        for i in 0..n {
            let c = cluster[i];
            let fit: f64 = (0..k).map(|j| xs[j * n + i] * beta[j]).sum();
            let u = ys[i] - fit;
            let xq: f64 = (0..k).map(|j| xs[j * n + i] * q[j]).sum();
            for j in 0..k {
                s[c * k + j] += xs[j * n + i] * u;
                m[c * k + j] += xs[j * n + i] * xq;
            }
        }
        let dotq = |v: &[f64]| -> f64 { v.iter().zip(&q).map(|(a, b)| a * b).sum() };
        let qs: Vec<f64> = s.chunks(k).map(dotq).collect();
        let qm: Vec<f64> = m.chunks(k).map(dotq).collect();
        let kk = (k + absorbed) as f64;
        let f = g as f64 / (g as f64 - 1.0) * (n as f64 - 1.0) / (n as f64 - kk);
        if !f.is_finite() || f <= 0.0 {
            return Err(WildError::Input(format!("{n} rows leave no residual degrees of freedom for {kk} parameters")));
        }
        let se = (f * qs.iter().map(|v| v * v).sum::<f64>()).sqrt();
        let estimate = contrast.iter().zip(&beta).map(|(c, b)| c * b).sum();
        Ok(Problem { k, g, f, b, q, cq, estimate, se, s, m, qs, qm })
    }

    /// The five numbers of the replicate with cluster weights `w`.
    fn replicate(&self, w: &[f64]) -> Replicate {
        let k = self.k;
        let mut u = vec![0.0; k];
        let mut v = vec![0.0; k];
        for (c, &wc) in w.iter().enumerate() {
            for j in 0..k {
                u[j] += wc * self.s[c * k + j];
                v[j] += wc * self.m[c * k + j];
            }
        }
        let bu: Vec<f64> = (0..k).map(|i| (0..k).map(|j| self.b[i * k + j] * u[j]).sum()).collect();
        let bv: Vec<f64> = (0..k).map(|i| (0..k).map(|j| self.b[i * k + j] * v[j]).sum()).collect();
        let mut r = Replicate {
            n0: self.q.iter().zip(&u).map(|(a, b)| a * b).sum(),
            n1: self.q.iter().zip(&v).map(|(a, b)| a * b).sum(),
            s00: 0.0,
            s01: 0.0,
            s11: 0.0,
        };
        for (c, &wc) in w.iter().enumerate() {
            let mc = &self.m[c * k..(c + 1) * k];
            let e = wc * self.qs[c] - mc.iter().zip(&bu).map(|(a, b)| a * b).sum::<f64>();
            let h = wc * self.qm[c] - mc.iter().zip(&bv).map(|(a, b)| a * b).sum::<f64>();
            r.s00 += e * e;
            r.s01 += e * h;
            r.s11 += h * h;
        }
        r
    }

    /// `d` of the restricted fit under `c'β = r`.
    fn d(&self, r: f64) -> f64 {
        (self.estimate - r) / self.cq
    }

    fn t(&self, r: f64) -> f64 {
        (self.estimate - r) / self.se
    }

    fn counts(&self, reps: &[Replicate], r: f64) -> Counts {
        let (t, d) = (self.t(r), self.d(r));
        let tol = TIE_TOLERANCE * t.abs();
        let mut out = Counts { abs_ge: 0, le: 0, ge: 0 };
        for rep in reps {
            let ts = rep.t(d, self.f);
            out.abs_ge += usize::from(ts.abs() >= t.abs() - tol);
            out.le += usize::from(ts <= t + tol);
            out.ge += usize::from(ts >= t - tol);
        }
        out
    }

    fn p_symmetric(&self, reps: &[Replicate], r: f64) -> f64 {
        self.counts(reps, r).abs_ge as f64 / reps.len() as f64
    }
}

/// The replicates: all `2^G` Rademacher sign vectors, or `spec.reps` random draws.
fn replicates(p: &Problem, spec: &WildSpec) -> (Vec<Replicate>, bool) {
    let g = p.g;
    let enumerate = spec.weights == Weights::Rademacher && g < 63 && (1usize << g) <= spec.reps;
    if enumerate {
        let reps = (0..1usize << g)
            .into_par_iter()
            .map(|j| {
                let w: Vec<f64> = (0..g).map(|c| if (j >> c) & 1 == 1 { 1.0 } else { -1.0 }).collect();
                p.replicate(&w)
            })
            .collect();
        return (reps, true);
    }
    let reps = (0..spec.reps)
        .into_par_iter()
        .map(|b| {
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
            rng.set_stream(b as u64);
            let w: Vec<f64> = (0..g).map(|_| spec.weights.draw(&mut rng)).collect();
            p.replicate(&w)
        })
        .collect();
    (reps, false)
}

/// The symmetric p-value's limit as the null value goes to ±∞ (module docs, "p-values and
/// interval"): a replicate whose `h` terms vanish (`s11 = 0`, e.g. the all-ones weights and
/// their negation, whose restricted residuals are the sample's up to sign) has `t*` growing
/// with `t` and keeps counting when `|t*/t| → |n1| se / (c'q √(f s00))` reaches 1; every
/// other replicate's `t*` stays bounded and stops counting. `s11` counts as zero below
/// `1e-20 Σ_g (q'm_g)²`, far above rounding (about `1e-32` of it) and far below any real
/// replicate's.
fn p_at_infinity(p: &Problem, reps: &[Replicate]) -> f64 {
    let scale = p.qm.iter().map(|v| v * v).sum::<f64>();
    let limit = reps
        .iter()
        .filter(|r| r.s11 <= 1e-20 * scale)
        .filter(|r| {
            let ratio = r.n1.abs() * p.se / (p.cq.abs() * (p.f * r.s00).sqrt());
            ratio >= 1.0 - TIE_TOLERANCE
        })
        .count();
    limit as f64 / reps.len() as f64
}

/// One end of the interval: from `inside` (p ≥ alpha) step out by `step` (sign gives the
/// direction), doubling, until p < alpha, then bisect to adjacent doubles. Unbounded when
/// the p-value's limit ([`p_at_infinity`]) is at least `alpha`: no value that far is
/// rejected (without this check the search would end where rounding first breaks the tie
/// of the all-ones replicate, some 10^14 standard errors out).
fn interval_end(p: &Problem, reps: &[Replicate], alpha: f64, step: f64) -> f64 {
    if p_at_infinity(p, reps) >= alpha {
        return if step > 0.0 { f64::INFINITY } else { f64::NEG_INFINITY };
    }
    let mut inside = p.estimate;
    let mut outside = None;
    let mut h = step;
    for _ in 0..64 {
        let r = p.estimate + h;
        if p.p_symmetric(reps, r) < alpha {
            outside = Some(r);
            break;
        }
        inside = r;
        h *= 2.0;
    }
    let Some(mut outside) = outside else {
        return if step > 0.0 { f64::INFINITY } else { f64::NEG_INFINITY };
    };
    for _ in 0..2100 {
        let mid = inside + (outside - inside) / 2.0;
        if mid == inside || mid == outside {
            break;
        }
        if p.p_symmetric(reps, mid) >= alpha {
            inside = mid;
        } else {
            outside = mid;
        }
    }
    inside
}

impl WildSpec {
    /// The WCR bootstrap of `H0: contrast'β = null` in the regression of `y` on `x` (no
    /// intercept is added), clustered by `cluster` (codes `0..G`, every code used).
    pub fn test(
        &self,
        x: ArrayView2<'_, f64>,
        y: ArrayView1<'_, f64>,
        cluster: &[usize],
        contrast: &[f64],
        null: f64,
    ) -> Result<WildTest, WildError> {
        if !(self.level > 0.0 && self.level < 1.0) {
            return Err(WildError::Level(self.level));
        }
        if self.reps == 0 {
            return Err(WildError::Input("reps must be at least 1".into()));
        }
        if !null.is_finite() {
            return Err(WildError::Input("the null value is not finite".into()));
        }
        let p = Problem::new(x, y, cluster, contrast, self.absorbed)?;
        let (reps, enumerated) = replicates(&p, self);
        let nr = reps.len() as f64;
        let c = p.counts(&reps, null);
        let alpha = 1.0 - self.level;
        Ok(WildTest {
            estimate: p.estimate,
            null,
            se: p.se,
            t: p.t(null),
            clusters: p.g,
            reps: reps.len(),
            enumerated,
            weights: self.weights,
            count_abs_ge: c.abs_ge,
            count_le: c.le,
            count_ge: c.ge,
            p_symmetric: c.abs_ge as f64 / nr,
            p_equal_tailed: (2.0 * c.le.min(c.ge) as f64 / nr).min(1.0),
            level: self.level,
            conf_low: interval_end(&p, &reps, alpha, -p.se),
            conf_high: interval_end(&p, &reps, alpha, p.se),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::floats;
    use ndarray::{Array1, Array2};
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/r/wild.json");

    /// A small unbalanced design: intercept, a treatment on in clusters 1, 4, 5, a covariate.
    fn synthetic(g: usize) -> (Array2<f64>, Array1<f64>, Vec<usize>) {
        let mut rows = Vec::new();
        let mut y = Vec::new();
        let mut cluster = Vec::new();
        for c in 0..g {
            let size = 4 + (c * 7) % 9;
            let shock = ((c * 13) % 5) as f64 * 0.3 - 0.6;
            for i in 0..size {
                let x = ((c * 31 + i * 17) % 23) as f64 / 7.0 - 1.5;
                let treat = f64::from(u8::from([1, 4, 5].contains(&c)));
                let e = (((c + 3) * (i + 5) * 29) % 19) as f64 / 9.0 - 1.0;
                rows.extend([1.0, treat, x]);
                y.push(0.2 + 0.3 * treat + 0.8 * x + shock + e * (1.0 + 0.5 * x.abs()));
                cluster.push(c);
            }
        }
        (Array2::from_shape_vec((y.len(), 3), rows).unwrap(), Array1::from(y), cluster)
    }

    /// The bootstrap t of weights `w` the slow way: build y*, refit, CR1 from the rows.
    fn direct_t(x: &Array2<f64>, y: &Array1<f64>, cl: &[usize], c: &[f64], r: f64, w: &[f64]) -> f64 {
        let (n, k) = x.dim();
        let g = w.len();
        let fit = |y: &[f64]| -> (Vec<f64>, Vec<f64>, Vec<f64>) {
            let xs = column_major(x.view());
            let (xtx, xty) = gram(&xs, n, k, y).unwrap();
            let ch = Cholesky::new(&xtx, k).unwrap();
            let beta = ch.solve(&xty);
            let u: Vec<f64> = (0..n).map(|i| y[i] - (0..k).map(|j| x[[i, j]] * beta[j]).sum::<f64>()).collect();
            (beta, u, ch.inverse())
        };
        let (beta, _, b) = fit(y.as_slice().unwrap());
        let q: Vec<f64> = (0..k).map(|i| (0..k).map(|j| b[i * k + j] * c[j]).sum()).collect();
        let cb: f64 = c.iter().zip(&beta).map(|(a, b)| a * b).sum();
        let cq: f64 = c.iter().zip(&q).map(|(a, b)| a * b).sum();
        let bt: Vec<f64> = (0..k).map(|j| beta[j] - q[j] * (cb - r) / cq).collect();
        let ystar: Vec<f64> = (0..n)
            .map(|i| {
                let xb: f64 = (0..k).map(|j| x[[i, j]] * bt[j]).sum();
                xb + w[cl[i]] * (y[i] - xb)
            })
            .collect();
        let (bs, us, _) = fit(&ystar);
        let mut score = vec![0.0; g];
        for i in 0..n {
            score[cl[i]] += (0..k).map(|j| q[j] * x[[i, j]]).sum::<f64>() * us[i];
        }
        let f = g as f64 / (g as f64 - 1.0) * (n as f64 - 1.0) / (n - k) as f64;
        let se = (f * score.iter().map(|s| s * s).sum::<f64>()).sqrt();
        (c.iter().zip(&bs).map(|(a, b)| a * b).sum::<f64>() - r) / se
    }

    #[test]
    fn per_cluster_algebra_equals_refitting_every_replicate() {
        let (x, y, cl) = synthetic(9);
        for (c, r) in [([0.0, 1.0, 0.0], 0.0), ([0.0, 0.0, 1.0], 0.5), ([0.0, 1.0, -1.0], 2.0)] {
            let p = Problem::new(x.view(), y.view(), &cl, &c, 0).unwrap();
            let mut rng = ChaCha8Rng::seed_from_u64(3);
            for weights in [Weights::Rademacher, Weights::Webb, Weights::Mammen] {
                let w: Vec<f64> = (0..9).map(|_| weights.draw(&mut rng)).collect();
                let fast = p.replicate(&w).t(p.d(r), p.f);
                let slow = direct_t(&x, &y, &cl, &c, r, &w);
                assert!((fast - slow).abs() <= 1e-10 * slow.abs().max(1.0), "{weights:?} {c:?}: {fast} vs {slow}");
            }
            // all ones reproduce the sample
            let ones = p.replicate(&[1.0; 9]).t(p.d(r), p.f);
            assert!((ones - p.t(r)).abs() <= 1e-10 * p.t(r).abs(), "{ones} vs {}", p.t(r));
        }
    }

    #[test]
    fn random_draws_do_not_depend_on_the_thread_count() {
        let (x, y, cl) = synthetic(12);
        for weights in [Weights::Rademacher, Weights::Webb, Weights::Mammen] {
            let spec = WildSpec { weights, reps: 399, seed: 11, level: 0.9, absorbed: 0 };
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                pool.install(|| spec.test(x.view(), y.view(), &cl, &[0.0, 1.0, 0.0], 0.0).unwrap())
            };
            let (one, two) = (run(1), run(2));
            assert_eq!(one, two, "{weights:?}");
            assert!(!one.enumerated && one.reps == 399);
            let other = WildSpec { seed: 12, ..spec }.test(x.view(), y.view(), &cl, &[0.0, 1.0, 0.0], 0.0).unwrap();
            assert_ne!(one.count_abs_ge, 0);
            assert_ne!((one.conf_low, one.conf_high), (other.conf_low, other.conf_high), "{weights:?}");
        }
    }

    #[test]
    fn weights_have_mean_zero_and_variance_one() {
        let s5 = 5f64.sqrt();
        let (pm, lo, hi) = ((s5 + 1.0) / (2.0 * s5), -(s5 - 1.0) / 2.0, (s5 + 1.0) / 2.0);
        assert!((pm * lo + (1.0 - pm) * hi).abs() < 1e-15);
        assert!((pm * lo * lo + (1.0 - pm) * hi * hi - 1.0).abs() < 1e-15);
        assert!((pm * lo.powi(3) + (1.0 - pm) * hi.powi(3) - 1.0).abs() < 1e-14);
        assert_eq!(WEBB.iter().sum::<f64>(), 0.0);
        assert!((WEBB.iter().map(|w| w * w).sum::<f64>() / 6.0 - 1.0).abs() < 1e-15);
        assert_eq!(WEBB[5], 1.5f64.sqrt());
        // draws hit every point with about the right frequency
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let n = 60_000;
        for (weights, points) in
            [(Weights::Webb, WEBB.to_vec()), (Weights::Mammen, vec![lo, hi]), (Weights::Rademacher, vec![-1.0, 1.0])]
        {
            let draws: Vec<f64> = (0..n).map(|_| weights.draw(&mut rng)).collect();
            let mean = draws.iter().sum::<f64>() / n as f64;
            let var = draws.iter().map(|w| w * w).sum::<f64>() / n as f64;
            assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.03, "{weights:?}: {mean} {var}");
            assert!(draws.iter().all(|w| points.contains(w)), "{weights:?}");
        }
    }

    #[test]
    fn rademacher_enumerates_when_two_to_the_g_fits() {
        let (x, y, cl) = synthetic(9);
        let spec = WildSpec { weights: Weights::Rademacher, reps: 512, seed: 1, level: 0.9, absorbed: 0 };
        let a = spec.test(x.view(), y.view(), &cl, &[0.0, 1.0, 0.0], 0.1).unwrap();
        assert!(a.enumerated && a.reps == 512);
        // no randomness: another seed and more reps give the same answer
        let b = WildSpec { seed: 99, reps: 9999, ..spec }.test(x.view(), y.view(), &cl, &[0.0, 1.0, 0.0], 0.1).unwrap();
        assert_eq!(a, b);
        // the sample and its mirror image are always among the sign vectors
        assert!(a.count_abs_ge >= 2 && a.count_le >= 1 && a.count_ge >= 1);
        // 511 < 512: random draws
        let c = WildSpec { reps: 511, ..spec }.test(x.view(), y.view(), &cl, &[0.0, 1.0, 0.0], 0.1).unwrap();
        assert!(!c.enumerated && c.reps == 511);
    }

    #[test]
    fn the_interval_ends_where_the_p_value_crosses_one_minus_level() {
        let (x, y, cl) = synthetic(10);
        let c = [0.0, 0.0, 1.0];
        for spec in [
            WildSpec { weights: Weights::Rademacher, reps: 1024, seed: 1, level: 0.9, absorbed: 0 },
            WildSpec { weights: Weights::Webb, reps: 999, seed: 5, level: 0.95, absorbed: 0 },
        ] {
            let a = spec.test(x.view(), y.view(), &cl, &c, 0.0).unwrap();
            assert!(a.conf_low < a.estimate && a.estimate < a.conf_high, "{a:?}");
            let alpha = 1.0 - spec.level;
            for (end, outward) in [(a.conf_low, -1.0), (a.conf_high, 1.0)] {
                let inside = spec.test(x.view(), y.view(), &cl, &c, end).unwrap();
                assert!(inside.p_symmetric >= alpha, "{end}: {}", inside.p_symmetric);
                let beyond = end + outward * 1e-9 * end.abs().max(1.0);
                let out = spec.test(x.view(), y.view(), &cl, &c, beyond).unwrap();
                assert!(out.p_symmetric < alpha, "{beyond}: {}", out.p_symmetric);
            }
        }
        // G = 4: 2/16 > 0.05 (and > 0.10), so no value is rejected at 95% or 90%: both ends
        // unbounded, not a finite end where rounding breaks the all-ones tie
        let (x4, y4, cl4) = synthetic(4);
        for level in [0.95, 0.90] {
            let spec = WildSpec { weights: Weights::Rademacher, reps: 999, seed: 1, level, absorbed: 0 };
            let a = spec.test(x4.view(), y4.view(), &cl4, &[0.0, 0.0, 1.0], 0.0).unwrap();
            assert!(a.enumerated && a.reps == 16);
            assert_eq!((a.conf_low, a.conf_high), (f64::NEG_INFINITY, f64::INFINITY), "level {level}");
        }
        // the limit of p is the share of the all-ones vector and its negation: 2/2^G
        for (g, (xg, yg, clg)) in [(4usize, synthetic(4)), (5, synthetic(5)), (8, synthetic(8))] {
            let prob = Problem::new(xg.view(), yg.view(), &clg, &[0.0, 0.0, 1.0], 0).unwrap();
            let spec = WildSpec { weights: Weights::Rademacher, reps: 1 << g, seed: 1, level: 0.9, absorbed: 0 };
            let (reps, enumerated) = replicates(&prob, &spec);
            assert!(enumerated);
            assert_eq!(p_at_infinity(&prob, &reps), 2.0 / (1u64 << g) as f64, "G = {g}");
        }
        // G = 5 at 90%: 2/32 < 0.10, so both ends are finite
        let (x5, y5, cl5) = synthetic(5);
        let spec = WildSpec { weights: Weights::Rademacher, reps: 999, seed: 1, level: 0.90, absorbed: 0 };
        let a = spec.test(x5.view(), y5.view(), &cl5, &[0.0, 0.0, 1.0], 0.0).unwrap();
        assert!(a.conf_low.is_finite() && a.conf_high.is_finite(), "{a:?}");
        assert!((a.conf_high - a.conf_low) < 1e3 * a.se, "{a:?}");
    }

    #[test]
    fn absorbed_cluster_effects_equal_the_dummies_written_out() {
        let (x, y, cl) = synthetic(8);
        let (n, g) = (y.len(), 8);
        let mean_by = |v: &dyn Fn(usize) -> f64| -> Vec<f64> {
            let mut sum = vec![0.0; g];
            let mut count = vec![0.0; g];
            for i in 0..n {
                sum[cl[i]] += v(i);
                count[cl[i]] += 1.0;
            }
            sum.iter().zip(&count).map(|(s, c)| s / c).collect()
        };
        let (mx, my) = (mean_by(&|i| x[[i, 2]]), mean_by(&|i| y[i]));
        let within_x = Array2::from_shape_fn((n, 1), |(i, _)| x[[i, 2]] - mx[cl[i]]);
        let within_y = Array1::from_shape_fn(n, |i| y[i] - my[cl[i]]);
        let dummies =
            Array2::from_shape_fn(
                (n, g + 1),
                |(i, j)| if j == g { x[[i, 2]] } else { f64::from(u8::from(cl[i] == j)) },
            );
        let mut c = vec![0.0; g + 1];
        c[g] = 1.0;
        for weights in [Weights::Rademacher, Weights::Webb] {
            let spec = WildSpec { weights, reps: 199, seed: 4, level: 0.9, absorbed: 0 };
            let full = spec.test(dummies.view(), y.view(), &cl, &c, 0.7).unwrap();
            let within =
                WildSpec { absorbed: g, ..spec }.test(within_x.view(), within_y.view(), &cl, &[1.0], 0.7).unwrap();
            assert!((full.t - within.t).abs() <= 1e-9 * full.t.abs(), "{weights:?}: {} vs {}", full.t, within.t);
            assert_eq!(
                (full.count_abs_ge, full.count_le, full.count_ge),
                (within.count_abs_ge, within.count_le, within.count_ge)
            );
            assert!((full.conf_high - within.conf_high).abs() <= 1e-9 * full.se, "{weights:?}");
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let (x, y, cl) = synthetic(5);
        let spec = WildSpec { weights: Weights::Webb, reps: 99, seed: 1, level: 0.95, absorbed: 0 };
        let one = vec![0; cl.len()];
        assert_eq!(spec.test(x.view(), y.view(), &one, &[0.0, 1.0, 0.0], 0.0), Err(WildError::TooFewClusters(1)));
        let gap: Vec<usize> = cl.iter().map(|&c| if c == 2 { 3 } else { c }).collect();
        assert_eq!(spec.test(x.view(), y.view(), &gap, &[0.0, 1.0, 0.0], 0.0), Err(WildError::EmptyCluster(2)));
        assert_eq!(spec.test(x.view(), y.view(), &cl, &[0.0; 3], 0.0), Err(WildError::ZeroContrast));
        assert!(matches!(spec.test(x.view(), y.view(), &cl, &[1.0], 0.0), Err(WildError::Input(_))));
        let bad = WildSpec { level: 1.0, ..spec };
        assert_eq!(bad.test(x.view(), y.view(), &cl, &[0.0, 1.0, 0.0], 0.0), Err(WildError::Level(1.0)));
    }

    #[test]
    fn enumerated_p_values_match_the_r_reference_exactly() {
        let v: Value = serde_json::from_str(FIXTURE).unwrap();
        let n = v["n"].as_u64().unwrap() as usize;
        let cl: Vec<usize> = floats(&v["cluster"]).iter().map(|&c| c as usize).collect();
        let (prov, lrt) = (floats(&v["provider"]), floats(&v["standLRT"]));
        let x = Array2::from_shape_fn((n, 3), |(i, j)| [1.0, prov[i], lrt[i]][j]);
        let y = Array1::from(floats(&v["y"]));
        let spec = WildSpec { weights: Weights::Rademacher, reps: 9999, seed: 1, level: 0.95, absorbed: 0 };
        let tests = v["tests"].as_object().unwrap();
        assert_eq!(tests.len(), 3);
        for (name, want) in tests {
            let c = floats(&want["contrast"]);
            let r = want["null"].as_f64().unwrap();
            let got = spec.test(x.view(), y.view(), &cl, &c, r).unwrap();
            assert!(got.enumerated && got.reps == want["reps"].as_u64().unwrap() as usize, "wild.json {name}: reps");
            for (what, g, w) in [("t", got.t, &want["t"]), ("se", got.se, &want["se"])] {
                let w = w.as_f64().unwrap();
                assert!((g - w).abs() <= 1e-10 * w.abs(), "wild.json {name}: {what} {g} vs {w}");
            }
            for (what, g, w) in [
                ("count_abs_ge", got.count_abs_ge, &want["count_abs_ge"]),
                ("count_le", got.count_le, &want["count_le"]),
                ("count_ge", got.count_ge, &want["count_ge"]),
            ] {
                assert_eq!(g as u64, w.as_u64().unwrap(), "wild.json {name}: {what}");
            }
            for (what, g, w) in [
                ("p_symmetric", got.p_symmetric, &want["p_symmetric"]),
                ("p_equal_tailed", got.p_equal_tailed, &want["p_equal_tailed"]),
            ] {
                assert!((g - w.as_f64().unwrap()).abs() <= 1e-12, "wild.json {name}: {what} {g} vs {w}");
            }
        }
        // the interval does not depend on the null; R bisected to 1e-12 SE
        for (name, want) in v["intervals"].as_object().unwrap() {
            let c = floats(&want["contrast"]);
            let got = spec.test(x.view(), y.view(), &cl, &c, 0.0).unwrap();
            for (what, g) in [("conf_low", got.conf_low), ("conf_high", got.conf_high)] {
                let w = want[what].as_f64().unwrap();
                assert!((g - w).abs() <= 1e-9 * got.se, "wild.json intervals.{name}: {what} {g} vs {w}");
            }
        }
    }
}
