//! Growth norms: conditional score distributions fitted on a norm group, against which a
//! student's current score is placed.
//!
//! - [`sgp`]: Student Growth Percentiles (Betebenner 2009) for one norm group and one or
//!   more priors: B-spline quantile regression at 100 taus, per-student sorting of the predicted
//!   quantiles, and the SGP count rule of the R `SGP` package (docs/methods.md 1.1-1.9).
//! - [`conditional`]: conditional-normal norms (expected growth and its SD given the start
//!   score and instructional weeks), the conditional growth index and percentile.
//! - [`model`]: norms for many norm groups (what `norms.json` holds) and scoring against them.
//! - [`table`]: imported norms tables (e.g. vendor norms), interpolated by start score and
//!   weeks.
//!
//! Conditional norms and imported tables both end in an [`Expectation`] per student, which
//! [`conditional`] turns into CGI, CGP and the probability of having met a target.

pub mod conditional;
pub mod model;
pub mod sgp;
pub mod table;

use serde::{Deserialize, Serialize};

/// Expected growth of a student and the standard deviation of growth around it among like
/// students (same norm group, start score and instructional weeks).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expectation {
    /// Expected (typical) growth, in scale-score points.
    pub growth: f64,
    /// Conditional standard deviation of growth, > 0.
    pub sd: f64,
}
