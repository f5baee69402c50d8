//! Reading input files into raw text tables, before any typing.
//!
//! Every field is read as text, so identifiers keep their leading zeros and a stray "N/A"
//! in a numeric column becomes an exception for that row instead of failing the file.
//! CSV: UTF-8 with or without a byte-order mark, comma or tab separated (decided from the
//! header line), LF or CRLF line ends, quoted fields; blank lines are skipped and counted.
//! Records end at a line feed only: a carriage return elsewhere is a fault of its row. Every
//! physical line is the header, a row or a blank line: a record whose quoted field spans
//! lines comes with one excepted continuation row per further line, and a record over
//! [`MAX_RECORD_LINES`] lines (an unclosed quote) stops the read. Files that are not text
//! (workbooks, PDFs, UTF-16, binary) are refused by what they look like, never echoed.
//! Parquet: every column is cast to text. Excel workbooks (`.xlsx`): one sheet, its cells as
//! text ([`super::xlsx`]).
//!
//! Row numbers are spreadsheet rows: the header is row 1, so in a CSV file the row is the
//! line number where the record starts; in a Parquet file, the record's index + 2; in a
//! workbook, the sheet's own row number.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::ledger::ReasonCode;
use super::schema::{Field, Role};
use crate::error::DataError;
use crate::stats::warning::Warning;

/// One record of a raw table.
#[derive(Clone, Debug, PartialEq)]
pub struct RawRow {
    /// Spreadsheet row number (header = 1).
    pub row: u64,
    pub fields: Vec<String>,
    /// A fault of the record itself, found while reading: text that is not UTF-8, a stray
    /// carriage return, a quoted field that runs over several lines (usually an unclosed
    /// quote that took in the lines after it), or a line that is part of such a field (no
    /// fields), or a workbook row with an error cell or a damaged ID. Validation excepts such
    /// a row before looking at its fields.
    pub defect: Option<Defect>,
}

/// What is wrong with a record as a whole: the exception's code and its text, and where a
/// reader found it in a column of its own (a vendor export converted in memory), that
/// column and its value; `more` holds the record's further problems, each its own exception.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defect {
    pub code: ReasonCode,
    pub text: String,
    pub column: String,
    pub value: String,
    pub more: Vec<Defect>,
}

impl Defect {
    /// A defect of the record as a whole.
    pub fn new(code: ReasonCode, text: impl Into<String>) -> Self {
        Defect { code, text: text.into(), column: String::new(), value: String::new(), more: Vec::new() }
    }

    /// A record that cannot be read as text ([`ReasonCode::UnreadableRow`]).
    pub fn unreadable(text: impl Into<String>) -> Self {
        Defect::new(ReasonCode::UnreadableRow, text)
    }

    /// Each problem as (column, value, code, reason): this one, then `more`.
    pub fn problems(&self) -> Vec<(String, String, ReasonCode, String)> {
        let mut out = vec![(self.column.clone(), self.value.clone(), self.code, self.text.clone())];
        out.extend(self.more.iter().flat_map(Defect::problems));
        out
    }
}

impl std::fmt::Display for Defect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// One problem of a row: column, value, code and reason.
pub type Problem = (String, String, ReasonCode, String);

/// A file read as text.
#[derive(Clone, Debug)]
pub struct RawTable {
    /// The file name as the configuration names it (used in exceptions).
    pub file: String,
    pub path: PathBuf,
    pub sha256: String,
    pub headers: Vec<String>,
    pub rows: Vec<RawRow>,
    /// Blank lines skipped (not records, not counted as rows read).
    pub blank_lines: u64,
}

/// Hex SHA-256 of a byte string.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a CSV/TSV, Parquet or Excel file (the workbook's first sheet); `file` is the
/// display name used in messages.
pub fn read_table(path: &Path, file: &str) -> Result<RawTable, DataError> {
    Ok(read_table_spec(path, file, &ReadSpec::default())?.0)
}

/// What to read of a file beyond its path: for a workbook, the sheet (`None`: the first) and
/// the headers of identifier columns, whose numeric cells are checked for lost leading
/// zeros ([`super::xlsx`]), with the contract's `ids.pad_width` (which repairs them). A sheet
/// named for a text or Parquet file is an error.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReadSpec {
    pub sheet: Option<String>,
    pub id_headers: Vec<String>,
    pub pad_width: Option<usize>,
}

impl ReadSpec {
    /// The sheet `sheet` (or the first), with no identifier columns checked.
    pub fn sheet(sheet: Option<&str>) -> ReadSpec {
        ReadSpec { sheet: sheet.map(str::to_string), ..ReadSpec::default() }
    }
}

/// [`read_table`] with a [`ReadSpec`]; also returns the warnings of a workbook's ID check.
pub fn read_table_spec(path: &Path, file: &str, spec: &ReadSpec) -> Result<(RawTable, Vec<Warning>), DataError> {
    let (mut source, warnings) = Source::open_spec(path, file, spec)?;
    if let Source::Table { table, .. } = source {
        return Ok((table, warnings));
    }
    let headers = source.headers().to_vec();
    let mut rows = Vec::new();
    source.scan(
        |r| Ok(r.to_raw()),
        |r| {
            rows.push(r);
            Ok(())
        },
    )?;
    let (sha256, blank_lines) = source.finish()?;
    Ok((RawTable { file: file.into(), path: path.to_path_buf(), sha256, headers, rows, blank_lines }, warnings))
}

/// Parses delimited text. Returns headers, records and the number of blank lines skipped.
pub fn parse_csv(bytes: &[u8], file: &str) -> Result<(Vec<String>, Vec<RawRow>, u64), DataError> {
    let mut stream = CsvStream::new(bytes, file, Path::new(file))?;
    let mut rows = Vec::new();
    while let Some(r) = stream.next_record()? {
        rows.push(r.to_raw());
    }
    let headers = std::mem::take(&mut stream.headers);
    let (_, blank_lines) = stream.finish()?;
    Ok((headers, rows, blank_lines))
}

/// Field access shared by rows held in memory ([`RawRow`]) and rows borrowed from a
/// stream ([`Record`]).
pub trait Fields {
    /// Spreadsheet row number (header = 1).
    fn row(&self) -> u64;
    fn field(&self, i: usize) -> Option<&str>;
    /// Number of fields.
    fn width(&self) -> usize;
    fn defect(&self) -> Option<&Defect>;
}

impl Fields for RawRow {
    fn row(&self) -> u64 {
        self.row
    }
    fn field(&self, i: usize) -> Option<&str> {
        self.fields.get(i).map(|s| s.as_str())
    }
    fn width(&self) -> usize {
        self.fields.len()
    }
    fn defect(&self) -> Option<&Defect> {
        self.defect.as_ref()
    }
}

/// One record of a streamed file: its fields are borrowed from the reader's buffer for this
/// record (copied only when the text is not UTF-8), so reading a row allocates no string
/// per field.
#[derive(Clone, Debug, PartialEq)]
pub struct Record<'a> {
    pub row: u64,
    pub fields: Vec<Cow<'a, str>>,
    pub defect: Option<Defect>,
}

impl Record<'_> {
    /// An owned copy.
    pub fn to_raw(&self) -> RawRow {
        RawRow {
            row: self.row,
            fields: self.fields.iter().map(|f| f.to_string()).collect(),
            defect: self.defect.clone(),
        }
    }
}

impl Fields for Record<'_> {
    fn row(&self) -> u64 {
        self.row
    }
    fn field(&self, i: usize) -> Option<&str> {
        self.fields.get(i).map(|s| s.as_ref())
    }
    fn width(&self) -> usize {
        self.fields.len()
    }
    fn defect(&self) -> Option<&Defect> {
        self.defect.as_ref()
    }
}

/// The rows of an input file: CSV/TSV files are streamed (never held in memory whole),
/// read in parallel parts by [`Source::scan`] ([`super::chunked`]) or one record at a time
/// by [`Source::next_record`] (the careful reader); Parquet files and workbooks are read
/// whole and then handed out row by row.
pub enum Source {
    Csv(Box<CsvStream<std::fs::File>>),
    /// A CSV/TSV file whose header is read, for the parallel reader; `scanned` once read.
    Chunked {
        csv: Box<super::chunked::ChunkedCsv>,
        scanned: Option<super::chunked::Scanned>,
    },
    /// A Parquet file, held as columns.
    Parquet {
        file: String,
        sha256: String,
        columns: Box<super::parquet::ParquetColumns>,
        next: usize,
        /// The numbers of the record [`Source::next_record`] returns, as text.
        buf: super::parquet::RowText,
    },
    Table {
        table: RawTable,
        next: usize,
    },
}

/// Which CSV reader [`Source::open`] sets up: the parallel one, unless the environment
/// variable `OBC_READER` is `careful` (docs/architecture.md, "Reading input files").
fn careful_only() -> bool {
    std::env::var("OBC_READER").is_ok_and(|v| v == "careful")
}

impl Source {
    /// Opens `path` (`file` is the display name): reads the header of a CSV file, or the
    /// whole of a Parquet file or of a workbook's first sheet.
    pub fn open(path: &Path, file: &str) -> Result<Source, DataError> {
        Ok(Source::open_spec(path, file, &ReadSpec::default())?.0)
    }

    /// [`Source::open`] with a [`ReadSpec`]; also returns the warnings of a workbook's ID
    /// check.
    pub fn open_spec(path: &Path, file: &str, spec: &ReadSpec) -> Result<(Source, Vec<Warning>), DataError> {
        let io = |source| DataError::Io { path: path.to_path_buf(), error: source };
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        if ext == "xlsx" || ext == "xlsm" {
            let bytes = std::fs::read(path).map_err(io)?;
            let sheet = super::xlsx::read_sheet(&bytes, file, spec)?;
            let table = RawTable {
                file: file.into(),
                path: path.to_path_buf(),
                sha256: sha256_hex(&bytes),
                headers: sheet.headers,
                rows: sheet.rows,
                blank_lines: sheet.blank_rows,
            };
            return Ok((Source::Table { table, next: 0 }, sheet.warnings));
        }
        if let Some(sheet) = &spec.sheet {
            std::fs::metadata(path).map_err(io)?;
            return Err(DataError::SheetOfText { file: file.into(), sheet: sheet.clone() });
        }
        let source = match ext.as_str() {
            "csv" | "tsv" | "txt" => Source::open_csv(path, file),
            "parquet" | "pq" => {
                let bytes = std::fs::read(path).map_err(io)?;
                let (sha256, columns) =
                    rayon::join(|| sha256_hex(&bytes), || super::parquet::ParquetColumns::read(&bytes, file));
                let columns = Box::new(columns?);
                Ok(Source::Parquet { file: file.into(), sha256, columns, next: 0, buf: Default::default() })
            }
            _ => {
                std::fs::metadata(path).map_err(io)?;
                Err(DataError::UnsupportedFormat { file: file.into(), extension: ext })
            }
        }?;
        Ok((source, Vec::new()))
    }

    /// A CSV/TSV file for the parallel reader, or for the careful one when its header is
    /// longer than the parallel reader takes (or `OBC_READER=careful`).
    fn open_csv(path: &Path, file: &str) -> Result<Source, DataError> {
        if !careful_only()
            && let Some(csv) = super::chunked::ChunkedCsv::open(path, file)?
        {
            return Ok(Source::Chunked { csv: Box::new(csv), scanned: None });
        }
        Source::open_careful(path, file)
    }

    /// A CSV/TSV file for the careful reader.
    pub fn open_careful(path: &Path, file: &str) -> Result<Source, DataError> {
        let f =
            std::fs::File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), error: source })?;
        Ok(Source::Csv(Box::new(CsvStream::new(f, file, path)?)))
    }

    /// A table already in memory, handed out row by row.
    pub fn from_table(table: RawTable) -> Source {
        Source::Table { table, next: 0 }
    }

    pub fn file(&self) -> &str {
        match self {
            Source::Csv(s) => &s.file,
            Source::Chunked { csv, .. } => &csv.file,
            Source::Parquet { file, .. } => file,
            Source::Table { table, .. } => &table.file,
        }
    }

    pub fn headers(&self) -> &[String] {
        match self {
            Source::Csv(s) => &s.headers,
            Source::Chunked { csv, .. } => &csv.headers,
            Source::Parquet { columns, .. } => &columns.headers,
            Source::Table { table, .. } => &table.headers,
        }
    }

    /// The next record, or `None` at the end of the file. A file opened for the parallel
    /// reader is read from here on by the careful one (the two give the same records).
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, DataError> {
        if let Source::Chunked { csv, scanned } = self {
            if scanned.is_some() {
                return Ok(None);
            }
            *self = Source::open_careful(&csv.path.clone(), &csv.file.clone())?;
        }
        match self {
            Source::Csv(s) => s.next_record(),
            Source::Chunked { .. } => Ok(None),
            Source::Parquet { columns, next, buf, .. } => {
                if *next >= columns.height() {
                    return Ok(None);
                }
                *next += 1;
                Ok(Some(columns.record(*next - 1, buf, Vec::new())))
            }
            Source::Table { table, next } => {
                if *next >= table.rows.len() {
                    return Ok(None);
                }
                *next += 1;
                Ok(Some(table.row_record(*next - 1, Vec::new())))
            }
        }
    }

    /// Every remaining record in file order: `map` gives each record's value (on the rayon
    /// pool's threads for a CSV file, [`super::chunked`]) and `commit` takes the values in
    /// file order on this thread. The first error in file order stops the read. What
    /// `commit` builds does not depend on the number of threads.
    pub fn scan<T: Send>(
        &mut self,
        map: impl Fn(&Record<'_>) -> Result<T, DataError> + Sync,
        mut commit: impl FnMut(T) -> Result<(), DataError>,
    ) -> Result<(), DataError> {
        match self {
            Source::Chunked { csv, scanned } => {
                if scanned.is_none() {
                    *scanned = Some(csv.scan(map, commit)?);
                }
                Ok(())
            }
            Source::Parquet { columns, next, .. } => {
                let from = std::mem::replace(next, columns.height());
                scan_rows(from..columns.height(), &**columns, map, commit)
            }
            Source::Table { table, next } => {
                let from = std::mem::replace(next, table.rows.len());
                scan_rows(from..table.rows.len(), &*table, map, commit)
            }
            Source::Csv(_) => {
                while let Some(r) = self.next_record()? {
                    let v = map(&r)?;
                    commit(v)?;
                }
                Ok(())
            }
        }
    }

    /// About how many records are still to be read (exact when the rows are held), to
    /// reserve room for them: a guess for delimited text, never a count.
    pub fn rows_hint(&self) -> usize {
        match self {
            Source::Chunked { csv, scanned: None } => csv.rows_hint(),
            Source::Parquet { columns, next, .. } => columns.height() - *next,
            Source::Table { table, next } => table.rows.len() - *next,
            Source::Chunked { .. } | Source::Csv(_) => 0,
        }
    }

    /// After the last record: the file's SHA-256 and the blank lines skipped.
    pub fn finish(mut self) -> Result<(String, u64), DataError> {
        if let Source::Chunked { scanned: None, .. } = self {
            self.scan(|_| Ok(()), |_| Ok(()))?;
        }
        match self {
            Source::Csv(s) => s.finish(),
            Source::Chunked { scanned, .. } => {
                let s = scanned.expect("scanned above");
                Ok((s.sha256, s.blank_lines))
            }
            Source::Parquet { sha256, .. } => Ok((sha256, 0)),
            Source::Table { table, .. } => Ok((table.sha256, table.blank_lines)),
        }
    }
}

/// Rows held in memory, read as records (a Parquet file's columns, a workbook's sheet).
pub(crate) trait RowsInMemory: Sync {
    /// What a record may write its fields into, reused from row to row.
    type Buf: Default;
    /// Row `i` as a record, its fields added to `fields` (empty: its room is reused from
    /// record to record, [`emptied`]).
    fn record<'b>(&'b self, i: usize, buf: &'b mut Self::Buf, fields: Vec<Cow<'b, str>>) -> Record<'b>;
}

impl RawTable {
    /// Row `i` as a record that borrows its fields, added to `fields`.
    fn row_record<'b>(&'b self, i: usize, mut fields: Vec<Cow<'b, str>>) -> Record<'b> {
        let r = &self.rows[i];
        fields.extend(r.fields.iter().map(|f| Cow::Borrowed(f.as_str())));
        Record { row: r.row, fields, defect: r.defect.clone() }
    }
}

impl RowsInMemory for RawTable {
    type Buf = ();
    fn record<'b>(&'b self, i: usize, _: &'b mut (), fields: Vec<Cow<'b, str>>) -> Record<'b> {
        self.row_record(i, fields)
    }
}

/// `fields` emptied, keeping its room, for the fields of another record: collecting into
/// a vector of the same element size reuses the allocation.
fn emptied<'x>(mut fields: Vec<Cow<'_, str>>) -> Vec<Cow<'x, str>> {
    fields.clear();
    fields.into_iter().map(|_| unreachable!("emptied above")).collect()
}

/// [`Source::scan`] over rows held in memory: `map` runs on the rayon pool over ranges of
/// rows, `commit` takes the values in row order, a batch of ranges at a time.
fn scan_rows<T: Send, R: RowsInMemory>(
    rows: std::ops::Range<usize>,
    held: &R,
    map: impl Fn(&Record<'_>) -> Result<T, DataError> + Sync,
    mut commit: impl FnMut(T) -> Result<(), DataError>,
) -> Result<(), DataError> {
    use rayon::prelude::*;
    const RANGE: usize = 1 << 15;
    let batch = RANGE * 2 * rayon::current_num_threads().max(1);
    let mut start = rows.start;
    while start < rows.end {
        let end = (start + batch).min(rows.end);
        let ranges: Vec<(usize, usize)> = (start..end).step_by(RANGE).map(|a| (a, (a + RANGE).min(end))).collect();
        let mapped: Vec<Result<Vec<T>, DataError>> = ranges
            .into_par_iter()
            .map(|(a, b)| {
                let mut buf = R::Buf::default();
                let mut spare = Vec::new();
                (a..b)
                    .map(|i| {
                        let record = held.record(i, &mut buf, emptied(std::mem::take(&mut spare)));
                        let value = map(&record);
                        spare = emptied(record.fields);
                        value
                    })
                    .collect()
            })
            .collect();
        for values in mapped {
            for v in values? {
                commit(v)?;
            }
        }
        start = end;
    }
    Ok(())
}

/// Hashes every byte read through it (`hasher: None`: a part of a file, whose hash the
/// caller takes).
struct HashRead<R> {
    inner: R,
    hasher: Option<Sha256>,
}

impl<R: Read> Read for HashRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hasher.as_mut() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Watches the bytes the csv reader pulls (the file after its byte-order mark) to give
/// each record its line number, keeping only the runs of line feeds not yet passed by a
/// record, and counts the file's physical lines.
struct LineTrack<R> {
    inner: R,
    /// Offset of the next byte.
    pos: u64,
    /// Line feeds seen so far.
    newlines: u64,
    /// Start of the run of LF bytes being read, if any.
    open_run: Option<u64>,
    /// Closed runs of LF bytes: start, end (exclusive), newlines before the end.
    runs: VecDeque<(u64, u64, u64)>,
    /// Newlines before the end of the last run dropped from `runs`.
    passed: u64,
    /// Whether the last byte read was a line feed (or nothing was read).
    ends_with_newline: bool,
}

impl<R> LineTrack<R> {
    fn new(inner: R) -> Self {
        LineTrack {
            inner,
            pos: 0,
            newlines: 0,
            open_run: None,
            runs: VecDeque::new(),
            passed: 0,
            ends_with_newline: true,
        }
    }

    fn observe(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let eol = b == b'\n';
            match (eol, self.open_run) {
                (true, None) => self.open_run = Some(self.pos),
                (false, Some(start)) => {
                    self.runs.push_back((start, self.pos, self.newlines));
                    self.open_run = None;
                }
                _ => {}
            }
            self.newlines += eol as u64;
            self.ends_with_newline = eol;
            self.pos += 1;
        }
    }

    /// Physical lines read so far: line feeds, plus a last line without one.
    fn lines(&self) -> u64 {
        self.newlines + (!self.ends_with_newline) as u64
    }

    /// Line number of a record the csv reader reports at byte `byte`: the line of the
    /// first byte at or after `byte` that is not a line feed (records are asked for in
    /// file order).
    fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(_, end, nl)) = self.runs.front() {
            if end > byte {
                break;
            }
            self.passed = nl;
            self.runs.pop_front();
        }
        match self.runs.front() {
            Some(&(start, _, nl)) if start <= byte => 1 + nl,
            _ => 1 + self.passed,
        }
    }
}

impl<R: Read> Read for LineTrack<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observe(&buf[..n]);
        if n == 0
            && let Some(start) = self.open_run.take()
        {
            self.runs.push_back((start, self.pos, self.newlines));
        }
        Ok(n)
    }
}

type Body<R> = LineTrack<std::io::Chain<std::io::Cursor<Vec<u8>>, BufReader<HashRead<R>>>>;

/// The most physical lines one record may span. A quoted field may hold line breaks (a
/// comment typed with Enter in a spreadsheet), but a quote that is never closed takes in
/// every line up to the next quote character, often the rest of the file: a record over
/// this many lines is an error ([`DataError::UnclosedQuote`]) rather than a few excepted
/// rows. Ten lines holds a multi-paragraph comment.
pub const MAX_RECORD_LINES: u64 = 10;

/// The continuation lines of a multi-line record still to be handed out as rows.
#[derive(Clone, Copy, Debug)]
struct Continuation {
    /// The line where the record (and its quoted field) starts.
    opened: u64,
    next: u64,
    last: u64,
}

/// A CSV/TSV file read one record at a time (see the module notes for the format).
pub struct CsvStream<R: Read> {
    pub file: String,
    pub headers: Vec<String>,
    /// Physical lines the header record takes (1 unless a quoted header spans lines).
    pub header_lines: u64,
    reader: csv::Reader<Body<R>>,
    record: csv::ByteRecord,
    /// Lines of records that are blank (only separators or spaces).
    blank_record_lines: u64,
    /// The last line of the last record read (header and blank records included), counted
    /// from the start of what this stream reads.
    covered_lines: u64,
    delimiter: u8,
    /// Lines before what this stream reads: 0 for a whole file, more for a part of one
    /// ([`CsvStream::part`]); row numbers and messages add it.
    line_offset: u64,
    /// Empty lines the csv reader skipped between records.
    gap_lines: u64,
    pending: Option<Continuation>,
}

impl<R: Read> CsvStream<R> {
    /// Reads up to the header record. `path` is only used in I/O errors. Files that are not
    /// delimited text (a workbook, a PDF, UTF-16, binary data) are refused with what they
    /// look like, without echoing their content.
    pub fn new(inner: R, file: &str, path: &Path) -> Result<Self, DataError> {
        let io = |source| DataError::Io { path: path.to_path_buf(), error: source };
        let mut buffered = BufReader::with_capacity(1 << 16, HashRead { inner, hasher: Some(Sha256::new()) });
        if let Some(what) = sniff::not_csv(buffered.fill_buf().map_err(io)?) {
            return Err(DataError::NotCsv { file: file.into(), what });
        }
        let mut first = Vec::new();
        buffered.read_until(b'\n', &mut first).map_err(io)?;
        if first.starts_with(b"\xEF\xBB\xBF") {
            first.drain(..3);
        }
        let first_line = first.strip_suffix(b"\n").unwrap_or(&first);
        let first_line = first_line.strip_suffix(b"\r").unwrap_or(first_line);
        if first_line.contains(&b'\r') {
            return Err(DataError::CarriageReturns { file: file.into() });
        }
        let tabs = first_line.iter().filter(|&&b| b == b'\t').count();
        let commas = first_line.iter().filter(|&&b| b == b',').count();
        let delimiter = if tabs > commas { b'\t' } else { b',' };
        let mut stream = CsvStream::over(std::io::Cursor::new(first).chain(buffered), file, delimiter, 0);
        let headers = match stream.next_record()? {
            Some(r) => r.fields.iter().map(|h| h.trim().to_string()).collect(),
            None => return Err(DataError::EmptyFile { file: file.into() }),
        };
        stream.headers = headers;
        stream.header_lines = std::mem::take(&mut stream.pending).map_or(1, |c| c.last - c.opened + 1);
        Ok(stream)
    }

    /// A stream over `body` with the given delimiter and no header, whose first byte starts
    /// line `line_offset + 1` of its file: a part of a file that starts at a record
    /// boundary ([`super::chunked`]). Its hash is not taken ([`CsvStream::finish`] returns
    /// an empty one).
    pub(crate) fn part(inner: R, file: &str, delimiter: u8, line_offset: u64) -> Self {
        let buffered = BufReader::with_capacity(1 << 16, HashRead { inner, hasher: None });
        CsvStream::over(std::io::Cursor::new(Vec::new()).chain(buffered), file, delimiter, line_offset)
    }

    fn over(
        body: std::io::Chain<std::io::Cursor<Vec<u8>>, BufReader<HashRead<R>>>,
        file: &str,
        delimiter: u8,
        line_offset: u64,
    ) -> Self {
        // Records end at a line feed only: a CR before it is dropped from the last field,
        // and a CR anywhere else is a fault of its row (not a second record on the line).
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .terminator(csv::Terminator::Any(b'\n'))
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(LineTrack::new(body));
        CsvStream {
            file: file.into(),
            headers: Vec::new(),
            header_lines: 0,
            reader,
            record: csv::ByteRecord::new(),
            blank_record_lines: 0,
            covered_lines: 0,
            delimiter,
            line_offset,
            gap_lines: 0,
            pending: None,
        }
    }

    /// The field delimiter (`,` or a tab).
    pub(crate) fn delimiter(&self) -> u8 {
        self.delimiter
    }

    /// Lines read so far that are blank (header included): see [`CsvStream::finish`].
    pub(crate) fn blank_so_far(&self) -> u64 {
        self.gap_lines + self.blank_record_lines
    }

    /// The last line of the last record read (the header's, right after [`CsvStream::new`]).
    pub(crate) fn covered_lines(&self) -> u64 {
        self.covered_lines
    }

    /// The next non-blank record, or `None` at the end of the file. A record that spans
    /// k lines (a quoted field with line breaks) comes with k - 1 continuation rows, one per
    /// further line, each with the defect "part of the quoted field that opened on row N",
    /// so that every physical line of the file is a row or a blank line.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, DataError> {
        if let Some(c) = self.pending.as_mut() {
            let row = c.next;
            let opened = c.opened;
            c.next += 1;
            if c.next > c.last {
                self.pending = None;
            }
            let defect = format!("part of the quoted field that opened on row {opened} (the row is not used)");
            return Ok(Some(Record { row, fields: Vec::new(), defect: Some(Defect::unreadable(defect)) }));
        }
        loop {
            let more = self.reader.read_byte_record(&mut self.record).map_err(|e| DataError::Csv {
                file: self.file.clone(),
                line: e.position().map(|p| p.line()).unwrap_or(0) + self.line_offset,
                message: e.to_string(),
            })?;
            if !more {
                return Ok(None);
            }
            // The reported start may sit on skipped blank lines: the line is that of the
            // record's first real byte.
            let byte = self.record.position().map(|p| p.byte()).unwrap_or(0);
            let line = self.reader.get_mut().line_at(byte);
            // Line breaks inside the record's fields; a quote left open to the end of the
            // file takes in the last line feed, which starts no further line.
            let breaks = self.record.iter().map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64).sum::<u64>();
            let breaks = breaks.min(self.reader.get_ref().lines().saturating_sub(line));
            if breaks + 1 > MAX_RECORD_LINES {
                let line = line + self.line_offset;
                return Err(DataError::UnclosedQuote { file: self.file.clone(), line, lines: breaks + 1 });
            }
            self.gap_lines += line.saturating_sub(self.covered_lines + 1);
            self.covered_lines = line + breaks;
            // A line of only separators or spaces is blank, too.
            if self.record.iter().all(|f| f.trim_ascii().is_empty()) {
                self.blank_record_lines += breaks + 1;
                continue;
            }
            let line = line + self.line_offset;
            if breaks > 0 {
                self.pending = Some(Continuation { opened: line, next: line + 1, last: line + breaks });
            }
            return Ok(Some(self.current(line, breaks)));
        }
    }

    /// The record just read, starting on `line` and spanning `breaks` line breaks.
    fn current(&self, line: u64, breaks: u64) -> Record<'_> {
        let mut defect = None;
        let last = self.record.len().saturating_sub(1);
        let mut fields: Vec<Cow<'_, str>> = Vec::with_capacity(self.record.len());
        for (i, f) in self.record.iter().enumerate() {
            let f = if i == last { f.strip_suffix(b"\r").unwrap_or(f) } else { f };
            fields.push(match std::str::from_utf8(f) {
                Ok(t) => Cow::Borrowed(t),
                Err(_) => {
                    defect = Some(Defect::unreadable("text is not valid UTF-8 (save the file as UTF-8)"));
                    String::from_utf8_lossy(f)
                }
            });
        }
        if breaks > 0 {
            let taken = match breaks {
                1 => format!("line {} is", line + 1),
                _ => format!("lines {} to {} are", line + 1, line + breaks),
            };
            defect = Some(Defect::unreadable(format!(
                "a quoted field runs from line {line} to line {} (an unclosed quote?): the row is not used, \
                 and {taken} excepted with it; close the quote in line {line} or remove it",
                line + breaks,
            )));
        } else if defect.is_none() && fields.iter().any(|f| f.contains('\r')) {
            defect = Some(Defect::unreadable(format!(
                "a stray carriage return (CR) inside line {line}: remove it (a CR is only allowed as part of a line end)"
            )));
        }
        Record { row: line, fields, defect }
    }

    /// Reads to the end (if a caller stopped early) and returns the file's SHA-256 and the
    /// number of blank lines: empty lines, and lines of records with only separators or
    /// spaces. The header's lines, the rows (continuation rows included) and the blank
    /// lines add up to the file's physical lines.
    pub fn finish(self) -> Result<(String, u64), DataError> {
        let file = self.file.clone();
        let (covered, blank) = (self.covered_lines, self.gap_lines + self.blank_record_lines);
        let mut body = self.reader.into_inner();
        std::io::copy(&mut body, &mut std::io::sink()).map_err(|e| DataError::Csv {
            file: file.clone(),
            line: 0,
            message: e.to_string(),
        })?;
        // Lines no record covers were skipped as empty by the csv reader.
        let blank_lines = blank + body.lines().saturating_sub(covered);
        let (_, rest) = body.inner.into_inner();
        let digest = rest.into_inner().hasher.map(|h| h.finalize());
        Ok((digest.map(|d| d.iter().map(|b| format!("{b:02x}")).collect()).unwrap_or_default(), blank_lines))
    }
}

/// FNV-1a: field-name lookups happen several times per input row, and SipHash (the
/// default, resistant to adversarial keys that cannot occur here) dominated their cost.
#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FieldMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<Fnv>>;

/// Where each field of a file is: its column index, or `None` for an absent optional field.
#[derive(Clone, Debug)]
pub struct ColumnIndex {
    pub positions: FieldMap<usize>,
    /// Header text of each located field (for exceptions).
    pub headers: FieldMap<String>,
}

impl ColumnIndex {
    /// Locates `fields` (plus `extra` optional fields) in `table`'s header using `mapping`
    /// (field -> header). Unmapped fields are matched by name, case-insensitively.
    pub fn locate(
        table: &RawTable,
        role: Role,
        mapping: &std::collections::BTreeMap<String, String>,
        extra: &[String],
    ) -> Result<ColumnIndex, DataError> {
        Self::locate_in(&table.file, &table.headers, role, mapping, extra)
    }

    /// [`ColumnIndex::locate`] for a file named `file` with header `headers`.
    pub fn locate_in(
        file: &str,
        headers: &[String],
        role: Role,
        mapping: &std::collections::BTreeMap<String, String>,
        extra: &[String],
    ) -> Result<ColumnIndex, DataError> {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for h in headers {
            *counts.entry(h.to_ascii_lowercase()).or_default() += 1;
        }
        let mut positions = FieldMap::default();
        let mut located = FieldMap::default();
        let wanted_fields =
            role.fields().iter().map(|f: &Field| (f.name, f.required)).chain(extra.iter().map(|e| (e.as_str(), false)));
        for (name, required) in wanted_fields {
            let wanted = mapping.get(name).map(|s| s.trim().to_string()).unwrap_or_else(|| name.to_string());
            let exact = headers.iter().position(|h| *h == wanted);
            let found = exact.or_else(|| headers.iter().position(|h| h.eq_ignore_ascii_case(&wanted)));
            match found {
                Some(i) => {
                    let c = counts[&headers[i].to_ascii_lowercase()];
                    if c > 1 {
                        return Err(DataError::DuplicateColumn {
                            file: file.to_string(),
                            column: headers[i].clone(),
                            count: c,
                        });
                    }
                    positions.insert(name.to_string(), i);
                    located.insert(name.to_string(), headers[i].clone());
                }
                None if required || mapping.contains_key(name) => {
                    return Err(DataError::MissingColumn {
                        file: file.to_string(),
                        field: name.into(),
                        column: wanted,
                        headers: headers.to_vec(),
                    });
                }
                None => {}
            }
        }
        Ok(ColumnIndex { positions, headers: located })
    }

    /// The raw text of `field` in `row` (`None` if the file has no such column or the row
    /// is short).
    pub fn get<'a, R: Fields + ?Sized>(&self, row: &'a R, field: &str) -> Option<&'a str> {
        self.positions.get(field).and_then(|&i| row.field(i))
    }

    pub fn has(&self, field: &str) -> bool {
        self.positions.contains_key(field)
    }

    /// The header text for `field` (falls back to the field name).
    pub fn header(&self, field: &str) -> String {
        self.headers.get(field).cloned().unwrap_or_else(|| field.to_string())
    }
}

/// Recognizes files that are not delimited UTF-8 text from their first bytes.
mod sniff {
    /// What the file looks like and how to fix it, when it is not CSV text (`None` for
    /// text). Never quotes the content.
    pub fn not_csv(head: &[u8]) -> Option<String> {
        const SAVE: &str = "open it in the spreadsheet program and save it as \"CSV UTF-8 (comma delimited)\"";
        let text_after_space = head.iter().position(|b| !b.is_ascii_whitespace()).map_or(&head[..0], |i| &head[i..]);
        let html = [&b"<!doctype html"[..], b"<html"]
            .iter()
            .any(|m| text_after_space.len() >= m.len() && text_after_space[..m.len()].eq_ignore_ascii_case(m));
        let what = if head.starts_with(b"PK\x03\x04") {
            format!(
                "a ZIP archive, usually an Excel workbook: name it with the extension .xlsx (obc reads workbooks), \
                 or {SAVE}"
            )
        } else if head.starts_with(b"\xD0\xCF\x11\xE0") {
            format!("an old-style Excel workbook (.xls): {SAVE}")
        } else if head.starts_with(b"%PDF") {
            "a PDF document: export the data from its source system as CSV UTF-8".to_string()
        } else if head.starts_with(b"PAR1") {
            "a Parquet file: name it with the extension .parquet".to_string()
        } else if head.starts_with(b"\x1F\x8B") {
            "gzip-compressed data: decompress it first".to_string()
        } else if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") || utf16_without_bom(head) {
            format!("UTF-16 text (\"Unicode Text\" in Excel): {SAVE}")
        } else if html {
            "an HTML page (a download that saved an error or sign-in page?): download the CSV again".to_string()
        } else if binary(head) {
            "binary data, not text: check that the right file is named".to_string()
        } else {
            return None;
        };
        Some(what)
    }

    /// Text in UTF-16 without a byte-order mark: most characters are ASCII, so every other
    /// byte is NUL.
    fn utf16_without_bom(head: &[u8]) -> bool {
        let sample = &head[..head.len().min(512) & !1];
        if sample.len() < 4 {
            return false;
        }
        let pairs = sample.len() / 2;
        let nul_at = |odd: usize| sample.chunks_exact(2).filter(|p| p[odd] == 0).count();
        let (even, odd) = (nul_at(0), nul_at(1));
        (odd * 10 >= pairs * 8 && even * 10 < pairs) || (even * 10 >= pairs * 8 && odd * 10 < pairs)
    }

    /// More than 5% of the first bytes are control characters other than tab, line ends
    /// and form feed.
    fn binary(head: &[u8]) -> bool {
        let sample = &head[..head.len().min(8192)];
        let control = sample.iter().filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C)) || b == 0x7F);
        control.count() * 20 > sample.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emptied_fields_keep_their_room() {
        let text = String::from("kept");
        let fields: Vec<Cow<'_, str>> = vec![Cow::Borrowed(text.as_str()); 45];
        let (room, at) = (fields.capacity(), fields.as_ptr() as usize);
        let spare: Vec<Cow<'static, str>> = emptied(fields);
        assert!(spare.is_empty());
        assert_eq!((spare.capacity(), spare.as_ptr() as usize), (room, at), "the same allocation");
    }

    #[test]
    fn bom_crlf_quotes_and_blank_lines_load() {
        let text = "\u{feff}student_id,name,score\r\n00123,\"Smith, Ann\",201\r\n\r\n\"00456\",\"He said \"\"hi\"\"\",  \r\n,,\r\n789,B,199\r\n";
        let (h, rows, blank) = parse_csv(text.as_bytes(), "t.csv").unwrap();
        assert_eq!(h, vec!["student_id", "name", "score"]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].fields, vec!["00123", "Smith, Ann", "201"]);
        assert_eq!(rows[0].row, 2);
        assert_eq!(rows[1].fields[0], "00456");
        assert_eq!(rows[1].fields[1], "He said \"hi\"");
        assert_eq!(rows[1].row, 4);
        assert_eq!(rows[2].row, 6);
        assert_eq!(blank, 2);
    }

    #[test]
    fn tab_separated_files_are_detected() {
        let (h, rows, _) = parse_csv(b"a\tb\n1\t2\n", "t.tsv").unwrap();
        assert_eq!(h, vec!["a", "b"]);
        assert_eq!(rows[0].fields, vec!["1", "2"]);
    }

    #[test]
    fn empty_file_is_an_error() {
        assert!(matches!(parse_csv(b"\n\n", "e.csv"), Err(DataError::EmptyFile { .. })));
    }

    #[test]
    fn unclosed_quotes_and_bad_bytes_mark_the_row() {
        let (_, rows, _) = parse_csv(b"a,b\n1,\"oops\n2,x\n3,y\n", "t.csv").unwrap();
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), vec![2, 3, 4]);
        assert!(rows[0].defect.as_ref().unwrap().text.contains("from line 2 to line 4"), "{rows:?}");
        assert!(rows[2].defect.as_ref().unwrap().text.contains("opened on row 2"), "{rows:?}");
        let (_, rows, _) = parse_csv(b"a,b\n1,Jos\xe9\n2,ok\n", "t.csv").unwrap();
        assert!(rows[0].defect.as_ref().unwrap().text.contains("UTF-8"));
        assert_eq!(rows[0].fields[1], "Jos\u{fffd}");
        assert_eq!(rows[1].defect, None);
    }

    #[test]
    fn a_quote_left_open_over_many_lines_is_an_error_naming_its_line() {
        let mut text = b"a,b\n1,x\n2,\"open\n".to_vec();
        for i in 0..MAX_RECORD_LINES {
            text.extend_from_slice(format!("{i},y\n").as_bytes());
        }
        match parse_csv(&text, "t.csv") {
            Err(DataError::UnclosedQuote { line: 3, lines, .. }) => assert_eq!(lines, MAX_RECORD_LINES + 1),
            other => panic!("{other:?}"),
        }
        // a quoted field over exactly MAX_RECORD_LINES lines is still read
        let mut text = b"a,b\n1,\"x".to_vec();
        text.extend(std::iter::repeat_n(b"\nmore".as_slice(), MAX_RECORD_LINES as usize - 1).flatten());
        text.extend_from_slice(b"\"\n2,y\n");
        let (_, rows, blank) = parse_csv(&text, "t.csv").unwrap();
        assert_eq!(rows.len() as u64, MAX_RECORD_LINES + 1);
        assert_eq!((rows.last().unwrap().row, blank), (MAX_RECORD_LINES + 2, 0));
    }

    #[test]
    fn a_stray_cr_is_one_faulty_row_on_its_own_line() {
        let (_, rows, blank) = parse_csv(b"a,b\r\n1,x\ry\r\n2,z\r\n\r\n", "t.csv").unwrap();
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), vec![2, 3]);
        assert!(rows[0].defect.as_ref().unwrap().text.contains("carriage return"), "{rows:?}");
        assert_eq!((rows[1].fields[1].as_str(), rows[1].defect.as_ref(), blank), ("z", None, 1));
        assert!(matches!(parse_csv(b"a,b\r1,2\r", "t.csv"), Err(DataError::CarriageReturns { .. })));
    }

    #[test]
    fn files_that_are_not_text_are_named_not_echoed() {
        let utf16: Vec<u8> = "a,b\n1,2\n".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        for (bytes, what) in [
            (b"PK\x03\x04secret,stuff\n".to_vec(), "Excel workbook"),
            (b"%PDF-1.7 secret\n".to_vec(), "PDF"),
            ([b"\xFF\xFE".to_vec(), utf16.clone()].concat(), "UTF-16"),
            (utf16, "UTF-16"),
            (vec![0u8, 1, 2, 3, 4, 5, 6, 7, b's', b'e', b'c', b'r', b'e', b't'], "binary"),
        ] {
            let e = parse_csv(&bytes, "t.csv").unwrap_err().to_string();
            assert!(e.contains(what) && e.contains("t.csv") && !e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn short_rows_are_kept_for_validation() {
        let (_, rows, _) = parse_csv(b"a,b,c\n1,2\n", "t.csv").unwrap();
        assert_eq!(rows[0].fields.len(), 2);
    }
}
#[cfg(test)]
mod line_numbers {
    #[test]
    fn blank_lines_do_not_shift_row_numbers() {
        for eol in ["\n", "\r\n"] {
            let text = ["a,b", "1,2", "", "", "3,4", "", "5,6", ""].join(eol);
            let (_, rows, blank) = super::parse_csv(text.as_bytes(), "x").unwrap();
            let lines: Vec<u64> = rows.iter().map(|r| r.row).collect();
            assert_eq!(lines, vec![2, 5, 7], "eol {eol:?}");
            assert_eq!(blank, 3);
        }
    }
}
