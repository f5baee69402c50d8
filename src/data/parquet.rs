//! Parquet input through polars, read as columns. Every value reaches the validation as
//! text, so the same rules run on CSV and Parquet inputs: text columns are read as polars
//! holds them, and numbers and flags are written as text when their rows are read (a
//! block of rows at a time), as polars' own cast to text writes them (tested below). Other
//! types (dates, unsigned 64-bit integers, 32-bit floats, ...) are cast to text by polars
//! once. A row is a view of the columns at its index ([`ParquetColumns::record`];
//! docs/architecture.md, section 3a).

use std::borrow::Cow;

use polars::prelude::*;

use super::load::{Record, RowsInMemory};
use crate::error::DataError;

/// A Parquet file's columns (null = empty string), in chunks that every column shares: a
/// row is found in its chunk once, then read from each column's array there.
pub struct ParquetColumns {
    pub headers: Vec<String>,
    columns: Vec<Values>,
    /// The first row of each chunk, then the number of rows.
    starts: Vec<usize>,
}

/// A column's values: text, or numbers and flags (held as values, written as text when
/// their rows are read).
enum Values {
    Text(StringChunked),
    Int(Int64Chunked),
    Float(Float64Chunked),
    Flag(BooleanChunked),
}

/// The numbers of a block of rows written as text, column by column, reused from block to
/// block: a record of a row in the block borrows its numbers from here.
#[derive(Default)]
pub struct RowText {
    /// The chunk and its rows `from..to` written (none at first).
    chunk: usize,
    from: usize,
    to: usize,
    /// Per column: the text of its numbers in the block, and where each row's ends (empty
    /// for text and flag columns).
    columns: Vec<(String, Vec<usize>)>,
}

/// The rows of a chunk whose numbers are written as text at once.
const BLOCK: usize = 512;

impl ParquetColumns {
    /// Reads the file's bytes.
    pub fn read(bytes: &[u8], file: &str) -> Result<ParquetColumns, DataError> {
        let err = |e: PolarsError| DataError::Parquet { file: file.into(), message: e.to_string() };
        let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().map_err(err)?;
        ParquetColumns::of_frame(&df).map_err(err)
    }

    /// A frame's columns; ones cut into different chunks are each put in one chunk.
    fn of_frame(df: &DataFrame) -> PolarsResult<ParquetColumns> {
        use rayon::prelude::*;
        let headers: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
        let mut columns = df.columns().par_iter().map(Values::of).collect::<PolarsResult<Vec<_>>>()?;
        let starts = match shared_starts(&columns) {
            Some(starts) => starts,
            None => {
                columns = columns.into_par_iter().map(Values::rechunk).collect();
                vec![0, df.height()]
            }
        };
        Ok(ParquetColumns { headers, columns, starts })
    }

    /// The number of rows.
    pub fn height(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Writes the numbers of rows `at..` of chunk `chunk` (up to [`BLOCK`] of them) into
    /// `buf`, column by column.
    fn write_numbers(&self, chunk: usize, at: usize, buf: &mut RowText) {
        let to = (at + BLOCK).min(self.starts[chunk + 1] - self.starts[chunk]);
        buf.columns.resize_with(self.columns.len(), Default::default);
        for (c, (text, ends)) in self.columns.iter().zip(&mut buf.columns) {
            text.clear();
            ends.clear();
            match c {
                Values::Text(_) | Values::Flag(_) => {}
                Values::Int(v) => {
                    let values = in_chunk(v, chunk);
                    write_rows(at..to, text, ends, |k, t| values.get(k).into_iter().for_each(|x| write_int(t, x)));
                }
                Values::Float(v) => {
                    let values = in_chunk(v, chunk);
                    write_rows(at..to, text, ends, |k, t| values.get(k).into_iter().for_each(|x| write_float(t, x)));
                }
            }
        }
        (buf.chunk, buf.from, buf.to) = (chunk, at, to);
    }
}

/// The first row of each chunk and the number of rows, when every column is cut into the
/// same chunks (a file's row groups); `None` when they differ.
fn shared_starts(columns: &[Values]) -> Option<Vec<usize>> {
    let starts = |c: &Values| {
        let mut starts = vec![0];
        for n in c.chunk_lengths() {
            starts.push(starts.last().unwrap() + n);
        }
        starts
    };
    let first = starts(columns.first()?);
    columns[1..].iter().all(|c| starts(c) == first).then_some(first)
}

impl RowsInMemory for ParquetColumns {
    type Buf = RowText;

    /// Row `i` (0-based) as a record: its spreadsheet row is `i + 2` (the header is row 1).
    /// Its numbers are written into `buf`, with those of the next rows of its chunk when it
    /// is not among the rows written there already.
    fn record<'a>(&'a self, i: usize, buf: &'a mut RowText, mut fields: Vec<Cow<'a, str>>) -> Record<'a> {
        let chunk = self.starts.partition_point(|&s| s <= i) - 1;
        let at = i - self.starts[chunk];
        if buf.chunk != chunk || !(buf.from..buf.to).contains(&at) {
            self.write_numbers(chunk, at, buf);
        }
        let row = at - buf.from;
        fields.extend(self.columns.iter().zip(&buf.columns).map(|(c, (text, ends))| {
            Cow::Borrowed(match c {
                Values::Text(v) => in_chunk(v, chunk).get(at).unwrap_or(""),
                Values::Flag(v) => match in_chunk(v, chunk).get(at) {
                    Some(true) => "true",
                    Some(false) => "false",
                    None => "",
                },
                Values::Int(_) | Values::Float(_) => &text[if row == 0 { 0 } else { ends[row - 1] }..ends[row]],
            })
        }));
        Record { row: i as u64 + 2, fields, defect: None }
    }
}

/// Writes rows `rows` of a column into `text` with `write` (which writes nothing for a
/// null), noting in `ends` where each row's text ends.
fn write_rows(
    rows: std::ops::Range<usize>,
    text: &mut String,
    ends: &mut Vec<usize>,
    mut write: impl FnMut(usize, &mut String),
) {
    for k in rows {
        write(k, text);
        ends.push(text.len());
    }
}

/// The array of `column`'s chunk `chunk` (the chunks are shared, [`shared_starts`]).
fn in_chunk<T: PolarsDataType>(column: &ChunkedArray<T>, chunk: usize) -> &T::Array {
    column.downcast_get(chunk).expect("every column has the shared chunks")
}

/// Writes `x` as polars' cast to text does (the shortest text that reads back as `x`). A
/// whole number of less than 10^15 in size (a scale score, minutes) is its digits and ".0",
/// written without the general algorithm; zero keeps its sign through it.
fn write_float(t: &mut String, x: f64) {
    // below 10^15 in size, `x as i64` is `x` truncated: it reads back as `x` when whole
    if x != 0.0 && x.abs() < 1e15 && x as i64 as f64 == x {
        write_int(t, x as i64);
        t.push_str(".0");
    } else {
        t.push_str(zmij::Buffer::new().format(x));
    }
}

/// Writes `x` in decimal, as polars' cast to text does.
fn write_int(t: &mut String, x: i64) {
    t.extend(super::table::int_digits(x, &mut [0; 20]).iter().map(|&d| char::from(d)));
}

impl Values {
    fn of(column: &Column) -> PolarsResult<Values> {
        Ok(match column.dtype() {
            DataType::String => Values::Text(column.str()?.clone()),
            DataType::Boolean => Values::Flag(column.bool()?.clone()),
            DataType::Float64 => Values::Float(column.f64()?.clone()),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => Values::Int(column.cast(&DataType::Int64)?.i64()?.clone()),
            _ => Values::Text(column.cast(&DataType::String)?.str()?.clone()),
        })
    }

    fn chunk_lengths(&self) -> Vec<usize> {
        match self {
            Values::Text(v) => v.chunk_lengths().collect(),
            Values::Int(v) => v.chunk_lengths().collect(),
            Values::Float(v) => v.chunk_lengths().collect(),
            Values::Flag(v) => v.chunk_lengths().collect(),
        }
    }

    /// The column in one chunk.
    fn rechunk(self) -> Values {
        match self {
            Values::Text(v) => Values::Text(v.rechunk().into_owned()),
            Values::Int(v) => Values::Int(v.rechunk().into_owned()),
            Values::Float(v) => Values::Float(v.rechunk().into_owned()),
            Values::Flag(v) => Values::Flag(v.rechunk().into_owned()),
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
        let mut buf = RowText::default();
        let r = p.record(1, &mut buf, Vec::new());
        assert_eq!(r.row, 3);
        assert_eq!(r.fields, vec!["012", "", "5", "false"]);
        assert_eq!(p.record(0, &mut buf, Vec::new()).fields[1], "201.5");
    }

    #[test]
    fn numbers_and_flags_read_as_the_text_of_polars_cast() {
        // Values of every kind written as text row by row, against polars' own cast of
        // the same columns to text.
        let mut floats = vec![
            Some(0.0),
            Some(-0.0),
            Some(1.0),
            Some(-2.5),
            Some(1e21),
            Some(1e-7),
            Some(123456789.125),
            Some(f64::MAX),
            Some(f64::MIN_POSITIVE),
            Some(0.1 + 0.2),
            None,
        ];
        // whole numbers of every size, on both sides of the shortcut's bound
        for k in 0..=22 {
            let p = 10f64.powi(k);
            floats.extend([p, -p, p - 1.0, p + 1.0, 2.0 * p + 3.0, -(p * 7.0 + 1.0)].map(Some));
        }
        floats.extend([999_999_999_999_999.0, 1e15 - 1.0, 4_503_599_627_370_497.0, 9_007_199_254_740_993.0].map(Some));
        let mut x = 0x2545_f491_4f6c_dd1du64;
        while floats.len() < 600 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                floats.push(Some(v));
                floats.push(Some((x % 100_000) as f64 / 8.0 - 5_000.0));
                floats.push(Some((x >> 14) as f64 * if x.is_multiple_of(2) { 1.0 } else { -1.0 }));
            }
        }
        let n = floats.len();
        let ints: Vec<Option<i64>> = (0..n as i64)
            .map(|i| match i {
                0 => Some(i64::MIN),
                1 => Some(i64::MAX),
                2 => None,
                _ => Some((i * 7_919 - 1_500_000) * if i % 3 == 0 { 1_000_003 } else { 1 }),
            })
            .collect();
        let small: Vec<Option<i32>> = ints.iter().map(|v| v.map(|v| (v % 40_000) as i32)).collect();
        let unsigned: Vec<Option<u32>> = (0..n).map(|i| (i % 5 != 0).then_some((i * 2_654_435) as u32)).collect();
        let flags: Vec<Option<bool>> = (0..n).map(|i| (i % 7 != 3).then_some(i % 2 == 0)).collect();
        let text: Vec<Option<String>> = (0..n).map(|i| (i % 11 != 4).then(|| format!("s{}", i * 37))).collect();
        let mut df = df!("f" => floats, "i" => ints, "s" => small, "u" => unsigned, "b" => flags, "t" => text).unwrap();
        assert!(n > BLOCK);
        // row groups of about 100 rows (each column read in several chunks), then one of all rows
        // (its numbers written in more than one block)
        for group in [Some(97), None] {
            let mut file = Vec::new();
            ParquetWriter::new(&mut file).with_row_group_size(group).finish(&mut df).unwrap();
            let p = ParquetColumns::read(&file, "t.parquet").unwrap();
            assert_eq!(p.starts.len() > 3, group.is_some(), "{:?}", p.starts);
            assert_eq!(p.height(), n);
            assert!(p.columns[..5].iter().all(|c| !matches!(c, Values::Text(_))), "read as numbers and flags");
            let mut buf = RowText::default();
            let casts: Vec<Column> = df.columns().iter().map(|c| c.cast(&DataType::String).unwrap()).collect();
            // rows in order, as a scan reads them, then a few out of order
            for i in (0..n).chain([n - 1, 3, n / 2, 0, 101, 100, 99]) {
                let record = p.record(i, &mut buf, Vec::new());
                for (c, cast) in casts.iter().enumerate() {
                    let want = cast.str().unwrap().get(i).unwrap_or("");
                    assert_eq!(record.fields[c], want, "column {c} row {i}");
                }
            }
        }
    }

    #[test]
    fn columns_cut_into_different_chunks_read_row_by_row() {
        // `a` in chunks of 3 and 2 rows, `b` and `c` in one: each row still reads its own
        // values
        let mut a = Int64Chunked::from_slice("a".into(), &[1, 2, 3]);
        a.append(&Int64Chunked::from_slice("a".into(), &[4, 5])).unwrap();
        let b = StringChunked::from_iter_options("b".into(), ["p", "q", "r", "s", "t"].map(Some).into_iter());
        let c = Float64Chunked::from_slice("c".into(), &[0.5, 1.0, 1.5, 2.0, 2.5]);
        let df = DataFrame::new_infer_height(vec![a.into_column(), b.into_column(), c.into_column()]).unwrap();
        assert!(df.columns()[0].n_chunks() == 2 && df.columns()[1].n_chunks() == 1);
        let p = ParquetColumns::of_frame(&df).unwrap();
        assert_eq!(p.starts, vec![0, 5], "put in one chunk");
        let mut buf = RowText::default();
        let rows: Vec<Vec<String>> =
            (0..5).map(|i| p.record(i, &mut buf, Vec::new()).fields.iter().map(|f| f.to_string()).collect()).collect();
        assert_eq!(rows[3], vec!["4", "s", "2.0"]);
        assert_eq!(rows[4], vec!["5", "t", "2.5"]);
        // when every column shares the chunks, they are kept
        let mut d = Int64Chunked::from_slice("d".into(), &[1, 2, 3]);
        d.append(&Int64Chunked::from_slice("d".into(), &[4, 5])).unwrap();
        let mut e = StringChunked::from_iter_options("e".into(), ["p", "q", "r"].map(Some).into_iter());
        e.append(&StringChunked::from_iter_options("e".into(), ["s", "t"].map(Some).into_iter())).unwrap();
        let p = ParquetColumns::of_frame(&DataFrame::new_infer_height(vec![d.into_column(), e.into_column()]).unwrap())
            .unwrap();
        assert_eq!(p.starts, vec![0, 3, 5]);
        let fields =
            |i| p.record(i, &mut RowText::default(), Vec::new()).fields.iter().map(|f| f.to_string()).collect();
        assert_eq!((0..5).map(fields).collect::<Vec<Vec<String>>>()[2..4], [vec!["3", "r"], vec!["4", "s"]]);
    }
}
