//! A midpoint review (`obc check --as-of`): the contract with prorated dosage rules and the
//! interim test as the post-test, the projection of each student's growth to the planned
//! post-test date, and the dosage delivered so far (README "Midpoint review").

use std::collections::BTreeMap;

use super::error::ContractError;
use super::norms::norm_score;
use super::results::{MidpointDosage, MidpointReport, Projection};
use super::settle::{NoOutcome, Rule, Settlement, Student};
use super::terms::Contract;
use crate::data::join::PickedTest;
use crate::stats::norms::model::Scorer;
use chrono::NaiveDate;

/// A midpoint review (`--as-of`): the contract with prorated dosage rules and the interim
/// test as the post-test, and the projection to the planned post-test date.
///
/// Projection: a counted student's growth from the pre-test to the interim test is scaled
/// to the planned post-test date by instructional weeks (growth linear in weeks), and the
/// outcome is scored at the projected post-test and the full weeks. The metric, its
/// bootstrap replicates and hence the chance of meeting each threshold (the share of
/// replicates at least the threshold) are computed on the projections. Assumptions: growth
/// continues at the same weekly rate and dosage continues as delivered so far.
pub struct Midpoint {
    pub as_of: NaiveDate,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Share of the service period elapsed at `as_of`.
    pub fraction: f64,
    pub post_date: NaiveDate,
    /// The contract with prorated dosage rules and the interim test as the post-test.
    pub terms: Contract,
}

impl Midpoint {
    /// The review at `as_of`: needs `[midpoint] service_start`, `service_end` and `interim`.
    pub fn new(contract: &Contract, as_of: NaiveDate) -> Result<Midpoint, ContractError> {
        let m = &contract.midpoint;
        let (Some(start), Some(end)) = (m.service_start, m.service_end) else {
            return Err(ContractError::Midpoint(
                "--as-of needs [midpoint] service_start and service_end (the contracted service period)".into(),
            ));
        };
        let Some(interim) = m.interim.clone() else {
            return Err(ContractError::Midpoint(
                "--as-of needs [midpoint] interim = { window = ... }: the test used to project growth".into(),
            ));
        };
        let post_date = match (contract.tests.post.from, contract.tests.post.to) {
            (Some(a), Some(b)) => a.0 + (b.0 - a.0) / 2,
            _ => end.0,
        };
        let span = (end.0 - start.0).num_days().max(1) as f64;
        let fraction = ((as_of - start.0).num_days() as f64 / span).clamp(0.0, 1.0);
        let mut terms = contract.clone();
        terms.eligibility.min_sessions = (f64::from(contract.eligibility.min_sessions) * fraction).floor() as u32;
        terms.eligibility.min_minutes = (contract.eligibility.min_minutes * fraction).floor();
        terms.tests.post = interim;
        Ok(Midpoint { as_of, start: start.0, end: end.0, fraction, post_date, terms })
    }

    /// Replaces a student's post-test by the projection (module docs).
    pub fn project(&self, s: &mut Student, pre: &PickedTest, post: &PickedTest, w: f64, scorer: Option<&Scorer>) {
        let breaks = crate::data::join::break_days(&self.terms.tests, pre.date, self.post_date);
        let full = ((self.post_date - pre.date).num_days() - breaks) as f64 / 7.0;
        if !(w > 0.0 && full >= w) {
            if s.analysed {
                s.analysed = false;
                s.excluded =
                    Some((Rule::NoPostTest, "interim test too close to the pre-test to project growth".into()));
            }
            return;
        }
        let projected = pre.score + (post.score - pre.score) * full / w;
        s.post = Some(projected);
        s.weeks = Some(full);
        s.score = match scorer {
            Some(sc) => norm_score(sc, &s.subject, s.grade, pre.score, projected, Some(full)),
            None => Err(NoOutcome::NoNorms),
        };
    }

    /// Per provider: rostered students, sessions attended and the contracted share to date.
    pub fn dosage(&self, students: &[Student]) -> Vec<MidpointDosage> {
        let mut by: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
        for r in students {
            if let Some(p) = &r.provider {
                let e = by.entry(p.clone()).or_default();
                e.0 += 1;
                e.1 += u64::from(r.sessions);
                e.2 += u64::from(r.served);
            }
        }
        let contracted = self.terms.midpoint.contracted_sessions.map(|c| c * self.fraction);
        by.into_iter()
            .map(|(provider, (n, attended, meeting))| {
                let mean = attended as f64 / n as f64;
                MidpointDosage {
                    provider,
                    rostered: n,
                    attended,
                    mean,
                    meeting_dosage_rule: meeting,
                    contracted_to_date: contracted,
                    share: contracted.filter(|c| *c > 0.0).map(|c| mean / c),
                }
            })
            .collect()
    }

    /// Why outcomes cannot be projected yet: no student has an interim test dated on or
    /// before the as-of date (e.g. a review before the interim window). `None` when at
    /// least one has.
    pub fn projection_not_possible(&self, students: &[Student]) -> Option<String> {
        if students.iter().any(|s| s.post.is_some()) {
            return None;
        }
        let w = &self.terms.tests.post;
        let mut name =
            [w.window.as_deref(), w.school_year.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            name = "interim".into();
        }
        let opens = match w.from {
            Some(d) if d.0 > self.as_of => format!(" (its window opens {})", crate::data::date::iso(d.0)),
            _ => String::new(),
        };
        Some(format!(
            "no student has an interim test ({name}){opens} dated on or before {}, so outcomes cannot be projected yet; only dosage is reviewed",
            crate::data::date::iso(self.as_of)
        ))
    }

    /// The midpoint section of `results.json`.
    pub fn report(&self, terms: &Contract, students: &[Student], s: &Settlement) -> MidpointReport {
        let not_possible = self.projection_not_possible(students);
        let projection = s
            .providers
            .iter()
            .flat_map(|p| {
                p.tiers.iter().map(move |t| Projection {
                    provider: p.provider.clone(),
                    tier: t.name.clone(),
                    threshold: t.threshold,
                    projected_chance_of_meeting: t.p_at_least,
                    projected_decision: t.verdict,
                })
            })
            .filter(|_| not_possible.is_none())
            .collect();
        MidpointReport {
            as_of: crate::data::date::iso(self.as_of),
            service_start: crate::data::date::iso(self.start),
            service_end: crate::data::date::iso(self.end),
            fraction_of_service_elapsed: self.fraction,
            prorated_min_sessions: terms.eligibility.min_sessions,
            prorated_min_minutes: terms.eligibility.min_minutes,
            interim_test: serde_json::to_value(&terms.tests.post).unwrap_or_default(),
            projected_post_date: crate::data::date::iso(self.post_date),
            assumptions: "growth from the pre-test to the interim test continues at the same rate per instructional week until the planned post-test date; dosage continues as delivered; the chance of meeting a threshold is the share of bootstrap replicates of the projected metric at least the threshold; payments shown are projections".into(),
            dosage: self.dosage(students),
            projection,
            projection_not_possible: not_possible,
        }
    }
}
