//! Delimited text read in parallel parts: the fast path of [`super::load`]'s CSV reader.
//!
//! The careful reader ([`super::load::CsvStream`]) reads a file one record at a time on one
//! thread. This module gives the same records, in the same order, with the same row
//! numbers, defects, blank-line count, errors and SHA-256, but parses and checks them on
//! every core (docs/architecture.md, "Reading input files"):
//!
//! 1. The file is read in blocks on the calling thread, which hashes every byte and cuts the
//!    text into parts that start and end at a record boundary. A block without a quote
//!    character is cut after its last line feed (without quotes every line feed ends a
//!    record); a block with quotes is cut after the last line feed that a quote-aware scan
//!    ([`record_end`]) shows ends a record, by the same rules the careful reader's parser
//!    follows.
//! 2. Each part is parsed on a worker: a part without quotes by [`plain_records`], a line
//!    at a time; a part with quotes by the careful reader itself, run over the part's bytes
//!    ([`super::load::CsvStream::part`]).
//! 3. The caller's `map` runs on the workers, record by record; its results are handed to
//!    `commit` on the calling thread in file order, so whatever `commit` builds is the same
//!    for any number of threads.
//!
//! A quote that is never closed would make a part without end: once the open record spans
//! more than [`MAX_RECORD_LINES`] lines, the rest of the file is read by the careful reader
//! in order, which stops with the error the whole file gives.

use std::borrow::Cow;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::load::{CsvStream, Defect, MAX_RECORD_LINES, Record};
use crate::error::DataError;

/// Bytes read per block (a part is a block cut at its last record boundary).
pub const BLOCK: usize = 4 << 20;

/// The most bytes the header may take for the fast path (the careful reader reads files
/// with a longer header).
const HEAD: u64 = 1 << 16;

/// A CSV/TSV file whose header is read, ready to be read in parallel parts.
#[derive(Clone, Debug)]
pub struct ChunkedCsv {
    pub file: String,
    pub path: PathBuf,
    pub headers: Vec<String>,
    delimiter: u8,
    /// Bytes up to the end of the header record's line (byte-order mark included).
    body_offset: u64,
    /// Lines up to the end of the header record (blank lines before it included).
    header_end_line: u64,
    /// Blank lines before the header.
    blank_before: u64,
    /// Block size ([`BLOCK`]; smaller in tests, to make many parts).
    block: usize,
    /// About how many records the file holds ([`ChunkedCsv::rows_hint`]).
    rows_hint: usize,
}

/// What [`ChunkedCsv::scan`] found besides the records: the file's SHA-256 and its blank
/// lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanned {
    pub sha256: String,
    pub blank_lines: u64,
}

/// One part of the body: its bytes, the line its first byte is on, whether it holds a
/// quote character, or the error that the careful reader met at the place where a quote
/// was left open.
enum Part {
    Text { bytes: Vec<u8>, first_line: u64, lines: u64, quoted: bool },
    Failed(DataError),
}

/// What a worker made of a part: each record's mapped value and the part's blank lines.
type Mapped<T> = Result<(Vec<T>, u64), DataError>;

/// The records a body of `length` bytes holds at the rate of lines in `sample` (its first
/// bytes), with 5% to spare.
fn rows_hint(sample: &[u8], length: u64) -> usize {
    let lines = memchr::memchr_iter(b'\n', sample).count() as u64;
    if sample.is_empty() || lines == 0 {
        return 0;
    }
    let rows = (length as f64 * lines as f64 / sample.len() as f64 * 1.05) as u64;
    usize::try_from(rows).unwrap_or(0)
}

impl ChunkedCsv {
    /// Opens `path` and reads its header with the careful reader (which refuses what is not
    /// delimited text). `None` when the header does not end within the first block (the
    /// careful reader then reads the file).
    pub fn open(path: &Path, file: &str) -> Result<Option<ChunkedCsv>, DataError> {
        Self::open_with_block(path, file, BLOCK)
    }

    /// [`ChunkedCsv::open`] with another block size (tests use a few bytes, to cut many parts).
    pub fn open_with_block(path: &Path, file: &str, block: usize) -> Result<Option<ChunkedCsv>, DataError> {
        let io = |error| DataError::Io { path: path.to_path_buf(), error };
        let mut head = Vec::new();
        std::fs::File::open(path).map_err(io)?.take(HEAD).read_to_end(&mut head).map_err(io)?;
        let stream = CsvStream::new(std::io::Cursor::new(&head[..]), file, path)?;
        let header_end_line = stream.covered_lines();
        let bom = if head.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        // The header must end with a line feed inside the head (else: a header longer than a
        // block, or a file of only a header without a final line feed).
        let Some(end) = memchr::memchr_iter(b'\n', &head[bom..]).nth((header_end_line - 1) as usize) else {
            return Ok(None);
        };
        if record_end(&head[bom..bom + end + 1], stream.delimiter()) != Some(end + 1) {
            return Ok(None);
        }
        let body_offset = (bom + end + 1) as u64;
        let length = std::fs::metadata(path).map_err(io)?.len();
        let rows_hint = rows_hint(&head[bom + end + 1..], length.saturating_sub(body_offset));
        Ok(Some(ChunkedCsv {
            file: file.into(),
            path: path.to_path_buf(),
            headers: stream.headers.clone(),
            delimiter: stream.delimiter(),
            body_offset,
            header_end_line,
            blank_before: stream.blank_so_far(),
            block: block.max(1),
            rows_hint,
        }))
    }

    /// About how many records follow the header, from the lines of the file's first block:
    /// for reserving room for them (a guess, never a count).
    pub fn rows_hint(&self) -> usize {
        self.rows_hint
    }

    /// Reads every record after the header: `map` runs on the rayon pool's threads, and
    /// `commit` gets each record's value in file order on this thread. Returns the SHA-256
    /// of the file and its blank lines, as [`CsvStream::finish`] does. The first error in
    /// file order (of the file, of `map` or of `commit`) stops the read.
    ///
    /// Three stages overlap (docs/architecture.md 3a): while this thread commits batch k,
    /// the pool parses and maps batch k + 1 and reads and hashes batch k + 2.
    pub fn scan<T: Send>(
        &self,
        map: impl Fn(&Record<'_>) -> Result<T, DataError> + Sync,
        mut commit: impl FnMut(T) -> Result<(), DataError>,
    ) -> Result<Scanned, DataError> {
        let mut reader = PartReader::new(self)?;
        let batch = 2 * rayon::current_num_threads().max(1);
        let mut parts = reader.next_parts(batch)?;
        let mut blank = self.blank_before;
        // Value vectors are used again for later parts: fresh memory for every part would
        // be zeroed by the kernel page by page.
        let spare: std::sync::Mutex<Vec<Vec<T>>> = std::sync::Mutex::new(Vec::new());
        let mut mapped: Vec<(Mapped<T>, Vec<u8>)> = Vec::new();
        while !parts.is_empty() || !mapped.is_empty() {
            let todo = std::mem::take(&mut parts);
            let mut next: Result<Vec<Part>, DataError> = Ok(Vec::new());
            let mut next_mapped = Vec::new();
            let mut used = Vec::new();
            let committed = rayon::in_place_scope(|scope| {
                if !todo.is_empty() {
                    scope.spawn(|_| {
                        use rayon::prelude::*;
                        (next_mapped, next) = rayon::join(
                            || todo.into_par_iter().map(|p| self.map_part(p, &map, &spare)).collect::<Vec<_>>(),
                            || reader.next_parts(batch),
                        );
                    });
                }
                commit_batch(std::mem::take(&mut mapped), &mut commit, &spare, &mut blank, &mut used)
            });
            committed?;
            for bytes in used {
                reader.recycle(bytes);
            }
            mapped = next_mapped;
            match next {
                Ok(p) => parts = p,
                Err(e) => {
                    // the batch mapped comes before the read that failed
                    commit_batch(mapped, &mut commit, &spare, &mut blank, &mut Vec::new())?;
                    return Err(e);
                }
            }
        }
        Ok(Scanned { sha256: reader.finish()?, blank_lines: blank })
    }

    /// Parses one part and maps its records into a vector from `spare` (or a new one);
    /// returns the part's bytes too, to be read into again.
    fn map_part<T>(
        &self,
        part: Part,
        map: &(impl Fn(&Record<'_>) -> Result<T, DataError> + Sync),
        spare: &std::sync::Mutex<Vec<Vec<T>>>,
    ) -> (Mapped<T>, Vec<u8>) {
        let (bytes, first_line, lines, quoted) = match part {
            Part::Text { bytes, first_line, lines, quoted } => (bytes, first_line, lines, quoted),
            Part::Failed(e) => return (Err(e), Vec::new()),
        };
        let mut out = spare.lock().expect("no thread panicked holding it").pop().unwrap_or_default();
        out.reserve(lines as usize + 1);
        let blank = if quoted {
            careful_records(self, &bytes, first_line, &mut out, map)
        } else {
            plain_records(&bytes, first_line, self.delimiter, |r| {
                out.push(map(r)?);
                Ok(())
            })
        };
        (blank.map(|b| (out, b)), bytes)
    }
}

/// Commits a mapped batch in file order: each value to `commit`, the blank lines to `blank`;
/// the value vectors go back to `spare` and the parts' bytes to `used`.
fn commit_batch<T>(
    mapped: Vec<(Mapped<T>, Vec<u8>)>,
    commit: &mut impl FnMut(T) -> Result<(), DataError>,
    spare: &std::sync::Mutex<Vec<Vec<T>>>,
    blank: &mut u64,
    used: &mut Vec<Vec<u8>>,
) -> Result<(), DataError> {
    for (m, bytes) in mapped {
        used.push(bytes);
        let (mut values, b) = m?;
        *blank += b;
        for v in values.drain(..) {
            commit(v)?;
        }
        spare.lock().expect("no thread panicked holding it").push(values);
    }
    Ok(())
}

/// The records of a part with quote characters, through the careful reader's parser;
/// returns the part's blank lines.
fn careful_records<T>(
    csv: &ChunkedCsv,
    bytes: &[u8],
    first_line: u64,
    out: &mut Vec<T>,
    map: &impl Fn(&Record<'_>) -> Result<T, DataError>,
) -> Result<u64, DataError> {
    let mut stream = CsvStream::part(bytes, &csv.file, csv.delimiter, first_line - 1);
    while let Some(r) = stream.next_record()? {
        out.push(map(&r)?);
    }
    Ok(stream.finish()?.1)
}

/// Reads the body of a file block by block, hashing every byte of the file, and cuts it
/// into parts at record boundaries.
struct PartReader<'a> {
    csv: &'a ChunkedCsv,
    input: std::fs::File,
    hasher: Sha256,
    /// Bytes read but not yet handed out; they start at a record boundary.
    carry: Vec<u8>,
    /// The line `carry` starts on.
    line: u64,
    /// Buffers of parts already parsed, to read into again.
    spare: Vec<Vec<u8>>,
    eof: bool,
    failed: bool,
}

impl<'a> PartReader<'a> {
    fn new(csv: &'a ChunkedCsv) -> Result<Self, DataError> {
        let mut input = std::fs::File::open(&csv.path).map_err(|e| csv.io(e))?;
        let mut hasher = Sha256::new();
        let mut head = vec![0; csv.body_offset as usize];
        input.read_exact(&mut head).map_err(|e| csv.io(e))?;
        hasher.update(&head);
        Ok(PartReader {
            csv,
            input,
            hasher,
            carry: Vec::new(),
            line: csv.header_end_line + 1,
            spare: Vec::new(),
            eof: false,
            failed: false,
        })
    }

    /// Up to `n` further parts (none at the end of the file).
    fn next_parts(&mut self, n: usize) -> Result<Vec<Part>, DataError> {
        let mut parts = Vec::with_capacity(n);
        while parts.len() < n {
            match self.next_part()? {
                Some(p) => parts.push(p),
                None => break,
            }
        }
        Ok(parts)
    }

    fn next_part(&mut self) -> Result<Option<Part>, DataError> {
        if self.failed {
            return Ok(None);
        }
        loop {
            if self.eof {
                if self.carry.is_empty() {
                    return Ok(None);
                }
                let bytes = std::mem::take(&mut self.carry);
                return Ok(Some(self.text_part(bytes)));
            }
            let old = self.carry.len();
            self.carry.reserve(self.csv.block);
            let n = (&mut self.input).take(self.csv.block as u64).read_to_end(&mut self.carry);
            let n = n.map_err(|e| self.csv.io(e))?;
            self.hasher.update(&self.carry[old..]);
            if n == 0 {
                self.eof = true;
                continue;
            }
            let cut = match memchr::memchr(b'"', &self.carry) {
                None => memchr::memrchr(b'\n', &self.carry).map(|i| i + 1),
                Some(_) => record_end(&self.carry, self.csv.delimiter),
            };
            if let Some(cut) = cut {
                let mut rest = self.spare.pop().unwrap_or_default();
                rest.clear();
                rest.extend_from_slice(&self.carry[cut..]);
                let mut bytes = std::mem::replace(&mut self.carry, rest);
                bytes.truncate(cut);
                return Ok(Some(self.text_part(bytes)));
            }
            // No record ends in what is held: one record spans it all. Past the longest
            // record the careful reader takes, it is an error (an unclosed quote): read the
            // rest of the file with the careful reader, which gives that error.
            if memchr::memchr_iter(b'\n', &self.carry).count() as u64 > MAX_RECORD_LINES {
                self.failed = true;
                return Ok(Some(Part::Failed(self.careful_rest())));
            }
        }
    }

    /// A part's buffer, to read into again.
    fn recycle(&mut self, bytes: Vec<u8>) {
        if bytes.capacity() > 0 {
            self.spare.push(bytes);
        }
    }

    fn text_part(&mut self, bytes: Vec<u8>) -> Part {
        let first_line = self.line;
        let lines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
        self.line += lines;
        let quoted = memchr::memchr(b'"', &bytes).is_some();
        Part::Text { bytes, first_line, lines, quoted }
    }

    /// The error the careful reader meets reading what is held and the rest of the file
    /// (the hash is still taken of every byte, for a complete read).
    fn careful_rest(&mut self) -> DataError {
        let held = std::mem::take(&mut self.carry);
        let mut tee = Tee { inner: &mut self.input, hasher: &mut self.hasher };
        let rest = std::io::Cursor::new(held).chain(&mut tee);
        let mut stream = CsvStream::part(rest, &self.csv.file, self.csv.delimiter, self.line - 1);
        loop {
            match stream.next_record() {
                Err(e) => return e,
                Ok(None) => break,
                Ok(Some(_)) => {}
            }
        }
        // Unreachable for a record of more than MAX_RECORD_LINES lines; kept as an error.
        DataError::UnclosedQuote { file: self.csv.file.clone(), line: self.line, lines: MAX_RECORD_LINES + 1 }
    }

    fn finish(mut self) -> Result<String, DataError> {
        // A read stopped early (an error) never gets here; the rest is hashed for safety.
        std::io::copy(&mut Tee { inner: &mut self.input, hasher: &mut self.hasher }, &mut std::io::sink())
            .map_err(|e| self.csv.io(e))?;
        Ok(self.hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl ChunkedCsv {
    fn io(&self, error: std::io::Error) -> DataError {
        DataError::Io { path: self.path.clone(), error }
    }
}

/// Hashes what it reads.
struct Tee<'a, R> {
    inner: &'a mut R,
    hasher: &'a mut Sha256,
}

impl<R: Read> Read for Tee<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The end (just past its line feed) of the last record that ends in `bytes`, which start
/// at a record boundary; `None` if no record ends there.
///
/// The scan follows the careful reader's parser (`,` or tab delimited, `"` quotes doubled
/// inside a quoted field, records ended by a line feed only): a quote opens a quoted field
/// only at the start of a field; inside one, a line feed is text and `""` is a quote; after
/// the closing quote the field goes on unquoted. A line feed outside a quoted field ends a
/// record (or is an empty line between records).
pub(crate) fn record_end(bytes: &[u8], delimiter: u8) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum S {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut s = S::FieldStart;
    let mut end = None;
    for (i, &b) in bytes.iter().enumerate() {
        s = match s {
            S::Quoted => {
                if b == b'"' {
                    S::QuoteInQuoted
                } else {
                    S::Quoted
                }
            }
            S::FieldStart if b == b'"' => S::Quoted,
            S::QuoteInQuoted if b == b'"' => S::Quoted,
            _ if b == b'\n' => {
                end = Some(i + 1);
                S::FieldStart
            }
            _ if b == delimiter => S::FieldStart,
            _ => S::Unquoted,
        };
    }
    end
}

/// Parses text without quote characters, a line at a time, as the careful reader does:
/// fields split at the delimiter, one CR before the line feed dropped, a line of only
/// separators and spaces (or empty) blank, text that is not UTF-8 and a stray CR defects of
/// the row. Calls `each` with every non-blank record; returns the blank lines.
pub(crate) fn plain_records(
    bytes: &[u8],
    first_line: u64,
    delimiter: u8,
    mut each: impl FnMut(&Record<'_>) -> Result<(), DataError>,
) -> Result<u64, DataError> {
    let mut blank = 0;
    let mut line = first_line;
    let mut start = 0;
    let mut record = Record { row: 0, fields: Vec::new(), defect: None };
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let text = &bytes[start..end];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        start = end + 1;
        let row = line;
        line += 1;
        if text.iter().all(|&b| b == delimiter || b.is_ascii_whitespace()) {
            blank += 1;
            continue;
        }
        record.row = row;
        record.defect = None;
        record.fields.clear();
        match std::str::from_utf8(text) {
            Ok(t) => {
                // (the delimiter is ASCII, so every cut is at a character boundary)
                let mut from = 0;
                for i in memchr::memchr_iter(delimiter, text) {
                    record.fields.push(Cow::Borrowed(&t[from..i]));
                    from = i + 1;
                }
                record.fields.push(Cow::Borrowed(&t[from..]));
                if memchr::memchr(b'\r', text).is_some() {
                    record.defect = Some(Defect::unreadable(format!(
                        "a stray carriage return (CR) inside line {row}: remove it (a CR is only allowed as part \
                         of a line end)"
                    )));
                }
            }
            Err(_) => {
                record.fields.extend(text.split(|&b| b == delimiter).map(String::from_utf8_lossy));
                record.defect = Some(Defect::unreadable("text is not valid UTF-8 (save the file as UTF-8)"));
            }
        }
        each(&record)?;
    }
    Ok(blank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::load::{RawRow, Source};
    use proptest::prelude::*;

    /// Headers, records, hash and blank lines of a file, or the error's text.
    type Read = Result<(Vec<String>, Vec<RawRow>, String, u64), String>;

    /// What the careful reader reads of `path`.
    fn careful(path: &Path) -> Read {
        let run = || -> Result<_, DataError> {
            let mut s = Source::open_careful(path, "t.csv")?;
            let headers = s.headers().to_vec();
            let mut rows = Vec::new();
            while let Some(r) = s.next_record()? {
                rows.push(r.to_raw());
            }
            let (sha, blank) = s.finish()?;
            Ok((headers, rows, sha, blank))
        };
        run().map_err(|e| e.to_string())
    }

    /// The same through the parallel reader with blocks of `block` bytes (`None`: the
    /// header is too long for it, and the careful reader reads the file).
    fn chunked(path: &Path, block: usize) -> Option<Read> {
        let csv = match ChunkedCsv::open_with_block(path, "t.csv", block) {
            Ok(None) => return None,
            Ok(Some(c)) => c,
            Err(e) => return Some(Err(e.to_string())),
        };
        let mut rows = Vec::new();
        let scanned = csv.scan(
            |r| Ok(r.to_raw()),
            |r| {
                rows.push(r);
                Ok(())
            },
        );
        Some(scanned.map(|s| (csv.headers.clone(), rows, s.sha256, s.blank_lines)).map_err(|e| e.to_string()))
    }

    fn same_through_both(text: &[u8], blocks: &[usize]) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let want = careful(&path);
        for &block in blocks {
            if let Some(got) = chunked(&path, block) {
                assert_eq!(got, want, "block {block}, text {:?}", String::from_utf8_lossy(text));
            }
        }
    }

    #[test]
    fn each_kind_of_bad_row_gives_the_same_records_through_both_readers() {
        // non-UTF-8 bytes, an unclosed quote (closed three lines on), a short row, text in a
        // numeric column, a stray CR, blank lines, a quoted field with a comma and a line
        // break, CRLF line ends and a last line without a line feed
        let text = b"\xEF\xBB\xBFstudent_id,minutes,status\r\n\
            001,30,attended\r\n\
            002,Jos\xe9,absent\r\n\
            003,\"oops,attended\n\
            004,30,attended\n\
            005,30,\"attended\"\n\
            006,30\n\
            007,thirty,attended\n\
            \n\
            ,,\n\
            008,3\r0,attended\n\
            \"009\",\"a, b\nc\",attended\n\
            010,45,cancelled";
        same_through_both(text, &[1, 2, 3, 7, 16, 64, 1 << 20]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        let (_, rows, _, blank) = careful(&path).unwrap();
        assert_eq!((rows.len(), blank), (11, 2), "every line after the header is a row or blank: {rows:?}");
    }

    #[test]
    fn an_unclosed_quote_over_many_lines_is_the_same_error() {
        let mut text = b"a,b\n1,x\n2,\"open\n".to_vec();
        for i in 0..40 {
            text.extend_from_slice(format!("{i},y\n").as_bytes());
        }
        same_through_both(&text, &[4, 32, 1 << 20]);
        text.extend_from_slice(b"\"\n3,z\n");
        same_through_both(&text, &[4, 32, 1 << 20]);
    }

    #[test]
    fn record_end_follows_the_parser() {
        assert_eq!(record_end(b"a,b\n1,2", b','), Some(4));
        assert_eq!(record_end(b"a,\"b\n1\",2", b','), None);
        assert_eq!(record_end(b"a,\"b\n1\",2\n", b','), Some(10));
        // a quote inside an unquoted field is text
        assert_eq!(record_end(b"a,b\"c\n", b','), Some(6));
        // a doubled quote inside a quoted field
        assert_eq!(record_end(b"\"a\"\"\nb\"\n", b','), Some(8));
        // after the closing quote the field goes on unquoted
        assert_eq!(record_end(b"\"a\"x\"\n", b','), Some(6));
    }

    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            "[a-z0-9 ]{0,6}".prop_map(|s| s.into_bytes()),
            Just(b"\"q,x\"".to_vec()),
            Just(b"\"multi\nline\"".to_vec()),
            Just(b"\"dbl\"\"q\"".to_vec()),
            Just(b"\"".to_vec()),
            Just(b"ab\"c".to_vec()),
            Just(b"\r".to_vec()),
            Just(b"\xe9".to_vec()),
            Just(b"\t".to_vec()),
            Just(Vec::new()),
        ]
    }

    fn line() -> impl Strategy<Value = Vec<u8>> {
        (prop::collection::vec(piece(), 0..5), prop_oneof![Just(b"\n".to_vec()), Just(b"\r\n".to_vec())])
            .prop_map(|(fields, end)| [fields.join(&b","[..]), end].concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn any_text_reads_the_same_through_both_readers(
            bom in any::<bool>(),
            lines in prop::collection::vec(line(), 0..30),
            cut_last in any::<bool>(),
            block in 1usize..48,
        ) {
            let mut text = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
            text.extend_from_slice(b"id,x,y\n");
            for l in &lines {
                text.extend_from_slice(l);
            }
            if cut_last && text.ends_with(b"\n") {
                text.pop();
            }
            same_through_both(&text, &[block, 1 << 20]);
        }
    }
}
