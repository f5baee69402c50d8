//! The analytic file: one row per student x subject, joining roster, dosage and the chosen
//! pre- and post-tests, with the flags that decide who is analysed.
//!
//! ## Test selection
//! A test is a *candidate* for the pre (post) test when it matches the window spec: same
//! window label (if given), date within [from, to] (if given), same school year (if given).
//! Tests flagged invalid never count when `require_valid` (the default). Among candidates
//! the retest rule picks one: by default the smallest SEM (NWEA reports the lower-SEM
//! retest), ties and missing SEMs broken by the latest date, then the later row. A post-test
//! must be dated after the chosen pre-test. Every test row not chosen is listed in the
//! exceptions with the reason.
//!
//! ## Instructional weeks
//! weeks_between = (days from pre to post - days of breaks inside that span) / 7.
//!
//! ## Dosage
//! Over the validated sessions of the student credited to the row's provider (all of them
//! unless an assignments file gives the student a provider per subject: README
//! "Per-subject providers"): scheduled (every row), attended, absent,
//! cancelled, minutes attended, first and last attended session, weeks_active (distinct
//! Monday-to-Sunday weeks with an attended session), sessions_per_week = attended /
//! max(1, (last - first + 1 day) / 7), mean group size of attended sessions.
//!
//! ## Flags
//! has_pre, has_post; for tutored students enrolled_in_time and met_dosage by the contract's
//! [`Eligibility`]; eligible = comparison or (enrolled in time and met dosage);
//! analysed = has_pre and eligible and has_post. exclusion_reason names the first failing
//! step in flow order: pre-test, eligibility, post-test.

use crate::stats::warning::{Warning, WarningCode};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::assignments::{Assignment, Assignments, ProviderSource};
use super::date::iso;
use super::ledger::{Accounting, Ledger, ReasonCode, Stage};
use super::output::{OutputDir, Written};
use super::records::{CompactSession, Interner};
use super::schema::Eligibility;
use super::schema::{RetestRule, Role, Tests, WindowSpec};
use super::table::{Cell, Column, CsvSink, Format, Table};
use super::validate::{Status, Student, Test, Validated};
use super::vendor::measures::{self, VendorField, VendorValues};
use crate::error::DataError;
use crate::stats::wwc::{self, Boundary};

/// What the join needs from the contract.
#[derive(Clone, Debug)]
pub struct PrepareOptions {
    pub subjects: Vec<String>,
    /// The contract's providers (each gets a flow line even with no students).
    pub providers: Option<Vec<String>>,
    pub grades: Option<Vec<i32>>,
    pub tests: Tests,
    pub eligibility: Eligibility,
    pub boundary: Boundary,
}

/// The test chosen as pre or post.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PickedTest {
    pub score: f64,
    pub sem: Option<f64>,
    pub date: NaiveDate,
    pub window: String,
    /// Row of the assessments file it came from.
    pub row: u64,
}

/// Dosage totals of one student.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Dosage {
    pub sessions_scheduled: u32,
    pub sessions_attended: u32,
    pub sessions_absent: u32,
    pub sessions_cancelled: u32,
    pub minutes_attended: f64,
    pub first_session: Option<NaiveDate>,
    pub last_session: Option<NaiveDate>,
    pub weeks_active: u32,
    pub sessions_per_week: Option<f64>,
    pub mean_group_size: Option<f64>,
}

impl Dosage {
    /// Dosage from (status, minutes, date, group size) of each session, in file order.
    fn from_parts(sessions: impl Iterator<Item = (Status, f64, NaiveDate, Option<u32>)>) -> Dosage {
        let mut d = Dosage::default();
        let mut weeks: Vec<(i32, u32)> = Vec::new();
        let (mut group_sum, mut group_n) = (0.0, 0u32);
        for (status, minutes, date, group_size) in sessions {
            d.sessions_scheduled += 1;
            match status {
                Status::Attended => {
                    d.sessions_attended += 1;
                    d.minutes_attended += minutes;
                    d.first_session = Some(d.first_session.map_or(date, |f| f.min(date)));
                    d.last_session = Some(d.last_session.map_or(date, |l| l.max(date)));
                    let w = date.iso_week();
                    weeks.push((w.year(), w.week()));
                    if let Some(g) = group_size {
                        group_sum += g as f64;
                        group_n += 1;
                    }
                }
                Status::Absent => d.sessions_absent += 1,
                Status::Cancelled => d.sessions_cancelled += 1,
            }
        }
        weeks.sort_unstable();
        weeks.dedup();
        d.weeks_active = weeks.len() as u32;
        if let (Some(f), Some(l)) = (d.first_session, d.last_session) {
            let span = (((l - f).num_days() + 1) as f64 / 7.0).max(1.0);
            d.sessions_per_week = Some(d.sessions_attended as f64 / span);
        }
        d.mean_group_size = (group_n > 0).then(|| group_sum / group_n as f64);
        d
    }
}

/// One row of the analytic file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnalyticRow {
    pub student_id: String,
    pub subject: String,
    pub school_id: String,
    pub grade: i32,
    pub provider_id: Option<String>,
    pub tutor_id: Option<String>,
    pub comparison: bool,
    pub groups: super::validate::Groups,
    pub enroll_date: Option<NaiveDate>,
    pub exit_date: Option<NaiveDate>,
    pub pre: Option<PickedTest>,
    pub post: Option<PickedTest>,
    pub weeks_between: Option<f64>,
    pub growth: Option<f64>,
    /// sqrt(sem_pre^2 + sem_post^2) when both SEMs are known.
    pub growth_se: Option<f64>,
    pub dosage: Dosage,
    pub enrolled_in_time: Option<bool>,
    pub met_dosage: Option<bool>,
    pub eligible: bool,
    pub analysed: bool,
    pub exclusion_reason: Option<String>,
    /// The vendor's growth measures of the contract's window pair, read from the post-test
    /// row, a measure of a column named for the pair that the post-test row leaves empty
    /// from the pre-test row ([`measures::merge`]). `None`: no post-test, no vendor
    /// columns, or no value.
    pub vendor: Option<Box<VendorValues>>,
    /// Which file decided provider, tutor and dates: the roster, or a row of the
    /// assignments file for this student and subject.
    pub provider_source: ProviderSource,
}

impl AnalyticRow {
    pub fn has_pre(&self) -> bool {
        self.pre.is_some()
    }
    pub fn has_post(&self) -> bool {
        self.post.is_some()
    }
}

/// One line of the flow table: students at each step, per subject and provider.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowRow {
    pub subject: String,
    /// Provider ID, "comparison", or "all tutored".
    pub group: String,
    /// Students on the roster (valid rows in the contract's grades).
    pub rostered: u64,
    /// Students whose every roster row was excepted (see exceptions.csv): assigned, but
    /// never analysable, so they count as attrition.
    pub roster_rejected: u64,
    pub with_pre: u64,
    pub met_dosage: u64,
    pub with_post: u64,
    pub analysed: u64,
    /// 1 - analysed / (rostered + roster_rejected).
    pub attrition: Option<f64>,
    /// Against the comparison group (WWC definitions).
    pub overall_attrition: Option<f64>,
    pub differential_attrition: Option<f64>,
    /// "low" / "high" under the contract's boundary.
    pub wwc_attrition: Option<String>,
    /// Of the rostered students, those whose provider in this subject an assignments row
    /// decided (0 without an assignments file).
    pub from_assignments: u64,
}

/// The prepared data: analytic rows, flow, and the row ledgers of the inputs.
#[derive(Clone, Debug)]
pub struct AnalyticFile {
    pub rows: Vec<AnalyticRow>,
    pub flow: Vec<FlowRow>,
    pub groups: Vec<String>,
    pub ledgers: Vec<Ledger>,
    pub warnings: Vec<Warning>,
    /// The vendor growth measures the assessments file has columns for.
    pub vendor_fields: Vec<VendorField>,
}

impl AnalyticFile {
    /// Rows read, used and excepted per input; errors only on an internal accounting fault.
    pub fn accounting(&self) -> Result<Vec<Accounting>, super::ledger::UndecidedRow> {
        self.ledgers.iter().map(|l| l.accounting(Stage::Prepared)).collect()
    }
}

/// Why a test is not in a window (the text is the exception's reason).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub(crate) enum OutOfWindow {
    #[error("window {found:?} is not {wanted:?}")]
    Window { found: String, wanted: String },
    #[error("school_year {found:?} is not {wanted:?}")]
    SchoolYear { found: String, wanted: String },
    #[error("dated {} outside {}..{}", iso(*.date), .from.map(iso).unwrap_or_default(), .to.map(iso).unwrap_or_default())]
    Dates { date: NaiveDate, from: Option<NaiveDate>, to: Option<NaiveDate> },
}

/// Which of a window's conditions a test fails first (none: the test is in the window).
#[derive(Clone, Copy)]
enum WindowCheck {
    Window,
    SchoolYear,
    Dates,
}

fn window_check(spec: &WindowSpec, t: &Test) -> Option<WindowCheck> {
    if spec.window.as_ref().is_some_and(|w| !w.eq_ignore_ascii_case(&t.window)) {
        return Some(WindowCheck::Window);
    }
    if spec.school_year.as_ref().is_some_and(|y| t.school_year.as_deref() != Some(y.as_str())) {
        return Some(WindowCheck::SchoolYear);
    }
    let (from, to) = (spec.from.map(|d| d.0), spec.to.map(|d| d.0));
    (from.is_some_and(|f| t.date < f) || to.is_some_and(|e| t.date > e)).then_some(WindowCheck::Dates)
}

/// Whether `t` is in the window (what [`matches`] decides, without the reason).
pub(crate) fn in_window(spec: &WindowSpec, t: &Test) -> bool {
    window_check(spec, t).is_none()
}

pub(crate) fn matches(spec: &WindowSpec, t: &Test) -> Result<(), OutOfWindow> {
    match window_check(spec, t) {
        None => Ok(()),
        Some(WindowCheck::Window) => {
            Err(OutOfWindow::Window { found: t.window.clone(), wanted: spec.window.clone().unwrap_or_default() })
        }
        Some(WindowCheck::SchoolYear) => Err(OutOfWindow::SchoolYear {
            found: t.school_year.clone().unwrap_or_default(),
            wanted: spec.school_year.clone().unwrap_or_default(),
        }),
        Some(WindowCheck::Dates) => {
            Err(OutOfWindow::Dates { date: t.date, from: spec.from.map(|d| d.0), to: spec.to.map(|d| d.0) })
        }
    }
}

/// Picks one test by the retest rule; returns its position in `cands`.
pub(crate) fn pick(cands: &[&Test], rule: RetestRule) -> Option<usize> {
    let better = |a: &Test, b: &Test| -> bool {
        // true if a is preferred over b; a valid test always beats an invalid one (only
        // possible with require_valid = false)
        if a.valid != b.valid {
            return a.valid;
        }
        let later = (a.date, a.row) > (b.date, b.row);
        match rule {
            RetestRule::Latest => later,
            RetestRule::Earliest => (a.date, a.row) < (b.date, b.row),
            RetestRule::MinSemThenLatest => {
                let sa = a.sem.unwrap_or(f64::INFINITY);
                let sb = b.sem.unwrap_or(f64::INFINITY);
                sa < sb || (sa == sb && later)
            }
        }
    };
    let mut best: Option<usize> = None;
    for (i, t) in cands.iter().enumerate() {
        if best.is_none_or(|b| better(t, cands[b])) {
            best = Some(i);
        }
    }
    best
}

/// A student's candidate tests of one subject sorted into the pre and post windows, and
/// the tests the retest rule picked (a post-test must be dated after the chosen pre-test).
pub(crate) struct PrePost<'a> {
    pub pre_c: Vec<&'a Test>,
    pub post_c: Vec<&'a Test>,
    pub pre: Option<&'a Test>,
    pub post: Option<&'a Test>,
}

impl<'a> PrePost<'a> {
    pub(crate) fn pick(tests: &Tests, cands: &[&'a Test]) -> PrePost<'a> {
        let pre_c: Vec<&Test> = cands.iter().copied().filter(|t| in_window(&tests.pre, t)).collect();
        let pre = pick(&pre_c, tests.retest).map(|i| pre_c[i]);
        let post_c: Vec<&Test> = cands
            .iter()
            .copied()
            .filter(|t| in_window(&tests.post, t) && pre.is_none_or(|p| t.idx != p.idx && t.date > p.date))
            .collect();
        let post = pick(&post_c, tests.retest).map(|i| post_c[i]);
        PrePost { pre_c, post_c, pre, post }
    }

    /// Whether `t` is the chosen pre- or post-test.
    pub(crate) fn chosen(&self, t: &Test) -> bool {
        [self.pre, self.post].iter().any(|c| c.is_some_and(|c| c.idx == t.idx))
    }

    /// Why a candidate that was not chosen is not used: the code and the text.
    pub(crate) fn not_chosen(&self, tests: &Tests, t: &Test) -> (ReasonCode, String) {
        let retest = |which: &str, chosen: Option<&Test>| match chosen.and_then(|c| same_date_note(c, t, tests.retest))
        {
            Some(note) => format!("{which} retest not chosen: {note}"),
            None => {
                format!("{which} retest not chosen: rule {} chose row {}", tests.retest, chosen.map_or(0, |c| c.row))
            }
        };
        if self.pre_c.iter().any(|c| c.idx == t.idx) {
            (ReasonCode::RetestNotChosen, retest("pre-test", self.pre))
        } else if self.post_c.iter().any(|c| c.idx == t.idx) {
            (ReasonCode::RetestNotChosen, retest("post-test", self.post))
        } else if in_window(&tests.post, t) {
            let pre = self.pre.map(|p| iso(p.date)).unwrap_or_default();
            (ReasonCode::PostNotAfterPre, format!("post-test not after the pre-test of {pre}"))
        } else {
            let why_pre = matches(&tests.pre, t).err().map(|e| e.to_string()).unwrap_or_default();
            let why_post = matches(&tests.post, t).err().map(|e| e.to_string()).unwrap_or_default();
            let reason = format!("not in the pre window ({why_pre}) nor the post window ({why_post})");
            (ReasonCode::WindowNotPreOrPost, reason)
        }
    }
}

/// Start of the note on a test passed over for a same-day test with another score.
const SAME_DATE: &str = "same date as the chosen test in row ";

/// When `t` was passed over for `chosen`, a test of the same date with a different score:
/// says so, and why the rule preferred the chosen one (the choice itself is [`pick`]'s).
fn same_date_note(chosen: &Test, t: &Test, rule: RetestRule) -> Option<String> {
    if chosen.date != t.date || chosen.score == t.score {
        return None;
    }
    let sem = |x: Option<f64>| x.map_or("none".to_string(), |v| v.to_string());
    let order = if chosen.row > t.row { "the later row" } else { "the earlier row" };
    let why = if chosen.valid != t.valid {
        "a test flagged valid is preferred to one flagged invalid".to_string()
    } else {
        match rule {
            RetestRule::MinSemThenLatest if chosen.sem != t.sem => {
                format!("the smaller SEM ({} vs {})", sem(chosen.sem), sem(t.sem))
            }
            RetestRule::MinSemThenLatest => format!("the same SEM ({}) and the same date, so {order}", sem(t.sem)),
            RetestRule::Latest | RetestRule::Earliest => format!("the same date, so {order}"),
        }
    };
    Some(format!(
        "{SAME_DATE}{} but a different score ({} here vs {} chosen); chosen by rule {rule}: {why}",
        chosen.row, t.score, chosen.score
    ))
}

/// Students for whom a test was passed over for a same-day test with a different score.
fn same_date_conflicts(rows: &[AnalyticRow], ledgers: &[Ledger]) -> usize {
    let chosen_rows: BTreeSet<u64> = ledgers
        .iter()
        .filter(|l| l.role == Role::Assessments)
        .flat_map(|l| l.exceptions())
        .filter(|e| e.code == ReasonCode::RetestNotChosen)
        .filter_map(|e| e.reason.split_once(SAME_DATE))
        .filter_map(|(_, rest)| rest.split(' ').next().and_then(|n| n.parse().ok()))
        .collect();
    let students: BTreeSet<&str> = rows
        .iter()
        .filter(|r| [&r.pre, &r.post].iter().any(|t| t.as_ref().is_some_and(|t| chosen_rows.contains(&t.row))))
        .map(|r| r.student_id.as_str())
        .collect();
    students.len()
}

pub(crate) fn break_days(tests: &Tests, from: NaiveDate, to: NaiveDate) -> i64 {
    // Days d with from < d <= to inside any break (breaks may overlap: count each day once):
    // the breaks cut to (from, to], in order of their first day, each counted from the day
    // after the last day already counted.
    let first = from.succ_opt().unwrap_or(from);
    let mut spans: Vec<(NaiveDate, NaiveDate)> =
        tests.breaks.iter().map(|b| (b.from.0.max(first), b.to.0.min(to))).filter(|(a, b)| a <= b).collect();
    spans.sort_unstable();
    let mut days = 0;
    let mut counted: Option<NaiveDate> = None;
    for (a, b) in spans {
        let start = match counted {
            Some(c) if c >= b => continue,
            Some(c) if c >= a => c.succ_opt().unwrap_or(b),
            _ => a,
        };
        days += (b - start).num_days() + 1;
        counted = Some(b);
    }
    days
}

/// Builds the analytic file and flow table from inputs validated whole: the same join as
/// the streamed inputs take ([`prepare_streamed`]), on their compact form.
pub fn prepare(v: Validated, opts: &PrepareOptions) -> Result<AnalyticFile, DataError> {
    prepare_streamed(v, opts, "session_date", None)
}

/// Warnings about empty windows, and the flow table.
fn finish(
    rows: Vec<AnalyticRow>,
    opts: &PrepareOptions,
    mut warnings: Vec<Warning>,
    groups: Vec<String>,
    roster_rejects: &BTreeMap<String, Option<String>>,
    ledgers: Vec<Ledger>,
) -> AnalyticFile {
    for subject in &opts.subjects {
        let of_subject = rows.iter().filter(|r| &r.subject == subject);
        let (pre, post) = of_subject.fold((0, 0), |(a, b), r| (a + r.has_pre() as usize, b + r.has_post() as usize));
        if pre == 0 {
            warnings.push(Warning::new(
                WarningCode::Join,
                format!(
                    "{subject}: no student has a test in the pre window; check [tests] pre against the assessments file"
                ),
            ));
        }
        if post == 0 {
            warnings.push(Warning::new(WarningCode::Join, format!(
                "{subject}: no student has a test in the post window; check [tests] post against the assessments file"
            )));
        }
    }
    let conflicts = same_date_conflicts(&rows, &ledgers);
    if conflicts > 0 {
        warnings.push(Warning::new(
            WarningCode::Join,
            format!(
                "{conflicts} students have two tests on the same date with different scores; the retest rule chose one \
             (see the exceptions \"same date as the chosen test\"); check the assessments export for duplicates"
            ),
        ));
    }
    let providers = opts.providers.clone().unwrap_or_default();
    let flow = flow_table(&rows, &opts.subjects, opts.boundary, roster_rejects, &providers);
    AnalyticFile { rows, flow, groups, ledgers, warnings, vendor_fields: Vec::new() }
}

/// The analytic row of student `s` in `subject`, with the provider, tutor and dates of the
/// student's assignments row for the subject when there is one (else the roster's): picks
/// the pre- and post-test among
/// `cands` (the student's tests of the subject that passed the scope and validity checks,
/// in file order), marks them used and excludes the others with the reason.
fn join_subject(
    (s, assigned): (&Student, Option<&Assignment>),
    subject: &str,
    cands: &[&Test],
    dosage: &Dosage,
    opts: &PrepareOptions,
    assessments_ledger: &mut Marks,
    date_header: &str,
) -> AnalyticRow {
    let picked = PrePost::pick(&opts.tests, cands);
    let (pre, post) = (picked.pre, picked.post);
    for t in cands {
        if picked.chosen(t) {
            assessments_ledger.mark_used(t.idx);
            continue;
        }
        let (code, reason) = picked.not_chosen(&opts.tests, t);
        assessments_ledger.exclude(t.idx, date_header, &iso(t.date), code, reason);
    }
    let as_picked =
        |t: &Test| PickedTest { score: t.score, sem: t.sem, date: t.date, window: t.window.clone(), row: t.row };
    let weeks_between = match (pre, post) {
        (Some(a), Some(b)) => {
            Some(((b.date - a.date).num_days() - break_days(&opts.tests, a.date, b.date)) as f64 / 7.0)
        }
        _ => None,
    };
    let growth = match (pre, post) {
        (Some(a), Some(b)) => Some(b.score - a.score),
        _ => None,
    };
    let growth_se = match (pre.and_then(|t| t.sem), post.and_then(|t| t.sem)) {
        (Some(a), Some(b)) => Some((a * a + b * b).sqrt()),
        _ => None,
    };
    let (provider_id, tutor_id, enroll_date, exit_date, provider_source) = match assigned {
        Some(a) => (a.provider_id.clone(), a.tutor_id.clone(), a.enroll_date, a.exit_date, ProviderSource::Assignments),
        None => (s.provider_id.clone(), s.tutor_id.clone(), s.enroll_date, s.exit_date, ProviderSource::Roster),
    };
    let comparison = provider_id.is_none();
    let (enrolled, dosage_ok, why_not) = if comparison {
        (None, None, None)
    } else {
        let start = enroll_date.or(dosage.first_session);
        let e = opts.eligibility.enrolled_in_time(start);
        let d = opts.eligibility.met_dosage(dosage.sessions_attended, dosage.minutes_attended);
        let why = e.as_ref().err().or(d.as_ref().err()).map(|w| w.to_string());
        (Some(e.is_ok()), Some(d.is_ok()), why)
    };
    let eligible = why_not.is_none();
    let exclusion_reason = if pre.is_none() {
        Some("no valid pre-test in the pre window".to_string())
    } else if let Some(w) = why_not {
        Some(w)
    } else if post.is_none() {
        Some("no valid post-test in the post window".to_string())
    } else {
        None
    };
    AnalyticRow {
        student_id: s.student_id.clone(),
        subject: subject.to_string(),
        school_id: s.school_id.clone(),
        grade: s.grade,
        provider_id,
        tutor_id,
        comparison,
        groups: s.groups.clone(),
        enroll_date,
        exit_date,
        pre: pre.map(as_picked),
        post: post.map(as_picked),
        weeks_between,
        growth,
        growth_se,
        dosage: dosage.clone(),
        enrolled_in_time: enrolled,
        met_dosage: dosage_ok,
        eligible,
        analysed: exclusion_reason.is_none(),
        exclusion_reason,
        vendor: None,
        provider_source,
    }
}

/// What the join decided about test rows, in order: used, or excluded with the column,
/// value, code and reason; applied to the assessments ledger by [`Marks::apply`].
#[derive(Default)]
struct Marks(Vec<Mark>);

enum Mark {
    Used(usize),
    Excluded { idx: usize, column: String, value: String, code: ReasonCode, reason: String },
}

impl Marks {
    fn mark_used(&mut self, idx: usize) {
        self.0.push(Mark::Used(idx));
    }

    fn exclude(&mut self, idx: usize, column: &str, value: &str, code: ReasonCode, reason: impl Into<String>) {
        let (column, value, reason) = (column.to_string(), value.to_string(), reason.into());
        self.0.push(Mark::Excluded { idx, column, value, code, reason });
    }

    fn apply(self, ledger: &mut Ledger) {
        for m in self.0 {
            match m {
                Mark::Used(idx) => ledger.mark_used(idx),
                Mark::Excluded { idx, column, value, code, reason } => {
                    ledger.exclude(idx, &column, &value, code, reason)
                }
            }
        }
    }
}

/// Dosage of one student per provider credited with its sessions (interned ID), in order
/// of the providers' numbers: one entry for a student with one provider.
fn dosage_by_provider(sessions: &[&CompactSession]) -> Vec<(u32, Dosage)> {
    let mut providers: Vec<u32> = sessions.iter().map(|s| s.provider).collect();
    providers.sort_unstable();
    providers.dedup();
    let g = |n: u8| (n > 0).then_some(n as u32);
    providers
        .into_iter()
        .map(|p| {
            let mine = sessions.iter().filter(|s| s.provider == p);
            (p, Dosage::from_parts(mine.map(|s| (s.status, s.minutes, s.date, g(s.group_size)))))
        })
        .collect()
}

/// The dosage a student's row in one subject counts: that of the sessions credited to the
/// subject's provider (none for a comparison row).
fn dosage_of(by_provider: &[(u32, Dosage)], provider: Option<&str>, names: &Interner) -> Dosage {
    let Some(id) = provider.and_then(|p| names.find(p)) else { return Dosage::default() };
    by_provider.iter().find(|(p, _)| *p == id).map(|(_, d)| d.clone()).unwrap_or_default()
}

/// Where each student's records are in `records` (grouped by student): `(start, end)` by
/// student position, `(0, 0)` for a student without records.
fn ranges_by_student<T>(records: &[T], student: impl Fn(&T) -> u32, students: usize) -> Vec<(usize, usize)> {
    let mut ranges = vec![(0, 0); students];
    let mut start = 0;
    while start < records.len() {
        let who = student(&records[start]);
        let end = start + records[start..].iter().take_while(|r| student(r) == who).count();
        ranges[who as usize] = (start, end);
        start = end;
    }
    ranges
}

/// Marks each valid assignments row used, or excluded when its student is outside the
/// contract's grades (`in_scope` by student position).
fn settle_assignments(a: &mut Assignments, in_scope: &[bool], students: &[Student]) {
    for x in a.by_student.values() {
        if in_scope[x.student] {
            a.ledger.mark_used(x.idx);
        } else {
            let reason = "student is outside the contract's grades";
            let (header, id) = (a.columns.header("student_id"), &students[x.student].student_id);
            a.ledger.exclude(x.idx, &header, id, ReasonCode::GradeNotInContract, reason);
        }
    }
}

/// The exception reason of a row dated after the `--as-of` date.
fn after_as_of(date: NaiveDate, as_of: NaiveDate) -> String {
    format!("dated {}, after the --as-of date {}", iso(date), iso(as_of))
}

/// [`prepare`] for inputs validated as streams ([`validate_streams`]): the same analytic
/// rows, flow, exceptions and accounting. With `as_of`, session and test rows dated after
/// it are excluded (kind `excluded`, in the date column) before anything else is decided.
pub(crate) fn prepare_streamed(
    v: Validated,
    opts: &PrepareOptions,
    session_date_header: &str,
    as_of: Option<NaiveDate>,
) -> Result<AnalyticFile, DataError> {
    let Validated {
        students,
        compact_sessions: sessions,
        compact_tests: tests,
        texts,
        tutors: _,
        mut roster_ledger,
        mut sessions_ledger,
        mut assessments_ledger,
        warnings,
        groups,
        roster_columns,
        test_columns,
        roster_rejects,
        vendor_columns,
        vendor,
        mut assignments,
        session_providers,
    } = v;
    let in_scope = |s: &Student| opts.grades.as_ref().is_none_or(|g| g.contains(&s.grade));
    let mut ok = vec![false; students.len()];
    for (i, s) in students.iter().enumerate() {
        ok[i] = in_scope(s);
        if ok[i] {
            roster_ledger.mark_used(s.idx);
        } else {
            let reason = format!("grade {} is not in the contract's grades", s.grade);
            let (header, value) = (roster_columns.header("grade"), s.grade.to_string());
            roster_ledger.exclude(s.idx, &header, &value, ReasonCode::GradeNotInContract, reason);
        }
    }
    let late = |d: NaiveDate| as_of.is_some_and(|a| d > a);

    // The sessions' ledger marks, in order, on this thread while the pool works out each
    // student's dosage.
    let mark_sessions = |sessions_ledger: &mut Ledger| {
        for s in &sessions {
            let who = s.student as usize;
            if let Some(a) = as_of.filter(|_| late(s.date)) {
                let (date, reason) = (iso(s.date), after_as_of(s.date, a));
                sessions_ledger.exclude(s.idx as usize, session_date_header, &date, ReasonCode::AfterAsOf, reason);
            } else if ok[who] {
                sessions_ledger.mark_used(s.idx as usize);
            } else {
                let id = &students[who].student_id;
                let reason = "student is outside the contract's grades";
                sessions_ledger.exclude(s.idx as usize, "", id, ReasonCode::GradeNotInContract, reason);
            }
        }
    };
    let dosage_of_each = || -> Vec<Vec<(u32, Dosage)>> {
        use rayon::prelude::*;
        let session_ranges = ranges_by_student(&sessions, |s| s.student, students.len());
        (0..students.len())
            .into_par_iter()
            .map(|who| {
                let (a, b) = session_ranges[who];
                if !ok[who] || a == b {
                    return Vec::new();
                }
                let used: Vec<&CompactSession> = sessions[a..b].iter().filter(|s| !late(s.date)).collect();
                dosage_by_provider(&used)
            })
            .collect()
    };
    let ((), dosage) = rayon::join(|| mark_sessions(&mut sessions_ledger), dosage_of_each);
    drop(sessions);

    // Tests per student after the as-of, scope, subject and validity checks.
    let text = |id: u32| texts.name(id).unwrap_or("").to_string();
    let mut rows = Vec::with_capacity(ok.iter().filter(|&&o| o).count() * opts.subjects.len());
    let starts = ranges_by_student(&tests, |t| t.student, students.len());
    let (date_header, id_header) = (test_columns.header("test_date"), test_columns.header("student_id"));
    let (subject_header, valid_header) = (test_columns.header("subject"), test_columns.header("valid"));
    // Each student's rows are joined on the rayon pool; what the join decides about each
    // test row is kept as marks and applied to the ledger in student order, so the ledger
    // is the same for any number of threads.
    let test_rows: Vec<u64> = (0..assessments_ledger.len()).map(|i| assessments_ledger.row_number(i)).collect();
    let join_student = |who: usize, marks: &mut Marks, rows: &mut Vec<AnalyticRow>| {
        let s = &students[who];
        let (a, b) = starts[who];
        let mut kept: Vec<Test> = Vec::new();
        for t in &tests[a..b] {
            let idx = t.idx as usize;
            let subject = texts.name(t.subject).unwrap_or("");
            if let Some(d) = as_of.filter(|_| late(t.date)) {
                let (date, reason) = (iso(t.date), after_as_of(t.date, d));
                marks.exclude(idx, &date_header, &date, ReasonCode::AfterAsOf, reason);
            } else if !ok[who] {
                let reason = "student is outside the contract's grades";
                marks.exclude(idx, &id_header, &s.student_id, ReasonCode::GradeNotInContract, reason);
            } else if !opts.subjects.iter().any(|x| x == subject) {
                let reason = format!("subject is not in the contract ({})", opts.subjects.join(", "));
                marks.exclude(idx, &subject_header, subject, ReasonCode::OtherSubject, reason);
            } else if opts.tests.require_valid && !t.valid {
                let reason = "test flagged invalid";
                marks.exclude(idx, &valid_header, "false", ReasonCode::TestFlaggedInvalid, reason);
            } else {
                kept.push(Test {
                    idx,
                    row: test_rows[idx],
                    student_id: s.student_id.clone(),
                    subject: subject.to_string(),
                    date: t.date,
                    window: text(t.window),
                    school_year: texts.name(t.school_year).map(str::to_string),
                    grade: t.grade,
                    score: t.score,
                    sem: t.sem,
                    valid: t.valid,
                });
            }
        }
        if !ok[who] {
            return;
        }
        let by_provider = &dosage[who];
        for subject in &opts.subjects {
            let cands: Vec<&Test> = kept.iter().filter(|t| &t.subject == subject).collect();
            let assigned = assignments.as_ref().and_then(|a| a.get(who, subject));
            let provider = assigned.map_or(s.provider_id.as_deref(), |a| a.provider_id.as_deref());
            let d = dosage_of(by_provider, provider, &session_providers);
            let mut row = join_subject((s, assigned), subject, &cands, &d, opts, marks, &date_header);
            if let Some(post) = &row.post {
                let pre = row.pre.as_ref().and_then(|p| vendor.get(&p.row).cloned());
                row.vendor =
                    measures::merge(vendor.get(&post.row).cloned(), pre, &vendor_columns.per_pair).map(Box::new);
            }
            rows.push(row);
        }
    };
    // A batch of students at a time, a run of 512 students per task: a run's rows go in
    // one vector and its marks in another, not a vector of rows for each student.
    const STUDENTS: usize = 1 << 16;
    const RUN: usize = 512;
    let mut from = 0;
    while from < students.len() {
        use rayon::prelude::*;
        let to = (from + STUDENTS).min(students.len());
        let joined: Vec<(Marks, Vec<AnalyticRow>)> = (from..to)
            .into_par_iter()
            .step_by(RUN)
            .map(|a| {
                let (mut marks, mut rows) = (Marks::default(), Vec::with_capacity(RUN * opts.subjects.len()));
                (a..(a + RUN).min(to)).for_each(|who| join_student(who, &mut marks, &mut rows));
                (marks, rows)
            })
            .collect();
        for (marks, mut joined_rows) in joined {
            marks.apply(&mut assessments_ledger);
            rows.append(&mut joined_rows);
        }
        from = to;
    }
    drop(dosage);
    let mut ledgers = vec![roster_ledger, sessions_ledger, assessments_ledger];
    if let Some(a) = assignments.as_mut() {
        settle_assignments(a, &ok, &students);
    }
    ledgers.extend(assignments.map(|a| a.ledger));
    let mut file = finish(rows, opts, warnings, groups, &roster_rejects, ledgers);
    file.vendor_fields = vendor_columns.fields;
    Ok(file)
}

/// The flow table's counts of one group of analytic rows.
#[derive(Clone, Copy, Default)]
struct Tally {
    rostered: u64,
    with_pre: u64,
    met_dosage: u64,
    with_post: u64,
    analysed: u64,
    from_assignments: u64,
}

impl Tally {
    fn add(&mut self, r: &AnalyticRow) {
        let count = |b: bool| u64::from(b);
        self.rostered += 1;
        self.with_pre += count(r.has_pre());
        self.met_dosage += count(r.has_pre() && r.eligible);
        self.with_post += count(r.has_pre() && r.eligible && r.has_post());
        self.analysed += count(r.analysed);
        self.from_assignments += count(r.provider_source == ProviderSource::Assignments);
    }

    fn plus(self, o: &Tally) -> Tally {
        Tally {
            rostered: self.rostered + o.rostered,
            with_pre: self.with_pre + o.with_pre,
            met_dosage: self.met_dosage + o.met_dosage,
            with_post: self.with_post + o.with_post,
            analysed: self.analysed + o.analysed,
            from_assignments: self.from_assignments + o.from_assignments,
        }
    }
}

/// The flow table: per subject, each provider, all tutored, and comparison. `rejects` are
/// students whose roster rows were all excepted, by the provider their row named (`None` =
/// comparison); `providers` get a line even when nobody is rostered with them.
pub fn flow_table(
    rows: &[AnalyticRow],
    subjects: &[String],
    boundary: Boundary,
    rejects: &BTreeMap<String, Option<String>>,
    providers: &[String],
) -> Vec<FlowRow> {
    let mut out = Vec::new();
    for subject in subjects {
        // one pass over the rows: the counts of each provider (`None` = comparison)
        let mut tallies: BTreeMap<Option<&str>, Tally> = BTreeMap::new();
        for r in rows.iter().filter(|r| &r.subject == subject) {
            tallies.entry(r.provider_id.as_deref()).or_default().add(r);
        }
        let mut rejected: BTreeMap<Option<&str>, u64> = BTreeMap::new();
        for p in rejects.values() {
            *rejected.entry(p.as_deref()).or_default() += 1;
        }
        let count = |group: &str, pred: &dyn Fn(Option<&str>) -> bool| -> FlowRow {
            let t = tallies.iter().filter(|(p, _)| pred(**p)).fold(Tally::default(), |a, (_, t)| a.plus(t));
            let roster_rejected = rejected.iter().filter(|(p, _)| pred(**p)).map(|(_, n)| n).sum::<u64>();
            let assigned = t.rostered + roster_rejected;
            FlowRow {
                subject: subject.clone(),
                group: group.to_string(),
                rostered: t.rostered,
                roster_rejected,
                with_pre: t.with_pre,
                met_dosage: t.met_dosage,
                with_post: t.with_post,
                analysed: t.analysed,
                attrition: (assigned > 0).then(|| 1.0 - t.analysed as f64 / assigned as f64),
                overall_attrition: None,
                differential_attrition: None,
                wwc_attrition: None,
                from_assignments: t.from_assignments,
            }
        };
        let comparison = count("comparison", &|p| p.is_none());
        let mut ids: BTreeSet<&str> = tallies.keys().flatten().copied().collect();
        ids.extend(providers.iter().map(|p| p.as_str()));
        ids.extend(rejects.values().flatten().map(|p| p.as_str()));
        let mut lines: Vec<FlowRow> = ids.iter().map(|p| count(p, &|x| x == Some(*p))).collect();
        lines.push(count("all tutored", &|p| p.is_some()));
        for line in &mut lines {
            let assigned = |f: &FlowRow| f.rostered + f.roster_rejected;
            if let Some(a) = wwc::attrition(assigned(line), line.analysed, assigned(&comparison), comparison.analysed) {
                line.overall_attrition = Some(a.overall);
                line.differential_attrition = Some(a.differential);
                line.wwc_attrition = Some(
                    match boundary {
                        Boundary::Cautious => a.cautious,
                        Boundary::Optimistic => a.optimistic,
                    }
                    .to_string(),
                );
            }
        }
        out.extend(lines);
        out.push(comparison);
    }
    out
}

/// One value of an analytic row, borrowed where it can be.
enum Value<'a> {
    Text(Option<Cow<'a, str>>),
    Float(Option<f64>),
    Int(Option<i64>),
    Bool(Option<bool>),
    /// A date column (of kind text): written as `YYYY-MM-DD`.
    Date(Option<NaiveDate>),
}

impl Value<'_> {
    fn cell(&self) -> Cell<'_> {
        match self {
            Value::Text(t) => Cell::Text(t.as_deref()),
            Value::Float(v) => Cell::Float(*v),
            Value::Int(v) => Cell::Int(*v),
            Value::Bool(v) => Cell::Bool(*v),
            Value::Date(v) => Cell::Date(*v),
        }
    }
}

/// The type of an analytic file's column.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Float,
    Int,
    Bool,
}

/// A column of the analytic file: its name, its type and its value in a row.
type AnalyticColumn<'f> = (String, Kind, Box<dyn for<'a> Fn(&'a AnalyticRow) -> Value<'a> + Sync + 'f>);

fn text<'a>(t: &'a str) -> Value<'a> {
    Value::Text(Some(Cow::Borrowed(t)))
}

fn opt_text(t: &Option<String>) -> Value<'_> {
    Value::Text(t.as_deref().map(Cow::Borrowed))
}

fn date(d: Option<NaiveDate>) -> Value<'static> {
    Value::Date(d)
}

impl AnalyticFile {
    /// The analytic file's columns, in their fixed order (documented in README).
    fn columns<'f>(&'f self) -> Vec<AnalyticColumn<'f>> {
        let mut c: Vec<AnalyticColumn<'f>> = Vec::new();
        let mut push = |name: &str, kind: Kind, f: Box<dyn for<'a> Fn(&'a AnalyticRow) -> Value<'a> + Sync + 'f>| {
            c.push((name.to_string(), kind, f))
        };
        push("student_id", Kind::Text, Box::new(|x| text(&x.student_id)));
        push("subject", Kind::Text, Box::new(|x| text(&x.subject)));
        push("school_id", Kind::Text, Box::new(|x| text(&x.school_id)));
        push("grade", Kind::Int, Box::new(|x| Value::Int(Some(x.grade as i64))));
        push("provider_id", Kind::Text, Box::new(|x| opt_text(&x.provider_id)));
        push("tutor_id", Kind::Text, Box::new(|x| opt_text(&x.tutor_id)));
        push("comparison", Kind::Bool, Box::new(|x| Value::Bool(Some(x.comparison))));
        for g in &self.groups {
            push(g, Kind::Text, Box::new(move |x| Value::Text(x.groups.get(g).map(|v| Cow::Borrowed(v.as_str())))));
        }
        push("enroll_date", Kind::Text, Box::new(|x| date(x.enroll_date)));
        push("exit_date", Kind::Text, Box::new(|x| date(x.exit_date)));
        for (name, get) in [
            ("pre", (|x: &AnalyticRow| x.pre.as_ref()) as fn(&AnalyticRow) -> Option<&PickedTest>),
            ("post", |x| x.post.as_ref()),
        ] {
            push(&format!("{name}_score"), Kind::Float, Box::new(move |x| Value::Float(get(x).map(|p| p.score))));
            push(&format!("{name}_sem"), Kind::Float, Box::new(move |x| Value::Float(get(x).and_then(|p| p.sem))));
            push(&format!("{name}_date"), Kind::Text, Box::new(move |x| date(get(x).map(|p| p.date))));
            push(
                &format!("{name}_window"),
                Kind::Text,
                Box::new(move |x| Value::Text(get(x).map(|p| Cow::Borrowed(p.window.as_str())))),
            );
            push(&format!("{name}_row"), Kind::Int, Box::new(move |x| Value::Int(get(x).map(|p| p.row as i64))));
        }
        push("weeks_between", Kind::Float, Box::new(|x| Value::Float(x.weeks_between)));
        push("growth", Kind::Float, Box::new(|x| Value::Float(x.growth)));
        push("growth_se", Kind::Float, Box::new(|x| Value::Float(x.growth_se)));
        push("sessions_scheduled", Kind::Int, Box::new(|x| Value::Int(Some(x.dosage.sessions_scheduled as i64))));
        push("sessions_attended", Kind::Int, Box::new(|x| Value::Int(Some(x.dosage.sessions_attended as i64))));
        push("sessions_absent", Kind::Int, Box::new(|x| Value::Int(Some(x.dosage.sessions_absent as i64))));
        push("sessions_cancelled", Kind::Int, Box::new(|x| Value::Int(Some(x.dosage.sessions_cancelled as i64))));
        push("minutes_attended", Kind::Float, Box::new(|x| Value::Float(Some(x.dosage.minutes_attended))));
        push("first_session", Kind::Text, Box::new(|x| date(x.dosage.first_session)));
        push("last_session", Kind::Text, Box::new(|x| date(x.dosage.last_session)));
        push("weeks_active", Kind::Int, Box::new(|x| Value::Int(Some(x.dosage.weeks_active as i64))));
        push("sessions_per_week", Kind::Float, Box::new(|x| Value::Float(x.dosage.sessions_per_week)));
        push("mean_group_size", Kind::Float, Box::new(|x| Value::Float(x.dosage.mean_group_size)));
        push("has_pre", Kind::Bool, Box::new(|x| Value::Bool(Some(x.has_pre()))));
        push("has_post", Kind::Bool, Box::new(|x| Value::Bool(Some(x.has_post()))));
        push("enrolled_in_time", Kind::Bool, Box::new(|x| Value::Bool(x.enrolled_in_time)));
        push("met_dosage", Kind::Bool, Box::new(|x| Value::Bool(x.met_dosage)));
        push("eligible", Kind::Bool, Box::new(|x| Value::Bool(Some(x.eligible))));
        push("analysed", Kind::Bool, Box::new(|x| Value::Bool(Some(x.analysed))));
        push("exclusion_reason", Kind::Text, Box::new(|x| opt_text(&x.exclusion_reason)));
        for &f in &self.vendor_fields {
            push(
                &format!("vendor_{}", f.name()),
                Kind::Float,
                Box::new(move |x| Value::Float(x.vendor.as_ref().and_then(|v| v.get(f)))),
            );
        }
        if self.has_assignments() {
            push("provider_source", Kind::Text, Box::new(|x| text(x.provider_source.as_str())));
        }
        c
    }

    /// The analytic file as an output table (fixed column order, documented in README).
    pub fn table(&self) -> Table {
        let mut t = Table::new();
        for (name, kind, get) in self.columns() {
            let values = self.rows.iter().map(&get);
            let column = match kind {
                Kind::Float => Column::Float(values.map(|v| if let Value::Float(x) = v { x } else { None }).collect()),
                Kind::Int => Column::Int(values.map(|v| if let Value::Int(x) = v { x } else { None }).collect()),
                Kind::Bool => Column::Bool(values.map(|v| if let Value::Bool(x) = v { x } else { None }).collect()),
                Kind::Text => Column::Text(
                    values
                        .map(|v| match v {
                            Value::Text(x) => x.map(Cow::into_owned),
                            Value::Date(d) => d.map(iso),
                            _ => None,
                        })
                        .collect(),
                ),
            };
            t.push(&name, column);
        }
        t
    }

    /// Writes the analytic file as the output `name` of `out`: CSV a row at a time (the
    /// same bytes as [`AnalyticFile::table`] written as CSV, without building the table),
    /// Parquet through the table.
    pub fn write(&self, out: &OutputDir, name: &str, format: Format) -> Result<Written, DataError> {
        match format {
            Format::Csv => self.write_csv(out, name),
            Format::Parquet => self.table().write_into(out, name, format),
        }
    }

    fn write_csv(&self, out: &OutputDir, name: &str) -> Result<Written, DataError> {
        let columns = self.columns();
        let names: Vec<&str> = columns.iter().map(|(n, _, _)| n.as_str()).collect();
        let mut sink = CsvSink::create(out, name, &names)?;
        sink.rows_of(&self.rows, |r, buf| {
            let values: Vec<Value<'_>> = columns.iter().map(|(_, _, get)| get(r)).collect();
            let cells: Vec<Cell<'_>> = values.iter().map(Value::cell).collect();
            buf.row(&cells);
        })?;
        Ok(sink.finish()?.1)
    }

    /// Whether the run read an assignments file (its outputs then say which file decided
    /// each provider; without one they are as before the file existed).
    pub fn has_assignments(&self) -> bool {
        self.ledgers.iter().any(|l| l.role == Role::Assignments)
    }

    /// The flow table as an output table.
    pub fn flow_table(&self) -> Table {
        let f = &self.flow;
        let mut t = Table::new();
        t.push("subject", Column::Text(f.iter().map(|x| Some(x.subject.clone())).collect()));
        t.push("group", Column::Text(f.iter().map(|x| Some(x.group.clone())).collect()));
        for (name, get) in [
            ("rostered", (|x: &FlowRow| x.rostered) as fn(&FlowRow) -> u64),
            ("roster_rejected", |x| x.roster_rejected),
            ("with_pre", |x| x.with_pre),
            ("met_dosage", |x| x.met_dosage),
            ("with_post", |x| x.with_post),
            ("analysed", |x| x.analysed),
        ] {
            t.push(name, Column::Int(f.iter().map(|x| Some(get(x) as i64)).collect()));
        }
        t.push("attrition", Column::Float(f.iter().map(|x| x.attrition).collect()));
        t.push("overall_attrition", Column::Float(f.iter().map(|x| x.overall_attrition).collect()));
        t.push("differential_attrition", Column::Float(f.iter().map(|x| x.differential_attrition).collect()));
        t.push("wwc_attrition", Column::Text(f.iter().map(|x| x.wwc_attrition.clone()).collect()));
        if self.has_assignments() {
            t.push("from_assignments", Column::Int(f.iter().map(|x| Some(x.from_assignments as i64)).collect()));
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::date::{Date, parse_date};
    use crate::data::load::{RawTable, parse_csv};
    use crate::data::schema::Break;
    use crate::data::validate::{RawInputs, ValidateOptions, validate};

    fn raw(file: &str, text: &str) -> RawTable {
        let (headers, rows, blank_lines) = parse_csv(text.as_bytes(), file).unwrap();
        RawTable { file: file.into(), path: file.into(), sha256: String::new(), headers, rows, blank_lines }
    }

    fn d(s: &str) -> Date {
        Date(parse_date(s).unwrap())
    }

    fn opts() -> PrepareOptions {
        PrepareOptions {
            subjects: vec!["math".into()],
            providers: None,
            grades: Some(vec![3, 4, 5]),
            tests: Tests {
                pre: WindowSpec { window: Some("fall".into()), ..Default::default() },
                post: WindowSpec {
                    window: Some("spring".into()),
                    from: Some(d("2026-04-01")),
                    to: Some(d("2026-06-15")),
                    ..Default::default()
                },
                retest: RetestRule::MinSemThenLatest,
                require_valid: true,
                breaks: vec![Break { from: d("2025-12-22"), to: d("2026-01-02") }],
            },
            eligibility: Eligibility { enrolled_by: Some(d("2025-10-31")), min_sessions: 2, min_minutes: 0.0 },
            boundary: Boundary::Cautious,
        }
    }

    const ROSTER: &str = "student_id,school_id,grade,provider_id,enroll_date\n\
        01,S1,4,P1,2025-10-01\n02,S1,4,P1,2025-11-20\n03,S1,4,,\n04,S1,8,P1,2025-10-01\n05,S1,3,P1,\n";
    const SESSIONS: &str = "student_id,session_date,minutes,status\n\
        01,2025-10-06,30,attended\n01,2025-10-08,30,attended\n01,2025-10-13,30,absent\n01,2025-10-20,45,attended\n\
        02,2025-11-24,30,attended\n02,2025-11-25,30,attended\n04,2025-10-06,30,attended\n05,2025-10-06,30,attended\n";
    const TESTS: &str = "student_id,subject,test_date,window,scale_score,sem,valid\n\
        01,math,2025-09-10,fall,200,3.5,true\n01,math,2025-09-20,fall,204,3.0,true\n01,math,2026-05-12,spring,212,3.2,true\n\
        01,reading,2025-09-10,fall,190,3.0,true\n02,math,2025-09-10,fall,195,3.0,true\n02,math,2026-05-12,spring,205,3.0,true\n\
        03,math,2025-09-12,fall,220,3.0,true\n03,math,2026-03-01,spring,230,3.0,true\n03,math,2026-05-01,spring,228,3.0,false\n\
        04,math,2025-09-12,fall,220,3.0,true\n05,math,2025-09-12,fall,201,,true\n05,math,2025-09-13,fall,199,,true\n";

    fn run() -> AnalyticFile {
        let inputs = RawInputs {
            roster: raw("roster.csv", ROSTER),
            sessions: raw("sessions.csv", SESSIONS),
            assessments: raw("assessments.csv", TESTS),
            assignments: None,
        };
        let v = validate(&inputs, &ValidateOptions::default()).unwrap();
        prepare(v, &opts()).unwrap()
    }

    #[test]
    fn retest_rule_windows_and_growth() {
        let a = run();
        let s1 = a.rows.iter().find(|r| r.student_id == "01").unwrap();
        let pre = s1.pre.as_ref().unwrap();
        assert_eq!((pre.score, pre.row), (204.0, 3), "smaller SEM wins");
        assert_eq!(s1.growth, Some(8.0));
        assert!((s1.growth_se.unwrap() - (9.0f64 + 10.24).sqrt()).abs() < 1e-12);
        // 2025-09-20 -> 2026-05-12 is 234 days, 12 of them in the winter break.
        assert!((s1.weeks_between.unwrap() - 222.0 / 7.0).abs() < 1e-12);
        // Student 05: no SEMs, so the latest fall test is chosen.
        let s5 = a.rows.iter().find(|r| r.student_id == "05").unwrap();
        assert_eq!(s5.pre.as_ref().unwrap().score, 199.0);
    }

    #[test]
    fn dosage_and_eligibility_flags() {
        let a = run();
        let get = |id: &str| a.rows.iter().find(|r| r.student_id == id).unwrap();
        let s1 = get("01");
        assert_eq!((s1.dosage.sessions_scheduled, s1.dosage.sessions_attended, s1.dosage.sessions_absent), (4, 3, 1));
        assert_eq!(s1.dosage.minutes_attended, 105.0);
        assert_eq!(s1.dosage.weeks_active, 2, "Oct 6 and 8 share a week; Oct 20 is another");
        // 3 attended sessions over 2025-10-06..2025-10-20 (15 days = 15/7 weeks).
        assert!((s1.dosage.sessions_per_week.unwrap() - 3.0 / (15.0 / 7.0)).abs() < 1e-12);
        assert!(s1.analysed && s1.exclusion_reason.is_none());
        let s2 = get("02");
        assert_eq!(s2.enrolled_in_time, Some(false));
        assert!(!s2.analysed);
        assert!(s2.exclusion_reason.as_ref().unwrap().contains("2025-11-20"));
        let s3 = get("03");
        assert!(s3.comparison && s3.eligible && s3.met_dosage.is_none());
        assert!(!s3.has_post(), "March test is outside the post dates; May test is invalid");
        let s5 = get("05");
        assert_eq!(s5.met_dosage, Some(false));
        assert!(s5.exclusion_reason.as_ref().unwrap().contains("attended 1 sessions"));
        assert!(a.rows.iter().all(|r| r.student_id != "04"), "grade 8 is out of scope");
    }

    #[test]
    fn every_row_is_used_or_excepted_with_a_reason() {
        let a = run();
        let acc = a.accounting().unwrap();
        for x in &acc {
            assert_eq!(x.rows_read, x.rows_used + x.rows_excepted, "{}", x.file);
        }
        let by_file = |f: &str| acc.iter().find(|x| x.file == f).unwrap().clone();
        assert_eq!((by_file("roster.csv").rows_used, by_file("roster.csv").rows_excepted), (4, 1));
        assert_eq!((by_file("sessions.csv").rows_used, by_file("sessions.csv").rows_excepted), (7, 1));
        // used tests: 01 pre+post, 02 pre+post, 03 pre, 05 pre = 6 of 12
        assert_eq!((by_file("assessments.csv").rows_used, by_file("assessments.csv").rows_excepted), (6, 6));
        let reasons: Vec<String> =
            a.ledgers[2].exceptions().iter().map(|e| format!("{}: {}", e.row, e.reason)).collect();
        let has = |row: u64, text: &str| reasons.iter().any(|r| r.starts_with(&format!("{row}: ")) && r.contains(text));
        assert!(has(2, "retest not chosen"), "{reasons:#?}");
        assert!(has(5, "subject is not in the contract"), "{reasons:#?}");
        assert!(has(9, "outside 2026-04-01..2026-06-15"), "{reasons:#?}");
        assert!(has(10, "flagged invalid"), "{reasons:#?}");
        assert!(has(11, "outside the contract's grades"), "{reasons:#?}");
        let code = |row: u64| a.ledgers[2].exceptions().iter().find(|e| e.row == row).unwrap().code;
        let codes = [2, 5, 9, 10, 11].map(code);
        use ReasonCode::*;
        assert_eq!(codes, [RetestNotChosen, OtherSubject, WindowNotPreOrPost, TestFlaggedInvalid, GradeNotInContract]);
        let roster = &a.ledgers[0].exceptions()[0];
        assert_eq!((roster.column.as_str(), roster.code), ("grade", GradeNotInContract));
        assert!(a.ledgers.iter().flat_map(|l| l.exceptions()).all(|e| e.kind == e.code.kind()));
    }

    #[test]
    fn flow_counts_are_sequential_and_attrition_uses_the_comparison_group() {
        let a = run();
        let p1 = a.flow.iter().find(|f| f.group == "P1").unwrap();
        assert_eq!((p1.rostered, p1.with_pre, p1.met_dosage, p1.with_post, p1.analysed), (3, 3, 1, 1, 1));
        let c = a.flow.iter().find(|f| f.group == "comparison").unwrap();
        assert_eq!((c.rostered, c.analysed), (1, 0));
        // P1 attrition 2/3, comparison 1, overall 1 - 1/4.
        assert!((p1.overall_attrition.unwrap() - 0.75).abs() < 1e-12);
        assert!((p1.differential_attrition.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(p1.wwc_attrition.as_deref(), Some("high"));
        for f in &a.flow {
            assert!(
                f.rostered >= f.with_pre
                    && f.with_pre >= f.met_dosage
                    && f.met_dosage >= f.with_post
                    && f.with_post >= f.analysed
            );
        }
    }

    fn run_with(roster: &str, tests: &str, o: &PrepareOptions) -> AnalyticFile {
        let inputs = RawInputs {
            roster: raw("roster.csv", roster),
            sessions: raw("sessions.csv", SESSIONS),
            assessments: raw("assessments.csv", tests),
            assignments: None,
        };
        prepare(validate(&inputs, &ValidateOptions::default()).unwrap(), o).unwrap()
    }

    const RETESTS: &str = "student_id,subject,test_date,window,scale_score,sem,valid\n\
        01,math,2025-09-10,fall,200,3.5,true\n01,math,2025-09-20,fall,204,3.0,false\n01,math,2025-09-15,fall,198,,true\n\
        01,math,2026-05-12,spring,212,3.2,true\n";

    #[test]
    fn each_retest_rule_picks_its_test() {
        let pre_score = |rule: RetestRule, require_valid: bool| {
            let mut o = opts();
            o.tests.retest = rule;
            o.tests.require_valid = require_valid;
            let a = run_with(ROSTER, RETESTS, &o);
            a.rows.iter().find(|r| r.student_id == "01").unwrap().pre.as_ref().unwrap().score
        };
        // Valid fall tests: 200 (Sep 10, SEM 3.5) and 198 (Sep 15, no SEM).
        assert_eq!(pre_score(RetestRule::MinSemThenLatest, true), 200.0, "a test with an SEM beats one without");
        assert_eq!(pre_score(RetestRule::Latest, true), 198.0);
        assert_eq!(pre_score(RetestRule::Earliest, true), 200.0);
        // With invalid tests allowed, the invalid one (SEM 3.0, latest) still loses to valid ones.
        assert_eq!(pre_score(RetestRule::MinSemThenLatest, false), 200.0);
        assert_eq!(pre_score(RetestRule::Latest, false), 198.0);
    }

    #[test]
    fn rejected_roster_rows_count_as_attrition_and_listed_providers_get_a_line() {
        // Student 06 (P1) has a bad grade, so its roster row is excepted.
        let roster = format!("{ROSTER}06,S1,x,P1,2025-10-01\n");
        let mut o = opts();
        o.providers = Some(vec!["P1".into(), "P2".into(), "P9".into()]);
        o.boundary = Boundary::Optimistic;
        let inputs = RawInputs {
            roster: raw("roster.csv", &roster),
            sessions: raw("sessions.csv", SESSIONS),
            assessments: raw("assessments.csv", TESTS),
            assignments: None,
        };
        let v = validate(&inputs, &ValidateOptions::default()).unwrap();
        assert_eq!(v.roster_rejects.get("06"), Some(&Some("P1".to_string())));
        let a = prepare(v, &o).unwrap();
        let p1 = a.flow.iter().find(|f| f.group == "P1").unwrap();
        assert_eq!((p1.rostered, p1.roster_rejected, p1.analysed), (3, 1, 1));
        assert!((p1.attrition.unwrap() - 0.75).abs() < 1e-12);
        // Overall 1 - (1 + 0) / (4 + 1) = 0.8: beyond the optimistic table (max 65%) -> high.
        assert!((p1.overall_attrition.unwrap() - 0.8).abs() < 1e-12);
        assert_eq!(p1.wwc_attrition.as_deref(), Some("high"));
        let p9 = a.flow.iter().find(|f| f.group == "P9").unwrap();
        assert_eq!((p9.rostered, p9.analysed, p9.attrition), (0, 0, None));
    }

    #[test]
    fn without_a_comparison_group_attrition_against_it_is_empty() {
        let roster = "student_id,school_id,grade,provider_id,enroll_date\n01,S1,4,P1,2025-10-01\n";
        let a = run_with(roster, TESTS, &opts());
        let p1 = a.flow.iter().find(|f| f.group == "P1").unwrap();
        assert_eq!((p1.rostered, p1.analysed), (1, 1));
        assert_eq!((p1.overall_attrition, p1.wwc_attrition.clone()), (None, None));
        assert_eq!(a.flow.iter().find(|f| f.group == "comparison").unwrap().rostered, 0);
    }

    #[test]
    fn a_window_that_matches_nothing_is_a_warning() {
        let mut o = opts();
        o.tests.post.window = Some("sprng".into());
        let a = run_with(ROSTER, TESTS, &o);
        assert!(a.warnings.iter().any(|w| w.message.contains("post window")), "{:?}", a.warnings);
        assert!(!a.warnings.iter().any(|w| w.message.contains("pre window")), "{:?}", a.warnings);
    }

    fn streamed(tests: &str, as_of: Option<NaiveDate>) -> AnalyticFile {
        use crate::data::load::Source;
        crate::data::prepare_sources(
            Source::from_table(raw("roster.csv", ROSTER)),
            Source::from_table(raw("sessions.csv", SESSIONS)),
            Source::from_table(raw("assessments.csv", tests)),
            &ValidateOptions::default(),
            &opts(),
            as_of,
        )
        .unwrap()
    }

    fn sorted_exceptions(a: &AnalyticFile) -> Vec<crate::data::Exception> {
        let mut e: Vec<_> = a.ledgers.iter().flat_map(|l| l.exceptions().iter().cloned()).collect();
        e.sort();
        e
    }

    #[test]
    fn streamed_inputs_give_the_same_file_as_held_ones() {
        let tests = format!("{TESTS}01,math,2025-09-10,fall,200,3.5,true\n");
        let a = run_with(ROSTER, &tests, &opts());
        let b = streamed(&tests, None);
        assert_eq!(a.rows, b.rows);
        assert_eq!(a.flow, b.flow);
        assert_eq!(a.warnings, b.warnings);
        assert_eq!(sorted_exceptions(&a), sorted_exceptions(&b));
        assert_eq!(a.accounting(), b.accounting());
    }

    #[test]
    fn rows_after_the_as_of_date_are_excluded() {
        let as_of = parse_date("2025-10-10").unwrap();
        let a = streamed(TESTS, Some(as_of));
        let acc = a.accounting().unwrap();
        for x in &acc {
            assert_eq!(x.rows_read, x.rows_used + x.rows_excepted, "{}", x.file);
        }
        let s1 = a.rows.iter().find(|r| r.student_id == "01").unwrap();
        assert_eq!(s1.dosage.sessions_scheduled, 2, "Oct 13 and Oct 20 are after the as-of date");
        assert!(s1.post.is_none());
        let late = |l: &Ledger, row: u64| l.exceptions().iter().find(|e| e.row == row).cloned().unwrap();
        let e = late(&a.ledgers[1], 4);
        assert_eq!((e.column.as_str(), e.value.as_str()), ("session_date", "2025-10-13"));
        assert_eq!(e.reason, "dated 2025-10-13, after the --as-of date 2025-10-10");
        assert_eq!(e.kind, crate::data::ExceptionKind::Excluded);
        assert_eq!(e.code, ReasonCode::AfterAsOf);
        let e = late(&a.ledgers[2], 4);
        assert_eq!(
            (e.column.as_str(), e.reason.as_str()),
            ("test_date", "dated 2026-05-12, after the --as-of date 2025-10-10")
        );
        assert_eq!(e.kind, crate::data::ExceptionKind::Excluded);
        let b = streamed(TESTS, Some(parse_date("2026-12-31").unwrap()));
        assert_eq!(b.rows, run().rows, "an as-of date after every row changes nothing");
    }

    /// The days of a break counted by the spans' arithmetic are those of a day-by-day count:
    /// breaks that overlap, touch, nest, come in any order, start before `from` or end after
    /// `to`, and windows that hold no break.
    #[test]
    fn break_days_counts_each_day_once() {
        use rand::{RngExt, SeedableRng};
        fn by_day(breaks: &[Break], from: NaiveDate, to: NaiveDate) -> i64 {
            let mut days = BTreeSet::new();
            for b in breaks {
                let mut d = b.from.0;
                while d <= b.to.0 {
                    if d > from && d <= to {
                        days.insert(d);
                    }
                    d = d.succ_opt().unwrap();
                }
            }
            days.len() as i64
        }
        let day0 = NaiveDate::from_ymd_opt(2025, 8, 1).unwrap();
        let day = |n: u64| day0 + chrono::Days::new(n);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut counted = 0;
        for _ in 0..20_000 {
            let breaks: Vec<Break> = (0..rng.random_range(0..5))
                .map(|_| {
                    let a = rng.random_range(0..300);
                    Break { from: Date(day(a)), to: Date(day(a + rng.random_range(0..20))) }
                })
                .collect();
            let from = day(rng.random_range(0..300));
            let to = from + chrono::Days::new(rng.random_range(0..200));
            let tests = Tests {
                pre: WindowSpec::default(),
                post: WindowSpec::default(),
                retest: RetestRule::Latest,
                require_valid: true,
                breaks: breaks.clone(),
            };
            let want = by_day(&breaks, from, to);
            assert_eq!(break_days(&tests, from, to), want, "{breaks:?} {from} {to}");
            counted += want;
        }
        assert!(counted > 10_000);
    }
}
