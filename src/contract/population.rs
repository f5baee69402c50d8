//! Which history students stand in for a provider's students before a contract is signed
//! (`[baseline] population`, docs/methods.md 10.1):
//!
//! - `all`: every history student with both tests;
//! - `like_pre`: those whose pre-test is at or below the `max_pre_percentile`-th percentile
//!   (type 7) of their grade's history pre-tests;
//! - `like_served` with rules (`[baseline.served]` grades, pre-test percentile range, group
//!   values): the history students the rules would have served;
//! - `like_served` with a planned roster: every history student, reweighted so that the
//!   weighted history has the planned students' distribution of grade × pre-score bin
//!   (bins: the grade's history quantiles, `pre_bins` of them) and of each matched group.
//!
//! ## Raking
//! The weights are found by raking (iterative proportional fitting; Deming and Stephan
//! 1940, Ann. Math. Statist. 11:427): starting from 1, the weights are scaled in turn so
//! that each margin's weighted shares equal the planned shares, until every share is met
//! to 1e-9 or 1,000 cycles have run. Raking gives the weights closest to equal, in
//! Kullback-Leibler divergence, that meet the margins: entropy balancing on the margins'
//! indicators (Hainmueller 2012, Political Analysis 20:25). The grade × pre-score bin cells
//! are one margin, so their joint distribution is met exactly (coarsened exact matching on
//! them); each group is a margin of its own, so groups are balanced marginally, not within
//! cells, which keeps the weights stable when there are many groups. History students in a
//! cell or group value no planned student has get weight 0 and leave the population. A
//! planned student whose grade, cell or group value no history student has cannot be
//! matched: it is excluded (an exception of the planned roster, with the reason) and the
//! population stands for the others.
//!
//! ## Diagnostics
//! Kish's effective sample size `(Σw)² / Σw²`, the largest weight over the mean weight, and
//! a balance table: the mean of the pre-test standardised within grade (by the history's
//! mean and SD of the grade) and the share of every grade and group value, over all
//! eligible history students, over the population (weighted) and over the planned students,
//! with the standardised difference (population − planned) / sqrt((var_pop + var_planned) / 2)
//! (variance `p(1 − p)` for a share).

use std::collections::{BTreeMap, BTreeSet};

use super::results::{BalanceRow, Population, Served};
use super::settle::Student;
use super::suppress::Suppression;
use super::terms::{BaselineSpec, PopulationKind, ServedSpec};
use crate::data::planned::PlannedStudent;
use crate::stats::spline::quantile_type7;
use crate::stats::warning::{Warning, WarningCode};

/// Largest number of raking cycles.
pub const MAX_RAKING_CYCLES: usize = 1000;
/// Largest deviation of a weighted share from its planned share at convergence.
pub const RAKING_TOLERANCE: f64 = 1e-9;
/// A covariate whose standardised difference exceeds this after weighting is out of balance
/// (the usual 0.1 rule for standardised differences; Austin 2009, Stat. Med. 28:3083).
pub const BALANCE_LIMIT: f64 = 0.1;
/// The population's effective size should be at least this many times the provider size:
/// the history's own sampling error, which the OC curves ignore, then adds at most a quarter
/// to a provider's sampling variance.
pub const ESS_PER_PROVIDER: f64 = 4.0;
/// A share of planned students left unmatched above this is warned about.
pub const UNMATCHED_LIMIT: f64 = 0.05;

/// Why the population cannot be formed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PopulationError {
    #[error("baseline.served.{key}: the history file has no column {group:?} (its groups: {have})")]
    HistoryLacksGroup { key: String, group: String, have: String },
    #[error("baseline.served.match_groups: the planned roster has no column {0:?}")]
    PlannedLacksGroup(String),
    #[error("no planned student could be matched to a history student (see exceptions.csv)")]
    NoneMatched,
}

/// Per grade, the sorted pre-tests of history students with both tests, with their mean
/// and SD computed once (the balance table standardises every student by them).
pub struct PreByGrade(BTreeMap<i32, GradePre>);

struct GradePre {
    sorted: Vec<f64>,
    /// Mean and SD (n − 1; 1 when it is 0 or undefined) of `sorted`.
    mean: f64,
    sd: f64,
}

impl GradePre {
    fn of(mut v: Vec<f64>) -> GradePre {
        v.sort_by(f64::total_cmp);
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        GradePre { sorted: v, mean, sd: if sd > 0.0 { sd } else { 1.0 } }
    }
}

impl PreByGrade {
    pub fn of(history: &[Student]) -> PreByGrade {
        let mut by: BTreeMap<i32, Vec<f64>> = BTreeMap::new();
        for s in history {
            if let (Some(pre), Some(_)) = (s.pre, s.post) {
                by.entry(s.grade).or_default().push(pre);
            }
        }
        PreByGrade(by.into_iter().map(|(g, v)| (g, GradePre::of(v))).collect())
    }

    /// The type-7 quantile `p` (0..=1) of the grade's pre-tests.
    pub fn quantile(&self, grade: i32, p: f64) -> Option<f64> {
        self.0.get(&grade).map(|v| quantile_type7(&v.sorted, p))
    }

    /// The bin (0..bins) of a pre-test: how many of the grade's cut points, the quantiles
    /// j / bins for j = 1..bins, lie strictly below it.
    fn bin(&self, grade: i32, pre: f64, bins: usize) -> Option<usize> {
        let v = &self.0.get(&grade)?.sorted;
        Some((1..bins).filter(|&j| quantile_type7(v, j as f64 / bins as f64) < pre).count())
    }

    /// Mean and SD (n − 1) of the grade's pre-tests.
    fn mean_sd(&self, grade: i32) -> (f64, f64) {
        let g = &self.0[&grade];
        (g.mean, g.sd)
    }
}

/// Whether a history student belongs to the population by the rules of `spec` (every
/// student for `all` and for a planned roster, which reweights instead).
pub fn by_rules(spec: &BaselineSpec, pre: &PreByGrade, s: &Student) -> bool {
    let Some(x) = s.pre else { return false };
    match spec.population_kind() {
        PopulationKind::All => true,
        PopulationKind::LikePre => {
            let p = spec.max_pre_percentile.expect("checked with the contract");
            pre.quantile(s.grade, p / 100.0).is_none_or(|cut| x <= cut)
        }
        PopulationKind::LikeServed => {
            let served = spec.served.as_ref().expect("checked with the contract");
            served.roster.is_some() || served_by_rules(served, pre, s, x)
        }
    }
}

fn served_by_rules(served: &ServedSpec, pre: &PreByGrade, s: &Student, x: f64) -> bool {
    if served.grades.as_ref().is_some_and(|g| !g.contains(&s.grade)) {
        return false;
    }
    if let Some([lo, hi]) = served.pre_percentile {
        let low = if lo > 0.0 { pre.quantile(s.grade, lo / 100.0) } else { None };
        let high = pre.quantile(s.grade, hi / 100.0);
        if low.is_some_and(|l| x < l) || high.is_some_and(|h| x > h) {
            return false;
        }
    }
    served.groups.iter().all(|(g, values)| s.groups.get(g).is_some_and(|v| values.contains(v)))
}

/// Refuses rules or match groups naming a group the history (or the planned roster) lacks.
pub fn check_groups(
    served: &ServedSpec,
    history_groups: &[String],
    planned_groups: Option<&[String]>,
) -> Result<(), PopulationError> {
    let have = history_groups.join(", ");
    let lacks = |key: &str, group: &String| PopulationError::HistoryLacksGroup {
        key: key.into(),
        group: group.clone(),
        have: if have.is_empty() { "none".into() } else { have.clone() },
    };
    if let Some(g) = served.groups.keys().find(|g| !history_groups.contains(g)) {
        return Err(lacks("groups", g));
    }
    if let Some(m) = &served.match_groups {
        if let Some(g) = m.iter().find(|g| !history_groups.contains(g)) {
            return Err(lacks("match_groups", g));
        }
        if let Some(g) = planned_groups.and_then(|p| m.iter().find(|g| !p.contains(g))) {
            return Err(PopulationError::PlannedLacksGroup(g.clone()));
        }
    }
    Ok(())
}

/// The groups a planned roster is matched on: `match_groups`, else every group both files have.
pub fn match_groups(served: &ServedSpec, history_groups: &[String], planned_groups: &[String]) -> Vec<String> {
    match &served.match_groups {
        Some(m) => m.clone(),
        None => history_groups.iter().filter(|g| planned_groups.contains(g)).cloned().collect(),
    }
}

/// A planned student that cannot be matched: its position, the column and value shown, and
/// the reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Unmatched {
    pub student: usize,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// The raking result: a weight per target student (0 = out of the population), the planned
/// students left unmatched, and the raking's course.
#[derive(Clone, Debug, PartialEq)]
pub struct Raked {
    pub weights: Vec<f64>,
    pub unmatched: Vec<Unmatched>,
    pub iterations: usize,
    pub converged: bool,
}

/// The margins of the raking: for each target student and each planned student, its
/// category in every margin (grade × bin first, then each group).
struct Margins {
    history: Vec<Vec<String>>,
    planned: Vec<Option<Vec<String>>>,
}

/// Each student's categories, and the planned students no history student is like.
fn margins(
    target: &[&Student],
    planned: &[PlannedStudent],
    pre: &PreByGrade,
    bins: usize,
    groups: &[String],
) -> (Margins, Vec<Unmatched>) {
    let cell = |g: i32, x: f64| pre.bin(g, x, bins).map(|b| format!("grade {g}, pre-score bin {}", b + 1));
    let history: Vec<Vec<String>> = target
        .iter()
        .map(|s| {
            let mut c = vec![cell(s.grade, s.pre.expect("target students have both tests")).expect("a history grade")];
            c.extend(groups.iter().map(|g| s.groups.get(g).cloned().unwrap_or_default()));
            c
        })
        .collect();
    let seen: Vec<BTreeSet<&str>> =
        (0..=groups.len()).map(|m| history.iter().map(|c| c[m].as_str()).collect()).collect();
    let mut unmatched = Vec::new();
    let mut planned_cats = Vec::with_capacity(planned.len());
    for (i, p) in planned.iter().enumerate() {
        let mut why = |column: &str, value: String, reason: String| {
            unmatched.push(Unmatched { student: i, column: column.into(), value, reason });
            None
        };
        let cats = match cell(p.grade, p.pre_score) {
            None => {
                why("grade", p.grade.to_string(), format!("no history student of grade {} has both tests", p.grade))
            }
            Some(c) if !seen[0].contains(c.as_str()) => {
                why("pre_score", p.pre_score.to_string(), format!("no eligible history student in {c}"))
            }
            Some(c) => {
                let mut cats = vec![c];
                let mut ok = true;
                for (k, g) in groups.iter().enumerate() {
                    let v = p.groups.get(g).cloned().unwrap_or_default();
                    if ok && !seen[k + 1].contains(v.as_str()) {
                        why(g, v.clone(), format!("no eligible history student has {g} = {v:?}"));
                        ok = false;
                    }
                    cats.push(v);
                }
                ok.then_some(cats)
            }
        };
        planned_cats.push(cats);
    }
    (Margins { history, planned: planned_cats }, unmatched)
}

/// Rakes the target students to the planned students (module docs).
pub fn rake(
    target: &[&Student],
    planned: &[PlannedStudent],
    pre: &PreByGrade,
    bins: usize,
    groups: &[String],
) -> Result<Raked, PopulationError> {
    let (m, unmatched) = margins(target, planned, pre, bins, groups);
    let matched: Vec<&Vec<String>> = m.planned.iter().flatten().collect();
    if matched.is_empty() {
        return Err(PopulationError::NoneMatched);
    }
    let margins = groups.len() + 1;
    let shares: Vec<BTreeMap<&str, f64>> = (0..margins)
        .map(|k| {
            let mut c: BTreeMap<&str, f64> = BTreeMap::new();
            for p in &matched {
                *c.entry(p[k].as_str()).or_default() += 1.0 / matched.len() as f64;
            }
            c
        })
        .collect();
    let mut w: Vec<f64> = m
        .history
        .iter()
        .map(|c| f64::from(u8::from((0..margins).all(|k| shares[k].contains_key(c[k].as_str())))))
        .collect();
    let mut iterations = 0;
    let mut converged = false;
    while iterations < MAX_RAKING_CYCLES && !converged {
        iterations += 1;
        for (k, share) in shares.iter().enumerate() {
            let totals = weighted_totals(&m.history, &w, k);
            let total: f64 = totals.values().sum();
            for (wi, c) in w.iter_mut().zip(&m.history) {
                let have = totals.get(c[k].as_str()).copied().unwrap_or(0.0);
                if have > 0.0 {
                    *wi *= share.get(c[k].as_str()).copied().unwrap_or(0.0) * total / have;
                }
            }
        }
        converged = (0..margins).all(|k| {
            let totals = weighted_totals(&m.history, &w, k);
            let total: f64 = totals.values().sum();
            shares[k].iter().all(|(c, s)| (totals.get(c).copied().unwrap_or(0.0) / total - s).abs() < RAKING_TOLERANCE)
        });
    }
    let positive: Vec<f64> = w.iter().copied().filter(|&x| x > 0.0).collect();
    let mean = positive.iter().sum::<f64>() / positive.len() as f64;
    for x in &mut w {
        *x /= mean;
    }
    Ok(Raked { weights: w, unmatched, iterations, converged })
}

/// The weighted total of each category of margin `k`.
fn weighted_totals<'a>(cats: &'a [Vec<String>], w: &[f64], k: usize) -> BTreeMap<&'a str, f64> {
    let mut t: BTreeMap<&str, f64> = BTreeMap::new();
    for (c, &x) in cats.iter().zip(w) {
        *t.entry(c[k].as_str()).or_default() += x;
    }
    t
}

/// Kish's effective sample size of weights (their count when `None`).
pub fn effective_size(n: usize, weights: Option<&[f64]>) -> f64 {
    match weights {
        None => n as f64,
        Some(w) => w.iter().sum::<f64>().powi(2) / w.iter().map(|x| x * x).sum::<f64>(),
    }
}

/// One covariate's value for a history student and for a planned student.
struct Covariate<'a> {
    name: String,
    /// The indicators of one variable (`grade`, a group's name); `None` for the pre-test.
    family: Option<String>,
    history: Box<dyn Fn(&Student) -> f64 + Sync + 'a>,
    planned: Box<dyn Fn(&PlannedStudent) -> f64 + Sync + 'a>,
}

/// The covariates of the balance table: the standardised pre-test, each grade, each group
/// value (of `groups`) seen in the history or the planned roster.
fn covariates<'a>(
    pre: &'a PreByGrade,
    eligible: &[&Student],
    planned: &[&PlannedStudent],
    groups: &'a [String],
) -> Vec<Covariate<'a>> {
    let z = |g: i32, x: f64| {
        let (m, sd) = pre.mean_sd(g);
        (x - m) / sd
    };
    let mut out = vec![Covariate {
        name: "pre-test (SD from the grade's history mean)".into(),
        family: None,
        history: Box::new(move |s: &Student| z(s.grade, s.pre.unwrap_or(f64::NAN))),
        planned: Box::new(
            move |p: &PlannedStudent| if pre.0.contains_key(&p.grade) { z(p.grade, p.pre_score) } else { f64::NAN },
        ),
    }];
    let grades: BTreeSet<i32> = eligible.iter().map(|s| s.grade).chain(planned.iter().map(|p| p.grade)).collect();
    for g in grades {
        out.push(Covariate {
            name: format!("grade {g}"),
            family: Some("grade".into()),
            history: Box::new(move |s: &Student| f64::from(u8::from(s.grade == g))),
            planned: Box::new(move |p: &PlannedStudent| f64::from(u8::from(p.grade == g))),
        });
    }
    for group in groups {
        let values: BTreeSet<String> = eligible
            .iter()
            .filter_map(|s| s.groups.get(group).cloned())
            .chain(planned.iter().filter_map(|p| p.groups.get(group).cloned()))
            .collect();
        for v in values {
            let (v1, v2) = (v.clone(), v.clone());
            out.push(Covariate {
                name: format!("{group} = {v}"),
                family: Some(group.clone()),
                history: Box::new(move |s: &Student| f64::from(u8::from(s.groups.get(group) == Some(&v1)))),
                planned: Box::new(move |p: &PlannedStudent| f64::from(u8::from(p.groups.get(group) == Some(&v2)))),
            });
        }
    }
    out
}

/// Weighted mean and variance (weights sum to their total; variance with divisor Σw).
fn moments(x: impl Iterator<Item = (f64, f64)>) -> (f64, f64) {
    let pairs: Vec<(f64, f64)> = x.filter(|(v, w)| v.is_finite() && *w > 0.0).collect();
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let mean = pairs.iter().map(|(v, w)| v * w).sum::<f64>() / total;
    let var = pairs.iter().map(|(v, w)| w * (v - mean).powi(2)).sum::<f64>() / total;
    (mean, var)
}

/// The students a balance table describes: every eligible history student, the population
/// (`target` with `weights`), the matched planned students.
pub struct Described<'a> {
    pub eligible: &'a [&'a Student],
    pub target: &'a [&'a Student],
    pub weights: Option<&'a [f64]>,
    pub planned: Option<&'a [&'a PlannedStudent]>,
}

/// The balance table (module docs). A grade or group value held by fewer than `min_cell`
/// (but some) eligible history, population or planned students is a small cell: every row
/// of its variable shows no numbers (the small one `small cell`, the others
/// `complementary`, since shares of one variable add to 1).
pub fn balance(pre: &PreByGrade, d: &Described<'_>, groups: &[String], min_cell: usize) -> Vec<BalanceRow> {
    let none: [&PlannedStudent; 0] = [];
    let covs = covariates(pre, d.eligible, d.planned.unwrap_or(&none), groups);
    use rayon::prelude::*;
    // each covariate is a pass over the history: one covariate a task
    let small: Vec<bool> = covs.par_iter().map(|c| c.family.is_some() && is_small(c, d, min_cell)).collect();
    let small_families: BTreeSet<&str> =
        covs.iter().zip(&small).filter(|(_, s)| **s).filter_map(|(c, _)| c.family.as_deref()).collect();
    covs.par_iter()
        .zip(&small)
        .map(|(c, &is_small)| match c.family.as_deref().filter(|f| small_families.contains(f)) {
            Some(_) => BalanceRow {
                covariate: c.name.clone(),
                history: None,
                population: None,
                served: None,
                std_diff: None,
                suppressed: Some(if is_small { Suppression::SmallCell } else { Suppression::Complementary }),
            },
            None => balance_row(c, d),
        })
        .collect()
}

/// Whether an indicator is held by 1..`min_cell` students of any of the three groups.
fn is_small(c: &Covariate<'_>, d: &Described<'_>, min_cell: usize) -> bool {
    let count_h = |s: &[&Student]| s.iter().filter(|s| (c.history)(s) == 1.0).count();
    let planned = d.planned.map_or(0, |p| p.iter().filter(|s| (c.planned)(s) == 1.0).count());
    [count_h(d.eligible), count_h(d.target), planned].iter().any(|&n| n > 0 && n < min_cell)
}

/// One covariate's means and standardised difference.
fn balance_row(c: &Covariate<'_>, d: &Described<'_>) -> BalanceRow {
    let (eligible, target, weights, planned) = (d.eligible, d.target, d.weights, d.planned);
    {
        {
            let (history, _) = moments(eligible.iter().map(|s| ((c.history)(s), 1.0)));
            let w = |i: usize| weights.map_or(1.0, |w| w[i]);
            let (population, var_pop) = moments(target.iter().enumerate().map(|(i, s)| ((c.history)(s), w(i))));
            let served = planned.map(|p| moments(p.iter().map(|s| ((c.planned)(s), 1.0))));
            let std_diff = served.map(|(m, v)| {
                let sd = ((var_pop + v) / 2.0).sqrt();
                if sd > 0.0 { (population - m) / sd } else { 0.0 }
            });
            BalanceRow {
                covariate: c.name.clone(),
                history: Some(history),
                population: Some(population),
                served: served.map(|s| s.0),
                std_diff,
                suppressed: None,
            }
        }
    }
}

/// What `[baseline.served]` records in the results for rules.
pub fn rules_served(served: &ServedSpec) -> Served {
    Served::Rules {
        grades: served.grades.clone(),
        pre_percentile: served.pre_percentile,
        groups: served.groups.clone(),
    }
}

/// The warnings of a population the history may not support (module docs; README
/// "Setting targets").
pub fn warnings(p: &Population, provider_size: usize) -> Vec<Warning> {
    let mut out = Vec::new();
    let warn = |m: String| Warning::new(WarningCode::BaselinePopulation, m);
    if let Some(Served::Roster { planned, matched, converged, iterations, .. }) = &p.served {
        let unmatched = planned - matched;
        if *planned > 0 && unmatched as f64 > UNMATCHED_LIMIT * *planned as f64 {
            out.push(warn(format!(
                "{unmatched} of {planned} planned students ({:.1}%) have no like history students (grade, pre-score bin or group value) and are left out of the baseline; they are listed in exceptions.csv",
                100.0 * unmatched as f64 / *planned as f64
            )));
        }
        if !converged {
            out.push(warn(format!(
                "the history could not be reweighted to the planned students in {iterations} raking cycles: some group values occur among the planned students only with grades or pre-scores the history lacks; see the balance table"
            )));
        }
    }
    if let Some(ess) = p.effective_size
        && ess < ESS_PER_PROVIDER * provider_size as f64
    {
        out.push(warn(format!(
            "the population's effective size is {ess:.0}, under {ESS_PER_PROVIDER} times the provider size {provider_size}: the history's own sampling error, which the OC curves leave out, adds more than a quarter to a provider's variance; use more history (several years) or a coarser [baseline.served]"
        )));
    }
    let off: Vec<String> = p
        .balance
        .iter()
        .filter(|r| r.std_diff.is_some_and(|d| d.abs() > BALANCE_LIMIT))
        .map(|r| format!("{} ({:+.2})", r.covariate, r.std_diff.unwrap_or_default()))
        .collect();
    if !off.is_empty() {
        out.push(warn(format!(
            "poor balance between the population and the planned students (standardised difference over {BALANCE_LIMIT}): {}",
            crate::error::short_list(&off)
        )));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn student(grade: i32, pre: f64, li: &str) -> Student {
        Student {
            groups: BTreeMap::from([("low_income".to_string(), li.to_string())]).into(),
            ..Student::example(grade, Some(pre), Some(pre + 5.0))
        }
    }

    fn planned(grade: i32, pre: f64, li: &str) -> PlannedStudent {
        PlannedStudent {
            student_id: String::new(),
            grade,
            pre_score: pre,
            groups: BTreeMap::from([("low_income".to_string(), li.to_string())]),
            row: 2,
        }
    }

    /// Grades 3 and 4, pre-tests 1..=100, low income on every third student.
    fn history() -> Vec<Student> {
        (0..200).map(|i| student(3 + i / 100, f64::from(i % 100 + 1), if i % 3 == 0 { "Y" } else { "N" })).collect()
    }

    #[test]
    fn raking_meets_every_margin_and_drops_cells_nobody_is_planned_in() {
        let h = history();
        let target: Vec<&Student> = h.iter().collect();
        let pre = PreByGrade::of(&h);
        // planned: grade 3 only, pre-tests in the bottom half, mostly low income
        let p: Vec<PlannedStudent> =
            (0..40).map(|i| planned(3, f64::from(i % 50 + 1), if i % 4 == 0 { "N" } else { "Y" })).collect();
        let groups = vec!["low_income".to_string()];
        let r = rake(&target, &p, &pre, 4, &groups).unwrap();
        assert!(r.converged && r.unmatched.is_empty(), "{r:?}");
        // grade 4 and the top two quartiles of grade 3 are out of the population
        for (s, &w) in h.iter().zip(&r.weights) {
            let in_cells = s.grade == 3 && s.pre.unwrap() <= 50.5;
            assert_eq!(w > 0.0, in_cells, "grade {} pre {:?} weight {w}", s.grade, s.pre);
        }
        // the weighted share of low income equals the planned 0.75; each quartile cell
        // holds the planned share
        let total: f64 = r.weights.iter().sum();
        let li: f64 = h.iter().zip(&r.weights).filter(|(s, _)| s.groups["low_income"] == "Y").map(|(_, w)| w).sum();
        assert!((li / total - 0.75).abs() < 1e-9, "{}", li / total);
        let q1: f64 = h.iter().zip(&r.weights).filter(|(s, _)| s.pre.unwrap() <= 25.75).map(|(_, w)| w).sum();
        let p1 = p.iter().filter(|x| x.pre_score <= 25.75).count() as f64 / 40.0;
        assert!((q1 / total - p1).abs() < 1e-9, "{} vs {p1}", q1 / total);
        // mean weight over the population is 1
        let pos: Vec<f64> = r.weights.iter().copied().filter(|&w| w > 0.0).collect();
        assert!((pos.iter().sum::<f64>() / pos.len() as f64 - 1.0).abs() < 1e-12);
        // the balance table shows it: grade and low-income rows match the planned shares
        let kept: Vec<&Student> = h.iter().zip(&r.weights).filter(|(_, w)| **w > 0.0).map(|(s, _)| s).collect();
        let planned_refs: Vec<&PlannedStudent> = p.iter().collect();
        let d = Described { eligible: &target, target: &kept, weights: Some(&pos), planned: Some(&planned_refs) };
        let rows = balance(&pre, &d, &groups, 10);
        assert!(rows.iter().all(|r| r.suppressed.is_none()), "no value is held by fewer than 10 students");
        for row in rows.iter().filter(|r| r.covariate.starts_with("grade") || r.covariate.starts_with("low_income")) {
            assert!(row.std_diff.unwrap().abs() < 1e-6, "{row:?}");
        }
        let before = &rows.iter().find(|r| r.covariate == "low_income = Y").unwrap();
        assert!((before.history.unwrap() - 0.335).abs() < 1e-12 && before.served == Some(0.75), "{before:?}");
        // a value held by 5 planned students is a small cell; the group's other value is
        // suppressed with it, since the two shares add to 1
        let few: Vec<&PlannedStudent> = planned_refs
            .iter()
            .copied()
            .filter(|p| p.groups["low_income"] == "Y")
            .take(5)
            .chain(planned_refs.iter().copied().filter(|p| p.groups["low_income"] == "N"))
            .collect();
        let d = Described { planned: Some(&few), ..d };
        let rows = balance(&pre, &d, &groups, 10);
        let li: Vec<(Option<Suppression>, Option<f64>)> =
            rows.iter().filter(|r| r.covariate.starts_with("low_income")).map(|r| (r.suppressed, r.served)).collect();
        assert_eq!(li, vec![(Some(Suppression::Complementary), None), (Some(Suppression::SmallCell), None)]);
        assert!(rows.iter().filter(|r| !r.covariate.starts_with("low_income")).all(|r| r.suppressed.is_none()));
        assert!(effective_size(pos.len(), Some(&pos)) < pos.len() as f64);
    }

    #[test]
    fn a_planned_roster_like_the_history_gives_equal_weights() {
        let h = history();
        let target: Vec<&Student> = h.iter().collect();
        let p: Vec<PlannedStudent> =
            h.iter().map(|s| planned(s.grade, s.pre.unwrap(), &s.groups["low_income"])).collect();
        let r = rake(&target, &p, &PreByGrade::of(&h), 5, &["low_income".to_string()]).unwrap();
        assert!(r.weights.iter().all(|&w| (w - 1.0).abs() < 1e-12));
        assert_eq!(r.iterations, 1);
        assert!((effective_size(200, Some(&r.weights)) - 200.0).abs() < 1e-9);
        assert_eq!(effective_size(37, None), 37.0);
    }

    #[test]
    fn planned_students_without_like_history_students_are_unmatched_with_the_reason() {
        let h: Vec<Student> = (0..50).map(|i| student(3, f64::from(i), "N")).collect();
        let target: Vec<&Student> = h.iter().collect();
        let p = vec![planned(3, 10.0, "N"), planned(5, 10.0, "N"), planned(3, 12.0, "Y")];
        let r = rake(&target, &p, &PreByGrade::of(&h), 2, &["low_income".to_string()]).unwrap();
        let reasons: Vec<(usize, &str, &str)> =
            r.unmatched.iter().map(|u| (u.student, u.column.as_str(), u.value.as_str())).collect();
        assert_eq!(reasons, vec![(1, "grade", "5"), (2, "low_income", "Y")]);
        assert!(r.unmatched[1].reason.contains("low_income = \"Y\""), "{:?}", r.unmatched[1]);
        let none = rake(&target, &[planned(6, 1.0, "N")], &PreByGrade::of(&h), 2, &[]);
        assert_eq!(none, Err(PopulationError::NoneMatched));
    }

    #[test]
    fn rules_keep_the_grades_percentiles_and_groups_served() {
        let h = history();
        let pre = PreByGrade::of(&h);
        let spec = BaselineSpec {
            served: Some(ServedSpec {
                grades: Some(vec![3]),
                pre_percentile: Some([0.0, 40.0]),
                groups: BTreeMap::from([("low_income".to_string(), vec!["Y".to_string()])]),
                ..ServedSpec::default()
            }),
            ..BaselineSpec::default()
        };
        let kept: Vec<&Student> = h.iter().filter(|s| by_rules(&spec, &pre, s)).collect();
        // grade 3, pre <= type-7 quantile 0.4 of 1..=100 (40.6), low income (i % 3 == 0)
        assert_eq!(kept.len(), (0..40).filter(|i| i % 3 == 0).count());
        assert!(kept.iter().all(|s| s.grade == 3 && s.pre.unwrap() <= 40.6 && s.groups["low_income"] == "Y"));
        let like_pre = BaselineSpec { max_pre_percentile: Some(10.0), ..BaselineSpec::default() };
        assert_eq!(h.iter().filter(|s| by_rules(&like_pre, &pre, s)).count(), 20);
        assert!(h.iter().all(|s| by_rules(&BaselineSpec::default(), &pre, s)));
        let bad =
            ServedSpec { groups: BTreeMap::from([("frl".to_string(), vec!["Y".into()])]), ..ServedSpec::default() };
        assert!(matches!(
            check_groups(&bad, &["low_income".into()], None),
            Err(PopulationError::HistoryLacksGroup { .. })
        ));
    }

    #[test]
    fn the_history_that_cannot_support_the_population_is_warned_about() {
        let pop = Population {
            history_students: 1000,
            target_students: 150,
            unscored: BTreeMap::new(),
            max_pre_percentile: None,
            sd_post_by_grade: BTreeMap::new(),
            kind: PopulationKind::LikeServed,
            served: Some(Served::Roster {
                file: "planned.csv".into(),
                planned: 100,
                matched: 90,
                match_groups: vec![],
                pre_bins: 5,
                iterations: 3,
                converged: true,
                max_weight: 4.0,
            }),
            effective_size: Some(150.0),
            balance: vec![BalanceRow {
                covariate: "grade 3".into(),
                history: Some(0.2),
                population: Some(0.3),
                served: Some(0.5),
                std_diff: Some(-0.42),
                suppressed: None,
            }],
        };
        let w = warnings(&pop, 100);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w.iter().all(|w| w.code == WarningCode::BaselinePopulation));
        assert!(w[0].message.starts_with("10 of 100 planned students (10.0%)"), "{}", w[0]);
        assert!(w[1].message.contains("effective size is 150"), "{}", w[1]);
        assert!(w[2].message.contains("grade 3 (-0.42)"), "{}", w[2]);
        let fine = Population { served: None, effective_size: Some(400.0), balance: vec![], ..pop };
        assert!(warnings(&fine, 100).is_empty());
    }
}
