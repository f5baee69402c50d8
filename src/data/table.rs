//! Output tables: a small typed column store that the data layer writes as CSV or Parquet
//! through polars. Column names and order are fixed by whoever builds the table.

use std::path::Path;

use polars::prelude::*;

use crate::error::DataError;

/// One output column.
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    Text(Vec<Option<String>>),
    Float(Vec<Option<f64>>),
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Text(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A named, ordered set of equally long columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<(String, Column)>,
}

/// Output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

impl Table {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, name: &str, column: Column) {
        if let Some((_, first)) = self.columns.first() {
            assert_eq!(first.len(), column.len(), "column {name} has a different length (internal invariant)");
        }
        self.columns.push((name.to_string(), column));
    }

    pub fn height(&self) -> usize {
        self.columns.first().map(|(_, c)| c.len()).unwrap_or(0)
    }

    pub fn names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn to_frame(&self) -> PolarsResult<DataFrame> {
        let cols: Vec<polars::prelude::Column> = self
            .columns
            .iter()
            .map(|(name, c)| {
                let name = PlSmallStr::from(name.as_str());
                match c {
                    Column::Text(v) => Series::new(name, v.clone()).into(),
                    Column::Float(v) => Series::new(name, v.clone()).into(),
                    Column::Int(v) => Series::new(name, v.clone()).into(),
                    Column::Bool(v) => Series::new(name, v.clone()).into(),
                }
            })
            .collect();
        DataFrame::new(self.height(), cols)
    }

    /// Writes the table; CSV uses `,`, a header line, `\n` line ends and empty for null.
    pub fn write(&self, path: &Path, format: Format) -> Result<(), DataError> {
        let werr = |m: String| DataError::Write { path: path.to_path_buf(), message: m };
        let mut df = self.to_frame().map_err(|e| werr(e.to_string()))?;
        let mut file = std::fs::File::create(path).map_err(|e| werr(e.to_string()))?;
        match format {
            Format::Csv => CsvWriter::new(&mut file).include_header(true).finish(&mut df),
            Format::Parquet => ParquetWriter::new(&mut file).finish(&mut df).map(|_| ()),
        }
        .map_err(|e| werr(e.to_string()))
    }
}
