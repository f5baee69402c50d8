//! Small-cell suppression, applied once, while the settlement is built, so that no writer,
//! figure or report ever holds a number it must not publish (README "Privacy").
//!
//! - A provider with fewer counted students than `min_cell` keeps its decisions and payment
//!   (the contract's accounting) but loses every statistic of its counted students: the
//!   metric and its interval, the share of replicates past each threshold, the numbers
//!   meeting the outcome and regressing, and the payment arithmetic that would repeat them
//!   (the restricted `audit.csv` still adds up to the payment). Equivalence and
//!   regression-to-the-mean statistics are not computed for it at all.
//! - An equity-table cell with fewer than `min_cell` counted students is suppressed; where a
//!   group has exactly one suppressed cell, the next smallest is suppressed too
//!   (complementary suppression), so that totals cannot reveal it. A suppressed cell keeps
//!   its provider, group and value and nothing else.

use serde::{Deserialize, Serialize};

use super::settle::{GroupCell, NoEstimateReason, ProviderResult};

/// Why a public cell shows no numbers (written as its words: `small cell`, `complementary`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Suppression {
    /// Fewer than `min_cell` students.
    #[serde(rename = "small cell")]
    SmallCell,
    /// Suppressed so that a small cell cannot be recovered by subtraction.
    #[serde(rename = "complementary")]
    Complementary,
}

impl Suppression {
    pub fn as_str(self) -> &'static str {
        match self {
            Suppression::SmallCell => "small cell",
            Suppression::Complementary => "complementary",
        }
    }
}

/// Withholds a small provider's statistics (no-op for a provider at or above `min_cell`).
pub fn provider(r: &mut ProviderResult, min_cell: usize) {
    if !r.suppressed {
        return;
    }
    r.estimate = None;
    r.no_estimate = Some(NoEstimateReason::Suppressed { counted: r.counts.counted, min_cell });
    r.counts.met = None;
    r.counts.regressed = None;
    for t in r.tiers.iter_mut() {
        t.p_at_least = None;
    }
    if let Some(e) = r.payment.expected.as_mut() {
        e.lines.clear();
    }
    for l in r.payment.lines.iter_mut() {
        l.students = None;
        l.amount = None;
        l.arithmetic = "withheld: fewer than min_cell counted students".into();
    }
    r.payment.arithmetic = vec![format!(
        "arithmetic withheld from public outputs: fewer than min_cell = {min_cell} counted students; the \
         restricted audit.csv lists each student's contribution"
    )];
}

/// Marks the small and complementary cells of one group's cells and withholds their values.
pub fn group_cells(rows: &mut [GroupCell], min_cell: usize) {
    let min_cell = min_cell as u64;
    let n = |c: &GroupCell| c.counted.unwrap_or(0);
    let small: Vec<usize> = (0..rows.len()).filter(|&i| n(&rows[i]) < min_cell).collect();
    for &i in &small {
        rows[i].suppressed = Some(Suppression::SmallCell);
    }
    if small.len() == 1 && rows.len() > 1 {
        let next = (0..rows.len()).filter(|&i| rows[i].suppressed.is_none()).min_by_key(|&i| (n(&rows[i]), i));
        if let Some(j) = next {
            rows[j].suppressed = Some(Suppression::Complementary);
        }
    }
    for r in rows.iter_mut().filter(|r| r.suppressed.is_some()) {
        r.counted = None;
        r.met = None;
        r.metric = None;
        r.low = None;
        r.high = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: &str, counted: u64) -> GroupCell {
        GroupCell {
            provider: "P1".into(),
            group: "gender".into(),
            value: value.into(),
            counted: Some(counted),
            met: Some(counted / 2),
            metric: Some(0.5),
            low: Some(0.4),
            high: Some(0.6),
            suppressed: None,
        }
    }

    #[test]
    fn one_small_cell_takes_the_next_smallest_with_it_and_nothing_is_left() {
        let mut rows = vec![cell("F", 80), cell("M", 40), cell("X", 3)];
        group_cells(&mut rows, 10);
        assert_eq!(rows[2].suppressed, Some(Suppression::SmallCell));
        assert_eq!(rows[1].suppressed, Some(Suppression::Complementary));
        assert!(rows[0].suppressed.is_none() && rows[0].counted == Some(80));
        for r in &rows[1..] {
            assert_eq!((r.counted, r.met, r.metric, r.low, r.high), (None, None, None, None, None));
        }
    }

    #[test]
    fn two_small_cells_need_no_complement() {
        let mut rows = vec![cell("F", 80), cell("M", 4), cell("X", 3)];
        group_cells(&mut rows, 10);
        assert!(rows[0].suppressed.is_none());
        assert!(rows[1].suppressed.is_some() && rows[2].suppressed.is_some());
    }
}
