//! The data-generating model's parameters (documented in the module docs of
//! [`crate::simulate`] and copied to `truth.json`) and its closed-form parts: the
//! dose-response function, status and growth, and the measurement of a test.

use chrono::NaiveDate;

use super::calendar::Calendar;
use super::rng::Rng;

pub(super) const SCALE_SD: f64 = 15.0;
pub(super) const SCHOOL_SD: f64 = 5.0;
pub(super) const GRADES: [u8; 6] = [3, 4, 5, 6, 7, 8];
pub(super) const FALL_MEAN: [f64; 6] = [200.0, 206.0, 212.0, 218.0, 224.0, 230.0];
pub(super) const GROWTH: [f64; 6] = [10.0, 8.8, 7.6, 6.4, 5.2, 4.0];
pub(super) const REF_WEEKS: f64 = 28.0;
pub(super) const GROWTH_STATUS_SLOPE: f64 = -1.0;
pub(super) const GROWTH_NOISE_SD: f64 = 5.0;
pub(super) const SEM_BASE: f64 = 2.7;
pub(super) const SEM_CURV: f64 = 0.25;
pub(super) const SEM_NOISE_SD: f64 = 0.1;
pub(super) const SEM_MIN: f64 = 2.6;
pub(super) const SEM_MAX: f64 = 3.6;
pub(super) const INVALID_RATE: f64 = 0.02;
pub(super) const INVALID_DROP: (f64, f64) = (3.0, 20.0);
pub(super) const SCORE_RANGE: (f64, f64) = (100.0, 350.0);
pub(super) const LOW_INCOME_RATE: f64 = 0.45;
pub(super) const LOW_INCOME_SLOPE: f64 = -0.5;
pub(super) const RACE: [(&str, f64); 6] =
    [("White", 0.40), ("Hispanic", 0.28), ("Black", 0.17), ("Asian", 0.07), ("Multiracial", 0.06), ("Other", 0.02)];
pub(super) const EL_RATE: f64 = 0.12;
pub(super) const DISABILITY_RATE: f64 = 0.13;
pub(super) const GENDER: [(&str, f64); 3] = [("F", 0.49), ("M", 0.49), ("X", 0.02)];
pub(super) const SEL_INTERCEPT: f64 = -0.75;
pub(super) const SEL_FALL_Z: f64 = -1.2;
pub(super) const SEL_LOW_INCOME: f64 = 0.4;
/// P(tutored) of every student under `Selection::Random` (about the default rule's share).
pub(super) const SEL_RANDOM_SHARE: f64 = 0.40;
pub(super) const MAX_PROVIDER_EFFECT_SD: f64 = 0.30;
pub(super) const TUTOR_SD: f64 = 0.05;
pub(super) const DOSE_KAPPA: f64 = 2.0;
pub(super) const SESSIONS_PER_WEEK: usize = 3;
pub(super) const PLAN_WEEKS: (i64, i64) = (20, 24);
pub(super) const NOMINAL_MINUTES: f64 = 40.0;
/// Planned sessions of the typical programme: 3 per week for 22 weeks, less
/// the ~11 sessions that fall on holidays and breaks.
pub const FULL_DOSE_SESSIONS: f64 = 55.0;
/// Planned full dose M* in minutes: 55 sessions × 40 minutes.
pub const FULL_DOSE_MINUTES: f64 = FULL_DOSE_SESSIONS * NOMINAL_MINUTES;
pub(super) const ATTEND_RANGE: (f64, f64) = (0.78, 0.92);
pub(super) const ATTEND_STUDENT_SD: f64 = 1.0;
pub(super) const ATTEND_LOW_INCOME: f64 = -0.3;
pub(super) const ATTEND_DECLINE: f64 = 0.4;
pub(super) const CANCEL_RANGE: (f64, f64) = (0.03, 0.08);
pub(super) const SESSION_LENGTHS: [u32; 3] = [35, 40, 45];
pub(super) const MINUTES_NOISE_SD: f64 = 4.0;
pub(super) const MINUTES_CLIP: (f64, f64) = (20.0, 60.0);
pub(super) const GROUP_FULL_PROB: f64 = 0.7;
pub(super) const STUDENTS_PER_TUTOR: (f64, f64) = (8.0, 12.0);
pub(super) const ENROLL_LAG_DAYS: (i64, i64) = (5, 15);
pub(super) const EXIT_RATE: f64 = 0.03;
pub(super) const MISS_WINTER: f64 = 0.05;
pub(super) const MISS_SPRING_COMPARISON: f64 = 0.08;
pub(super) const MISS_SPRING_TUTORED_BASE: f64 = 0.05;
pub(super) const MISS_SPRING_TUTORED_LOW_ATT: f64 = 0.20;
pub(super) const MAX_STUDENT_JITTER: i64 = 4;

/// The dose-response function f: share of the full-dose effect reached after
/// `minutes` attended minutes. Concave, f(0) = 0, f(M*) = 1, constant after M*.
pub fn dose_fraction(minutes: f64) -> f64 {
    let m = minutes.clamp(0.0, FULL_DOSE_MINUTES) / FULL_DOSE_MINUTES;
    (1.0 - (-DOSE_KAPPA * m).exp()) / (1.0 - (-DOSE_KAPPA).exp())
}

/// m_g(t): the expected status of grade index `g` after `weeks` instructional weeks of
/// growth without tutoring.
pub(super) fn expected_status(g: usize, weeks: f64) -> f64 {
    FALL_MEAN[g] + GROWTH[g] * weeks / REF_WEEKS
}

/// A student's test date: 0–[`MAX_STUDENT_JITTER`] school days after the school's date.
pub(super) fn student_test_date(rng: &mut Rng, cal: &Calendar, school_date: NaiveDate) -> NaiveDate {
    cal.add_school_days(school_date, rng.int(0, MAX_STUDENT_JITTER) as usize)
}

/// Draws SEM, observed score and validity for a true status.
pub(super) fn measure(rng: &mut Rng, theta: f64, expected: f64) -> (i32, f64, bool) {
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

pub(super) fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

pub(super) fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// `x` rounded to `digits` decimals.
pub(super) fn round_to(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
