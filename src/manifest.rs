//! The manifest every command writes next to its outputs: tool and version, the command,
//! every input with its SHA-256 and row accounting, the spec, the seed, and each output
//! with whether it is restricted (holds student identifiers). No timestamps or absolute
//! paths, so the same inputs and seed give a byte-identical manifest.

use serde::Serialize;

use crate::data::Accounting;

/// Version of the JSON layouts written by this crate.
pub const SCHEMA_VERSION: u32 = 1;

/// One file a command wrote.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct OutputFile {
    pub file: String,
    /// Student-level: share only under the data-sharing agreement.
    pub restricted: bool,
    pub rows: Option<u64>,
}

/// Provenance of one command's outputs.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool: &'static str,
    pub version: &'static str,
    pub command: String,
    pub inputs: Vec<Accounting>,
    pub spec: serde_json::Value,
    pub seed: Option<u64>,
    pub outputs: Vec<OutputFile>,
    pub warnings: Vec<String>,
    /// The run was told to go on past the invalid-row limit (`--allow-partial`).
    #[serde(skip_serializing_if = "is_false")]
    pub allow_partial: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Manifest {
    pub fn new(command: &str, spec: serde_json::Value, seed: Option<u64>) -> Self {
        Manifest {
            schema_version: SCHEMA_VERSION,
            tool: "obc",
            version: env!("CARGO_PKG_VERSION"),
            command: command.into(),
            inputs: Vec::new(),
            spec,
            seed,
            outputs: Vec::new(),
            warnings: Vec::new(),
            allow_partial: false,
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serializes (plain data)");
        s.push('\n');
        s
    }
}
