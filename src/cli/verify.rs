//! `obc verify DIR`: checks an output folder against its manifest (`manifest.json`, or every
//! `*.manifest.json`): each listed output present with the SHA-256 the manifest gives.
//! Prints one line per file (ok / missing / changed) and a summary, lists temporary files
//! left by an interrupted run, and exits 0 when the set is complete, 2 when it is not.

use std::path::PathBuf;

use super::UserError;
use crate::data::output;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The output folder of a run (`--out` of check, baseline, validate, ...).
    pub dir: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    // A folder that cannot be read is a usage problem here (exit 2): nothing is written.
    let v =
        output::verify(&args.dir).map_err(|e| UserError(format!("{e} {}", source_text(&e)).trim_end().to_string()))?;
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
    Err(UserError(format!(
        "{} is incomplete ({ok} of {} listed files match): {}; rerun the command that wrote it",
        args.dir.display(),
        v.files.len(),
        v.problems().join(", ")
    ))
    .into())
}

/// The underlying reason of an error, or an empty string.
pub(crate) fn source_text(e: &crate::error::OutputError) -> String {
    std::error::Error::source(e).map(|s| s.to_string()).unwrap_or_default()
}
