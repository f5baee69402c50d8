//! Parquet input through polars: every column is cast to text so the same validation runs
//! on CSV and Parquet inputs.

use polars::prelude::*;

use super::load::RawRow;
use crate::error::DataError;

/// Reads a Parquet file's columns as text (null -> empty string).
pub fn read_text_columns(bytes: &[u8], file: &str) -> Result<(Vec<String>, Vec<RawRow>), DataError> {
    let err = |e: PolarsError| DataError::Parquet { file: file.into(), message: e.to_string() };
    let df = ParquetReader::new(std::io::Cursor::new(bytes.to_vec())).finish().map_err(err)?;
    let headers: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    let mut text_columns: Vec<Vec<String>> = Vec::with_capacity(headers.len());
    for column in df.columns() {
        let cast = column.cast(&DataType::String).map_err(err)?;
        let values = cast.str().map_err(err)?;
        text_columns.push(values.iter().map(|v| v.unwrap_or("").to_string()).collect());
    }
    let rows = (0..df.height())
        .map(|i| RawRow {
            row: i as u64 + 2,
            fields: text_columns.iter().map(|c| c[i].clone()).collect(),
            defect: None,
        })
        .collect();
    Ok((headers, rows))
}
