//! Pure statistics on plain slices and vectors. Nothing here reads files or uses polars
//! (a test scans the source to keep it so).
//!
//! - [`linalg`]: cross products and Cholesky factorization with named rank failures.
//! - [`norms`]: growth norms; [`norms::sgp`] student growth percentiles by quantile
//!   regression on a B-spline of the prior (SGP package defaults).
//! - [`normal`]: the standard normal distribution: `pnorm` (Cody 1969, as R), its upper tail,
//!   `qnorm` (Wichura's AS 241) and `dnorm`.
//! - [`quantreg`]: linear quantile regression: Frisch-Newton interior point (`rq.fit.fnb`),
//!   Barrodale-Roberts simplex ([`quantreg::br`], `rq.fit.br`), and `summary.rq` standard
//!   errors ([`quantreg::se`], iid and nid with the Hall-Sheather bandwidth).
//! - [`spline`]: cubic B-spline bases identical to R `splines::bs()`, SGP knots and boundaries.
//! - [`vam`]: value-added models (random intercept by REML, shrinkage).
//! - [`wwc`]: What Works Clearinghouse attrition boundaries.

pub mod dist;
pub mod linalg;
pub mod normal;
pub mod norms;
pub mod quantreg;
pub mod spline;
pub mod vam;
pub mod wwc;
