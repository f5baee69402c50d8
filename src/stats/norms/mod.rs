//! Growth norms: conditional score distributions fitted on a norm group, against which a
//! student's current score is placed.
//!
//! - [`sgp`]: Student Growth Percentiles (Betebenner 2009) for one prior score and one norm
//!   group: B-spline quantile regression at 100 taus, per-student sorting of the predicted
//!   quantiles, and the SGP count rule of the R `SGP` package (docs methods.md 1.1-1.9).

pub mod sgp;
