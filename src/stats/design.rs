//! Model matrices with named columns, and the one factor encoder.
//!
//! A [`Design`] is an `n × p` matrix of `f64` held as an ndarray `Array2` in column-major
//! (Fortran) order, so that [`Design::as_slice`] is the `x[j * n + i]` layout that the
//! kernels in [`crate::stats::linalg`] and [`crate::stats::vam`] take, without a copy.
//! Every column has a name; estimators and callers find columns by name
//! ([`Design::index`], [`Design::column`]), never by position.
//!
//! [`Encoding`] turns a column of labels (a text column, or a key of several) into integer
//! codes `0..levels`: the codes of an absorbed fixed effect or cluster ([`Encoding::factor`]),
//! indicator (dummy) columns of a design ([`DesignBuilder::indicators`]), or the members of
//! each level ([`Encoding::members`]). The levels are numbered in sorted order
//! ([`LevelOrder::Sorted`], so results do not depend on the row order) or in order of first
//! appearance ([`LevelOrder::FirstSeen`], the bootstrap's resampling units).

use std::borrow::Cow;
use std::collections::BTreeMap;

use ndarray::{Array2, ArrayView1, ArrayView2, ShapeBuilder};

use crate::stats::vam::fixed::Factor;

/// Why a design cannot be built or a column found.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DesignError {
    #[error("no column {name:?} in the design (columns: {columns:?})")]
    MissingColumn { name: String, columns: Vec<String> },
    #[error("column {name:?} appears twice in the design")]
    DuplicateColumn { name: String },
    #[error("column {name:?} has {got} values, the design has {expected} rows")]
    Length { name: String, expected: usize, got: usize },
}

/// How the levels of a factor are numbered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LevelOrder {
    /// Code 0 is the smallest label.
    Sorted,
    /// Code 0 is the label of the first row.
    FirstSeen,
}

/// A factor: its distinct labels and each row's code (an index into `levels`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoding<T> {
    pub levels: Vec<T>,
    pub codes: Vec<usize>,
}

impl<T: Ord + Clone> Encoding<T> {
    /// Encodes the labels of the rows.
    pub fn new<I: IntoIterator<Item = T>>(labels: I, order: LevelOrder) -> Self {
        // Codes in order of first appearance, with one map look-up per row (none for a row
        // with the label of the row before: rows often come grouped).
        let mut code_of: BTreeMap<T, usize> = BTreeMap::new();
        let mut levels: Vec<T> = Vec::new();
        let mut codes: Vec<usize> = Vec::new();
        let mut last: Option<(T, usize)> = None;
        for l in labels {
            let code = match &last {
                Some((prev, c)) if *prev == l => *c,
                _ => {
                    let c = match code_of.get(&l) {
                        Some(&c) => c,
                        None => {
                            code_of.insert(l.clone(), levels.len());
                            levels.push(l.clone());
                            levels.len() - 1
                        }
                    };
                    last = Some((l, c));
                    c
                }
            };
            codes.push(code);
        }
        let mut e = Encoding { levels, codes };
        if order == LevelOrder::Sorted {
            e.sort_levels();
        }
        e
    }

    /// [`Encoding::new`] of the rows' labels `values[code]`, given as codes into `values`
    /// (a column stored as its distinct values: values may still repeat a label). Labels
    /// are compared once per value, not once per row.
    pub fn of_codes<I: IntoIterator<Item = usize>>(values: &[T], codes: I, order: LevelOrder) -> Self {
        let mut code_of: BTreeMap<&T, usize> = BTreeMap::new();
        let mut level_of: Vec<Option<usize>> = vec![None; values.len()];
        let mut levels: Vec<T> = Vec::new();
        let codes = codes
            .into_iter()
            .map(|v| match level_of[v] {
                Some(c) => c,
                None => {
                    let next = code_of.len();
                    let c = *code_of.entry(&values[v]).or_insert(next);
                    if c == levels.len() {
                        levels.push(values[v].clone());
                    }
                    level_of[v] = Some(c);
                    c
                }
            })
            .collect();
        let mut e = Encoding { levels, codes };
        if order == LevelOrder::Sorted {
            e.sort_levels();
        }
        e
    }

    /// Renumbers the levels so that code 0 is the smallest label.
    fn sort_levels(&mut self) {
        let mut by_label: Vec<usize> = (0..self.levels.len()).collect();
        by_label.sort_by(|&a, &b| self.levels[a].cmp(&self.levels[b]));
        let mut rank = vec![0; self.levels.len()];
        for (r, &i) in by_label.iter().enumerate() {
            rank[i] = r;
        }
        for c in &mut self.codes {
            *c = rank[*c];
        }
        self.levels = by_label.iter().map(|&i| self.levels[i].clone()).collect();
    }

    /// The code of a label, if it occurs.
    pub fn code(&self, label: &T) -> Option<usize> {
        self.levels.iter().position(|l| l == label)
    }
}

impl<T> Encoding<T> {
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The codes as an absorbed factor or cluster of the fixed-effects kernels.
    pub fn factor(&self) -> Factor<'_> {
        Factor { level: &self.codes, levels: self.levels.len() }
    }

    /// The rows of each level, in row order.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut rows = vec![Vec::new(); self.levels.len()];
        for (i, &c) in self.codes.iter().enumerate() {
            rows[c].push(i);
        }
        rows
    }

    /// Each level with its rows (in row order), in level order.
    pub fn groups(self) -> Vec<(T, Vec<usize>)> {
        let members = self.members();
        self.levels.into_iter().zip(members).collect()
    }
}

/// The `n × p` matrix `x` as the column-major slice `x[j * n + i]` the kernels take:
/// borrowed when `x` is stored column-major and contiguous (a [`Design`], an
/// `Array2::from_shape_vec((n, p).f(), ..)`), copied otherwise (e.g. a row-major array).
pub fn column_major(x: ArrayView2<'_, f64>) -> Cow<'_, [f64]> {
    let t = x.reversed_axes();
    match t.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.iter().copied().collect()),
    }
}

/// The vector `y` as a slice: borrowed when contiguous, copied otherwise.
pub fn contiguous(y: ArrayView1<'_, f64>) -> Cow<'_, [f64]> {
    match y.to_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(y.iter().copied().collect()),
    }
}

/// A model matrix with named columns (column-major).
#[derive(Clone, Debug, PartialEq)]
pub struct Design {
    matrix: Array2<f64>,
    names: Vec<String>,
}

impl Design {
    /// Starts a design of `n` rows.
    pub fn builder(n: usize) -> DesignBuilder {
        DesignBuilder { n, data: Vec::new(), names: Vec::new() }
    }

    pub fn rows(&self) -> usize {
        self.matrix.nrows()
    }

    pub fn cols(&self) -> usize {
        self.matrix.ncols()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The matrix as an `n × p` view.
    pub fn view(&self) -> ArrayView2<'_, f64> {
        self.matrix.view()
    }

    /// The matrix as the column-major slice `x[j * n + i]` the kernels take.
    pub fn as_slice(&self) -> &[f64] {
        self.matrix.as_slice_memory_order().expect("a design is stored contiguous, column-major")
    }

    /// The position of the column called `name`.
    pub fn index(&self, name: &str) -> Result<usize, DesignError> {
        self.names
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| DesignError::MissingColumn { name: name.to_string(), columns: self.names.clone() })
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Result<ArrayView1<'_, f64>, DesignError> {
        Ok(self.matrix.column(self.index(name)?))
    }
}

/// Adds named columns one at a time; [`DesignBuilder::build`] makes the [`Design`].
#[derive(Clone, Debug)]
pub struct DesignBuilder {
    n: usize,
    data: Vec<f64>,
    names: Vec<String>,
}

impl DesignBuilder {
    fn name(&mut self, name: &str) -> Result<(), DesignError> {
        if self.names.iter().any(|c| c == name) {
            return Err(DesignError::DuplicateColumn { name: name.to_string() });
        }
        self.names.push(name.to_string());
        Ok(())
    }

    /// A column of ones called `(Intercept)`, as R names it.
    pub fn intercept(mut self) -> Result<Self, DesignError> {
        self.name("(Intercept)")?;
        self.data.extend(std::iter::repeat_n(1.0, self.n));
        Ok(self)
    }

    /// A numeric column.
    pub fn numeric<I: IntoIterator<Item = f64>>(mut self, name: &str, values: I) -> Result<Self, DesignError> {
        let before = self.data.len();
        self.data.extend(values);
        let got = self.data.len() - before;
        if got != self.n {
            self.data.truncate(before);
            return Err(DesignError::Length { name: name.to_string(), expected: self.n, got });
        }
        self.name(name)?;
        Ok(self)
    }

    /// One 0/1 column per level of `factor` except `reference`, in level order, named
    /// `{prefix}={level}`.
    pub fn indicators<T: Ord + Clone + std::fmt::Display>(
        mut self,
        prefix: &str,
        factor: &Encoding<T>,
        reference: Option<&T>,
    ) -> Result<Self, DesignError> {
        if factor.len() != self.n {
            return Err(DesignError::Length { name: prefix.to_string(), expected: self.n, got: factor.len() });
        }
        for (k, level) in factor.levels.iter().enumerate() {
            if Some(level) == reference {
                continue;
            }
            self.name(&format!("{prefix}={level}"))?;
            self.data.extend(factor.codes.iter().map(|&c| if c == k { 1.0 } else { 0.0 }));
        }
        Ok(self)
    }

    pub fn build(self) -> Design {
        let p = self.names.len();
        let matrix = Array2::from_shape_vec((self.n, p).f(), self.data).expect("n values per named column");
        Design { matrix, names: self.names }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sorted_codes_follow_label_order_and_first_seen_codes_follow_rows() {
        let rows = labels(&["b", "", "c", "b", "a"]);
        let s = Encoding::new(rows.clone(), LevelOrder::Sorted);
        assert_eq!(s.levels, labels(&["", "a", "b", "c"]));
        assert_eq!(s.codes, vec![2, 0, 3, 2, 1]);
        let f = Encoding::new(rows, LevelOrder::FirstSeen);
        assert_eq!(f.levels, labels(&["b", "", "c", "a"]));
        assert_eq!(f.codes, vec![0, 1, 2, 0, 3]);
        assert_eq!(f.members(), vec![vec![0, 3], vec![1], vec![2], vec![4]]);
        assert_eq!(s.clone().groups()[2], ("b".to_string(), vec![0, 3]));
        assert_eq!(f.factor().levels, 4);
        assert_eq!(s.code(&"c".to_string()), Some(3));
        assert_eq!(s.code(&"z".to_string()), None);
    }

    #[test]
    fn codes_into_values_encode_as_the_labels_they_stand_for() {
        // Values may repeat a label (two values relabelled alike); rows are codes into them.
        let values = labels(&["b", "", "c", "a", "c", "unused"]);
        let rows = [0, 1, 2, 0, 3, 4, 4, 1];
        for order in [LevelOrder::Sorted, LevelOrder::FirstSeen] {
            let by_label = Encoding::new(rows.iter().map(|&r| values[r].clone()), order);
            assert_eq!(Encoding::of_codes(&values, rows, order), by_label, "{order:?}");
        }
        let e = Encoding::of_codes(&values, rows, LevelOrder::Sorted);
        assert_eq!((e.levels, e.codes), (labels(&["", "a", "b", "c"]), vec![2, 0, 3, 2, 1, 3, 3, 0]));
    }

    #[test]
    fn keys_of_several_columns_encode_like_single_labels() {
        let keys = vec![labels(&["x", "2"]), labels(&["x", "10"]), labels(&["x", "2"])];
        let e = Encoding::new(keys, LevelOrder::Sorted);
        assert_eq!(e.levels, vec![labels(&["x", "10"]), labels(&["x", "2"])]);
        assert_eq!(e.codes, vec![1, 0, 1]);
    }

    #[test]
    fn columns_are_found_by_name_and_stored_column_major() {
        let g = Encoding::new(labels(&["", "p1", "p2", "p1"]), LevelOrder::Sorted);
        let d = Design::builder(4)
            .intercept()
            .unwrap()
            .numeric("pre", [1.0, 2.0, 3.0, 4.0])
            .unwrap()
            .indicators("provider", &g, Some(&String::new()))
            .unwrap()
            .build();
        assert_eq!(d.names(), labels(&["(Intercept)", "pre", "provider=p1", "provider=p2"]));
        assert_eq!((d.rows(), d.cols()), (4, 4));
        assert_eq!(d.index("provider=p2"), Ok(3));
        assert_eq!(d.column("provider=p1").unwrap().to_vec(), vec![0.0, 1.0, 0.0, 1.0]);
        assert_eq!(d.view()[[2, 1]], 3.0);
        assert_eq!(&d.as_slice()[4..8], &[1.0, 2.0, 3.0, 4.0]);
        let e = d.index("post").unwrap_err().to_string();
        assert!(e.contains("\"post\"") && e.contains("\"pre\""), "{e}");
    }

    #[test]
    fn column_major_borrows_fortran_arrays_and_copies_row_major_ones() {
        let f = Array2::from_shape_vec((3, 2).f(), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let c = ndarray::array![[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]];
        assert_eq!(f, c);
        let (bf, bc) = (column_major(f.view()), column_major(c.view()));
        assert!(matches!(bf, Cow::Borrowed(_)));
        assert!(matches!(bc, Cow::Owned(_)));
        assert_eq!(bf, bc);
        assert_eq!(&bc[..], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let y = ndarray::array![1.0, 2.0, 3.0, 4.0];
        assert!(matches!(contiguous(y.view()), Cow::Borrowed(_)));
        let every_other = y.slice(ndarray::s![..;2]);
        assert_eq!(&contiguous(every_other)[..], &[1.0, 3.0]);
    }

    #[test]
    fn duplicate_names_and_wrong_lengths_are_refused() {
        let b = Design::builder(2).numeric("x", [1.0, 2.0]).unwrap();
        assert_eq!(b.clone().numeric("x", [3.0, 4.0]).unwrap_err(), DesignError::DuplicateColumn { name: "x".into() });
        assert_eq!(b.numeric("z", [1.0]).unwrap_err(), DesignError::Length { name: "z".into(), expected: 2, got: 1 });
        let empty = Design::builder(3).build();
        assert_eq!((empty.rows(), empty.cols()), (3, 0));
    }
}
