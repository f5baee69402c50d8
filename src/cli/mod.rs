//! The command line: clap argument structs and one file per command. Commands only wire
//! library calls together and print.

pub mod baseline;
pub mod bootstrap;
pub mod check;
pub mod import;
pub mod init;
pub mod norms;
pub mod prepare;
pub mod report;
pub mod simulate;
pub mod validate;
pub mod vam;
pub mod verify;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::contract::terms::Contract;
use crate::data::Accounting;
use crate::data::output::OutputDir;
use crate::error::{ConfigError, ErrorKind};

/// obc: student growth for outcomes-based tutoring contracts.
#[derive(Debug, Parser)]
#[command(
    name = "obc",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success; 2 a problem with the contract, the inputs or the command line \
(including an output that would overwrite an input, and `obc verify` finding an incomplete folder); \
3 an output problem (the folder cannot be created or written, disk full, a rename failed); 1 anything else (a bug)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a contract: a commented contract.toml with the column mapping guessed from your files.
    Init(init::Args),
    /// Check the roster, sessions and assessments named by a contract; write exceptions.csv.
    Validate(validate::Args),
    /// Convert a vendor's assessment export (NWEA MAP Growth, i-Ready Diagnostic) into the canonical assessments file.
    Import(import::Args),
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
    /// Check an output folder against its manifest: every listed file present with its SHA-256.
    Verify(verify::Args),
}

/// A command line that cannot run (an option out of range, options that do not go
/// together): exit code 2 ([`ErrorKind::Usage`]).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses arguments, runs the command, maps errors to exit codes ([`exit_code`]).
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Init(a) => init::run(&a),
        Command::Validate(a) => validate::run(&a),
        Command::Import(a) => import::run(&a),
        Command::Prepare(a) => prepare::run(&a),
        Command::Simulate(a) => simulate::run(&a),
        Command::Norms(a) => norms::run(&a),
        Command::Vam(a) => vam::run(&a),
        Command::Bootstrap(a) => bootstrap::run(&a),
        Command::Check(a) => check::run(&a),
        Command::Baseline(a) => baseline::run(&a),
        Command::Report(a) => report::run(&a),
        Command::Verify(a) => verify::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

/// The exit code of an error, from the kind of the first typed error in its chain (README.md,
/// "Exit codes"; [`ErrorKind`]): 3 for an output problem ([`crate::error::OutputError`],
/// [`crate::error::DataError::Write`]), except an output that would overwrite an input, which
/// is 2 like every contract, input and usage problem; 1 for anything else (a bug).
pub fn exit_code(e: &anyhow::Error) -> u8 {
    for c in e.chain() {
        if let Some(kind) = kind(c) {
            return kind.exit_code();
        }
        if let Some(e) = c.downcast_ref::<crate::contract::error::Error>() {
            return e.exit_code();
        }
    }
    1
}

/// The kind of a typed error of any layer ([`crate::error::kind_of`] knows the data and
/// statistics layers'); `None` for an error the library does not type (a bug).
fn kind(c: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    if let Some(kind) = crate::error::kind_of(c) {
        return Some(kind);
    }
    if let Some(r) = c.downcast_ref::<report::FileError>() {
        return Some(r.kind());
    }
    if let Some(v) = c.downcast_ref::<verify::VerifyError>() {
        return Some(v.kind());
    }
    if c.is::<crate::contract::error::ContractError>() {
        return Some(ErrorKind::Contract);
    }
    (c.is::<UsageError>() || c.is::<crate::simulate::SimError>()).then_some(ErrorKind::Usage)
}

/// The input files of a contract run, as paths: the contract, its roster, sessions,
/// assessments, history and norms file (relative to the contract's folder `base`).
pub fn contract_inputs(path: &Path, contract: &Contract, base: &Path) -> Vec<PathBuf> {
    let f = &contract.files;
    let mut inputs = vec![
        path.to_path_buf(),
        base.join(&f.roster.path),
        base.join(&f.sessions.path),
        base.join(&f.assessments.path),
    ];
    inputs.extend(f.history.iter().map(|h| base.join(&h.path)));
    inputs.extend(contract.norms.file.iter().map(|n| base.join(n)));
    inputs.extend(contract.planned_file(base).map(|p| p.path));
    inputs
}

/// Reads and checks a contract file; returns it with the folder its paths are relative to.
pub fn read_contract(path: &Path) -> anyhow::Result<(Contract, PathBuf)> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
    let contract = Contract::from_toml(&text, &path.display().to_string())?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    Ok((contract, base))
}

/// Opens the output folder of a run ([`OutputDir::start`]): refuses outputs that are
/// inputs and removes the previous `manifest.json`.
pub fn out_dir(dir: &Path, inputs: &[PathBuf], planned: &[&str]) -> anyhow::Result<OutputDir> {
    Ok(OutputDir::start(dir, inputs, "manifest.json", planned)?)
}

/// Writes the folder's manifest, last: `m` with every output written and its SHA-256.
pub fn write_manifest(out: &OutputDir, m: &crate::manifest::Manifest) -> anyhow::Result<()> {
    Ok(out.write_manifest(m.with_hashes(&out.written()).to_json().as_bytes())?)
}

/// The folder of a file output `out` (`obc norms`, `obc bootstrap`), opened with the
/// sidecar manifest `STEM.manifest.json`; `planned` are the other outputs' file names.
pub fn beside_dir(out: &Path, inputs: &[PathBuf], planned: &[&str]) -> anyhow::Result<OutputDir> {
    let dir = out.parent().unwrap_or(Path::new(""));
    let main = file_name(out);
    let exceptions = file_name(&sidecar(out, "exceptions.csv"));
    let mut names = vec![main.as_str(), exceptions.as_str()];
    names.extend_from_slice(planned);
    Ok(OutputDir::start(dir, inputs, &file_name(&sidecar(out, "manifest.json")), &names)?)
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

/// Writes `STEM.exceptions.csv` and `STEM.manifest.json` beside the file output `out`
/// (outputs listed: `main`, the exceptions, then `extra`) into `dir` (from [`beside_dir`]),
/// the manifest last, and prints the accounting.
pub fn finish_beside(
    dir: &OutputDir,
    out: &Path,
    ledger: &crate::data::Ledger,
    mut manifest: crate::manifest::Manifest,
    main: crate::manifest::OutputFile,
    extra: Vec<crate::manifest::OutputFile>,
) -> anyhow::Result<()> {
    let exceptions_path = sidecar(out, "exceptions.csv");
    let exceptions_rows = crate::data::write_exceptions(dir, &file_name(&exceptions_path), [ledger])?;
    let accounting = ledger.accounting(crate::data::Stage::Prepared)?;
    manifest.inputs = vec![accounting.clone()];
    manifest.outputs =
        vec![main, crate::manifest::OutputFile::new(&file_name(&exceptions_path), true, Some(exceptions_rows))];
    manifest.outputs.extend(extra);
    write_manifest(dir, &manifest)?;
    print_accounting(&[accounting]);
    Ok(())
}

/// The warnings as the console prints them, after the results: one group per code with its
/// consequence (README "Warnings").
pub fn warning_lines(warnings: &[crate::stats::warning::Warning]) -> Vec<String> {
    let groups = crate::stats::warning::group(warnings);
    let mut out = Vec::new();
    if !groups.is_empty() {
        let affecting = groups.iter().filter(|g| g.consequence.affects_payment).count();
        out.push(format!(
            "{} warning(s) in {} group(s); {} group(s) may affect a payment:",
            warnings.len(),
            groups.len(),
            affecting
        ));
    }
    for g in &groups {
        out.extend(g.lines());
    }
    out
}

/// Prints the warnings after a command's results and accounting ([`warning_lines`]).
pub fn print_warnings(warnings: &[crate::stats::warning::Warning]) {
    for line in warning_lines(warnings) {
        eprintln!("{line}");
    }
}

/// The accounting lines printed at the end of each command.
/// How many of `what` took their provider from the assignments file and how many from the
/// roster (README "Per-subject providers").
pub fn print_provider_sources(sources: impl Iterator<Item = crate::data::assignments::ProviderSource>, what: &str) {
    use crate::data::assignments::ProviderSource;
    let (mut roster, mut assigned) = (0u64, 0u64);
    for s in sources {
        match s {
            ProviderSource::Roster => roster += 1,
            ProviderSource::Assignments => assigned += 1,
        }
    }
    eprintln!("provider_source: {assigned} {what} from the assignments file, {roster} from the roster");
}

pub fn print_accounting(rows: &[Accounting]) {
    let width = rows.iter().map(|a| a.file.len()).max().unwrap_or(4).max(4);
    eprintln!("{:<width$}  {:>10}  {:>10}  {:>10}  {:>10}", "file", "rows read", "used", "excluded", "invalid");
    for a in rows {
        let excluded = a.rows_excepted - a.rows_invalid;
        eprintln!(
            "{:<width$}  {:>10}  {:>10}  {:>10}  {:>10}",
            a.file, a.rows_read, a.rows_used, excluded, a.rows_invalid
        );
    }
    eprintln!(
        "(excluded: rows the contract's rules leave out, such as other test windows, retests not chosen or other \
         subjects; invalid: rows with bad data. Each is listed in the exceptions file with its reason.)"
    );
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command and subcommand, with its path (`obc norms fit`).
    fn commands() -> Vec<(String, clap::Command)> {
        fn walk(prefix: &str, cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
            for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
                let path = format!("{prefix} {}", sub.get_name());
                out.push((path.clone(), sub.clone()));
                walk(&path, sub, out);
            }
        }
        let mut out = Vec::new();
        walk("obc", &super::Cli::command(), &mut out);
        out
    }

    /// README "Help and vocabulary": every option of every command says what it is for.
    #[test]
    fn every_option_has_a_description() {
        let mut missing = Vec::new();
        for (path, cmd) in commands() {
            for arg in cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
                let described =
                    arg.get_help().or(arg.get_long_help()).is_some_and(|h| h.to_string().trim().len() >= 10);
                if !described {
                    missing.push(format!("{path}: {}", arg.get_id()));
                }
            }
        }
        assert!(missing.is_empty(), "options without a description:\n{}", missing.join("\n"));
    }

    /// Every command that runs something (not a group such as `obc norms`) shows an example
    /// command line in its --help, and the example names the command itself.
    #[test]
    fn every_command_has_an_example() {
        let mut missing = Vec::new();
        for (path, cmd) in commands() {
            if cmd.has_subcommands() {
                continue;
            }
            let after = cmd.get_after_help().or(cmd.get_after_long_help()).map(|h| h.to_string()).unwrap_or_default();
            if !(after.contains("Example") && after.contains(&format!("{path} "))) {
                missing.push(path);
            }
        }
        assert!(missing.is_empty(), "commands without an example in --help:\n{}", missing.join("\n"));
    }

    /// The example command lines of every --help: joined at a trailing `\`, comments after
    /// `#` dropped, words split on spaces (no example quotes anything).
    fn examples() -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for (_, cmd) in commands() {
            let after = cmd.get_after_help().map(|h| h.to_string()).unwrap_or_default();
            let joined = after.replace("\\\n", " ");
            for line in joined.lines().map(str::trim).filter(|l| l.starts_with("obc ")) {
                let line = line.split(" # ").next().unwrap();
                out.push(line.split_whitespace().map(String::from).collect());
            }
        }
        out
    }

    /// Every example in --help parses as a command line of this obc: no example names an
    /// option that does not exist or misses a required one.
    #[test]
    fn every_example_parses() {
        let examples = examples();
        assert!(examples.len() >= 15, "{} examples", examples.len());
        for words in examples {
            if let Err(e) = <super::Cli as clap::Parser>::try_parse_from(&words) {
                panic!("example `{}` does not parse:\n{e}", words.join(" "));
            }
        }
    }
}
