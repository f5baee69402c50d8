//! The four tables a simulated district sends, one typed row per CSV line, with their
//! headers in file order.

use serde::{Deserialize, Serialize};

/// Header of `roster.csv`.
pub const ROSTER_HEADER: [&str; 12] = [
    "student_id",
    "school_id",
    "grade",
    "provider_id",
    "tutor_id",
    "enroll_date",
    "exit_date",
    "low_income",
    "race_ethnicity",
    "english_learner",
    "disability",
    "gender",
];
/// Header of `sessions.csv`.
pub const SESSIONS_HEADER: [&str; 7] =
    ["student_id", "provider_id", "tutor_id", "session_date", "minutes", "status", "group_size"];
/// Header of `assessments.csv`.
pub const ASSESSMENTS_HEADER: [&str; 9] =
    ["student_id", "subject", "test_date", "window", "school_year", "grade", "scale_score", "sem", "valid"];
/// Header of `history.csv`.
pub const HISTORY_HEADER: [&str; 15] = [
    "student_id",
    "school_id",
    "subject",
    "test_date",
    "window",
    "school_year",
    "grade",
    "scale_score",
    "sem",
    "valid",
    "low_income",
    "race_ethnicity",
    "english_learner",
    "disability",
    "gender",
];

/// One row of `roster.csv` (one per current-year student; duplicated rows
/// only in messy mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RosterRow {
    /// 6-digit zero-padded student ID.
    pub student_id: String,
    /// School, `S01`….
    pub school_id: String,
    /// Grade 3–8.
    pub grade: String,
    /// Provider (`P1`…), empty for comparison students.
    pub provider_id: String,
    /// Tutor (`P1-T03`), empty for comparison students.
    pub tutor_id: String,
    /// Tutoring enrolment date for tutored students, first day of school otherwise.
    pub enroll_date: String,
    /// Date the student left the district, mostly empty.
    pub exit_date: String,
    /// `Y`/`N`.
    pub low_income: String,
    /// Race/ethnicity category.
    pub race_ethnicity: String,
    /// `Y`/`N`.
    pub english_learner: String,
    /// `Y`/`N`.
    pub disability: String,
    /// `F`, `M` or `X`.
    pub gender: String,
}

/// One row of `sessions.csv` (one per scheduled session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Student ID.
    pub student_id: String,
    /// Provider ID.
    pub provider_id: String,
    /// Tutor ID.
    pub tutor_id: String,
    /// Date of the session.
    pub session_date: String,
    /// Minutes attended (0 when absent or cancelled).
    pub minutes: String,
    /// `attended`, `absent` or `cancelled`.
    pub status: String,
    /// Number of students in the group (1–4).
    pub group_size: String,
}

/// One row of `assessments.csv` (current school year).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentRow {
    /// Student ID.
    pub student_id: String,
    /// Subject (from the spec).
    pub subject: String,
    /// Test date.
    pub test_date: String,
    /// `fall`, `winter` or `spring`.
    pub window: String,
    /// School year, e.g. `2025-26`.
    pub school_year: String,
    /// Grade 3–8.
    pub grade: String,
    /// Integer scale score.
    pub scale_score: String,
    /// Standard error of measurement, one decimal.
    pub sem: String,
    /// `true`/`false`.
    pub valid: String,
}

/// One row of `history.csv` (prior school year, no tutoring).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Student ID (never an ID of the current roster).
    pub student_id: String,
    /// School ID.
    pub school_id: String,
    /// Subject.
    pub subject: String,
    /// Test date.
    pub test_date: String,
    /// `fall` or `spring`.
    pub window: String,
    /// Prior school year, e.g. `2024-25`.
    pub school_year: String,
    /// Grade 3–8.
    pub grade: String,
    /// Integer scale score.
    pub scale_score: String,
    /// SEM, one decimal.
    pub sem: String,
    /// `true`/`false`.
    pub valid: String,
    /// `Y`/`N`.
    pub low_income: String,
    /// Race/ethnicity.
    pub race_ethnicity: String,
    /// `Y`/`N`.
    pub english_learner: String,
    /// `Y`/`N`.
    pub disability: String,
    /// `F`/`M`/`X`.
    pub gender: String,
}

impl RosterRow {
    pub(super) fn fields(&self) -> [&str; 12] {
        [
            &self.student_id,
            &self.school_id,
            &self.grade,
            &self.provider_id,
            &self.tutor_id,
            &self.enroll_date,
            &self.exit_date,
            &self.low_income,
            &self.race_ethnicity,
            &self.english_learner,
            &self.disability,
            &self.gender,
        ]
    }
}

impl SessionRow {
    pub(super) fn fields(&self) -> [&str; 7] {
        [
            &self.student_id,
            &self.provider_id,
            &self.tutor_id,
            &self.session_date,
            &self.minutes,
            &self.status,
            &self.group_size,
        ]
    }
}

impl AssessmentRow {
    pub(super) fn fields(&self) -> [&str; 9] {
        [
            &self.student_id,
            &self.subject,
            &self.test_date,
            &self.window,
            &self.school_year,
            &self.grade,
            &self.scale_score,
            &self.sem,
            &self.valid,
        ]
    }
}

impl HistoryRow {
    pub(super) fn fields(&self) -> [&str; 15] {
        [
            &self.student_id,
            &self.school_id,
            &self.subject,
            &self.test_date,
            &self.window,
            &self.school_year,
            &self.grade,
            &self.scale_score,
            &self.sem,
            &self.valid,
            &self.low_income,
            &self.race_ethnicity,
            &self.english_learner,
            &self.disability,
            &self.gender,
        ]
    }
}
