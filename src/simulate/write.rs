//! Writing a simulated district: the four CSV files and `truth.json` ([`write()`]), and a
//! contract that settles it ([`contract_toml`]).

use std::io;
use std::path::{Path, PathBuf};

use super::calendar::window_bounds;
use super::generate::District;
use super::rows::{
    ASSESSMENTS_HEADER, AssessmentRow, HISTORY_HEADER, HistoryRow, ROSTER_HEADER, RosterRow, SESSIONS_HEADER,
    SessionRow,
};
use super::spec::{SimSpec, parse_school_year};
use crate::data::date::iso;
use crate::data::output::OutputDir;
use crate::error::OutputError;

/// File names written by [`write()`], in the order of the returned paths.
pub const FILE_NAMES: [&str; 5] = ["roster.csv", "sessions.csv", "assessments.csv", "history.csv", "truth.json"];
/// File name written by [`write_contract`].
pub const CONTRACT_FILE: &str = "contract.toml";

fn write_csv<'a, const N: usize>(
    out: &OutputDir,
    name: &str,
    header: &[&str; N],
    rows: impl Iterator<Item = [&'a str; N]>,
) -> Result<(), OutputError> {
    let mut file = out.create(name)?;
    let path = file.path().to_path_buf();
    let werr = |source: io::Error| OutputError::Write { path: path.clone(), source };
    {
        let mut w = csv::WriterBuilder::new().has_headers(false).buffer_capacity(1 << 16).from_writer(&mut file);
        w.write_record(header).map_err(|e| werr(e.into()))?;
        for r in rows {
            w.write_record(r).map_err(|e| werr(e.into()))?;
        }
        w.flush().map_err(werr)?;
    }
    file.commit()?;
    Ok(())
}

/// Writes `roster.csv`, `sessions.csv`, `assessments.csv`, `history.csv` and
/// `truth.json` (pretty JSON) into `dir` (created if needed) and returns
/// their paths in that order. Each file is written atomically ([`crate::data::output`]):
/// a symbolic link at a file's name is replaced, not followed.
pub fn write(district: &District, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    write_canonical(district, dir, &[0, 1, 2, 3, 4])?;
    Ok(FILE_NAMES.iter().map(|f| dir.join(f)).collect())
}

/// Writes the files of [`FILE_NAMES`] at the positions `which` into `dir` (created if
/// needed); returns the folder for further files.
pub(super) fn write_canonical(district: &District, dir: &Path, which: &[usize]) -> Result<OutputDir, OutputError> {
    let out = OutputDir::open(dir, &[], "manifest.json")?;
    if which.contains(&0) {
        write_csv(&out, FILE_NAMES[0], &ROSTER_HEADER, district.roster.iter().map(RosterRow::fields))?;
    }
    if which.contains(&1) {
        write_csv(&out, FILE_NAMES[1], &SESSIONS_HEADER, district.sessions.iter().map(SessionRow::fields))?;
    }
    if which.contains(&2) {
        write_csv(&out, FILE_NAMES[2], &ASSESSMENTS_HEADER, district.assessments.iter().map(AssessmentRow::fields))?;
    }
    if which.contains(&3) {
        write_csv(&out, FILE_NAMES[3], &HISTORY_HEADER, district.history.iter().map(HistoryRow::fields))?;
    }
    if which.contains(&4) {
        let mut json = serde_json::to_string_pretty(&district.truth).expect("the truth serializes (plain data)");
        json.push('\n');
        out.write(FILE_NAMES[4], json.as_bytes())?;
    }
    Ok(out)
}

/// Writes [`contract_toml`] for `spec` as [`CONTRACT_FILE`] into `dir` (created if
/// needed), atomically like [`write()`], and returns its path.
pub fn write_contract(spec: &SimSpec, dir: &Path) -> Result<PathBuf, OutputError> {
    OutputDir::open(dir, &[], "manifest.json")?.write(CONTRACT_FILE, contract_toml(spec).as_bytes())?;
    Ok(dir.join(CONTRACT_FILE))
}

/// Writes [`nwea_contract_toml`] for `spec` as [`CONTRACT_FILE`] into `dir`, as
/// [`write_contract`] does, and returns its path.
pub fn write_nwea_contract(spec: &SimSpec, dir: &Path) -> Result<PathBuf, OutputError> {
    OutputDir::open(dir, &[], "manifest.json")?.write(CONTRACT_FILE, nwea_contract_toml(spec).as_bytes())?;
    Ok(dir.join(CONTRACT_FILE))
}

/// Writes [`iready_contract_toml`] for `spec` as [`CONTRACT_FILE`] into `dir`, as
/// [`write_contract`] does, and returns its path.
pub fn write_iready_contract(spec: &SimSpec, dir: &Path) -> Result<PathBuf, OutputError> {
    OutputDir::open(dir, &[], "manifest.json")?.write(CONTRACT_FILE, iready_contract_toml(spec).as_bytes())?;
    Ok(dir.join(CONTRACT_FILE))
}

/// [`contract_toml`] for the i-Ready district of `obc simulate --format iready`
/// ([`super::iready`]): the same terms, with the tests read straight from the i-Ready
/// exports of the contract's subject (`spec.subject`, math or reading).
pub fn iready_contract_toml(spec: &SimSpec) -> String {
    let subject = super::iready::iready_subject(&spec.subject).unwrap_or(crate::data::vendor::iready::Subject::Math);
    let names = super::iready::iready_file_names(subject);
    let files = format!(
        r#"roster = "roster.csv"
sessions = "sessions.csv"
# The i-Ready Diagnostic exports of the subject, read as they come: rushed tests are not used.
assessments = {{ path = "{results}", format = "iready_diagnostic" }}
history = {{ path = "{history}", format = "iready_diagnostic" }}"#,
        results = names[2],
        history = names[3],
    );
    contract_with_files(spec, &files)
}

/// The `[files]` of the canonical district.
const CANONICAL_FILES: &str = r#"roster = "roster.csv"
sessions = "sessions.csv"
assessments = "assessments.csv"
history = "history.csv""#;

/// [`contract_toml`] for the MAP-format district of `obc simulate --format nwea`
/// ([`super::nwea`]): the same terms, with the tests read straight from the MAP exports.
pub fn nwea_contract_toml(spec: &SimSpec) -> String {
    let files = format!(
        r#"roster = "roster.csv"
sessions = "sessions.csv"
# The MAP exports, read as they come: tests rapid-guessed above {limit}% are not used.
assessments = {{ path = "{results}", format = "nwea_map", max_rapid_guessing = {limit} }}
history = {{ path = "{combined}", format = "nwea_map" }}"#,
        limit = super::nwea::RAPID_GUESSING_LIMIT,
        results = super::nwea::NWEA_FILE_NAMES[2],
        combined = super::nwea::NWEA_FILE_NAMES[3],
    );
    contract_with_files(spec, &files)
}

/// A contract for a simulated district: fall-to-spring growth with the simulator's test
/// windows as date ranges, 20 attended sessions, enrolled by 15 November of the school
/// year's first calendar year, and the winter break of the current year and of every
/// history year (`SimSpec::history_years`, oldest first).
pub fn contract_toml(spec: &SimSpec) -> String {
    contract_with_files(spec, CANONICAL_FILES)
}

/// The contract of [`contract_toml`] with the `[files]` table `files`.
fn contract_with_files(spec: &SimSpec, files: &str) -> String {
    let start: i32 = parse_school_year(&spec.school_year).unwrap_or(2025);
    let next = start + 1;
    let history_breaks: Vec<String> = (1..=spec.history_years as i32)
        .rev()
        .map(|h| format!("{{ from = \"{}-12-22\", to = \"{}-01-02\" }}", start - h, start - h + 1))
        .collect();
    let history_breaks = history_breaks.join(", ");
    let bounds = |w: &str| {
        let (from, to) = window_bounds(w, start).expect("fall and spring windows are defined");
        (iso(from), iso(to))
    };
    let (fall_from, fall_to) = bounds("fall");
    let (spring_from, spring_to) = bounds("spring");
    let sy = &spec.school_year;
    let subject = &spec.subject;
    format!(
        r#"# Contract for a district simulated by `obc simulate` (seed {seed}{messy}).
[contract]
name = "Simulated district {sy} {subject} tutoring"
subject = "{subject}"
grades = [3, 4, 5, 6, 7, 8]

[files]
{files}

[tests]
pre = {{ window = "fall", school_year = "{sy}", from = "{fall_from}", to = "{fall_to}" }}
post = {{ window = "spring", school_year = "{sy}", from = "{spring_from}", to = "{spring_to}" }}
retest = "min_sem_then_latest"
require_valid = true
breaks = [{{ from = "{start}-12-22", to = "{next}-01-02" }}]

# The history year's weeks skip its own winter break, as the current year's do; without it
# the norms expect too little growth of every current student (docs/methods.md 10.5).
[history]
breaks = [{history_breaks}]

[eligibility]
enrolled_by = "{start}-11-15"
min_sessions = 20
min_minutes = 0

[reporting]
groups = ["low_income", "race_ethnicity", "english_learner", "disability", "gender"]
min_cell = 10
attrition_boundary = "cautious"

# Growth norms fitted on the history cohort (the prior school year), per grade.
[norms]
method = "conditional"
min_n = 500

# A student meets the outcome when growth reaches the norm's expected growth.
[outcome]
kind = "growth_vs_norm"

# Provider metric: share of counted students meeting the outcome (about half of
# like students do without tutoring).
[metric]
kind = "share_meeting"

[decision]
rule = "lower_bound"
level = 0.90

[[thresholds]]
name = "tier 1"
value = 0.50
pool_share = 0.5

[[thresholds]]
name = "tier 2"
value = 0.60
pool_share = 1.0

[payment]
base_per_student = 670.0
base_basis = "served"
outcome_pool_per_student = 750.0
penalty_per_regressed = 0.0
cap = 400000.0

[inference]
replicates = 2000
seed = {seed}
cluster = "student"
interval = "percentile"

[midpoint]
interim = {{ window = "winter", school_year = "{sy}" }}
service_start = "{start}-09-15"
service_end = "{next}-04-30"
contracted_sessions = 55
"#,
        seed = spec.seed,
        messy = if spec.messy { ", messy" } else { "" },
    )
}
