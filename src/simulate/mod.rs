//! # Synthetic school district with known truth
//!
//! [`generate`] builds a fake district (roster, tutoring sessions, test
//! scores, a prior-year history cohort) from a [`SimSpec`], and [`write()`]
//! exports it as the CSV files a district would send plus `truth.json`, the
//! parameters and realised effects the data were generated from. Everything
//! comes from one ChaCha8 generator seeded with `SimSpec::seed`, drawn in a
//! fixed order, so the same spec always gives byte-identical files.
//!
//! ## Data-generating model
//!
//! Notation: student *i* in school *s*, grade *g* ∈ {3,…,8}, tutored by
//! provider *k* and tutor *j*; σ = 15 is the within-grade SD of the scale
//! ("RIT-like", like NWEA MAP).
//!
//! **Structure.** `S = max(4, ⌊N/250⌋, ⌈K/2⌉)` schools (the third term only
//! matters when there are many providers: each school has at most 2). School
//! sizes ∝ U(0.7, 1.3); grades are uniform over 3–8.
//!
//! **Fall status** (true score on the student's fall test date):
//!
//! ```text
//! θᶠᵢ = μ_g + u_s + a_i,   u_s ~ N(0, 5²),   a_i ~ N(0, 15² − 5²)
//! μ_g = 200 + 6 (g − 3)                       (200, 206, …, 230)
//! ```
//!
//! **Growth without tutoring.** Each student has a growth rate per 28
//! instructional weeks, and growth is proportional to the instructional weeks
//! `W(a, b)` = (school days in [a, b)) / 5 between the fall test and date t:
//!
//! ```text
//! r_i   = γ_g + λ (θᶠᵢ − μ_g)/σ + η_i,   η_i ~ N(0, 5²),  λ = −1
//! γ_g   = 10 − 1.2 (g − 3)                  (10.0, 8.8, 7.6, 6.4, 5.2, 4.0)
//! θᵢ(t) = θᶠᵢ + r_i · W(tᶠᵢ, t) / 28 + δᵢ(t)
//! ```
//!
//! **Tutoring effect.** Provider *k* has a full-dose effect `d_k` (in SD
//! units); the grid `0.30 · r/(K−1)`, r = 0…K−1 (0.15 when K = 1), is
//! assigned to provider IDs by a random permutation, so the ID does not
//! reveal the rank. Tutor *j* adds `τ_j ~ N(0, 0.05²)`. With `Mᵢ(t)` the
//! minutes attended in sessions dated before t,
//!
//! ```text
//! δᵢ(t) = σ (d_k + τ_j) f(Mᵢ(t)),
//! f(m)  = (1 − exp(−κ min(m, M*)/M*)) / (1 − exp(−κ)),   κ = 2, M* = 2200
//! ```
//!
//! f is concave, f(0) = 0, f(M*) = 1, and flat beyond the planned full dose
//! M* = 55 sessions × 40 minutes (the typical programme: 3 sessions/week for
//! 22 weeks, less ~11 sessions lost to holidays). δ is 0 for comparison
//! students. The "realised effect" reported for a student in `truth.json` is
//! δᵢ at the student's spring test date (whether or not the test was taken).
//!
//! **Measurement.** A test at date t gives
//!
//! ```text
//! z    = (θᵢ(t) − m_g(t))/σ,   m_g(t) = μ_g + γ_g W(tᶠ, t)/28
//! SEM  = round₀.₁( clip(2.7 + 0.25 z² + 0.1 ν, 2.6, 3.6) ),   ν ~ N(0,1)
//! y    = round( θᵢ(t) + SEM · ε ),   ε ~ N(0,1)
//! ```
//!
//! With probability 0.02 a test is flagged `valid=false` (rapid guessing): its
//! score is additionally lowered by U(3, 20). Scores are clipped to 100–350.
//!
//! **Demographics** (flags written `Y`/`N`):
//! `P(low_income) = logistic(logit(0.45) − 0.5 (θᶠ − μ_g)/σ)` (weakly
//! related to status); race/ethnicity White .40, Hispanic .28, Black .17,
//! Asian .07, Multiracial .06, Other .02; English learner .12; disability
//! .13; gender F .49, M .49, X .02 (these four independent of everything).
//!
//! **Selection into tutoring** on the *observed* fall score:
//!
//! ```text
//! P(Tᵢ = 1) = logistic(−0.75 − 1.2 zᶠᵢ + 0.4 LIᵢ),   zᶠᵢ = (yᶠᵢ − μ_g)/σ
//! ```
//!
//! giving ≈ 40 % tutored. Each school is served by 1–2 providers (every
//! provider serves at least one school); a tutored student gets one of the
//! school's providers (split U(0.35, 0.65) when there are two) and a tutor of
//! that provider at that school; each provider–school pair has
//! `max(1, round(n / U(8, 12)))` tutors, filled round-robin after a shuffle.
//!
//! **Calendar and test dates.** School starts on the first Wednesday on or
//! after 11 August and ends on the first Friday on or after 29 May, with the
//! usual US holidays and breaks (see `calendar`). Each school has its own
//! test dates: fall = next school day of 2 Sep + U{0..21} days, winter = 12
//! Jan + U{0..14}, spring = 27 Apr + U{0..18}; each student tests 0–4 school
//! days after the school's date.
//!
//! **Sessions.** Enrolment = next school day of (fall test + U{5..15} days).
//! The planned programme is U{20..24} weeks from enrolment, on 3 fixed
//! weekdays per student (random 3 of Mon–Fri), school days only. Provider *k*
//! has a mean attendance ρ_k ~ U(0.78, 0.92), cancellation rate
//! c_k ~ U(0.03, 0.08), session length L_k ∈ {35, 40, 45} and a maximum
//! group size G_k ∈ {1,…,4}. Each scheduled session is `cancelled` with
//! probability c_k, otherwise `attended` with probability
//! `logistic(logit ρ_k + 1.0 ζᵢ − 0.3 LIᵢ − 0.4 p)`, (ζᵢ ~ N(0,1), p the
//! fraction of the programme elapsed), else `absent`. Attended minutes =
//! clip(round(L_k + 4 ε), 20, 60); `group_size` = G_k w.p. 0.7, else U{1..G_k}.
//!
//! **Attrition and missing tests.** 3 % of students leave the district on a
//! random school day between 15 Oct and 17 Apr (`exit_date`; no later tests
//! or sessions). Winter tests are missing w.p. 0.05. Spring tests are missing
//! w.p. 0.08 for comparison students and `0.05 + 0.20 (1 − aᵢ)` for tutored
//! students, aᵢ = attended / (attended + absent) (0 when no sessions).
//!
//! **History.** A prior-year cohort (year Y−1) of `round(N · U(0.95, 1.05))`
//! different students (IDs never collide with the current cohort), same
//! schools and school effects, same model with δ = 0, fall and spring tests
//! only (3 % exit, 8 % missing spring, 2 % invalid). With
//! `SimSpec::history_years = h`, years Y−h..Y−1 (see below).
//!
//! **IDs.** Student IDs are distinct integers drawn uniformly from
//! 1..=P, P = clip(1.6 · (2.5 N + 1000), 399 999, 999 999) (so P = 399 999
//! up to N ≈ 100 000), written as 6-digit zero-padded strings, so about a
//! quarter start with `0`. Schools `S01`…,
//! providers `P1`…`PK`, tutors `P3-T07` (numbered within provider).
//!
//! ## Settings for simulation studies
//!
//! Six [`SimSpec`] fields change the model for studies such as the calibration of the
//! OC curves (docs/methods.md 10.5) and the between-year drift of business as usual
//! (10.6); at their defaults the model is the one above.
//! `low_income_growth = g` lowers every low-income student's growth rate by g points
//! (`r_i − g · LIᵢ`, every cohort alike; no random number drawn), so that growth depends
//! on something the norms do not condition on but selection does.
//! `provider_effects` replaces the effect grid by chosen effects (0 allowed), assigned by
//! the same permutation; `selection = Selection::Random` tutors every student with
//! probability 0.40 (no selection on the pre-test or low income); `dosage_selection =
//! false` drops the student terms (ζᵢ, low income) from the attendance logit and gives
//! tutored students the comparison students' spring missingness 0.08. The switches skip
//! no random draw of their own (the permutation, the selection draw and the student's
//! attendance term are drawn all the same), so with chosen effects a district differs
//! from its default twin only in its scores after the fall; with random selection other
//! students are tutored, and without dosage selection other sessions are attended (each
//! draws its minutes), and every later draw differs. The switches are recorded in
//! `truth.json`'s `spec` when not at their defaults.
//!
//! `history_years = h` (default 1, `1..=10`) writes the prior years Y−h..Y−1 into
//! `history.csv` (sorted by student ID and date, each row with its own `school_year`).
//! Every year is a fresh cohort of `round(N · U(0.95, 1.05))` students of the same model,
//! schools and school effects, with its own calendar, its own school test dates (drawn as
//! for Y−1) and its own IDs, which never collide with another year's or the current
//! cohort's. `cohort_sd = s` (default 0, in scale points per 28 instructional weeks,
//! `0..=20`) gives each school year y (every history year and the current year) a growth
//! shift ν_y ~ N(0, s²) added to every student's growth rate,
//!
//! ```text
//! r_i = γ_g + λ (θᶠᵢ − μ_g)/σ + η_i + ν_y,
//! ```
//!
//! a between-year drift of the business-as-usual level (ν_y does not enter m_g(t), so the
//! SEMs of a year with a large shift are a little larger). Neither setting draws from the
//! model's generator: ν_y come from ChaCha8 stream 1 of the seed (current year first, then
//! Y−1, Y−2, …; exactly 0 when s = 0) and the years before Y−1 from stream 2 (Y−2 first:
//! school test dates, the number of students, IDs, then the cohort as in `history`). So
//! with `history_years > 1` the current year and year Y−1 are row for row those of the
//! default district, and a further year leaves the earlier ones unchanged; with
//! `cohort_sd > 0` only the scores after the fall tests move. In messy mode, unknown
//! students still get IDs of no cohort (so their IDs, and the faults drawn after them, may
//! differ from the default district's). The realised ν_y, with each year's number of
//! students, are written to `truth.json`'s `cohorts` when either setting is not at its
//! default, and the written contract names every history year's winter break in
//! `[history] breaks`.
//!
//! ## Messy mode
//!
//! With `SimSpec::messy`, faults typical of real exports are injected at the
//! rates in [`MessyRates`] (exact counts `max(1, round(rate · candidates))`)
//! and recorded in `Truth::messy`. See [`MessyTruth`] for the list. The
//! history file is never made messy.
//!
//! ## Files
//!
//! [`SimSpec`] and its checks live in `spec`, the model's parameters and closed-form
//! parts in `model`, the seeded generator in `rng`, the school calendar in `calendar`;
//! `generate` draws the district, `messy` adds the faults, `rows` holds the tables'
//! rows, `truth` the known truth, and `write` writes the files and a contract; `nwea`
//! writes the tests as NWEA MAP Growth exports (`obc simulate --format nwea`).

mod calendar;
mod generate;
mod iready;
mod messy;
mod model;
mod nwea;
mod rng;
mod rows;
mod spec;
mod truth;
mod write;

#[cfg(test)]
mod tests;

pub use calendar::{Holiday, window_bounds};
pub use generate::{District, generate};
pub use iready::{HEADER as IREADY_HEADER, RUSH_FLAG, iready_file_names, iready_subject, write_iready};
pub use messy::{MessyRates, MessyTruth, TextCounts};
pub use model::{FULL_DOSE_MINUTES, FULL_DOSE_SESSIONS, dose_fraction};
pub use nwea::{NWEA_FILE_NAMES, RAPID_GUESSING_LIMIT, assessment_results_header, map_subject, write_nwea};
pub use rows::{
    ASSESSMENTS_HEADER, AssessmentRow, HISTORY_HEADER, HistoryRow, ROSTER_HEADER, RosterRow, SESSIONS_HEADER,
    SessionRow,
};
pub use spec::{
    MAX_COHORT_SD, MAX_HISTORY_YEARS, MAX_IDS, MAX_PROVIDERS, MAX_STUDENTS, MIN_STUDENTS, Selection, SimError, SimSpec,
    parse_school_year,
};
pub use truth::{
    CalendarParams, Category, CohortTruth, DemographicParams, DoseResponseParams, EffectParams, GradeParams,
    MeasurementParams, MissingnessParams, ModelParams, ProviderTruth, SchoolTruth, SelectionParams, SessionParams,
    Summary, Truth, TutorTruth, WindowBounds,
};
pub use write::{
    CONTRACT_FILE, FILE_NAMES, contract_toml, iready_contract_toml, nwea_contract_toml, write, write_contract,
    write_iready_contract, write_nwea_contract,
};
