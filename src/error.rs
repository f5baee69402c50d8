//! Library error types. Each variant names its subject (file, column, row, key) so a
//! district analyst can find and fix the problem without reading code.

use std::path::PathBuf;

use crate::data::norms_table::TableLoadError;
use crate::stats::bootstrap::BootstrapError;
use crate::stats::design::DesignError;
use crate::stats::norms::model::ModelError;
use crate::stats::quantreg::QuantregError;
use crate::stats::vam::VamError;
use crate::stats::vam::providers::ProvidersError;

/// What kind of problem an error is; the exit code follows from it (README.md, "Exit
/// codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input data cannot be used as given (a file, a column, a value, a design the data
    /// make singular): the user fixes the inputs.
    Input,
    /// The contract is wrong or inconsistent: the user fixes the contract.
    Contract,
    /// The command line asks for something that cannot be done.
    Usage,
    /// An output cannot be written (the folder, the disk, a rename).
    Output,
}

impl ErrorKind {
    /// 2 for a problem the user fixes in the inputs, the contract or the command line; 3 for
    /// an output problem.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Input | ErrorKind::Contract | ErrorKind::Usage => 2,
            ErrorKind::Output => 3,
        }
    }
}

/// The kind of `e` when it is one of the library's typed errors of the data and statistics
/// layers (the contract layer's errors have their own `exit_code`).
pub fn kind_of(e: &(dyn std::error::Error + 'static)) -> Option<ErrorKind> {
    if let Some(o) = e.downcast_ref::<OutputError>() {
        return Some(o.kind());
    }
    if let Some(d) = e.downcast_ref::<DataError>() {
        return Some(d.kind());
    }
    if let Some(v) = e.downcast_ref::<crate::data::vendor::VendorError>() {
        return Some(v.kind());
    }
    if let Some(t) = e.downcast_ref::<TableLoadError>() {
        return Some(match t {
            TableLoadError::Read(d) => d.kind(),
            TableLoadError::InvalidArgument { .. } => ErrorKind::Usage,
            _ => ErrorKind::Input,
        });
    }
    if let Some(p) = e.downcast_ref::<ProvidersError>() {
        return Some(match p {
            ProvidersError::Bootstrap(b) => bootstrap_kind(b),
            _ => ErrorKind::Input,
        });
    }
    if let Some(b) = e.downcast_ref::<BootstrapError>() {
        return Some(bootstrap_kind(b));
    }
    if e.is::<ConfigError>() {
        return Some(ErrorKind::Contract);
    }
    let input = e.is::<DesignError>() || e.is::<VamError>() || e.is::<QuantregError>() || e.is::<ModelError>();
    input.then_some(ErrorKind::Input)
}

/// A plan that cannot run is a usage problem (replicates, units); an interval that cannot be
/// computed from the data is an input problem.
fn bootstrap_kind(b: &BootstrapError) -> ErrorKind {
    match b {
        BootstrapError::Plan(_) => ErrorKind::Usage,
        BootstrapError::Interval { .. } => ErrorKind::Input,
    }
}

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
    #[error("{file}: unsupported file type {extension:?} (use .csv, .tsv, .txt, .parquet or .xlsx)")]
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
    #[error("{file}: cannot read the Excel workbook: {message}")]
    Workbook { file: String, message: String },
    #[error("{file}: the workbook has no sheet {sheet:?}; its sheets are {}", short_list(sheets))]
    MissingSheet { file: String, sheet: String, sheets: Vec<String> },
    #[error("{file}: a sheet ({sheet:?}) is chosen, but the file is not an Excel workbook (.xlsx)")]
    SheetOfText { file: String, sheet: String },
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
    /// A vendor export named by the contract that is not in the vendor's layout.
    #[error(transparent)]
    Vendor(Box<crate::data::vendor::VendorError>),
}

impl From<crate::data::vendor::VendorError> for DataError {
    /// The read error itself, or the layout error.
    fn from(e: crate::data::vendor::VendorError) -> DataError {
        match e {
            crate::data::vendor::VendorError::Read(d) => d,
            other => DataError::Vendor(Box::new(other)),
        }
    }
}

impl DataError {
    /// An output problem for [`DataError::Write`] and [`DataError::Output`] (as
    /// [`OutputError::kind`]), an input problem otherwise.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DataError::Write { .. } => ErrorKind::Output,
            DataError::Output(o) => o.kind(),
            _ => ErrorKind::Input,
        }
    }

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
    #[error("cannot read contract {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// Errors writing a run's outputs ([`crate::data::output`]). An output that would overwrite
/// an input, and a folder to check that cannot be read (`obc verify`), are usage problems
/// (exit code 2); every other kind is an output problem
/// (exit code 3: the folder cannot be created or written, the disk is full, a rename failed).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error(
        "output {output} is the input file {input}: writing it would overwrite the input; choose another --out folder or rename the input"
    )]
    InputCollision { output: PathBuf, input: PathBuf },
    #[error("cannot read the folder {path}")]
    ReadFolder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
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
    /// A collision with an input is a usage problem; every other kind is an output problem.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OutputError::InputCollision { .. } | OutputError::ReadFolder { .. } => ErrorKind::Usage,
            _ => ErrorKind::Output,
        }
    }

    /// The process exit code for this kind: 2 for a collision with an input, else 3.
    pub fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }
}
