//! Dose-response curves: an outcome (growth, CGI) against a dose (attended minutes or
//! sessions) as a cubic regression spline with pointwise confidence intervals.
//!
//! **Descriptive, not causal.** Students choose (or are given) their dose: those who attend
//! more differ from those who attend less in ways the curve does not adjust for. The curve
//! describes how growth varies with attendance among tutored students; it does not say what
//! more attendance would cause.
//!
//! # Model
//!
//! ```text
//! y_i = [1, B(d_i)]·β + e_i,    B = bs(d; knots at the type-7 quantiles `knot_probs` of d,
//!                                      boundaries = range of d, degree 3)
//! ŷ(g) = [1, B(g)]·β̂,   se(g) = sqrt([1, B(g)] V [1, B(g)]'),   ŷ(g) ± t_{df, (1+level)/2} se(g)
//! ```
//!
//! `V` is HC1, or CR1 when clusters (e.g. tutors or schools) are given
//! ([`super::fixed::FixedSpec`]); `df` is `n − p`, or `G − 1` with clusters. Knots that
//! coincide (many students at the same dose) are merged, so a lumpy dose still gives a
//! valid basis. The grid runs over the observed range of the dose in `grid_points` equal
//! steps: outside it the curve would be extrapolation.

use serde::{Deserialize, Serialize};

use super::VamError;
use ndarray::{ArrayView1, ArrayView2, ShapeBuilder};

use super::fixed::{Factor, FixedSpec, Vcov};
use crate::stats::dist::qt;
use crate::stats::spline::{BSplineBasis, quantile_type7};

/// Options of [`dose_response`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DoseSpec {
    /// Interior knots at these quantiles of the dose (default quartiles).
    pub knot_probs: Vec<f64>,
    /// Points of the reported curve (default 25).
    pub grid_points: usize,
    /// Confidence level of the pointwise intervals (default 0.95).
    pub level: f64,
    /// Smallest number of students for a curve (default 50).
    pub min_n: usize,
}

impl Default for DoseSpec {
    fn default() -> Self {
        DoseSpec { knot_probs: vec![0.25, 0.5, 0.75], grid_points: 25, level: 0.95, min_n: 50 }
    }
}

/// A fitted curve on its grid.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoseCurve {
    pub n: usize,
    pub knots: Vec<f64>,
    pub boundaries: (f64, f64),
    pub dose: Vec<f64>,
    pub fit: Vec<f64>,
    pub std_error: Vec<f64>,
    pub conf_low: Vec<f64>,
    pub conf_high: Vec<f64>,
    /// Degrees of freedom of the t quantile.
    pub df: f64,
}

/// Fits the curve of `outcome` on `dose` (module documentation).
pub fn dose_response(
    dose: &[f64],
    outcome: &[f64],
    cluster: Option<Factor>,
    spec: &DoseSpec,
) -> Result<DoseCurve, VamError> {
    let n = dose.len();
    if outcome.len() != n {
        return Err(VamError::Input(format!("{n} doses for {} outcomes", outcome.len())));
    }
    if n < spec.min_n.max(10) {
        return Err(VamError::Input(format!(
            "{n} students: a dose-response curve needs at least {}",
            spec.min_n.max(10)
        )));
    }
    if !(spec.level > 0.0 && spec.level < 1.0) || spec.grid_points < 2 {
        return Err(VamError::Input("level must be in (0, 1) and grid_points at least 2".into()));
    }
    if let Some(i) = dose.iter().position(|d| !d.is_finite()) {
        return Err(VamError::Input(format!("non-finite dose at row {i}")));
    }
    let mut sorted = dose.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (sorted[0], sorted[n - 1]);
    if hi <= lo {
        return Err(VamError::Input("every student has the same dose: no curve to fit".into()));
    }
    let mut knots: Vec<f64> = spec.knot_probs.iter().map(|&p| quantile_type7(&sorted, p)).collect();
    knots.dedup();
    knots.retain(|&k| k > lo && k < hi);
    let basis = BSplineBasis::new(knots.clone(), (lo, hi)).map_err(|e| VamError::Input(e.to_string()))?;
    let p = basis.ncols() + 1;
    let mut x = vec![1.0; n];
    x.extend(basis.matrix(dose));
    let x = ArrayView2::from_shape((n, p).f(), &x[..]).expect("n rows of p columns");
    let fit = FixedSpec::default().fit(x, ArrayView1::from(outcome))?;
    let covariance = fit.vcov(&cluster.map_or(Vcov::Hc1, |cluster| Vcov::Cr1 { cluster }))?;
    let df = covariance.n_clusters.map_or(fit.df_residual as f64, |g| (g - 1) as f64);
    let cov = &covariance.matrix;
    let t = qt(0.5 + spec.level / 2.0, df);
    let mut row = vec![0.0; p];
    let mut curve = DoseCurve {
        n,
        knots,
        boundaries: (lo, hi),
        dose: Vec::new(),
        fit: Vec::new(),
        std_error: Vec::new(),
        conf_low: Vec::new(),
        conf_high: Vec::new(),
        df,
    };
    for k in 0..spec.grid_points {
        let g = lo + (hi - lo) * k as f64 / (spec.grid_points - 1) as f64;
        row[0] = 1.0;
        basis.eval(g, &mut row[1..]);
        let yhat: f64 = row.iter().zip(&fit.coefficients).map(|(a, b)| a * b).sum();
        let mut var = 0.0;
        for a in 0..p {
            for b in 0..p {
                var += row[a] * cov[a * p + b] * row[b];
            }
        }
        let se = var.max(0.0).sqrt();
        curve.dose.push(g);
        curve.fit.push(yhat);
        curve.std_error.push(se);
        curve.conf_low.push(yhat - t * se);
        curve.conf_high.push(yhat + t * se);
    }
    Ok(curve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal, Uniform};

    /// The simulator's concave dose-response shape (src/simulate): f(m) on [0, 2200].
    fn f(m: f64) -> f64 {
        let k: f64 = 2.0;
        6.0 * (1.0 - (-k * m.min(2200.0) / 2200.0).exp()) / (1.0 - (-k).exp())
    }

    #[test]
    fn a_curve_in_the_spline_space_is_recovered_exactly() {
        // y = cubic polynomial of the dose: inside any cubic spline space.
        let dose: Vec<f64> = (0..400).map(|i| f64::from(i) * 5.0).collect();
        let y: Vec<f64> = dose.iter().map(|d| 1.0 + 0.01 * d - 3e-6 * d * d + 1e-10 * d * d * d).collect();
        let c = dose_response(&dose, &y, None, &DoseSpec::default()).unwrap();
        for (g, v) in c.dose.iter().zip(&c.fit) {
            let want = 1.0 + 0.01 * g - 3e-6 * g * g + 1e-10 * g * g * g;
            assert!((v - want).abs() < 1e-8, "at {g}: {v} vs {want}");
        }
        assert!(c.std_error.iter().all(|s| *s < 1e-6));
        assert_eq!(c.knots.len(), 3);
    }

    #[test]
    fn pointwise_intervals_cover_the_true_curve() {
        // 200 simulated samples of 400 students; the spline is flexible enough that the
        // approximation bias of f is small next to the SE, so the coverage over all grid
        // points should be near 95%. Monte Carlo tolerance: 200 x 25 correlated
        // indicators; the independent SE would be 0.003, we allow 0.91-0.98.
        let mut rng = ChaCha8Rng::seed_from_u64(77);
        let noise = Normal::new(0.0, 5.0).unwrap();
        let minutes = Uniform::new(0.0, 2600.0).unwrap();
        let mut covered = 0;
        let mut total = 0;
        for _ in 0..200 {
            let dose: Vec<f64> = (0..400).map(|_| minutes.sample(&mut rng)).collect();
            let y: Vec<f64> = dose.iter().map(|&d| f(d) + noise.sample(&mut rng)).collect();
            let c = dose_response(&dose, &y, None, &DoseSpec::default()).unwrap();
            for k in 0..c.dose.len() {
                total += 1;
                covered += usize::from(c.conf_low[k] <= f(c.dose[k]) && f(c.dose[k]) <= c.conf_high[k]);
            }
        }
        let coverage = covered as f64 / total as f64;
        assert!((0.91..=0.98).contains(&coverage), "pointwise coverage {coverage}");
    }

    #[test]
    fn degenerate_doses_are_refused_or_handled() {
        let y: Vec<f64> = (0..100).map(f64::from).collect();
        assert!(dose_response(&[3.0; 100], &y, None, &DoseSpec::default()).is_err());
        // half the students at dose 0: repeated quantile knots are merged
        let dose: Vec<f64> = (0..100).map(|i| if i < 60 { 0.0 } else { f64::from(i) * 10.0 }).collect();
        let c = dose_response(&dose, &y, None, &DoseSpec::default()).unwrap();
        assert!(c.knots.windows(2).all(|w| w[0] < w[1]) && c.knots.iter().all(|&k| k > 0.0));
        assert!(dose_response(&dose[..20], &y[..20], None, &DoseSpec::default()).is_err());
    }
}
