//! The manifest every command writes next to its outputs: tool and version, the command,
//! every input with its SHA-256 and row accounting, the spec, the seed, and each output
//! with whether it is restricted (holds student identifiers). No timestamps or absolute
//! paths, so the same inputs and seed give a byte-identical manifest.

use crate::stats::warning::Warning;
use serde::{Deserialize, Serialize};

use crate::data::Accounting;
use crate::data::output::Written;

/// Version of the JSON layouts written by this crate (`results.json`, `recommendation.json`,
/// `manifest.json`).
///
/// - 3: every warning is an object `{"code": ..., "message": ...}` (README "Outputs"),
///   not a plain string; `results.json` and `recommendation.json` are the types of
///   [`crate::contract::results`], read back by `obc report`. `obc report` still renders
///   versions 1 and 2 (their string warnings read with code `other`).
/// - 2: suppressed equity cells carry no `counted`/`met` (null); a provider under
///   `min_cell` carries no `met`/`regressed`, no `p_at_least` per tier and one line of
///   arithmetic; tiers without an estimate have `p_at_least: null`; manifests list each
///   output's `sha256` and `bytes` (standalone manifests) and `allow_partial`; the contract
///   spec gains `[limits]` and the comparison and reporting-group keys. `obc report` still
///   renders version 1 files.
/// - 1: the first layout.
pub const SCHEMA_VERSION: u32 = 3;

/// One file a command wrote.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct OutputFile {
    pub file: String,
    /// Student-level: share only under the data-sharing agreement.
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub rows: Option<u64>,
    /// SHA-256 of the file's bytes, in the standalone manifest (`manifest.json`, written
    /// last); absent from the copy embedded in `results.json` / `recommendation.json`,
    /// which cannot hold its own hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size in bytes, beside `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl OutputFile {
    /// An output not hashed yet.
    pub fn new(file: &str, restricted: bool, rows: Option<u64>) -> Self {
        OutputFile { file: file.to_string(), restricted, rows, sha256: None, bytes: None }
    }
}

/// Provenance of one command's outputs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    #[serde(default)]
    pub schema_version: u32,
    #[serde(default)]
    pub tool: String,
    #[serde(default)]
    pub version: String,
    pub command: String,
    #[serde(default)]
    pub inputs: Vec<Accounting>,
    #[serde(default)]
    pub spec: serde_json::Value,
    #[serde(default)]
    pub seed: Option<u64>,
    #[serde(default)]
    pub outputs: Vec<OutputFile>,
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// The run was told to go on past the invalid-row limit (`--allow-partial`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_partial: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Manifest {
    pub fn new(command: &str, spec: serde_json::Value, seed: Option<u64>) -> Self {
        Manifest {
            schema_version: SCHEMA_VERSION,
            tool: "obc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            command: command.into(),
            inputs: Vec::new(),
            spec,
            seed,
            outputs: Vec::new(),
            warnings: Vec::new(),
            allow_partial: false,
        }
    }

    /// This manifest with its outputs as written: each planned output with its SHA-256 and
    /// size, a folder entry (`figures/`) replaced by every file written under it, and any
    /// other written file appended (as restricted, the safe side). A planned output that was
    /// not written keeps no hash, so `obc verify` reports it.
    pub fn with_hashes(&self, written: &[Written]) -> Manifest {
        let mut m = self.clone();
        let mut listed: Vec<OutputFile> = Vec::new();
        let hashed = |o: &OutputFile, w: &Written| OutputFile {
            file: w.file.clone(),
            sha256: Some(w.sha256.clone()),
            bytes: Some(w.bytes),
            ..o.clone()
        };
        for o in &self.outputs {
            if o.file.ends_with('/') {
                let folder = OutputFile { rows: None, ..o.clone() };
                listed.extend(written.iter().filter(|w| w.file.starts_with(&o.file)).map(|w| hashed(&folder, w)));
            } else {
                match written.iter().rev().find(|w| w.file == o.file) {
                    Some(w) => listed.push(hashed(o, w)),
                    None => listed.push(o.clone()),
                }
            }
        }
        for w in written {
            if !listed.iter().any(|o| o.file == w.file) {
                listed.push(hashed(&OutputFile::new(&w.file, true, None), w));
            }
        }
        m.outputs = listed;
        m
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serializes (plain data)");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(file: &str, sha: &str) -> Written {
        Written { file: file.into(), sha256: sha.into(), bytes: 3 }
    }

    #[test]
    fn with_hashes_lists_every_file_and_keeps_the_embedded_form() {
        let mut m = Manifest::new("check", serde_json::Value::Null, Some(1));
        m.outputs = vec![
            OutputFile::new("a.csv", false, Some(2)),
            OutputFile::new("figures/", false, None),
            OutputFile::new("never.csv", true, None),
        ];
        let embedded = m.to_json();
        assert!(!embedded.contains("sha256") && !embedded.contains("\"bytes\""));
        let w = [
            written("figures/x.svg", "11"),
            written("a.csv", "22"),
            written("figures/y.svg", "33"),
            written("z", "44"),
        ];
        let h = m.with_hashes(&w);
        let files: Vec<(&str, Option<&str>, bool)> =
            h.outputs.iter().map(|o| (o.file.as_str(), o.sha256.as_deref(), o.restricted)).collect();
        assert_eq!(
            files,
            vec![
                ("a.csv", Some("22"), false),
                ("figures/x.svg", Some("11"), false),
                ("figures/y.svg", Some("33"), false),
                ("never.csv", None, true),
                ("z", Some("44"), true),
            ]
        );
        assert_eq!(h.outputs[0].rows, Some(2));
        assert_eq!(m.to_json(), embedded, "the embedded manifest is unchanged");
    }
}
