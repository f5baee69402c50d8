//! Excel workbooks (`.xlsx`), read with the calamine crate (README "Input files").
//!
//! One sheet is read: the first, or the one named. Its first non-empty row is the header;
//! every cell becomes text, as a CSV export of the sheet would show it:
//!
//! - text as it is (an ID stored as text keeps its leading zeros);
//! - numbers in their shortest form, integers without a decimal point (`1234`, not
//!   `1234.0`), at most 15 significant digits (what Excel shows: `0.1 + 0.2` is `0.3`);
//! - dates stored as serial numbers in a date-formatted cell as `YYYY-MM-DD` (with
//!   ` HH:MM:SS` when the cell has a time of day), so dates stored as serials and dates
//!   typed as text reach the same date parser. Serials count days in the workbook's own date
//!   system: the 1900 system (day 1 = 1900-01-01, with Excel's phantom 1900-02-29, which is
//!   refused as a date) or the 1904 system of old Mac workbooks (day 0 = 1904-01-01), as
//!   the workbook declares it. A serial in a cell formatted as a plain number stays a number
//!   (a date column holding `45914` is excepted as not a date);
//! - booleans as `true` / `false`; empty cells as empty text;
//! - an error cell (`#N/A`, `#DIV/0!`, ...) makes its row an exception naming the cell.
//!
//! Rows keep the sheet's row numbers (header = row 1 when the sheet starts at the top); an
//! empty row is skipped and counted like a blank line of a CSV file.
//!
//! Identifier columns (the caller names their headers): an ID stored as a number may have
//! lost its leading zeros when the file went through Excel. A numeric ID in a column whose
//! text IDs are all digits of one width with at least one leading zero, and that is shorter
//! than that width, certainly lost them: its row is an exception. A numeric ID that is not a
//! whole number is an exception too, unless the contract's `ids.pad_width` (at least that
//! width) pads it back. Any other numeric ID is used as it is, and one warning per column
//! names the file, the column and the rows.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use super::ledger::ReasonCode;
use super::load::{Defect, RawRow, ReadSpec};
use crate::error::DataError;
use crate::stats::warning::{Warning, WarningCode};

/// One sheet read as text.
#[derive(Clone, Debug, PartialEq)]
pub struct SheetText {
    pub headers: Vec<String>,
    pub rows: Vec<RawRow>,
    /// Empty rows after the header (not records).
    pub blank_rows: u64,
    /// IDs stored as numbers that are used as they are (module notes).
    pub warnings: Vec<Warning>,
}

/// What a cell held, as far as the ID rule is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Empty,
    Text,
    Number,
    Other,
    Error,
}

/// Reads one sheet of the workbook `bytes` (`file` is its name in messages): the spec's sheet
/// or the first; the spec's ID headers are matched ignoring case.
pub fn read_sheet(bytes: &[u8], file: &str, spec: &ReadSpec) -> Result<SheetText, DataError> {
    let sheet = spec.sheet.as_deref();
    let err = |e: calamine::XlsxError| DataError::Workbook { file: file.into(), message: e.to_string() };
    let mut book = Xlsx::new(Cursor::new(bytes)).map_err(err)?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.as_str() == wanted)
            .or_else(|| names.iter().find(|n| n.to_lowercase() == wanted.to_lowercase())),
        None => names.first(),
    };
    let Some(name) = name.cloned() else {
        return Err(match sheet {
            Some(s) => DataError::MissingSheet { file: file.into(), sheet: s.into(), sheets: names },
            None => DataError::EmptyFile { file: file.into() },
        });
    };
    let range = book.worksheet_range(&name).map_err(err)?;
    let (top, left) = range.start().unwrap_or((0, 0));
    let mut cells =
        range.rows().enumerate().map(|(i, r)| (top as u64 + i as u64 + 1, r.iter().map(cell_text).collect()));
    let header = cells.by_ref().find(|(_, r): &(u64, Vec<(String, Kind)>)| r.iter().any(|(t, _)| !t.is_empty()));
    let Some((_, header)) = header else { return Err(DataError::EmptyFile { file: file.into() }) };
    let width = header.iter().rposition(|(t, _)| !t.is_empty()).map_or(0, |i| i + 1);
    let headers: Vec<String> = header.into_iter().take(width).map(|(t, _)| t).collect();
    let mut rows = Vec::new();
    let mut kinds = Vec::new();
    let mut blank_rows = 0;
    for (row, r) in cells {
        let Some(last) = r.iter().rposition(|(t, k)| !t.is_empty() || *k == Kind::Error) else {
            blank_rows += 1;
            continue;
        };
        let defect = error_cells(&r, row, left as usize, &headers);
        let mut fields: Vec<String> = Vec::with_capacity(width.max(last + 1));
        let mut k: Vec<Kind> = Vec::with_capacity(width.max(last + 1));
        for (t, kind) in r.into_iter().take(width.max(last + 1)) {
            fields.push(t);
            k.push(kind);
        }
        fields.resize(width.max(last + 1), String::new());
        rows.push(RawRow { row, fields, defect });
        kinds.push(k);
    }
    let mut warnings = Vec::new();
    for (j, h) in headers.iter().enumerate() {
        if spec.id_headers.iter().any(|id| id.trim().eq_ignore_ascii_case(h.trim())) {
            warnings.extend(id_column(file, (h, j), spec.pad_width, &mut rows, &kinds));
        }
    }
    Ok(SheetText { headers, rows, blank_rows, warnings })
}

/// The text of a cell and what it held (module notes).
fn cell_text(cell: &Data) -> (String, Kind) {
    match cell {
        Data::Empty => (String::new(), Kind::Empty),
        Data::String(s) => (s.clone(), if s.is_empty() { Kind::Empty } else { Kind::Text }),
        Data::Int(i) => (i.to_string(), Kind::Number),
        Data::Float(f) => (number_text(*f), Kind::Number),
        Data::Bool(b) => (b.to_string(), Kind::Other),
        Data::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, s, _) = d.to_ymd_hms_milli();
            let date = format!("{y:04}-{mo:02}-{day:02}");
            let text = if (h, mi, s) == (0, 0, 0) { date } else { format!("{date} {h:02}:{mi:02}:{s:02}") };
            (text, Kind::Other)
        }
        Data::DateTime(d) => (number_text(d.as_f64()), Kind::Other),
        Data::DateTimeIso(s) => (s.strip_suffix("T00:00:00").unwrap_or(s).to_string(), Kind::Other),
        Data::DurationIso(s) => (s.clone(), Kind::Other),
        Data::Error(e) => (e.to_string(), Kind::Error),
    }
}

/// A number as Excel shows it in a General cell: integers without a decimal point, at most
/// 15 significant digits.
pub fn number_text(f: f64) -> String {
    let whole = |x: f64| x.fract() == 0.0 && x.abs() < 1e15;
    if whole(f) {
        return format!("{}", f as i64);
    }
    let r: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    if whole(r) { format!("{}", r as i64) } else { format!("{r}") }
}

/// The spreadsheet letters of a column index (0 = A).
pub fn column_letters(mut index: usize) -> String {
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// The defect of a row with error cells: the first one, by cell reference and column.
fn error_cells(r: &[(String, Kind)], row: u64, left: usize, headers: &[String]) -> Option<Defect> {
    let errors: Vec<usize> = r.iter().enumerate().filter(|(_, (_, k))| *k == Kind::Error).map(|(j, _)| j).collect();
    let &j = errors.first()?;
    let column = headers.get(j).map_or_else(String::new, |h| format!(" (column {h:?})"));
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" and {} more error cells", n - 1),
    };
    let text = format!(
        "cell {}{row}{column} holds the Excel error {}{more}: the row is not used; correct the formula or the value \
         in the workbook",
        column_letters(left + j),
        r[j].0
    );
    Some(Defect::new(ReasonCode::ExcelErrorCell, text))
}

/// The width of a column of zero-padded digit IDs: every text ID is digits of one width
/// (at least 2) and at least one starts with `0`.
fn padded_width<'a>(ids: impl Iterator<Item = &'a str>) -> Option<usize> {
    let mut width = None;
    let mut zero = false;
    for id in ids {
        if !id.bytes().all(|b| b.is_ascii_digit()) || width.is_some_and(|w| w != id.len()) {
            return None;
        }
        width = Some(id.len());
        zero |= id.starts_with('0');
    }
    width.filter(|&w| w >= 2 && zero)
}

/// Applies the ID rule (module notes) to column `j` headed `header`: excepts damaged IDs
/// and returns the warning for numeric IDs used as they are.
fn id_column(
    file: &str,
    (header, j): (&str, usize),
    pad_width: Option<usize>,
    rows: &mut [RawRow],
    kinds: &[Vec<Kind>],
) -> Option<Warning> {
    let kind = |i: usize| kinds[i].get(j).copied().unwrap_or(Kind::Empty);
    let text = rows.iter().enumerate().filter(|&(i, _)| kind(i) == Kind::Text).map(|(_, r)| r.fields[j].trim());
    // `ids.pad_width` at least the column's width puts the zeros back
    let width = padded_width(text).filter(|&w| pad_width.is_none_or(|p| p < w));
    let mut used = Vec::new();
    for (i, r) in rows.iter_mut().enumerate() {
        if kind(i) != Kind::Number {
            continue;
        }
        let v = &r.fields[j];
        let reason = if !v.bytes().all(|b| b.is_ascii_digit()) {
            format!("Excel stored the ID in column {header:?} as the number {v}, which is not a whole number")
        } else if let Some(w) = width.filter(|&w| v.len() < w) {
            format!(
                "Excel stored the ID in column {header:?} as the number {v}, shorter than the column's other IDs \
                 (zero-padded text of {w} digits): Excel dropped its leading zeros; format the column as Text and \
                 enter the ID with its zeros, or export the file again"
            )
        } else {
            used.push(r.row);
            continue;
        };
        r.defect.get_or_insert(Defect::new(ReasonCode::IdStoredAsNumber, reason));
    }
    if used.is_empty() {
        return None;
    }
    let mut shown: Vec<String> = used.iter().take(10).map(u64::to_string).collect();
    if used.len() > 10 {
        shown.push(format!("and {} more", used.len() - 10));
    }
    Some(Warning::new(
        WarningCode::IdLeadingZeros,
        format!(
            "{file}: column {header:?} holds {} IDs that Excel stored as numbers (rows {}); they are used as they \
             are, but Excel drops leading zeros from numbers: check them against the source system, or format \
             the column as Text and enter the IDs with their zeros",
            used.len(),
            shown.join(", ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(number_text(1234.0), "1234");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(-2.5), "-2.5");
        assert_eq!(number_text(201.25), "201.25");
        assert_eq!(number_text(1e16), "10000000000000000");
    }

    #[test]
    fn column_letters_follow_the_sheet() {
        let got: Vec<String> = [0, 25, 26, 27, 51, 52, 701, 702].iter().map(|&i| column_letters(i)).collect();
        assert_eq!(got, ["A", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn padded_width_needs_one_width_digits_and_a_leading_zero() {
        assert_eq!(padded_width(["00123", "04567"].into_iter()), Some(5));
        assert_eq!(padded_width(["12345", "45678"].into_iter()), None);
        assert_eq!(padded_width(["00123", "4567"].into_iter()), None);
        assert_eq!(padded_width(["0012A", "00123"].into_iter()), None);
        assert_eq!(padded_width(std::iter::empty()), None);
    }
}
