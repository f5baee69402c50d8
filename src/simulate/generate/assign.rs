//! Tutored students get one of their school's providers, and a tutor of that provider at
//! that school.

use super::{Members, ProviderSim, SchoolSim, StudentSim, TutorSim};
use crate::simulate::model::STUDENTS_PER_TUTOR;
use crate::simulate::rng::Rng;

/// Gives every tutored student one of the school's providers (the first with probability
/// `first_share` when there are two), and makes sure that a school's second provider is
/// not left without students. Returns the members of each provider–school pair.
pub(super) fn assign_providers(
    rng: &mut Rng,
    students: &mut [StudentSim],
    schools: &[SchoolSim],
    k_prov: usize,
) -> Members {
    let n_schools = schools.len();
    for st in students.iter_mut().filter(|s| s.tutored) {
        let sch = &schools[st.p.school];
        let k =
            if sch.providers.len() == 2 && !rng.bern(sch.first_share) { sch.providers[1] } else { sch.providers[0] };
        st.provider = Some(k);
    }
    // tutored students by (provider, school), in student-ID order
    let mut members_of: Members = vec![Vec::new(); k_prov * n_schools];
    for (i, st) in students.iter().enumerate() {
        if let Some(k) = st.provider {
            members_of[k * n_schools + st.p.school].push(i);
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
    members_of
}

/// Each provider–school pair gets `max(1, round(n / U(8, 12)))` tutors with effects
/// τ_j ~ N(0, tutor_sd²) (`SimSpec::tutor_sd`, default 0.05), filled round-robin after a shuffle of its students. Tutors are
/// numbered within their provider.
pub(super) fn draw_tutors(
    rng: &mut Rng,
    providers: &[ProviderSim],
    students: &mut [StudentSim],
    mut members_of: Members,
    n_schools: usize,
    tutor_sd: f64,
) -> Vec<TutorSim> {
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
                    effect_sd: tutor_sd * rng.normal(),
                });
            }
            for (pos, &i) in members.iter().enumerate() {
                students[i].tutor = Some(first + pos % n_t);
            }
        }
    }
    tutors
}
