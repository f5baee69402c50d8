//! `obc simulate --students N --providers K --seed S --out DIR [--messy]`

use std::path::PathBuf;

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
    let district = simulate::generate(&spec)?;
    let files = simulate::write(&district, &args.out)?;
    let contract = simulate::write_contract(&spec, &args.out)?;
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
