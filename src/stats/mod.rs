//! Pure statistics on plain slices and vectors. Nothing here reads files or uses polars
//! (a test scans the source to keep it so).
//!
//! - [`quantreg`]: linear quantile regression (Frisch-Newton interior point, as quantreg's
//!   `rq.fit.fnb`) and the check-function objective.
//! - [`spline`]: cubic B-spline bases identical to R `splines::bs()`, SGP knots and boundaries.
//! - [`wwc`]: What Works Clearinghouse attrition boundaries.

pub mod quantreg;
pub mod spline;
pub mod wwc;
