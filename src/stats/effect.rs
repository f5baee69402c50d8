//! What Works Clearinghouse effect sizes for a treatment group (a provider's students) against
//! a comparison group: Hedges' g with the small-sample correction, the covariate-adjusted g,
//! the WWC standard error and t test, the WWC correction for a mismatched (clustered)
//! analysis, and Benjamini-Hochberg adjusted p-values across several findings.
//!
//! # Model
//!
//! With group sizes `n_T`, `n_C`, `N = n_T + n_C`, group means `ȳ_T`, `ȳ_C` and standard
//! deviations `s_T`, `s_C` (divisor `n − 1`):
//!
//! ```text
//! S_pooled = sqrt( ((n_T − 1) s_T² + (n_C − 1) s_C²) / (N − 2) )
//! ω        = 1 − 3 / (4N − 9)
//! g        = ω · (ȳ_T − ȳ_C) / S_pooled                      (hedges_g)
//! g_adj    = ω · b / S_pooled                                (adjusted_g)
//! SE(g)    = sqrt( N / (n_T n_C) + g² / (2N) )
//! t        = g / SE(g),   p = 2 P(T_{N−2} > |t|)
//! ```
//!
//! - `ω` is Hedges' (1981) small-sample bias correction `c(m) ≈ 1 − 3/(4m − 1)` at
//!   `m = N − 2` degrees of freedom, written `1 − 3/(4N − 9)` in the WWC Procedures Handbook
//!   (v4.1, and unchanged in v5.0 as far as known).
//! - `g_adj` (covariate-adjusted g): the numerator `b` is the adjusted mean difference (the
//!   treatment coefficient of an ANCOVA or regression), the denominator the *unadjusted*
//!   pooled within-group SD, times `ω` (WWC practice for student-level ANCOVA; "Technical
//!   Details of WWC-Conducted Computations" 2007; Handbook v4.1 effect-size formulas).
//! - `SE(g)` is the large-sample variance of g (Hedges 1981; Hedges and Olkin 1985) as the
//!   WWC uses it from v4.1 on; the t statistic implied by g is `g/SE(g)`. No covariate
//!   (1 − R²) term is applied to the adjusted g: the handbook's covariate-adjusted SE needs
//!   the R² of the impact model and is not implemented here.
//!
//! **Clustering correction** (mismatched analysis: clusters assigned, students analysed;
//! Hedges 2007 as adopted in the WWC Procedures Handbook v4.1, Appendix F). With intraclass
//! correlation `ρ` and average cluster size `n̄`:
//!
//! ```text
//! t_a = t · sqrt( ((N − 2) − 2(n̄ − 1)ρ) / ((N − 2)(1 + (n̄ − 1)ρ)) )
//! h   = ((N − 2) − 2(n̄ − 1)ρ)² / ( (N − 2)(1 − ρ)² + n̄(N − 2n̄)ρ² + 2(N − 2n̄)ρ(1 − ρ) )
//! p   = 2 P(T_h > |t_a|)            (t distribution with non-integer df h, stats::dist)
//! ```
//!
//! The WWC default ICC is 0.20 for achievement outcomes and 0.10 for other outcomes
//! ([`WWC_ICC_ACHIEVEMENT`], [`WWC_ICC_OTHER`], Handbook v4.1; believed unchanged in v5.0).
//! `n̄` is either given ([`ClusterSize::Mean`], e.g. the average school size in the district)
//! or taken as `N/M` for `M` clusters in the analysed sample ([`ClusterSize::Clusters`]).
//! With `ρ = 0` the correction is the identity (`t_a = t`, `h = N − 2`).
//!
//! **Benjamini-Hochberg** (1995) step-up adjusted p-values, as R's
//! `p.adjust(p, method = "BH")`: with the `n` non-missing p-values sorted decreasingly and
//! `i` the ascending rank, `p̃_(i) = min(1, min_{k ≥ i} (n/k)·p_(k))`. Tied p-values get the
//! same adjusted value. `NaN` entries stay `NaN` and are not counted in `n`; with `n ≤ 1`
//! the input is returned unchanged (both as R).
//!
//! # References
//!
//! - What Works Clearinghouse (2020), *Procedures Handbook, Version 4.1* (effect sizes;
//!   Appendix F, clustering correction); What Works Clearinghouse (2022), *Procedures
//!   and Standards Handbook, Version 5.0*. The constants used here (ω, SE, default ICCs) are
//!   those of v4.1; v5.0 is believed to keep them (not verified against the v5.0 text).
//! - L. V. Hedges (1981), Distribution theory for Glass's estimator of effect size and
//!   related estimators, *Journal of Educational Statistics* 6(2), 107-128.
//! - L. V. Hedges (2007), Correcting a significance test for clustering, *Journal of
//!   Educational and Behavioral Statistics* 32(2), 151-179.
//! - Y. Benjamini and Y. Hochberg (1995), Controlling the false discovery rate, *Journal of
//!   the Royal Statistical Society B* 57(1), 289-300.
//!
//! # Compatibility with R
//!
//! Checked against `tests/fixtures/r/vam.json` (R 4.2.2, formulas written in plain R there):
//! `synthetic.effect_size_p1` (g, adjusted g, SE, t, p, clustering correction with
//! `n̄ = 100` and with `n̄ = N/40`) to 1e-10 relative, `provider_tests_cr1` p-values from R's
//! t values and `p.adjust(method = "BH")` to 1e-10 relative, and `benjamini_hochberg_fixed`.
//! No known deviation. R's `p.adjust(p, n = ...)` with a user-supplied `n` larger than the
//! number of p-values is not offered.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::dist::p_two_sided_t;

/// WWC default intraclass correlation for achievement outcomes (Handbook v4.1).
pub const WWC_ICC_ACHIEVEMENT: f64 = 0.20;

/// WWC default intraclass correlation for other (behavioural, attitudinal) outcomes.
pub const WWC_ICC_OTHER: f64 = 0.10;

/// Invalid input to an effect-size computation.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EffectError {
    #[error("{group} group: need at least {needed} observations, got {got}")]
    TooFewObservations { group: &'static str, needed: u64, got: u64 },
    #[error("{what} is not finite ({value})")]
    NonFinite { what: &'static str, value: f64 },
    #[error("{what} must be positive, got {value}")]
    NotPositive { what: &'static str, value: f64 },
    #[error("intraclass correlation {icc} is outside [0, 1]")]
    IccOutOfRange { icc: f64 },
    #[error("average cluster size {nbar} must be at least 1 and at most N/2 = {half_n}")]
    ClusterSizeOutOfRange { nbar: f64, half_n: f64 },
    #[error("clustering correction undefined for N = {n}, nbar = {nbar}, icc = {icc}: {reason}")]
    CorrectionUndefined { n: u64, nbar: f64, icc: f64, reason: &'static str },
}

/// An effect size with its WWC standard error and unclustered t test.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HedgesG {
    /// `ω · difference / s_pooled`.
    pub g: f64,
    /// The numerator: `ȳ_T − ȳ_C`, or the adjusted mean difference for [`adjusted_g`].
    pub difference: f64,
    /// Pooled within-group SD (weights `n − 1`), unadjusted in both cases.
    pub s_pooled: f64,
    /// Small-sample correction `1 − 3/(4N − 9)`.
    pub omega: f64,
    /// `sqrt(N/(n_T n_C) + g²/(2N))`.
    pub std_error: f64,
    /// `g / std_error`.
    pub t: f64,
    /// `N − 2`.
    pub df: f64,
    /// `2 P(T_{N−2} > |t|)`, before any clustering correction.
    pub p_unclustered: f64,
    pub n_t: u64,
    pub n_c: u64,
    /// Whether the numerator is a covariate-adjusted difference.
    pub adjusted: bool,
}

impl HedgesG {
    /// The WWC clustering correction of this finding's t statistic ([`wwc_cluster_correction`]).
    pub fn cluster_corrected(&self, cluster_size: ClusterSize, icc: f64) -> Result<ClusterCorrected, EffectError> {
        wwc_cluster_correction(self.t, self.n_t, self.n_c, cluster_size, icc)
    }
}

/// How the average cluster size `n̄` of the clustering correction is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterSize {
    /// `n̄ = N / M` for `M` clusters in the analysed sample.
    Clusters(u64),
    /// `n̄` given directly (e.g. the average school size in the district).
    Mean(f64),
}

/// A t test corrected for clustering (Hedges 2007, WWC Appendix F).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClusterCorrected {
    /// The corrected t statistic `t_a`.
    pub t_adjusted: f64,
    /// Degrees of freedom `h` (not an integer in general).
    pub h: f64,
    /// `2 P(T_h > |t_a|)`.
    pub p: f64,
    /// The average cluster size used.
    pub nbar: f64,
    /// The intraclass correlation used.
    pub icc: f64,
}

/// Hedges' g from group means and SDs (module docs), with the WWC SE and t test.
///
/// ```
/// use obc::stats::effect::hedges_g;
/// let e = hedges_g(105.0, 100.0, 10.0, 10.0, 50, 50).unwrap();
/// // omega = 1 - 3/391; g = omega * 5/10
/// assert!((e.g - 0.5 * (1.0 - 3.0 / 391.0)).abs() < 1e-15);
/// ```
pub fn hedges_g(mean_t: f64, mean_c: f64, sd_t: f64, sd_c: f64, n_t: u64, n_c: u64) -> Result<HedgesG, EffectError> {
    finite("treatment mean", mean_t)?;
    finite("comparison mean", mean_c)?;
    effect_from(mean_t - mean_c, sd_t, sd_c, n_t, n_c, false)
}

/// Covariate-adjusted g: the adjusted mean difference (e.g. the treatment coefficient of
/// an ANCOVA) over the *unadjusted* pooled SD, times `ω` (module docs).
pub fn adjusted_g(adjusted_difference: f64, sd_t: f64, sd_c: f64, n_t: u64, n_c: u64) -> Result<HedgesG, EffectError> {
    finite("adjusted difference", adjusted_difference)?;
    effect_from(adjusted_difference, sd_t, sd_c, n_t, n_c, true)
}

/// Pooled within-group SD `sqrt(((n_T − 1)s_T² + (n_C − 1)s_C²)/(n_T + n_C − 2))`.
pub fn pooled_sd(sd_t: f64, sd_c: f64, n_t: u64, n_c: u64) -> f64 {
    let (wt, wc) = ((n_t as f64) - 1.0, (n_c as f64) - 1.0);
    ((wt * sd_t * sd_t + wc * sd_c * sd_c) / (wt + wc)).sqrt()
}

/// WWC small-sample correction `ω = 1 − 3/(4N − 9)` for `N` students in both groups.
pub fn small_sample_correction(n: u64) -> f64 {
    1.0 - 3.0 / (4.0 * n as f64 - 9.0)
}

/// WWC standard error of g, `sqrt(N/(n_T n_C) + g²/(2N))`.
pub fn wwc_std_error(g: f64, n_t: u64, n_c: u64) -> f64 {
    let (nt, nc) = (n_t as f64, n_c as f64);
    let n = nt + nc;
    (n / (nt * nc) + g * g / (2.0 * n)).sqrt()
}

/// The WWC clustering correction of a student-level t statistic (module docs; Hedges 2007,
/// WWC Procedures Handbook v4.1 Appendix F). `icc` is usually [`WWC_ICC_ACHIEVEMENT`].
pub fn wwc_cluster_correction(
    t: f64,
    n_t: u64,
    n_c: u64,
    cluster_size: ClusterSize,
    icc: f64,
) -> Result<ClusterCorrected, EffectError> {
    finite("t statistic", t)?;
    if !(0.0..=1.0).contains(&icc) {
        return Err(EffectError::IccOutOfRange { icc });
    }
    let big_n = n_t + n_c;
    let n = big_n as f64;
    let nbar = match cluster_size {
        ClusterSize::Clusters(m) => {
            if m == 0 {
                return Err(EffectError::NotPositive { what: "number of clusters", value: 0.0 });
            }
            n / m as f64
        }
        ClusterSize::Mean(v) => finite("average cluster size", v)?,
    };
    if !(1.0..=n / 2.0).contains(&nbar) {
        return Err(EffectError::ClusterSizeOutOfRange { nbar, half_n: n / 2.0 });
    }
    let undefined = |reason| EffectError::CorrectionUndefined { n: big_n, nbar, icc, reason };
    let m = n - 2.0;
    let numerator = m - 2.0 * (nbar - 1.0) * icc;
    if numerator <= 0.0 {
        return Err(undefined("(N - 2) - 2(nbar - 1) icc <= 0"));
    }
    let t_adjusted = t * (numerator / (m * (1.0 + (nbar - 1.0) * icc))).sqrt();
    let rest = n - 2.0 * nbar;
    let denominator = m * (1.0 - icc) * (1.0 - icc) + nbar * rest * icc * icc + 2.0 * rest * icc * (1.0 - icc);
    if denominator <= 0.0 {
        return Err(undefined("degrees-of-freedom denominator <= 0"));
    }
    let h = numerator * numerator / denominator;
    Ok(ClusterCorrected { t_adjusted, h, p: p_two_sided_t(t_adjusted, h), nbar, icc })
}

/// Benjamini-Hochberg adjusted p-values, R's `p.adjust(p, method = "BH")` (module docs):
/// `NaN` stays `NaN` and does not count; ties share one value.
///
/// ```
/// use obc::stats::effect::benjamini_hochberg;
/// let adj = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.005, 0.2]);
/// assert_eq!(adj, vec![0.025, 0.05, 0.05, 0.025, 0.2]);
/// ```
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let mut out = p.to_vec();
    let mut order: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    let n = order.len();
    if n <= 1 {
        return out;
    }
    // decreasing p; the rank of the k-th entry (0-based) from the top is i = n − k
    order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
    let mut running = f64::INFINITY;
    for (k, &idx) in order.iter().enumerate() {
        let i = (n - k) as f64;
        running = running.min(n as f64 / i * p[idx]);
        out[idx] = running.min(1.0);
    }
    out
}

fn finite(what: &'static str, value: f64) -> Result<f64, EffectError> {
    if value.is_finite() { Ok(value) } else { Err(EffectError::NonFinite { what, value }) }
}

fn effect_from(
    difference: f64,
    sd_t: f64,
    sd_c: f64,
    n_t: u64,
    n_c: u64,
    adjusted: bool,
) -> Result<HedgesG, EffectError> {
    for (group, got) in [("treatment", n_t), ("comparison", n_c)] {
        if got < 2 {
            return Err(EffectError::TooFewObservations { group, needed: 2, got });
        }
    }
    for (what, v) in [("treatment SD", sd_t), ("comparison SD", sd_c)] {
        if finite(what, v)? < 0.0 {
            return Err(EffectError::NotPositive { what, value: v });
        }
    }
    let s_pooled = pooled_sd(sd_t, sd_c, n_t, n_c);
    if s_pooled <= 0.0 {
        return Err(EffectError::NotPositive { what: "pooled SD", value: s_pooled });
    }
    let omega = small_sample_correction(n_t + n_c);
    let g = omega * difference / s_pooled;
    let std_error = wwc_std_error(g, n_t, n_c);
    let t = g / std_error;
    let df = (n_t + n_c) as f64 - 2.0;
    Ok(HedgesG {
        g,
        difference,
        s_pooled,
        omega,
        std_error,
        t,
        df,
        p_unclustered: p_two_sided_t(t, df),
        n_t,
        n_c,
        adjusted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::floats;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/r/vam.json");
    const SYNTHETIC: &str = include_str!("../../tests/fixtures/r/vam_synthetic.csv");

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).unwrap()
    }

    /// `|got − want| ≤ tol·max(1e-300, |want|)`, zeros exact; the message names the quantity.
    fn close(what: &str, got: f64, want: f64, tol: f64) -> f64 {
        if want == 0.0 {
            assert_eq!(got, 0.0, "vam.json {what}: Rust {got:e}, R 0");
            return 0.0;
        }
        let d = (got - want).abs() / want.abs().max(1e-300);
        assert!(d <= tol, "vam.json {what}: Rust {got:.17e}, R {want:.17e} ({d:.2e} > {tol:e})");
        d
    }

    /// Compare a finding and its clustering correction with one block of
    /// `synthetic.effect_size_p1`.
    fn check_block(label: &str, e: &HedgesG, block: &Value, cluster_size: ClusterSize, tol: f64) -> f64 {
        let mut worst: f64 = 0.0;
        let r = |k: &str| block[k].as_f64().unwrap();
        worst = worst.max(close(&format!("{label}.g"), e.g, r("g"), tol));
        worst = worst.max(close(&format!("{label}.se"), e.std_error, r("se"), tol));
        worst = worst.max(close(&format!("{label}.t"), e.t, r("t"), tol));
        worst = worst.max(close(&format!("{label}.p_unclustered"), e.p_unclustered, r("p_unclustered"), tol));
        let c = e.cluster_corrected(cluster_size, r("rho")).unwrap();
        worst = worst.max(close(&format!("{label}.nbar"), c.nbar, r("nbar"), 1e-15));
        worst = worst.max(close(&format!("{label}.t_adjusted"), c.t_adjusted, r("t_adjusted"), tol));
        worst = worst.max(close(&format!("{label}.h"), c.h, r("h"), tol));
        worst = worst.max(close(&format!("{label}.p_adjusted"), c.p, r("p_adjusted"), tol));
        worst
    }

    #[test]
    fn wwc_effect_size_p1_matches_r() {
        let fx = fixture();
        let b = &fx["synthetic"]["effect_size_p1"];
        let r = |k: &str| b[k].as_f64().unwrap();
        let (n_t, n_c) = (b["n_t"].as_u64().unwrap(), b["n_c"].as_u64().unwrap());
        assert_eq!(n_t + n_c, b["N"].as_u64().unwrap(), "vam.json effect_size_p1.N");
        let (sd_t, sd_c) = (r("sd_t"), r("sd_c"));
        // closed-form formulas on R's inputs: 1e-10 relative (README)
        let tol = 1e-10;
        let un = hedges_g(r("mean_t"), r("mean_c"), sd_t, sd_c, n_t, n_c).unwrap();
        close("effect_size_p1.s_pooled", un.s_pooled, r("s_pooled"), tol);
        close("effect_size_p1.omega", un.omega, r("omega"), tol);
        let mut worst = check_block("unadjusted", &un, &b["unadjusted"], ClusterSize::Mean(100.0), tol);
        // adjusted g fed with R's adjusted_mean_difference: also 1e-10 (README)
        let adj = adjusted_g(r("adjusted_mean_difference"), sd_t, sd_c, n_t, n_c).unwrap();
        assert!(adj.adjusted && !un.adjusted);
        assert_eq!(adj.s_pooled, un.s_pooled, "the adjusted g keeps the unadjusted pooled SD");
        worst = worst.max(check_block("adjusted", &adj, &b["adjusted"], ClusterSize::Mean(100.0), tol));
        // the variant with nbar = N / 40 schools
        let v = &b["variant_nbar_analysis_sample"];
        worst = worst.max(check_block("variant.unadjusted", &un, &v["unadjusted"], ClusterSize::Clusters(40), tol));
        worst = worst.max(check_block("variant.adjusted", &adj, &v["adjusted"], ClusterSize::Clusters(40), tol));
        // development observation: ~1e-14; anything near 1e-10 would mean a formula slip
        assert!(worst < 1e-12, "worst relative difference {worst:e}");
        // the adjusted numerator is the P1 coefficient of the school-FE ANCOVA
        let ols = &fx["synthetic"]["ols_school_fe"];
        let names: Vec<&str> = ols["names"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
        let b_p1 = floats(&ols["coefficients"])[names.iter().position(|&n| n == "P1").unwrap()];
        close("adjusted_mean_difference vs ols_school_fe P1", r("adjusted_mean_difference"), b_p1, 0.0);
    }

    /// Group sizes, means and SDs (divisor n − 1) of `post` for provider P1 and the
    /// comparison group (empty provider) in vam_synthetic.csv.
    fn group_stats() -> [(u64, f64, f64); 2] {
        let mut reader = csv::Reader::from_reader(SYNTHETIC.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let col = |c: &str| headers.iter().position(|h| h == c).unwrap();
        let (ip, iy) = (col("provider"), col("post"));
        let (mut p1, mut comparison) = (vec![], vec![]);
        for rec in reader.records() {
            let rec = rec.unwrap();
            let y: f64 = rec[iy].parse().unwrap();
            match &rec[ip] {
                "P1" => p1.push(y),
                "" => comparison.push(y),
                _ => {}
            }
        }
        [&p1, &comparison].map(|v| {
            let n = v.len() as f64;
            let mean = v.iter().sum::<f64>() / n;
            let ss: f64 = v.iter().map(|y| (y - mean) * (y - mean)).sum();
            (v.len() as u64, mean, (ss / (n - 1.0)).sqrt())
        })
    }

    #[test]
    fn group_inputs_recomputed_from_csv_reproduce_r() {
        let fx = fixture();
        let b = &fx["synthetic"]["effect_size_p1"];
        let r = |k: &str| b[k].as_f64().unwrap();
        let [(n_t, mean_t, sd_t), (n_c, mean_c, sd_c)] = group_stats();
        assert_eq!((n_t, n_c), (b["n_t"].as_u64().unwrap(), b["n_c"].as_u64().unwrap()), "group sizes");
        // sums of ~1600 values in a different order than R's long-double mean: 1e-12
        close("effect_size_p1.mean_t (from csv)", mean_t, r("mean_t"), 1e-12);
        close("effect_size_p1.mean_c (from csv)", mean_c, r("mean_c"), 1e-12);
        close("effect_size_p1.sd_t (from csv)", sd_t, r("sd_t"), 1e-12);
        close("effect_size_p1.sd_c (from csv)", sd_c, r("sd_c"), 1e-12);
        let e = hedges_g(mean_t, mean_c, sd_t, sd_c, n_t, n_c).unwrap();
        // g = ω Δ/S: a 1e-12 input error times Δ's conditioning (means ~200, Δ ~ 3.5) stays < 1e-10
        check_block("unadjusted (inputs from csv)", &e, &b["unadjusted"], ClusterSize::Mean(100.0), 1e-10);
    }

    #[test]
    fn provider_p_values_and_bh_match_r() {
        let fx = fixture();
        let ols = &fx["synthetic"]["ols_school_fe"];
        let tests = &ols["provider_tests_cr1"];
        let t = floats(&tests["t"]);
        let df = ols["df_residual"].as_f64().unwrap();
        let mut worst: f64 = 0.0;
        for (label, df, block) in [("df_residual", df, tests), ("df G - 1", 39.0, &tests["alt_df_G_minus_1"])] {
            let p: Vec<f64> = t.iter().map(|&t| p_two_sided_t(t, df)).collect();
            for (k, (&got, want)) in p.iter().zip(floats(&block["p"])).enumerate() {
                worst = worst.max(close(&format!("provider_tests_cr1 ({label}) p[{k}]"), got, want, 1e-10));
            }
            let adj = benjamini_hochberg(&p);
            for (k, (&got, want)) in adj.iter().zip(floats(&block["p_bh"])).enumerate() {
                worst = worst.max(close(&format!("provider_tests_cr1 ({label}) p_bh[{k}]"), got, want, 1e-10));
            }
        }
        // development observation: ~1e-14 (P1's p = 4e-15 exercises the t tail)
        assert!(worst < 1e-12, "worst relative difference {worst:e}");
    }

    #[test]
    fn bh_fixed_vector_matches_r() {
        let fx = fixture();
        let b = &fx["benjamini_hochberg_fixed"];
        let adj = benjamini_hochberg(&floats(&b["p"]));
        for (k, (got, want)) in adj.into_iter().zip(floats(&b["p_bh"])).enumerate() {
            close(&format!("benjamini_hochberg_fixed.p_bh[{k}]"), got, want, 1e-10);
            // same operations as R ((n/i)·p, cummin): bit-identical in practice
            assert_eq!(got.to_bits(), want.to_bits(), "benjamini_hochberg_fixed.p_bh[{k}] bits");
        }
    }

    #[test]
    fn bh_handles_nan_ties_and_small_n_as_r() {
        // R 4.2.2: p <- c(0.02, NA, 0.02, 0.5, 0.001, NaN, 0.04, 0.9);
        // sprintf("%.17g", p.adjust(p, "BH"))  (n = 6 non-missing)
        let p = [0.02, f64::NAN, 0.02, 0.5, 0.001, f64::NAN, 0.04, 0.9];
        #[allow(clippy::excessive_precision)]
        let want = [
            0.040000000000000001,
            f64::NAN,
            0.040000000000000001,
            0.59999999999999998,
            0.0060000000000000001,
            f64::NAN,
            0.059999999999999998,
            0.90000000000000002,
        ];
        let got = benjamini_hochberg(&p);
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            if w.is_nan() {
                assert!(g.is_nan(), "NaN entry {k} must stay NaN, got {g}");
            } else {
                close(&format!("BH with NaN [{k}]"), *g, w, 1e-15);
            }
        }
        // R: p.adjust(0.3, "BH") = 0.3 (n <= 1 returns the input);
        // p.adjust(c(0.5, 0.9, 0.95, 0.96), "BH") = 0.96 four times
        assert_eq!(benjamini_hochberg(&[0.3]), vec![0.3]);
        assert!(benjamini_hochberg(&[]).is_empty());
        let all = benjamini_hochberg(&[0.5, 0.9, 0.95, 0.96]);
        assert!(all.iter().all(|&v| v.to_bits() == 0.96f64.to_bits()), "{all:?}");
    }

    #[test]
    fn bh_properties() {
        // deterministic pseudo-random p-values with ties
        let p: Vec<f64> = (0..200u32).map(|i| f64::from((i * 7919 + 13) % 1000) / 1000.0 * 0.3).collect();
        let adj = benjamini_hochberg(&p);
        for i in 0..p.len() {
            assert!(adj[i] >= p[i] && adj[i] <= 1.0, "adjusted {} outside [p, 1] for p {}", adj[i], p[i]);
            for j in 0..p.len() {
                if p[i] <= p[j] {
                    assert!(adj[i] <= adj[j], "order not kept: p {} <= {} but {} > {}", p[i], p[j], adj[i], adj[j]);
                }
                if p[i] == p[j] {
                    assert_eq!(adj[i], adj[j], "ties must share one adjusted value");
                }
            }
        }
        // permutation equivariance: reverse the input, the output reverses
        let rev: Vec<f64> = p.iter().rev().copied().collect();
        let adj_rev = benjamini_hochberg(&rev);
        assert!(adj_rev.iter().rev().zip(&adj).all(|(a, b)| a == b), "BH is not permutation-equivariant");
        // the smallest p is multiplied by at most n
        let (imin, pmin) = p.iter().enumerate().min_by(|a, b| a.1.total_cmp(b.1)).unwrap();
        assert!(adj[imin] <= (pmin * p.len() as f64).min(1.0));
    }

    #[test]
    fn omega_is_hedges_1981_and_formulas_hold_by_hand() {
        // ω = 1 − 3/(4N − 9) equals Hedges' c(m) ≈ 1 − 3/(4m − 1) at m = N − 2
        for n in [4u64, 10, 57, 2194] {
            let m = n as f64 - 2.0;
            assert_eq!(small_sample_correction(n), 1.0 - 3.0 / (4.0 * m - 1.0), "omega at N = {n}");
        }
        // a hand-worked case: n = 20 and 30, means 52 and 50, SDs 4 and 6
        let e = hedges_g(52.0, 50.0, 4.0, 6.0, 20, 30).unwrap();
        let s = ((19.0 * 16.0 + 29.0 * 36.0) / 48.0f64).sqrt();
        let omega = 1.0 - 3.0 / 191.0;
        let g = omega * 2.0 / s;
        assert!((e.s_pooled - s).abs() < 1e-14 && (e.omega - omega).abs() < 1e-16 && (e.g - g).abs() < 1e-15);
        let se = (50.0 / 600.0 + g * g / 100.0).sqrt();
        assert!((e.std_error - se).abs() < 1e-15 && (e.t - g / se).abs() < 1e-13 && e.df == 48.0);
        // sign follows the difference; swapping groups flips g
        let f = hedges_g(50.0, 52.0, 6.0, 4.0, 30, 20).unwrap();
        assert!((f.g + e.g).abs() < 1e-15 && (f.p_unclustered - e.p_unclustered).abs() < 1e-15);
    }

    #[test]
    fn cluster_correction_properties() {
        let (n_t, n_c) = (300, 500);
        // ρ = 0: the identity, h = N − 2
        let c = wwc_cluster_correction(3.0, n_t, n_c, ClusterSize::Mean(25.0), 0.0).unwrap();
        assert_eq!(c.t_adjusted, 3.0);
        assert!((c.h - 798.0).abs() < 1e-10, "h at icc 0 = {}", c.h);
        // clusters of one student: no clustering either
        let c1 = wwc_cluster_correction(3.0, n_t, n_c, ClusterSize::Mean(1.0), WWC_ICC_ACHIEVEMENT).unwrap();
        assert!((c1.t_adjusted - 3.0).abs() < 1e-14 && (c1.h - 798.0).abs() < 1e-9);
        // larger ICC or larger clusters: smaller |t|, larger p
        let mut prev = c.p;
        for icc in [0.05, 0.1, 0.2, 0.4] {
            let ci = wwc_cluster_correction(3.0, n_t, n_c, ClusterSize::Mean(25.0), icc).unwrap();
            assert!(ci.t_adjusted < 3.0 && ci.p > prev, "icc {icc}: t_a {}, p {}", ci.t_adjusted, ci.p);
            prev = ci.p;
        }
        let small = wwc_cluster_correction(3.0, n_t, n_c, ClusterSize::Clusters(80), 0.2).unwrap();
        let large = wwc_cluster_correction(3.0, n_t, n_c, ClusterSize::Clusters(20), 0.2).unwrap();
        assert_eq!((small.nbar, large.nbar), (10.0, 40.0));
        assert!(large.p > small.p && large.h < small.h);
        // odd in t
        let neg = wwc_cluster_correction(-3.0, n_t, n_c, ClusterSize::Clusters(20), 0.2).unwrap();
        assert_eq!((neg.t_adjusted, neg.p), (-large.t_adjusted, large.p));
    }

    #[test]
    fn invalid_inputs_are_named_errors() {
        assert_eq!(
            hedges_g(1.0, 0.0, 1.0, 1.0, 1, 10),
            Err(EffectError::TooFewObservations { group: "treatment", needed: 2, got: 1 })
        );
        assert!(matches!(hedges_g(f64::NAN, 0.0, 1.0, 1.0, 5, 5), Err(EffectError::NonFinite { .. })));
        assert!(matches!(hedges_g(1.0, 0.0, 0.0, 0.0, 5, 5), Err(EffectError::NotPositive { what: "pooled SD", .. })));
        assert!(matches!(adjusted_g(1.0, -1.0, 1.0, 5, 5), Err(EffectError::NotPositive { .. })));
        let cc = |size, icc| wwc_cluster_correction(2.0, 10, 10, size, icc);
        assert!(matches!(cc(ClusterSize::Mean(5.0), 1.5), Err(EffectError::IccOutOfRange { .. })));
        assert!(matches!(cc(ClusterSize::Mean(11.0), 0.2), Err(EffectError::ClusterSizeOutOfRange { .. })));
        assert!(matches!(cc(ClusterSize::Clusters(0), 0.2), Err(EffectError::NotPositive { .. })));
        // N = 20 in two clusters of 10 with ρ = 1: (N − 2) − 2·9 = 0
        assert!(matches!(cc(ClusterSize::Mean(10.0), 1.0), Err(EffectError::CorrectionUndefined { .. })));
    }
}
