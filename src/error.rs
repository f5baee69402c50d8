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
}

/// Errors in a configuration (contract) file: a bad value or an inconsistent rule.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}
