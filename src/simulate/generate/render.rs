//! Rendering the typed district as the text rows of the files, with the per-row faults of
//! messy mode (none in clean mode).

use chrono::{Datelike, NaiveDate};

use super::{ProviderSim, Sess, Test, TutorSim, World};
use crate::simulate::messy::{
    DUPLICATE, LOST_ZERO, SCORE_EMPTY, SCORE_NA, SEM_EMPTY, SEM_NA, SessFaults, TEXT_EMPTY, TEXT_NA, TEXT_UNIT,
    TestFaults, US_DATE,
};
use crate::simulate::model::GRADES;
use crate::simulate::rows::{AssessmentRow, RosterRow, SessionRow};

/// A student ID as a 6-digit zero-padded string.
pub(super) fn sid_str(id: u32) -> String {
    format!("{id:06}")
}

/// A yes/no flag as written: `Y` or `N`.
pub(super) fn yn(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

/// A date in US form, `m/d/Y` without zero padding.
fn us_date(d: NaiveDate) -> String {
    format!("{}/{}/{}", d.month(), d.day(), d.year())
}

/// A student ID as written under fault flags `f`: padded, or without its leading zeros.
fn id_text(sid: u32, f: u16) -> String {
    if f & LOST_ZERO != 0 { sid.to_string() } else { sid_str(sid) }
}

/// A date as written under fault flags `f`: ISO, or US form.
fn date_text(d: NaiveDate, f: u16) -> String {
    if f & US_DATE != 0 { us_date(d) } else { d.to_string() }
}

/// A numeric field as written under fault flags `f`: `N/A` when bit `na` is set, empty
/// when bit `empty` is, else `value`.
fn numeric_text(f: u16, na: u16, empty: u16, value: String) -> String {
    if f & na != 0 {
        "N/A".to_string()
    } else if f & empty != 0 {
        String::new()
    } else {
        value
    }
}

/// The rows of `roster.csv`, one per current-year student, in student-ID order.
pub(super) fn roster(world: &World) -> Vec<RosterRow> {
    world
        .students
        .iter()
        .map(|st| RosterRow {
            student_id: sid_str(st.id),
            school_id: world.schools[st.p.school].id.clone(),
            grade: GRADES[st.p.grade_idx].to_string(),
            provider_id: st.provider.map(|k| world.providers[k].id.clone()).unwrap_or_default(),
            tutor_id: st.tutor.map(|j| world.tutors[j].id.clone()).unwrap_or_default(),
            enroll_date: st.enroll.to_string(),
            exit_date: st.exit.map(|d| d.to_string()).unwrap_or_default(),
            low_income: yn(st.p.low_income),
            race_ethnicity: st.p.race.to_string(),
            english_learner: yn(st.p.el),
            disability: yn(st.p.disability),
            gender: st.p.gender.to_string(),
        })
        .collect()
}

/// The rows of `sessions.csv`; a row flagged as a duplicate is written twice.
pub(in crate::simulate) fn render_sessions(
    sessions: &[Sess],
    providers: &[ProviderSim],
    tutors: &[TutorSim],
    faults: &SessFaults,
) -> Vec<SessionRow> {
    let mut out = Vec::with_capacity(sessions.len() + faults.duplicates());
    for (i, s) in sessions.iter().enumerate() {
        let f = faults.flags[i];
        let row = SessionRow {
            student_id: id_text(s.sid, f),
            provider_id: match faults.provider_override(i) {
                Some(p) => p.to_string(),
                None => providers[s.provider].id.clone(),
            },
            tutor_id: tutors[s.tutor].id.clone(),
            session_date: date_text(s.date, f),
            minutes: if f & TEXT_UNIT != 0 {
                format!("{} min", s.minutes)
            } else {
                numeric_text(f, TEXT_NA, TEXT_EMPTY, s.minutes.to_string())
            },
            status: s.status.as_str().to_string(),
            group_size: s.group.to_string(),
        };
        if f & DUPLICATE != 0 {
            out.push(row.clone());
        }
        out.push(row);
    }
    out
}

/// The rows of `assessments.csv`.
pub(in crate::simulate) fn render_tests(
    tests: &[Test],
    subject: &str,
    school_year: &str,
    faults: &TestFaults,
) -> Vec<AssessmentRow> {
    let mut out = Vec::with_capacity(tests.len());
    for (i, t) in tests.iter().enumerate() {
        let f = faults.flags[i];
        out.push(AssessmentRow {
            student_id: id_text(t.sid, f),
            subject: subject.to_string(),
            test_date: date_text(t.date, f),
            window: t.window.as_str().to_string(),
            school_year: school_year.to_string(),
            grade: t.grade.to_string(),
            scale_score: numeric_text(f, SCORE_NA, SCORE_EMPTY, t.score.to_string()),
            sem: numeric_text(f, SEM_NA, SEM_EMPTY, format!("{:.1}", t.sem)),
            valid: t.valid.to_string(),
        });
    }
    out
}
