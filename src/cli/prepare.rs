//! `obc prepare CONTRACT --out DIR [--format csv|parquet]`

use std::path::PathBuf;

use crate::data;
use crate::data::table::Format;
use crate::manifest::{Manifest, OutputFile};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc prepare contract.toml --out prepared
  obc prepare contract.toml --out prepared --format parquet")]
pub struct Args {
    /// The contract file (TOML).
    pub contract: PathBuf,
    /// Output folder.
    #[arg(long, default_value = "obc-prepare")]
    pub out: PathBuf,
    /// Format of the analytic file.
    #[arg(long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
    /// Go on when more rows of an input file are invalid than `[limits] max_invalid_share`
    /// allows (recorded in the manifest).
    #[arg(long)]
    pub allow_partial: bool,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Parquet,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let (contract, base) = super::read_contract(&args.contract)?;
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Parquet => Format::Parquet,
    };
    let analytic_name = format!("analytic.{}", format.extension());
    let inputs = super::contract_inputs(&args.contract, &contract, &base);
    let out = super::out_dir(&args.out, &inputs, &[&analytic_name, "flow.csv", "exceptions.csv"])?;
    let files = contract.input_files(&base);
    crate::profile::phase("start");
    let mut analytic = data::prepare_files(&files, &contract.validate_options(), &contract.prepare_options(), None)?;
    let partial = data::limits::gate(&analytic.ledgers, contract.limits.max_invalid_share, args.allow_partial)?;
    analytic.warnings.extend(partial);
    crate::profile::phase("prepared");
    analytic.write(&out, &analytic_name, format)?;
    crate::profile::phase("analytic written");
    let flow = analytic.flow_table();
    flow.write_into(&out, "flow.csv", Format::Csv)?;
    let exceptions_rows = data::write_exceptions(&out, "exceptions.csv", &analytic.ledgers)?;
    let accounting = analytic.accounting()?;
    let mut m = Manifest::new("prepare", serde_json::to_value(&contract)?, None);
    m.allow_partial = args.allow_partial;
    m.inputs = accounting.clone();
    m.outputs = vec![
        OutputFile::new(&analytic_name, true, Some(analytic.rows.len() as u64)),
        OutputFile::new("flow.csv", false, Some(flow.height() as u64)),
        OutputFile::new("exceptions.csv", true, Some(exceptions_rows)),
    ];
    m.warnings = analytic.warnings.clone();
    super::write_manifest(&out, &m)?;
    for w in &analytic.warnings {
        eprintln!("warning: {w}");
    }
    let analysed = analytic.rows.iter().filter(|r| r.analysed).count();
    eprintln!(
        "analytic file: {} rows ({} analysed) -> {}; flow -> {}",
        analytic.rows.len(),
        analysed,
        args.out.join(&analytic_name).display(),
        args.out.join("flow.csv").display()
    );
    super::print_accounting(&accounting);
    if analytic.has_assignments() {
        super::print_provider_sources(analytic.rows.iter().map(|r| r.provider_source), "analytic rows");
    }
    // The process ends here: the operating system takes back the analytic rows at once,
    // where freeing them one by one takes a quarter of a second at a million students.
    std::mem::forget(analytic);
    Ok(())
}
