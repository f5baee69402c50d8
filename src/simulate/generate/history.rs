//! The prior-year cohort of `history.csv`: other students, same schools and school
//! effects, the same model without tutoring, fall and spring tests only.

use super::render::{sid_str, yn};
use super::{HistStudent, SchoolSim, Test, Window, World};
use crate::simulate::calendar::Calendar;
use crate::simulate::model::{MISS_SPRING_COMPARISON, expected_status, student_test_date};
use crate::simulate::rng::Rng;
use crate::simulate::rows::HistoryRow;

use super::students::{draw_exit, draw_person};

/// The history cohort, one student per ID (sorted), and their tests in (student, date)
/// order. A student who leaves the district or misses the spring test has the fall test
/// only.
pub(super) fn draw_history(
    rng: &mut Rng,
    hcal: &Calendar,
    schools: &[SchoolSim],
    weights: &[f64],
    hist_ids: &[u32],
    low_income_growth: f64,
) -> (Vec<HistStudent>, Vec<Test>) {
    let mut hist_students: Vec<HistStudent> = Vec::with_capacity(hist_ids.len());
    let mut hist_tests: Vec<Test> = Vec::with_capacity(2 * hist_ids.len());
    for &id in hist_ids {
        let p = draw_person(rng, schools, weights, low_income_growth);
        let sch = &schools[p.school];
        let g = p.grade_idx;
        let fall_date = student_test_date(rng, hcal, sch.h_fall);
        let spring_date = student_test_date(rng, hcal, sch.h_spring);
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

/// The rows of `history.csv`: one per history test, with the student's school and
/// demographics.
pub(super) fn history_rows(world: &World, hist_tests: &[Test], subject: &str, school_year: &str) -> Vec<HistoryRow> {
    let mut out = Vec::with_capacity(hist_tests.len());
    let mut pos = 0usize;
    for t in hist_tests {
        while world.history[pos].id != t.sid {
            pos += 1;
        }
        let p = &world.history[pos].p;
        out.push(HistoryRow {
            student_id: sid_str(t.sid),
            school_id: world.schools[p.school].id.clone(),
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
