//! Cluster-robust inference on the effect model's provider coefficient (`[inference] method
//! = "cr2"` or `"wild_cluster"`, metrics `effect_size` and `mean_growth_vs_comparison`).
//!
//! The clusters are those of `[inference] cluster` over every student in the model (the
//! provider's, the other providers' and the comparison group's): each student its own
//! cluster, tutors (a comparison student without a tutor is a cluster of their own), or
//! schools. The test is of the provider's indicator in the effect model's regression:
//!
//! - `cr2`: CR2 standard error with Satterthwaite degrees of freedom ν
//!   ([`crate::stats::vam::cr2`]); the interval is `β̂ ± t_ν,(1+level)/2 · se`;
//! - `wild_cluster`: the wild cluster restricted bootstrap ([`crate::stats::wild`]) with the
//!   contract's weights and replicates, seeded per provider as the bootstrap is; the
//!   interval inverts the symmetric bootstrap test at `level`.
//!
//! For `effect_size` every value is multiplied by ω / pooled SD, held fixed (as the bootstrap
//! holds it). An interval end that the data cannot bound (few clusters) is written as absent
//! with a warning, and an absent lower end never meets a lower-bound rule.

use super::*;
use crate::contract::results::RobustTest;
use crate::contract::terms::InferenceMethod;
use crate::stats::vam::fixed::Factor;
use crate::stats::wild::WildSpec;

/// The settings of the robust test, from `[inference]` and `[decision] level`.
#[derive(Clone, Copy, Debug)]
pub struct RobustSpec {
    pub method: InferenceMethod,
    pub cluster: ClusterLevel,
    pub level: f64,
    /// Wild bootstrap replicates and weights.
    pub reps: usize,
    pub weights: crate::stats::wild::Weights,
    /// The provider's seed ([`stream_seed`]).
    pub seed: u64,
    /// The interval method of `[inference]`, recorded as the estimate's `method`.
    pub interval: IntervalMethod,
}

/// The provider's coefficient with its cluster-robust interval, times `factor` (ω / pooled
/// SD for `effect_size`, 1 for `mean_growth_vs_comparison`).
pub fn estimate_robust(
    m: &EffectModel,
    students: &[Student],
    prov: &str,
    factor: f64,
    spec: &RobustSpec,
) -> Result<Estimate, NoEstimate> {
    let fe = &m.fit;
    let col = *fe.provider_column.get(prov).ok_or(NoEstimate::NoEffectModel)?;
    let (cluster, g) = clusters_of(spec.cluster, students, &fe.rows);
    let treated: BTreeSet<usize> = fe
        .rows
        .iter()
        .zip(&cluster)
        .filter(|(i, _)| students[**i].provider.as_deref() == Some(prov))
        .map(|(_, &c)| c)
        .collect();
    let mut contrast = vec![0.0; fe.design.cols()];
    contrast[col] = 1.0;
    let point = factor * fe.fit.coefficients[col];
    let mut est = Estimate {
        point,
        low: None,
        high: None,
        method: spec.interval,
        level: spec.level,
        boot_se: None,
        units: treated.len(),
        warnings: Vec::new(),
        replicates: Vec::new(),
        inference: spec.method,
        robust: None,
    };
    let test = match spec.method {
        InferenceMethod::Cr2 => cr2(fe, &cluster, g, &contrast, spec.level),
        InferenceMethod::WildCluster => wild(fe, &cluster, &contrast, spec),
        other => unreachable!("{} is not a test of the effect model's coefficient", other.as_str()),
    };
    match test {
        Ok((t, low, high)) => {
            est.robust = Some(RobustTest { se: factor * t.se, clusters: g, treated_clusters: treated.len(), ..t });
            let finite = |v: f64| v.is_finite().then_some(factor * v);
            est.low = finite(low);
            est.high = finite(high);
            if est.low.is_none() || est.high.is_none() {
                est.warnings.push(Warning::new(
                    WarningCode::FewClusters,
                    format!(
                        "{prov}: the {} {} interval is unbounded {} with {} clusters ({} of the provider's): the \
                         missing end is written as none and never meets a lower-bound rule",
                        spec.level,
                        spec.method.as_str(),
                        match (est.low, est.high) {
                            (None, None) => "on both sides",
                            (None, _) => "below",
                            _ => "above",
                        },
                        g,
                        treated.len()
                    ),
                ));
            }
        }
        Err(why) => est.warnings.push(Warning::new(
            WarningCode::EffectModel,
            format!("{prov}: no {} interval: {why}", spec.method.as_str()),
        )),
    }
    Ok(est)
}

/// A test's standard error, df and p-value (clusters filled in by the caller) and its
/// interval ends on the coefficient's scale.
type Tested = (RobustTest, f64, f64);

/// Why the robust test of a provider's coefficient gives no interval (the text is the
/// `effect_model` warning).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
enum RobustError {
    #[error(transparent)]
    Cr2(#[from] crate::stats::vam::VamError),
    #[error(transparent)]
    Wild(#[from] crate::stats::wild::WildError),
    #[error("the CR2 standard error ({se}) or its degrees of freedom ({df}) is not positive")]
    NotPositive { se: f64, df: f64 },
}

fn cr2(fe: &FittedEffect, cluster: &[usize], g: usize, contrast: &[f64], level: f64) -> Result<Tested, RobustError> {
    let t = fe.fit.cr2_test(&Factor { level: cluster, levels: g }, contrast, level)?;
    if !(t.se.is_finite() && t.se > 0.0 && t.df.is_finite() && t.df > 0.0) {
        return Err(RobustError::NotPositive { se: t.se, df: t.df });
    }
    let robust = RobustTest {
        se: t.se,
        df: Some(t.df),
        clusters: 0,
        treated_clusters: 0,
        p_value: t.p_value.is_finite().then_some(t.p_value),
        replicates: None,
        weights: None,
        enumerated: None,
    };
    Ok((robust, t.conf_low, t.conf_high))
}

fn wild(fe: &FittedEffect, cluster: &[usize], contrast: &[f64], spec: &RobustSpec) -> Result<Tested, RobustError> {
    let w = WildSpec { weights: spec.weights, reps: spec.reps, seed: spec.seed, level: spec.level, absorbed: 0 };
    let y = ndarray::ArrayView1::from(&fe.y);
    let t = w.test(fe.design.view(), y, cluster, contrast, 0.0)?;
    let robust = RobustTest {
        se: t.se,
        df: None,
        clusters: 0,
        treated_clusters: 0,
        p_value: t.p_symmetric.is_finite().then_some(t.p_symmetric),
        replicates: Some(t.reps),
        weights: Some(t.weights),
        enumerated: Some(t.enumerated),
    };
    Ok((robust, t.conf_low, t.conf_high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::vam::fixed::{FixedSpec, LeastSquares};
    use crate::stats::wild::Weights;
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};

    /// 8 schools, two grades; provider A tutors in schools 0-2, B in schools 3-4; about a
    /// third of each school is tutored; comparison students everywhere.
    fn students() -> Vec<Student> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut out = Vec::new();
        for school in 0..8 {
            let bump: f64 = rng.random_range(-3.0..3.0);
            for k in 0..30 {
                let grade = 3 + (k % 2);
                let pre = 200.0 + 10.0 * grade as f64 + rng.random_range(-15.0..15.0);
                let provider = match (school, k % 3) {
                    (0..=2, 0) => Some("A"),
                    (3..=4, 0) => Some("B"),
                    _ => None,
                };
                let post = pre + 8.0 + bump + rng.random_range(-6.0..6.0) + 0.002 * (pre - 230.0).powi(2);
                out.push(Student {
                    student_id: format!("s{school}-{k}"),
                    school: format!("school {school}"),
                    provider: provider.map(str::to_string),
                    tutor: provider.map(|p| format!("{p}-tutor-{school}")),
                    served: provider.is_some(),
                    ..Student::example(grade, Some(pre), Some(post))
                });
            }
        }
        out
    }

    fn spec(method: InferenceMethod, weights: Weights) -> RobustSpec {
        RobustSpec {
            method,
            cluster: ClusterLevel::School,
            level: 0.9,
            reps: 999,
            weights,
            seed: stream_seed(20251, "A"),
            interval: IntervalMethod::Percentile,
        }
    }

    /// The effect model's regression written out by hand: per grade an intercept, the
    /// pre-test standardised within grade and its square, one indicator per provider.
    fn written_out(s: &[Student]) -> (Array2<f64>, Vec<f64>, Vec<usize>, usize) {
        let grades = [3, 4];
        let (mut mean, mut sd) = ([0.0; 2], [0.0; 2]);
        for (g, &grade) in grades.iter().enumerate() {
            let v: Vec<f64> = s.iter().filter(|x| x.grade == grade).map(|x| x.pre.unwrap()).collect();
            mean[g] = v.iter().sum::<f64>() / v.len() as f64;
            sd[g] = (v.iter().map(|x| (x - mean[g]).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
        }
        let mut x = Array2::zeros((s.len(), 8));
        for (i, st) in s.iter().enumerate() {
            let g = (st.grade - 3) as usize;
            let z = (st.pre.unwrap() - mean[g]) / sd[g];
            x[[i, 3 * g]] = 1.0;
            x[[i, 3 * g + 1]] = z;
            x[[i, 3 * g + 2]] = z * z;
            match st.provider.as_deref() {
                Some("A") => x[[i, 6]] = 1.0,
                Some("B") => x[[i, 7]] = 1.0,
                _ => {}
            }
        }
        let y = s.iter().map(|st| st.post.unwrap()).collect();
        let school: Vec<usize> = s.iter().map(|st| st.school[7..].parse().unwrap()).collect();
        (x, y, school, 8)
    }

    #[test]
    fn cr2_interval_is_cr2_on_the_model_written_out() {
        let s = students();
        let m = effect_model(&s, &vec![true; s.len()]).unwrap();
        let (x, y, school, g) = written_out(&s);
        let fit =
            FixedSpec { absorb: &[], solver: LeastSquares::Qr }.fit(x.view(), ndarray::ArrayView1::from(&y)).unwrap();
        let mut c = vec![0.0; 8];
        c[6] = 1.0;
        let want = fit.cr2_test(&Factor { level: &school, levels: g }, &c, 0.9).unwrap();
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs().max(1.0);
        // mean growth: the coefficient in points
        let got = estimate_robust(&m, &s, "A", 1.0, &spec(InferenceMethod::Cr2, Weights::Rademacher)).unwrap();
        let t = got.robust.as_ref().unwrap();
        assert!(close(got.point, want.estimate), "{} {}", got.point, want.estimate);
        assert!(close(got.low.unwrap(), want.conf_low) && close(got.high.unwrap(), want.conf_high));
        assert!(close(t.se, want.se) && close(t.df.unwrap(), want.df) && close(t.p_value.unwrap(), want.p_value));
        assert_eq!((t.clusters, t.treated_clusters, got.units), (8, 3, 3));
        assert_eq!(got.inference, InferenceMethod::Cr2);
        // the effect size: every value times ω / pooled SD
        let (sd, omega) = m.scale("A").unwrap();
        let f = omega / sd;
        let es = estimate_robust(&m, &s, "A", f, &spec(InferenceMethod::Cr2, Weights::Rademacher)).unwrap();
        assert!(close(es.point, f * want.estimate) && close(es.low.unwrap(), f * want.conf_low));
        assert!(close(es.high.unwrap(), f * want.conf_high) && close(es.robust.as_ref().unwrap().se, f * want.se));
        // the probability rule reads Student's t: at the point 1/2, at the lower end 95%
        assert!((es.p_at_least(es.point) - 0.5).abs() < 1e-12);
        assert!((es.p_at_least(es.low.unwrap()) - 0.95).abs() < 1e-9, "{}", es.p_at_least(es.low.unwrap()));
    }

    #[test]
    fn wild_cluster_is_the_same_for_any_thread_count() {
        let s = students();
        let m = effect_model(&s, &vec![true; s.len()]).unwrap();
        for weights in [Weights::Rademacher, Weights::Webb] {
            let run = |threads: usize| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                let e = pool.install(|| {
                    estimate_robust(&m, &s, "A", 1.0, &spec(InferenceMethod::WildCluster, weights)).unwrap()
                });
                serde_json::to_string(&e).unwrap()
            };
            let one = run(1);
            assert_eq!(one, run(2));
            let e: Estimate = serde_json::from_str(&one).unwrap();
            let t = e.robust.unwrap();
            // 8 clusters: Rademacher enumerates all 256 sign vectors, Webb draws 999
            assert_eq!(t.enumerated, Some(weights == Weights::Rademacher));
            assert_eq!(t.replicates, Some(if weights == Weights::Rademacher { 256 } else { 999 }));
            assert_eq!(e.inference, InferenceMethod::WildCluster);
            assert!(e.low.is_none_or(|l| l < e.point) && e.high.is_none_or(|h| h > e.point));
        }
    }

    #[test]
    fn an_unbounded_end_is_none_with_a_reason_and_never_meets_a_lower_bound() {
        let s = students();
        // provider B is in 2 schools: with 4 schools in all, the 16 sign vectors cannot reject
        // at 10%, so the interval is unbounded on both sides
        let four: Vec<Student> =
            s.into_iter().filter(|x| x.school.as_str() >= "school 2" && x.school.as_str() <= "school 5").collect();
        let m4 = effect_model(&four, &vec![true; four.len()]).unwrap();
        let e =
            estimate_robust(&m4, &four, "B", 1.0, &spec(InferenceMethod::WildCluster, Weights::Rademacher)).unwrap();
        assert_eq!((e.low, e.high), (None, None));
        assert!(e.warnings.iter().any(|w| w.code == WarningCode::FewClusters && w.message.contains("both sides")));
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"low\":null") && !json.contains("NaN"), "{json}");
        let th = [Threshold { name: String::new(), value: -1e9, pool_share: None }];
        let (tiers, reached) = decide_tiers(&th, DecisionRule::LowerBound, 0.9, &e);
        assert_eq!((tiers[0].verdict, reached), (Verdict::Inconclusive, None));
    }
}
