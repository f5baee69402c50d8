//! What to simulate: [`SimSpec`], its defaults and its checks.

use serde::{Deserialize, Serialize};

/// Smallest allowed `SimSpec::students`.
pub const MIN_STUDENTS: usize = 50;
/// Largest allowed `SimSpec::students` (6-digit IDs must stay distinct).
pub const MAX_STUDENTS: usize = 250_000;
/// Largest allowed `SimSpec::providers`.
pub const MAX_PROVIDERS: usize = 26;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSpec {
    /// Number of students in the current-year roster (`MIN_STUDENTS..=MAX_STUDENTS`).
    pub students: usize,
    /// Number of tutoring providers `K` (1..=26).
    pub providers: usize,
    /// Seed of the single ChaCha8 random number generator.
    pub seed: u64,
    /// Inject the faults of real exports (see [`MessyTruth`](super::MessyTruth)).
    pub messy: bool,
    /// School year of the tutoring programme, `"YYYY-YY"` (default `"2025-26"`).
    pub school_year: String,
    /// Subject written in the assessment files (default `"math"`).
    pub subject: String,
}

impl Default for SimSpec {
    fn default() -> Self {
        SimSpec {
            students: 5000,
            providers: 6,
            seed: 20251,
            messy: false,
            school_year: "2025-26".to_string(),
            subject: "math".to_string(),
        }
    }
}

/// Why a [`SimSpec`] cannot be simulated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Fewer than [`MIN_STUDENTS`] students.
    #[error("too few students: {got} (minimum {min})")]
    TooFewStudents {
        /// Requested number.
        got: usize,
        /// Minimum allowed.
        min: usize,
    },
    /// More than [`MAX_STUDENTS`] students.
    #[error("too many students: {got} (maximum {max})")]
    TooManyStudents {
        /// Requested number.
        got: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// Provider count outside 1..=26.
    #[error("number of providers must be between 1 and {max}, got {got}")]
    ProviderCount {
        /// Requested number.
        got: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// `school_year` not of the form `YYYY-YY` with consecutive years.
    #[error("school_year must look like \"2025-26\" (consecutive years), got {0:?}")]
    BadSchoolYear(String),
    /// Empty subject.
    #[error("subject must not be empty")]
    EmptySubject,
}

/// Checks `spec` and returns the first calendar year of its school year.
pub(super) fn check(spec: &SimSpec) -> Result<i32, SimError> {
    if spec.students < MIN_STUDENTS {
        return Err(SimError::TooFewStudents { got: spec.students, min: MIN_STUDENTS });
    }
    if spec.students > MAX_STUDENTS {
        return Err(SimError::TooManyStudents { got: spec.students, max: MAX_STUDENTS });
    }
    if spec.providers < 1 || spec.providers > MAX_PROVIDERS {
        return Err(SimError::ProviderCount { got: spec.providers, max: MAX_PROVIDERS });
    }
    if spec.subject.trim().is_empty() {
        return Err(SimError::EmptySubject);
    }
    parse_school_year(&spec.school_year).ok_or_else(|| SimError::BadSchoolYear(spec.school_year.clone()))
}

/// Parses `"2025-26"` into 2025.
pub fn parse_school_year(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 7 || b[4] != b'-' || !b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let yy: i32 = s[5..].parse().ok()?;
    if !(1900..=2200).contains(&y) || (y + 1) % 100 != yy {
        return None;
    }
    Some(y)
}

/// Writes 2025 as `"2025-26"`.
pub(super) fn school_year_label(y: i32) -> String {
    format!("{}-{:02}", y, (y + 1) % 100)
}
