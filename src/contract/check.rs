//! Settlement: from scored students to each provider's metric, interval, decision per tier,
//! payment with its arithmetic, equity-group tables with suppression, fairness checks, and
//! a per-student audit trail.
//!
//! ## Who counts
//! A tutored student *counts* for a provider when the data layer analysed them (a pre-test,
//! enrolled in time, met the dosage rule, a post-test) and the outcome could be computed
//! (the norms cover the student's group and start score when the outcome needs norms).
//! Everyone else is listed with the first rule they failed: `no pre-test`, `enrolment`,
//! `dosage`, `no post-test`, `no norm`.
//!
//! ## The metric and its interval
//! Per provider, over counted students:
//! - `share_meeting`: the mean of the 0/1 outcome;
//! - `mean_cgi`: the mean CGI;
//! - `median_sgp`: the median SGP (R's `median`: the mean of the two middle values when n
//!   is even);
//! - `effect_size`: the provider coefficient of an OLS of the post-test on, per grade, an
//!   intercept, the standardised pre-test z and z² (z within grade over all analysed
//!   students), and one indicator per provider, fitted on counted tutored students and
//!   analysed comparison students; divided by the WWC pooled SD (`((n_T − 1)s_T² + (n_C −
//!   1)s_C²)/(N − 2)`, each s the within-grade SD of the post-test) and multiplied by ω = 1 −
//!   3/(4N − 9).
//!
//! The interval is a bootstrap over the resampling unit of `[inference] cluster` (students,
//! tutors or schools of the provider), with `replicates` replicates seeded from the contract
//! seed and the provider ID (so adding a provider does not change another's replicates).
//! For `effect_size` the comparison group is resampled once per replicate (the same
//! comparison replicates serve every provider) and the covariate coefficients and the SD are
//! held at their full-sample values: their sampling variance, O(1/N) over all analysed
//! students, is small against a provider's O(1/n); this is an approximation stated in
//! every report. Interval methods are those of [`crate::stats::bootstrap`] (percentile,
//! BCa with jackknife influence over units, basic, normal), at `[decision] level`.
//!
//! ## Decisions
//! Per tier t: `point`: met if the estimate ≥ t, else not met. `lower_bound`: met if the
//! interval's lower end ≥ t, not met if its upper end < t, otherwise inconclusive.
//! `probability`: with p = the share of bootstrap replicates ≥ t (the bootstrap
//! distribution read as an approximate posterior under a flat prior), met if p ≥ level, not
//! met if p ≤ 1 − level, otherwise inconclusive. The tier reached is the highest tier met
//! such that every lower tier is met too. An inconclusive tier earns nothing.
//!
//! ## Payment
//! base = base_fixed + base_per_student × (students of `base_basis`);
//! outcome = outcome_per_student × (counted students meeting the outcome) (zero when
//! `per_student_requires_tier` and no tier is reached), or pool × pool_share of the tier
//! reached with pool = outcome_pool + outcome_pool_per_student × counted;
//! penalty = penalty_per_regressed × (counted students with growth < regressed_below);
//! payable = min(cap, max(0, base + outcome − penalty)). Each step is written out.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::terms::{
    BaseBasis, ClusterLevel, Contract, DecisionRule, IntervalMethod, MetricKind, OutcomeKind, Threshold,
};
use crate::stats::bootstrap::{self, ClusterSums, Plan};
use crate::stats::effect::small_sample_correction;
use crate::stats::linalg;
use crate::stats::normal::qnorm;
use crate::stats::wwc;

/// Norm results of one student (what the outcome and the metric read).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct NormScore {
    pub expected_growth: Option<f64>,
    pub growth_sd: Option<f64>,
    pub cgi: Option<f64>,
    pub cgp: Option<f64>,
    pub sgp: Option<u8>,
}

/// The first rule a student failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    NoPreTest,
    Enrolment,
    Dosage,
    NoPostTest,
    NoNorm,
}

impl Rule {
    pub const ALL: [Rule; 5] = [Rule::NoPreTest, Rule::Enrolment, Rule::Dosage, Rule::NoPostTest, Rule::NoNorm];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::NoPreTest => "no_pre_test",
            Rule::Enrolment => "enrolment",
            Rule::Dosage => "dosage",
            Rule::NoPostTest => "no_post_test",
            Rule::NoNorm => "no_norm",
        }
    }
}

/// One student as settlement sees them (built by the caller from the analytic file and
/// the norms).
#[derive(Clone, Debug, PartialEq)]
pub struct Student {
    pub student_id: String,
    pub subject: String,
    pub school: String,
    pub grade: i32,
    /// `None`: comparison student.
    pub provider: Option<String>,
    pub tutor: Option<String>,
    pub groups: BTreeMap<String, String>,
    /// Analysed by the data layer (pre, eligible, post).
    pub analysed: bool,
    /// Why not analysed, with the rule (tutored and comparison students alike).
    pub excluded: Option<(Rule, String)>,
    /// Tutored: enrolled in time and met the dosage rule.
    pub served: bool,
    pub pre: Option<f64>,
    pub post: Option<f64>,
    pub pre_sem: Option<f64>,
    pub weeks: Option<f64>,
    pub sessions: u32,
    pub minutes: f64,
    /// Norm results; `Err` names why the student could not be scored.
    pub score: Result<NormScore, String>,
}

impl Student {
    pub fn growth(&self) -> Option<f64> {
        Some(self.post? - self.pre?)
    }
}

/// Whether a student meets the outcome; `Err` when it cannot be computed.
pub fn outcome_met(kind: OutcomeKind, at_least: Option<f64>, s: &Student) -> Result<bool, String> {
    let growth = s.growth().ok_or("no growth (missing pre or post)")?;
    let k = at_least.unwrap_or(0.0);
    if kind == OutcomeKind::ScaleGrowth {
        return Ok(growth >= k);
    }
    let score = s.score.as_ref().map_err(Clone::clone)?;
    let need = |v: Option<f64>, what: &str| v.ok_or_else(|| format!("the norms give no {what}"));
    Ok(match kind {
        OutcomeKind::GrowthVsNorm => growth >= need(score.expected_growth, "expected growth")?,
        OutcomeKind::Cgp => need(score.cgp, "CGP")? >= k,
        OutcomeKind::Cgi => need(score.cgi, "CGI")? >= k,
        OutcomeKind::Sgp => f64::from(score.sgp.ok_or("the norms give no SGP")?) >= k,
        OutcomeKind::PercentTypical => {
            let e = need(score.expected_growth, "expected growth")?;
            if e <= 0.0 {
                return Err(format!(
                    "expected growth {e:.2} is not positive, so percent of typical growth is undefined"
                ));
            }
            100.0 * growth / e >= k
        }
        OutcomeKind::ScaleGrowth => unreachable!("handled above"),
    })
}

/// Decision on one tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Met,
    NotMet,
    Inconclusive,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "not met",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// A tier's decision with what it rested on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TierDecision {
    pub name: String,
    pub threshold: f64,
    pub verdict: Verdict,
    /// Share of bootstrap replicates at least the threshold (`None` without an estimate,
    /// and in public outputs of a provider under `min_cell`).
    pub p_at_least: Option<f64>,
    /// The interval contains the threshold.
    pub straddles: bool,
}

/// Decides one tier from the estimate, interval and replicates.
pub fn decide(rule: DecisionRule, level: f64, estimate: f64, low: f64, high: f64, p_at_least: f64, t: f64) -> Verdict {
    match rule {
        DecisionRule::Point => {
            if estimate >= t {
                Verdict::Met
            } else {
                Verdict::NotMet
            }
        }
        DecisionRule::LowerBound => {
            if low >= t {
                Verdict::Met
            } else if high < t {
                Verdict::NotMet
            } else {
                Verdict::Inconclusive
            }
        }
        DecisionRule::Probability => {
            if p_at_least >= level {
                Verdict::Met
            } else if p_at_least <= 1.0 - level {
                Verdict::NotMet
            } else {
                Verdict::Inconclusive
            }
        }
    }
}

/// The tiers and the highest tier reached (every tier up to it met).
pub fn decide_tiers(
    thresholds: &[Threshold],
    rule: DecisionRule,
    level: f64,
    est: &Estimate,
) -> (Vec<TierDecision>, Option<usize>) {
    let mut out = Vec::new();
    let mut reached = None;
    let mut chain = true;
    for (i, t) in thresholds.iter().enumerate() {
        let p = est.p_at_least(t.value);
        let (low, high) = (est.low.unwrap_or(f64::NEG_INFINITY), est.high.unwrap_or(f64::INFINITY));
        let verdict = decide(rule, level, est.point, low, high, p, t.value);
        let name = if t.name.is_empty() { format!("tier {}", i + 1) } else { t.name.clone() };
        chain = chain && verdict == Verdict::Met;
        if chain {
            reached = Some(i);
        }
        out.push(TierDecision {
            name,
            threshold: t.value,
            verdict,
            p_at_least: Some(p),
            straddles: low <= t.value && t.value <= high,
        });
    }
    (out, reached)
}

/// A metric with its bootstrap interval and replicates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    pub point: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub method: String,
    pub level: f64,
    /// Standard deviation of the replicates.
    pub boot_se: Option<f64>,
    pub units: usize,
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub replicates: Vec<f64>,
}

impl Estimate {
    /// Share of replicates at least `t` (0 or 1 by the point estimate when there are none).
    pub fn p_at_least(&self, t: f64) -> f64 {
        if self.replicates.is_empty() {
            return if self.point >= t { 1.0 } else { 0.0 };
        }
        self.replicates.iter().filter(|&&v| v >= t).count() as f64 / self.replicates.len() as f64
    }
}

/// FNV-1a of a label, to derive per-provider seeds.
fn fnv(text: &str) -> u64 {
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
fn dense(labels: &[&str]) -> (Vec<usize>, usize) {
    let mut map: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(labels.len());
    for l in labels {
        let next = map.len();
        out.push(*map.entry(l).or_insert(next));
    }
    (out, map.len())
}

fn interval(
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

fn method_name(m: IntervalMethod) -> &'static str {
    match m {
        IntervalMethod::Percentile => "percentile",
        IntervalMethod::Bca => "bca",
        IntervalMethod::Basic => "basic",
        IntervalMethod::Normal => "normal",
    }
}

fn finish(
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
                (Some(reps[0]), Some(reps[0]), vec![format!("{e}; the interval is the single replicate value")])
            } else {
                (None, None, vec![e.to_string()])
            }
        }
    };
    Estimate {
        point,
        low,
        high,
        method: method_name(m).into(),
        level,
        boot_se: se.is_finite().then_some(se),
        units,
        warnings,
        replicates: reps,
    }
}

fn no_interval(point: f64, units: usize, level: f64, m: IntervalMethod, why: &str) -> Estimate {
    Estimate {
        point,
        low: None,
        high: None,
        method: method_name(m).into(),
        level,
        boot_se: None,
        units,
        warnings: vec![why.into()],
        replicates: Vec::new(),
    }
}

/// Mean of `values` with a cluster bootstrap (`cluster[i]` in `0..clusters`).
pub fn estimate_mean(
    values: &[f64],
    cluster: &[usize],
    clusters: usize,
    reps: usize,
    seed: u64,
    method: IntervalMethod,
    level: f64,
) -> Estimate {
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
fn mean_influence(values: &[f64], cluster: &[usize], clusters: usize, theta: f64) -> Vec<f64> {
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
fn median_from_counts(counts: &[u64; 100]) -> f64 {
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
pub fn estimate_median_sgp(
    sgp: &[u8],
    cluster: &[usize],
    clusters: usize,
    reps: usize,
    seed: u64,
    method: IntervalMethod,
    level: f64,
) -> Estimate {
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
}

/// Fits the effect-size model (see the module docs) on counted tutored and analysed
/// comparison students. `in_model[i]` says who enters.
pub fn effect_model(students: &[Student], in_model: &[bool]) -> Result<EffectModel, String> {
    let idx: Vec<usize> = (0..students.len()).filter(|&i| in_model[i]).collect();
    if !idx.iter().any(|&i| students[i].provider.is_none()) {
        return Err(
            "no analysed comparison students: the effect size against a comparison group cannot be computed".into()
        );
    }
    let grades: Vec<i32> = idx.iter().map(|&i| students[i].grade).collect::<BTreeSet<_>>().into_iter().collect();
    let providers: Vec<&str> =
        idx.iter().filter_map(|&i| students[i].provider.as_deref()).collect::<BTreeSet<_>>().into_iter().collect();
    // standardise the pre-test within grade
    let mut stats: BTreeMap<i32, (f64, f64, f64)> = BTreeMap::new();
    for &i in &idx {
        let e = stats.entry(students[i].grade).or_insert((0.0, 0.0, 0.0));
        let x = students[i].pre.ok_or("a student in the model has no pre-test")?;
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
    let g_index: BTreeMap<i32, usize> = grades.iter().enumerate().map(|(k, &g)| (g, k)).collect();
    let p_index: BTreeMap<&str, usize> = providers.iter().enumerate().map(|(k, &p)| (p, k)).collect();
    let cov = 3 * grades.len();
    let p = cov + providers.len();
    let n = idx.len();
    let mut x = vec![0.0; n * p];
    let mut y = vec![0.0; n];
    for (r, &i) in idx.iter().enumerate() {
        let s = &students[i];
        let gk = g_index[&s.grade];
        let z = z_of(s.grade, s.pre.expect("checked"));
        x[(3 * gk) * n + r] = 1.0;
        x[(3 * gk + 1) * n + r] = z;
        x[(3 * gk + 2) * n + r] = z * z;
        if let Some(pr) = &s.provider {
            x[(cov + p_index[pr.as_str()]) * n + r] = 1.0;
        }
        y[r] = s.post.ok_or("a student in the model has no post-test")?;
    }
    let fit = linalg::qr_lstsq(&x, n, p, &y).map_err(|e| format!("effect-size model: {e}"))?;
    let beta = fit.coefficients;
    if beta.iter().take(cov).any(|b| !b.is_finite()) {
        return Err("effect-size model: the covariates are collinear (a grade with a constant pre-test?)".into());
    }
    let mut residual = vec![None; students.len()];
    for (r, &i) in idx.iter().enumerate() {
        let covpart: f64 = (0..cov).map(|j| x[j * n + r] * beta[j]).sum();
        residual[i] = Some(y[r] - covpart);
    }
    // within-grade SDs of the post-test by provider and for the comparison group
    let mut acc: BTreeMap<(Option<&str>, i32), (f64, f64, f64)> = BTreeMap::new();
    for &i in &idx {
        let s = &students[i];
        let e = acc.entry((s.provider.as_deref(), s.grade)).or_insert((0.0, 0.0, 0.0));
        let v = s.post.expect("checked");
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
    Ok(EffectModel { residual, sd_within, sd_comparison, columns: p })
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

/// The payment of one provider with its arithmetic.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PaymentResult {
    pub base: f64,
    pub outcome: f64,
    pub penalty: f64,
    pub before_cap: f64,
    pub cap: Option<f64>,
    pub payable: f64,
    pub arithmetic: Vec<String>,
}

/// Counts a payment needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct PaymentCounts {
    pub rostered: u64,
    pub served: u64,
    pub counted: u64,
    pub met: u64,
    pub regressed: u64,
}

fn money(v: f64) -> String {
    let neg = v < 0.0;
    let cents = (v.abs() * 100.0).round() as u128;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{frac:02}", if neg { "-" } else { "" })
}

/// Payment by the contract's terms given the counts and the tier reached.
pub fn payment(contract: &Contract, counts: PaymentCounts, reached: Option<usize>) -> PaymentResult {
    let p = &contract.payment;
    let mut lines = Vec::new();
    let (basis_n, basis_name) = match p.base_basis {
        BaseBasis::Rostered => (counts.rostered, "rostered"),
        BaseBasis::Served => (counts.served, "served (enrolled in time and met the dosage rule)"),
        BaseBasis::Counted => (counts.counted, "counted"),
    };
    let base = p.base_fixed + p.base_per_student * basis_n as f64;
    lines.push(format!(
        "base = {} fixed + {} x {basis_n} students {basis_name} = {}",
        money(p.base_fixed),
        money(p.base_per_student),
        money(base)
    ));
    let outcome = if p.has_pool() {
        let pool = p.outcome_pool + p.outcome_pool_per_student * counts.counted as f64;
        let pool_line = format!(
            "outcome pool = {} + {} x {} counted = {}",
            money(p.outcome_pool),
            money(p.outcome_pool_per_student),
            counts.counted,
            money(pool)
        );
        lines.push(pool_line);
        match reached {
            Some(i) => {
                let share = contract.thresholds[i].pool_share.unwrap_or(0.0);
                let name = tier_name(&contract.thresholds, i);
                let v = pool * share;
                lines.push(format!("outcome = {} x {share} ({name} reached) = {}", money(pool), money(v)));
                v
            }
            None => {
                lines.push("outcome = 0.00 (no tier reached)".into());
                0.0
            }
        }
    } else if p.per_student_requires_tier && reached.is_none() {
        lines.push(format!(
            "outcome = 0.00 ({} students met the outcome, but payment per student requires the first tier, which was not reached)",
            counts.met
        ));
        0.0
    } else {
        let v = p.outcome_per_student * counts.met as f64;
        lines.push(format!(
            "outcome = {} x {} counted students meeting the outcome = {}",
            money(p.outcome_per_student),
            counts.met,
            money(v)
        ));
        v
    };
    let penalty = p.penalty_per_regressed * counts.regressed as f64;
    lines.push(format!(
        "penalty = {} x {} counted students with growth below {} = {}",
        money(p.penalty_per_regressed),
        counts.regressed,
        p.regressed_below,
        money(penalty)
    ));
    let raw = base + outcome - penalty;
    let before_cap = raw.max(0.0);
    if raw < 0.0 {
        lines.push(format!("base + outcome - penalty = {} is negative: floored at 0.00", money(raw)));
    } else {
        lines.push(format!("base + outcome - penalty = {}", money(before_cap)));
    }
    let payable = match p.cap {
        Some(c) if before_cap > c => {
            lines.push(format!("cap {} applies: payable = {}", money(c), money(c)));
            c
        }
        Some(c) => {
            lines.push(format!("cap {} not reached: payable = {}", money(c), money(before_cap)));
            before_cap
        }
        None => {
            lines.push(format!("no cap: payable = {}", money(before_cap)));
            before_cap
        }
    };
    PaymentResult { base, outcome, penalty, before_cap, cap: p.cap, payable, arithmetic: lines }
}

fn tier_name(t: &[Threshold], i: usize) -> String {
    if t[i].name.is_empty() { format!("tier {}", i + 1) } else { t[i].name.clone() }
}

/// One provider's settlement.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderResult {
    pub provider: String,
    pub counts: ProviderCounts,
    /// Tutored students not counted, by the first rule failed.
    pub excluded: BTreeMap<String, u64>,
    pub estimate: Option<Estimate>,
    /// Why there is no estimate (no counted students, no comparison group, ...).
    pub no_estimate: Option<String>,
    /// Fewer counted students than `min_cell`: public tables show no metric.
    pub suppressed: bool,
    pub tiers: Vec<TierDecision>,
    pub tier_reached: Option<String>,
    pub payment: PaymentResult,
}

/// One cell of the equity table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupCell {
    pub provider: String,
    pub group: String,
    pub value: String,
    /// Withheld (`None`) when the cell is suppressed.
    pub counted: Option<u64>,
    pub met: Option<u64>,
    pub metric: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// `small cell` (fewer than min_cell) or `complementary` (hides a small cell's count).
    pub suppressed: Option<String>,
}

/// Baseline equivalence of one provider's counted students against the comparison group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Equivalence {
    pub provider: String,
    /// Hedges' g of the pre-test standardised within grade.
    pub g: f64,
    pub n_t: u64,
    pub n_c: u64,
    /// `satisfied` (|g| ≤ 0.05), `requires adjustment` (≤ 0.25), `not satisfied`.
    pub rating: String,
}

/// Attrition of one provider against the comparison group (WWC).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AttritionRow {
    pub provider: String,
    pub assigned: u64,
    pub analysed: u64,
    pub overall: f64,
    pub differential: f64,
    pub boundary: String,
    pub rating: String,
}

/// Share of a provider's rostered students excluded by each rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExclusionRow {
    pub provider: String,
    pub rostered: u64,
    pub rule: String,
    pub excluded: u64,
    pub share: f64,
}

/// Fairness checks.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Fairness {
    pub regression_to_mean: Vec<String>,
    pub equivalence: Vec<Equivalence>,
    pub attrition: Vec<AttritionRow>,
    pub exclusions: Vec<ExclusionRow>,
    pub warnings: Vec<String>,
}

/// One audit row (restricted: names a student).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditRow {
    pub index: usize,
    pub counted: bool,
    pub reason: Option<String>,
    pub met: Option<bool>,
    pub regressed: Option<bool>,
    pub base: f64,
    pub outcome: f64,
    pub penalty: f64,
}

/// Everything a settlement produces.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Settlement {
    pub providers: Vec<ProviderResult>,
    pub comparison: Option<Estimate>,
    pub groups: Vec<GroupCell>,
    pub fairness: Fairness,
    #[serde(skip)]
    pub audit: Vec<AuditRow>,
    pub totals: PaymentResultTotals,
    pub warnings: Vec<String>,
}

/// Counts of one provider as reported: `met` and `regressed` are withheld (`None`) from
/// public outputs when the provider has fewer counted students than `min_cell`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProviderCounts {
    pub rostered: u64,
    pub served: u64,
    pub counted: u64,
    pub met: Option<u64>,
    pub regressed: Option<u64>,
}

impl From<PaymentCounts> for ProviderCounts {
    fn from(c: PaymentCounts) -> Self {
        ProviderCounts {
            rostered: c.rostered,
            served: c.served,
            counted: c.counted,
            met: Some(c.met),
            regressed: Some(c.regressed),
        }
    }
}

/// Sum over providers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PaymentResultTotals {
    pub base: f64,
    pub outcome: f64,
    pub penalty: f64,
    pub payable: f64,
}

fn cluster_label(level: ClusterLevel, s: &Student) -> String {
    match level {
        ClusterLevel::Student => format!("{}\u{1f}{}", s.student_id, s.subject),
        ClusterLevel::Tutor => s.tutor.clone().unwrap_or_else(|| format!("(no tutor) {}", s.student_id)),
        ClusterLevel::School => s.school.clone(),
    }
}

/// Dense resampling-unit indices of the students `idx` at the cluster level.
fn clusters_of(level: ClusterLevel, students: &[Student], idx: &[usize]) -> (Vec<usize>, usize) {
    let labels: Vec<String> = idx.iter().map(|&i| cluster_label(level, &students[i])).collect();
    let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    dense(&refs)
}

/// The per-student value the metric averages (share: 0/1; mean CGI: the CGI).
fn metric_value(kind: MetricKind, met: bool, s: &Student) -> Option<f64> {
    match kind {
        MetricKind::ShareMeeting => Some(if met { 1.0 } else { 0.0 }),
        MetricKind::MeanCgi => s.score.as_ref().ok()?.cgi,
        MetricKind::MedianSgp => s.score.as_ref().ok()?.sgp.map(f64::from),
        MetricKind::EffectSize => None,
    }
}

/// Whether the roster has comparison (untutored) students, as the metric needs: without
/// any, a warning (fairness checks cannot run), and for `effect_size` an error unless the
/// contract sets `require_comparison = false` (README "No silent codes").
pub fn comparison_present(
    contract: &Contract,
    rows: &[crate::data::AnalyticRow],
) -> Result<Vec<String>, crate::error::DataError> {
    if rows.is_empty() || rows.iter().any(|r| r.provider_id.is_none()) {
        return Ok(Vec::new());
    }
    if contract.metric.kind == MetricKind::EffectSize && contract.contract.require_comparison {
        return Err(crate::error::DataError::NoComparison { metric: contract.metric.kind.describe().into() });
    }
    Ok(vec![format!(
        "no comparison students: every roster student has a provider, so baseline equivalence and attrition \
         against a comparison group cannot be checked (comparison codes: {:?}; set [contract] \
         comparison_values if untutored students carry a code)",
        contract.contract.comparison_values
    )])
}

/// Settles a contract over scored students.
pub fn settle(contract: &Contract, students: &[Student]) -> Settlement {
    let kind = contract.metric.kind;
    let inf = &contract.inference;
    let level = contract.decision.level;
    let min_cell = contract.reporting.min_cell as u64;
    let mut warnings = Vec::new();

    // outcome and counted status per student
    let mut met: Vec<Option<bool>> = vec![None; students.len()];
    let mut reason: Vec<Option<(Rule, String)>> = vec![None; students.len()];
    for (i, s) in students.iter().enumerate() {
        if !s.analysed {
            reason[i] = Some(s.excluded.clone().unwrap_or((Rule::NoPostTest, "not analysed".into())));
            continue;
        }
        let outcome = outcome_met(contract.outcome.kind, contract.outcome.at_least, s);
        let metric_ok = match kind {
            MetricKind::EffectSize | MetricKind::ShareMeeting => Ok(()),
            _ => metric_value(kind, false, s).map(|_| ()).ok_or_else(|| {
                s.score.as_ref().err().cloned().unwrap_or_else(|| "the norms give no value for the metric".into())
            }),
        };
        match (outcome, metric_ok) {
            (Ok(m), Ok(())) => met[i] = Some(m),
            (Err(e), _) | (_, Err(e)) => reason[i] = Some((Rule::NoNorm, e)),
        }
    }
    let counted: Vec<bool> = met.iter().map(Option::is_some).collect();

    // effect-size model
    let effect = if kind == MetricKind::EffectSize {
        match effect_model(students, &counted) {
            Ok(m) => Some(m),
            Err(e) => {
                warnings.push(e);
                None
            }
        }
    } else {
        None
    };

    let providers: Vec<String> = {
        let mut set: BTreeSet<String> = students.iter().filter_map(|s| s.provider.clone()).collect();
        if let Some(list) = &contract.contract.providers {
            set.extend(list.iter().cloned());
        }
        set.into_iter().collect()
    };
    let comparison_idx: Vec<usize> =
        (0..students.len()).filter(|&i| students[i].provider.is_none() && counted[i]).collect();

    // comparison replicates (effect size) or the comparison group's own metric
    let (comp_resid, comp_cluster, comp_k, comp_reps, comparison) = {
        let (cl, k) = clusters_of(inf.cluster, students, &comparison_idx);
        let seed = stream_seed(inf.seed, "\u{0}comparison");
        match (&effect, kind) {
            (Some(m), MetricKind::EffectSize) => {
                let r: Vec<f64> = comparison_idx.iter().map(|&i| m.residual[i].expect("in model")).collect();
                let reps = if k >= 2 {
                    let sums = ClusterSums::new(&r, &cl, k);
                    let plan = Plan { units: k, strata: None, reps: inf.replicates, seed };
                    sums.replicates(&plan).unwrap_or_default()
                } else {
                    Vec::new()
                };
                (r, cl, k, reps, None)
            }
            _ => {
                let est = provider_estimate(contract, students, &comparison_idx, &met, seed);
                (Vec::new(), Vec::new(), 0, Vec::new(), est.ok())
            }
        }
    };

    let mut results = Vec::new();
    let mut audit: Vec<AuditRow> = Vec::with_capacity(students.len());
    let mut totals = PaymentResultTotals::default();
    let mut equivalence = Vec::new();
    let mut attrition = Vec::new();
    let mut exclusions = Vec::new();
    let mut rtm = Vec::new();

    // within-grade pre-test standardisation for fairness checks (all analysed students)
    let zpre = within_grade_z(students, &counted);
    let comp_rostered = students.iter().filter(|s| s.provider.is_none()).count() as u64;
    let comp_analysed = comparison_idx.len() as u64;

    for prov in &providers {
        let rows: Vec<usize> = (0..students.len()).filter(|&i| students[i].provider.as_deref() == Some(prov)).collect();
        let idx: Vec<usize> = rows.iter().copied().filter(|&i| counted[i]).collect();
        let regressed_below = contract.payment.regressed_below;
        let is_regressed = |i: usize| students[i].growth().is_some_and(|g| g < regressed_below);
        let counts = PaymentCounts {
            rostered: rows.len() as u64,
            served: rows.iter().filter(|&&i| students[i].served).count() as u64,
            counted: idx.len() as u64,
            met: idx.iter().filter(|&&i| met[i] == Some(true)).count() as u64,
            regressed: idx.iter().filter(|&&i| is_regressed(i)).count() as u64,
        };
        let mut excluded: BTreeMap<String, u64> = BTreeMap::new();
        for &i in &rows {
            if let Some((rule, _)) = &reason[i] {
                *excluded.entry(rule.as_str().to_string()).or_default() += 1;
            }
        }
        for rule in Rule::ALL {
            let n = excluded.get(rule.as_str()).copied().unwrap_or(0);
            exclusions.push(ExclusionRow {
                provider: prov.clone(),
                rostered: counts.rostered,
                rule: rule.as_str().into(),
                excluded: n,
                share: if counts.rostered > 0 { n as f64 / counts.rostered as f64 } else { 0.0 },
            });
        }
        let seed = stream_seed(inf.seed, prov);
        let est: Result<Estimate, String> = if idx.is_empty() {
            Err("no counted students".into())
        } else if kind == MetricKind::EffectSize {
            match &effect {
                None => Err("the effect-size model could not be fitted (see warnings)".into()),
                Some(m) => match m.scale(prov) {
                    None => Err("the pooled SD is zero or undefined".into()),
                    Some(scale) => {
                        let r: Vec<f64> = idx.iter().map(|&i| m.residual[i].expect("in model")).collect();
                        let (cl, k) = clusters_of(inf.cluster, students, &idx);
                        Ok(estimate_effect(
                            &r,
                            &cl,
                            k,
                            (&comp_resid, &comp_cluster, comp_k),
                            &comp_reps,
                            scale,
                            seed,
                            inf.interval,
                            level,
                        ))
                    }
                },
            }
        } else {
            provider_estimate(contract, students, &idx, &met, seed)
        };
        let (tiers, reached) = match &est {
            Ok(e) => decide_tiers(&contract.thresholds, contract.decision.rule, level, e),
            Err(_) => {
                let t = contract
                    .thresholds
                    .iter()
                    .enumerate()
                    .map(|(i, t)| TierDecision {
                        name: tier_name(&contract.thresholds, i),
                        threshold: t.value,
                        verdict: Verdict::NotMet,
                        p_at_least: None,
                        straddles: false,
                    })
                    .collect();
                (t, None)
            }
        };
        let pay = payment(contract, counts, reached);
        totals.base += pay.base;
        totals.outcome += pay.outcome;
        totals.penalty += pay.penalty;
        totals.payable += pay.payable;

        // per-student contributions (before any cap): base by basis, outcome per student or
        // the pool payment spread evenly over counted students
        let p = &contract.payment;
        let pool_each = if p.has_pool() && counts.counted > 0 { pay.outcome / counts.counted as f64 } else { 0.0 };
        let per_student_paid = !(p.has_pool() || (p.per_student_requires_tier && reached.is_none()));
        for &i in &rows {
            let s = &students[i];
            let in_basis = match p.base_basis {
                BaseBasis::Rostered => true,
                BaseBasis::Served => s.served,
                BaseBasis::Counted => counted[i],
            };
            let outcome = if !counted[i] {
                0.0
            } else if p.has_pool() {
                pool_each
            } else if per_student_paid && met[i] == Some(true) {
                p.outcome_per_student
            } else {
                0.0
            };
            audit.push(AuditRow {
                index: i,
                counted: counted[i],
                reason: reason[i].as_ref().map(|(_, r)| r.clone()),
                met: met[i],
                regressed: counted[i].then(|| is_regressed(i)),
                base: if in_basis { p.base_per_student } else { 0.0 },
                outcome,
                penalty: if counted[i] && is_regressed(i) { p.penalty_per_regressed } else { 0.0 },
            });
        }

        // fairness: equivalence, attrition, regression to the mean; a provider under min_cell
        // gets no statistics of its counted students (README "Privacy")
        let suppressed = counts.counted < min_cell;
        let zt: Vec<f64> = if suppressed { Vec::new() } else { idx.iter().filter_map(|&i| zpre[i]).collect() };
        let zc: Vec<f64> = comparison_idx.iter().filter_map(|&i| zpre[i]).collect();
        if zt.len() >= 2 && zc.len() >= 2 {
            let (mt, st) = mean_sd(&zt);
            let (mc, sc) = mean_sd(&zc);
            if let Ok(h) = crate::stats::effect::hedges_g(mt, mc, st, sc, zt.len() as u64, zc.len() as u64) {
                let a = h.g.abs();
                let rating = if a <= 0.05 {
                    "satisfied"
                } else if a <= 0.25 {
                    "requires adjustment"
                } else {
                    "not satisfied"
                };
                equivalence.push(Equivalence {
                    provider: prov.clone(),
                    g: h.g,
                    n_t: zt.len() as u64,
                    n_c: zc.len() as u64,
                    rating: rating.into(),
                });
            }
        }
        if let Some(a) = wwc::attrition(counts.rostered, counts.counted, comp_rostered, comp_analysed) {
            let (boundary, rating) = match contract.reporting.attrition_boundary {
                wwc::Boundary::Cautious => ("cautious", a.cautious),
                wwc::Boundary::Optimistic => ("optimistic", a.optimistic),
            };
            attrition.push(AttritionRow {
                provider: prov.clone(),
                assigned: counts.rostered,
                analysed: counts.counted,
                overall: a.overall,
                differential: a.differential,
                boundary: boundary.into(),
                rating: rating.into(),
            });
        }
        if contract.outcome.kind == OutcomeKind::ScaleGrowth
            && !zt.is_empty()
            && let Some(line) = regression_to_mean(students, &idx, prov)
        {
            rtm.push(line);
        }

        if counts.counted < contract.limits.min_counted {
            warnings.push(format!(
                "{prov}: only {} counted students, fewer than limits.min_counted = {}: its metric and decisions \
                 rest on very few students",
                counts.counted, contract.limits.min_counted
            ));
        }
        let (estimate, no_estimate) = match est {
            Ok(e) => (Some(e), None),
            Err(e) => (None, Some(e)),
        };
        let mut result = ProviderResult {
            provider: prov.clone(),
            counts: counts.into(),
            excluded,
            estimate,
            no_estimate,
            suppressed,
            tiers,
            tier_reached: reached.map(|i| tier_name(&contract.thresholds, i)),
            payment: pay,
        };
        super::suppress::provider(&mut result, contract.reporting.min_cell);
        results.push(result);
    }
    // comparison students in the audit (no payment)
    for &i in (0..students.len()).filter(|&i| students[i].provider.is_none()).collect::<Vec<_>>().iter() {
        audit.push(AuditRow {
            index: i,
            counted: counted[i],
            reason: reason[i].as_ref().map(|(_, r)| r.clone()),
            met: met[i],
            regressed: counted[i].then(|| students[i].growth().is_some_and(|g| g < contract.payment.regressed_below)),
            base: 0.0,
            outcome: 0.0,
            penalty: 0.0,
        });
    }
    audit.sort_by_key(|a| a.index);

    let groups = group_table(contract, students, &counted, &met, effect.as_ref(), &providers);
    let mut fw = Vec::new();
    for e in &equivalence {
        if e.rating == "not satisfied" {
            fw.push(format!(
                "{}: counted students' pre-tests differ from the comparison group's by g = {:.2} (WWC: > 0.25 SD, baseline equivalence not satisfied); comparisons with that group need care",
                e.provider, e.g
            ));
        }
    }
    for a in &attrition {
        if a.rating == "high" {
            fw.push(format!(
                "{}: attrition is high under the {} WWC boundary (overall {:.1}%, differential {:.1} points)",
                a.provider,
                a.boundary,
                100.0 * a.overall,
                100.0 * a.differential
            ));
        }
    }
    Settlement {
        providers: results,
        comparison,
        groups,
        fairness: Fairness { regression_to_mean: rtm, equivalence, attrition, exclusions, warnings: fw },
        audit,
        totals,
        warnings,
    }
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let sd = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (m, sd)
}

/// Pre-test z within grade over the students in `among`.
fn within_grade_z(students: &[Student], among: &[bool]) -> Vec<Option<f64>> {
    let mut by: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for (s, &a) in students.iter().zip(among) {
        if a && let Some(p) = s.pre {
            by.entry(s.grade).or_default().push(p);
        }
    }
    let ms: BTreeMap<i32, (f64, f64)> = by.iter().map(|(g, v)| (*g, mean_sd(v))).collect();
    students
        .iter()
        .zip(among)
        .map(|(s, &a)| {
            let (m, sd) = ms.get(&s.grade)?;
            if a && *sd > 0.0 { Some((s.pre? - m) / sd) } else { None }
        })
        .collect()
}

/// The regression-to-the-mean warning for raw-growth outcomes: with reliability ρ = 1 −
/// mean(SEM²)/var(pre) per grade (all analysed students), the expected spurious gain of a
/// student at x is (1 − ρ)(μ − x); averaged over the provider's counted students.
fn regression_to_mean(students: &[Student], idx: &[usize], provider: &str) -> Option<String> {
    let mut by: BTreeMap<i32, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for s in students.iter().filter(|s| s.analysed) {
        if let (Some(p), Some(sem)) = (s.pre, s.pre_sem) {
            let e = by.entry(s.grade).or_default();
            e.0.push(p);
            e.1.push(sem * sem);
        }
    }
    let stats: BTreeMap<i32, (f64, f64, f64)> = by
        .iter()
        .filter(|(_, (p, _))| p.len() >= 2)
        .map(|(g, (p, s2))| {
            let (m, sd) = mean_sd(p);
            let rho = 1.0 - (s2.iter().sum::<f64>() / s2.len() as f64) / (sd * sd);
            (*g, (m, sd, rho))
        })
        .collect();
    let mut gain = 0.0;
    let mut z = 0.0;
    let mut n = 0.0;
    for &i in idx {
        let s = &students[i];
        if let (Some(&(m, sd, rho)), Some(p)) = (stats.get(&s.grade), s.pre) {
            gain += (1.0 - rho) * (m - p);
            z += (p - m) / sd;
            n += 1.0;
        }
    }
    if n == 0.0 {
        return None;
    }
    let (gain, z) = (gain / n, z / n);
    (z < -0.1).then(|| {
        format!(
            "{provider}: the outcome is raw scale-score growth and counted students started {:.2} SD below their grade's mean; from the tests' reliability regression to the mean alone is expected to add {gain:.2} points of growth per student (classical test theory, (1 - reliability)(mean - score)). Outcomes conditional on the start score (CGI, CGP, growth against norms) do not have this bias.",
            -z
        )
    })
}

/// The metric and interval over the students `idx` (share, mean CGI or median SGP).
fn provider_estimate(
    contract: &Contract,
    students: &[Student],
    idx: &[usize],
    met: &[Option<bool>],
    seed: u64,
) -> Result<Estimate, String> {
    let kind = contract.metric.kind;
    let inf = &contract.inference;
    let level = contract.decision.level;
    if idx.is_empty() {
        return Err("no counted students".into());
    }
    let (cl, k) = clusters_of(inf.cluster, students, idx);
    match kind {
        MetricKind::MedianSgp => {
            let v: Vec<u8> = idx
                .iter()
                .map(|&i| students[i].score.as_ref().ok().and_then(|s| s.sgp).ok_or("no SGP"))
                .collect::<Result<_, _>>()?;
            Ok(estimate_median_sgp(&v, &cl, k, inf.replicates, seed, inf.interval, level))
        }
        MetricKind::ShareMeeting | MetricKind::MeanCgi => {
            let v: Vec<f64> = idx
                .iter()
                .map(|&i| metric_value(kind, met[i] == Some(true), &students[i]).ok_or("no value"))
                .collect::<Result<_, _>>()?;
            Ok(estimate_mean(&v, &cl, k, inf.replicates, seed, inf.interval, level))
        }
        MetricKind::EffectSize => Err("the effect size is estimated with the comparison group".into()),
    }
}

/// Point metric and a normal-approximation interval for a subgroup.
fn group_metric(kind: MetricKind, values: &[f64], level: f64) -> (Option<f64>, Option<f64>, Option<f64>) {
    let n = values.len();
    if n == 0 {
        return (None, None, None);
    }
    let z = qnorm((1.0 + level) / 2.0);
    match kind {
        MetricKind::MedianSgp => {
            let mut v = values.to_vec();
            v.sort_by(f64::total_cmp);
            let med = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
            // distribution-free interval: order statistics n/2 -+ z sqrt(n)/2
            let half = z * (n as f64).sqrt() / 2.0;
            let lo = ((n as f64 / 2.0 - half).floor() as isize).clamp(0, n as isize - 1) as usize;
            let hi = ((n as f64 / 2.0 + half).ceil() as isize).clamp(0, n as isize - 1) as usize;
            (Some(med), Some(v[lo]), Some(v[hi]))
        }
        _ => {
            let (m, sd) = if n >= 2 { mean_sd(values) } else { (values[0], f64::NAN) };
            let se = if kind == MetricKind::ShareMeeting {
                (m * (1.0 - m) / n as f64).sqrt()
            } else {
                sd / (n as f64).sqrt()
            };
            if se.is_finite() { (Some(m), Some(m - z * se), Some(m + z * se)) } else { (Some(m), None, None) }
        }
    }
}

/// One column's cells of the equity table: by group value, the metric values and the count
/// meeting the outcome.
type Cells = BTreeMap<String, (Vec<f64>, u64)>;

/// The equity table: per provider (and `all providers`, and the comparison group) and
/// reporting group value, counted students, students meeting the outcome and the metric with
/// a normal-approximation interval; cells under `min_cell` suppressed, and, where a group
/// has exactly one suppressed cell, the next smallest cell too (so the total cannot reveal it).
fn group_table(
    contract: &Contract,
    students: &[Student],
    counted: &[bool],
    met: &[Option<bool>],
    effect: Option<&EffectModel>,
    providers: &[String],
) -> Vec<GroupCell> {
    let kind = contract.metric.kind;
    let level = contract.decision.level;
    // columns of the table: each provider, all providers, the comparison group
    let mut labels: Vec<String> = providers.to_vec();
    labels.push("all providers".into());
    labels.push("comparison".into());
    let (all, comparison) = (providers.len(), providers.len() + 1);
    let position: BTreeMap<&str, usize> = providers.iter().enumerate().map(|(k, p)| (p.as_str(), k)).collect();
    let comp_mean_by: BTreeMap<(String, String), f64> = match effect {
        Some(m) => {
            let mut acc: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
            for (i, s) in students.iter().enumerate() {
                if s.provider.is_none()
                    && counted[i]
                    && let Some(r) = m.residual[i]
                {
                    for (g, v) in &s.groups {
                        let e = acc.entry((g.clone(), v.clone())).or_default();
                        e.0 += r;
                        e.1 += 1.0;
                    }
                }
            }
            acc.into_iter().map(|(k, (s, n))| (k, s / n)).collect()
        }
        None => BTreeMap::new(),
    };
    // one pass per reporting group: every counted student's value into its columns' cells
    let mut per_group: Vec<Vec<Cells>> = Vec::new();
    for g in &contract.reporting.groups {
        let mut cells: Vec<Cells> = vec![BTreeMap::new(); labels.len()];
        for (i, s) in students.iter().enumerate() {
            if !counted[i] {
                continue;
            }
            let Some(v) = s.groups.get(g) else { continue };
            let value = match (kind, effect) {
                (MetricKind::EffectSize, Some(m)) => {
                    let sd = s.provider.as_deref().and_then(|p| m.scale(p)).map(|x| x.0).unwrap_or(m.sd_comparison.0);
                    m.residual[i].map(|r| (r - comp_mean_by.get(&(g.clone(), v.clone())).copied().unwrap_or(0.0)) / sd)
                }
                _ => metric_value(kind, met[i] == Some(true), s),
            };
            let columns: [Option<usize>; 2] = match s.provider.as_deref() {
                Some(p) => [position.get(p).copied(), Some(all)],
                None => [Some(comparison), None],
            };
            for c in columns.into_iter().flatten() {
                let e = cells[c].entry(v.clone()).or_default();
                if met[i] == Some(true) {
                    e.1 += 1;
                }
                if let Some(x) = value {
                    e.0.push(x);
                }
            }
        }
        per_group.push(cells);
    }
    let mut out = Vec::new();
    for (li, label) in labels.iter().enumerate() {
        for (gi, g) in contract.reporting.groups.iter().enumerate() {
            let cells = std::mem::take(&mut per_group[gi][li]);
            let mut rows: Vec<GroupCell> = cells
                .into_iter()
                .map(|(value, (vals, m))| {
                    let (metric, low, high) = group_metric(kind, &vals, level);
                    GroupCell {
                        provider: label.clone(),
                        group: g.clone(),
                        value,
                        counted: Some(vals.len() as u64),
                        met: Some(m),
                        metric,
                        low,
                        high,
                        suppressed: None,
                    }
                })
                .collect();
            super::suppress::group_cells(&mut rows, contract.reporting.min_cell);
            out.extend(rows);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_from_counts_matches_r_median() {
        let mut c = [0u64; 100];
        for v in [10u8, 50, 60, 70] {
            c[v as usize] += 1;
        }
        assert_eq!(median_from_counts(&c), 55.0);
        c[99] += 1;
        assert_eq!(median_from_counts(&c), 60.0);
    }

    #[test]
    fn decisions_follow_each_rule() {
        use DecisionRule::*;
        // estimate 0.50, interval 0.42..0.58, 70% of replicates >= 0.48
        assert_eq!(decide(Point, 0.9, 0.50, 0.42, 0.58, 0.7, 0.48), Verdict::Met);
        assert_eq!(decide(Point, 0.9, 0.50, 0.42, 0.58, 0.3, 0.52), Verdict::NotMet);
        assert_eq!(decide(LowerBound, 0.9, 0.50, 0.42, 0.58, 0.7, 0.48), Verdict::Inconclusive);
        assert_eq!(decide(LowerBound, 0.9, 0.50, 0.42, 0.58, 1.0, 0.40), Verdict::Met);
        assert_eq!(decide(LowerBound, 0.9, 0.50, 0.42, 0.58, 0.0, 0.60), Verdict::NotMet);
        assert_eq!(decide(Probability, 0.8, 0.50, 0.42, 0.58, 0.7, 0.48), Verdict::Inconclusive);
        assert_eq!(decide(Probability, 0.8, 0.50, 0.42, 0.58, 0.85, 0.48), Verdict::Met);
        assert_eq!(decide(Probability, 0.8, 0.50, 0.42, 0.58, 0.15, 0.48), Verdict::NotMet);
    }

    #[test]
    fn money_groups_thousands() {
        assert_eq!(money(1234567.891), "1,234,567.89");
        assert_eq!(money(0.0), "0.00");
        assert_eq!(money(-1200.0), "-1,200.00");
    }

    #[test]
    fn mean_bootstrap_interval_covers_and_is_seeded() {
        let v: Vec<f64> = (0..200).map(|i| if i % 3 == 0 { 1.0 } else { 0.0 }).collect();
        let cl: Vec<usize> = (0..200).collect();
        let a = estimate_mean(&v, &cl, 200, 500, 7, IntervalMethod::Percentile, 0.9);
        let b = estimate_mean(&v, &cl, 200, 500, 7, IntervalMethod::Percentile, 0.9);
        assert_eq!(a, b);
        let (lo, hi) = (a.low.unwrap(), a.high.unwrap());
        assert!(lo < a.point && a.point < hi);
        // binomial SE sqrt(p(1-p)/n) = 0.0333; a 90% interval is about +-0.055
        assert!((hi - lo - 2.0 * 1.645 * 0.0333).abs() < 0.02, "{lo} {hi}");
        let bca = estimate_mean(&v, &cl, 200, 500, 7, IntervalMethod::Bca, 0.9);
        assert!(bca.low.unwrap() < bca.point && bca.point < bca.high.unwrap());
    }
}
