//! `obc simulate --students N --providers K --seed S --out DIR [--messy]`

use std::path::PathBuf;

use crate::data::date::iso;
use crate::data::output::OutputDir;
use crate::simulate::{self, SimSpec};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of tutoring-year students (the history cohort is about as large).
    #[arg(long, default_value_t = 5000)]
    pub students: usize,
    /// Number of tutoring providers.
    #[arg(long, default_value_t = 6)]
    pub providers: usize,
    /// Seed of the random generator; same seed, same files.
    #[arg(long, default_value_t = 20251)]
    pub seed: u64,
    /// Add the faults of real exports (lost leading zeros, duplicates, retests, text in
    /// numeric columns, out-of-window and US-format dates, unknown IDs).
    #[arg(long)]
    pub messy: bool,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let spec = SimSpec {
        students: args.students,
        providers: args.providers,
        seed: args.seed,
        messy: args.messy,
        ..SimSpec::default()
    };
    let district = simulate::generate(&spec).map_err(|e| super::UserError(e.to_string()))?;
    let files = simulate::write(&district, &args.out)?;
    OutputDir::open(&args.out, &[], "manifest.json")?.write("contract.toml", contract_toml(&spec).as_bytes())?;
    eprintln!(
        "simulated {} students ({} session rows, {} test rows, {} history rows) with seed {} -> {}",
        district.roster.len(),
        district.sessions.len(),
        district.assessments.len(),
        district.history.len(),
        spec.seed,
        args.out.display()
    );
    for f in files {
        eprintln!("  {}", f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    }
    eprintln!("  contract.toml");
    Ok(())
}

/// A contract for a simulated district: fall-to-spring growth with the simulator's test
/// windows as date ranges, 20 attended sessions, enrolled by 15 November of the school
/// year's first calendar year.
pub fn contract_toml(spec: &SimSpec) -> String {
    let start: i32 = simulate::parse_school_year(&spec.school_year).unwrap_or(2025);
    let next = start + 1;
    let bounds = |w: &str| {
        let (from, to) = simulate::window_bounds(w, start).expect("fall and spring windows are defined");
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
roster = "roster.csv"
sessions = "sessions.csv"
assessments = "assessments.csv"
history = "history.csv"

[tests]
pre = {{ window = "fall", school_year = "{sy}", from = "{fall_from}", to = "{fall_to}" }}
post = {{ window = "spring", school_year = "{sy}", from = "{spring_from}", to = "{spring_to}" }}
retest = "min_sem_then_latest"
require_valid = true
breaks = [{{ from = "{start}-12-22", to = "{next}-01-02" }}]

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
