//! `obc validate CONTRACT --out DIR`

use std::path::PathBuf;

use crate::data::{self, Stage};
use crate::manifest::{Manifest, OutputFile};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc validate contract.toml --out checks   # exceptions.csv lists every row not used, with the reason")]
pub struct Args {
    /// The contract file (TOML) naming the input files and their columns.
    pub contract: PathBuf,
    /// Output folder for exceptions.csv and manifest.json.
    #[arg(long, default_value = "obc-validate")]
    pub out: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let (contract, base) = super::read_contract(&args.contract)?;
    let inputs = super::contract_inputs(&args.contract, &contract, &base);
    let out = super::out_dir(&args.out, &inputs, &["exceptions.csv"])?;
    let v = data::validate_files(&contract.input_files(&base), &contract.validate_options())?;
    let exceptions_rows = data::write_exceptions(&out, "exceptions.csv", v.ledgers())?;
    let accounting = v.ledgers().iter().map(|l| l.accounting(Stage::Validated)).collect::<Result<Vec<_>, _>>()?;
    let mut m = Manifest::new("validate", serde_json::to_value(&contract)?, None);
    m.inputs = accounting.clone();
    m.outputs = vec![OutputFile::new("exceptions.csv", true, Some(exceptions_rows))];
    m.warnings = v.warnings.clone();
    super::write_manifest(&out, &m)?;
    for w in &v.warnings {
        eprintln!("warning: {w}");
    }
    let rows: u64 = accounting.iter().map(|a| a.rows_excepted).sum();
    eprintln!(
        "validated {} students, {} sessions, {} tests; {} rows excepted ({} exception lines, one per bad field) in {}",
        v.students.len(),
        v.session_count(),
        v.test_count(),
        rows,
        exceptions_rows,
        args.out.join("exceptions.csv").display()
    );
    super::print_accounting(&accounting);
    if let Some(a) = &v.assignments {
        let students: std::collections::BTreeSet<usize> = a.by_student.keys().map(|k| k.0).collect();
        eprintln!(
            "provider_source: the assignments file decides the provider of {} student x subject pairs ({} students); \
             the roster decides the rest",
            a.by_student.len(),
            students.len()
        );
    }
    Ok(())
}
