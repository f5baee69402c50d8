//! How `obc`'s own growth measures (from the contract's norms) agree with the vendor's
//! (README "Vendor growth measures"): per provider, the comparison group and all students,
//! the Pearson correlation, the mean difference (obc − vendor) and the share of students
//! whose met/not-met differs at the rule's threshold. Vendor measures are opaque and local
//! norms auditable: both are reported, neither preferred.

use serde::{Deserialize, Serialize};

use super::Student;
use crate::contract::terms::{Contract, OutcomeKind, VendorMeasure};

/// The measures compared: obc's CGP and CGI against the vendor's, and obc's growth at
/// least the norm's expected growth against the vendor's met projected growth.
pub const COMPARED: [VendorMeasure; 3] = [
    VendorMeasure::ConditionalGrowthPercentile,
    VendorMeasure::ConditionalGrowthIndex,
    VendorMeasure::MetProjectedGrowth,
];

/// One row of the agreement table (`vendor_agreement.csv`). A cell of fewer than
/// `reporting.min_cell` students shows no number (`suppressed`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VendorAgreement {
    /// A provider, `comparison` (untutored students) or `all`.
    pub provider: String,
    /// The vendor measure (`conditional_growth_percentile`, ...).
    pub measure: String,
    /// Analysed students with both obc's value and the vendor's.
    pub n: Option<u64>,
    /// Pearson correlation of obc's values with the vendor's (for the met flags: of 1/0).
    pub correlation: Option<f64>,
    /// Mean of obc's value minus the vendor's (for the met flags: the difference of shares met).
    pub mean_difference: Option<f64>,
    /// Met at this value or above (`None` for the met flags, which are met or not).
    pub threshold: Option<f64>,
    /// Share of the students met by one measure and not the other.
    pub disagree_share: Option<f64>,
    pub suppressed: Option<String>,
}

/// The threshold of met/not-met for `m`: the contract outcome's `at_least` when the
/// outcome is on that measure (obc's or the vendor's), else the typical growth's value
/// (CGP 50, CGI 0). `None` for met projected growth (a flag).
pub fn threshold(contract: &Contract, m: VendorMeasure) -> Option<f64> {
    let o = &contract.outcome;
    let own = match m {
        VendorMeasure::ConditionalGrowthPercentile => (OutcomeKind::Cgp, 50.0),
        VendorMeasure::ConditionalGrowthIndex => (OutcomeKind::Cgi, 0.0),
        _ => return None,
    };
    let on_it = o.kind == own.0 || o.vendor_measure() == Some(m);
    Some(if on_it { o.at_least.unwrap_or(own.1) } else { own.1 })
}

/// obc's value of `m` for a student: its CGP or CGI from the norms, or for met projected
/// growth 1 when growth reaches the norm's expected growth.
fn own_value(s: &Student, m: VendorMeasure) -> Option<f64> {
    let score = s.score.as_ref().ok()?;
    match m {
        VendorMeasure::ConditionalGrowthPercentile => score.cgp,
        VendorMeasure::ConditionalGrowthIndex => score.cgi,
        VendorMeasure::MetProjectedGrowth => Some(f64::from(u8::from(s.growth()? >= score.expected_growth?))),
        _ => None,
    }
}

/// Pearson correlation of the pairs; `None` with fewer than two or no spread in either.
pub fn pearson(pairs: &[(f64, f64)]) -> Option<f64> {
    let n = pairs.len() as f64;
    if pairs.len() < 2 {
        return None;
    }
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// One row over `pairs` (obc, vendor).
fn row(provider: &str, m: VendorMeasure, pairs: &[(f64, f64)], at: Option<f64>, min_cell: usize) -> VendorAgreement {
    let mut r = VendorAgreement {
        provider: provider.to_string(),
        measure: m.name().to_string(),
        n: None,
        correlation: None,
        mean_difference: None,
        threshold: at,
        disagree_share: None,
        suppressed: None,
    };
    if pairs.len() < min_cell {
        r.suppressed = Some(format!("fewer than min_cell = {min_cell} students"));
        return r;
    }
    let n = pairs.len() as f64;
    let met = |v: f64| at.map_or(v >= 1.0, |k| v >= k);
    r.n = Some(pairs.len() as u64);
    r.correlation = pearson(pairs);
    r.mean_difference = Some(pairs.iter().map(|(a, b)| a - b).sum::<f64>() / n);
    r.disagree_share = Some(pairs.iter().filter(|(a, b)| met(*a) != met(*b)).count() as f64 / n);
    r
}

/// The agreement table: for each compared measure the students have both values of, a row
/// per provider (in `providers` order), one for the comparison group and one for all.
/// Empty when no student has both (no vendor columns, or no norms).
pub fn vendor_agreement(contract: &Contract, students: &[Student], providers: &[String]) -> Vec<VendorAgreement> {
    let min_cell = contract.reporting.min_cell;
    let mut out = Vec::new();
    for m in COMPARED {
        let pairs: Vec<(Option<&str>, (f64, f64))> = students
            .iter()
            .filter(|s| s.analysed)
            .filter_map(|s| Some((s.provider.as_deref(), (own_value(s, m)?, s.vendor_value(m)?))))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let at = threshold(contract, m);
        let of = |keep: &dyn Fn(Option<&str>) -> bool| -> Vec<(f64, f64)> {
            pairs.iter().filter(|(p, _)| keep(*p)).map(|(_, v)| *v).collect()
        };
        for p in providers {
            let these = of(&|q| q == Some(p.as_str()));
            if !these.is_empty() {
                out.push(row(p, m, &these, at, min_cell));
            }
        }
        let comparison = of(&|q| q.is_none());
        if !comparison.is_empty() {
            out.push(row("comparison", m, &comparison, at, min_cell));
        }
        out.push(row("all", m, &of(&|_| true), at, min_cell));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_and_the_row_statistics_by_hand() {
        assert_eq!(pearson(&[(1.0, 2.0), (2.0, 4.0), (3.0, 6.0)]), Some(1.0));
        assert_eq!(pearson(&[(1.0, 3.0), (2.0, 2.0), (3.0, 1.0)]), Some(-1.0));
        assert_eq!(pearson(&[(1.0, 1.0), (2.0, 1.0)]), None, "no spread in the vendor's values");
        // obc 70, 55, 40, 62 against the vendor 65, 61, 45, 58 at 60: the second (vendor met,
        // obc not) and the fourth (obc met, vendor not) differ
        let pairs = [(70.0, 65.0), (55.0, 61.0), (40.0, 45.0), (62.0, 58.0)];
        let r = row("P1", VendorMeasure::ConditionalGrowthPercentile, &pairs, Some(60.0), 4);
        assert_eq!(r.n, Some(4));
        assert_eq!(r.mean_difference, Some((5.0 - 6.0 - 5.0 + 4.0) / 4.0));
        assert_eq!(r.disagree_share, Some(0.5));
        let small = row("P1", VendorMeasure::ConditionalGrowthPercentile, &pairs, Some(60.0), 5);
        assert!(small.n.is_none() && small.correlation.is_none() && small.suppressed.is_some());
        // flags: met when 1
        let flags = [(1.0, 1.0), (0.0, 1.0), (0.0, 0.0)];
        let f = row("all", VendorMeasure::MetProjectedGrowth, &flags, None, 1);
        assert_eq!(f.disagree_share, Some(1.0 / 3.0));
        assert_eq!(f.mean_difference, Some(-1.0 / 3.0));
    }
}
