//! Parquet input through polars, read as columns: every column is cast to text once (so the
//! same validation runs on CSV and Parquet inputs), and a row is a view of the columns at
//! its index, never a copy of its values ([`ParquetColumns::record`]).

use std::borrow::Cow;

use polars::prelude::*;

use super::load::Record;
use crate::error::DataError;

/// A Parquet file's columns as text (null = empty string).
pub struct ParquetColumns {
    pub headers: Vec<String>,
    columns: Vec<StringChunked>,
    height: usize,
}

impl ParquetColumns {
    /// Reads the file's bytes.
    pub fn read(bytes: &[u8], file: &str) -> Result<ParquetColumns, DataError> {
        let err = |e: PolarsError| DataError::Parquet { file: file.into(), message: e.to_string() };
        let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().map_err(err)?;
        let headers: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
        use rayon::prelude::*;
        let text = |column: &Column| -> PolarsResult<StringChunked> {
            Ok(column.cast(&DataType::String)?.str()?.rechunk().into_owned())
        };
        // Casting to text is most of the read: a column per task on the rayon pool.
        let columns = df.columns().par_iter().map(text).collect::<PolarsResult<Vec<_>>>().map_err(err)?;
        Ok(ParquetColumns { headers, columns, height: df.height() })
    }

    /// The number of rows.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Row `i` (0-based) as a record: its spreadsheet row is `i + 2` (the header is row 1).
    pub fn record(&self, i: usize) -> Record<'_> {
        Record {
            row: i as u64 + 2,
            fields: self.columns.iter().map(|c| Cow::Borrowed(c.get(i).unwrap_or(""))).collect(),
            defect: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_of_any_type_read_as_text_and_rows_as_views() {
        let mut df = df!(
            "student_id" => ["007", "012"],
            "score" => [Some(201.5), None],
            "grade" => [4i64, 5],
            "valid" => [true, false],
        )
        .unwrap();
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes).finish(&mut df).unwrap();
        let p = ParquetColumns::read(&bytes, "t.parquet").unwrap();
        assert_eq!(p.headers, vec!["student_id", "score", "grade", "valid"]);
        assert_eq!(p.height(), 2);
        let r = p.record(1);
        assert_eq!(r.row, 3);
        assert_eq!(r.fields, vec!["012", "", "5", "false"]);
        assert_eq!(p.record(0).fields[1], "201.5");
    }
}
