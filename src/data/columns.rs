//! A data file read for an analysis command: the named columns, typed, with a ledger that
//! accounts for every row (`obc norms fit --data`, `obc norms score --data`).
//!
//! Headers are matched exactly, then case-insensitively. Text columns are trimmed; an empty
//! value in a text column is an exception. Number columns: an empty field, `NA`, `N/A`,
//! `NaN`, `.` or `NULL` is missing (`None`; whether that matters is the caller's
//! decision); anything else that does not parse as a finite number is an exception.

use std::hash::BuildHasher;
use std::path::Path;

use super::ledger::{Ledger, ReasonCode, RowState};
use super::load::{ReadSpec, Record, Source};
use super::records::ShortText;
use super::schema::Role;
use crate::error::DataError;

/// The columns asked for, row by row, and the ledger of the file.
#[derive(Clone, Debug)]
pub struct ColumnData {
    pub ledger: Ledger,
    /// Per text column, per row (empty string for an excepted row).
    pub text: Vec<TextColumn>,
    /// Per number column, per row.
    pub numbers: Vec<Vec<Option<f64>>>,
    /// The header of each text column and each number column, as in the file.
    pub text_headers: Vec<String>,
    pub number_headers: Vec<String>,
}

/// A text column: its distinct values in order of first appearance and each row's code.
/// Schools, groups and providers repeat down a file; each distinct value is stored once,
/// and a factor's codes follow from the values' codes without comparing text per row
/// (docs/architecture.md 3a).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextColumn {
    values: Vec<String>,
    codes: Vec<u32>,
}

impl TextColumn {
    /// The rows.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The text of a row.
    pub fn get(&self, row: usize) -> &str {
        &self.values[self.codes[row] as usize]
    }

    /// The distinct values, in order of first appearance.
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Each row's position in [`TextColumn::values`].
    pub fn codes(&self) -> &[u32] {
        &self.codes
    }
}

impl std::ops::Index<usize> for TextColumn {
    type Output = str;
    fn index(&self, row: usize) -> &str {
        self.get(row)
    }
}

impl<S: AsRef<str>> FromIterator<S> for TextColumn {
    fn from_iter<I: IntoIterator<Item = S>>(rows: I) -> Self {
        let mut b = TextColumnBuilder::default();
        for r in rows {
            let r = r.as_ref();
            b.push(b.hasher.hash_one(r), r).expect("fewer than 2^32 distinct values");
        }
        b.column
    }
}

/// Builds a [`TextColumn`] a row at a time, with each value's hash computed by the caller
/// (on the reader's threads) with the same stateless FNV hasher as `hasher`.
#[derive(Default)]
struct TextColumnBuilder {
    column: TextColumn,
    /// (hash, code) of each distinct value.
    table: hashbrown::HashTable<(u64, u32)>,
    hasher: std::hash::BuildHasherDefault<super::load::Fnv>,
}

impl TextColumnBuilder {
    fn push(&mut self, hash: u64, text: &str) -> Result<(), std::num::TryFromIntError> {
        let values = &self.column.values;
        // Rows often come grouped: the row before's value needs no look-up.
        let code = match self.column.codes.last() {
            Some(&c) if values[c as usize] == text => c,
            _ => match self.table.find(hash, |&(h, c)| h == hash && values[c as usize] == text) {
                Some(&(_, c)) => c,
                None => {
                    let c = u32::try_from(values.len())?;
                    self.column.values.push(text.to_string());
                    self.table.insert_unique(hash, (hash, c), |&(h, _)| h);
                    c
                }
            },
        };
        self.column.codes.push(code);
        Ok(())
    }
}

impl ColumnData {
    /// The position among `headers` of the column asked for as `name`: the exact header,
    /// else the header equal ignoring ASCII case (unique in the file: checked when read).
    fn position(headers: &[String], name: &str) -> Option<usize> {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .or_else(|| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name)))
    }

    /// The text column asked for as `name`, with its header.
    pub fn text_column(&self, name: &str) -> Option<(&str, &TextColumn)> {
        Self::position(&self.text_headers, name).map(|c| (self.text_headers[c].as_str(), &self.text[c]))
    }

    /// The number column asked for as `name`, with its header.
    pub fn number_column(&self, name: &str) -> Option<(&str, &[Option<f64>])> {
        Self::position(&self.number_headers, name)
            .map(|c| (self.number_headers[c].as_str(), self.numbers[c].as_slice()))
    }

    /// The pending rows to analyse: those whose value in the text column `only` (if given)
    /// is true (`true`, `1`, `yes`, `y`) and that have every number column present. The
    /// other pending rows are excluded in the ledger with the column and the reason.
    pub fn complete_rows(&mut self, only: Option<&str>) -> Vec<usize> {
        let only = only.and_then(|c| Self::position(&self.text_headers, c));
        let mut live = Vec::new();
        for idx in 0..self.ledger.len() {
            if self.ledger.state(idx) != RowState::Pending {
                continue;
            }
            if let Some(c) = only {
                let v = &self.text[c][idx];
                if !["true", "1", "yes", "y"].iter().any(|t| v.eq_ignore_ascii_case(t)) {
                    let h = self.text_headers[c].clone();
                    let v = v.to_string();
                    self.ledger.exclude(idx, &h, &v, ReasonCode::NotSelected, format!("not selected by --only {h}"));
                    continue;
                }
            }
            if let Some(c) = (0..self.numbers.len()).find(|&c| self.numbers[c][idx].is_none()) {
                let h = self.number_headers[c].clone();
                self.ledger.exclude(idx, &h, "", ReasonCode::NotAvailable, "missing value");
                continue;
            }
            live.push(idx);
        }
        live
    }
}

fn locate(file: &str, headers: &[String], name: &str) -> Result<usize, DataError> {
    let exact: Vec<usize> = headers.iter().enumerate().filter(|(_, h)| h.trim() == name).map(|(i, _)| i).collect();
    let found = if exact.is_empty() {
        headers.iter().enumerate().filter(|(_, h)| h.trim().eq_ignore_ascii_case(name)).map(|(i, _)| i).collect()
    } else {
        exact
    };
    match found.as_slice() {
        [i] => Ok(*i),
        [] => Err(DataError::MissingColumn {
            file: file.into(),
            field: "data".into(),
            column: name.into(),
            headers: headers.to_vec(),
        }),
        many => Err(DataError::DuplicateColumn { file: file.into(), column: name.into(), count: many.len() }),
    }
}

/// Up to `N` values in place and the rest on the heap: a row's values handed from a reader
/// thread without an allocation.
struct Few<T, const N: usize> {
    head: [T; N],
    len: usize,
    rest: Vec<T>,
}

impl<T: Default, const N: usize> Default for Few<T, N> {
    fn default() -> Self {
        Few { head: std::array::from_fn(|_| T::default()), len: 0, rest: Vec::new() }
    }
}

impl<T, const N: usize> Few<T, N> {
    fn push(&mut self, v: T) {
        match self.head.get_mut(self.len) {
            Some(slot) => *slot = v,
            None => self.rest.push(v),
        }
        self.len += 1;
    }
}

impl<T, const N: usize> IntoIterator for Few<T, N> {
    type Item = T;
    type IntoIter = std::iter::Chain<std::iter::Take<std::array::IntoIter<T, N>>, std::vec::IntoIter<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.head.into_iter().take(self.len.min(N)).chain(self.rest)
    }
}

/// A field that is neither a number nor a missing marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotANumber;

/// Parses a number field: `Ok(None)` for a missing marker, `Err(NotANumber)` for text that
/// is not a finite number.
pub fn parse_number(text: &str) -> Result<Option<f64>, NotANumber> {
    let t = text.trim();
    if t.is_empty() || ["NA", "N/A", "NAN", ".", "NULL"].iter().any(|m| t.eq_ignore_ascii_case(m)) {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        _ => Err(NotANumber),
    }
}

/// Reads `path` (CSV, TSV or Parquet) and extracts the columns. Rows with a record defect,
/// a missing or empty text value, or an unparseable number are excepted in the ledger (one
/// exception per bad field); the others stay pending for the caller to use or exclude.
pub fn read_columns(
    path: &Path,
    sheet: Option<&str>,
    text: &[String],
    numbers: &[String],
) -> Result<ColumnData, DataError> {
    let text: Vec<(String, bool)> = text.iter().map(|t| (t.clone(), false)).collect();
    read_columns_allowing_empty(path, sheet, &text, numbers)
}

/// [`read_columns`] where each text column says whether an empty value is allowed (kept as
/// `""`, e.g. an empty provider for comparison students) instead of excepted.
pub fn read_columns_allowing_empty(
    path: &Path,
    sheet: Option<&str>,
    text: &[(String, bool)],
    numbers: &[String],
) -> Result<ColumnData, DataError> {
    let file = path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into_owned());
    let (mut source, _) = Source::open_spec(path, &file, &ReadSpec::sheet(sheet))?;
    let headers = source.headers().to_vec();
    let text_pos = text.iter().map(|(c, _)| locate(&file, &headers, c)).collect::<Result<Vec<_>, _>>()?;
    let number_pos = numbers.iter().map(|c| locate(&file, &headers, c)).collect::<Result<Vec<_>, _>>()?;
    let mut ledger = Ledger::streaming(Role::Data, &file);
    let mut text_out: Vec<TextColumnBuilder> = text.iter().map(|_| TextColumnBuilder::default()).collect();
    let hasher = std::hash::BuildHasherDefault::<super::load::Fnv>::default();
    let mut number_out = vec![Vec::new(); numbers.len()];
    // Each row's values (text with its hash) and problems (column position, value, code,
    // reason) are found on the reader's threads, without an allocation for a well-formed
    // row of short values; the ledger and the columns are filled in file order.
    let width = headers.len();
    let map = |row: &Record<'_>| {
        let mut problems: Vec<(Option<usize>, String, ReasonCode, String)> = Vec::new();
        if let Some(defect) = &row.defect {
            problems.push((None, String::new(), defect.code, defect.text.clone()));
        } else if row.fields.len() != width {
            let reason = format!("row has {} fields, the header has {}", row.fields.len(), width);
            problems.push((None, String::new(), ReasonCode::WrongFieldCount, reason));
        }
        let ok = problems.is_empty();
        let mut texts: Few<(u64, ShortText), 4> = Few::default();
        for (c, &pos) in text_pos.iter().enumerate() {
            let value = if ok { row.fields[pos].trim() } else { "" };
            if ok && value.is_empty() && !text[c].1 {
                problems.push((Some(pos), String::new(), ReasonCode::MissingValue, "empty value".into()));
            }
            texts.push((hasher.hash_one(value), ShortText::new(value)));
        }
        let mut values: Few<Option<f64>, 4> = Few::default();
        for &pos in &number_pos {
            values.push(if ok {
                parse_number(&row.fields[pos]).unwrap_or_else(|NotANumber| {
                    let reason = "not a finite number".to_string();
                    problems.push((Some(pos), row.fields[pos].to_string(), ReasonCode::NotANumber, reason));
                    None
                })
            } else {
                None
            });
        }
        Ok((row.row, texts, values, problems))
    };
    source.scan(map, |(row, texts, values, problems)| {
        let idx = ledger.push_row(row);
        for (pos, value, code, reason) in problems {
            let header = pos.map_or("", |p| headers[p].as_str());
            ledger.except(idx, header, &value, code, reason);
        }
        for (column, (hash, v)) in text_out.iter_mut().zip(texts) {
            column.push(hash, v.as_str()).map_err(|_| DataError::Csv {
                file: ledger.file.clone(),
                line: row,
                message: format!("more than {} distinct values in a column", u32::MAX),
            })?;
        }
        for (column, v) in number_out.iter_mut().zip(values) {
            column.push(v);
        }
        Ok(())
    })?;
    let (sha256, blank_lines) = source.finish()?;
    ledger.set_source(sha256, blank_lines);
    Ok(ColumnData {
        ledger,
        text: text_out.into_iter().map(|b| b.column).collect(),
        numbers: number_out,
        text_headers: text_pos.iter().map(|&i| headers[i].clone()).collect(),
        number_headers: number_pos.iter().map(|&i| headers[i].clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::ledger::{RowState, Stage};

    #[test]
    fn numbers_missing_markers_and_junk() {
        assert_eq!(parse_number(" 12.5 "), Ok(Some(12.5)));
        assert_eq!(parse_number("-3e2"), Ok(Some(-300.0)));
        for m in ["", "  ", "NA", "na", "N/A", "NaN", ".", "null"] {
            assert_eq!(parse_number(m), Ok(None), "{m:?}");
        }
        for junk in ["abc", "1,5", "inf", "-Infinity", "12 pts"] {
            assert_eq!(parse_number(junk), Err(NotANumber), "{junk:?}");
        }
    }

    #[test]
    fn every_row_is_pending_or_excepted_with_its_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "ID,Grade,pre,post\n001,4,200,210\n002,4,NA,205\n003,,199,x\n004,5,201\n").unwrap();
        let d = read_columns(&path, None, &["ID".into(), "grade".into()], &["pre".into(), "post".into()]).unwrap();
        assert_eq!((0..4).map(|i| &d.text[0][i]).collect::<Vec<_>>(), ["001", "002", "003", ""]);
        assert_eq!(
            (d.text[0].values(), d.text[0].codes()),
            (&["001", "002", "003", ""].map(String::from)[..], &[0, 1, 2, 3][..])
        );
        assert_eq!(d.numbers[0], vec![Some(200.0), None, Some(199.0), None]);
        assert_eq!(d.text_headers, vec!["ID", "Grade"]);
        assert_eq!(d.ledger.state(0), RowState::Pending);
        assert_eq!(d.ledger.state(1), RowState::Pending);
        assert_eq!(d.ledger.state(2), RowState::Excepted);
        assert_eq!(d.ledger.state(3), RowState::Excepted);
        let ex = d.ledger.exceptions();
        assert_eq!(ex.len(), 3);
        assert_eq!((ex[0].row, ex[0].column.as_str(), ex[0].reason.as_str()), (4, "Grade", "empty value"));
        assert_eq!((ex[1].row, ex[1].column.as_str(), ex[1].value.as_str()), (4, "post", "x"));
        assert_eq!(ex[2].row, 5);
        assert!(d.ledger.accounting(Stage::Prepared).is_err(), "pending rows must be decided by the caller");
        let missing = read_columns(&path, None, &["student".into()], &[]).unwrap_err();
        assert!(missing.to_string().contains("\"student\""), "{missing}");
    }

    #[test]
    fn text_columns_hold_each_distinct_value_once_with_many_columns() {
        // Six text and six number columns: more than a row keeps in place.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        let header = "t1,t2,t3,t4,t5,t6,n1,n2,n3,n4,n5,n6\n";
        let long = "x".repeat(40);
        let rows = format!("a,b,c,d,e,{long},1,2,3,4,5,6\na,b,c,d,f,{long},1,2,3,4,5,x\nb,b,c,d,e,g,6,5,4,3,2,1\n");
        std::fs::write(&path, format!("{header}{rows}")).unwrap();
        let names = |p: &str| (1..=6).map(|i| format!("{p}{i}")).collect::<Vec<_>>();
        let d = read_columns(&path, None, &names("t"), &names("n")).unwrap();
        let t5: Vec<&str> = (0..3).map(|i| &d.text[4][i]).collect();
        assert_eq!(t5, ["e", "f", "e"]);
        assert_eq!((d.text[4].values(), d.text[4].codes()), (&["e".to_string(), "f".into()][..], &[0, 1, 0][..]));
        assert_eq!((&d.text[5][1], &d.text[5][2], d.text[5].values().len()), (long.as_str(), "g", 2));
        assert_eq!(d.numbers[5], vec![Some(6.0), None, Some(1.0)]);
        assert_eq!(d.numbers[0], vec![Some(1.0), Some(1.0), Some(6.0)]);
        let ex = d.ledger.exceptions();
        assert_eq!((ex.len(), ex[0].row, ex[0].column.as_str()), (1, 3, "n6"));
        let built: TextColumn = ["p", "q", "p", "p"].into_iter().collect();
        assert_eq!(
            (built.values(), built.codes(), built.len()),
            (&["p".to_string(), "q".into()][..], &[0, 1, 0, 0][..], 4)
        );
    }

    #[test]
    fn complete_rows_keep_selected_rows_with_every_number_and_columns_are_found_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "id,Analysed,pre,post\na,yes,1,2\nb,no,1,2\nc,1,,2\nd,TRUE,3,4\n").unwrap();
        let text = [("id".to_string(), false), ("analysed".to_string(), true)];
        let mut d = read_columns_allowing_empty(&path, None, &text, &["pre".into(), "post".into()]).unwrap();
        assert_eq!(d.complete_rows(Some("analysed")), vec![0, 3]);
        let ex = d.ledger.exceptions();
        assert_eq!(ex.len(), 2);
        assert_eq!((ex[0].column.as_str(), ex[0].reason.as_str()), ("Analysed", "not selected by --only Analysed"));
        assert_eq!((ex[1].column.as_str(), ex[1].reason.as_str()), ("pre", "missing value"));
        let (header, values) = d.text_column("analysed").unwrap();
        assert_eq!((header, &values[3]), ("Analysed", "TRUE"));
        assert_eq!(d.number_column("post").unwrap().1[3], Some(4.0));
        assert!(d.number_column("growth").is_none());
    }
}
