//! Readers of assessment vendors' own exports (README "From your vendor's export: NWEA MAP
//! Growth" and "From your vendor's export: i-Ready Diagnostic"). Each reader detects the export's layout from its header, refuses a layout it
//! does not know with the columns it expected and the ones it found, and turns every row
//! into the canonical assessments fields or an exception with the reason.

pub mod iready;
pub mod measures;
pub mod nwea;

use std::collections::HashMap;

use crate::error::{DataError, ErrorKind, short_list};

/// A vendor file that cannot be read as the vendor's export.
#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// The header matches none of the vendor's layouts.
    #[error(
        "{file}: not a {vendor} export: the header has none of the columns that mark a known layout; expected \
         one of: {expected}; found {}",
        short_list(found)
    )]
    UnknownLayout { file: String, vendor: String, expected: String, found: Vec<String> },
    /// The header looks like one layout but lacks some of its columns.
    #[error("{0}")]
    MismatchedLayout(Box<LayoutMismatch>),
    /// An option asks for a column the file does not have.
    #[error("{file}: {option} needs the column {column:?}, which this file does not have")]
    OptionNeedsColumn { file: String, option: String, column: String },
    /// A file of one subject whose subject is neither given nor said by its name.
    #[error(
        "{file}: an i-Ready file has no subject column and its name says neither math nor ela/reading; give \
         --subject math or --subject reading"
    )]
    SubjectNotGiven { file: String },
    /// The subject given contradicts the one the file's name says.
    #[error("{file}: --subject {given} contradicts the file's name, which says {named}")]
    SubjectContradicted { file: String, given: String, named: String },
    /// A contract's i-Ready file whose subject is neither set, said by its name, nor the
    /// contract's (math or reading), or set against its name.
    #[error("{file}: {problem}")]
    SubjectOption { file: String, problem: String },
    #[error(transparent)]
    Read(#[from] DataError),
}

/// A header that looks like one layout of a vendor but lacks some of its columns.
#[derive(Debug, thiserror::Error)]
#[error(
    "{file}: looks like the {layout} layout of {vendor} but lacks {missing:?}; expected columns {expected:?}; \
     found {}",
    short_list(found)
)]
pub struct LayoutMismatch {
    pub file: String,
    pub vendor: String,
    pub layout: String,
    pub missing: Vec<String>,
    pub expected: Vec<String>,
    pub found: Vec<String>,
}

impl VendorError {
    /// An input problem (exit 2), or the read error's own kind.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VendorError::Read(d) => d.kind(),
            _ => ErrorKind::Input,
        }
    }
}

/// A header looked up by name, case-insensitively (vendors' header capitals drift between
/// years: `FalltoSpring...` and `FallToSpring...`); the first of two equal names wins.
#[derive(Clone, Debug)]
pub struct HeaderIndex {
    names: Vec<String>,
    by_lower: HashMap<String, usize>,
}

impl HeaderIndex {
    pub fn new(headers: &[String]) -> Self {
        let mut by_lower = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            by_lower.entry(h.trim().to_lowercase()).or_insert(i);
        }
        HeaderIndex { names: headers.to_vec(), by_lower }
    }

    /// The position of the column `name` (any capitals).
    pub fn find(&self, name: &str) -> Option<usize> {
        self.by_lower.get(&name.to_lowercase()).copied()
    }

    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// The file's own spelling of the column at `i`.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_match_whatever_their_capitals() {
        let h = HeaderIndex::new(&["TermName".into(), "FalltoSpringObservedGrowth".into(), "termname".into()]);
        assert_eq!(h.find("FallToSpringObservedGrowth"), Some(1));
        assert_eq!(h.find("TERMNAME"), Some(0), "the first of two equal names wins");
        assert_eq!(h.name(1), "FalltoSpringObservedGrowth");
        assert!(!h.has("Course"));
    }
}
