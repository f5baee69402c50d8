//! Library error types. Each variant names its subject (file, column, row, key) so a
//! district analyst can find and fix the problem without reading code.

use std::path::PathBuf;

/// Errors of the data layer (loading, validating, joining input files).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: unsupported file type {extension:?} (use .csv, .tsv, .txt or .parquet)")]
    UnsupportedFormat { file: String, extension: String },
    #[error("{file}: the file is empty (no header line)")]
    EmptyFile { file: String },
    #[error("{file}: required column {column:?} (field `{field}`) not found; headers are {headers:?}")]
    MissingColumn { file: String, field: String, column: String, headers: Vec<String> },
    #[error("{file}: column {column:?} appears {count} times in the header")]
    DuplicateColumn { file: String, column: String, count: usize },
    #[error("{file}: CSV parse error at line {line}: {message}")]
    Csv { file: String, line: u64, message: String },
    #[error("{file}: Parquet error: {message}")]
    Parquet { file: String, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
    #[error("{table}: no usable rows after validation")]
    NoRows { table: String },
    /// A reporting group that public tables cannot show safely (README "Privacy").
    #[error("reporting.groups: {group:?} in {file}: {message}")]
    ReportingGroup { file: String, group: String, message: String },
    /// A roster provider code that looks like "not tutored" (README "No silent codes").
    #[error(
        "{file}: provider_id {value:?} on {rows} roster rows looks like a code for \"not tutored\"; \
         if it is, set [contract] comparison_values = [\"\", {value:?}]; if it is a real provider, list the \
         providers in [contract] providers"
    )]
    ProviderCode { file: String, value: String, rows: usize },
    /// Too many rows of an input file were rejected: the run would settle on a fraction of
    /// the data (README "Limits").
    #[error("{0}")]
    TooManyInvalid(Box<crate::data::limits::InvalidReport>),
    /// The contract's metric needs a comparison group and the roster has none.
    #[error(
        "no comparison students: the {metric} metric compares providers with untutored students, and every \
         roster student has a provider; mark untutored students with [contract] comparison_values, or set \
         [contract] require_comparison = false to settle without one"
    )]
    NoComparison { metric: String },
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Errors in a configuration (contract) file: a bad value or an inconsistent rule.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// Errors writing a run's outputs ([`crate::data::output`]). An output that would overwrite
/// an input is a usage problem (exit code 2); every other kind is an output problem
/// (exit code 3: the folder cannot be created or written, the disk is full, a rename failed).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "output {output} is the input file {input}: writing it would overwrite the input; choose another --out folder or rename the input"
    )]
    InputCollision { output: PathBuf, input: PathBuf },
    #[error("cannot create the output folder {path}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a folder, so outputs cannot be written into it: remove it or choose another --out")]
    NotAFolder { path: PathBuf },
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot move {from} into place as {path}")]
    Rename {
        from: PathBuf,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("output name {name:?} is not a plain name inside the output folder")]
    BadName { name: String },
}

impl OutputError {
    /// The process exit code for this kind: 2 for a collision with an input, else 3.
    pub fn exit_code(&self) -> u8 {
        match self {
            OutputError::InputCollision { .. } => 2,
            _ => 3,
        }
    }
}
