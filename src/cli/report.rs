//! `obc report FILE.json [--out DIR]`: re-renders `report.html` and `figures/*.svg` from the
//! results of `obc check` (`results.json`) or `obc baseline` (`recommendation.json`),
//! without refitting anything. `obc check` and `obc baseline` call [`write`] themselves, so
//! `obc report results.json` reproduces their report byte for byte.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::data::output::{self, OutputDir};
use crate::error::{ErrorKind, OutputError};
use crate::manifest::{Manifest, OutputFile};
use crate::report::{self, Rendered};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  obc report settlement/results.json   # re-render report.html and figures/ in place
  obc report targets/recommendation.json --out targets-report")]
pub struct Args {
    /// results.json of `obc check` or recommendation.json of `obc baseline`.
    pub results: PathBuf,
    /// Output folder for report.html and figures/ (default: the JSON file's folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes `out/report.html` and each figure as `out/figures/NAME.svg`, atomically (a
/// `figures` symbolic link is replaced by a real folder, never written through).
pub fn write(out: &OutputDir, r: &Rendered) -> anyhow::Result<()> {
    out.write("report.html", r.html.as_bytes())?;
    for (name, svg) in &r.svgs {
        out.write(&format!("figures/{name}"), svg.as_bytes())?;
    }
    Ok(())
}

/// Why `obc report` cannot render: each a problem with its input (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not JSON")]
    NotJson {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}")]
    Render {
        path: String,
        #[source]
        source: report::ReportError,
    },
    #[error("cannot check {folder}: {error} {}", super::verify::source_text(.error))]
    Unverifiable { folder: String, error: OutputError },
    #[error(
        "{folder} is incomplete, so its results cannot be trusted: {problems}; rerun the command that wrote it (`obc verify {folder}` lists every file)"
    )]
    Incomplete { folder: String, problems: String },
    #[error("{path}: {message}")]
    Manifest { path: String, message: String },
}

impl FileError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Input
    }
}

/// Refuses to render from a folder that does not match its manifest.
fn check_complete(folder: &Path) -> Result<(), FileError> {
    let shown = folder.display().to_string();
    let v = output::verify(folder).map_err(|error| FileError::Unverifiable { folder: shown.clone(), error })?;
    if v.complete() {
        return Ok(());
    }
    Err(FileError::Incomplete { folder: shown, problems: v.problems().join(", ") })
}

/// After re-rendering into the results' own folder: the manifest's entries for the report
/// and figures, updated (last) when their bytes changed, so the folder still verifies.
fn update_manifest(out: &OutputDir) -> anyhow::Result<()> {
    let path = out.join(out.manifest_name());
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let shown = path.display().to_string();
    let mut m: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| FileError::Manifest { path: shown.clone(), message: e.to_string() })?;
    let Some(list) = m.get_mut("outputs").and_then(|o| o.as_array_mut()) else {
        return Err(FileError::Manifest { path: shown, message: "no `outputs` list".into() }.into());
    };
    let mut changed = false;
    for w in out.written() {
        let entry = serde_json::json!({ "file": w.file, "restricted": false, "rows": null, "sha256": w.sha256, "bytes": w.bytes });
        match list.iter_mut().find(|o| o.get("file").and_then(|f| f.as_str()) == Some(w.file.as_str())) {
            Some(o) if o.get("sha256").and_then(|s| s.as_str()) == Some(w.sha256.as_str()) => {}
            Some(o) => {
                o["sha256"] = w.sha256.clone().into();
                o["bytes"] = w.bytes.into();
                changed = true;
            }
            None => {
                list.push(entry);
                changed = true;
            }
        }
    }
    if changed {
        let mut json = serde_json::to_string_pretty(&m)?;
        json.push('\n');
        out.write_manifest(json.as_bytes())?;
    }
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let path = args.results.display().to_string();
    let text =
        std::fs::read_to_string(&args.results).map_err(|source| FileError::Read { path: path.clone(), source })?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|source| FileError::NotJson { path: path.clone(), source })?;
    let rendered = report::render(&value).map_err(|source| FileError::Render { path, source })?;
    let folder = args.results.parent().map(Path::to_path_buf).unwrap_or_default();
    let folder = if folder.as_os_str().is_empty() { PathBuf::from(".") } else { folder };
    check_complete(&folder)?;
    let out = args.out.clone().unwrap_or_else(|| folder.clone());
    let same = std::fs::canonicalize(&out).ok() == std::fs::canonicalize(&folder).ok();
    let inputs = [args.results.clone()];
    let mut names: Vec<String> = vec!["report.html".into()];
    names.extend(rendered.svgs.iter().map(|(n, _)| format!("figures/{n}")));
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = if same {
        let dir = OutputDir::open(&out, &inputs, "manifest.json")?;
        for n in &names {
            dir.check_collision(n)?;
        }
        dir
    } else {
        super::out_dir(&out, &inputs, &names)?
    };
    write(&dir, &rendered).with_context(|| format!("writing the report into {}", out.display()))?;
    if same {
        update_manifest(&dir)?;
    } else {
        let spec = serde_json::json!({ "results": super::file_name(&args.results), "sha256": crate::data::load::sha256_hex(text.as_bytes()) });
        let mut m = Manifest::new("report", spec, None);
        m.outputs = vec![OutputFile::new("report.html", false, None), OutputFile::new("figures/", false, None)];
        super::write_manifest(&dir, &m)?;
    }
    eprintln!(
        "report -> {} ({} figures in {})",
        out.join("report.html").display(),
        rendered.svgs.len(),
        out.join("figures").display()
    );
    Ok(())
}
