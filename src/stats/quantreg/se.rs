//! Standard errors of linear quantile-regression coefficients: the "iid" and "nid"
//! sandwich estimators of `summary.rq`.
//!
//! # Model
//!
//! For the tau-th regression quantile `b(tau)` of `y` on the n x p design `X`
//! (see the parent module), `sqrt(n) (b(tau) - beta(tau))` is asymptotically normal with
//! covariance `tau (1 - tau) H^{-1} J H^{-1}`, where `J = X'X / n` and
//! `H = sum_i f_i(xi_i(tau)) x_i x_i' / n` with `f_i` the conditional density of `y_i` at its
//! tau-th quantile (Koenker 2005, section 3.4; Koenker and Machado 1999). Both estimators
//! below replace the unknown densities by difference quotients of the quantile function
//! over a bandwidth `h`.
//!
//! ## Bandwidth ([`bandwidth`])
//!
//! With `x0 = Phi^{-1}(tau)`, `f0 = phi(x0)` and `alpha = 0.05`:
//!
//! ```text
//! Hall-Sheather (hs = true):  h = n^(-1/3) z_{1-alpha/2}^(2/3) [1.5 f0^2 / (2 x0^2 + 1)]^(1/3)
//! Bofinger     (hs = false):  h = n^(-1/5) [4.5 f0^4 / (2 x0^2 + 1)^2]^(1/5)
//! ```
//!
//! (Hall and Sheather 1988; Bofinger 1975). `Phi^{-1}` is [`qnorm`] (Wichura's AS 241,
//! about 16 significant digits), `phi` is [`dnorm`].
//!
//! ## "nid" (non-identically distributed errors; [`SeMethod::Nid`])
//!
//! 1. `h = bandwidth(tau, n, hs)`, halved while `tau - h < 0` or `tau + h > 1`.
//! 2. Refit at `tau + h` and `tau - h` (the caller's `refit`), `dyhat_i = x_i'(b(tau+h) - b(tau-h))`.
//! 3. `f_i = max(0, 2h / (dyhat_i - eps))`, `eps = sqrt(machine epsilon)`. Each `dyhat_i <= 0`
//!    (crossing quantile fits) is counted in the warning `"k non-positive fis"`; those
//!    observations (and those with `0 < dyhat_i < eps`) get density 0.
//! 4. `H = X' diag(f) X`, `Cov = tau (1 - tau) H^{-1} (X'X) H^{-1}`.
//!
//! ## "iid" ([`SeMethod::Iid`])
//!
//! The sparsity `s = 1/f(F^{-1}(tau))` is estimated from the residuals `r = y - X b` of the
//! supplied coefficients (no refit):
//!
//! 1. `pz` = number of `|r_i| < eps` (the basic observations of a vertex solution).
//! 2. `h = bandwidth(tau, n, hs)` (not halved), window `w = max(p + 1, ceil(n h))`.
//! 3. Order the residuals by absolute value (stable), take ranks `k = pz+1, ..., pz+w+1`
//!    (1-based; `w + 1` residuals), sort these residuals increasingly into `u_1 <= ...`.
//! 4. `s` is the slope of the least-absolute-deviation (median) regression of `u` on
//!    `k / (n - p)` with an intercept, solved exactly (below).
//! 5. `Cov = s^2 tau (1 - tau) (X'X)^{-1}`.
//!
//! The median regression in step 4 is solved by exact descent over lines through data
//! points (Wesolowsky 1981): the best line through a pivot point is a weighted median of
//! the slopes to the other points; the solver moves to an improving line through one of the
//! points on the current line until none improves. The optimum is a vertex (a line
//! through two points), as `rq.fit.br` returns. If a rotation about a point of the final
//! line leaves the objective unchanged, the solution set is not a single line and the
//! warning `"sparsity regression: solution may be nonunique"` is recorded. As `rq.fit.br`
//! does, the warning is also recorded at a degenerate vertex (more than two points on the
//! optimal line), where the line may still be unique.
//!
//! `std_error = sqrt(diag(Cov))` in both cases.
//!
//! # Compatibility with R
//!
//! Reference: quantreg 5.94 `summary.rq(fit, se = "nid" | "iid", hs = TRUE, covariance = TRUE)`
//! (fixtures in `tests/fixtures/r/quantreg.json`). Known deviations:
//!
//! - **No automatic method.** R's `summary.rq` uses `se = "rank"` when n < 1001 and "nid"
//!   otherwise. Here the method is always the caller's [`SeSpec::method`]; there is no
//!   data-dependent default. "rank", "ker" and the bootstraps are not implemented.
//! - **Refits.** R refits with the same method as the original fit, and so does
//!   [`super::RqFit::se`]. Most tests call the estimator with fn refits against R's
//!   br-based numbers (one goes through `RqSpec` with br); fn and br agree to about 4e-8 where br's solution is unique, so the
//!   tests compare at 1e-6 relative.
//! - **Linear algebra.** R forms `H^{-1}` and `(X'X)^{-1}` from QR factors (`qr(sqrt(f) X)`,
//!   `qr(X)`); here they come from Cholesky factors of `X' diag(f) X` and `X'X`. Results
//!   agree to rounding for well-conditioned designs. Where R's QR would silently pivot a
//!   (numerically) singular `sqrt(f) X`, e.g. when too many `f_i` are 0, this module returns
//!   [`QuantregError::SingularDesign`] naming the first failing column of `H`.
//! - **Inner sparsity regression.** R calls `rq(ord.resid ~ xt)` (br). The exact descent
//!   here returns the same line whenever it is unique (also at degenerate vertices, which
//!   br flags "Solution may be nonunique": the tiny fixture at tau 0.25 and 0.75 matches
//!   R to 2e-16). When the line is truly not unique, R's br and this descent may return
//!   different vertices, so the iid standard error can differ from R's; both warn.
//! - **Cost of the inner regression.** The descent costs O(m log m) per pivot examined,
//!   m = w + 1 ~ n^(2/3); it is exact, not a fixed-iteration approximation.
//! - **Window past the data.** If `pz + w + 1 > n`, R indexes past the end (`NA`s, then an
//!   error or a silently shortened regression). Here it is
//!   [`QuantregError::TooFewObservations`].
//! - **Warnings** are returned as data ([`SeTable::warnings`]) instead of R warnings. The
//!   nid text is R's (`"k non-positive fis"`).
//! - **Infinite densities.** If some `dyhat_i - eps` is exactly 0, R's `f_i` is `Inf` and
//!   its QR fails; here the Cholesky factorization fails the same way and
//!   [`QuantregError::SingularDesign`] is returned.
//!
//! # References
//!
//! - Koenker, R. (2005). *Quantile Regression*. Cambridge University Press, section 3.4
//!   (sparsity estimation, the "nid" sandwich, bandwidths).
//! - Koenker, R. and Machado, J. A. F. (1999). Goodness of fit and related inference
//!   processes for quantile regression. *JASA* 94(448), 1296-1310.
//! - Hall, P. and Sheather, S. J. (1988). On the distribution of a studentized quantile.
//!   *JRSS B* 50(3), 381-391.
//! - Bofinger, E. (1975). Estimation of a density function using order statistics.
//!   *Australian Journal of Statistics* 17(1), 1-7.
//! - Wichura, M. J. (1988). Algorithm AS 241: The percentage points of the normal
//!   distribution. *Applied Statistics* 37(3), 477-484.
//! - Wesolowsky, G. O. (1981). A new descent algorithm for the least absolute value
//!   regression problem. *Communications in Statistics B* 10(5), 479-491.

use crate::stats::warning::{Warning, WarningCode};
use serde::{Deserialize, Serialize};

use super::{QuantregError, check_rank, check_shapes, check_values};
use crate::stats::linalg;
pub use crate::stats::normal::{dnorm, qnorm};

/// The standard-error estimator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeMethod {
    /// Sparsity from the residuals of the fit; `Cov = s^2 tau (1 - tau) (X'X)^{-1}`.
    Iid,
    /// Local densities from refits at `tau +/- h`; `Cov = tau (1 - tau) H^{-1} X'X H^{-1}`.
    Nid,
}

/// Which standard errors to compute.
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `method` | `nid` | estimator, see [`SeMethod`] | `iid`, `nid` |
/// | `hs` | `true` | Hall-Sheather bandwidth (`false`: Bofinger) | bool |
///
/// ```
/// use obc::stats::quantreg::se::{SeMethod, SeSpec};
/// let spec: SeSpec = serde_json::from_str(r#"{"method": "iid"}"#).unwrap();
/// assert_eq!(spec, SeSpec { method: SeMethod::Iid, hs: true });
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeSpec {
    pub method: SeMethod,
    pub hs: bool,
}

impl Default for SeSpec {
    fn default() -> Self {
        SeSpec { method: SeMethod::Nid, hs: true }
    }
}

/// Standard errors and covariance of the coefficients.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeTable {
    /// `sqrt(diag(cov))`, in the order of the design columns.
    pub std_error: Vec<f64>,
    /// p x p covariance matrix, row-major.
    pub cov: Vec<f64>,
    /// The bandwidth used: nid, after halving to keep `tau +/- h` in [0, 1]; iid, the
    /// bandwidth that sets the residual window (never halved).
    pub bandwidth: f64,
    pub method: SeMethod,
    /// Diagnostics that R reports as warnings.
    pub warnings: Vec<Warning>,
}

/// `sqrt(machine epsilon)`, R's `.Machine$double.eps^(1/2)` in `summary.rq`.
fn sqrt_eps() -> f64 {
    f64::EPSILON.sqrt()
}

/// Bandwidth for sparsity estimation at quantile `tau` with `n` observations:
/// Hall-Sheather (`hs = true`, alpha = 0.05) or Bofinger (`hs = false`); R's
/// `bandwidth.rq(tau, n, hs)`. See the module documentation.
pub fn bandwidth(tau: f64, n: usize, hs: bool) -> f64 {
    let x0 = qnorm(tau);
    let f0 = dnorm(x0);
    let n = n as f64;
    if hs {
        let z = qnorm(1.0 - 0.05 / 2.0);
        n.powf(-1.0 / 3.0) * z.powf(2.0 / 3.0) * ((1.5 * f0 * f0) / (2.0 * x0 * x0 + 1.0)).powf(1.0 / 3.0)
    } else {
        n.powf(-0.2) * ((4.5 * f0.powi(4)) / (2.0 * x0 * x0 + 1.0).powi(2)).powf(0.2)
    }
}

/// nid's bandwidth: [`bandwidth`] halved until `tau - h >= 0` and `tau + h <= 1`.
fn nid_bandwidth(tau: f64, n: usize, hs: bool) -> f64 {
    let mut h = bandwidth(tau, n, hs);
    while tau - h < 0.0 || tau + h > 1.0 {
        h /= 2.0;
    }
    h
}

/// Standard errors of the coefficients `coefficients` of the tau-th regression quantile of
/// `y` on the column-major n x p design `x` (element (i, j) at `x[j * n + i]`).
///
/// `refit(t)` must return the coefficients of the regression quantile at `t` on the same
/// data ([`super::RqFit::se`] refits with the fit's own solver). "nid" calls it
/// twice (at `tau + h` and `tau - h`); "iid" does not call it.
///
/// Errors: the input checks of `RqSpec::fit` (lengths, non-finite values, tau, rank), a
/// coefficient vector of the wrong length, errors returned by `refit`, a singular
/// density-weighted `H` (nid, [`QuantregError::SingularDesign`]), or a residual window
/// longer than the data (iid, [`QuantregError::TooFewObservations`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn standard_errors(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    tau: f64,
    coefficients: &[f64],
    spec: &SeSpec,
    refit: &dyn Fn(f64) -> Result<Vec<f64>, QuantregError>,
) -> Result<SeTable, QuantregError> {
    validate(x, n, p, y, tau, coefficients)?;
    let xtx = crossprod(x, n, p, None);
    let tt = tau * (1.0 - tau);
    let mut warnings = Vec::new();
    let (cov, h) = match spec.method {
        SeMethod::Nid => {
            let h = nid_bandwidth(tau, n, spec.hs);
            let bhi = refit(tau + h)?;
            let blo = refit(tau - h)?;
            for b in [&bhi, &blo] {
                if b.len() != p {
                    return Err(QuantregError::LengthMismatch {
                        what: "coefficients returned by refit",
                        expected: p,
                        got: b.len(),
                    });
                }
            }
            let db: Vec<f64> = bhi.iter().zip(&blo).map(|(a, b)| a - b).collect();
            let eps = sqrt_eps();
            let mut nonpos = 0usize;
            let f: Vec<f64> = (0..n)
                .map(|i| {
                    let dyhat: f64 = (0..p).map(|j| x[j * n + i] * db[j]).sum();
                    if dyhat <= 0.0 {
                        nonpos += 1;
                    }
                    (2.0 * h / (dyhat - eps)).max(0.0)
                })
                .collect();
            if nonpos > 0 {
                warnings.push(Warning::new(WarningCode::QuantregNonPositiveFis, format!("{nonpos} non-positive fis")));
            }
            let hmat = crossprod(x, n, p, Some(&f));
            let hinv = spd_inverse(&hmat, p).map_err(|col| singular(p, col))?;
            let a = matmul(&hinv, &xtx, p);
            let mut cov = matmul(&a, &hinv, p);
            cov.iter_mut().for_each(|c| *c *= tt);
            (cov, h)
        }
        SeMethod::Iid => {
            let h = bandwidth(tau, n, spec.hs);
            let eps = sqrt_eps();
            let resid: Vec<f64> =
                (0..n).map(|i| y[i] - (0..p).map(|j| x[j * n + i] * coefficients[j]).sum::<f64>()).collect();
            let pz = resid.iter().filter(|r| r.abs() < eps).count();
            let w = (p + 1).max((n as f64 * h).ceil() as usize);
            let needed = pz + w + 1;
            if needed > n {
                return Err(QuantregError::TooFewObservations { needed, got: n });
            }
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| resid[a].abs().total_cmp(&resid[b].abs()));
            let mut u: Vec<f64> = order[pz..needed].iter().map(|&i| resid[i]).collect();
            u.sort_by(f64::total_cmp);
            let xt: Vec<f64> = (pz + 1..=needed).map(|k| k as f64 / (n - p) as f64).collect();
            let line = lad_line(&xt, &u);
            if !line.unique {
                warnings.push(Warning::new(
                    WarningCode::QuantregNonunique,
                    "sparsity regression: solution may be nonunique",
                ));
            }
            let sparsity = line.slope;
            let xtxinv = spd_inverse(&xtx, p).map_err(|col| singular(p, col))?;
            let cov: Vec<f64> = xtxinv.iter().map(|c| sparsity * sparsity * tt * c).collect();
            (cov, h)
        }
    };
    let std_error = (0..p).map(|j| cov[j * p + j].sqrt()).collect();
    Ok(SeTable { std_error, cov, bandwidth: h, method: spec.method, warnings })
}

fn singular(p: usize, col: usize) -> QuantregError {
    QuantregError::SingularDesign { rank: col, cols: p, collinear: vec![col] }
}

fn validate(x: &[f64], n: usize, p: usize, y: &[f64], tau: f64, coefficients: &[f64]) -> Result<(), QuantregError> {
    check_shapes(x, n, p, y, tau)?;
    if coefficients.len() != p {
        return Err(QuantregError::LengthMismatch { what: "coefficients", expected: p, got: coefficients.len() });
    }
    for (j, b) in coefficients.iter().enumerate() {
        if !b.is_finite() {
            return Err(QuantregError::NonFinite { row: j, column: "coefficients".to_string() });
        }
    }
    check_values(x, n, p, y)?;
    if n <= p {
        return Err(QuantregError::TooFewObservations { needed: p + 1, got: n });
    }
    check_rank(x, n, p)
}

/// `X' diag(w) X` (row-major p x p); `w = None` means all ones.
fn crossprod(x: &[f64], n: usize, p: usize, w: Option<&[f64]>) -> Vec<f64> {
    let mut m = vec![0.0; p * p];
    for a in 0..p {
        let xa = &x[a * n..(a + 1) * n];
        for b in 0..=a {
            let xb = &x[b * n..(b + 1) * n];
            let s: f64 = match w {
                Some(w) => (0..n).map(|i| xa[i] * w[i] * xb[i]).sum(),
                None => xa.iter().zip(xb).map(|(u, v)| u * v).sum(),
            };
            m[a * p + b] = s;
            m[b * p + a] = s;
        }
    }
    m
}

fn matmul(a: &[f64], b: &[f64], p: usize) -> Vec<f64> {
    let mut c = vec![0.0; p * p];
    for i in 0..p {
        for k in 0..p {
            let aik = a[i * p + k];
            for j in 0..p {
                c[i * p + j] += aik * b[k * p + j];
            }
        }
    }
    c
}

/// Inverse of a symmetric positive definite matrix by Cholesky; `Err(column)` when the
/// pivot of that column is not positive (relative to the diagonal) or not finite.
fn spd_inverse(a: &[f64], p: usize) -> Result<Vec<f64>, usize> {
    // Lower factor L, A = L L'.
    let mut l = vec![0.0; p * p];
    for j in 0..p {
        let mut d = a[j * p + j];
        for k in 0..j {
            d -= l[j * p + k] * l[j * p + k];
        }
        if !(d.is_finite() && d > 1e-14 * a[j * p + j].abs()) || d <= 0.0 {
            return Err(j);
        }
        let djj = d.sqrt();
        l[j * p + j] = djj;
        for i in j + 1..p {
            let mut s = a[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            l[i * p + j] = s / djj;
        }
    }
    // A^{-1} = L^{-T} L^{-1}
    Ok(linalg::inverse_from_lower(&l, p))
}

/// A least-absolute-deviation line `y = intercept + slope x`.
#[derive(Clone, Copy, Debug)]
struct LadLine {
    intercept: f64,
    slope: f64,
    objective: f64,
    unique: bool,
}

fn lad_objective(x: &[f64], y: &[f64], a: f64, s: f64) -> f64 {
    x.iter().zip(y).map(|(xi, yi)| (yi - a - s * xi).abs()).sum()
}

/// Best line through point `i`: slope = weighted median of the slopes to the other points
/// (weights `|x_j - x_i|`). `None` if every other point has the same x.
fn best_through(x: &[f64], y: &[f64], i: usize, buf: &mut Vec<(f64, f64)>) -> Option<LadLine> {
    buf.clear();
    for j in 0..x.len() {
        let dx = x[j] - x[i];
        if j != i && dx != 0.0 {
            buf.push(((y[j] - y[i]) / dx, dx.abs()));
        }
    }
    if buf.is_empty() {
        return None;
    }
    buf.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = buf.iter().map(|b| b.1).sum();
    let mut cum = 0.0;
    let mut slope = buf[buf.len() - 1].0;
    for &(s, w) in buf.iter() {
        cum += w;
        if cum >= 0.5 * total {
            slope = s;
            break;
        }
    }
    let intercept = y[i] - slope * x[i];
    Some(LadLine { intercept, slope, objective: lad_objective(x, y, intercept, slope), unique: true })
}

/// Exact LAD (median) regression of `y` on `x` with an intercept, by descent over lines
/// through data points (see the module documentation). Requires at least two distinct x.
fn lad_line(x: &[f64], y: &[f64]) -> LadLine {
    let m = x.len();
    let scale = y.iter().fold(0.0_f64, |a, v| a.max(v.abs())).max(f64::MIN_POSITIVE);
    let on_tol = 1e-11 * scale;
    let mut buf = Vec::with_capacity(m);
    let Some(mut best) = best_through(x, y, m / 2, &mut buf) else {
        return LadLine { intercept: f64::NAN, slope: f64::NAN, objective: f64::NAN, unique: false };
    };
    // Each move strictly lowers the objective, so no line is visited twice; the cap is a
    // guard against rounding cycles only.
    for _ in 0..(4 * m + 16) {
        let improve_tol = 1e-13 * best.objective.max(scale);
        let mut moved = false;
        for i in 0..m {
            if (y[i] - best.intercept - best.slope * x[i]).abs() > on_tol {
                continue;
            }
            if let Some(cand) = best_through(x, y, i, &mut buf)
                && cand.objective < best.objective - improve_tol
            {
                best = cand;
                moved = true;
                break;
            }
        }
        if !moved {
            break;
        }
    }
    // Uniqueness: no rotation about a point on the line is flat at the optimum.
    let mut unique = true;
    let resid: Vec<f64> = (0..m).map(|j| y[j] - best.intercept - best.slope * x[j]).collect();
    for i in 0..m {
        if resid[i].abs() > on_tol {
            continue;
        }
        let (mut w_less, mut w_eq, mut w_greater, mut total) = (0.0, 0.0, 0.0, 0.0);
        for j in 0..m {
            let dx = x[j] - x[i];
            if j == i || dx == 0.0 {
                continue;
            }
            let w = dx.abs();
            total += w;
            if resid[j].abs() <= on_tol {
                w_eq += w;
            } else if resid[j] / dx > 0.0 {
                w_greater += w;
            } else {
                w_less += w;
            }
        }
        let right = w_less + w_eq - w_greater;
        let left = w_less - w_eq - w_greater;
        let tol = 1e-12 * total;
        if right.abs() <= tol || left.abs() <= tol {
            unique = false;
        }
    }
    // rq.fit.br also flags a degenerate vertex (more than p = 2 points on the line), even
    // when the line is the unique optimum; do the same so the warnings match R's.
    let on_line = resid.iter().filter(|r| r.abs() <= on_tol).count();
    best.unique = unique && on_line <= 2;
    best
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{Case, case};
    use super::super::{FnOptions, fit_fn};
    use super::*;
    use crate::stats::testutil::floats;
    use ndarray::ShapeBuilder;
    use serde_json::Value;

    fn messages(w: &[Warning]) -> Vec<String> {
        w.iter().map(|w| w.message.clone()).collect()
    }

    fn strings(v: &Value) -> Vec<String> {
        v.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect()
    }

    /// Compares one `SeTable` with R's `se_nid` / `se_iid` record. Std errors: 1e-6 relative.
    /// Covariance: entry (a, b) within 1e-6 * sqrt(cov_aa cov_bb) (relative on the scale of
    /// the entry's variances; an off-diagonal entry can be near 0 where a plain relative
    /// error is meaningless). Tolerance 1e-6: R refits with br, the tests with fn, and the
    /// two agree to ~4e-8 on unique fits (tests/fixtures/r/README.md).
    fn compare(c: &Case, tau: f64, what: &str, ours: &SeTable, r: &Value) {
        let p = c.terms.len();
        let r_se = floats(&r["std_error"]);
        let r_cov: Vec<Vec<f64>> = r["cov"].as_array().unwrap().iter().map(floats).collect();
        let mut worst = 0.0_f64;
        for (j, term) in c.terms.iter().enumerate() {
            let (a, b) = (ours.std_error[j], r_se[j]);
            worst = worst.max((a - b).abs() / b.abs());
            assert!(
                (a - b).abs() <= 1e-6 * b.abs(),
                "quantreg.json {}: tau {tau}: {what} std_error `{term}`: Rust {a:.17e}, R {b:.17e}",
                c.name
            );
        }
        for a_ in 0..p {
            for b_ in 0..p {
                let (o, rv) = (ours.cov[a_ * p + b_], r_cov[a_][b_]);
                let scale = (r_cov[a_][a_] * r_cov[b_][b_]).sqrt();
                worst = worst.max((o - rv).abs() / scale);
                assert!(
                    (o - rv).abs() <= 1e-6 * scale,
                    "quantreg.json {}: tau {tau}: {what} cov[`{}`, `{}`]: Rust {o:.17e}, R {rv:.17e}",
                    c.name,
                    c.terms[a_],
                    c.terms[b_]
                );
            }
        }
        eprintln!("{} tau {tau} {what}: largest relative difference from R {worst:.3e}", c.name);
    }

    fn rel_eq(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs()
    }

    /// Bandwidths: the Hall-Sheather value and the halved nid value, 1e-12 relative.
    #[test]
    fn bandwidths_match_r() {
        for name in ["engel", "synthetic", "tiny_nonunique"] {
            let c = case(name);
            for f in &c.fits {
                let tau = f["tau"].as_f64().unwrap();
                let hs = bandwidth(tau, c.n, true);
                let r_hs = f["se_nid"]["bandwidth_hs"].as_f64().unwrap();
                assert!(rel_eq(hs, r_hs, 1e-12), "{name}: tau {tau}: bandwidth_hs: Rust {hs:.17e}, R {r_hs:.17e}");
                let used = nid_bandwidth(tau, c.n, true);
                let r_used = f["se_nid"]["bandwidth_nid_used"].as_f64().unwrap();
                assert!(
                    rel_eq(used, r_used, 1e-12),
                    "{name}: tau {tau}: bandwidth_nid_used: Rust {used:.17e}, R {r_used:.17e}"
                );
            }
        }
    }

    fn fn_refit<'a>(c: &'a Case) -> impl Fn(f64) -> Result<Vec<f64>, QuantregError> + 'a {
        let p = c.terms.len();
        move |t: f64| fit_fn(&c.x, c.n, p, &c.y, t, &FnOptions::default()).map(|f| f.coefficients)
    }

    fn compare_data_set(name: &str) {
        let c = case(name);
        let p = c.terms.len();
        let refit = fn_refit(&c);
        for f in &c.fits {
            let tau = f["tau"].as_f64().unwrap();
            let b = floats(&f["br"]["coefficients"]);
            for (method, key) in [(SeMethod::Nid, "se_nid"), (SeMethod::Iid, "se_iid")] {
                let spec = SeSpec { method, hs: true };
                let t = standard_errors(&c.x, c.n, p, &c.y, tau, &b, &spec, &refit).unwrap();
                compare(&c, tau, key, &t, &f[key]);
                let r_h = if method == SeMethod::Nid {
                    f[key]["bandwidth_nid_used"].as_f64().unwrap()
                } else {
                    f[key]["bandwidth_hs"].as_f64().unwrap()
                };
                assert!(
                    rel_eq(t.bandwidth, r_h, 1e-12),
                    "{name}: tau {tau}: {key} bandwidth: Rust {:.17e}, R {r_h:.17e}",
                    t.bandwidth
                );
                assert_eq!(messages(&t.warnings), strings(&f[key]["warnings"]), "{name}: tau {tau}: {key} warnings");
                assert_eq!(t.method, method, "{name}: tau {tau}: method");
            }
        }
    }

    #[test]
    fn se_on_a_br_fit_matches_r_through_the_spec() {
        // summary.rq on rq(method = "br") refits with br: RqSpec -> RqFit::se does the same
        for name in ["engel", "synthetic"] {
            let c = case(name);
            let p = c.terms.len();
            let x = ndarray::ArrayView2::from_shape((c.n, p).f(), &c.x[..]).unwrap();
            for f in &c.fits {
                let tau = f["tau"].as_f64().unwrap();
                let spec = super::super::RqSpec { tau, solver: super::super::RqSolver::Br(Default::default()) };
                let fit = spec.fit(x, ndarray::ArrayView1::from(&c.y)).unwrap();
                for (method, key) in [(SeMethod::Nid, "se_nid"), (SeMethod::Iid, "se_iid")] {
                    let t = fit.se(&SeSpec { method, hs: true }).unwrap();
                    compare(&c, tau, key, &t, &f[key]);
                }
            }
        }
    }

    #[test]
    fn engel_matches_r() {
        compare_data_set("engel");
    }

    #[test]
    fn synthetic_matches_r() {
        compare_data_set("synthetic");
    }

    /// The tiny intercept-only set (n = 10). Its br fits at tau 0.1, 0.5, 0.9 are
    /// non-unique, so fn refits would land inside the solution interval, not on R's vertex.
    /// nid uses only the refits at tau +/- h, where n (tau +/- h) is not an integer: the
    /// intercept-only br solution there is unique, the ceil(n t)-th order statistic, which
    /// the refit below computes exactly. iid uses R's br coefficients (fed in, so R's vertex
    /// is used even where it is not unique) and a median regression on w + 1 sorted
    /// residuals. At tau 0.25 and 0.75 R's br warns "Solution may be nonunique" for that
    /// inner regression; the line there is in fact the unique optimum (4 of the 5 points lie
    /// on it: a degenerate vertex, which br flags), so the values are compared as well.
    #[test]
    fn tiny_nonunique_matches_r_where_determined() {
        let c = case("tiny_nonunique");
        let mut sorted = c.y.clone();
        sorted.sort_by(f64::total_cmp);
        let refit = |t: f64| {
            let k = (c.n as f64 * t).ceil() as usize;
            Ok(vec![sorted[k - 1]])
        };
        for f in &c.fits {
            let tau = f["tau"].as_f64().unwrap();
            let b = floats(&f["br"]["coefficients"]);
            let nid = SeSpec { method: SeMethod::Nid, hs: true };
            let t = standard_errors(&c.x, c.n, 1, &c.y, tau, &b, &nid, &refit).unwrap();
            compare(&c, tau, "se_nid", &t, &f["se_nid"]);
            let iid = SeSpec { method: SeMethod::Iid, hs: true };
            let t = standard_errors(&c.x, c.n, 1, &c.y, tau, &b, &iid, &refit).unwrap();
            compare(&c, tau, "se_iid", &t, &f["se_iid"]);
            let expected: Vec<String> = strings(&f["se_iid"]["warnings"])
                .iter()
                .map(|w| {
                    assert_eq!(w, "Solution may be nonunique", "tiny: tau {tau}: unexpected R warning");
                    "sparsity regression: solution may be nonunique".to_string()
                })
                .collect();
            assert_eq!(messages(&t.warnings), expected, "tiny: tau {tau}: iid warnings");
        }
    }

    /// The exact LAD line against brute force over all lines through two points.
    #[test]
    fn lad_line_is_the_exact_optimum() {
        let x: Vec<f64> = (1..=15).map(|k| k as f64 / 7.0).collect();
        let y: Vec<f64> = x.iter().enumerate().map(|(i, v)| 2.0 * v + ((i * 37 % 11) as f64 - 5.0) * 0.3).collect();
        let line = lad_line(&x, &y);
        let mut best = f64::INFINITY;
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                let s = (y[j] - y[i]) / (x[j] - x[i]);
                best = best.min(lad_objective(&x, &y, y[i] - s * x[i], s));
            }
        }
        assert!(
            (line.objective - best).abs() <= 1e-12 * best,
            "LAD objective {} vs brute force {best}",
            line.objective
        );
    }

    #[test]
    fn crossing_refits_are_reported() {
        let c = case("engel");
        let b = floats(&c.fits[2]["br"]["coefficients"]);
        // Swapped refits: every dyhat is negative, every density 0, H singular.
        let refit = |t: f64| Ok(if t > 0.5 { vec![0.0, 0.5] } else { vec![0.0, 0.6] });
        let spec = SeSpec::default();
        let err = standard_errors(&c.x, c.n, 2, &c.y, 0.5, &b, &spec, &refit).unwrap_err();
        assert!(matches!(err, QuantregError::SingularDesign { .. }), "{err:?}");
    }

    #[test]
    fn input_errors_name_their_subject() {
        let c = case("engel");
        let refit = |_t: f64| Ok(vec![0.0, 0.0]);
        let spec = SeSpec::default();
        let e = standard_errors(&c.x, c.n, 2, &c.y, 1.0, &[0.0, 0.0], &spec, &refit).unwrap_err();
        assert_eq!(e, QuantregError::TauOutOfRange { tau: 1.0 });
        let e = standard_errors(&c.x, c.n, 2, &c.y, 0.5, &[0.0], &spec, &refit).unwrap_err();
        assert_eq!(e, QuantregError::LengthMismatch { what: "coefficients", expected: 2, got: 1 });
        let short = |_t: f64| Ok(vec![0.0]);
        let e = standard_errors(&c.x, c.n, 2, &c.y, 0.5, &[0.0, 0.0], &spec, &short).unwrap_err();
        assert!(matches!(e, QuantregError::LengthMismatch { what: "coefficients returned by refit", .. }), "{e:?}");
    }

    #[test]
    fn spec_serde_roundtrip() {
        let spec: SeSpec = serde_json::from_str("{}").unwrap();
        assert_eq!(spec, SeSpec { method: SeMethod::Nid, hs: true });
        assert_eq!(serde_json::to_string(&SeMethod::Iid).unwrap(), "\"iid\"");
        assert!(serde_json::from_str::<SeSpec>(r#"{"methd": "iid"}"#).is_err());
    }
}
