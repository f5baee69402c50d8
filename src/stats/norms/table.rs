//! Imported conditional growth norms tables (e.g. vendor norms such as NWEA MAP Growth),
//! interpolated by start score and instructional weeks.
//!
//! # Model
//!
//! A table gives, for each subject × grade, the mean growth `m` and the SD of growth `σ` of
//! students with start score `s` after `w` weeks of instruction, on a rectangular grid of
//! start scores `s_1 < … < s_K` and weeks `w_1 < … < w_J` (docs/methods.md 2.1-2.2). A
//! student with start score `x` after `v` weeks gets (bilinear interpolation):
//!
//! ```text
//! start points:  s_k ≤ x ≤ s_k+1,  a = (x − s_k)/(s_k+1 − s_k)
//!                m(x, w_j) = m[j, k] + a · (m[j, k+1] − m[j, k])
//! start bands:   lo_k ≤ x ≤ hi_k   →   m(x, w_j) = m[j, k]          (step function)
//! weeks:         w_j ≤ v ≤ w_j+1,  b = (v − w_j)/(w_j+1 − w_j)
//!                m(x, v) = m(x, w_j) + b · (m(x, w_j+1) − m(x, w_j))
//! ```
//!
//! and the same for `σ`. The result is an [`Expectation`] `{ growth: m, sd: σ }`.
//!
//! - **Start points.** Within a subject × grade × window, NWEA's 2015 typical growth is
//!   exactly linear in StartRIT with a constant SD (docs/methods.md 2.2-2.3, the bivariate-normal
//!   conditional mean), so linear interpolation between neighbouring start points reproduces
//!   the norms at non-integer start scores, and any table of such a function exactly.
//! - **Start bands** (inclusive `[lo, hi]`, as some vendors publish) give the band's value.
//!   A score in the gap between two bands (e.g. 159.5 between 150-159 and 160-169) takes the
//!   nearer band (the lower one at equal distance) and is flagged
//!   ([`Lookup::start_between_bands`]).
//! - **Outside the table.** A start score below the first or above the last start is held at
//!   the end value, as NWEA's extended tables do (values constant outside StartRIT 120-280),
//!   and flagged ([`Lookup::start_clamped`]). Weeks outside the tabulated range are clamped
//!   the same way ([`Lookup::weeks_clamped`]); a table with one weeks value is used for any
//!   weeks and flagged whenever the weeks differ from it.
//! - **SD.** The SD is interpolated linearly, like the mean. Interpolating the variance
//!   instead, `σ(v)² = (1 − b)·σ_j² + b·σ_j+1²`, suits growth whose variance accrues linearly
//!   in time; the two differ by `b(1 − b)(σ_j − σ_j+1)² / (σ_lin + σ_var) ≤ (σ_j − σ_j+1)² /
//!   (8·min σ)`, e.g. 0.007 RIT for SDs of 6.7 and 7.3, and linear interpolation is the
//!   smaller of the two (by Jensen), so it never understates |CGI| relative to the variance
//!   rule. Between start points the SD is constant in NWEA's tables, where both rules agree.
//!
//! Subjects are matched ignoring surrounding whitespace and ASCII case ("Reading" = "reading");
//! a subject the table does not name is then matched through its [`subject_family`], the
//! common aliases of NWEA's four subjects ("Math" finds "Mathematics", "Science" finds
//! "General Science"), when exactly one of the table's subjects is of that family.
//! Grades are integers (K = 0). Lookups cost O(log rows): grids are sorted by subject and
//! grade, and starts and weeks are found by binary search.
//!
//! # Validation
//!
//! [`NormsTable::new`] checks every row (finite values, `sd > 0`, `weeks > 0`, `lo ≤ hi`, a
//! subject), then each subject × grade: all rows are points or all are bands; bands do not
//! overlap (edges are inclusive, so 150-159 and 159-169 overlap); no two rows share a
//! (start, weeks) key; and every weeks value has the same starts (a rectangular grid). Rows
//! may come in any order. Errors name the 0-based index of the offending row;
//! [`NormsTable::problems`] lists every problem instead of the first (row checks first,
//! the grid checks only when every row is valid).
//!
//! # Usage
//!
//! ```
//! use obc::stats::norms::table::{NormsRow, NormsTable, Start};
//! let row = |start: f64, weeks: f64, mean_growth: f64| NormsRow {
//!     subject: "Reading".into(),
//!     grade: 4,
//!     start: Start::Point(start),
//!     weeks,
//!     mean_growth,
//!     sd: 6.5,
//! };
//! let table = NormsTable::new(vec![
//!     row(190.0, 20.0, 6.0), row(210.0, 20.0, 4.0),
//!     row(190.0, 32.0, 9.0), row(210.0, 32.0, 7.0),
//! ]).unwrap();
//! let hit = table.expect("reading", 4, 200.0, 26.0).unwrap();
//! assert!((hit.expectation.growth - 6.5).abs() < 1e-12);
//! assert!(!hit.start_clamped && !hit.weeks_clamped);
//! let held = table.expect("Reading", 4, 250.0, 36.0).unwrap();
//! assert_eq!(held.expectation.growth, 7.0);
//! assert!(held.start_clamped && held.weeks_clamped);
//! assert!(table.expect("Math", 4, 200.0, 32.0).unwrap_err().to_string().contains("Reading"));
//! ```
//!
//! # References
//!
//! - Y. M. Thum and C. H. Hauser (2015), *NWEA 2015 MAP Norms for Student and School
//!   Achievement Status and Growth*, NWEA Research Report; Y. M. Thum and M. Kuhfeld (2020),
//!   *NWEA 2020 MAP Growth Achievement Status and Growth Norms for Students and Schools*.
//! - NWEA help articles on conditional growth (CGI, CGP) and instructional weeks: fall 4,
//!   winter 20, spring 32, next year 36 (docs/methods.md 2.1).
//!
//! # Compatibility with NWEA reports
//!
//! NWEA customizes norms to a school's weeks of instruction with its growth model; linear
//! interpolation between tabulated weeks approximates that and is exact only at tabulated
//! weeks. Reports use unrounded norms (docs/methods.md 2.1): load the T.. (typical) columns, not
//! the rounded R.. columns.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::Expectation;
use crate::stats::design::{Encoding, LevelOrder};

/// The start score(s) a norms row applies to.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// One start score (NWEA's StartRIT).
    Point(f64),
    /// An inclusive band of start scores, `lo ≤ start ≤ hi`.
    Band { lo: f64, hi: f64 },
}

impl Start {
    fn kind(&self) -> &'static str {
        match self {
            Start::Point(_) => "start point",
            Start::Band { .. } => "start band",
        }
    }

    fn label(&self) -> String {
        match self {
            Start::Point(x) => format!("{x}"),
            Start::Band { lo, hi } => format!("[{lo}, {hi}]"),
        }
    }
}

/// One cell of a norms table: mean and SD of growth for one subject, grade, start score (or
/// band) and number of instructional weeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormsRow {
    pub subject: String,
    /// Grade at the start of the window (K = 0).
    pub grade: i32,
    pub start: Start,
    /// Weeks of instruction the growth is measured over, > 0.
    pub weeks: f64,
    /// Mean (typical) growth, in scale-score points.
    pub mean_growth: f64,
    /// SD of growth among like students, > 0.
    pub sd: f64,
}

impl NormsRow {
    /// Problems of this row on its own (see the module docs, "Validation"), as the row at
    /// `index` of a table's input.
    pub fn problems(&self, index: usize) -> Vec<TableError> {
        let mut out = Vec::new();
        row_problems(index, self, &mut out);
        out
    }
}

/// A problem with a norms table or a lookup in it. `row` is the 0-based index of the row in
/// the input to [`NormsTable::new`].
#[derive(Clone, Debug, PartialEq, Error)]
pub enum TableError {
    #[error("the norms table has no rows")]
    Empty,
    #[error("row {row}: {column} = {value}: {reason}")]
    InvalidValue { row: usize, column: &'static str, value: String, reason: String },
    #[error(
        "row {row}: {subject} grade {grade} mixes start points and start bands (row {row} is a {kind}, row {first_row} is a {first_kind})"
    )]
    MixedStarts {
        subject: String,
        grade: i32,
        row: usize,
        kind: &'static str,
        first_row: usize,
        first_kind: &'static str,
    },
    #[error("row {row}: {subject} grade {grade}: start band {band} overlaps band {other} of row {other_row}")]
    OverlappingBands { subject: String, grade: i32, row: usize, band: String, other_row: usize, other: String },
    #[error("row {row}: {subject} grade {grade}: start {start} at {weeks} weeks repeats row {first_row}")]
    DuplicateKey { subject: String, grade: i32, row: usize, start: String, weeks: f64, first_row: usize },
    #[error(
        "{subject} grade {grade}: no row for start {start} at {weeks} weeks, but row {row} has start {start} at {other_weeks} weeks (every weeks value needs the same starts)"
    )]
    MissingCell { subject: String, grade: i32, start: String, weeks: f64, row: usize, other_weeks: f64 },
    #[error("no norms for subject {subject:?}; the table has subjects {available:?}")]
    UnknownSubject { subject: String, available: Vec<String> },
    #[error(
        "subject {subject:?} is not in the norms table by name, and its alias matches several of the table's subjects: {candidates:?}"
    )]
    AmbiguousSubject { subject: String, candidates: Vec<String> },
    #[error("no norms for {subject} grade {grade}; the table has {subject} grades {available:?}")]
    UnknownGrade { subject: String, grade: i32, available: Vec<i32> },
    #[error("cannot look up norms: {what} = {value} {reason}")]
    InvalidInput { what: &'static str, value: f64, reason: &'static str },
}

impl TableError {
    /// The 0-based input row the problem is in (or, for a missing grid cell, the row that
    /// shows the start at another weeks value); `None` for whole-table and lookup errors.
    pub fn row(&self) -> Option<usize> {
        match self {
            TableError::InvalidValue { row, .. }
            | TableError::MixedStarts { row, .. }
            | TableError::OverlappingBands { row, .. }
            | TableError::DuplicateKey { row, .. }
            | TableError::MissingCell { row, .. } => Some(*row),
            _ => None,
        }
    }

    /// The field of [`NormsRow`] the problem is about (`"start"` for start points and bands,
    /// `"weeks"` for a missing grid cell).
    pub fn column(&self) -> Option<&'static str> {
        match self {
            TableError::InvalidValue { column, .. } => Some(column),
            TableError::MixedStarts { .. } | TableError::OverlappingBands { .. } | TableError::DuplicateKey { .. } => {
                Some("start")
            }
            TableError::MissingCell { .. } => Some("weeks"),
            _ => None,
        }
    }
}

/// The result of a lookup: the interpolated expectation and whether the student lay outside
/// what the table covers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Lookup {
    pub expectation: Expectation,
    /// The start score was below the first or above the last start of the grid and was held
    /// at the end value.
    pub start_clamped: bool,
    /// The weeks were outside the tabulated weeks (or differ from the only weeks value) and
    /// were held at the end value.
    pub weeks_clamped: bool,
    /// The start score fell in a gap between two start bands and took the nearer band.
    pub start_between_bands: bool,
}

/// The start axis of one subject × grade grid.
#[derive(Clone, Debug, PartialEq)]
enum Starts {
    /// Strictly increasing start scores.
    Points(Vec<f64>),
    /// Bands `(lo, hi)` with strictly increasing, non-overlapping ranges.
    Bands(Vec<(f64, f64)>),
}

impl Starts {
    fn len(&self) -> usize {
        match self {
            Starts::Points(p) => p.len(),
            Starts::Bands(b) => b.len(),
        }
    }
}

/// One subject × grade: the grid of means and SDs, `mean[j * n_starts + k]` at weeks `j`,
/// start `k`.
#[derive(Clone, Debug, PartialEq)]
struct Grid {
    /// Subject trimmed and ASCII-lowercased (the lookup key).
    key: String,
    /// Subject as first spelled in the input (for messages).
    subject: String,
    grade: i32,
    starts: Starts,
    weeks: Vec<f64>,
    mean: Vec<f64>,
    sd: Vec<f64>,
}

/// A validated conditional growth norms table. Serializes as its rows; deserializing
/// validates them again.
///
/// ```
/// use obc::stats::norms::table::NormsTable;
/// let json = r#"{"rows": [
///   {"subject": "Math", "grade": 0, "start": {"band": {"lo": 130, "hi": 139}}, "weeks": 32, "mean_growth": 15, "sd": 7},
///   {"subject": "Math", "grade": 0, "start": {"band": {"lo": 140, "hi": 149}}, "weeks": 32, "mean_growth": 14, "sd": 7}
/// ]}"#;
/// let table: NormsTable = serde_json::from_str(json).unwrap();
/// assert_eq!(table.expect("math", 0, 139.0, 32.0).unwrap().expectation.growth, 15.0);
/// let overlapping = json.replace("\"lo\": 140", "\"lo\": 139");
/// assert!(serde_json::from_str::<NormsTable>(&overlapping).unwrap_err().to_string().contains("overlaps"));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "NormsTableFields")]
pub struct NormsTable {
    rows: Vec<NormsRow>,
    #[serde(skip)]
    grids: Vec<Grid>,
}

/// Unchecked serialized form of [`NormsTable`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NormsTableFields {
    rows: Vec<NormsRow>,
}

impl TryFrom<NormsTableFields> for NormsTable {
    type Error = TableError;
    fn try_from(f: NormsTableFields) -> Result<Self, TableError> {
        NormsTable::new(f.rows)
    }
}

/// Subject key: surrounding whitespace removed, ASCII letters lowercased.
fn subject_key(subject: &str) -> String {
    subject.trim().to_ascii_lowercase()
}

/// The subject family of a name, for names that differ only by a common alias (the four
/// NWEA MAP Growth subjects): case, surrounding spaces, `_`/`-` and repeated spaces are
/// ignored, and `math`, `maths`, `mathematics` → mathematics; `reading` → reading;
/// `language`, `language usage`, `lang usage` → language usage; `science`, `general science`
/// → general science. Other names (e.g. "Language Arts", which NWEA uses for both reading
/// and language usage) have no family.
pub fn subject_family(subject: &str) -> Option<&'static str> {
    let words: Vec<String> = subject
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    match words.join(" ").as_str() {
        "math" | "maths" | "mathematics" => Some("mathematics"),
        "reading" => Some("reading"),
        "language" | "language usage" | "lang usage" => Some("language usage"),
        "science" | "general science" => Some("general science"),
        _ => None,
    }
}

/// Compares a stored key with a query subject as [`subject_key`] would, without allocating.
fn cmp_key(key: &str, query: &str) -> Ordering {
    key.bytes().cmp(query.trim().bytes().map(|b| b.to_ascii_lowercase()))
}

/// `-0.0` becomes `0.0`, so equal scores compare equal under `total_cmp`.
fn canonical(x: f64) -> f64 {
    x + 0.0
}

/// Position of `x` on a sorted axis: `(lower index, upper index, weight of the upper,
/// clamped)`. Inside, `xs[lo] ≤ x < xs[hi]` with `hi = lo + 1`; outside or on the last
/// value, both indices are the end and the weight is 0.
fn bracket(xs: &[f64], x: f64) -> (usize, usize, f64, bool) {
    let last = xs.len() - 1;
    if x <= xs[0] {
        return (0, 0, 0.0, x < xs[0]);
    }
    if x >= xs[last] {
        return (last, last, 0.0, x > xs[last]);
    }
    let hi = xs.partition_point(|&v| v <= x);
    let lo = hi - 1;
    (lo, hi, (x - xs[lo]) / (xs[hi] - xs[lo]), false)
}

/// Band of `x`: `(index, clamped, between bands)`.
fn band_of(bands: &[(f64, f64)], x: f64) -> (usize, bool, bool) {
    let after = bands.partition_point(|b| b.0 <= x);
    if after == 0 {
        return (0, true, false);
    }
    let k = after - 1;
    if x <= bands[k].1 {
        return (k, false, false);
    }
    if k == bands.len() - 1 {
        return (k, true, false);
    }
    // in the gap (hi_k, lo_k+1): the nearer band, the lower one at equal distance
    let nearer = if x - bands[k].1 <= bands[k + 1].0 - x { k } else { k + 1 };
    (nearer, false, true)
}

fn lerp(a: f64, b: f64, t: f64) -> f64 {
    if t == 0.0 { a } else { a + t * (b - a) }
}

/// Problems of one row on its own.
fn row_problems(i: usize, r: &NormsRow, out: &mut Vec<TableError>) {
    let mut bad = |column: &'static str, value: String, reason: &str| {
        out.push(TableError::InvalidValue { row: i, column, value, reason: reason.to_string() })
    };
    if r.subject.trim().is_empty() {
        bad("subject", format!("{:?}", r.subject), "subject is empty");
    }
    match r.start {
        Start::Point(x) if !x.is_finite() => bad("start", format!("{x}"), "start score is not a finite number"),
        Start::Point(_) => {}
        Start::Band { lo, hi } => {
            if !lo.is_finite() || !hi.is_finite() {
                bad("start", r.start.label(), "band limits must be finite numbers");
            } else if lo > hi {
                bad("start", r.start.label(), "band's lower limit exceeds its upper limit");
            }
        }
    }
    if !(r.weeks.is_finite() && r.weeks > 0.0) {
        bad("weeks", format!("{}", r.weeks), "weeks must be a finite number > 0");
    }
    if !r.mean_growth.is_finite() {
        bad("mean_growth", format!("{}", r.mean_growth), "mean growth must be a finite number");
    }
    if !(r.sd.is_finite() && r.sd > 0.0) {
        bad("sd", format!("{}", r.sd), "sd must be a finite number > 0");
    }
}

/// Builds the grid of one subject × grade from its row indices (in input order), or lists
/// its problems.
fn build_grid(rows: &[NormsRow], idx: &[usize], key: String, grade: i32) -> Result<Grid, Vec<TableError>> {
    let first = &rows[idx[0]];
    let subject = first.subject.trim().to_string();
    let mut errors = Vec::new();
    for &i in idx {
        if std::mem::discriminant(&rows[i].start) != std::mem::discriminant(&first.start) {
            errors.push(TableError::MixedStarts {
                subject: subject.clone(),
                grade,
                row: i,
                kind: rows[i].start.kind(),
                first_row: idx[0],
                first_kind: first.start.kind(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // distinct starts (with the first row having each) and their order
    let mut starts: Vec<(f64, f64, usize)> = idx
        .iter()
        .map(|&i| match rows[i].start {
            Start::Point(x) => (canonical(x), canonical(x), i),
            Start::Band { lo, hi } => (canonical(lo), canonical(hi), i),
        })
        .collect();
    starts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    starts.dedup_by(|b, a| a.0 == b.0 && a.1 == b.1);
    let is_band = matches!(first.start, Start::Band { .. });
    if is_band {
        // sorted by lo: a band overlaps an earlier one iff its lo ≤ the largest hi so far
        let mut widest = 0;
        for k in 1..starts.len() {
            let (lo, hi, row) = starts[k];
            let (wlo, whi, wrow) = starts[widest];
            if lo <= whi {
                errors.push(TableError::OverlappingBands {
                    subject: subject.clone(),
                    grade,
                    row,
                    band: Start::Band { lo, hi }.label(),
                    other_row: wrow,
                    other: Start::Band { lo: wlo, hi: whi }.label(),
                });
            }
            if hi > whi {
                widest = k;
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
    }
    let mut weeks: Vec<f64> = idx.iter().map(|&i| canonical(rows[i].weeks)).collect();
    weeks.sort_by(f64::total_cmp);
    weeks.dedup();

    let n_starts = starts.len();
    let start_label = |k: usize| {
        let (lo, hi, _) = starts[k];
        if is_band { Start::Band { lo, hi }.label() } else { Start::Point(lo).label() }
    };
    let mut cell: Vec<Option<usize>> = vec![None; n_starts * weeks.len()];
    for &i in idx {
        let (lo, hi) = match rows[i].start {
            Start::Point(x) => (canonical(x), canonical(x)),
            Start::Band { lo, hi } => (canonical(lo), canonical(hi)),
        };
        let k = starts
            .binary_search_by(|s| s.0.total_cmp(&lo).then(s.1.total_cmp(&hi)))
            .expect("every start of the group is among its distinct starts");
        let w = canonical(rows[i].weeks);
        let j = weeks.binary_search_by(|v| v.total_cmp(&w)).expect("every weeks value is among the distinct weeks");
        match cell[j * n_starts + k] {
            Some(first_row) => errors.push(TableError::DuplicateKey {
                subject: subject.clone(),
                grade,
                row: i,
                start: start_label(k),
                weeks: w,
                first_row,
            }),
            None => cell[j * n_starts + k] = Some(i),
        }
    }
    for j in 0..weeks.len() {
        for k in 0..n_starts {
            if cell[j * n_starts + k].is_none() {
                let (other_j, row) = (0..weeks.len())
                    .find_map(|jj| cell[jj * n_starts + k].map(|r| (jj, r)))
                    .expect("every distinct start has a row at some weeks value");
                errors.push(TableError::MissingCell {
                    subject: subject.clone(),
                    grade,
                    start: start_label(k),
                    weeks: weeks[j],
                    row,
                    other_weeks: weeks[other_j],
                });
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mean = cell.iter().map(|c| rows[c.expect("grid is complete")].mean_growth).collect();
    let sd = cell.iter().map(|c| rows[c.expect("grid is complete")].sd).collect();
    let starts = if is_band {
        Starts::Bands(starts.iter().map(|s| (s.0, s.1)).collect())
    } else {
        Starts::Points(starts.iter().map(|s| s.0).collect())
    };
    Ok(Grid { key, subject, grade, starts, weeks, mean, sd })
}

/// Validates `rows` and builds the grids, or lists every problem.
fn build(rows: &[NormsRow]) -> Result<Vec<Grid>, Vec<TableError>> {
    if rows.is_empty() {
        return Err(vec![TableError::Empty]);
    }
    let mut errors = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        row_problems(i, r, &mut errors);
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let groups = Encoding::new(rows.iter().map(|r| (subject_key(&r.subject), r.grade)), LevelOrder::Sorted).groups();
    let mut grids = Vec::with_capacity(groups.len());
    for ((key, grade), idx) in groups {
        match build_grid(rows, &idx, key, grade) {
            Ok(g) => grids.push(g),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() { Ok(grids) } else { Err(errors) }
}

impl NormsTable {
    /// Validates the rows (see the module docs, "Validation") and indexes them for lookup.
    /// Returns the first problem; [`problems`](Self::problems) lists all of them.
    pub fn new(rows: Vec<NormsRow>) -> Result<NormsTable, TableError> {
        match build(&rows) {
            Ok(grids) => Ok(NormsTable { rows, grids }),
            Err(mut errors) => Err(errors.swap_remove(0)),
        }
    }

    /// Every problem that keeps `rows` from forming a table (empty if they form one): the
    /// checks of single rows, then (only when all rows pass them) the grid checks of each
    /// subject × grade.
    pub fn problems(rows: &[NormsRow]) -> Vec<TableError> {
        build(rows).err().unwrap_or_default()
    }

    /// The rows, in input order.
    pub fn rows(&self) -> &[NormsRow] {
        &self.rows
    }

    /// Subjects, as first spelled in the input, in key order.
    pub fn subjects(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let mut last: Option<&str> = None;
        for g in &self.grids {
            if last != Some(g.key.as_str()) {
                out.push(&g.subject);
                last = Some(&g.key);
            }
        }
        out
    }

    /// Grades with norms for `subject` (matched as in lookups), ascending; empty when the
    /// table has no such subject (or the alias is ambiguous).
    pub fn grades(&self, subject: &str) -> Vec<i32> {
        match self.resolve(subject) {
            Ok(key) => self.grids.iter().filter(|g| g.key == key).map(|g| g.grade).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The table's key for `subject`: its own name ignoring case and surrounding spaces;
    /// when the table has no subject of that name, the one subject of the same
    /// [`subject_family`] ("Math" finds "Mathematics").
    fn resolve(&self, subject: &str) -> Result<&str, TableError> {
        if let Some(g) = self.grids.iter().find(|g| cmp_key(&g.key, subject) == Ordering::Equal) {
            return Ok(&g.key);
        }
        let unknown = || TableError::UnknownSubject {
            subject: subject.to_string(),
            available: self.subjects().into_iter().map(str::to_string).collect(),
        };
        let family = subject_family(subject).ok_or_else(unknown)?;
        let mut keys: Vec<&Grid> = Vec::new();
        for g in self.grids.iter().filter(|g| subject_family(&g.key) == Some(family)) {
            if keys.last().is_none_or(|k| k.key != g.key) {
                keys.push(g);
            }
        }
        match keys.as_slice() {
            [] => Err(unknown()),
            [one] => Ok(&one.key),
            many => Err(TableError::AmbiguousSubject {
                subject: subject.to_string(),
                candidates: many.iter().map(|g| g.subject.clone()).collect(),
            }),
        }
    }

    /// The expected growth and its SD for a student of `grade` in `subject` with start score
    /// `start_score` after `weeks` weeks of instruction, interpolated as described in the
    /// module docs, with flags for start scores and weeks outside the table.
    ///
    /// Errors: a non-finite start score, weeks that are not a finite number > 0, or a
    /// subject or grade the table does not have (the error lists what it has).
    pub fn expect(&self, subject: &str, grade: i32, start_score: f64, weeks: f64) -> Result<Lookup, TableError> {
        if !start_score.is_finite() {
            return Err(TableError::InvalidInput {
                what: "start score",
                value: start_score,
                reason: "is not a finite number",
            });
        }
        if !(weeks.is_finite() && weeks > 0.0) {
            return Err(TableError::InvalidInput { what: "weeks", value: weeks, reason: "is not a finite number > 0" });
        }
        let g = self.grid(subject, grade)?;
        let n = g.starts.len();
        let (k0, k1, a, start_clamped, start_between_bands) = match &g.starts {
            Starts::Points(p) => {
                let (k0, k1, a, clamped) = bracket(p, start_score);
                (k0, k1, a, clamped, false)
            }
            Starts::Bands(b) => {
                let (k, clamped, between) = band_of(b, start_score);
                (k, k, 0.0, clamped, between)
            }
        };
        let (j0, j1, b, weeks_clamped) = bracket(&g.weeks, weeks);
        let at = |v: &[f64], j: usize| lerp(v[j * n + k0], v[j * n + k1], a);
        let value = |v: &[f64]| lerp(at(v, j0), at(v, j1), b);
        Ok(Lookup {
            expectation: Expectation { growth: value(&g.mean), sd: value(&g.sd) },
            start_clamped,
            weeks_clamped,
            start_between_bands,
        })
    }

    fn grid(&self, subject: &str, grade: i32) -> Result<&Grid, TableError> {
        let found = self.grids.binary_search_by(|g| cmp_key(&g.key, subject).then(g.grade.cmp(&grade)));
        if let Ok(i) = found {
            return Ok(&self.grids[i]);
        }
        let key = self.resolve(subject)?;
        let found = self.grids.binary_search_by(|g| g.key.as_str().cmp(key).then(g.grade.cmp(&grade)));
        match found {
            Ok(i) => Ok(&self.grids[i]),
            Err(_) => Err(TableError::UnknownGrade {
                subject: subject.trim().to_string(),
                grade,
                available: self.grids.iter().filter(|g| g.key == key).map(|g| g.grade).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point(subject: &str, grade: i32, start: f64, weeks: f64, mean_growth: f64, sd: f64) -> NormsRow {
        NormsRow { subject: subject.into(), grade, start: Start::Point(start), weeks, mean_growth, sd }
    }

    fn band(grade: i32, lo: f64, hi: f64, weeks: f64, mean_growth: f64, sd: f64) -> NormsRow {
        NormsRow { subject: "Math".into(), grade, start: Start::Band { lo, hi }, weeks, mean_growth, sd }
    }

    const STARTS: [f64; 6] = [150.0, 157.0, 171.5, 180.0, 199.0, 230.0];
    const WEEKS: [f64; 4] = [4.0, 20.0, 32.0, 36.0];

    /// Mean growth with a bilinear term, which bilinear interpolation reproduces exactly.
    fn f(s: f64, w: f64) -> f64 {
        3.0 + 0.5 * w - 0.1 * s + 0.0007 * s * w
    }

    fn g(s: f64, w: f64) -> f64 {
        5.0 + 0.01 * s + 0.02 * w
    }

    /// The grid of `f` and `g` for Reading grade 3, rows in an order that is neither by
    /// start nor by weeks.
    fn linear_table() -> NormsTable {
        let mut rows = Vec::new();
        for (i, &s) in STARTS.iter().enumerate() {
            for j in 0..WEEKS.len() {
                let w = WEEKS[(j + i) % WEEKS.len()];
                rows.push(point("Reading", 3, s, w, f(s, w), g(s, w)));
            }
        }
        rows.reverse();
        NormsTable::new(rows).unwrap()
    }

    #[test]
    fn interpolation_reproduces_a_bilinear_function_inside_the_grid() {
        let t = linear_table();
        let mut checked = 0;
        for si in 0..=460 {
            let s = 150.0 + f64::from(si) * 0.175; // 150 to 230.5, crossing every node
            if s > 230.0 {
                continue;
            }
            for wi in 0..=64 {
                let w = 4.0 + f64::from(wi) * 0.5; // 4 to 36
                let hit = t.expect("Reading", 3, s, w).unwrap();
                // values are O(10) built from O(1e3) products: 1e-12 leaves ~100 ulps
                assert!((hit.expectation.growth - f(s, w)).abs() <= 1e-12, "mean at ({s}, {w}): {hit:?}");
                assert!((hit.expectation.sd - g(s, w)).abs() <= 1e-12, "sd at ({s}, {w}): {hit:?}");
                assert!(!hit.start_clamped && !hit.weeks_clamped && !hit.start_between_bands, "({s}, {w})");
                checked += 1;
            }
        }
        assert!(checked > 20_000);
    }

    #[test]
    fn subjects_match_by_name_first_then_by_an_unambiguous_alias() {
        let t = NormsTable::new(vec![
            point("Mathematics", 4, 200.0, 32.0, 11.0, 6.0),
            point("General Science", 4, 200.0, 32.0, 5.0, 6.0),
            point("Language Usage", 4, 200.0, 32.0, 7.0, 6.0),
        ])
        .unwrap();
        for (query, growth) in
            [("math", 11.0), (" MATHS ", 11.0), ("Science", 5.0), ("language_usage", 7.0), ("Language", 7.0)]
        {
            assert_eq!(t.expect(query, 4, 200.0, 32.0).unwrap().expectation.growth, growth, "{query}");
            assert_eq!(t.grades(query), vec![4], "{query}");
        }
        // no family, or a family the table lacks: unknown, listing the table's subjects
        for query in ["Language Arts", "Reading", "ELA"] {
            match t.expect(query, 4, 200.0, 32.0) {
                Err(TableError::UnknownSubject { available, .. }) => assert_eq!(available.len(), 3, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
            assert!(t.grades(query).is_empty());
        }
        // an alias found, a grade not
        assert!(matches!(t.expect("math", 5, 200.0, 32.0), Err(TableError::UnknownGrade { grade: 5, .. })));
        // the exact name wins over the alias; an alias matching two subjects is refused
        let two = NormsTable::new(vec![
            point("Math", 4, 200.0, 32.0, 1.0, 6.0),
            point("Mathematics", 4, 200.0, 32.0, 2.0, 6.0),
        ])
        .unwrap();
        assert_eq!(two.expect("MATH", 4, 200.0, 32.0).unwrap().expectation.growth, 1.0);
        assert_eq!(two.expect("mathematics", 4, 200.0, 32.0).unwrap().expectation.growth, 2.0);
        match two.expect("maths", 4, 200.0, 32.0) {
            Err(TableError::AmbiguousSubject { candidates, .. }) => assert_eq!(candidates, ["Math", "Mathematics"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn grid_nodes_return_the_table_values_exactly() {
        let t = linear_table();
        for r in t.rows() {
            let Start::Point(s) = r.start else { unreachable!() };
            let hit = t.expect("Reading", 3, s, r.weeks).unwrap();
            assert_eq!(hit.expectation, Expectation { growth: r.mean_growth, sd: r.sd }, "{r:?}");
        }
    }

    #[test]
    fn outside_the_grid_values_are_held_and_flagged() {
        let t = linear_table();
        let cases = [
            (100.0, 20.0, 150.0, 20.0, true, false),
            (231.0, 20.0, 230.0, 20.0, true, false),
            (160.0, 2.0, 160.0, 4.0, false, true),
            (160.0, 40.0, 160.0, 36.0, false, true),
            (90.0, 1.0, 150.0, 4.0, true, true),
            (500.0, 52.0, 230.0, 36.0, true, true),
            (230.0, 36.0, 230.0, 36.0, false, false),
            (150.0, 4.0, 150.0, 4.0, false, false),
        ];
        for (s, w, s_held, w_held, sc, wc) in cases {
            let hit = t.expect("Reading", 3, s, w).unwrap();
            assert!((hit.expectation.growth - f(s_held, w_held)).abs() <= 1e-12, "({s}, {w}): {hit:?}");
            assert!((hit.expectation.sd - g(s_held, w_held)).abs() <= 1e-12, "({s}, {w}): {hit:?}");
            assert_eq!((hit.start_clamped, hit.weeks_clamped), (sc, wc), "({s}, {w})");
        }
    }

    #[test]
    fn a_single_weeks_value_is_used_for_any_weeks_and_flagged_when_different() {
        let t = NormsTable::new(vec![point("Math", 5, 200.0, 32.0, 8.0, 6.0), point("Math", 5, 220.0, 32.0, 6.0, 6.0)])
            .unwrap();
        let exact = t.expect("Math", 5, 210.0, 32.0).unwrap();
        assert_eq!(exact.expectation.growth, 7.0);
        assert!(!exact.weeks_clamped);
        for w in [4.0, 31.9, 32.1, 36.0] {
            let hit = t.expect("Math", 5, 210.0, w).unwrap();
            assert_eq!(hit.expectation, exact.expectation, "weeks {w}");
            assert!(hit.weeks_clamped, "weeks {w} differs from the table's 32");
        }
    }

    fn band_table() -> NormsTable {
        NormsTable::new(vec![
            band(2, 170.0, 179.0, 32.0, 10.0, 7.0),
            band(2, 150.0, 159.0, 20.0, 9.0, 5.0),
            band(2, 160.0, 169.0, 20.0, 8.0, 5.5),
            band(2, 170.0, 179.0, 20.0, 7.0, 6.0),
            band(2, 150.0, 159.0, 32.0, 14.0, 6.0),
            band(2, 160.0, 169.0, 32.0, 12.0, 6.5),
        ])
        .unwrap()
    }

    #[test]
    fn bands_are_steps_with_inclusive_edges() {
        let t = band_table();
        // (start, mean at 20 weeks, clamped, between bands)
        let cases = [
            (150.0, 9.0, false, false),
            (155.5, 9.0, false, false),
            (159.0, 9.0, false, false),
            (159.4, 9.0, false, true),
            (159.5, 9.0, false, true), // equidistant: the lower band
            (159.6, 8.0, false, true),
            (160.0, 8.0, false, false),
            (169.0, 8.0, false, false),
            (170.0, 7.0, false, false),
            (179.0, 7.0, false, false),
            (149.99, 9.0, true, false),
            (120.0, 9.0, true, false),
            (179.01, 7.0, true, false),
        ];
        for (s, mean, clamped, between) in cases {
            let hit = t.expect("math", 2, s, 20.0).unwrap();
            assert_eq!(hit.expectation.growth, mean, "start {s}");
            assert_eq!((hit.start_clamped, hit.start_between_bands), (clamped, between), "start {s}");
        }
        // weeks are still interpolated linearly within a band: 3/4 of the way from 20 to 32
        let hit = t.expect("Math", 2, 165.0, 29.0).unwrap();
        assert!((hit.expectation.growth - (8.0 + 0.75 * 4.0)).abs() < 1e-12, "{hit:?}");
        assert!((hit.expectation.sd - (5.5 + 0.75 * 1.0)).abs() < 1e-12, "{hit:?}");
    }

    #[test]
    fn unknown_subject_and_grade_name_what_is_available() {
        let t = NormsTable::new(vec![
            point("Reading", 3, 200.0, 32.0, 5.0, 6.0),
            point("Reading", 5, 200.0, 32.0, 5.0, 6.0),
            point("Mathematics", 4, 200.0, 32.0, 5.0, 6.0),
        ])
        .unwrap();
        assert_eq!(t.subjects(), vec!["Mathematics", "Reading"]);
        let e = t.expect("Science", 4, 200.0, 32.0).unwrap_err();
        assert_eq!(
            e,
            TableError::UnknownSubject {
                subject: "Science".into(),
                available: vec!["Mathematics".into(), "Reading".into()]
            }
        );
        assert!(e.to_string().contains("\"Mathematics\", \"Reading\""), "{e}");
        let e = t.expect(" READING ", 4, 200.0, 32.0).unwrap_err();
        assert_eq!(e, TableError::UnknownGrade { subject: "READING".into(), grade: 4, available: vec![3, 5] });
        assert!(e.to_string().contains("grade 4") && e.to_string().contains("[3, 5]"), "{e}");
        assert!(t.expect(" reading", 5, 200.0, 32.0).is_ok());
        assert!(matches!(
            t.expect("Reading", 5, f64::NAN, 32.0),
            Err(TableError::InvalidInput { what: "start score", .. })
        ));
        assert!(matches!(t.expect("Reading", 5, 200.0, 0.0), Err(TableError::InvalidInput { what: "weeks", .. })));
    }

    #[test]
    fn a_non_rectangular_grid_names_the_missing_cell() {
        let rows = vec![
            point("Reading", 4, 190.0, 20.0, 6.0, 6.0),
            point("Reading", 4, 210.0, 20.0, 4.0, 6.0),
            point("Reading", 4, 190.0, 32.0, 9.0, 6.0),
            point("Reading", 4, 230.0, 32.0, 7.0, 6.0),
        ];
        let problems = NormsTable::problems(&rows);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.contains(&TableError::MissingCell {
            subject: "Reading".into(),
            grade: 4,
            start: "210".into(),
            weeks: 32.0,
            row: 1,
            other_weeks: 20.0
        }));
        assert!(problems.contains(&TableError::MissingCell {
            subject: "Reading".into(),
            grade: 4,
            start: "230".into(),
            weeks: 20.0,
            row: 3,
            other_weeks: 32.0
        }));
        let e = NormsTable::new(rows).unwrap_err().to_string();
        assert!(e.contains("no row for start") && e.contains("Reading grade 4"), "{e}");
    }

    #[test]
    fn invalid_rows_are_all_reported_with_their_index() {
        let mut rows = vec![
            point("Reading", 4, 190.0, 20.0, 6.0, 6.0),
            point("Reading", 4, f64::NAN, 20.0, 6.0, 6.0),
            point("Reading", 4, 200.0, 0.0, 6.0, 0.0),
            point(" ", 4, 200.0, 20.0, f64::INFINITY, 1.0),
        ];
        rows.push(band(4, 160.0, 150.0, 20.0, 1.0, 1.0));
        let got: Vec<(Option<usize>, Option<&str>)> =
            NormsTable::problems(&rows).iter().map(|e| (e.row(), e.column())).collect();
        assert_eq!(
            got,
            vec![
                (Some(1), Some("start")),
                (Some(2), Some("weeks")),
                (Some(2), Some("sd")),
                (Some(3), Some("subject")),
                (Some(3), Some("mean_growth")),
                (Some(4), Some("start")),
            ]
        );
        assert_eq!(NormsTable::new(vec![]), Err(TableError::Empty));
    }

    #[test]
    fn grid_problems_duplicates_mixed_starts_and_overlapping_bands() {
        let dup = vec![point("Reading", 4, 190.0, 20.0, 6.0, 6.0), point("reading", 4, 190.0, 20.0, 5.0, 6.0)];
        let e = NormsTable::new(dup).unwrap_err();
        assert!(matches!(e, TableError::DuplicateKey { row: 1, first_row: 0, .. }), "{e:?}");
        assert!(e.to_string().contains("start 190 at 20 weeks repeats row 0"), "{e}");

        let mixed = vec![point("Math", 4, 190.0, 20.0, 6.0, 6.0), band(4, 150.0, 159.0, 20.0, 6.0, 6.0)];
        let e = NormsTable::new(mixed).unwrap_err();
        assert!(matches!(e, TableError::MixedStarts { row: 1, first_row: 0, .. }), "{e:?}");

        // [150, 159] and [159, 169] share 159 (inclusive edges); [100, 200] covers [170, 179]
        let shared_edge = vec![band(4, 150.0, 159.0, 20.0, 6.0, 6.0), band(4, 159.0, 169.0, 20.0, 6.0, 6.0)];
        let e = NormsTable::new(shared_edge).unwrap_err();
        assert!(matches!(e, TableError::OverlappingBands { row: 1, other_row: 0, .. }), "{e:?}");
        let covered = vec![
            band(4, 100.0, 200.0, 20.0, 6.0, 6.0),
            band(4, 150.0, 159.0, 20.0, 6.0, 6.0),
            band(4, 170.0, 179.0, 20.0, 6.0, 6.0),
        ];
        let p = NormsTable::problems(&covered);
        assert_eq!(
            p.iter().map(|e| (e.row(), e.to_string().contains("[100, 200]"))).collect::<Vec<_>>(),
            vec![(Some(1), true), (Some(2), true)]
        );
        // the same band at two weeks values is one start, not an overlap
        assert!(
            NormsTable::new(vec![band(4, 150.0, 159.0, 20.0, 6.0, 6.0), band(4, 150.0, 159.0, 32.0, 8.0, 6.0)]).is_ok()
        );
    }

    #[test]
    fn serde_round_trip_revalidates() {
        let t = linear_table();
        let json = serde_json::to_string(&t).unwrap();
        let back: NormsTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back.rows().len(), t.rows().len());
        for (a, b) in back.rows().iter().zip(t.rows()) {
            assert_eq!(a.subject, b.subject);
            assert_eq!((a.grade, a.start, a.weeks), (b.grade, b.start, b.weeks));
            // serde_json without `float_roundtrip` may move a float by one ulp
            assert!((a.mean_growth - b.mean_growth).abs() <= 1e-15 * b.mean_growth.abs().max(1.0));
            assert!((a.sd - b.sd).abs() <= 1e-15 * b.sd);
        }
        for (s, w) in [(151.0, 5.0), (200.0, 33.0), (100.0, 40.0)] {
            let (x, y) = (back.expect("Reading", 3, s, w).unwrap(), t.expect("Reading", 3, s, w).unwrap());
            assert!((x.expectation.growth - y.expectation.growth).abs() <= 1e-13, "({s}, {w})");
            assert_eq!((x.start_clamped, x.weeks_clamped), (y.start_clamped, y.weeks_clamped));
        }
        let bands: NormsTable = serde_json::from_str(&serde_json::to_string(&band_table()).unwrap()).unwrap();
        assert_eq!(bands, band_table());

        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["rows"].as_array_mut().unwrap().remove(5);
        let e = serde_json::from_value::<NormsTable>(v).unwrap_err().to_string();
        assert!(e.contains("no row for start"), "{e}");
        let e = serde_json::from_str::<NormsTable>(r#"{"rows": [], "name": "x"}"#).unwrap_err().to_string();
        assert!(e.contains("unknown field"), "{e}");
        let e = serde_json::from_str::<NormsTable>(r#"{"rows": []}"#).unwrap_err().to_string();
        assert!(e.contains("no rows"), "{e}");
    }

    /// A random points grid with mean growth non-increasing in the start score (as NWEA's)
    /// and arbitrary positive SDs: (starts, weeks, mean[j][k], sd[j][k]).
    #[allow(clippy::type_complexity)]
    fn monotone_grid() -> impl Strategy<Value = (Vec<f64>, Vec<f64>, Vec<Vec<f64>>, Vec<Vec<f64>>)> {
        (1usize..6, 1usize..4).prop_flat_map(|(ns, nw)| {
            (
                100.0f64..200.0,
                prop::collection::vec(0.5f64..20.0, ns - 1),
                1.0f64..10.0,
                prop::collection::vec(1.0f64..20.0, nw - 1),
                prop::collection::vec(-5.0f64..30.0, nw),
                prop::collection::vec(prop::collection::vec(0.0f64..3.0, ns - 1), nw),
                prop::collection::vec(prop::collection::vec(0.5f64..12.0, ns), nw),
            )
                .prop_map(|(s0, ds, w0, dw, m0, drops, sd)| {
                    // x0, x0 + d[0], x0 + d[0] + d[1], ...
                    let cumulative = |x0: f64, d: &[f64]| {
                        let mut v = vec![x0];
                        for step in d {
                            v.push(v[v.len() - 1] + step);
                        }
                        v
                    };
                    let mean = m0
                        .iter()
                        .zip(&drops)
                        .map(|(m, d)| cumulative(*m, &d.iter().map(|x| -x).collect::<Vec<_>>()))
                        .collect();
                    (cumulative(s0, &ds), cumulative(w0, &dw), mean, sd)
                })
        })
    }

    /// Rows of a grid, weeks by weeks.
    fn rows_of(starts: &[f64], weeks: &[f64], mean: &[Vec<f64>], sd: &[Vec<f64>]) -> Vec<NormsRow> {
        let mut rows = Vec::new();
        for (j, &w) in weeks.iter().enumerate() {
            for (k, &s) in starts.iter().enumerate() {
                rows.push(point("Reading", 4, s, w, mean[j][k], sd[j][k]));
            }
        }
        rows
    }

    /// Indices of the grid values around `x` by linear scan (independent of `bracket`).
    fn around(xs: &[f64], x: f64) -> Vec<usize> {
        if x <= xs[0] {
            return vec![0];
        }
        if x >= xs[xs.len() - 1] {
            return vec![xs.len() - 1];
        }
        let k = (0..xs.len() - 1).find(|&k| xs[k] <= x && x < xs[k + 1]).unwrap();
        if xs[k] == x { vec![k] } else { vec![k, k + 1] }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn lookups_are_monotone_in_start_and_stay_within_the_surrounding_cells(
            (starts, weeks, mean, sd) in monotone_grid(),
            order in any::<u64>(),
            queries in prop::collection::vec((-0.1f64..1.1, -0.2f64..1.2), 1..20),
        ) {
            let mut rows = rows_of(&starts, &weeks, &mean, &sd);
            // row order must not matter: rotate and swap deterministically from `order`
            let n = rows.len();
            rows.rotate_left((order % n as u64) as usize);
            rows.swap(0, (order as usize / 7) % n);
            let t = NormsTable::new(rows).unwrap();
            let (s_lo, s_hi) = (starts[0], starts[starts.len() - 1]);
            let (w_lo, w_hi) = (weeks[0], weeks[weeks.len() - 1]);
            for (qs, qw) in queries {
                let x = s_lo - 5.0 + qs * (s_hi - s_lo + 10.0);
                let w = (w_lo + qw * (w_hi - w_lo + 2.0) - 1.0).max(0.1);
                let hit = t.expect("Reading", 4, x, w).unwrap();
                prop_assert_eq!(hit.start_clamped, x < s_lo || x > s_hi);
                prop_assert_eq!(hit.weeks_clamped, w < w_lo || w > w_hi);
                let cells: Vec<(usize, usize)> = around(&weeks, w)
                    .into_iter()
                    .flat_map(|j| around(&starts, x).into_iter().map(move |k| (j, k)))
                    .collect();
                for (v, grid) in [(hit.expectation.growth, &mean), (hit.expectation.sd, &sd)] {
                    let lo = cells.iter().map(|&(j, k)| grid[j][k]).fold(f64::INFINITY, f64::min);
                    let hi = cells.iter().map(|&(j, k)| grid[j][k]).fold(f64::NEG_INFINITY, f64::max);
                    prop_assert!(lo - 1e-12 <= v && v <= hi + 1e-12, "{} outside [{}, {}] at ({}, {})", v, lo, hi, x, w);
                }
                // monotone: a higher start never has a higher expected growth
                for dx in [0.01, 0.5, 3.0, 40.0] {
                    let higher = t.expect("Reading", 4, x + dx, w).unwrap();
                    prop_assert!(
                        higher.expectation.growth <= hit.expectation.growth + 1e-12,
                        "growth rises from {} at {} to {} at {}", hit.expectation.growth, x, higher.expectation.growth, x + dx
                    );
                }
            }
        }

        #[test]
        fn band_lookups_are_monotone_and_take_a_band_value(
            (starts, weeks, mean, sd) in monotone_grid(),
            width in 0.0f64..1.0,
            queries in prop::collection::vec((-0.1f64..1.1, 0.0f64..1.0), 1..20),
        ) {
            // bands [s_k, s_k + width · (s_k+1 − s_k) / 2]: gaps between them, never overlaps
            let bands: Vec<(f64, f64)> = starts
                .iter()
                .enumerate()
                .map(|(k, &s)| (s, s + width * (starts.get(k + 1).map_or(1.0, |n| n - s)) / 2.0))
                .collect();
            let mut rows = Vec::new();
            for (j, &w) in weeks.iter().enumerate() {
                for (k, &(lo, hi)) in bands.iter().enumerate() {
                    rows.push(band(4, lo, hi, w, mean[j][k], sd[j][k]));
                }
            }
            let t = NormsTable::new(rows).unwrap();
            let (s_lo, s_hi) = (bands[0].0, bands[bands.len() - 1].1);
            let j = weeks.len() - 1;
            for (qs, _) in queries {
                let x = s_lo - 5.0 + qs * (s_hi - s_lo + 10.0);
                let hit = t.expect("Math", 4, x, weeks[j]).unwrap();
                prop_assert!(!hit.weeks_clamped);
                prop_assert_eq!(hit.start_clamped, x < s_lo || x > s_hi);
                let inside = bands.iter().position(|&(lo, hi)| lo <= x && x <= hi);
                prop_assert_eq!(hit.start_between_bands, inside.is_none() && !hit.start_clamped);
                if let Some(k) = inside {
                    prop_assert_eq!(hit.expectation.growth, mean[j][k]);
                    prop_assert_eq!(hit.expectation.sd, sd[j][k]);
                } else {
                    prop_assert!(mean[j].contains(&hit.expectation.growth));
                }
                for dx in [0.01, 0.5, 3.0, 40.0] {
                    let higher = t.expect("Math", 4, x + dx, weeks[j]).unwrap();
                    prop_assert!(higher.expectation.growth <= hit.expectation.growth);
                }
            }
        }
    }
}
