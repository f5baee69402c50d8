//! Provider (teacher, school) value-added: regression models of an outcome on a prior
//! score and covariates with group effects (docs/methods.md 3-4).
//!
//! - [`cr2`]: CR2 (bias-reduced linearization) covariance and Satterthwaite degrees of
//!   freedom for a contrast, on a [`fixed::FixedFit`], as `clubSandwich`.
//! - [`dose`]: dose-response curves (spline with pointwise intervals), descriptive.
//! - [`eiv`]: errors-in-variables (method of moments) correction for a fallible pretest.
//! - [`fixed`]: least squares with absorbed fixed effects (within transformation) and
//!   classical, HC1 and CR1 covariances, as `lm` + `sandwich`.
//! - [`providers`]: the models of `obc vam` on a named [`crate::stats::design::Design`]:
//!   provider contrasts with intervals, BH p-values, effect sizes and bootstrap; random-model
//!   group effects; dose-response curves per group.
//! - [`random`]: random-intercept model by REML or ML (as `lme4::lmer`), empirical Bayes
//!   group effects with their reliability, and the two-step shrunken means of teacher
//!   value-added.
//!
//! Designs are column-major `&[f64]` (`x[j * n + i]`), as in [`crate::stats::linalg`].

pub mod cr2;
pub mod dose;
pub mod eiv;
pub mod fixed;
pub mod providers;
pub mod random;

use thiserror::Error;

use crate::stats::linalg::LinalgError;

/// Why a value-added model cannot be fitted.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum VamError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error("singular design: {0}")]
    Singular(String),
    #[error(transparent)]
    Linalg(#[from] LinalgError),
}

/// Shapes and finiteness of a design and outcome.
fn check_inputs(x: &[f64], n: usize, p: usize, y: &[f64]) -> Result<(), VamError> {
    if p == 0 {
        return Err(VamError::Input("the design has no columns".into()));
    }
    if x.len() != n * p || y.len() != n {
        return Err(VamError::Input(format!(
            "design of length {} and outcome of length {} for n = {n}, p = {p}",
            x.len(),
            y.len()
        )));
    }
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(VamError::Input(format!("non-finite outcome at row {i}")));
    }
    if let Some(k) = x.iter().position(|v| !v.is_finite()) {
        return Err(VamError::Input(format!(
            "non-finite value in design column {} at row {}",
            k / n.max(1),
            k % n.max(1)
        )));
    }
    Ok(())
}
