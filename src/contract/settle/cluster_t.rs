//! `[inference] method = "cluster_t"` for the share and mean metrics, and the `few_clusters`
//! warning of the bootstrap (docs/methods.md 9.6, "Few clusters").
//!
//! A provider's share meeting or mean CGI is the intercept of a regression of the students'
//! values on a constant; `share_meeting_vs_comparison` is the provider coefficient of a
//! regression of the 0/1 outcome on a constant and a provider indicator over the provider's
//! and the comparison group's counted students. The interval is the t interval of that
//! coefficient with the CR2 standard error (Bell and McCaffrey 2002) and Satterthwaite
//! degrees of freedom (Pustejovsky and Tipton 2018), clustered by `[inference] cluster`
//! ([`crate::stats::vam::cr2`]). With clusters of equal size the intercept's interval is
//! exactly the t interval on the G cluster means with G − 1 degrees of freedom; with unequal
//! sizes CR2 keeps the student-weighted mean as the estimate and Satterthwaite lowers the
//! degrees of freedom as the clusters grow unequal.

use ndarray::{Array2, ArrayView1, ShapeBuilder};

use crate::contract::results::{Estimate, RobustTest};
use crate::contract::terms::{InferenceMethod, IntervalMethod, MetricKind};
use crate::stats::vam::VamError;
use crate::stats::vam::cr2::ContrastTest;
use crate::stats::vam::fixed::{Factor, FixedSpec, LeastSquares};
use crate::stats::warning::{Warning, WarningCode};

/// Fewer clusters than this make the bootstrap's interval too narrow (docs/methods.md 9.6).
pub const MIN_BOOTSTRAP_CLUSTERS: usize = crate::stats::warning::FEW_CLUSTERS;

/// Why a cluster-t interval cannot be computed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ClusterTError {
    #[error("{0} cluster(s): a cluster-robust interval needs at least 2")]
    TooFewClusters(usize),
    #[error(transparent)]
    Model(#[from] VamError),
}

/// The t interval of a mean of `values` (`cluster[i]` in `0..clusters`, every cluster used)
/// at `level`, with CR2 and Satterthwaite df (module docs).
pub fn cluster_t_mean(
    values: &[f64],
    cluster: &[usize],
    clusters: usize,
    level: f64,
) -> Result<ContrastTest, ClusterTError> {
    if clusters < 2 {
        return Err(ClusterTError::TooFewClusters(clusters));
    }
    let x = Array2::from_elem((values.len(), 1).f(), 1.0);
    fit_and_test(x, values, cluster, clusters, &[1.0], level)
}

/// The t interval of `mean(values) − mean(comparison)` at `level`, with CR2 and
/// Satterthwaite df: clusters are shared between the two groups when their labels are
/// (`cluster` and `comparison_cluster` index the same `0..clusters`).
pub fn cluster_t_difference(
    values: &[f64],
    cluster: &[usize],
    comparison: &[f64],
    comparison_cluster: &[usize],
    clusters: usize,
    level: f64,
) -> Result<ContrastTest, ClusterTError> {
    if clusters < 2 {
        return Err(ClusterTError::TooFewClusters(clusters));
    }
    let n = values.len() + comparison.len();
    let mut x = Array2::zeros((n, 2).f());
    x.column_mut(0).fill(1.0);
    x.column_mut(1).iter_mut().take(values.len()).for_each(|v| *v = 1.0);
    let y: Vec<f64> = values.iter().chain(comparison).copied().collect();
    let cl: Vec<usize> = cluster.iter().chain(comparison_cluster).copied().collect();
    fit_and_test(x, &y, &cl, clusters, &[0.0, 1.0], level)
}

fn fit_and_test(
    x: Array2<f64>,
    y: &[f64],
    cluster: &[usize],
    clusters: usize,
    contrast: &[f64],
    level: f64,
) -> Result<ContrastTest, ClusterTError> {
    let spec = FixedSpec { absorb: &[], solver: LeastSquares::Qr };
    let fit = spec.fit(x.view(), ArrayView1::from(y))?;
    Ok(fit.cr2_test(&Factor { level: cluster, levels: clusters }, contrast, level)?)
}

/// A provider's (or the comparison group's) mean metric with its `cluster_t` interval, as
/// an [`Estimate`]; `interval` is `[inference] interval`, recorded as it is for every method.
pub(super) fn mean_estimate(
    values: &[f64],
    cluster: &[usize],
    clusters: usize,
    interval: IntervalMethod,
    level: f64,
) -> Estimate {
    let point = values.iter().sum::<f64>() / values.len() as f64;
    let test = cluster_t_mean(values, cluster, clusters, level);
    // "the share is 0" is no hypothesis anyone tests: no p-value
    to_estimate(point, test, distinct(cluster), clusters, interval, level, false)
}

/// A provider's share minus the comparison group's with its `cluster_t` interval, as an
/// [`Estimate`]: `provider` and `comparison` are the 0/1 outcomes and their clusters in
/// `0..clusters` (shared labels, one index).
pub(super) fn difference_estimate(
    provider: (&[f64], &[usize]),
    comparison: (&[f64], &[usize]),
    clusters: usize,
    interval: IntervalMethod,
    level: f64,
) -> Estimate {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let point = mean(provider.0) - mean(comparison.0);
    let test = cluster_t_difference(provider.0, provider.1, comparison.0, comparison.1, clusters, level);
    to_estimate(point, test, distinct(provider.1), clusters, interval, level, true)
}

fn distinct(cluster: &[usize]) -> usize {
    cluster.iter().collect::<std::collections::BTreeSet<_>>().len()
}

/// The estimate from the test: the t interval, or no interval with the reason as a warning.
fn to_estimate(
    point: f64,
    test: Result<ContrastTest, ClusterTError>,
    treated: usize,
    clusters: usize,
    interval: IntervalMethod,
    level: f64,
    with_p: bool,
) -> Estimate {
    let mut est = Estimate {
        point,
        low: None,
        high: None,
        method: interval,
        level,
        boot_se: None,
        units: treated,
        warnings: Vec::new(),
        replicates: Vec::new(),
        inference: InferenceMethod::ClusterT,
        robust: None,
    };
    match test {
        Ok(t) if t.se.is_finite() && t.df.is_finite() && t.df > 0.0 => {
            est.low = Some(t.conf_low);
            est.high = Some(t.conf_high);
            est.robust = Some(RobustTest {
                se: t.se,
                df: Some(t.df),
                clusters,
                treated_clusters: treated,
                p_value: (with_p && t.p_value.is_finite()).then_some(t.p_value),
                replicates: None,
                weights: None,
                enumerated: None,
            });
        }
        Ok(t) => est.warnings.push(Warning::new(
            WarningCode::BootstrapInterval,
            format!("no cluster_t interval: standard error {} with {} degrees of freedom", t.se, t.df),
        )),
        Err(e) => {
            est.warnings.push(Warning::new(WarningCode::BootstrapInterval, format!("no cluster_t interval: {e}")))
        }
    }
    est
}

/// The `few_clusters` warning for a provider whose bootstrap interval resamples fewer than
/// [`MIN_BOOTSTRAP_CLUSTERS`] tutors or schools, naming the alternative for the metric.
pub fn few_clusters_warning(provider: &str, clusters: usize, unit: &str, metric: MetricKind) -> Option<Warning> {
    (clusters < MIN_BOOTSTRAP_CLUSTERS).then(|| {
        let alternative = match metric {
            MetricKind::EffectSize => "consider [inference] method = \"cr2\" or \"wild_cluster\"",
            MetricKind::MedianSgp => {
                "there is no cluster-robust alternative for a median; consider metric mean_cgi or share_meeting with \
                 [inference] method = \"cluster_t\""
            }
            _ => "consider [inference] method = \"cluster_t\"",
        };
        Warning::new(
            WarningCode::FewClusters,
            format!(
                "{provider}: the bootstrap interval resamples only {clusters} {unit}(s); with fewer than \
                 {MIN_BOOTSTRAP_CLUSTERS} clusters it is too narrow (docs/methods.md 9.6, \"Few clusters\"): \
                 {alternative}"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::interval::t_mean;

    #[test]
    fn with_equal_clusters_the_interval_is_the_t_interval_on_cluster_means() {
        // 4 clusters of 3: CR2 on the intercept is the t interval of the 4 means, 3 df
        let values = [1.0, 2.0, 4.0, 0.5, 0.0, 1.5, 3.0, 3.5, 2.0, 1.0, 0.0, 0.5];
        let cluster = [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3];
        let t = cluster_t_mean(&values, &cluster, 4, 0.9).unwrap();
        let means: Vec<f64> = values.chunks(3).map(|c| c.iter().sum::<f64>() / 3.0).collect();
        let (m, lo, hi) = t_mean(&means, 0.9).unwrap();
        assert!((t.estimate - m).abs() < 1e-14);
        assert!((t.df - 3.0).abs() < 1e-10, "df {}", t.df);
        assert!((t.conf_low - lo).abs() < 1e-12 && (t.conf_high - hi).abs() < 1e-12, "{t:?} vs {lo} {hi}");
    }

    #[test]
    fn unequal_clusters_keep_the_student_mean_and_lose_degrees_of_freedom() {
        let mut values = Vec::new();
        let mut cluster = Vec::new();
        for (g, n) in [40usize, 5, 5, 5].iter().enumerate() {
            for i in 0..*n {
                values.push(((i * 7 + g * 3) % 5) as f64 + g as f64);
                cluster.push(g);
            }
        }
        let t = cluster_t_mean(&values, &cluster, 4, 0.9).unwrap();
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        assert!((t.estimate - mean).abs() < 1e-13);
        assert!(t.df < 3.0 && t.df > 1.0, "df {}", t.df);
    }

    #[test]
    fn the_difference_is_the_gap_in_means_and_one_cluster_is_refused() {
        let (v, vc) = ([1.0, 0.0, 1.0, 1.0], [0, 0, 1, 1]);
        let (c, cc) = ([0.0, 1.0, 0.0, 0.0, 0.0], [1, 2, 2, 3, 3]);
        let t = cluster_t_difference(&v, &vc, &c, &cc, 4, 0.9).unwrap();
        assert!((t.estimate - (0.75 - 0.2)).abs() < 1e-14);
        assert!(t.conf_low < t.estimate && t.estimate < t.conf_high);
        assert_eq!(cluster_t_mean(&v, &[0, 0, 0, 0], 1, 0.9).unwrap_err(), ClusterTError::TooFewClusters(1));
    }

    #[test]
    fn the_warning_names_the_alternative_for_the_metric() {
        assert!(few_clusters_warning("P1", 10, "school", MetricKind::ShareMeeting).is_none());
        let w = few_clusters_warning("P1", 3, "school", MetricKind::MeanCgi).unwrap();
        assert_eq!(w.code, WarningCode::FewClusters);
        assert!(w.message.contains("3 school(s)") && w.message.contains("cluster_t"), "{}", w.message);
        assert!(
            few_clusters_warning("P1", 3, "tutor", MetricKind::EffectSize).unwrap().message.contains("wild_cluster")
        );
        assert!(
            few_clusters_warning("P1", 9, "tutor", MetricKind::MedianSgp)
                .unwrap()
                .message
                .contains("no cluster-robust")
        );
    }
}
