//! `obc simulate --students N --providers K --seed S --out DIR [--messy]
//! [--provider-effects D,D,...] [--selection random] [--no-dosage-selection]
//! [--low-income-growth POINTS] [--history-years H] [--cohort-sd X] [--format canonical|nwea|iready]`

use std::path::PathBuf;

use super::UsageError;
use crate::simulate::{self, Selection, SimSpec};

/// Who is tutored (`SimSpec::selection`).
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum SelectionArg {
    /// On the observed fall score and low income (the model's default).
    FallScoreAndIncome,
    /// Every student with probability 0.40.
    Random,
}

/// The layout of the written tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// assessments.csv and history.csv in obc's own columns.
    Canonical,
    /// AssessmentResults.csv (the MAP Comprehensive Data File) and ComboStudentAssessment.csv
    /// (the combined student + assessment file, for the history), with a contract that reads them.
    Nwea,
    /// diagnostic_results_math.csv and diagnostic_results_math_history.csv (`_ela` for
    /// reading): i-Ready Diagnostic results, one file per subject, with a contract that reads them.
    Iready,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc simulate --students 5000 --providers 6 --seed 20251 --out sim   # a district like data-samples/
  obc simulate --students 20000 --providers 12 --messy --seed 7 --out messy   # with the faults of real exports
  obc check sim/contract.toml --out sim-settlement   # then settle it; sim/truth.json has the true effects
  obc simulate --students 2000 --format nwea --out sim-map   # the tests as NWEA MAP Growth exports
  obc simulate --students 2000 --format iready --out sim-iready   # the tests as i-Ready Diagnostic exports")]
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
    /// Chosen full-dose provider effects in SD units, one per provider, comma-separated
    /// (0 allowed; default: the grid 0 to 0.30).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub provider_effects: Option<Vec<f64>>,
    /// Who is tutored.
    #[arg(long, value_enum, default_value = "fall-score-and-income")]
    pub selection: SelectionArg,
    /// Attendance and the spring post-test do not depend on the student (no dosage or
    /// attrition selection).
    #[arg(long)]
    pub no_dosage_selection: bool,
    /// Scale points per 28 instructional weeks by which low-income students grow less than
    /// like-scoring students (default 0).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub low_income_growth: f64,
    /// Prior school years written to history.csv, each a fresh cohort.
    #[arg(long, default_value_t = 1)]
    pub history_years: usize,
    /// SD of the school-year shift of every student's growth rate (scale points per 28
    /// instructional weeks): between-year drift of business as usual.
    #[arg(long, default_value_t = 0.0)]
    pub cohort_sd: f64,
    /// SD of the tutor effects (SD units; default 0.05): how much of a provider's effect
    /// varies with its tutors.
    #[arg(long, default_value_t = 0.05)]
    pub tutor_sd: f64,
    /// Layout of the tests: obc's own columns, NWEA MAP Growth or i-Ready Diagnostic exports
    /// (not with --messy).
    #[arg(long, value_enum, default_value = "canonical")]
    pub format: FormatArg,
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
        provider_effects: args.provider_effects.clone(),
        selection: match args.selection {
            SelectionArg::FallScoreAndIncome => Selection::FallScoreAndIncome,
            SelectionArg::Random => Selection::Random,
        },
        dosage_selection: !args.no_dosage_selection,
        low_income_growth: args.low_income_growth,
        history_years: args.history_years,
        cohort_sd: args.cohort_sd,
        tutor_sd: args.tutor_sd,
        ..SimSpec::default()
    };
    if args.format != FormatArg::Canonical {
        let name = if args.format == FormatArg::Nwea { "nwea" } else { "iready" };
        if args.messy {
            return Err(UsageError(format!(
                "--messy injects faults into obc's own columns; it cannot be combined with --format {name}"
            ))
            .into());
        }
        if args.format == FormatArg::Nwea && simulate::map_subject(&spec.subject).is_none() {
            return Err(UsageError(format!("subject {:?} is not a MAP Growth subject", spec.subject)).into());
        }
        if args.format == FormatArg::Iready && simulate::iready_subject(&spec.subject).is_none() {
            return Err(UsageError(format!("subject {:?} is not an i-Ready Diagnostic subject", spec.subject)).into());
        }
    }
    let district = simulate::generate(&spec)?;
    let (files, contract) = match args.format {
        FormatArg::Canonical => (simulate::write(&district, &args.out)?, simulate::write_contract(&spec, &args.out)?),
        FormatArg::Nwea => {
            (simulate::write_nwea(&district, &spec, &args.out)?, simulate::write_nwea_contract(&spec, &args.out)?)
        }
        FormatArg::Iready => {
            (simulate::write_iready(&district, &spec, &args.out)?, simulate::write_iready_contract(&spec, &args.out)?)
        }
    };
    eprintln!(
        "simulated {} students ({} session rows, {} test rows, {} history rows) with seed {} -> {}",
        district.roster.len(),
        district.sessions.len(),
        district.assessments.len(),
        district.history.len(),
        spec.seed,
        args.out.display()
    );
    for f in files.iter().chain([&contract]) {
        eprintln!("  {}", f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
    }
    Ok(())
}
