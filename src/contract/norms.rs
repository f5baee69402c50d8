//! The norms of a contract: fitted on its history file per subject and grade, or read from
//! a norms file; and each student's score against them (docs/methods.md, growth norms).

use crate::stats::warning::{Warning, WarningCode};
use std::collections::BTreeMap;

use super::error::ContractError;
use super::results::{NormsGroupSummary, NormsMethodUsed, NormsSummary};
use super::settle::{NoOutcome, NormScore};
use super::terms::{Contract, NormsMethod};
use crate::data::ReasonCode;
use crate::data::history::History;
use crate::stats::norms::conditional::{self, ConditionalSpec, SdModel};
use crate::stats::norms::model::{self, Columns, Norms, NormsModel, Rows, Scored, Scorer};
use crate::stats::norms::sgp::SgpSpec;

/// The norms a contract uses, with where they came from.
pub struct ContractNorms {
    pub model: NormsModel,
    pub warnings: Vec<Warning>,
    /// Extra input to list in the manifest (a norms file).
    pub file: Option<(String, String)>,
    /// History students (index into `History::students`) whose norm group could not be
    /// fitted, with the reason: their rows become exceptions.
    pub unfitted: Vec<(usize, String)>,
}

impl ContractNorms {
    /// The `norms` section of `results.json`: the method, each group with its size and
    /// whether it was fitted, the provenance and the norms file.
    pub fn summary(&self) -> NormsSummary {
        let group = |key: &[String], n: usize, fitted: bool, skipped: Option<Option<String>>| NormsGroupSummary {
            fitted,
            group: key.to_vec(),
            n,
            skipped,
        };
        let (method, groups) = match &self.model.norms {
            Norms::Conditional { groups, .. } => (
                NormsMethodUsed::Conditional,
                groups.iter().map(|g| group(&g.key, g.n, g.norms.is_some(), Some(g.skipped.clone()))).collect(),
            ),
            Norms::Sgp { groups, .. } => (
                NormsMethodUsed::Sgp,
                groups.iter().map(|g| group(&g.key, g.n, g.orders.iter().any(|o| o.norms.is_some()), None)).collect(),
            ),
            Norms::Table { .. } => (NormsMethodUsed::Table, Vec::new()),
        };
        NormsSummary { file: self.file.clone(), groups, method, provenance: self.model.provenance.clone() }
    }
}

/// Lists the pre- and post-test rows of history students whose norm group could not be
/// fitted as exceptions (kind `excluded`: the contract's `min_n` or the group's data left
/// them out), so that no history row is reported as used for norms that do not exist.
pub fn except_unfitted(history: &mut History, unfitted: &[(usize, String)]) {
    for (i, reason) in unfitted {
        let s = &history.students[*i];
        let why = format!(
            "not used for the norms: the {} grade {} norm group could not be fitted: {reason}",
            s.subject,
            s.grade.map_or("(none)".to_string(), |g| g.to_string())
        );
        for row in [s.pre.row, s.post.row] {
            history.ledger.exclude_row(row, "", "", ReasonCode::NormGroupNotFitted, &why);
        }
    }
}

/// The norm-group key of a student: subject and grade.
pub fn key(subject: &str, grade: Option<i32>) -> Vec<String> {
    crate::data::history::norm_key(subject, grade)
}

/// The contract's norms: `None` when neither outcome nor metric needs them; read from
/// `file` (the norms file, with its SHA-256) when `norms.method = "file"`; otherwise fitted
/// on the history file (docs/methods.md, conditional norms and SGP).
pub fn contract_norms(
    contract: &Contract,
    history: Option<&History>,
    file: Option<(NormsModel, String)>,
) -> Result<Option<ContractNorms>, ContractError> {
    if !contract.uses_norms() {
        return Ok(None);
    }
    if contract.norms.method == NormsMethod::File {
        let name = contract.norms.file.clone().unwrap_or_default();
        let (model, sha) = file.ok_or_else(|| ContractError::Norms(format!("norms.file {name:?} was not read")))?;
        let by = &model.columns.by;
        let fits = by.len() == 2 || matches!(model.norms, Norms::Table { .. });
        if !fits {
            return Err(ContractError::Norms(format!(
                "{name}: the norms are grouped by {by:?}; a contract needs norms grouped by subject and grade (in that order)"
            )));
        }
        return Ok(Some(ContractNorms { model, warnings: Vec::new(), file: Some((name, sha)), unfitted: Vec::new() }));
    }
    let history = history
        .ok_or_else(|| ContractError::Norms("the contract's norms are fitted on files.history: name it".into()))?;
    if let Some(why) = history.why_no_students(&contract.history_options()) {
        return Err(ContractError::Norms(format!("no norm group could be fitted: {why}")));
    }
    let rows = history.norms_rows(true);
    let columns = Columns {
        prior: vec!["pre".into()],
        current: "post".into(),
        by: vec!["subject".into(), "grade".into()],
        weeks: Some("weeks".into()),
    };
    let (norms, uses) = match contract.norms.method {
        NormsMethod::Conditional => {
            let mut spec = ConditionalSpec::default();
            if contract.norms.sd_model.as_deref() == Some("linear_log") {
                spec.sd_model = SdModel::LinearLog;
            }
            if let Some(n) = contract.norms.min_n {
                spec.min_n = n;
            }
            let (groups, uses) = model::fit_conditional(&spec, &rows).map_err(|e| too_few(e, spec.min_n, contract))?;
            (Norms::Conditional { spec, groups }, uses)
        }
        NormsMethod::Sgp => {
            let mut spec = SgpSpec::default();
            if let Some(n) = contract.norms.min_n {
                spec.min_n = n;
            }
            let rows = Rows { weeks: None, ..rows };
            let (groups, uses) = model::fit_sgp(&spec, &rows).map_err(|e| too_few(e, spec.min_n, contract))?;
            (Norms::Sgp { spec, groups }, uses)
        }
        NormsMethod::File => unreachable!("handled above"),
    };
    let mut warnings = Vec::new();
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    let mut unfitted = Vec::new();
    for (i, u) in uses.iter().enumerate() {
        if let model::RowUse::Excluded { reason, .. } = u {
            *skipped.entry(reason.clone()).or_default() += 1;
            unfitted.push((i, reason.clone()));
        }
    }
    for (reason, n) in skipped {
        warnings.push(Warning::new(
            WarningCode::NormsRowsNotUsed,
            format!("history: {n} students not used for the norms: {reason}"),
        ));
    }
    let model = NormsModel {
        schema_version: model::NORMS_SCHEMA_VERSION,
        columns,
        norms,
        provenance: serde_json::json!({ "fitted_on": history.file, "sha256": history.ledger.sha256 }),
    };
    Ok(Some(ContractNorms { model, warnings, file: None, unfitted }))
}

/// Scores one student against the norms.
pub fn norm_score(
    scorer: &Scorer,
    subject: &str,
    grade: i32,
    pre: f64,
    post: f64,
    weeks: Option<f64>,
) -> Result<NormScore, NoOutcome> {
    let k = key(subject, Some(grade));
    if let Some((lo, hi)) = scorer.support(&k)
        && !(lo..=hi).contains(&pre)
    {
        return Err(NoOutcome::OutsideSupport { pre, lo, hi, subject: subject.into(), grade });
    }
    match scorer.score(&k, Some(grade), &[Some(pre)], Some(post), weeks) {
        Ok(Scored::Sgp { sgp, .. }) => Ok(NormScore { sgp: Some(sgp), ..Default::default() }),
        Ok(Scored::Normal { lookup: Some(l), .. }) if l.start_clamped => {
            Err(NoOutcome::OutsideTable { pre, subject: subject.into(), grade })
        }
        Ok(Scored::Normal { expectation, .. }) => {
            let cgi = conditional::cgi(post - pre, &expectation);
            Ok(NormScore {
                expected_growth: Some(expectation.growth),
                growth_sd: Some(expectation.sd),
                cgi: Some(cgi),
                cgp: Some(conditional::cgp(cgi)),
                sgp: None,
            })
        }
        Err(p) => Err(NoOutcome::Unscored(p.reason)),
    }
}

/// A fit that failed: when no group had enough students, the message also names the
/// contract key that sets the smallest group (`[norms] min_n`) and its value, so the analyst
/// knows what to lower (README "Growth norms").
fn too_few(e: model::ModelError, min_n: usize, contract: &Contract) -> ContractError {
    match &e {
        model::ModelError::NothingFitted(_) => ContractError::Norms(format!(
            "{e}. The smallest history group fitted is [norms] min_n = {min_n}{}: lower it in the contract, \
             or give files.history more years",
            if contract.norms.min_n.is_some() { "" } else { " (the default)" }
        )),
        _ => ContractError::Norms(e.to_string()),
    }
}
