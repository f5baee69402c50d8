//! Helpers shared by the unit tests that read R fixtures (`tests/fixtures/r/*.json`).

use serde_json::Value;

/// A JSON array of numbers as `Vec<f64>` (panics on anything else: fixtures are trusted).
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// Worst absolute and worst relative gap between two implementations over a set of
/// points, with the point where each was seen (used to compare `statrs` with R,
/// docs/methods.md 7.5). Equal values (including equal infinities and zeros) count as
/// no gap, a NaN as an infinite one. A non-zero value where the reference is exactly 0
/// (R's underflow cutoffs) is kept apart in `nonzero_where_zero`, not in `rel`.
#[derive(Debug, Default)]
pub struct Gap {
    /// Largest `|got − want|`, and where.
    pub abs: f64,
    pub abs_at: String,
    /// Largest `|got − want| / |want|` over non-zero references, and where.
    pub rel: f64,
    pub rel_at: String,
    /// The last point where the reference is 0 and `got` is not.
    pub nonzero_where_zero: Option<String>,
}

impl Gap {
    /// Records one comparison of `got` with the reference value `want` at point `at`.
    pub fn add(&mut self, at: impl std::fmt::Display, got: f64, want: f64) {
        if got == want {
            return;
        }
        let here = || format!("{at}: got {got:.17e}, reference {want:.17e}");
        let abs = if got.is_nan() { f64::INFINITY } else { (got - want).abs() };
        if abs > self.abs {
            self.abs = abs;
            self.abs_at = here();
        }
        if want == 0.0 {
            self.nonzero_where_zero = Some(here());
            return;
        }
        let rel = abs / want.abs();
        if rel > self.rel {
            self.rel = rel;
            self.rel_at = here();
        }
    }

    /// One line for the test log: both worst gaps and where they occurred.
    pub fn line(&self, name: &str) -> String {
        let zero = self.nonzero_where_zero.as_deref().map(|z| format!("; non-zero where R has 0: {z}"));
        format!(
            "{name}: abs {:.2e} ({}), rel {:.2e} ({}){}",
            self.abs,
            self.abs_at,
            self.rel,
            self.rel_at,
            zero.unwrap_or_default()
        )
    }
}
