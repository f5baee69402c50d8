//! The data layer: schema, loading, validation, join, flow. polars is used here and only
//! here (Parquet input, CSV/Parquet output); calamine reads Excel workbooks.
//!
//! ```text
//! files --load--> RawTable (text) --validate--> Student/Session/Test + exceptions
//!       --join--> AnalyticFile (student x subject) + flow table
//! ```

pub mod assignments;
pub mod chunked;
pub mod columns;
pub mod date;
pub mod guess;
pub mod history;
pub mod join;
pub mod ledger;
pub mod limits;
pub mod load;
pub mod norms_file;
pub mod norms_table;
pub mod output;
pub mod parquet;
pub mod planned;
pub mod records;
pub mod roster_rules;
pub mod schema;
pub mod table;
pub mod validate;
pub mod vendor;
pub mod xlsx;

use std::path::{Path, PathBuf};

pub use join::{AnalyticFile, AnalyticRow, PrepareOptions, prepare};
pub use ledger::{Accounting, Exception, ExceptionKind, Ledger, ReasonCode, Stage};
pub use validate::{RawInputs, ValidateOptions, Validated, validate};

use crate::error::DataError;
use crate::stats::warning::Warning;
use table::Cell;

/// One input file: the contract key that names it (`files.roster`), the name as written
/// there, the path it resolves to, and what to read of it: for a workbook, the sheet (`None`:
/// the first) and the headers of its identifier columns (checked for lost leading zeros).
/// Messages name the key and the name.
#[derive(Clone, Debug, PartialEq)]
pub struct InputFile {
    pub key: String,
    pub name: String,
    pub path: PathBuf,
    pub spec: load::ReadSpec,
    /// The file's layout: a vendor's export is converted in memory to the canonical table,
    /// row for row (each row keeps its number in the file; a row that cannot be converted
    /// is an exception in the file's own column).
    pub format: schema::FileFormat,
}

impl InputFile {
    /// `name` relative to `base` (unless absolute), named by `key` in messages.
    pub fn new(key: &str, name: &str, base: &Path) -> InputFile {
        InputFile {
            key: key.into(),
            name: name.into(),
            path: base.join(name),
            spec: load::ReadSpec::default(),
            format: schema::FileFormat::Canonical,
        }
    }

    /// The same file, read as `spec` says.
    pub fn with_spec(mut self, spec: load::ReadSpec) -> InputFile {
        self.spec = spec;
        self
    }

    /// The same file, in the layout `format`.
    pub fn with_format(mut self, format: schema::FileFormat) -> InputFile {
        self.format = format;
        self
    }

    /// Reads the whole file as a table of text (a vendor export converted to the canonical
    /// columns), with the warnings of a workbook's ID check.
    pub fn read_table(&self) -> Result<(load::RawTable, Vec<Warning>), DataError> {
        let (table, warnings) =
            load::read_table_spec(&self.path, &self.name, &self.spec).map_err(|e| e.for_key(&self.key, &self.name))?;
        match self.format {
            schema::FileFormat::Canonical => Ok((table, warnings)),
            schema::FileFormat::NweaMap(opts) => {
                let option = format!("{}.max_rapid_guessing", self.key);
                let table = vendor::nwea::to_canonical(table, &opts, &option).map_err(DataError::from)?;
                Ok((table, warnings))
            }
            schema::FileFormat::IreadyDiagnostic(opts) => {
                let option = format!("{}.subject", self.key);
                let table = vendor::iready::to_canonical(table, &opts, &option).map_err(DataError::from)?;
                Ok((table, warnings))
            }
        }
    }

    /// Opens the file as a stream of records, with the warnings of a workbook's ID check. A
    /// vendor export is read whole and converted first.
    pub fn open(&self) -> Result<(load::Source, Vec<Warning>), DataError> {
        if self.format.is_vendor() {
            let (table, warnings) = self.read_table()?;
            return Ok((load::Source::from_table(table), warnings));
        }
        load::Source::open_spec(&self.path, &self.name, &self.spec).map_err(|e| e.for_key(&self.key, &self.name))
    }
}

/// The three current-year input files of a run, and the assignments file when the
/// contract names one.
#[derive(Clone, Debug, PartialEq)]
pub struct InputFiles {
    pub roster: InputFile,
    pub sessions: InputFile,
    pub assessments: InputFile,
    /// Per-subject providers (README "Per-subject providers").
    pub assignments: Option<InputFile>,
}

impl InputFiles {
    /// Reads the assignments file whole, when there is one, with the warnings of a
    /// workbook's ID check.
    fn read_assignments(&self) -> Result<(Option<load::RawTable>, Vec<Warning>), DataError> {
        match &self.assignments {
            Some(f) => f.read_table().map(|(t, w)| (Some(t), w)),
            None => Ok((None, Vec::new())),
        }
    }
}

/// Reads the input files whole, as text, with the warnings of the workbooks' ID checks.
pub fn load_inputs(files: &InputFiles) -> Result<(RawInputs, Vec<Warning>), DataError> {
    let (roster, mut warnings) = files.roster.read_table()?;
    let (sessions, w) = files.sessions.read_table()?;
    warnings.extend(w);
    let (assessments, w) = files.assessments.read_table()?;
    warnings.extend(w);
    let (assignments, w) = files.read_assignments()?;
    warnings.extend(w);
    Ok((RawInputs { roster, sessions, assessments, assignments }, warnings))
}

/// Reads and validates the input files as [`prepare_files`] does (the session log and the
/// assessments streamed, only compact records of their valid rows kept), without the join:
/// what `obc validate` writes. The rows, exceptions and accounting are those of
/// [`load_inputs`] and [`validate`].
pub fn validate_files(files: &InputFiles, vopts: &ValidateOptions) -> Result<Validated, DataError> {
    let (Sources { roster, sessions, assessments, assignments }, warnings) = Sources::open(files)?;
    let mut v = validate::validate_streams(roster, sessions, assessments, assignments, vopts)?;
    v.warnings.splice(0..0, warnings);
    Ok(v)
}

/// Loads, validates and joins in one call. The session log and the assessments are read as
/// streams and kept as compact records; the result is the same as [`load_inputs`],
/// [`validate`] and [`prepare`] in turn. With `as_of` (a midpoint review), session and
/// assessment rows dated after it are not used; each is an exception of kind `excluded` in
/// the date column ("dated YYYY-MM-DD, after the --as-of date YYYY-MM-DD").
pub fn prepare_files(
    files: &InputFiles,
    vopts: &ValidateOptions,
    popts: &PrepareOptions,
    as_of: Option<chrono::NaiveDate>,
) -> Result<AnalyticFile, DataError> {
    let (sources, warnings) = Sources::open(files)?;
    prepare_sources_noting(sources, vopts, popts, as_of, warnings)
}

/// The inputs of one run as [`prepare_files`] opens them: the assignments file held, the
/// roster, the session log and the assessments streamed.
struct Sources {
    roster: load::Source,
    sessions: load::Source,
    assessments: load::Source,
    assignments: Option<load::RawTable>,
}

impl Sources {
    /// Opens the files, with the warnings of the workbooks' ID checks.
    fn open(files: &InputFiles) -> Result<(Sources, Vec<Warning>), DataError> {
        let (roster, mut warnings) = files.roster.open()?;
        let (sessions, w) = files.sessions.open()?;
        warnings.extend(w);
        let (assessments, w) = files.assessments.open()?;
        warnings.extend(w);
        let (assignments, w) = files.read_assignments()?;
        warnings.extend(w);
        Ok((Sources { roster, sessions, assessments, assignments }, warnings))
    }
}

/// Validates and joins a roster and two streamed inputs.
#[cfg(test)]
pub(crate) fn prepare_sources(
    roster: load::Source,
    sessions: load::Source,
    assessments: load::Source,
    vopts: &ValidateOptions,
    popts: &PrepareOptions,
    as_of: Option<chrono::NaiveDate>,
) -> Result<AnalyticFile, DataError> {
    let sources = Sources { roster, sessions, assessments, assignments: None };
    prepare_sources_noting(sources, vopts, popts, as_of, Vec::new())
}

/// [`prepare_sources`], with the warnings of reading the files put first among the
/// validation warnings.
fn prepare_sources_noting(
    sources: Sources,
    vopts: &ValidateOptions,
    popts: &PrepareOptions,
    as_of: Option<chrono::NaiveDate>,
    read_warnings: Vec<Warning>,
) -> Result<AnalyticFile, DataError> {
    let Sources { roster, sessions, assessments, assignments } = sources;
    let date_header = load::ColumnIndex::locate_in(
        sessions.file(),
        sessions.headers(),
        schema::Role::Sessions,
        &vopts.columns.sessions,
        &[],
    )
    .map(|c| c.header("session_date"))
    .unwrap_or_else(|_| "session_date".to_string());
    let mut v = validate::validate_streams(roster, sessions, assessments, assignments, vopts)?;
    v.warnings.splice(0..0, read_warnings);
    join::prepare_streamed(v, popts, &date_header, as_of)
}

/// Writes all exceptions of some ledgers as a CSV file, streamed: file, row, column, value,
/// reason_code ([`ReasonCode`]), reason, kind (`invalid` or `excluded`), in input order (file as given, then row).
/// The file is the output `name` of `out`, written atomically. Returns the number of rows
/// written.
pub fn write_exceptions<'a>(
    out: &output::OutputDir,
    name: &str,
    ledgers: impl IntoIterator<Item = &'a Ledger>,
) -> Result<u64, DataError> {
    let mut sink =
        table::CsvSink::create(out, name, &["file", "row", "column", "value", "reason_code", "reason", "kind"])?;
    for l in ledgers {
        let mut e: Vec<&Exception> = l.exceptions().iter().collect();
        e.sort_by_key(|x| x.row);
        sink.rows_of(&e, |x, buf| {
            buf.row(&[
                Cell::Text(Some(&x.file)),
                Cell::Int(Some(x.row as i64)),
                Cell::Text(Some(&x.column)),
                Cell::Text(Some(&x.value)),
                Cell::Text(Some(x.code.as_str())),
                Cell::Text(Some(&x.reason)),
                Cell::Text(Some(x.kind.as_str())),
            ]);
        })?;
    }
    Ok(sink.finish()?.0)
}
