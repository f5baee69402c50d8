//! Provider value-added from a sample of students (`obc vam`, docs/methods.md 3-4): the fixed
//! model's provider contrasts against the comparison group, with their intervals (HC1, CR1
//! or CR2 with Satterthwaite degrees of freedom), Benjamini-Hochberg p-values, WWC
//! covariate-adjusted effect sizes, optional BCa bootstrap intervals and optional wild
//! cluster restricted bootstrap tests; the random model's group effects; dose-response
//! curves per group.
//!
//! The models are built by name on a [`Design`]: `(Intercept)` (unless fixed effects are
//! absorbed), the pretest and covariates under their own names, then one indicator
//! `{group}={provider}` per provider with the comparison group (empty label) as reference.

use super::VamError;
use super::dose::{DoseCurve, DoseSpec, dose_response};
use super::eiv::{MeasurementError, fit_eiv_within};
use ndarray::{ArrayView1, ArrayView2, ShapeBuilder};

use super::fixed::{Covariance, FixedFit, FixedSpec, Vcov};
use super::random::{Likelihood, RandomFit, RandomSpec};
use crate::stats::bootstrap::{BootstrapError, ClusterGram, Plan, bca, jackknife, replicates_multi};
use crate::stats::design::{Design, DesignError, Encoding, LevelOrder};
use crate::stats::dist::{p_two_sided_t, qt};
use crate::stats::effect::{adjusted_g, benjamini_hochberg};
use crate::stats::normal::qnorm;
use crate::stats::wild::{Weights, WildError, WildSpec};

/// Why provider effects cannot be estimated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProvidersError {
    #[error(
        "no comparison students: the fixed model estimates providers against rows whose {group} is empty{}",
        if comparison.is_empty() { String::new() } else { format!(" or {comparison:?}") }
    )]
    NoComparison { group: String, comparison: String },
    #[error(transparent)]
    Vam(#[from] VamError),
    #[error(transparent)]
    Design(#[from] DesignError),
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error(transparent)]
    Wild(#[from] WildError),
    #[error("{0} standard errors need clusters")]
    NeedsCluster(&'static str),
    #[error("the wild cluster bootstrap needs clusters")]
    WildNeedsCluster,
    #[error(
        "the errors-in-variables correction has its own M-estimation sandwich (HC1, or CR1 with clusters); {0} is not available with it"
    )]
    NotWithEiv(&'static str),
}

/// The standard errors of the fixed model's provider contrasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdErrors {
    /// Heteroskedasticity-robust; t intervals with `n − k` df.
    Hc1,
    /// Cluster-robust CR1; t intervals with `G − 1` df.
    Cr1,
    /// Bias-reduced CR2; t intervals with Satterthwaite df per contrast.
    Cr2,
}

impl StdErrors {
    pub fn label(self) -> &'static str {
        match self {
            StdErrors::Hc1 => "HC1",
            StdErrors::Cr1 => "CR1",
            StdErrors::Cr2 => "CR2",
        }
    }
}

/// Settings of the wild cluster restricted bootstrap of each provider effect.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WildOptions {
    pub weights: Weights,
    pub reps: usize,
    pub seed: u64,
}

/// What the wild bootstrap used (the same for every provider).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WildSummary {
    pub weights: Weights,
    /// Replicates used (`2^G` when enumerated).
    pub reps: usize,
    pub enumerated: bool,
    pub clusters: usize,
}

/// The students of a value-added model.
#[derive(Clone, Debug)]
pub struct Sample {
    pub y: Vec<f64>,
    /// The pretest and the covariates, under their names.
    pub regressors: Design,
    /// The name of the pretest among `regressors`.
    pub pre: String,
    /// The name of the group column (the provider indicators are `{group_column}={label}`).
    pub group_column: String,
    /// Each student's group, levels sorted; the empty label is the comparison group.
    pub groups: Encoding<String>,
    /// The value that also marks comparison students (besides an empty one), for messages.
    pub comparison: String,
}

impl Sample {
    /// Students in the group with code `k`.
    fn count(&self, k: usize) -> usize {
        self.groups.codes.iter().filter(|&&c| c == k).count()
    }
}

/// Options of the fixed model.
#[derive(Clone, Debug)]
pub struct FixedProvidersSpec {
    /// Absorbed fixed effects (levels sorted).
    pub absorb: Vec<Encoding<String>>,
    /// Clusters of CR1/CR2 standard errors and of the bootstraps (levels sorted).
    pub cluster: Option<Encoding<String>>,
    /// Standard errors; CR1 and CR2 need `cluster`, CR2 no `measurement_error`.
    pub std_errors: StdErrors,
    /// Wild cluster restricted bootstrap of each provider effect (needs `cluster`).
    pub wild: Option<WildOptions>,
    /// Errors-in-variables correction for the pretest.
    pub measurement_error: Option<MeasurementError>,
    pub level: f64,
    /// Groups with fewer students get no estimates.
    pub min_cell: usize,
    /// Bootstrap replicates (0: none) and their seed.
    pub bootstrap: usize,
    pub seed: u64,
}

/// One coefficient of a model with its t statistic.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    pub name: String,
    pub estimate: f64,
    pub std_error: f64,
    pub t: f64,
    pub p_value: f64,
}

fn terms(names: &[String], b: &[f64], cov: &[f64], df: f64) -> Vec<Term> {
    let p = names.len();
    (0..p)
        .map(|j| {
            let se = cov[j * p + j].sqrt();
            Term {
                name: names[j].clone(),
                estimate: b[j],
                std_error: se,
                t: b[j] / se,
                p_value: p_two_sided_t(b[j] / se, df),
            }
        })
        .collect()
}

/// One provider's row of the fixed model (`None` where suppressed or not computable).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProviderEffect {
    pub group: String,
    pub n: usize,
    pub suppressed: bool,
    pub estimate: Option<f64>,
    pub std_error: Option<f64>,
    pub conf_low: Option<f64>,
    pub conf_high: Option<f64>,
    pub p_value: Option<f64>,
    pub p_value_bh: Option<f64>,
    pub effect_size: Option<f64>,
    pub effect_size_std_error: Option<f64>,
    pub boot_conf_low: Option<f64>,
    pub boot_conf_high: Option<f64>,
    /// Degrees of freedom of the t interval and p-value (Satterthwaite under CR2).
    pub df: Option<f64>,
    /// Clusters with at least one of the provider's students (with clusters).
    pub treated_clusters: Option<usize>,
    /// Wild cluster restricted bootstrap: symmetric p-value of `effect = 0` and the
    /// interval by test inversion (ends may be infinite).
    pub wild_p_value: Option<f64>,
    pub wild_conf_low: Option<f64>,
    pub wild_conf_high: Option<f64>,
}

/// The errors-in-variables part of a fixed fit.
#[derive(Clone, Debug, PartialEq)]
pub struct EivSummary {
    pub naive: Vec<f64>,
    pub s_pre: f64,
    pub implied_reliability: f64,
}

/// The fixed model's results.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedProviders {
    pub terms: Vec<Term>,
    pub providers: Vec<ProviderEffect>,
    pub fit: FixedFit,
    /// The covariance of `spec.std_errors` (of the naive fit under the errors-in-variables
    /// correction, whose own covariance gives the intervals).
    pub covariance: Covariance,
    /// Degrees of freedom of the coefficients' p-values (`n − k`, or `G − 1` with clusters;
    /// the provider rows carry their own, Satterthwaite under CR2).
    pub interval_df: f64,
    pub wild: Option<WildSummary>,
    pub eiv: Option<EivSummary>,
    pub comparison_n: usize,
}

/// The fixed model's design: `(Intercept)` unless absorbing, the regressors, then the
/// provider indicators.
fn fixed_design(s: &Sample, intercept: bool) -> Result<Design, DesignError> {
    let mut b = Design::builder(s.y.len());
    if intercept {
        b = b.intercept()?;
    }
    for name in s.regressors.names() {
        b = b.numeric(name, s.regressors.column(name)?.iter().copied())?;
    }
    Ok(b.indicators(&s.group_column, &s.groups, Some(&String::new()))?.build())
}

/// Fits the fixed model: `y ~ pre + covariates + provider indicators`, absorbing the fixed
/// effects, with HC1 (t with `n − k` df), CR1 (t with `G − 1` df) or CR2 (t with the
/// Satterthwaite df of each provider contrast) standard errors, and optionally the wild
/// cluster restricted bootstrap of each provider effect.
pub fn fixed_providers(s: &Sample, spec: &FixedProvidersSpec) -> Result<FixedProviders, ProvidersError> {
    check_spec(spec)?;
    let comparison = s.groups.code(&String::new());
    let Some(comparison) = comparison else {
        return Err(ProvidersError::NoComparison { group: s.group_column.clone(), comparison: s.comparison.clone() });
    };
    let x = fixed_design(s, spec.absorb.is_empty())?;
    let (n, p) = (x.rows(), x.cols());
    let factors: Vec<_> = spec.absorb.iter().map(Encoding::factor).collect();
    let cluster = spec.cluster.as_ref().map(Encoding::factor);
    let fit = FixedSpec { absorb: &factors, ..FixedSpec::default() }.fit(x.view(), ArrayView1::from(&s.y))?;
    let covariance = fit.vcov(&match (spec.std_errors, cluster) {
        (StdErrors::Cr1, Some(cluster)) => Vcov::Cr1 { cluster },
        (StdErrors::Cr2, Some(cluster)) => Vcov::Cr2 { cluster },
        _ => Vcov::Hc1,
    })?;
    let (mut b, mut cov) = (fit.coefficients.clone(), covariance.matrix.clone());
    // Degrees of freedom for t intervals: G - 1 with clusters (Stata's convention), else n - k.
    let df = covariance.n_clusters.map_or(fit.df_residual as f64, |g| (g - 1) as f64);
    let mut eiv = None;
    if let Some(error) = &spec.measurement_error {
        let pre = x.index(&s.pre)?;
        let e = fit_eiv_within(x.as_slice(), n, p, &s.y, pre, error, &factors, cluster)?;
        eiv = Some(EivSummary { naive: e.naive, s_pre: e.s_pre, implied_reliability: e.implied_reliability });
        b = e.coefficients;
        cov = e.covariance;
    }
    let providers: Vec<(usize, usize)> = (0..s.groups.levels.len())
        .filter(|&k| k != comparison)
        .map(|k| x.index(&format!("{}={}", s.group_column, s.groups.levels[k])).map(|j| (k, j)))
        .collect::<Result<_, _>>()?;
    let members = s.groups.members();
    // (SE, df) per provider: from the covariance, or CR2 with Satterthwaite df.
    let tests: Vec<Option<(f64, f64)>> = providers
        .iter()
        .map(|&(k, j)| -> Result<_, ProvidersError> {
            if members[k].len() < spec.min_cell {
                return Ok(None);
            }
            match (spec.std_errors, cluster) {
                (StdErrors::Cr2, Some(c)) => {
                    let t = fit.cr2_test(&c, &unit(p, j), spec.level)?;
                    Ok(Some((t.se, t.df)))
                }
                _ => Ok(Some((cov[j * p + j].sqrt(), df))),
            }
        })
        .collect::<Result<_, _>>()?;
    let mut rows = provider_rows(s, spec, &providers, &b, &tests, comparison);
    if let Some(c) = &spec.cluster {
        for (r, &(k, _)) in rows.iter_mut().zip(&providers) {
            let mut seen = vec![false; c.levels.len()];
            members[k].iter().for_each(|&i| seen[c.codes[i]] = true);
            r.treated_clusters = Some(seen.iter().filter(|&&v| v).count());
        }
    }
    if spec.bootstrap > 0 {
        let columns: Vec<usize> = providers.iter().map(|&(_, j)| j).collect();
        let (lo, hi) = bootstrap_providers(&x, &s.y, spec, &columns)?;
        for ((r, l), h) in rows.iter_mut().zip(lo).zip(hi) {
            if !r.suppressed {
                (r.boot_conf_low, r.boot_conf_high) = (l, h);
            }
        }
    }
    let wild = match (&spec.wild, &spec.cluster) {
        (Some(w), Some(c)) => wild_providers(&fit, spec, w, &c.codes, &providers, &mut rows)?,
        _ => None,
    };
    Ok(FixedProviders {
        terms: terms(x.names(), &b, &cov, df),
        providers: rows,
        fit,
        covariance,
        interval_df: df,
        wild,
        eiv,
        comparison_n: s.count(comparison),
    })
}

/// The combinations of options the fixed model rejects.
fn check_spec(spec: &FixedProvidersSpec) -> Result<(), ProvidersError> {
    if spec.cluster.is_none() && spec.std_errors != StdErrors::Hc1 {
        return Err(ProvidersError::NeedsCluster(spec.std_errors.label()));
    }
    if spec.cluster.is_none() && spec.wild.is_some() {
        return Err(ProvidersError::WildNeedsCluster);
    }
    if spec.measurement_error.is_some() {
        if spec.std_errors == StdErrors::Cr2 {
            return Err(ProvidersError::NotWithEiv("CR2"));
        }
        if spec.wild.is_some() {
            return Err(ProvidersError::NotWithEiv("the wild cluster bootstrap"));
        }
    }
    Ok(())
}

/// The unit contrast of coefficient `j` among `p`.
fn unit(p: usize, j: usize) -> Vec<f64> {
    let mut c = vec![0.0; p];
    c[j] = 1.0;
    c
}

/// The wild cluster restricted bootstrap of each reported provider's effect (null 0) on the
/// within-transformed design of `fit`, clustered by `cluster`; fills the rows' wild columns.
fn wild_providers(
    fit: &FixedFit,
    spec: &FixedProvidersSpec,
    w: &WildOptions,
    cluster: &[usize],
    providers: &[(usize, usize)],
    rows: &mut [ProviderEffect],
) -> Result<Option<WildSummary>, ProvidersError> {
    let (n, p) = (fit.n, fit.coefficients.len());
    // The within-transformed outcome is the fitted part plus the residuals.
    let y: Vec<f64> = (0..n)
        .map(|i| fit.residuals[i] + (0..p).map(|j| fit.within_x[j * n + i] * fit.coefficients[j]).sum::<f64>())
        .collect();
    let x = ArrayView2::from_shape((n, p).f(), &fit.within_x[..]).expect("n rows of p columns");
    let wild = WildSpec { weights: w.weights, reps: w.reps, seed: w.seed, level: spec.level, absorbed: fit.k - p };
    let mut summary = None;
    for (r, &(_, j)) in rows.iter_mut().zip(providers) {
        if r.suppressed {
            continue;
        }
        // an end the test never rejects is ±∞ (stats::wild decides it from the p-value's limit)
        let t = wild.test(x, ArrayView1::from(&y), cluster, &unit(p, j), 0.0)?;
        (r.wild_p_value, r.wild_conf_low, r.wild_conf_high) =
            (Some(t.p_symmetric), Some(t.conf_low), Some(t.conf_high));
        summary =
            Some(WildSummary { weights: t.weights, reps: t.reps, enumerated: t.enumerated, clusters: t.clusters });
    }
    Ok(summary)
}

/// The providers' rows: estimate, SE, t interval and p-value from `tests` (SE and df per
/// provider, `None` where suppressed), BH p-values across the reported providers, and the
/// covariate-adjusted Hedges' g with the same SE on the g scale.
fn provider_rows(
    s: &Sample,
    spec: &FixedProvidersSpec,
    providers: &[(usize, usize)],
    b: &[f64],
    tests: &[Option<(f64, f64)>],
    comparison: usize,
) -> Vec<ProviderEffect> {
    let members = s.groups.members();
    let y_of = |k: usize| -> Vec<f64> { members[k].iter().map(|&i| s.y[i]).collect() };
    let comparison_y = y_of(comparison);
    let mut rows: Vec<ProviderEffect> = providers
        .iter()
        .zip(tests)
        .map(|(&(k, j), test)| {
            let n = members[k].len();
            let group = s.groups.levels[k].clone();
            let Some((se, df)) = *test else {
                return ProviderEffect { group, n, suppressed: true, ..ProviderEffect::default() };
            };
            let t = qt(0.5 + spec.level / 2.0, df);
            // Covariate-adjusted Hedges' g: the estimate over the pooled unadjusted SD of the
            // outcome of the provider's and the comparison students (WWC); its SE is the
            // estimate's SE on the same scale (omega / pooled SD).
            let mine = y_of(k);
            let h = (mine.len() >= 2 && comparison_y.len() >= 2)
                .then(|| {
                    adjusted_g(b[j], sd(&mine), sd(&comparison_y), mine.len() as u64, comparison_y.len() as u64).ok()
                })
                .flatten();
            ProviderEffect {
                group,
                n,
                suppressed: false,
                estimate: Some(b[j]),
                std_error: Some(se),
                conf_low: Some(b[j] - t * se),
                conf_high: Some(b[j] + t * se),
                p_value: Some(p_two_sided_t(b[j] / se, df)),
                df: Some(df),
                effect_size: h.as_ref().map(|h| h.g),
                effect_size_std_error: h.as_ref().map(|h| h.omega / h.s_pooled * se),
                ..ProviderEffect::default()
            }
        })
        .collect();
    // Benjamini-Hochberg across the providers reported (suppressed ones excluded).
    let raw: Vec<f64> = rows.iter().map(|r| r.p_value.unwrap_or(f64::NAN)).collect();
    for (r, v) in rows.iter_mut().zip(benjamini_hochberg(&raw)) {
        r.p_value_bh = if v.is_nan() { None } else { Some(v) };
    }
    rows
}

/// Sample standard deviation.
fn sd(rows: &[f64]) -> f64 {
    let m = rows.iter().sum::<f64>() / rows.len() as f64;
    (rows.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (rows.len() as f64 - 1.0)).sqrt()
}

/// Lower and upper bootstrap endpoints per provider.
type BootEnds = (Vec<Option<f64>>, Vec<Option<f64>>);

/// BCa intervals of the coefficients in `columns` by resampling clusters (or students) and
/// refitting the fixed model on each replicate.
fn bootstrap_providers(
    x: &Design,
    y: &[f64],
    spec: &FixedProvidersSpec,
    columns: &[usize],
) -> Result<BootEnds, ProvidersError> {
    let (n, p) = (x.rows(), x.cols());
    let x = x.as_slice();
    let k = columns.len();
    let (unit_of, units): (Vec<usize>, usize) = match &spec.cluster {
        Some(c) => (c.codes.clone(), c.levels.len()),
        None => ((0..n).collect(), n),
    };
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); units];
    for (i, &u) in unit_of.iter().enumerate() {
        rows_of[u].push(i);
    }
    let pick = |b: &[f64]| -> Vec<f64> { columns.iter().map(|&j| b[j]).collect() };
    // Without absorbed effects a replicate only sums per-cluster cross products.
    let gram = spec.absorb.is_empty().then(|| ClusterGram::new(x, n, p, y, &unit_of, units));
    let refit = |drawn: &[usize]| -> Vec<f64> {
        if let Some(g) = &gram {
            return g.coefficients(drawn).map_or(vec![f64::NAN; k], |b| pick(&b));
        }
        let rows: Vec<usize> = drawn.iter().flat_map(|&u| rows_of[u].iter().copied()).collect();
        let m = rows.len();
        let mut xb = Vec::with_capacity(m * p);
        for j in 0..p {
            xb.extend(rows.iter().map(|&i| x[j * n + i]));
        }
        let yb: Vec<f64> = rows.iter().map(|&i| y[i]).collect();
        let codes: Vec<Encoding<String>> = spec
            .absorb
            .iter()
            .map(|f| Encoding { levels: f.levels.clone(), codes: rows.iter().map(|&i| f.codes[i]).collect() })
            .collect();
        let factors: Vec<_> = codes.iter().map(Encoding::factor).collect();
        let xb = ArrayView2::from_shape((m, p).f(), &xb[..]).expect("m rows of p columns");
        match (FixedSpec { absorb: &factors, ..FixedSpec::default() }).fit(xb, ArrayView1::from(&yb)) {
            Ok(f) => pick(&f.coefficients),
            Err(_) => vec![f64::NAN; k],
        }
    };
    let all: Vec<usize> = (0..units).collect();
    let t0 = refit(&all);
    let plan = Plan { units, strata: None, reps: spec.bootstrap, seed: spec.seed };
    let t = replicates_multi(&plan, refit)?;
    let jack = jackknife(units, refit);
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for c in 0..k {
        let tk: Vec<f64> = t.iter().map(|r| r[c]).collect();
        let l: Vec<f64> = jack.iter().map(|r| (units as f64 - 1.0) * (t0[c] - r[c])).collect();
        match bca(&tk, t0[c], &l, spec.level) {
            Ok(iv) if l.iter().all(|v| v.is_finite()) => {
                lo.push(Some(iv.low));
                hi.push(Some(iv.high));
            }
            _ => {
                lo.push(None);
                hi.push(None);
            }
        }
    }
    Ok((lo, hi))
}

/// One group's row of the random model (`values` is `None` where suppressed): estimate
/// (unshrunk mean residual), std_error, conf_low, conf_high (normal), shrunk,
/// shrunk_std_error, reliability.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomGroup {
    pub group: String,
    pub n: usize,
    pub suppressed: bool,
    pub values: Option<[f64; 7]>,
}

/// The random model's results.
#[derive(Clone, Debug, PartialEq)]
pub struct RandomGroups {
    pub terms: Vec<Term>,
    pub groups: Vec<RandomGroup>,
    pub fit: RandomFit,
}

/// Fits `y ~ (Intercept) + pre + covariates + (1 | group)` by REML; every group, the
/// comparison group included, gets its unshrunk and shrunken effect.
pub fn random_groups(s: &Sample, level: f64, min_cell: usize) -> Result<RandomGroups, ProvidersError> {
    let mut b = Design::builder(s.y.len()).intercept()?;
    for name in s.regressors.names() {
        b = b.numeric(name, s.regressors.column(name)?.iter().copied())?;
    }
    let x = b.build();
    let (n, p) = (x.rows(), x.cols());
    let g = &s.groups;
    let spec = RandomSpec { group: g.factor(), likelihood: Likelihood::Reml };
    let fit = spec.fit(x.view(), ArrayView1::from(&s.y))?;
    let z = qnorm(0.5 + level / 2.0);
    let groups = g
        .levels
        .iter()
        .zip(&fit.groups)
        .enumerate()
        .map(|(k, (label, e))| {
            let suppressed = s.count(k) < min_cell;
            let values = [
                e.mean_residual,
                e.std_error,
                e.mean_residual - z * e.std_error,
                e.mean_residual + z * e.std_error,
                e.shrunk,
                e.shrunk_std_error,
                e.reliability,
            ];
            RandomGroup { group: label.clone(), n: e.n, suppressed, values: (!suppressed).then_some(values) }
        })
        .collect();
    Ok(RandomGroups { terms: terms(x.names(), &fit.coefficients, &fit.covariance, (n - p) as f64), groups, fit })
}

/// Dose-response curves of `value` on `dose`, one per provider (non-empty label, in level
/// order) and one pooled over all of them, `(all tutored)`; pointwise intervals are
/// cluster-robust when `cluster` labels are given. A group whose curve cannot be fitted
/// keeps its reason.
pub fn dose_curves(
    groups: &Encoding<String>,
    dose: &[f64],
    value: &[f64],
    cluster: Option<&[String]>,
    spec: &DoseSpec,
) -> Vec<(String, Result<DoseCurve, VamError>)> {
    let members = groups.members();
    let mut sets: Vec<(String, Vec<usize>)> = groups
        .levels
        .iter()
        .zip(&members)
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, rows)| (g.clone(), rows.clone()))
        .collect();
    let tutored = (0..groups.len()).filter(|&i| !groups.levels[groups.codes[i]].is_empty()).collect();
    sets.push(("(all tutored)".into(), tutored));
    sets.into_iter()
        .map(|(name, rows)| {
            let d: Vec<f64> = rows.iter().map(|&i| dose[i]).collect();
            let v: Vec<f64> = rows.iter().map(|&i| value[i]).collect();
            let cl = cluster.map(|c| Encoding::new(rows.iter().map(|&i| c[i].clone()), LevelOrder::Sorted));
            let curve = dose_response(&d, &v, cl.as_ref().map(Encoding::factor), spec);
            (name, curve)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 students: comparison (""), "A" (+2) and "B" (−1, only 5 students), pre slope 0.5.
    fn sample() -> Sample {
        let labels: Vec<String> = (0..60).map(|i| ["", "A", "", "A", "B"][i % 5].to_string()).collect();
        let pre: Vec<f64> = (0..60).map(|i| ((i * 37) % 23) as f64).collect();
        let noise = |i: usize| (((i * 7919) % 13) as f64 - 6.0) / 10.0;
        let y: Vec<f64> = (0..60)
            .map(|i| {
                let effect = match labels[i].as_str() {
                    "A" => 2.0,
                    "B" => -1.0,
                    _ => 0.0,
                };
                1.0 + 0.5 * pre[i] + effect + noise(i)
            })
            .collect();
        Sample {
            y,
            regressors: Design::builder(60).numeric("pre", pre).unwrap().build(),
            pre: "pre".into(),
            group_column: "provider".into(),
            groups: Encoding::new(labels, LevelOrder::Sorted),
            comparison: "none".into(),
        }
    }

    fn spec(min_cell: usize) -> FixedProvidersSpec {
        FixedProvidersSpec {
            absorb: Vec::new(),
            cluster: None,
            std_errors: StdErrors::Hc1,
            wild: None,
            measurement_error: None,
            level: 0.95,
            min_cell,
            bootstrap: 0,
            seed: 1,
        }
    }

    #[test]
    fn provider_effects_are_the_named_indicator_coefficients() {
        let s = sample();
        let f = fixed_providers(&s, &spec(10)).unwrap();
        let names: Vec<&str> = f.terms.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["(Intercept)", "pre", "provider=A", "provider=B"]);
        assert_eq!(f.providers.len(), 2);
        let (a, b) = (&f.providers[0], &f.providers[1]);
        assert_eq!((a.group.as_str(), a.n, a.suppressed), ("A", 24, false));
        assert_eq!(a.estimate, Some(f.terms[2].estimate));
        assert!((a.estimate.unwrap() - 2.0).abs() < 0.3, "{a:?}");
        assert!(a.conf_low.unwrap() < a.estimate.unwrap() && a.estimate.unwrap() < a.conf_high.unwrap());
        // B has 12 students: reported at min_cell 10, suppressed at 13.
        assert_eq!((b.n, b.suppressed), (12, false));
        let hidden = fixed_providers(&s, &spec(13)).unwrap();
        let b = &hidden.providers[1];
        assert!(b.suppressed && b.estimate.is_none() && b.p_value_bh.is_none() && b.effect_size.is_none());
        assert_eq!(hidden.terms, f.terms, "suppression hides rows, not coefficients");
        assert_eq!(f.comparison_n, 24);
        assert_eq!(f.covariance.kind.label(), "HC1");
    }

    #[test]
    fn std_errors_need_clusters_and_treated_clusters_are_counted() {
        let s = sample();
        let e = fixed_providers(&s, &FixedProvidersSpec { std_errors: StdErrors::Cr2, ..spec(10) }).unwrap_err();
        assert_eq!(e, ProvidersError::NeedsCluster("CR2"));
        let wild = Some(WildOptions { weights: Weights::Rademacher, reps: 99, seed: 1 });
        let e = fixed_providers(&s, &FixedProvidersSpec { wild, ..spec(10) }).unwrap_err();
        assert_eq!(e, ProvidersError::WildNeedsCluster);
        // 6 clusters of 10 consecutive students: A (rows 1, 3 mod 5) is in all 6, B (4 mod 5) too.
        let cluster = Encoding::new((0..60).map(|i| format!("c{}", i / 10)), LevelOrder::Sorted);
        let eiv = Some(MeasurementError::Reliability(0.8));
        let cr2 = FixedProvidersSpec { cluster: Some(cluster.clone()), std_errors: StdErrors::Cr2, ..spec(10) };
        let e = fixed_providers(&s, &FixedProvidersSpec { measurement_error: eiv.clone(), ..cr2.clone() }).unwrap_err();
        assert_eq!(e, ProvidersError::NotWithEiv("CR2"));
        let f = fixed_providers(&s, &cr2).unwrap();
        assert_eq!(f.covariance.kind.label(), "CR2");
        let a = &f.providers[0];
        assert_eq!(a.treated_clusters, Some(6));
        let df = a.df.unwrap();
        assert!(df > 0.0 && df < 5.0, "Satterthwaite df below G - 1 = 5: {df}");
        let t = qt(0.975, df);
        assert!((a.conf_high.unwrap() - a.estimate.unwrap() - t * a.std_error.unwrap()).abs() < 1e-12);
        // the effect size's SE is the estimate's SE on the g scale
        let ratio = a.effect_size_std_error.unwrap() / a.std_error.unwrap();
        assert!((ratio - a.effect_size.unwrap() / a.estimate.unwrap()).abs() < 1e-12);
        let w = fixed_providers(&s, &FixedProvidersSpec { wild, ..cr2 }).unwrap();
        let summary = w.wild.unwrap();
        // 2^6 = 64 <= 99 sign vectors: enumerated
        assert_eq!((summary.clusters, summary.reps, summary.enumerated), (6, 64, true));
        let a = &w.providers[0];
        assert!(a.wild_conf_low.unwrap() < a.estimate.unwrap() && a.estimate.unwrap() < a.wild_conf_high.unwrap());
    }

    #[test]
    fn without_comparison_students_the_error_names_the_comparison_value() {
        let mut s = sample();
        s.groups = Encoding::new(s.groups.levels.iter().map(|_| "A".to_string()).cycle().take(60), LevelOrder::Sorted);
        let e = fixed_providers(&s, &spec(10)).unwrap_err().to_string();
        assert!(e.contains("no comparison students") && e.contains("\"none\""), "{e}");
    }

    #[test]
    fn random_groups_cover_the_comparison_group_and_a_missing_pretest_name_is_an_error() {
        let s = sample();
        let r = random_groups(&s, 0.95, 10).unwrap();
        let groups: Vec<&str> = r.groups.iter().map(|g| g.group.as_str()).collect();
        assert_eq!(groups, ["", "A", "B"]);
        assert!(r.groups.iter().all(|g| g.values.is_some()));
        let mut bad = sample();
        bad.pre = "prior".into();
        let e = fixed_providers(
            &bad,
            &FixedProvidersSpec { measurement_error: Some(MeasurementError::Reliability(0.8)), ..spec(10) },
        )
        .unwrap_err();
        assert!(matches!(e, ProvidersError::Design(DesignError::MissingColumn { .. })), "{e}");
    }
}
