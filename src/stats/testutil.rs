//! Helpers shared by the unit tests that read R fixtures (`tests/fixtures/r/*.json`).

use serde_json::Value;

/// A JSON array of numbers as `Vec<f64>` (panics on anything else: fixtures are trusted).
pub fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}
