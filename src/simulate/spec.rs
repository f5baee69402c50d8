//! What to simulate: [`SimSpec`], its defaults and its checks.

use serde::{Deserialize, Serialize};

use super::model::TUTOR_SD;

/// Smallest allowed `SimSpec::students`.
pub const MIN_STUDENTS: usize = 50;
/// Largest allowed `SimSpec::students` (6-digit IDs must stay distinct).
pub const MAX_STUDENTS: usize = 250_000;
/// Largest allowed `SimSpec::providers`.
pub const MAX_PROVIDERS: usize = 26;
/// Largest allowed `SimSpec::history_years`.
pub const MAX_HISTORY_YEARS: usize = 10;
/// Largest allowed `SimSpec::tutor_sd` (SD units).
pub const MAX_TUTOR_SD: f64 = 0.5;
/// Largest allowed `SimSpec::cohort_sd` (scale points per 28 instructional weeks).
pub const MAX_COHORT_SD: f64 = 20.0;
/// Most student IDs a district may need (current cohort, every history cohort and messy
/// mode's unknown students), so that 6-digit IDs stay distinct and quick to draw.
pub const MAX_IDS: usize = 750_000;

/// What to simulate.
///
/// The last five fields are settings for simulation studies (docs/methods.md,
/// "Calibration of the OC curves" and "Several history years"); at their defaults the
/// district is today's model, and they are left out of `truth.json`'s `spec`, so a default
/// spec writes the same files as before they existed.
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
    /// Prior school years written to `history.csv` (`1..=MAX_HISTORY_YEARS`, default 1):
    /// years Y−h..Y−1, each a fresh cohort of the same model with its own students and IDs.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub history_years: usize,
    /// SD of the school-year growth shift ν_y (scale points per 28 instructional weeks,
    /// default 0): every student's growth rate of school year y (each history year and the
    /// current year) is shifted by ν_y ~ N(0, cohort_sd²), the between-year drift of the
    /// business-as-usual level.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cohort_sd: f64,
    /// SD of the tutor effects τ_j (SD units, default 0.05, in `[0, MAX_TUTOR_SD]`): how
    /// much of a provider's effect belongs to its tutors, the within-school correlation of
    /// the few-cluster coverage study (docs/methods.md 3.8).
    #[serde(default = "default_tutor_sd", skip_serializing_if = "is_default_tutor_sd")]
    pub tutor_sd: f64,
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

fn default_tutor_sd() -> f64 {
    TUTOR_SD
}

fn is_default_tutor_sd(x: &f64) -> bool {
    *x == TUTOR_SD
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
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
            history_years: 1,
            cohort_sd: 0.0,
            tutor_sd: TUTOR_SD,
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
    /// `history_years` outside `1..=MAX_HISTORY_YEARS`.
    #[error("history_years must be between 1 and {max}, got {got}")]
    HistoryYears {
        /// Requested number.
        got: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// `cohort_sd` not a number in `[0, MAX_COHORT_SD]`.
    #[error("cohort_sd must be a number between 0 and {max} scale points, got {got}")]
    CohortSd {
        /// Requested SD.
        got: f64,
        /// Maximum allowed.
        max: f64,
    },
    /// `tutor_sd` not a number in `[0, MAX_TUTOR_SD]`.
    #[error("tutor_sd must be a number between 0 and {max} SD, got {got}")]
    TutorSd {
        /// Requested SD.
        got: f64,
        /// Maximum allowed.
        max: f64,
    },
    /// More students over all cohorts than 6-digit IDs allow ([`MAX_IDS`]).
    #[error(
        "{students} students with {years} history years need about {needed} distinct IDs, more than {max}: \
         fewer students or history years"
    )]
    TooManyIds {
        /// Current-year students.
        students: usize,
        /// History years.
        years: usize,
        /// IDs needed.
        needed: usize,
        /// Maximum.
        max: usize,
    },
}

/// Student IDs a spec may draw: the current cohort, up to `1.05 N` per history year and
/// messy mode's unknown students (at most `N/2 + 1000`).
pub(super) fn ids_needed(students: usize, history_years: usize) -> usize {
    students + history_years * (students + students.div_ceil(20)) + students / 2 + 1000
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
    if !(1..=MAX_HISTORY_YEARS).contains(&spec.history_years) {
        return Err(SimError::HistoryYears { got: spec.history_years, max: MAX_HISTORY_YEARS });
    }
    if !(0.0..=MAX_COHORT_SD).contains(&spec.cohort_sd) {
        return Err(SimError::CohortSd { got: spec.cohort_sd, max: MAX_COHORT_SD });
    }
    if !(0.0..=MAX_TUTOR_SD).contains(&spec.tutor_sd) {
        return Err(SimError::TutorSd { got: spec.tutor_sd, max: MAX_TUTOR_SD });
    }
    let needed = ids_needed(spec.students, spec.history_years);
    if needed > MAX_IDS {
        let (students, years) = (spec.students, spec.history_years);
        return Err(SimError::TooManyIds { students, years, needed, max: MAX_IDS });
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
