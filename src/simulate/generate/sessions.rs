//! Dosage: every tutored student's scheduled sessions, each cancelled, attended or
//! missed, with attended minutes and group size.

use super::{ProviderSim, Sess, Status, StudentSim};
use crate::simulate::calendar::{Calendar, add_days, weekday_index};
use crate::simulate::model::{
    ATTEND_DECLINE, ATTEND_LOW_INCOME, ATTEND_STUDENT_SD, GROUP_FULL_PROB, PLAN_WEEKS, SESSIONS_PER_WEEK, logistic,
    logit,
};
use crate::simulate::rng::Rng;

/// The sessions of all tutored students, in (student, date) order; counts each student's
/// scheduled, attended and absent sessions and the minutes attended before their winter
/// and spring test dates. Without `dosage_selection` the student's own attendance terms
/// (`ζᵢ`, low income) are left out of the attendance logit.
pub(super) fn draw_sessions(
    rng: &mut Rng,
    cal: &Calendar,
    providers: &[ProviderSim],
    students: &mut [StudentSim],
    dosage_selection: bool,
) -> Vec<Sess> {
    let mut sessions: Vec<Sess> = Vec::with_capacity(students.iter().filter(|s| s.tutored).count() * 66);
    for st in students.iter_mut() {
        let (Some(k), Some(j)) = (st.provider, st.tutor) else {
            continue;
        };
        student_sessions(rng, cal, &providers[k], st, (k, j), dosage_selection, &mut sessions);
    }
    sessions
}

/// One student's programme: U{20..24} weeks from enrolment on 3 fixed weekdays, school
/// days only, until the student leaves.
fn student_sessions(
    rng: &mut Rng,
    cal: &Calendar,
    prov: &ProviderSim,
    st: &mut StudentSim,
    (k, j): (usize, usize),
    dosage_selection: bool,
    sessions: &mut Vec<Sess>,
) {
    let weeks = rng.int(PLAN_WEEKS.0, PLAN_WEEKS.1);
    let mut days = [0usize, 1, 2, 3, 4];
    rng.shuffle(&mut days);
    let mut on = [false; 7];
    for &d in &days[..SESSIONS_PER_WEEK] {
        on[d] = true;
    }
    let li = if st.p.low_income { ATTEND_LOW_INCOME } else { 0.0 };
    let student = ATTEND_STUDENT_SD * rng.normal() + li;
    let att_logit = logit(prov.attend) + if dosage_selection { student } else { 0.0 };
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
            let minutes = if status == Status::Attended { prov.draw_minutes(rng) } else { 0 };
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
