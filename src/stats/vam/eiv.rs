//! Errors-in-variables correction for a fallible pretest (method of moments).
//!
//! # Model
//!
//! The analysis regresses the outcome on `X = [.., pre, ..]`, but the pretest is measured
//! with error: `pre_i = true_pre_i + u_i`, `E u_i = 0`, `Var u_i = σ²_u,i`, independent of
//! everything else. Least squares then attenuates the pretest coefficient (and biases the
//! provider effects whenever providers serve students of different true pretest levels;
//! Lockwood and McCaffrey 2014). The moment correction (docs/methods.md 4.2; Fuller 1987,
//! section 2.2) subtracts the error's contribution from the cross products:
//!
//! ```text
//! M = X'X − S,    b = M⁻¹ X'y,    S = 0 except S[pre, pre] = S_pre
//! known SEMs:        S_pre = Σ_i sem_i²
//! known reliability: S_pre = N (1 − r) v,   v = Σ_i (pre_i − mean)² / N
//! ```
//!
//! `M` must stay positive definite: if the stated error variance reaches the pretest's
//! own variance (reliability near 0, or SEMs as large as the spread of scores), the
//! correction is undefined and [`fit_eiv`] refuses with [`VamError::Singular`].
//!
//! Standard errors are sandwich (M-estimation) variances with no degrees-of-freedom factor:
//!
//! - known SEMs: `V = M⁻¹ (Σ_i ψ_i ψ_i') M⁻¹` with `ψ_i = x_i e_i + s_i b`,
//!   `s_i = sem_i²` in the pretest position, `e_i = y_i − x_i'b` (SEMs treated as known);
//! - known reliability: the pretest variance `v` is estimated too, so `(mean, v, b)` are
//!   stacked: `ψ_i = (pre_i − mean, (pre_i − mean)² − v, x_i e_i + (1 − r) v b_pre u)` with
//!   `u` the pretest unit vector, `V = A⁻¹ (Σ ψ_i ψ_i') A⁻ᵀ`,
//!   `A = −Σ ∂ψ_i/∂θ' = [[N, 0, 0], [2Σ(pre_i − mean), N, 0], [0, −N(1 − r) b_pre u, M]]`,
//!   and the `b` block is reported.
//!
//! # With absorbed fixed effects and clusters ([`fit_eiv_within`])
//!
//! For `obc vam` the correction is applied after the within transformation
//! ([`super::fixed::within`]). Demeaning shrinks the error too: with one absorbed factor,
//! `E Σ_i ũ_i² = Σ_i σ²_u,i (1 − 1/n_g(i))`, so each student contributes
//! `s_i = σ²_u,i · h_i` with `h_i = 1 − 1/n_g(i)`; with several factors the exact `h_i` (the
//! diagonal of the annihilator) has no closed form and `h_i = (N − a)/N` (`a` absorbed
//! parameters) is used, exact for equal error variances on average. `σ²_u,i = sem_i²`, or
//! `(1 − r) v` for a stated reliability (`v` the raw pretest's variance, treated as known).
//! The sandwich uses `ψ_i = x̃_i ẽ_i + s_i b_pre u`, summed within clusters when given, with
//! the small-sample factors of [`super::fixed`] (`n/(n − k)`, or
//! `G/(G − 1) · (n − 1)/(n − k)`).
//!
//! # How much it moves estimates (simulated districts with known truth)
//!
//! - `tests/fixtures/r/vam_synthetic.csv` (tutoring assigned within schools independently
//!   of achievement, pretest reliability about 0.93): the OLS pretest slope is 0.839 against
//!   a true 0.9; the SEM correction moves it to 0.897 (tests in this module), and with
//!   schools absorbed it brings the slope and all four provider effects within 3 SE of the
//!   truth.
//! - `obc simulate` districts (selection into tutoring on the *observed* fall score),
//!   500 replications of `tests/it/vam_coverage.rs`: without correction the provider
//!   effects are unbiased (mean error −0.05 points, 95% intervals cover 95.0%); with
//!   `--sem-col pre_sem` they are biased upward by 0.61 points and cover 84.6%. When
//!   selection is on the observed score, conditioning on the observed score is the right
//!   adjustment and the correction over-corrects; it is for selection on true achievement
//!   (Lockwood and McCaffrey 2014).
//!
//! # Compatibility with R
//!
//! No Debian R package implements this estimator (eivtools is on CRAN only); the fixture
//! `tests/fixtures/r/vam.json` (`synthetic.eiv`) evaluates these formulas in R, so the
//! tests check the arithmetic (1e-8 relative: `M` has condition number about 7e6).

use serde::{Deserialize, Serialize};

use super::VamError;
use super::fixed::{Factor, within};
use crate::stats::linalg::{Cholesky, gram, matmul, sandwich};

/// What is known about the pretest's measurement error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasurementError {
    /// Reliability of the pretest in this sample, in (0, 1].
    Reliability(f64),
    /// Standard error of measurement of each student's pretest (> 0).
    Sem(Vec<f64>),
}

/// An EIV-corrected fit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EivFit {
    pub coefficients: Vec<f64>,
    /// Uncorrected least squares, for comparison.
    pub naive: Vec<f64>,
    /// Sandwich covariance of `coefficients` (row-major `p × p`).
    pub covariance: Vec<f64>,
    /// `S_pre`.
    pub s_pre: f64,
    /// The reliability implied in this sample: `1 − S_pre / (N v)`.
    pub implied_reliability: f64,
}

/// Corrects the least-squares fit of `y` on column-major `x` (`n × p`, intercept included
/// by the caller) for measurement error in column `pre`.
pub fn fit_eiv(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    pre: usize,
    error: &MeasurementError,
) -> Result<EivFit, VamError> {
    super::check_inputs(x, n, p, y)?;
    if pre >= p {
        return Err(VamError::Input(format!("pretest column {pre} is not one of the {p} columns")));
    }
    let pre_col = &x[pre * n..(pre + 1) * n];
    let nf = n as f64;
    let mean = pre_col.iter().sum::<f64>() / nf;
    let v = pre_col.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / nf;
    let s_pre: f64 = error_variances(error, n, v)?.iter().sum();
    let (xtx, xty) = gram(x, n, p, y)?;
    let naive = Cholesky::new(&xtx, p).map_err(|e| VamError::Singular(e.to_string()))?.solve(&xty);
    let mut m = xtx;
    m[pre * p + pre] -= s_pre;
    let chol = Cholesky::new(&m, p).map_err(|_| {
        VamError::Singular(format!(
            "X'X - S is not positive definite: the stated measurement error (S = {s_pre:.4}) leaves no true-score \
             variance in the pretest (implied reliability {:.4}); check the reliability or the SEMs",
            1.0 - s_pre / (nf * v)
        ))
    })?;
    let b = chol.solve(&xty);
    let m_inv = chol.inverse();
    let e: Vec<f64> = (0..n).map(|i| y[i] - (0..p).map(|j| x[j * n + i] * b[j]).sum::<f64>()).collect();
    let covariance = match error {
        MeasurementError::Sem(sem) => {
            let mut meat = vec![0.0; p * p];
            let mut psi = vec![0.0; p];
            for i in 0..n {
                for j in 0..p {
                    psi[j] = x[j * n + i] * e[i];
                }
                psi[pre] += sem[i] * sem[i] * b[pre];
                for a in 0..p {
                    for c in 0..p {
                        meat[a * p + c] += psi[a] * psi[c];
                    }
                }
            }
            crate::stats::linalg::sandwich(&m_inv, &meat, p)
        }
        MeasurementError::Reliability(r) => {
            // theta = (mean, v, b): q = p + 2
            let q = p + 2;
            let mut meat = vec![0.0; q * q];
            let mut psi = vec![0.0; q];
            let mut dev_sum = 0.0;
            for i in 0..n {
                let d = pre_col[i] - mean;
                dev_sum += d;
                psi[0] = d;
                psi[1] = d * d - v;
                for j in 0..p {
                    psi[2 + j] = x[j * n + i] * e[i];
                }
                psi[2 + pre] += (1.0 - r) * v * b[pre];
                for a in 0..q {
                    for c in 0..q {
                        meat[a * q + c] += psi[a] * psi[c];
                    }
                }
            }
            // A^{-1} = [[D^{-1}, 0], [-M^{-1} C D^{-1}, M^{-1}]], D = [[N, 0], [2 Σd, N]],
            // C = [0 | -N(1 - r) b_pre u] (p x 2). Rows of A^{-1} for b: L = [-M^{-1} C D^{-1}, M^{-1}].
            let d_inv = [1.0 / nf, 0.0, -2.0 * dev_sum / (nf * nf), 1.0 / nf];
            let mut c = vec![0.0; p * 2];
            c[pre * 2 + 1] = -nf * (1.0 - r) * b[pre];
            let mc = matmul(&m_inv, &c, p, p, 2);
            let mcd = matmul(&mc, &d_inv, p, 2, 2);
            let mut l = vec![0.0; p * q];
            for a in 0..p {
                l[a * q] = -mcd[a * 2];
                l[a * q + 1] = -mcd[a * 2 + 1];
                for j in 0..p {
                    l[a * q + 2 + j] = m_inv[a * p + j];
                }
            }
            let lb = matmul(&l, &meat, p, q, q);
            let mut lt = vec![0.0; q * p];
            for a in 0..p {
                for j in 0..q {
                    lt[j * p + a] = l[a * q + j];
                }
            }
            matmul(&lb, &lt, p, q, p)
        }
    };
    Ok(EivFit { coefficients: b, naive, covariance, s_pre, implied_reliability: 1.0 - s_pre / (nf * v) })
}

/// Each student's pretest error variance: `sem_i²`, or `(1 − r) v` for a reliability `r`
/// (`v` the pretest's variance), after checking the inputs.
fn error_variances(error: &MeasurementError, n: usize, v: f64) -> Result<Vec<f64>, VamError> {
    match error {
        MeasurementError::Reliability(r) => {
            if !(*r > 0.0 && *r <= 1.0) {
                return Err(VamError::Input(format!("reliability {r} must be in (0, 1]")));
            }
            Ok(vec![(1.0 - r) * v; n])
        }
        MeasurementError::Sem(sem) => {
            if sem.len() != n {
                return Err(VamError::Input(format!("{} SEMs for {n} rows", sem.len())));
            }
            if let Some(i) = sem.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
                return Err(VamError::Input(format!("SEM at row {i} is {}, must be positive", sem[i])));
            }
            Ok(sem.iter().map(|s| s * s).collect())
        }
    }
}

/// An EIV fit after absorbing fixed effects ([`fit_eiv_within`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EivWithinFit {
    pub coefficients: Vec<f64>,
    /// Least squares on the same (within-transformed) data, uncorrected.
    pub naive: Vec<f64>,
    /// HC1 or CR1-type sandwich (module documentation), row-major `p × p`.
    pub covariance: Vec<f64>,
    /// `Σ s_i`, the correction to the pretest's sum of squares.
    pub s_pre: f64,
    /// `1 − S_pre / Σ x̃_pre²`: the reliability of the within-transformed pretest.
    pub implied_reliability: f64,
    pub k: usize,
    pub df_residual: usize,
    pub n_clusters: Option<usize>,
}

/// EIV correction with absorbed fixed effects and optional clusters (module documentation).
// Index loops: each row updates several parallel arrays.
#[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
pub fn fit_eiv_within(
    x: &[f64],
    n: usize,
    p: usize,
    y: &[f64],
    pre: usize,
    error: &MeasurementError,
    absorb: &[Factor],
    cluster: Option<Factor>,
) -> Result<EivWithinFit, VamError> {
    super::check_inputs(x, n, p, y)?;
    if pre >= p {
        return Err(VamError::Input(format!("pretest column {pre} is not one of the {p} columns")));
    }
    for (k, f) in absorb.iter().chain(cluster.iter()).enumerate() {
        if f.level.len() != n || f.level.iter().any(|&l| l >= f.levels) {
            return Err(VamError::Input(format!("factor {k} does not match the {n} rows or its levels")));
        }
    }
    let raw = &x[pre * n..(pre + 1) * n];
    let nf = n as f64;
    let mean = raw.iter().sum::<f64>() / nf;
    let v = raw.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / nf;
    let sigma2 = error_variances(error, n, v)?;
    let w = within(x, n, y, absorb)?;
    let h: Vec<f64> = match absorb {
        [] => vec![1.0; n],
        [f] => {
            let mut count = vec![0.0; f.levels];
            for &g in f.level {
                count[g] += 1.0;
            }
            f.level.iter().map(|&g| 1.0 - 1.0 / count[g]).collect()
        }
        _ => vec![(nf - w.absorbed as f64) / nf; n],
    };
    let s_i: Vec<f64> = sigma2.iter().zip(&h).map(|(a, b)| a * b).collect();
    let s_pre: f64 = s_i.iter().sum();
    let k = p + w.absorbed;
    if n <= k {
        return Err(VamError::Input(format!("{n} rows for {k} parameters")));
    }
    let (xtx, xty) = gram(&w.x, n, p, &w.y)?;
    let naive = Cholesky::new(&xtx, p).map_err(|e| VamError::Singular(e.to_string()))?.solve(&xty);
    let ss_pre = xtx[pre * p + pre];
    let mut m = xtx;
    m[pre * p + pre] -= s_pre;
    let chol = Cholesky::new(&m, p).map_err(|_| {
        VamError::Singular(format!(
            "X'X - S is not positive definite after absorbing the fixed effects: the stated measurement error \
             (S = {s_pre:.4}) leaves no true-score variance in the pretest (implied reliability {:.4})",
            1.0 - s_pre / ss_pre
        ))
    })?;
    let b = chol.solve(&xty);
    let m_inv = chol.inverse();
    let mut meat = vec![0.0; p * p];
    let mut psi = vec![0.0; p];
    let add = |meat: &mut Vec<f64>, v: &[f64]| {
        for a in 0..p {
            for c in 0..p {
                meat[a * p + c] += v[a] * v[c];
            }
        }
    };
    let df = n - k;
    let (factor, n_clusters) = match cluster {
        None => {
            for i in 0..n {
                let e = w.y[i] - (0..p).map(|j| w.x[j * n + i] * b[j]).sum::<f64>();
                for j in 0..p {
                    psi[j] = w.x[j * n + i] * e;
                }
                psi[pre] += s_i[i] * b[pre];
                add(&mut meat, &psi);
            }
            (nf / df as f64, None)
        }
        Some(c) => {
            let mut u = vec![0.0; c.levels * p];
            let mut used = vec![false; c.levels];
            for i in 0..n {
                let e = w.y[i] - (0..p).map(|j| w.x[j * n + i] * b[j]).sum::<f64>();
                let g = c.level[i];
                used[g] = true;
                for j in 0..p {
                    u[g * p + j] += w.x[j * n + i] * e;
                }
                u[g * p + pre] += s_i[i] * b[pre];
            }
            let big_g = used.iter().filter(|&&x| x).count();
            if big_g < 2 {
                return Err(VamError::Input("cluster-robust SEs need at least 2 clusters".into()));
            }
            for ug in u.chunks(p) {
                add(&mut meat, ug);
            }
            let gf = big_g as f64;
            (gf / (gf - 1.0) * (nf - 1.0) / df as f64, Some(big_g))
        }
    };
    let covariance = sandwich(&m_inv, &meat, p).iter().map(|v| v * factor).collect();
    Ok(EivWithinFit {
        coefficients: b,
        naive,
        covariance,
        s_pre,
        implied_reliability: 1.0 - s_pre / ss_pre,
        k,
        df_residual: df,
        n_clusters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::testutil::floats;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../../tests/fixtures/r/vam.json");
    const SYNTHETIC: &str = include_str!("../../../tests/fixtures/r/vam_synthetic.csv");

    /// X = [1, pre, low_income, P1..P4], y = post, sem, and true_pre.
    fn synthetic() -> (Vec<f64>, usize, Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut r = csv::Reader::from_reader(SYNTHETIC.as_bytes());
        let h = r.headers().unwrap().clone();
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let n = recs.len();
        let num = |name: &str| -> Vec<f64> { recs.iter().map(|r| r[col(name)].parse().unwrap()).collect() };
        let mut x = vec![1.0; n];
        x.extend(num("pre"));
        x.extend(num("low_income"));
        for p in ["P1", "P2", "P3", "P4"] {
            x.extend(recs.iter().map(|r| if &r[col("provider")] == p { 1.0 } else { 0.0 }));
        }
        (x, n, num("post"), num("pre_sem"), num("true_pre"))
    }

    fn check(got: &[f64], want: &[f64], rel: f64, what: &str) {
        for (k, (g, w)) in got.iter().zip(want).enumerate() {
            assert!((g - w).abs() <= rel * w.abs().max(1.0), "{what} {k}: {g} vs R {w}");
        }
    }

    #[test]
    fn known_sem_and_reliability_match_the_r_formulas() {
        let (x, n, y, sem, _) = synthetic();
        let f: Value = serde_json::from_str(FIXTURE).unwrap();
        let want = &f["synthetic"]["eiv"];
        let fit = fit_eiv(&x, n, 7, &y, 1, &MeasurementError::Sem(sem)).unwrap();
        check(&fit.naive, &floats(&want["b_ols"]), 1e-8, "OLS");
        assert!((fit.s_pre - want["known_sem"]["S_pre"].as_f64().unwrap()).abs() < 1e-6);
        check(&fit.coefficients, &floats(&want["known_sem"]["b"]), 1e-8, "EIV b (SEM)");
        let se: Vec<f64> = (0..7).map(|j| fit.covariance[j * 7 + j].sqrt()).collect();
        check(&se, &floats(&want["known_sem"]["m_estimation"]["se"]), 1e-6, "EIV SE (SEM)");

        let fit = fit_eiv(&x, n, 7, &y, 1, &MeasurementError::Reliability(0.8)).unwrap();
        check(&fit.coefficients, &floats(&want["known_reliability"]["b"]), 1e-8, "EIV b (reliability)");
        let se: Vec<f64> = (0..7).map(|j| fit.covariance[j * 7 + j].sqrt()).collect();
        check(&se, &floats(&want["known_reliability"]["m_estimation_stacked"]["se"]), 1e-6, "EIV SE (reliability)");
        assert!((fit.implied_reliability - 0.8).abs() < 1e-12);
    }

    #[test]
    fn correction_moves_the_pretest_slope_toward_the_truth() {
        // The generator's true pretest slope is 0.9 (vam.R): OLS on the observed pretest is
        // attenuated (0.839); with the true SEM (4) the corrected slope is near the truth,
        // and the regression on the true pretest itself is the benchmark.
        let (x, n, y, sem, true_pre) = synthetic();
        let fit = fit_eiv(&x, n, 7, &y, 1, &MeasurementError::Sem(sem)).unwrap();
        let mut xt = x.clone();
        xt[n..2 * n].copy_from_slice(&true_pre);
        let (xtx, xty) = gram(&xt, n, 7, &y).unwrap();
        let oracle = Cholesky::new(&xtx, 7).unwrap().solve(&xty);
        let se = fit.covariance[7 + 1].sqrt();
        assert!(fit.naive[1] < fit.coefficients[1]);
        assert!((fit.coefficients[1] - 0.9).abs() < 3.0 * se, "EIV slope {} (SE {se})", fit.coefficients[1]);
        assert!((fit.naive[1] - 0.9).abs() > 6.0 * se, "OLS slope {} should be attenuated", fit.naive[1]);
        assert!((fit.coefficients[1] - oracle[1]).abs() < (fit.naive[1] - oracle[1]).abs());
    }

    #[test]
    fn within_version_without_fixed_effects_is_the_plain_one_with_hc1_scaling() {
        let (x, n, y, sem, _) = synthetic();
        let plain = fit_eiv(&x, n, 7, &y, 1, &MeasurementError::Sem(sem.clone())).unwrap();
        let w = fit_eiv_within(&x, n, 7, &y, 1, &MeasurementError::Sem(sem), &[], None).unwrap();
        check(&w.coefficients, &plain.coefficients, 1e-10, "b");
        let scale = n as f64 / (n - 7) as f64;
        for (a, b) in w.covariance.iter().zip(&plain.covariance) {
            assert!((a - b * scale).abs() <= 1e-9 * (b * scale).abs().max(1e-12), "{a} vs {}", b * scale);
        }
    }

    #[test]
    fn absorbed_schools_with_eiv_recover_the_true_slope_and_provider_effects() {
        // vam_synthetic.csv: post = 20 + 0.9 true_pre - 2 low_income + school + provider + noise,
        // providers P1 +3, P2 0, P3 +1.5, P4 -1. With schools absorbed, the corrected
        // slope and effects must be within 3 SE of the truth, and the slope must move from
        // the attenuated OLS value toward 0.9.
        let mut r = csv::Reader::from_reader(SYNTHETIC.as_bytes());
        let h = r.headers().unwrap().clone();
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        let n = recs.len();
        let num = |name: &str| -> Vec<f64> { recs.iter().map(|r| r[col(name)].parse().unwrap()).collect() };
        let school: Vec<usize> = recs.iter().map(|r| r[col("school")].parse::<usize>().unwrap() - 1).collect();
        let mut x = num("pre");
        x.extend(num("low_income"));
        for p in ["P1", "P2", "P3", "P4"] {
            x.extend(recs.iter().map(|r| if &r[col("provider")] == p { 1.0 } else { 0.0 }));
        }
        let y = num("post");
        let f = Factor { level: &school, levels: 40 };
        let fit = fit_eiv_within(&x, n, 6, &y, 0, &MeasurementError::Sem(num("pre_sem")), &[f], Some(f)).unwrap();
        let se: Vec<f64> = (0..6).map(|j| fit.covariance[j * 6 + j].sqrt()).collect();
        let truth = [0.9, -2.0, 3.0, 0.0, 1.5, -1.0];
        for j in 0..6 {
            assert!(
                (fit.coefficients[j] - truth[j]).abs() < 3.0 * se[j],
                "coef {j}: {} (SE {})",
                fit.coefficients[j],
                se[j]
            );
        }
        assert!(
            (fit.coefficients[0] - 0.9).abs() < (fit.naive[0] - 0.9).abs(),
            "{} vs naive {}",
            fit.coefficients[0],
            fit.naive[0]
        );
        assert_eq!(fit.k, 6 + 40);
        assert!(fit.implied_reliability > 0.8 && fit.implied_reliability < 1.0);
    }

    #[test]
    fn too_much_error_is_refused() {
        let (x, n, y, _, _) = synthetic();
        let err = fit_eiv(&x, n, 7, &y, 1, &MeasurementError::Sem(vec![16.0; n])).unwrap_err();
        assert!(matches!(&err, VamError::Singular(m) if m.contains("not positive definite")), "{err}");
        assert!(fit_eiv(&x, n, 7, &y, 1, &MeasurementError::Reliability(0.0)).is_err());
        assert!(fit_eiv(&x, n, 7, &y, 9, &MeasurementError::Reliability(0.8)).is_err());
    }
}
