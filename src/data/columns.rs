//! A data file read for an analysis command: the named columns, typed, with a ledger that
//! accounts for every row (`obc norms fit --data`, `obc norms score --data`).
//!
//! Headers are matched exactly, then case-insensitively. Text columns are trimmed; an empty
//! value in a text column is an exception. Number columns: an empty field, `NA`, `N/A`,
//! `NaN`, `.` or `NULL` is missing (`None`; whether that matters is the caller's
//! decision); anything else that does not parse as a finite number is an exception.

use std::path::Path;

use super::ledger::{Ledger, ReasonCode, RowState};
use super::load::{ReadSpec, Record, Source};
use super::schema::Role;
use crate::error::DataError;

/// The columns asked for, row by row, and the ledger of the file.
#[derive(Clone, Debug)]
pub struct ColumnData {
    pub ledger: Ledger,
    /// Per text column, per row (empty string for an excepted row).
    pub text: Vec<Vec<String>>,
    /// Per number column, per row.
    pub numbers: Vec<Vec<Option<f64>>>,
    /// The header of each text column and each number column, as in the file.
    pub text_headers: Vec<String>,
    pub number_headers: Vec<String>,
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
    pub fn text_column(&self, name: &str) -> Option<(&str, &[String])> {
        Self::position(&self.text_headers, name).map(|c| (self.text_headers[c].as_str(), self.text[c].as_slice()))
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
                    let v = v.clone();
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
    let mut text_out = vec![Vec::new(); text.len()];
    let mut number_out = vec![Vec::new(); numbers.len()];
    // Each row's values and problems (column position, value, code, reason) are found on
    // the reader's threads; the ledger and the columns are filled in file order.
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
        let mut texts = Vec::with_capacity(text_pos.len());
        for (c, &pos) in text_pos.iter().enumerate() {
            let value = if ok { row.fields[pos].trim() } else { "" };
            if ok && value.is_empty() && !text[c].1 {
                problems.push((Some(pos), String::new(), ReasonCode::MissingValue, "empty value".into()));
            }
            texts.push(value.to_string());
        }
        let mut values = Vec::with_capacity(number_pos.len());
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
        for (column, v) in text_out.iter_mut().zip(texts) {
            column.push(v);
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
        text: text_out,
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
        assert_eq!(d.text[0], vec!["001", "002", "003", ""]);
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
        assert_eq!((header, values[3].as_str()), ("Analysed", "TRUE"));
        assert_eq!(d.number_column("post").unwrap().1[3], Some(4.0));
        assert!(d.number_column("growth").is_none());
    }
}
