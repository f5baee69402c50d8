//! Student Growth Percentiles (SGP) for one norm group, with one or more prior scores.
//!
//! # Model
//!
//! For a norm group of students with prior score `x_i` and current score `y_i`
//! (Betebenner 2009; docs/methods.md 1.3-1.7):
//!
//! ```text
//! knots      = round(quantile_7(x, knot_probs), 3)                  (4 interior knots)
//! boundaries = round(extendrange(x, f = 0.1), 3) = [min − 0.1·R, max + 0.1·R]
//! B(x)       = bs(x, knots, boundaries, degree = 3, intercept = FALSE)   (7 columns)
//! β(τ)       = argmin_b Σ_i ρ_τ(y_i − [1, B(x_i)]·b)   for each τ in taus (Koenker–Bassett 1978)
//! Q(x)       = round(sort_τ([1, B(x)]·β(τ)), 5)                     (rearrangement, then R's round)
//! SGP(x, y)  = #{ t : Q_t(x) < y },  0 → 1,  m → m − 1              (m = number of taus, 100)
//! ```
//!
//! Sorting each student's predictions is the rearrangement of Chernozhukov, Fernández-Val
//! and Galichon (2010), which SGP calls `isotonize = TRUE`. The quantile regressions are
//! independent per τ, as in `quantreg::rq` with a vector of taus; they are computed along
//! a warm-started path ([`PathSpec`]), which on large groups solves each τ on a reduced
//! problem and proves it optimal for the full one.
//!
//! With `k` priors ([`SgpSpec::fit_priors`]) the design is `[1, B_1(x_1), …, B_k(x_k)]`
//! (`p = 1 + 7k`), each prior with its own knots and boundaries ([`PriorScale`]); fitting
//! the orders `1..k` per norm group and choosing each student's highest order is
//! [`model`](super::model)'s job (docs/methods.md 1.8).
//!
//! # Usage
//!
//! ```
//! use obc::stats::norms::sgp::SgpSpec;
//! // a small norm group (the default `min_n` is 1000)
//! let prior: Vec<f64> = (0..300).map(|i| 50.0 + 10.0 * (f64::from(i) * 1.7).sin()).collect();
//! let current: Vec<f64> =
//!     prior.iter().enumerate().map(|(i, x)| 5.0 + x + ((i * 7919) % 101) as f64 / 10.0).collect();
//! let spec = SgpSpec { min_n: 200, ..SgpSpec::default() };
//! let norms = spec.fit(&prior, &current).unwrap();
//! let q = norms.predict(&[20.0]);
//! assert_eq!(q.len(), 100);
//! assert!(q.windows(2).all(|w| w[0] <= w[1]));
//! let sgp = norms.score(&[20.0], 25.0);
//! assert!((1..=99).contains(&sgp));
//! ```
//!
//! # References
//!
//! - D. W. Betebenner (2009), Norm- and criterion-referenced student growth, *Educational
//!   Measurement: Issues and Practice* 28(4), 42-51; R package `SGP` (`studentGrowthPercentiles`).
//! - R. Koenker and G. Bassett (1978), Regression quantiles, *Econometrica* 46(1), 33-50.
//! - V. Chernozhukov, I. Fernández-Val and A. Galichon (2010), Quantile and probability
//!   curves without crossing, *Econometrica* 78(3), 1093-1125.
//!
//! # Compatibility with R
//!
//! Checked against `tests/fixtures/r/sgp.json` and the per-student results of `sgp.R`
//! (R 4.2.2, quantreg 5.94, splines 4.2.2), which follows docs/methods.md 1.3-1.7 literally:
//! knots and boundaries are identical, br coefficients agree to 1e-6 relative (in practice
//! to floating-point noise), and SGPs are identical for every student whose SGP does not
//! rest on a tie decided by last-bit noise (see the fixture README, "SGP fragility").
//! Known differences from the `SGP` package:
//!
//! - **Knots.** [`SgpSpec::fit_priors`] takes them from the students fitted;
//!   [`SgpSpec::fit_scaled`] accepts them from elsewhere. [`model`](super::model) pools every
//!   prior score of the norm group, including students without a current score, as the
//!   package's `createKnotsBoundaries` pools a content area × grade.
//! - **Solver choice is explicit.** The package switches from `br` to `fn` at N ≥ 300,000
//!   and falls back from `fn` to `br` on error; here [`Solver`] is chosen by the caller and
//!   never changed silently.
//! - **Minimum size.** The package has no minimum (`sgp.cohort.size` defaults to 0); here
//!   [`SgpSpec::min_n`] defaults to 1000 (see its documentation).
//! - **No LOSS/HOSS clamping** (`sgp.loss.hoss.adjustment = NULL`, the default), no SIMEX
//!   or CSEM simulation.
//! - **[`Ties::MidRank`]** is an option of this crate, not of the package.

use ndarray::{ArrayView1, ArrayView2, ShapeBuilder};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::stats::quantreg::QuantregError;
use crate::stats::quantreg::path::{PathError, PathOptions, PathSpec};
pub use crate::stats::quantreg::path::{Preprocess, Solver};
use crate::stats::spline::{BSplineBasis, SplineError, round_like_r, sgp_boundaries, sgp_knots};

/// How a current score equal to one or more predicted quantiles is counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ties {
    /// SGP = #{q_t < y} (strict), as the SGP package (docs/methods.md 1.7).
    #[default]
    Strict,
    /// SGP = midpoint of #{q_t < y} and #{q_t ≤ y}, rounded half to even; equals `Strict`
    /// when no predicted quantile equals `y`. Removes the downward bias of `Strict` on
    /// coarse integer scales, where scores often sit exactly on a fitted quantile.
    MidRank,
}

/// Specification of SGP norms (one norm group, any number of priors).
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `taus` | (1..=100 − 0.5)/100 = 0.005, 0.015, …, 0.995 | conditional quantiles fitted (SGP `PERCENTILES`) | each in (0, 1), strictly increasing, 2 to 255 of them |
/// | `knot_probs` | [0.2, 0.4, 0.6, 0.8] | interior knots at these type-7 quantiles of the prior (SGP `knot.cut.percentiles`) | each in (0, 1), non-decreasing, at least 1 |
/// | `solver` | `br` | quantile-regression solver ([`Solver`]) | `br`, `fn` |
/// | `preprocess` | `auto` | reduce each tau's problem, warm-started from its neighbour ([`Preprocess`], [`PathSpec`]); `auto` from n = 20,000 | `auto`, `never`, `always` |
/// | `min_n` | 1000 | smallest norm group fitted | any; the fit also always needs n ≥ 1 + knots + 3 |
/// | `rounding_digits` | 5 | predicted quantiles are rounded with R's `round(·, digits)` before counting | 0 to 15 |
/// | `ties` | `strict` | how a score equal to a predicted quantile counts ([`Ties`]) | `strict`, `mid_rank` |
///
/// `min_n`: the SGP package has no minimum (`sgp.cohort.size` = 0, docs/methods.md 1.9), but
/// states that set one use 1000 (BI, DC, DD, GA, IL, MD, NJ, NM_PARCC, PARCC, RI_PARCC) to
/// 3000 (UT). 1000 is the most common setting; with 100 taus it leaves 5 students below the
/// extreme tau 0.005. Set it lower knowingly (e.g. 250, the package's goodness-of-fit
/// minimum).
///
/// ```
/// use obc::stats::norms::sgp::{SgpSpec, Solver, Ties};
/// let spec: SgpSpec = serde_json::from_str(r#"{"solver": "fn", "ties": "mid_rank"}"#).unwrap();
/// assert_eq!(spec.solver, Solver::Fn);
/// assert_eq!(spec.ties, Ties::MidRank);
/// assert_eq!(spec.taus.len(), 100);
/// assert!(serde_json::from_str::<SgpSpec>(r#"{"knots": [0.5]}"#).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SgpSpec {
    pub taus: Vec<f64>,
    pub knot_probs: Vec<f64>,
    pub solver: Solver,
    pub preprocess: Preprocess,
    pub min_n: usize,
    pub rounding_digits: i32,
    pub ties: Ties,
}

impl Default for SgpSpec {
    fn default() -> Self {
        SgpSpec {
            taus: (1..=100).map(|k| (f64::from(k) - 0.5) / 100.0).collect(),
            knot_probs: vec![0.2, 0.4, 0.6, 0.8],
            solver: Solver::Br,
            preprocess: Preprocess::Auto,
            min_n: 1000,
            rounding_digits: 5,
            ties: Ties::Strict,
        }
    }
}

/// Why SGP norms cannot be fitted or loaded.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum NormsError {
    #[error("invalid SGP spec: {field} {problem}")]
    InvalidSpec { field: &'static str, problem: String },
    #[error("prior has {prior} scores but current has {current}")]
    LengthMismatch { prior: usize, current: usize },
    #[error("{got} prior score(s) given; these norms use {expected}")]
    WrongOrder { expected: usize, got: usize },
    #[error("non-finite {variable} score (column {column}) at index {index}: {value}")]
    NonFinite { variable: &'static str, column: usize, index: usize, value: f64 },
    #[error("too few observations in the norm group: need at least {needed}, got {got}")]
    TooFewObservations { needed: usize, got: usize },
    #[error("cannot build the B-spline basis from the prior scores: {0}")]
    Basis(#[from] SplineError),
    #[error("quantile regression at tau = {tau} failed: {source}")]
    Fit {
        tau: f64,
        #[source]
        source: QuantregError,
    },
    #[error("invalid SGP norms: {0}")]
    InvalidNorms(String),
}

impl SgpSpec {
    fn validate(&self) -> Result<(), NormsError> {
        let bad = |field, problem: &str| Err(NormsError::InvalidSpec { field, problem: problem.to_string() });
        if self.taus.len() < 2 || self.taus.len() > usize::from(u8::MAX) {
            return bad("taus", &format!("has {} values; need 2 to 255", self.taus.len()));
        }
        if let Some(t) = self.taus.iter().find(|t| !(**t > 0.0 && **t < 1.0)) {
            return bad("taus", &format!("contains {t}, outside (0, 1)"));
        }
        if self.taus.windows(2).any(|w| w[0] >= w[1]) {
            return bad("taus", "must be strictly increasing");
        }
        if self.knot_probs.is_empty() {
            return bad("knot_probs", "is empty");
        }
        if let Some(p) = self.knot_probs.iter().find(|p| !(**p > 0.0 && **p < 1.0)) {
            return bad("knot_probs", &format!("contains {p}, outside (0, 1)"));
        }
        if self.knot_probs.windows(2).any(|w| w[0] > w[1]) {
            return bad("knot_probs", "must be non-decreasing");
        }
        if !(0..=15).contains(&self.rounding_digits) {
            return bad("rounding_digits", &format!("= {}, must be 0 to 15", self.rounding_digits));
        }
        Ok(())
    }

    /// Fits the norms of one norm group with one prior: `prior[i]` and `current[i]` are
    /// student `i`'s scores. Same as [`fit_priors`](Self::fit_priors) with one prior.
    pub fn fit(&self, prior: &[f64], current: &[f64]) -> Result<SgpNorms, NormsError> {
        self.fit_priors(&[prior], current)
    }

    /// Fits the norms of one norm group with `k = priors.len()` priors (the design is the
    /// intercept and one `bs()` basis per prior, `p = 1 + 7k` with 4 knots), knots and
    /// boundaries from these students' prior scores. Checks, in order: the spec, at least one
    /// prior, equal lengths, finite scores (first bad index, priors before current),
    /// `n ≥ max(min_n, p)`, then builds the knots and basis and fits every tau. A tau whose
    /// solver stops at its iteration limit is recorded in `diagnostics.converged`, not an
    /// error.
    pub fn fit_priors(&self, priors: &[&[f64]], current: &[f64]) -> Result<SgpNorms, NormsError> {
        self.check_inputs(priors, current)?;
        let scales = priors.iter().map(|x| PriorScale::from_scores(x, &self.knot_probs)).collect();
        self.fit_scaled(priors, current, scales)
    }

    /// [`fit_priors`](Self::fit_priors) with knots and boundaries given per prior (for
    /// example computed from every student with that prior score, as the SGP package pools
    /// them, or taken from a state's published table).
    pub fn fit_scaled(
        &self,
        priors: &[&[f64]],
        current: &[f64],
        scales: Vec<PriorScale>,
    ) -> Result<SgpNorms, NormsError> {
        self.check_inputs(priors, current)?;
        if scales.len() != priors.len() {
            return Err(NormsError::WrongOrder { expected: priors.len(), got: scales.len() });
        }
        let n = current.len();
        let bases =
            scales.iter().map(|s| BSplineBasis::new(s.knots.clone(), s.boundaries)).collect::<Result<Vec<_>, _>>()?;
        let p = 1 + bases.iter().map(BSplineBasis::ncols).sum::<usize>();
        let needed = self.min_n.max(p);
        if n < needed {
            return Err(NormsError::TooFewObservations { needed, got: n });
        }
        let mut x = vec![1.0; n];
        for (basis, prior) in bases.iter().zip(priors) {
            x.extend(basis.matrix(prior));
        }
        let (fits, reduced) = self.fit_taus(&x, n, p, current)?;
        let converged = fits.iter().all(|f| f.2);
        let diagnostics = SgpDiagnostics {
            n_obs: n,
            reduced,
            iterations: fits.iter().map(|f| f.1).collect(),
            objective: fits.iter().map(|f| f.3).collect(),
            converged,
        };
        Ok(SgpNorms {
            spec: self.clone(),
            priors: scales,
            coefficients: fits.into_iter().map(|f| f.0).collect(),
            diagnostics,
            bases,
        })
    }

    fn check_inputs(&self, priors: &[&[f64]], current: &[f64]) -> Result<(), NormsError> {
        self.validate()?;
        if priors.is_empty() {
            return Err(NormsError::WrongOrder { expected: 1, got: 0 });
        }
        for prior in priors {
            if prior.len() != current.len() {
                return Err(NormsError::LengthMismatch { prior: prior.len(), current: current.len() });
            }
        }
        for (column, values) in priors.iter().enumerate() {
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(NormsError::NonFinite { variable: "prior", column, index, value });
            }
        }
        if let Some((index, &value)) = current.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(NormsError::NonFinite { variable: "current", column: 0, index, value });
        }
        Ok(())
    }

    /// One fit per tau, in tau order ([`PathSpec`]: spread over the available cores, with
    /// results independent of the number of threads).
    #[allow(clippy::type_complexity)]
    fn fit_taus(
        &self,
        x: &[f64],
        n: usize,
        p: usize,
        y: &[f64],
    ) -> Result<(Vec<(Vec<f64>, usize, bool, f64)>, usize), NormsError> {
        let options = PathOptions { solver: self.solver, preprocess: self.preprocess, ..PathOptions::default() };
        let x = ArrayView2::from_shape((n, p).f(), x).expect("n rows of p columns");
        let path = PathSpec { taus: &self.taus, options }.fit(x, ArrayView1::from(y)).map_err(|e| match e {
            PathError::Fit { tau, source } => NormsError::Fit { tau, source },
            PathError::InvalidTaus(problem) => NormsError::InvalidSpec { field: "taus", problem },
        })?;
        let reduced = path.reductions.iter().filter(|r| r.is_some_and(|r| !r.fell_back)).count();
        let fits = path.fits.into_iter().map(|f| (f.coefficients, f.iterations, f.converged, f.objective)).collect();
        Ok((fits, reduced))
    }
}

/// Fit diagnostics, per tau in the order of `spec.taus`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgpDiagnostics {
    /// Students in the norm group.
    pub n_obs: usize,
    /// Taus solved on a reduced problem by preprocessing (0 when `n` is small).
    pub reduced: usize,
    /// Solver iterations (br: simplex pivots; fn: interior-point iterations) per tau,
    /// summed over every problem solved for that tau.
    pub iterations: Vec<usize>,
    /// Check-loss objective `Σ ρ_τ(y − Xβ)` per tau (comparable across solvers).
    pub objective: Vec<f64>,
    /// `true` when every tau's solver finished before its iteration limit.
    pub converged: bool,
}

/// Knots and boundary knots of one prior's B-spline basis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorScale {
    /// Interior knots (SGP: type-7 quantiles of the prior at `knot_probs`, rounded to 3 decimals).
    pub knots: Vec<f64>,
    /// Boundary knots (SGP: the range extended by 10%, rounded to 3 decimals).
    pub boundaries: (f64, f64),
}

impl PriorScale {
    /// The SGP package's knots and boundaries of these prior scores (docs/methods.md 1.3).
    pub fn from_scores(prior: &[f64], knot_probs: &[f64]) -> PriorScale {
        PriorScale { knots: sgp_knots(prior, knot_probs), boundaries: sgp_boundaries(prior) }
    }
}

/// Fitted SGP norms: everything needed to score a student, serializable (e.g. to
/// `norms.json`). Deserializing re-checks the knots and the coefficient shapes.
///
/// `coefficients[k]` belongs to `spec.taus[k]`: the intercept, then the `bs()` columns of
/// the first prior, then those of the second, and so on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "SgpNormsFields")]
pub struct SgpNorms {
    spec: SgpSpec,
    priors: Vec<PriorScale>,
    coefficients: Vec<Vec<f64>>,
    diagnostics: SgpDiagnostics,
    #[serde(skip)]
    bases: Vec<BSplineBasis>,
}

/// Unchecked serialized form of [`SgpNorms`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SgpNormsFields {
    spec: SgpSpec,
    priors: Vec<PriorScale>,
    coefficients: Vec<Vec<f64>>,
    diagnostics: SgpDiagnostics,
}

impl TryFrom<SgpNormsFields> for SgpNorms {
    type Error = NormsError;
    fn try_from(f: SgpNormsFields) -> Result<Self, NormsError> {
        f.spec.validate()?;
        if f.priors.is_empty() {
            return Err(NormsError::InvalidNorms("no priors".into()));
        }
        let bases =
            f.priors.iter().map(|s| BSplineBasis::new(s.knots.clone(), s.boundaries)).collect::<Result<Vec<_>, _>>()?;
        let p = 1 + bases.iter().map(BSplineBasis::ncols).sum::<usize>();
        if f.coefficients.len() != f.spec.taus.len() {
            return Err(NormsError::InvalidNorms(format!(
                "{} coefficient rows for {} taus",
                f.coefficients.len(),
                f.spec.taus.len()
            )));
        }
        for (k, row) in f.coefficients.iter().enumerate() {
            if row.len() != p || row.iter().any(|b| !b.is_finite()) {
                return Err(NormsError::InvalidNorms(format!(
                    "coefficient row {k} (tau {}) must hold {p} finite values",
                    f.spec.taus[k]
                )));
            }
        }
        Ok(SgpNorms { spec: f.spec, priors: f.priors, coefficients: f.coefficients, diagnostics: f.diagnostics, bases })
    }
}

impl SgpNorms {
    /// The spec the norms were fitted with.
    pub fn spec(&self) -> &SgpSpec {
        &self.spec
    }

    /// Knots and boundaries per prior, in the order of the priors.
    pub fn priors(&self) -> &[PriorScale] {
        &self.priors
    }

    /// Number of priors (the SGP order).
    pub fn order(&self) -> usize {
        self.priors.len()
    }

    /// Coefficients per tau: intercept, then the basis columns.
    pub fn coefficients(&self) -> &[Vec<f64>] {
        &self.coefficients
    }

    /// Fit diagnostics.
    pub fn diagnostics(&self) -> &SgpDiagnostics {
        &self.diagnostics
    }

    /// The predicted conditional quantiles of the current score given the prior scores
    /// (one per prior, in order), sorted ascending and rounded to `spec.rounding_digits`
    /// (docs/methods.md 1.6). Each prediction is the sum `1·β_0 + B_1(prior)·β_1 + …` accumulated
    /// left to right, as R's reference BLAS does. Priors outside the boundaries use `bs()`'s
    /// cubic extrapolation; a non-finite prior gives `NaN`s.
    ///
    /// # Panics
    ///
    /// If `priors.len()` differs from [`order`](Self::order) (use
    /// [`checked_score`](Self::checked_score) for unchecked input).
    pub fn predict(&self, priors: &[f64]) -> Vec<f64> {
        assert_eq!(
            priors.len(),
            self.priors.len(),
            "SGP norms of order {} given {} priors",
            self.order(),
            priors.len()
        );
        let mut row = Vec::with_capacity(self.coefficients.first().map_or(0, Vec::len));
        let mut part = Vec::new();
        for (basis, &x) in self.bases.iter().zip(priors) {
            part.resize(basis.ncols(), 0.0);
            basis.eval(x, &mut part);
            row.extend_from_slice(&part);
        }
        let mut q: Vec<f64> =
            self.coefficients.iter().map(|b| row.iter().zip(&b[1..]).fold(b[0], |acc, (x, c)| acc + x * c)).collect();
        q.sort_by(f64::total_cmp);
        for v in &mut q {
            *v = round_like_r(*v, self.spec.rounding_digits);
        }
        q
    }

    /// The SGP of a student with these scores (docs/methods.md 1.7): the number of predicted
    /// quantiles strictly below `current` ([`Ties::Strict`]; [`Ties::MidRank`] counts a tie
    /// as half), with 0 mapped to 1 and `m` (the number of taus, 100) to `m − 1`. Scores
    /// are assumed finite (a `NaN` compares false and gives 1); use
    /// [`checked_score`](Self::checked_score) for unchecked input.
    pub fn score(&self, priors: &[f64], current: f64) -> u8 {
        let q = self.predict(priors);
        let below = q.iter().filter(|&&v| v < current).count();
        let count = match self.spec.ties {
            Ties::Strict => below,
            Ties::MidRank => {
                let at_or_below = q.iter().filter(|&&v| v <= current).count();
                let sum = below + at_or_below;
                let half = sum / 2;
                if sum % 2 == 1 && half % 2 == 1 { half + 1 } else { half }
            }
        };
        let m = q.len();
        // m <= 255 is checked by the spec, so the clamped count fits in u8
        u8::try_from(count.clamp(1, m - 1)).expect("SGP count exceeds 255 despite the spec check")
    }

    /// [`score`](Self::score) after checking the number of priors and that every score is
    /// finite.
    pub fn checked_score(&self, priors: &[f64], current: f64) -> Result<u8, NormsError> {
        if priors.len() != self.order() {
            return Err(NormsError::WrongOrder { expected: self.order(), got: priors.len() });
        }
        for (column, &value) in priors.iter().enumerate() {
            if !value.is_finite() {
                return Err(NormsError::NonFinite { variable: "prior", column, index: 0, value });
            }
        }
        if !current.is_finite() {
            return Err(NormsError::NonFinite { variable: "current", column: 0, index: 0, value: current });
        }
        Ok(self.score(priors, current))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::floats;
    use serde_json::Value;
    use std::sync::OnceLock;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/r/sgp.json");
    const EXAM: &str = include_str!("../../../tests/fixtures/r/sgp_exam_results.csv");
    const SYNTHETIC: &str = include_str!("../../../tests/fixtures/r/sgp_synthetic_results.csv");

    /// Per-student columns of an `sgp_*_results.csv` file (which repeats the inputs).
    struct Results {
        prior: Vec<f64>,
        current: Vec<f64>,
        sgp: Vec<u8>,
        sgp_min: Vec<u8>,
        sgp_max: Vec<u8>,
    }

    fn results(text: &str) -> Results {
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let (ip, ic, is, imin, imax) = (col("prior"), col("current"), col("sgp"), col("sgp_min"), col("sgp_max"));
        let mut r = Results { prior: vec![], current: vec![], sgp: vec![], sgp_min: vec![], sgp_max: vec![] };
        for rec in reader.records() {
            let rec = rec.unwrap();
            r.prior.push(rec[ip].parse().unwrap());
            r.current.push(rec[ic].parse().unwrap());
            r.sgp.push(rec[is].parse().unwrap());
            r.sgp_min.push(rec[imin].parse().unwrap());
            r.sgp_max.push(rec[imax].parse().unwrap());
        }
        r
    }

    fn dataset(name: &str) -> Value {
        let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
        fixture["datasets"].as_array().unwrap().iter().find(|d| d["name"] == name).unwrap().clone()
    }

    /// The br norms of a fixture data set, fitted once and shared by the tests.
    fn fitted(name: &str) -> &'static (Results, SgpNorms) {
        static EXAM_FIT: OnceLock<(Results, SgpNorms)> = OnceLock::new();
        static SYNTHETIC_FIT: OnceLock<(Results, SgpNorms)> = OnceLock::new();
        let (cell, text) = match name {
            "exam" => (&EXAM_FIT, EXAM),
            "synthetic" => (&SYNTHETIC_FIT, SYNTHETIC),
            _ => panic!("unknown data set {name}"),
        };
        cell.get_or_init(|| {
            let r = results(text);
            let norms = SgpSpec::default().fit(&r.prior, &r.current).unwrap();
            (r, norms)
        })
    }

    fn check_against_json(name: &str) {
        let (r, norms) = fitted(name);
        let ds = dataset(name);
        assert_eq!(norms.priors()[0].knots, floats(&ds["knots"]), "sgp.json {name}: knots");
        let b = floats(&ds["boundaries"]);
        assert_eq!(norms.priors()[0].boundaries, (b[0], b[1]), "sgp.json {name}: boundaries");
        assert_eq!(norms.diagnostics().n_obs, r.prior.len());
        assert!(norms.diagnostics().converged, "sgp.json {name}: not converged");
        let taus = floats(&ds["taus"]);
        assert_eq!(norms.spec().taus, taus, "sgp.json {name}: taus");
        let objective = floats(&ds["objective"]);
        for (k, row) in ds["coefficients"].as_array().unwrap().iter().enumerate() {
            let want = floats(row);
            let got = &norms.coefficients()[k];
            assert_eq!(got.len(), want.len());
            for (j, (g, w)) in got.iter().zip(&want).enumerate() {
                // 1e-6 relative: br returns a unique vertex (all taus unique in sgp.json)
                assert!(
                    (g - w).abs() <= 1e-6 * w.abs().max(1.0),
                    "sgp.json {name}: tau {} coefficient {j}: {g} vs R {w}",
                    taus[k]
                );
            }
            let (g, w) = (norms.diagnostics().objective[k], objective[k]);
            // 1e-9 relative: the LP optimum value is unique
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "sgp.json {name}: tau {} objective: {g} vs R {w}",
                taus[k]
            );
        }
    }

    #[test]
    fn synthetic_matches_r_knots_boundaries_coefficients() {
        check_against_json("synthetic");
    }

    #[test]
    fn exam_matches_r_knots_boundaries_coefficients() {
        check_against_json("exam");
    }

    #[test]
    fn preview_quantiles_match_r() {
        for name in ["synthetic", "exam"] {
            let (_, norms) = fitted(name);
            let pv = &dataset(name)["preview"];
            let prior = floats(&pv["prior"]);
            for (i, row) in pv["sorted_rounded_quantiles"].as_array().unwrap().iter().enumerate() {
                let want = floats(row);
                let got = norms.predict(&[prior[i]]);
                for (t, (g, w)) in got.iter().zip(&want).enumerate() {
                    // R rounds to 5 decimals; a last-bit difference can move one 1e-5 step
                    assert!(
                        (g - w).abs() <= 1.5e-5,
                        "sgp.json {name}: preview student {i}, quantile {t}: {g} vs R {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn synthetic_sgp_matches_r_for_every_student() {
        let (r, norms) = fitted("synthetic");
        let mut differ = 0;
        let mut max_diff = 0;
        for i in 0..r.prior.len() {
            let d = i32::from(norms.score(&[r.prior[i]], r.current[i])).abs_diff(i32::from(r.sgp[i]));
            if d > 0 {
                differ += 1;
                max_diff = max_diff.max(d);
            }
        }
        // brief's rule: identical for >= 99.5% and never more than 1 apart
        assert!(max_diff <= 1, "sgp_synthetic_results.csv: SGP differs by up to {max_diff} ({differ} students)");
        assert!(differ * 200 <= r.prior.len(), "sgp_synthetic_results.csv: {differ} of {} SGPs differ", r.prior.len());
        eprintln!("synthetic: {differ} of {} SGPs differ from R (max {max_diff})", r.prior.len());
    }

    #[test]
    fn exam_sgp_within_fragility_band() {
        let (r, norms) = fitted("exam");
        let mut off_point = 0;
        for i in 0..r.prior.len() {
            let s = norms.score(&[r.prior[i]], r.current[i]);
            assert!(
                r.sgp_min[i] <= s && s <= r.sgp_max[i],
                "sgp_exam_results.csv: student {} SGP {s} outside [{}, {}]",
                i + 1,
                r.sgp_min[i],
                r.sgp_max[i]
            );
            if r.sgp_min[i] == r.sgp_max[i] {
                assert_eq!(s, r.sgp[i], "sgp_exam_results.csv: stable student {} SGP", i + 1);
            } else if s != r.sgp[i] {
                off_point += 1;
            }
        }
        eprintln!("exam: {off_point} fragile students differ from R's point SGP (all inside their bands)");
    }

    #[test]
    fn sgp_in_range_and_predictions_sorted() {
        for name in ["synthetic", "exam"] {
            let (r, norms) = fitted(name);
            let (lo, hi) = norms.priors()[0].boundaries;
            let span = hi - lo;
            // observed priors plus points beyond the boundaries (extrapolated basis)
            let priors = r.prior.iter().step_by(7).copied().chain([lo - span, lo, hi, hi + span]);
            for p in priors {
                let q = norms.predict(&[p]);
                assert_eq!(q.len(), 100);
                assert!(q.windows(2).all(|w| w[0] <= w[1]), "{name}: predictions at prior {p} not sorted");
                for y in [q[0] - 1.0, q[0], q[50], q[99], q[99] + 1.0, f64::MAX, f64::MIN] {
                    for ties in [Ties::Strict, Ties::MidRank] {
                        let mut n2 = norms.clone();
                        n2.spec.ties = ties;
                        let s = n2.score(&[p], y);
                        assert!((1..=99).contains(&s), "{name}: SGP {s} at prior {p}, current {y}");
                    }
                }
            }
        }
    }

    #[test]
    fn mid_rank_counts_ties_as_half() {
        let (r, norms) = fitted("synthetic");
        let mut mid = norms.clone();
        mid.spec.ties = Ties::MidRank;
        let mut tied = 0;
        for i in 0..r.prior.len() {
            let q = norms.predict(&[r.prior[i]]);
            let y = r.current[i];
            let lt = q.iter().filter(|&&v| v < y).count();
            let le = q.iter().filter(|&&v| v <= y).count();
            let strict = norms.score(&[r.prior[i]], y);
            let m = mid.score(&[r.prior[i]], y);
            if lt == le {
                assert_eq!(m, strict, "no tie: MidRank equals Strict");
            } else {
                tied += 1;
                let want = ((lt + le) as f64 / 2.0).round_ties_even().clamp(1.0, 99.0);
                assert_eq!(f64::from(m), want, "student {}: lt {lt}, le {le}", i + 1);
                assert!(m >= strict);
            }
        }
        assert!(tied > 100, "the integer synthetic scale should produce ties, got {tied}");
    }

    #[test]
    fn serde_round_trip_and_checks() {
        let (r, norms) = fitted("synthetic");
        let json = serde_json::to_string(norms).unwrap();
        let back: SgpNorms = serde_json::from_str(&json).unwrap();
        assert_eq!(back.spec(), norms.spec());
        assert_eq!(back.priors(), norms.priors());
        assert_eq!(back.diagnostics().iterations, norms.diagnostics().iterations);
        // serde_json without its `float_roundtrip` feature may move a parsed float by one
        // unit in the last place, hence a relative 1e-15 rather than bit equality
        for (a, b) in back.coefficients().iter().flatten().zip(norms.coefficients().iter().flatten()) {
            assert!((a - b).abs() <= 1e-15 * b.abs(), "coefficient {a} reloaded as {b}");
        }
        // no synthetic student is fragile at 1e-9, so the reloaded norms give the same SGPs
        for i in 0..r.prior.len() {
            assert_eq!(
                back.score(&[r.prior[i]], r.current[i]),
                norms.score(&[r.prior[i]], r.current[i]),
                "student {}",
                i + 1
            );
        }
        let mut v: Value = serde_json::from_str(&json).unwrap();
        v["coefficients"].as_array_mut().unwrap().pop();
        let err = serde_json::from_value::<SgpNorms>(v).unwrap_err().to_string();
        assert!(err.contains("coefficient rows"), "{err}");
    }

    #[test]
    fn errors_name_their_subject() {
        let spec = SgpSpec { min_n: 10, ..SgpSpec::default() };
        let prior: Vec<f64> = (0..20).map(f64::from).collect();
        let mut current = prior.clone();
        assert_eq!(spec.fit(&prior[..5], &current[..5]), Err(NormsError::TooFewObservations { needed: 10, got: 5 }));
        let tiny = SgpSpec { min_n: 0, ..SgpSpec::default() };
        assert_eq!(tiny.fit(&prior[..7], &current[..7]), Err(NormsError::TooFewObservations { needed: 8, got: 7 }));
        assert_eq!(spec.fit(&prior, &current[..19]), Err(NormsError::LengthMismatch { prior: 20, current: 19 }));
        current[13] = f64::NAN;
        assert!(matches!(
            spec.fit(&prior, &current),
            Err(NormsError::NonFinite { variable: "current", index: 13, .. })
        ));
        let constant = vec![3.0; 20];
        assert!(matches!(spec.fit(&constant, &prior), Err(NormsError::Basis(_))));
        let bad = SgpSpec { taus: vec![0.5, 0.25], ..spec.clone() };
        assert!(matches!(bad.fit(&prior, &prior), Err(NormsError::InvalidSpec { field: "taus", .. })));
        let bad = SgpSpec { knot_probs: vec![0.2, 1.0], ..spec.clone() };
        assert!(matches!(bad.fit(&prior, &prior), Err(NormsError::InvalidSpec { field: "knot_probs", .. })));
        assert!(serde_json::from_str::<SgpSpec>(r#"{"solver": "lp"}"#).is_err());
    }
}
