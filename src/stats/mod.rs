//! Pure statistics on plain slices and vectors. Nothing here reads files or uses polars
//! (a test scans the source to keep it so).
//!
//! - [`bootstrap`]: reproducible (seed, replicate) resampling of units, clusters and strata;
//!   percentile, basic, normal and BCa intervals as `boot::boot.ci`.
//! - [`design`]: model matrices with named columns (ndarray, column-major) and the one factor
//!   encoder (sorted or first-seen levels) for indicators, absorbed effects and clusters.
//! - [`dist`]: Student's t for real degrees of freedom (`pt`, `pt_upper`, `qt`, `dt`) by the
//!   regularized incomplete beta function, and two-sided t and normal p-values.
//! - [`effect`]: WWC effect sizes (Hedges' g with the small-sample correction, covariate-adjusted
//!   g, WWC standard error), the WWC clustering correction (Hedges 2007) and Benjamini-Hochberg
//!   adjusted p-values as R `p.adjust(method = "BH")`.
//! - [`interval`]: closed-form subgroup intervals: Wilson for a share, Newcombe's hybrid
//!   score for a difference of shares, t for a mean, order statistics for a median.
//! - [`linalg`]: cross products (blocked, thread-count independent), Cholesky, and
//!   Householder QR least squares with R's rank rule naming the dependent columns.
//! - [`norms`]: growth norms; [`norms::sgp`] student growth percentiles by quantile
//!   regression on a B-spline of the prior (SGP package defaults).
//! - [`normal`]: the standard normal distribution: `pnorm` (Cody 1969, as R), its upper tail,
//!   `qnorm` (Wichura's AS 241) and `dnorm`.
//! - [`quantreg`]: linear quantile regression: Frisch-Newton interior point (`rq.fit.fnb`),
//!   Barrodale-Roberts simplex ([`quantreg::br`], `rq.fit.br`), and `summary.rq` standard
//!   errors ([`quantreg::se`], iid and nid with the Hall-Sheather bandwidth).
//! - [`spline`]: cubic B-spline bases identical to R `splines::bs()`, SGP knots and boundaries.
//! - [`vam`]: value-added models: absorbed fixed effects with HC1/CR1, random intercept by
//!   REML with shrinkage, errors-in-variables, dose-response.
//! - [`wild`]: the wild cluster restricted bootstrap (Rademacher, Webb, Mammen weights;
//!   enumeration when 2^G ≤ B; symmetric and equal-tailed p-values; interval by inversion).
//! - [`wwc`]: What Works Clearinghouse attrition boundaries.

pub mod bootstrap;
pub mod design;
pub mod dist;
pub mod effect;
pub mod interval;
pub mod linalg;
pub mod normal;
pub mod norms;
pub mod quantreg;
pub mod spline;
#[cfg(test)]
mod testutil;
pub mod vam;
pub mod warning;
pub mod wild;
pub mod wwc;
