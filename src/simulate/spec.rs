//! What to simulate: [`SimSpec`], its defaults and its checks.

use serde::{Deserialize, Serialize};

/// Smallest allowed `SimSpec::students`.
pub const MIN_STUDENTS: usize = 50;
/// Largest allowed `SimSpec::students` (6-digit IDs must stay distinct).
pub const MAX_STUDENTS: usize = 250_000;
/// Largest allowed `SimSpec::providers`.
pub const MAX_PROVIDERS: usize = 26;

/// What to simulate.
///
/// The last three fields are settings for simulation studies (docs/methods.md,
/// "Calibration of the OC curves"); at their defaults the district is today's model, and
/// they are left out of `truth.json`'s `spec`, so a default spec writes the same files as
/// before they existed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Chosen full-dose provider effects `d_k` in SD units, one per provider (0 allowed,
    /// each in `[-1, 2]`), assigned to provider IDs by the same random permutation as the
    /// default grid. `None` (default): the grid `0.30 · r/(K−1)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_effects: Option<Vec<f64>>,
    /// Who is tutored (default [`Selection::FallScoreAndIncome`], the rule of the module
    /// docs).
    #[serde(default, skip_serializing_if = "Selection::is_default")]
    pub selection: Selection,
    /// Whether dosage and attrition depend on the student (default `true`, the model of the
    /// module docs): the student's attendance logit (`ζᵢ`, low income) and the tutored
    /// students' spring missingness rising with their absence rate. With `false`, every
    /// tutored student of a provider attends with `logistic(logit ρ_k − 0.4 p)` and misses
    /// the spring test with the comparison students' probability 0.08 (the random numbers
    /// are drawn all the same, so everything else is unchanged).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub dosage_selection: bool,
    /// Scale points per 28 instructional weeks by which a low-income student's growth rate
    /// `r_i` is lowered, in the history and the current cohort alike (default 0). Growth
    /// norms condition on the pre-test, not on income, so with a positive value students
    /// selected on low income grow less than like-scoring students do: a population the
    /// baseline must match on income to predict settlement (docs/methods.md 10.5). No
    /// random number is drawn for it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub low_income_growth: f64,
}

/// Who is tutored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// `P(Tᵢ = 1) = logistic(−0.75 − 1.2 zᶠᵢ + 0.4 LIᵢ)` on the observed fall z-score and
    /// low income (≈ 40 % tutored).
    #[default]
    FallScoreAndIncome,
    /// `P(Tᵢ = 1) = 0.40` for every student: no selection on the pre-test or on anything
    /// else (the same random number is drawn, so everything else is unchanged).
    Random,
}

impl Selection {
    fn is_default(&self) -> bool {
        *self == Selection::default()
    }
}

fn yes() -> bool {
    true
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn is_true(b: &bool) -> bool {
    *b
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
            provider_effects: None,
            selection: Selection::default(),
            dosage_selection: true,
            low_income_growth: 0.0,
        }
    }
}

/// Why a [`SimSpec`] cannot be simulated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    /// `provider_effects` does not hold one effect per provider.
    #[error("provider_effects must hold one effect per provider ({providers}), got {got}")]
    ProviderEffectCount {
        /// Effects given.
        got: usize,
        /// Providers.
        providers: usize,
    },
    /// A chosen provider effect that is not a number in `[-1, 2]`.
    #[error("provider effects must be numbers between -1 and 2 SD, got {0}")]
    ProviderEffect(f64),
    /// A low-income growth shortfall that is not a number in `[-15, 15]` points.
    #[error("low_income_growth must be a number of scale points between -15 and 15, got {0}")]
    LowIncomeGrowth(f64),
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
    if let Some(d) = &spec.provider_effects {
        if d.len() != spec.providers {
            return Err(SimError::ProviderEffectCount { got: d.len(), providers: spec.providers });
        }
        if let Some(&bad) = d.iter().find(|x| !(-1.0..=2.0).contains(*x)) {
            return Err(SimError::ProviderEffect(bad));
        }
    }
    if !(-15.0..=15.0).contains(&spec.low_income_growth) {
        return Err(SimError::LowIncomeGrowth(spec.low_income_growth));
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
