//! Each provider's metric with its bootstrap interval: share meeting, mean CGI, median
//! SGP, or the effect size of the covariate-adjusted model against the comparison group.

use super::*;
use crate::stats::warning::{Warning, WarningCode};
use ndarray::ArrayView1;

pub use crate::contract::results::{Estimate, RobustTest};
use crate::contract::terms::InferenceMethod;
use crate::stats::design::{Design, DesignError};
use crate::stats::dist::pt;
use crate::stats::vam::fixed::{FixedFit, FixedSpec, LeastSquares};

impl Estimate {
    /// The same estimate moved by `delta`: point, interval ends and replicates.
    pub fn shifted_by(mut self, delta: f64) -> Estimate {
        if delta != 0.0 {
            self.point += delta;
            self.low = self.low.map(|x| x + delta);
            self.high = self.high.map(|x| x + delta);
            self.replicates.iter_mut().for_each(|r| *r += delta);
        }
        self
    }

    /// The probability that the metric is at least `t`: for the bootstrap the share of
    /// replicates at least `t` (0 or 1 by the point estimate when there are none); for `cr2`
    /// `F_ν((θ̂ − t)/se)` with Student's t of the Satterthwaite df ν; 0.5 (no evidence
    /// either way) when a model-based method gave no standard error.
    pub fn p_at_least(&self, t: f64) -> f64 {
        if !self.inference.is_bootstrap() {
            return match &self.robust {
                Some(RobustTest { se, df: Some(df), .. }) if *se > 0.0 => pt((self.point - t) / se, *df),
                _ => 0.5,
            };
        }
        if self.replicates.is_empty() {
            return if self.point >= t { 1.0 } else { 0.0 };
        }
        self.replicates.iter().filter(|&&v| v >= t).count() as f64 / self.replicates.len() as f64
    }
}

/// FNV-1a of a label, to derive per-provider seeds.
pub(super) fn fnv(text: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// The seed of one provider's (or the comparison group's) replicates.
pub fn stream_seed(seed: u64, label: &str) -> u64 {
    seed ^ fnv(label).rotate_left(17)
}

/// Dense cluster indices of some labels, in order of first appearance.
pub(super) fn dense(labels: &[&str]) -> (Vec<usize>, usize) {
    // numbered in order of first appearance: the map only finds a label's number
    let mut map: hashbrown::HashMap<&str, usize> = hashbrown::HashMap::with_capacity(labels.len().min(1 << 20));
    let mut out = Vec::with_capacity(labels.len());
    for l in labels {
        let next = map.len();
        out.push(*map.entry(l).or_insert(next));
    }
    (out, map.len())
}

pub(super) fn interval(
    method: IntervalMethod,
    t: &[f64],
    t0: f64,
    influence: impl FnOnce() -> Vec<f64>,
    level: f64,
) -> Result<bootstrap::Interval, bootstrap::BootstrapError> {
    match method {
        IntervalMethod::Percentile => bootstrap::percentile(t, level),
        IntervalMethod::Basic => bootstrap::basic(t, t0, level),
        IntervalMethod::Normal => bootstrap::normal(t, t0, level),
        IntervalMethod::Bca => bootstrap::bca(t, t0, &influence(), level),
    }
}

pub(super) fn finish(
    point: f64,
    reps: Vec<f64>,
    iv: Result<bootstrap::Interval, bootstrap::BootstrapError>,
    m: IntervalMethod,
    level: f64,
    units: usize,
) -> Estimate {
    let n = reps.len() as f64;
    let mean = reps.iter().sum::<f64>() / n;
    let se = (reps.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let (low, high, warnings) = match iv {
        Ok(i) => (Some(i.low), Some(i.high), i.warnings),
        Err(e) => {
            // every replicate equal (e.g. all students met): the interval collapses to it
            let all_equal = reps.iter().all(|&v| v == reps[0]);
            if all_equal && !reps.is_empty() {
                (
                    Some(reps[0]),
                    Some(reps[0]),
                    vec![Warning::new(
                        WarningCode::BootstrapInterval,
                        format!("{e}; the interval is the single replicate value"),
                    )],
                )
            } else {
                (None, None, vec![Warning::new(WarningCode::BootstrapInterval, e.to_string())])
            }
        }
    };
    Estimate {
        point,
        low,
        high,
        method: m,
        level,
        boot_se: se.is_finite().then_some(se),
        units,
        warnings,
        replicates: reps,
        inference: InferenceMethod::Bootstrap,
        robust: None,
    }
}

pub(super) fn no_interval(point: f64, units: usize, level: f64, m: IntervalMethod, why: &str) -> Estimate {
    Estimate {
        point,
        low: None,
        high: None,
        method: m,
        level,
        boot_se: None,
        units,
        warnings: vec![Warning::new(WarningCode::BootstrapInterval, why)],
        replicates: Vec::new(),
        inference: InferenceMethod::Bootstrap,
        robust: None,
    }
}

/// How a metric is resampled for its interval: the cluster of each value (`cluster[i]` in
/// `0..clusters`), the replicates and seed, and the interval's method and level.
#[derive(Clone, Copy, Debug)]
pub struct Resampling<'a> {
    pub cluster: &'a [usize],
    pub clusters: usize,
    pub reps: usize,
    pub seed: u64,
    pub method: IntervalMethod,
    pub level: f64,
}

/// Mean of `values` with a cluster bootstrap.
pub fn estimate_mean(values: &[f64], r: &Resampling) -> Estimate {
    let Resampling { cluster, clusters, reps, seed, method, level } = *r;
    let point = values.iter().sum::<f64>() / values.len() as f64;
    if clusters < 2 {
        return no_interval(point, clusters, level, method, "fewer than 2 resampling units: no interval");
    }
    let sums = ClusterSums::new(values, cluster, clusters);
    let plan = Plan { units: clusters, strata: None, reps, seed };
    let t = match sums.replicates(&plan) {
        Ok(t) => t,
        Err(e) => return no_interval(point, clusters, level, method, &e.to_string()),
    };
    let iv = interval(method, &t, point, || mean_influence(values, cluster, clusters, point), level);
    finish(point, t, iv, method, level, clusters)
}

/// Jackknife influence of each cluster on a ratio mean: `(m − 1)(θ − θ₍₋ⱼ₎)`.
pub(super) fn mean_influence(values: &[f64], cluster: &[usize], clusters: usize, theta: f64) -> Vec<f64> {
    let mut s = vec![0.0; clusters];
    let mut c = vec![0.0; clusters];
    for (&v, &k) in values.iter().zip(cluster) {
        s[k] += v;
        c[k] += 1.0;
    }
    let (st, ct) = (s.iter().sum::<f64>(), c.iter().sum::<f64>());
    let m = clusters as f64;
    (0..clusters).map(|j| (m - 1.0) * (theta - (st - s[j]) / (ct - c[j]))).collect()
}

/// Median of integer values 1..=99 (SGP) from a histogram.
pub(super) fn median_from_counts(counts: &[u64; 100]) -> f64 {
    let n: u64 = counts.iter().sum();
    if n == 0 {
        return f64::NAN;
    }
    let kth = |k: u64| -> f64 {
        // value of the k-th smallest (0-based)
        let mut acc = 0;
        for (v, &c) in counts.iter().enumerate() {
            acc += c;
            if acc > k {
                return v as f64;
            }
        }
        99.0
    };
    if n % 2 == 1 { kth(n / 2) } else { (kth(n / 2 - 1) + kth(n / 2)) / 2.0 }
}

/// Median SGP with a cluster bootstrap.
pub fn estimate_median_sgp(sgp: &[u8], r: &Resampling) -> Estimate {
    let Resampling { cluster, clusters, reps, seed, method, level } = *r;
    let mut per: Vec<Vec<(u8, u64)>> = vec![Vec::new(); clusters];
    {
        let mut dense_counts: Vec<BTreeMap<u8, u64>> = vec![BTreeMap::new(); clusters];
        for (&v, &k) in sgp.iter().zip(cluster) {
            *dense_counts[k].entry(v).or_default() += 1;
        }
        for (k, m) in dense_counts.into_iter().enumerate() {
            per[k] = m.into_iter().collect();
        }
    }
    let total = |drawn: &mut dyn Iterator<Item = usize>| {
        let mut counts = [0u64; 100];
        for k in drawn {
            for &(v, c) in &per[k] {
                counts[v as usize] += c;
            }
        }
        median_from_counts(&counts)
    };
    let point = total(&mut (0..clusters));
    if clusters < 2 {
        return no_interval(point, clusters, level, method, "fewer than 2 resampling units: no interval");
    }
    let plan = Plan { units: clusters, strata: None, reps, seed };
    let t = match bootstrap::replicates(&plan, |d| total(&mut d.iter().copied())) {
        Ok(t) => t,
        Err(e) => return no_interval(point, clusters, level, method, &e.to_string()),
    };
    let influence = || {
        let m = clusters as f64;
        (0..clusters).map(|j| (m - 1.0) * (point - total(&mut (0..clusters).filter(|&k| k != j)))).collect()
    };
    let iv = interval(method, &t, point, influence, level);
    finish(point, t, iv, method, level, clusters)
}

/// What the effect-size model gives: the adjusted residual of every analysed student
/// (post minus the covariate part of the fit) and each provider's WWC SD.
#[derive(Clone, Debug)]
pub struct EffectModel {
    /// Per student (same order as the input), `None` when not in the model.
    pub residual: Vec<Option<f64>>,
    /// Within-grade SD of the post-test per provider and for the comparison group.
    pub sd_within: BTreeMap<String, (f64, usize)>,
    pub sd_comparison: (f64, usize),
    pub columns: usize,
    /// The fitted regression, for the cluster-robust inference on a provider's coefficient
    /// ([`super::robust`]).
    pub fit: FittedEffect,
}

/// The effect model's regression as fitted: design, post-test, least-squares fit, the
/// student behind each row and each provider's column.
#[derive(Clone, Debug)]
pub struct FittedEffect {
    pub design: Design,
    pub y: Vec<f64>,
    pub fit: FixedFit,
    /// `rows[r]`: the index (into the students) of row `r`.
    pub rows: Vec<usize>,
    /// The column of each provider's indicator.
    pub provider_column: BTreeMap<String, usize>,
}

/// Why the effect-size model cannot be fitted (the text is the settlement's warning).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EffectModelError {
    #[error("no analysed comparison students: the effect size against a comparison group cannot be computed")]
    NoComparison,
    #[error("a student in the model has no {0}")]
    MissingTest(&'static str),
    #[error("effect-size model: {0}")]
    LeastSquares(String),
    #[error("effect-size model: the covariates are collinear (a grade with a constant pre-test?)")]
    Collinear,
    #[error("effect-size model: {0}")]
    Design(#[from] DesignError),
}

/// Fits the effect-size model (see the module docs) on counted tutored and analysed
/// comparison students. `in_model[i]` says who enters.
pub fn effect_model(students: &[Student], in_model: &[bool]) -> Result<EffectModel, EffectModelError> {
    let idx: Vec<usize> = (0..students.len()).filter(|&i| in_model[i]).collect();
    if !idx.iter().any(|&i| students[i].provider.is_none()) {
        return Err(EffectModelError::NoComparison);
    }
    let grades: Vec<i32> = idx.iter().map(|&i| students[i].grade).collect::<BTreeSet<_>>().into_iter().collect();
    let providers: Vec<&str> =
        idx.iter().filter_map(|&i| students[i].provider.as_deref()).collect::<BTreeSet<_>>().into_iter().collect();
    // standardise the pre-test within grade
    let mut stats: BTreeMap<i32, (f64, f64, f64)> = BTreeMap::new();
    for &i in &idx {
        let e = stats.entry(students[i].grade).or_insert((0.0, 0.0, 0.0));
        let x = students[i].pre.ok_or(EffectModelError::MissingTest("pre-test"))?;
        e.0 += 1.0;
        e.1 += x;
        e.2 += x * x;
    }
    let z_of = |g: i32, x: f64| {
        let (n, s, ss) = stats[&g];
        let m = s / n;
        let sd = ((ss - n * m * m) / (n - 1.0).max(1.0)).max(0.0).sqrt();
        if sd > 0.0 { (x - m) / sd } else { 0.0 }
    };
    let y: Vec<f64> = idx
        .iter()
        .map(|&i| students[i].post.ok_or(EffectModelError::MissingTest("post-test")))
        .collect::<Result<_, _>>()?;
    let (x, covariates) = effect_design(students, &idx, &grades, &providers, z_of)?;
    let spec = FixedSpec { absorb: &[], solver: LeastSquares::Qr };
    let fit = spec.fit(x.view(), ArrayView1::from(&y)).map_err(|e| EffectModelError::LeastSquares(e.to_string()))?;
    let beta = &fit.coefficients;
    if covariates.iter().any(|&j| !beta[j].is_finite()) {
        return Err(EffectModelError::Collinear);
    }
    let mut residual = vec![None; students.len()];
    let view = x.view();
    let columns: Vec<ArrayView1<f64>> = covariates.iter().map(|&j| view.column(j)).collect();
    for (r, &i) in idx.iter().enumerate() {
        let covpart: f64 = columns.iter().zip(&covariates).map(|(c, &j)| c[r] * beta[j]).sum();
        residual[i] = Some(y[r] - covpart);
    }
    // within-grade SDs of the post-test by provider and for the comparison group
    let mut acc: BTreeMap<(Option<&str>, i32), (f64, f64, f64)> = BTreeMap::new();
    for (r, &i) in idx.iter().enumerate() {
        let s = &students[i];
        let e = acc.entry((s.provider.as_deref(), s.grade)).or_insert((0.0, 0.0, 0.0));
        let v = y[r];
        e.0 += 1.0;
        e.1 += v;
        e.2 += v * v;
    }
    let mut pooled: BTreeMap<Option<&str>, (f64, f64, usize)> = BTreeMap::new();
    for ((who, _), (n, s, ss)) in acc {
        let e = pooled.entry(who).or_insert((0.0, 0.0, 0));
        e.0 += (ss - s * s / n).max(0.0);
        e.1 += n - 1.0;
        e.2 += n as usize;
    }
    let sd = |(ss, df, n): (f64, f64, usize)| (if df > 0.0 { (ss / df).sqrt() } else { f64::NAN }, n);
    let sd_comparison = sd(pooled[&None]);
    let sd_within = pooled.iter().filter_map(|(k, v)| k.map(|k| (k.to_string(), sd(*v)))).collect();
    let provider_column = providers
        .iter()
        .map(|&p| x.index(&format!("provider={p}")).map(|j| (p.to_string(), j)))
        .collect::<Result<_, _>>()?;
    let columns = x.cols();
    let fit = FittedEffect { design: x, y, fit, rows: idx, provider_column };
    Ok(EffectModel { residual, sd_within, sd_comparison, columns, fit })
}

/// The effect-size model's design over the students `idx`, by name: per grade `g` (in
/// order) `grade={g}`, `pre_z:grade={g}` and `pre_z^2:grade={g}` (the pre-test standardised
/// within grade by `z_of`, and its square), then one `provider={p}` indicator per provider
/// (the comparison group is the reference). Returns the design and the positions of the
/// grade columns (the covariate part of the fit).
fn effect_design(
    students: &[Student],
    idx: &[usize],
    grades: &[i32],
    providers: &[&str],
    z_of: impl Fn(i32, f64) -> f64,
) -> Result<(Design, Vec<usize>), EffectModelError> {
    let n = idx.len();
    let z: Vec<f64> = idx
        .iter()
        .map(|&i| students[i].pre.map(|x| z_of(students[i].grade, x)).ok_or(EffectModelError::MissingTest("pre-test")))
        .collect::<Result<_, _>>()?;
    let grade_of = |r: usize| students[idx[r]].grade;
    let mut b = Design::builder(n);
    let mut names = Vec::with_capacity(3 * grades.len());
    for &g in grades {
        let on = |r: usize| grade_of(r) == g;
        let (one, lin, sq) = (format!("grade={g}"), format!("pre_z:grade={g}"), format!("pre_z^2:grade={g}"));
        b = b.numeric(&one, (0..n).map(|r| if on(r) { 1.0 } else { 0.0 }))?;
        b = b.numeric(&lin, (0..n).map(|r| if on(r) { z[r] } else { 0.0 }))?;
        b = b.numeric(&sq, (0..n).map(|r| if on(r) { z[r] * z[r] } else { 0.0 }))?;
        names.extend([one, lin, sq]);
    }
    for &p in providers {
        let of = |r: usize| students[idx[r]].provider.as_deref() == Some(p);
        b = b.numeric(&format!("provider={p}"), (0..n).map(|r| if of(r) { 1.0 } else { 0.0 }))?;
    }
    let x = b.build();
    let covariates = names.iter().map(|c| x.index(c)).collect::<Result<_, _>>()?;
    Ok((x, covariates))
}

impl EffectModel {
    /// WWC pooled SD and ω for a provider.
    pub fn scale(&self, provider: &str) -> Option<(f64, f64)> {
        let &(st, nt) = self.sd_within.get(provider)?;
        let (sc, nc) = self.sd_comparison;
        let n = (nt + nc) as f64;
        let pooled = (((nt as f64 - 1.0) * st * st + (nc as f64 - 1.0) * sc * sc) / (n - 2.0)).sqrt();
        (pooled.is_finite() && pooled > 0.0).then(|| (pooled, small_sample_correction((nt + nc) as u64)))
    }
}

/// A provider's effect size: `ω (mean residual of the provider − mean residual of the
/// comparison group) / pooled SD`, bootstrapped with the comparison replicates `comp_reps`.
#[allow(clippy::too_many_arguments)]
pub fn estimate_effect(
    resid: &[f64],
    cluster: &[usize],
    clusters: usize,
    comp: (&[f64], &[usize], usize),
    comp_reps: &[f64],
    scale: (f64, f64),
    seed: u64,
    method: IntervalMethod,
    level: f64,
) -> Estimate {
    let (sd, omega) = scale;
    let f = omega / sd;
    let mt = resid.iter().sum::<f64>() / resid.len() as f64;
    let mc = comp.0.iter().sum::<f64>() / comp.0.len() as f64;
    let point = f * (mt - mc);
    if clusters < 2 || comp_reps.is_empty() {
        return no_interval(point, clusters, level, method, "fewer than 2 resampling units: no interval");
    }
    let sums = ClusterSums::new(resid, cluster, clusters);
    let plan = Plan { units: clusters, strata: None, reps: comp_reps.len(), seed };
    let t = match sums.replicates(&plan) {
        Ok(t) => t.iter().zip(comp_reps).map(|(a, c)| f * (a - c)).collect::<Vec<f64>>(),
        Err(e) => return no_interval(point, clusters, level, method, &e.to_string()),
    };
    let influence = || {
        let mut l: Vec<f64> = mean_influence(resid, cluster, clusters, mt).iter().map(|v| f * v).collect();
        let (cr, cc, ck) = comp;
        l.extend(mean_influence(cr, cc, ck, mc).iter().map(|v| -f * v));
        l
    };
    let iv = interval(method, &t, point, influence, level);
    finish(point, t, iv, method, level, clusters)
}

/// A provider's share meeting minus the comparison group's (`values` and `comp.0` the 0/1
/// outcomes): the effect-size estimator of [`estimate_effect`] at unit scale, so that the
/// provider's units are resampled with its own seed and each replicate subtracts the
/// comparison replicate of the same index (`comp_reps`, shared by every provider).
#[allow(clippy::too_many_arguments)]
pub fn estimate_share_difference(
    values: &[f64],
    cluster: &[usize],
    clusters: usize,
    comp: (&[f64], &[usize], usize),
    comp_reps: &[f64],
    seed: u64,
    method: IntervalMethod,
    level: f64,
) -> Estimate {
    estimate_effect(values, cluster, clusters, comp, comp_reps, (1.0, 1.0), seed, method, level)
}

pub(super) fn cluster_label(level: ClusterLevel, s: &Student) -> String {
    match level {
        ClusterLevel::Student => format!("{}\u{1f}{}", s.student_id, s.subject),
        ClusterLevel::Tutor => s.tutor.clone().unwrap_or_else(|| format!("(no tutor) {}", s.student_id)),
        ClusterLevel::School => s.school.clone(),
    }
}

/// Dense resampling-unit indices of the students `idx` at the cluster level.
pub(super) fn clusters_of(level: ClusterLevel, students: &[Student], idx: &[usize]) -> (Vec<usize>, usize) {
    if level == ClusterLevel::Student {
        // a student's label is its ID and subject: numbered by the pair, without the text
        let mut map: hashbrown::HashMap<(&str, &str), usize> = hashbrown::HashMap::with_capacity(idx.len());
        let out = idx
            .iter()
            .map(|&i| {
                let next = map.len();
                *map.entry((students[i].student_id.as_str(), students[i].subject.as_str())).or_insert(next)
            })
            .collect();
        return (out, map.len());
    }
    let labels: Vec<String> = idx.iter().map(|&i| cluster_label(level, &students[i])).collect();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    dense(&refs)
}

/// Why a provider (or the comparison group) has no estimate (the text is `no_estimate` in
/// the outputs).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NoEstimate {
    #[error("no counted students")]
    NoCountedStudents,
    #[error("no SGP")]
    NoSgp,
    #[error("no value")]
    NoValue,
    #[error("the effect size is estimated with the comparison group")]
    EffectSizeWithComparison,
    #[error("the effect-size model could not be fitted (see warnings)")]
    NoEffectModel,
    #[error("the pooled SD is zero or undefined")]
    NoPooledSd,
    #[error("no analysed comparison students: the share meeting cannot be compared with the comparison group's")]
    NoComparisonShare,
}

/// The metric and interval over the students `idx` (share, mean CGI or median SGP). For
/// `share_meeting_vs_comparison` this is the plain share meeting (the comparison group's own
/// level; a provider's metric subtracts it, [`estimate_share_difference`]).
pub(super) fn provider_estimate(
    contract: &Contract,
    students: &[Student],
    idx: &[usize],
    met: &[Option<bool>],
    seed: u64,
) -> Result<Estimate, NoEstimate> {
    let kind = contract.metric.kind;
    let inf = &contract.inference;
    let level = contract.decision.level;
    if idx.is_empty() {
        return Err(NoEstimate::NoCountedStudents);
    }
    let (cl, k) = clusters_of(inf.cluster, students, idx);
    let r = Resampling { cluster: &cl, clusters: k, reps: inf.replicates, seed, method: inf.interval, level };
    match kind {
        MetricKind::MedianSgp => {
            let v: Vec<u8> = idx
                .iter()
                .map(|&i| students[i].score.as_ref().ok().and_then(|s| s.sgp).ok_or(NoEstimate::NoSgp))
                .collect::<Result<_, _>>()?;
            Ok(estimate_median_sgp(&v, &r))
        }
        MetricKind::ShareMeeting | MetricKind::MeanCgi | MetricKind::ShareMeetingVsComparison => {
            let v: Vec<f64> = idx
                .iter()
                .map(|&i| metric_value(kind, met[i] == Some(true), &students[i]).ok_or(NoEstimate::NoValue))
                .collect::<Result<_, _>>()?;
            if inf.method == InferenceMethod::ClusterT {
                return Ok(super::cluster_t::mean_estimate(&v, &cl, k, inf.interval, level));
            }
            Ok(estimate_mean(&v, &r))
        }
        MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison => Err(NoEstimate::EffectSizeWithComparison),
    }
}

/// The comparison group: its counted students, and for the effect size their residuals,
/// resampling units and bootstrap replicates (shared by every provider), otherwise the
/// group's own metric.
pub(super) struct Comparison {
    pub(super) resid: Vec<f64>,
    pub(super) cluster: Vec<usize>,
    pub(super) k: usize,
    pub(super) reps: Vec<f64>,
    pub(super) estimate: Option<Estimate>,
    /// Counted comparison students.
    pub(super) idx: Vec<usize>,
}

pub(super) fn comparison_group(
    contract: &Contract,
    students: &[Student],
    counted: &[bool],
    met: &[Option<bool>],
    effect: Option<&EffectModel>,
) -> Comparison {
    let inf = &contract.inference;
    let idx: Vec<usize> = (0..students.len()).filter(|&i| students[i].provider.is_none() && counted[i]).collect();
    let (cl, k) = clusters_of(inf.cluster, students, &idx);
    let seed = stream_seed(inf.seed, "\u{0}comparison");
    match (effect, contract.metric.kind) {
        (Some(m), kind) if kind.is_effect() => {
            let r: Vec<f64> = idx.iter().map(|&i| m.residual[i].expect("in model")).collect();
            let reps = if k >= 2 {
                let sums = ClusterSums::new(&r, &cl, k);
                let plan = Plan { units: k, strata: None, reps: inf.replicates, seed };
                sums.replicates(&plan).unwrap_or_default()
            } else {
                Vec::new()
            };
            Comparison { resid: r, cluster: cl, k, reps, estimate: None, idx }
        }
        (_, MetricKind::ShareMeetingVsComparison) => {
            // the group's share with its replicates: the replicates serve every provider
            let est = provider_estimate(contract, students, &idx, met, seed).ok();
            let v: Vec<f64> = idx.iter().map(|&i| if met[i] == Some(true) { 1.0 } else { 0.0 }).collect();
            let reps = est.as_ref().map(|e| e.replicates.clone()).unwrap_or_default();
            Comparison { resid: v, cluster: cl, k, reps, estimate: est, idx }
        }
        _ => {
            let est = provider_estimate(contract, students, &idx, met, seed);
            Comparison { resid: Vec::new(), cluster: Vec::new(), k: 0, reps: Vec::new(), estimate: est.ok(), idx }
        }
    }
}
