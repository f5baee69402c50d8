//! The command line: clap argument structs and one file per command. Commands only wire
//! library calls together and print.

pub mod baseline;
pub mod bootstrap;
pub mod check;
pub mod norms;
pub mod prepare;
pub mod report;
pub mod simulate;
pub mod validate;
pub mod vam;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::contract::terms::Contract;
use crate::data::Accounting;
use crate::error::{ConfigError, DataError};

/// obc: student growth for outcomes-based tutoring contracts.
#[derive(Debug, Parser)]
#[command(name = "obc", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the roster, sessions and assessments named by a contract; write exceptions.csv.
    Validate(validate::Args),
    /// Build the analytic file (one row per student x subject) and the flow table.
    Prepare(prepare::Args),
    /// Write a synthetic district with known truth.
    Simulate(simulate::Args),
    /// Growth norms: fit SGP or conditional norms, import a norms table, score students.
    Norms(norms::Args),
    /// Provider value-added: fixed effects with robust SEs, or random intercepts with shrinkage.
    Vam(vam::Args),
    /// Set contract targets from the history file: OC curves, recommended threshold, minimum n.
    Baseline(baseline::Args),
    /// Settle a contract: counted students, metric with interval, decision per tier, payment.
    Check(check::Args),
    /// Bootstrap confidence intervals (BCa, percentile, ...) for a mean, share or median per group.
    Bootstrap(bootstrap::Args),
    /// Re-render report.html and figures/ from results.json or recommendation.json (no refitting).
    Report(report::Args),
}

/// A problem the user can fix (bad contract, missing file or column): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// Parses arguments, runs the command, maps errors to exit codes: 0 success, 2 a problem
/// with the inputs or contract, 1 anything else.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(a) => validate::run(&a),
        Command::Prepare(a) => prepare::run(&a),
        Command::Simulate(a) => simulate::run(&a),
        Command::Norms(a) => norms::run(&a),
        Command::Vam(a) => vam::run(&a),
        Command::Bootstrap(a) => bootstrap::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Baseline(a) => baseline::run(&a),
        Command::Report(a) => report::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            let user = e.chain().any(|c| c.is::<ConfigError>() || c.is::<DataError>() || c.is::<UserError>());
            ExitCode::from(if user { 2 } else { 1 })
        }
    }
}

/// Reads and checks a contract file; returns it with the folder its paths are relative to.
pub fn read_contract(path: &Path) -> anyhow::Result<(Contract, PathBuf)> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UserError(format!("cannot read contract {}: {e}", path.display())))?;
    let contract = Contract::from_toml(&text, &path.display().to_string())?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((contract, base))
}

/// Creates the output folder.
pub fn out_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create output folder {}", dir.display()))
}

/// Writes a text file.
pub fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// `dir/STEM.ext` -> `dir/STEM.suffix`: the exceptions and manifest written beside a
/// command's file output (`obc norms`, `obc bootstrap`).
pub fn sidecar(out: &Path, suffix: &str) -> PathBuf {
    let stem = out.file_stem().map_or_else(|| "output".into(), |s| s.to_string_lossy().into_owned());
    out.with_file_name(format!("{stem}.{suffix}"))
}

/// The last component of a path, as the manifest names outputs.
pub fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned())
}

/// Creates the folder a file output goes into.
pub fn create_parent(out: &Path) -> anyhow::Result<()> {
    match out.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => out_dir(dir),
        _ => Ok(()),
    }
}

/// Writes `STEM.exceptions.csv` and `STEM.manifest.json` beside the file output `out`
/// (outputs listed: `main`, the exceptions, then `extra`) and prints the accounting.
pub fn finish_beside(
    out: &Path,
    ledger: &crate::data::Ledger,
    mut manifest: crate::manifest::Manifest,
    main: crate::manifest::OutputFile,
    extra: Vec<crate::manifest::OutputFile>,
) -> anyhow::Result<()> {
    let exceptions_path = sidecar(out, "exceptions.csv");
    let exceptions_rows = crate::data::write_exceptions(&exceptions_path, [ledger])?;
    let accounting = ledger.accounting(crate::data::Stage::Prepared).map_err(anyhow::Error::msg)?;
    manifest.inputs = vec![accounting.clone()];
    manifest.outputs = vec![
        main,
        crate::manifest::OutputFile {
            file: file_name(&exceptions_path),
            restricted: true,
            rows: Some(exceptions_rows),
        },
    ];
    manifest.outputs.extend(extra);
    write_text(&sidecar(out, "manifest.json"), &manifest.to_json())?;
    print_accounting(&[accounting]);
    Ok(())
}

/// The accounting lines printed at the end of each command.
pub fn print_accounting(rows: &[Accounting]) {
    let width = rows.iter().map(|a| a.file.len()).max().unwrap_or(4).max(4);
    eprintln!("{:<width$}  {:>10}  {:>10}  {:>10}", "file", "rows read", "used", "exceptions");
    for a in rows {
        eprintln!("{:<width$}  {:>10}  {:>10}  {:>10}", a.file, a.rows_read, a.rows_used, a.rows_excepted);
    }
}
