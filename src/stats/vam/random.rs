//! Random-intercept model by REML or ML (the model of `lme4::lmer(y ~ x + (1 | group))`),
//! empirical Bayes group effects, and the two-step shrunken group means of teacher
//! value-added.
//!
//! # Model
//!
//! ```text
//! y_ij = x_ij'β + b_j + e_ij,     b_j ~ N(0, σ_b²),   e_ij ~ N(0, σ²),   γ = σ_b²/σ² = θ²
//! ```
//!
//! With `V_j = σ²(I + γ 11')`, `V_j⁻¹ = σ⁻²(I − w_j 11')`, `w_j = γ/(1 + n_j γ)`, every
//! quantity is a function of per-group sums (`n_j`, `s_j = X_j'1`, `t_j = 1'y_j`) and the
//! global cross products, computed once in `O(n p²)`:
//!
//! ```text
//! A(γ) = X'X − Σ_j w_j s_j s_j'          c(γ) = X'y − Σ_j w_j s_j t_j
//! q(γ) = y'y − Σ_j w_j t_j²              β(γ) = A⁻¹c,   R(γ) = q − c'β
//! REML: −2ℓ = (n−p) log(R/(n−p)) + Σ_j log(1 + n_j γ) + log det A + (n−p)(1 + log 2π)
//! ML:   −2ℓ =   n   log(R/n)     + Σ_j log(1 + n_j γ)              +   n  (1 + log 2π)
//! ```
//!
//! (σ² profiled out: `σ̂² = R/(n−p)` for REML, `R/n` for ML.) The criterion is minimized
//! over `θ ≥ 0`, a one-dimensional problem, as lme4 profiles it: a grid over
//! `θ ∈ {0} ∪ [1e-4, 1e3]` (log-spaced) brackets the minimum, then golden-section search
//! refines it to `|Δθ| ≤ 1e-10 (1 + θ)`. When the minimum is at `θ = 0` the between-group
//! variance is 0 and `boundary` is set.
//!
//! Per group, with `λ_j = n_j γ / (1 + n_j γ) = σ_b² / (σ_b² + σ²/n_j)` (the reliability):
//!
//! ```text
//! ē_j   = mean over group j of y − X β̂
//! b̂_j   = λ_j ē_j                       (BLUP, lme4 `ranef`)
//! sd_j  = sqrt(σ_b² (1 − λ_j))          (conditional SD, lme4 `condVar`: β treated as known)
//! ```
//!
//! `Cov(β̂) = σ̂² A(γ̂)⁻¹` (lme4 `vcov`).
//!
//! # Two-step shrinkage ([`shrink_group_means`])
//!
//! The teacher value-added recipe (docs/methods.md 3.3): residuals `r` of an OLS fit without
//! group terms, group means `r̄_j`, pooled within variance
//! `s²_w = Σ_j Σ_i (r_ij − r̄_j)² / (N − J)`, between variance by moments
//! `s²_b = var(r̄_j) − mean_j(s²_w/n_j)` floored at 0 (flagged), `λ_j = s²_b/(s²_b + s²_w/n_j)`,
//! shrunken mean `λ_j r̄_j`, SE `sqrt(λ_j s²_w/n_j)`.
//!
//! # Compatibility with R
//!
//! Checked against `tests/fixtures/r/vam.json` (lme4 1.1-31 on `mlmRev::Exam`): fixed
//! effects, their SEs and the variance components to 1e-5 relative, BLUPs and their SDs to
//! 1e-4 absolute, the REML criterion and ML deviance. lme4 optimizes θ with a general
//! optimizer (stopping about 1e-7 from the optimum, per the fixture's check); the search
//! here is exhaustive on the bracket, so differences are lme4's optimizer tolerance.

use serde::{Deserialize, Serialize};

use ndarray::{ArrayView1, ArrayView2};

use super::VamError;
use super::fixed::Factor;
use crate::stats::design::{column_major, contiguous};
use crate::stats::linalg::{Cholesky, gram};

/// Which likelihood the variance ratio maximizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Restricted maximum likelihood (lme4's default `REML = TRUE`).
    #[default]
    Reml,
    /// Maximum likelihood (`REML = FALSE`).
    Ml,
}

/// One group's empirical Bayes effect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupEffect {
    pub n: usize,
    /// Mean of `y − Xβ̂` over the group (the unshrunk effect).
    pub mean_residual: f64,
    /// `λ_j`.
    pub reliability: f64,
    /// `λ_j · mean_residual`.
    pub shrunk: f64,
    /// Conditional (posterior) SD of the group effect.
    pub shrunk_std_error: f64,
    /// SE of the unshrunk mean, `sqrt(σ²/n_j)` (the within-group sampling error).
    pub std_error: f64,
}

/// A fitted random-intercept model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomFit {
    pub likelihood: Likelihood,
    pub coefficients: Vec<f64>,
    /// `Cov(β̂)`, row-major `p × p`.
    pub covariance: Vec<f64>,
    /// `σ̂²` (residual variance).
    pub sigma2_within: f64,
    /// `σ̂_b² = γ̂ σ̂²` (between-group variance).
    pub sigma2_between: f64,
    /// `θ̂ = σ̂_b / σ̂` (lme4's `theta`).
    pub theta: f64,
    /// `−2ℓ` at the optimum (lme4: `REMLcrit` for REML, `deviance` for ML).
    pub criterion: f64,
    /// `true` when the between variance is at its lower bound 0.
    pub boundary: bool,
    pub groups: Vec<GroupEffect>,
    pub n_obs: usize,
}

/// Sufficient statistics of the model.
struct Stats {
    n: usize,
    p: usize,
    xtx: Vec<f64>,
    xty: Vec<f64>,
    yty: f64,
    n_j: Vec<usize>,
    s_j: Vec<Vec<f64>>,
    t_j: Vec<f64>,
}

impl Stats {
    fn new(x: &[f64], n: usize, p: usize, y: &[f64], group: &[usize], n_groups: usize) -> Result<Stats, VamError> {
        let (xtx, xty) = gram(x, n, p, y)?;
        let yty = crate::stats::linalg::dot(y, y);
        let mut n_j = vec![0usize; n_groups];
        let mut s_j = vec![vec![0.0; p]; n_groups];
        let mut t_j = vec![0.0; n_groups];
        for i in 0..n {
            let g = group[i];
            n_j[g] += 1;
            t_j[g] += y[i];
            for (k, s) in s_j[g].iter_mut().enumerate() {
                *s += x[k * n + i];
            }
        }
        Ok(Stats { n, p, xtx, xty, yty, n_j, s_j, t_j })
    }

    /// `(criterion, β, R, A factor)` at variance ratio `γ`.
    fn at(&self, gamma: f64, lik: Likelihood) -> Result<(f64, Vec<f64>, f64, Cholesky), VamError> {
        let p = self.p;
        let mut a = self.xtx.clone();
        let mut c = self.xty.clone();
        let mut q = self.yty;
        let mut logdet_v = 0.0;
        for g in 0..self.n_j.len() {
            let nj = self.n_j[g] as f64;
            if self.n_j[g] == 0 {
                continue;
            }
            let w = gamma / (1.0 + nj * gamma);
            let s = &self.s_j[g];
            for r in 0..p {
                for k in 0..p {
                    a[r * p + k] -= w * s[r] * s[k];
                }
                c[r] -= w * s[r] * self.t_j[g];
            }
            q -= w * self.t_j[g] * self.t_j[g];
            logdet_v += (nj * gamma).ln_1p();
        }
        let chol = Cholesky::new(&a, p).map_err(|e| VamError::Singular(e.to_string()))?;
        let beta = chol.solve(&c);
        let rss = (q - c.iter().zip(&beta).map(|(u, v)| u * v).sum::<f64>()).max(0.0);
        let (n, pf) = (self.n as f64, p as f64);
        let two_pi = (2.0 * std::f64::consts::PI).ln();
        let crit = match lik {
            Likelihood::Reml => {
                let df = n - pf;
                df * (rss / df).ln() + logdet_v + chol.log_det() + df * (1.0 + two_pi)
            }
            Likelihood::Ml => n * (rss / n).ln() + logdet_v + n * (1.0 + two_pi),
        };
        Ok((crit, beta, rss, chol))
    }
}

/// The random-intercept model `y = Xβ + b_{g(i)} + e`, `b ~ N(0, σ_b²)`, `e ~ N(0, σ²)`
/// (module documentation): the groups and the likelihood. [`RandomSpec::fit`] gives a
/// [`RandomFit`] with the model-based covariance of `β̂` ([`RandomFit::se`]) and the
/// empirical Bayes group effects.
///
/// ```
/// use ndarray::array;
/// use obc::stats::vam::fixed::Factor;
/// use obc::stats::vam::random::{Likelihood, RandomSpec};
///
/// let x = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 1.5]];
/// let y = array![0.1, 1.2, 1.9, 3.0, 4.1, 4.8, 1.4];
/// let group = [0, 0, 0, 1, 1, 1, 0];
/// let spec = RandomSpec { group: Factor { level: &group, levels: 2 }, likelihood: Likelihood::Reml };
/// let fit = spec.fit(x.view(), y.view()).unwrap();
/// assert_eq!(fit.groups.len(), 2);
/// assert!(fit.groups[1].mean_residual > fit.groups[0].mean_residual);
/// assert!(fit.se()[1] > 0.0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RandomSpec<'a> {
    /// Each row's group (`0..levels`); every group must have a row.
    pub group: Factor<'a>,
    pub likelihood: Likelihood,
}

impl RandomSpec<'_> {
    /// Fits the model on the `n × p` design `x` (include the intercept column) and `y`. A
    /// column-major `x` is read in place; other layouts are copied once.
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<RandomFit, VamError> {
        let (n, p) = x.dim();
        let Factor { level, levels } = self.group;
        fit_random_intercept(&column_major(x), n, p, &contiguous(y), level, levels, self.likelihood)
    }
}

impl RandomFit {
    /// Standard errors of `β̂`, `sqrt(diag Cov(β̂))`.
    pub fn se(&self) -> Vec<f64> {
        let p = self.coefficients.len();
        (0..p).map(|j| self.covariance[j * p + j].sqrt()).collect()
    }
}

/// [`RandomSpec::fit`] on the column-major slice `x[j * n + i]`.
fn fit_random_intercept(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    group: &[usize],
    n_groups: usize,
    likelihood: Likelihood,
) -> Result<RandomFit, VamError> {
    super::check_inputs(x, n, p, y)?;
    if group.len() != n {
        return Err(VamError::Input(format!("group has {} entries for {n} rows", group.len())));
    }
    if let Some(&g) = group.iter().find(|&&g| g >= n_groups) {
        return Err(VamError::Input(format!("group index {g} is not below the number of groups {n_groups}")));
    }
    if n_groups < 2 {
        return Err(VamError::Input("a random intercept needs at least 2 groups".into()));
    }
    if n <= p {
        return Err(VamError::Input(format!("{n} rows for {p} coefficients")));
    }
    let st = Stats::new(x, n, p, y, group, n_groups)?;
    if let Some(g) = st.n_j.iter().position(|&c| c == 0) {
        return Err(VamError::Input(format!("group {g} has no rows")));
    }
    let f = |theta: f64| st.at(theta * theta, likelihood).map(|r| r.0);
    // Bracket on a grid, then golden section.
    let mut grid = vec![0.0];
    grid.extend((0..=70).map(|k| 10f64.powf(-4.0 + 7.0 * f64::from(k) / 70.0)));
    let values = grid.iter().map(|&t| f(t)).collect::<Result<Vec<_>, _>>()?;
    let best = values.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i).expect("grid is not empty");
    let (mut lo, mut hi) = (grid[best.saturating_sub(1)], grid[(best + 1).min(grid.len() - 1)]);
    let phi = (5f64.sqrt() - 1.0) / 2.0;
    let mut a = hi - phi * (hi - lo);
    let mut b = lo + phi * (hi - lo);
    let (mut fa, mut fb) = (f(a)?, f(b)?);
    while hi - lo > 1e-10 * (1.0 + lo.abs()) {
        if fa <= fb {
            hi = b;
            b = a;
            fb = fa;
            a = hi - phi * (hi - lo);
            fa = f(a)?;
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + phi * (hi - lo);
            fb = f(b)?;
        }
    }
    let mut theta = 0.5 * (lo + hi);
    // The boundary: compare with theta = 0 itself.
    if values[0] <= f(theta)? {
        theta = 0.0;
    }
    let boundary = theta == 0.0 || theta < 1e-8;
    let gamma = theta * theta;
    let (criterion, beta, rss, chol) = st.at(gamma, likelihood)?;
    let df = match likelihood {
        Likelihood::Reml => (n - p) as f64,
        Likelihood::Ml => n as f64,
    };
    let sigma2 = rss / df;
    let covariance: Vec<f64> = chol.inverse().iter().map(|v| v * sigma2).collect();
    let sigma2_between = gamma * sigma2;
    let groups = (0..n_groups)
        .map(|g| {
            let nj = st.n_j[g] as f64;
            let fitted: f64 = st.s_j[g].iter().zip(&beta).map(|(s, b)| s * b).sum();
            let mean_residual = (st.t_j[g] - fitted) / nj;
            let lambda = nj * gamma / (1.0 + nj * gamma);
            GroupEffect {
                n: st.n_j[g],
                mean_residual,
                reliability: lambda,
                shrunk: lambda * mean_residual,
                shrunk_std_error: (sigma2_between * (1.0 - lambda)).max(0.0).sqrt(),
                std_error: (sigma2 / nj).sqrt(),
            }
        })
        .collect();
    Ok(RandomFit {
        likelihood,
        coefficients: beta,
        covariance,
        sigma2_within: sigma2,
        sigma2_between,
        theta,
        criterion,
        boundary,
        groups,
        n_obs: n,
    })
}

/// Two-step shrunken group means (module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShrunkMeans {
    pub s2_within: f64,
    /// Moment estimate before the floor.
    pub s2_between_raw: f64,
    pub s2_between: f64,
    /// `true` when `s2_between_raw < 0` was floored to 0 (every effect then shrinks to 0).
    pub floored: bool,
    pub groups: Vec<GroupEffect>,
}

/// Shrinks group means of `residuals` (e.g. from an OLS fit without group terms) toward 0.
pub fn shrink_group_means(residuals: &[f64], group: &[usize], n_groups: usize) -> Result<ShrunkMeans, VamError> {
    if group.len() != residuals.len() {
        return Err(VamError::Input(format!("{} groups for {} residuals", group.len(), residuals.len())));
    }
    if n_groups < 2 {
        return Err(VamError::Input("shrinkage needs at least 2 groups".into()));
    }
    let mut n_j = vec![0usize; n_groups];
    let mut sum = vec![0.0; n_groups];
    for (&g, &r) in group.iter().zip(residuals) {
        if g >= n_groups || !r.is_finite() {
            return Err(VamError::Input(format!("bad group index {g} or residual {r}")));
        }
        n_j[g] += 1;
        sum[g] += r;
    }
    if let Some(g) = n_j.iter().position(|&c| c == 0) {
        return Err(VamError::Input(format!("group {g} has no rows")));
    }
    let mean: Vec<f64> = sum.iter().zip(&n_j).map(|(s, &c)| s / c as f64).collect();
    let big_n = residuals.len();
    if big_n <= n_groups {
        return Err(VamError::Input(format!("{big_n} rows in {n_groups} groups leave no within-group variation")));
    }
    let ss_within: f64 = group.iter().zip(residuals).map(|(&g, &r)| (r - mean[g]).powi(2)).sum();
    let s2_w = ss_within / (big_n - n_groups) as f64;
    let j = n_groups as f64;
    let grand = mean.iter().sum::<f64>() / j;
    let var_rbar = mean.iter().map(|m| (m - grand).powi(2)).sum::<f64>() / (j - 1.0);
    let mean_noise = n_j.iter().map(|&c| s2_w / c as f64).sum::<f64>() / j;
    let raw = var_rbar - mean_noise;
    let s2_b = raw.max(0.0);
    let groups = (0..n_groups)
        .map(|g| {
            let noise = s2_w / n_j[g] as f64;
            let lambda = if s2_b + noise > 0.0 { s2_b / (s2_b + noise) } else { 0.0 };
            GroupEffect {
                n: n_j[g],
                mean_residual: mean[g],
                reliability: lambda,
                shrunk: lambda * mean[g],
                shrunk_std_error: (lambda * noise).sqrt(),
                std_error: noise.sqrt(),
            }
        })
        .collect();
    Ok(ShrunkMeans { s2_within: s2_w, s2_between_raw: raw, s2_between: s2_b, floored: raw < 0.0, groups })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::floats;
    use ndarray::ShapeBuilder;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/r/vam.json");
    const EXAM: &str = include_str!("../../../tests/fixtures/r/vam_exam.csv");

    /// Exam: design [1, standLRT, female], y = normexam, school index (schools "1".."65").
    fn exam() -> (Vec<f64>, usize, Vec<f64>, Vec<usize>) {
        let mut r = csv::Reader::from_reader(EXAM.as_bytes());
        let h = r.headers().unwrap().clone();
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        let (is, iy, ix, ifem) = (col("school"), col("normexam"), col("standLRT"), col("female"));
        let (mut lrt, mut fem, mut y, mut g) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for rec in r.records() {
            let rec = rec.unwrap();
            y.push(rec[iy].parse().unwrap());
            lrt.push(rec[ix].parse::<f64>().unwrap());
            fem.push(rec[ifem].parse::<f64>().unwrap());
            g.push(rec[is].parse::<usize>().unwrap() - 1);
        }
        let n = y.len();
        let mut x = vec![1.0; n];
        x.extend(lrt);
        x.extend(fem);
        (x, n, y, g)
    }

    fn close(got: f64, want: f64, rel: f64, what: &str) {
        assert!((got - want).abs() <= rel * want.abs().max(1e-300), "{what}: {got} vs R {want}");
    }

    #[test]
    fn reml_matches_lmer_on_exam() {
        let (x, n, y, g) = exam();
        let xa = ndarray::Array2::from_shape_vec((n, 3).f(), x).unwrap();
        let spec = RandomSpec { group: Factor { level: &g, levels: 65 }, likelihood: Likelihood::Reml };
        let fit = spec.fit(xa.view(), ArrayView1::from(&y)).unwrap();
        let f: Value = serde_json::from_str(FIXTURE).unwrap();
        let r = &f["exam"]["lmer_random_intercept"]["reml"];
        // tolerances: tests/fixtures/r/README.md (lme4's optimizer stops ~1e-7 from theta)
        for (k, (b, se)) in floats(&r["fixef"]).iter().zip(floats(&r["fixef_se"])).enumerate() {
            close(fit.coefficients[k], *b, 1e-5, "fixef");
            close(fit.covariance[k * 3 + k].sqrt(), se, 1e-5, "fixef SE");
        }
        let vc = &r["variance_components"];
        close(fit.sigma2_between, vc["school_intercept_variance"].as_f64().unwrap(), 1e-5, "school variance");
        close(fit.sigma2_within, vc["residual_variance"].as_f64().unwrap(), 1e-5, "residual variance");
        close(fit.theta, floats(&vc["theta"])[0], 1e-5, "theta");
        // the criterion at the optimum: flat there, so much tighter than theta
        close(fit.criterion, r["reml_criterion"].as_f64().unwrap(), 1e-9, "REML criterion");
        // our theta is at least as good as lme4's (it minimizes the same function)
        assert!(fit.criterion <= r["reml_criterion"].as_f64().unwrap() + 1e-9);
        assert!(!fit.boundary);
        let ps = &r["per_school"];
        let (blup, sd, nj) = (floats(&ps["blup"]), floats(&ps["blup_sd"]), floats(&ps["n_j"]));
        for j in 0..65 {
            assert_eq!(fit.groups[j].n as f64, nj[j]);
            assert!((fit.groups[j].shrunk - blup[j]).abs() <= 1e-4, "school {}: BLUP", j + 1);
            assert!((fit.groups[j].shrunk_std_error - sd[j]).abs() <= 1e-4, "school {}: BLUP SD", j + 1);
        }
    }

    #[test]
    fn ml_matches_lmer_on_exam() {
        let (x, n, y, g) = exam();
        let fit = fit_random_intercept(&x, n, 3, &y, &g, 65, Likelihood::Ml).unwrap();
        let f: Value = serde_json::from_str(FIXTURE).unwrap();
        let r = &f["exam"]["lmer_random_intercept"]["ml"];
        for (k, (b, se)) in floats(&r["fixef"]).iter().zip(floats(&r["fixef_se"])).enumerate() {
            close(fit.coefficients[k], *b, 1e-5, "ML fixef");
            close(fit.covariance[k * 3 + k].sqrt(), se, 1e-5, "ML fixef SE");
        }
        let vc = &r["variance_components"];
        close(fit.sigma2_between, vc["school_intercept_variance"].as_f64().unwrap(), 1e-5, "ML school variance");
        close(fit.sigma2_within, vc["residual_variance"].as_f64().unwrap(), 1e-5, "ML residual variance");
        close(fit.criterion, r["deviance"].as_f64().unwrap(), 1e-9, "ML deviance");
    }

    #[test]
    fn shrunken_means_match_the_two_step_recipe() {
        let (x, n, y, g) = exam();
        // OLS residuals of y on [1, standLRT, female]
        let (xtx, xty) = gram(&x, n, 3, &y).unwrap();
        let b = Cholesky::new(&xtx, 3).unwrap().solve(&xty);
        let r: Vec<f64> = (0..n).map(|i| y[i] - (0..3).map(|k| x[k * n + i] * b[k]).sum::<f64>()).collect();
        let s = shrink_group_means(&r, &g, 65).unwrap();
        let f: Value = serde_json::from_str(FIXTURE).unwrap();
        let want = &f["exam"]["shrunken_means"];
        close(s.s2_within, want["s2_w"].as_f64().unwrap(), 1e-10, "s2_w");
        close(s.s2_between, want["s2_b"].as_f64().unwrap(), 1e-9, "s2_b");
        assert!(!s.floored);
        let ps = &want["per_school"];
        for (name, got) in [
            ("rbar", s.groups.iter().map(|e| e.mean_residual).collect::<Vec<_>>()),
            ("lambda", s.groups.iter().map(|e| e.reliability).collect()),
            ("shrunken", s.groups.iter().map(|e| e.shrunk).collect()),
            ("shrunken_se", s.groups.iter().map(|e| e.shrunk_std_error).collect()),
        ] {
            for (j, (a, w)) in got.iter().zip(floats(&ps[name])).enumerate() {
                assert!((a - w).abs() <= 1e-10 * w.abs().max(1.0), "school {} {name}: {a} vs R {w}", j + 1);
            }
        }
    }

    #[test]
    fn no_between_variance_hits_the_boundary_and_flags_it() {
        // Groups with identical means: the moment estimate is negative, REML puts theta at 0.
        let n = 400;
        let g: Vec<usize> = (0..n).map(|i| i % 8).collect();
        let y: Vec<f64> = (0..n).map(|i| ((i / 8) as f64 * 0.618).fract() - 0.5).collect();
        let x = vec![1.0; n];
        let fit = fit_random_intercept(&x, n, 1, &y, &g, 8, Likelihood::Reml).unwrap();
        assert!(fit.boundary && fit.sigma2_between == 0.0 && fit.groups.iter().all(|e| e.shrunk == 0.0));
        let s = shrink_group_means(&y, &g, 8).unwrap();
        assert!(s.floored && s.s2_between == 0.0 && s.groups.iter().all(|e| e.reliability == 0.0));
    }
}
