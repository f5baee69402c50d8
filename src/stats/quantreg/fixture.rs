//! Test support: the R fixtures of `tests/fixtures/r/quantreg.json` as designs and fits,
//! shared by the solver and standard-error tests.

use serde_json::Value;

pub const FIXTURE: &str = include_str!("../../../tests/fixtures/r/quantreg.json");
const ENGEL: &str = include_str!("../../../tests/fixtures/r/engel.csv");
const SYNTHETIC: &str = include_str!("../../../tests/fixtures/r/quantreg_synthetic.csv");
const TINY: &str = include_str!("../../../tests/fixtures/r/quantreg_tiny.csv");

/// Columns of a CSV by header name.
pub fn columns(text: &str) -> Vec<(String, Vec<f64>)> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader.headers().unwrap().iter().map(str::to_string).collect();
    let mut cols: Vec<(String, Vec<f64>)> = headers.into_iter().map(|h| (h, Vec::new())).collect();
    for record in reader.records() {
        let record = record.unwrap();
        for (c, field) in cols.iter_mut().zip(record.iter()) {
            c.1.push(field.parse().unwrap());
        }
    }
    cols
}

/// One fixture data set: column-major design (intercept first, R's term order), response
/// and R's fits.
pub struct Case {
    pub name: String,
    pub terms: Vec<String>,
    pub x: Vec<f64>,
    pub n: usize,
    pub y: Vec<f64>,
    pub fits: Vec<Value>,
}

/// The design and response of one fixture data set, built from its `terms`.
pub fn case(name: &str) -> Case {
    let fixture: Value = serde_json::from_str(FIXTURE).unwrap();
    let ds = fixture["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("data set {name} not in quantreg.json"));
    let (text, response) = match name {
        "engel" => (ENGEL, "foodexp"),
        "synthetic" => (SYNTHETIC, "y"),
        "tiny_nonunique" => (TINY, "y"),
        _ => panic!("unknown data set {name}"),
    };
    let cols = columns(text);
    let get = |c: &str| cols.iter().find(|(h, _)| h == c).unwrap().1.clone();
    let y = get(response);
    let n = y.len();
    assert_eq!(n as u64, ds["n"].as_u64().unwrap(), "{name}: n");
    let terms: Vec<String> = ds["terms"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()).collect();
    let mut x = Vec::new();
    for t in &terms {
        if t == "(Intercept)" {
            x.extend(std::iter::repeat_n(1.0, n));
        } else {
            x.extend(get(t));
        }
    }
    Case { name: name.to_string(), terms, x, n, y, fits: ds["fits"].as_array().unwrap().clone() }
}
