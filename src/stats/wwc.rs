//! What Works Clearinghouse attrition standard.
//!
//! Overall attrition = 1 - analysed / assigned over both groups; differential attrition =
//! |attrition_T - attrition_C|. A sample has *low* attrition when the differential rate is at
//! most the boundary for its overall rate (WWC Procedures and Standards Handbook v4.1,
//! Table II.1; believed unchanged in v5.0). The *cautious* boundary applies when the
//! intervention could affect attrition, the *optimistic* one when that is unlikely; the
//! review protocol chooses, not the analyst after the fact.
//!
//! The overall rate is rounded to a whole percent for the lookup, as the table is printed
//! by whole percent. A differential exactly on the boundary is low (1e-9 tolerance for
//! floating-point representation of the percentage).

use serde::{Deserialize, Serialize};

/// Which WWC attrition boundary applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    Cautious,
    Optimistic,
}

/// Highest differential attrition (percentage points) that is still low, for overall
/// attrition 0..=65 percent; `NaN` = high for any differential. Table II.1 of the WWC
/// Standards Handbook v4.1.
const CAUTIOUS: [f64; 66] = [
    5.7,
    5.8,
    5.9,
    5.9,
    6.0,
    6.1,
    6.2,
    6.3,
    6.3,
    6.3,
    6.3,
    6.2,
    6.2,
    6.1,
    6.0,
    5.9,
    5.9,
    5.8,
    5.7,
    5.5,
    5.4,
    5.3,
    5.2,
    5.1,
    4.9,
    4.8,
    4.7,
    4.5,
    4.4,
    4.3,
    4.1,
    4.0,
    3.8,
    3.6,
    3.5,
    3.3,
    3.2,
    3.1,
    2.9,
    2.8,
    2.6,
    2.5,
    2.3,
    2.1,
    2.0,
    1.8,
    1.6,
    1.5,
    1.3,
    1.2,
    1.0,
    0.9,
    0.7,
    0.6,
    0.4,
    0.3,
    0.2,
    0.0,
    f64::NAN,
    f64::NAN,
    f64::NAN,
    f64::NAN,
    f64::NAN,
    f64::NAN,
    f64::NAN,
    f64::NAN,
];
const OPTIMISTIC: [f64; 66] = [
    10.0, 10.1, 10.2, 10.3, 10.4, 10.5, 10.7, 10.8, 10.9, 10.9, 10.9, 10.9, 10.9, 10.8, 10.8, 10.7, 10.6, 10.5, 10.3,
    10.2, 10.0, 9.9, 9.7, 9.5, 9.4, 9.2, 9.0, 8.8, 8.6, 8.4, 8.2, 8.0, 7.8, 7.6, 7.4, 7.2, 7.0, 6.7, 6.5, 6.3, 6.0,
    5.8, 5.6, 5.3, 5.1, 4.9, 4.6, 4.4, 4.2, 3.9, 3.7, 3.5, 3.2, 3.0, 2.8, 2.6, 2.3, 2.1, 1.9, 1.6, 1.4, 1.1, 0.9, 0.7,
    0.5, 0.3,
];

/// The largest differential attrition (a proportion) still rated low at `overall`
/// attrition (a proportion); `None` when every differential is high.
pub fn max_differential(overall: f64, boundary: Boundary) -> Option<f64> {
    if !(0.0..=1.0).contains(&overall) {
        return None;
    }
    let pct = (overall * 100.0).round() as usize;
    let table = match boundary {
        Boundary::Cautious => &CAUTIOUS,
        Boundary::Optimistic => &OPTIMISTIC,
    };
    table.get(pct).copied().filter(|v| !v.is_nan()).map(|v| v / 100.0)
}

/// Attrition of a treatment and a comparison group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Attrition {
    pub overall: f64,
    pub treatment: f64,
    pub comparison: f64,
    pub differential: f64,
    /// "low" or "high" under each boundary.
    pub cautious: &'static str,
    pub optimistic: &'static str,
}

/// Attrition from assigned and analysed counts; `None` when a group has nobody assigned.
///
/// ```
/// // 100 assigned per arm, 90 and 94 analysed: 8% overall, 4 pp differential.
/// let a = obc::stats::wwc::attrition(100, 90, 100, 94).unwrap();
/// assert!((a.overall - 0.08).abs() < 1e-12 && (a.differential - 0.04).abs() < 1e-12);
/// assert_eq!(a.cautious, "low"); // the cautious boundary at 8% is 6.3 pp
/// ```
pub fn attrition(assigned_t: u64, analysed_t: u64, assigned_c: u64, analysed_c: u64) -> Option<Attrition> {
    if assigned_t == 0 || assigned_c == 0 || analysed_t > assigned_t || analysed_c > assigned_c {
        return None;
    }
    let treatment = 1.0 - analysed_t as f64 / assigned_t as f64;
    let comparison = 1.0 - analysed_c as f64 / assigned_c as f64;
    let overall = 1.0 - (analysed_t + analysed_c) as f64 / (assigned_t + assigned_c) as f64;
    let differential = (treatment - comparison).abs();
    let rate = |b| match max_differential(overall, b) {
        Some(m) if differential <= m + 1e-9 => "low",
        _ => "high",
    };
    Some(Attrition {
        overall,
        treatment,
        comparison,
        differential,
        cautious: rate(Boundary::Cautious),
        optimistic: rate(Boundary::Optimistic),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_handbook_rows_quoted_in_domain_notes() {
        // docs/methods.md 8.4: overall % -> cautious / optimistic boundary (pp).
        let rows = [
            (0, Some(5.7), 10.0),
            (5, Some(6.1), 10.5),
            (10, Some(6.3), 10.9),
            (13, Some(6.1), 10.8),
            (15, Some(5.9), 10.7),
            (20, Some(5.4), 10.0),
            (25, Some(4.8), 9.2),
            (30, Some(4.1), 8.2),
            (35, Some(3.3), 7.2),
            (40, Some(2.6), 6.0),
            (45, Some(1.8), 4.9),
            (50, Some(1.0), 3.7),
            (55, Some(0.3), 2.6),
            (57, Some(0.0), 2.1),
            (60, None, 1.4),
            (65, None, 0.3),
        ];
        for (pct, cautious, optimistic) in rows {
            let o = pct as f64 / 100.0;
            let c = max_differential(o, Boundary::Cautious).map(|v| (v * 1000.0).round() / 10.0);
            assert_eq!(c, cautious, "cautious at {pct}%");
            let p = max_differential(o, Boundary::Optimistic).unwrap();
            assert!((p * 100.0 - optimistic).abs() < 1e-9, "optimistic at {pct}%");
        }
        assert_eq!(max_differential(0.66, Boundary::Optimistic), None);
    }

    #[test]
    fn classification_follows_the_boundary() {
        // 8% overall: cautious boundary 6.3 pp.
        let a = attrition(100, 90, 100, 94).unwrap();
        assert!((a.overall - 0.08).abs() < 1e-12);
        assert!((a.differential - 0.04).abs() < 1e-12);
        assert_eq!((a.cautious, a.optimistic), ("low", "low"));
        // 30% overall, 6 pp differential: high if cautious (4.1), low if optimistic (8.2).
        let a = attrition(100, 67, 100, 73).unwrap();
        assert_eq!((a.cautious, a.optimistic), ("high", "low"));
        assert!(attrition(0, 0, 10, 5).is_none());
    }
}
