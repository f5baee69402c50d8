//! The payment of one provider from the contract's terms, with each step of the
//! arithmetic written out.

#[allow(unused_imports)]
use super::*;
pub use crate::contract::results::{PaymentResult, PaymentResultTotals, ProviderCounts};

/// Counts a payment needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct PaymentCounts {
    pub rostered: u64,
    pub served: u64,
    pub counted: u64,
    pub met: u64,
    pub regressed: u64,
}

pub(super) fn money(v: f64) -> String {
    let neg = v < 0.0;
    let cents = (v.abs() * 100.0).round() as u128;
    let (whole, frac) = (cents / 100, cents % 100);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{}{grouped}.{frac:02}", if neg { "-" } else { "" })
}

/// Payment by the contract's terms given the counts and the tier reached.
pub fn payment(contract: &Contract, counts: PaymentCounts, reached: Option<usize>) -> PaymentResult {
    let p = &contract.payment;
    let mut lines = Vec::new();
    let (basis_n, basis_name) = match p.base_basis {
        BaseBasis::Rostered => (counts.rostered, "rostered"),
        BaseBasis::Served => (counts.served, "served (enrolled in time and met the dosage rule)"),
        BaseBasis::Counted => (counts.counted, "counted"),
    };
    let base = p.base_fixed + p.base_per_student * basis_n as f64;
    lines.push(format!(
        "base = {} fixed + {} x {basis_n} students {basis_name} = {}",
        money(p.base_fixed),
        money(p.base_per_student),
        money(base)
    ));
    let outcome = if p.has_pool() {
        let pool = p.outcome_pool + p.outcome_pool_per_student * counts.counted as f64;
        let pool_line = format!(
            "outcome pool = {} + {} x {} counted = {}",
            money(p.outcome_pool),
            money(p.outcome_pool_per_student),
            counts.counted,
            money(pool)
        );
        lines.push(pool_line);
        match reached {
            Some(i) => {
                let share = contract.thresholds[i].pool_share.unwrap_or(0.0);
                let name = tier_name(&contract.thresholds, i);
                let v = pool * share;
                lines.push(format!("outcome = {} x {share} ({name} reached) = {}", money(pool), money(v)));
                v
            }
            None => {
                lines.push("outcome = 0.00 (no tier reached)".into());
                0.0
            }
        }
    } else if p.per_student_requires_tier && reached.is_none() {
        lines.push(format!(
            "outcome = 0.00 ({} students met the outcome, but payment per student requires the first tier, which was not reached)",
            counts.met
        ));
        0.0
    } else {
        let v = p.outcome_per_student * counts.met as f64;
        lines.push(format!(
            "outcome = {} x {} counted students meeting the outcome = {}",
            money(p.outcome_per_student),
            counts.met,
            money(v)
        ));
        v
    };
    let penalty = p.penalty_per_regressed * counts.regressed as f64;
    lines.push(format!(
        "penalty = {} x {} counted students with growth below {} = {}",
        money(p.penalty_per_regressed),
        counts.regressed,
        p.regressed_below,
        money(penalty)
    ));
    let raw = base + outcome - penalty;
    let before_cap = raw.max(0.0);
    if raw < 0.0 {
        lines.push(format!("base + outcome - penalty = {} is negative: floored at 0.00", money(raw)));
    } else {
        lines.push(format!("base + outcome - penalty = {}", money(before_cap)));
    }
    let payable = match p.cap {
        Some(c) if before_cap > c => {
            lines.push(format!("cap {} applies: payable = {}", money(c), money(c)));
            c
        }
        Some(c) => {
            lines.push(format!("cap {} not reached: payable = {}", money(c), money(before_cap)));
            before_cap
        }
        None => {
            lines.push(format!("no cap: payable = {}", money(before_cap)));
            before_cap
        }
    };
    PaymentResult { base, outcome, penalty, before_cap, cap: p.cap, payable, arithmetic: lines }
}

impl PaymentResult {
    /// "cap binding: 434,340.00 cut to 400,000.00" when the cap binds.
    pub fn cap_note(&self) -> Option<String> {
        self.cap_cut()
            .zip(self.cap)
            .map(|(_, cap)| format!("cap binding: {} cut to {}", money(self.before_cap), money(cap)))
    }
}

impl From<PaymentCounts> for ProviderCounts {
    fn from(c: PaymentCounts) -> Self {
        ProviderCounts {
            rostered: c.rostered,
            served: c.served,
            counted: c.counted,
            met: Some(c.met),
            regressed: Some(c.regressed),
        }
    }
}

/// The counts a provider's payment is computed from: rostered (`rows`), served, counted
/// (`idx`), meeting the outcome, and regressed (growth below `payment.regressed_below`).
pub(super) fn payment_counts(
    contract: &Contract,
    students: &[Student],
    rows: &[usize],
    idx: &[usize],
    met: &[Option<bool>],
) -> PaymentCounts {
    let below = contract.payment.regressed_below;
    PaymentCounts {
        rostered: rows.len() as u64,
        served: rows.iter().filter(|&&i| students[i].served).count() as u64,
        counted: idx.len() as u64,
        met: idx.iter().filter(|&&i| met[i] == Some(true)).count() as u64,
        regressed: idx.iter().filter(|&&i| students[i].growth().is_some_and(|g| g < below)).count() as u64,
    }
}

impl PaymentResultTotals {
    /// Adds one provider's payment.
    pub(super) fn add(&mut self, p: &PaymentResult) {
        self.base += p.base;
        self.outcome += p.outcome;
        self.penalty += p.penalty;
        self.payable += p.payable;
    }
}
