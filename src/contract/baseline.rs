//! Target setting before signing (`obc baseline`): from the history cohort (students like
//! the target group, before tutoring), the business-as-usual level of the contract metric,
//! operating-characteristic (OC) curves, a recommended threshold, the minimum provider size,
//! and a comparison of targets with published effects.
//!
//! ## Model
//! - **Population** ([`super::population`]). History students with a pre- and post-test who
//!   can be scored against the norms: all of them, those at or below `max_pre_percentile`
//!   of their grade (`like_pre`), those the `[baseline.served]` rules would serve, or all of
//!   them reweighted to a planned roster (`like_served`). With weights, every statistic
//!   below is weighted and the OC curves draw students with probability proportional to
//!   their weight.
//! - **Effect d.** A provider with true effect d raises each student's post-test by d times
//!   the within-grade SD of the post-test over *all* history students of the grade (the
//!   test's population SD, so d is on the scale of published effect sizes). Each student's
//!   outcome and metric value are recomputed from the shifted post-test (norms held fixed):
//!   the 0/1 outcome for `share_meeting`, the CGI for `mean_cgi`, the SGP for `median_sgp`,
//!   and for `effect_size` the residual of the history regression (post on a per-grade
//!   quadratic in the standardised pre-test, as in settlement) plus the shift, divided by
//!   the pooled within-grade SD.
//! - **OC curves** ([`super::oc`]): P(metric meets t | d, n) by resampling n students with
//!   replacement, with the decision rule as S = estimate − k·SE ≥ t: k = 0 for `point`,
//!   z at (1 + level)/2 for `lower_bound` (the lower end of the two-sided interval at the
//!   contract's level) and z at level for `probability` (a normal approximation of the
//!   bootstrap rule used at settlement).
//! - **Price** ([`super::cost`]): from the same draws, the distribution of the provider's
//!   total payment under the contract's card at each size and effect, each drawn student
//!   paid as settlement would pay the shifted, re-scored student.
//! - **Business as usual**: the metric over the whole population at d = 0, with a student
//!   bootstrap interval (the contract's interval method, level, replicates and seed).
//! - **SD equivalent of a threshold**: the d at which the population's metric equals the
//!   threshold (linear interpolation on a grid of d in steps of 0.02 up to 1.5), compared
//!   with published effects and annual growth ([`super::benchmarks`]).

use crate::stats::warning::{Warning, WarningCode};
use std::collections::{BTreeMap, BTreeSet};

use crate::data::planned::{Planned, PlannedStudent};

use super::benchmarks;
use super::cost;
use super::drift::YearLevel;
use super::oc::{self, OcSpec, Recommendation, Statistic};
use super::population::{self, PreByGrade, Unmatched};
use super::rates::CardLine;
pub use super::results::{
    Baseline, CohortVariation, CohortYear, ComparisonShare, Population, Served, Target, TierChance, TierChances,
};
use super::settle::{self, Estimate, NoOutcome, NormScore, Student};
use super::terms::{Contract, DecisionRule, MetricKind};
use crate::stats::normal::qnorm;

/// The decision statistic's multiplier k for the contract's rule.
pub fn decision_k(rule: DecisionRule, level: f64) -> f64 {
    match rule {
        DecisionRule::Point => 0.0,
        DecisionRule::LowerBound => qnorm((1.0 + level) / 2.0),
        DecisionRule::Probability => qnorm(level),
    }
}

fn statistic(kind: MetricKind) -> Statistic {
    match kind {
        MetricKind::ShareMeeting => Statistic::Share,
        MetricKind::ShareMeetingVsComparison => Statistic::ShareDifference,
        MetricKind::MeanCgi | MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison => Statistic::Mean,
        MetricKind::MedianSgp => Statistic::Median,
    }
}

/// The population's metric over `v`, weighted by `w` when given.
fn summary(stat: Statistic, v: &[f64], w: Option<&[f64]>) -> f64 {
    if let Some(w) = w {
        return match stat {
            Statistic::Median => settle::weighted_median(v, w),
            _ => v.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / w.iter().sum::<f64>(),
        };
    }
    match stat {
        Statistic::Median => {
            let mut s = v.to_vec();
            s.sort_by(f64::total_cmp);
            let n = s.len();
            if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 }
        }
        _ => v.iter().sum::<f64>() / v.len() as f64,
    }
}

/// Why targets cannot be set from the history file.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("the history file has no student with a pre- and a post-test")]
    NoStudents,
    #[error("only {0} history students in the target population; need at least 2")]
    TooFew(usize),
    #[error("some shifted scores fall outside the norms (no CGI or SGP); narrow the effects grid")]
    OutsideNorms,
    #[error(transparent)]
    EffectModel(#[from] settle::EffectModelError),
    #[error(transparent)]
    Oc(#[from] oc::OcError),
    #[error(transparent)]
    Population(#[from] population::PopulationError),
    #[error(transparent)]
    Drift(#[from] super::drift::DriftError),
    #[error(transparent)]
    Cost(#[from] super::cost::CostError),
}

/// A baseline with the planned students it could not match (to be excepted in the planned
/// roster's ledger).
pub struct Run {
    pub baseline: Baseline,
    pub unmatched: Vec<Unmatched>,
}

/// The history as the baseline takes it: every student (provider `None`, analysed,
/// scored) with the school year of their record (`None` in a single-year file).
pub struct HistoryInput<'a> {
    pub students: &'a [Student],
    pub years: &'a [Option<String>],
}

/// Runs the baseline. `planned` is the planned roster of `[baseline.served] roster`, when
/// given; `rescore(student, shifted_post)` re-scores a student against the norms.
pub fn run<F>(
    contract: &Contract,
    history: HistoryInput<'_>,
    planned: Option<&Planned>,
    rescore: F,
    weeks: f64,
) -> Result<Run, BaselineError>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    let b = &contract.baseline;
    let stat = statistic(contract.metric.kind);
    let card = super::rates::card(contract);
    cost::check_card(contract)?;
    let dosage = cost::planned_dosage(contract, &card)?;
    if history.students.is_empty() {
        return Err(BaselineError::NoStudents);
    }
    let sd_post = post_sd_by_grade(history.students);
    let chosen = choose(contract, history.students, planned, &sd_post)?;
    let Chosen { target, members, comparison, weights, population, unmatched } = chosen;
    if target.len() < 2 {
        return Err(BaselineError::TooFew(target.len()));
    }
    let w = weights.as_deref();
    let effect = if contract.metric.kind.is_effect() {
        let owned: Vec<Student> = target.iter().map(|s| (*s).clone()).collect();
        let model = settle::effect_model(&owned, &vec![true; owned.len()])?;
        Some(Residuals::of(model, contract.metric.kind))
    } else {
        None
    };
    let shifted = Shifted { contract, target: &target, sd_post: &sd_post, effect, rescore };
    let priced = Priced { card: &card, dosage: dosage.as_ref() };
    let (values, amounts): (Vec<Vec<f64>>, Vec<StudentAmounts>) =
        b.effects.iter().map(|&d| shifted.values_and_amounts_at(d, &priced)).unzip();
    if values.iter().flatten().any(|v| !v.is_finite()) {
        return Err(BaselineError::OutsideNorms);
    }
    // the drift-robust metric is measured against a concurrent comparison group, for which
    // every eligible history student stands in (docs/methods.md 10.2)
    let against = (stat == Statistic::ShareDifference).then(|| Against::of(contract, history.students, &comparison));
    let offset = against.as_ref().map_or(0.0, |a| a.share);
    let bau = business_as_usual(contract, stat, &values[0], w).shifted_by(-offset);
    let metric_by_effect: Vec<(f64, f64)> =
        metric_by_effect(&shifted, &b.effects, &values, stat, w).into_iter().map(|(d, m)| (d, m - offset)).collect();
    let top = summary(stat, values.last().expect("effects not empty"), w) - offset;
    let grid = match &b.thresholds {
        Some(t) => t.clone(),
        None => (0..10).map(|i| bau.point + (top - bau.point) * f64::from(i) / 9.0).collect(),
    };
    let thresholds = with_tiers(grid, contract);
    let k = decision_k(contract.decision.rule, contract.decision.level);
    let cohort = match stat {
        // a cohort shift moves the comparison group alike: nothing to fold in
        Statistic::ShareDifference => None,
        _ => cohort_variation(stat, &values[0], w, &members, history.years)?,
    };
    let mut draws = match w {
        Some(w) => oc::Draws::weighted(w)?,
        None => oc::Draws::default(),
    };
    if let Some(c) = &cohort {
        draws = draws.with_cohort_sd(c.tau)?;
    }
    if let Some(a) = &against {
        draws = draws.with_comparison(a.share, a.size)?;
    }
    let spec = OcSpec {
        sizes: b.sizes.clone(),
        thresholds: thresholds.clone(),
        effects: b.effects.clone(),
        reps: b.replicates,
        seed: contract.inference.seed,
        k,
        draws,
    };
    let amount_refs: Vec<oc::Amounts<'_>> =
        amounts.iter().map(|a| oc::Amounts { if_reached: &a.if_reached, if_not: &a.if_not }).collect();
    let (cells, replicates) = oc::oc_pass(&values, &amount_refs, stat, &spec)?;
    let tiers = tier_chances(contract, &cells);
    let recommendation = recommend(contract, &shifted, &values, stat, k, &spec.draws)?;
    let cost = cost::price(contract, &card, &replicates, &b.effects, recommendation.n, dosage.as_ref());
    let threshold_note = threshold_note(contract, &recommendation, bau.point);
    let grades: Vec<i32> = sd_post.keys().copied().collect();
    let targets = targets(contract, &recommendation, &metric_by_effect, &grades, weeks);
    let mut warnings = population::warnings(&population, b.provider_size);
    warnings.extend(target_warnings(contract, &targets, &recommendation));
    let baseline = Baseline {
        population,
        statistic: stat,
        k,
        business_as_usual: bau,
        metric_by_effect,
        thresholds,
        cells,
        recommendation,
        targets,
        tiers,
        threshold_note,
        cohort,
        comparison: against.map(|a| a.record()),
        calibration: super::calibration::evidence().sentence(contract),
        cost: Some(cost),
        warnings,
    };
    Ok(Run { baseline, unmatched })
}

/// The OC grid's thresholds: `grid` (the `[baseline] thresholds`, or ten points from business
/// as usual to the level at the largest effect) with every tier value of the contract
/// added, sorted, each value once.
pub fn with_tiers(mut grid: Vec<f64>, contract: &Contract) -> Vec<f64> {
    grid.extend(contract.thresholds.iter().map(|t| t.value));
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    grid
}

/// A tier's name as written in outputs: its `name`, or `tier N`.
pub fn tier_name(contract: &Contract, i: usize) -> String {
    let t = &contract.thresholds[i];
    if t.name.is_empty() { format!("tier {}", i + 1) } else { t.name.clone() }
}

/// P(earning each tier of the contract): the OC cells at the tier's value, in grid order.
fn tier_chances(contract: &Contract, cells: &[oc::OcCell]) -> Vec<TierChances> {
    (0..contract.thresholds.len())
        .map(|i| {
            let value = contract.thresholds[i].value;
            let chances = cells
                .iter()
                .filter(|c| c.threshold == value)
                .map(|c| TierChance { effect: c.effect, provider_size: c.n, p_earn: c.p_met })
                .collect();
            TierChances { tier: i + 1, name: tier_name(contract, i), threshold: value, chances }
        })
        .collect()
}

/// Why the recommended threshold is at or below business as usual (`None` when it is
/// above). The recommendation is the lowest threshold that a no-effect provider's decision
/// statistic S = estimate − k·SE reaches at most alpha of the time ([`oc::recommend`]).
/// With k at or above the normal quantile of 1 − alpha, a no-effect provider, whose
/// estimate centres on business as usual, clears business as usual less than alpha of the
/// time, so the threshold can sit at or below it; with a smaller k, only resampling noise
/// (or a cohort shift) puts it there.
pub fn threshold_note(contract: &Contract, r: &Recommendation, bau: f64) -> Option<String> {
    if r.threshold.is_nan() || bau.is_nan() || r.threshold > bau {
        return None;
    }
    let level = contract.decision.level;
    let z_alpha = qnorm(1.0 - r.alpha);
    let rule = match contract.decision.rule {
        DecisionRule::LowerBound => format!(
            "the contract pays a tier only when the lower end of the {:.0}% interval of the provider's metric reaches it, \
             i.e. when the estimate exceeds the threshold by {:.2} standard errors",
            100.0 * level,
            r.k
        ),
        DecisionRule::Probability => format!(
            "the contract pays a tier only when the chance that the provider's true metric is above it is at least {:.0}%, \
             i.e. when the estimate exceeds the threshold by {:.2} standard errors",
            100.0 * level,
            r.k
        ),
        DecisionRule::Point => "the contract pays a tier when the provider's estimate reaches it".to_string(),
    };
    let why = if r.k >= z_alpha {
        format!(
            "A provider with no effect has an estimate centred on business as usual, so it clears a threshold at \
             business as usual only when its estimate lands {:.2} standard errors above it, which happens less often \
             than alpha ({:.0}%) allows ({:.2} standard errors are enough for that). The rule itself already demands \
             evidence above the threshold, so the threshold can sit at business as usual or just below it without \
             paying no-effect providers more than alpha of the time.",
            r.k,
            100.0 * r.alpha,
            z_alpha
        )
    } else {
        format!(
            "With this rule the margin ({:.2} standard errors) is smaller than the {:.2} that alpha ({:.0}%) needs, so \
             a threshold below business as usual comes from the resampling of the history students (or the \
             between-year variation folded into the curves), not from the rule.",
            r.k,
            z_alpha,
            100.0 * r.alpha
        )
    };
    Some(format!(
        "The recommended threshold ({:.3}) is at or below business as usual ({bau:.3}). It is the lowest threshold that a \
         provider of {} students with no effect earns at most {:.0}% of the time (alpha); {rule}. {why} A provider \
         with no effect earns it {:.1}% of the time.",
        r.threshold,
        r.n,
        100.0 * r.alpha,
        100.0 * r.p_met_null
    ))
}

/// The lead sentences of the report and the console, one per tier: the chance that a
/// provider of the recommendation's size (the grid's nearest) earns the tier with no effect
/// and with the power effect (the grid's nearest).
pub fn tier_sentences(tiers: &[TierChances], r: &Recommendation) -> Vec<String> {
    let Some(first) = tiers.first() else { return Vec::new() };
    let nearest_n = first.chances.iter().map(|c| c.provider_size).min_by_key(|&n| (n.abs_diff(r.n), n)).unwrap_or(r.n);
    let nearest_d = first
        .chances
        .iter()
        .map(|c| c.effect)
        .filter(|&d| d > 0.0)
        .min_by(|a, b| (a - r.power_effect).abs().total_cmp(&(b - r.power_effect).abs()));
    let pct = |p: Option<f64>| p.map_or("(not simulated)".to_string(), |p| format!("{:.1}%", 100.0 * p));
    tiers
        .iter()
        .map(|t| {
            let mut s = format!(
                "A provider of {nearest_n} students with no effect earns {} ({:.2}) {} of the time",
                t.name,
                t.threshold,
                pct(t.at(0.0, nearest_n))
            );
            if let Some(d) = nearest_d {
                s.push_str(&format!("; with {}, {}", effect_words(d), pct(t.at(d, nearest_n))));
            }
            s.push('.');
            s
        })
        .collect()
}

/// A true effect in words: "a typical tutoring effect at scale (0.2 SD)" for effects within
/// the range Kraft, Schueler & Falken report for programs of 400 or more students
/// (0.16-0.21 SD, rounded to 0.15-0.25), else "a true effect of d SD".
pub fn effect_words(d: f64) -> String {
    if (0.15..=0.25).contains(&d) {
        format!("a typical tutoring effect at scale ({d} SD)")
    } else {
        format!("a true effect of {d} SD")
    }
}

/// The concurrent comparison group the drift-robust metric is measured against: its share
/// meeting the outcome (every eligible history student, unweighted) and its size
/// (`[baseline] comparison_size`, default the number of those students).
struct Against {
    share: f64,
    size: usize,
    students: usize,
}

impl Against {
    fn of(contract: &Contract, history: &[Student], comparison: &[usize]) -> Against {
        let o = &contract.outcome;
        let met = comparison.iter().filter(|&&i| settle::outcome_met(o, &history[i]) == Ok(true)).count();
        let students = comparison.len();
        let size = contract.baseline.comparison_size.unwrap_or(students);
        Against { share: met as f64 / students.max(1) as f64, size, students }
    }

    fn record(&self) -> ComparisonShare {
        ComparisonShare { share: self.share, size: self.size, history_students: self.students }
    }
}

/// The between-year variation of business as usual when the history holds at least two
/// school years (docs/methods.md 10.6): each year's level of the metric at d = 0 over the
/// population's students of that year (weighted), with its sampling variance, and the
/// DerSimonian-Laird between-year variance ([`super::drift`]).
fn cohort_variation(
    stat: Statistic,
    values: &[f64],
    weights: Option<&[f64]>,
    members: &[usize],
    years: &[Option<String>],
) -> Result<Option<CohortVariation>, BaselineError> {
    let mut by_year: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (j, &i) in members.iter().enumerate() {
        if let Some(y) = years.get(i).and_then(|y| y.as_deref()) {
            by_year.entry(y).or_default().push(j);
        }
    }
    if by_year.len() < 2 {
        return Ok(None);
    }
    let levels: Vec<YearLevel> = by_year
        .iter()
        .map(|(year, js)| {
            let v: Vec<f64> = js.iter().map(|&j| values[j]).collect();
            let w: Vec<f64> = js.iter().map(|&j| weights.map_or(1.0, |w| w[j])).collect();
            let (level, variance) = year_level(stat, &v, &w);
            YearLevel { school_year: year.to_string(), level, variance, n: js.len() }
        })
        .collect();
    let fit = super::drift::CohortSpec { years: levels.clone() }.fit()?;
    Ok(Some(CohortVariation {
        years: levels
            .iter()
            .map(|y| CohortYear {
                school_year: y.school_year.clone(),
                students: y.n,
                level: y.level,
                se: y.variance.sqrt(),
            })
            .collect(),
        tau2: fit.tau2,
        tau: fit.tau2.sqrt(),
        mean: fit.mean,
        q: fit.q,
        df: fit.df,
        i2: fit.i2,
    }))
}

/// A year's weighted level and its sampling variance: for a share or a mean
/// `Σw²(v − m)² / (Σw)²` (p(1 − p)/n for an unweighted share), for a median π/2 times that
/// (the large-sample variance of a median of a normal variable).
fn year_level(stat: Statistic, v: &[f64], w: &[f64]) -> (f64, f64) {
    let total: f64 = w.iter().sum();
    let mean = v.iter().zip(w).map(|(x, w)| x * w).sum::<f64>() / total;
    let var_mean = v.iter().zip(w).map(|(x, w)| w * w * (x - mean).powi(2)).sum::<f64>() / (total * total);
    match stat {
        Statistic::Median => (summary(stat, v, Some(w)), std::f64::consts::FRAC_PI_2 * var_mean),
        _ => (mean, var_mean),
    }
}

/// The population chosen: its students, their weights (`None`: equal), its description,
/// and the planned students left unmatched.
struct Chosen<'a> {
    target: Vec<&'a Student>,
    /// The positions of `target` in the history.
    members: Vec<usize>,
    /// Positions of every eligible history student whose outcome can be computed: the
    /// stand-in for a concurrent comparison group.
    comparison: Vec<usize>,
    weights: Option<Vec<f64>>,
    population: Population,
    unmatched: Vec<Unmatched>,
}

/// Forms the population of `[baseline] population` (module docs of [`population`]):
/// history students with both tests in a grade with a post-test SD, kept by the rules,
/// whose outcome can be computed, reweighted to a planned roster when one is given.
fn choose<'a>(
    contract: &Contract,
    history: &'a [Student],
    planned: Option<&Planned>,
    sd_post: &BTreeMap<i32, f64>,
) -> Result<Chosen<'a>, BaselineError> {
    let b = &contract.baseline;
    let pre = PreByGrade::of(history);
    let eligible_idx: Vec<usize> = (0..history.len())
        .filter(|&i| {
            let s = &history[i];
            s.pre.is_some() && s.post.is_some() && sd_post.contains_key(&s.grade)
        })
        .collect();
    let ruled: Vec<usize> =
        eligible_idx.iter().copied().filter(|&i| population::by_rules(b, &pre, &history[i])).collect();
    let (mut members, unscored) = scorable(contract, history, &ruled);
    let eligible: Vec<&Student> = eligible_idx.iter().map(|&i| &history[i]).collect();
    let of = |members: &[usize]| -> Vec<&'a Student> { members.iter().map(|&i| &history[i]).collect() };
    let history_groups: Vec<String> =
        history.iter().flat_map(|s| s.groups.keys().cloned()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut weights = None;
    let mut unmatched = Vec::new();
    let mut matched_planned: Option<Vec<&PlannedStudent>> = None;
    let (served, groups) = match (&b.served, planned) {
        (Some(spec), Some(p)) if spec.roster.is_some() => {
            population::check_groups(spec, &history_groups, Some(&p.groups))?;
            let groups = population::match_groups(spec, &history_groups, &p.groups);
            let raked = population::rake(&of(&members), &p.students, &pre, spec.pre_bins, &groups)?;
            let keep: Vec<bool> = raked.weights.iter().map(|&w| w > 0.0).collect();
            members = members.into_iter().zip(&keep).filter(|(_, k)| **k).map(|(i, _)| i).collect();
            let w: Vec<f64> = raked.weights.iter().copied().filter(|&w| w > 0.0).collect();
            let out: BTreeSet<usize> = raked.unmatched.iter().map(|u| u.student).collect();
            matched_planned =
                Some(p.students.iter().enumerate().filter(|(i, _)| !out.contains(i)).map(|(_, s)| s).collect());
            let served = Served::Roster {
                file: p.file.clone(),
                planned: p.students.len(),
                matched: p.students.len() - out.len(),
                match_groups: groups.clone(),
                pre_bins: spec.pre_bins,
                iterations: raked.iterations,
                converged: raked.converged,
                max_weight: w.iter().copied().fold(0.0, f64::max),
            };
            weights = Some(w);
            unmatched = raked.unmatched;
            (Some(served), groups)
        }
        (Some(spec), _) => {
            population::check_groups(spec, &history_groups, None)?;
            (Some(population::rules_served(spec)), history_groups.clone())
        }
        (None, _) => (None, history_groups.clone()),
    };
    let target = of(&members);
    let described = population::Described {
        eligible: &eligible,
        target: &target,
        weights: weights.as_deref(),
        planned: matched_planned.as_deref(),
    };
    let balance = population::balance(&pre, &described, &groups, contract.reporting.min_cell);
    let population = Population {
        history_students: history.len(),
        target_students: target.len(),
        unscored,
        max_pre_percentile: b.max_pre_percentile,
        sd_post_by_grade: sd_post.clone(),
        kind: b.population_kind(),
        served,
        effective_size: Some(population::effective_size(target.len(), weights.as_deref())),
        balance,
    };
    let (comparison, _) = scorable(contract, history, &eligible_idx);
    Ok(Chosen { target, members, comparison, weights, population, unmatched })
}

/// The unit of d: the within-grade SD (n − 1) of the post-test over every history student
/// with both tests, for grades with at least two such students.
fn post_sd_by_grade(history: &[Student]) -> BTreeMap<i32, f64> {
    let mut by_grade: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
    for s in history {
        if let (Some(_), Some(post)) = (s.pre, s.post) {
            by_grade.entry(s.grade).or_default().push(post);
        }
    }
    by_grade
        .iter()
        .filter(|(_, v)| v.len() >= 2)
        .map(|(g, v)| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            (*g, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt())
        })
        .collect()
}

/// The students of `candidates` (positions in `history`) whose outcome can be computed, with the counts of those left
/// out because it cannot, by reason.
fn scorable(contract: &Contract, history: &[Student], candidates: &[usize]) -> (Vec<usize>, BTreeMap<String, usize>) {
    let mut unscored: BTreeMap<String, usize> = BTreeMap::new();
    let target = candidates
        .iter()
        .copied()
        .filter(|&i| match settle::outcome_met(&contract.outcome, &history[i]) {
            Ok(_) => true,
            Err(e) => {
                *unscored.entry(e.to_string()).or_default() += 1;
                false
            }
        })
        .collect();
    (target, unscored)
}

/// For the effect-size metric: each target student's residual in the history regression and
/// the pooled within-grade SD that divides it.
struct Residuals {
    residual: Vec<f64>,
    sd: f64,
}

impl Residuals {
    /// Takes the residuals of a model fitted on every target student, in SDs of the
    /// comparison group for `effect_size` and in scale-score points for
    /// `mean_growth_vs_comparison`.
    fn of(m: settle::EffectModel, kind: MetricKind) -> Self {
        let sd = if kind == MetricKind::MeanGrowthVsComparison { 1.0 } else { m.sd_comparison.0 };
        Residuals { residual: m.residual.into_iter().map(|r| r.expect("every student in the model")).collect(), sd }
    }
}

/// The card a provider is paid by and the planned dosage its engagement lines are priced at.
struct Priced<'a> {
    card: &'a [CardLine],
    dosage: Option<&'a cost::Dosage>,
}

/// What each target student is paid at one effect, if the provider reaches the first tier
/// and if not ([`cost::student_pay`]).
struct StudentAmounts {
    if_reached: Vec<f64>,
    if_not: Vec<f64>,
}

/// The target population with what it takes to recompute each student's metric value after
/// a true effect d shifts the post-test by d within-grade SDs (see the module docs).
struct Shifted<'a, F> {
    contract: &'a Contract,
    target: &'a [&'a Student],
    sd_post: &'a BTreeMap<i32, f64>,
    /// `Some` for the effect-size metric.
    effect: Option<Residuals>,
    rescore: F,
}

impl<F> Shifted<'_, F>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    /// Every target student's metric value at effect `d` (NaN when a shifted score has no
    /// CGI or SGP), in the order of the target population.
    fn values_at(&self, d: f64) -> Vec<f64> {
        use rayon::prelude::*;
        self.target.par_iter().enumerate().map(|(i, s)| self.value(i, s, d)).collect()
    }

    /// The metric value of target student `i` (`s`) at effect `d`.
    fn value(&self, i: usize, s: &Student, d: f64) -> f64 {
        if let Some(Residuals { residual, sd }) = &self.effect {
            return (residual[i] + d * self.sd_post[&s.grade]) / sd;
        }
        let (post, rescored) = self.shift(s, d);
        self.value_with(s, Some(post), rescored.as_ref().unwrap_or(&s.score))
    }

    /// Student `s`'s post-test shifted by `d` within-grade SDs, with its score re-scored
    /// against the norms when the contract uses them (`None`: its own score stands).
    fn shift(&self, s: &Student, d: f64) -> (f64, Option<Result<NormScore, NoOutcome>>) {
        let post = s.post.expect("filtered") + d * self.sd_post[&s.grade];
        let rescored = (d != 0.0 && self.contract.uses_norms()).then(|| (self.rescore)(s, post));
        (post, rescored)
    }

    /// Student `s` with the post-test shifted by `d` within-grade SDs, re-scored against the
    /// norms when the contract uses them.
    fn student_at(&self, s: &Student, d: f64) -> Student {
        let (post, rescored) = self.shift(s, d);
        let mut shifted = s.clone();
        shifted.post = Some(post);
        if let Some(score) = rescored {
            shifted.score = score;
        }
        shifted
    }

    /// The metric value of a shifted student (not for the effect metrics).
    fn value_of(&self, shifted: &Student) -> f64 {
        self.value_with(shifted, shifted.post, &shifted.score)
    }

    /// The metric value of student `s` with `post` and `score` in place of its own.
    fn value_with(&self, s: &Student, post: Option<f64>, score: &Result<NormScore, NoOutcome>) -> f64 {
        let met = settle::outcome_met_at(&self.contract.outcome, s, post, score).unwrap_or(false);
        let score = score.as_ref().ok();
        match self.contract.metric.kind {
            MetricKind::ShareMeeting | MetricKind::ShareMeetingVsComparison => f64::from(u8::from(met)),
            MetricKind::MeanCgi => score.and_then(|x| x.cgi).unwrap_or(f64::NAN),
            MetricKind::MedianSgp => score.and_then(|x| x.sgp).map_or(f64::NAN, f64::from),
            MetricKind::EffectSize | MetricKind::MeanGrowthVsComparison => {
                unreachable!("the effect metrics are computed from the residuals above")
            }
        }
    }

    /// Every target student's metric value at effect `d` and what the card pays the student
    /// at `d` ([`cost::student_pay`], at the planned dosage), from one shift and re-scoring.
    fn values_and_amounts_at(&self, d: f64, priced: &Priced<'_>) -> (Vec<f64>, StudentAmounts) {
        use rayon::prelude::*;
        let rows: Vec<(f64, (f64, f64))> = self
            .target
            .par_iter()
            .enumerate()
            .map(|(i, s)| {
                let shifted = cost::at_dosage(self.student_at(s, d), priced.dosage);
                let value = match &self.effect {
                    Some(_) => self.value(i, s, d),
                    None => self.value_of(&shifted),
                };
                (value, cost::student_pay(self.contract, priced.card, &shifted))
            })
            .collect();
        let (values, pay): (Vec<f64>, Vec<(f64, f64)>) = rows.into_iter().unzip();
        let (if_reached, if_not) = pay.into_iter().unzip();
        (values, StudentAmounts { if_reached, if_not })
    }

    /// The values at `d`: those of `values[e]` when `effects[e] == d`, else recomputed.
    fn values_or_computed(&self, effects: &[f64], values: &[Vec<f64>], d: f64) -> Vec<f64> {
        match effects.iter().position(|&e| e == d) {
            Some(e) => values[e].clone(),
            None => self.values_at(d),
        }
    }
}

/// Business as usual: the metric over the target population at d = 0 with a student
/// bootstrap interval (the contract's interval method, level, replicates and seed).
fn business_as_usual(contract: &Contract, stat: Statistic, values: &[f64], weights: Option<&[f64]>) -> Estimate {
    let inf = &contract.inference;
    let level = contract.decision.level;
    let n = values.len();
    let cl: Vec<usize> = (0..n).collect();
    let r = settle::Resampling {
        cluster: &cl,
        clusters: n,
        reps: inf.replicates,
        seed: inf.seed,
        method: inf.interval,
        level,
    };
    match (stat, weights) {
        (Statistic::Median, None) => settle::estimate_median_sgp(&sgp(values), &r),
        (Statistic::Median, Some(w)) => settle::estimate_weighted_median_sgp(&sgp(values), w, &r),
        (_, None) => settle::estimate_mean(values, &r),
        (_, Some(w)) => settle::estimate_weighted_mean(values, w, &r),
    }
}

/// SGP values (whole numbers 1..=99 held as f64) as bytes.
fn sgp(values: &[f64]) -> Vec<u8> {
    values.iter().map(|&x| x as u8).collect()
}

/// The population's metric at each d of the fine grid 0, 0.02, ..., 1.5 (for SD equivalents).
fn metric_by_effect<F>(
    shifted: &Shifted<'_, F>,
    effects: &[f64],
    values: &[Vec<f64>],
    stat: Statistic,
    weights: Option<&[f64]>,
) -> Vec<(f64, f64)>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    (0..=75)
        .map(|i| f64::from(i) * 0.02)
        .map(|d| match effects.iter().position(|&e| e == d) {
            Some(e) => (d, summary(stat, &values[e], weights)),
            None => (d, summary(stat, &shifted.values_at(d), weights)),
        })
        .collect()
}

/// The recommended threshold, its power at `power_effect` and the minimum provider size
/// ([`oc::recommend`]) for the contract's `[baseline]` settings.
fn recommend<F>(
    contract: &Contract,
    shifted: &Shifted<'_, F>,
    values: &[Vec<f64>],
    stat: Statistic,
    k: f64,
    draws: &oc::Draws,
) -> Result<Recommendation, oc::OcError>
where
    F: Fn(&Student, f64) -> Result<NormScore, NoOutcome> + Sync,
{
    let b = &contract.baseline;
    let alt = shifted.values_or_computed(&b.effects, values, b.power_effect);
    oc::recommend(
        &values[0],
        &alt,
        stat,
        b.provider_size,
        b.alpha,
        b.power_effect,
        b.power,
        b.replicates,
        contract.inference.seed,
        k,
        draws,
    )
}

/// The recommended threshold and each contract tier as a target, with its SD equivalent on
/// `metric_by_effect` and the comparison with published effects.
fn targets(
    contract: &Contract,
    recommendation: &Recommendation,
    metric_by_effect: &[(f64, f64)],
    grades: &[i32],
    weeks: f64,
) -> Vec<Target> {
    let subject = contract.contract.subject.list().first().cloned().unwrap_or_default();
    let target_of = |label: String, t: f64| {
        let d = sd_equivalent(metric_by_effect, t);
        Target {
            label,
            threshold: t,
            sd_equivalent: d,
            comparison: d.map(|d| {
                let mut c = benchmarks::compare(d, weeks, grades, &subject, contract.baseline.provider_size);
                c.lines.insert(1, benchmarks::by_sizes(d, &contract.baseline.sizes));
                c
            }),
        }
    };
    let mut targets = vec![target_of("recommended threshold".into(), recommendation.threshold)];
    for (i, t) in contract.thresholds.iter().enumerate() {
        targets.push(target_of(format!("contract {}", tier_name(contract, i)), t.value));
    }
    targets
}

/// The targets' warnings: each target's comparison warnings, then a warning when no
/// provider size reaches the power asked for.
fn target_warnings(contract: &Contract, targets: &[Target], recommendation: &Recommendation) -> Vec<Warning> {
    let b = &contract.baseline;
    let mut warnings = Vec::new();
    for t in targets {
        if let Some(c) = &t.comparison {
            warnings.extend(c.warnings.iter().map(|w| w.prefixed(&format!("{}: ", t.label))));
        }
    }
    if recommendation.min_n.is_none() {
        warnings.push(Warning::new(
            WarningCode::Recommendation,
            format!(
                "no provider size up to {} reaches power {} at d = {} with a false-pass rate of at most {}",
                recommendation.search_cap, b.power, b.power_effect, b.alpha
            ),
        ));
    }
    warnings
}

/// The d at which the (increasing) metric curve reaches `t`, by linear interpolation.
pub fn sd_equivalent(curve: &[(f64, f64)], t: f64) -> Option<f64> {
    let first = curve.first()?;
    if t <= first.1 {
        return (t == first.1).then_some(first.0);
    }
    for w in curve.windows(2) {
        let ((d0, m0), (d1, m1)) = (w[0], w[1]);
        if m0 < t && t <= m1 {
            return Some(d0 + (t - m0) / (m1 - m0) * (d1 - d0));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_equivalent_interpolates_and_refuses_out_of_range() {
        let curve = [(0.0, 0.5), (0.1, 0.54), (0.2, 0.58)];
        assert!((sd_equivalent(&curve, 0.56).unwrap() - 0.15).abs() < 1e-12);
        assert_eq!(sd_equivalent(&curve, 0.5), Some(0.0));
        assert_eq!(sd_equivalent(&curve, 0.45), None);
        assert_eq!(sd_equivalent(&curve, 0.6), None);
    }

    #[test]
    fn k_follows_the_rule() {
        assert_eq!(decision_k(DecisionRule::Point, 0.9), 0.0);
        assert!((decision_k(DecisionRule::LowerBound, 0.9) - 1.6448536).abs() < 1e-6);
        assert!((decision_k(DecisionRule::Probability, 0.9) - 1.2815516).abs() < 1e-6);
    }

    fn student(grade: i32, pre: Option<f64>, post: Option<f64>) -> Student {
        Student::example(grade, pre, post)
    }

    #[test]
    fn post_sds_and_pre_cuts_use_students_with_both_tests_per_grade() {
        let history = vec![
            student(3, Some(10.0), Some(1.0)),
            student(3, Some(20.0), Some(3.0)),
            student(3, Some(30.0), Some(5.0)),
            student(3, None, Some(100.0)),
            student(3, Some(99.0), None),
            student(4, Some(1.0), Some(7.0)),
        ];
        // grade 3: posts 1, 3, 5 (SD 2); grade 4 has a single student and no SD
        let sd = post_sd_by_grade(&history);
        assert_eq!(sd.len(), 1);
        assert!((sd[&3] - 2.0).abs() < 1e-12, "{sd:?}");
        // type 7 quantile of 10, 20, 30 at 0.25 is 15 (the pre-test 99 has no post-test)
        let pre = PreByGrade::of(&history);
        assert_eq!(
            (pre.quantile(3, 0.25), pre.quantile(4, 0.25), pre.quantile(5, 0.25)),
            (Some(15.0), Some(1.0), None)
        );
    }
}
