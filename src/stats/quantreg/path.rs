//! Regression quantiles at many taus, each fit warm-started from its neighbour.
//!
//! # Method
//!
//! [`PathSpec::fit`] fits `b(tau_1), …, b(tau_m)` for increasing taus with one solver
//! ([`Solver::Br`] or [`Solver::Fn`]). On large problems it uses the preprocessing of
//! Portnoy and Koenker (1997, section 4; quantreg's `rq.fit.pfn`), started from the
//! neighbouring tau's solution instead of a fresh subsample:
//!
//! 1. Start from `b0`, the solution at the neighbouring tau.
//! 2. Scale the residuals `y_i − x_i'b0` by the leverage band `||x_i' R^{-1}||`
//!    (`R'R = X'X`), and keep the `M` rows whose scaled residual lies between its
//!    `tau − M/(2n)` and `tau + M/(2n)` quantiles, with `M = round(sqrt(p) · n^(2/3))`
//!    (pfn's subsample size). The rows below are fixed as negative residuals (`L`), the
//!    rows above as positive (`H`), and each set is collapsed into one "glob" row:
//!    `x_L = Σ_L x_i`, `y_L = Σ_L y_i − K` (and `+ K` for `H`), `K` = the range of `y`.
//! 3. Solve the reduced problem (the kept rows and the two globs) with the chosen solver.
//! 4. Check every fixed row's residual sign at the reduced solution `b`. If all agree, `b`
//!    minimizes the full objective (below). Otherwise, if at most `M/10` rows disagree, move
//!    them to the kept rows and solve again; if more, double `M` and redo step 2 from `b0`.
//!    After 4 rounds, or once `M` would reach `n/2`, solve the full problem.
//!
//! Why a successful check is exact: `rho_tau(u) ≥ (tau − 1) u` and `≥ tau u` for every
//! `u`, with equality on the respective sign. So the full objective is everywhere at least
//! `g(b) = Σ_kept rho(r_i) + (tau − 1) Σ_L r_i + tau Σ_H r_i`, with equality wherever the
//! fixed signs hold. The reduced objective equals `g` plus a constant near any point where
//! the glob residuals have their signs, which holds wherever the fixed rows' signs hold
//! (`K > 0`). A reduced minimizer `b` whose fixed signs hold is therefore a local, hence
//! (by convexity) global, minimizer of `g`, and the full objective, which is `≥ g` and
//! equal to it at `b`, is minimized at `b`. With [`Solver::Fn`] "minimizes" means "to the
//! reduced problem's duality gap", which bounds the full problem's excess just the same.
//!
//! # Chains and threads
//!
//! The taus are cut into segments of at most [`SEGMENT`] consecutive taus; each segment
//! fits its middle tau on all rows and walks outwards in both directions, each fit
//! warm-started from the previous one. (Starting segments from a subsample fit, as pfn
//! does, failed the sign check repeatedly on integer scale scores with p = 8: the
//! subsample fit is poor in the sparse tails of the prior, and one full fit per 25 taus
//! costs less than the retries.) Segments are independent, so they run on up to
//! `available_parallelism` threads, and the cut depends only on the taus: results are
//! identical for any number of threads.
//!
//! # Options ([`PathOptions`])
//!
//! | field | default | meaning |
//! |---|---|---|
//! | `solver` | `br` | [`Solver::Br`] (simplex, R `rq.fit.br`) or [`Solver::Fn`] (interior point, `rq.fit.fnb`) |
//! | `fn_options` | [`FnOptions::default`] | used when `solver = fn` |
//! | `br_options` | [`BrOptions::default`] | used when `solver = br` |
//! | `preprocess` | `auto` | [`Preprocess`]: `auto` (when `n ≥ 20,000` and `M ≤ n/4`), `never`, `always` (when `M ≤ n/4`) |
//!
//! # Compatibility with R
//!
//! Without preprocessing every tau is an independent fit identical to [`RqSpec::fit`](super::RqSpec::fit)
//! with either solver. With it, the optimum is the same (fn: to the duality
//! gap). Where the minimizer is not unique, br on the reduced problem returns a vertex of
//! the full problem's solution set, which may be another vertex than br on all rows, and fn
//! stops near the centre of the reduced problem's solution set. quantreg's `rq.fit.pfn`
//! draws a new subsample for every tau and fixes up at most 3 times; the neighbour warm
//! start, the fixed segments and the fallback to a full fit are this crate's.
//!
//! ```
//! use ndarray::{Array1, Array2};
//! use obc::stats::quantreg::path::{PathOptions, PathSpec, Preprocess, Solver};
//! // y = x + noise; 25 taus on n = 3000 rows with preprocessing forced.
//! let n = 3000;
//! let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { 1.0 } else { (i % 100) as f64 });
//! let y = Array1::from_shape_fn(n, |i| (i % 100) as f64 + ((i * 7919) % 1000) as f64 / 100.0);
//! let taus: Vec<f64> = (1..=25).map(|k| k as f64 / 26.0).collect();
//! let options = PathOptions { solver: Solver::Fn, preprocess: Preprocess::Always, ..PathOptions::default() };
//! let path = PathSpec { taus: &taus, options }.fit(x.view(), y.view()).unwrap();
//! assert_eq!(path.fits.len(), 25);
//! assert!(path.fits.iter().all(|f| f.converged));
//! ```
//!
//! # References
//!
//! - Portnoy, S. and Koenker, R. (1997). The Gaussian hare and the Laplacian tortoise:
//!   computability of squared-error versus absolute-error estimators. *Statistical Science*
//!   12(4), 279-300.
//! - Koenker, R. (2005). *Quantile Regression*, section 6.5 (preprocessing).

use ndarray::{ArrayView1, ArrayView2};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::br::{BrOptions, solve_br};
use super::{FnOptions, QuantregError, RqSolution, check_loss, check_problem, solve_fn};
use crate::stats::design::{column_major, contiguous};

/// Which quantile-regression solver fits each tau.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Solver {
    /// Barrodale-Roberts simplex (R `rq.fit.br`, default options): an exact vertex, the
    /// SGP package's default (`rq.method = "br"`).
    #[default]
    Br,
    /// Frisch-Newton interior point (R `rq.fit.fnb`, default options): much faster for
    /// large problems (the SGP package uses it from N = 300,000), accurate to the duality
    /// gap (1e-6), so results resting on near-ties can differ from `br`.
    Fn,
}

/// When [`PathSpec::fit`] reduces each problem by preprocessing (module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preprocess {
    /// When `n ≥ 20,000` and the kept-set size `M = round(sqrt(p) n^(2/3))` is at most `n/4`.
    #[default]
    Auto,
    /// Never: every tau is fitted on all rows.
    Never,
    /// Whenever `m ≤ n/4` (for tests and small-problem checks).
    Always,
}

/// Options of [`PathSpec`]; see the module documentation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathOptions {
    pub solver: Solver,
    pub fn_options: FnOptions,
    pub br_options: BrOptions,
    pub preprocess: Preprocess,
}

/// Smallest `n` at which [`Preprocess::Auto`] preprocesses.
pub const AUTO_MIN_N: usize = 20_000;

/// Largest number of consecutive taus in one warm-started segment.
pub const SEGMENT: usize = 25;

/// How one tau was solved when preprocessing was on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reduction {
    /// Rows in the last reduced problem (kept rows, without the two globs).
    pub kept: usize,
    /// Reduced problems solved (1 when the first one passed the sign check).
    pub rounds: usize,
    /// `true` when the sign check kept failing and the full problem was solved.
    pub fell_back: bool,
}

/// The fits of a path, in the order of the taus.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathFit {
    /// One fit per tau. `objective` is always the check loss on all `n` rows;
    /// `iterations` adds up the iterations of every problem solved for that tau.
    pub fits: Vec<RqSolution>,
    /// Per tau, how it was reduced (`None`: fitted on all rows).
    pub reductions: Vec<Option<Reduction>>,
}

/// A failed path: the tau whose fit failed and why.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum PathError {
    #[error("taus must be non-empty and strictly increasing, each in (0, 1); {0}")]
    InvalidTaus(String),
    #[error("quantile regression at tau = {tau} failed: {source}")]
    Fit {
        tau: f64,
        #[source]
        source: QuantregError,
    },
}

/// Regression quantiles at many taus along a warm-started path (module documentation).
#[derive(Clone, Copy, Debug)]
pub struct PathSpec<'a> {
    /// Strictly increasing, in (0, 1).
    pub taus: &'a [f64],
    pub options: PathOptions,
}

impl PathSpec<'_> {
    /// Fits the regression quantiles of `y` on the `n × p` design `x` at every tau. A
    /// column-major `x` is read in place; other layouts are copied once. The design is
    /// checked once (as [`RqSpec::fit`](super::RqSpec::fit) does); each tau's failure is
    /// reported with its tau.
    pub fn fit(&self, x: ArrayView2<'_, f64>, y: ArrayView1<'_, f64>) -> Result<PathFit, PathError> {
        let (n, p) = x.dim();
        fit_path(&column_major(x), n, p, &contiguous(y), self.taus, &self.options)
    }
}

/// Fits the regression quantiles of `y` on the column-major `n x p` design `x` at every tau
/// in `taus` (strictly increasing, in (0, 1)). The design is checked once (as
/// [`RqSpec::fit`](super::RqSpec::fit) does); each tau's failure is reported with its tau.
fn fit_path(x: &[f64], n: usize, p: usize, y: &[f64], taus: &[f64], opts: &PathOptions) -> Result<PathFit, PathError> {
    if taus.is_empty() {
        return Err(PathError::InvalidTaus("got none".into()));
    }
    if let Some(t) = taus.iter().find(|t| !(**t > 0.0 && **t < 1.0)) {
        return Err(PathError::InvalidTaus(format!("got {t}")));
    }
    if taus.windows(2).any(|w| w[0] >= w[1]) {
        return Err(PathError::InvalidTaus("they are not strictly increasing".into()));
    }
    let fail = |tau: f64| move |source| PathError::Fit { tau, source };
    match opts.solver {
        Solver::Fn => opts.fn_options.validate().map_err(fail(taus[0]))?,
        Solver::Br => opts.br_options.validate().map_err(fail(taus[0]))?,
    }
    check_problem(x, n, p, y, taus[0]).map_err(fail(taus[0]))?;

    let m = subsample_size(n, p);
    let reduce = match opts.preprocess {
        Preprocess::Never => false,
        Preprocess::Auto => n >= AUTO_MIN_N && 4 * m <= n,
        Preprocess::Always => 4 * m <= n,
    };
    let problem = Problem { x, n, p, y, opts, band: if reduce { leverage_band(x, n, p) } else { Vec::new() } };

    // Jobs: independent taus (no reduction) or segments walked outwards from their middle.
    let segments = segments(taus.len(), if reduce { SEGMENT } else { 1 });
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(segments.len()).max(1);
    let run = |seg: &(usize, usize)| -> Result<Vec<(usize, RqSolution, Option<Reduction>)>, PathError> {
        if reduce { problem.walk(taus, seg.0, seg.1) } else { problem.full(taus, seg.0) }
    };
    let results: Vec<Result<Vec<_>, PathError>> = if threads <= 1 {
        segments.iter().map(run).collect()
    } else {
        // Deal segments round-robin to threads; each thread returns its results in order.
        let per_thread: Vec<Vec<Result<Vec<_>, PathError>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let run = &run;
                    let segments = &segments;
                    s.spawn(move || segments.iter().skip(t).step_by(threads).map(run).collect::<Vec<_>>())
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a quantile-path thread panicked")).collect()
        });
        per_thread.into_iter().flatten().collect()
    };
    let mut slots: Vec<Option<(RqSolution, Option<Reduction>)>> = vec![None; taus.len()];
    let mut first_error: Option<(usize, PathError)> = None;
    for result in results {
        match result {
            Ok(fits) => {
                for (k, fit, red) in fits {
                    slots[k] = Some((fit, red));
                }
            }
            Err(e) => {
                let k = match &e {
                    PathError::Fit { tau, .. } => taus.iter().position(|t| t == tau).unwrap_or(0),
                    PathError::InvalidTaus(_) => 0,
                };
                if first_error.as_ref().is_none_or(|(j, _)| k < *j) {
                    first_error = Some((k, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    let (fits, reductions) = slots.into_iter().map(|s| s.expect("every tau is fitted by one segment")).unzip();
    Ok(PathFit { fits, reductions })
}

/// `round(sqrt(p) · n^(2/3))`, the subsample size of quantreg's `rq.fit.pfn`, used as the
/// initial kept-set size `M`.
fn subsample_size(n: usize, p: usize) -> usize {
    ((p as f64).sqrt() * (n as f64).powf(2.0 / 3.0)).round() as usize
}

/// Cuts `0..count` into consecutive segments of at most `size`, as equal as possible.
fn segments(count: usize, size: usize) -> Vec<(usize, usize)> {
    let k = count.div_ceil(size);
    (0..k).map(|j| (j * count / k, (j + 1) * count / k)).collect()
}

/// `||x_i' R^{-1}||` for every row, with `R'R = X'X` (Cholesky). Rows are scaled by their
/// prediction uncertainty with it; the overall scale is irrelevant.
fn leverage_band(x: &[f64], n: usize, p: usize) -> Vec<f64> {
    // Lower Cholesky factor L of X'X (so R = L').
    let mut l = vec![0.0; p * p];
    for j in 0..p {
        for k in 0..=j {
            let cj = &x[j * n..(j + 1) * n];
            let ck = &x[k * n..(k + 1) * n];
            l[j * p + k] = cj.iter().zip(ck).map(|(a, b)| a * b).sum();
        }
    }
    for j in 0..p {
        for k in 0..=j {
            let mut sum = l[j * p + k];
            for t in 0..k {
                sum -= l[j * p + t] * l[k * p + t];
            }
            l[j * p + k] = if k == j { sum.max(f64::MIN_POSITIVE).sqrt() } else { sum / l[k * p + k] };
        }
    }
    // ||R^{-T} x_i|| = ||L^{-1} x_i||: forward substitution per row.
    let mut u = vec![0.0; p];
    (0..n)
        .map(|i| {
            for j in 0..p {
                let mut sum = x[j * n + i];
                for t in 0..j {
                    sum -= l[j * p + t] * u[t];
                }
                u[j] = sum / l[j * p + j];
            }
            u.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE)
        })
        .collect()
}

struct Problem<'a> {
    x: &'a [f64],
    n: usize,
    p: usize,
    y: &'a [f64],
    opts: &'a PathOptions,
    band: Vec<f64>,
}

type Fitted = (usize, RqSolution, Option<Reduction>);

impl Problem<'_> {
    fn solve(&self, x: &[f64], n: usize, y: &[f64], tau: f64) -> Result<RqSolution, PathError> {
        let fit = match self.opts.solver {
            Solver::Fn => solve_fn(x, n, self.p, y, tau, &self.opts.fn_options),
            Solver::Br => solve_br(x, n, self.p, y, tau, &self.opts.br_options).map(|f| f.fit),
        };
        fit.map_err(|source| PathError::Fit { tau, source })
    }

    /// Tau `k` on all rows.
    fn full(&self, taus: &[f64], k: usize) -> Result<Vec<Fitted>, PathError> {
        Ok(vec![(k, self.solve(self.x, self.n, self.y, taus[k])?, None)])
    }

    /// Segment `start..end`: the middle tau on all rows, then outwards, each tau reduced
    /// around its neighbour's solution.
    fn walk(&self, taus: &[f64], start: usize, end: usize) -> Result<Vec<Fitted>, PathError> {
        let mid = (start + end) / 2;
        let mut out = Vec::with_capacity(end - start);
        let fit = self.solve(self.x, self.n, self.y, taus[mid])?;
        let centre = fit.coefficients.clone();
        out.push((mid, fit, None));
        for direction in [Box::new((mid + 1)..end) as Box<dyn Iterator<Item = usize>>, Box::new((start..mid).rev())] {
            let mut b = centre.clone();
            for k in direction {
                let (fit, red) = self.reduced(taus[k], &b)?;
                b.clone_from(&fit.coefficients);
                out.push((k, fit, Some(red)));
            }
        }
        Ok(out)
    }

    /// Column-major design and response of `rows`, plus the two globs when given.
    fn gather(&self, rows: &[usize], globs: Option<(&[usize], &[usize], f64)>) -> (Vec<f64>, Vec<f64>) {
        let (n, p) = (self.n, self.p);
        let extra = if globs.is_some() { 2 } else { 0 };
        let nr = rows.len() + extra;
        let mut xs = Vec::with_capacity(nr * p);
        let mut ys: Vec<f64> = rows.iter().map(|&i| self.y[i]).collect();
        let sums = |set: &[usize], j: usize| set.iter().map(|&i| self.x[j * n + i]).sum::<f64>();
        for j in 0..p {
            xs.extend(rows.iter().map(|&i| self.x[j * n + i]));
            if let Some((low, high, _)) = globs {
                xs.push(sums(low, j));
                xs.push(sums(high, j));
            }
        }
        if let Some((low, high, k)) = globs {
            ys.push(low.iter().map(|&i| self.y[i]).sum::<f64>() - k);
            ys.push(high.iter().map(|&i| self.y[i]).sum::<f64>() + k);
        }
        (xs, ys)
    }

    fn residuals(&self, b: &[f64], r: &mut [f64]) {
        let n = self.n;
        r.copy_from_slice(self.y);
        for (j, bj) in b.iter().enumerate() {
            for (ri, xij) in r.iter_mut().zip(&self.x[j * n..(j + 1) * n]) {
                *ri -= xij * bj;
            }
        }
    }

    /// Solves tau by reduced problems started at `b0`, falling back to all rows.
    fn reduced(&self, tau: f64, b0: &[f64]) -> Result<(RqSolution, Reduction), PathError> {
        const MAX_ROUNDS: usize = 4;
        let n = self.n;
        let spread = {
            let (lo, hi) = self.y.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
            if hi > lo { hi - lo } else { 1.0 }
        };
        let mut kept_target = subsample_size(n, self.p);
        let mut r = vec![0.0; n];
        // side[i]: -1 fixed negative, +1 fixed positive, 0 kept.
        let mut side = vec![0i8; n];
        let mut iterations = 0;
        let mut rounds = 0;
        let mut resplit = true;
        while rounds < MAX_ROUNDS && 2 * kept_target < n {
            if resplit {
                // Always from the warm start: a reduced solution that failed the check can be
                // far off where the fixed sets were wrong.
                self.residuals(b0, &mut r);
                self.split(tau, kept_target, &r, &mut side);
            }
            let (mut kept, mut low, mut high) = (Vec::new(), Vec::new(), Vec::new());
            for (i, &s) in side.iter().enumerate() {
                match s {
                    -1 => low.push(i),
                    1 => high.push(i),
                    _ => kept.push(i),
                }
            }
            if kept.len() < self.p {
                break;
            }
            rounds += 1;
            let (xs, ys) = self.gather(&kept, Some((&low, &high, spread)));
            let fit = self.solve(&xs, kept.len() + 2, &ys, tau)?;
            iterations += fit.iterations;
            self.residuals(&fit.coefficients, &mut r);
            let bad: Vec<usize> =
                (0..n).filter(|&i| (side[i] < 0 && r[i] > 0.0) || (side[i] > 0 && r[i] < 0.0)).collect();
            if bad.is_empty() {
                let fit = RqSolution { objective: check_loss(&r, tau), iterations, ..fit };
                return Ok((fit, Reduction { kept: kept.len(), rounds, fell_back: false }));
            }
            if 10 * bad.len() <= kept_target {
                for i in bad {
                    side[i] = 0;
                }
                resplit = false;
            } else {
                kept_target *= 2;
                resplit = true;
            }
        }
        let fit = self.solve(self.x, n, self.y, tau)?;
        let fit = RqSolution { iterations: iterations + fit.iterations, ..fit };
        Ok((fit, Reduction { kept: n, rounds, fell_back: true }))
    }

    /// Marks rows below the `tau − M/(2n)` and above the `tau + M/(2n)` quantile of the
    /// band-scaled residuals as fixed.
    fn split(&self, tau: f64, kept_target: usize, r: &[f64], side: &mut [i8]) {
        let n = self.n;
        let scaled: Vec<f64> = r.iter().zip(&self.band).map(|(ri, bi)| ri / bi).collect();
        let half = kept_target as f64 / (2.0 * n as f64);
        let rank = |q: f64| ((q.clamp(0.0, 1.0) * n as f64).floor() as usize).min(n - 1);
        let mut work = scaled.clone();
        let lo_rank = rank(tau - half);
        let hi_rank = rank(tau + half);
        let lo =
            if tau - half <= 0.0 { f64::NEG_INFINITY } else { *work.select_nth_unstable_by(lo_rank, f64::total_cmp).1 };
        let hi =
            if tau + half >= 1.0 { f64::INFINITY } else { *work.select_nth_unstable_by(hi_rank, f64::total_cmp).1 };
        for (s, &v) in side.iter_mut().zip(&scaled) {
            *s = if v < lo {
                -1
            } else if v > hi {
                1
            } else {
                0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::quantreg::fit_fn;

    /// Heteroskedastic linear data with a skewed regressor: y = 1 + 2 x1 − x2 + (1 + x1) e.
    fn data(n: usize, seed: u64) -> (Vec<f64>, Vec<f64>) {
        use rand::{RngExt, SeedableRng};
        use rand_chacha::ChaCha8Rng;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x1: Vec<f64> = (0..n).map(|_| rng.random::<f64>() * 4.0).collect();
        let x2: Vec<f64> = (0..n).map(|_| (rng.random::<f64>() * 2.0).exp()).collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let e: f64 = rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() - 1.5;
                1.0 + 2.0 * x1[i] - x2[i] + (1.0 + x1[i]) * e
            })
            .collect();
        let mut x = vec![1.0; n];
        x.extend(x1);
        x.extend(x2);
        (x, y)
    }

    fn taus(m: usize) -> Vec<f64> {
        (1..=m).map(|k| (k as f64 - 0.5) / m as f64).collect()
    }

    #[test]
    fn preprocessed_fn_path_reaches_the_full_optimum_at_every_tau() {
        let n = 6000;
        let (x, y) = data(n, 7);
        let taus = taus(40);
        let opts = PathOptions { solver: Solver::Fn, preprocess: Preprocess::Always, ..PathOptions::default() };
        let path = fit_path(&x, n, 3, &y, &taus, &opts).unwrap();
        // Two segments of 20: each middle tau is fitted on all rows, the rest are reduced.
        let reduced = path.reductions.iter().filter(|r| r.is_some_and(|r| !r.fell_back)).count();
        assert_eq!(path.reductions.iter().filter(|r| r.is_none()).count(), 2);
        assert!(reduced >= 30, "only {reduced} of 38 warm-started taus passed the sign check");
        for (fit, &tau) in path.fits.iter().zip(&taus) {
            let full = fit_fn(&x, n, 3, &y, tau, &FnOptions::default()).unwrap();
            // Both are within their duality gap (1e-6) of the same minimum.
            assert!(
                (fit.objective - full.objective).abs() <= 2e-6,
                "tau {tau}: {} vs {}",
                fit.objective,
                full.objective
            );
            assert!(fit.converged);
            assert_eq!(fit.tau, tau);
        }
    }

    #[test]
    fn preprocessed_br_path_is_an_exact_optimum() {
        let n = 4000;
        let (x, y) = data(n, 11);
        let taus = taus(12);
        let opts = PathOptions { preprocess: Preprocess::Always, ..PathOptions::default() };
        let path = fit_path(&x, n, 3, &y, &taus, &opts).unwrap();
        let plain = fit_path(&x, n, 3, &y, &taus, &PathOptions::default()).unwrap();
        assert!(plain.reductions.iter().all(Option::is_none), "auto must not preprocess n = 4000");
        for ((a, b), tau) in path.fits.iter().zip(&plain.fits).zip(&taus) {
            assert!(a.converged, "tau {tau}");
            assert!((a.objective - b.objective).abs() <= 1e-9 * b.objective.abs(), "tau {tau}");
            // Continuous data: the solution is unique, so the vertices coincide.
            for (u, v) in a.coefficients.iter().zip(&b.coefficients) {
                assert!((u - v).abs() <= 1e-8 * v.abs().max(1.0), "tau {tau}: {u} vs {v}");
            }
        }
    }

    #[test]
    fn preprocessed_path_is_regression_and_scale_equivariant() {
        // Koenker (2005) 2.2.3: b(tau; a y + X g) = a b(tau; y) + g for a > 0, and
        // b(tau; -y) = -b(1 - tau; y). br with preprocessing returns exact vertices, unique
        // on continuous data, so the identities hold to rounding.
        let n = 4000;
        let (x, y) = data(n, 23);
        let taus = taus(10);
        let opts = PathOptions { preprocess: Preprocess::Always, ..PathOptions::default() };
        let base = fit_path(&x, n, 3, &y, &taus, &opts).unwrap();
        let (a, g) = (2.5, [3.0, -1.0, 0.5]);
        let y2: Vec<f64> = (0..n).map(|i| a * y[i] + g[0] + g[1] * x[n + i] + g[2] * x[2 * n + i]).collect();
        let moved = fit_path(&x, n, 3, &y2, &taus, &opts).unwrap();
        let neg: Vec<f64> = y.iter().map(|v| -v).collect();
        let reflected_taus: Vec<f64> = taus.iter().rev().map(|t| 1.0 - t).collect();
        let reflected = fit_path(&x, n, 3, &neg, &reflected_taus, &opts).unwrap();
        for k in 0..taus.len() {
            let b = &base.fits[k].coefficients;
            for j in 0..3 {
                let want = a * b[j] + g[j];
                let got = moved.fits[k].coefficients[j];
                assert!((got - want).abs() <= 1e-8 * want.abs().max(1.0), "tau {}: {got} vs {want}", taus[k]);
                let r = reflected.fits[taus.len() - 1 - k].coefficients[j];
                assert!((r + b[j]).abs() <= 1e-8 * b[j].abs().max(1.0), "tau {}: {r} vs {}", taus[k], -b[j]);
            }
        }
    }

    #[test]
    fn results_do_not_depend_on_how_segments_are_spread_over_threads() {
        // Segment boundaries are a function of the number of taus only.
        assert_eq!(segments(100, SEGMENT), vec![(0, 25), (25, 50), (50, 75), (75, 100)]);
        assert_eq!(segments(7, SEGMENT), vec![(0, 7)]);
        assert_eq!(segments(51, SEGMENT), vec![(0, 17), (17, 34), (34, 51)]);
        // And a walk is a pure function of its segment: running it twice gives equal bits.
        let n = 5000;
        let (x, y) = data(n, 3);
        let taus = taus(30);
        let opts = PathOptions { solver: Solver::Fn, preprocess: Preprocess::Always, ..PathOptions::default() };
        let a = fit_path(&x, n, 3, &y, &taus, &opts).unwrap();
        let problem = Problem { x: &x, n, p: 3, y: &y, opts: &opts, band: leverage_band(&x, n, 3) };
        let mut serial: Vec<Fitted> = Vec::new();
        for seg in segments(taus.len(), SEGMENT) {
            serial.extend(problem.walk(&taus, seg.0, seg.1).unwrap());
        }
        serial.sort_by_key(|f| f.0);
        for (k, fit, _) in serial {
            assert_eq!(fit.coefficients, a.fits[k].coefficients);
        }
    }

    #[test]
    fn invalid_taus_and_designs_are_errors() {
        let (x, y) = data(100, 1);
        let opts = PathOptions::default();
        assert!(matches!(fit_path(&x, 100, 3, &y, &[], &opts), Err(PathError::InvalidTaus(_))));
        assert!(matches!(fit_path(&x, 100, 3, &y, &[0.5, 0.5], &opts), Err(PathError::InvalidTaus(_))));
        assert!(matches!(fit_path(&x, 100, 3, &y, &[0.0, 0.5], &opts), Err(PathError::InvalidTaus(_))));
        let mut singular = x.clone();
        singular[200..300].copy_from_slice(&x[100..200]);
        let err = fit_path(&singular, 100, 3, &y, &[0.3, 0.6], &opts).unwrap_err();
        assert!(
            matches!(&err, PathError::Fit { tau, source: QuantregError::SingularDesign { collinear, .. } }
                if *tau == 0.3 && collinear == &vec![2]),
            "{err}"
        );
    }
}
