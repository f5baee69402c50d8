//! Conditional-normal growth norms for one norm group, and the growth scores computed from
//! any [`Expectation`]: conditional growth index (CGI), conditional growth percentile (CGP)
//! and the probability of having met a growth target.
//!
//! # Model
//!
//! For the students of one norm group (the caller splits by grade × subject), with start
//! score `x_i` (pre), end score `y_i` (post) and, optionally, instructional weeks `w_i`
//! between the two tests (docs/methods.md 2.1-2.4):
//!
//! ```text
//! g_i        = y_i − x_i                                              (growth)
//! knots      = round(quantile_7(x, knot_probs), 3),   boundaries = round(extendrange(x, 0.1), 3)
//! D(x, w)    = [1, bs(x; knots, boundaries, degree 3, no intercept) (K + 3 columns), w]
//! E[g | x, w] = D(x, w)·β,       β = ordinary least squares of g on D   (p = K + 4 or K + 5)
//! ```
//!
//! The `w` column is in `D` only when weeks are supplied **and** vary within the norm group;
//! weeks that are supplied but constant are left out (they would duplicate the intercept)
//! and the fact is recorded in [`ConditionalNorms::weeks`]. The knots and boundaries are
//! the SGP rule ([`crate::stats::spline::sgp_knots`], docs/methods.md 1.3), so the mean curve
//! is as flexible as the SGP quantile curves; when the true mean is linear in `x` (the
//! bivariate-normal case of docs/methods.md 2.3, which the NWEA norms follow) the spline
//! contains it.
//!
//! The conditional SD of growth ([`SdModel`]), from the OLS residuals `r_i = g_i − D_i·β`:
//!
//! ```text
//! constant:    sd = σ̂ = sqrt(RSS / (n − p))                           (R summary(lm)$sigma)
//! linear_log:  log E[r² | x] = γ0 + γ1·x,   fitted by the Gamma GLM with log link
//!              sd(x) = sqrt(exp(γ0 + γ1·x) · n / (n − p))
//! ```
//!
//! `linear_log` is a location-scale model (docs/methods.md 2.4): if `g | x ~ N(m(x), σ²(x))`
//! then `r² ≈ σ²(x)·χ²₁`, a Gamma variable with mean `σ²(x)` and shape 1/2, so the Gamma
//! GLM is the (quasi-)likelihood fit of `σ²(x)`; the shape does not change the estimate.
//! **Degrees-of-freedom scaling:** OLS residuals are shrunk, `E[r_i²] = σ²(1 − h_ii)` with
//! leverages averaging `p/n`, so the GLM estimates about `(n − p)/n · σ²`. Multiplying by
//! `n/(n − p)` removes that bias on average, exactly as `RSS/(n − p)` does for the constant
//! model; indeed, with `γ1 = 0` the Gamma fit gives `exp(γ0) = mean(r²) = RSS/n`, so the
//! two models then give the same `sd`.
//!
//! Both models put a student's growth on the normal scale of the norms:
//!
//! ```text
//! CGI  = (g − E[g | x, w]) / sd(x)                  (conditional growth index, a z-score)
//! CGP  = 100·Φ(CGI)                                 (conditional growth percentile)
//! ```
//!
//! ## Fitting
//!
//! Least squares by Householder QR of the `n × p` design ([`HouseholderQr`]; no normal
//! equations, which square the condition number), `O(n p²)` time and `n p` memory. A
//! column whose norm after projection on the previous columns is below `1e-7` times its
//! own norm is linearly dependent ([`ConditionalError::SingularDesign`] names it); `1e-7`
//! is the tolerance of R's `lm` (`qr(tol = 1e-7)`, LINPACK `dqrdc2`).
//!
//! The Gamma GLM is fitted by iteratively reweighted least squares as R's `glm.fit`:
//! start `μ = y` (`η = log y`), deviance `D = 2 Σ [−log(y/μ) + (y − μ)/μ]`, stop when
//! `|D − D_old| / (|D| + 0.1) < 1e-8`, at most 25 iterations, step halving when the
//! deviance is not finite. For the log link and Gamma variance the working weights
//! `μ'(η)²/V(μ) = μ²/μ²` are exactly 1, so every step is an unweighted least squares of
//! the working response `z = η + (y − μ)/μ` on `[1, x]`, and the QR of `[1, x]` is
//! computed once. Not converging within 25 iterations is recorded
//! ([`ConditionalDiagnostics::converged`] = `false`, plus a warning), not an error.
//!
//! ## Scores ([`score`])
//!
//! - [`cgi`] and [`cgp`] as above. [`cgp`] is unrounded and continuous, as mapvizieR
//!   computes it (`pnorm(cgi)`); NWEA reports CGP as an integer from 1 to 99.
//! - [`target_growth`]: the growth at conditional percentile `target_cgp`,
//!   `E[g] + sd·Φ⁻¹(target_cgp/100)`; `target_cgp = 50` is the expected growth.
//! - [`growth_se`]: the standard error of observed growth from the two tests' standard
//!   errors of measurement, `sqrt(sem_pre² + sem_post²)` (independent errors).
//! - [`prob_met`]: `Φ((g − target)/se)`, the probability that the student's **true**
//!   growth is at least the target. Assumptions: the observed growth is true growth plus
//!   a normal measurement error with SD `se`, independent of true growth, **and a flat
//!   (uniform) prior on true growth**, so the posterior of true growth is `N(g, se²)`. The
//!   flat prior ignores regression to the mean: with an informative prior (e.g. the norms
//!   themselves) extreme observed growth would be shrunk toward the expectation and the
//!   probability pulled toward the prior's.
//!
//! # Usage
//!
//! ```
//! use obc::stats::norms::conditional::{ConditionalSpec, SdModel, score};
//! // a small synthetic norm group (the default `min_n` is 1000)
//! let pre: Vec<f64> = (0..400).map(|i| 200.0 + 15.0 * (f64::from(i) * 0.37).sin()).collect();
//! let post: Vec<f64> = pre.iter().enumerate().map(|(i, x)| x + 8.0 + ((i * 7919) % 13) as f64 - 6.0).collect();
//! let weeks: Vec<f64> = (0..400).map(|i| f64::from(28 + i % 9)).collect();
//! let spec = ConditionalSpec { min_n: 100, sd_model: SdModel::LinearLog, ..ConditionalSpec::default() };
//! let norms = spec.fit(&pre, &post, Some(&weeks)).unwrap();
//! assert!(norms.diagnostics().converged);
//! let e = norms.expect(205.0, Some(32.0)).unwrap();
//! assert!(e.sd > 0.0);
//! assert!(norms.expect(205.0, None).is_err()); // weeks are in the model
//! let s = score(e.growth, &e, Some((3.0, 3.0)), 50.0);
//! assert!((s.cgp - 50.0).abs() < 1e-12);
//! assert_eq!(s.prob_met, Some(0.5));
//! ```
//!
//! # References
//!
//! - NWEA help articles DOC-1642, DOC-1641, DOC-1713 (CGI and CGP); mapvizieR
//!   (`R/growth_df_prep.R`: `cgi = (growth − typical)/sd`, `pnorm(cgi)`); docs/methods.md 2.1-2.4.
//! - Y. M. Thum and C. H. Hauser (2015), *NWEA 2015 MAP norms for student and school
//!   achievement status and growth*; Y. M. Thum and M. Kuhfeld (2020), *NWEA 2020 MAP Growth
//!   achievement status and growth norms*.
//! - P. McCullagh and J. A. Nelder (1989), *Generalized Linear Models*, 2nd ed., Chapman &
//!   Hall: IRLS (ch. 2.5), the Gamma family and its deviance (ch. 8); R `stats::glm.fit`.
//! - G. H. Golub and C. F. Van Loan (2013), *Matrix Computations*, 4th ed., 5.1-5.3:
//!   Householder QR least squares.
//! - D. W. Betebenner (2009), *Educational Measurement: Issues and Practice* 28(4), 42-51
//!   (the SGP knot rule reused here).
//!
//! # Compatibility with R
//!
//! Checked against `tests/fixtures/r/conditional.json` (R 4.2.2, `conditional.R`):
//! `lm(g ~ bs(pre, knots, Boundary.knots) [+ weeks])`, `summary(lm)$sigma`, and
//! `glm(r^2 ~ pre, family = Gamma(link = "log"))` with default `glm.control()`; the
//! tolerances are in the fixture README. Known differences:
//!
//! - **Dependent columns are an error.** R's `lm` moves a dependent column to the end
//!   (limited pivoting) and reports its coefficient as `NA`; here the fit stops with
//!   [`ConditionalError::SingularDesign`].
//! - **Weeks.** R would fit a constant `weeks` column and report `NA` for it; here it is
//!   left out before fitting ([`WeeksUse::Constant`]).
//! - **One QR for the GLM.** `glm.fit` refactors `[1, x]·w` each iteration; since `w ≡ 1`
//!   (above) the factors are the same, so only rounding differs.
//! - **Zero residuals.** `glm` refuses a response of 0 ("non-positive values not allowed
//!   for the 'Gamma' family"); so does `linear_log` ([`ConditionalError::ZeroResidual`]).
//! - The `n/(n − p)` scaling of `linear_log` is this crate's; R's GLM alone estimates
//!   `E[r²]`.
//! - Knots come from this norm group only, as in [`crate::stats::norms::sgp`].

use crate::stats::warning::{Warning, WarningCode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Expectation;
use crate::stats::linalg::HouseholderQr;
use crate::stats::normal::{pnorm, qnorm};
use crate::stats::spline::{BSplineBasis, SplineError, sgp_boundaries, sgp_knots};

/// `glm.control()` defaults.
const GLM_EPSILON: f64 = 1e-8;
const GLM_MAXIT: usize = 25;

/// How the conditional SD of growth depends on the start score.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SdModel {
    /// One SD for the norm group: `sqrt(RSS/(n − p))`, R's `summary(lm)$sigma`. What the
    /// NWEA norms use (constant SD in the start score, docs/methods.md 2.2).
    #[default]
    Constant,
    /// `log σ²(pre) = γ0 + γ1·pre` by a Gamma GLM with log link on the squared residuals,
    /// scaled by `n/(n − p)` (module docs).
    LinearLog,
}

/// Specification of conditional-normal norms.
///
/// | field | default | meaning | range |
/// |---|---|---|---|
/// | `knot_probs` | [0.2, 0.4, 0.6, 0.8] | interior knots of the mean spline at these type-7 quantiles of the start scores (as SGP) | each in (0, 1), non-decreasing, at least 1 |
/// | `sd_model` | `constant` | how the SD depends on the start score ([`SdModel`]) | `constant`, `linear_log` |
/// | `min_n` | 1000 | smallest norm group fitted (as [`SgpSpec::min_n`](crate::stats::norms::sgp::SgpSpec)) | any; the fit also always needs n ≥ p + 1 |
///
/// `min_n`: 1000 keeps the spline mean and the SD of one norm group stable (the standard
/// error of the SD is about `sd/sqrt(2n)`, 2 % at n = 1000) and matches the SGP default;
/// lower it knowingly.
///
/// ```
/// use obc::stats::norms::conditional::{ConditionalSpec, SdModel};
/// let spec: ConditionalSpec = serde_json::from_str(r#"{"sd_model": "linear_log"}"#).unwrap();
/// assert_eq!(spec.sd_model, SdModel::LinearLog);
/// assert_eq!(spec.knot_probs, vec![0.2, 0.4, 0.6, 0.8]);
/// assert_eq!(spec.min_n, 1000);
/// assert!(serde_json::from_str::<ConditionalSpec>(r#"{"knots": [0.5]}"#).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConditionalSpec {
    pub knot_probs: Vec<f64>,
    pub sd_model: SdModel,
    pub min_n: usize,
}

impl Default for ConditionalSpec {
    fn default() -> Self {
        ConditionalSpec { knot_probs: vec![0.2, 0.4, 0.6, 0.8], sd_model: SdModel::Constant, min_n: 1000 }
    }
}

/// Why conditional norms cannot be fitted, loaded or applied.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum ConditionalError {
    #[error("invalid conditional-norms spec: {field} {problem}")]
    InvalidSpec { field: &'static str, problem: String },
    #[error("pre has {pre} scores but {variable} has {got}")]
    LengthMismatch { variable: &'static str, pre: usize, got: usize },
    #[error("non-finite {variable} value at index {index}: {value}")]
    NonFinite { variable: &'static str, index: usize, value: f64 },
    #[error("too few observations in the norm group: need at least {needed}, got {got}")]
    TooFewObservations { needed: usize, got: usize },
    #[error("cannot build the B-spline basis from the pre scores: {0}")]
    Basis(#[from] SplineError),
    #[error("singular design: rank {rank} of {p} columns; linearly dependent on earlier columns: {}", dependent.join(", "))]
    SingularDesign { rank: usize, p: usize, dependent: Vec<String> },
    #[error("all residuals are 0: growth is an exact function of the design, so its SD is 0")]
    ZeroVariance,
    #[error(
        "linear_log SD model: residual {index} is exactly 0; the Gamma fit needs positive squared residuals (use sd_model = constant)"
    )]
    ZeroResidual { index: usize },
    #[error("linear_log SD model: the Gamma GLM diverged at iteration {iteration} (no finite deviance)")]
    Diverged { iteration: usize },
    #[error("the norms include instructional weeks, but none were given")]
    WeeksRequired,
    #[error("non-finite {variable}: {value}")]
    NonFiniteInput { variable: &'static str, value: f64 },
    #[error("the SD at pre = {pre} is {sd}, not a positive finite number")]
    InvalidSd { pre: f64, sd: f64 },
    #[error("invalid conditional norms: {0}")]
    InvalidNorms(String),
}

/// Whether instructional weeks are a column of the mean model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeeksUse {
    /// No weeks were supplied.
    NotSupplied,
    /// Weeks were supplied but equal to this value for every student, so they are not in
    /// the model (they are absorbed by the intercept).
    Constant(f64),
    /// Weeks are the last column of the mean model.
    Used,
}

/// The fitted SD model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "model", rename_all = "snake_case", deny_unknown_fields)]
pub enum SdFit {
    /// `sd = sigma` for everyone.
    Constant { sigma: f64 },
    /// `sd(pre) = sqrt(exp(intercept + slope·pre) · df_scale)`, `df_scale = n/(n − p)`.
    LinearLog { intercept: f64, slope: f64, df_scale: f64 },
}

impl SdFit {
    /// The SD at start score `pre`.
    pub fn sd(&self, pre: f64) -> f64 {
        match *self {
            SdFit::Constant { sigma } => sigma,
            SdFit::LinearLog { intercept, slope, df_scale } => ((intercept + slope * pre).exp() * df_scale).sqrt(),
        }
    }
}

/// Fit diagnostics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionalDiagnostics {
    /// Students in the norm group.
    pub n_obs: usize,
    /// Columns of the mean design `p` (intercept, spline, weeks if used).
    pub n_coefficients: usize,
    /// Residual sum of squares of the mean model.
    pub rss: f64,
    /// `sqrt(RSS/(n − p))` (the constant-model SD, reported for both models).
    pub sigma: f64,
    /// IRLS iterations of the Gamma GLM (`linear_log`); 0 for `constant`.
    pub iterations: usize,
    /// `false` when the Gamma GLM stopped at 25 iterations without meeting its criterion.
    pub converged: bool,
    /// Residual deviance of the Gamma GLM (`linear_log`).
    pub deviance: Option<f64>,
    /// What R would report as warnings (non-convergence, step halving), and the
    /// constant-weeks note.
    pub warnings: Vec<Warning>,
}

/// Fitted conditional-normal norms of one norm group: everything needed to compute a
/// student's [`Expectation`], serializable. Deserializing re-checks the spec, knots,
/// coefficient count and SD parameters.
///
/// `mean_coefficients` follow `terms`: `intercept`, `bs1` … `bsK+3`, then `weeks` when
/// [`weeks`](Self::weeks) is [`WeeksUse::Used`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ConditionalNormsFields")]
pub struct ConditionalNorms {
    spec: ConditionalSpec,
    knots: Vec<f64>,
    boundaries: (f64, f64),
    weeks: WeeksUse,
    terms: Vec<String>,
    mean_coefficients: Vec<f64>,
    sd: SdFit,
    diagnostics: ConditionalDiagnostics,
    #[serde(skip)]
    basis: BSplineBasis,
}

/// Unchecked serialized form of [`ConditionalNorms`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConditionalNormsFields {
    spec: ConditionalSpec,
    knots: Vec<f64>,
    boundaries: (f64, f64),
    weeks: WeeksUse,
    terms: Vec<String>,
    mean_coefficients: Vec<f64>,
    sd: SdFit,
    diagnostics: ConditionalDiagnostics,
}

fn term_names(basis_cols: usize, weeks: bool) -> Vec<String> {
    let mut t = vec!["intercept".to_string()];
    t.extend((1..=basis_cols).map(|k| format!("bs{k}")));
    if weeks {
        t.push("weeks".to_string());
    }
    t
}

impl TryFrom<ConditionalNormsFields> for ConditionalNorms {
    type Error = ConditionalError;
    fn try_from(f: ConditionalNormsFields) -> Result<Self, ConditionalError> {
        f.spec.validate()?;
        if f.knots.len() != f.spec.knot_probs.len() {
            return Err(ConditionalError::InvalidNorms(format!(
                "{} knots for {} knot_probs",
                f.knots.len(),
                f.spec.knot_probs.len()
            )));
        }
        let basis = BSplineBasis::new(f.knots.clone(), f.boundaries)?;
        let terms = term_names(basis.ncols(), f.weeks == WeeksUse::Used);
        if f.terms != terms {
            return Err(ConditionalError::InvalidNorms(format!("terms {:?}, expected {terms:?}", f.terms)));
        }
        if f.mean_coefficients.len() != terms.len() || f.mean_coefficients.iter().any(|b| !b.is_finite()) {
            return Err(ConditionalError::InvalidNorms(format!(
                "mean_coefficients must hold {} finite values",
                terms.len()
            )));
        }
        let sd_ok = match (f.spec.sd_model, f.sd) {
            (SdModel::Constant, SdFit::Constant { sigma }) => sigma.is_finite() && sigma > 0.0,
            (SdModel::LinearLog, SdFit::LinearLog { intercept, slope, df_scale }) => {
                intercept.is_finite() && slope.is_finite() && df_scale.is_finite() && df_scale >= 1.0
            }
            _ => false,
        };
        if !sd_ok {
            return Err(ConditionalError::InvalidNorms(format!(
                "sd {:?} does not fit sd_model {:?} or is not finite and positive",
                f.sd, f.spec.sd_model
            )));
        }
        if let WeeksUse::Constant(w) = f.weeks
            && !w.is_finite()
        {
            return Err(ConditionalError::InvalidNorms(format!("constant weeks {w} is not finite")));
        }
        Ok(ConditionalNorms {
            spec: f.spec,
            knots: f.knots,
            boundaries: f.boundaries,
            weeks: f.weeks,
            terms: f.terms,
            mean_coefficients: f.mean_coefficients,
            sd: f.sd,
            diagnostics: f.diagnostics,
            basis,
        })
    }
}

impl ConditionalSpec {
    fn validate(&self) -> Result<(), ConditionalError> {
        let bad = |field, problem: &str| Err(ConditionalError::InvalidSpec { field, problem: problem.to_string() });
        if self.knot_probs.is_empty() {
            return bad("knot_probs", "is empty");
        }
        if let Some(p) = self.knot_probs.iter().find(|p| !(**p > 0.0 && **p < 1.0)) {
            return bad("knot_probs", &format!("contains {p}, outside (0, 1)"));
        }
        if self.knot_probs.windows(2).any(|w| w[0] > w[1]) {
            return bad("knot_probs", "must be non-decreasing");
        }
        Ok(())
    }

    /// Fits the norms of one norm group: `pre[i]`, `post[i]` (and `weeks[i]`) belong to
    /// student `i`. Checks, in order: the spec; equal lengths (`post`, then `weeks`);
    /// finite values (first bad index; `pre`, then `post`, then `weeks`);
    /// `n ≥ max(min_n, p + 1)`. Then builds the knots and the design and fits the mean and
    /// the SD (module docs).
    pub fn fit(&self, pre: &[f64], post: &[f64], weeks: Option<&[f64]>) -> Result<ConditionalNorms, ConditionalError> {
        self.validate()?;
        let n = pre.len();
        if post.len() != n {
            return Err(ConditionalError::LengthMismatch { variable: "post", pre: n, got: post.len() });
        }
        if let Some(w) = weeks
            && w.len() != n
        {
            return Err(ConditionalError::LengthMismatch { variable: "weeks", pre: n, got: w.len() });
        }
        for (variable, values) in [("pre", Some(pre)), ("post", Some(post)), ("weeks", weeks)] {
            if let Some((index, &value)) = values.and_then(|v| v.iter().enumerate().find(|(_, v)| !v.is_finite())) {
                return Err(ConditionalError::NonFinite { variable, index, value });
            }
        }
        let weeks_use = match weeks {
            None => WeeksUse::NotSupplied,
            Some(w) if w.iter().all(|&v| v == w[0]) => WeeksUse::Constant(w.first().copied().unwrap_or(f64::NAN)),
            Some(_) => WeeksUse::Used,
        };
        let with_weeks = weeks_use == WeeksUse::Used;
        let p = 1 + self.knot_probs.len() + 3 + usize::from(with_weeks);
        let needed = self.min_n.max(p + 1);
        if n < needed {
            return Err(ConditionalError::TooFewObservations { needed, got: n });
        }

        let knots = sgp_knots(pre, &self.knot_probs);
        let boundaries = sgp_boundaries(pre);
        let basis = BSplineBasis::new(knots.clone(), boundaries)?;
        let terms = term_names(basis.ncols(), with_weeks);
        debug_assert_eq!(terms.len(), p);

        // column-major n x p design: intercept, bs columns, weeks
        let mut design = Vec::with_capacity(n * p);
        design.resize(n, 1.0);
        design.extend(basis.matrix(pre));
        if let (true, Some(w)) = (with_weeks, weeks) {
            design.extend_from_slice(w);
        }
        let growth: Vec<f64> = post.iter().zip(pre).map(|(y, x)| y - x).collect();
        let qr = factor(design, n, p);
        if !qr.dependent().is_empty() {
            return Err(ConditionalError::SingularDesign {
                rank: qr.rank(),
                p,
                dependent: qr.dependent().iter().map(|&j| terms[j].clone()).collect(),
            });
        }
        let mean_coefficients = solve(&qr, &growth);
        drop(qr);

        let mut norms = ConditionalNorms {
            spec: self.clone(),
            knots,
            boundaries,
            weeks: weeks_use,
            terms,
            mean_coefficients,
            sd: SdFit::Constant { sigma: 0.0 },
            diagnostics: ConditionalDiagnostics {
                n_obs: n,
                n_coefficients: p,
                rss: 0.0,
                sigma: 0.0,
                iterations: 0,
                converged: true,
                deviance: None,
                warnings: Vec::new(),
            },
            basis,
        };
        let mut row = vec![0.0; norms.basis.ncols()];
        let residuals: Vec<f64> =
            (0..n).map(|i| growth[i] - norms.mean_at(pre[i], weeks.map_or(f64::NAN, |w| w[i]), &mut row)).collect();
        let rss: f64 = residuals.iter().map(|r| r * r).sum();
        if rss == 0.0 {
            return Err(ConditionalError::ZeroVariance);
        }
        let df = (n - p) as f64;
        let sigma = (rss / df).sqrt();
        norms.diagnostics.rss = rss;
        norms.diagnostics.sigma = sigma;
        if let WeeksUse::Constant(w) = weeks_use {
            norms.diagnostics.warnings.push(Warning::new(
                WarningCode::NormsConstantWeeks,
                format!("weeks supplied but constant ({w}) in this norm group: left out of the mean model"),
            ));
        }
        norms.sd = match self.sd_model {
            SdModel::Constant => SdFit::Constant { sigma },
            SdModel::LinearLog => {
                let r2: Vec<f64> = residuals.iter().map(|r| r * r).collect();
                if let Some(index) = r2.iter().position(|&v| v == 0.0) {
                    return Err(ConditionalError::ZeroResidual { index });
                }
                let glm = gamma_log_glm(pre, &r2)?;
                norms.diagnostics.iterations = glm.iterations;
                norms.diagnostics.converged = glm.converged;
                norms.diagnostics.deviance = Some(glm.deviance);
                norms.diagnostics.warnings.extend(glm.warnings);
                SdFit::LinearLog { intercept: glm.coefficients[0], slope: glm.coefficients[1], df_scale: n as f64 / df }
            }
        };
        Ok(norms)
    }
}

impl ConditionalNorms {
    /// The spec the norms were fitted with.
    pub fn spec(&self) -> &ConditionalSpec {
        &self.spec
    }

    /// Interior knots of the mean spline (rounded to 3 decimals).
    pub fn knots(&self) -> &[f64] {
        &self.knots
    }

    /// Boundary knots (rounded to 3 decimals).
    pub fn boundaries(&self) -> (f64, f64) {
        self.boundaries
    }

    /// Whether weeks are in the mean model.
    pub fn weeks(&self) -> WeeksUse {
        self.weeks
    }

    /// Names of the mean-model columns: `intercept`, `bs1`…, `weeks` if used.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Mean-model coefficients, in the order of [`terms`](Self::terms).
    pub fn mean_coefficients(&self) -> &[f64] {
        &self.mean_coefficients
    }

    /// The fitted SD model.
    pub fn sd_fit(&self) -> &SdFit {
        &self.sd
    }

    /// Fit diagnostics.
    pub fn diagnostics(&self) -> &ConditionalDiagnostics {
        &self.diagnostics
    }

    /// `D(pre, weeks)·β`, accumulated left to right from the intercept; `row` is scratch
    /// space of length `basis.ncols()`.
    fn mean_at(&self, pre: f64, weeks: f64, row: &mut [f64]) -> f64 {
        let b = &self.mean_coefficients;
        let k = self.basis.ncols();
        self.basis.eval(pre, row);
        let mut m = row.iter().zip(&b[1..=k]).fold(b[0], |acc, (x, c)| acc + x * c);
        if self.weeks == WeeksUse::Used {
            m += weeks * b[k + 1];
        }
        m
    }

    /// The expected growth and its SD for a student with start score `pre` and `weeks`
    /// instructional weeks. `weeks` is required when the model uses weeks
    /// ([`WeeksUse::Used`]) and ignored otherwise (with [`WeeksUse::Constant`] the norms
    /// describe that one number of weeks). Start scores outside the boundary knots use
    /// `bs()`'s cubic extrapolation; that and an extreme `linear_log` SD deserve caution.
    ///
    /// Errors: non-finite `pre` or `weeks`, missing weeks, or an SD that is not a positive
    /// finite number (possible far out with `linear_log`).
    pub fn expect(&self, pre: f64, weeks: Option<f64>) -> Result<Expectation, ConditionalError> {
        if !pre.is_finite() {
            return Err(ConditionalError::NonFiniteInput { variable: "pre", value: pre });
        }
        let w = match (self.weeks, weeks) {
            (WeeksUse::Used, None) => return Err(ConditionalError::WeeksRequired),
            (WeeksUse::Used, Some(w)) if !w.is_finite() => {
                return Err(ConditionalError::NonFiniteInput { variable: "weeks", value: w });
            }
            (_, w) => w.unwrap_or(f64::NAN),
        };
        let sd = self.sd.sd(pre);
        if !(sd.is_finite() && sd > 0.0) {
            return Err(ConditionalError::InvalidSd { pre, sd });
        }
        let mut row = vec![0.0; self.basis.ncols()];
        Ok(Expectation { growth: self.mean_at(pre, w, &mut row), sd })
    }
}

/// Householder QR of the column-major `n × p` design with R's rank rule (module docs),
/// [`HouseholderQr`]. The design is built here from finite, validated inputs.
fn factor(design: Vec<f64>, n: usize, p: usize) -> HouseholderQr {
    match HouseholderQr::new(design, n, p) {
        Ok(qr) => qr,
        Err(e) => unreachable!("the design is n x p and finite: {e}"),
    }
}

/// Least-squares coefficients of `y` (length `n`) on a full-rank factored design.
fn solve(qr: &HouseholderQr, y: &[f64]) -> Vec<f64> {
    match qr.solve(y) {
        Ok(b) => b,
        Err(e) => unreachable!("full rank was checked and y has n entries: {e}"),
    }
}

struct GlmFit {
    coefficients: [f64; 2],
    iterations: usize,
    converged: bool,
    deviance: f64,
    warnings: Vec<Warning>,
}

/// Gamma deviance `2 Σ [−log(y/μ) + (y − μ)/μ]` (R's `Gamma()$dev.resids`, summed).
fn gamma_deviance(y: &[f64], mu: &[f64]) -> f64 {
    y.iter().zip(mu).map(|(&y, &m)| -2.0 * ((y / m).ln() - (y - m) / m)).sum()
}

/// `glm(y ~ x, family = Gamma(link = "log"))` by IRLS as `glm.fit` (module docs); `y > 0`.
fn gamma_log_glm(x: &[f64], y: &[f64]) -> Result<GlmFit, ConditionalError> {
    let n = x.len();
    let mut design = vec![1.0; n];
    design.extend_from_slice(x);
    let qr = factor(design, n, 2);
    if !qr.dependent().is_empty() {
        let dependent = qr.dependent().iter().map(|&j| ["intercept", "pre"][j].to_string()).collect();
        return Err(ConditionalError::SingularDesign { rank: qr.rank(), p: 2, dependent });
    }
    // R's Gamma()$linkinv: pmax(exp(eta), .Machine$double.eps)
    let linkinv = |eta: f64| eta.exp().max(f64::EPSILON);
    let mut eta: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let mut mu: Vec<f64> = eta.iter().map(|&e| linkinv(e)).collect();
    let mut dev_old = gamma_deviance(y, &mu);
    let mut coef_old: Option<[f64; 2]> = None;
    let mut warnings = Vec::new();
    let mut boundary = false;
    let eval = |b: [f64; 2], eta: &mut Vec<f64>, mu: &mut Vec<f64>| {
        for i in 0..n {
            eta[i] = b[0] + x[i] * b[1];
            mu[i] = linkinv(eta[i]);
        }
        gamma_deviance(y, mu)
    };
    for iter in 1..=GLM_MAXIT {
        // working response; the working weights are exactly 1 (module docs)
        let z: Vec<f64> = (0..n).map(|i| eta[i] + (y[i] - mu[i]) / mu[i]).collect();
        let b = solve(&qr, &z);
        let mut start = [b[0], b[1]];
        let mut dev = eval(start, &mut eta, &mut mu);
        if !dev.is_finite() {
            let Some(old) = coef_old else {
                return Err(ConditionalError::Diverged { iteration: iter });
            };
            warnings
                .push(Warning::new(WarningCode::GlmStepTruncated, "glm.fit: step size truncated due to divergence"));
            let mut halvings = 0;
            while !dev.is_finite() {
                if halvings >= GLM_MAXIT {
                    return Err(ConditionalError::Diverged { iteration: iter });
                }
                halvings += 1;
                start = [(start[0] + old[0]) / 2.0, (start[1] + old[1]) / 2.0];
                dev = eval(start, &mut eta, &mut mu);
            }
            boundary = true;
        }
        if (dev - dev_old).abs() / (dev.abs() + 0.1) < GLM_EPSILON {
            if boundary {
                warnings.push(Warning::new(WarningCode::GlmBoundary, "glm.fit: algorithm stopped at boundary value"));
            }
            return Ok(GlmFit { coefficients: start, iterations: iter, converged: true, deviance: dev, warnings });
        }
        dev_old = dev;
        coef_old = Some(start);
    }
    warnings.push(Warning::new(
        WarningCode::GlmNotConverged,
        format!("glm.fit: algorithm did not converge in {GLM_MAXIT} iterations"),
    ));
    let coefficients = coef_old.unwrap_or([f64::NAN; 2]);
    Ok(GlmFit { coefficients, iterations: GLM_MAXIT, converged: false, deviance: dev_old, warnings })
}

/// Conditional growth index `(growth − e.growth)/e.sd`: how many conditional SDs the
/// observed growth lies above the expected growth (docs/methods.md 2.1).
pub fn cgi(growth: f64, e: &Expectation) -> f64 {
    (growth - e.growth) / e.sd
}

/// Conditional growth percentile `100·Φ(cgi)`, unrounded (as mapvizieR's `pnorm(cgi)`);
/// NWEA reports it rounded to an integer from 1 to 99. In floating point it is exactly
/// 0 for `cgi ≤ −37.5193` and rounds to exactly 100 for `cgi` above about 8.3; it is
/// strictly inside (0, 100) in between and non-decreasing in `cgi`.
pub fn cgp(cgi: f64) -> f64 {
    100.0 * pnorm(cgi)
}

/// Standard error of observed growth from the standard errors of measurement of the two
/// scores, assumed independent: `sqrt(sem_pre² + sem_post²)`.
pub fn growth_se(sem_pre: f64, sem_post: f64) -> f64 {
    sem_pre.hypot(sem_post)
}

/// Growth at conditional percentile `target_cgp` (in (0, 100)):
/// `e.growth + e.sd·Φ⁻¹(target_cgp/100)`; `target_cgp = 50` gives `e.growth`. Outside
/// (0, 100) the result is infinite (0, 100) or `NaN`.
pub fn target_growth(e: &Expectation, target_cgp: f64) -> f64 {
    e.growth + e.sd * qnorm(target_cgp / 100.0)
}

/// Probability that the student's true growth is at least `target_growth`, given observed
/// `growth` with measurement standard error `growth_se`: `Φ((growth − target)/se)`.
///
/// Assumes a normal measurement error independent of true growth **and a flat prior on
/// true growth** (module docs: no shrinkage toward the norms). 0.5 when growth equals the
/// target. With `growth_se = 0` it is 1 if `growth ≥ target`, else 0 (the NWEA "met" rule);
/// a negative or non-finite `growth_se` gives `NaN`.
pub fn prob_met(growth: f64, target_growth: f64, growth_se: f64) -> f64 {
    if !(growth_se.is_finite() && growth_se >= 0.0) {
        return f64::NAN;
    }
    if growth_se == 0.0 {
        return if growth >= target_growth {
            1.0
        } else if growth < target_growth {
            0.0
        } else {
            f64::NAN
        };
    }
    pnorm((growth - target_growth) / growth_se)
}

/// A student's growth placed on the norms.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrowthScore {
    /// Expected growth `e.growth`.
    pub expected: f64,
    /// Conditional SD `e.sd`.
    pub sd: f64,
    /// [`cgi`].
    pub cgi: f64,
    /// [`cgp`], unrounded, in [0, 100].
    pub cgp: f64,
    /// The target percentile and the growth it requires ([`target_growth`]).
    pub target_cgp: f64,
    pub target_growth: f64,
    /// [`growth_se`] when the SEMs are known.
    pub growth_se: Option<f64>,
    /// [`prob_met`] of the target when the SEMs are known.
    pub prob_met: Option<f64>,
}

/// Scores observed `growth` against `e`: CGI, CGP, and, when `sems = Some((sem_pre,
/// sem_post))`, the growth SE and the probability of having met the growth at
/// `target_cgp` (50 = the expected growth). Non-finite inputs give `NaN` fields.
pub fn score(growth: f64, e: &Expectation, sems: Option<(f64, f64)>, target_cgp: f64) -> GrowthScore {
    let z = cgi(growth, e);
    let target = target_growth(e, target_cgp);
    let se = sems.map(|(a, b)| growth_se(a, b));
    GrowthScore {
        expected: e.growth,
        sd: e.sd,
        cgi: z,
        cgp: cgp(z),
        target_cgp,
        target_growth: target,
        growth_se: se,
        prob_met: se.map(|s| prob_met(growth, target, s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::floats;
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/r/conditional.json");
    const EXAM: &str = include_str!("../../../tests/fixtures/r/conditional_exam.csv");
    const SYNTHETIC: &str = include_str!("../../../tests/fixtures/r/conditional_synthetic.csv");

    /// `(pre, post, weeks)` columns of a fixture input CSV.
    fn input(name: &str) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
        let (text, cols) = match name {
            "exam" => (EXAM, ["standLRT", "normexam", ""]),
            "synthetic" => (SYNTHETIC, ["pre", "post", "weeks"]),
            _ => panic!("unknown data set {name}"),
        };
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let col = |c: &str| headers.iter().position(|h| h == c);
        let (ip, iq, iw) = (col(cols[0]).unwrap(), col(cols[1]).unwrap(), col(cols[2]));
        let (mut pre, mut post, mut weeks) = (vec![], vec![], vec![]);
        for rec in reader.records() {
            let rec = rec.unwrap();
            pre.push(rec[ip].parse().unwrap());
            post.push(rec[iq].parse().unwrap());
            if let Some(i) = iw {
                weeks.push(rec[i].parse().unwrap());
            }
        }
        (pre, post, iw.map(|_| weeks))
    }

    fn dataset(name: &str) -> Value {
        let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
        fixture["datasets"].as_array().unwrap().iter().find(|d| d["name"] == name).unwrap().clone()
    }

    fn fit_fixture(name: &str, sd_model: SdModel) -> ConditionalNorms {
        let (pre, post, weeks) = input(name);
        let spec = ConditionalSpec { sd_model, ..ConditionalSpec::default() };
        spec.fit(&pre, &post, weeks.as_deref()).unwrap()
    }

    /// `|got − want| ≤ tol·scale`, with a message naming fixture, data set and quantity.
    fn close(name: &str, what: &str, got: f64, want: f64, tol: f64, scale: f64) -> f64 {
        let d = (got - want).abs() / scale;
        assert!(d <= tol, "conditional.json {name}: {what}: Rust {got:.17e}, R {want:.17e} ({d:.2e} > {tol:e})");
        d
    }

    fn check_against_r(name: &str) {
        let ds = dataset(name);
        let constant = fit_fixture(name, SdModel::Constant);
        let log = fit_fixture(name, SdModel::LinearLog);
        let mut worst = [0.0_f64; 6];
        for norms in [&constant, &log] {
            // knots and boundaries are round(·, 3) of exact order statistics: exact
            assert_eq!(norms.knots(), floats(&ds["knots"]).as_slice(), "conditional.json {name}: knots");
            let b = floats(&ds["boundaries"]);
            assert_eq!(norms.boundaries(), (b[0], b[1]), "conditional.json {name}: boundaries");
            assert_eq!(norms.weeks() == WeeksUse::Used, ds["weeks_used"].as_bool().unwrap(), "{name}: weeks used");
            let lm = &ds["lm"];
            let coef = floats(&lm["coefficients"]);
            assert_eq!(norms.mean_coefficients().len(), coef.len(), "{name}: number of lm coefficients");
            for (j, (g, w)) in norms.mean_coefficients().iter().zip(&coef).enumerate() {
                // 1e-9 relative to max(1, |b|): both are Householder QR least squares of a
                // well-conditioned design; rounding differences are ~1e-13
                let what = format!("lm coefficient {j} ({})", norms.terms()[j]);
                worst[0] = worst[0].max(close(name, &what, *g, *w, 1e-9, w.abs().max(1.0)));
            }
            let d = norms.diagnostics();
            assert_eq!(d.n_obs as f64, ds["n"].as_f64().unwrap());
            assert_eq!(d.n_coefficients as f64, lm["rank"].as_f64().unwrap());
            // sigma and RSS: 1e-12 relative (sums of n squared residuals)
            let sigma = lm["sigma"].as_f64().unwrap();
            worst[1] = worst[1].max(close(name, "sigma", d.sigma, sigma, 1e-12, sigma));
            let rss = lm["rss"].as_f64().unwrap();
            worst[1] = worst[1].max(close(name, "rss", d.rss, rss, 1e-12, rss));
        }
        assert_eq!(*constant.sd_fit(), SdFit::Constant { sigma: constant.diagnostics().sigma });

        let glm = &ds["glm_gamma_log"];
        let SdFit::LinearLog { intercept, slope, df_scale } = *log.sd_fit() else { panic!("{name}: sd model") };
        let gcoef = floats(&glm["coefficients"]);
        // 1e-8 relative: the same IRLS iterates from the same start, stopped by the same rule
        worst[2] = worst[2].max(close(name, "glm intercept", intercept, gcoef[0], 1e-8, gcoef[0].abs()));
        worst[2] = worst[2].max(close(name, "glm slope", slope, gcoef[1], 1e-8, gcoef[1].abs()));
        assert_eq!(log.diagnostics().iterations as f64, glm["iterations"].as_f64().unwrap(), "{name}: glm iter");
        assert!(log.diagnostics().converged && glm["converged"].as_bool().unwrap(), "{name}: glm converged");
        let dev = glm["deviance"].as_f64().unwrap();
        worst[3] = close(name, "glm deviance", log.diagnostics().deviance.unwrap(), dev, 1e-10, dev);
        let scale = glm["df_scale"].as_f64().unwrap();
        close(name, "df_scale", df_scale, scale, 1e-15, scale);

        let pv = &ds["preview"];
        let pre = floats(&pv["pre"]);
        let weeks = pv.get("weeks").filter(|w| !w.is_null()).map(floats);
        let (eg, sdc, sdl) = (floats(&pv["expected_growth"]), floats(&pv["sd_constant"]), floats(&pv["sd_linear_log"]));
        for i in 0..pre.len() {
            let w = weeks.as_ref().map(|w| w[i]);
            let (ec, el) = (constant.expect(pre[i], w).unwrap(), log.expect(pre[i], w).unwrap());
            // per student: 1e-9 relative to max(1, |value|)
            let what = format!("student {} expected growth", i + 1);
            worst[4] = worst[4].max(close(name, &what, ec.growth, eg[i], 1e-9, eg[i].abs().max(1.0)));
            assert_eq!(ec.growth, el.growth, "{name}: the mean does not depend on the SD model");
            let what = format!("student {} sd (constant)", i + 1);
            worst[5] = worst[5].max(close(name, &what, ec.sd, sdc[i], 1e-9, sdc[i].max(1.0)));
            let what = format!("student {} sd (linear_log)", i + 1);
            worst[5] = worst[5].max(close(name, &what, el.sd, sdl[i], 1e-9, sdl[i].max(1.0)));
        }
        eprintln!(
            "{name}: max scaled differences from R: lm coef {:.1e}, sigma/rss {:.1e}, glm coef {:.1e}, deviance {:.1e}, expected growth {:.1e}, sd {:.1e}",
            worst[0], worst[1], worst[2], worst[3], worst[4], worst[5]
        );
    }

    #[test]
    fn exam_matches_r_lm_glm_and_preview() {
        check_against_r("exam");
    }

    #[test]
    fn synthetic_with_weeks_matches_r_lm_glm_and_preview() {
        check_against_r("synthetic");
    }

    #[test]
    fn constant_weeks_are_left_out_and_recorded() {
        let (pre, post, weeks) = input("synthetic");
        let spec = ConditionalSpec { sd_model: SdModel::LinearLog, ..ConditionalSpec::default() };
        let none = spec.fit(&pre, &post, None).unwrap();
        let flat = spec.fit(&pre, &post, Some(&vec![32.0; pre.len()])).unwrap();
        assert_eq!(none.weeks(), WeeksUse::NotSupplied);
        assert_eq!(flat.weeks(), WeeksUse::Constant(32.0));
        assert_eq!(flat.terms().len(), 8, "no weeks column");
        assert!(
            flat.diagnostics().warnings.iter().any(|w| w.message.contains("constant (32)")),
            "{:?}",
            flat.diagnostics()
        );
        // identical arithmetic: the same coefficients, SD and expectations, weeks ignored
        assert_eq!(none.mean_coefficients(), flat.mean_coefficients());
        assert_eq!(none.sd_fit(), flat.sd_fit());
        assert_eq!(none.expect(201.0, None), flat.expect(201.0, Some(20.0)));
        // varying weeks: the weeks column is fitted, and an expectation needs weeks
        let used = spec.fit(&pre, &post, weeks.as_deref()).unwrap();
        assert_eq!(used.weeks(), WeeksUse::Used);
        assert_eq!(used.terms().last().map(String::as_str), Some("weeks"));
        assert_eq!(used.expect(201.0, None), Err(ConditionalError::WeeksRequired));
        let (e28, e36) = (used.expect(201.0, Some(28.0)).unwrap(), used.expect(201.0, Some(36.0)).unwrap());
        let slope = used.mean_coefficients()[8];
        assert!(((e36.growth - e28.growth) - 8.0 * slope).abs() < 1e-9, "weeks enter linearly");
        assert_eq!(e28.sd, e36.sd, "the SD does not depend on weeks");
    }

    #[test]
    fn errors_name_their_subject() {
        let spec = ConditionalSpec { min_n: 10, ..ConditionalSpec::default() };
        let pre: Vec<f64> = (0..30).map(|i| f64::from(i * 7 % 30)).collect();
        let mut post: Vec<f64> = pre.iter().enumerate().map(|(i, x)| x + 3.0 + (i % 5) as f64).collect();
        let weeks: Vec<f64> = (0..30).map(|i| f64::from(30 + i % 4)).collect();
        let bad = ConditionalSpec { knot_probs: vec![0.5, 0.2], ..spec.clone() };
        assert!(matches!(bad.fit(&pre, &post, None), Err(ConditionalError::InvalidSpec { field: "knot_probs", .. })));
        let bad = ConditionalSpec { knot_probs: vec![], ..spec.clone() };
        assert!(matches!(bad.fit(&pre, &post, None), Err(ConditionalError::InvalidSpec { field: "knot_probs", .. })));
        assert_eq!(
            spec.fit(&pre, &post[..29], None),
            Err(ConditionalError::LengthMismatch { variable: "post", pre: 30, got: 29 })
        );
        assert_eq!(
            spec.fit(&pre, &post, Some(&weeks[..3])),
            Err(ConditionalError::LengthMismatch { variable: "weeks", pre: 30, got: 3 })
        );
        let mut w2 = weeks.clone();
        w2[17] = f64::INFINITY;
        post[21] = f64::NAN;
        // post is checked before weeks, and the first bad index is named
        assert!(matches!(
            spec.fit(&pre, &post, Some(&w2)),
            Err(ConditionalError::NonFinite { variable: "post", index: 21, .. })
        ));
        post[21] = 0.0;
        assert!(matches!(
            spec.fit(&pre, &post, Some(&w2)),
            Err(ConditionalError::NonFinite { variable: "weeks", index: 17, .. })
        ));
        assert_eq!(
            spec.fit(&pre[..9], &post[..9], None),
            Err(ConditionalError::TooFewObservations { needed: 10, got: 9 })
        );
        // p = 9 with weeks, so at least 10 students even when min_n is 0
        let tiny = ConditionalSpec { min_n: 0, ..ConditionalSpec::default() };
        assert_eq!(
            tiny.fit(&pre[..9], &post[..9], Some(&weeks[..9])),
            Err(ConditionalError::TooFewObservations { needed: 10, got: 9 })
        );
        assert_eq!(
            ConditionalSpec::default().fit(&pre, &post, None),
            Err(ConditionalError::TooFewObservations { needed: 1000, got: 30 })
        );
        let constant = vec![3.0; 30];
        assert!(matches!(spec.fit(&constant, &post, None), Err(ConditionalError::Basis(_))));
        // weeks linear in pre lie in the spline space: the weeks column is dependent
        let collinear: Vec<f64> = pre.iter().map(|x| 30.0 + 0.1 * x).collect();
        assert_eq!(
            spec.fit(&pre, &post, Some(&collinear)),
            Err(ConditionalError::SingularDesign { rank: 8, p: 9, dependent: vec!["weeks".to_string()] })
        );
        let err = spec.fit(&pre, &post, Some(&collinear)).unwrap_err().to_string();
        assert!(err.contains("weeks") && err.contains("rank 8 of 9"), "{err}");
        let norms = spec.fit(&pre, &post, Some(&weeks)).unwrap();
        assert!(matches!(
            norms.expect(f64::NAN, Some(30.0)),
            Err(ConditionalError::NonFiniteInput { variable: "pre", .. })
        ));
        assert!(matches!(
            norms.expect(10.0, Some(f64::NAN)),
            Err(ConditionalError::NonFiniteInput { variable: "weeks", .. })
        ));
        assert!(serde_json::from_str::<ConditionalSpec>(r#"{"sd_model": "quadratic"}"#).is_err());
    }

    #[test]
    fn serde_round_trip_and_checks() {
        for sd_model in [SdModel::Constant, SdModel::LinearLog] {
            let norms = fit_fixture("synthetic", sd_model);
            let json = serde_json::to_string(&norms).unwrap();
            let back: ConditionalNorms = serde_json::from_str(&json).unwrap();
            assert_eq!(back.spec(), norms.spec());
            assert_eq!(back.terms(), norms.terms());
            assert_eq!(back.weeks(), norms.weeks());
            for pre in [150.0, 188.0, 200.5, 240.0] {
                let (a, b) = (back.expect(pre, Some(30.0)).unwrap(), norms.expect(pre, Some(30.0)).unwrap());
                // serde_json may move a parsed float by one ulp (no `float_roundtrip`)
                assert!((a.growth - b.growth).abs() <= 1e-12 * b.growth.abs().max(1.0), "{sd_model:?} at {pre}");
                assert!((a.sd - b.sd).abs() <= 1e-12 * b.sd, "{sd_model:?} sd at {pre}");
            }
            let v: Value = serde_json::from_str(&json).unwrap();
            let mut short = v.clone();
            short["mean_coefficients"].as_array_mut().unwrap().pop();
            let err = serde_json::from_value::<ConditionalNorms>(short).unwrap_err().to_string();
            assert!(err.contains("mean_coefficients"), "{err}");
            let mut wrong_sd = v.clone();
            wrong_sd["spec"]["sd_model"] =
                Value::from(if sd_model == SdModel::Constant { "linear_log" } else { "constant" });
            let err = serde_json::from_value::<ConditionalNorms>(wrong_sd).unwrap_err().to_string();
            assert!(err.contains("does not fit sd_model"), "{err}");
            let mut extra = v.clone();
            extra["extra"] = Value::from(1);
            assert!(serde_json::from_value::<ConditionalNorms>(extra).is_err(), "unknown field accepted");
        }
        let mut v: Value = serde_json::to_value(fit_fixture("exam", SdModel::Constant)).unwrap();
        v["sd"]["sigma"] = Value::from(-1.0);
        assert!(serde_json::from_value::<ConditionalNorms>(v).is_err(), "negative sigma accepted");
    }

    #[test]
    fn scores_by_hand() {
        let e = Expectation { growth: 10.0, sd: 4.0 };
        assert_eq!(cgi(14.0, &e), 1.0);
        assert_eq!(cgi(10.0, &e), 0.0);
        assert_eq!(cgp(0.0), 50.0);
        // R: 100 * pnorm(1) = 84.134474606854293
        assert!((cgp(1.0) - 84.134_474_606_854_29).abs() < 1e-12);
        assert_eq!(growth_se(3.0, 4.0), 5.0);
        assert_eq!(target_growth(&e, 50.0), 10.0);
        // qnorm(0.975) = 1.959963984540054
        assert!((target_growth(&e, 97.5) - (10.0 + 4.0 * 1.959_963_984_540_054)).abs() < 1e-12);
        assert_eq!(prob_met(12.0, 12.0, 5.0), 0.5);
        assert!((prob_met(17.0, 12.0, 5.0) - 0.841_344_746_068_542_9).abs() < 1e-15);
        assert_eq!(prob_met(12.0, 11.0, 0.0), 1.0);
        assert_eq!(prob_met(12.0, 13.0, 0.0), 0.0);
        assert!(prob_met(12.0, 13.0, -1.0).is_nan());
        let s = score(14.0, &e, Some((3.0, 4.0)), 50.0);
        assert_eq!((s.expected, s.sd, s.cgi, s.target_growth, s.growth_se), (10.0, 4.0, 1.0, 10.0, Some(5.0)));
        assert!((s.prob_met.unwrap() - pnorm(0.8)).abs() < 1e-16);
        assert_eq!(score(14.0, &e, None, 50.0).prob_met, None);
    }

    /// The simulated norm group of the simulation tests: `pre ~ N(200, 15²)`, weeks
    /// uniform on 28..=36, growth `3 + 0.25·weeks − 0.1·(pre − 200) + sd(pre)·N(0, 1)`.
    fn simulate(n: usize, seed: u64, sd: impl Fn(f64) -> f64) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut pre, mut post, mut weeks) = (vec![], vec![], vec![]);
        for _ in 0..n {
            let z: f64 = StandardNormal.sample(&mut rng);
            let e: f64 = StandardNormal.sample(&mut rng);
            let x = 200.0 + 15.0 * z;
            let w = f64::from(rng.random_range(28..=36_i32));
            pre.push(x);
            weeks.push(w);
            post.push(x + 3.0 + 0.25 * w - 0.1 * (x - 200.0) + sd(x) * e);
        }
        (pre, post, weeks)
    }

    #[test]
    fn simulation_recovers_constant_sd_and_mean() {
        let n = 20_000;
        let (pre, post, weeks) = simulate(n, 7, |_| 8.0);
        let norms = ConditionalSpec::default().fit(&pre, &post, Some(&weeks)).unwrap();
        let e = norms.expect(200.0, Some(32.0)).unwrap();
        // sd(σ̂)/σ ≈ 1/sqrt(2n) = 0.005; 0.02 is 4 Monte Carlo SEs
        assert!((e.sd / 8.0 - 1.0).abs() < 0.02, "sd {} vs 8", e.sd);
        // SE of the fitted mean at the centre ≈ σ·sqrt(p/n) ≈ 0.17 (average leverage);
        // 0.7 is 4 SEs. True mean: 3 + 0.25·32 = 11.
        assert!((e.growth - 11.0).abs() < 0.7, "expected growth {} vs 11", e.growth);
        // weeks slope: SE = σ/(sqrt(n)·sd(weeks)) = 8/(141·2.58) ≈ 0.022; 4 SEs
        let b_weeks = norms.mean_coefficients()[8];
        assert!((b_weeks - 0.25).abs() < 0.09, "weeks slope {b_weeks} vs 0.25");
        // the linear_log model on homoskedastic data: slope ≈ 0 (SE ≈ sqrt(2/(n·225)) = 6.7e-4)
        let log = ConditionalSpec { sd_model: SdModel::LinearLog, ..ConditionalSpec::default() }
            .fit(&pre, &post, Some(&weeks))
            .unwrap();
        let SdFit::LinearLog { slope, .. } = *log.sd_fit() else { panic!() };
        assert!(slope.abs() < 4.0 * 6.7e-4, "slope {slope} on homoskedastic data");
    }

    #[test]
    fn simulation_recovers_log_linear_sd() {
        let n = 20_000;
        // σ(pre) = 6·exp(0.025·(pre − 200)): log σ² = log 36 + 0.05·(pre − 200)
        let (pre, post, weeks) = simulate(n, 11, |x| 6.0 * (0.025 * (x - 200.0)).exp());
        let spec = ConditionalSpec { sd_model: SdModel::LinearLog, ..ConditionalSpec::default() };
        let norms = spec.fit(&pre, &post, Some(&weeks)).unwrap();
        assert!(norms.diagnostics().converged);
        let SdFit::LinearLog { slope, .. } = *norms.sd_fit() else { panic!() };
        // r²/σ² ≈ χ²₁ = Gamma(shape 1/2): SE(slope) ≈ sqrt(2/(n·var(pre))) = 6.7e-4; 4 SEs
        assert!((slope - 0.05).abs() < 4.0 * 6.7e-4, "log-variance slope {slope} vs 0.05");
        // SD at the centre: SE of log σ² ≈ sqrt(2/n) = 0.01, so about 0.5 % on σ; 4 SEs
        let e = norms.expect(200.0, Some(32.0)).unwrap();
        assert!((e.sd / 6.0 - 1.0).abs() < 0.02, "sd at 200: {} vs 6", e.sd);
        let e = norms.expect(230.0, Some(32.0)).unwrap();
        let truth = 6.0 * 0.75_f64.exp();
        assert!((e.sd / truth - 1.0).abs() < 0.05, "sd at 230: {} vs {truth}", e.sd);
    }

    /// Every student's CGI under `norms`.
    fn cgis(norms: &ConditionalNorms, pre: &[f64], post: &[f64], weeks: &[f64]) -> Vec<f64> {
        (0..pre.len()).map(|i| cgi(post[i] - pre[i], &norms.expect(pre[i], Some(weeks[i])).unwrap())).collect()
    }

    /// Integer scale scores: pre in 160..=240, growth −15..=15 plus a trend, weeks 28..=36.
    fn group() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<f64>)> {
        prop::collection::vec((160..=240_i32, -15..=15_i32, 28..=36_i32), 60..150).prop_map(|rows| {
            let pre: Vec<f64> = rows.iter().map(|r| f64::from(r.0)).collect();
            let post = rows.iter().map(|r| f64::from(r.0 + r.1 + (r.2 - 28) / 2 + (200 - r.0) / 10)).collect();
            let weeks = rows.iter().map(|r| f64::from(r.2)).collect();
            (pre, post, weeks)
        })
    }

    fn sd_model() -> impl Strategy<Value = SdModel> {
        prop_oneof![Just(SdModel::Constant), Just(SdModel::LinearLog)]
    }

    fn assert_same_cgis(a: &[f64], b: &[f64], what: &str) -> Result<(), TestCaseError> {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            prop_assert!((x - y).abs() <= 1e-9, "{what}: student {i}: CGI {x} vs {y}");
        }
        Ok(())
    }

    const CASES: u32 = 128;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(CASES))]

        /// Shifting pre and post by c shifts the knots and boundaries with them (integer
        /// data: the SGP rounding to 3 decimals is exact), so growth, the fitted curve
        /// relative to pre, and every CGI are unchanged.
        #[test]
        fn cgi_invariant_to_shift(data in group(), c in -1000..=1000_i32, model in sd_model()) {
            let (pre, post, weeks) = data;
            let spec = ConditionalSpec { min_n: 0, sd_model: model, ..ConditionalSpec::default() };
            let a = spec.fit(&pre, &post, Some(&weeks)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let c = f64::from(c);
            let (pre2, post2): (Vec<f64>, Vec<f64>) = pre.iter().zip(&post).map(|(x, y)| (x + c, y + c)).unzip();
            let b = spec.fit(&pre2, &post2, Some(&weeks)).unwrap();
            for (k1, k2) in a.knots().iter().zip(b.knots()) {
                prop_assert!((k1 + c - k2).abs() < 1e-9, "knot {k1} + {c} vs {k2}");
            }
            assert_same_cgis(&cgis(&a, &pre, &post, &weeks), &cgis(&b, &pre2, &post2, &weeks), "shift")?;
        }

        /// Scaling pre and post by s > 0 scales growth, its expectation and its SD by s.
        /// The scales are chosen so that the rounded knots scale exactly.
        #[test]
        fn cgi_invariant_to_scale(
            data in group(),
            s in prop::sample::select(vec![0.1, 0.25, 0.5, 2.0, 3.0, 7.5, 10.0]),
            model in sd_model(),
        ) {
            let (pre, post, weeks) = data;
            let spec = ConditionalSpec { min_n: 0, sd_model: model, ..ConditionalSpec::default() };
            let a = spec.fit(&pre, &post, Some(&weeks)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (pre2, post2): (Vec<f64>, Vec<f64>) = pre.iter().zip(&post).map(|(x, y)| (x * s, y * s)).unzip();
            let b = spec.fit(&pre2, &post2, Some(&weeks)).unwrap();
            assert_same_cgis(&cgis(&a, &pre, &post, &weeks), &cgis(&b, &pre2, &post2, &weeks), "scale")?;
            let (ea, eb) = (a.expect(pre[0], Some(weeks[0])).unwrap(), b.expect(pre2[0], Some(weeks[0])).unwrap());
            prop_assert!((eb.sd - s * ea.sd).abs() <= 1e-9 * eb.sd, "sd {} vs {} * {}", eb.sd, s, ea.sd);
        }

        /// The fit does not depend on the order of the students.
        #[test]
        fn cgi_invariant_to_row_order(
            (data, order) in group().prop_flat_map(|d| {
                let n = d.0.len();
                (Just(d), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
            }),
            model in sd_model(),
        ) {
            let (pre, post, weeks) = data;
            let spec = ConditionalSpec { min_n: 0, sd_model: model, ..ConditionalSpec::default() };
            let a = spec.fit(&pre, &post, Some(&weeks)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let pick = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
            let (pre2, post2, weeks2) = (pick(&pre), pick(&post), pick(&weeks));
            let b = spec.fit(&pre2, &post2, Some(&weeks2)).unwrap();
            prop_assert_eq!(a.knots(), b.knots());
            prop_assert_eq!(a.diagnostics().iterations, b.diagnostics().iterations);
            assert_same_cgis(&pick(&cgis(&a, &pre, &post, &weeks)), &cgis(&b, &pre2, &post2, &weeks2), "permutation")?;
        }

        /// CGP is strictly inside (0, 100) for |CGI| ≤ 8, within [0, 100] always, and
        /// non-decreasing in growth; 50 exactly at the expected growth.
        #[test]
        fn cgp_bounded_and_monotone(
            mean in -50.0..50.0_f64,
            sd in 0.1..30.0_f64,
            mut growth in prop::collection::vec(-400.0..400.0_f64, 2..40),
        ) {
            let e = Expectation { growth: mean, sd };
            growth.sort_by(f64::total_cmp);
            let scores: Vec<f64> = growth.iter().map(|&g| cgp(cgi(g, &e))).collect();
            for (g, p) in growth.iter().zip(&scores) {
                prop_assert!((0.0..=100.0).contains(p), "cgp {p} at growth {g}");
                if cgi(*g, &e).abs() <= 8.0 {
                    prop_assert!(*p > 0.0 && *p < 100.0, "cgp {p} at cgi {}", cgi(*g, &e));
                }
            }
            for w in scores.windows(2) {
                prop_assert!(w[0] <= w[1], "cgp decreases: {} then {}", w[0], w[1]);
            }
            prop_assert_eq!(cgp(cgi(mean, &e)), 50.0);
        }

        /// prob_met is a probability, 1/2 at the target, increasing in growth, and the
        /// target at CGP t has CGP t.
        #[test]
        fn prob_met_is_a_probability(
            g in -100.0..100.0_f64,
            target in -100.0..100.0_f64,
            se in 0.01..20.0_f64,
            t in 1.0..99.0_f64,
        ) {
            let p = prob_met(g, target, se);
            prop_assert!((0.0..=1.0).contains(&p), "prob_met {p}");
            prop_assert_eq!(prob_met(target, target, se), 0.5);
            prop_assert!(prob_met(g + 1.0, target, se) >= p);
            let e = Expectation { growth: g, sd: se };
            let tg = target_growth(&e, t);
            prop_assert!((cgp(cgi(tg, &e)) - t).abs() < 1e-9, "cgp of the target growth {} vs {t}", cgp(cgi(tg, &e)));
            let s = score(tg, &e, Some((se, 0.0)), t);
            prop_assert_eq!(s.prob_met, Some(0.5));
        }
    }
}
