//! `obc verify DIR`: checks an output folder against its manifest (`manifest.json`, or every
//! `*.manifest.json`): each listed output present with the SHA-256 the manifest gives.
//! Prints one line per file (ok / missing / changed) and a summary, lists temporary files
//! left by an interrupted run, and exits 0 when the set is complete, 2 when it is not.

use std::path::PathBuf;

use crate::data::output;
use crate::error::{ErrorKind, OutputError};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc verify settlement   # exit 0: every file the manifest lists is there, unchanged")]
pub struct Args {
    /// The output folder of a run (`--out` of check, baseline, validate, ...).
    pub dir: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let v = output::verify(&args.dir).map_err(VerifyError::Unreadable)?;
    for f in &v.files {
        println!("{:<8} {}  ({})", f.status.as_str(), f.file, f.manifest);
    }
    for m in &v.unreadable {
        println!("unreadable manifest {m}");
    }
    for t in &v.leftovers {
        println!("leftover {t} (temporary file of an interrupted run; safe to delete)");
    }
    let ok = v.files.iter().filter(|f| f.status == output::FileStatus::Ok).count();
    if v.complete() {
        println!("complete: {ok} files match {}", v.manifests.join(", "));
        return Ok(());
    }
    Err(VerifyError::Incomplete {
        dir: args.dir.display().to_string(),
        ok,
        listed: v.files.len(),
        problems: v.problems().join(", "),
    }
    .into())
}

/// Why `obc verify` fails.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The folder or its manifests cannot be read: a usage problem here (exit 2), since
    /// `obc verify` writes nothing.
    #[error("{}", with_source(.0))]
    Unreadable(OutputError),
    /// Some listed output is missing or changed (exit 2).
    #[error("{dir} is incomplete ({ok} of {listed} listed files match): {problems}; rerun the command that wrote it")]
    Incomplete { dir: String, ok: usize, listed: usize, problems: String },
}

impl VerifyError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            VerifyError::Unreadable(_) => ErrorKind::Usage,
            VerifyError::Incomplete { .. } => ErrorKind::Input,
        }
    }
}

/// An output error with its underlying reason on the same line.
fn with_source(e: &OutputError) -> String {
    format!("{e} {}", source_text(e)).trim_end().to_string()
}

/// The underlying reason of an error, or an empty string.
pub(crate) fn source_text(e: &crate::error::OutputError) -> String {
    std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default()
}
