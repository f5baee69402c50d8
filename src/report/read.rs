//! Reads `results.json` and `recommendation.json` into the one results schema
//! ([`crate::contract::results`]) section by section, so that a missing or malformed section
//! is named in the error ([`ReportError`]). Sections added after version 1 may be absent.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ReportError;
use crate::contract::results::{BaselineResults, CheckResults, Header};

/// Reads `root[key]` as `T`; absent or null is [`ReportError::Missing`].
fn required<T: DeserializeOwned>(root: &Value, key: &str) -> Result<T, ReportError> {
    match root.get(key) {
        None | Some(Value::Null) => Err(ReportError::Missing { field: key.to_string() }),
        Some(v) => {
            T::deserialize(v).map_err(|e| ReportError::Invalid { field: key.to_string(), message: e.to_string() })
        }
    }
}

/// Reads `root[key]` as `T`; absent or null is `None`.
fn optional<T: DeserializeOwned>(root: &Value, key: &str) -> Result<Option<T>, ReportError> {
    match root.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => T::deserialize(v)
            .map(Some)
            .map_err(|e| ReportError::Invalid { field: key.to_string(), message: e.to_string() }),
    }
}

/// The head of either results file.
fn header(v: &Value) -> Result<Header, ReportError> {
    Ok(Header {
        schema_version: optional(v, "schema_version")?.unwrap_or(0),
        contract: required(v, "contract")?,
        outcome: optional(v, "outcome")?.unwrap_or_default(),
        metric: optional(v, "metric")?.unwrap_or_default(),
        decision: optional(v, "decision")?.unwrap_or_default(),
    })
}

/// The results of `obc check`.
pub fn check(v: &Value) -> Result<CheckResults, ReportError> {
    Ok(CheckResults {
        header: header(v)?,
        settlement: required(v, "settlement")?,
        figures: optional(v, "figures")?,
        norms: optional(v, "norms")?,
        midpoint: optional(v, "midpoint")?,
        manifest: required(v, "manifest")?,
    })
}

/// The recommendation of `obc baseline`.
pub fn baseline(v: &Value) -> Result<BaselineResults, ReportError> {
    Ok(BaselineResults {
        header: header(v)?,
        weeks: optional(v, "weeks")?.unwrap_or(f64::NAN),
        baseline: required(v, "baseline")?,
        manifest: required(v, "manifest")?,
    })
}
