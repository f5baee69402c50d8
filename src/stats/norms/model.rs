//! Norms for many norm groups, as `norms.json` holds them, and the scoring of students
//! against them. Pure: the caller reads the data, splits nothing itself, and writes files.
//!
//! # Norm groups
//!
//! Rows are grouped by their key (the values of the `by` columns, e.g. grade × subject);
//! each group gets its own norms. A group that cannot be fitted (fewer than `min_n`
//! students, constant prior scores, a singular design) is kept in the model with the
//! reason, and its rows are reported as not used; the other groups are fitted.
//!
//! # SGP with several priors (docs/methods.md 1.8)
//!
//! With `k` prior columns (the first is the most recent), order `j = 1..k` is fitted on the
//! students of the group whose first `j` priors and current score are all present. Knots
//! and boundaries of prior column `c` come from every student of the group with that prior
//! score (the SGP package pools prior scores in the same way). An order with fewer than
//! `min_n` students is skipped with its reason, as the package truncates the progression;
//! each student is scored with the highest fitted order their priors allow.
//!
//! # Conditional norms
//!
//! One prior (the start score) and optional instructional weeks; see
//! [`conditional`](super::conditional).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::Expectation;
use super::conditional::{ConditionalError, ConditionalNorms, ConditionalSpec};
use super::sgp::{NormsError, PriorScale, SgpNorms, SgpSpec};
use super::table::{Lookup, NormsTable, TableError};
use crate::stats::design::{Encoding, LevelOrder};

/// Layout version of `norms.json`.
pub const NORMS_SCHEMA_VERSION: u32 = 1;

/// Which data columns play which part. Column names are as in the data file's header.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// Prior (start) score columns, most recent first.
    pub prior: Vec<String>,
    /// Current (end) score column.
    pub current: String,
    /// Norm-group columns (e.g. grade, subject); empty: one group.
    #[serde(default)]
    pub by: Vec<String>,
    /// Instructional weeks between the two tests (conditional norms and tables).
    #[serde(default)]
    pub weeks: Option<String>,
}

/// The norms of every group, by method.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Norms {
    /// Student growth percentiles.
    Sgp { spec: SgpSpec, groups: Vec<SgpGroup> },
    /// Conditional-normal norms (CGI, CGP).
    Conditional { spec: ConditionalSpec, groups: Vec<ConditionalGroup> },
    /// An imported table: `by` holds the subject and the grade columns, in that order;
    /// `weeks_value` is used when there is no weeks column.
    Table { table: NormsTable, weeks_value: Option<f64> },
}

/// A norms file: the layout version, the column roles, the norms, and where they came from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormsModel {
    pub schema_version: u32,
    pub columns: Columns,
    pub norms: Norms,
    /// Tool, version and the SHA-256 of the data the norms were fitted on (free-form).
    pub provenance: serde_json::Value,
}

/// SGP norms of one group, per order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgpGroup {
    pub key: Vec<String>,
    /// Rows of the group with a current and a first prior score.
    pub n: usize,
    /// Orders 1..=k; `orders[j - 1]` is order `j`.
    pub orders: Vec<SgpOrder>,
}

/// One order of a group's SGP norms: fitted, or skipped with the reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SgpOrder {
    pub order: usize,
    /// Students with the first `order` priors and a current score.
    pub n: usize,
    pub norms: Option<SgpNorms>,
    pub skipped: Option<String>,
}

/// Conditional norms of one group, or why there are none.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionalGroup {
    pub key: Vec<String>,
    pub n: usize,
    pub norms: Option<ConditionalNorms>,
    pub skipped: Option<String>,
}

/// The data of a fit or a scoring run, column by column (`None` = missing). Row `i` of
/// every vector is the same student.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    /// Norm-group key of each row (one value per `by` column).
    pub keys: Vec<Vec<String>>,
    /// One vector per prior column.
    pub priors: Vec<Vec<Option<f64>>>,
    pub current: Vec<Option<f64>>,
    pub weeks: Option<Vec<Option<f64>>>,
}

/// What happened to one row in a fit.
#[derive(Clone, Debug, PartialEq)]
pub enum RowUse {
    /// Used in the fit of its group (SGP: by the orders up to `order`).
    Used { order: usize },
    /// Not used: the column at fault (a role name: `current`, `prior`, `weeks`, `group`) and why.
    Excluded { column: &'static str, reason: String },
}

/// Why a fit cannot start at all.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Columns(String),
    /// Why: each group's reason, or why no row reached a group (never empty).
    #[error("no norm group could be fitted: {0}")]
    NothingFitted(String),
    #[error(transparent)]
    Sgp(#[from] NormsError),
    #[error(transparent)]
    Conditional(#[from] ConditionalError),
}

/// The rows of each key, sorted by key, so the file does not depend on the row order.
fn group_rows(keys: &[Vec<String>]) -> Vec<(Vec<String>, Vec<usize>)> {
    Encoding::new(keys.iter(), LevelOrder::Sorted).groups().into_iter().map(|(k, rows)| (k.clone(), rows)).collect()
}

/// Each norm group's key (sorted) and its number of rows with a current score, a first
/// prior and (when the rows have weeks) weeks: the rows a fit could use.
pub fn group_sizes(rows: &Rows) -> Vec<(Vec<String>, usize)> {
    let complete = |i: usize| {
        rows.current[i].is_some()
            && rows.priors.first().is_some_and(|p| p[i].is_some())
            && rows.weeks.as_ref().is_none_or(|w| w[i].is_some())
    };
    group_rows(&rows.keys)
        .into_iter()
        .map(|(k, members)| (k, members.into_iter().filter(|&i| complete(i)).count()))
        .collect()
}

/// The error when no group could be fitted: each group's reason, or, when no row reached a
/// group, why (no rows at all, or the commonest reasons rows were left out).
fn nothing_fitted(group_reasons: Vec<String>, uses: &[RowUse]) -> ModelError {
    if !group_reasons.is_empty() {
        return ModelError::NothingFitted(group_reasons.join("; "));
    }
    if uses.is_empty() {
        return ModelError::NothingFitted("there are no rows to fit (no student has both scores)".into());
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for u in uses {
        if let RowUse::Excluded { column, reason } = u {
            *counts.entry(format!("{column}: {reason}")).or_default() += 1;
        }
    }
    let mut top: Vec<(String, usize)> = counts.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let shown: Vec<String> = top.iter().take(3).map(|(r, n)| format!("{n} rows {r}")).collect();
    ModelError::NothingFitted(format!("none of the {} rows can be used ({})", uses.len(), shown.join("; ")))
}

fn key_text(key: &[String]) -> String {
    if key.is_empty() { "(all rows)".into() } else { key.join(" / ") }
}

/// Fits SGP norms per group and order. Returns the groups and, per row, how it was used.
pub fn fit_sgp(spec: &SgpSpec, rows: &Rows) -> Result<(Vec<SgpGroup>, Vec<RowUse>), ModelError> {
    fit_sgp_with_progress(spec, rows, &mut |_, _| {})
}

/// [`fit_sgp`], calling `progress(done, total)` after each group and order, in rows: each
/// (group, order) step counts its group's rows, `total` is the rows times the orders.
pub fn fit_sgp_with_progress(
    spec: &SgpSpec,
    rows: &Rows,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<SgpGroup>, Vec<RowUse>), ModelError> {
    let n = rows.current.len();
    let k = rows.priors.len();
    if k == 0 {
        return Err(ModelError::Columns("SGP norms need at least one prior column".into()));
    }
    let mut uses: Vec<RowUse> = (0..n)
        .map(|i| {
            if rows.current[i].is_none() {
                RowUse::Excluded { column: "current", reason: "no current score".into() }
            } else if rows.priors[0][i].is_none() {
                RowUse::Excluded { column: "prior", reason: "no score in the first (most recent) prior column".into() }
            } else {
                RowUse::Used { order: 0 }
            }
        })
        .collect();
    let mut groups = Vec::new();
    let (total, mut done) = (n * k, 0);
    for (key, members) in group_rows(&rows.keys) {
        // Knots per prior column from every member with that prior.
        let scales: Vec<Option<PriorScale>> = (0..k)
            .map(|c| {
                let x: Vec<f64> = members.iter().filter_map(|&i| rows.priors[c][i]).collect();
                (!x.is_empty()).then(|| PriorScale::from_scores(&x, &spec.knot_probs))
            })
            .collect();
        let complete = |order: usize| -> Vec<usize> {
            members
                .iter()
                .copied()
                .filter(|&i| rows.current[i].is_some() && (0..order).all(|c| rows.priors[c][i].is_some()))
                .collect()
        };
        let mut orders = Vec::with_capacity(k);
        let mut last_fitted = 0;
        for order in 1..=k {
            let sample = complete(order);
            let result = if last_fitted + 1 != order {
                Err(format!("order {} was not fitted", order - 1))
            } else {
                let priors: Vec<Vec<f64>> = (0..order)
                    .map(|c| sample.iter().map(|&i| rows.priors[c][i].expect("complete row")).collect())
                    .collect();
                let prior_refs: Vec<&[f64]> = priors.iter().map(Vec::as_slice).collect();
                let current: Vec<f64> = sample.iter().map(|&i| rows.current[i].expect("complete row")).collect();
                let order_scales: Vec<PriorScale> =
                    scales[..order].iter().map(|s| s.clone().expect("present when rows are complete")).collect();
                if sample.is_empty() {
                    Err("no student has these priors".to_string())
                } else {
                    spec.fit_scaled(&prior_refs, &current, order_scales).map_err(|e| e.to_string())
                }
            };
            match result {
                Ok(norms) => {
                    last_fitted = order;
                    for &i in &sample {
                        uses[i] = RowUse::Used { order };
                    }
                    orders.push(SgpOrder { order, n: sample.len(), norms: Some(norms), skipped: None });
                }
                Err(reason) => orders.push(SgpOrder { order, n: sample.len(), norms: None, skipped: Some(reason) }),
            }
            done += members.len();
            progress(done, total);
        }
        let n1 = orders[0].n;
        if last_fitted == 0 {
            let reason = format!(
                "norm group {} not fitted: {}",
                key_text(&key),
                orders[0].skipped.as_deref().unwrap_or("no fit")
            );
            for &i in &members {
                if matches!(uses[i], RowUse::Used { .. }) {
                    uses[i] = RowUse::Excluded { column: "group", reason: reason.clone() };
                }
            }
        }
        groups.push(SgpGroup { key, n: n1, orders });
    }
    if !groups.iter().any(|g| g.orders[0].norms.is_some()) {
        let reasons: Vec<String> = groups
            .iter()
            .map(|g| format!("{}: {}", key_text(&g.key), g.orders[0].skipped.as_deref().unwrap_or("")))
            .collect();
        return Err(nothing_fitted(reasons, &uses));
    }
    Ok((groups, uses))
}

/// Fits conditional norms per group (one prior: the start score).
pub fn fit_conditional(
    spec: &ConditionalSpec,
    rows: &Rows,
) -> Result<(Vec<ConditionalGroup>, Vec<RowUse>), ModelError> {
    fit_conditional_with_progress(spec, rows, &mut |_, _| {})
}

/// [`fit_conditional`], calling `progress(done, total)` in rows after each group.
pub fn fit_conditional_with_progress(
    spec: &ConditionalSpec,
    rows: &Rows,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Vec<ConditionalGroup>, Vec<RowUse>), ModelError> {
    if rows.priors.len() != 1 {
        return Err(ModelError::Columns(format!(
            "conditional norms take exactly one prior (start score) column, got {}",
            rows.priors.len()
        )));
    }
    let n = rows.current.len();
    let pre = &rows.priors[0];
    let mut uses: Vec<RowUse> = (0..n)
        .map(|i| {
            if rows.current[i].is_none() {
                RowUse::Excluded { column: "current", reason: "no current score".into() }
            } else if pre[i].is_none() {
                RowUse::Excluded { column: "prior", reason: "no prior (start) score".into() }
            } else if rows.weeks.as_ref().is_some_and(|w| w[i].is_none()) {
                RowUse::Excluded { column: "weeks", reason: "no instructional weeks".into() }
            } else {
                RowUse::Used { order: 1 }
            }
        })
        .collect();
    let mut groups = Vec::new();
    let mut done = 0;
    for (key, members) in group_rows(&rows.keys) {
        done += members.len();
        let sample: Vec<usize> = members.iter().copied().filter(|&i| matches!(uses[i], RowUse::Used { .. })).collect();
        let x: Vec<f64> = sample.iter().map(|&i| pre[i].expect("used")).collect();
        let y: Vec<f64> = sample.iter().map(|&i| rows.current[i].expect("used")).collect();
        let w: Option<Vec<f64>> = rows.weeks.as_ref().map(|w| sample.iter().map(|&i| w[i].expect("used")).collect());
        match spec.fit(&x, &y, w.as_deref()) {
            Ok(norms) => groups.push(ConditionalGroup { key, n: sample.len(), norms: Some(norms), skipped: None }),
            Err(e) => {
                let reason = format!("norm group {} not fitted: {e}", key_text(&key));
                for &i in &sample {
                    uses[i] = RowUse::Excluded { column: "group", reason: reason.clone() };
                }
                groups.push(ConditionalGroup { key, n: sample.len(), norms: None, skipped: Some(e.to_string()) });
            }
        }
        progress(done, n);
    }
    if !groups.iter().any(|g| g.norms.is_some()) {
        let reasons: Vec<String> =
            groups.iter().map(|g| format!("{}: {}", key_text(&g.key), g.skipped.as_deref().unwrap_or(""))).collect();
        return Err(nothing_fitted(reasons, &uses));
    }
    Ok((groups, uses))
}

/// A student's result against the norms.
#[derive(Clone, Debug, PartialEq)]
pub enum Scored {
    /// SGP and the order (number of priors) it used.
    Sgp { sgp: u8, order: usize },
    /// Expected growth and SD (conditional norms or a table); `lookup` flags table clamping.
    Normal { expectation: Expectation, lookup: Option<Lookup> },
}

/// Why a row cannot be scored: the column role at fault and the reason.
#[derive(Clone, Debug, PartialEq)]
pub struct ScoreProblem {
    pub column: &'static str,
    pub reason: String,
}

impl ScoreProblem {
    fn new(column: &'static str, reason: impl Into<String>) -> Self {
        ScoreProblem { column, reason: reason.into() }
    }
}

/// Looks up groups by key once, then scores rows.
pub struct Scorer<'a> {
    model: &'a NormsModel,
    index: HashMap<Vec<String>, usize>,
}

impl<'a> Scorer<'a> {
    pub fn new(model: &'a NormsModel) -> Self {
        let index = match &model.norms {
            Norms::Sgp { groups, .. } => groups.iter().enumerate().map(|(g, x)| (x.key.clone(), g)).collect(),
            Norms::Conditional { groups, .. } => groups.iter().enumerate().map(|(g, x)| (x.key.clone(), g)).collect(),
            Norms::Table { .. } => HashMap::new(),
        };
        Scorer { model, index }
    }

    /// Scores one student. `key` holds the `by` values (for a table: the subject and the
    /// grade, the grade already parsed into `grade`).
    /// The start scores the norms of group `key` cover: the boundary knots of the first
    /// prior's spline (conditional and SGP norms alike: the range of the start scores they
    /// were fitted on, widened by 10% on each side, as the SGP package sets its boundaries;
    /// docs/methods.md 1.3, 2.6). `None`
    /// for a group without fitted norms and for norms tables, whose own lookup flags
    /// start scores outside the table ([`Lookup::start_clamped`](super::table::Lookup)).
    pub fn support(&self, key: &[String]) -> Option<(f64, f64)> {
        let g = *self.index.get(key)?;
        match &self.model.norms {
            Norms::Sgp { groups, .. } => {
                let first = groups[g].orders.iter().find_map(|o| o.norms.as_ref())?;
                first.priors().first().map(|p| p.boundaries)
            }
            Norms::Conditional { groups, .. } => groups[g].norms.as_ref().map(|n| n.boundaries()),
            Norms::Table { .. } => None,
        }
    }

    pub fn score(
        &self,
        key: &[String],
        grade: Option<i32>,
        priors: &[Option<f64>],
        current: Option<f64>,
        weeks: Option<f64>,
    ) -> Result<Scored, ScoreProblem> {
        let current = current.ok_or_else(|| ScoreProblem::new("current", "no current score"))?;
        let first = priors.first().copied().flatten().ok_or_else(|| ScoreProblem::new("prior", "no prior score"))?;
        let missing_group = || ScoreProblem::new("group", format!("norm group {} is not in the norms", key_text(key)));
        match &self.model.norms {
            Norms::Sgp { groups, .. } => {
                let group = &groups[*self.index.get(key).ok_or_else(missing_group)?];
                let available = priors.iter().take_while(|p| p.is_some()).count();
                let order =
                    group.orders.iter().rev().find(|o| o.norms.is_some() && o.order <= available).ok_or_else(|| {
                        ScoreProblem::new("group", format!("norm group {} has no fitted SGP norms", key_text(key)))
                    })?;
                let norms = order.norms.as_ref().expect("found with norms");
                let values: Vec<f64> = priors[..order.order].iter().map(|p| p.expect("counted as present")).collect();
                let sgp =
                    norms.checked_score(&values, current).map_err(|e| ScoreProblem::new("prior", e.to_string()))?;
                Ok(Scored::Sgp { sgp, order: order.order })
            }
            Norms::Conditional { groups, .. } => {
                let group = &groups[*self.index.get(key).ok_or_else(missing_group)?];
                let norms = group.norms.as_ref().ok_or_else(|| {
                    ScoreProblem::new("group", format!("norm group {} has no fitted norms", key_text(key)))
                })?;
                let e = norms.expect(first, weeks).map_err(|e| ScoreProblem::new("weeks", e.to_string()))?;
                Ok(Scored::Normal { expectation: e, lookup: None })
            }
            Norms::Table { table, weeks_value } => {
                let subject = key.first().ok_or_else(|| ScoreProblem::new("group", "no subject"))?;
                let grade = grade.ok_or_else(|| ScoreProblem::new("group", "no grade"))?;
                let w = weeks.or(*weeks_value).ok_or_else(|| ScoreProblem::new("weeks", "no instructional weeks"))?;
                let lookup = table.expect(subject, grade, first, w).map_err(|e: TableError| {
                    let column = match e {
                        TableError::InvalidInput { .. } => "prior",
                        _ => "group",
                    };
                    ScoreProblem::new(column, e.to_string())
                })?;
                Ok(Scored::Normal { expectation: lookup.expectation, lookup: Some(lookup) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_fitted_always_says_why() {
        let empty = Rows { keys: vec![], priors: vec![vec![]], current: vec![], weeks: None };
        let e = fit_conditional(&ConditionalSpec::default(), &empty).unwrap_err().to_string();
        assert!(e.contains("no rows to fit"), "{e}");
        let e = fit_sgp(&SgpSpec::default(), &empty).unwrap_err().to_string();
        assert!(e.contains("no rows to fit"), "{e}");
        // every row lacks a current score: the group's reason is given
        let blank = Rows {
            keys: vec![vec!["3".into()]; 4],
            priors: vec![vec![Some(1.0); 4]],
            current: vec![None; 4],
            weeks: None,
        };
        let e = fit_conditional(&ConditionalSpec::default(), &blank).unwrap_err().to_string();
        assert!(e.contains("3: too few observations") && e.contains("got 0"), "{e}");
        let e =
            nothing_fitted(Vec::new(), &[RowUse::Excluded { column: "current", reason: "no current score".into() }]);
        assert!(e.to_string().ends_with("none of the 1 rows can be used (1 rows current: no current score)"), "{e}");
    }
}
