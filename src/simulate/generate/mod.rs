//! Drawing the district: [`generate`] and the typed state it draws before the rows are
//! rendered as text.
//!
//! The draws happen in one fixed order, one step per file: schools, providers and which
//! schools they serve ([`schools`]); student IDs, demographics, fall status, the fall test
//! and selection into tutoring ([`students`]); providers and tutors for the tutored
//! ([`assign`]); scheduled sessions ([`sessions`]); winter and spring tests ([`scores`]);
//! the prior-year cohort ([`history`]); then, in messy mode only, the faults
//! ([`super::messy`]). Changing that order changes every file a seed writes. Draws added
//! for simulation studies come from ChaCha8 streams of their own (the growth shifts ν_y of
//! `SimSpec::cohort_sd` and the history years before Y−1), so at their defaults no draw of
//! the fixed order changes.

mod assign;
mod history;
mod render;
mod schools;
mod scores;
mod sessions;
mod students;

use chrono::NaiveDate;

use super::calendar::Calendar;
use super::messy;
use super::model::{FALL_MEAN, GRADES, MINUTES_CLIP, MINUTES_NOISE_SD, REF_WEEKS, measure};
use super::rng::Rng;
use super::rows::{AssessmentRow, HistoryRow, RosterRow, SessionRow};
use super::spec::{self, SimError, SimSpec, school_year_label};

/// ChaCha8 stream (of the spec's seed) of the school-year growth shifts ν_y.
const COHORT_SHIFT_STREAM: u64 = 1;
use super::truth::{self, Truth};

use render::sid_str;
pub(super) use render::{render_sessions, render_tests};

/// The simulated district: the four tables and the truth behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct District {
    /// `roster.csv`, sorted by student ID.
    pub roster: Vec<RosterRow>,
    /// `sessions.csv`, sorted by student ID then date.
    pub sessions: Vec<SessionRow>,
    /// `assessments.csv`, sorted by student ID, subject, date.
    pub assessments: Vec<AssessmentRow>,
    /// `history.csv`, sorted by student ID, subject, date.
    pub history: Vec<HistoryRow>,
    /// What generated the data (`truth.json`).
    pub truth: Truth,
    /// Realised tutoring effect (points) of every tutored student at their spring test
    /// date, by student ID: the per-student truth behind `truth.json`'s provider means, for
    /// simulation studies (for example the coverage of value-added intervals). Not written
    /// to any file (a student-level truth file would make the sample district larger
    /// without serving its users).
    pub student_effects: Vec<(String, f64)>,
}

/// Simulates a district according to `spec` (see the module docs of [`crate::simulate`]
/// for the model).
///
/// Deterministic: the same spec gives identical output.
pub fn generate(spec: &SimSpec) -> Result<District, SimError> {
    let year = spec::check(spec)?;
    let mut rng = Rng::new(spec.seed);
    let cal = Calendar::new(year);
    let hcal = Calendar::new(year - 1);

    let mut schools = schools::draw_schools(&mut rng, spec, &cal, &hcal);
    let weights: Vec<f64> = schools.iter().map(|s| s.weight).collect();
    let providers = schools::draw_providers(&mut rng, spec.providers, spec.provider_effects.as_deref());
    schools::link_providers(&mut rng, &mut schools, spec.providers);

    let shifts = cohort_shifts(spec);
    let earlier_ids = spec::ids_needed(spec.students, spec.history_years) - spec::ids_needed(spec.students, 1);
    let (mut pool, ids, hist_ids) = students::draw_ids(&mut rng, spec.students, earlier_ids);
    let (mut students, mut tests) = students::draw_students(&mut rng, &cal, &schools, &weights, &ids, spec);
    if shifts[0] != 0.0 {
        students.iter_mut().for_each(|st| st.p.rate += shifts[0]);
    }
    let members = assign::assign_providers(&mut rng, &mut students, &schools, spec.providers);
    let tutors = assign::draw_tutors(&mut rng, &providers, &mut students, members, schools.len(), spec.tutor_sd);
    let sessions = sessions::draw_sessions(&mut rng, &cal, &providers, &mut students, spec.dosage_selection);
    let weeks_fall_to_spring =
        scores::draw_later_tests(&mut rng, &cal, &providers, &tutors, &mut students, &mut tests, spec.dosage_selection);
    let h_dates: Vec<(NaiveDate, NaiveDate)> = schools.iter().map(|s| (s.h_fall, s.h_spring)).collect();
    let (hist_students, hist_tests) = history::draw_history(
        &mut rng,
        &hcal,
        &schools,
        &weights,
        &h_dates,
        &hist_ids,
        history::Growth { shift: shifts[1], low_income: spec.low_income_growth },
    );
    let earlier = history::draw_earlier_years(spec, year, &schools, &weights, &mut pool, &shifts[2..]);
    // Sessions are drawn in (student, date) order already, and so are the history tests;
    // the current year's tests are not.
    tests.sort_by_key(|t| (t.sid, t.date, t.window));

    let world = World {
        year,
        cal,
        hcal,
        schools,
        providers,
        tutors,
        students,
        history: hist_students,
        earlier,
        cohort_shifts: shifts,
        weeks_fall_to_spring,
    };
    let roster = render::roster(&world);
    let (roster, session_rows, assessment_rows, messy_truth) = if spec.messy {
        let (r, s, a, m) = messy::apply(&mut rng, spec, &world, &mut pool, roster, sessions, tests);
        (r, s, a, Some(m))
    } else {
        let s = render_sessions(&sessions, &world.providers, &world.tutors, &messy::SessFaults::none(sessions.len()));
        let a = render_tests(&tests, &spec.subject, &spec.school_year, &messy::TestFaults::none(tests.len()));
        (roster, s, a, None)
    };
    let hist_year = school_year_label(year - 1);
    let mut history = history::history_rows(&world.schools, &world.history, &hist_tests, &spec.subject, &hist_year);
    for y in &world.earlier {
        history.extend(history::history_rows(&world.schools, &y.students, &y.tests, &spec.subject, &y.label));
    }
    if !world.earlier.is_empty() {
        // IDs never repeat across years, so (ID, date) keeps each student's rows together.
        history.sort_by(|a, b| (&a.student_id, &a.test_date).cmp(&(&b.student_id, &b.test_date)));
    }

    let rows = truth::RowCounts {
        roster: roster.len(),
        sessions: session_rows.len(),
        assessments: assessment_rows.len(),
        history: history.len(),
    };
    let truth = truth::build(spec, &world, rows, hist_year, messy_truth);
    let student_effects =
        world.students.iter().filter(|st| st.tutored).map(|st| (sid_str(st.id), st.effect_spring)).collect();
    Ok(District { roster, sessions: session_rows, assessments: assessment_rows, history, truth, student_effects })
}

/// The growth shifts ν_y ~ N(0, cohort_sd²) of the current year, Y−1, …, Y−h, in that
/// order, from their own stream (so more history years leave the earlier shifts as they
/// were); all exactly 0 when `cohort_sd` is 0.
fn cohort_shifts(spec: &SimSpec) -> Vec<f64> {
    let mut rng = Rng::stream(spec.seed, COHORT_SHIFT_STREAM);
    (0..=spec.history_years)
        .map(|_| {
            let z = rng.normal();
            if spec.cohort_sd == 0.0 { 0.0 } else { spec.cohort_sd * z }
        })
        .collect()
}

/// Everything drawn before rendering: the typed district the tables and the truth are
/// written from.
pub(super) struct World {
    /// First calendar year of the school year.
    pub(super) year: i32,
    /// The school calendar of the tutoring year.
    pub(super) cal: Calendar,
    /// The school calendar of the history year.
    pub(super) hcal: Calendar,
    pub(super) schools: Vec<SchoolSim>,
    pub(super) providers: Vec<ProviderSim>,
    pub(super) tutors: Vec<TutorSim>,
    /// Current-year students, in student-ID order.
    pub(super) students: Vec<StudentSim>,
    /// The prior-year cohort (year Y−1), in student-ID order.
    pub(super) history: Vec<HistStudent>,
    /// The history years before Y−1 (Y−2 first), when `SimSpec::history_years` > 1.
    pub(super) earlier: Vec<history::HistoryYear>,
    /// ν_y of the current year, Y−1, Y−2, … (points per 28 instructional weeks; all 0 at
    /// the default `cohort_sd`).
    pub(super) cohort_shifts: Vec<f64>,
    /// Instructional weeks from each current student's fall test to their spring date.
    pub(super) weeks_fall_to_spring: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Window {
    Fall,
    Winter,
    Spring,
}

impl Window {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Window::Fall => "fall",
            Window::Winter => "winter",
            Window::Spring => "spring",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    Attended,
    Absent,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Attended => "attended",
            Status::Absent => "absent",
            Status::Cancelled => "cancelled",
        }
    }
}

pub(super) struct SchoolSim {
    pub(super) id: String,
    /// u_s in points.
    pub(super) effect: f64,
    /// Relative size.
    weight: f64,
    pub(super) fall: NaiveDate,
    pub(super) winter: NaiveDate,
    pub(super) spring: NaiveDate,
    pub(super) h_fall: NaiveDate,
    pub(super) h_spring: NaiveDate,
    /// Providers serving the school (indices, sorted).
    pub(super) providers: Vec<usize>,
    /// Share of the tutored students that go to the first of two providers.
    first_share: f64,
}

impl SchoolSim {
    /// The school's test date of window `w` in the tutoring year.
    pub(super) fn test_date(&self, w: Window) -> NaiveDate {
        match w {
            Window::Fall => self.fall,
            Window::Winter => self.winter,
            Window::Spring => self.spring,
        }
    }
}

pub(super) struct ProviderSim {
    pub(super) id: String,
    /// d_k, full-dose effect in SD units.
    pub(super) effect_sd: f64,
    /// ρ_k, mean attendance propensity.
    pub(super) attend: f64,
    /// c_k, cancellation rate.
    pub(super) cancel: f64,
    /// L_k, nominal session length.
    pub(super) minutes: u32,
    /// G_k, largest group size.
    pub(super) max_group: u8,
}

impl ProviderSim {
    /// Minutes of an attended session: L_k plus noise, rounded and clipped.
    pub(super) fn draw_minutes(&self, rng: &mut Rng) -> u32 {
        (f64::from(self.minutes) + MINUTES_NOISE_SD * rng.normal()).round().clamp(MINUTES_CLIP.0, MINUTES_CLIP.1) as u32
    }
}

pub(super) struct TutorSim {
    pub(super) id: String,
    pub(super) provider: usize,
    pub(super) school: usize,
    /// τ_j in SD units.
    pub(super) effect_sd: f64,
}

/// Demographics and fall status, shared by both cohorts.
pub(super) struct Person {
    pub(super) school: usize,
    pub(super) grade_idx: usize,
    pub(super) low_income: bool,
    pub(super) race: &'static str,
    pub(super) el: bool,
    pub(super) disability: bool,
    pub(super) gender: &'static str,
    /// θᶠ, true status on the fall test date.
    pub(super) theta_fall: f64,
    /// r, growth per reference period without tutoring.
    pub(super) rate: f64,
}

impl Person {
    /// True status without tutoring after `weeks` instructional weeks from the fall test.
    fn status_at(&self, weeks: f64) -> f64 {
        self.theta_fall + self.rate * weeks / REF_WEEKS
    }
}

/// A current-year student: who they are, their test dates, and what tutoring gave them.
pub(super) struct StudentSim {
    pub(super) id: u32,
    pub(super) p: Person,
    fall_date: NaiveDate,
    winter_date: NaiveDate,
    spring_date: NaiveDate,
    pub(super) exit: Option<NaiveDate>,
    pub(super) fall_score: i32,
    pub(super) tutored: bool,
    pub(super) provider: Option<usize>,
    pub(super) tutor: Option<usize>,
    pub(super) enroll: NaiveDate,
    // tutoring outcomes
    pub(super) scheduled: u32,
    pub(super) attended: u32,
    absent: u32,
    minutes_winter: u32,
    pub(super) minutes_spring: u32,
    pub(super) effect_spring: f64,
    pub(super) dose_spring: f64,
    pub(super) has_spring: bool,
    pub(super) has_valid_spring: bool,
}

/// A student of the prior-year cohort.
pub(super) struct HistStudent {
    pub(super) id: u32,
    pub(super) p: Person,
}

/// One test, before rendering.
#[derive(Debug, Clone)]
pub(super) struct Test {
    pub(super) sid: u32,
    pub(super) date: NaiveDate,
    pub(super) window: Window,
    pub(super) grade: u8,
    pub(super) theta: f64,
    pub(super) expected: f64,
    pub(super) score: i32,
    pub(super) sem: f64,
    pub(super) valid: bool,
}

impl Test {
    /// A test of student `sid` (grade index `g`) at `date` with true status `theta`: draws
    /// its SEM, score and validity ([`measure`]).
    pub(super) fn take(
        rng: &mut Rng,
        sid: u32,
        date: NaiveDate,
        window: Window,
        g: usize,
        theta: f64,
        expected: f64,
    ) -> Test {
        let (score, sem, valid) = measure(rng, theta, expected);
        Test { sid, date, window, grade: GRADES[g], theta, expected, score, sem, valid }
    }

    /// The fall test of a person tested at `date`.
    fn fall(rng: &mut Rng, sid: u32, date: NaiveDate, p: &Person) -> Test {
        Test::take(rng, sid, date, Window::Fall, p.grade_idx, p.theta_fall, FALL_MEAN[p.grade_idx])
    }
}

/// One scheduled session, before rendering.
#[derive(Debug, Clone)]
pub(super) struct Sess {
    pub(super) sid: u32,
    pub(super) provider: usize,
    pub(super) tutor: usize,
    pub(super) date: NaiveDate,
    pub(super) minutes: u32,
    pub(super) status: Status,
    pub(super) group: u8,
}

/// The students a provider tutors at a school, by `provider * n_schools + school`, in
/// student-ID order (indices into the student list).
type Members = Vec<Vec<usize>>;
