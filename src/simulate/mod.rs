//! # Synthetic school district with known truth
//!
//! [`generate`] builds a fake district (roster, tutoring sessions, test
//! scores, a prior-year history cohort) from a [`SimSpec`], and [`write()`]
//! exports it as the CSV files a district would send plus `truth.json`, the
//! parameters and realised effects the data were generated from. Everything
//! comes from one ChaCha8 generator seeded with `SimSpec::seed`, drawn in a
//! fixed order, so the same spec always gives byte-identical files.
//!
//! ## Data-generating model
//!
//! Notation: student *i* in school *s*, grade *g* ∈ {3,…,8}, tutored by
//! provider *k* and tutor *j*; σ = 15 is the within-grade SD of the scale
//! ("RIT-like", like NWEA MAP).
//!
//! **Structure.** `S = max(4, ⌊N/250⌋, ⌈K/2⌉)` schools (the third term only
//! matters when there are many providers: each school has at most 2). School
//! sizes ∝ U(0.7, 1.3); grades are uniform over 3–8.
//!
//! **Fall status** (true score on the student's fall test date):
//!
//! ```text
//! θᶠᵢ = μ_g + u_s + a_i,   u_s ~ N(0, 5²),   a_i ~ N(0, 15² − 5²)
//! μ_g = 200 + 6 (g − 3)                       (200, 206, …, 230)
//! ```
//!
//! **Growth without tutoring.** Each student has a growth rate per 28
//! instructional weeks, and growth is proportional to the instructional weeks
//! `W(a, b)` = (school days in [a, b)) / 5 between the fall test and date t:
//!
//! ```text
//! r_i   = γ_g + λ (θᶠᵢ − μ_g)/σ + η_i,   η_i ~ N(0, 5²),  λ = −1
//! γ_g   = 10 − 1.2 (g − 3)                  (10.0, 8.8, 7.6, 6.4, 5.2, 4.0)
//! θᵢ(t) = θᶠᵢ + r_i · W(tᶠᵢ, t) / 28 + δᵢ(t)
//! ```
//!
//! **Tutoring effect.** Provider *k* has a full-dose effect `d_k` (in SD
//! units); the grid `0.30 · r/(K−1)`, r = 0…K−1 (0.15 when K = 1), is
//! assigned to provider IDs by a random permutation, so the ID does not
//! reveal the rank. Tutor *j* adds `τ_j ~ N(0, 0.05²)`. With `Mᵢ(t)` the
//! minutes attended in sessions dated before t,
//!
//! ```text
//! δᵢ(t) = σ (d_k + τ_j) f(Mᵢ(t)),
//! f(m)  = (1 − exp(−κ min(m, M*)/M*)) / (1 − exp(−κ)),   κ = 2, M* = 2200
//! ```
//!
//! f is concave, f(0) = 0, f(M*) = 1, and flat beyond the planned full dose
//! M* = 55 sessions × 40 minutes (the typical programme: 3 sessions/week for
//! 22 weeks, less ~11 sessions lost to holidays). δ is 0 for comparison
//! students. The "realised effect" reported for a student in `truth.json` is
//! δᵢ at the student's spring test date (whether or not the test was taken).
//!
//! **Measurement.** A test at date t gives
//!
//! ```text
//! z    = (θᵢ(t) − m_g(t))/σ,   m_g(t) = μ_g + γ_g W(tᶠ, t)/28
//! SEM  = round₀.₁( clip(2.7 + 0.25 z² + 0.1 ν, 2.6, 3.6) ),   ν ~ N(0,1)
//! y    = round( θᵢ(t) + SEM · ε ),   ε ~ N(0,1)
//! ```
//!
//! With probability 0.02 a test is flagged `valid=false` (rapid guessing): its
//! score is additionally lowered by U(3, 20). Scores are clipped to 100–350.
//!
//! **Demographics** (flags written `Y`/`N`):
//! `P(low_income) = logistic(logit(0.45) − 0.5 (θᶠ − μ_g)/σ)` (weakly
//! related to status); race/ethnicity White .40, Hispanic .28, Black .17,
//! Asian .07, Multiracial .06, Other .02; English learner .12; disability
//! .13; gender F .49, M .49, X .02 (these four independent of everything).
//!
//! **Selection into tutoring** on the *observed* fall score:
//!
//! ```text
//! P(Tᵢ = 1) = logistic(−0.75 − 1.2 zᶠᵢ + 0.4 LIᵢ),   zᶠᵢ = (yᶠᵢ − μ_g)/σ
//! ```
//!
//! giving ≈ 40 % tutored. Each school is served by 1–2 providers (every
//! provider serves at least one school); a tutored student gets one of the
//! school's providers (split U(0.35, 0.65) when there are two) and a tutor of
//! that provider at that school; each provider–school pair has
//! `max(1, round(n / U(8, 12)))` tutors, filled round-robin after a shuffle.
//!
//! **Calendar and test dates.** School starts on the first Wednesday on or
//! after 11 August and ends on the first Friday on or after 29 May, with the
//! usual US holidays and breaks (see `calendar`). Each school has its own
//! test dates: fall = next school day of 2 Sep + U{0..21} days, winter = 12
//! Jan + U{0..14}, spring = 27 Apr + U{0..18}; each student tests 0–4 school
//! days after the school's date.
//!
//! **Sessions.** Enrolment = next school day of (fall test + U{5..15} days).
//! The planned programme is U{20..24} weeks from enrolment, on 3 fixed
//! weekdays per student (random 3 of Mon–Fri), school days only. Provider *k*
//! has a mean attendance ρ_k ~ U(0.78, 0.92), cancellation rate
//! c_k ~ U(0.03, 0.08), session length L_k ∈ {35, 40, 45} and a maximum
//! group size G_k ∈ {1,…,4}. Each scheduled session is `cancelled` with
//! probability c_k, otherwise `attended` with probability
//! `logistic(logit ρ_k + 1.0 ζᵢ − 0.3 LIᵢ − 0.4 p)`, (ζᵢ ~ N(0,1), p the
//! fraction of the programme elapsed), else `absent`. Attended minutes =
//! clip(round(L_k + 4 ε), 20, 60); `group_size` = G_k w.p. 0.7, else U{1..G_k}.
//!
//! **Attrition and missing tests.** 3 % of students leave the district on a
//! random school day between 15 Oct and 17 Apr (`exit_date`; no later tests
//! or sessions). Winter tests are missing w.p. 0.05. Spring tests are missing
//! w.p. 0.08 for comparison students and `0.05 + 0.20 (1 − aᵢ)` for tutored
//! students, aᵢ = attended / (attended + absent) (0 when no sessions).
//!
//! **History.** A prior-year cohort (year Y−1) of `round(N · U(0.95, 1.05))`
//! different students (IDs never collide with the current cohort), same
//! schools and school effects, same model with δ = 0, fall and spring tests
//! only (3 % exit, 8 % missing spring, 2 % invalid).
//!
//! **IDs.** Student IDs are distinct integers drawn uniformly from
//! 1..=P, P = clip(1.6 · (2.5 N + 1000), 399 999, 999 999) (so P = 399 999
//! up to N ≈ 100 000), written as 6-digit zero-padded strings, so about a
//! quarter start with `0`. Schools `S01`…,
//! providers `P1`…`PK`, tutors `P3-T07` (numbered within provider).
//!
//! ## Messy mode
//!
//! With `SimSpec::messy`, faults typical of real exports are injected at the
//! rates in [`MessyRates`] (exact counts `max(1, round(rate · candidates))`)
//! and recorded in `Truth::messy`. See [`MessyTruth`] for the list. The
//! history file is never made messy.

mod calendar;
mod messy;

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use crate::data::output::OutputDir;
use crate::error::OutputError;
use chrono::NaiveDate;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

pub use calendar::Holiday;
use calendar::{Calendar, add_days, weekday_index, ymd};
pub use messy::{MessyRates, MessyTruth, TextCounts};

// ---------------------------------------------------------------------------
// Public constants
// ---------------------------------------------------------------------------

/// Smallest allowed `SimSpec::students`.
pub const MIN_STUDENTS: usize = 50;
/// Largest allowed `SimSpec::students` (6-digit IDs must stay distinct).
pub const MAX_STUDENTS: usize = 250_000;
/// Largest allowed `SimSpec::providers`.
pub const MAX_PROVIDERS: usize = 26;

/// Header of `roster.csv`.
pub const ROSTER_HEADER: [&str; 12] = [
    "student_id",
    "school_id",
    "grade",
    "provider_id",
    "tutor_id",
    "enroll_date",
    "exit_date",
    "low_income",
    "race_ethnicity",
    "english_learner",
    "disability",
    "gender",
];
/// Header of `sessions.csv`.
pub const SESSIONS_HEADER: [&str; 7] =
    ["student_id", "provider_id", "tutor_id", "session_date", "minutes", "status", "group_size"];
/// Header of `assessments.csv`.
pub const ASSESSMENTS_HEADER: [&str; 9] =
    ["student_id", "subject", "test_date", "window", "school_year", "grade", "scale_score", "sem", "valid"];
/// Header of `history.csv`.
pub const HISTORY_HEADER: [&str; 15] = [
    "student_id",
    "school_id",
    "subject",
    "test_date",
    "window",
    "school_year",
    "grade",
    "scale_score",
    "sem",
    "valid",
    "low_income",
    "race_ethnicity",
    "english_learner",
    "disability",
    "gender",
];

/// File names written by [`write()`], in the order of the returned paths.
pub const FILE_NAMES: [&str; 5] = ["roster.csv", "sessions.csv", "assessments.csv", "history.csv", "truth.json"];

// Model parameters (documented in the module docs and copied to truth.json).
const SCALE_SD: f64 = 15.0;
const SCHOOL_SD: f64 = 5.0;
const GRADES: [u8; 6] = [3, 4, 5, 6, 7, 8];
const FALL_MEAN: [f64; 6] = [200.0, 206.0, 212.0, 218.0, 224.0, 230.0];
const GROWTH: [f64; 6] = [10.0, 8.8, 7.6, 6.4, 5.2, 4.0];
const REF_WEEKS: f64 = 28.0;
const GROWTH_STATUS_SLOPE: f64 = -1.0;
const GROWTH_NOISE_SD: f64 = 5.0;
const SEM_BASE: f64 = 2.7;
const SEM_CURV: f64 = 0.25;
const SEM_NOISE_SD: f64 = 0.1;
const SEM_MIN: f64 = 2.6;
const SEM_MAX: f64 = 3.6;
const INVALID_RATE: f64 = 0.02;
const INVALID_DROP: (f64, f64) = (3.0, 20.0);
const SCORE_RANGE: (f64, f64) = (100.0, 350.0);
const LOW_INCOME_RATE: f64 = 0.45;
const LOW_INCOME_SLOPE: f64 = -0.5;
const RACE: [(&str, f64); 6] =
    [("White", 0.40), ("Hispanic", 0.28), ("Black", 0.17), ("Asian", 0.07), ("Multiracial", 0.06), ("Other", 0.02)];
const EL_RATE: f64 = 0.12;
const DISABILITY_RATE: f64 = 0.13;
const GENDER: [(&str, f64); 3] = [("F", 0.49), ("M", 0.49), ("X", 0.02)];
const SEL_INTERCEPT: f64 = -0.75;
const SEL_FALL_Z: f64 = -1.2;
const SEL_LOW_INCOME: f64 = 0.4;
const MAX_PROVIDER_EFFECT_SD: f64 = 0.30;
const TUTOR_SD: f64 = 0.05;
const DOSE_KAPPA: f64 = 2.0;
const SESSIONS_PER_WEEK: usize = 3;
const PLAN_WEEKS: (i64, i64) = (20, 24);
const NOMINAL_MINUTES: f64 = 40.0;
/// Planned sessions of the typical programme: 3 per week for 22 weeks, less
/// the ~11 sessions that fall on holidays and breaks.
pub const FULL_DOSE_SESSIONS: f64 = 55.0;
/// Planned full dose M* in minutes: 55 sessions × 40 minutes.
pub const FULL_DOSE_MINUTES: f64 = FULL_DOSE_SESSIONS * NOMINAL_MINUTES;
const ATTEND_RANGE: (f64, f64) = (0.78, 0.92);
const ATTEND_STUDENT_SD: f64 = 1.0;
const ATTEND_LOW_INCOME: f64 = -0.3;
const ATTEND_DECLINE: f64 = 0.4;
const CANCEL_RANGE: (f64, f64) = (0.03, 0.08);
const SESSION_LENGTHS: [u32; 3] = [35, 40, 45];
const MINUTES_NOISE_SD: f64 = 4.0;
const MINUTES_CLIP: (f64, f64) = (20.0, 60.0);
const GROUP_FULL_PROB: f64 = 0.7;
const STUDENTS_PER_TUTOR: (f64, f64) = (8.0, 12.0);
const ENROLL_LAG_DAYS: (i64, i64) = (5, 15);
const EXIT_RATE: f64 = 0.03;
const MISS_WINTER: f64 = 0.05;
const MISS_SPRING_COMPARISON: f64 = 0.08;
const MISS_SPRING_TUTORED_BASE: f64 = 0.05;
const MISS_SPRING_TUTORED_LOW_ATT: f64 = 0.20;
const MAX_STUDENT_JITTER: i64 = 4;

// ---------------------------------------------------------------------------
// Spec, errors, rows
// ---------------------------------------------------------------------------

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSpec {
    /// Number of students in the current-year roster (`MIN_STUDENTS..=MAX_STUDENTS`).
    pub students: usize,
    /// Number of tutoring providers `K` (1..=26).
    pub providers: usize,
    /// Seed of the single ChaCha8 random number generator.
    pub seed: u64,
    /// Inject the faults of real exports (see [`MessyTruth`]).
    pub messy: bool,
    /// School year of the tutoring programme, `"YYYY-YY"` (default `"2025-26"`).
    pub school_year: String,
    /// Subject written in the assessment files (default `"math"`).
    pub subject: String,
}

impl Default for SimSpec {
    fn default() -> Self {
        SimSpec {
            students: 5000,
            providers: 6,
            seed: 20251,
            messy: false,
            school_year: "2025-26".to_string(),
            subject: "math".to_string(),
        }
    }
}

/// Why a [`SimSpec`] cannot be simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Fewer than [`MIN_STUDENTS`] students.
    #[error("too few students: {got} (minimum {min})")]
    TooFewStudents {
        /// Requested number.
        got: usize,
        /// Minimum allowed.
        min: usize,
    },
    /// More than [`MAX_STUDENTS`] students.
    #[error("too many students: {got} (maximum {max})")]
    TooManyStudents {
        /// Requested number.
        got: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// Provider count outside 1..=26.
    #[error("number of providers must be between 1 and {max}, got {got}")]
    ProviderCount {
        /// Requested number.
        got: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// `school_year` not of the form `YYYY-YY` with consecutive years.
    #[error("school_year must look like \"2025-26\" (consecutive years), got {0:?}")]
    BadSchoolYear(String),
    /// Empty subject.
    #[error("subject must not be empty")]
    EmptySubject,
}

/// One row of `roster.csv` (one per current-year student; duplicated rows
/// only in messy mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterRow {
    /// 6-digit zero-padded student ID.
    pub student_id: String,
    /// School, `S01`….
    pub school_id: String,
    /// Grade 3–8.
    pub grade: String,
    /// Provider (`P1`…), empty for comparison students.
    pub provider_id: String,
    /// Tutor (`P1-T03`), empty for comparison students.
    pub tutor_id: String,
    /// Tutoring enrolment date for tutored students, first day of school otherwise.
    pub enroll_date: String,
    /// Date the student left the district, mostly empty.
    pub exit_date: String,
    /// `Y`/`N`.
    pub low_income: String,
    /// Race/ethnicity category.
    pub race_ethnicity: String,
    /// `Y`/`N`.
    pub english_learner: String,
    /// `Y`/`N`.
    pub disability: String,
    /// `F`, `M` or `X`.
    pub gender: String,
}

/// One row of `sessions.csv` (one per scheduled session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Student ID.
    pub student_id: String,
    /// Provider ID.
    pub provider_id: String,
    /// Tutor ID.
    pub tutor_id: String,
    /// Date of the session.
    pub session_date: String,
    /// Minutes attended (0 when absent or cancelled).
    pub minutes: String,
    /// `attended`, `absent` or `cancelled`.
    pub status: String,
    /// Number of students in the group (1–4).
    pub group_size: String,
}

/// One row of `assessments.csv` (current school year).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentRow {
    /// Student ID.
    pub student_id: String,
    /// Subject (from the spec).
    pub subject: String,
    /// Test date.
    pub test_date: String,
    /// `fall`, `winter` or `spring`.
    pub window: String,
    /// School year, e.g. `2025-26`.
    pub school_year: String,
    /// Grade 3–8.
    pub grade: String,
    /// Integer scale score.
    pub scale_score: String,
    /// Standard error of measurement, one decimal.
    pub sem: String,
    /// `true`/`false`.
    pub valid: String,
}

/// One row of `history.csv` (prior school year, no tutoring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Student ID (never an ID of the current roster).
    pub student_id: String,
    /// School ID.
    pub school_id: String,
    /// Subject.
    pub subject: String,
    /// Test date.
    pub test_date: String,
    /// `fall` or `spring`.
    pub window: String,
    /// Prior school year, e.g. `2024-25`.
    pub school_year: String,
    /// Grade 3–8.
    pub grade: String,
    /// Integer scale score.
    pub scale_score: String,
    /// SEM, one decimal.
    pub sem: String,
    /// `true`/`false`.
    pub valid: String,
    /// `Y`/`N`.
    pub low_income: String,
    /// Race/ethnicity.
    pub race_ethnicity: String,
    /// `Y`/`N`.
    pub english_learner: String,
    /// `Y`/`N`.
    pub disability: String,
    /// `F`/`M`/`X`.
    pub gender: String,
}

impl RosterRow {
    fn fields(&self) -> [&str; 12] {
        [
            &self.student_id,
            &self.school_id,
            &self.grade,
            &self.provider_id,
            &self.tutor_id,
            &self.enroll_date,
            &self.exit_date,
            &self.low_income,
            &self.race_ethnicity,
            &self.english_learner,
            &self.disability,
            &self.gender,
        ]
    }
}

impl SessionRow {
    fn fields(&self) -> [&str; 7] {
        [
            &self.student_id,
            &self.provider_id,
            &self.tutor_id,
            &self.session_date,
            &self.minutes,
            &self.status,
            &self.group_size,
        ]
    }
}

impl AssessmentRow {
    fn fields(&self) -> [&str; 9] {
        [
            &self.student_id,
            &self.subject,
            &self.test_date,
            &self.window,
            &self.school_year,
            &self.grade,
            &self.scale_score,
            &self.sem,
            &self.valid,
        ]
    }
}

impl HistoryRow {
    fn fields(&self) -> [&str; 15] {
        [
            &self.student_id,
            &self.school_id,
            &self.subject,
            &self.test_date,
            &self.window,
            &self.school_year,
            &self.grade,
            &self.scale_score,
            &self.sem,
            &self.valid,
            &self.low_income,
            &self.race_ethnicity,
            &self.english_learner,
            &self.disability,
            &self.gender,
        ]
    }
}

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

// ---------------------------------------------------------------------------
// Truth
// ---------------------------------------------------------------------------

/// Everything known about how the data were made (`truth.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Name and version of the generator.
    pub generator: String,
    /// The spec that produced the data.
    pub spec: SimSpec,
    /// The prior school year of `history.csv`.
    pub history_school_year: String,
    /// Model parameters.
    pub model: ModelParams,
    /// Headline counts.
    pub summary: Summary,
    /// Per school.
    pub schools: Vec<SchoolTruth>,
    /// Per provider (sorted by ID number).
    pub providers: Vec<ProviderTruth>,
    /// Per tutor (sorted by provider, then tutor number).
    pub tutors: Vec<TutorTruth>,
    /// Faults injected in messy mode (`null` in clean mode).
    pub messy: Option<MessyTruth>,
}

/// Parameters of the data-generating model (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Description of the scale.
    pub scale: String,
    /// Within-grade SD σ of true status; effects in SD units are × σ in points.
    pub scale_sd: f64,
    /// SD of school effects u_s (points).
    pub school_effect_sd: f64,
    /// SD of student effects a_i (points), sqrt(σ² − school SD²).
    pub student_effect_sd: f64,
    /// Fall means and growth by grade.
    pub grades: Vec<GradeParams>,
    /// Instructional weeks the grade growth γ_g refers to (28).
    pub growth_reference_weeks: f64,
    /// λ: change in growth (points per reference period) per SD of fall status.
    pub growth_status_slope: f64,
    /// SD of student growth-rate noise η (points per reference period).
    pub growth_noise_sd: f64,
    /// Growth formula.
    pub growth_formula: String,
    /// Measurement model.
    pub measurement: MeasurementParams,
    /// Demographics.
    pub demographics: DemographicParams,
    /// Selection into tutoring.
    pub selection: SelectionParams,
    /// Provider and tutor effects.
    pub effects: EffectParams,
    /// Dose-response function.
    pub dose_response: DoseResponseParams,
    /// Session scheduling and attendance.
    pub sessions: SessionParams,
    /// Attrition and missing tests.
    pub missingness: MissingnessParams,
    /// Calendar and testing windows.
    pub calendar: CalendarParams,
}

/// Per-grade parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeParams {
    /// Grade.
    pub grade: u8,
    /// μ_g, mean true fall status.
    pub fall_mean: f64,
    /// γ_g, mean growth per 28 instructional weeks without tutoring.
    pub growth_per_reference_weeks: f64,
}

/// Measurement model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementParams {
    /// SEM formula.
    pub sem_formula: String,
    /// Intercept of the SEM curve.
    pub sem_base: f64,
    /// Curvature in z².
    pub sem_curvature: f64,
    /// SD of SEM noise.
    pub sem_noise_sd: f64,
    /// Lower clip.
    pub sem_min: f64,
    /// Upper clip.
    pub sem_max: f64,
    /// Observed score formula.
    pub score_formula: String,
    /// Probability a test is flagged invalid.
    pub invalid_rate: f64,
    /// Invalid tests lose U(min, max) extra points.
    pub invalid_score_drop: (f64, f64),
    /// Scores are clipped to this range.
    pub score_range: (f64, f64),
}

/// A category and its population share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Value written in the CSV.
    pub value: String,
    /// Probability.
    pub share: f64,
}

/// Demographic model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemographicParams {
    /// How yes/no flags are written.
    pub flag_format: String,
    /// Marginal base rate of low income at average status.
    pub low_income_rate: f64,
    /// Logit slope of low income on (θᶠ − μ_g)/σ.
    pub low_income_status_slope: f64,
    /// Race/ethnicity shares.
    pub race_ethnicity: Vec<Category>,
    /// English learner rate.
    pub english_learner_rate: f64,
    /// Disability rate.
    pub disability_rate: f64,
    /// Gender shares.
    pub gender: Vec<Category>,
}

/// Selection into tutoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionParams {
    /// Formula.
    pub formula: String,
    /// Intercept.
    pub intercept: f64,
    /// Coefficient on the observed fall z-score.
    pub fall_z_coef: f64,
    /// Coefficient on low income.
    pub low_income_coef: f64,
}

/// Provider and tutor effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectParams {
    /// How the provider full-dose effects are set.
    pub provider_formula: String,
    /// Largest provider effect (SD units).
    pub max_provider_effect_sd: f64,
    /// SD of tutor effects (SD units).
    pub tutor_effect_sd: f64,
    /// Individual effect formula.
    pub individual_formula: String,
}

/// Dose-response function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoseResponseParams {
    /// f(m).
    pub formula: String,
    /// κ.
    pub kappa: f64,
    /// M*, planned full dose in minutes.
    pub full_dose_minutes: f64,
    /// Planned sessions per week.
    pub planned_sessions_per_week: usize,
    /// Planned programme length in weeks (inclusive range).
    pub planned_weeks: (i64, i64),
    /// Nominal session length used for M*.
    pub nominal_session_minutes: f64,
}

/// Session scheduling and attendance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionParams {
    /// Provider mean attendance ρ_k ~ U(min, max).
    pub provider_attendance: (f64, f64),
    /// SD of the student attendance logit.
    pub student_attendance_logit_sd: f64,
    /// Attendance logit shift for low-income students.
    pub low_income_attendance_logit: f64,
    /// Attendance logit decline over the programme (× elapsed fraction).
    pub attendance_decline_logit: f64,
    /// Provider cancellation rate c_k ~ U(min, max).
    pub provider_cancel_rate: (f64, f64),
    /// Possible provider session lengths L_k (minutes).
    pub provider_session_minutes: Vec<u32>,
    /// SD of attended minutes around L_k.
    pub minutes_noise_sd: f64,
    /// Attended minutes are clipped to this range.
    pub minutes_clip: (f64, f64),
    /// Max group size G_k is uniform on 1..=4; a session has G_k students w.p. this.
    pub group_full_prob: f64,
    /// Students per tutor ~ U(min, max) per provider–school pair.
    pub students_per_tutor: (f64, f64),
    /// Enrolment = fall test + U{min..max} days (next school day).
    pub enroll_lag_days: (i64, i64),
}

/// Attrition and missing tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingnessParams {
    /// Share of students who leave the district mid-year.
    pub district_exit_rate: f64,
    /// P(missing winter test).
    pub winter_missing: f64,
    /// P(missing spring test), comparison students and history cohort.
    pub spring_missing_comparison: f64,
    /// Base P(missing spring test), tutored students.
    pub spring_missing_tutored_base: f64,
    /// Additional P(missing spring) × (1 − attendance rate), tutored students.
    pub spring_missing_tutored_low_attendance: f64,
    /// Formula.
    pub formula: String,
}

/// Calendar and testing windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarParams {
    /// First day of school (current year).
    pub first_day: String,
    /// Last day of school (current year).
    pub last_day: String,
    /// Closures (current year).
    pub holidays: Vec<Holiday>,
    /// First day of school (history year).
    pub history_first_day: String,
    /// Last day of school (history year).
    pub history_last_day: String,
    /// How school test dates are drawn.
    pub school_test_dates: String,
    /// Students test 0..=this many school days after their school's date.
    pub max_student_jitter_school_days: i64,
    /// Bounds of the testing windows (current year); clean data never falls outside.
    pub window_bounds: Vec<WindowBounds>,
    /// Mean instructional weeks between fall and spring test dates.
    pub mean_weeks_fall_to_spring: f64,
}

/// The accepted date range of a testing window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowBounds {
    /// `fall`, `winter` or `spring`.
    pub window: String,
    /// First accepted date.
    pub from: String,
    /// Last accepted date.
    pub to: String,
}

/// Headline counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Current-year students.
    pub n_students: usize,
    /// Tutored students.
    pub n_tutored: usize,
    /// Comparison students.
    pub n_comparison: usize,
    /// n_tutored / n_students.
    pub tutored_share: f64,
    /// Schools.
    pub n_schools: usize,
    /// Tutors.
    pub n_tutors: usize,
    /// Students who left the district mid-year.
    pub n_exited: usize,
    /// Mean observed fall score of tutored students.
    pub mean_fall_score_tutored: Option<f64>,
    /// Mean observed fall score of comparison students.
    pub mean_fall_score_comparison: Option<f64>,
    /// Tutored students without a spring test.
    pub n_spring_missing_tutored: usize,
    /// Comparison students without a spring test.
    pub n_spring_missing_comparison: usize,
    /// History-cohort students.
    pub n_history_students: usize,
    /// Rows in roster.csv (incl. messy duplicates).
    pub roster_rows: usize,
    /// Rows in sessions.csv.
    pub session_rows: usize,
    /// Rows in assessments.csv.
    pub assessment_rows: usize,
    /// Rows in history.csv.
    pub history_rows: usize,
}

/// Per school.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolTruth {
    /// `S01`….
    pub school_id: String,
    /// u_s in points.
    pub effect_points: f64,
    /// u_s / σ.
    pub effect_sd: f64,
    /// Providers serving the school.
    pub providers: Vec<String>,
    /// Current-year students.
    pub n_students: usize,
    /// Tutored students.
    pub n_tutored: usize,
    /// History-cohort students.
    pub n_history_students: usize,
    /// School fall test date (current year).
    pub fall_date: String,
    /// School winter test date.
    pub winter_date: String,
    /// School spring test date.
    pub spring_date: String,
    /// School fall test date (history year).
    pub history_fall_date: String,
    /// School spring test date (history year).
    pub history_spring_date: String,
}

/// Per provider: nominal effect and what was realised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderTruth {
    /// `P1`….
    pub provider_id: String,
    /// d_k, full-dose effect in SD units.
    pub effect_sd: f64,
    /// d_k × σ, full-dose effect in points.
    pub effect_points: f64,
    /// Schools served.
    pub schools: Vec<String>,
    /// Tutored students on the roster with this provider.
    pub n_rostered: usize,
    /// Tutors.
    pub n_tutors: usize,
    /// ρ_k, mean attendance propensity.
    pub attendance_propensity: f64,
    /// c_k, cancellation rate.
    pub cancel_rate: f64,
    /// L_k, nominal session length.
    pub session_minutes: u32,
    /// G_k, largest group size.
    pub max_group_size: u8,
    /// Mean over tutored students of δᵢ (points) at the spring date.
    pub realised_mean_points: Option<f64>,
    /// The same in SD units (÷ σ).
    pub realised_mean_sd: Option<f64>,
    /// Between-student SD of δᵢ (points).
    pub realised_sd_points: Option<f64>,
    /// Tutored students with a valid spring post-test.
    pub n_with_posttest: usize,
    /// Mean δᵢ (points) over students with a valid post-test.
    pub realised_mean_points_posttest: Option<f64>,
    /// The same in SD units.
    pub realised_mean_sd_posttest: Option<f64>,
    /// Mean scheduled sessions per student.
    pub mean_scheduled_sessions: Option<f64>,
    /// Mean attended sessions per student.
    pub mean_attended_sessions: Option<f64>,
    /// Mean attended minutes (before the spring test) per student.
    pub mean_attended_minutes: Option<f64>,
    /// Mean f(minutes) per student.
    pub mean_dose_fraction: Option<f64>,
}

/// Per tutor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TutorTruth {
    /// `P1-T03`.
    pub tutor_id: String,
    /// Provider.
    pub provider_id: String,
    /// School where the tutor works.
    pub school_id: String,
    /// τ_j (SD units).
    pub effect_sd: f64,
    /// τ_j × σ (points).
    pub effect_points: f64,
    /// (d_k + τ_j) × σ, full-dose effect of this tutor's students (points).
    pub total_effect_points: f64,
    /// Students.
    pub n_students: usize,
    /// Mean δᵢ (points) over the tutor's students.
    pub realised_mean_points: Option<f64>,
}

// ---------------------------------------------------------------------------
// Public helpers
// ---------------------------------------------------------------------------

/// The dose-response function f: share of the full-dose effect reached after
/// `minutes` attended minutes. Concave, f(0) = 0, f(M*) = 1, constant after M*.
pub fn dose_fraction(minutes: f64) -> f64 {
    let m = minutes.clamp(0.0, FULL_DOSE_MINUTES) / FULL_DOSE_MINUTES;
    (1.0 - (-DOSE_KAPPA * m).exp()) / (1.0 - (-DOSE_KAPPA).exp())
}

/// Accepted date range of a testing window in the school year starting in
/// `start_year`: fall 1 Aug–31 Oct, winter 1 Dec–end of Feb, spring 1 Apr–30
/// Jun. Clean simulated tests always fall inside; messy out-of-window tests
/// never do. `None` for an unknown window name.
pub fn window_bounds(window: &str, start_year: i32) -> Option<(NaiveDate, NaiveDate)> {
    let y = start_year;
    match window {
        "fall" => Some((ymd(y, 8, 1), ymd(y, 10, 31))),
        "winter" => Some((ymd(y, 12, 1), ymd(y + 1, 3, 1).pred_opt()?)),
        "spring" => Some((ymd(y + 1, 4, 1), ymd(y + 1, 6, 30))),
        _ => None,
    }
}

/// Parses `"2025-26"` into 2025.
pub fn parse_school_year(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let yy: i32 = s[5..].parse().ok()?;
    if !(1900..=2200).contains(&y) || (y + 1) % 100 != yy {
        return None;
    }
    Some(y)
}

fn school_year_label(y: i32) -> String {
    format!("{}-{:02}", y, (y + 1) % 100)
}

// ---------------------------------------------------------------------------
// Internal random helpers
// ---------------------------------------------------------------------------

pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }
    pub(crate) fn unif(&mut self) -> f64 {
        self.0.random::<f64>()
    }
    pub(crate) fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unif()
    }
    pub(crate) fn normal(&mut self) -> f64 {
        StandardNormal.sample(&mut self.0)
    }
    pub(crate) fn bern(&mut self, p: f64) -> bool {
        self.unif() < p
    }
    /// Uniform integer in `lo..=hi`.
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.0.random_range(lo..=hi)
    }
    /// Uniform index in `0..n` (n > 0).
    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.0.random_range(0..n)
    }
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        v.shuffle(&mut self.0);
    }
    pub(crate) fn weighted(&mut self, w: &[f64]) -> usize {
        let total: f64 = w.iter().sum();
        let mut u = self.unif() * total;
        for (i, x) in w.iter().enumerate() {
            if u < *x {
                return i;
            }
            u -= x;
        }
        w.len() - 1
    }
    /// `k` distinct indices of `0..n`, sorted.
    pub(crate) fn sample_indices(&mut self, n: usize, k: usize) -> Vec<usize> {
        let mut v = rand::seq::index::sample(&mut self.0, n, k.min(n)).into_vec();
        v.sort_unstable();
        v
    }
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn r4(x: f64) -> f64 {
    round_to(x, 4)
}

fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() { None } else { Some(v.iter().sum::<f64>() / v.len() as f64) }
}

fn sd(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    if v.len() < 2 {
        return Some(0.0);
    }
    let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (v.len() - 1) as f64).sqrt())
}

/// Distinct student IDs drawn uniformly from `1..=max`.
pub(crate) struct IdPool {
    used: HashSet<u32>,
    max: i64,
}

impl IdPool {
    fn new(needed: usize) -> Self {
        let max = (needed as i64 * 8 / 5).clamp(399_999, 999_999);
        IdPool { used: HashSet::with_capacity(needed), max }
    }
    pub(crate) fn draw(&mut self, rng: &mut Rng) -> u32 {
        loop {
            let x = rng.int(1, self.max) as u32;
            if self.used.insert(x) {
                return x;
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Internal simulation state
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Window {
    Fall,
    Winter,
    Spring,
}

impl Window {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Window::Fall => "fall",
            Window::Winter => "winter",
            Window::Spring => "spring",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
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

struct SchoolSim {
    id: String,
    effect: f64,
    weight: f64,
    fall: NaiveDate,
    winter: NaiveDate,
    spring: NaiveDate,
    h_fall: NaiveDate,
    h_spring: NaiveDate,
    providers: Vec<usize>,
    first_share: f64,
}

pub(crate) struct ProviderSim {
    pub(crate) id: String,
    effect_sd: f64,
    attend: f64,
    cancel: f64,
    pub(crate) minutes: u32,
    pub(crate) max_group: u8,
}

pub(crate) struct TutorSim {
    pub(crate) id: String,
    pub(crate) provider: usize,
    school: usize,
    effect_sd: f64,
}

struct StudentSim {
    id: u32,
    school: usize,
    grade_idx: usize,
    low_income: bool,
    race: &'static str,
    el: bool,
    disability: bool,
    gender: &'static str,
    theta_fall: f64,
    rate: f64,
    fall_date: NaiveDate,
    winter_date: NaiveDate,
    spring_date: NaiveDate,
    exit: Option<NaiveDate>,
    fall_score: i32,
    tutored: bool,
    provider: Option<usize>,
    tutor: Option<usize>,
    enroll: NaiveDate,
    // tutoring outcomes
    scheduled: u32,
    attended: u32,
    absent: u32,
    minutes_winter: u32,
    minutes_spring: u32,
    effect_spring: f64,
    dose_spring: f64,
    has_spring: bool,
    has_valid_spring: bool,
}

/// One test, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Test {
    pub(crate) sid: u32,
    pub(crate) date: NaiveDate,
    pub(crate) window: Window,
    pub(crate) grade: u8,
    pub(crate) theta: f64,
    pub(crate) expected: f64,
    pub(crate) score: i32,
    pub(crate) sem: f64,
    pub(crate) valid: bool,
}

/// One scheduled session, before rendering.
#[derive(Debug, Clone)]
pub(crate) struct Sess {
    pub(crate) sid: u32,
    pub(crate) provider: usize,
    pub(crate) tutor: usize,
    pub(crate) date: NaiveDate,
    pub(crate) minutes: u32,
    pub(crate) status: Status,
    pub(crate) group: u8,
}

/// Draws SEM, observed score and validity for a true status.
pub(crate) fn measure(rng: &mut Rng, theta: f64, expected: f64) -> (i32, f64, bool) {
    let z = (theta - expected) / SCALE_SD;
    let sem = round_to((SEM_BASE + SEM_CURV * z * z + SEM_NOISE_SD * rng.normal()).clamp(SEM_MIN, SEM_MAX), 1);
    let valid = !rng.bern(INVALID_RATE);
    let mut y = theta + sem * rng.normal();
    if !valid {
        y -= rng.range(INVALID_DROP.0, INVALID_DROP.1);
    }
    let score = y.round().clamp(SCORE_RANGE.0, SCORE_RANGE.1) as i32;
    (score, sem, valid)
}

fn grade_of(idx: usize) -> u8 {
    GRADES[idx]
}

fn yn(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

pub(crate) fn sid_str(id: u32) -> String {
    format!("{id:06}")
}

fn pick_category(rng: &mut Rng, cats: &[(&'static str, f64)]) -> &'static str {
    let w: Vec<f64> = cats.iter().map(|c| c.1).collect();
    cats[rng.weighted(&w)].0
}

/// Demographics + fall status shared by both cohorts.
struct Person {
    school: usize,
    grade_idx: usize,
    low_income: bool,
    race: &'static str,
    el: bool,
    disability: bool,
    gender: &'static str,
    theta_fall: f64,
    rate: f64,
}

fn draw_person(rng: &mut Rng, schools: &[SchoolSim], weights: &[f64]) -> Person {
    let school = rng.weighted(weights);
    let grade_idx = rng.index(GRADES.len());
    let a = (SCALE_SD * SCALE_SD - SCHOOL_SD * SCHOOL_SD).sqrt() * rng.normal();
    let dev = schools[school].effect + a;
    let theta_fall = FALL_MEAN[grade_idx] + dev;
    let rate = GROWTH[grade_idx] + GROWTH_STATUS_SLOPE * dev / SCALE_SD + GROWTH_NOISE_SD * rng.normal();
    let low_income = rng.bern(logistic(logit(LOW_INCOME_RATE) + LOW_INCOME_SLOPE * dev / SCALE_SD));
    let race = pick_category(rng, &RACE);
    let el = rng.bern(EL_RATE);
    let disability = rng.bern(DISABILITY_RATE);
    let gender = pick_category(rng, &GENDER);
    Person { school, grade_idx, low_income, race, el, disability, gender, theta_fall, rate }
}

fn draw_exit(rng: &mut Rng, cal: &Calendar, after: NaiveDate) -> Option<NaiveDate> {
    if !rng.bern(EXIT_RATE) {
        return None;
    }
    let y = cal.start_year;
    let lo = cal.next_school_day(ymd(y, 10, 15).max(add_days(after, 7)));
    let hi = ymd(y + 1, 4, 17);
    let n = cal.school_days_between(lo, hi).max(1) as i64;
    Some(cal.add_school_days(lo, rng.int(0, n - 1) as usize))
}

/// The full generation context shared with the messy module.
pub(crate) struct Ctx<'a> {
    pub(crate) spec: &'a SimSpec,
    pub(crate) year: i32,
    pub(crate) cal: &'a Calendar,
    pub(crate) providers: &'a [ProviderSim],
    pub(crate) tutors: &'a [TutorSim],
    pub(crate) school_dates: Vec<[NaiveDate; 3]>,
}

// ---------------------------------------------------------------------------
// generate
// ---------------------------------------------------------------------------

fn validate(spec: &SimSpec) -> Result<i32, SimError> {
    if spec.students < MIN_STUDENTS {
        return Err(SimError::TooFewStudents { got: spec.students, min: MIN_STUDENTS });
    }
    if spec.students > MAX_STUDENTS {
        return Err(SimError::TooManyStudents { got: spec.students, max: MAX_STUDENTS });
    }
    if spec.providers < 1 || spec.providers > MAX_PROVIDERS {
        return Err(SimError::ProviderCount { got: spec.providers, max: MAX_PROVIDERS });
    }
    if spec.subject.trim().is_empty() {
        return Err(SimError::EmptySubject);
    }
    parse_school_year(&spec.school_year).ok_or_else(|| SimError::BadSchoolYear(spec.school_year.clone()))
}

/// Simulates a district according to `spec` (see the module docs for the model).
///
/// Deterministic: the same spec gives identical output.
pub fn generate(spec: &SimSpec) -> Result<District, SimError> {
    let year = validate(spec)?;
    let n = spec.students;
    let k_prov = spec.providers;
    let mut rng = Rng::new(spec.seed);
    let cal = Calendar::new(year);
    let hcal = Calendar::new(year - 1);

    // --- schools ---------------------------------------------------------
    let n_schools = 4.max(n / 250).max(k_prov.div_ceil(2));
    let mut schools: Vec<SchoolSim> = (0..n_schools)
        .map(|s| {
            let effect = SCHOOL_SD * rng.normal();
            let weight = rng.range(0.7, 1.3);
            let fall = cal.next_school_day(add_days(ymd(year, 9, 2), rng.int(0, 21) as u64));
            let winter = cal.next_school_day(add_days(ymd(year + 1, 1, 12), rng.int(0, 14) as u64));
            let spring = cal.next_school_day(add_days(ymd(year + 1, 4, 27), rng.int(0, 18) as u64));
            let h_fall = hcal.next_school_day(add_days(ymd(year - 1, 9, 2), rng.int(0, 21) as u64));
            let h_spring = hcal.next_school_day(add_days(ymd(year, 4, 27), rng.int(0, 18) as u64));
            SchoolSim {
                id: format!("S{:02}", s + 1),
                effect,
                weight,
                fall,
                winter,
                spring,
                h_fall,
                h_spring,
                providers: Vec::new(),
                first_share: 1.0,
            }
        })
        .collect();
    let weights: Vec<f64> = schools.iter().map(|s| s.weight).collect();

    // --- providers -------------------------------------------------------
    let mut grid: Vec<f64> = if k_prov == 1 {
        vec![MAX_PROVIDER_EFFECT_SD / 2.0]
    } else {
        (0..k_prov).map(|r| MAX_PROVIDER_EFFECT_SD * r as f64 / (k_prov - 1) as f64).collect()
    };
    rng.shuffle(&mut grid);
    let providers: Vec<ProviderSim> = (0..k_prov)
        .map(|k| ProviderSim {
            id: format!("P{}", k + 1),
            effect_sd: grid[k],
            attend: rng.range(ATTEND_RANGE.0, ATTEND_RANGE.1),
            cancel: rng.range(CANCEL_RANGE.0, CANCEL_RANGE.1),
            minutes: SESSION_LENGTHS[rng.index(SESSION_LENGTHS.len())],
            max_group: rng.int(1, 4) as u8,
        })
        .collect();

    // school <-> provider: every school 1–2 providers, every provider ≥ 1 school
    {
        let mut perm_p: Vec<usize> = (0..k_prov).collect();
        let mut perm_s: Vec<usize> = (0..n_schools).collect();
        rng.shuffle(&mut perm_p);
        rng.shuffle(&mut perm_s);
        for i in 0..n_schools.max(k_prov) {
            let s = perm_s[i % n_schools];
            let k = perm_p[i % k_prov];
            if !schools[s].providers.contains(&k) {
                schools[s].providers.push(k);
            }
        }
        for school in schools.iter_mut() {
            if school.providers.len() == 1 && k_prov > 1 && rng.bern(0.5) {
                let mut k = rng.index(k_prov - 1);
                if k >= school.providers[0] {
                    k += 1;
                }
                school.providers.push(k);
            }
            school.providers.sort_unstable();
            if school.providers.len() == 2 {
                school.first_share = rng.range(0.35, 0.65);
            }
        }
    }

    // --- student IDs -----------------------------------------------------
    let n_hist = ((n as f64) * rng.range(0.95, 1.05)).round() as usize;
    let mut pool = IdPool::new(n + n_hist + n / 2 + 1000);
    let mut ids: Vec<u32> = (0..n).map(|_| pool.draw(&mut rng)).collect();
    let mut hist_ids: Vec<u32> = (0..n_hist).map(|_| pool.draw(&mut rng)).collect();
    ids.sort_unstable();
    hist_ids.sort_unstable();

    // --- current students: demographics, status, fall test, selection ----
    let mut students: Vec<StudentSim> = Vec::with_capacity(n);
    let mut tests: Vec<Test> = Vec::with_capacity(3 * n);
    for &id in &ids {
        let p = draw_person(&mut rng, &schools, &weights);
        let sch = &schools[p.school];
        let fall_date = cal.add_school_days(sch.fall, rng.int(0, MAX_STUDENT_JITTER) as usize);
        let winter_date = cal.add_school_days(sch.winter, rng.int(0, MAX_STUDENT_JITTER) as usize);
        let spring_date = cal.add_school_days(sch.spring, rng.int(0, MAX_STUDENT_JITTER) as usize);
        let mu = FALL_MEAN[p.grade_idx];
        let (score, sem, valid) = measure(&mut rng, p.theta_fall, mu);
        tests.push(Test {
            sid: id,
            date: fall_date,
            window: Window::Fall,
            grade: grade_of(p.grade_idx),
            theta: p.theta_fall,
            expected: mu,
            score,
            sem,
            valid,
        });
        let z = (f64::from(score) - mu) / SCALE_SD;
        let tutored =
            rng.bern(logistic(SEL_INTERCEPT + SEL_FALL_Z * z + SEL_LOW_INCOME * f64::from(u8::from(p.low_income))));
        let enroll = if tutored {
            cal.next_school_day(add_days(fall_date, rng.int(ENROLL_LAG_DAYS.0, ENROLL_LAG_DAYS.1) as u64))
        } else {
            cal.first_day
        };
        let exit = draw_exit(&mut rng, &cal, enroll);
        students.push(StudentSim {
            id,
            school: p.school,
            grade_idx: p.grade_idx,
            low_income: p.low_income,
            race: p.race,
            el: p.el,
            disability: p.disability,
            gender: p.gender,
            theta_fall: p.theta_fall,
            rate: p.rate,
            fall_date,
            winter_date,
            spring_date,
            exit,
            fall_score: score,
            tutored,
            provider: None,
            tutor: None,
            enroll,
            scheduled: 0,
            attended: 0,
            absent: 0,
            minutes_winter: 0,
            minutes_spring: 0,
            effect_spring: 0.0,
            dose_spring: 0.0,
            has_spring: false,
            has_valid_spring: false,
        });
    }

    // --- provider assignment ---------------------------------------------
    for st in students.iter_mut().filter(|s| s.tutored) {
        let sch = &schools[st.school];
        let k =
            if sch.providers.len() == 2 && !rng.bern(sch.first_share) { sch.providers[1] } else { sch.providers[0] };
        st.provider = Some(k);
    }
    // tutored students by (provider, school), in student-ID order
    let mut members_of: Vec<Vec<usize>> = vec![Vec::new(); k_prov * n_schools];
    for (i, st) in students.iter().enumerate() {
        if let Some(k) = st.provider {
            members_of[k * n_schools + st.school].push(i);
        }
    }
    // make sure a second provider of a school is not left without students
    for (s, sch) in schools.iter().enumerate() {
        if sch.providers.len() != 2 {
            continue;
        }
        for (mine, other) in [(sch.providers[0], sch.providers[1]), (sch.providers[1], sch.providers[0])] {
            let (a, b) = (mine * n_schools + s, other * n_schools + s);
            if members_of[a].is_empty() && members_of[b].len() >= 2 {
                let i = members_of[b].remove(0);
                students[i].provider = Some(mine);
                members_of[a].push(i);
            }
        }
    }

    // --- tutors -----------------------------------------------------------
    let mut tutors: Vec<TutorSim> = Vec::new();
    for (k, prov) in providers.iter().enumerate() {
        let mut number = 0usize;
        for s in 0..n_schools {
            let members = &mut members_of[k * n_schools + s];
            if members.is_empty() {
                continue;
            }
            rng.shuffle(members);
            let per = rng.range(STUDENTS_PER_TUTOR.0, STUDENTS_PER_TUTOR.1);
            let n_t = ((members.len() as f64 / per).round() as usize).max(1);
            let first = tutors.len();
            for _ in 0..n_t {
                number += 1;
                tutors.push(TutorSim {
                    id: format!("{}-T{:02}", prov.id, number),
                    provider: k,
                    school: s,
                    effect_sd: TUTOR_SD * rng.normal(),
                });
            }
            for (pos, &i) in members.iter().enumerate() {
                students[i].tutor = Some(first + pos % n_t);
            }
        }
    }

    // --- sessions ---------------------------------------------------------
    let mut sessions: Vec<Sess> = Vec::with_capacity(students.iter().filter(|s| s.tutored).count() * 66);
    for st in students.iter_mut() {
        let (Some(k), Some(j)) = (st.provider, st.tutor) else {
            continue;
        };
        let prov = &providers[k];
        let weeks = rng.int(PLAN_WEEKS.0, PLAN_WEEKS.1);
        let mut days = [0usize, 1, 2, 3, 4];
        rng.shuffle(&mut days);
        let mut on = [false; 7];
        for &d in &days[..SESSIONS_PER_WEEK] {
            on[d] = true;
        }
        let li = if st.low_income { ATTEND_LOW_INCOME } else { 0.0 };
        let att_logit = logit(prov.attend) + ATTEND_STUDENT_SD * rng.normal() + li;
        let span = (7 * weeks) as f64;
        let end = add_days(st.enroll, 7 * weeks as u64);
        let mut d = st.enroll;
        while d < end {
            if st.exit.is_some_and(|x| d >= x) {
                break;
            }
            if on[weekday_index(d)] && cal.is_school_day(d) {
                st.scheduled += 1;
                let progress = d.signed_duration_since(st.enroll).num_days() as f64 / span;
                let status = if rng.bern(prov.cancel) {
                    Status::Cancelled
                } else if rng.bern(logistic(att_logit - ATTEND_DECLINE * progress)) {
                    Status::Attended
                } else {
                    Status::Absent
                };
                let minutes = if status == Status::Attended {
                    (f64::from(prov.minutes) + MINUTES_NOISE_SD * rng.normal())
                        .round()
                        .clamp(MINUTES_CLIP.0, MINUTES_CLIP.1) as u32
                } else {
                    0
                };
                let group = if prov.max_group == 1 || rng.bern(GROUP_FULL_PROB) {
                    prov.max_group
                } else {
                    rng.int(1, i64::from(prov.max_group)) as u8
                };
                match status {
                    Status::Attended => st.attended += 1,
                    Status::Absent => st.absent += 1,
                    Status::Cancelled => {}
                }
                if d < st.winter_date {
                    st.minutes_winter += minutes;
                }
                if d < st.spring_date {
                    st.minutes_spring += minutes;
                }
                sessions.push(Sess { sid: st.id, provider: k, tutor: j, date: d, minutes, status, group });
            }
            d = add_days(d, 1);
        }
    }

    // --- winter and spring tests ------------------------------------------
    let mut weeks_fs: Vec<f64> = Vec::with_capacity(n);
    for st in students.iter_mut() {
        let g = st.grade_idx;
        let full = match (st.provider, st.tutor) {
            (Some(k), Some(j)) => SCALE_SD * (providers[k].effect_sd + tutors[j].effect_sd),
            _ => 0.0,
        };
        let effect_winter = full * dose_fraction(f64::from(st.minutes_winter));
        st.dose_spring = if st.tutored { dose_fraction(f64::from(st.minutes_spring)) } else { 0.0 };
        st.effect_spring = full * st.dose_spring;
        let w_w = cal.weeks_between(st.fall_date, st.winter_date);
        let w_s = cal.weeks_between(st.fall_date, st.spring_date);
        weeks_fs.push(w_s);

        let winter_missing = rng.bern(MISS_WINTER);
        if !winter_missing && st.exit.is_none_or(|x| x > st.winter_date) {
            let theta = st.theta_fall + st.rate * w_w / REF_WEEKS + effect_winter;
            let expected = FALL_MEAN[g] + GROWTH[g] * w_w / REF_WEEKS;
            let (score, sem, valid) = measure(&mut rng, theta, expected);
            tests.push(Test {
                sid: st.id,
                date: st.winter_date,
                window: Window::Winter,
                grade: grade_of(g),
                theta,
                expected,
                score,
                sem,
                valid,
            });
        }
        let p_miss = if st.tutored {
            let denom = st.attended + st.absent;
            let rate = if denom == 0 { 0.0 } else { f64::from(st.attended) / f64::from(denom) };
            MISS_SPRING_TUTORED_BASE + MISS_SPRING_TUTORED_LOW_ATT * (1.0 - rate)
        } else {
            MISS_SPRING_COMPARISON
        };
        let spring_missing = rng.bern(p_miss);
        if !spring_missing && st.exit.is_none_or(|x| x > st.spring_date) {
            let theta = st.theta_fall + st.rate * w_s / REF_WEEKS + st.effect_spring;
            let expected = FALL_MEAN[g] + GROWTH[g] * w_s / REF_WEEKS;
            let (score, sem, valid) = measure(&mut rng, theta, expected);
            st.has_spring = true;
            st.has_valid_spring = valid;
            tests.push(Test {
                sid: st.id,
                date: st.spring_date,
                window: Window::Spring,
                grade: grade_of(g),
                theta,
                expected,
                score,
                sem,
                valid,
            });
        }
    }

    // --- history cohort ----------------------------------------------------
    struct HistStudent {
        id: u32,
        p: Person,
    }
    let mut hist_students: Vec<HistStudent> = Vec::with_capacity(n_hist);
    let mut hist_tests: Vec<Test> = Vec::with_capacity(2 * n_hist);
    for &id in &hist_ids {
        let p = draw_person(&mut rng, &schools, &weights);
        let sch = &schools[p.school];
        let g = p.grade_idx;
        let fall_date = hcal.add_school_days(sch.h_fall, rng.int(0, MAX_STUDENT_JITTER) as usize);
        let spring_date = hcal.add_school_days(sch.h_spring, rng.int(0, MAX_STUDENT_JITTER) as usize);
        let (score, sem, valid) = measure(&mut rng, p.theta_fall, FALL_MEAN[g]);
        hist_tests.push(Test {
            sid: id,
            date: fall_date,
            window: Window::Fall,
            grade: grade_of(g),
            theta: p.theta_fall,
            expected: FALL_MEAN[g],
            score,
            sem,
            valid,
        });
        let exit = draw_exit(&mut rng, &hcal, hcal.first_day);
        let missing = rng.bern(MISS_SPRING_COMPARISON);
        if !missing && exit.is_none() {
            let w = hcal.weeks_between(fall_date, spring_date);
            let theta = p.theta_fall + p.rate * w / REF_WEEKS;
            let expected = FALL_MEAN[g] + GROWTH[g] * w / REF_WEEKS;
            let (score, sem, valid) = measure(&mut rng, theta, expected);
            hist_tests.push(Test {
                sid: id,
                date: spring_date,
                window: Window::Spring,
                grade: grade_of(g),
                theta,
                expected,
                score,
                sem,
                valid,
            });
        }
        hist_students.push(HistStudent { id, p });
    }

    // --- sort (canonical order) --------------------------------------------
    // sessions are generated in (student, date) order already; tests are not.
    tests.sort_by_key(|t| (t.sid, t.date, t.window));
    // history tests are generated in (student, date) order.

    // --- messy faults (typed stage) + rendering -----------------------------
    let ctx = Ctx {
        spec,
        year,
        cal: &cal,
        providers: &providers,
        tutors: &tutors,
        school_dates: schools.iter().map(|s| [s.fall, s.winter, s.spring]).collect(),
    };
    let school_year = spec.school_year.clone();
    let roster_typed: Vec<RosterRow> = students
        .iter()
        .map(|st| RosterRow {
            student_id: sid_str(st.id),
            school_id: schools[st.school].id.clone(),
            grade: grade_of(st.grade_idx).to_string(),
            provider_id: st.provider.map(|k| providers[k].id.clone()).unwrap_or_default(),
            tutor_id: st.tutor.map(|j| tutors[j].id.clone()).unwrap_or_default(),
            enroll_date: st.enroll.to_string(),
            exit_date: st.exit.map(|d| d.to_string()).unwrap_or_default(),
            low_income: yn(st.low_income),
            race_ethnicity: st.race.to_string(),
            english_learner: yn(st.el),
            disability: yn(st.disability),
            gender: st.gender.to_string(),
        })
        .collect();

    let (roster, session_rows, assessment_rows, messy_truth) = if spec.messy {
        let (r, s, a, m) = messy::apply(&mut rng, &ctx, &mut pool, roster_typed, sessions, tests);
        (r, s, a, Some(m))
    } else {
        let s = render_sessions(&sessions, &providers, &tutors, &messy::SessFaults::none(sessions.len()));
        let a = render_tests(&tests, &spec.subject, &school_year, &messy::TestFaults::none(tests.len()));
        (roster_typed, s, a, None)
    };

    let hist_year = school_year_label(year - 1);
    let history: Vec<HistoryRow> = {
        let mut out = Vec::with_capacity(hist_tests.len());
        let mut pos = 0usize;
        for t in &hist_tests {
            while hist_students[pos].id != t.sid {
                pos += 1;
            }
            let p = &hist_students[pos].p;
            out.push(HistoryRow {
                student_id: sid_str(t.sid),
                school_id: schools[p.school].id.clone(),
                subject: spec.subject.clone(),
                test_date: t.date.to_string(),
                window: t.window.as_str().to_string(),
                school_year: hist_year.clone(),
                grade: t.grade.to_string(),
                scale_score: t.score.to_string(),
                sem: format!("{:.1}", t.sem),
                valid: t.valid.to_string(),
                low_income: yn(p.low_income),
                race_ethnicity: p.race.to_string(),
                english_learner: yn(p.el),
                disability: yn(p.disability),
                gender: p.gender.to_string(),
            });
        }
        out
    };

    // --- truth ------------------------------------------------------------------
    let tutored: Vec<&StudentSim> = students.iter().filter(|s| s.tutored).collect();
    let fall_t: Vec<f64> = tutored.iter().map(|s| f64::from(s.fall_score)).collect();
    let fall_c: Vec<f64> = students.iter().filter(|s| !s.tutored).map(|s| f64::from(s.fall_score)).collect();
    let summary = Summary {
        n_students: n,
        n_tutored: tutored.len(),
        n_comparison: n - tutored.len(),
        tutored_share: r4(tutored.len() as f64 / n as f64),
        n_schools,
        n_tutors: tutors.len(),
        n_exited: students.iter().filter(|s| s.exit.is_some()).count(),
        mean_fall_score_tutored: mean(&fall_t).map(r4),
        mean_fall_score_comparison: mean(&fall_c).map(r4),
        n_spring_missing_tutored: tutored.iter().filter(|s| !s.has_spring).count(),
        n_spring_missing_comparison: students.iter().filter(|s| !s.tutored && !s.has_spring).count(),
        n_history_students: n_hist,
        roster_rows: roster.len(),
        session_rows: session_rows.len(),
        assessment_rows: assessment_rows.len(),
        history_rows: history.len(),
    };

    let mut per_school = vec![(0usize, 0usize, 0usize); n_schools];
    for st in &students {
        per_school[st.school].0 += 1;
        per_school[st.school].1 += usize::from(st.tutored);
    }
    for h in &hist_students {
        per_school[h.p.school].2 += 1;
    }
    let schools_truth: Vec<SchoolTruth> = schools
        .iter()
        .enumerate()
        .map(|(s, sch)| SchoolTruth {
            school_id: sch.id.clone(),
            effect_points: r4(sch.effect),
            effect_sd: r4(sch.effect / SCALE_SD),
            providers: sch.providers.iter().map(|&k| providers[k].id.clone()).collect(),
            n_students: per_school[s].0,
            n_tutored: per_school[s].1,
            n_history_students: per_school[s].2,
            fall_date: sch.fall.to_string(),
            winter_date: sch.winter.to_string(),
            spring_date: sch.spring.to_string(),
            history_fall_date: sch.h_fall.to_string(),
            history_spring_date: sch.h_spring.to_string(),
        })
        .collect();

    let opt = |x: Option<f64>| x.map(r4);
    let providers_truth: Vec<ProviderTruth> = providers
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let mine: Vec<&&StudentSim> = tutored.iter().filter(|s| s.provider == Some(k)).collect();
            let eff: Vec<f64> = mine.iter().map(|s| s.effect_spring).collect();
            let eff_post: Vec<f64> = mine.iter().filter(|s| s.has_valid_spring).map(|s| s.effect_spring).collect();
            let f = |g: &dyn Fn(&StudentSim) -> f64| -> Option<f64> {
                let v: Vec<f64> = mine.iter().map(|s| g(s)).collect();
                mean(&v).map(r4)
            };
            ProviderTruth {
                provider_id: p.id.clone(),
                effect_sd: r4(p.effect_sd),
                effect_points: r4(p.effect_sd * SCALE_SD),
                schools: schools.iter().filter(|s| s.providers.contains(&k)).map(|s| s.id.clone()).collect(),
                n_rostered: mine.len(),
                n_tutors: tutors.iter().filter(|t| t.provider == k).count(),
                attendance_propensity: r4(p.attend),
                cancel_rate: r4(p.cancel),
                session_minutes: p.minutes,
                max_group_size: p.max_group,
                realised_mean_points: opt(mean(&eff)),
                realised_mean_sd: opt(mean(&eff).map(|m| m / SCALE_SD)),
                realised_sd_points: opt(sd(&eff)),
                n_with_posttest: eff_post.len(),
                realised_mean_points_posttest: opt(mean(&eff_post)),
                realised_mean_sd_posttest: opt(mean(&eff_post).map(|m| m / SCALE_SD)),
                mean_scheduled_sessions: f(&|s| f64::from(s.scheduled)),
                mean_attended_sessions: f(&|s| f64::from(s.attended)),
                mean_attended_minutes: f(&|s| f64::from(s.minutes_spring)),
                mean_dose_fraction: f(&|s| s.dose_spring),
            }
        })
        .collect();

    let mut tutor_effects: Vec<Vec<f64>> = vec![Vec::new(); tutors.len()];
    for st in &tutored {
        if let Some(j) = st.tutor {
            tutor_effects[j].push(st.effect_spring);
        }
    }
    let tutors_truth: Vec<TutorTruth> = tutors
        .iter()
        .zip(&tutor_effects)
        .map(|(t, eff)| TutorTruth {
            tutor_id: t.id.clone(),
            provider_id: providers[t.provider].id.clone(),
            school_id: schools[t.school].id.clone(),
            effect_sd: r4(t.effect_sd),
            effect_points: r4(t.effect_sd * SCALE_SD),
            total_effect_points: r4((providers[t.provider].effect_sd + t.effect_sd) * SCALE_SD),
            n_students: eff.len(),
            realised_mean_points: opt(mean(eff)),
        })
        .collect();

    let model = model_params(&cal, &hcal, mean(&weeks_fs).unwrap_or(0.0));
    let truth = Truth {
        generator: format!("obc::simulate {}", env!("CARGO_PKG_VERSION")),
        spec: spec.clone(),
        history_school_year: hist_year,
        model,
        summary,
        schools: schools_truth,
        providers: providers_truth,
        tutors: tutors_truth,
        messy: messy_truth,
    };

    let student_effects = tutored.iter().map(|st| (sid_str(st.id), st.effect_spring)).collect();
    Ok(District { roster, sessions: session_rows, assessments: assessment_rows, history, truth, student_effects })
}

fn model_params(cal: &Calendar, hcal: &Calendar, mean_weeks: f64) -> ModelParams {
    let y = cal.start_year;
    ModelParams {
        scale: "RIT-like vertical scale (NWEA MAP style), integer scores".to_string(),
        scale_sd: SCALE_SD,
        school_effect_sd: SCHOOL_SD,
        student_effect_sd: r4((SCALE_SD * SCALE_SD - SCHOOL_SD * SCHOOL_SD).sqrt()),
        grades: (0..GRADES.len())
            .map(|g| GradeParams { grade: GRADES[g], fall_mean: FALL_MEAN[g], growth_per_reference_weeks: GROWTH[g] })
            .collect(),
        growth_reference_weeks: REF_WEEKS,
        growth_status_slope: GROWTH_STATUS_SLOPE,
        growth_noise_sd: GROWTH_NOISE_SD,
        growth_formula: "theta(t) = theta_fall + r * W(fall_date, t) / 28 + delta(t); \
             r = gamma_g + lambda * (theta_fall - mu_g) / 15 + eta, eta ~ N(0, 5^2); \
             W = school days in [fall_date, t) / 5"
            .to_string(),
        measurement: MeasurementParams {
            sem_formula: "sem = round1(clip(2.7 + 0.25 z^2 + 0.1 N(0,1), 2.6, 3.6)), \
                 z = (theta - (mu_g + gamma_g W/28)) / 15"
                .to_string(),
            sem_base: SEM_BASE,
            sem_curvature: SEM_CURV,
            sem_noise_sd: SEM_NOISE_SD,
            sem_min: SEM_MIN,
            sem_max: SEM_MAX,
            score_formula: "score = round(theta + sem * N(0,1)) [- U(3,20) if invalid], clipped to 100..350"
                .to_string(),
            invalid_rate: INVALID_RATE,
            invalid_score_drop: INVALID_DROP,
            score_range: SCORE_RANGE,
        },
        demographics: DemographicParams {
            flag_format: "Y/N".to_string(),
            low_income_rate: LOW_INCOME_RATE,
            low_income_status_slope: LOW_INCOME_SLOPE,
            race_ethnicity: RACE.iter().map(|(v, s)| Category { value: v.to_string(), share: *s }).collect(),
            english_learner_rate: EL_RATE,
            disability_rate: DISABILITY_RATE,
            gender: GENDER.iter().map(|(v, s)| Category { value: v.to_string(), share: *s }).collect(),
        },
        selection: SelectionParams {
            formula: "P(tutored) = logistic(intercept + fall_z_coef * (observed_fall - mu_g) / 15 \
                 + low_income_coef * low_income)"
                .to_string(),
            intercept: SEL_INTERCEPT,
            fall_z_coef: SEL_FALL_Z,
            low_income_coef: SEL_LOW_INCOME,
        },
        effects: EffectParams {
            provider_formula: "d = 0.30 * r / (K - 1), r = 0..K-1 (0.15 if K = 1), randomly permuted over provider IDs"
                .to_string(),
            max_provider_effect_sd: MAX_PROVIDER_EFFECT_SD,
            tutor_effect_sd: TUTOR_SD,
            individual_formula: "delta_i(t) = 15 * (d_k + tau_j) * f(attended minutes before t); \
                 realised effect = delta_i(spring test date)"
                .to_string(),
        },
        dose_response: DoseResponseParams {
            formula: "f(m) = (1 - exp(-kappa * min(m, M)/M)) / (1 - exp(-kappa))".to_string(),
            kappa: DOSE_KAPPA,
            full_dose_minutes: FULL_DOSE_MINUTES,
            planned_sessions_per_week: SESSIONS_PER_WEEK,
            planned_weeks: PLAN_WEEKS,
            nominal_session_minutes: NOMINAL_MINUTES,
        },
        sessions: SessionParams {
            provider_attendance: ATTEND_RANGE,
            student_attendance_logit_sd: ATTEND_STUDENT_SD,
            low_income_attendance_logit: ATTEND_LOW_INCOME,
            attendance_decline_logit: ATTEND_DECLINE,
            provider_cancel_rate: CANCEL_RANGE,
            provider_session_minutes: SESSION_LENGTHS.to_vec(),
            minutes_noise_sd: MINUTES_NOISE_SD,
            minutes_clip: MINUTES_CLIP,
            group_full_prob: GROUP_FULL_PROB,
            students_per_tutor: STUDENTS_PER_TUTOR,
            enroll_lag_days: ENROLL_LAG_DAYS,
        },
        missingness: MissingnessParams {
            district_exit_rate: EXIT_RATE,
            winter_missing: MISS_WINTER,
            spring_missing_comparison: MISS_SPRING_COMPARISON,
            spring_missing_tutored_base: MISS_SPRING_TUTORED_BASE,
            spring_missing_tutored_low_attendance: MISS_SPRING_TUTORED_LOW_ATT,
            formula: "tutored: 0.05 + 0.20 * (1 - attended / (attended + absent)); comparison: 0.08; \
                 exited students have no tests after exit_date"
                .to_string(),
        },
        calendar: CalendarParams {
            first_day: cal.first_day.to_string(),
            last_day: cal.last_day.to_string(),
            holidays: cal.holiday_list(),
            history_first_day: hcal.first_day.to_string(),
            history_last_day: hcal.last_day.to_string(),
            school_test_dates: "next school day of: fall 2 Sep + U{0..21} days, winter 12 Jan + U{0..14}, \
                 spring 27 Apr + U{0..18}"
                .to_string(),
            max_student_jitter_school_days: MAX_STUDENT_JITTER,
            window_bounds: ["fall", "winter", "spring"]
                .iter()
                .map(|w| {
                    let (a, b) = window_bounds(w, y).expect("known window");
                    WindowBounds { window: w.to_string(), from: a.to_string(), to: b.to_string() }
                })
                .collect(),
            mean_weeks_fall_to_spring: r4(mean_weeks),
        },
    }
}

// ---------------------------------------------------------------------------
// rendering
// ---------------------------------------------------------------------------

pub(crate) fn us_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    format!("{}/{}/{}", d.month(), d.day(), d.year())
}

fn render_sessions(
    sessions: &[Sess],
    providers: &[ProviderSim],
    tutors: &[TutorSim],
    faults: &messy::SessFaults,
) -> Vec<SessionRow> {
    let mut out = Vec::with_capacity(sessions.len() + faults.duplicates());
    for (i, s) in sessions.iter().enumerate() {
        let f = faults.flags[i];
        let row = SessionRow {
            student_id: if f & messy::LOST_ZERO != 0 { s.sid.to_string() } else { sid_str(s.sid) },
            provider_id: match faults.provider_override(i) {
                Some(p) => p.to_string(),
                None => providers[s.provider].id.clone(),
            },
            tutor_id: tutors[s.tutor].id.clone(),
            session_date: if f & messy::US_DATE != 0 { us_date(s.date) } else { s.date.to_string() },
            minutes: if f & messy::TEXT_NA != 0 {
                "N/A".to_string()
            } else if f & messy::TEXT_UNIT != 0 {
                format!("{} min", s.minutes)
            } else if f & messy::TEXT_EMPTY != 0 {
                String::new()
            } else {
                s.minutes.to_string()
            },
            status: s.status.as_str().to_string(),
            group_size: s.group.to_string(),
        };
        if f & messy::DUPLICATE != 0 {
            out.push(row.clone());
        }
        out.push(row);
    }
    out
}

fn render_tests(tests: &[Test], subject: &str, school_year: &str, faults: &messy::TestFaults) -> Vec<AssessmentRow> {
    let mut out = Vec::with_capacity(tests.len());
    for (i, t) in tests.iter().enumerate() {
        let f = faults.flags[i];
        let text = |bits: (u16, u16), v: String| -> String {
            if f & bits.0 != 0 {
                "N/A".to_string()
            } else if f & bits.1 != 0 {
                String::new()
            } else {
                v
            }
        };
        out.push(AssessmentRow {
            student_id: if f & messy::LOST_ZERO != 0 { t.sid.to_string() } else { sid_str(t.sid) },
            subject: subject.to_string(),
            test_date: if f & messy::US_DATE != 0 { us_date(t.date) } else { t.date.to_string() },
            window: t.window.as_str().to_string(),
            school_year: school_year.to_string(),
            grade: t.grade.to_string(),
            scale_score: text((messy::SCORE_NA, messy::SCORE_EMPTY), t.score.to_string()),
            sem: text((messy::SEM_NA, messy::SEM_EMPTY), format!("{:.1}", t.sem)),
            valid: t.valid.to_string(),
        });
    }
    out
}

// ---------------------------------------------------------------------------
// write
// ---------------------------------------------------------------------------

fn write_csv<'a, const N: usize>(
    out: &OutputDir,
    name: &str,
    header: &[&str; N],
    rows: impl Iterator<Item = [&'a str; N]>,
) -> Result<(), OutputError> {
    let mut file = out.create(name)?;
    let path = file.path().to_path_buf();
    let werr = |source: io::Error| OutputError::Write { path: path.clone(), source };
    {
        let mut w = csv::WriterBuilder::new().has_headers(false).buffer_capacity(1 << 16).from_writer(&mut file);
        w.write_record(header).map_err(|e| werr(e.into()))?;
        for r in rows {
            w.write_record(r).map_err(|e| werr(e.into()))?;
        }
        w.flush().map_err(werr)?;
    }
    file.commit()?;
    Ok(())
}

/// Writes `roster.csv`, `sessions.csv`, `assessments.csv`, `history.csv` and
/// `truth.json` (pretty JSON) into `dir` (created if needed) and returns
/// their paths in that order. Each file is written atomically ([`crate::data::output`]):
/// a symbolic link at a file's name is replaced, not followed.
pub fn write(district: &District, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let out = OutputDir::open(dir, &[], "manifest.json")?;
    let paths: Vec<PathBuf> = FILE_NAMES.iter().map(|f| dir.join(f)).collect();
    write_csv(&out, FILE_NAMES[0], &ROSTER_HEADER, district.roster.iter().map(RosterRow::fields))?;
    write_csv(&out, FILE_NAMES[1], &SESSIONS_HEADER, district.sessions.iter().map(SessionRow::fields))?;
    write_csv(&out, FILE_NAMES[2], &ASSESSMENTS_HEADER, district.assessments.iter().map(AssessmentRow::fields))?;
    write_csv(&out, FILE_NAMES[3], &HISTORY_HEADER, district.history.iter().map(HistoryRow::fields))?;
    let mut json = serde_json::to_string_pretty(&district.truth).expect("the truth serializes (plain data)");
    json.push('\n');
    out.write(FILE_NAMES[4], json.as_bytes())?;
    Ok(paths)
}

// ---------------------------------------------------------------------------
// tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
    use std::fs;
    use std::sync::OnceLock;

    const N: usize = 1000;

    fn spec(students: usize, seed: u64, messy: bool) -> SimSpec {
        SimSpec { students, seed, messy, ..SimSpec::default() }
    }

    /// A clean district, generated once and written once for all tests.
    fn clean() -> &'static (District, tempfile::TempDir) {
        static D: OnceLock<(District, tempfile::TempDir)> = OnceLock::new();
        D.get_or_init(|| {
            let d = generate(&spec(N, 11, false)).unwrap();
            let dir = tempfile::tempdir().unwrap();
            write(&d, dir.path()).unwrap();
            (d, dir)
        })
    }

    fn messy() -> &'static (District, tempfile::TempDir) {
        static D: OnceLock<(District, tempfile::TempDir)> = OnceLock::new();
        D.get_or_init(|| {
            let d = generate(&spec(N, 11, true)).unwrap();
            let dir = tempfile::tempdir().unwrap();
            write(&d, dir.path()).unwrap();
            (d, dir)
        })
    }

    fn read_rows<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Vec<T> {
        let mut r = csv::Reader::from_path(dir.join(file)).unwrap();
        r.deserialize().map(|x| x.unwrap()).collect()
    }

    fn pad(id: &str) -> String {
        format!("{id:0>6}")
    }

    fn parse_any_date(s: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(s, "%m/%d/%Y")).ok()
    }

    fn is_iso(s: &str) -> bool {
        s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
    }

    fn spearman(a: &[f64], b: &[f64]) -> f64 {
        let rank = |v: &[f64]| {
            let mut idx: Vec<usize> = (0..v.len()).collect();
            idx.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
            let mut r = vec![0.0; v.len()];
            for (pos, &i) in idx.iter().enumerate() {
                r[i] = pos as f64;
            }
            r
        };
        let (ra, rb) = (rank(a), rank(b));
        let n = a.len() as f64;
        let d2: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - y) * (x - y)).sum();
        1.0 - 6.0 * d2 / (n * (n * n - 1.0))
    }

    #[test]
    fn same_seed_gives_identical_files_and_other_seed_differs() {
        for messy in [false, true] {
            let a = generate(&spec(N, 5, messy)).unwrap();
            let b = generate(&spec(N, 5, messy)).unwrap();
            let c = generate(&spec(N, 6, messy)).unwrap();
            let (da, db, dc) =
                (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            let pa = write(&a, da.path()).unwrap();
            let pb = write(&b, db.path()).unwrap();
            let pc = write(&c, dc.path()).unwrap();
            assert_eq!(pa.len(), 5);
            for (i, name) in FILE_NAMES.iter().enumerate() {
                assert_eq!(pa[i].file_name().unwrap(), *name);
                let (x, y, z) = (fs::read(&pa[i]).unwrap(), fs::read(&pb[i]).unwrap(), fs::read(&pc[i]).unwrap());
                assert!(x == y, "{name} differs between runs with the same seed");
                assert!(x != z, "{name} is the same for different seeds");
            }
        }
    }

    #[test]
    fn files_have_exact_headers() {
        let (_, dir) = clean();
        let first = |f: &str| fs::read_to_string(dir.path().join(f)).unwrap().lines().next().unwrap().to_string();
        assert_eq!(
            first("roster.csv"),
            "student_id,school_id,grade,provider_id,tutor_id,enroll_date,exit_date,low_income,race_ethnicity,english_learner,disability,gender"
        );
        assert_eq!(first("sessions.csv"), "student_id,provider_id,tutor_id,session_date,minutes,status,group_size");
        assert_eq!(
            first("assessments.csv"),
            "student_id,subject,test_date,window,school_year,grade,scale_score,sem,valid"
        );
        assert_eq!(
            first("history.csv"),
            "student_id,school_id,subject,test_date,window,school_year,grade,scale_score,sem,valid,low_income,race_ethnicity,english_learner,disability,gender"
        );
        let truth: Truth = serde_json::from_str(&fs::read_to_string(dir.path().join("truth.json")).unwrap()).unwrap();
        assert_eq!(truth.spec, clean().0.truth.spec);
        assert_eq!(truth.summary.n_students, N);
        assert!(truth.messy.is_none());
    }

    #[test]
    fn roster_counts_ids_grades_providers() {
        let (d, dir) = clean();
        let roster: Vec<RosterRow> = read_rows(dir.path(), "roster.csv");
        assert_eq!(roster, d.roster);
        assert_eq!(roster.len(), N);
        let ids: BTreeSet<&str> = roster.iter().map(|r| r.student_id.as_str()).collect();
        assert_eq!(ids.len(), N, "student IDs are unique");
        assert!(roster.iter().all(|r| r.student_id.len() == 6 && r.student_id.bytes().all(|b| b.is_ascii_digit())));
        let leading = roster.iter().filter(|r| r.student_id.starts_with('0')).count();
        assert!(leading > N / 10, "many IDs start with 0 ({leading})");
        // sorted by student ID
        assert!(roster.windows(2).all(|w| w[0].student_id < w[1].student_id));
        let grades: BTreeSet<u8> = roster.iter().map(|r| r.grade.parse().unwrap()).collect();
        assert_eq!(grades, (3..=8).collect());
        let providers: BTreeSet<&str> =
            roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.provider_id.as_str()).collect();
        let expected: Vec<String> = (1..=6).map(|k| format!("P{k}")).collect();
        assert_eq!(providers, expected.iter().map(String::as_str).collect());
        let schools: BTreeSet<&str> = roster.iter().map(|r| r.school_id.as_str()).collect();
        assert_eq!(schools.len(), 4);
        assert_eq!(d.truth.summary.n_schools, 4);
        for r in &roster {
            assert!(["Y", "N"].contains(&r.low_income.as_str()));
            assert!(["Y", "N"].contains(&r.english_learner.as_str()));
            assert!(["Y", "N"].contains(&r.disability.as_str()));
            assert!(["F", "M", "X"].contains(&r.gender.as_str()));
            assert!(RACE.iter().any(|(v, _)| *v == r.race_ethnicity));
            assert_eq!(r.provider_id.is_empty(), r.tutor_id.is_empty());
            if !r.tutor_id.is_empty() {
                assert!(r.tutor_id.starts_with(&format!("{}-T", r.provider_id)));
            }
            assert!(is_iso(&r.enroll_date));
            assert!(r.exit_date.is_empty() || is_iso(&r.exit_date));
        }
        let exited = roster.iter().filter(|r| !r.exit_date.is_empty()).count();
        assert!(exited < N / 10, "exit_date mostly empty");
        // each school has 1–2 providers; each provider serves at least one school
        let mut by_school: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for r in roster.iter().filter(|r| !r.provider_id.is_empty()) {
            by_school.entry(&r.school_id).or_default().insert(&r.provider_id);
        }
        assert!(by_school.values().all(|p| (1..=2).contains(&p.len())));
        // tutors have roughly 8–12 students
        let mut per_tutor: HashMap<&str, usize> = HashMap::new();
        for r in roster.iter().filter(|r| !r.tutor_id.is_empty()) {
            *per_tutor.entry(&r.tutor_id).or_default() += 1;
        }
        let mean = per_tutor.values().sum::<usize>() as f64 / per_tutor.len() as f64;
        assert!((7.0..=13.0).contains(&mean), "students per tutor {mean}");
    }

    #[test]
    fn history_is_a_separate_prior_year_cohort() {
        let (d, dir) = clean();
        let history: Vec<HistoryRow> = read_rows(dir.path(), "history.csv");
        assert_eq!(history, d.history);
        let roster_ids: HashSet<&str> = d.roster.iter().map(|r| r.student_id.as_str()).collect();
        let hist_ids: BTreeSet<&str> = history.iter().map(|h| h.student_id.as_str()).collect();
        assert!(hist_ids.iter().all(|id| !roster_ids.contains(id)));
        assert!((N * 9 / 10..=N * 11 / 10).contains(&hist_ids.len()));
        assert!(history.iter().all(|h| h.school_year == "2024-25" && h.subject == "math"));
        let windows: BTreeSet<&str> = history.iter().map(|h| h.window.as_str()).collect();
        assert_eq!(windows, ["fall", "spring"].into_iter().collect());
        let falls = history.iter().filter(|h| h.window == "fall").count();
        let springs = history.iter().filter(|h| h.window == "spring").count();
        assert_eq!(falls, hist_ids.len());
        assert!(springs > falls * 8 / 10 && springs < falls);
        for h in &history {
            let date = NaiveDate::parse_from_str(&h.test_date, "%Y-%m-%d").unwrap();
            let (lo, hi) = window_bounds(&h.window, 2024).unwrap();
            assert!(date >= lo && date <= hi);
        }
        let schools: BTreeSet<&str> = d.roster.iter().map(|r| r.school_id.as_str()).collect();
        assert!(history.iter().all(|h| schools.contains(h.school_id.as_str())));
    }

    #[test]
    fn low_scorers_are_selected_into_tutoring() {
        let (d, _) = clean();
        let tutored: HashSet<&str> =
            d.roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.student_id.as_str()).collect();
        let share = tutored.len() as f64 / N as f64;
        assert!((0.3..0.5).contains(&share), "tutored share {share}");
        let (mut t, mut c) = (Vec::new(), Vec::new());
        for a in d.assessments.iter().filter(|a| a.window == "fall") {
            let s: f64 = a.scale_score.parse().unwrap();
            if tutored.contains(a.student_id.as_str()) {
                t.push(s);
            } else {
                c.push(s);
            }
        }
        assert_eq!(t.len() + c.len(), N, "every student has one fall test");
        let (mt, mc) = (mean(&t).unwrap(), mean(&c).unwrap());
        assert!(mt + 5.0 < mc, "tutored fall mean {mt} vs comparison {mc}");
    }

    #[test]
    fn growth_declines_with_grade_for_comparison_students() {
        let d = generate(&spec(3000, 3, false)).unwrap();
        let tutored: HashSet<&str> =
            d.roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.student_id.as_str()).collect();
        let mut by: HashMap<(&str, &str), f64> = HashMap::new();
        for a in d.assessments.iter().filter(|a| a.valid == "true") {
            by.insert((a.student_id.as_str(), a.window.as_str()), a.scale_score.parse().unwrap());
        }
        let mut gains: BTreeMap<u8, Vec<f64>> = BTreeMap::new();
        for r in d.roster.iter().filter(|r| !tutored.contains(r.student_id.as_str())) {
            let id = r.student_id.as_str();
            if let (Some(f), Some(s)) = (by.get(&(id, "fall")), by.get(&(id, "spring"))) {
                gains.entry(r.grade.parse().unwrap()).or_default().push(s - f);
            }
        }
        let g3 = mean(&gains[&3]).unwrap();
        let g8 = mean(&gains[&8]).unwrap();
        assert!((7.0..14.0).contains(&g3), "grade 3 gain {g3}");
        assert!((1.5..7.0).contains(&g8), "grade 8 gain {g8}");
        assert!(g3 > g8 + 3.0);
    }

    #[test]
    fn sessions_are_plausible() {
        let (d, dir) = clean();
        let sessions: Vec<SessionRow> = read_rows(dir.path(), "sessions.csv");
        assert_eq!(sessions, d.sessions);
        let roster: HashMap<&str, &RosterRow> = d.roster.iter().map(|r| (r.student_id.as_str(), r)).collect();
        let mut per_student: HashMap<&str, usize> = HashMap::new();
        for s in &sessions {
            let r = roster[s.student_id.as_str()];
            assert_eq!(s.provider_id, r.provider_id);
            assert_eq!(s.tutor_id, r.tutor_id);
            let date = NaiveDate::parse_from_str(&s.session_date, "%Y-%m-%d").unwrap();
            assert!(weekday_index(date) < 5, "session on a weekend: {}", s.session_date);
            assert!(s.session_date >= r.enroll_date);
            assert!(r.exit_date.is_empty() || s.session_date < r.exit_date);
            let minutes: u32 = s.minutes.parse().unwrap();
            match s.status.as_str() {
                "attended" => assert!((20..=60).contains(&minutes)),
                "absent" | "cancelled" => assert_eq!(minutes, 0),
                other => panic!("bad status {other}"),
            }
            let g: u8 = s.group_size.parse().unwrap();
            assert!((1..=4).contains(&g));
            *per_student.entry(&s.student_id).or_default() += 1;
        }
        assert!(
            sessions
                .windows(2)
                .all(|w| (&w[0].student_id, &w[0].session_date) < (&w[1].student_id, &w[1].session_date))
        );
        let n_tutored = d.roster.iter().filter(|r| !r.provider_id.is_empty()).count();
        assert!(per_student.len() > n_tutored * 9 / 10);
        let mean_sched = sessions.len() as f64 / per_student.len() as f64;
        assert!((45.0..=66.0).contains(&mean_sched), "scheduled sessions {mean_sched}");
        let attended = sessions.iter().filter(|s| s.status == "attended").count() as f64;
        let cancelled = sessions.iter().filter(|s| s.status == "cancelled").count() as f64;
        let att = attended / sessions.len() as f64;
        assert!((0.55..0.9).contains(&att), "attendance {att}");
        assert!(cancelled > 0.0 && cancelled / (sessions.len() as f64) < 0.1);
    }

    #[test]
    fn realised_provider_effects_follow_nominal_ones() {
        for (seed, k) in [(11, 6), (12, 4), (13, 8)] {
            let d = generate(&SimSpec { providers: k, ..spec(N, seed, false) }).unwrap();
            let p = &d.truth.providers;
            assert_eq!(p.len(), k);
            let nominal: Vec<f64> = p.iter().map(|x| x.effect_points).collect();
            let realised: Vec<f64> = p.iter().map(|x| x.realised_mean_points.unwrap()).collect();
            let mut grid = nominal.clone();
            grid.sort_by(f64::total_cmp);
            for (r, g) in grid.iter().enumerate() {
                assert!((g - 4.5 * r as f64 / (k - 1) as f64).abs() < 1e-3);
            }
            let rho = spearman(&nominal, &realised);
            assert!(rho >= 0.8, "seed {seed}: rank correlation {rho}: {nominal:?} {realised:?}");
            for x in p {
                let real = x.realised_mean_points.unwrap();
                assert!(real <= x.effect_points + 1.0, "{x:?}");
                assert!(real >= 0.6 * x.effect_points - 1.0, "{x:?}");
                assert!((real / 15.0 - x.realised_mean_sd.unwrap()).abs() < 1e-3);
                assert!(x.n_rostered > 0 && x.n_tutors > 0 && !x.schools.is_empty());
                let dose = x.mean_dose_fraction.unwrap();
                assert!((0.6..=1.0).contains(&dose), "dose {dose}");
                let rostered = d.roster.iter().filter(|r| r.provider_id == x.provider_id).count();
                assert_eq!(rostered, x.n_rostered);
            }
            let tutors = d.truth.tutors.len();
            assert_eq!(tutors, d.truth.summary.n_tutors);
            assert!(d.truth.tutors.iter().all(|t| t.effect_sd.abs() < 0.25));
        }
    }

    #[test]
    fn dose_response_is_concave_from_zero_to_one() {
        assert_eq!(dose_fraction(0.0), 0.0);
        assert!((dose_fraction(FULL_DOSE_MINUTES) - 1.0).abs() < 1e-12);
        assert!((dose_fraction(2.0 * FULL_DOSE_MINUTES) - 1.0).abs() < 1e-12);
        assert!(dose_fraction(FULL_DOSE_MINUTES / 2.0) > 0.6);
        let xs: Vec<f64> = (0..=20).map(|i| FULL_DOSE_MINUTES * i as f64 / 20.0).collect();
        let ys: Vec<f64> = xs.iter().map(|&x| dose_fraction(x)).collect();
        for w in ys.windows(3) {
            assert!(w[1] > w[0] && w[2] > w[1]);
            assert!(w[2] - w[1] < w[1] - w[0], "concave");
        }
    }

    #[test]
    fn low_attenders_miss_the_post_test_more_often() {
        let d = generate(&spec(4000, 21, false)).unwrap();
        let mut att: HashMap<&str, (u32, u32)> = HashMap::new();
        for s in &d.sessions {
            let e = att.entry(&s.student_id).or_default();
            match s.status.as_str() {
                "attended" => e.0 += 1,
                "absent" => e.1 += 1,
                _ => {}
            }
        }
        let springs: HashSet<&str> =
            d.assessments.iter().filter(|a| a.window == "spring").map(|a| a.student_id.as_str()).collect();
        let mut rows: Vec<(f64, bool)> = d
            .roster
            .iter()
            .filter(|r| !r.provider_id.is_empty() && r.exit_date.is_empty())
            .map(|r| {
                let (a, b) = att.get(r.student_id.as_str()).copied().unwrap_or_default();
                let rate = if a + b == 0 { 0.0 } else { f64::from(a) / f64::from(a + b) };
                (rate, !springs.contains(r.student_id.as_str()))
            })
            .collect();
        rows.sort_by(|x, y| x.0.total_cmp(&y.0));
        // bottom decile of attendance vs top half: expected about 0.17 vs 0.07
        let miss = |v: &[(f64, bool)]| v.iter().filter(|x| x.1).count() as f64 / v.len() as f64;
        let (low, high) = (miss(&rows[..rows.len() / 10]), miss(&rows[rows.len() / 2..]));
        assert!(low > high + 0.04, "missing spring: low attenders {low}, high {high}");
    }

    #[test]
    fn clean_mode_has_no_faults() {
        let (d, dir) = clean();
        assert!(d.truth.messy.is_none());
        let roster_ids: HashSet<&str> = d.roster.iter().map(|r| r.student_id.as_str()).collect();
        let providers: HashSet<&str> = d.roster.iter().map(|r| r.provider_id.as_str()).collect();
        assert!(d.roster.windows(2).all(|w| w[0] != w[1]));
        assert!(d.sessions.windows(2).all(|w| w[0] != w[1]));
        for s in &d.sessions {
            assert!(roster_ids.contains(s.student_id.as_str()));
            assert!(providers.contains(s.provider_id.as_str()));
            assert!(is_iso(&s.session_date));
            s.minutes.parse::<u32>().unwrap();
            s.group_size.parse::<u8>().unwrap();
        }
        let assessments: Vec<AssessmentRow> = read_rows(dir.path(), "assessments.csv");
        assert_eq!(assessments, d.assessments);
        let mut seen: HashSet<(&str, &str)> = HashSet::new();
        for a in &assessments {
            assert!(roster_ids.contains(a.student_id.as_str()));
            assert!(is_iso(&a.test_date), "{}", a.test_date);
            let date = NaiveDate::parse_from_str(&a.test_date, "%Y-%m-%d").unwrap();
            let (lo, hi) = window_bounds(&a.window, 2025).unwrap();
            assert!(date >= lo && date <= hi, "{a:?}");
            let score: i32 = a.scale_score.parse().unwrap();
            assert!((100..=350).contains(&score));
            let sem: f64 = a.sem.parse().unwrap();
            assert!((SEM_MIN..=SEM_MAX).contains(&sem));
            assert!(a.valid == "true" || a.valid == "false");
            assert_eq!(a.school_year, "2025-26");
            assert_eq!(a.subject, "math");
            assert!(seen.insert((&a.student_id, &a.window)), "retest in clean mode: {a:?}");
        }
        assert!(
            assessments.windows(2).all(|w| (&w[0].student_id, &w[0].test_date) < (&w[1].student_id, &w[1].test_date))
        );
        let invalid = assessments.iter().filter(|a| a.valid == "false").count() as f64;
        let share = invalid / assessments.len() as f64;
        assert!(share > 0.0 && share < 0.05, "invalid share {share}");
    }

    #[test]
    fn messy_mode_faults_are_present_and_counted() {
        let (d, dir) = messy();
        let m = d.truth.messy.as_ref().expect("messy record");
        let roster: Vec<RosterRow> = read_rows(dir.path(), "roster.csv");
        let sessions: Vec<SessionRow> = read_rows(dir.path(), "sessions.csv");
        let assessments: Vec<AssessmentRow> = read_rows(dir.path(), "assessments.csv");
        assert_eq!(roster, d.roster);
        assert_eq!(sessions, d.sessions);
        assert_eq!(assessments, d.assessments);

        let roster_ids: HashSet<&str> = roster.iter().map(|r| r.student_id.as_str()).collect();
        assert_eq!(roster_ids.len(), N);
        let providers: HashSet<&str> =
            roster.iter().filter(|r| !r.provider_id.is_empty()).map(|r| r.provider_id.as_str()).collect();

        let dup = |n: usize| n;
        let roster_dups = dup(roster.windows(2).filter(|w| w[0] == w[1]).count());
        let session_dups = sessions.windows(2).filter(|w| w[0] == w[1]).count();
        assert_eq!(roster_dups, m.roster_duplicate_rows);
        assert_eq!(session_dups, m.sessions_duplicate_rows);
        assert_eq!(roster.len(), N + roster_dups);

        let lost_s = sessions.iter().filter(|s| s.student_id.len() < 6).count();
        let lost_a = assessments.iter().filter(|a| a.student_id.len() < 6).count();
        assert_eq!(lost_s, m.sessions_lost_leading_zeros);
        assert_eq!(lost_a, m.assessments_lost_leading_zeros);
        // a lost-zero ID is a roster ID once padded again
        assert!(
            sessions
                .iter()
                .filter(|s| s.student_id.len() < 6)
                .all(|s| roster_ids.contains(pad(&s.student_id).as_str()))
        );

        let mut per_window: HashMap<(String, &str), usize> = HashMap::new();
        for a in &assessments {
            *per_window.entry((pad(&a.student_id), a.window.as_str())).or_default() += 1;
        }
        let retests: usize = per_window.values().map(|c| c - 1).sum();
        assert_eq!(retests, m.retests);

        let classify = |v: &str, counts: &mut TextCounts| {
            if v == "N/A" {
                counts.na += 1;
            } else if v.is_empty() {
                counts.empty += 1;
            } else if v.ends_with(" min") {
                counts.with_unit += 1;
            } else {
                v.parse::<f64>().unwrap_or_else(|_| panic!("unexpected value {v:?}"));
            }
        };
        let mut minutes = TextCounts::default();
        sessions.iter().for_each(|s| classify(&s.minutes, &mut minutes));
        let (mut score, mut sem) = (TextCounts::default(), TextCounts::default());
        for a in &assessments {
            classify(&a.scale_score, &mut score);
            classify(&a.sem, &mut sem);
        }
        assert_eq!(minutes, m.sessions_minutes_text);
        assert_eq!(score, m.assessments_scale_score_text);
        assert_eq!(sem, m.assessments_sem_text);

        let out_of_window = assessments
            .iter()
            .filter(|a| {
                let d = parse_any_date(&a.test_date).expect("parseable date");
                let (lo, hi) = window_bounds(&a.window, 2025).unwrap();
                d < lo || d > hi
            })
            .count();
        assert_eq!(out_of_window, m.assessments_out_of_window_dates);
        let us_s = sessions.iter().filter(|s| s.session_date.contains('/')).count();
        let us_a = assessments.iter().filter(|a| a.test_date.contains('/')).count();
        assert_eq!(us_s, m.sessions_us_dates);
        assert_eq!(us_a, m.assessments_us_dates);
        assert!(sessions.iter().all(|s| parse_any_date(&s.session_date).is_some()));

        let unknown_s = sessions.iter().filter(|s| !roster_ids.contains(pad(&s.student_id).as_str())).count();
        let unknown_a = assessments.iter().filter(|a| !roster_ids.contains(pad(&a.student_id).as_str())).count();
        assert_eq!(unknown_s, m.sessions_unknown_students);
        assert_eq!(unknown_a, m.assessments_unknown_students);
        let history_ids: HashSet<&str> = d.history.iter().map(|h| h.student_id.as_str()).collect();
        assert!(sessions.iter().all(|s| !history_ids.contains(pad(&s.student_id).as_str())));
        let unknown_p = sessions.iter().filter(|s| !providers.contains(s.provider_id.as_str())).count();
        assert_eq!(unknown_p, m.sessions_unknown_providers);

        // every fault present at least once
        for (name, c) in [
            ("roster duplicates", m.roster_duplicate_rows),
            ("session duplicates", m.sessions_duplicate_rows),
            ("session lost zeros", m.sessions_lost_leading_zeros),
            ("assessment lost zeros", m.assessments_lost_leading_zeros),
            ("retests", m.retests),
            ("minutes N/A", m.sessions_minutes_text.na),
            ("minutes with unit", m.sessions_minutes_text.with_unit),
            ("minutes empty", m.sessions_minutes_text.empty),
            ("score text", m.assessments_scale_score_text.total()),
            ("sem text", m.assessments_sem_text.total()),
            ("out of window", m.assessments_out_of_window_dates),
            ("session US dates", m.sessions_us_dates),
            ("assessment US dates", m.assessments_us_dates),
            ("session unknown students", m.sessions_unknown_students),
            ("assessment unknown students", m.assessments_unknown_students),
            ("unknown providers", m.sessions_unknown_providers),
        ] {
            assert!(c >= 1, "{name} missing");
        }
        assert_eq!(d.truth.summary.session_rows, sessions.len());
        assert_eq!(d.truth.summary.assessment_rows, assessments.len());
        // the history file stays clean
        assert!(d.history.iter().all(|h| h.student_id.len() == 6 && is_iso(&h.test_date)));
    }

    #[test]
    fn messy_and_clean_share_the_same_truth() {
        // messy mode draws its faults after everything else, so the underlying
        // district (and its truth apart from row counts) is the same.
        let (c, _) = clean();
        let (m, _) = messy();
        assert_eq!(c.truth.providers, m.truth.providers);
        assert_eq!(c.truth.tutors, m.truth.tutors);
        assert_eq!(c.truth.schools, m.truth.schools);
        assert_eq!(c.history, m.history);
    }

    #[test]
    fn spec_validation() {
        let ok = SimSpec::default();
        assert_eq!(ok.students, 5000);
        assert_eq!(ok.providers, 6);
        assert_eq!(ok.seed, 20251);
        assert!(!ok.messy);
        assert_eq!(ok.school_year, "2025-26");
        assert_eq!(ok.subject, "math");
        let err = |s: SimSpec| generate(&s).unwrap_err();
        assert!(matches!(err(SimSpec { students: 49, ..ok.clone() }), SimError::TooFewStudents { got: 49, .. }));
        assert!(matches!(err(SimSpec { students: MAX_STUDENTS + 1, ..ok.clone() }), SimError::TooManyStudents { .. }));
        assert!(matches!(err(SimSpec { providers: 0, ..ok.clone() }), SimError::ProviderCount { got: 0, .. }));
        assert!(matches!(err(SimSpec { providers: 27, ..ok.clone() }), SimError::ProviderCount { got: 27, .. }));
        for bad in ["2025", "2025-27", "2025/26", "25-26", "abcd-ef"] {
            assert!(matches!(err(SimSpec { school_year: bad.into(), ..ok.clone() }), SimError::BadSchoolYear(_)));
        }
        assert_eq!(err(SimSpec { subject: " ".into(), ..ok.clone() }), SimError::EmptySubject);
        assert_eq!(parse_school_year("2025-26"), Some(2025));
        assert_eq!(parse_school_year("1999-00"), Some(1999));
    }

    #[test]
    fn extreme_provider_counts_and_other_years() {
        // 26 providers need at least 13 schools; every provider gets students.
        let d = generate(&SimSpec {
            providers: 26,
            school_year: "2023-24".into(),
            subject: "reading".into(),
            ..spec(1000, 1, false)
        })
        .unwrap();
        assert_eq!(d.truth.summary.n_schools, 13);
        assert!(d.truth.schools.iter().all(|s| (1..=2).contains(&s.providers.len())));
        assert!(d.truth.providers.iter().all(|p| p.n_rostered > 0), "{:?}", d.truth.providers);
        assert!(d.truth.providers.iter().any(|p| p.provider_id == "P26"));
        assert!(d.assessments.iter().all(|a| a.school_year == "2023-24" && a.subject == "reading"));
        assert!(d.history.iter().all(|h| h.school_year == "2022-23"));
        assert!(d.assessments.iter().all(|a| {
            let date = NaiveDate::parse_from_str(&a.test_date, "%Y-%m-%d").unwrap();
            let (lo, hi) = window_bounds(&a.window, 2023).unwrap();
            date >= lo && date <= hi
        }));
        // one provider, minimum size
        let d = generate(&SimSpec { providers: 1, ..spec(MIN_STUDENTS, 2, true) }).unwrap();
        assert_eq!(d.truth.providers.len(), 1);
        assert!((d.truth.providers[0].effect_sd - 0.15).abs() < 1e-12);
        assert!(d.truth.messy.is_some());
    }
}
