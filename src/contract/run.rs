//! The library's entry point for settling a contract from its files: the data layer reads
//! and checks them, this module fits the norms, applies the fail-safe gates
//! (README "Limits and fail-safe rules"), scores every student and settles each provider.
//! `obc check` is [`settle`] plus writing the outputs; `obc baseline` is [`baseline`] plus
//! writing its outputs.

use crate::stats::warning::Warning;
use std::path::Path;

use chrono::NaiveDate;

use super::baseline::Baseline;
use super::error::{ContractError, Error};
use super::midpoint::Midpoint;
use super::norms::{ContractNorms, contract_norms, except_unfitted, norm_score};
use super::settle::{self, HistoryLevel, NoDrift, NoOutcome, Settlement, Student};
use super::students::students;
use super::terms::Contract;
use crate::data::history::{History, load_history_input};
use crate::data::planned::{Planned, load_planned};
use crate::data::{self, AnalyticFile};
use crate::error::DataError;
use crate::profile::{phase, release_freed_memory};
use crate::stats::norms::model::{NormsModel, Scorer};

/// How a settlement is run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// Midpoint review: only data dated on or before this day, projected to the post-test.
    pub as_of: Option<NaiveDate>,
    /// Settle even when a file has more invalid rows than `limits.max_invalid_share`.
    pub allow_partial: bool,
}

/// A settled contract with everything its outputs are written from.
pub struct Settled {
    /// The terms settled on: the contract, or at a midpoint review its prorated terms.
    pub terms: Contract,
    /// The analytic file's ledgers, flow and warnings (its rows have become `students`).
    pub analytic: AnalyticFile,
    /// The history file's ledger and warnings (its students are dropped once the norms are fitted).
    pub history: Option<History>,
    pub norms: Option<ContractNorms>,
    pub midpoint: Option<Midpoint>,
    pub students: Vec<Student>,
    pub settlement: Settlement,
}

/// Reads the contract's files (relative to `base`, its folder), fits or reads its norms,
/// and settles it.
///
/// ```
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data-samples");
/// let text = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/data-samples/contract.toml"));
/// let contract = obc::contract::terms::Contract::from_toml(text, "contract.toml").unwrap();
/// let settled = obc::settle(&contract, &dir, &obc::contract::run::Options::default()).unwrap();
/// let p1 = &settled.settlement.providers[0];
/// assert_eq!((p1.provider.as_str(), p1.counts.rostered), ("P1", 222));
/// assert!(settled.settlement.totals.payable > 0.0);
/// ```
pub fn settle(contract: &Contract, base: &Path, opts: &Options) -> Result<Settled, Error> {
    phase("start");
    contract.check_settlement_terms()?;
    let midpoint = opts.as_of.map(|d| Midpoint::new(contract, d)).transpose()?;
    let terms = midpoint.as_ref().map_or_else(|| contract.clone(), |m| m.terms.clone());
    // The history file and the norms fitted on it do not depend on the current year's
    // files: load and fit them beside the current year's preparation. Both read their files
    // on the rayon pool, so they run as a rayon join: a thread of the pool that waits for
    // one side keeps working on the pool's jobs (a plain second thread, waited for by a
    // settlement that itself runs on the pool, would leave the history's read without a
    // thread to run on).
    let (analytic, fitted) = rayon::join(
        || {
            let files = terms.input_files(base);
            let analytic = data::prepare_files(&files, &terms.validate_options(), &terms.prepare_options(), opts.as_of);
            phase("prepared");
            analytic
        },
        || history_and_norms(contract, base),
    );
    let mut analytic = analytic?;
    terms.check_vendor_columns(&analytic.vendor_fields)?;
    let (history, norms, level) = fitted?;
    let mut ledgers: Vec<&data::Ledger> = analytic.ledgers.iter().collect();
    ledgers.extend(history.as_ref().map(|h| &h.ledger));
    let partial = data::limits::gate(ledgers, terms.limits.max_invalid_share, opts.allow_partial)?;
    analytic.warnings.extend(partial);
    analytic.warnings.extend(contract.warnings());
    analytic.warnings.extend(settle::comparison_present(&terms, &analytic.rows)?);
    let students = students(std::mem::take(&mut analytic.rows), norms.as_ref(), midpoint.as_ref());
    phase("students");
    let settlement = settle::settle(&terms, &students, level.as_ref().map_err(|e| *e));
    if terms.payment.settle_on == super::terms::SettleOn::Expected
        && let Some(p) = settlement.providers.iter().find(|p| p.payment.no_expected.is_some())
    {
        let why = p.payment.no_expected.clone().expect("found");
        return Err(ContractError::Expected { provider: p.provider.clone(), why }.into());
    }
    phase("settled");
    Ok(Settled { terms, analytic, history, norms, midpoint, students, settlement })
}

/// The contract's history file, read with its history options (`None` when it names none).
fn read_history(contract: &Contract, base: &Path) -> Result<Option<History>, DataError> {
    let Some(f) = contract.history_file(base) else { return Ok(None) };
    load_history_input(&f, &contract.history_options()).map(Some)
}

/// The contract's norms file with its SHA-256, when its norms come from one.
fn read_norms_file(contract: &Contract, base: &Path) -> Result<Option<(NormsModel, String)>, DataError> {
    let Some(f) = contract.norms_file(base).filter(|_| contract.uses_norms()) else { return Ok(None) };
    data::norms_file::read(&f.path, &f.name).map(Some).map_err(|e| e.for_key(&f.key, &f.name))
}

/// The history file and norms of a settlement, with the history cohort's level of the
/// metric for the drift section (or why there is none).
type Fitted = (Option<History>, Option<ContractNorms>, Result<HistoryLevel, NoDrift>);

/// The history file (if named) and the contract's norms; the history's unfitted students
/// become exceptions, the history cohort's level of the metric is computed over its
/// students scored against the norms (in sample, as [`baseline`] does), and its students
/// are dropped.
fn history_and_norms(contract: &Contract, base: &Path) -> Result<Fitted, Error> {
    let mut history = read_history(contract, base)?;
    let norms = contract_norms(contract, history.as_ref(), read_norms_file(contract, base)?)?;
    phase("history and norms");
    let level = match history.as_mut() {
        Some(h) => {
            if let Some(n) = &norms {
                except_unfitted(h, &n.unfitted);
            }
            let level = settle::history_level(contract, &history_students(h, norms.as_ref()));
            // the history's students are no longer needed; keep its ledger
            h.students = Vec::new();
            level
        }
        None => Err(NoDrift::NoHistory),
    };
    release_freed_memory();
    Ok((history, norms, level))
}

/// The history's students as settlement sees them: analysed, untutored, scored against the
/// norms at their own weeks between tests. Students without a grade are left out (the
/// norms are by grade; [`baseline`] refuses such a history).
fn history_students(history: &History, norms: Option<&ContractNorms>) -> Vec<Student> {
    let scorer = norms.map(|n| Scorer::new(&n.model));
    history
        .students
        .iter()
        .filter_map(|h| {
            let grade = h.grade?;
            let score = match &scorer {
                Some(s) => norm_score(s, &h.subject, grade, h.pre.score, h.post.score, Some(h.weeks_between)),
                None => Err(NoOutcome::NoNorms),
            };
            Some(Student {
                student_id: h.student_id.clone(),
                subject: h.subject.clone(),
                school: h.school_id.clone().unwrap_or_default(),
                grade,
                provider: None,
                tutor: None,
                groups: h.groups.clone().into(),
                analysed: true,
                excluded: None,
                served: false,
                pre: Some(h.pre.score),
                post: Some(h.post.score),
                pre_sem: h.pre.sem,
                growth_se: h.pre.sem.zip(h.post.sem).map(|(a, b)| a.hypot(b)),
                weeks: Some(h.weeks_between),
                sessions: 0,
                minutes: 0.0,
                score,
                vendor: None,
                provider_source: Default::default(),
            })
        })
        .collect()
}

/// Targets set from a contract's history file ([`baseline`]).
pub struct Targets {
    /// The history file's ledger (its unfitted students excepted) and warnings.
    pub history: History,
    pub norms: Option<ContractNorms>,
    /// Instructional weeks the targets assume (`baseline.weeks`, or the history's median).
    pub weeks: f64,
    pub baseline: Baseline,
    /// The planned roster of `[baseline.served] roster` (its unmatched students excepted).
    pub planned: Option<Planned>,
    /// Warnings of the run itself (`--allow-partial`) and of the contract's terms.
    pub warnings: Vec<Warning>,
}

/// Reads the contract's history file, fits its norms and sets targets: the business-as-usual
/// level, OC curves and the recommendation (README "Setting targets").
pub fn baseline(contract: &Contract, base: &Path, allow_partial: bool) -> Result<Targets, Error> {
    contract.check_history_named()?;
    let mut history = read_history(contract, base)?.ok_or_else(|| {
        ContractError::Baseline("obc baseline needs the history file: add `history = ...` under [files]".into())
    })?;
    let (mut planned, read_warnings) = read_planned(contract, base)?;
    let mut ledgers = vec![&history.ledger];
    ledgers.extend(planned.as_ref().map(|p| &p.ledger));
    let mut warnings = read_warnings;
    warnings.extend(data::limits::gate(ledgers, contract.limits.max_invalid_share, allow_partial)?);
    warnings.extend(contract.warnings());
    if history.students.iter().any(|s| s.grade.is_none()) {
        return Err(ContractError::Baseline(format!(
            "{}: no grade for some students; baselines are by grade",
            history.file
        ))
        .into());
    }
    let norms = contract_norms(contract, Some(&history), read_norms_file(contract, base)?)?;
    if let Some(n) = &norms {
        except_unfitted(&mut history, &n.unfitted);
    }
    let scorer = norms.as_ref().map(|n| Scorer::new(&n.model));
    let score = |subject: &str, grade: i32, pre: f64, post: f64, weeks: f64| match &scorer {
        Some(s) => norm_score(s, subject, grade, pre, post, Some(weeks)),
        None => Err(NoOutcome::NoNorms),
    };
    // every grade is known (checked above), so every history student is here
    let students = history_students(&history, norms.as_ref());
    let weeks = contract.baseline.weeks.unwrap_or_else(|| {
        let mut w: Vec<f64> = history.students.iter().map(|s| s.weeks_between).collect();
        w.sort_by(f64::total_cmp);
        w.get(w.len() / 2).copied().unwrap_or(36.0)
    });
    let rescore =
        |s: &Student, post: f64| score(&s.subject, s.grade, s.pre.unwrap_or(f64::NAN), post, s.weeks.unwrap_or(weeks));
    // the same students, in the same order, as `history_students` keeps (those with a grade)
    let years: Vec<Option<String>> =
        history.students.iter().filter(|h| h.grade.is_some()).map(|h| h.school_year.clone()).collect();
    let input = super::baseline::HistoryInput { students: &students, years: &years };
    let run = super::baseline::run(contract, input, planned.as_ref(), rescore, weeks).map_err(ContractError::from)?;
    if let Some(p) = planned.as_mut() {
        for u in &run.unmatched {
            let reason = format!("not in the baseline: {}", u.reason);
            p.exclude(u.student, &u.column, &u.value, crate::data::ReasonCode::NotInBaseline, &reason);
        }
    }
    Ok(Targets { history, norms, weeks, baseline: run.baseline, planned, warnings })
}

/// The planned roster of `[baseline.served] roster` (`None` when the contract names none),
/// with the warnings of reading it.
fn read_planned(contract: &Contract, base: &Path) -> Result<(Option<Planned>, Vec<Warning>), DataError> {
    let Some(f) = contract.planned_file(base) else { return Ok((None, Vec::new())) };
    let (planned, warnings) =
        load_planned(&f.path, &f.name, &f.spec, &contract.planned_options()).map_err(|e| e.for_key(&f.key, &f.name))?;
    Ok((Some(planned), warnings))
}
