//! The known truth behind a simulated district (`truth.json`): the spec, the model's
//! parameters, headline counts, and per school, provider and tutor what was drawn and
//! what was realised.

use serde::{Deserialize, Serialize};

use super::calendar::{Calendar, Holiday, window_bounds};
use super::generate::{StudentSim, World};
use super::messy::MessyTruth;
// `model_params` copies every parameter of the model into the truth.
use super::model::*;
use super::spec::{SimSpec, school_year_label};

/// Everything known about how the data were made (`truth.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// Name and version of the generator.
    pub generator: String,
    /// The spec that produced the data.
    pub spec: SimSpec,
    /// The prior school year of `history.csv`.
    pub history_school_year: String,
    /// Model parameters.
    pub model: ModelParams,
    /// Headline counts.
    pub summary: Summary,
    /// Per school.
    pub schools: Vec<SchoolTruth>,
    /// Per provider (sorted by ID number).
    pub providers: Vec<ProviderTruth>,
    /// Per tutor (sorted by provider, then tutor number).
    pub tutors: Vec<TutorTruth>,
    /// Faults injected in messy mode (`null` in clean mode).
    pub messy: Option<MessyTruth>,
    /// Per school year, oldest history year first and the current year last: students and
    /// the realised growth shift ν_y. Written only when `spec.history_years` or
    /// `spec.cohort_sd` is not at its default (a default district's truth is unchanged).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cohorts: Vec<CohortTruth>,
}

/// One school year of a district with several history years or cohort drift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CohortTruth {
    /// `"2023-24"`.
    pub school_year: String,
    /// `true` for the tutoring year, `false` for a history year.
    pub current: bool,
    /// Students of the cohort (roster or history).
    pub n_students: usize,
    /// ν_y: shift of every student's growth rate (points per 28 instructional weeks; not
    /// rounded).
    pub growth_shift_points: f64,
    /// ν_y / σ.
    pub growth_shift_sd: f64,
}

/// Parameters of the data-generating model (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelParams {
    /// Description of the scale.
    pub scale: String,
    /// Within-grade SD σ of true status; effects in SD units are × σ in points.
    pub scale_sd: f64,
    /// SD of school effects u_s (points).
    pub school_effect_sd: f64,
    /// SD of student effects a_i (points), sqrt(σ² − school SD²).
    pub student_effect_sd: f64,
    /// Fall means and growth by grade.
    pub grades: Vec<GradeParams>,
    /// Instructional weeks the grade growth γ_g refers to (28).
    pub growth_reference_weeks: f64,
    /// λ: change in growth (points per reference period) per SD of fall status.
    pub growth_status_slope: f64,
    /// SD of student growth-rate noise η (points per reference period).
    pub growth_noise_sd: f64,
    /// Growth formula.
    pub growth_formula: String,
    /// Measurement model.
    pub measurement: MeasurementParams,
    /// Demographics.
    pub demographics: DemographicParams,
    /// Selection into tutoring.
    pub selection: SelectionParams,
    /// Provider and tutor effects.
    pub effects: EffectParams,
    /// Dose-response function.
    pub dose_response: DoseResponseParams,
    /// Session scheduling and attendance.
    pub sessions: SessionParams,
    /// Attrition and missing tests.
    pub missingness: MissingnessParams,
    /// Calendar and testing windows.
    pub calendar: CalendarParams,
}

/// Per-grade parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GradeParams {
    /// Grade.
    pub grade: u8,
    /// μ_g, mean true fall status.
    pub fall_mean: f64,
    /// γ_g, mean growth per 28 instructional weeks without tutoring.
    pub growth_per_reference_weeks: f64,
}

/// Measurement model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasurementParams {
    /// SEM formula.
    pub sem_formula: String,
    /// Intercept of the SEM curve.
    pub sem_base: f64,
    /// Curvature in z².
    pub sem_curvature: f64,
    /// SD of SEM noise.
    pub sem_noise_sd: f64,
    /// Lower clip.
    pub sem_min: f64,
    /// Upper clip.
    pub sem_max: f64,
    /// Observed score formula.
    pub score_formula: String,
    /// Probability a test is flagged invalid.
    pub invalid_rate: f64,
    /// Invalid tests lose U(min, max) extra points.
    pub invalid_score_drop: (f64, f64),
    /// Scores are clipped to this range.
    pub score_range: (f64, f64),
}

/// A category and its population share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Category {
    /// Value written in the CSV.
    pub value: String,
    /// Probability.
    pub share: f64,
}

/// Demographic model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemographicParams {
    /// How yes/no flags are written.
    pub flag_format: String,
    /// Marginal base rate of low income at average status.
    pub low_income_rate: f64,
    /// Logit slope of low income on (θᶠ − μ_g)/σ.
    pub low_income_status_slope: f64,
    /// Race/ethnicity shares.
    pub race_ethnicity: Vec<Category>,
    /// English learner rate.
    pub english_learner_rate: f64,
    /// Disability rate.
    pub disability_rate: f64,
    /// Gender shares.
    pub gender: Vec<Category>,
}

/// Selection into tutoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionParams {
    /// Formula.
    pub formula: String,
    /// Intercept.
    pub intercept: f64,
    /// Coefficient on the observed fall z-score.
    pub fall_z_coef: f64,
    /// Coefficient on low income.
    pub low_income_coef: f64,
}

/// Provider and tutor effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectParams {
    /// How the provider full-dose effects are set.
    pub provider_formula: String,
    /// Largest provider effect (SD units).
    pub max_provider_effect_sd: f64,
    /// SD of tutor effects (SD units).
    pub tutor_effect_sd: f64,
    /// Individual effect formula.
    pub individual_formula: String,
}

/// Dose-response function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DoseResponseParams {
    /// f(m).
    pub formula: String,
    /// κ.
    pub kappa: f64,
    /// M*, planned full dose in minutes.
    pub full_dose_minutes: f64,
    /// Planned sessions per week.
    pub planned_sessions_per_week: usize,
    /// Planned programme length in weeks (inclusive range).
    pub planned_weeks: (i64, i64),
    /// Nominal session length used for M*.
    pub nominal_session_minutes: f64,
}

/// Session scheduling and attendance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionParams {
    /// Provider mean attendance ρ_k ~ U(min, max).
    pub provider_attendance: (f64, f64),
    /// SD of the student attendance logit.
    pub student_attendance_logit_sd: f64,
    /// Attendance logit shift for low-income students.
    pub low_income_attendance_logit: f64,
    /// Attendance logit decline over the programme (× elapsed fraction).
    pub attendance_decline_logit: f64,
    /// Provider cancellation rate c_k ~ U(min, max).
    pub provider_cancel_rate: (f64, f64),
    /// Possible provider session lengths L_k (minutes).
    pub provider_session_minutes: Vec<u32>,
    /// SD of attended minutes around L_k.
    pub minutes_noise_sd: f64,
    /// Attended minutes are clipped to this range.
    pub minutes_clip: (f64, f64),
    /// Max group size G_k is uniform on 1..=4; a session has G_k students w.p. this.
    pub group_full_prob: f64,
    /// Students per tutor ~ U(min, max) per provider–school pair.
    pub students_per_tutor: (f64, f64),
    /// Enrolment = fall test + U{min..max} days (next school day).
    pub enroll_lag_days: (i64, i64),
}

/// Attrition and missing tests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingnessParams {
    /// Share of students who leave the district mid-year.
    pub district_exit_rate: f64,
    /// P(missing winter test).
    pub winter_missing: f64,
    /// P(missing spring test), comparison students and history cohort.
    pub spring_missing_comparison: f64,
    /// Base P(missing spring test), tutored students.
    pub spring_missing_tutored_base: f64,
    /// Additional P(missing spring) × (1 − attendance rate), tutored students.
    pub spring_missing_tutored_low_attendance: f64,
    /// Formula.
    pub formula: String,
}

/// Calendar and testing windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarParams {
    /// First day of school (current year).
    pub first_day: String,
    /// Last day of school (current year).
    pub last_day: String,
    /// Closures (current year).
    pub holidays: Vec<Holiday>,
    /// First day of school (history year).
    pub history_first_day: String,
    /// Last day of school (history year).
    pub history_last_day: String,
    /// How school test dates are drawn.
    pub school_test_dates: String,
    /// Students test 0..=this many school days after their school's date.
    pub max_student_jitter_school_days: i64,
    /// Bounds of the testing windows (current year); clean data never falls outside.
    pub window_bounds: Vec<WindowBounds>,
    /// Mean instructional weeks between fall and spring test dates.
    pub mean_weeks_fall_to_spring: f64,
}

/// The accepted date range of a testing window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowBounds {
    /// `fall`, `winter` or `spring`.
    pub window: String,
    /// First accepted date.
    pub from: String,
    /// Last accepted date.
    pub to: String,
}

/// Headline counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Current-year students.
    pub n_students: usize,
    /// Tutored students.
    pub n_tutored: usize,
    /// Comparison students.
    pub n_comparison: usize,
    /// n_tutored / n_students.
    pub tutored_share: f64,
    /// Schools.
    pub n_schools: usize,
    /// Tutors.
    pub n_tutors: usize,
    /// Students who left the district mid-year.
    pub n_exited: usize,
    /// Mean observed fall score of tutored students.
    pub mean_fall_score_tutored: Option<f64>,
    /// Mean observed fall score of comparison students.
    pub mean_fall_score_comparison: Option<f64>,
    /// Tutored students without a spring test.
    pub n_spring_missing_tutored: usize,
    /// Comparison students without a spring test.
    pub n_spring_missing_comparison: usize,
    /// History-cohort students (every history year).
    pub n_history_students: usize,
    /// Rows in roster.csv (incl. messy duplicates).
    pub roster_rows: usize,
    /// Rows in sessions.csv.
    pub session_rows: usize,
    /// Rows in assessments.csv.
    pub assessment_rows: usize,
    /// Rows in history.csv.
    pub history_rows: usize,
}

/// Per school.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolTruth {
    /// `S01`….
    pub school_id: String,
    /// u_s in points.
    pub effect_points: f64,
    /// u_s / σ.
    pub effect_sd: f64,
    /// Providers serving the school.
    pub providers: Vec<String>,
    /// Current-year students.
    pub n_students: usize,
    /// Tutored students.
    pub n_tutored: usize,
    /// History-cohort students.
    pub n_history_students: usize,
    /// School fall test date (current year).
    pub fall_date: String,
    /// School winter test date.
    pub winter_date: String,
    /// School spring test date.
    pub spring_date: String,
    /// School fall test date (history year).
    pub history_fall_date: String,
    /// School spring test date (history year).
    pub history_spring_date: String,
}

/// Per provider: nominal effect and what was realised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderTruth {
    /// `P1`….
    pub provider_id: String,
    /// d_k, full-dose effect in SD units.
    pub effect_sd: f64,
    /// d_k × σ, full-dose effect in points.
    pub effect_points: f64,
    /// Schools served.
    pub schools: Vec<String>,
    /// Tutored students on the roster with this provider.
    pub n_rostered: usize,
    /// Tutors.
    pub n_tutors: usize,
    /// ρ_k, mean attendance propensity.
    pub attendance_propensity: f64,
    /// c_k, cancellation rate.
    pub cancel_rate: f64,
    /// L_k, nominal session length.
    pub session_minutes: u32,
    /// G_k, largest group size.
    pub max_group_size: u8,
    /// Mean over tutored students of δᵢ (points) at the spring date.
    pub realised_mean_points: Option<f64>,
    /// The same in SD units (÷ σ).
    pub realised_mean_sd: Option<f64>,
    /// Between-student SD of δᵢ (points).
    pub realised_sd_points: Option<f64>,
    /// Tutored students with a valid spring post-test.
    pub n_with_posttest: usize,
    /// Mean δᵢ (points) over students with a valid post-test.
    pub realised_mean_points_posttest: Option<f64>,
    /// The same in SD units.
    pub realised_mean_sd_posttest: Option<f64>,
    /// Mean scheduled sessions per student.
    pub mean_scheduled_sessions: Option<f64>,
    /// Mean attended sessions per student.
    pub mean_attended_sessions: Option<f64>,
    /// Mean attended minutes (before the spring test) per student.
    pub mean_attended_minutes: Option<f64>,
    /// Mean f(minutes) per student.
    pub mean_dose_fraction: Option<f64>,
}

/// Per tutor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TutorTruth {
    /// `P1-T03`.
    pub tutor_id: String,
    /// Provider.
    pub provider_id: String,
    /// School where the tutor works.
    pub school_id: String,
    /// τ_j (SD units).
    pub effect_sd: f64,
    /// τ_j × σ (points).
    pub effect_points: f64,
    /// (d_k + τ_j) × σ, full-dose effect of this tutor's students (points).
    pub total_effect_points: f64,
    /// Students.
    pub n_students: usize,
    /// Mean δᵢ (points) over the tutor's students.
    pub realised_mean_points: Option<f64>,
}

/// Rows written to each file (messy duplicates, retests and unknown students included).
pub(super) struct RowCounts {
    pub(super) roster: usize,
    pub(super) sessions: usize,
    pub(super) assessments: usize,
    pub(super) history: usize,
}

/// The truth of a drawn district.
pub(super) fn build(
    spec: &SimSpec,
    world: &World,
    rows: RowCounts,
    history_school_year: String,
    messy: Option<MessyTruth>,
) -> Truth {
    Truth {
        generator: format!("obc::simulate {}", env!("CARGO_PKG_VERSION")),
        spec: spec.clone(),
        history_school_year,
        model: model_params(&world.cal, &world.hcal, mean(&world.weeks_fall_to_spring).unwrap_or(0.0), spec.tutor_sd),
        summary: summary(world, rows),
        schools: schools(world),
        providers: providers(world),
        tutors: tutors(world),
        messy,
        cohorts: cohorts(spec, world),
    }
}

/// [`Truth::cohorts`]: empty at the default `history_years` and `cohort_sd`.
fn cohorts(spec: &SimSpec, world: &World) -> Vec<CohortTruth> {
    if spec.history_years == 1 && spec.cohort_sd == 0.0 {
        return Vec::new();
    }
    let nu = &world.cohort_shifts;
    let cohort = |school_year: String, current: bool, n_students: usize, shift: f64| CohortTruth {
        school_year,
        current,
        n_students,
        growth_shift_points: shift,
        growth_shift_sd: shift / SCALE_SD,
    };
    let mut out: Vec<CohortTruth> = world
        .earlier
        .iter()
        .zip(&nu[2..])
        .rev()
        .map(|(y, &shift)| cohort(y.label.clone(), false, y.students.len(), shift))
        .collect();
    out.push(cohort(school_year_label(world.year - 1), false, world.history.len(), nu[1]));
    out.push(cohort(school_year_label(world.year), true, world.students.len(), nu[0]));
    out
}

fn summary(world: &World, rows: RowCounts) -> Summary {
    let students = &world.students;
    let n = students.len();
    let tutored: Vec<&StudentSim> = students.iter().filter(|s| s.tutored).collect();
    let fall_t: Vec<f64> = tutored.iter().map(|s| f64::from(s.fall_score)).collect();
    let fall_c: Vec<f64> = students.iter().filter(|s| !s.tutored).map(|s| f64::from(s.fall_score)).collect();
    Summary {
        n_students: n,
        n_tutored: tutored.len(),
        n_comparison: n - tutored.len(),
        tutored_share: r4(tutored.len() as f64 / n as f64),
        n_schools: world.schools.len(),
        n_tutors: world.tutors.len(),
        n_exited: students.iter().filter(|s| s.exit.is_some()).count(),
        mean_fall_score_tutored: mean(&fall_t).map(r4),
        mean_fall_score_comparison: mean(&fall_c).map(r4),
        n_spring_missing_tutored: tutored.iter().filter(|s| !s.has_spring).count(),
        n_spring_missing_comparison: students.iter().filter(|s| !s.tutored && !s.has_spring).count(),
        n_history_students: world.history.len() + world.earlier.iter().map(|y| y.students.len()).sum::<usize>(),
        roster_rows: rows.roster,
        session_rows: rows.sessions,
        assessment_rows: rows.assessments,
        history_rows: rows.history,
    }
}

fn schools(world: &World) -> Vec<SchoolTruth> {
    let mut per_school = vec![(0usize, 0usize, 0usize); world.schools.len()];
    for st in &world.students {
        per_school[st.p.school].0 += 1;
        per_school[st.p.school].1 += usize::from(st.tutored);
    }
    for h in world.history.iter().chain(world.earlier.iter().flat_map(|y| &y.students)) {
        per_school[h.p.school].2 += 1;
    }
    world
        .schools
        .iter()
        .enumerate()
        .map(|(s, sch)| SchoolTruth {
            school_id: sch.id.clone(),
            effect_points: r4(sch.effect),
            effect_sd: r4(sch.effect / SCALE_SD),
            providers: sch.providers.iter().map(|&k| world.providers[k].id.clone()).collect(),
            n_students: per_school[s].0,
            n_tutored: per_school[s].1,
            n_history_students: per_school[s].2,
            fall_date: sch.fall.to_string(),
            winter_date: sch.winter.to_string(),
            spring_date: sch.spring.to_string(),
            history_fall_date: sch.h_fall.to_string(),
            history_spring_date: sch.h_spring.to_string(),
        })
        .collect()
}

fn providers(world: &World) -> Vec<ProviderTruth> {
    world
        .providers
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let mine: Vec<&StudentSim> = world.students.iter().filter(|s| s.tutored && s.provider == Some(k)).collect();
            let eff: Vec<f64> = mine.iter().map(|s| s.effect_spring).collect();
            let eff_post: Vec<f64> = mine.iter().filter(|s| s.has_valid_spring).map(|s| s.effect_spring).collect();
            let f = |g: &dyn Fn(&StudentSim) -> f64| -> Option<f64> {
                let v: Vec<f64> = mine.iter().map(|s| g(s)).collect();
                opt_r4(mean(&v))
            };
            ProviderTruth {
                provider_id: p.id.clone(),
                effect_sd: r4(p.effect_sd),
                effect_points: r4(p.effect_sd * SCALE_SD),
                schools: world.schools.iter().filter(|s| s.providers.contains(&k)).map(|s| s.id.clone()).collect(),
                n_rostered: mine.len(),
                n_tutors: world.tutors.iter().filter(|t| t.provider == k).count(),
                attendance_propensity: r4(p.attend),
                cancel_rate: r4(p.cancel),
                session_minutes: p.minutes,
                max_group_size: p.max_group,
                realised_mean_points: opt_r4(mean(&eff)),
                realised_mean_sd: opt_r4(mean(&eff).map(|m| m / SCALE_SD)),
                realised_sd_points: opt_r4(sd(&eff)),
                n_with_posttest: eff_post.len(),
                realised_mean_points_posttest: opt_r4(mean(&eff_post)),
                realised_mean_sd_posttest: opt_r4(mean(&eff_post).map(|m| m / SCALE_SD)),
                mean_scheduled_sessions: f(&|s| f64::from(s.scheduled)),
                mean_attended_sessions: f(&|s| f64::from(s.attended)),
                mean_attended_minutes: f(&|s| f64::from(s.minutes_spring)),
                mean_dose_fraction: f(&|s| s.dose_spring),
            }
        })
        .collect()
}

fn tutors(world: &World) -> Vec<TutorTruth> {
    let mut tutor_effects: Vec<Vec<f64>> = vec![Vec::new(); world.tutors.len()];
    for st in world.students.iter().filter(|s| s.tutored) {
        if let Some(j) = st.tutor {
            tutor_effects[j].push(st.effect_spring);
        }
    }
    let providers = &world.providers;
    world
        .tutors
        .iter()
        .zip(&tutor_effects)
        .map(|(t, eff)| TutorTruth {
            tutor_id: t.id.clone(),
            provider_id: providers[t.provider].id.clone(),
            school_id: world.schools[t.school].id.clone(),
            effect_sd: r4(t.effect_sd),
            effect_points: r4(t.effect_sd * SCALE_SD),
            total_effect_points: r4((providers[t.provider].effect_sd + t.effect_sd) * SCALE_SD),
            n_students: eff.len(),
            realised_mean_points: opt_r4(mean(eff)),
        })
        .collect()
}

fn model_params(cal: &Calendar, hcal: &Calendar, mean_weeks: f64, tutor_sd: f64) -> ModelParams {
    let y = cal.start_year;
    ModelParams {
        scale: "RIT-like vertical scale (NWEA MAP style), integer scores".to_string(),
        scale_sd: SCALE_SD,
        school_effect_sd: SCHOOL_SD,
        student_effect_sd: r4((SCALE_SD * SCALE_SD - SCHOOL_SD * SCHOOL_SD).sqrt()),
        grades: (0..GRADES.len())
            .map(|g| GradeParams { grade: GRADES[g], fall_mean: FALL_MEAN[g], growth_per_reference_weeks: GROWTH[g] })
            .collect(),
        growth_reference_weeks: REF_WEEKS,
        growth_status_slope: GROWTH_STATUS_SLOPE,
        growth_noise_sd: GROWTH_NOISE_SD,
        growth_formula: "theta(t) = theta_fall + r * W(fall_date, t) / 28 + delta(t); \
             r = gamma_g + lambda * (theta_fall - mu_g) / 15 + eta, eta ~ N(0, 5^2); \
             W = school days in [fall_date, t) / 5"
            .to_string(),
        measurement: MeasurementParams {
            sem_formula: "sem = round1(clip(2.7 + 0.25 z^2 + 0.1 N(0,1), 2.6, 3.6)), \
                 z = (theta - (mu_g + gamma_g W/28)) / 15"
                .to_string(),
            sem_base: SEM_BASE,
            sem_curvature: SEM_CURV,
            sem_noise_sd: SEM_NOISE_SD,
            sem_min: SEM_MIN,
            sem_max: SEM_MAX,
            score_formula: "score = round(theta + sem * N(0,1)) [- U(3,20) if invalid], clipped to 100..350"
                .to_string(),
            invalid_rate: INVALID_RATE,
            invalid_score_drop: INVALID_DROP,
            score_range: SCORE_RANGE,
        },
        demographics: DemographicParams {
            flag_format: "Y/N".to_string(),
            low_income_rate: LOW_INCOME_RATE,
            low_income_status_slope: LOW_INCOME_SLOPE,
            race_ethnicity: RACE.iter().map(|(v, s)| Category { value: v.to_string(), share: *s }).collect(),
            english_learner_rate: EL_RATE,
            disability_rate: DISABILITY_RATE,
            gender: GENDER.iter().map(|(v, s)| Category { value: v.to_string(), share: *s }).collect(),
        },
        selection: SelectionParams {
            formula: "P(tutored) = logistic(intercept + fall_z_coef * (observed_fall - mu_g) / 15 \
                 + low_income_coef * low_income)"
                .to_string(),
            intercept: SEL_INTERCEPT,
            fall_z_coef: SEL_FALL_Z,
            low_income_coef: SEL_LOW_INCOME,
        },
        effects: EffectParams {
            provider_formula: "d = 0.30 * r / (K - 1), r = 0..K-1 (0.15 if K = 1), randomly permuted over provider IDs"
                .to_string(),
            max_provider_effect_sd: MAX_PROVIDER_EFFECT_SD,
            tutor_effect_sd: tutor_sd,
            individual_formula: "delta_i(t) = 15 * (d_k + tau_j) * f(attended minutes before t); \
                 realised effect = delta_i(spring test date)"
                .to_string(),
        },
        dose_response: DoseResponseParams {
            formula: "f(m) = (1 - exp(-kappa * min(m, M)/M)) / (1 - exp(-kappa))".to_string(),
            kappa: DOSE_KAPPA,
            full_dose_minutes: FULL_DOSE_MINUTES,
            planned_sessions_per_week: SESSIONS_PER_WEEK,
            planned_weeks: PLAN_WEEKS,
            nominal_session_minutes: NOMINAL_MINUTES,
        },
        sessions: SessionParams {
            provider_attendance: ATTEND_RANGE,
            student_attendance_logit_sd: ATTEND_STUDENT_SD,
            low_income_attendance_logit: ATTEND_LOW_INCOME,
            attendance_decline_logit: ATTEND_DECLINE,
            provider_cancel_rate: CANCEL_RANGE,
            provider_session_minutes: SESSION_LENGTHS.to_vec(),
            minutes_noise_sd: MINUTES_NOISE_SD,
            minutes_clip: MINUTES_CLIP,
            group_full_prob: GROUP_FULL_PROB,
            students_per_tutor: STUDENTS_PER_TUTOR,
            enroll_lag_days: ENROLL_LAG_DAYS,
        },
        missingness: MissingnessParams {
            district_exit_rate: EXIT_RATE,
            winter_missing: MISS_WINTER,
            spring_missing_comparison: MISS_SPRING_COMPARISON,
            spring_missing_tutored_base: MISS_SPRING_TUTORED_BASE,
            spring_missing_tutored_low_attendance: MISS_SPRING_TUTORED_LOW_ATT,
            formula: "tutored: 0.05 + 0.20 * (1 - attended / (attended + absent)); comparison: 0.08; \
                 exited students have no tests after exit_date"
                .to_string(),
        },
        calendar: CalendarParams {
            first_day: cal.first_day.to_string(),
            last_day: cal.last_day.to_string(),
            holidays: cal.holiday_list(),
            history_first_day: hcal.first_day.to_string(),
            history_last_day: hcal.last_day.to_string(),
            school_test_dates: "next school day of: fall 2 Sep + U{0..21} days, winter 12 Jan + U{0..14}, \
                 spring 27 Apr + U{0..18}"
                .to_string(),
            max_student_jitter_school_days: MAX_STUDENT_JITTER,
            window_bounds: ["fall", "winter", "spring"]
                .iter()
                .map(|w| {
                    let (a, b) = window_bounds(w, y).expect("known window");
                    WindowBounds { window: w.to_string(), from: a.to_string(), to: b.to_string() }
                })
                .collect(),
            mean_weeks_fall_to_spring: r4(mean_weeks),
        },
    }
}

/// `x` rounded to 4 decimals, as every derived number in `truth.json` is.
fn r4(x: f64) -> f64 {
    round_to(x, 4)
}

fn opt_r4(x: Option<f64>) -> Option<f64> {
    x.map(r4)
}

/// Arithmetic mean; `None` for no values.
pub(super) fn mean(v: &[f64]) -> Option<f64> {
    if v.is_empty() { None } else { Some(v.iter().sum::<f64>() / v.len() as f64) }
}

/// Sample standard deviation (n − 1); 0 for one value, `None` for none.
fn sd(v: &[f64]) -> Option<f64> {
    let m = mean(v)?;
    if v.len() < 2 {
        return Some(0.0);
    }
    let ss: f64 = v.iter().map(|x| (x - m) * (x - m)).sum();
    Some((ss / (v.len() - 1) as f64).sqrt())
}
