//! Output tables: a small typed column store that the data layer writes as CSV (with
//! [`CsvSink`]) or Parquet (through polars). Column names and order are fixed by whoever
//! builds the table. Large outputs (the audit, the exceptions) are streamed row by row with
//! [`CsvSink`] instead of being built as a table first.
//!
//! CSV format (the same bytes polars' CSV writer gives with its defaults, which this crate
//! used before): `,` separator, a header line, `\n` line ends; null is empty, an empty
//! string is `""`; text containing `,`, `\r`, `\n` or `"` is quoted with `"` doubled;
//! floats in the shortest form that reads back to the same value (`zmij`, as polars), so
//! `670` is written `670.0`; booleans `true` / `false`.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;

use crate::data::output::{AtomicFile, OutputDir, Written};
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

    /// Writes the table as the output `name` of `out` (CSV format: module docs), atomically
    /// ([`crate::data::output`]). Returns the output's SHA-256 and size.
    pub fn write_into(&self, out: &OutputDir, name: &str, format: Format) -> Result<Written, DataError> {
        if format == Format::Csv {
            let names: Vec<&str> = self.names();
            let mut sink = CsvSink::create(out, name, &names)?;
            let mut cells: Vec<Cell<'_>> = Vec::with_capacity(self.columns.len());
            for i in 0..self.height() {
                cells.clear();
                cells.extend(self.columns.iter().map(|(_, c)| match c {
                    Column::Text(v) => Cell::Text(v[i].as_deref()),
                    Column::Float(v) => Cell::Float(v[i]),
                    Column::Int(v) => Cell::Int(v[i]),
                    Column::Bool(v) => Cell::Bool(v[i]),
                }));
                sink.row(&cells)?;
            }
            return sink.finish().map(|(_, w)| w);
        }
        let werr = |m: String| DataError::Write { path: out.join(name), message: m };
        let mut df = self.to_frame().map_err(|e| werr(e.to_string()))?;
        let mut file = out.create(name)?;
        ParquetWriter::new(&mut file).finish(&mut df).map_err(|e| werr(e.to_string()))?;
        Ok(file.commit()?)
    }

    /// Writes the table to `path` alone (no manifest), atomically: [`Table::write_into`] on
    /// the path's folder.
    pub fn write(&self, path: &Path, format: Format) -> Result<(), DataError> {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let out = OutputDir::open(path.parent().unwrap_or(Path::new("")), &[], "manifest.json")?;
        self.write_into(&out, &name, format).map(|_| ())
    }
}

/// One CSV value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell<'a> {
    Text(Option<&'a str>),
    Float(Option<f64>),
    Int(Option<i64>),
    Bool(Option<bool>),
    /// A date, written `YYYY-MM-DD` as [`super::date::iso`] writes it.
    Date(Option<chrono::NaiveDate>),
}

/// A CSV file written row by row (format: module docs) as one output of an [`OutputDir`].
pub struct CsvSink<'a> {
    out: AtomicFile<'a>,
    line: Vec<u8>,
    width: usize,
    rows: u64,
}

fn push_text(line: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        line.extend_from_slice(b"\"\"");
        return;
    }
    let quote = s.bytes().any(|b| matches!(b, b',' | b'\n' | b'\r' | b'"'));
    if !quote {
        line.extend_from_slice(s.as_bytes());
        return;
    }
    line.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            line.push(b'"');
        }
        line.push(b);
    }
    line.push(b'"');
}

/// Appends one CSV line (format: module docs) of `cells` to `line`.
fn push_row(line: &mut Vec<u8>, cells: &[Cell<'_>]) {
    let mut float = zmij::Buffer::new();
    for (k, c) in cells.iter().enumerate() {
        if k > 0 {
            line.push(b',');
        }
        match *c {
            Cell::Text(Some(s)) => push_text(line, s),
            Cell::Float(Some(x)) => line.extend_from_slice(float.format(x).as_bytes()),
            Cell::Int(Some(x)) => push_int(line, x),
            Cell::Bool(Some(b)) => line.extend_from_slice(if b { b"true" } else { b"false" }),
            Cell::Date(Some(d)) => push_date(line, d),
            Cell::Text(None) | Cell::Float(None) | Cell::Int(None) | Cell::Bool(None) | Cell::Date(None) => {}
        }
    }
    line.push(b'\n');
}

/// The decimal digits of `x` (as `x.to_string()` writes them), in `digits`.
pub(crate) fn int_digits(x: i64, digits: &mut [u8; 20]) -> &[u8] {
    let mut n = x.unsigned_abs();
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if x < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    &digits[at..]
}

/// Appends [`int_digits`] of `x`.
fn push_int(line: &mut Vec<u8>, x: i64) {
    line.extend_from_slice(int_digits(x, &mut [0; 20]));
}

/// Appends `d` as [`super::date::iso`] writes it, without making a string.
fn push_date(line: &mut Vec<u8>, d: chrono::NaiveDate) {
    use chrono::Datelike;
    let (y, m, day) = (d.year(), d.month(), d.day());
    if (0..=9999).contains(&y) {
        let y = y as u32;
        let digit = |n: u32| b'0' + n as u8;
        line.extend_from_slice(&[digit(y / 1000), digit(y / 100 % 10), digit(y / 10 % 10), digit(y % 10), b'-']);
        line.extend_from_slice(&[digit(m / 10), digit(m % 10), b'-', digit(day / 10), digit(day % 10)]);
    } else {
        line.extend_from_slice(super::date::iso(d).as_bytes());
    }
}

fn write_bytes(out: &mut AtomicFile<'_>, bytes: &[u8]) -> Result<(), DataError> {
    out.write_all(bytes).map_err(|e| DataError::Write { path: out.path().to_path_buf(), message: e.to_string() })
}

/// Rows formatted for a [`CsvSink`] away from it (see [`CsvSink::rows_of`]).
pub struct RowBuf {
    bytes: Vec<u8>,
    width: usize,
    rows: u64,
}

impl RowBuf {
    /// Adds one row (as many cells as the sink's header).
    pub fn row(&mut self, cells: &[Cell<'_>]) {
        assert_eq!(cells.len(), self.width, "CSV row width (internal invariant)");
        self.rows += 1;
        push_row(&mut self.bytes, cells);
    }
}

impl<'a> CsvSink<'a> {
    /// Starts the output `name` of `out` and writes the header.
    pub fn create(out: &'a OutputDir, name: &str, header: &[&str]) -> Result<CsvSink<'a>, DataError> {
        let mut sink = CsvSink { out: out.create(name)?, line: Vec::with_capacity(256), width: header.len(), rows: 0 };
        let cells: Vec<Cell<'_>> = header.iter().map(|h| Cell::Text(Some(h))).collect();
        sink.emit(&cells)?;
        Ok(sink)
    }

    fn emit(&mut self, cells: &[Cell<'_>]) -> Result<(), DataError> {
        assert_eq!(cells.len(), self.width, "CSV row width (internal invariant)");
        self.line.clear();
        push_row(&mut self.line, cells);
        write_bytes(&mut self.out, &self.line)
    }

    /// Writes the rows `write` gives for each item, in the order of `items`: the rows are
    /// formatted on the rayon pool a group of items at a time while this thread writes the
    /// group before, in order, so the file is the same for any number of threads.
    pub fn rows_of<T: Sync>(&mut self, items: &[T], write: impl Fn(&T, &mut RowBuf) + Sync) -> Result<(), DataError> {
        use rayon::prelude::*;
        const CHUNK: usize = 4096;
        let width = self.width;
        let format = |group: &[T]| -> Vec<RowBuf> {
            group
                .par_chunks(CHUNK)
                .map(|chunk| {
                    let mut buf = RowBuf { bytes: Vec::with_capacity(chunk.len() * 128), width, rows: 0 };
                    chunk.iter().for_each(|t| write(t, &mut buf));
                    buf
                })
                .collect()
        };
        // a bounded number of formatted groups is held at a time
        let mut formatted = Vec::new();
        for group in items.chunks(CHUNK * 4 * rayon::current_num_threads().max(1)) {
            let mut next = Vec::new();
            let written = rayon::in_place_scope(|scope| {
                scope.spawn(|_| next = format(group));
                self.write_formatted(std::mem::take(&mut formatted))
            });
            written?;
            formatted = next;
        }
        self.write_formatted(formatted)
    }

    fn write_formatted(&mut self, bufs: Vec<RowBuf>) -> Result<(), DataError> {
        for buf in bufs {
            self.rows += buf.rows;
            write_bytes(&mut self.out, &buf.bytes)?;
        }
        Ok(())
    }

    /// Writes one row (as many cells as the header).
    pub fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), DataError> {
        self.rows += 1;
        self.emit(cells)
    }

    /// Puts the file in place; returns the number of data rows and the written output.
    pub fn finish(self) -> Result<(u64, Written), DataError> {
        Ok((self.rows, self.out.commit()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integers and dates are written without a string in between, as `to_string` and
    /// `date::iso` write them: the extremes, signs, every length of number, and dates from
    /// before year 0 to after 9999.
    #[test]
    fn numbers_and_dates_are_written_as_their_text() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut ints = vec![0, 1, -1, 9, 10, -10, 99, 100, i64::MAX, i64::MIN, i64::MIN + 1];
        ints.extend((0..100_000).map(|_| rng.random::<i64>() >> rng.random_range(0..64)));
        for x in ints {
            let mut line = Vec::new();
            push_int(&mut line, x);
            assert_eq!(String::from_utf8(line).unwrap(), x.to_string());
        }
        let mut dates: Vec<chrono::NaiveDate> =
            [(-50, 1, 1), (0, 1, 1), (9, 12, 31), (999, 2, 3), (9999, 12, 31), (10000, 1, 1)]
                .iter()
                .map(|&(y, m, d)| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap())
                .collect();
        dates.extend(
            (0..100_000)
                .map(|_| chrono::NaiveDate::from_num_days_from_ce_opt(rng.random_range(-10_000..4_000_000)).unwrap()),
        );
        for d in dates {
            let mut line = Vec::new();
            push_date(&mut line, d);
            assert_eq!(String::from_utf8(line).unwrap(), crate::data::date::iso(d), "{d:?}");
        }
    }
}
