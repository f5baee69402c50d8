//! The compact record format of the streamed inputs: the session log and the assessments
//! of a large district are validated row by row and kept as fixed-size records (numbers
//! instead of strings, text interned), so that a million students' 22 million session rows
//! fit in memory. [`super::validate`] holds the rules; this module only the format.

use std::collections::HashMap;

use chrono::NaiveDate;

use super::validate::Status;
use crate::error::DataError;

/// Text values numbered in order of first appearance (0 = none), so that compact records
/// hold a number instead of a string.
#[derive(Clone, Debug, Default)]
pub(crate) struct Interner {
    ids: HashMap<String, u32, std::hash::BuildHasherDefault<super::load::Fnv>>,
    names: Vec<String>,
    /// The number given last: a file's rows come in runs of one value (a student's tutor,
    /// session after session), which then need no lookup.
    last: u32,
}

impl Interner {
    pub(crate) fn id(&mut self, text: Option<&str>) -> u32 {
        let Some(t) = text else { return 0 };
        if self.last > 0 && self.names[self.last as usize - 1] == t {
            return self.last;
        }
        let i = match self.ids.get(t) {
            Some(&i) => i,
            None => {
                self.names.push(t.to_string());
                let i = self.names.len() as u32;
                self.ids.insert(t.to_string(), i);
                i
            }
        };
        self.last = i;
        i
    }

    /// The number of `text`, if it has one.
    pub(crate) fn find(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    pub(crate) fn name(&self, id: u32) -> Option<&str> {
        id.checked_sub(1).map(|i| self.names[i as usize].as_str())
    }
}

/// A valid session row in 32 bytes. Its provider is the one it lists, or its student's only
/// provider (the roster's, or the one of the assignments file).
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompactSession {
    /// Position of the student in [`super::validate::Validated::students`].
    pub student: u32,
    /// Row index in the sessions ledger.
    pub idx: u32,
    pub date: NaiveDate,
    /// Interned tutor ID (0 = none).
    pub tutor: u32,
    pub minutes: f64,
    pub status: Status,
    /// 1..=50, 0 = none.
    pub group_size: u8,
    /// Interned provider ID (0 = none).
    pub provider: u32,
}

impl CompactSession {
    /// Everything that makes two sessions of a student the same session.
    pub(crate) fn key(&self) -> (u32, NaiveDate, u64, u8, u8, u32) {
        (self.tutor, self.date, self.minutes.to_bits(), self.status as u8, self.group_size, self.provider)
    }
}

/// A valid test row without strings.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompactTest {
    pub student: u32,
    pub idx: u32,
    pub date: NaiveDate,
    /// Interned subject, window and school year (0 = none).
    pub subject: u32,
    pub window: u32,
    pub school_year: u32,
    pub grade: Option<i32>,
    pub score: f64,
    pub sem: Option<f64>,
    pub valid: bool,
}

impl CompactTest {
    pub(crate) fn key(&self) -> (NaiveDate, u32, u32, u32, Option<i32>, u64, Option<u64>, bool) {
        (
            self.date,
            self.subject,
            self.window,
            self.school_year,
            self.grade,
            self.score.to_bits(),
            self.sem.map(f64::to_bits),
            self.valid,
        )
    }
}

pub(crate) fn compact_index(idx: usize, file: &str) -> Result<u32, DataError> {
    u32::try_from(idx).map_err(|_| DataError::Csv {
        file: file.into(),
        line: 0,
        message: format!("more than {} rows; split the file", u32::MAX),
    })
}

/// A short text kept without a heap allocation (IDs are short): what a worker thread hands
/// to the thread that interns it ([`super::chunked`]).
#[derive(Clone, Debug)]
pub(crate) enum ShortText {
    Inline { len: u8, bytes: [u8; 30] },
    Long(Box<str>),
}

impl Default for ShortText {
    fn default() -> Self {
        ShortText::Inline { len: 0, bytes: [0; 30] }
    }
}

impl ShortText {
    pub(crate) fn new(text: &str) -> ShortText {
        let mut bytes = [0; 30];
        match bytes.get_mut(..text.len()) {
            Some(b) => {
                b.copy_from_slice(text.as_bytes());
                ShortText::Inline { len: text.len() as u8, bytes }
            }
            None => ShortText::Long(text.into()),
        }
    }

    /// `text` in lower case (ASCII letters only, as `str::to_ascii_lowercase`).
    pub(crate) fn lowercase(text: &str) -> ShortText {
        let mut t = ShortText::new(text);
        match &mut t {
            ShortText::Inline { len, bytes } => bytes[..*len as usize].make_ascii_lowercase(),
            ShortText::Long(s) => s.make_ascii_lowercase(),
        }
        t
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            // the bytes are a copy of a whole &str
            ShortText::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..*len as usize]).expect("copied from a str")
            }
            ShortText::Long(s) => s,
        }
    }
}
