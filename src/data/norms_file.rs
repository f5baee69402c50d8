//! Reading a norms file written by `obc norms fit` or `obc norms import` (`norms.json`):
//! the model and the file's SHA-256 for the manifest.

use std::path::Path;

use crate::error::DataError;
use crate::stats::norms::model::{NORMS_SCHEMA_VERSION, NormsModel};

/// Reads and checks a norms file; `file` names it in messages.
pub fn read(path: &Path, file: &str) -> Result<(NormsModel, String), DataError> {
    let bytes = std::fs::read(path).map_err(|error| DataError::Io { path: path.to_path_buf(), error })?;
    let model: NormsModel = serde_json::from_slice(&bytes)
        .map_err(|e| DataError::NormsFile { file: file.into(), message: format!("not a valid norms file: {e}") })?;
    if model.schema_version != NORMS_SCHEMA_VERSION {
        return Err(DataError::NormsFile {
            file: file.into(),
            message: format!("norms layout version {} (this obc reads {NORMS_SCHEMA_VERSION})", model.schema_version),
        });
    }
    Ok((model, super::load::sha256_hex(&bytes)))
}
