//! Winter and spring tests of the current cohort: status grown from the fall test plus the
//! tutoring effect reached by then, missing tests, and measurement.

use super::{ProviderSim, StudentSim, Test, TutorSim, Window};
use crate::simulate::calendar::Calendar;
use crate::simulate::model::{
    MISS_SPRING_COMPARISON, MISS_SPRING_TUTORED_BASE, MISS_SPRING_TUTORED_LOW_ATT, MISS_WINTER, SCALE_SD,
    dose_fraction, expected_status,
};
use crate::simulate::rng::Rng;

/// Draws every student's winter and spring tests (appended to `tests`) and records the
/// realised effect and dose at the spring date. Returns the instructional weeks from each
/// student's fall test to their spring date, in student order. Without `dosage_selection`
/// tutored students miss the spring test as often as comparison students.
pub(super) fn draw_later_tests(
    rng: &mut Rng,
    cal: &Calendar,
    providers: &[ProviderSim],
    tutors: &[TutorSim],
    students: &mut [StudentSim],
    tests: &mut Vec<Test>,
    dosage_selection: bool,
) -> Vec<f64> {
    let mut weeks_fs: Vec<f64> = Vec::with_capacity(students.len());
    for st in students.iter_mut() {
        let g = st.p.grade_idx;
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
            let theta = st.p.status_at(w_w) + effect_winter;
            tests.push(Test::take(rng, st.id, st.winter_date, Window::Winter, g, theta, expected_status(g, w_w)));
        }
        let spring_missing = rng.bern(spring_missing_probability(st, dosage_selection));
        if !spring_missing && st.exit.is_none_or(|x| x > st.spring_date) {
            let theta = st.p.status_at(w_s) + st.effect_spring;
            let t = Test::take(rng, st.id, st.spring_date, Window::Spring, g, theta, expected_status(g, w_s));
            st.has_spring = true;
            st.has_valid_spring = t.valid;
            tests.push(t);
        }
    }
    weeks_fs
}

/// P(missing spring test): `0.05 + 0.20 (1 − attendance rate)` for tutored students, 0.08
/// for comparison students (and for tutored ones without `dosage_selection`).
fn spring_missing_probability(st: &StudentSim, dosage_selection: bool) -> f64 {
    if st.tutored && dosage_selection {
        let denom = st.attended + st.absent;
        let rate = if denom == 0 { 0.0 } else { f64::from(st.attended) / f64::from(denom) };
        MISS_SPRING_TUTORED_BASE + MISS_SPRING_TUTORED_LOW_ATT * (1.0 - rate)
    } else {
        MISS_SPRING_COMPARISON
    }
}
