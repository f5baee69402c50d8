//! Reading input files into raw text tables, before any typing.
//!
//! Every field is read as text, so identifiers keep their leading zeros and a stray "N/A"
//! in a numeric column becomes an exception for that row instead of failing the file.
//! CSV: UTF-8 with or without a byte-order mark, comma or tab separated (decided from the
//! header line), LF or CRLF line ends, quoted fields; blank lines are skipped and counted.
//! Parquet: every column is cast to text.
//!
//! Row numbers are spreadsheet rows: the header is row 1, so in a CSV file the row is the
//! line number where the record starts; in a Parquet file, the record's index + 2.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::schema::{Field, Role};
use crate::error::DataError;

/// One record of a raw table.
#[derive(Clone, Debug, PartialEq)]
pub struct RawRow {
    /// Spreadsheet row number (header = 1).
    pub row: u64,
    pub fields: Vec<String>,
    /// A fault of the record itself, found while reading: text that is not UTF-8, or a
    /// quoted field that runs over several lines (usually an unclosed quote that swallowed
    /// the lines after it). Validation excepts such a row before looking at its fields.
    pub defect: Option<String>,
}

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

/// Reads a CSV/TSV or Parquet file; `file` is the display name used in messages.
pub fn read_table(path: &Path, file: &str) -> Result<RawTable, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
    let sha256 = sha256_hex(&bytes);
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let (headers, rows, blank_lines) = match ext.as_str() {
        "csv" | "tsv" | "txt" => parse_csv(&bytes, file)?,
        "parquet" | "pq" => {
            let (headers, rows) = super::parquet::read_text_columns(&bytes, file)?;
            (headers, rows, 0)
        }
        _ => {
            return Err(DataError::UnsupportedFormat { file: file.into(), extension: ext });
        }
    };
    Ok(RawTable { file: file.into(), path: path.to_path_buf(), sha256, headers, rows, blank_lines })
}

/// Parses delimited text. Returns headers, records and the number of blank lines skipped.
pub fn parse_csv(bytes: &[u8], file: &str) -> Result<(Vec<String>, Vec<RawRow>, u64), DataError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first_line = body.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let tabs = first_line.iter().filter(|&&b| b == b'\t').count();
    let commas = first_line.iter().filter(|&&b| b == b',').count();
    let delimiter = if tabs > commas { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(body);
    let mut headers: Option<Vec<String>> = None;
    let mut skipped_records = 0u64;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    // The csv crate does not count skipped blank lines, so line numbers come from byte
    // offsets: line = 1 + newlines before the record's first byte.
    let newlines: Vec<u64> = body.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i as u64).collect();
    loop {
        let more = reader.read_byte_record(&mut record).map_err(|e| DataError::Csv {
            file: file.into(),
            line: e.position().map(|p| p.line()).unwrap_or(0),
            message: e.to_string(),
        })?;
        if !more {
            break;
        }
        // The reported start may sit on the line end that precedes the record (CRLF) or on
        // skipped blank lines: move to the record's first real byte.
        let mut byte = record.position().map(|p| p.byte()).unwrap_or(0) as usize;
        while byte < body.len() && matches!(body[byte], b'\r' | b'\n') {
            byte += 1;
        }
        let byte = byte as u64;
        let line = 1 + newlines.partition_point(|&nl| nl < byte) as u64;
        // A line of only separators or spaces is blank, too.
        if record.iter().all(|f| f.trim_ascii().is_empty()) {
            skipped_records += 1;
            continue;
        }
        let mut defect = None;
        let fields: Vec<String> = record
            .iter()
            .map(|f| match std::str::from_utf8(f) {
                Ok(t) => t.to_string(),
                Err(_) => {
                    defect = Some("text is not valid UTF-8 (save the file as UTF-8)".to_string());
                    String::from_utf8_lossy(f).into_owned()
                }
            })
            .collect();
        let spanned = fields.iter().map(|f| f.trim_end_matches(['\r', '\n']).matches('\n').count() as u64).sum::<u64>();
        if spanned > 0 && defect.is_none() {
            defect = Some(format!(
                "a quoted field runs from line {line} to line {} (an unclosed quote?); the lines it took in are not read as rows",
                line + spanned
            ));
        }
        match headers {
            None => headers = Some(fields.iter().map(|h| h.trim().to_string()).collect()),
            Some(_) => rows.push(RawRow { row: line, fields, defect }),
        }
    }
    let headers = headers.ok_or_else(|| DataError::EmptyFile { file: file.into() })?;
    let blank_lines = count_empty_lines(body) + skipped_records;
    Ok((headers, rows, blank_lines))
}

/// Empty lines (the csv reader skips them without a record); lines of only spaces or
/// separators come back as records and are counted where they are skipped.
fn count_empty_lines(body: &[u8]) -> u64 {
    let mut in_quotes = false;
    let mut blank = 0;
    let mut lines = body.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // The piece after the final newline is not a line.
        if lines.peek().is_none() && line.is_empty() {
            break;
        }
        if !in_quotes && line.is_empty() {
            blank += 1;
        }
        in_quotes ^= line.iter().filter(|&&b| b == b'"').count() % 2 == 1;
    }
    blank
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
        let mut counts: HashMap<String, usize> = HashMap::new();
        for h in &table.headers {
            *counts.entry(h.to_ascii_lowercase()).or_default() += 1;
        }
        let mut positions = FieldMap::default();
        let mut headers = FieldMap::default();
        let wanted_fields =
            role.fields().iter().map(|f: &Field| (f.name, f.required)).chain(extra.iter().map(|e| (e.as_str(), false)));
        for (name, required) in wanted_fields {
            let wanted = mapping.get(name).map(|s| s.trim().to_string()).unwrap_or_else(|| name.to_string());
            let exact = table.headers.iter().position(|h| *h == wanted);
            let found = exact.or_else(|| table.headers.iter().position(|h| h.eq_ignore_ascii_case(&wanted)));
            match found {
                Some(i) => {
                    let c = counts[&table.headers[i].to_ascii_lowercase()];
                    if c > 1 {
                        return Err(DataError::DuplicateColumn {
                            file: table.file.clone(),
                            column: table.headers[i].clone(),
                            count: c,
                        });
                    }
                    positions.insert(name.to_string(), i);
                    headers.insert(name.to_string(), table.headers[i].clone());
                }
                None if required || mapping.contains_key(name) => {
                    return Err(DataError::MissingColumn {
                        file: table.file.clone(),
                        field: name.into(),
                        column: wanted,
                        headers: table.headers.clone(),
                    });
                }
                None => {}
            }
        }
        Ok(ColumnIndex { positions, headers })
    }

    /// The raw text of `field` in `row` (`None` if the file has no such column or the row
    /// is short).
    pub fn get<'a>(&self, row: &'a RawRow, field: &str) -> Option<&'a str> {
        self.positions.get(field).and_then(|&i| row.fields.get(i)).map(|s| s.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.positions.contains_key(field)
    }

    /// The header text for `field` (falls back to the field name).
    pub fn header(&self, field: &str) -> String {
        self.headers.get(field).cloned().unwrap_or_else(|| field.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(rows.len(), 1);
        assert!(rows[0].defect.as_ref().unwrap().contains("from line 2 to line 4"), "{rows:?}");
        let (_, rows, _) = parse_csv(b"a,b\n1,Jos\xe9\n2,ok\n", "t.csv").unwrap();
        assert!(rows[0].defect.as_ref().unwrap().contains("UTF-8"));
        assert_eq!(rows[0].fields[1], "Jos\u{fffd}");
        assert_eq!(rows[1].defect, None);
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
