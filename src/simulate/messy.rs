//! Messy mode: the faults of real district exports.
//!
//! Each fault is applied to an exact number of rows,
//! `max(1, round(rate · candidates))` (0 if there are no candidates), chosen
//! uniformly without replacement, in this fixed order:
//!
//! 1. **Retests** (assessments): a second test of the same student in the
//!    same window 2–6 school days later, with a new SEM and a new score
//!    (both forced to differ from the first test).
//! 2. **Out-of-window dates** (assessments): the test date is moved outside
//!    its window ([`super::window_bounds`]): fall → July of the start year,
//!    winter → October of the start year, spring → July of the end year.
//! 3. **Unknown students** (assessments, then sessions): rows for student IDs
//!    that are neither on the roster nor in the history file.
//! 4. After sorting: **lost leading zeros** (sessions and assessments; only
//!    rows of roster students whose ID starts with `0`), **US dates**
//!    (`m/d/Y`, sessions and assessments), **text in numeric columns**
//!    (`minutes`: `N/A`, `"45 min"`, empty; `scale_score` and `sem`: `N/A`,
//!    empty), **unknown provider IDs** (sessions of roster students), and
//!    finally **exact duplicate rows** (roster and sessions; only rows that
//!    carry no other fault, written right after the original).
//!
//! Faults 4 are independent, so one row can carry several (e.g. a lost zero
//! and a US date); duplicates never carry another fault, and unknown-student
//! rows never lose zeros, get duplicated, or get an unknown provider. Every
//! count in [`MessyTruth`] is therefore the number of rows in the written
//! file that show the fault.

use std::collections::HashSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::calendar::{Calendar, add_days, ymd};
use super::generate::{Sess, Status, Test, Window, World, render_sessions, render_tests};
use super::model::{FALL_MEAN, GRADES, GROWTH, SCALE_SD, measure, student_test_date};
use super::rng::{IdPool, Rng};
use super::rows::{AssessmentRow, RosterRow, SessionRow};
use super::spec::SimSpec;

pub(super) const LOST_ZERO: u16 = 1;
pub(super) const US_DATE: u16 = 2;
pub(super) const TEXT_NA: u16 = 4;
pub(super) const TEXT_UNIT: u16 = 8;
pub(super) const TEXT_EMPTY: u16 = 16;
pub(super) const DUPLICATE: u16 = 32;
pub(super) const UNKNOWN_PROVIDER: u16 = 64;
pub(super) const SCORE_NA: u16 = 4;
pub(super) const SCORE_EMPTY: u16 = 8;
pub(super) const SEM_NA: u16 = 16;
pub(super) const SEM_EMPTY: u16 = 32;

/// Fault rates of messy mode (shares of the candidate rows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessyRates {
    /// Session/assessment rows of students whose ID starts with `0` that lose the zeros.
    pub lost_leading_zeros: f64,
    /// Roster rows written twice.
    pub roster_duplicates: f64,
    /// Session rows written twice.
    pub session_duplicates: f64,
    /// Tests that get a retest in the same window.
    pub retests: f64,
    /// Session rows with text in `minutes`.
    pub minutes_text: f64,
    /// Assessment rows with text in `scale_score`.
    pub scale_score_text: f64,
    /// Assessment rows with text in `sem`.
    pub sem_text: f64,
    /// Assessment rows dated outside their window.
    pub out_of_window_dates: f64,
    /// Session and assessment rows with `m/d/Y` dates.
    pub us_dates: f64,
    /// Extra session rows for unknown students (per session row).
    pub unknown_student_sessions: f64,
    /// Extra assessment rows for unknown students (per assessment row).
    pub unknown_student_assessments: f64,
    /// Session rows with an unknown provider ID.
    pub unknown_provider_sessions: f64,
    /// How counts are derived from rates.
    pub count_rule: String,
}

impl Default for MessyRates {
    fn default() -> Self {
        MessyRates {
            lost_leading_zeros: 0.02,
            roster_duplicates: 0.005,
            session_duplicates: 0.005,
            retests: 0.015,
            minutes_text: 0.005,
            scale_score_text: 0.003,
            sem_text: 0.003,
            out_of_window_dates: 0.005,
            us_dates: 0.01,
            unknown_student_sessions: 0.001,
            unknown_student_assessments: 0.003,
            unknown_provider_sessions: 0.0005,
            count_rule: "exact count max(1, round(rate * candidate rows)), rows drawn without replacement".to_string(),
        }
    }
}

/// Number of rows with each kind of text in a numeric column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextCounts {
    /// `N/A`.
    pub na: usize,
    /// A number with a unit, e.g. `45 min` (minutes only).
    pub with_unit: usize,
    /// Empty string.
    pub empty: usize,
}

impl TextCounts {
    /// All text values.
    pub fn total(&self) -> usize {
        self.na + self.with_unit + self.empty
    }
}

/// What messy mode did (`truth.json` → `messy`). Every count is the number
/// of rows in the written file showing that fault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessyTruth {
    /// The rates used.
    pub rates: MessyRates,
    /// Extra (duplicate) rows in roster.csv, each identical to the row before it.
    pub roster_duplicate_rows: usize,
    /// Extra (duplicate) rows in sessions.csv, each identical to the row before it.
    pub sessions_duplicate_rows: usize,
    /// Session rows whose student ID lost its leading zeros.
    pub sessions_lost_leading_zeros: usize,
    /// Assessment rows whose student ID lost its leading zeros.
    pub assessments_lost_leading_zeros: usize,
    /// Extra assessment rows that are a second test in the same window.
    pub retests: usize,
    /// Session rows with text in `minutes`.
    pub sessions_minutes_text: TextCounts,
    /// Assessment rows with text in `scale_score`.
    pub assessments_scale_score_text: TextCounts,
    /// Assessment rows with text in `sem`.
    pub assessments_sem_text: TextCounts,
    /// Assessment rows dated outside their window's bounds.
    pub assessments_out_of_window_dates: usize,
    /// Session rows with an `m/d/Y` date.
    pub sessions_us_dates: usize,
    /// Assessment rows with an `m/d/Y` date.
    pub assessments_us_dates: usize,
    /// Session rows for student IDs not on the roster.
    pub sessions_unknown_students: usize,
    /// Assessment rows for student IDs not on the roster.
    pub assessments_unknown_students: usize,
    /// Session rows whose provider ID is not a real provider.
    pub sessions_unknown_providers: usize,
    /// The fake provider IDs used.
    pub unknown_provider_ids: Vec<String>,
}

/// Per-row fault flags of sessions.
pub(super) struct SessFaults {
    pub(super) flags: Vec<u16>,
    /// (row index, fake provider ID), sorted by row index.
    providers: Vec<(usize, String)>,
}

impl SessFaults {
    pub(super) fn none(n: usize) -> Self {
        SessFaults { flags: vec![0; n], providers: Vec::new() }
    }
    pub(super) fn duplicates(&self) -> usize {
        self.flags.iter().filter(|f| **f & DUPLICATE != 0).count()
    }
    pub(super) fn provider_override(&self, i: usize) -> Option<&str> {
        if self.flags[i] & UNKNOWN_PROVIDER == 0 {
            return None;
        }
        self.providers.binary_search_by_key(&i, |p| p.0).ok().map(|pos| self.providers[pos].1.as_str())
    }
}

/// Per-row fault flags of assessments.
pub(super) struct TestFaults {
    pub(super) flags: Vec<u16>,
}

impl TestFaults {
    pub(super) fn none(n: usize) -> Self {
        TestFaults { flags: vec![0; n] }
    }
}

fn count(rate: f64, candidates: usize) -> usize {
    if candidates == 0 { 0 } else { ((rate * candidates as f64).round() as usize).clamp(1, candidates) }
}

/// Picks `count(rate, candidates.len())` of the candidate row indices.
fn pick(rng: &mut Rng, rate: f64, candidates: &[usize]) -> Vec<usize> {
    let k = count(rate, candidates.len());
    rng.sample_indices(candidates.len(), k).into_iter().map(|i| candidates[i]).collect()
}

fn out_of_window_date(rng: &mut Rng, w: Window, year: i32) -> NaiveDate {
    match w {
        Window::Fall => ymd(year, 7, rng.int(7, 31) as u32),
        Window::Winter => ymd(year, 10, rng.int(6, 31) as u32),
        Window::Spring => ymd(year + 1, 7, rng.int(6, 24) as u32),
    }
}

/// Sets `bit` on `count(rate, candidates)` of the candidate rows and returns how many.
fn mark(rng: &mut Rng, rate: f64, candidates: &[usize], flags: &mut [u16], bit: u16) -> usize {
    let picked = pick(rng, rate, candidates);
    for &i in &picked {
        flags[i] |= bit;
    }
    picked.len()
}

/// Puts text in a numeric column of `count(rate, candidates)` of the candidate rows: each
/// gets one of `bits` (`N/A`, empty, and for minutes a number with a unit), drawn per row
/// and counted in `counts`.
fn mark_text(rng: &mut Rng, rate: f64, candidates: &[usize], flags: &mut [u16], bits: &[u16], counts: &mut TextCounts) {
    for i in pick(rng, rate, candidates) {
        let variant = rng.index(bits.len());
        match variant {
            0 => counts.na += 1,
            1 => counts.empty += 1,
            _ => counts.with_unit += 1,
        }
        flags[i] |= bits[variant];
    }
}

type Output = (Vec<RosterRow>, Vec<SessionRow>, Vec<AssessmentRow>, MessyTruth);

/// Injects all faults, in the order of the module docs, and renders the three messy
/// tables.
pub(super) fn apply(
    rng: &mut Rng,
    spec: &SimSpec,
    world: &World,
    pool: &mut IdPool,
    roster: Vec<RosterRow>,
    mut sessions: Vec<Sess>,
    mut tests: Vec<Test>,
) -> Output {
    let mut truth = MessyTruth::default();
    let n_tests = tests.len();
    let all_tests: Vec<usize> = (0..n_tests).collect();
    add_retests(rng, &world.cal, &all_tests, &mut tests, &mut truth);
    move_out_of_window(rng, world.year, &all_tests, &mut tests, &mut truth);
    let mut unknown: HashSet<u32> = HashSet::new();
    truth.assessments_unknown_students = count(truth.rates.unknown_student_assessments, n_tests);
    for _ in 0..truth.assessments_unknown_students {
        tests.push(unknown_test(rng, world, pool, &mut unknown));
    }
    add_unknown_sessions(rng, world, pool, &mut unknown, &mut sessions, &mut truth);

    // sort into canonical order (stable)
    tests.sort_by_key(|t| (t.sid, t.date, t.window));
    sessions.sort_by_key(|s| (s.sid, s.date));

    let sf = session_faults(rng, spec.providers, &sessions, &unknown, &mut truth);
    let tf = test_faults(rng, &tests, &unknown, &mut truth);
    let roster = duplicate_roster(rng, roster, &mut truth);
    let session_rows = render_sessions(&sessions, &world.providers, &world.tutors, &sf);
    let assessment_rows = render_tests(&tests, &spec.subject, &spec.school_year, &tf);
    (roster, session_rows, assessment_rows, truth)
}

/// 1. A second test of the same student in the same window 2–6 school days later, with a
///    new SEM and score, both forced to differ from the first.
fn add_retests(rng: &mut Rng, cal: &Calendar, all_tests: &[usize], tests: &mut Vec<Test>, truth: &mut MessyTruth) {
    let chosen = pick(rng, truth.rates.retests, all_tests);
    truth.retests = chosen.len();
    for i in chosen {
        let t = tests[i].clone();
        let date = cal.add_school_days(t.date, rng.int(2, 6) as usize);
        let (mut score, mut sem, valid) = measure(rng, t.theta, t.expected);
        if (sem - t.sem).abs() < 0.05 {
            sem = if t.sem + 0.2 <= 3.6 { t.sem + 0.2 } else { t.sem - 0.2 };
            sem = (sem * 10.0).round() / 10.0;
        }
        if score == t.score {
            score += if rng.bern(0.5) { 1 } else { -1 };
        }
        tests.push(Test { date, score, sem, valid, ..t });
    }
}

/// 2. Original tests (not retests) dated outside their window.
fn move_out_of_window(rng: &mut Rng, year: i32, all_tests: &[usize], tests: &mut [Test], truth: &mut MessyTruth) {
    let chosen = pick(rng, truth.rates.out_of_window_dates, all_tests);
    truth.assessments_out_of_window_dates = chosen.len();
    for i in chosen {
        tests[i].date = out_of_window_date(rng, tests[i].window, year);
    }
}

/// 3. A test of a student who is neither on the roster nor in the history file: random
///    grade, window and school, status drawn around the grade's expected status.
fn unknown_test(rng: &mut Rng, world: &World, pool: &mut IdPool, unknown: &mut HashSet<u32>) -> Test {
    let id = pool.draw(rng);
    unknown.insert(id);
    let g = rng.index(GRADES.len());
    let w = [Window::Fall, Window::Winter, Window::Spring][rng.index(3)];
    let s = rng.index(world.schools.len());
    let anchor = world.schools[s].test_date(w);
    let date = student_test_date(rng, &world.cal, anchor);
    let expected = FALL_MEAN[g] + GROWTH[g] * (w as usize as f64) / 2.0;
    let theta = expected + SCALE_SD * rng.normal();
    Test::take(rng, id, date, w, g, theta, expected)
}

/// 3. Attended sessions, 1 October to 31 March, of students neither on the roster nor in
///    the history file, with a random tutor (none when there are no tutors).
fn add_unknown_sessions(
    rng: &mut Rng,
    world: &World,
    pool: &mut IdPool,
    unknown: &mut HashSet<u32>,
    sessions: &mut Vec<Sess>,
    truth: &mut MessyTruth,
) {
    let (cal, year) = (&world.cal, world.year);
    let k_sess = count(truth.rates.unknown_student_sessions, sessions.len());
    let (lo, hi) = (ymd(year, 10, 1), ymd(year + 1, 3, 31));
    let span = cal.school_days_between(lo, add_days(hi, 1)).max(1) as i64;
    for _ in 0..k_sess {
        if world.tutors.is_empty() {
            break;
        }
        let id = pool.draw(rng);
        unknown.insert(id);
        let j = rng.index(world.tutors.len());
        let k = world.tutors[j].provider;
        let prov = &world.providers[k];
        let date = cal.add_school_days(lo, rng.int(0, span - 1) as usize);
        let minutes = prov.draw_minutes(rng);
        sessions.push(Sess {
            sid: id,
            provider: k,
            tutor: j,
            date,
            minutes,
            status: Status::Attended,
            group: prov.max_group,
        });
    }
    truth.sessions_unknown_students = if world.tutors.is_empty() { 0 } else { k_sess };
}

/// 4a. Field faults of the sorted sessions: lost zeros, US dates, text in `minutes`,
///     unknown provider IDs, then duplicates of rows without another fault.
fn session_faults(
    rng: &mut Rng,
    k_providers: usize,
    sessions: &[Sess],
    unknown: &HashSet<u32>,
    truth: &mut MessyTruth,
) -> SessFaults {
    let rates = truth.rates.clone();
    let ns = sessions.len();
    let mut sf = SessFaults::none(ns);
    let known_s: Vec<usize> = (0..ns).filter(|&i| !unknown.contains(&sessions[i].sid)).collect();
    let zero_s: Vec<usize> = known_s.iter().copied().filter(|&i| sessions[i].sid < 100_000).collect();
    let all_s: Vec<usize> = (0..ns).collect();
    truth.sessions_lost_leading_zeros = mark(rng, rates.lost_leading_zeros, &zero_s, &mut sf.flags, LOST_ZERO);
    truth.sessions_us_dates = mark(rng, rates.us_dates, &all_s, &mut sf.flags, US_DATE);
    let bits = [TEXT_NA, TEXT_EMPTY, TEXT_UNIT];
    mark_text(rng, rates.minutes_text, &all_s, &mut sf.flags, &bits, &mut truth.sessions_minutes_text);
    let fake_ids = vec!["P0".to_string(), format!("P{}", k_providers + 1), format!("P{}", k_providers + 2)];
    let picked = pick(rng, rates.unknown_provider_sessions, &known_s);
    truth.sessions_unknown_providers = picked.len();
    for i in picked {
        sf.flags[i] |= UNKNOWN_PROVIDER;
        sf.providers.push((i, fake_ids[rng.index(fake_ids.len())].clone()));
    }
    truth.unknown_provider_ids = fake_ids;
    let clean_s: Vec<usize> = known_s.iter().copied().filter(|&i| sf.flags[i] == 0).collect();
    truth.sessions_duplicate_rows = mark(rng, rates.session_duplicates, &clean_s, &mut sf.flags, DUPLICATE);
    sf
}

/// 4b. Field faults of the sorted assessments: lost zeros, US dates, text in
///     `scale_score` and in `sem`.
fn test_faults(rng: &mut Rng, tests: &[Test], unknown: &HashSet<u32>, truth: &mut MessyTruth) -> TestFaults {
    let rates = truth.rates.clone();
    let nt = tests.len();
    let mut tf = TestFaults::none(nt);
    let zero_t: Vec<usize> = (0..nt).filter(|&i| tests[i].sid < 100_000 && !unknown.contains(&tests[i].sid)).collect();
    let all_t: Vec<usize> = (0..nt).collect();
    truth.assessments_lost_leading_zeros = mark(rng, rates.lost_leading_zeros, &zero_t, &mut tf.flags, LOST_ZERO);
    truth.assessments_us_dates = mark(rng, rates.us_dates, &all_t, &mut tf.flags, US_DATE);
    let (score_bits, sem_bits) = ([SCORE_NA, SCORE_EMPTY], [SEM_NA, SEM_EMPTY]);
    mark_text(rng, rates.scale_score_text, &all_t, &mut tf.flags, &score_bits, &mut truth.assessments_scale_score_text);
    mark_text(rng, rates.sem_text, &all_t, &mut tf.flags, &sem_bits, &mut truth.assessments_sem_text);
    tf
}

/// 4c. Roster rows written twice, the copy right after the original.
fn duplicate_roster(rng: &mut Rng, roster: Vec<RosterRow>, truth: &mut MessyTruth) -> Vec<RosterRow> {
    let all_r: Vec<usize> = (0..roster.len()).collect();
    let dup_r = pick(rng, truth.rates.roster_duplicates, &all_r);
    truth.roster_duplicate_rows = dup_r.len();
    let mut out = Vec::with_capacity(roster.len() + dup_r.len());
    let mut next = dup_r.iter().peekable();
    for (i, r) in roster.into_iter().enumerate() {
        if next.peek() == Some(&&i) {
            next.next();
            out.push(r.clone());
        }
        out.push(r);
    }
    out
}
