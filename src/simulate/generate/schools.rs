//! Schools (effects, sizes, test dates), providers (effects, attendance, cancellations,
//! session length, group size) and which schools each provider serves.

use chrono::NaiveDate;

use super::{ProviderSim, SchoolSim};
use crate::simulate::calendar::{Calendar, add_days, ymd};
use crate::simulate::model::{ATTEND_RANGE, CANCEL_RANGE, MAX_PROVIDER_EFFECT_SD, SCHOOL_SD, SESSION_LENGTHS};
use crate::simulate::rng::Rng;
use crate::simulate::spec::SimSpec;

/// `S = max(4, ⌊N/250⌋, ⌈K/2⌉)` schools with their effects, sizes and the dates each one
/// tests on (tutoring year and history year).
pub(super) fn draw_schools(rng: &mut Rng, spec: &SimSpec, cal: &Calendar, hcal: &Calendar) -> Vec<SchoolSim> {
    let year = cal.start_year;
    let n_schools = 4.max(spec.students / 250).max(spec.providers.div_ceil(2));
    (0..n_schools)
        .map(|s| {
            let effect = SCHOOL_SD * rng.normal();
            let weight = rng.range(0.7, 1.3);
            let fall = cal.next_school_day(add_days(ymd(year, 9, 2), rng.int(0, 21) as u64));
            let winter = cal.next_school_day(add_days(ymd(year + 1, 1, 12), rng.int(0, 14) as u64));
            let spring = cal.next_school_day(add_days(ymd(year + 1, 4, 27), rng.int(0, 18) as u64));
            let (h_fall, h_spring) = history_test_dates(rng, hcal);
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
        .collect()
}

/// A school's fall and spring test dates in a history year (`cal`): the next school day of
/// 2 Sep + U{0..21} days and of 27 Apr + U{0..18} days.
pub(super) fn history_test_dates(rng: &mut Rng, cal: &Calendar) -> (NaiveDate, NaiveDate) {
    let y = cal.start_year;
    let fall = cal.next_school_day(add_days(ymd(y, 9, 2), rng.int(0, 21) as u64));
    let spring = cal.next_school_day(add_days(ymd(y + 1, 4, 27), rng.int(0, 18) as u64));
    (fall, spring)
}

/// `k_prov` providers: the effect grid `0.30 · r/(K−1)` (or the `chosen` effects) assigned
/// by a random permutation, then each provider's attendance, cancellation rate, session
/// length and group size.
pub(super) fn draw_providers(rng: &mut Rng, k_prov: usize, chosen: Option<&[f64]>) -> Vec<ProviderSim> {
    let mut grid: Vec<f64> = if let Some(d) = chosen {
        d.to_vec()
    } else if k_prov == 1 {
        vec![MAX_PROVIDER_EFFECT_SD / 2.0]
    } else {
        (0..k_prov).map(|r| MAX_PROVIDER_EFFECT_SD * r as f64 / (k_prov - 1) as f64).collect()
    };
    rng.shuffle(&mut grid);
    (0..k_prov)
        .map(|k| ProviderSim {
            id: format!("P{}", k + 1),
            effect_sd: grid[k],
            attend: rng.range(ATTEND_RANGE.0, ATTEND_RANGE.1),
            cancel: rng.range(CANCEL_RANGE.0, CANCEL_RANGE.1),
            minutes: SESSION_LENGTHS[rng.index(SESSION_LENGTHS.len())],
            max_group: rng.int(1, 4) as u8,
        })
        .collect()
}

/// Links schools and providers: every school gets 1–2 providers, every provider at least
/// one school; a school with two splits its tutored students U(0.35, 0.65).
pub(super) fn link_providers(rng: &mut Rng, schools: &mut [SchoolSim], k_prov: usize) {
    let n_schools = schools.len();
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
