//! Least squares with absorbed fixed effects, and classical, HC1 and cluster-robust (CR1;
//! CR2 with Satterthwaite df in [`super::cr2`]) covariance matrices.
//!
//! # Model
//!
//! ```text
//! y_i = x_i'β + α_{f1(i)} + α_{f2(i)} + … + e_i
//! ```
//!
//! The fixed effects (e.g. school, grade) are absorbed by the within transformation: `y`
//! and every column of `X` are replaced by their residuals from the fixed-effect dummies
//! (Frisch-Waugh-Lovell), so thousands of schools need no dummy columns. With one factor
//! that is exact demeaning by group. With several, the method of alternating projections
//! (demean by each factor in turn) is repeated until no value changes by more than
//! `1e-13 · max(1, max|v|)` (at most 10,000 sweeps; non-convergence is an error). Then
//! `β̂ = (X̃'X̃)⁻¹ X̃'ỹ` by Cholesky ([`crate::stats::linalg`]), and with `ẽ = ỹ − X̃β̂`:
//!
//! ```text
//! classical:  σ̂² (X̃'X̃)⁻¹,                      σ̂² = ẽ'ẽ / (n − k)
//! HC1:        n/(n − k) · B (Σ_i x̃_i x̃_i' ẽ_i²) B,              B = (X̃'X̃)⁻¹
//! CR1:        G/(G − 1) · (n − 1)/(n − k) · B (Σ_g u_g u_g') B,   u_g = Σ_{i ∈ g} x̃_i ẽ_i
//! ```
//!
//! `k` counts every parameter of the equivalent dummy-variable regression: the `p` columns
//! of `X` plus the absorbed levels (with an intercept: `L − 1 + 1`), minus the redundant
//! ones. For one factor that is `p + L`; for two, `p + L1 + L2 − c` with `c` the number of
//! connected components of the bipartite level graph (one redundancy per component, exact);
//! for more factors `p + Σ L_f − (F − 1)` (exact when the factors are connected, otherwise
//! conservative, as reghdfe documents). Do not include an intercept column in `X` when
//! absorbing: it is a combination of the dummies and is refused as collinear.
//!
//! # Compatibility with R
//!
//! These are the dof factors of `sandwich::vcovHC(type = "HC1")` and
//! `sandwich::vcovCL(type = "HC1")` (`cadjust = TRUE`) applied to
//! `lm(y ~ x + factor(f))`, checked against `tests/fixtures/r/vam.json` (coefficients 1e-8,
//! SEs 1e-6 relative). Stata's `reghdfe` drops fixed effects nested within clusters from `k`
//! and so gives slightly smaller CR1 SEs; `areg` matches `lm` + `sandwich` in coefficients
//! but uses `(n − 1)/(n − p − 1)`-type factors. The choice here is R's.

use ndarray::{ArrayView1, ArrayView2};

use super::VamError;
use crate::stats::design::{column_major, contiguous};
use crate::stats::linalg::{Cholesky, gram, qr_lstsq, sandwich};

/// One absorbed factor: the level of each row (`0..levels`).
#[derive(Clone, Copy, Debug)]
pub struct Factor<'a> {
    pub level: &'a [usize],
    pub levels: usize,
}

/// How the coefficients are solved for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LeastSquares {
    /// Normal equations: `X̃'X̃` ([`crate::stats::linalg::gram`]) and its Cholesky factor.
    /// Fast (one pass over the data); a singular `X̃'X̃` is an error.
    #[default]
    NormalEquations,
    /// Householder QR of `X̃` ([`crate::stats::linalg::qr_lstsq`]), for ill-conditioned
    /// designs (about twice the digits of the normal equations); a column that is a linear
    /// combination of earlier ones (R's rank rule) is an error naming it.
    Qr,
}

/// The estimation half of a fixed-effects regression: which factors are absorbed and how
/// the coefficients are solved for. [`FixedSpec::fit`] gives a [`FixedFit`], on which the
/// covariance is then chosen ([`FixedFit::vcov`]), as `fixest` separates estimation from
/// inference.
///
/// ```
/// use ndarray::array;
/// use obc::stats::vam::fixed::{Factor, FixedSpec, Vcov};
///
/// // y = 2 x + a school effect; two schools, the second 10 points higher
/// let x = array![[1.0], [2.0], [3.0], [1.0], [2.0], [3.5]];
/// let y = array![2.1, 3.9, 6.0, 12.0, 14.1, 16.9];
/// let school = [0, 0, 0, 1, 1, 1];
/// let schools = Factor { level: &school, levels: 2 };
/// let fit = FixedSpec { absorb: &[schools], ..FixedSpec::default() }.fit(x.view(), y.view()).unwrap();
/// assert!((fit.coefficients[0] - 1.97).abs() < 0.05);
/// assert_eq!(fit.k, 3); // the slope and the two school means
/// let hc1 = fit.se(&Vcov::Hc1).unwrap();
/// let cr1 = fit.vcov(&Vcov::Cr1 { cluster: schools }).unwrap();
/// assert_eq!(cr1.n_clusters, Some(2));
/// assert!(hc1[0] > 0.0 && cr1.se()[0] >= 0.0);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedSpec<'a> {
    /// Factors absorbed by the within transformation (module documentation).
    pub absorb: &'a [Factor<'a>],
    pub solver: LeastSquares,
}

/// The covariance of the coefficients of a [`FixedFit`] (module documentation).
#[derive(Clone, Copy, Debug)]
pub enum Vcov<'a> {
    /// `σ̂² (X̃'X̃)⁻¹`.
    Classical,
    /// Heteroskedasticity-robust, `n/(n − k)` (R's `sandwich::vcovHC(type = "HC1")`).
    Hc1,
    /// Cluster-robust with `G/(G − 1) · (n − 1)/(n − k)` (`sandwich::vcovCL`); `cluster`
    /// gives each row's cluster (`0..levels`).
    Cr1 { cluster: Factor<'a> },
    /// Bias-reduced linearization (Bell and McCaffrey), as `clubSandwich::vcovCR(type =
    /// "CR2")` on `lm` with the dummies written out ([`super::cr2`]); no dof factor.
    Cr2 { cluster: Factor<'a> },
}

/// Which covariance a [`Covariance`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcovKind {
    Classical,
    Hc1,
    Cr1,
    Cr2,
}

impl VcovKind {
    /// The name printed in outputs: `classical`, `HC1`, `CR1`, `CR2`.
    pub fn label(self) -> &'static str {
        match self {
            VcovKind::Classical => "classical",
            VcovKind::Hc1 => "HC1",
            VcovKind::Cr1 => "CR1",
            VcovKind::Cr2 => "CR2",
        }
    }
}

/// A covariance matrix of the coefficients.
#[derive(Clone, Debug, PartialEq)]
pub struct Covariance {
    pub kind: VcovKind,
    /// Row-major `p × p`.
    pub matrix: Vec<f64>,
    /// Clusters with at least one row (CR1 and CR2 only).
    pub n_clusters: Option<usize>,
}

impl Covariance {
    /// `sqrt(diag)`, in the order of the design columns.
    pub fn se(&self) -> Vec<f64> {
        let p = (self.matrix.len() as f64).sqrt().round() as usize;
        (0..p).map(|j| self.matrix[j * p + j].sqrt()).collect()
    }
}

/// A fitted fixed-effects regression. The covariance is chosen on it ([`FixedFit::vcov`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FixedFit {
    pub coefficients: Vec<f64>,
    pub n: usize,
    /// Parameters of the equivalent dummy regression (see the module documentation).
    pub k: usize,
    pub df_residual: usize,
    pub rss: f64,
    pub sigma: f64,
    /// Sweeps of alternating projections (1 with a single factor, 0 with none).
    pub sweeps: usize,
    /// Residuals `ẽ` (within-transformed), one per row.
    pub residuals: Vec<f64>,
    /// The within-transformed design `X̃`, column-major.
    pub(super) within_x: Vec<f64>,
    /// `(X̃'X̃)⁻¹`, row-major `p × p`.
    pub(super) bread: Vec<f64>,
    /// The absorbed factors (levels of each row, number of levels), for CR2's hat matrix.
    pub(super) absorbed: Vec<(Vec<usize>, usize)>,
}

impl FixedSpec<'_> {
    /// Fits `y` on the `n × p` design `x` with the `absorb` factors absorbed (module
    /// documentation). A column-major `x` (a [`crate::stats::design::Design`]) is read in
    /// place; other layouts are copied once.
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<FixedFit, VamError> {
        let (n, p) = x.dim();
        fit_slices(&column_major(x), n, p, &contiguous(y), self)
    }
}

/// [`FixedSpec::fit`] on the column-major slice `x[j * n + i]`.
fn fit_slices(x: &[f64], n: usize, p: usize, y: &[f64], spec: &FixedSpec) -> Result<FixedFit, VamError> {
    super::check_inputs(x, n, p, y)?;
    for (k, f) in spec.absorb.iter().enumerate() {
        check_factor(f, k, n)?;
    }
    let Within { x: xt, y: yt, absorbed, sweeps } = within(x, n, y, spec.absorb)?;
    let k = p + absorbed;
    let (beta, bread) = match spec.solver {
        LeastSquares::NormalEquations => {
            if n <= k {
                return Err(too_few(n, k));
            }
            normal_equations(&xt, n, p, &yt)?
        }
        LeastSquares::Qr => {
            let q = qr_lstsq(&xt, n, p, &yt)?;
            if n < k {
                return Err(too_few(n, k));
            }
            (q.coefficients, q.xtx_inv)
        }
    };
    let mut e = yt;
    for (j, b) in beta.iter().enumerate() {
        for (ei, xij) in e.iter_mut().zip(&xt[j * n..(j + 1) * n]) {
            *ei -= xij * b;
        }
    }
    let rss: f64 = e.iter().map(|v| v * v).sum();
    let df = n - k;
    let sigma = (rss / df as f64).sqrt();
    let absorbed = spec.absorb.iter().map(|f| (f.level.to_vec(), f.levels)).collect();
    Ok(FixedFit {
        coefficients: beta,
        n,
        k,
        df_residual: df,
        rss,
        sigma,
        sweeps,
        residuals: e,
        within_x: xt,
        bread,
        absorbed,
    })
}

fn too_few(n: usize, k: usize) -> VamError {
    VamError::Input(format!("{n} rows for {k} parameters (including absorbed fixed effects)"))
}

/// A factor of `n` rows whose levels are below its count; `k` numbers it in messages.
fn check_factor(f: &Factor, k: usize, n: usize) -> Result<(), VamError> {
    if f.level.len() != n {
        return Err(VamError::Input(format!("factor {k} has {} entries for {n} rows", f.level.len())));
    }
    if let Some(&l) = f.level.iter().find(|&&l| l >= f.levels) {
        return Err(VamError::Input(format!("factor {k}: level {l} is not below its {} levels", f.levels)));
    }
    Ok(())
}

/// `β̂` and `(X̃'X̃)⁻¹` by the normal equations.
fn normal_equations(xt: &[f64], n: usize, p: usize, yt: &[f64]) -> Result<(Vec<f64>, Vec<f64>), VamError> {
    let (xtx, xty) = gram(xt, n, p, yt)?;
    let chol = Cholesky::new(&xtx, p).map_err(|e| {
        VamError::Singular(format!(
            "{e} (after absorbing the fixed effects: a column constant within a fixed-effect level, such as an intercept, is collinear)"
        ))
    })?;
    Ok((chol.solve(&xty), chol.inverse()))
}

impl FixedFit {
    pub(super) fn p(&self) -> usize {
        self.coefficients.len()
    }

    /// The covariance of the coefficients (module documentation).
    pub fn vcov(&self, v: &Vcov) -> Result<Covariance, VamError> {
        let (n, p, df) = (self.n, self.p(), self.df_residual);
        let (xt, e) = (&self.within_x, &self.residuals);
        match v {
            Vcov::Classical => {
                let s2 = self.rss / df as f64;
                let matrix = self.bread.iter().map(|v| v * s2).collect();
                Ok(Covariance { kind: VcovKind::Classical, matrix, n_clusters: None })
            }
            Vcov::Hc1 => {
                // HC meat: X̃' diag(e²) X̃
                let mut meat = vec![0.0; p * p];
                let mut row = vec![0.0; p];
                for i in 0..n {
                    for j in 0..p {
                        row[j] = xt[j * n + i] * e[i];
                    }
                    for a in 0..p {
                        for b in 0..=a {
                            meat[a * p + b] += row[a] * row[b];
                        }
                    }
                }
                symmetrize_lower(&mut meat, p);
                let hc1 = n as f64 / df as f64;
                let matrix = sandwich(&self.bread, &meat, p).iter().map(|v| v * hc1).collect();
                Ok(Covariance { kind: VcovKind::Hc1, matrix, n_clusters: None })
            }
            Vcov::Cr1 { cluster: c } => self.cr1(c),
            Vcov::Cr2 { cluster: c } => self.cr2(c),
        }
    }

    fn cr1(&self, c: &Factor) -> Result<Covariance, VamError> {
        let (n, p, df) = (self.n, self.p(), self.df_residual);
        let (xt, e) = (&self.within_x, &self.residuals);
        check_factor(c, 0, n).map_err(|_| {
            VamError::Input(format!("the cluster factor does not match the {n} rows or its {} levels", c.levels))
        })?;
        let mut u = vec![0.0; c.levels * p];
        for i in 0..n {
            let g = c.level[i];
            for j in 0..p {
                u[g * p + j] += xt[j * n + i] * e[i];
            }
        }
        let mut used = vec![false; c.levels];
        for &g in c.level {
            used[g] = true;
        }
        let big_g = used.iter().filter(|&&s| s).count();
        if big_g < 2 {
            return Err(VamError::Input("cluster-robust SEs need at least 2 clusters".into()));
        }
        let mut meat = vec![0.0; p * p];
        for ug in u.chunks(p) {
            for a in 0..p {
                for b in 0..=a {
                    meat[a * p + b] += ug[a] * ug[b];
                }
            }
        }
        symmetrize_lower(&mut meat, p);
        let gf = big_g as f64;
        let factor = gf / (gf - 1.0) * (n as f64 - 1.0) / df as f64;
        let matrix = sandwich(&self.bread, &meat, p).iter().map(|v| v * factor).collect();
        Ok(Covariance { kind: VcovKind::Cr1, matrix, n_clusters: Some(big_g) })
    }

    /// Standard errors under the covariance `v`.
    pub fn se(&self, v: &Vcov) -> Result<Vec<f64>, VamError> {
        Ok(self.vcov(v)?.se())
    }
}

/// Alternating projections of one column onto the complement of the absorbed factors;
/// returns the sweeps it took.
fn sweep_column(v: &mut [f64], absorb: &[Factor], counts: &[Vec<f64>], max_levels: usize) -> Result<usize, VamError> {
    let mut sums = vec![0.0; max_levels];
    let scale = v.iter().fold(1.0f64, |m, a| m.max(a.abs()));
    let mut s = 0;
    loop {
        s += 1;
        let before: Vec<f64> = if absorb.len() > 1 { v.to_vec() } else { Vec::new() };
        for (f, c) in absorb.iter().zip(counts) {
            demean(v, f, c, &mut sums[..f.levels]);
        }
        if absorb.len() == 1 {
            return Ok(s);
        }
        let change = v.iter().zip(&before).fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        if change <= 1e-13 * scale {
            return Ok(s);
        }
        if s >= 10_000 {
            return Err(VamError::Input(
                "alternating projections did not converge in 10,000 sweeps (weakly connected fixed effects)".into(),
            ));
        }
    }
}

/// Demeans `v` by the levels of `f` in place.
fn demean(v: &mut [f64], f: &Factor, counts: &[f64], sums: &mut [f64]) {
    sums.fill(0.0);
    for (x, &g) in v.iter().zip(f.level) {
        sums[g] += x;
    }
    for (s, c) in sums.iter_mut().zip(counts) {
        *s /= c;
    }
    for (x, &g) in v.iter_mut().zip(f.level) {
        *x -= sums[g];
    }
}

/// Number of connected components of the bipartite graph of two factors' levels.
fn components(a: &Factor, b: &Factor) -> usize {
    let mut parent: Vec<usize> = (0..a.levels + b.levels).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (&u, &v) in a.level.iter().zip(b.level) {
        let (ru, rv) = (find(&mut parent, u), find(&mut parent, a.levels + v));
        if ru != rv {
            parent[ru] = rv;
        }
    }
    (0..parent.len()).filter(|&i| find(&mut parent, i) == i).count()
}

/// A design and outcome with fixed effects partialled out.
#[derive(Clone, Debug, PartialEq)]
pub struct Within {
    /// Column-major, same shape as the input design.
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    /// Parameters the absorbed factors stand for (module documentation).
    pub absorbed: usize,
    /// Sweeps of alternating projections (0 without factors, 1 with one).
    pub sweeps: usize,
}

/// The within transformation of the column-major `x` (`n` rows) and `y` by `absorb`
/// (module documentation). Factors must have been checked (lengths, level ranges).
pub fn within(x: &[f64], n: usize, y: &[f64], absorb: &[Factor]) -> Result<Within, VamError> {
    let mut xt = x.to_vec();
    let mut yt = y.to_vec();
    let counts: Vec<Vec<f64>> = absorb
        .iter()
        .map(|f| {
            let mut c = vec![0.0; f.levels];
            for &g in f.level {
                c[g] += 1.0;
            }
            c.iter().map(|&v| if v == 0.0 { 1.0 } else { v }).collect()
        })
        .collect();
    let mut sweeps = 0;
    if !absorb.is_empty() {
        // Each column is swept on its own (on the pool; the result does not depend on the
        // number of threads).
        use rayon::prelude::*;
        let max_levels = absorb.iter().map(|f| f.levels).max().unwrap_or(0);
        let mut columns: Vec<&mut [f64]> = std::iter::once(&mut yt[..]).chain(xt.chunks_mut(n)).collect();
        sweeps = columns
            .par_iter_mut()
            .map(|v| sweep_column(v, absorb, &counts, max_levels))
            .collect::<Result<Vec<usize>, VamError>>()?
            .into_iter()
            .max()
            .unwrap_or(0);
    }
    // Parameters absorbed.
    let absorbed = match absorb {
        [] => 0,
        [a] => a
            .level
            .iter()
            .fold(vec![false; a.levels], |mut seen, &g| {
                seen[g] = true;
                seen
            })
            .iter()
            .filter(|&&s| s)
            .count(),
        [a, b] => {
            let used = |f: &Factor| {
                let mut seen = vec![false; f.levels];
                for &g in f.level {
                    seen[g] = true;
                }
                seen.iter().filter(|&&s| s).count()
            };
            // unused levels are isolated components: subtract them from the count
            let isolated = (a.levels - used(a)) + (b.levels - used(b));
            used(a) + used(b) - (components(a, b) - isolated)
        }
        many => {
            let total: usize = many
                .iter()
                .map(|f| {
                    let mut seen = vec![false; f.levels];
                    for &g in f.level {
                        seen[g] = true;
                    }
                    seen.iter().filter(|&&s| s).count()
                })
                .sum();
            total - (many.len() - 1)
        }
    };
    Ok(Within { x: xt, y: yt, absorbed, sweeps })
}

fn symmetrize_lower(m: &mut [f64], p: usize) {
    for a in 0..p {
        for b in 0..a {
            m[b * p + a] = m[a * p + b];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::floats;
    use ndarray::{Array2, ShapeBuilder};
    use serde_json::Value;

    /// The fit of the column-major `x` (`n` rows) through [`FixedSpec`].
    fn fit_fixed(x: &[f64], n: usize, p: usize, y: &[f64], absorb: &[Factor]) -> Result<FixedFit, VamError> {
        let x = Array2::from_shape_vec((n, p).f(), x.to_vec()).unwrap();
        FixedSpec { absorb, ..FixedSpec::default() }.fit(x.view(), ArrayView1::from(y))
    }

    fn vcov_of(fit: &FixedFit, v: Vcov) -> Vec<f64> {
        fit.vcov(&v).unwrap().matrix
    }

    const FIXTURE: &str = include_str!("../../../tests/fixtures/r/vam.json");
    const EXAM: &str = include_str!("../../../tests/fixtures/r/vam_exam.csv");
    const SYNTHETIC: &str = include_str!("../../../tests/fixtures/r/vam_synthetic.csv");

    fn matrix(v: &Value) -> Vec<f64> {
        v.as_array().unwrap().iter().flat_map(floats).collect()
    }

    fn columns(text: &str, names: &[&str]) -> Vec<Vec<String>> {
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let h = r.headers().unwrap().clone();
        let idx: Vec<usize> = names.iter().map(|n| h.iter().position(|c| c == *n).unwrap()).collect();
        let mut out = vec![Vec::new(); names.len()];
        for rec in r.records() {
            let rec = rec.unwrap();
            for (k, &i) in idx.iter().enumerate() {
                out[k].push(rec[i].to_string());
            }
        }
        out
    }

    fn num(v: &[String]) -> Vec<f64> {
        v.iter().map(|s| s.parse().unwrap()).collect()
    }

    fn check_cov(got: &[f64], want: &Value, what: &str) {
        let want = matrix(want);
        let p = (want.len() as f64).sqrt() as usize;
        for j in 0..p {
            // SEs 1e-6 relative (tests/fixtures/r/README.md)
            let (g, w) = (got[j * p + j].sqrt(), want[j * p + j].sqrt());
            assert!((g - w).abs() <= 1e-6 * w, "{what} SE {j}: {g} vs R {w}");
        }
    }

    #[test]
    fn exam_with_absorbed_schools_matches_lm_and_sandwich() {
        let c = columns(EXAM, &["school", "standLRT", "female", "normexam"]);
        let n = c[0].len();
        let school: Vec<usize> = c[0].iter().map(|s| s.parse::<usize>().unwrap() - 1).collect();
        let mut x = num(&c[1]);
        x.extend(num(&c[2]));
        let y = num(&c[3]);
        let f = Factor { level: &school, levels: 65 };
        let fit = fit_fixed(&x, n, 2, &y, &[f]).unwrap();
        let r: Value = serde_json::from_str(FIXTURE).unwrap();
        let want = &r["exam"]["ols_school_fe"];
        for (g, w) in fit.coefficients.iter().zip(floats(&want["coefficients"])) {
            assert!((g - w).abs() <= 1e-8 * w.abs(), "coefficient {g} vs R {w}");
        }
        assert_eq!(fit.k, want["covariance"]["k"].as_u64().unwrap() as usize);
        assert_eq!(fit.df_residual, want["df_residual"].as_u64().unwrap() as usize);
        assert!((fit.sigma - want["sigma"].as_f64().unwrap()).abs() <= 1e-10);
        let cov = &want["covariance"];
        check_cov(&vcov_of(&fit, Vcov::Classical), &cov["classical"]["cov"], "classical");
        check_cov(&vcov_of(&fit, Vcov::Hc1), &cov["hc1"]["cov"], "HC1");
        let cr1 = fit.vcov(&Vcov::Cr1 { cluster: f }).unwrap();
        check_cov(&cr1.matrix, &cov["cr1"]["cov"], "CR1");
        assert_eq!(cr1.n_clusters, Some(65));
        assert_eq!(cr1.kind, VcovKind::Cr1);
    }

    #[test]
    fn exam_without_fixed_effects_matches_lm_and_sandwich() {
        let c = columns(EXAM, &["school", "standLRT", "female", "normexam"]);
        let n = c[0].len();
        let school: Vec<usize> = c[0].iter().map(|s| s.parse::<usize>().unwrap() - 1).collect();
        let mut x = vec![1.0; n];
        x.extend(num(&c[1]));
        x.extend(num(&c[2]));
        let y = num(&c[3]);
        let fit = fit_fixed(&x, n, 3, &y, &[]).unwrap();
        let schools = Factor { level: &school, levels: 65 };
        let r: Value = serde_json::from_str(FIXTURE).unwrap();
        let want = &r["exam"]["ols_no_fe"];
        for (g, w) in fit.coefficients.iter().zip(floats(&want["coefficients"])) {
            assert!((g - w).abs() <= 1e-8 * w.abs(), "coefficient {g} vs R {w}");
        }
        let cov = &want["covariance"];
        check_cov(&vcov_of(&fit, Vcov::Classical), &cov["classical"]["cov"], "classical");
        check_cov(&vcov_of(&fit, Vcov::Hc1), &cov["hc1"]["cov"], "HC1");
        check_cov(&vcov_of(&fit, Vcov::Cr1 { cluster: schools }), &cov["cr1"]["cov"], "CR1");
    }

    #[test]
    fn synthetic_provider_effects_match_lm_and_sandwich() {
        let c = columns(SYNTHETIC, &["school", "provider", "pre", "low_income", "post"]);
        let n = c[0].len();
        let school: Vec<usize> = c[0].iter().map(|s| s.parse::<usize>().unwrap() - 1).collect();
        let mut x = num(&c[2]);
        for p in ["P1", "P2", "P3", "P4"] {
            x.extend(c[1].iter().map(|v| if v == p { 1.0 } else { 0.0 }));
        }
        x.extend(num(&c[3]));
        let y = num(&c[4]);
        let f = Factor { level: &school, levels: 40 };
        let fit = fit_fixed(&x, n, 6, &y, &[f]).unwrap();
        let r: Value = serde_json::from_str(FIXTURE).unwrap();
        let want = &r["synthetic"]["ols_school_fe"];
        // names: pre, P1..P4 (our column 5 is low_income)
        for (k, w) in floats(&want["coefficients"]).iter().enumerate() {
            assert!(
                (fit.coefficients[k] - w).abs() <= 1e-8 * w.abs().max(1.0),
                "{k}: {} vs R {w}",
                fit.coefficients[k]
            );
        }
        let li = want["low_income_coefficient"].as_f64().unwrap();
        assert!((fit.coefficients[5] - li).abs() <= 1e-8 * li.abs());
        let se = floats(&want["covariance"]["cr1"]["se"]);
        let ours = fit.se(&Vcov::Cr1 { cluster: f }).unwrap();
        for (k, w) in se.iter().enumerate() {
            assert!((ours[k] - w).abs() <= 1e-6 * w, "CR1 SE {k}: {} vs R {w}", ours[k]);
        }
        assert_eq!(fit.k, want["covariance"]["k"].as_u64().unwrap() as usize);
    }

    #[test]
    fn two_factors_equal_the_dummy_regression() {
        // 600 rows, schools (12) x grades (3) not nested; compare absorbing both with
        // absorbing schools and putting grade dummies in X.
        let n = 600;
        let school: Vec<usize> = (0..n).map(|i| (i * 7) % 12).collect();
        let grade: Vec<usize> = (0..n).map(|i| (i / 7) % 3).collect();
        let z: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| 2.0 * z[i] + school[i] as f64 * 0.3 - grade[i] as f64 + ((i * 13 % 17) as f64 - 8.0) / 10.0)
            .collect();
        let fs = Factor { level: &school, levels: 12 };
        let fg = Factor { level: &grade, levels: 3 };
        let both = fit_fixed(&z, n, 1, &y, &[fs, fg]).unwrap();
        let mut x = z.clone();
        for g in 1..3 {
            x.extend(grade.iter().map(|&v| if v == g { 1.0 } else { 0.0 }));
        }
        let dummies = fit_fixed(&x, n, 3, &y, &[fs]).unwrap();
        assert!(both.sweeps > 1);
        assert_eq!(both.k, dummies.k, "parameters: 1 + 12 + 3 - 1");
        assert!((both.coefficients[0] - dummies.coefficients[0]).abs() < 1e-10);
        assert!((both.rss - dummies.rss).abs() < 1e-9 * dummies.rss);
        let cr1 = Vcov::Cr1 { cluster: fs };
        let (a, b) = (both.se(&cr1).unwrap()[0], dummies.se(&cr1).unwrap()[0]);
        assert!((a - b).abs() < 1e-9 * b, "{a} vs {b}");
    }

    #[test]
    fn an_intercept_with_absorbed_effects_is_refused() {
        let n = 50;
        let g: Vec<usize> = (0..n).map(|i| i % 5).collect();
        let mut x = vec![1.0; n];
        x.extend((0..n).map(|i| i as f64));
        let y: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
        let err = fit_fixed(&x, n, 2, &y, &[Factor { level: &g, levels: 5 }]).unwrap_err();
        assert!(err.to_string().contains("column 0"), "{err}");
    }

    #[test]
    fn row_major_and_column_major_inputs_give_the_same_fit() {
        let c = columns(EXAM, &["school", "standLRT", "female", "normexam"]);
        let n = c[0].len();
        let school: Vec<usize> = c[0].iter().map(|s| s.parse::<usize>().unwrap() - 1).collect();
        let (a, b) = (num(&c[1]), num(&c[2]));
        let y = ndarray::Array1::from(num(&c[3]));
        let f = [Factor { level: &school, levels: 65 }];
        let spec = FixedSpec { absorb: &f, ..FixedSpec::default() };
        let fortran = Array2::from_shape_fn((n, 2).f(), |(i, j)| if j == 0 { a[i] } else { b[i] });
        let rows = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { a[i] } else { b[i] });
        let (u, v) = (spec.fit(fortran.view(), y.view()).unwrap(), spec.fit(rows.view(), y.view()).unwrap());
        assert_eq!(u, v);
        // a strided outcome view is copied, not misread
        let y2 = ndarray::Array1::from_iter(y.iter().flat_map(|&v| [v, f64::NAN]));
        let w = spec.fit(fortran.view(), y2.slice(ndarray::s![..;2])).unwrap();
        assert_eq!(w.coefficients, u.coefficients);
    }

    #[test]
    fn qr_and_normal_equations_agree_and_qr_names_a_collinear_column() {
        let c = columns(EXAM, &["standLRT", "female", "normexam"]);
        let n = c[0].len();
        let mut x = vec![1.0; n];
        x.extend(num(&c[0]));
        x.extend(num(&c[1]));
        let y = num(&c[2]);
        let xa = Array2::from_shape_vec((n, 3).f(), x.clone()).unwrap();
        let ne = FixedSpec::default().fit(xa.view(), ArrayView1::from(&y)).unwrap();
        let qr = FixedSpec { solver: LeastSquares::Qr, ..FixedSpec::default() }
            .fit(xa.view(), ArrayView1::from(&y))
            .unwrap();
        for (a, b) in ne.coefficients.iter().zip(&qr.coefficients) {
            assert!((a - b).abs() <= 1e-10 * b.abs().max(1.0), "{a} vs {b}");
        }
        let (sa, sb) = (ne.se(&Vcov::Hc1).unwrap(), qr.se(&Vcov::Hc1).unwrap());
        assert!((sa[1] - sb[1]).abs() <= 1e-9 * sb[1]);
        // a fourth column equal to twice the second
        x.extend(num(&c[0]).iter().map(|v| 2.0 * v));
        let xd = Array2::from_shape_vec((n, 4).f(), x).unwrap();
        let err = FixedSpec { solver: LeastSquares::Qr, ..FixedSpec::default() }
            .fit(xd.view(), ArrayView1::from(&y))
            .unwrap_err();
        assert!(err.to_string().contains('3'), "{err}");
    }

    #[test]
    fn covariances_are_chosen_on_the_fit_and_cr1_needs_two_clusters() {
        let n = 40;
        let z: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.7).cos()).collect();
        let y: Vec<f64> = (0..n).map(|i| 1.0 + z[i] + ((i * 7 % 5) as f64) / 10.0).collect();
        let mut x = vec![1.0; n];
        x.extend(&z);
        let fit = fit_fixed(&x, n, 2, &y, &[]).unwrap();
        let classical = fit.vcov(&Vcov::Classical).unwrap();
        assert_eq!(classical.kind.label(), "classical");
        let s2 = fit.rss / (n - 2) as f64;
        assert!((classical.matrix[3] - s2 * fit.bread[3]).abs() < 1e-15);
        let one = vec![0; n];
        let err = fit.vcov(&Vcov::Cr1 { cluster: Factor { level: &one, levels: 1 } }).unwrap_err();
        assert_eq!(err, VamError::Input("cluster-robust SEs need at least 2 clusters".into()));
        let bad = vec![3; n];
        assert!(fit.vcov(&Vcov::Cr1 { cluster: Factor { level: &bad, levels: 2 } }).is_err());
    }
}
