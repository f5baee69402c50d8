//! `obc init DIR [--roster R.csv] [--sessions S.csv] [--assessments A.csv] [--history H.csv]
//! [--subject math] [--force]`: writes `DIR/contract.toml`, a commented contract template
//! with the column mapping guessed from the files' headers, and `DIR/contract.manifest.json`.

use std::path::PathBuf;

use crate::contract::template::{InitFile, InitSpec, contract_template};
use crate::data::guess::{DateForm, FileGuess, guess_file, relative_to};
use crate::data::schema::Role;
use crate::manifest::{Manifest, OutputFile};

use super::UsageError;

/// The file `obc init` writes.
const CONTRACT: &str = "contract.toml";

#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  obc init my-district --roster roster.csv --sessions sessions.csv \
--assessments map_export.csv --history map_2024.csv --subject math")]
pub struct Args {
    /// Folder to write contract.toml into (created if needed); the contract's paths are relative to it.
    pub dir: PathBuf,
    /// The roster file (one row per student); its headers are mapped to the roster's fields.
    #[arg(long)]
    pub roster: Option<PathBuf>,
    /// The tutoring sessions file (one row per student and session).
    #[arg(long)]
    pub sessions: Option<PathBuf>,
    /// The assessments file of the contract year (one row per test).
    #[arg(long)]
    pub assessments: Option<PathBuf>,
    /// The prior year's tests (one row per test), for growth norms and `obc baseline`.
    #[arg(long)]
    pub history: Option<PathBuf>,
    /// The contract's subject as the assessments file writes it, e.g. math.
    #[arg(long)]
    pub subject: Option<String>,
    /// Replace an existing DIR/contract.toml.
    #[arg(long)]
    pub force: bool,
}

pub fn run(a: &Args) -> anyhow::Result<()> {
    let target = a.dir.join(CONTRACT);
    if !a.force && std::fs::symlink_metadata(&target).is_ok() {
        return Err(UsageError(format!("{} exists; pass --force to replace it", target.display())).into());
    }
    let given: Vec<(Role, &PathBuf)> = [
        (Role::Roster, &a.roster),
        (Role::Sessions, &a.sessions),
        (Role::Assessments, &a.assessments),
        (Role::History, &a.history),
    ]
    .into_iter()
    .filter_map(|(r, p)| p.as_ref().map(|p| (r, p)))
    .collect();
    let inputs: Vec<PathBuf> = given.iter().map(|(_, p)| p.to_path_buf()).collect();
    let manifest_name = format!("{}.manifest.json", CONTRACT.trim_end_matches(".toml"));
    let read: Vec<FileGuess> = given
        .iter()
        .map(|(role, path)| guess_file(path, &path.display().to_string(), *role))
        .collect::<Result<_, _>>()?;
    let out = crate::data::output::OutputDir::start(&a.dir, &inputs, &manifest_name, &[CONTRACT])?;
    let mut guesses: Vec<(Role, String, FileGuess)> = Vec::new();
    for ((role, path), guess) in given.iter().zip(read) {
        guesses.push((*role, relative_to(&a.dir, path)?, guess));
    }
    let spec = InitSpec {
        files: guesses.iter().map(|(role, path, guess)| InitFile { role: *role, path: path.clone(), guess }).collect(),
        subject: a.subject.clone(),
    };
    out.write(CONTRACT, contract_template(&spec).as_bytes())?;
    let mut m = Manifest::new("init", init_spec(a), None);
    m.outputs = vec![OutputFile::new(CONTRACT, false, None)];
    super::write_manifest(&out, &m)?;
    for (role, path, guess) in &guesses {
        print_guess(*role, path, guess);
    }
    eprintln!("wrote {}: fill in every TODO, then run `obc validate {0} --out DIR`", target.display());
    Ok(())
}

/// The command line, as the manifest records it.
fn init_spec(a: &Args) -> serde_json::Value {
    let p = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
    serde_json::json!({
        "dir": a.dir.display().to_string(),
        "roster": p(&a.roster),
        "sessions": p(&a.sessions),
        "assessments": p(&a.assessments),
        "history": p(&a.history),
        "subject": a.subject,
        "force": a.force,
    })
}

/// The summary of one file: field <- header guessed, required fields still unmapped, and
/// date columns that are not written YYYY-MM-DD.
fn print_guess(role: Role, path: &str, g: &FileGuess) {
    eprintln!("{} ({path}):", role.name());
    for f in role.fields() {
        if let Some(h) = g.mapping.get(f.name) {
            eprintln!("  {:<16} <- {h}", f.name);
        }
    }
    let missing = g.missing_required();
    if !missing.is_empty() {
        eprintln!("  still needs a header (TODO in [columns.{}]): {}", role.name(), missing.join(", "));
        eprintln!("  the file's headers: {}", g.headers.join(", "));
    }
    for (field, form) in &g.dates {
        if !matches!(form, DateForm::Iso | DateForm::Empty) {
            eprintln!("  {field}: dates look {}", form.describe());
        }
    }
}
