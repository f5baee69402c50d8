//! The prior-year cohorts of `history.csv`: other students, same schools and school
//! effects, the same model without tutoring, fall and spring tests only. Year Y−1 is drawn
//! in the model's fixed order; the years before it (`SimSpec::history_years` > 1) on a
//! ChaCha8 stream of their own ([`draw_earlier_years`]).

use chrono::NaiveDate;

use super::render::{sid_str, yn};
use super::schools::history_test_dates;
use super::{HistStudent, SchoolSim, Test, Window};
use crate::simulate::calendar::Calendar;
use crate::simulate::model::{MISS_SPRING_COMPARISON, expected_status, student_test_date};
use crate::simulate::rng::{IdPool, Rng};
use crate::simulate::rows::HistoryRow;
use crate::simulate::spec::{SimSpec, school_year_label};

use super::students::{draw_exit, draw_person};

/// ChaCha8 stream (of the spec's seed) of the history years before Y−1.
const EARLIER_YEARS_STREAM: u64 = 2;

/// One history cohort: the school year, its students (sorted by ID) and their tests in
/// (student, date) order.
pub(in crate::simulate) struct HistoryYear {
    /// `"2023-24"`.
    pub(in crate::simulate) label: String,
    pub(in crate::simulate) students: Vec<HistStudent>,
    pub(in crate::simulate) tests: Vec<Test>,
}

/// A history cohort, one student per ID (sorted), and their tests in (student, date)
/// order: schools test on `dates` (fall, spring; one pair per school) of the year `hcal`,
/// and every student's growth rate is shifted by `shift` (ν_y). A student who leaves the
/// district or misses the spring test has the fall test only.
pub(super) fn draw_history(
    rng: &mut Rng,
    hcal: &Calendar,
    schools: &[SchoolSim],
    weights: &[f64],
    dates: &[(NaiveDate, NaiveDate)],
    hist_ids: &[u32],
    growth: Growth,
) -> (Vec<HistStudent>, Vec<Test>) {
    let Growth { shift, low_income: low_income_growth } = growth;
    let mut hist_students: Vec<HistStudent> = Vec::with_capacity(hist_ids.len());
    let mut hist_tests: Vec<Test> = Vec::with_capacity(2 * hist_ids.len());
    for &id in hist_ids {
        let mut p = draw_person(rng, schools, weights, low_income_growth);
        if shift != 0.0 {
            p.rate += shift;
        }
        let g = p.grade_idx;
        let (fall, spring) = dates[p.school];
        let fall_date = student_test_date(rng, hcal, fall);
        let spring_date = student_test_date(rng, hcal, spring);
        hist_tests.push(Test::fall(rng, id, fall_date, &p));
        let exit = draw_exit(rng, hcal, hcal.first_day);
        let missing = rng.bern(MISS_SPRING_COMPARISON);
        if !missing && exit.is_none() {
            let w = hcal.weeks_between(fall_date, spring_date);
            hist_tests.push(Test::take(rng, id, spring_date, Window::Spring, g, p.status_at(w), expected_status(g, w)));
        }
        hist_students.push(HistStudent { id, p });
    }
    (hist_students, hist_tests)
}

/// How a history year's growth rates differ from the model's: the year's shift ν_y and the
/// low-income shortfall (`SimSpec::low_income_growth`).
#[derive(Clone, Copy, Debug)]
pub(super) struct Growth {
    pub shift: f64,
    pub low_income: f64,
}

/// The history years Y−2, Y−3, … (one per entry of `shifts`, their ν_y), each on its own
/// calendar with its own school test dates and `round(n · U(0.95, 1.05))` students whose
/// IDs come from `pool` (so they collide with no other cohort). Drawn from the
/// [`EARLIER_YEARS_STREAM`] of `seed` in that order, so a further year leaves the earlier
/// ones as they were, and year Y−1 and the current year are unchanged.
pub(super) fn draw_earlier_years(
    spec: &SimSpec,
    year: i32,
    schools: &[SchoolSim],
    weights: &[f64],
    pool: &mut IdPool,
    shifts: &[f64],
) -> Vec<HistoryYear> {
    let (seed, n) = (spec.seed, spec.students);
    let mut rng = Rng::stream(seed, EARLIER_YEARS_STREAM);
    let mut out = Vec::with_capacity(shifts.len());
    for (i, &shift) in shifts.iter().enumerate() {
        let start = year - 2 - i as i32;
        let cal = Calendar::new(start);
        let dates: Vec<(NaiveDate, NaiveDate)> = schools.iter().map(|_| history_test_dates(&mut rng, &cal)).collect();
        let n_year = ((n as f64) * rng.range(0.95, 1.05)).round() as usize;
        let mut ids: Vec<u32> = (0..n_year).map(|_| pool.draw(&mut rng)).collect();
        ids.sort_unstable();
        let growth = Growth { shift, low_income: spec.low_income_growth };
        let (students, tests) = draw_history(&mut rng, &cal, schools, weights, &dates, &ids, growth);
        out.push(HistoryYear { label: school_year_label(start), students, tests });
    }
    out
}

/// The rows of `history.csv` of one cohort: one per test, with the student's school and
/// demographics.
pub(super) fn history_rows(
    schools: &[SchoolSim],
    cohort: &[HistStudent],
    tests: &[Test],
    subject: &str,
    school_year: &str,
) -> Vec<HistoryRow> {
    let mut out = Vec::with_capacity(tests.len());
    let mut pos = 0usize;
    for t in tests {
        while cohort[pos].id != t.sid {
            pos += 1;
        }
        let p = &cohort[pos].p;
        out.push(HistoryRow {
            student_id: sid_str(t.sid),
            school_id: schools[p.school].id.clone(),
            subject: subject.to_string(),
            test_date: t.date.to_string(),
            window: t.window.as_str().to_string(),
            school_year: school_year.to_string(),
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
}
