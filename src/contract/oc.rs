//! Operating-characteristic (OC) curves for target setting: before a contract is signed,
//! how likely is a provider with `n` students and a true effect `d` (SD units) to meet a
//! metric threshold `t`? And which threshold keeps the chance that a provider with no
//! effect is paid at or below `alpha`, with what power at a plausible effect, and from which
//! provider size on? (docs/methods.md 10.1, 10.3 and 11.)
//!
//! # Model
//!
//! History students (who had no tutoring) stand in for the provider's students. The caller
//! has already computed, for each effect `d_e` of a grid, each history student's value under
//! that shift, `values[e][i]`: a 0/1 "met the growth target" flag, a CGI, an SGP, an
//! adjusted residual in SD units, ... One replicate of a provider of size `n` draws `n`
//! history students uniformly with replacement and computes, for every effect, the provider
//! metric `estimate` over the drawn students ([`Statistic`]), its standard error `SE`, and
//! the decision statistic
//!
//! ```text
//! S = estimate − k · SE          the provider meets threshold t iff S ≥ t
//! ```
//!
//! - `k = 0`: the point-estimate rule (the metric itself must reach `t`);
//! - `k = z_{level}`: the lower confidence bound must reach `t`;
//! - `k = z_q`: "posterior probability that the true metric is above `t` is at least `q`"
//!   under a flat prior and a normal approximation (the posterior is `N(estimate, SE²)`, so
//!   `P(θ ≥ t) ≥ q ⟺ estimate − z_q SE ≥ t`).
//!
//! `p_met(d, n, t)` is the share of replicates with `S ≥ t`; its Monte Carlo standard error is
//! `sqrt(p (1 − p) / reps)`.
//!
//! # Common random numbers and reproducibility
//!
//! Replicate `r` of size `n` uses its own random stream: ChaCha8 seeded with `seed` and set to
//! stream `(n << 32) | r` (the pattern of `stats::bootstrap`, with the size added; `n` and
//! `reps` must be below 2³²). The same drawn indices serve every effect and every threshold,
//! so, with `k = 0` and values that increase with `d` student by student, `p_met` is exactly
//! non-decreasing in `d`, and for any `k` it is exactly non-increasing in `t`. Replicates run
//! in parallel with rayon and are returned in order: results are identical for any number of
//! threads.
//!
//! # Weights and cohort drift ([`Draws`])
//!
//! With weights (a history reweighted to the students a district plans to serve,
//! docs/methods.md 10.1), each of the `n` students is drawn with probability
//! `w_i / Σ w` instead of `1 / m`, by Walker's alias method: an index `i` uniform on
//! `0..m`, then a uniform `u`, keeping `i` when `u < prob_i` and taking `alias_i`
//! otherwise (two draws per student from the replicate's stream). With a cohort SD `τ > 0`
//! (the between-year variation of the business-as-usual level, docs/methods.md 10.6), each
//! replicate then draws `δ ~ N(0, τ²)` from the same stream and adds it to every effect's
//! estimate: `S = estimate + δ − k · SE`. The cohort a provider will serve is itself one
//! draw of the district's cohorts, which resampling one history year cannot show. Uniform
//! draws with `τ = 0` draw exactly what earlier versions drew.
//!
//! [`Statistic::ShareDifference`] (the drift-robust metric `share_meeting_vs_comparison`)
//! compares the drawn students' share `p` with a concurrent comparison group of `m`
//! students whose share meeting the outcome is `q₀` (the history's): each replicate then
//! draws the comparison share `q = Binomial(m, q₀) / m` (the law of the share of `m`
//! students drawn with replacement, without drawing them one by one) and decides on
//! `S = (p − q) − k sqrt(p(1 − p)/n + q(1 − q)/m)`. A cohort shift moves both shares alike
//! and cancels, so none is added.
//!
//! # Standard errors (and their limits)
//!
//! - [`Statistic::Share`] (values must be 0 or 1): `p = j / n`, Wald `SE = sqrt(p (1 − p) / n)`.
//!   The Wald SE is 0 at `p = 0` and `p = 1` (so `S = p` there) and too small near them; with
//!   `k > 0`, `S` is therefore not monotone in `p` for small `p` (e.g. `n = 10`, `k = 1.96`:
//!   `S(0) = 0 > S(0.1) = −0.086`), and `p_met` need not be monotone in `d` at low thresholds.
//! - [`Statistic::Mean`]: sample SD (divisor `n − 1`) over `sqrt(n)`; `SE = 0` when `n = 1`.
//!   A normal-theory SE: with skewed values and small `n` the lower bound is optimistic.
//! - [`Statistic::Median`]: the median of the `n` values (mean of the two middle values when
//!   `n` is even) and a distribution-free SE from the order-statistic confidence interval for
//!   the median (Campbell & Gardner 1988, BMJ 296: 1454): with `z = 1.959964`,
//!   `l = round(n/2 − z√n/2)`, `u = round(1 + n/2 + z√n/2)` (1-based ranks, `f64::round`,
//!   halves away from zero, then clamped to `1..=n`), and `SE = (x_(u) − x_(l)) / (2 z)`.
//!   The `+ 1` in `u` makes the ranks symmetric (`l + u = n + 1`); the plain `n/2 ± z√n/2`
//!   would use ranks shifted by one half towards the bottom. For `n ≤ 4` the interval is the
//!   whole range; with many tied values (e.g. SGPs on a coarse scale) the SE can be 0.
//!
//! # Payments from the same draws ([`oc_pass`])
//!
//! With per-student [`Amounts`] for each effect (what a history student would be paid at
//! that effect if the provider reaches the first tier, and if it does not), each replicate
//! also sums the amounts of its `n` drawn students, beside its `S`. The caller
//! ([`super::cost`]) turns `S`, through the contract's tiers, and these sums into the
//! provider's payment: the cost distribution and the OC curves are one set of draws.
//!
//! # Recommended threshold, power and minimum size ([`recommend`])
//!
//! With the `R` null (`d = 0`) decision statistics sorted, `s_(1) ≤ … ≤ s_(R)`, and
//! `m = ⌊alpha R⌋` (the most null passes allowed), `#{s_i ≥ t} ≤ m` holds exactly for
//! `t > s_(R−m)`. The recommended threshold is the smallest *attained* value above it, the
//! next distinct null value `min{s_i : s_i > s_(R−m)}` (for a continuous statistic without
//! ties, `s_(R−m+1)`, the upper `alpha` quantile). With a discrete statistic (a share, a
//! median of SGPs) ties make the realised null pass rate `#{s_i ≥ t} / R` smaller than
//! `alpha`, sometimes much smaller; it is reported as `p_met_null`. If no null value lies
//! above `s_(R−m)` (`alpha R < 1`, or ties at the top), the threshold is the next `f64` above
//! the largest null value and the realised rate is 0: use more replicates.
//!
//! Power is the share of replicates at the alternative effect with `S ≥ t` (the same draws).
//! `min_n` is the smallest size at which the threshold recommended *for that size* has power
//! at least `target_power`: sizes 10, 20, 40, … are tried (doubling, capped at
//! [`MAX_N`] = 100,000) until one reaches the target, then the bracket `(last failing, first
//! passing]` is bisected until `hi − lo ≤ max(1, ⌊0.02 hi⌋)`, i.e. to within 1 student below
//! 100 students and within 2% above. If the target is met at 10, the bracket is `(0, 10]`.
//! `None` if 100,000 students do not reach it. Sizes above the history size are allowed (the
//! draws are i.i.d. from the history's empirical distribution), but then the history's own
//! sampling error, which the resampling ignores, dominates. Power need not be monotone in `n`
//! (Monte Carlo noise, and the saw-tooth of discrete statistics), so the size found is a
//! size at which the target is met with the one below the bracket failing, not necessarily
//! the smallest such size.

pub use super::results::{OcCell, Recommendation};
use rand::RngExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// `z_{0.975}` as used by the median's order-statistic SE.
pub const Z_975: f64 = 1.959964;
/// Default null pass rate allowed for a provider with no effect.
pub const DEFAULT_ALPHA: f64 = 0.10;
/// Default effect (SD units) at which power is reported.
pub const DEFAULT_POWER_EFFECT: f64 = 0.2;
/// Default power that `min_n` must reach.
pub const DEFAULT_TARGET_POWER: f64 = 0.8;
/// Largest provider size the `min_n` search tries.
pub const MAX_N: usize = 100_000;
/// First size of the `min_n` doubling search.
pub const SEARCH_START_N: usize = 10;

/// The provider metric over its `n` students.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Statistic {
    /// Mean of 0/1 values (share meeting a target); values must be exactly 0 or 1.
    Share,
    /// The share of 0/1 values minus the share of a concurrent comparison group
    /// ([`Draws::with_comparison`]); values must be exactly 0 or 1.
    ShareDifference,
    Mean,
    Median,
}

/// Why OC curves or a recommendation cannot be computed.
#[derive(Clone, Debug, PartialEq, Error)]
pub enum OcError {
    #[error("no history values: {0}")]
    Empty(String),
    #[error("length mismatch: {what} has {got} entries, expected {expected}")]
    LengthMismatch { what: String, got: usize, expected: usize },
    #[error("provider size n = 0: a provider needs at least one student")]
    ZeroSize,
    #[error("provider size n = {0} is too large (at most 4294967295)")]
    SizeTooLarge(usize),
    #[error("reps = 0: at least one resample is needed (1,000 or more is sensible)")]
    ZeroReps,
    #[error("reps = {0} is too large (at most 4294967295)")]
    RepsTooLarge(usize),
    #[error("alpha = {0} must be strictly between 0 and 1")]
    Alpha(f64),
    #[error("target power = {0} must be strictly between 0 and 1")]
    TargetPower(f64),
    #[error("{what}: value {value} of student {student} is not finite")]
    NonFinite { what: String, student: usize, value: f64 },
    #[error("{what}: value {value} of student {student} is not 0 or 1, as the share statistic requires")]
    NotBinary { what: String, student: usize, value: f64 },
    #[error("invalid OC specification: {0}")]
    Spec(String),
}

/// The grid of an OC computation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OcSpec {
    /// Provider sizes `n`.
    pub sizes: Vec<usize>,
    /// Metric thresholds `t`.
    pub thresholds: Vec<f64>,
    /// The `d` of each `values[e]` (labels; the first must be 0.0).
    pub effects: Vec<f64>,
    /// Resamples per size, shared by all effects and thresholds.
    pub reps: usize,
    pub seed: u64,
    /// `S = estimate − k SE`; met iff `S ≥ t`.
    #[serde(deserialize_with = "crate::contract::results::nan_if_null")]
    pub k: f64,
    /// How history students are drawn and the cohort shift added ([`Draws`]); the default
    /// draws uniformly with no shift.
    #[serde(skip)]
    pub draws: Draws,
}

/// How one replicate draws its `n` history students, and the between-year shift of the
/// business-as-usual level it adds (module docs, "Weights and cohort drift").
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Draws {
    /// `None`: uniformly; `Some`: with probability proportional to each student's weight.
    alias: Option<Alias>,
    /// SD of the cohort shift δ ~ N(0, cohort_sd²) added to every replicate's estimate.
    cohort_sd: f64,
    /// For [`Statistic::ShareDifference`]: the comparison group's share and size.
    comparison: Option<(f64, u64)>,
}

impl Draws {
    /// Draws with probability proportional to `weights` (one per history student; finite,
    /// non-negative, not all zero).
    pub fn weighted(weights: &[f64]) -> Result<Draws, OcError> {
        Ok(Draws { alias: Some(Alias::new(weights)?), cohort_sd: 0.0, comparison: None })
    }

    /// The same draws with a concurrent comparison group of `size` students whose share
    /// meeting the outcome is `share` (for [`Statistic::ShareDifference`]).
    pub fn with_comparison(self, share: f64, size: usize) -> Result<Draws, OcError> {
        if !(0.0..=1.0).contains(&share) || size == 0 {
            return Err(OcError::Spec(format!("comparison share {share} must be in [0, 1] and its size {size} >= 1")));
        }
        Ok(Draws { comparison: Some((share, size as u64)), ..self })
    }

    /// One replicate's comparison share and its size, drawn as Binomial(size, share) / size
    /// (the law of the share of `size` students drawn with replacement).
    fn comparison_share(&self, rng: &mut ChaCha8Rng) -> Option<(f64, f64)> {
        let (q, m) = self.comparison?;
        let b = rand_distr::Binomial::new(m, q).expect("checked share and size");
        let drawn: u64 = rand_distr::Distribution::sample(&b, rng);
        Some((drawn as f64 / m as f64, m as f64))
    }

    /// The same draws with a cohort shift of SD `sd` (finite, `>= 0`) added to each
    /// replicate's estimate.
    pub fn with_cohort_sd(self, sd: f64) -> Result<Draws, OcError> {
        if !(sd.is_finite() && sd >= 0.0) {
            return Err(OcError::Spec(format!("cohort SD {sd} must be finite and >= 0")));
        }
        Ok(Draws { cohort_sd: sd, ..self })
    }

    /// The number of history students the weights are for (`None` when uniform).
    fn len(&self) -> Option<usize> {
        self.alias.as_ref().map(|a| a.prob.len())
    }

    /// One history student's position among `m`.
    fn draw(&self, rng: &mut ChaCha8Rng, m: usize) -> usize {
        match &self.alias {
            None => rng.random_range(0..m),
            Some(a) => {
                let i = rng.random_range(0..m);
                if rng.random::<f64>() < a.prob[i] { i } else { a.alias[i] }
            }
        }
    }

    /// The replicate's cohort shift (no draw when the SD is 0, so uniform draws without
    /// drift are those of earlier versions).
    fn shift(&self, rng: &mut ChaCha8Rng) -> f64 {
        if self.cohort_sd == 0.0 {
            return 0.0;
        }
        let z: f64 = rand_distr::Distribution::sample(&rand_distr::StandardNormal, rng);
        self.cohort_sd * z
    }
}

/// Walker's alias table (Vose's construction; Vose 1991, IEEE Trans. Software Eng. 17:972):
/// draw `i` uniformly, keep it with probability `prob[i]`, else take `alias[i]`.
#[derive(Clone, Debug, PartialEq)]
struct Alias {
    prob: Vec<f64>,
    alias: Vec<usize>,
}

impl Alias {
    fn new(weights: &[f64]) -> Result<Alias, OcError> {
        let m = weights.len();
        if let Some((i, &w)) = weights.iter().enumerate().find(|(_, w)| !(w.is_finite() && **w >= 0.0)) {
            return Err(OcError::NonFinite { what: "weights (finite and >= 0)".into(), student: i, value: w });
        }
        let total: f64 = weights.iter().sum();
        if m == 0 || total <= 0.0 {
            return Err(OcError::Empty("weights: none positive".into()));
        }
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * m as f64 / total).collect();
        let mut alias: Vec<usize> = (0..m).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) = (0..m).partition(|&i| scaled[i] < 1.0);
        while let (Some(&l), Some(&g)) = (small.last(), large.last()) {
            small.pop();
            alias[l] = g;
            scaled[g] -= 1.0 - scaled[l];
            if scaled[g] < 1.0 {
                large.pop();
                small.push(g);
            }
        }
        // what is left (rounding) keeps itself
        for i in small.into_iter().chain(large) {
            scaled[i] = 1.0;
        }
        Ok(Alias { prob: scaled, alias })
    }
}

fn rng_for(seed: u64, n: usize, r: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(((n as u64) << 32) | r as u64);
    rng
}

/// Positions `pos` (0-based, ascending, may repeat) of the order statistics of `buf`,
/// selected in place in O(n): after the call `buf[p]` is the `p`-th smallest for each `p`.
fn select_positions(buf: &mut [f64], pos: &[usize]) {
    let mut end = buf.len();
    for &p in pos.iter().rev() {
        if p < end {
            buf[..end].select_nth_unstable_by(p, f64::total_cmp);
            end = p;
        }
    }
}

/// The 1-based ranks `(l, u)` of the median's order-statistic interval (module docs).
pub fn median_ranks(n: usize) -> (usize, usize) {
    let nf = n as f64;
    let h = Z_975 * nf.sqrt() / 2.0;
    let l = (nf / 2.0 - h).round().max(1.0).min(nf) as usize;
    let u = (1.0 + nf / 2.0 + h).round().max(1.0).min(nf) as usize;
    (l, u)
}

/// `S` of the share difference: `(p − q) − k sqrt(p(1 − p)/n + q(1 − q)/m)` with the
/// replicate's comparison share `q` of `m` students (Wald SEs, as for the share).
fn decide_difference(buf: &[f64], (q, m): (f64, f64), k: f64) -> f64 {
    let nf = buf.len() as f64;
    let p = buf.iter().sum::<f64>() / nf;
    (p - q) - k * (p * (1.0 - p) / nf + q * (1.0 - q) / m).sqrt()
}

/// `S` for the values of one replicate (reorders `buf`).
fn decide(buf: &mut [f64], stat: Statistic, k: f64) -> f64 {
    let n = buf.len();
    let nf = n as f64;
    match stat {
        Statistic::Share | Statistic::ShareDifference => {
            let p = buf.iter().sum::<f64>() / nf;
            p - k * (p * (1.0 - p) / nf).sqrt()
        }
        Statistic::Mean => {
            let m = buf.iter().sum::<f64>() / nf;
            if k == 0.0 || n < 2 {
                return m;
            }
            let ss: f64 = buf.iter().map(|x| (x - m) * (x - m)).sum();
            m - k * (ss / (nf - 1.0)).sqrt() / nf.sqrt()
        }
        Statistic::Median => {
            let (lo_mid, hi_mid) = ((n - 1) / 2, n / 2);
            if k == 0.0 || n < 2 {
                select_positions(buf, &[lo_mid, hi_mid]);
                return (buf[lo_mid] + buf[hi_mid]) / 2.0;
            }
            let (l, u) = median_ranks(n);
            let mut pos = [l - 1, lo_mid, hi_mid, u - 1];
            pos.sort_unstable();
            select_positions(buf, &pos);
            let med = (buf[lo_mid] + buf[hi_mid]) / 2.0;
            med - k * (buf[u - 1] - buf[l - 1]) / (2.0 * Z_975)
        }
    }
}

fn stats_core(
    values: &[&[f64]],
    stat: Statistic,
    n: usize,
    reps: usize,
    seed: u64,
    k: f64,
    draws: &Draws,
) -> Vec<Vec<f64>> {
    replicates_core(values, &[], stat, n, reps, seed, k, draws)
        .into_iter()
        .map(|e| e.into_iter().map(|r| r.s).collect())
        .collect()
}

/// What one replicate gives at one effect: the decision statistic `S` and the sums, over
/// its `n` drawn students, of their [`Amounts`] (0 when none are given).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Replicate {
    pub s: f64,
    /// Σ of the drawn students' amounts when the provider reaches the first tier.
    pub if_reached: f64,
    /// Σ of the drawn students' amounts when it does not.
    pub if_not: f64,
}

/// Per history student, at one effect, what the student is paid when the provider reaches
/// the first tier and when it does not (lines gated by `requires_tier` differ); summed over
/// the drawn students with the same draws as `S` ([`oc_pass`]).
#[derive(Clone, Copy, Debug)]
pub struct Amounts<'a> {
    pub if_reached: &'a [f64],
    pub if_not: &'a [f64],
}

/// The replicates of one provider size: `by_effect[e][r]`.
#[derive(Clone, Debug, PartialEq)]
pub struct SizeReplicates {
    pub n: usize,
    pub by_effect: Vec<Vec<Replicate>>,
}

/// `out[e][r]`: `S` and the amounts' sums of replicate `r` at effect `e` (`amounts` empty, or
/// one per effect).
#[allow(clippy::too_many_arguments)]
fn replicates_core(
    values: &[&[f64]],
    amounts: &[Amounts<'_>],
    stat: Statistic,
    n: usize,
    reps: usize,
    seed: u64,
    k: f64,
    draws: &Draws,
) -> Vec<Vec<Replicate>> {
    let m = values[0].len();
    let per_rep: Vec<Vec<Replicate>> = (0..reps)
        .into_par_iter()
        .map_init(
            || (Vec::with_capacity(n), Vec::with_capacity(n)),
            |(idx, buf): &mut (Vec<usize>, Vec<f64>), r| {
                let mut rng = rng_for(seed, n, r);
                idx.clear();
                idx.extend((0..n).map(|_| draws.draw(&mut rng, m)));
                let shift = draws.shift(&mut rng);
                let comparison = draws.comparison_share(&mut rng);
                values
                    .iter()
                    .enumerate()
                    .map(|(e, v)| {
                        buf.clear();
                        buf.extend(idx.iter().map(|&i| v[i]));
                        let s = match comparison {
                            // the cohort shift moves both shares: it cancels
                            Some(c) => decide_difference(buf, c, k),
                            None => decide(buf, stat, k) + shift,
                        };
                        let (if_reached, if_not) = amounts.get(e).map_or((0.0, 0.0), |a| {
                            idx.iter().fold((0.0, 0.0), |(x, y), &i| (x + a.if_reached[i], y + a.if_not[i]))
                        });
                        Replicate { s, if_reached, if_not }
                    })
                    .collect()
            },
        )
        .collect();
    (0..values.len()).map(|e| per_rep.iter().map(|s| s[e]).collect()).collect()
}

/// The decision statistics `S` of every replicate, `out[e][r]`, for provider size `n`:
/// reusable for any threshold (count `S ≥ t`). No checks beyond the panics below; use
/// [`oc_curves`] or [`check_values`] first for clear errors.
///
/// # Panics
/// If `values` is empty, `values[0]` is empty, the effects differ in length, `n = 0`, or
/// `n` or `reps` is 2³² or more.
pub fn decision_statistics(
    values: &[Vec<f64>],
    stat: Statistic,
    n: usize,
    reps: usize,
    seed: u64,
    k: f64,
) -> Vec<Vec<f64>> {
    assert!(!values.is_empty() && !values[0].is_empty(), "decision_statistics: no values");
    assert!(values.iter().all(|v| v.len() == values[0].len()), "decision_statistics: effects differ in length");
    assert!(n > 0 && n <= u32::MAX as usize && reps <= u32::MAX as usize, "decision_statistics: bad n or reps");
    let refs: Vec<&[f64]> = values.iter().map(|v| v.as_slice()).collect();
    stats_core(&refs, stat, n, reps, seed, k, &Draws::default())
}

/// Checks that there is at least one effect, every effect scores the same non-empty set of
/// students, every value is finite, and share values are 0 or 1.
pub fn check_values(values: &[Vec<f64>], stat: Statistic) -> Result<(), OcError> {
    let refs: Vec<&[f64]> = values.iter().map(|v| v.as_slice()).collect();
    let names: Vec<String> = (0..values.len()).map(|e| format!("values for effect {e}")).collect();
    check_refs(&refs, &names, stat)
}

fn check_refs(values: &[&[f64]], names: &[String], stat: Statistic) -> Result<(), OcError> {
    if values.is_empty() {
        return Err(OcError::Empty("no effects (values is empty)".into()));
    }
    let m = values[0].len();
    if m == 0 {
        return Err(OcError::Empty(format!("{} has no students", names[0])));
    }
    for (v, name) in values.iter().zip(names) {
        if v.len() != m {
            return Err(OcError::LengthMismatch {
                what: format!("{name} (every effect must score the same history students)"),
                got: v.len(),
                expected: m,
            });
        }
        for (i, &x) in v.iter().enumerate() {
            if !x.is_finite() {
                return Err(OcError::NonFinite { what: name.clone(), student: i, value: x });
            }
            if matches!(stat, Statistic::Share | Statistic::ShareDifference) && x != 0.0 && x != 1.0 {
                return Err(OcError::NotBinary { what: name.clone(), student: i, value: x });
            }
        }
    }
    Ok(())
}

fn check_n(n: usize) -> Result<(), OcError> {
    if n == 0 {
        Err(OcError::ZeroSize)
    } else if n > u32::MAX as usize {
        Err(OcError::SizeTooLarge(n))
    } else {
        Ok(())
    }
}

fn check_reps(reps: usize) -> Result<(), OcError> {
    if reps == 0 {
        Err(OcError::ZeroReps)
    } else if reps > u32::MAX as usize {
        Err(OcError::RepsTooLarge(reps))
    } else {
        Ok(())
    }
}

fn check_k(k: f64) -> Result<(), OcError> {
    if k.is_finite() { Ok(()) } else { Err(OcError::Spec(format!("k = {k} must be finite"))) }
}

fn check_draws(draws: &Draws, m: usize, stat: Statistic) -> Result<(), OcError> {
    if (stat == Statistic::ShareDifference) != draws.comparison.is_some() {
        return Err(OcError::Spec(
            "the share-difference statistic, and it only, needs a comparison group (Draws::with_comparison)".into(),
        ));
    }
    match draws.len() {
        Some(w) if w != m => {
            Err(OcError::LengthMismatch { what: "weights (one per history student)".into(), got: w, expected: m })
        }
        _ => Ok(()),
    }
}

fn mc_se(p: f64, reps: usize) -> f64 {
    (p * (1.0 - p) / reps as f64).sqrt()
}

/// Number of `sorted` values `>= t`.
fn passes(sorted: &[f64], t: f64) -> usize {
    sorted.len() - sorted.partition_point(|&x| x < t)
}

/// OC curves: `p_met` for every size, effect and threshold, in that nesting order (sizes
/// outer, thresholds inner), all from the same `spec.reps` draws per size.
pub fn oc_curves(values: &[Vec<f64>], stat: Statistic, spec: &OcSpec) -> Result<Vec<OcCell>, OcError> {
    oc_pass(values, &[], stat, spec).map(|(cells, _)| cells)
}

/// The OC curves ([`oc_curves`]) and, from the same pass over the same draws, every
/// replicate's `S` and sums of the drawn students' `amounts` (none, or one per effect, each
/// with one finite amount per history student), per size in the order of `spec.sizes`.
pub fn oc_pass(
    values: &[Vec<f64>],
    amounts: &[Amounts<'_>],
    stat: Statistic,
    spec: &OcSpec,
) -> Result<(Vec<OcCell>, Vec<SizeReplicates>), OcError> {
    check_spec(values, stat, spec)?;
    check_amounts(amounts, values.len(), values[0].len())?;
    let refs: Vec<&[f64]> = values.iter().map(|v| v.as_slice()).collect();
    let mut out = Vec::with_capacity(spec.sizes.len() * values.len() * spec.thresholds.len());
    let mut sizes = Vec::with_capacity(spec.sizes.len());
    for &n in &spec.sizes {
        let by_effect = replicates_core(&refs, amounts, stat, n, spec.reps, spec.seed, spec.k, &spec.draws);
        for (reps, &effect) in by_effect.iter().zip(&spec.effects) {
            let mut se: Vec<f64> = reps.iter().map(|r| r.s).collect();
            se.sort_unstable_by(f64::total_cmp);
            for &threshold in &spec.thresholds {
                let p_met = passes(&se, threshold) as f64 / spec.reps as f64;
                out.push(OcCell { effect, n, threshold, p_met, mc_se: mc_se(p_met, spec.reps) });
            }
        }
        // keep the replicates only when they carry amounts (the OC curves alone need none)
        sizes.push(SizeReplicates { n, by_effect: if amounts.is_empty() { Vec::new() } else { by_effect } });
    }
    Ok((out, sizes))
}

/// Amounts: none, or one per effect, each one finite value per history student for both cases.
fn check_amounts(amounts: &[Amounts<'_>], effects: usize, m: usize) -> Result<(), OcError> {
    if amounts.is_empty() {
        return Ok(());
    }
    if amounts.len() != effects {
        return Err(OcError::LengthMismatch {
            what: "amounts (one per effect)".into(),
            got: amounts.len(),
            expected: effects,
        });
    }
    for (e, a) in amounts.iter().enumerate() {
        for (what, v) in [("if reached", a.if_reached), ("if not reached", a.if_not)] {
            let what = format!("amounts {what} for effect {e}");
            if v.len() != m {
                return Err(OcError::LengthMismatch { what, got: v.len(), expected: m });
            }
            if let Some((i, &x)) = v.iter().enumerate().find(|(_, x)| !x.is_finite()) {
                return Err(OcError::NonFinite { what, student: i, value: x });
            }
        }
    }
    Ok(())
}

/// The checks of [`oc_curves`]: values, effects (the first 0), sizes, thresholds, reps, k
/// and draws.
fn check_spec(values: &[Vec<f64>], stat: Statistic, spec: &OcSpec) -> Result<(), OcError> {
    check_values(values, stat)?;
    if spec.effects.len() != values.len() {
        return Err(OcError::LengthMismatch {
            what: "effects (one label per values[e])".into(),
            got: spec.effects.len(),
            expected: values.len(),
        });
    }
    if spec.effects[0] != 0.0 {
        return Err(OcError::Spec(format!("the first effect must be 0.0 (the null), got {}", spec.effects[0])));
    }
    if let Some(d) = spec.effects.iter().find(|d| !d.is_finite()) {
        return Err(OcError::Spec(format!("effect {d} is not finite")));
    }
    if spec.sizes.is_empty() {
        return Err(OcError::Spec("no provider sizes".into()));
    }
    if spec.thresholds.is_empty() {
        return Err(OcError::Spec("no thresholds".into()));
    }
    if let Some(t) = spec.thresholds.iter().find(|t| t.is_nan()) {
        return Err(OcError::Spec(format!("threshold {t} is not a number")));
    }
    for &n in &spec.sizes {
        check_n(n)?;
    }
    check_reps(spec.reps)?;
    check_k(spec.k)?;
    check_draws(&spec.draws, values[0].len(), stat)
}

/// The recommended threshold from sorted null statistics and its realised pass rate (module
/// docs).
pub fn threshold_from_null(sorted_null: &[f64], alpha: f64) -> (f64, f64) {
    let r = sorted_null.len();
    let mut m = ((alpha * r as f64).floor() as usize).min(r - 1);
    while m > 0 && m as f64 / r as f64 > alpha {
        m -= 1;
    }
    let v = sorted_null[r - m - 1];
    let above = sorted_null.partition_point(|&x| x <= v);
    let t = if above < r { sorted_null[above] } else { v.next_up() };
    (t, passes(sorted_null, t) as f64 / r as f64)
}

struct Point {
    threshold: f64,
    p_null: f64,
    power: f64,
}

#[allow(clippy::too_many_arguments)]
fn evaluate(
    values: &[&[f64]; 2],
    stat: Statistic,
    n: usize,
    alpha: f64,
    reps: usize,
    seed: u64,
    k: f64,
    draws: &Draws,
) -> Point {
    let mut s = stats_core(values, stat, n, reps, seed, k, draws);
    s[0].sort_unstable_by(f64::total_cmp);
    let (threshold, p_null) = threshold_from_null(&s[0], alpha);
    let power = s[1].iter().filter(|&&x| x >= threshold).count() as f64 / reps as f64;
    Point { threshold, p_null, power }
}

/// The recommended threshold for size `n` (null pass rate `<= alpha`), its power at
/// `power_effect` (whose values are `values_alt`), and the minimum size for
/// `target_power` (module docs). Defaults: [`DEFAULT_ALPHA`], [`DEFAULT_POWER_EFFECT`],
/// [`DEFAULT_TARGET_POWER`].
#[allow(clippy::too_many_arguments)]
pub fn recommend(
    values_null: &[f64],
    values_alt: &[f64],
    stat: Statistic,
    n: usize,
    alpha: f64,
    power_effect: f64,
    target_power: f64,
    reps: usize,
    seed: u64,
    k: f64,
    draws: &Draws,
) -> Result<Recommendation, OcError> {
    let values = [values_null, values_alt];
    check_refs(&values, &["values_null".into(), format!("values_alt (effect {power_effect})")], stat)?;
    check_n(n)?;
    check_reps(reps)?;
    check_k(k)?;
    check_draws(draws, values_null.len(), stat)?;
    if !(alpha > 0.0 && alpha < 1.0) {
        return Err(OcError::Alpha(alpha));
    }
    if !(target_power > 0.0 && target_power < 1.0) {
        return Err(OcError::TargetPower(target_power));
    }
    if !power_effect.is_finite() {
        return Err(OcError::Spec(format!("power effect {power_effect} is not finite")));
    }
    let at = |n: usize| evaluate(&values, stat, n, alpha, reps, seed, k, draws);
    let here = at(n);

    let mut lo = 0usize;
    let mut found: Option<(usize, Point)> = None;
    let mut size = SEARCH_START_N;
    loop {
        let p = at(size);
        if p.power >= target_power {
            found = Some((size, p));
            break;
        }
        lo = size;
        if size >= MAX_N {
            break;
        }
        size = (size * 2).min(MAX_N);
    }
    if let Some((mut hi, mut hp)) = found.take() {
        while hi - lo > 1.max(hi / 50) {
            let mid = lo + (hi - lo) / 2;
            let p = at(mid);
            if p.power >= target_power {
                hi = mid;
                hp = p;
            } else {
                lo = mid;
            }
        }
        found = Some((hi, hp));
    }

    Ok(Recommendation {
        stat,
        n,
        alpha,
        k,
        reps,
        threshold: here.threshold,
        p_met_null: here.p_null,
        p_met_null_mc_se: mc_se(here.p_null, reps),
        power_effect,
        power: here.power,
        power_mc_se: mc_se(here.power, reps),
        target_power,
        min_n: found.as_ref().map(|f| f.0),
        min_n_threshold: found.as_ref().map(|f| f.1.threshold),
        min_n_p_met_null: found.as_ref().map(|f| f.1.p_null),
        min_n_power: found.as_ref().map(|f| f.1.power),
        search_cap: MAX_N,
    })
}

/// The binomial probabilities of 0..=n successes in n trials of probability `p` (0 < p < 1),
/// from log binomial coefficients (no overflow for large n).
pub fn binomial_pmf(n: usize, p: f64) -> Vec<f64> {
    let (lp, lq) = (p.ln(), (1.0 - p).ln());
    let mut log_choose = 0.0f64;
    (0..=n)
        .map(|j| {
            if j > 0 {
                log_choose += ((n - j + 1) as f64).ln() - (j as f64).ln();
            }
            (log_choose + j as f64 * lp + (n - j) as f64 * lq).exp()
        })
        .collect()
}

/// The share statistic in closed form: `S(j) = j/n − k sqrt((j/n)(1 − j/n)/n)` computed as
/// the resampling computes it, and `P(S ≥ t)` when the count is Binomial(`n`, `p`) (which it
/// is under resampling from a history whose share is `p`).
pub fn share_exact_p_met(p: f64, n: usize, t: f64, k: f64) -> f64 {
    let nf = n as f64;
    let s = |j: usize| {
        let q = j as f64 / nf;
        q - k * (q * (1.0 - q) / nf).sqrt()
    };
    if p <= 0.0 {
        return f64::from(u8::from(s(0) >= t));
    }
    if p >= 1.0 {
        return f64::from(u8::from(s(n) >= t));
    }
    let total: f64 = binomial_pmf(n, p).iter().enumerate().filter(|(j, _)| s(*j) >= t).map(|(_, q)| q).sum();
    total.min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_distr::{Distribution, Normal};

    fn normal_history(m: usize, seed: u64) -> Vec<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let z = Normal::new(0.0f64, 1.0).unwrap();
        (0..m).map(|_| z.sample(&mut rng)).collect()
    }

    fn shifted(base: &[f64], effects: &[f64]) -> Vec<Vec<f64>> {
        effects.iter().map(|d| base.iter().map(|x| x + d).collect()).collect()
    }

    /// 0/1 "met target" flags: latent + d above the cut.
    fn flags(base: &[f64], effects: &[f64], cut: f64) -> Vec<Vec<f64>> {
        effects.iter().map(|d| base.iter().map(|x| f64::from(u8::from(x + d >= cut))).collect()).collect()
    }

    fn spec(effects: &[f64], sizes: &[usize], thresholds: &[f64], reps: usize, k: f64) -> OcSpec {
        OcSpec {
            sizes: sizes.to_vec(),
            thresholds: thresholds.to_vec(),
            effects: effects.to_vec(),
            reps,
            seed: 11,
            k,
            draws: Draws::default(),
        }
    }

    #[test]
    fn median_ranks_follow_campbell_gardner() {
        // n = 100: 50 -/+ 9.79982 -> l = round(40.2) = 40, u = round(60.8) = 61
        assert_eq!(median_ranks(100), (40, 61));
        assert_eq!(median_ranks(1), (1, 1));
        assert_eq!(median_ranks(4), (1, 4));
        for n in [5usize, 25, 50, 400, 1001] {
            let (l, u) = median_ranks(n);
            assert_eq!(l + u, n + 1, "n = {n}");
        }
        // the SE of 1..=100 is (61 - 40) / (2 z)
        let mut buf: Vec<f64> = (1..=100).rev().map(f64::from).collect();
        let s = decide(&mut buf, Statistic::Median, 1.0);
        assert!((s - (50.5 - 21.0 / (2.0 * Z_975))).abs() < 1e-12);
    }

    #[test]
    fn null_pass_rate_at_recommended_threshold_is_at_most_alpha() {
        // Mean of N(0, 1) history, n = 50. The recommendation's own realised rate is exactly
        // floor(alpha R) / R; an independent seed at the same threshold must be within
        // 3 sqrt(2) mc_se of alpha (two independent Monte Carlo errors: the threshold's and
        // the check's).
        let base = normal_history(20_000, 1);
        let alt: Vec<f64> = base.iter().map(|x| x + 0.2).collect();
        let reps = 4000;
        let rec = recommend(&base, &alt, Statistic::Mean, 50, 0.10, 0.2, 0.8, reps, 5, 0.0, &Draws::default()).unwrap();
        assert!(rec.p_met_null <= 0.10);
        assert!((rec.p_met_null - 0.10).abs() < 1e-12, "continuous: realised rate is floor(alpha R)/R");
        let cells = oc_curves(
            std::slice::from_ref(&base),
            Statistic::Mean,
            &OcSpec { seed: 99, ..spec(&[0.0], &[50], &[rec.threshold], reps, 0.0) },
        )
        .unwrap();
        let tol = 3.0 * 2f64.sqrt() * mc_se(0.10, reps);
        assert!((cells[0].p_met - 0.10).abs() <= tol, "p_met {} vs alpha 0.10 (tol {tol})", cells[0].p_met);
        // the threshold is near the normal-theory value z_0.9 / sqrt(50) = 0.1812
        assert!((rec.threshold - 1.281552 / 50f64.sqrt()).abs() < 0.02, "threshold {}", rec.threshold);
        // power at d = 0.2, n = 50: P(Z >= 1.2816 - 0.2 sqrt(50)) = P(Z >= -0.133) = 0.553
        assert!((rec.power - 0.553).abs() < 0.04, "power {}", rec.power);
        // min_n: ((z_0.9 + z_0.8) / 0.2)^2 = 112.7
        let m = rec.min_n.unwrap();
        assert!((95..=135).contains(&m), "min_n {m}");
        assert!(rec.min_n_power.unwrap() >= 0.8);
    }

    #[test]
    fn share_threshold_is_conservative_with_ties() {
        // history share exactly 0.4, n = 30: the null is Binomial(30, 0.4) / 30
        let base: Vec<f64> = (0..5000).map(|i| f64::from(u8::from(i % 5 < 2))).collect();
        let alt: Vec<f64> = (0..5000).map(|i| f64::from(u8::from(i % 5 < 3))).collect();
        let reps = 4000;
        for k in [0.0, 1.281552] {
            let rec =
                recommend(&base, &alt, Statistic::Share, 30, 0.10, 0.2, 0.8, reps, 3, k, &Draws::default()).unwrap();
            assert!(rec.p_met_null <= 0.10, "k = {k}: realised {}", rec.p_met_null);
            let exact = share_exact_p_met(0.4, 30, rec.threshold, k);
            assert!(exact <= 0.10 + 3.0 * mc_se(0.10, reps), "k = {k}: exact {exact}");
            assert!((rec.p_met_null - exact).abs() <= 3.0 * mc_se(exact, reps).max(1.0 / reps as f64));
            // ties: the realised rate sits below alpha, and the threshold is an attainable S value
            assert!((0..=30).any(|j| {
                let q = f64::from(j) / 30.0;
                q - k * (q * (1.0 - q) / 30.0).sqrt() == rec.threshold
            }));
        }
    }

    #[test]
    fn share_matches_exact_binomial() {
        // tolerance: 3 mc_se of the exact probability (floor 1 / reps for p near 0 or 1)
        let base: Vec<f64> = (0..5000).map(|i| f64::from(u8::from(i % 5 < 2))).collect();
        let thresholds = [0.2, 0.3, 0.4, 0.5, 0.6];
        let reps = 4000;
        for k in [0.0, 1.644854] {
            let cells = oc_curves(
                std::slice::from_ref(&base),
                Statistic::Share,
                &spec(&[0.0], &[10, 30, 100], &thresholds, reps, k),
            )
            .unwrap();
            for c in &cells {
                let exact = share_exact_p_met(0.4, c.n, c.threshold, k);
                let tol = 3.0 * mc_se(exact, reps).max(1.0 / reps as f64);
                assert!(
                    (c.p_met - exact).abs() <= tol,
                    "k {k} n {} t {}: {} vs exact {exact}",
                    c.n,
                    c.threshold,
                    c.p_met
                );
            }
        }
        // a known value: P(Bin(10, 0.4) >= 6) = 0.1662386
        assert!((share_exact_p_met(0.4, 10, 0.6, 0.0) - 0.166_238_6).abs() < 1e-6);
    }

    #[test]
    fn p_met_is_monotone_in_effect_and_threshold() {
        let base = normal_history(3000, 2);
        let effects = [0.0, 0.1, 0.2, 0.3];
        let thresholds = [-0.2, 0.0, 0.05, 0.1, 0.2, 0.3, 0.5];
        let sizes = [7, 25, 60];
        for (stat, values, ts) in [
            (Statistic::Mean, shifted(&base, &effects), thresholds.to_vec()),
            (Statistic::Median, shifted(&base, &effects), thresholds.to_vec()),
            (Statistic::Share, flags(&base, &effects, 0.3), vec![0.2, 0.3, 0.4, 0.5, 0.6]),
        ] {
            for k in [0.0, 1.0] {
                let cells = oc_curves(&values, stat, &spec(&effects, &sizes, &ts, 500, k)).unwrap();
                let at = |n: usize, e: usize, t: usize| {
                    cells[(sizes.iter().position(|&s| s == n).unwrap() * effects.len() + e) * ts.len() + t].p_met
                };
                for &n in &sizes {
                    for e in 0..effects.len() {
                        for t in 1..ts.len() {
                            assert!(at(n, e, t) <= at(n, e, t - 1), "{stat:?} k {k}: not non-increasing in t");
                        }
                    }
                    // in d: exact with k = 0 (with k > 0 the SE moves too; not guaranteed)
                    if k == 0.0 {
                        for e in 1..effects.len() {
                            for t in 0..ts.len() {
                                assert!(at(n, e, t) >= at(n, e - 1, t), "{stat:?}: not non-decreasing in d");
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn identical_with_one_and_two_threads() {
        let base = normal_history(5000, 3);
        let effects = [0.0, 0.2];
        for stat in [Statistic::Mean, Statistic::Median] {
            let s = spec(&effects, &[25, 100], &[0.0, 0.1, 0.2], 300, 1.0);
            let values = shifted(&base, &effects);
            let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
            let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
            let a = one.install(|| oc_curves(&values, stat, &s).unwrap());
            let b = two.install(|| oc_curves(&values, stat, &s).unwrap());
            assert_eq!(a, b);
            let da = one.install(|| decision_statistics(&values, stat, 40, 200, 9, 1.0));
            let db = two.install(|| decision_statistics(&values, stat, 40, 200, 9, 1.0));
            assert_eq!(da, db);
            let ra = one.install(|| {
                recommend(&values[0], &values[1], stat, 40, 0.1, 0.2, 0.8, 200, 9, 0.0, &Draws::default()).unwrap()
            });
            let rb = two.install(|| {
                recommend(&values[0], &values[1], stat, 40, 0.1, 0.2, 0.8, 200, 9, 0.0, &Draws::default()).unwrap()
            });
            assert_eq!(ra, rb);
        }
        // another seed gives other draws
        let v = shifted(&base, &[0.0]);
        assert_ne!(
            decision_statistics(&v, Statistic::Mean, 40, 50, 1, 0.0),
            decision_statistics(&v, Statistic::Mean, 40, 50, 2, 0.0)
        );
    }

    #[test]
    fn positive_k_lowers_p_met() {
        let base = normal_history(3000, 4);
        let effects = [0.0, 0.2];
        let ts = [0.0, 0.1, 0.2, 0.3];
        for (stat, values, ts) in [
            (Statistic::Mean, shifted(&base, &effects), ts.to_vec()),
            (Statistic::Median, shifted(&base, &effects), ts.to_vec()),
            (Statistic::Share, flags(&base, &effects, 0.0), vec![0.4, 0.5, 0.6]),
        ] {
            let p0 = oc_curves(&values, stat, &spec(&effects, &[30, 100], &ts, 500, 0.0)).unwrap();
            let p1 = oc_curves(&values, stat, &spec(&effects, &[30, 100], &ts, 500, 1.644854)).unwrap();
            assert!(p0.iter().zip(&p1).all(|(a, b)| b.p_met <= a.p_met), "{stat:?}");
            assert!(p0.iter().zip(&p1).any(|(a, b)| b.p_met < a.p_met - 0.05), "{stat:?}");
            assert!(p0.iter().all(|c| (c.mc_se - mc_se(c.p_met, 500)).abs() < 1e-15));
        }
    }

    #[test]
    fn bad_inputs_are_errors() {
        let v = vec![vec![0.0, 1.0, 0.5], vec![0.1, 1.1, 0.6]];
        let good = spec(&[0.0, 0.1], &[5], &[0.5], 10, 0.0);
        assert!(oc_curves(&v, Statistic::Mean, &good).is_ok());
        assert!(matches!(oc_curves(&[], Statistic::Mean, &good), Err(OcError::Empty(_))));
        assert!(matches!(oc_curves(&[vec![], vec![]], Statistic::Mean, &good), Err(OcError::Empty(_))));
        let e = oc_curves(&[v[0].clone(), vec![1.0]], Statistic::Mean, &good).unwrap_err();
        assert!(matches!(e, OcError::LengthMismatch { got: 1, expected: 3, .. }));
        assert!(e.to_string().contains("same history students"), "{e}");
        let e = oc_curves(&[v[0].clone(), vec![0.0, f64::NAN, 1.0]], Statistic::Mean, &good).unwrap_err();
        assert!(matches!(e, OcError::NonFinite { student: 1, .. }), "{e}");
        assert!(matches!(oc_curves(&v, Statistic::Share, &good), Err(OcError::NotBinary { student: 2, .. })));
        assert_eq!(
            oc_curves(&v, Statistic::Mean, &OcSpec { sizes: vec![5, 0], ..good.clone() }),
            Err(OcError::ZeroSize)
        );
        assert_eq!(oc_curves(&v, Statistic::Mean, &OcSpec { reps: 0, ..good.clone() }), Err(OcError::ZeroReps));
        assert!(matches!(
            oc_curves(&v, Statistic::Mean, &OcSpec { effects: vec![0.1, 0.2], ..good.clone() }),
            Err(OcError::Spec(_))
        ));
        assert!(matches!(
            oc_curves(&v, Statistic::Mean, &OcSpec { effects: vec![0.0], ..good.clone() }),
            Err(OcError::LengthMismatch { .. })
        ));
        assert!(matches!(
            oc_curves(&v, Statistic::Mean, &OcSpec { thresholds: vec![], ..good.clone() }),
            Err(OcError::Spec(_))
        ));
        assert!(matches!(
            oc_curves(&v, Statistic::Mean, &OcSpec { k: f64::INFINITY, ..good.clone() }),
            Err(OcError::Spec(_))
        ));

        let (a, b) = (v[0].as_slice(), v[1].as_slice());
        let r = |a: &[f64], b: &[f64], n, alpha, reps| {
            recommend(a, b, Statistic::Mean, n, alpha, 0.2, 0.8, reps, 1, 0.0, &Draws::default())
        };
        assert!(r(a, b, 5, 0.1, 20).is_ok());
        for alpha in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(matches!(r(a, b, 5, alpha, 20), Err(OcError::Alpha(_))), "alpha {alpha}");
        }
        assert_eq!(r(a, b, 0, 0.1, 20), Err(OcError::ZeroSize));
        assert_eq!(r(a, b, 5, 0.1, 0), Err(OcError::ZeroReps));
        assert!(matches!(r(&[], &[], 5, 0.1, 20), Err(OcError::Empty(_))));
        assert!(matches!(r(a, &b[..2], 5, 0.1, 20), Err(OcError::LengthMismatch { .. })));
        assert!(matches!(r(a, &[0.0, f64::INFINITY, 1.0], 5, 0.1, 20), Err(OcError::NonFinite { .. })));
        assert!(matches!(
            recommend(a, b, Statistic::Mean, 5, 0.1, 0.2, 1.0, 20, 1, 0.0, &Draws::default()),
            Err(OcError::TargetPower(_))
        ));
        assert!(OcError::Alpha(1.5).to_string().contains("strictly between 0 and 1"));
    }

    #[test]
    fn weighted_draws_follow_the_weights() {
        // 0/1 values with weight 3 on the ones: the drawn share is 3 × 0.4 / (3 × 0.4 + 0.6)
        // = 2/3, so p_met is the exact binomial at 2/3 (tolerance 3 mc_se, floor 1 / reps)
        let base: Vec<f64> = (0..5000).map(|i| f64::from(u8::from(i % 5 < 2))).collect();
        let weights: Vec<f64> = base.iter().map(|&v| if v == 1.0 { 3.0 } else { 1.0 }).collect();
        let reps = 4000;
        let s = OcSpec {
            draws: Draws::weighted(&weights).unwrap(),
            ..spec(&[0.0], &[10, 40], &[0.5, 0.6, 0.7, 0.8], reps, 0.0)
        };
        for c in oc_curves(std::slice::from_ref(&base), Statistic::Share, &s).unwrap() {
            let exact = share_exact_p_met(2.0 / 3.0, c.n, c.threshold, 0.0);
            let tol = 3.0 * mc_se(exact, reps).max(1.0 / reps as f64);
            assert!((c.p_met - exact).abs() <= tol, "n {} t {}: {} vs {exact}", c.n, c.threshold, c.p_met);
        }
        // equal weights draw what uniform draws draw, in law (not the same stream: two
        // numbers a student); zero weights are never drawn
        let mut w = vec![1.0; 5000];
        for (i, x) in w.iter_mut().enumerate() {
            if base[i] == 1.0 {
                *x = 0.0;
            }
        }
        let s = OcSpec { draws: Draws::weighted(&w).unwrap(), ..spec(&[0.0], &[30], &[1e-9], 200, 0.0) };
        let cells = oc_curves(std::slice::from_ref(&base), Statistic::Share, &s).unwrap();
        assert_eq!(cells[0].p_met, 0.0, "a student of weight 0 was drawn");
    }

    #[test]
    fn alias_table_reproduces_its_weights() {
        let w = [0.5, 0.0, 2.0, 1.0, 0.25, 4.0];
        let a = Alias::new(&w).unwrap();
        let total: f64 = w.iter().sum();
        let m = w.len() as f64;
        // P(i) = (prob_i + Σ_{j: alias_j = i, j != i} (1 − prob_j)) / m, exactly
        for i in 0..w.len() {
            let p =
                a.prob[i] + (0..w.len()).filter(|&j| a.alias[j] == i && j != i).map(|j| 1.0 - a.prob[j]).sum::<f64>();
            assert!((p / m - w[i] / total).abs() < 1e-12, "student {i}: {} vs {}", p / m, w[i] / total);
        }
        assert!(matches!(Alias::new(&[0.0, 0.0]), Err(OcError::Empty(_))));
        assert!(matches!(Alias::new(&[1.0, -1.0]), Err(OcError::NonFinite { student: 1, .. })));
        let s = OcSpec { draws: Draws::weighted(&[1.0; 3]).unwrap(), ..spec(&[0.0], &[5], &[0.5], 10, 0.0) };
        assert!(matches!(
            oc_curves(&[vec![0.0, 1.0]], Statistic::Mean, &s),
            Err(OcError::LengthMismatch { got: 3, expected: 2, .. })
        ));
    }

    #[test]
    fn a_cohort_shift_spreads_the_null_pass_rate() {
        // Mean of N(0, 1) history, n = 100: S ~ N(0, 1/100 + τ²). With τ = 0.1 the null
        // pass rate at t = 0.1 is P(Z ≥ 0.1 / sqrt(0.02)) = 0.2398 instead of 0.1587
        // (tolerance 3 mc_se plus 0.01 for the finite history).
        let base = normal_history(20_000, 7);
        let reps = 4000;
        let plain = spec(&[0.0], &[100], &[0.1], reps, 0.0);
        let drift = OcSpec { draws: Draws::default().with_cohort_sd(0.1).unwrap(), ..plain.clone() };
        let p0 = oc_curves(std::slice::from_ref(&base), Statistic::Mean, &plain).unwrap()[0].p_met;
        let p1 = oc_curves(std::slice::from_ref(&base), Statistic::Mean, &drift).unwrap()[0].p_met;
        assert!((p0 - 0.1587).abs() < 3.0 * mc_se(0.1587, reps) + 0.01, "without drift {p0}");
        assert!((p1 - 0.2398).abs() < 3.0 * mc_se(0.2398, reps) + 0.01, "with drift {p1}");
        // τ = 0 draws nothing more: identical to the uniform draws
        let zero = OcSpec { draws: Draws::default().with_cohort_sd(0.0).unwrap(), ..plain.clone() };
        assert_eq!(
            oc_curves(std::slice::from_ref(&base), Statistic::Mean, &zero).unwrap(),
            oc_curves(std::slice::from_ref(&base), Statistic::Mean, &plain).unwrap()
        );
        assert!(Draws::default().with_cohort_sd(f64::NAN).is_err());
    }

    #[test]
    fn share_difference_matches_two_exact_binomials() {
        // provider of n = 30 from a history with share 0.4; comparison of m = 200 at 0.4:
        // P(S >= t) = Σ_j Σ_i P(Bin(30, .4) = j) P(Bin(200, .4) = i) [S(j, i) >= t]
        let base: Vec<f64> = (0..5000).map(|i| f64::from(u8::from(i % 5 < 2))).collect();
        let (n, m, reps) = (30usize, 200usize, 4000);
        let (pn, pm) = (binomial_pmf(n, 0.4), binomial_pmf(m, 0.4));
        for k in [0.0, 1.281552] {
            let draws = Draws::default().with_comparison(0.4, m).unwrap();
            let s = OcSpec { draws, ..spec(&[0.0], &[n], &[-0.1, 0.0, 0.1, 0.2], reps, k) };
            for c in oc_curves(std::slice::from_ref(&base), Statistic::ShareDifference, &s).unwrap() {
                let mut exact = 0.0;
                for (j, a) in pn.iter().enumerate() {
                    for (i, b) in pm.iter().enumerate() {
                        let (p, q) = (j as f64 / n as f64, i as f64 / m as f64);
                        let stat = (p - q) - k * (p * (1.0 - p) / n as f64 + q * (1.0 - q) / m as f64).sqrt();
                        if stat >= c.threshold {
                            exact += a * b;
                        }
                    }
                }
                let tol = 3.0 * mc_se(exact, reps).max(1.0 / reps as f64);
                assert!((c.p_met - exact).abs() <= tol, "k {k} t {}: {} vs {exact}", c.threshold, c.p_met);
            }
        }
        // a cohort shift cancels in the difference; the statistic needs its comparison group
        let plain =
            OcSpec { draws: Draws::default().with_comparison(0.4, m).unwrap(), ..spec(&[0.0], &[n], &[0.0], 300, 0.0) };
        let shifted = OcSpec {
            draws: Draws::default().with_cohort_sd(0.2).unwrap().with_comparison(0.4, m).unwrap(),
            ..plain.clone()
        };
        let v = std::slice::from_ref(&base);
        let (a, b) = (
            oc_curves(v, Statistic::ShareDifference, &plain).unwrap(),
            oc_curves(v, Statistic::ShareDifference, &shifted).unwrap(),
        );
        assert!((a[0].p_met - b[0].p_met).abs() <= 4.0 * mc_se(a[0].p_met, 300), "{} vs {}", a[0].p_met, b[0].p_met);
        assert!(matches!(
            oc_curves(v, Statistic::ShareDifference, &spec(&[0.0], &[n], &[0.0], 10, 0.0)),
            Err(OcError::Spec(_))
        ));
        assert!(matches!(oc_curves(v, Statistic::Share, &plain), Err(OcError::Spec(_))));
        assert!(
            Draws::default().with_comparison(1.5, 10).is_err() && Draws::default().with_comparison(0.5, 0).is_err()
        );
    }

    #[test]
    fn one_pass_sums_the_drawn_students_amounts_beside_s() {
        // amounts equal to the values: with k = 0 the mean statistic is the sum over n
        let base = normal_history(2000, 11);
        let effects = [0.0, 0.2];
        let values = shifted(&base, &effects);
        let doubled: Vec<Vec<f64>> = values.iter().map(|v| v.iter().map(|x| 2.0 * x).collect()).collect();
        let amounts: Vec<Amounts<'_>> =
            (0..2).map(|e| Amounts { if_reached: &values[e], if_not: &doubled[e] }).collect();
        let s = spec(&effects, &[15, 40], &[0.0, 0.1], 200, 0.0);
        let (cells, sizes) = oc_pass(&values, &amounts, Statistic::Mean, &s).unwrap();
        // the OC cells are those of oc_curves: the same draws
        assert_eq!(cells, oc_curves(&values, Statistic::Mean, &s).unwrap());
        for size in &sizes {
            assert_eq!(size.by_effect.len(), 2);
            for r in size.by_effect.iter().flatten() {
                let n = size.n as f64;
                assert!((r.if_reached / n - r.s).abs() < 1e-9 && (r.if_not - 2.0 * r.if_reached).abs() < 1e-9);
            }
        }
        // without amounts, no replicates are kept; bad amounts are errors
        assert!(oc_pass(&values, &[], Statistic::Mean, &s).unwrap().1.iter().all(|z| z.by_effect.is_empty()));
        let short = [Amounts { if_reached: &values[0], if_not: &doubled[0] }];
        assert!(matches!(oc_pass(&values, &short, Statistic::Mean, &s), Err(OcError::LengthMismatch { .. })));
        let nan = vec![f64::NAN; values[0].len()];
        let bad = [amounts[0], Amounts { if_reached: &nan, if_not: &doubled[1] }];
        assert!(matches!(oc_pass(&values, &bad, Statistic::Mean, &s), Err(OcError::NonFinite { student: 0, .. })));
    }

    #[test]
    fn threshold_rule_handles_ties_and_small_alpha() {
        // R = 10, alpha = 0.2 -> m = 2 passes allowed: t must exceed s_(8)
        let s: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(threshold_from_null(&s, 0.2), (9.0, 0.2));
        // ties at the cut: s_(8) = s_(9) = 8 -> next distinct value 10, realised 0.1
        let s = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 8.0, 8.0, 10.0];
        assert_eq!(threshold_from_null(&s, 0.2), (10.0, 0.1));
        // alpha R < 1: just above the maximum, realised 0
        let (t, p) = threshold_from_null(&s, 0.05);
        assert!(t > 10.0 && t < 10.000001 && p == 0.0);
    }
}
