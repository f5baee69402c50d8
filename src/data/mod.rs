//! The data layer: schema, loading, validation, join, flow. polars is used here and only
//! here (Parquet input, CSV/Parquet output).
//!
//! ```text
//! files --load--> RawTable (text) --validate--> Student/Session/Test + exceptions
//!       --join--> AnalyticFile (student x subject) + flow table
//! ```

pub mod columns;
pub mod date;
pub mod history;
pub mod join;
pub mod ledger;
pub mod limits;
pub mod load;
pub mod norms_table;
pub mod output;
pub mod parquet;
pub mod roster_rules;
pub mod schema;
pub mod table;
pub mod validate;

use std::path::Path;

pub use join::{AnalyticFile, AnalyticRow, PrepareOptions, prepare};
pub use ledger::{Accounting, Exception, ExceptionKind, Ledger, Stage};
pub use validate::{RawInputs, ValidateOptions, Validated, validate};

use crate::contract::terms::Contract;
use crate::error::DataError;
use table::Cell;

/// Reads the contract's three input files; paths are relative to `base` (the contract's
/// folder) unless absolute.
pub fn load_inputs(contract: &Contract, base: &Path) -> Result<RawInputs, DataError> {
    let read = |key: &str, name: &str| load::read_table(&base.join(name), name).map_err(|e| e.for_key(key, name));
    Ok(RawInputs {
        roster: read("files.roster", &contract.files.roster)?,
        sessions: read("files.sessions", &contract.files.sessions)?,
        assessments: read("files.assessments", &contract.files.assessments)?,
    })
}

/// Validation options taken from a contract.
pub fn validate_options(contract: &Contract) -> ValidateOptions {
    ValidateOptions {
        columns: contract.columns.clone(),
        ids: contract.ids.clone(),
        providers: contract.contract.providers.clone(),
        groups: contract.reporting.groups.clone(),
        required_test_fields: required_test_fields(contract),
        comparison_values: contract.contract.comparison_values.clone(),
        group_rules: roster_rules::GroupRules {
            named: contract.reporting.groups_named,
            max_values: contract.reporting.max_group_values,
            min_count: contract.reporting.min_cell,
            combine_rare: contract.reporting.rare_values == crate::contract::terms::RareValues::Combine,
        },
        score_ranges: contract.limits.ranges(),
    }
}

/// Assessment fields the contract's test windows use: `window` when a window is chosen by
/// label, `school_year` when by school year.
fn required_test_fields(contract: &Contract) -> Vec<String> {
    let specs = [&contract.tests.pre, &contract.tests.post];
    let mut out = Vec::new();
    if specs.iter().any(|w| w.window.is_some()) {
        out.push("window".to_string());
    }
    if specs.iter().any(|w| w.school_year.is_some()) {
        out.push("school_year".to_string());
    }
    out
}

/// Preparation options taken from a contract.
pub fn prepare_options(contract: &Contract) -> PrepareOptions {
    PrepareOptions {
        subjects: contract.contract.subject.list(),
        providers: contract.contract.providers.clone(),
        grades: contract.contract.grades.clone(),
        tests: contract.tests.clone(),
        eligibility: contract.eligibility.clone(),
        boundary: contract.reporting.attrition_boundary,
    }
}

/// Loads, validates and joins in one call. The session log and the assessments are read as
/// streams and kept as compact records (see [`prepare_contract_as_of`]); the result is the
/// same as [`load_inputs`], [`validate`] and [`prepare`] in turn.
pub fn prepare_contract(contract: &Contract, base: &Path) -> Result<AnalyticFile, DataError> {
    prepare_contract_as_of(contract, base, None)
}

/// [`prepare_contract`] for a review on partial data: with `as_of`, session and assessment
/// rows dated after it are not used; each is an exception of kind `excluded` in the date
/// column ("dated YYYY-MM-DD, after the --as-of date YYYY-MM-DD").
pub fn prepare_contract_as_of(
    contract: &Contract,
    base: &Path,
    as_of: Option<chrono::NaiveDate>,
) -> Result<AnalyticFile, DataError> {
    let open = |key: &str, name: &str| load::Source::open(&base.join(name), name).map_err(|e| e.for_key(key, name));
    let roster = load::read_table(&base.join(&contract.files.roster), &contract.files.roster)
        .map_err(|e| e.for_key("files.roster", &contract.files.roster))?;
    let sessions = open("files.sessions", &contract.files.sessions)?;
    let assessments = open("files.assessments", &contract.files.assessments)?;
    prepare_sources(roster, sessions, assessments, &validate_options(contract), &prepare_options(contract), as_of)
}

/// Validates and joins a roster and two streamed inputs.
pub(crate) fn prepare_sources(
    roster: load::RawTable,
    sessions: load::Source,
    assessments: load::Source,
    vopts: &ValidateOptions,
    popts: &PrepareOptions,
    as_of: Option<chrono::NaiveDate>,
) -> Result<AnalyticFile, DataError> {
    let date_header = load::ColumnIndex::locate_in(
        sessions.file(),
        sessions.headers(),
        schema::Role::Sessions,
        &vopts.columns.sessions,
        &[],
    )
    .map(|c| c.header("session_date"))
    .unwrap_or_else(|_| "session_date".to_string());
    let v = validate::validate_streams(roster, sessions, assessments, vopts)?;
    join::prepare_streamed(v, popts, &date_header, as_of)
}

/// Writes all exceptions of some ledgers as a CSV file, streamed: file, row, column, value,
/// reason, kind (`invalid` or `excluded`), in input order (file as given, then row).
/// The file is the output `name` of `out`, written atomically. Returns the number of rows
/// written.
pub fn write_exceptions<'a>(
    out: &output::OutputDir,
    name: &str,
    ledgers: impl IntoIterator<Item = &'a Ledger>,
) -> Result<u64, DataError> {
    let mut sink = table::CsvSink::create(out, name, &["file", "row", "column", "value", "reason", "kind"])?;
    for l in ledgers {
        let mut e: Vec<&Exception> = l.exceptions().iter().collect();
        e.sort_by_key(|x| x.row);
        for x in e {
            sink.row(&[
                Cell::Text(Some(&x.file)),
                Cell::Int(Some(x.row as i64)),
                Cell::Text(Some(&x.column)),
                Cell::Text(Some(&x.value)),
                Cell::Text(Some(&x.reason)),
                Cell::Text(Some(x.kind.as_str())),
            ])?;
        }
    }
    Ok(sink.finish()?.0)
}
