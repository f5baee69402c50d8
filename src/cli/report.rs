//! `obc report FILE.json [--out DIR]`: re-renders `report.html` and `figures/*.svg` from the
//! results of `obc check` (`results.json`) or `obc baseline` (`recommendation.json`),
//! without refitting anything. `obc check` and `obc baseline` call [`write`] themselves, so
//! `obc report results.json` reproduces their report byte for byte.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::UserError;
use crate::report::{self, Rendered};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// results.json of `obc check` or recommendation.json of `obc baseline`.
    pub results: PathBuf,
    /// Output folder for report.html and figures/ (default: the JSON file's folder).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes `out/report.html` and each figure as `out/figures/NAME.svg`.
pub fn write(out: &Path, r: &Rendered) -> anyhow::Result<()> {
    let figures = out.join("figures");
    super::out_dir(&figures)?;
    super::write_text(&out.join("report.html"), &r.html)?;
    for (name, svg) in &r.svgs {
        super::write_text(&figures.join(name), svg)?;
    }
    Ok(())
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.results)
        .map_err(|e| UserError(format!("cannot read {}: {e}", args.results.display())))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| UserError(format!("{}: not JSON: {e}", args.results.display())))?;
    let rendered = report::render(&value).map_err(|e| UserError(format!("{}: {e}", args.results.display())))?;
    let out = match &args.out {
        Some(d) => d.clone(),
        None => args.results.parent().map(Path::to_path_buf).unwrap_or_default(),
    };
    let out = if out.as_os_str().is_empty() { PathBuf::from(".") } else { out };
    write(&out, &rendered).with_context(|| format!("writing the report into {}", out.display()))?;
    eprintln!(
        "report -> {} ({} figures in {})",
        out.join("report.html").display(),
        rendered.svgs.len(),
        out.join("figures").display()
    );
    Ok(())
}
