//! Linear quantile regression by the Frisch-Newton interior-point method.
//!
//! # Model
//!
//! For observations `(x_i, y_i)`, `i = 1..n`, with `x_i` a p-vector (the caller includes
//! the intercept column), the tau-th regression quantile is
//!
//! ```text
//! b(tau) = argmin_b  sum_i rho_tau(y_i - x_i'b),     rho_tau(u) = u (tau - 1{u < 0}),
//! ```
//!
//! with 0 < tau < 1 (Koenker and Bassett 1978). [`check_loss`] evaluates the objective.
//! The problem is a linear program. [`RqSpec::fit`] with [`RqSolver::Fn`] solves its dual
//!
//! ```text
//! min_a  -y'a   subject to   X'a = (1 - tau) X'1,   0 <= a <= 1
//! ```
//!
//! (with slack `s = 1 - a` and dual variables `v` (p), `z, w >= 0` (n),
//! `X v + z - w = -y`), by the primal-dual log-barrier method with Mehrotra's
//! predictor-corrector step that Portnoy and Koenker (1997) call Frisch-Newton:
//!
//! 1. Start at `a = 1 - tau`, `s = tau` (primal feasible) and at the least-squares dual
//!    `v = -(X'X)^{-1} X'y`; split the residual `r = -y - X v` into `z = max(r, 0)`,
//!    `w = max(-r, 0)`, adding `eps` to both where `|r_i| < eps`.
//! 2. Each iteration: weights `q_i = 1 / (z_i/a_i + w_i/s_i)`; affine (predictor) Newton
//!    direction from the p x p system `(X'QX) dv = (1-tau)X'1 - X'a + X'Q(z - w)`; step
//!    lengths `min(1, beta * largest feasible step)`, primal and dual separately. If either
//!    is below 1, a corrector: centring target
//!    `mu = gap * (g_aff / gap)^3 / (2n)` with `g_aff` the complementarity after the affine
//!    step, second-order terms `dx dz`, `ds dw`, and a second solve with the same Cholesky
//!    factor.
//! 3. Stop when the duality gap `z'a + w's <= eps` (absolute) or after `max_iter`
//!    iterations. The coefficients are `b = -v`.
//!
//! The duality gap bounds the objective's excess over the optimum:
//! `check_loss(y - X b, tau) - min <= gap` (see [`RqSolution::duality_gap`]). When the argmin is
//! not a single point, the iterates approach the interior (near the centre) of the solution
//! set, not a vertex.
//!
//! Cost per iteration: O(n p^2) to form `X'QX`, O(p^3) for its Cholesky factor, O(n p) for
//! the rest; no allocation inside the iteration loop. The iteration count grows slowly with
//! n (Portnoy and Koenker 1997).
//!
//! # Design matrix layout
//!
//! [`RqSpec::fit`] takes `x` as an `n × p` ndarray view; inside, the solvers work on the
//! column-major slice (element (row `i`, column `j`) at `x[j * n + i]`), read in place when
//! the view is column-major (a [`crate::stats::design::Design`]) and copied once otherwise.
//! Column 0 is usually the intercept (all ones), supplied by the caller. Rows and columns in
//! errors are 0-based.
//!
//! # Options ([`FnOptions`])
//!
//! | field | default | meaning | range |
//! |---|---|---|---|
//! | `beta` | 0.99995 | fraction of the largest feasible step taken | (0, 1) |
//! | `eps` | 1e-6 | stop when the duality gap is at most this (absolute, in units of y) | > 0, finite |
//! | `max_iter` | 500 | iteration limit (R's `maxit`); `converged: false` if reached | >= 1 |
//!
//! ```
//! use ndarray::array;
//! use obc::stats::quantreg::{FnOptions, RqSolver, RqSpec};
//! // y = 1 + 2 x exactly, plus one outlier: the median line ignores the outlier.
//! let x = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0], [1.0, 5.0]];
//! let y = array![1.0, 3.0, 5.0, 7.0, 9.0, 100.0];
//! let spec = RqSpec { tau: 0.5, solver: RqSolver::Fn(FnOptions::default()) };
//! let fit = spec.fit(x.view(), y.view()).unwrap();
//! assert!(fit.solution.converged);
//! assert!((fit.coefficients()[0] - 1.0).abs() < 1e-6 && (fit.coefficients()[1] - 2.0).abs() < 1e-6);
//! ```
//!
//! # Compatibility with R
//!
//! Reference: quantreg 5.94, `rq(..., method = "fn")`, i.e. `rq.fit.fnb` and its Fortran
//! routine (fixtures in `tests/fixtures/r/quantreg.json`). The iteration (start, weights,
//! predictor, Mehrotra corrector, step rule, stopping rule on the absolute gap) follows
//! the published description, so on the fixtures the coefficients agree with R's to
//! floating-point noise and the iteration counts are R's (see the tests). Known deviations:
//!
//! - **Iteration limit.** `max_iter` defaults to 500, `rq.fit.fnb`'s `maxit` (docs/methods.md
//!   6.3). R returns silently when the limit is hit; here `converged` is `false`, and
//!   contract checking refuses a fit that did not converge.
//! - **tau.** R refuses `tau < eps` or `tau > 1 - eps`; here any tau in the open interval
//!   (0, 1) is accepted. R's `rq()` treats tau outside (0, 1) as a request for the whole
//!   quantile process (br only); here it is an error.
//! - **Singular designs.** `rq.fit.fnb` has no rank check (it fails only if the Cholesky
//!   factorization fails, "possibly singular design"). Here the design is checked first
//!   as `rq.fit.br` does (Householder QR, a column is dependent when its remaining norm is
//!   below 1e-7 times its original norm, as in R's `qr()`), and the error names the
//!   dependent columns. A Cholesky failure during the iterations is reported as
//!   [`QuantregError::IllConditioned`].
//! - **Non-finite input** is refused with its row and column; R's `rq()` drops `NA` rows
//!   through `na.action` and fails on `Inf` in the Fortran code.
//! - **Arithmetic.** The predictor's complementarity `g_aff` is computed directly as
//!   `sum (a + fp da)(z + fd dz) + (s + fp ds)(w + fd dw)` rather than expanded into six
//!   dot products, and sums are plain loops instead of reference BLAS; results differ from
//!   R's in the last bits.
//! - **Output.** No residuals are returned (compute `y - X b`); the objective and the final
//!   duality gap are returned instead. R's `nit` second element (the number of corrector
//!   steps) is not reported.
//! - **Non-unique solutions.** As in R, fn stops near the centre of the solution set, not at
//!   the vertex `rq.fit.br` returns; only the objective is comparable then.
//!
//! # References
//!
//! - Koenker, R. and Bassett, G. (1978). Regression quantiles. *Econometrica* 46(1), 33-50.
//! - Portnoy, S. and Koenker, R. (1997). The Gaussian hare and the Laplacian tortoise:
//!   computability of squared-error versus absolute-error estimators. *Statistical Science*
//!   12(4), 279-300.
//! - Lustig, I., Marsten, R. and Shanno, D. (1992). On implementing Mehrotra's
//!   predictor-corrector interior-point method for linear programming. *SIAM Journal on
//!   Optimization* 2(3), 435-449.
//! - Koenker, R. (2005). *Quantile Regression*. Cambridge University Press (section 2.2.3,
//!   equivariance; chapter 6, computation).

pub mod br;
#[cfg(test)]
mod fixture;
pub mod path;
pub mod se;

use std::borrow::Cow;

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::stats::design::{column_major, contiguous};
use crate::stats::linalg::{self, cholesky_solve_in_place};

/// Errors from quantile-regression fitting. Rows and columns are 0-based.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum QuantregError {
    #[error("tau = {tau} is outside the open interval (0, 1)")]
    TauOutOfRange { tau: f64 },
    #[error("{what} has length {got}, expected {expected}")]
    LengthMismatch { what: &'static str, expected: usize, got: usize },
    #[error("non-finite value in {column} at row {row}")]
    NonFinite { row: usize, column: String },
    #[error(
        "singular design: rank {rank} of {cols} columns; column(s) {collinear:?} are linear \
         combinations of earlier columns"
    )]
    SingularDesign { rank: usize, cols: usize, collinear: Vec<usize> },
    #[error("too few observations: need at least {needed} (one per design column), got {got}")]
    TooFewObservations { needed: usize, got: usize },
    #[error("design has no columns")]
    EmptyDesign,
    #[error("invalid option {name} = {value}: must be {range}")]
    InvalidOption { name: &'static str, value: f64, range: &'static str },
    #[error(
        "X'QX is not positive definite at column {column} in iteration {iteration}: the design \
         is numerically singular under the interior-point weights"
    )]
    IllConditioned { iteration: usize, column: usize },
    #[error("the interior-point iterate became non-finite in iteration {iteration}")]
    NonFiniteIterate { iteration: usize },
}

/// Options of the Frisch-Newton solver; see the table in the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FnOptions {
    /// Fraction of the largest feasible step taken, in (0, 1).
    pub beta: f64,
    /// Stop when the duality gap is at most `eps` (absolute).
    pub eps: f64,
    /// Iteration limit.
    pub max_iter: usize,
}

impl Default for FnOptions {
    fn default() -> Self {
        FnOptions { beta: 0.99995, eps: 1e-6, max_iter: 500 }
    }
}

impl FnOptions {
    fn validate(&self) -> Result<(), QuantregError> {
        if !(self.beta > 0.0 && self.beta < 1.0) {
            return Err(QuantregError::InvalidOption { name: "beta", value: self.beta, range: "in (0, 1)" });
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(QuantregError::InvalidOption { name: "eps", value: self.eps, range: "positive and finite" });
        }
        if self.max_iter == 0 {
            return Err(QuantregError::InvalidOption { name: "max_iter", value: 0.0, range: "at least 1" });
        }
        Ok(())
    }
}

/// The solution of one regression quantile: what either solver returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RqSolution {
    /// Coefficients in the order of the design columns.
    pub coefficients: Vec<f64>,
    /// `check_loss(y - X b, tau)` at the returned coefficients.
    pub objective: f64,
    /// Interior-point iterations taken (R's `nit[1]`).
    pub iterations: usize,
    /// `true` when the duality gap reached `eps` within `max_iter` iterations.
    pub converged: bool,
    /// The quantile fitted.
    pub tau: f64,
    /// Final duality gap `z'a + w's`. An upper bound (up to rounding) on how far
    /// `objective` is above the minimum of the check loss.
    pub duality_gap: f64,
}

/// The solver of a regression quantile and its options.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RqSolver {
    /// Frisch-Newton interior point (R's `rq.fit.fnb`, `method = "fn"`).
    Fn(FnOptions),
    /// Barrodale-Roberts simplex (R's `rq.fit.br`, `method = "br"`).
    Br(br::BrOptions),
}

impl Default for RqSolver {
    fn default() -> Self {
        RqSolver::Fn(FnOptions::default())
    }
}

/// The estimation half of a regression quantile: the quantile and the solver.
/// [`RqSpec::fit`] gives an [`RqFit`], on which the standard errors are chosen
/// ([`RqFit::se`], R's `summary.rq(se = ...)`).
///
/// ```
/// use ndarray::{Array1, Array2};
/// use obc::stats::quantreg::{RqSolver, RqSpec};
/// use obc::stats::quantreg::se::{SeMethod, SeSpec};
///
/// // y = 1 + 2 x plus a symmetric wobble, and one outlier the median line ignores
/// let n = 60;
/// let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { 1.0 } else { i as f64 / 6.0 });
/// let y = Array1::from_shape_fn(n, |i| {
///     let wobble = [-0.3, 0.0, 0.3][i % 3];
///     if i == 7 { 100.0 } else { 1.0 + 2.0 * (i as f64 / 6.0) + wobble }
/// });
/// let fit = RqSpec { tau: 0.5, solver: RqSolver::default() }.fit(x.view(), y.view()).unwrap();
/// assert!(fit.solution.converged);
/// assert!((fit.coefficients()[0] - 1.0).abs() < 0.1 && (fit.coefficients()[1] - 2.0).abs() < 0.05);
/// let se = fit.se(&SeSpec { method: SeMethod::Nid, hs: true }).unwrap();
/// assert_eq!(se.std_error.len(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RqSpec {
    /// The quantile, in (0, 1).
    pub tau: f64,
    pub solver: RqSolver,
}

/// A fitted regression quantile with the data it was fitted on (for the standard errors).
#[derive(Clone, Debug, PartialEq)]
pub struct RqFit<'a> {
    pub solution: RqSolution,
    /// br only: whether the minimizer is unique, and the `p` rows the vertex interpolates.
    pub vertex: Option<(bool, Vec<usize>)>,
    spec: RqSpec,
    x: Cow<'a, [f64]>,
    y: Cow<'a, [f64]>,
    n: usize,
    p: usize,
}

impl RqSpec {
    /// Fits the `tau`-th regression quantile of `y` on the `n × p` design `x` (include the
    /// intercept column). A column-major `x` is read in place; other layouts are copied once.
    ///
    /// Checks, in order: the solver's options, tau in (0, 1), `p >= 1`, lengths, finiteness
    /// (first bad row, then column), `n >= p`, full column rank. Non-convergence within the
    /// iteration limit is data (`converged: false`), not an error.
    pub fn fit<'a>(&self, x: ArrayView2<'a, f64>, y: ArrayView1<'a, f64>) -> Result<RqFit<'a>, QuantregError> {
        let (n, p) = x.dim();
        let (x, y) = (column_major(x), contiguous(y));
        let (solution, vertex) = match &self.solver {
            RqSolver::Fn(o) => (fit_fn(&x, n, p, &y, self.tau, o)?, None),
            RqSolver::Br(o) => {
                let b = br::fit_br(&x, n, p, &y, self.tau, o)?;
                (b.fit, Some((b.unique, b.basis)))
            }
        };
        Ok(RqFit { solution, vertex, spec: *self, x, y, n, p })
    }
}

impl RqFit<'_> {
    pub fn coefficients(&self) -> &[f64] {
        &self.solution.coefficients
    }

    /// Standard errors of the coefficients ([`se`]); nid refits at `tau ± h` with the
    /// fit's own solver.
    pub fn se(&self, spec: &se::SeSpec) -> Result<se::SeTable, QuantregError> {
        let refit = |t: f64| RqSpec { tau: t, ..self.spec }.fit_slices(&self.x, self.n, self.p, &self.y);
        se::standard_errors(&self.x, self.n, self.p, &self.y, self.spec.tau, self.coefficients(), spec, &refit)
    }
}

impl RqSpec {
    /// The coefficients of [`RqSpec::fit`] on the column-major slice `x[j * n + i]`.
    fn fit_slices(&self, x: &[f64], n: usize, p: usize, y: &[f64]) -> Result<Vec<f64>, QuantregError> {
        Ok(match &self.solver {
            RqSolver::Fn(o) => fit_fn(x, n, p, y, self.tau, o)?.coefficients,
            RqSolver::Br(o) => br::fit_br(x, n, p, y, self.tau, o)?.fit.coefficients,
        })
    }
}

/// The quantile-regression objective `sum_i rho_tau(r_i)`, `rho_tau(u) = u (tau - 1{u < 0})`,
/// summed with Neumaier compensation. No validation: NaN propagates.
pub fn check_loss(residuals: &[f64], tau: f64) -> f64 {
    let mut sum = 0.0f64;
    let mut comp = 0.0f64;
    for &u in residuals {
        let term = if u < 0.0 { u * (tau - 1.0) } else { u * tau };
        let t = sum + term;
        if sum.abs() >= term.abs() {
            comp += (sum - t) + term;
        } else {
            comp += (term - t) + sum;
        }
        sum = t;
    }
    sum + comp
}

/// Fits the tau-th regression quantile of `y` on the column-major `n x p` design `x` by the
/// Frisch-Newton interior-point method (R's `rq.fit.fnb`); [`RqSpec::fit`] with
/// [`RqSolver::Fn`] on a slice. The checks are those of [`RqSpec::fit`].
fn fit_fn(x: &[f64], n: usize, p: usize, y: &[f64], tau: f64, opts: &FnOptions) -> Result<RqSolution, QuantregError> {
    opts.validate()?;
    check_problem(x, n, p, y, tau)?;
    solve_fn(x, n, p, y, tau, opts)
}

/// [`fit_fn`] without the checks, for callers that made them (the quantile path).
fn solve_fn(x: &[f64], n: usize, p: usize, y: &[f64], tau: f64, opts: &FnOptions) -> Result<RqSolution, QuantregError> {
    FrischNewton::new(x, n, p, y, tau).solve(opts)
}

/// The checks both solvers make, in order: tau in (0, 1), `p >= 1`, lengths, finiteness
/// (first bad row, then column), `n >= p`, full column rank.
fn check_problem(x: &[f64], n: usize, p: usize, y: &[f64], tau: f64) -> Result<(), QuantregError> {
    check_shapes(x, n, p, y, tau)?;
    check_values(x, n, p, y)?;
    if n < p {
        return Err(QuantregError::TooFewObservations { needed: p, got: n });
    }
    check_rank(x, n, p)?;
    Ok(())
}

/// tau in (0, 1), `p >= 1`, `x` of length `n * p` and `y` of length `n`.
fn check_shapes(x: &[f64], n: usize, p: usize, y: &[f64], tau: f64) -> Result<(), QuantregError> {
    if !(tau > 0.0 && tau < 1.0) {
        return Err(QuantregError::TauOutOfRange { tau });
    }
    if p == 0 {
        return Err(QuantregError::EmptyDesign);
    }
    let expected =
        n.checked_mul(p).ok_or(QuantregError::LengthMismatch { what: "x", expected: usize::MAX, got: x.len() })?;
    if x.len() != expected {
        return Err(QuantregError::LengthMismatch { what: "x (n * p, column-major)", expected, got: x.len() });
    }
    if y.len() != n {
        return Err(QuantregError::LengthMismatch { what: "y", expected: n, got: y.len() });
    }
    Ok(())
}

/// Every `y` and `x` entry finite; the error names the first bad row, then its column.
fn check_values(x: &[f64], n: usize, p: usize, y: &[f64]) -> Result<(), QuantregError> {
    for i in 0..n {
        if !y[i].is_finite() {
            return Err(QuantregError::NonFinite { row: i, column: "y".to_string() });
        }
        for j in 0..p {
            if !x[j * n + i].is_finite() {
                return Err(QuantregError::NonFinite { row: i, column: format!("x column {j}") });
            }
        }
    }
    Ok(())
}

/// Rank check as R's `qr()` (LINPACK `dqrdc2` with tol 1e-7) does it for columns in their
/// given order ([`linalg::dependent_columns`]): a column whose norm, after removing its
/// projection on the earlier independent columns, is below 1e-7 times its original norm is
/// dependent. Shapes and values are checked before.
fn check_rank(x: &[f64], n: usize, p: usize) -> Result<(), QuantregError> {
    let collinear = match linalg::dependent_columns(x, n, p) {
        Ok(collinear) => collinear,
        Err(e) => unreachable!("quantreg checks shapes and values before the rank: {e}"),
    };
    if collinear.is_empty() {
        Ok(())
    } else {
        Err(QuantregError::SingularDesign { rank: p - collinear.len(), cols: p, collinear })
    }
}

/// Workspace of one Frisch-Newton fit; every buffer is allocated once in `new`.
struct FrischNewton<'a> {
    n: usize,
    p: usize,
    tau: f64,
    /// Row-major copy of the design: row i is `rows[i*p..(i+1)*p]`.
    rows: Vec<f64>,
    y: &'a [f64],
    /// Primal `a` (called x in Lustig-Marsten-Shanno), its slack `s = 1 - a`.
    a: Vec<f64>,
    s: Vec<f64>,
    /// Dual slacks.
    z: Vec<f64>,
    w: Vec<f64>,
    /// Newton weights q and the steps.
    q: Vec<f64>,
    da: Vec<f64>,
    ds: Vec<f64>,
    dz: Vec<f64>,
    dw: Vec<f64>,
    /// Corrector term and X dv.
    dr: Vec<f64>,
    xdv: Vec<f64>,
    /// Dual vector v (b = -v), its step, the predictor right-hand side, (1-tau) X'1.
    v: Vec<f64>,
    dv: Vec<f64>,
    rhs: Vec<f64>,
    target: Vec<f64>,
    /// X'QX and then its Cholesky factor (lower triangle, row-major p x p).
    xqx: Vec<f64>,
}

impl<'a> FrischNewton<'a> {
    fn new(x: &[f64], n: usize, p: usize, y: &'a [f64], tau: f64) -> Self {
        let mut rows = vec![0.0; n * p];
        for j in 0..p {
            for i in 0..n {
                rows[i * p + j] = x[j * n + i];
            }
        }
        FrischNewton {
            n,
            p,
            tau,
            rows,
            y,
            a: vec![0.0; n],
            s: vec![0.0; n],
            z: vec![0.0; n],
            w: vec![0.0; n],
            q: vec![0.0; n],
            da: vec![0.0; n],
            ds: vec![0.0; n],
            dz: vec![0.0; n],
            dw: vec![0.0; n],
            dr: vec![0.0; n],
            xdv: vec![0.0; n],
            v: vec![0.0; p],
            dv: vec![0.0; p],
            rhs: vec![0.0; p],
            target: vec![0.0; p],
            xqx: vec![0.0; p * p],
        }
    }

    fn solve(mut self, opts: &FnOptions) -> Result<RqSolution, QuantregError> {
        let (n, p) = (self.n, self.p);
        let eps = opts.eps;
        let beta = opts.beta;

        // Start: a = 1 - tau, s = tau; v = least-squares fit of -y; z, w split the residual.
        self.a.fill(1.0 - self.tau);
        self.s.fill(self.tau);
        self.q.fill(1.0);
        for (t, &yi) in self.dr.iter_mut().zip(self.y) {
            *t = -yi;
        }
        xt_times(&self.rows, p, &self.dr, &mut self.v);
        factor_xqx(&self.rows, p, &self.q, &mut self.xqx)
            .map_err(|column| QuantregError::IllConditioned { iteration: 0, column })?;
        cholesky_solve_in_place(&self.xqx, p, &mut self.v);
        x_times(&self.rows, p, &self.v, &mut self.xdv);
        for i in 0..n {
            let r = -self.y[i] - self.xdv[i];
            let bump = if r.abs() < eps { eps } else { 0.0 };
            self.z[i] = r.max(0.0) + bump;
            self.w[i] = (-r).max(0.0) + bump;
        }
        // (1 - tau) X'1: the right-hand side of the equality constraints.
        self.q.fill(1.0 - self.tau);
        xt_times(&self.rows, p, &self.q, &mut self.target);
        let mut gap = self.gap();
        let mut iterations = 0;

        while gap > eps && iterations < opts.max_iter {
            iterations += 1;
            // Predictor (affine) direction.
            for i in 0..n {
                self.q[i] = 1.0 / (self.z[i] / self.a[i] + self.w[i] / self.s[i]);
                // dr holds q (z - w) - a for the right-hand side X'(q(z - w) - a) + target.
                self.dr[i] = self.q[i] * (self.z[i] - self.w[i]) - self.a[i];
            }
            xt_times(&self.rows, p, &self.dr, &mut self.rhs);
            for j in 0..p {
                self.rhs[j] += self.target[j];
            }
            factor_xqx(&self.rows, p, &self.q, &mut self.xqx)
                .map_err(|column| QuantregError::IllConditioned { iteration: iterations, column })?;
            self.dv.copy_from_slice(&self.rhs);
            cholesky_solve_in_place(&self.xqx, p, &mut self.dv);
            x_times(&self.rows, p, &self.dv, &mut self.xdv);
            for i in 0..n {
                self.da[i] = self.q[i] * (self.xdv[i] - (self.z[i] - self.w[i]));
                self.ds[i] = -self.da[i];
                self.dz[i] = -self.z[i] * (self.da[i] / self.a[i] + 1.0);
                self.dw[i] = -self.w[i] * (self.ds[i] / self.s[i] + 1.0);
            }
            let (mut fp, mut fd) = self.step_lengths(beta);

            if fp.min(fd) < 1.0 {
                // Mehrotra corrector: centring target from the predicted complementarity.
                let mut g = 0.0;
                for i in 0..n {
                    g += (self.a[i] + fp * self.da[i]) * (self.z[i] + fd * self.dz[i])
                        + (self.s[i] + fp * self.ds[i]) * (self.w[i] + fd * self.dw[i]);
                }
                let mu = gap * (g / gap).powi(3) / (2.0 * n as f64);
                for i in 0..n {
                    self.dr[i] = self.q[i]
                        * (mu * (1.0 / self.s[i] - 1.0 / self.a[i]) + self.da[i] * self.dz[i] / self.a[i]
                            - self.ds[i] * self.dw[i] / self.s[i]);
                }
                // New right-hand side: predictor rhs + X' dr; reuse the Cholesky factor.
                xt_times(&self.rows, p, &self.dr, &mut self.dv);
                for j in 0..p {
                    self.dv[j] += self.rhs[j];
                }
                cholesky_solve_in_place(&self.xqx, p, &mut self.dv);
                x_times(&self.rows, p, &self.dv, &mut self.xdv);
                for i in 0..n {
                    let dadz = self.da[i] * self.dz[i];
                    let dsdw = self.ds[i] * self.dw[i];
                    self.da[i] = self.q[i] * (self.xdv[i] - self.z[i] + self.w[i]) - self.dr[i];
                    self.ds[i] = -self.da[i];
                    self.dz[i] = -self.z[i] + (mu - self.z[i] * self.da[i] - dadz) / self.a[i];
                    self.dw[i] = -self.w[i] + (mu - self.w[i] * self.ds[i] - dsdw) / self.s[i];
                }
                (fp, fd) = self.step_lengths(beta);
            }

            for i in 0..n {
                self.a[i] += fp * self.da[i];
                self.s[i] += fp * self.ds[i];
                self.z[i] += fd * self.dz[i];
                self.w[i] += fd * self.dw[i];
            }
            for j in 0..p {
                self.v[j] += fd * self.dv[j];
            }
            gap = self.gap();
            if !gap.is_finite() || self.v.iter().any(|b| !b.is_finite()) {
                return Err(QuantregError::NonFiniteIterate { iteration: iterations });
            }
        }

        let coefficients: Vec<f64> = self.v.iter().map(|&v| -v).collect();
        x_times(&self.rows, p, &coefficients, &mut self.xdv);
        for i in 0..n {
            self.dr[i] = self.y[i] - self.xdv[i];
        }
        Ok(RqSolution {
            objective: check_loss(&self.dr, self.tau),
            coefficients,
            iterations,
            converged: gap <= eps,
            tau: self.tau,
            duality_gap: gap,
        })
    }

    /// Duality gap `z'a + w's`.
    fn gap(&self) -> f64 {
        let mut g = 0.0;
        for i in 0..self.n {
            g += self.z[i] * self.a[i] + self.w[i] * self.s[i];
        }
        g
    }

    /// Primal and dual step lengths: `min(1, beta * largest step keeping the variables >= 0)`.
    fn step_lengths(&self, beta: f64) -> (f64, f64) {
        let mut fp = f64::INFINITY;
        let mut fd = f64::INFINITY;
        for i in 0..self.n {
            if self.da[i] < 0.0 {
                fp = fp.min(-self.a[i] / self.da[i]);
            }
            if self.ds[i] < 0.0 {
                fp = fp.min(-self.s[i] / self.ds[i]);
            }
            if self.dz[i] < 0.0 {
                fd = fd.min(-self.z[i] / self.dz[i]);
            }
            if self.dw[i] < 0.0 {
                fd = fd.min(-self.w[i] / self.dw[i]);
            }
        }
        ((beta * fp).min(1.0), (beta * fd).min(1.0))
    }
}

/// `out = X' v` (p-vector) for the row-major design.
fn xt_times(rows: &[f64], p: usize, v: &[f64], out: &mut [f64]) {
    out.fill(0.0);
    for (row, &vi) in rows.chunks_exact(p).zip(v) {
        for (o, &xij) in out.iter_mut().zip(row) {
            *o += xij * vi;
        }
    }
}

/// `out = X b` (n-vector) for the row-major design.
fn x_times(rows: &[f64], p: usize, b: &[f64], out: &mut [f64]) {
    for (o, row) in out.iter_mut().zip(rows.chunks_exact(p)) {
        let mut acc = 0.0;
        for (&xij, &bj) in row.iter().zip(b) {
            acc += xij * bj;
        }
        *o = acc;
    }
}

/// Forms `X' diag(q) X` (lower triangle) and factors it in place, `L L'`, lower triangle of
/// the row-major p x p buffer. On failure returns the column whose pivot is not positive.
fn factor_xqx(rows: &[f64], p: usize, q: &[f64], m: &mut [f64]) -> Result<(), usize> {
    m.fill(0.0);
    for (row, &qi) in rows.chunks_exact(p).zip(q) {
        for j in 0..p {
            let f = qi * row[j];
            let mj = &mut m[j * p..j * p + j + 1];
            for (mjk, &xik) in mj.iter_mut().zip(&row[..=j]) {
                *mjk += f * xik;
            }
        }
    }
    for j in 0..p {
        for k in 0..=j {
            let mut sum = m[j * p + k];
            for l in 0..k {
                sum -= m[j * p + l] * m[k * p + l];
            }
            if k == j {
                if !(sum > 0.0 && sum.is_finite()) {
                    return Err(j);
                }
                m[j * p + j] = sum.sqrt();
            } else {
                m[j * p + k] = sum / m[k * p + k];
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fixture::case;
    use super::*;
    use crate::stats::testutil::floats;
    use proptest::prelude::*;

    /// Compares fn coefficients (where br's solution is unique) and the objective with R.
    /// Tolerances from tests/fixtures/r/README.md: coefficients 1e-6 * max(1, |b|) (fn stops
    /// at gap < 1e-6); objective 1e-9 relative to br's (the LP optimum is unique).
    fn compare_with_r(name: &str, compare_coefficients: bool) {
        let c = case(name);
        let p = c.terms.len();
        for f in &c.fits {
            let tau = f["tau"].as_f64().unwrap();
            let fit = fit_fn(&c.x, c.n, p, &c.y, tau, &FnOptions::default()).unwrap();
            let r_nit = f["fn"]["nit"][0].as_u64().unwrap();
            let r_fn = floats(&f["fn"]["coefficients"]);
            let max_diff =
                fit.coefficients.iter().zip(&r_fn).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(0.0, f64::max);
            let br_obj = f["br"]["objective"].as_f64().unwrap();
            eprintln!(
                "{name} tau {tau}: iterations {} (R {r_nit}), gap {:.3e}, max coef diff vs R fn {max_diff:.3e}, \
                 objective rel diff vs R br {:.3e}",
                fit.iterations,
                fit.duality_gap,
                (fit.objective - br_obj) / br_obj
            );
            assert!(fit.converged, "{}: tau {tau}: did not converge ({} iterations)", c.name, fit.iterations);
            let unique = f["br"]["unique"].as_bool().unwrap();
            if compare_coefficients && unique {
                for (j, term) in c.terms.iter().enumerate() {
                    let (ours, r) = (fit.coefficients[j], r_fn[j]);
                    assert!(
                        (ours - r).abs() <= 1e-6 * r.abs().max(1.0),
                        "quantreg.json {}: tau {tau}: fn coefficient `{term}`: Rust {ours:.17e}, R {r:.17e}",
                        c.name
                    );
                }
            }
            assert!(
                (fit.objective - br_obj).abs() <= 1e-9 * br_obj.abs(),
                "quantreg.json {}: tau {tau}: objective: Rust {:.17e}, R br {br_obj:.17e}",
                c.name,
                fit.objective
            );
        }
    }

    #[test]
    fn engel_matches_r() {
        compare_with_r("engel", true);
    }

    #[test]
    fn synthetic_matches_r() {
        compare_with_r("synthetic", true);
    }

    /// Intercept-only, n = 10: at tau 0.1, 0.5, 0.9 the argmin is an interval, so only the
    /// objective is compared (all five taus).
    #[test]
    fn tiny_nonunique_objective_matches_r() {
        compare_with_r("tiny_nonunique", false);
    }

    #[test]
    fn iteration_counts_match_r() {
        for name in ["engel", "synthetic", "tiny_nonunique"] {
            let c = case(name);
            for f in &c.fits {
                let tau = f["tau"].as_f64().unwrap();
                let fit = fit_fn(&c.x, c.n, c.terms.len(), &c.y, tau, &FnOptions::default()).unwrap();
                let r_nit = f["fn"]["nit"][0].as_u64().unwrap() as usize;
                assert_eq!(fit.iterations, r_nit, "quantreg.json {name}: tau {tau}: iterations");
            }
        }
    }

    #[test]
    fn check_loss_weights_signs() {
        assert_eq!(check_loss(&[2.0, -4.0, 0.0], 0.25), 0.25 * 2.0 + 0.75 * 4.0);
        assert_eq!(check_loss(&[], 0.5), 0.0);
    }

    #[test]
    fn duplicate_column_is_a_singular_design() {
        let c = case("engel");
        let mut x = c.x.clone();
        x.extend_from_slice(&c.x[c.n..2 * c.n]);
        let err = fit_fn(&x, c.n, 3, &c.y, 0.5, &FnOptions::default()).unwrap_err();
        assert_eq!(err, QuantregError::SingularDesign { rank: 2, cols: 3, collinear: vec![2] });
    }

    #[test]
    fn constant_column_besides_intercept_is_a_singular_design() {
        let n = 6;
        let mut x = vec![1.0; n];
        x.extend([3.0; 6]);
        x.extend([1.0, 2.0, 3.0, 4.0, 5.0, 7.0]);
        let y = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let err = fit_fn(&x, n, 3, &y, 0.5, &FnOptions::default()).unwrap_err();
        assert!(
            matches!(err, QuantregError::SingularDesign { rank: 2, cols: 3, ref collinear } if collinear == &[1]),
            "{err:?}"
        );
    }

    #[test]
    fn input_errors_name_their_subject() {
        let o = FnOptions::default();
        let x = [1.0, 1.0, 1.0, 0.0, 1.0, 2.0];
        let y = [0.0, 1.0, 3.0];
        for tau in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(matches!(fit_fn(&x, 3, 2, &y, tau, &o), Err(QuantregError::TauOutOfRange { .. })), "tau {tau}");
        }
        assert!(matches!(
            fit_fn(&x[..5], 3, 2, &y, 0.5, &o),
            Err(QuantregError::LengthMismatch { expected: 6, got: 5, .. })
        ));
        assert!(matches!(
            fit_fn(&x, 3, 2, &y[..2], 0.5, &o),
            Err(QuantregError::LengthMismatch { what: "y", expected: 3, got: 2 })
        ));
        let mut bad = x;
        bad[4] = f64::INFINITY; // row 1, column 1
        assert_eq!(
            fit_fn(&bad, 3, 2, &y, 0.5, &o).unwrap_err(),
            QuantregError::NonFinite { row: 1, column: "x column 1".into() }
        );
        let ybad = [0.0, 1.0, f64::NAN];
        assert_eq!(
            fit_fn(&x, 3, 2, &ybad, 0.5, &o).unwrap_err(),
            QuantregError::NonFinite { row: 2, column: "y".into() }
        );
        assert_eq!(
            fit_fn(&[1.0, 1.0], 1, 2, &[1.0], 0.5, &o).unwrap_err(),
            QuantregError::TooFewObservations { needed: 2, got: 1 }
        );
        assert_eq!(fit_fn(&[], 3, 0, &y, 0.5, &o).unwrap_err(), QuantregError::EmptyDesign);
        let bad_beta = FnOptions { beta: 1.0, ..o };
        assert!(matches!(fit_fn(&x, 3, 2, &y, 0.5, &bad_beta), Err(QuantregError::InvalidOption { name: "beta", .. })));
    }

    #[test]
    fn iteration_limit_is_reported_as_data() {
        let c = case("synthetic");
        let o = FnOptions { max_iter: 2, ..FnOptions::default() };
        let fit = fit_fn(&c.x, c.n, 4, &c.y, 0.5, &o).unwrap();
        assert!(!fit.converged);
        assert_eq!(fit.iterations, 2);
        assert!(fit.duality_gap > o.eps);
    }

    #[test]
    fn options_deserialize_with_defaults() {
        let o: FnOptions = serde_json::from_str(r#"{"eps": 1e-8}"#).unwrap();
        assert_eq!(o, FnOptions { eps: 1e-8, ..FnOptions::default() });
        assert!(serde_json::from_str::<FnOptions>(r#"{"maxit": 5}"#).is_err());
    }

    // ---- equivariance (Koenker 2005, section 2.2.3) ------------------------------------
    //
    // What the tolerances rest on. fn stops at a duality gap, not at the optimum, so two
    // fits of equivalent problems are compared in two ways:
    //
    // 1. Objective (rigorous). For each fit, 0 <= objective - min <= duality_gap (weak LP
    //    duality; see the module docs). Each transformation maps the check loss exactly
    //    (scaling by a multiplies it by a; y -> -y with tau -> 1 - tau, y -> y + X g and a
    //    row permutation leave it unchanged), so |obj_T - k obj| <= gap_T + k gap, plus
    //    summation rounding (1e-12 relative; n <= 41 terms, each rounded at 1e-16).
    // 2. Coefficients (per-case tolerance). The optimum is exactly equivariant (unique with
    //    probability one for continuous data), but a fit at gap g can be as far as g / kappa
    //    from it, kappa being the sharpness of the objective at its minimum. Random small
    //    data sometimes give a nearly flat objective (a basic observation's dual weight close
    //    to tau or tau - 1: nearly non-unique), and then default-eps coefficients are
    //    determined only to ~1e-4; typical cases to ~1e-8. So each fit's distance D to its
    //    optimum is estimated by refitting to eps = 1e-12 * max(1, max |y|) (D = largest
    //    absolute coefficient change), and the triangle inequality through the optimum
    //    gives |b_T - T(b)| <= D_T + k D (k = a for scaling, else 1). The factor 2 allows
    //    the tight refit to be off by as much again; 1e-10 (1 + |b|) covers rounding.
    //    A transformation bug is not hidden by this: D measures each fit against itself.
    //    Observed over 3,000 cases per property: largest |difference| / tolerance 0.50
    //    (scaling), 0.09 (row order), 0.06 (reflection), 0.04 (shift); largest objective
    //    difference / slack 0.81. Differences reach 2e-4 only in nearly flat cases.
    const COEF_FLOOR: f64 = 1e-10;

    /// Default-options fit and its estimated distance to the optimum (largest absolute
    /// coefficient change against a fit to a 1e-12 relative gap); `None` if that refit
    /// does not converge.
    fn fit_checked(x: &[f64], n: usize, p: usize, y: &[f64], tau: f64) -> (RqSolution, Option<f64>) {
        let fit = fit_fn(x, n, p, y, tau, &FnOptions::default()).unwrap();
        let ymax = y.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let tight = FnOptions { eps: 1e-12 * ymax, max_iter: 200, ..FnOptions::default() };
        let distance = match fit_fn(x, n, p, y, tau, &tight) {
            Ok(t) if t.converged => {
                Some(fit.coefficients.iter().zip(&t.coefficients).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max))
            }
            _ => None,
        };
        (fit, distance)
    }

    /// Small random designs: intercept + 1..=3 uniform columns, n in [3p + 2, 3p + 31], y
    /// from a linear model with heavy-ish noise. Continuous data, so the solution is unique
    /// with probability one.
    fn problem() -> impl Strategy<Value = (usize, usize, Vec<f64>, Vec<f64>, f64)> {
        (1usize..=3, 0usize..30, 0.05f64..0.95).prop_flat_map(|(k, extra, tau)| {
            let p = k + 1;
            let n = 3 * p + 2 + extra;
            (
                Just(n),
                Just(p),
                proptest::collection::vec(-5.0f64..5.0, n * k),
                proptest::collection::vec(-3.0f64..3.0, n),
                Just(tau),
            )
                .prop_map(move |(n, p, xs, noise, tau)| {
                    let mut x = vec![1.0; n];
                    x.extend(xs);
                    let y: Vec<f64> = (0..n)
                        .map(|i| {
                            1.0 + (1..p).map(|j| 0.5 * j as f64 * x[j * n + i]).sum::<f64>() + noise[i] * noise[i].abs()
                        })
                        .collect();
                    (n, p, x, y, tau)
                })
        })
    }

    /// Check 1 (objective) always; check 2 (coefficients) when both tight refits converged.
    /// `k` is the factor the check loss and the coefficients are multiplied by; `expected`
    /// maps the base fit's coefficients through the transformation.
    fn equivariant(
        base: &(RqSolution, Option<f64>),
        fit: &(RqSolution, Option<f64>),
        k: f64,
        expected: &[f64],
    ) -> Result<(), TestCaseError> {
        let (b, f) = (&base.0, &fit.0);
        prop_assert!(b.converged && f.converged, "not converged");
        let slack = f.duality_gap + k * b.duality_gap + 1e-12 * f.objective.abs();
        prop_assert!(
            (f.objective - k * b.objective).abs() <= slack,
            "objective {:.17e} vs {:.17e} (slack {slack:e})",
            f.objective,
            k * b.objective
        );
        if let (Some(d_base), Some(d_fit)) = (base.1, fit.1) {
            for (j, (u, v)) in f.coefficients.iter().zip(expected).enumerate() {
                let tol = COEF_FLOOR * (1.0 + u.abs().max(v.abs())) + 2.0 * (k * d_base + d_fit);
                prop_assert!((u - v).abs() <= tol, "coefficient {j}: {u:.17e} vs {v:.17e} (tol {tol:e})");
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn scale_equivariance((n, p, x, y, tau) in problem(), a in 0.01f64..100.0) {
            let base = fit_checked(&x, n, p, &y, tau);
            let ya: Vec<f64> = y.iter().map(|v| a * v).collect();
            let fit = fit_checked(&x, n, p, &ya, tau);
            let expected: Vec<f64> = base.0.coefficients.iter().map(|b| a * b).collect();
            equivariant(&base, &fit, a, &expected)?;
        }

        #[test]
        fn reflection_equivariance((n, p, x, y, tau) in problem()) {
            let base = fit_checked(&x, n, p, &y, tau);
            let neg: Vec<f64> = y.iter().map(|v| -v).collect();
            let fit = fit_checked(&x, n, p, &neg, 1.0 - tau);
            let expected: Vec<f64> = base.0.coefficients.iter().map(|b| -b).collect();
            equivariant(&base, &fit, 1.0, &expected)?;
        }

        #[test]
        fn regression_shift_equivariance(
            (n, p, x, y, tau) in problem(),
            g in proptest::collection::vec(-10.0f64..10.0, 4),
        ) {
            let base = fit_checked(&x, n, p, &y, tau);
            let shifted: Vec<f64> = (0..n)
                .map(|i| y[i] + (0..p).map(|j| x[j * n + i] * g[j]).sum::<f64>())
                .collect();
            let fit = fit_checked(&x, n, p, &shifted, tau);
            let expected: Vec<f64> = base.0.coefficients.iter().zip(&g).map(|(b, gj)| b + gj).collect();
            equivariant(&base, &fit, 1.0, &expected)?;
        }

        #[test]
        fn row_order_invariance((n, p, x, y, tau) in problem(), seed in any::<u64>()) {
            let base = fit_checked(&x, n, p, &y, tau);
            // Fisher-Yates with a splitmix64 stream.
            let mut perm: Vec<usize> = (0..n).collect();
            let mut state = seed;
            for i in (1..n).rev() {
                state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = state;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                z ^= z >> 31;
                perm.swap(i, (z % (i as u64 + 1)) as usize);
            }
            let xr = &x;
            let xp: Vec<f64> = (0..p).flat_map(|j| perm.iter().map(move |&i| xr[j * n + i])).collect();
            let yp: Vec<f64> = perm.iter().map(|&i| y[i]).collect();
            let fit = fit_checked(&xp, n, p, &yp, tau);
            equivariant(&base, &fit, 1.0, &base.0.coefficients)?;
        }
    }

    /// Timing only (no assertion on time): n = 100,000, p = 8, tau = 0.5.
    /// `cargo test --release --lib stats::quantreg -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing_n100k_p8() {
        let (n, p) = (100_000usize, 8usize);
        let mut state = 12345u64;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x = vec![1.0; n];
        for _ in 1..p {
            for _ in 0..n {
                x.push(uniform() * 4.0 - 2.0);
            }
        }
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let lin: f64 = (1..p).map(|j| x[j * n + i] * j as f64 * 0.3).sum();
                // Laplace-ish noise: difference of two exponentials.
                1.0 + lin - (uniform().max(1e-300)).ln() + (uniform().max(1e-300)).ln()
            })
            .collect();
        let start = std::time::Instant::now();
        let fit = fit_fn(&x, n, p, &y, 0.5, &FnOptions::default()).unwrap();
        let elapsed = start.elapsed();
        eprintln!(
            "n = {n}, p = {p}, tau = 0.5: {:?}, {} iterations, converged {}, gap {:.3e}, coefficients {:?}",
            elapsed, fit.iterations, fit.converged, fit.duality_gap, fit.coefficients
        );
        assert!(fit.converged);
    }
}
