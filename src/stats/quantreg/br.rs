//! Linear quantile regression by an exact simplex method in the manner of Barrodale and
//! Roberts (1974) as adapted to regression quantiles by Koenker and d'Orey (1987), the
//! algorithm behind R's `rq.fit.br`.
//!
//! # Algorithm
//!
//! The objective `f(b) = sum_i rho_tau(y_i - x_i'b)` (see [`check_loss`]) is convex and
//! piecewise linear; its minimum is attained at a *vertex*: a coefficient vector `b_h` that
//! interpolates `p` observations `h` whose rows `X_h` (p x p) are linearly independent,
//! `b_h = X_h^{-1} y_h`. The method walks from vertex to vertex, decreasing `f` each step.
//!
//! 1. **Start.** `h` is chosen by Gaussian elimination on the rows of `X` with partial
//!    pivoting (the row with the largest remaining entry in each column).
//! 2. **Signs and dual weights.** Every observation outside `h` carries a sign `s_i` (the
//!    side of the fitted plane it lies on; a zero residual keeps the side it was assigned in
//!    the last pivot) and a weight `psi_i = tau` (`s_i = +`) or `tau - 1` (`s_i = -`). With
//!    `g = sum_{i not in h} psi_i x_i`, the dual weights of the basic observations are
//!    `u = -X_h^{-T} g`.
//! 3. **Edges and reduced costs.** Releasing basic observation `k` moves `b` along
//!    `d = sigma X_h^{-1} e_k`, so that `x_k'd = sigma` and the other basic residuals stay
//!    zero. The slope of `f` along that edge is `1 - tau + u_k` (`sigma = +1`, the released
//!    point falls below the plane) or `tau - u_k` (`sigma = -1`). If no slope is below
//!    `-tol`, the vertex is optimal: `u` lies in `[tau - 1, tau]^p`, which is exactly the
//!    subgradient optimality condition `0 in df(b)`.
//! 4. **Line search (Barrodale-Roberts' multiple pivot).** Along the steepest edge, `f`
//!    is convex piecewise linear in the step `t`; its breakpoints are the points
//!    `t_i = r_i / (x_i'd) >= 0` at which a non-basic residual `r_i` crosses zero, and at each
//!    one the slope rises by `|x_i'd|`. Walking the breakpoints in increasing order (ties by
//!    row index) until the slope becomes non-negative is a weighted-median search; the
//!    observation where that happens enters `h` and `k` leaves. Every observation passed on
//!    the way changes sign. A single iteration can thus cross many vertices, which is why
//!    the method needs far fewer iterations than the textbook simplex.
//! 5. **Degeneracy.** A step of length 0 (more than `p` zero residuals) leaves `f`
//!    unchanged. After such a step the entering edge is chosen by the smallest basic row
//!    index among the improving ones (Bland's rule) instead of the steepest, to avoid
//!    cycling; `max_iter` bounds the iterations in any case.
//! 6. **Non-uniqueness.** At the optimum, an edge with slope 0 (within `tol`; `u_k` equal
//!    to `tau - 1` or `tau`) means `f` is constant along it: the argmin is not a single
//!    point. The fit then reports `unique: false`, the condition on which R warns "Solution
//!    may be nonunique". The returned vertex is still a minimizer.
//!
//! Each iteration forms `X_h^{-1}` afresh by Gauss-Jordan elimination with partial
//! pivoting (O(p^3)), recomputes all residuals from `b` (O(np)) and sorts the breakpoints
//! (O(n log n)); the coefficients are computed from `X_h` and `y_h` directly (no
//! accumulated tableau updates), so they carry only the rounding of one p x p solve.
//!
//! # Options ([`BrOptions`])
//!
//! | field | default | meaning | range |
//! |---|---|---|---|
//! | `tol` | 2.220446e-16^(2/3) ≈ 3.7e-11 (R's `toler`) | a reduced cost is negative below `-tol`, zero within `tol` (dual weights are in units of 1) | > 0, finite, < 0.1 |
//! | `max_iter` | 100,000 | iteration (pivot) limit; `converged: false` if reached | >= 1 |
//!
//! ```
//! use ndarray::array;
//! use obc::stats::quantreg::br::BrOptions;
//! use obc::stats::quantreg::{RqSolver, RqSpec};
//! let x = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.0], [1.0, 4.0], [1.0, 5.0]];
//! let y = array![1.0, 3.0, 5.0, 7.0, 9.0, 100.0];
//! let fit = RqSpec { tau: 0.5, solver: RqSolver::Br(BrOptions::default()) }.fit(x.view(), y.view()).unwrap();
//! assert!(fit.solution.converged);
//! assert!((fit.coefficients()[0] - 1.0).abs() < 1e-12 && (fit.coefficients()[1] - 2.0).abs() < 1e-12);
//! ```
//!
//! # Compatibility with R
//!
//! Reference: quantreg 5.94, `rq(..., method = "br")` (`rq.fit.br`, Fortran `rqbr`, a
//! modification of AS 229); fixtures in `tests/fixtures/r/quantreg.json`. Known deviations:
//!
//! - **Same vertex, different path.** The start (R: phase 1 pivots the coefficient columns
//!   in), the edge choice and the tableau are not R's. Where the solution is unique the
//!   vertex is too, so coefficients agree to rounding (tests: 1e-9 relative). Where it is
//!   not unique, R and this code may stop at different optimal vertices: the objective
//!   agrees, the coefficients need not, and both report non-uniqueness.
//! - **Non-uniqueness** is decided by the dual-weight test of step 6 with `tol`; R tests
//!   its tableau's marginal costs against `toler`, in its own scaling. Near-ties at the
//!   `tol` scale could be classified differently.
//! - **No confidence intervals** (`ci = TRUE`, rank inversion) and no whole quantile
//!   process (R's `tau` outside (0, 1)); tau outside (0, 1) is an error here.
//! - **Iteration limit.** R has none (`flag 2`, "premature end", only on conditioning
//!   trouble); here `max_iter` ends the walk with `converged: false` and the coefficients of
//!   the last vertex (a valid but possibly non-optimal fit).
//! - **Output.** `duality_gap` is 0 on convergence (the vertex is optimal exactly, up to
//!   `tol` in the reduced costs); after hitting `max_iter` no bound on `f(b) - min` is
//!   known and it is set to `f64::INFINITY`. No residuals, dual solution or `flag` are returned.
//! - **Input checks** as in [`RqSpec::fit`](super::RqSpec::fit) (R's `qr()`-style rank check naming the
//!   dependent columns; non-finite values refused with row and column).
//!
//! # References
//!
//! - Barrodale, I. and Roberts, F. D. K. (1974). Solution of an overdetermined system of
//!   equations in the l1 norm. *Communications of the ACM* 17(6), 319-320 (Algorithm 478).
//! - Koenker, R. and d'Orey, V. (1987). Computing regression quantiles. *Applied Statistics*
//!   36(3), 383-393 (Algorithm AS 229).
//! - Koenker, R. (2005). *Quantile Regression*. Cambridge University Press, chapter 6.
//! - Bland, R. G. (1977). New finite pivoting rules for the simplex method. *Mathematics of
//!   Operations Research* 2(2), 103-107.

use serde::{Deserialize, Serialize};

use super::{QuantregError, RqSolution, check_loss, check_problem};

/// Options of the simplex solver; see the table in the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrOptions {
    /// Reduced-cost tolerance (dual weights are dimensionless, in units of 1).
    pub tol: f64,
    /// Iteration (line-search pivot) limit.
    pub max_iter: usize,
}

impl Default for BrOptions {
    fn default() -> Self {
        BrOptions { tol: f64::EPSILON.powf(2.0 / 3.0), max_iter: 100_000 }
    }
}

impl BrOptions {
    pub(super) fn validate(&self) -> Result<(), QuantregError> {
        if !(self.tol > 0.0 && self.tol < 0.1) {
            return Err(QuantregError::InvalidOption { name: "tol", value: self.tol, range: "in (0, 0.1)" });
        }
        if self.max_iter == 0 {
            return Err(QuantregError::InvalidOption { name: "max_iter", value: 0.0, range: "at least 1" });
        }
        Ok(())
    }
}

/// A simplex fit: the regression quantile and whether it is the only minimizer.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BrFit {
    /// Coefficients, objective, iterations (pivots), convergence, tau; `duality_gap` is 0
    /// when converged (an exact vertex optimum) and infinite otherwise.
    pub fit: RqSolution,
    /// `false` when some edge from the optimal vertex has zero slope (within `tol`), i.e.
    /// the argmin is not a single point (R: "Solution may be nonunique").
    pub unique: bool,
    /// The `p` observations (0-based rows) interpolated by the returned vertex, ascending.
    pub basis: Vec<usize>,
}

/// Fits the tau-th regression quantile of `y` on the column-major `n x p` design `x` by the
/// Barrodale-Roberts / Koenker-d'Orey simplex (R's `rq.fit.br`); [`super::RqSpec::fit`]
/// with [`super::RqSolver::Br`] on a slice. The checks are those of `RqSpec::fit`; reaching
/// `opts.max_iter` is returned as data (`converged: false`), not as an error.
pub(super) fn fit_br(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    tau: f64,
    opts: &BrOptions,
) -> Result<BrFit, QuantregError> {
    opts.validate()?;
    check_problem(x, n, p, y, tau)?;
    solve_br(x, n, p, y, tau, opts)
}

/// [`fit_br`] without the checks, for callers that made them (the quantile path).
pub(super) fn solve_br(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    tau: f64,
    opts: &BrOptions,
) -> Result<BrFit, QuantregError> {
    Simplex::new(x, n, p, y, tau).solve(opts)
}

/// Workspace of one simplex fit.
struct Simplex<'a> {
    n: usize,
    p: usize,
    tau: f64,
    /// Row-major copy of the design: row i is `rows[i*p..(i+1)*p]`.
    rows: Vec<f64>,
    y: &'a [f64],
    /// Basic observations (position k of the basis holds row `basis[k]`).
    basis: Vec<usize>,
    /// `in_basis[i]`: position of row i in the basis, or `usize::MAX`.
    in_basis: Vec<usize>,
    /// Sign of each non-basic observation: `true` = on or above the plane (weight tau).
    above: Vec<bool>,
    /// Inverse of X_h (row-major p x p; X_h row k = x_{basis[k]}).
    inv: Vec<f64>,
    b: Vec<f64>,
    r: Vec<f64>,
}

impl<'a> Simplex<'a> {
    fn new(x: &[f64], n: usize, p: usize, y: &'a [f64], tau: f64) -> Self {
        let mut rows = vec![0.0; n * p];
        for j in 0..p {
            for i in 0..n {
                rows[i * p + j] = x[j * n + i];
            }
        }
        Simplex {
            n,
            p,
            tau,
            rows,
            y,
            basis: Vec::with_capacity(p),
            in_basis: vec![usize::MAX; n],
            above: vec![true; n],
            inv: vec![0.0; p * p],
            b: vec![0.0; p],
            r: vec![0.0; n],
        }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.p..(i + 1) * self.p]
    }

    /// Initial basis: Gaussian elimination with partial pivoting over the rows of X.
    /// Returns `None` if the design is numerically rank deficient (not expected after
    /// `check_rank`).
    fn initial_basis(&mut self) -> Option<()> {
        let (n, p) = (self.n, self.p);
        let mut work = self.rows.clone();
        let mut used = vec![false; n];
        for j in 0..p {
            let mut best = usize::MAX;
            let mut best_abs = 0.0f64;
            for i in 0..n {
                if !used[i] && work[i * p + j].abs() > best_abs {
                    best_abs = work[i * p + j].abs();
                    best = i;
                }
            }
            if best == usize::MAX {
                return None;
            }
            used[best] = true;
            let pivot: Vec<f64> = work[best * p..(best + 1) * p].to_vec();
            for i in 0..n {
                if !used[i] {
                    let f = work[i * p + j] / pivot[j];
                    if f != 0.0 {
                        for c in j..p {
                            work[i * p + c] -= f * pivot[c];
                        }
                    }
                }
            }
            self.basis.push(best);
        }
        for (k, &i) in self.basis.iter().enumerate() {
            self.in_basis[i] = k;
        }
        Some(())
    }

    /// Recomputes `inv = X_h^{-1}`, `b = X_h^{-1} y_h` and the residuals. `None` if X_h is
    /// singular.
    fn refresh(&mut self) -> Option<()> {
        let p = self.p;
        let mut m = vec![0.0; p * p];
        for (k, &i) in self.basis.iter().enumerate() {
            m[k * p..(k + 1) * p].copy_from_slice(&self.rows[i * p..(i + 1) * p]);
        }
        invert(&mut m, &mut self.inv, p)?;
        // b = inv * y_h, with one step of iterative refinement.
        let yh: Vec<f64> = self.basis.iter().map(|&i| self.y[i]).collect();
        for a in 0..p {
            self.b[a] = (0..p).map(|k| self.inv[a * p + k] * yh[k]).sum();
        }
        let res: Vec<f64> = (0..p).map(|k| yh[k] - dot(self.row(self.basis[k]), &self.b)).collect();
        for a in 0..p {
            self.b[a] += (0..p).map(|k| self.inv[a * p + k] * res[k]).sum::<f64>();
        }
        for i in 0..self.n {
            self.r[i] = if self.in_basis[i] != usize::MAX { 0.0 } else { self.y[i] - dot(self.row(i), &self.b) };
        }
        Some(())
    }

    /// Dual weights `u = -X_h^{-T} g` of the basic observations.
    fn dual_weights(&self) -> Vec<f64> {
        let p = self.p;
        let mut g = vec![0.0; p];
        for i in 0..self.n {
            if self.in_basis[i] == usize::MAX {
                let w = if self.above[i] { self.tau } else { self.tau - 1.0 };
                for (gj, xj) in g.iter_mut().zip(self.row(i)) {
                    *gj += w * xj;
                }
            }
        }
        // u_k = -sum_a inv[a][k] g_a  (X_h^{-T} = inv^T).
        (0..p).map(|k| -(0..p).map(|a| self.inv[a * p + k] * g[a]).sum::<f64>()).collect()
    }

    /// The fit at the current vertex. A fit stopped by the iteration limit has
    /// `converged: false` and an infinite duality gap (its distance from the optimum is unknown).
    fn result(&self, tau: f64, iterations: usize, converged: bool, unique: bool) -> BrFit {
        let mut basis = self.basis.clone();
        basis.sort_unstable();
        BrFit {
            fit: RqSolution {
                coefficients: self.b.clone(),
                objective: check_loss(&self.r, tau),
                iterations,
                converged,
                tau,
                duality_gap: if converged { 0.0 } else { f64::INFINITY },
            },
            unique,
            basis,
        }
    }

    fn solve(mut self, opts: &BrOptions) -> Result<BrFit, QuantregError> {
        let (n, p, tau) = (self.n, self.p, self.tau);
        let singular = || QuantregError::IllConditioned { iteration: 0, column: 0 };
        self.initial_basis().ok_or_else(singular)?;
        self.refresh().ok_or_else(singular)?;
        for i in 0..n {
            self.above[i] = self.r[i] >= 0.0;
        }
        let mut iterations = 0usize;
        let mut last_degenerate = false;
        let mut breaks: Vec<(f64, usize, f64)> = Vec::with_capacity(n);
        let mut d = vec![0.0; p];
        loop {
            let u = self.dual_weights();
            // Reduced costs: (slope, basis position, sigma).
            let mut choice: Option<(f64, usize, f64)> = None;
            let mut min_abs_cost = f64::INFINITY;
            for (k, &uk) in u.iter().enumerate() {
                for (slope, sigma) in [(1.0 - tau + uk, 1.0), (tau - uk, -1.0)] {
                    min_abs_cost = min_abs_cost.min(slope.abs());
                    if slope < -opts.tol {
                        let better = match choice {
                            None => true,
                            Some((s, kk, _)) => {
                                if last_degenerate {
                                    self.basis[k] < self.basis[kk]
                                } else {
                                    slope < s
                                }
                            }
                        };
                        if better {
                            choice = Some((slope, k, sigma));
                        }
                    }
                }
            }
            let Some((slope0, k, sigma)) = choice else {
                return Ok(self.result(tau, iterations, true, min_abs_cost > opts.tol));
            };
            if iterations == opts.max_iter {
                return Ok(self.result(tau, iterations, false, false));
            }
            iterations += 1;
            // Direction d = sigma * inv e_k (column k of inv).
            for (a, da) in d.iter_mut().enumerate() {
                *da = sigma * self.inv[a * p + k];
            }
            let dnorm = d.iter().map(|v| v * v).sum::<f64>().sqrt();
            breaks.clear();
            for i in 0..n {
                if self.in_basis[i] != usize::MAX {
                    continue;
                }
                let xi = self.row(i);
                let a = dot(xi, &d);
                let xnorm = xi.iter().map(|v| v * v).sum::<f64>().sqrt();
                if a.abs() <= 1e-13 * xnorm * dnorm {
                    continue;
                }
                // The residual r_i - t a crosses zero in the direction that flips its sign.
                if (self.above[i] && a > 0.0) || (!self.above[i] && a < 0.0) {
                    breaks.push(((self.r[i] / a).max(0.0), i, a.abs()));
                }
            }
            breaks.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            let mut slope = slope0;
            let mut entering = None;
            for &(t, i, w) in &breaks {
                slope += w;
                if slope >= 0.0 {
                    entering = Some((t, i));
                    break;
                }
                self.above[i] = !self.above[i];
            }
            // An unbounded descent cannot happen for a full-rank design (f >= 0); if
            // rounding makes it look so, report ill-conditioning rather than a wrong answer.
            let (t, i) =
                entering.ok_or(QuantregError::IllConditioned { iteration: iterations, column: self.basis[k] })?;
            last_degenerate = t == 0.0;
            let leaving = self.basis[k];
            self.in_basis[leaving] = usize::MAX;
            // sigma = +1: x_k'd = 1, the released residual becomes -t < 0.
            self.above[leaving] = sigma < 0.0;
            self.basis[k] = i;
            self.in_basis[i] = k;
            self.refresh().ok_or(QuantregError::IllConditioned { iteration: iterations, column: i })?;
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// Gauss-Jordan inversion of the row-major p x p matrix `m` (destroyed) into `inv`, with
/// partial pivoting. `None` if a pivot is exactly zero.
fn invert(m: &mut [f64], inv: &mut [f64], p: usize) -> Option<()> {
    inv.fill(0.0);
    for k in 0..p {
        inv[k * p + k] = 1.0;
    }
    for c in 0..p {
        let piv = (c..p).max_by(|&a, &b| m[a * p + c].abs().total_cmp(&m[b * p + c].abs()))?;
        if m[piv * p + c] == 0.0 {
            return None;
        }
        if piv != c {
            for j in 0..p {
                m.swap(piv * p + j, c * p + j);
                inv.swap(piv * p + j, c * p + j);
            }
        }
        let f = 1.0 / m[c * p + c];
        for j in 0..p {
            m[c * p + j] *= f;
            inv[c * p + j] *= f;
        }
        for r in 0..p {
            if r != c {
                let g = m[r * p + c];
                if g != 0.0 {
                    for j in 0..p {
                        m[r * p + j] -= g * m[c * p + j];
                        inv[r * p + j] -= g * inv[c * p + j];
                    }
                }
            }
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::super::fixture::case;
    use super::super::{FnOptions, fit_fn};
    use super::*;
    use crate::stats::testutil::floats;
    use proptest::prelude::*;

    /// Coefficients 1e-9 relative (max(1, |b|)): a unique vertex is the solution of one p x p
    /// system, so R's and ours differ only by the rounding of that solve (observed below
    /// 1e-12). Objective 1e-10 relative (sum of n terms, each rounded at 1e-16). The
    /// uniqueness flag must match R exactly.
    fn compare_with_r(name: &str, compare_coefficients: bool) {
        let c = case(name);
        let p = c.terms.len();
        for f in &c.fits {
            let tau = f["tau"].as_f64().unwrap();
            let fit = fit_br(&c.x, c.n, p, &c.y, tau, &BrOptions::default()).unwrap();
            assert!(fit.fit.converged, "quantreg.json {name}: tau {tau}: not converged");
            let r_b = floats(&f["br"]["coefficients"]);
            let r_obj = f["br"]["objective"].as_f64().unwrap();
            let r_unique = f["br"]["unique"].as_bool().unwrap();
            let max_diff = fit
                .fit
                .coefficients
                .iter()
                .zip(&r_b)
                .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
                .fold(0.0, f64::max);
            eprintln!(
                "{name} tau {tau}: {} iterations, max coef rel diff {max_diff:.3e}, objective rel diff {:.3e}",
                fit.fit.iterations,
                (fit.fit.objective - r_obj) / r_obj
            );
            if compare_coefficients {
                for (j, term) in c.terms.iter().enumerate() {
                    let (ours, r) = (fit.fit.coefficients[j], r_b[j]);
                    assert!(
                        (ours - r).abs() <= 1e-9 * r.abs().max(1.0),
                        "quantreg.json {name}: tau {tau}: br coefficient `{term}`: Rust {ours:.17e}, R {r:.17e}"
                    );
                }
            }
            let tol = if compare_coefficients { 1e-10 } else { 1e-9 };
            assert!(
                (fit.fit.objective - r_obj).abs() <= tol * r_obj.abs(),
                "quantreg.json {name}: tau {tau}: br objective: Rust {:.17e}, R {r_obj:.17e}",
                fit.fit.objective
            );
            assert_eq!(fit.unique, r_unique, "quantreg.json {name}: tau {tau}: br unique flag");
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

    /// Intercept-only, n = 10: non-unique at tau 0.1, 0.5, 0.9 (n tau integer). There the
    /// vertex may be either end of the solution interval, so coefficients are not compared.
    #[test]
    fn tiny_nonunique_matches_r() {
        compare_with_r("tiny_nonunique", false);
    }

    #[test]
    fn options_deserialize_with_defaults() {
        let o: BrOptions = serde_json::from_str(r#"{"max_iter": 7}"#).unwrap();
        assert_eq!(o, BrOptions { max_iter: 7, ..BrOptions::default() });
        assert!(serde_json::from_str::<BrOptions>(r#"{"eps": 1e-6}"#).is_err());
    }

    #[test]
    fn input_errors_name_their_subject() {
        let o = BrOptions::default();
        let x = [1.0, 1.0, 1.0, 0.0, 1.0, 2.0];
        let y = [0.0, 1.0, 3.0];
        assert!(matches!(fit_br(&x, 3, 2, &y, 1.0, &o), Err(QuantregError::TauOutOfRange { .. })));
        let dup = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0];
        assert!(matches!(fit_br(&dup, 3, 2, &y, 0.5, &o), Err(QuantregError::SingularDesign { .. })));
        let bad = BrOptions { max_iter: 0, ..o };
        assert!(matches!(fit_br(&x, 3, 2, &y, 0.5, &bad), Err(QuantregError::InvalidOption { name: "max_iter", .. })));
    }

    #[test]
    fn iteration_limit_is_reported_as_data() {
        let c = case("synthetic");
        let fit = fit_br(&c.x, c.n, 4, &c.y, 0.5, &BrOptions { max_iter: 1, ..BrOptions::default() }).unwrap();
        assert!(!fit.fit.converged);
        assert_eq!(fit.fit.iterations, 1);
    }

    /// Heavily degenerate data (duplicated rows, integer values) must still terminate at
    /// an optimum: compare with fn's objective, which bounds the minimum within its gap.
    #[test]
    fn degenerate_ties_terminate() {
        let n = 60;
        let mut x = vec![1.0; n];
        x.extend((0..n).map(|i| (i % 5) as f64));
        let y: Vec<f64> = (0..n).map(|i| ((i * 7) % 4) as f64 + (i % 5) as f64).collect();
        for tau in [0.1, 0.25, 0.5, 0.75, 0.9] {
            let br = fit_br(&x, n, 2, &y, tau, &BrOptions::default()).unwrap();
            let fnf = fit_fn(&x, n, 2, &y, tau, &FnOptions::default()).unwrap();
            assert!(br.fit.converged, "tau {tau}");
            assert!(br.fit.objective <= fnf.objective + 1e-9 * fnf.objective.abs().max(1.0), "tau {tau}");
            assert!(br.fit.objective >= fnf.objective - fnf.duality_gap - 1e-9, "tau {tau}");
        }
    }

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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// br is exact, fn stops within its duality gap above the minimum: br <= fn (1e-9
        /// relative for summation rounding), and br >= fn - gap (weak duality).
        #[test]
        fn br_objective_not_above_fn((n, p, x, y, tau) in problem()) {
            let br = fit_br(&x, n, p, &y, tau, &BrOptions::default()).unwrap();
            let fnf = fit_fn(&x, n, p, &y, tau, &FnOptions::default()).unwrap();
            prop_assert!(br.fit.converged);
            let slack = 1e-9 * fnf.objective.abs().max(1e-300);
            prop_assert!(br.fit.objective <= fnf.objective + slack, "br {} fn {}", br.fit.objective, fnf.objective);
            prop_assert!(br.fit.objective >= fnf.objective - fnf.duality_gap - slack);
        }

        /// A vertex interpolates its p basic observations: residual exactly 0 up to the
        /// rounding of x_i'b (1e-12 relative to |y_i| + sum |x_ij b_j|).
        #[test]
        fn solution_interpolates_p_observations((n, p, x, y, tau) in problem()) {
            let br = fit_br(&x, n, p, &y, tau, &BrOptions::default()).unwrap();
            prop_assert_eq!(br.basis.len(), p);
            let b = &br.fit.coefficients;
            let mut zero = 0;
            for i in 0..n {
                let fitted: f64 = (0..p).map(|j| x[j * n + i] * b[j]).sum();
                let scale = y[i].abs() + (0..p).map(|j| (x[j * n + i] * b[j]).abs()).sum::<f64>();
                if (y[i] - fitted).abs() <= 1e-12 * scale.max(1e-300) {
                    zero += 1;
                }
            }
            prop_assert!(zero >= p, "{zero} zero residuals, p = {p}");
        }
    }
}
