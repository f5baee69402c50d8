//! `obc check CONTRACT.toml --out DIR [--as-of DATE]`: settles a contract.
//!
//! Loads the roster, sessions and assessments (the analytic file), the history file, fits
//! the contract's growth norms on the history (or reads a norms file), scores every
//! student, then settles each provider ([`crate::contract::check`]). Writes `results.json`
//! (with the manifest), `providers.csv`, `groups.csv`, `exceptions.csv` and the restricted
//! `audit.csv`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Serialize;

use super::UserError;
use crate::contract::check::{self, NormScore, Rule, Settlement, Student};
use crate::contract::terms::{Contract, NormsMethod};
use crate::data::history::{History, HistoryOptions, load_history};
use crate::data::join::{AnalyticRow, PickedTest};
use crate::data::table::{Cell, Column, CsvSink, Format, Table};
use crate::data::{self, Accounting, AnalyticFile};
use crate::manifest::{Manifest, OutputFile, SCHEMA_VERSION};
use crate::stats::norms::conditional::{self, ConditionalSpec, SdModel};
use crate::stats::norms::model::{self, Columns, Norms, NormsModel, Rows, Scored, Scorer};
use crate::stats::norms::sgp::SgpSpec;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The contract file (TOML).
    pub contract: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "obc-check")]
    pub out: PathBuf,
    /// Midpoint review: use only sessions and tests dated on or before this date (YYYY-MM-DD),
    /// report dosage delivered against contracted and the projected chance of meeting each
    /// threshold.
    #[arg(long)]
    pub as_of: Option<String>,
    /// Go on when more rows of an input file are invalid than `[limits] max_invalid_share`
    /// allows; the manifest records it.
    #[arg(long)]
    pub allow_partial: bool,
}

/// The norms a contract uses, with where they came from.
pub struct ContractNorms {
    pub model: NormsModel,
    pub warnings: Vec<String>,
    /// Extra input to list in the manifest (a norms file).
    pub file: Option<(String, String)>,
    /// History students (index into `History::students`) whose norm group could not be
    /// fitted, with the reason: their rows become exceptions.
    pub unfitted: Vec<(usize, String)>,
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
            history.ledger.exclude_row(row, "", "", &why);
        }
    }
}

/// History options from a contract.
pub fn history_options(contract: &Contract) -> HistoryOptions {
    HistoryOptions {
        subjects: contract.contract.subject.list(),
        grades: contract.contract.grades.clone(),
        tests: contract.history.tests(&contract.tests),
        columns: contract.columns.history.clone(),
        ids: contract.ids.clone(),
        groups: contract.reporting.groups.clone(),
        score_ranges: contract.limits.ranges(),
    }
}

/// Loads the contract's history file, if it names one.
pub fn read_history(contract: &Contract, base: &Path) -> anyhow::Result<Option<History>> {
    let Some(name) = &contract.files.history else { return Ok(None) };
    Ok(Some(load_history(&base.join(name), name, &history_options(contract))?))
}

/// The norm-group key of a student: subject and grade.
fn key(subject: &str, grade: Option<i32>) -> Vec<String> {
    vec![subject.to_string(), grade.map(|g| g.to_string()).unwrap_or_default()]
}

/// Fits (or reads) the contract's norms; `None` when neither outcome nor metric needs them.
pub fn contract_norms(
    contract: &Contract,
    base: &Path,
    history: Option<&History>,
) -> anyhow::Result<Option<ContractNorms>> {
    if !contract.uses_norms() {
        return Ok(None);
    }
    if contract.norms.method == NormsMethod::File {
        let name = contract.norms.file.as_deref().expect("checked with the contract");
        let (model, sha) = super::norms::read_norms(&base.join(name))?;
        let by = &model.columns.by;
        let fits = by.len() == 2 || matches!(model.norms, Norms::Table { .. });
        if !fits {
            return Err(UserError(format!(
                "{name}: the norms are grouped by {by:?}; a contract needs norms grouped by subject and grade (in that order)"
            ))
            .into());
        }
        return Ok(Some(ContractNorms {
            model,
            warnings: Vec::new(),
            file: Some((name.to_string(), sha)),
            unfitted: Vec::new(),
        }));
    }
    let history =
        history.ok_or_else(|| UserError("the contract's norms are fitted on files.history: name it".into()))?;
    if let Some(why) = history.why_no_students(&history_options(contract)) {
        return Err(UserError(format!("norms: no norm group could be fitted: {why}")).into());
    }
    let rows = Rows {
        keys: history.students.iter().map(|s| key(&s.subject, s.grade)).collect(),
        priors: vec![history.students.iter().map(|s| Some(s.pre.score)).collect()],
        current: history.students.iter().map(|s| Some(s.post.score)).collect(),
        weeks: Some(history.students.iter().map(|s| Some(s.weeks_between)).collect()),
    };
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
            let (groups, uses) = model::fit_conditional(&spec, &rows).map_err(|e| UserError(format!("norms: {e}")))?;
            (Norms::Conditional { spec, groups }, uses)
        }
        NormsMethod::Sgp => {
            let mut spec = SgpSpec::default();
            if let Some(n) = contract.norms.min_n {
                spec.min_n = n;
            }
            let rows = Rows { weeks: None, ..rows };
            let (groups, uses) = model::fit_sgp(&spec, &rows).map_err(|e| UserError(format!("norms: {e}")))?;
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
        warnings.push(format!("history: {n} students not used for the norms: {reason}"));
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
) -> Result<NormScore, String> {
    let k = key(subject, Some(grade));
    if let Some((lo, hi)) = scorer.support(&k)
        && !(lo..=hi).contains(&pre)
    {
        return Err(format!(
            "no norm: start score {pre} is outside the norms' support {lo}..={hi} for {subject} grade {grade}"
        ));
    }
    match scorer.score(&k, Some(grade), &[Some(pre)], Some(post), weeks) {
        Ok(Scored::Sgp { sgp, .. }) => Ok(NormScore { sgp: Some(sgp), ..Default::default() }),
        Ok(Scored::Normal { lookup: Some(l), .. }) if l.start_clamped => Err(format!(
            "no norm: start score {pre} is outside the norms table's start scores for {subject} grade {grade}"
        )),
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
        Err(p) => Err(format!("no norm: {}", p.reason)),
    }
}

/// The rule an analytic row failed first, in flow order.
fn failed_rule(r: &AnalyticRow) -> Option<(Rule, String)> {
    let reason = || r.exclusion_reason.clone().unwrap_or_default();
    if r.analysed {
        None
    } else if !r.has_pre() {
        Some((Rule::NoPreTest, reason()))
    } else if r.enrolled_in_time == Some(false) {
        Some((Rule::Enrolment, reason()))
    } else if r.met_dosage == Some(false) {
        Some((Rule::Dosage, reason()))
    } else {
        Some((Rule::NoPostTest, reason()))
    }
}

/// Settlement's view of the analytic file. Consumes the rows (their text moves into the
/// students rather than being copied: at a million students the rows are the largest
/// structure held). At a midpoint review, each analysed student's post-test is replaced by
/// the projection ([`Midpoint`]).
fn students(rows: Vec<AnalyticRow>, norms: Option<&ContractNorms>, midpoint: Option<&Midpoint>) -> Vec<Student> {
    let scorer = norms.map(|n| Scorer::new(&n.model));
    rows.into_iter()
        .map(|r| {
            let pre = r.pre.as_ref().map(|t| t.score);
            let post = r.post.as_ref().map(|t| t.score);
            let score = match (&scorer, pre, post) {
                (Some(s), Some(a), Some(b)) => norm_score(s, &r.subject, r.grade, a, b, r.weeks_between),
                (None, _, _) => Err("the contract uses no norms".into()),
                _ => Err("no pre- or post-test".into()),
            };
            let excluded = failed_rule(&r);
            let served = r.provider_id.is_some() && r.enrolled_in_time != Some(false) && r.met_dosage != Some(false);
            let mut s = Student {
                excluded,
                served,
                pre,
                post,
                pre_sem: r.pre.as_ref().and_then(|t| t.sem),
                weeks: r.weeks_between,
                sessions: r.dosage.sessions_attended,
                minutes: r.dosage.minutes_attended,
                score,
                analysed: r.analysed,
                grade: r.grade,
                groups: r.groups,
                student_id: r.student_id,
                subject: r.subject,
                school: r.school_id,
                provider: r.provider_id,
                tutor: r.tutor_id,
            };
            if let (Some(m), Some(pre), Some(post), Some(w)) = (midpoint, &r.pre, &r.post, r.weeks_between) {
                m.project(&mut s, pre, post, w, scorer.as_ref());
            }
            s
        })
        .collect()
}

fn parse_as_of(text: &str) -> anyhow::Result<NaiveDate> {
    crate::data::date::parse_date(text)
        .ok_or_else(|| UserError(format!("--as-of {text:?} is not a date (write YYYY-MM-DD)")).into())
}

/// The JSON results of `obc check`.
#[derive(Serialize)]
struct Results<'a> {
    schema_version: u32,
    contract: &'a str,
    outcome: String,
    metric: &'static str,
    decision: String,
    settlement: &'a Settlement,
    figures: &'a crate::contract::figures::Figures,
    norms: serde_json::Value,
    midpoint: Option<serde_json::Value>,
    manifest: &'a Manifest,
}

fn phase(what: &str) {
    if std::env::var_os("OBC_PHASES").is_some() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let grab = |k: &str| status.lines().find(|l| l.starts_with(k)).unwrap_or("").to_string();
        eprintln!(
            "[phase] {what}: {:?} {} {}",
            START.get_or_init(std::time::Instant::now).elapsed(),
            grab("VmRSS"),
            grab("VmHWM")
        );
    }
}
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

pub fn run(args: &Args) -> anyhow::Result<()> {
    phase("start");
    let (contract, base) = super::read_contract(&args.contract)?;
    contract.check_settlement_terms()?;
    let as_of = args.as_of.as_deref().map(parse_as_of).transpose()?;
    let midpoint = as_of.map(|d| Midpoint::new(&contract, d)).transpose()?;
    let terms = midpoint.as_ref().map_or_else(|| contract.clone(), |m| m.terms.clone());
    // The history file and the norms fitted on it do not depend on the current year's
    // files: load and fit them on a second thread while the current year is prepared.
    let (analytic, fitted) = std::thread::scope(|scope| {
        let fitting = scope.spawn(|| -> anyhow::Result<(Option<History>, Option<ContractNorms>)> {
            let mut history = read_history(&contract, &base)?;
            let norms = contract_norms(&contract, &base, history.as_ref())?;
            phase("history and norms");
            if let (Some(h), Some(n)) = (history.as_mut(), norms.as_ref()) {
                except_unfitted(h, &n.unfitted);
            }
            if let Some(h) = history.as_mut() {
                // the history's students are only needed to fit the norms; keep its ledger
                h.students = Vec::new();
            }
            release_freed_memory();
            Ok((history, norms))
        });
        let analytic = data::prepare_contract_as_of(&terms, &base, as_of);
        phase("prepared");
        (analytic, fitting.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
    });
    let mut analytic = analytic?;
    let (history, norms) = fitted?;
    let mut ledgers: Vec<&data::Ledger> = analytic.ledgers.iter().collect();
    ledgers.extend(history.as_ref().map(|h| &h.ledger));
    let partial = data::limits::gate(ledgers, terms.limits.max_invalid_share, args.allow_partial)?;
    analytic.warnings.extend(partial);
    analytic.warnings.extend(check::comparison_present(&terms, &analytic.rows)?);
    let students = students(std::mem::take(&mut analytic.rows), norms.as_ref(), midpoint.as_ref());
    phase("students");
    let settlement = check::settle(&terms, &students);
    phase("settled");
    let out = super::out_dir(&args.out, &super::contract_inputs(&args.contract, &terms, &base), &OUTPUTS)?;
    let mid_json = midpoint.as_ref().map(|m| m.report(&terms, &students, &settlement));
    if let Some(m) = &midpoint {
        m.dosage_table(&students).write_into(&out, "dosage.csv", Format::Csv)?;
    }
    let (a, h, n) = (&analytic, history.as_ref(), norms.as_ref());
    write_outputs(args, &out, &terms, a, h, n, &students, &settlement, as_of, mid_json)?;
    // A million students' structures take seconds to free, and the process ends here.
    std::mem::forget((students, settlement, analytic, history));
    Ok(())
}

/// Returns memory freed by this thread to the system. glibc keeps a finished thread's
/// freed memory in that thread's arena, where the main thread cannot reuse it: without this,
/// the history loaded on the second thread would stay resident (about 1.5 GB for 500,000
/// history rows) while the current year is prepared.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's arenas; it is safe to
    // call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// A midpoint review (`--as-of`): the contract with prorated dosage rules and the interim
/// test as the post-test, and the projection to the planned post-test date.
///
/// Projection: a counted student's growth from the pre-test to the interim test is scaled
/// to the planned post-test date by instructional weeks (growth linear in weeks), and the
/// outcome is scored at the projected post-test and the full weeks. The metric, its
/// bootstrap replicates and hence the chance of meeting each threshold (the share of
/// replicates at least the threshold) are computed on the projections. Assumptions: growth
/// continues at the same weekly rate and dosage continues as delivered so far.
struct Midpoint {
    as_of: NaiveDate,
    start: NaiveDate,
    end: NaiveDate,
    fraction: f64,
    post_date: NaiveDate,
    terms: Contract,
}

impl Midpoint {
    fn new(contract: &Contract, as_of: NaiveDate) -> anyhow::Result<Midpoint> {
        let m = &contract.midpoint;
        let (Some(start), Some(end)) = (m.service_start, m.service_end) else {
            return Err(UserError(
                "--as-of needs [midpoint] service_start and service_end (the contracted service period)".into(),
            )
            .into());
        };
        let Some(interim) = m.interim.clone() else {
            return Err(UserError(
                "--as-of needs [midpoint] interim = { window = ... }: the test used to project growth".into(),
            )
            .into());
        };
        let post_date = match (contract.tests.post.from, contract.tests.post.to) {
            (Some(a), Some(b)) => a.0 + (b.0 - a.0) / 2,
            _ => end.0,
        };
        let span = (end.0 - start.0).num_days().max(1) as f64;
        let fraction = ((as_of - start.0).num_days() as f64 / span).clamp(0.0, 1.0);
        let mut terms = contract.clone();
        terms.eligibility.min_sessions = (f64::from(contract.eligibility.min_sessions) * fraction).floor() as u32;
        terms.eligibility.min_minutes = (contract.eligibility.min_minutes * fraction).floor();
        terms.tests.post = interim;
        Ok(Midpoint { as_of, start: start.0, end: end.0, fraction, post_date, terms })
    }

    /// Replaces a student's post-test by the projection (module docs).
    fn project(&self, s: &mut Student, pre: &PickedTest, post: &PickedTest, w: f64, scorer: Option<&Scorer>) {
        let breaks = crate::data::join::break_days(&self.terms.tests, pre.date, self.post_date);
        let full = ((self.post_date - pre.date).num_days() - breaks) as f64 / 7.0;
        if !(w > 0.0 && full >= w) {
            if s.analysed {
                s.analysed = false;
                s.excluded =
                    Some((Rule::NoPostTest, "interim test too close to the pre-test to project growth".into()));
            }
            return;
        }
        let projected = pre.score + (post.score - pre.score) * full / w;
        s.post = Some(projected);
        s.weeks = Some(full);
        s.score = match scorer {
            Some(sc) => norm_score(sc, &s.subject, s.grade, pre.score, projected, Some(full)),
            None => Err("the contract uses no norms".into()),
        };
    }

    fn dosage_table(&self, students: &[Student]) -> Table {
        let rows = self.dosage(students);
        let mut t = Table::new();
        t.push("provider", text(rows.iter().map(|r| Some(r.provider.clone()))));
        t.push("rostered", int(rows.iter().map(|r| r.rostered)));
        t.push("sessions_attended", int(rows.iter().map(|r| r.attended)));
        t.push("mean_sessions_per_student", float(rows.iter().map(|r| Some(r.mean))));
        t.push("contracted_to_date_per_student", float(rows.iter().map(|r| r.contracted_to_date)));
        t.push("delivered_share_of_contracted", float(rows.iter().map(|r| r.share)));
        t
    }

    fn dosage(&self, students: &[Student]) -> Vec<DosageRow> {
        let mut by: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for r in students {
            if let Some(p) = &r.provider {
                let e = by.entry(p.clone()).or_default();
                e.0 += 1;
                e.1 += u64::from(r.sessions);
            }
        }
        let contracted = self.terms.midpoint.contracted_sessions.map(|c| c * self.fraction);
        by.into_iter()
            .map(|(provider, (n, attended))| {
                let mean = attended as f64 / n as f64;
                DosageRow {
                    provider,
                    rostered: n,
                    attended,
                    mean,
                    contracted_to_date: contracted,
                    share: contracted.filter(|c| *c > 0.0).map(|c| mean / c),
                }
            })
            .collect()
    }

    fn report(&self, terms: &Contract, students: &[Student], s: &Settlement) -> serde_json::Value {
        let projection: Vec<serde_json::Value> = s
            .providers
            .iter()
            .flat_map(|p| {
                p.tiers.iter().map(move |t| {
                    serde_json::json!({
                        "provider": p.provider,
                        "tier": t.name,
                        "threshold": t.threshold,
                        "projected_chance_of_meeting": t.p_at_least,
                        "projected_decision": t.verdict.as_str(),
                    })
                })
            })
            .collect();
        serde_json::json!({
            "as_of": crate::data::date::iso(self.as_of),
            "service_start": crate::data::date::iso(self.start),
            "service_end": crate::data::date::iso(self.end),
            "fraction_of_service_elapsed": self.fraction,
            "prorated_min_sessions": terms.eligibility.min_sessions,
            "prorated_min_minutes": terms.eligibility.min_minutes,
            "interim_test": terms.tests.post,
            "projected_post_date": crate::data::date::iso(self.post_date),
            "assumptions": "growth from the pre-test to the interim test continues at the same rate per instructional week until the planned post-test date; dosage continues as delivered; the chance of meeting a threshold is the share of bootstrap replicates of the projected metric at least the threshold; payments shown are projections",
            "dosage": self.dosage(students),
            "projection": projection,
        })
    }
}

#[derive(Serialize)]
struct DosageRow {
    provider: String,
    rostered: u64,
    attended: u64,
    mean: f64,
    contracted_to_date: Option<f64>,
    share: Option<f64>,
}

/// Every output `obc check` may write (checked against the inputs before writing).
const OUTPUTS: [&str; 9] = [
    "providers.csv",
    "groups.csv",
    "audit.csv",
    "exceptions.csv",
    "results.json",
    "report.html",
    "figures",
    "dosage.csv",
    "manifest.json",
];

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    args: &Args,
    out: &data::output::OutputDir,
    contract: &Contract,
    analytic: &AnalyticFile,
    history: Option<&History>,
    norms: Option<&ContractNorms>,
    students: &[Student],
    s: &Settlement,
    as_of: Option<NaiveDate>,
    midpoint: Option<serde_json::Value>,
) -> anyhow::Result<()> {
    phase("writing");
    let providers = providers_table(contract, s);
    providers.write_into(out, "providers.csv", Format::Csv)?;
    let groups = groups_table(s);
    groups.write_into(out, "groups.csv", Format::Csv)?;
    let audit_rows = write_audit(out, students, s)?;
    phase("audit written");
    let mut ledgers: Vec<&data::Ledger> = analytic.ledgers.iter().collect();
    if let Some(h) = history {
        ledgers.push(&h.ledger);
    }
    let exceptions_rows = data::write_exceptions(out, "exceptions.csv", ledgers.iter().copied())?;
    phase("exceptions written");

    let mut inputs: Vec<Accounting> = analytic.accounting().map_err(anyhow::Error::msg)?;
    if let Some(h) = history {
        inputs.push(h.accounting().map_err(anyhow::Error::msg)?);
    }
    let mut m = Manifest::new(
        if as_of.is_some() { "check --as-of" } else { "check" },
        serde_json::to_value(contract)?,
        Some(contract.inference.seed),
    );
    m.inputs = inputs.clone();
    m.allow_partial = args.allow_partial;
    m.outputs = vec![
        OutputFile::new("results.json", false, None),
        OutputFile::new("providers.csv", false, Some(providers.height() as u64)),
        OutputFile::new("groups.csv", false, Some(groups.height() as u64)),
        OutputFile::new("audit.csv", true, Some(audit_rows)),
        OutputFile::new("exceptions.csv", true, Some(exceptions_rows)),
        OutputFile::new("report.html", false, None),
        OutputFile::new("figures/", false, None),
    ];
    if as_of.is_some() {
        m.outputs.push(OutputFile::new("dosage.csv", false, None));
    }
    let mut warnings = analytic.warnings.clone();
    if let Some(h) = history {
        warnings.extend(h.warnings.iter().map(|w| format!("history: {w}")));
    }
    if let Some(n) = norms {
        warnings.extend(n.warnings.iter().cloned());
    }
    warnings.extend(s.warnings.iter().cloned());
    warnings.extend(s.fairness.warnings.iter().cloned());
    warnings.extend(s.fairness.regression_to_mean.iter().cloned());
    m.warnings = warnings.clone();
    let norms_json = match norms {
        None => serde_json::Value::Null,
        Some(n) => norms_summary(n),
    };
    let figures = crate::contract::figures::figures(contract, students, s, as_of);
    let results = Results {
        schema_version: SCHEMA_VERSION,
        contract: &contract.contract.name,
        outcome: contract.outcome.describe(),
        metric: contract.metric.kind.describe(),
        decision: format!("{:?} at level {}", contract.decision.rule, contract.decision.level),
        settlement: s,
        figures: &figures,
        norms: norms_json,
        midpoint,
        manifest: &m,
    };
    let mut json = serde_json::to_string_pretty(&results)?;
    json.push('\n');
    out.write("results.json", json.as_bytes())?;
    phase("results written");

    for w in &warnings {
        eprintln!("warning: {w}");
    }
    for p in &s.providers {
        let metric = match (&p.estimate, p.suppressed) {
            (Some(e), false) => format!(
                "{:.3} [{}, {}]",
                e.point,
                e.low.map_or("-".into(), |v| format!("{v:.3}")),
                e.high.map_or("-".into(), |v| format!("{v:.3}"))
            ),
            (Some(_), true) => "suppressed (n < min_cell)".into(),
            (None, _) => p.no_estimate.clone().unwrap_or_default(),
        };
        let tiers: Vec<String> = p.tiers.iter().map(|t| format!("{} {}", t.name, t.verdict.as_str())).collect();
        eprintln!(
            "{}: {} counted of {} rostered; metric {metric}; {}; payable {:.2}",
            p.provider,
            p.counts.counted,
            p.counts.rostered,
            tiers.join(", "),
            p.payment.payable
        );
    }
    eprintln!("total payable {:.2}; results -> {}", s.totals.payable, args.out.join("results.json").display());
    super::print_accounting(&inputs);
    // The public report, rendered from exactly the JSON written above, so that
    // `obc report results.json` reproduces it byte for byte.
    let written: serde_json::Value = serde_json::from_str(&json)?;
    super::report::write(out, &crate::report::render_check(&written)?)?;
    // The standalone manifest, last: every output with its SHA-256 (`obc verify`).
    super::write_manifest(out, &m)?;
    Ok(())
}

fn norms_summary(n: &ContractNorms) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = match &n.model.norms {
        Norms::Conditional { groups, .. } => groups
            .iter()
            .map(|g| serde_json::json!({ "group": g.key, "n": g.n, "fitted": g.norms.is_some(), "skipped": g.skipped }))
            .collect(),
        Norms::Sgp { groups, .. } => groups
            .iter()
            .map(|g| serde_json::json!({ "group": g.key, "n": g.n, "fitted": g.orders.iter().any(|o| o.norms.is_some()) }))
            .collect(),
        Norms::Table { .. } => Vec::new(),
    };
    let method = match &n.model.norms {
        Norms::Conditional { .. } => "conditional",
        Norms::Sgp { .. } => "sgp",
        Norms::Table { .. } => "table",
    };
    serde_json::json!({ "method": method, "groups": groups, "provenance": n.model.provenance, "file": n.file })
}

fn text(v: impl IntoIterator<Item = Option<String>>) -> Column {
    Column::Text(v.into_iter().collect())
}

fn float(v: impl IntoIterator<Item = Option<f64>>) -> Column {
    Column::Float(v.into_iter().collect())
}

fn int(v: impl IntoIterator<Item = u64>) -> Column {
    Column::Int(v.into_iter().map(|x| Some(x as i64)).collect())
}

/// `providers.csv`: one row per provider.
fn providers_table(contract: &Contract, s: &Settlement) -> Table {
    let p = &s.providers;
    let mut t = Table::new();
    t.push("provider", text(p.iter().map(|r| Some(r.provider.clone()))));
    t.push("rostered", int(p.iter().map(|r| r.counts.rostered)));
    t.push("served", int(p.iter().map(|r| r.counts.served)));
    t.push("counted", int(p.iter().map(|r| r.counts.counted)));
    for rule in Rule::ALL {
        t.push(
            &format!("excluded_{}", rule.as_str()),
            int(p.iter().map(|r| r.excluded.get(rule.as_str()).copied().unwrap_or(0))),
        );
    }
    fn shown(r: &check::ProviderResult) -> Option<&check::Estimate> {
        if r.suppressed { None } else { r.estimate.as_ref() }
    }
    t.push("met_outcome", Column::Int(p.iter().map(|r| r.counts.met.map(|v| v as i64)).collect()));
    t.push("regressed", Column::Int(p.iter().map(|r| r.counts.regressed.map(|v| v as i64)).collect()));
    t.push("metric", float(p.iter().map(|r| shown(r).map(|e| e.point))));
    t.push("ci_low", float(p.iter().map(|r| shown(r).and_then(|e| e.low))));
    t.push("ci_high", float(p.iter().map(|r| shown(r).and_then(|e| e.high))));
    t.push("level", float(p.iter().map(|_| Some(contract.decision.level))));
    t.push("interval", text(p.iter().map(|r| r.estimate.as_ref().map(|e| e.method.clone()))));
    t.push(
        "note",
        text(p.iter().map(|r| {
            if r.suppressed {
                Some(format!("metric suppressed: fewer than {} counted students", contract.reporting.min_cell))
            } else {
                r.no_estimate.clone()
            }
        })),
    );
    for (k, th) in contract.thresholds.iter().enumerate() {
        let name = if th.name.is_empty() { format!("tier {}", k + 1) } else { th.name.clone() };
        t.push(
            &format!("decision {name} ({})", th.value),
            text(p.iter().map(|r| Some(r.tiers[k].verdict.as_str().to_string()))),
        );
    }
    t.push("tier_reached", text(p.iter().map(|r| r.tier_reached.clone())));
    t.push("base", float(p.iter().map(|r| Some(r.payment.base))));
    t.push("outcome_payment", float(p.iter().map(|r| Some(r.payment.outcome))));
    t.push("penalty", float(p.iter().map(|r| Some(r.payment.penalty))));
    t.push("before_cap", float(p.iter().map(|r| Some(r.payment.before_cap))));
    t.push("payable", float(p.iter().map(|r| Some(r.payment.payable))));
    t.push("arithmetic", text(p.iter().map(|r| Some(r.payment.arithmetic.join("; ")))));
    t
}

/// `groups.csv`: the equity table with suppression.
fn groups_table(s: &Settlement) -> Table {
    let g = &s.groups;
    let mut t = Table::new();
    t.push("provider", text(g.iter().map(|c| Some(c.provider.clone()))));
    t.push("group", text(g.iter().map(|c| Some(c.group.clone()))));
    t.push("value", text(g.iter().map(|c| Some(c.value.clone()))));
    t.push("counted", Column::Int(g.iter().map(|c| c.counted.map(|v| v as i64)).collect()));
    t.push("met_outcome", Column::Int(g.iter().map(|c| c.met.map(|v| v as i64)).collect()));
    t.push("metric", float(g.iter().map(|c| c.metric)));
    t.push("ci_low", float(g.iter().map(|c| c.low)));
    t.push("ci_high", float(g.iter().map(|c| c.high)));
    t.push("suppressed", text(g.iter().map(|c| c.suppressed.clone())));
    t
}

/// `audit.csv` (restricted): one row per student, streamed. Returns the rows written.
fn write_audit(out: &data::output::OutputDir, students: &[Student], s: &Settlement) -> anyhow::Result<u64> {
    const HEADER: [&str; 25] = [
        "student_id",
        "subject",
        "provider_id",
        "tutor_id",
        "school_id",
        "grade",
        "sessions_attended",
        "minutes_attended",
        "counted",
        "reason_not_counted",
        "pre",
        "post",
        "growth",
        "weeks",
        "expected_growth",
        "growth_sd",
        "cgi",
        "cgp",
        "sgp",
        "met_outcome",
        "regressed",
        "base",
        "outcome_payment",
        "penalty",
        "contribution",
    ];
    let mut sink = CsvSink::create(out, "audit.csv", &HEADER)?;
    let none = NormScore::default();
    for r in &s.audit {
        let st = &students[r.index];
        let sc = st.score.as_ref().unwrap_or(&none);
        sink.row(&[
            Cell::Text(Some(&st.student_id)),
            Cell::Text(Some(&st.subject)),
            Cell::Text(st.provider.as_deref()),
            Cell::Text(st.tutor.as_deref()),
            Cell::Text(Some(&st.school)),
            Cell::Int(Some(i64::from(st.grade))),
            Cell::Int(Some(i64::from(st.sessions))),
            Cell::Float(Some(st.minutes)),
            Cell::Bool(Some(r.counted)),
            Cell::Text(r.reason.as_deref()),
            Cell::Float(st.pre),
            Cell::Float(st.post),
            Cell::Float(st.growth()),
            Cell::Float(st.weeks),
            Cell::Float(sc.expected_growth),
            Cell::Float(sc.growth_sd),
            Cell::Float(sc.cgi),
            Cell::Float(sc.cgp),
            Cell::Int(sc.sgp.map(i64::from)),
            Cell::Bool(r.met),
            Cell::Bool(r.regressed),
            Cell::Float(Some(r.base)),
            Cell::Float(Some(r.outcome)),
            Cell::Float(Some(r.penalty)),
            Cell::Float(Some(r.base + r.outcome - r.penalty)),
        ])?;
    }
    Ok(sink.finish()?.0)
}
