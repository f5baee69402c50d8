//! Settlement's view of the analytic file: one [`Student`] per analytic row, with the
//! first rule failed, the norm scores and, at a midpoint review, the projected post-test.

use super::midpoint::Midpoint;
use super::norms::{ContractNorms, norm_score};
use super::settle::{NoOutcome, Rule, Student};
use crate::data::join::AnalyticRow;
use crate::stats::norms::model::Scorer;

/// The rule an analytic row failed first, in flow order.
fn failed_rule(r: &AnalyticRow) -> Option<(Rule, String)> {
    let reason = || r.exclusion_reason.clone().unwrap_or_default();
    if r.analysed {
        None
    } else if !r.has_pre() {
        Some((Rule::NoPreTest, reason()))
    } else if r.enrolled_in_time == Some(false) {
        Some((Rule::Enrolment, reason()))
    } else if r.met_dosage == Some(false) {
        Some((Rule::Dosage, reason()))
    } else {
        Some((Rule::NoPostTest, reason()))
    }
}

/// Settlement's view of the analytic file. Consumes the rows (their text moves into the
/// students rather than being copied: at a million students the rows are the largest
/// structure held). At a midpoint review, each analysed student's post-test is replaced by
/// the projection ([`Midpoint`]).
pub fn students(rows: Vec<AnalyticRow>, norms: Option<&ContractNorms>, midpoint: Option<&Midpoint>) -> Vec<Student> {
    let scorer = norms.map(|n| Scorer::new(&n.model));
    rows.into_iter()
        .map(|r| {
            let pre = r.pre.as_ref().map(|t| t.score);
            let post = r.post.as_ref().map(|t| t.score);
            let score = match (&scorer, pre, post) {
                (Some(s), Some(a), Some(b)) => norm_score(s, &r.subject, r.grade, a, b, r.weeks_between),
                (None, _, _) => Err(NoOutcome::NoNorms),
                _ => Err(NoOutcome::NoTests),
            };
            let excluded = failed_rule(&r);
            let served = r.provider_id.is_some() && r.enrolled_in_time != Some(false) && r.met_dosage != Some(false);
            let mut s = Student {
                excluded,
                served,
                pre,
                post,
                pre_sem: r.pre.as_ref().and_then(|t| t.sem),
                growth_se: r.growth_se,
                weeks: r.weeks_between,
                sessions: r.dosage.sessions_attended,
                minutes: r.dosage.minutes_attended,
                score,
                analysed: r.analysed,
                grade: r.grade,
                groups: r.groups,
                student_id: r.student_id,
                subject: r.subject,
                school: r.school_id,
                provider: r.provider_id,
                tutor: r.tutor_id,
                vendor: r.vendor,
                provider_source: r.provider_source,
            };
            if let (Some(m), Some(pre), Some(post), Some(w)) = (midpoint, &r.pre, &r.post, r.weeks_between) {
                m.project(&mut s, pre, post, w, scorer.as_ref());
            }
            s
        })
        .collect()
}

#[cfg(test)]
impl Student {
    /// An analysed student of `grade` in school "" with these tests, untutored, no groups,
    /// no norm score: the base of the unit tests' students (`Student { .., ..example }`).
    pub(crate) fn example(grade: i32, pre: Option<f64>, post: Option<f64>) -> Student {
        Student {
            student_id: String::new(),
            subject: "math".into(),
            school: String::new(),
            grade,
            provider: None,
            tutor: None,
            groups: Default::default(),
            analysed: true,
            excluded: None,
            served: false,
            pre,
            post,
            pre_sem: None,
            growth_se: None,
            weeks: None,
            sessions: 0,
            minutes: 0.0,
            score: Err(NoOutcome::NoNorms),
            vendor: None,
            provider_source: Default::default(),
        }
    }
}
