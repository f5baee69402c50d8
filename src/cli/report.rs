//! `obc report FILE.json [--out DIR]`: re-renders `report.html` and `figures/*.svg` from the
//! results of `obc check` (`results.json`) or `obc baseline` (`recommendation.json`),
//! without refitting anything. `obc check` and `obc baseline` call [`write`] themselves, so
//! `obc report results.json` reproduces their report byte for byte.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::UserError;
use crate::data::output::{self, OutputDir};
use crate::manifest::{Manifest, OutputFile};
use crate::report::{self, Rendered};

#[derive(Debug, clap::Args)]
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

/// Refuses to render from a folder that does not match its manifest.
fn check_complete(folder: &Path) -> anyhow::Result<()> {
    let v = output::verify(folder)
        .map_err(|e| UserError(format!("cannot check {}: {e} {}", folder.display(), super::verify::source_text(&e))))?;
    if v.complete() {
        return Ok(());
    }
    Err(UserError(format!(
        "{} is incomplete, so its results cannot be trusted: {}; rerun the command that wrote it (`obc verify {}` lists every file)",
        folder.display(),
        v.problems().join(", "),
        folder.display()
    ))
    .into())
}

/// After re-rendering into the results' own folder: the manifest's entries for the report
/// and figures, updated (last) when their bytes changed, so the folder still verifies.
fn update_manifest(out: &OutputDir) -> anyhow::Result<()> {
    let path = out.join(out.manifest_name());
    let text = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut m: serde_json::Value =
        serde_json::from_slice(&text).map_err(|e| UserError(format!("{}: {e}", path.display())))?;
    let Some(list) = m.get_mut("outputs").and_then(|o| o.as_array_mut()) else {
        return Err(UserError(format!("{}: no `outputs` list", path.display())).into());
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
    let text = std::fs::read_to_string(&args.results)
        .map_err(|e| UserError(format!("cannot read {}: {e}", args.results.display())))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| UserError(format!("{}: not JSON: {e}", args.results.display())))?;
    let rendered = report::render(&value).map_err(|e| UserError(format!("{}: {e}", args.results.display())))?;
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
