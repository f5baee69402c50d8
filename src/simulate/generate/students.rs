//! Students: distinct IDs for both cohorts, demographics and fall status, exits, and for
//! the current cohort the test dates, the fall test and selection into tutoring.

use chrono::NaiveDate;

use super::{Person, SchoolSim, StudentSim, Test};
use crate::simulate::calendar::{Calendar, add_days, ymd};
use crate::simulate::model::{
    DISABILITY_RATE, EL_RATE, ENROLL_LAG_DAYS, EXIT_RATE, FALL_MEAN, GENDER, GRADES, GROWTH, GROWTH_NOISE_SD,
    GROWTH_STATUS_SLOPE, LOW_INCOME_RATE, LOW_INCOME_SLOPE, RACE, SCALE_SD, SCHOOL_SD, SEL_FALL_Z, SEL_INTERCEPT,
    SEL_LOW_INCOME, SEL_RANDOM_SHARE, logistic, logit, student_test_date,
};
use crate::simulate::rng::{IdPool, Rng};
use crate::simulate::spec::{Selection, SimSpec};

/// The ID pool and the sorted IDs of the current cohort (`n`) and of the history cohort
/// (`round(n · U(0.95, 1.05))`), all distinct; the pool stays open for the history years
/// before Y−1 (`earlier` more IDs at most) and messy mode's unknown students.
pub(super) fn draw_ids(rng: &mut Rng, n: usize, earlier: usize) -> (IdPool, Vec<u32>, Vec<u32>) {
    let n_hist = ((n as f64) * rng.range(0.95, 1.05)).round() as usize;
    let mut pool = IdPool::new(n + n_hist + n / 2 + 1000 + earlier);
    let mut ids: Vec<u32> = (0..n).map(|_| pool.draw(rng)).collect();
    let mut hist_ids: Vec<u32> = (0..n_hist).map(|_| pool.draw(rng)).collect();
    ids.sort_unstable();
    hist_ids.sort_unstable();
    (pool, ids, hist_ids)
}

/// Draws a category from `(value, share)` pairs.
fn pick_category(rng: &mut Rng, cats: &[(&'static str, f64)]) -> &'static str {
    let w: Vec<f64> = cats.iter().map(|c| c.1).collect();
    cats[rng.weighted(&w)].0
}

/// School, grade, fall status, growth rate and demographics of one student; a low-income
/// student's growth rate is lowered by `low_income_growth` (`SimSpec::low_income_growth`).
pub(super) fn draw_person(rng: &mut Rng, schools: &[SchoolSim], weights: &[f64], low_income_growth: f64) -> Person {
    let school = rng.weighted(weights);
    let grade_idx = rng.index(GRADES.len());
    let a = (SCALE_SD * SCALE_SD - SCHOOL_SD * SCHOOL_SD).sqrt() * rng.normal();
    let dev = schools[school].effect + a;
    let theta_fall = FALL_MEAN[grade_idx] + dev;
    let rate = GROWTH[grade_idx] + GROWTH_STATUS_SLOPE * dev / SCALE_SD + GROWTH_NOISE_SD * rng.normal();
    let low_income = rng.bern(logistic(logit(LOW_INCOME_RATE) + LOW_INCOME_SLOPE * dev / SCALE_SD));
    let rate = if low_income { rate - low_income_growth } else { rate };
    let race = pick_category(rng, &RACE);
    let el = rng.bern(EL_RATE);
    let disability = rng.bern(DISABILITY_RATE);
    let gender = pick_category(rng, &GENDER);
    Person { school, grade_idx, low_income, race, el, disability, gender, theta_fall, rate }
}

/// With probability [`EXIT_RATE`], a random school day between 15 October (at least a
/// week after `after`) and 17 April on which the student leaves the district.
pub(super) fn draw_exit(rng: &mut Rng, cal: &Calendar, after: NaiveDate) -> Option<NaiveDate> {
    if !rng.bern(EXIT_RATE) {
        return None;
    }
    let y = cal.start_year;
    let lo = cal.next_school_day(ymd(y, 10, 15).max(add_days(after, 7)));
    let hi = ymd(y + 1, 4, 17);
    let n = cal.school_days_between(lo, hi).max(1) as i64;
    Some(cal.add_school_days(lo, rng.int(0, n - 1) as usize))
}

/// The current cohort, one student per ID: person, test dates, fall test, selection into
/// tutoring (by `selection`: on the observed fall score and low income, or at random),
/// enrolment and exit. Returns the students and their fall tests.
pub(super) fn draw_students(
    rng: &mut Rng,
    cal: &Calendar,
    schools: &[SchoolSim],
    weights: &[f64],
    ids: &[u32],
    spec: &SimSpec,
) -> (Vec<StudentSim>, Vec<Test>) {
    let mut students: Vec<StudentSim> = Vec::with_capacity(ids.len());
    let mut tests: Vec<Test> = Vec::with_capacity(3 * ids.len());
    for &id in ids {
        let p = draw_person(rng, schools, weights, spec.low_income_growth);
        let sch = &schools[p.school];
        let fall_date = student_test_date(rng, cal, sch.fall);
        let winter_date = student_test_date(rng, cal, sch.winter);
        let spring_date = student_test_date(rng, cal, sch.spring);
        let fall = Test::fall(rng, id, fall_date, &p);
        let z = (f64::from(fall.score) - FALL_MEAN[p.grade_idx]) / SCALE_SD;
        let fall_score = fall.score;
        tests.push(fall);
        let p_tutored = match spec.selection {
            Selection::FallScoreAndIncome => {
                logistic(SEL_INTERCEPT + SEL_FALL_Z * z + SEL_LOW_INCOME * f64::from(u8::from(p.low_income)))
            }
            Selection::Random => SEL_RANDOM_SHARE,
        };
        let tutored = rng.bern(p_tutored);
        let enroll = if tutored {
            cal.next_school_day(add_days(fall_date, rng.int(ENROLL_LAG_DAYS.0, ENROLL_LAG_DAYS.1) as u64))
        } else {
            cal.first_day
        };
        let exit = draw_exit(rng, cal, enroll);
        students.push(StudentSim {
            id,
            p,
            fall_date,
            winter_date,
            spring_date,
            exit,
            fall_score,
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
    (students, tests)
}
