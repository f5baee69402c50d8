//! Library error types. Each variant names its subject (file, column, row, key) so a
//! district analyst can find and fix the problem without reading code.

use std::path::PathBuf;

/// Errors of the data layer (loading, validating, joining input files).
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    // The I/O error is part of the message, not a source: an error chain would print it twice.
    #[error("cannot read {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    /// An input file named by a contract key that cannot be opened.
    #[error("{key} = {file:?}: cannot open {path}: {error}")]
    Open { key: String, file: String, path: PathBuf, error: std::io::Error },
    #[error("{file}: not a CSV text file; it looks like {what}")]
    NotCsv { file: String, what: String },
    #[error(
        "{file}: the header line holds a carriage return (CR) that does not end the line; the file probably \
         has classic-Mac line ends (CR only): save it as \"CSV UTF-8 (comma delimited)\" (LF or CRLF line ends)"
    )]
    CarriageReturns { file: String },
    #[error(
        "{file}: a quoted field opens in line {line} and runs over {lines} lines (more than {max}; an unclosed \
         quote takes in the lines after it): close the quote in line {line} or remove it",
        max = crate::data::load::MAX_RECORD_LINES
    )]
    UnclosedQuote { file: String, line: u64, lines: u64 },
    #[error("{file}: unsupported file type {extension:?} (use .csv, .tsv, .txt or .parquet)")]
    UnsupportedFormat { file: String, extension: String },
    #[error("{file}: the file is empty (no header line)")]
    EmptyFile { file: String },
    #[error(
        "{file}: required column {column:?} (field `{field}`) not found; headers are {}{}",
        short_list(headers),
        delimiter_hint(headers)
    )]
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
    /// A norms file (`obc norms fit` / `import`) that cannot be used.
    #[error("{file}: {message}")]
    NormsFile { file: String, message: String },
    #[error(transparent)]
    Output(#[from] OutputError),
}

impl DataError {
    /// Names the contract key (`files.roster`) of the file an I/O error is about.
    pub fn for_key(self, key: &str, file: &str) -> DataError {
        match self {
            DataError::Io { path, error } => DataError::Open { key: key.into(), file: file.into(), path, error },
            other => other,
        }
    }
}

/// At most 12 header names, each cut to 40 characters with control characters shown as
/// `?`, quoted and separated by commas: a message never carries a whole garbled line.
pub fn short_list(headers: &[String]) -> String {
    const MAX_NAMES: usize = 12;
    const MAX_CHARS: usize = 40;
    let clip = |h: &String| {
        let mut t: String = h.chars().take(MAX_CHARS).map(|c| if c.is_control() { '?' } else { c }).collect();
        if h.chars().count() > MAX_CHARS {
            t.push('…');
        }
        format!("{t:?}")
    };
    let mut shown: Vec<String> = headers.iter().take(MAX_NAMES).map(clip).collect();
    if headers.len() > MAX_NAMES {
        shown.push(format!("and {} more", headers.len() - MAX_NAMES));
    }
    format!("[{}]", shown.join(", "))
}

/// A hint when the header is one name holding semicolons (a file saved with `;` as the
/// separator, as spreadsheets do in locales with a decimal comma).
fn delimiter_hint(headers: &[String]) -> &'static str {
    if headers.len() == 1 && headers[0].contains(';') {
        "; the header looks semicolon-separated: save the file as comma-separated CSV (or tab-separated)"
    } else {
        ""
    }
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
